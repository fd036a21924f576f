//! Removes secrets from anything triage exports: cookies, Authorization and API-key headers,
//! tokens and keys in query strings, passwords in connection URLs and in `key=value` text.
//! Every exporter (markdown, JSON, `triage check --json`, copied support notes) passes outside
//! text through here; redaction keeps the shape (names, hosts, paths) and drops only the values.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a secret becomes.
pub const MASK: &str = "[redacted]";

/// Header names whose whole value is a secret.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-auth-token",
    "x-csrf-token",
    "x-xsrf-token",
    "x-amz-security-token",
    "cf-access-jwt-assertion",
];

/// Words that make a header, query parameter or `key=value` name a secret.
const SECRET_WORDS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "apikey",
    "api_key",
    "api-key",
    "auth",
    "session",
    "sig",
    "signature",
    "credential",
    "private",
    "key",
    "code",
    "jwt",
    "sid",
];

/// Whether a header, parameter or field name names a secret.
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if SECRET_HEADERS.contains(&lower.as_str()) {
        return true;
    }
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| SECRET_WORDS.contains(&w))
        || SECRET_WORDS.iter().any(|w| w.len() > 4 && lower.contains(w))
}

/// A header value fit for export. Cookies keep their names (`sid=[redacted]; Path=/`) so the
/// note still shows which cookies were set; other secret headers keep their scheme at most.
pub fn header<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "set-cookie" => Cow::Owned(set_cookie(value)),
        "cookie" => Cow::Owned(cookie(value)),
        "authorization" | "proxy-authorization" => Cow::Owned(match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {MASK}"),
            None => MASK.to_owned(),
        }),
        _ if is_secret_name(&lower) => Cow::Borrowed(MASK),
        _ if lower == "location" || lower == "content-location" || lower == "refresh" => {
            text(value)
        }
        _ => Cow::Borrowed(value),
    }
}

/// `name: value` with the value redacted, for header lists stored as one string each.
pub fn header_line(line: &str) -> Cow<'_, str> {
    match line.split_once(':') {
        Some((name, value)) => match header(name.trim(), value.trim_start()) {
            Cow::Borrowed(v) if v.len() == value.trim_start().len() => Cow::Borrowed(line),
            redacted => Cow::Owned(format!("{}: {redacted}", name.trim())),
        },
        None => text(line),
    }
}

fn set_cookie(value: &str) -> String {
    let mut parts = value.splitn(2, ';');
    let first = parts.next().unwrap_or_default();
    let name = first.split_once('=').map_or(first, |(n, _)| n).trim();
    match parts.next() {
        Some(attributes) => format!("{name}={MASK};{attributes}"),
        None => format!("{name}={MASK}"),
    }
}

fn cookie(value: &str) -> String {
    value
        .split(';')
        .map(|pair| {
            let name = pair.split_once('=').map_or(pair, |(n, _)| n).trim();
            format!("{name}={MASK}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// URLs with userinfo (`scheme://user:password@host`) or a query string.
static URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>`]+"#).ok());
/// The query string of a path without a scheme, as in a request line (`GET /a?token=x`).
static QUERY: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"\?([A-Za-z0-9_.~%+-]+=[^\s"'<>`]*)"#).ok());
/// `Bearer abc…`, `Basic abc…` outside a header line.
static BEARER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}").ok());
/// `password=…`, `api_key: "…"`, `DB_PASSWORD='…'` in free text.
static KEY_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b([A-Za-z0-9_.-]*(?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|auth[_-]?key|access[_-]?key|private[_-]?key|salt)[A-Za-z0-9_.-]*)(\s*[:=]\s*|'\s*,\s*'|"\s*,\s*")(["']?)([^\s"',;&]+)"#).ok()
});

/// Free text (log lines, notes, bodies) with secrets masked: URLs' passwords and secret query
/// values, bearer tokens, and `secret-name = value` pairs.
pub fn text(input: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(input);
    if let Some(re) = URL.as_ref() {
        out = replace(out, re, |c| url(&c[0]).into_owned());
    }
    if let Some(re) = QUERY.as_ref() {
        out = replace(out, re, |c| format!("?{}", query_string(&c[1])));
    }
    if let Some(re) = BEARER.as_ref() {
        out = replace(out, re, |c| format!("{} {MASK}", &c[1]));
    }
    if let Some(re) = KEY_VALUE.as_ref() {
        out = replace(out, re, |c| {
            if c[4].starts_with(MASK) || c[4].starts_with("[redacted") {
                c[0].to_owned()
            } else {
                format!("{}{}{}{MASK}", &c[1], &c[2], &c[3])
            }
        });
    }
    out
}

fn replace<'a>(text: Cow<'a, str>, re: &Regex, f: impl Fn(&Captures) -> String) -> Cow<'a, str> {
    if !re.is_match(&text) {
        return text;
    }
    Cow::Owned(re.replace_all(&text, |c: &Captures| f(c)).into_owned())
}

/// A URL with the password of its userinfo and the values of secret query parameters masked.
/// Text that does not parse as a URL is returned as it was.
pub fn url(input: &str) -> Cow<'_, str> {
    let (base, fragment) = input.split_once('#').map_or((input, None), |(b, f)| (b, Some(f)));
    let (head, query) = base.split_once('?').map_or((base, None), |(h, q)| (h, Some(q)));
    let head = userinfo(head);
    let query = query.map(query_string);
    let changed = matches!(head, Cow::Owned(_)) || matches!(query, Some(Cow::Owned(_)));
    if !changed {
        return Cow::Borrowed(input);
    }
    let mut out = head.into_owned();
    if let Some(q) = query {
        out.push('?');
        out.push_str(&q);
    }
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    Cow::Owned(out)
}

fn userinfo(head: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = head.split_once("://") else { return Cow::Borrowed(head) };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some((info, host)) = authority.rsplit_once('@') else { return Cow::Borrowed(head) };
    let user = match info.split_once(':') {
        Some((user, _)) => format!("{user}:{MASK}"),
        None if is_secret_name(scheme) || info.len() >= 20 => MASK.to_owned(),
        None => return Cow::Borrowed(head),
    };
    Cow::Owned(format!("{scheme}://{user}@{host}{}", &rest[authority_end..]))
}

fn query_string(query: &str) -> Cow<'_, str> {
    let mut changed = false;
    let pairs: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && is_secret_name(name) => {
                changed = true;
                Cow::Owned(format!("{name}={MASK}"))
            }
            _ => Cow::Borrowed(pair),
        })
        .collect();
    if changed { Cow::Owned(pairs.join("&")) } else { Cow::Borrowed(query) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_lose_their_values() {
        assert_eq!(header("Authorization", "Bearer eyJhbGciOi.x.y"), "Bearer [redacted]");
        assert_eq!(header("Cookie", "sid=abc; theme=dark"), "sid=[redacted]; theme=[redacted]");
        assert_eq!(
            header("set-cookie", "session=s3cr3t; Path=/; HttpOnly"),
            "session=[redacted]; Path=/; HttpOnly"
        );
        assert_eq!(header("X-Api-Key", "k-123"), MASK);
        assert_eq!(header("cf-ray", "8a1b2c3d4e5f-AMS"), "8a1b2c3d4e5f-AMS");
        assert_eq!(header("Server", "cloudflare"), "cloudflare");
        assert_eq!(header_line("Set-Cookie: a=b"), "Set-Cookie: a=[redacted]");
        assert!(matches!(header_line("server: nginx"), Cow::Borrowed(_)));
    }

    #[test]
    fn urls_keep_their_shape_and_lose_their_secrets() {
        assert_eq!(
            url("https://shop.test/cart?id=7&token=abc123&utm_source=x#top"),
            "https://shop.test/cart?id=7&token=[redacted]&utm_source=x#top"
        );
        assert_eq!(
            url("mysql://app:hunter2@db.internal:3306/shop"),
            "mysql://app:[redacted]@db.internal:3306/shop"
        );
        assert_eq!(
            url("https://x.test/?X-Amz-Signature=f00&page=2"),
            "https://x.test/?X-Amz-Signature=[redacted]&page=2"
        );
        assert_eq!(
            url("https://x.test/?access_token=t&api_key=k"),
            "https://x.test/?access_token=[redacted]&api_key=[redacted]"
        );
        assert!(matches!(url("https://x.test/a?page=2"), Cow::Borrowed(_)));
    }

    #[test]
    fn free_text_loses_tokens_and_passwords() {
        let line = r#"GET /api?key=abc HTTP/1.1 via postgres://u:pw@10.0.0.5/db Authorization: Bearer abcdefghijkl DB_PASSWORD="hunter2" define('DB_PASSWORD', 'hunter2');"#;
        let out = text(line);
        for secret in ["abc HTTP", "pw@", "abcdefghijkl", "hunter2"] {
            assert!(!out.contains(secret), "{secret} survived in {out}");
        }
        assert!(out.contains("10.0.0.5/db"), "{out}");
        assert!(out.contains("DB_PASSWORD=\"[redacted]"), "{out}");
        assert!(matches!(text("upstream timed out (110) while reading"), Cow::Borrowed(_)));
    }
}
