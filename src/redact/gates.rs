//! Written by `TRIAGE_BLESS=1 cargo test --lib gates` from each redaction pattern's syntax
//! tree (`gate::required`); not edited by hand. The strings one of which every match of the
//! pattern holds on ASCII text, ASCII lower case: a text with none of them skips the pattern.
//! `cargo fmt` leaves this file alone (`#[rustfmt::skip]` in `mod.rs`).

pub(super) const PRIVATE_KEY: &[&str] = &[
    "-----begin ",
];
pub(super) const CALL: &[&str] = &[
    "(",
];
pub(super) const AUTHORIZATION: &[&str] = &[
    "authorization",
];
pub(super) const COOKIES: &[&str] = &[
    "cookie",
];
pub(super) const USERINFO: &[&str] = &[
    "://",
];
pub(super) const CANDIDATE: &[&str] = &[
    "auth", "code", "cred", "csrf", "hash", "jwt", "key", "logged", "nonce", "otp", "pass",
    "private", "pw", "salt", "secret", "sess", "sid", "sig", "ticket", "token", "xsrf",
];
pub(super) const DIRECTIVES: &[&str] = &[
    "header", "setenv", "scgi_param", "uwsgi_param", "fastcgi_param",
];
pub(super) const COMMANDS: &[&str] = &[
    "-u", "</", "login", "mysql", "plain", "value", "sshpass", "xoauth2", "password", "redis-cli",
    "masterauth", "requirepass",
];
pub(super) const QUERY: &[&str] = &[
    "&", "&amp;", "?",
];
pub(super) const SCHEMES: &[&str] = &[
    "basic", "token", "bearer",
];
pub(super) const TOKENS: &[&str] = &[
    "aa", "gh", "bia", "cca", "gpa", "hf_", "ida", "ipa", "kia", "npa", "nva", "roa", "sg.", "sia",
    "sk-", "xox", ".eyj", "aiza", "key-", "npm_", "xapp", "gldt-", "glrt-", "pypi-", "glpat-",
    "glptt-", "shpat_", "shpca_", "shppa_", "shpss_", "whsec_", "base64:", "doo_v1_", "dop_v1_",
    "dor_v1_", "glsoat-", "rk_live_", "rk_test_", "sk_live_", "sk_test_", "github_pat_",
    ".com/api/webhooks/", "hooks.slack.com/services/", "hooks.slack.com/triggers/",
    "hooks.slack.com/workflows/",
];
