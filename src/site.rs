//! The site under investigation: one absolute http(s) URL, parsed once with one rule, so the form,
//! `triage check`, the session and every check agree on what a URL is. A bare host
//! (`shop.example.com/cart`) means https. Ground floor: imports nothing of the project but
//! `sanitize` and `redact`, to show a URL safely.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::{redact, sanitize};

/// Why a text is not a site URL. The messages quote the input sanitised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("no URL given; expected e.g. https://shop.example.com/")]
    Empty,
    #[error("`{shown}` is not a valid URL ({reason}); expected e.g. https://shop.example.com/")]
    Invalid { shown: String, reason: String },
    #[error("`{shown}` is not an http or https URL")]
    NotHttp { shown: String },
    #[error("`{shown}` has no host")]
    NoHost { shown: String },
}

/// An absolute http or https URL with a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteUrl(Url);

impl SiteUrl {
    /// The one rule: trimmed, `https://` added when no scheme is given, http or https only, and
    /// a host required.
    pub fn parse(text: &str) -> Result<SiteUrl, UrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        let full = if text.contains("://") { text.to_owned() } else { format!("https://{text}") };
        let shown = || sanitize::line(text).into_owned();
        let url = Url::parse(&full)
            .map_err(|e| UrlError::Invalid { shown: shown(), reason: e.to_string() })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::NotHttp { shown: shown() });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(UrlError::NoHost { shown: shown() });
        }
        Ok(SiteUrl(url))
    }

    pub fn url(&self) -> &Url {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host without IPv6 brackets: `shop.example.com`, `127.0.0.1`, `::1`.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default().trim_matches(['[', ']'])
    }

    /// The port, explicit or the scheme's own.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(80)
    }

    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// How logs name the site: `shop.example.com`, or `127.0.0.1:8080` when the port is not the
    /// scheme's own (nginx's `host: "…"` carries the Host header as sent).
    pub fn host_header(&self) -> String {
        let host = self.0.host_str().unwrap_or_default();
        match self.0.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// The URL for people and exports: secrets in it redacted, control characters removed.
    pub fn shown(&self) -> String {
        sanitize::line(&redact::url(self.0.as_str())).into_owned()
    }
}

impl fmt::Display for SiteUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl FromStr for SiteUrl {
    type Err = UrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SiteUrl::parse(text)
    }
}

impl Serialize for SiteUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SiteUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SiteUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_front_end() {
        assert_eq!(SiteUrl::parse("shop.test/cart").unwrap().as_str(), "https://shop.test/cart");
        assert_eq!(SiteUrl::parse(" http://shop.test ").unwrap().as_str(), "http://shop.test/");
        assert!(SiteUrl::parse("").unwrap_err().to_string().contains("no URL given"));
        let ftp = SiteUrl::parse("ftp://x.test/").unwrap_err().to_string();
        assert!(ftp.contains("not an http or https URL"), "{ftp}");
        let space = SiteUrl::parse("http://exa mple.com/").unwrap_err().to_string();
        assert!(space.contains("not a valid URL"), "{space}");
        let escape = SiteUrl::parse("http://\u{1b}[2J/").unwrap_err().to_string();
        assert!(escape.contains("not a valid URL") && !escape.contains('\u{1b}'), "{escape}");
    }

    #[test]
    fn host_port_and_host_header() {
        let v6 = SiteUrl::parse("http://[::1]:8080/x").unwrap();
        assert_eq!((v6.host(), v6.port(), v6.host_header()), ("::1", 8080, "[::1]:8080".into()));
        let plain = SiteUrl::parse("https://shop.test/").unwrap();
        assert_eq!((plain.port(), plain.host_header().as_str()), (443, "shop.test"));
        assert!(plain.is_https());
    }

    #[test]
    fn shown_urls_hide_their_secrets() {
        let url = SiteUrl::parse("https://u:pw@shop.test/?token=abc").unwrap();
        assert!(!url.shown().contains("pw") && !url.shown().contains("abc"), "{}", url.shown());
    }
}
