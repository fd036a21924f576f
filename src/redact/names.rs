//! Which names (of headers, query parameters, JSON/YAML keys, variables, flags) hold secrets,
//! and whether a value looks like one. Names are read as words, so `apiKey`, `X-Api-Key`,
//! `SecretAccessKey`, `DB_PASSWORD` and `mysqli.default_pw` are all understood.

/// Header names whose whole value is a secret, whatever their words say.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
    "cf-access-jwt-assertion",
];

/// A word that makes a name a secret's name, whatever its value.
const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pass",
    "pwd",
    "pw",
    "secret",
    "secrets",
    "token",
    "apikey",
    "credential",
    "credentials",
    "salt",
    "jwt",
    "sessid",
    "sessionid",
    "requirepass",
    "masterauth",
];

/// Glued into a longer word (`dbpassword`, `xsrftoken`, `phpsessid`) these still name a secret.
const SECRET_STEMS: &[&str] =
    &["password", "passwd", "secret", "token", "apikey", "sessid", "sessionid", "credential"];

/// Two words that together name a secret (`api key`, `access key`, `logged in`).
const SECRET_PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("account", "key"),
    ("app", "key"),
    ("auth", "key"),
    ("client", "key"),
    ("consumer", "key"),
    ("deploy", "key"),
    ("encryption", "key"),
    ("license", "key"),
    ("master", "key"),
    ("private", "key"),
    ("session", "id"),
    ("session", "key"),
    ("shared", "key"),
    ("signing", "key"),
    ("logged", "in"),
];

/// `pass` that is not a password: nginx's `proxy_pass`, Apache's `ProxyPass`.
const PASSING: &[&str] = &["proxy", "fastcgi", "uwsgi", "grpc", "scgi", "memcached"];

/// Words that name a secret only when the value looks random: `key=user:42` and `code=502`
/// are evidence, `key=a8f5f167f44f4964e6c998dee827110c` is not.
const MAYBE_WORDS: &[&str] = &[
    "key",
    "auth",
    "sid",
    "sig",
    "signature",
    "session",
    "code",
    "nonce",
    "hash",
    "otp",
    "private",
    "csrf",
    "xsrf",
    "ticket",
];

/// Values that are never secrets themselves, even under a secret's name.
const PLACEHOLDERS: &[&str] = &["null", "nil", "none", "true", "false", "undefined"];

/// What a name says about its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Its value is a secret.
    Secret,
    /// Its value is a secret if it looks random.
    MaybeSecret,
    Plain,
}

/// Whether a header, parameter or field name names a secret (for [`Kind::MaybeSecret`] names
/// too: a query parameter or a header value is masked without looking at it).
pub fn is_secret_name(name: &str) -> bool {
    SECRET_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name)) || kind(name) != Kind::Plain
}

/// What `name` says about its value.
pub fn kind(name: &str) -> Kind {
    let words = words(name);
    let secret = words.iter().enumerate().any(|(i, w)| {
        let passing = w == "pass" && i > 0 && PASSING.contains(&words[i - 1].as_str());
        !passing && SECRET_WORDS.contains(&w.as_str()) || SECRET_STEMS.iter().any(|s| w.contains(s))
    }) || words
        .windows(2)
        .any(|p| SECRET_PAIRS.contains(&(p[0].as_str(), p[1].as_str())));
    if secret {
        Kind::Secret
    } else if words.iter().any(|w| MAYBE_WORDS.contains(&w.as_str())) {
        Kind::MaybeSecret
    } else {
        Kind::Plain
    }
}

/// Whether `value`, found under `name`, is to be masked.
pub fn is_secret_value(name: &str, value: &str) -> bool {
    if is_placeholder(value) {
        return false;
    }
    match kind(name) {
        Kind::Secret => true,
        Kind::MaybeSecret => looks_random(value),
        Kind::Plain => false,
    }
}

/// The name's words in lower case: split at anything not alphanumeric and where camelCase
/// changes (`SecretAccessKey` → secret, access, key; `AWSSecret` → aws, secret).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            flush(&mut words, &mut word);
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let lower_to_upper = prev.is_some_and(|p| p.is_ascii_lowercase()) && c.is_ascii_uppercase();
        let acronym_end = prev.is_some_and(|p| p.is_ascii_uppercase())
            && c.is_ascii_uppercase()
            && next.is_some_and(char::is_ascii_lowercase);
        if lower_to_upper || acronym_end {
            flush(&mut words, &mut word);
        }
        word.push(c.to_ascii_lowercase());
    }
    flush(&mut words, &mut word);
    words
}

fn flush(words: &mut Vec<String>, word: &mut String) {
    if !word.is_empty() {
        words.push(std::mem::take(word));
    }
}

/// Empty, `null`, `true`, an unexpanded `$VARIABLE` or `${VARIABLE}`, or already masked.
pub fn is_placeholder(value: &str) -> bool {
    let value = value.trim();
    value.is_empty()
        || value.contains(super::MASK)
        || PLACEHOLDERS.iter().any(|p| p.eq_ignore_ascii_case(value))
        || is_variable(value)
}

fn is_variable(value: &str) -> bool {
    let name = value
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .or_else(|| value.strip_prefix('$'));
    name.is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
}

/// A token rather than a word or a number: 16 characters or more, no spaces, letters and
/// digits mixed, and not repetitive (at least 3 bits of entropy per character). Very long
/// values count as random: measuring them costs more than masking them.
pub fn looks_random(value: &str) -> bool {
    const LONG: usize = 512;
    let value = value.trim();
    if value.len() > LONG {
        return true;
    }
    if value.len() < 16 || value.chars().any(char::is_whitespace) {
        return false;
    }
    let digits = value.chars().any(|c| c.is_ascii_digit());
    let letters = value.chars().any(|c| c.is_ascii_alphabetic());
    digits && letters && entropy(value) >= 3.0
}

/// Shannon entropy in bits per byte.
fn entropy(value: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in value.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = value.len() as f64;
    counts.iter().filter(|&&n| n > 0).map(|&n| f64::from(n) / len).map(|p| -p * p.log2()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_as_words() {
        assert_eq!(words("SecretAccessKey"), ["secret", "access", "key"]);
        assert_eq!(words("AWSSecret"), ["aws", "secret"]);
        assert_eq!(words("X-Api-Key"), ["x", "api", "key"]);
        assert_eq!(words("mysqli.default_pw"), ["mysqli", "default", "pw"]);
        for name in ["apiKey", "DB_PASSWORD", "Token", "phpsessid", "xsrftoken", "--db-password"] {
            assert_eq!(kind(name), Kind::Secret, "{name}");
        }
        for name in ["key", "code", "auth", "X-Hub-Sig"] {
            assert_eq!(kind(name), Kind::MaybeSecret, "{name}");
        }
        for name in [
            "compass",
            "keyboard",
            "barcode",
            "tls.self_signed",
            "passenger",
            "bypass",
            "proxy_pass",
            "ProxyPassMatch",
        ] {
            assert_eq!(kind(name), Kind::Plain, "{name}");
        }
    }

    #[test]
    fn a_maybe_secret_name_needs_a_random_value() {
        assert!(!is_secret_value("key", "user:42"));
        assert!(!is_secret_value("code", "502"));
        assert!(!is_secret_value("key", "StorageAccountKey"));
        assert!(is_secret_value("key", "a8f5f167f44f4964e6c998dee827110c"));
        assert!(is_secret_value("password", "x"));
        assert!(!is_secret_value("password", "null"));
        assert!(!is_secret_value("password", "${DB_PASSWORD}"));
        assert!(!is_secret_value("password", "[redacted]"));
    }
}
