//! Secrets known by their shape, wherever they stand: PEM private keys, credentials after
//! `Bearer`/`Basic`/`token`, and vendor tokens (the vendor prefix stays, so a note still says
//! "a live Stripe key was in the log").

use std::borrow::Cow;
use std::ops::Range;

use super::compiled::{Captures, Compiled};
use super::gate::Pattern;
use base64::Engine;

use super::names;

/// A private key block up to its END line, or to the end of the text when it was cut off.
pub(super) static PRIVATE_KEY: Pattern = Pattern::new(&super::gates::PRIVATE_KEY, || {
    super::source(concat!(
        r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?P<body>.*?)",
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    ))
});

/// A credential after `Bearer`, `Basic` or `token` in running text.
pub(super) static SCHEMES: Pattern = Pattern::without_prefilter(&super::gates::SCHEMES, || {
    super::source(&format!(
        concat!(
            r"(?i){}(?:bearer[ \t]+(?P<s_bearer>[A-Za-z0-9._~+/=-]{{8,}})",
            r"|basic[ \t]+(?P<s_basic>[A-Za-z0-9+/]{{6,}}={{0,2}})",
            r"|token[ \t]+(?P<s_token>[A-Za-z0-9._~+/=-]{{16,}}))",
        ),
        super::BOUNDARY
    ))
});

/// Vendor tokens, as (vendor, prefix, secret): a word starting with the prefix is followed by
/// the secret. The prefix stays.
const VENDOR_TOKENS: &[(&str, &str, &str)] = &[
    ("Stripe keys", r"(?:sk|rk)_(?:live|test)_", r"[A-Za-z0-9]{16,}"),
    ("Stripe webhook secrets", r"whsec_", r"[A-Za-z0-9+/=]{16,}"),
    ("GitHub tokens", r"gh[pousr]_", r"[A-Za-z0-9]{20,}"),
    ("GitHub fine-grained tokens", r"github_pat_", r"[A-Za-z0-9_]{20,}"),
    ("GitLab tokens", r"gl(?:pat|dt|rt|ptt|soat)-", r"[A-Za-z0-9_-]{20,}"),
    ("Slack tokens", r"(?:xox[abposer]|xapp)-", r"[A-Za-z0-9-]{10,}"),
    (
        "npm, DigitalOcean, Shopify, Hugging Face",
        r"(?:npm|do[opr]_v1|shp(?:at|ss|ca|pa)|hf)_",
        r"[A-Za-z0-9_-]{20,}",
    ),
    ("OpenAI and Anthropic keys", r"sk-", r"[A-Za-z0-9_-]{20,}"),
    ("Google API keys", r"AIza", r"[A-Za-z0-9_-]{30,}"),
    ("SendGrid keys", r"SG\.", r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"),
    (
        "AWS access key ids",
        r"A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)",
        r"[A-Z0-9]{16}(?-u:\b)",
    ),
    ("Laravel APP_KEY", r"base64:", r"[A-Za-z0-9+/]{20,}={0,2}"),
    ("Telegram bot tokens", r"(?:bot)?[0-9]{6,12}:", r"AA[A-Za-z0-9_-]{30,}"),
    ("Mailgun keys", r"key-", r"[0-9a-f]{32}(?-u:\b)"),
    ("PyPI tokens", r"pypi-", r"[A-Za-z0-9_-]{50,}"),
];

/// Secrets found by what precedes them anywhere, not at a word's start: (what, prefix, secret).
const ANYWHERE: &[(&str, &str, &str)] = &[
    (
        "JWTs (header.payload.signature)",
        "",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    ),
    (
        "Slack webhooks",
        r"hooks\.slack\.com/(?:services|workflows|triggers)/",
        r"[A-Za-z0-9/_-]{16,}",
    ),
    ("Discord webhooks", r"discord(?:app)?\.com/api/webhooks/[0-9]+/", r"[A-Za-z0-9_-]{16,}"),
];

pub(super) static TOKENS: Pattern = Pattern::without_prefilter(&super::gates::TOKENS, || {
    let boundary =
        VENDOR_TOKENS.iter().map(|(_, prefix, secret)| (super::BOUNDARY, prefix, secret));
    let anywhere = ANYWHERE.iter().map(|(_, prefix, secret)| ("", prefix, secret));
    let alternatives: Vec<String> = boundary
        .chain(anywhere)
        .enumerate()
        .map(|(i, (start, prefix, secret))| format!("{start}{prefix}(?P<s{i}>{secret})"))
        .collect();
    super::source(&alternatives.join("|"))
});

pub(super) fn private_keys<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    let spans: Vec<Range<usize>> = re
        .captures_iter(&text)
        .filter_map(|c| c.name("body"))
        .map(|body| without_breaks(body.as_str(), body.start()))
        .filter(|span| !span.is_empty() && !text[span.clone()].contains(super::MASK))
        .collect();
    super::masked(text, &spans)
}

/// The span of `body` (at `offset`) without the line breaks around it, real or written `\n`,
/// so the block keeps its lines.
fn without_breaks(body: &str, offset: usize) -> Range<usize> {
    let bytes = body.as_bytes();
    let (mut start, mut end) = (0, bytes.len());
    loop {
        if bytes.get(start).is_some_and(u8::is_ascii_whitespace) {
            start += 1;
        } else if bytes[start..].starts_with(b"\\n") {
            start += 2;
        } else {
            break;
        }
    }
    while end > start {
        if bytes[end - 1].is_ascii_whitespace() {
            end -= 1;
        } else if end - start >= 2 && bytes[..end].ends_with(b"\\n") {
            end -= 2;
        } else {
            break;
        }
    }
    offset + start..offset + end
}

pub(super) fn schemes<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    super::mask_groups(text, re, scheme_is_secret)
}

/// `Basic` must carry base64 of `user:password`, `token` something random; `Bearer` anything.
fn scheme_is_secret(c: &Captures) -> bool {
    if let Some(basic) = c.name("s_basic") {
        let decoded = base64::engine::general_purpose::STANDARD.decode(basic.as_str());
        return decoded.is_ok_and(|d| d.contains(&b':'));
    }
    c.name("s_token").is_none_or(|t| names::looks_random(t.as_str()))
}

pub(super) fn tokens<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    super::mask_groups(text, re, |_| true)
}

#[cfg(test)]
mod tests {
    use super::super::text;

    #[test]
    fn vendor_prefixes_stay_and_secrets_go() {
        let cases = [
            ("key sk_live_51H8xYzAbCdEfGhIjKl", "key sk_live_[redacted]"),
            ("AKIAIOSFODNN7EXAMPLE.", "AKIA[redacted]."),
            ("t=eyJhbGciOiJI.eyJzdWIiOiIx.c2ln end", "t=[redacted] end"),
            ("Basic realm=\"x\" Basic dXNlcjpwYXNz", "Basic realm=\"x\" Basic [redacted]"),
            ("basic authentication required", "basic authentication required"),
            ("token expired", "token expired"),
            (
                "-----BEGIN EC PRIVATE KEY-----\nMHcC\nAQEE\n-----END EC PRIVATE KEY-----",
                "-----BEGIN EC PRIVATE KEY-----\n[redacted]\n-----END EC PRIVATE KEY-----",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(text(input), expected, "{input}");
        }
    }
}
