//! Written by `TRIAGE_BLESS=1 cargo test --lib gates` from each redaction pattern's syntax
//! tree (`gate/required.rs`); not edited by hand. A text holding none of a pattern's strings
//! (ASCII case ignored) and none of the characters beyond ASCII its classes were read without
//! skips the pattern. `cargo fmt` leaves this file alone (`#[rustfmt::skip]` in `mod.rs`).

use super::gate::Gate;

pub(super) const PRIVATE_KEY: Gate = Gate {
    holds: &[
        "-----begin ",
    ],
    beyond_ascii: &[],
};
pub(super) const CALL: Gate = Gate {
    holds: &[
        "(",
    ],
    beyond_ascii: &[],
};
pub(super) const AUTHORIZATION: Gate = Gate {
    holds: &[
        "authorization",
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const COOKIES: Gate = Gate {
    holds: &[
        "cookie",
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const USERINFO: Gate = Gate {
    holds: &[
        "://",
    ],
    beyond_ascii: &[],
};
pub(super) const CANDIDATE: Gate = Gate {
    holds: &[
        "auth", "code", "cred", "csrf", "hash", "jwt", "key", "logged", "nonce", "otp", "pass",
        "private", "pw", "salt", "secret", "sess", "sid", "sig", "ticket", "token", "xsrf",
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const DIRECTIVES: Gate = Gate {
    holds: &[
        "header", "setenv", "scgi_param", "uwsgi_param", "fastcgi_param",
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}')],
};
pub(super) const COMMANDS: Gate = Gate {
    holds: &[
        "-u", "</", "login", "mysql", "plain", "value", "sshpass", "xoauth2", "password",
        "redis-cli", "masterauth", "requirepass",
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const QUERY: Gate = Gate {
    holds: &[
        "&", "&amp;", "?",
    ],
    beyond_ascii: &[],
};
pub(super) const SCHEMES: Gate = Gate {
    holds: &[
        "basic", "token", "bearer",
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const TOKENS: Gate = Gate {
    holds: &[
        "aa", "gh", "bia", "cca", "gpa", "hf_", "ida", "ipa", "kia", "npa", "nva", "roa", "sg.",
        "sia", "sk-", "xox", ".eyj", "aiza", "key-", "npm_", "xapp", "gldt-", "glrt-", "pypi-",
        "glpat-", "glptt-", "shpat_", "shpca_", "shppa_", "shpss_", "whsec_", "base64:", "doo_v1_",
        "dop_v1_", "dor_v1_", "glsoat-", "rk_live_", "rk_test_", "sk_live_", "sk_test_",
        "github_pat_", ".com/api/webhooks/", "hooks.slack.com/services/",
        "hooks.slack.com/triggers/", "hooks.slack.com/workflows/",
    ],
    beyond_ascii: &[],
};
