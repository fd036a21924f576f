//! Written by `TRIAGE_BLESS=1 cargo test --lib gates` from each redaction pattern's syntax
//! tree (`gate/required.rs`); not edited by hand. A text that lacks every string of one of a
//! pattern's sets (ASCII case ignored) and holds none of the characters beyond ASCII its
//! classes were read without skips the pattern. `cargo fmt` leaves this file alone
//! (`#[rustfmt::skip]` in `mod.rs`).

use super::gate::Gate;

pub(super) const PRIVATE_KEY: Gate = Gate {
    holds: &[
        &["-----begin "],
        &["private key"],
    ],
    beyond_ascii: &[],
};
pub(super) const CALL: Gate = Gate {
    holds: &[
        &["("],
    ],
    beyond_ascii: &[],
};
pub(super) const AUTHORIZATION: Gate = Gate {
    holds: &[
        &["authorization"],
        &[
            ":", "=", "basic", "bearer", "bot", "digest", "hawk", "hmac-sha256", "key", "negotiate",
            "ntlm", "oauth", "signature", "splunk", "ssws", "token",
        ],
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const COOKIES: Gate = Gate {
    holds: &[
        &["cookie"],
        &["="],
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const USERINFO: Gate = Gate {
    holds: &[
        &["://"],
        &["@"],
    ],
    beyond_ascii: &[],
};
pub(super) const CANDIDATE: Gate = Gate {
    holds: &[
        &[
            "auth", "code", "cred", "csrf", "hash", "jwt", "key", "logged", "nonce", "otp", "pass",
            "private", "pw", "salt", "secret", "sess", "sid", "sig", "ticket", "token", "xsrf",
        ],
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const DIRECTIVES: Gate = Gate {
    holds: &[
        &["fastcgi_param", "header", "scgi_param", "setenv", "uwsgi_param"],
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}')],
};
pub(super) const COMMANDS: Gate = Gate {
    holds: &[
        &[
            "-u", "</", "login", "masterauth", "mysql", "password", "plain", "redis-cli",
            "requirepass", "sshpass", "value", "xoauth2",
        ],
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const QUERY: Gate = Gate {
    holds: &[
        &["&", "?"],
        &["="],
    ],
    beyond_ascii: &[],
};
pub(super) const SCHEMES: Gate = Gate {
    holds: &[
        &["basic", "bearer", "token"],
    ],
    beyond_ascii: &[('\u{17f}', '\u{17f}'), ('\u{212a}', '\u{212a}')],
};
pub(super) const TOKENS: Gate = Gate {
    holds: &[
        &[
            ".com/api/webhooks/", ".eyj", "aa", "aiza", "base64:", "bia", "cca", "doo_v1_",
            "dop_v1_", "dor_v1_", "gh", "github_pat_", "gldt-", "glpat-", "glptt-", "glrt-",
            "glsoat-", "gpa", "hf_", "hooks.slack.com/services/", "hooks.slack.com/triggers/",
            "hooks.slack.com/workflows/", "ida", "ipa", "key-", "kia", "npa", "npm_", "nva",
            "pypi-", "rk_live_", "rk_test_", "roa", "sg.", "shpat_", "shpca_", "shppa_", "shpss_",
            "sia", "sk-", "sk_live_", "sk_test_", "whsec_", "xapp", "xox",
        ],
    ],
    beyond_ascii: &[],
};
