//! The causes triage can name (`causes:` in assets/diagnosis.yaml): where on the request path
//! each one is (`fails`), which public errors it can produce (`makes`), which plainer causes it
//! explains (`refines`) and whether it is too generic to be stated with high confidence.

use serde::{Deserialize, Serialize};

/// Where on the request path a cause is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fails {
    /// Nothing fails (`none`), or nothing is known (`unknown`).
    None,
    Dns,
    /// The CDN, WAF or load balancer in front of the origin.
    Edge,
    /// The link from the edge to the origin server, or the origin as a whole seen from outside.
    Origin,
    /// A proxy or web server on the path, by its own doing (limits, maintenance, config).
    Proxy,
    /// What a proxy sends requests to, as far as the proxy can tell.
    Upstream,
    /// An app runtime (PHP-FPM, gunicorn, Node…).
    Runtime,
    /// The application's own code.
    App,
    Database,
    /// The machine as a whole (memory, disks, file descriptors).
    Host,
}

/// One public error a cause can produce: who made the page and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    /// A fingerprint vendor id, `app` (the application's page passed through), `any`, or `none`
    /// (no HTTP answer at all).
    pub maker: String,
    pub status: MadeStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MadeStatus {
    Code(u16),
    /// Any status from 500 to 599.
    ServerError,
    /// With maker `none`: the probe's failure kind (refused, timeout, dns, tls…).
    Failure(String),
}

impl Made {
    /// `nginx 502`, `app 5xx`, `none timeout`; `None` when the text is none of these.
    pub fn parse(text: &str) -> Option<Made> {
        let (maker, status) = text.trim().split_once(' ')?;
        let status = match status.trim() {
            "5xx" => MadeStatus::ServerError,
            code if maker != "none" => MadeStatus::Code(code.parse().ok()?),
            failure => MadeStatus::Failure(failure.to_owned()),
        };
        Some(Made { maker: maker.to_owned(), status })
    }

    /// Whether this is what the public probe saw: `maker` made `status` (`None` with `failure`
    /// when there was no HTTP answer).
    pub fn fits(&self, seen: &Seen) -> bool {
        let maker_fits = self.maker == "any" || self.maker == seen.maker;
        maker_fits
            && match (&self.status, seen.status, &seen.failure) {
                (MadeStatus::Code(code), Some(status), _) => *code == status,
                (MadeStatus::ServerError, Some(status), _) => (500..600).contains(&status),
                (MadeStatus::Failure(kind), None, Some(failure)) => kind == failure,
                _ => false,
            }
    }
}

/// What the public probe saw, in the terms of `makes`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Seen {
    /// The vendor that made the page, `app` when the application's own page came through, or
    /// `none` when there was no HTTP answer.
    pub maker: String,
    pub status: Option<u16>,
    /// Why there was no HTTP answer (refused, timeout, dns, tls…).
    pub failure: Option<String>,
}

impl Seen {
    /// `nginx 502`, `app 503`, `no answer (refused)`.
    pub fn label(&self) -> String {
        match (self.status, &self.failure) {
            (Some(status), _) if self.maker == "app" => format!("the application's own {status}"),
            (Some(status), _) => format!("{} {status}", self.maker),
            (None, Some(failure)) => format!("no answer ({failure})"),
            (None, None) => "no answer".to_owned(),
        }
    }
}

/// A cause triage can name, with a stable snake_case id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseSpec {
    pub id: String,
    pub title: String,
    pub description: String,
    pub fails: Fails,
    /// Too general to name a fix: never stated with high confidence.
    pub generic: bool,
    /// Plainer causes this one explains when both are seen on the same hop (`runtime_down`
    /// explains `upstream_refused`).
    pub refines: Vec<String>,
    pub makes: Vec<Made>,
}

impl CauseSpec {
    /// Whether this cause can produce what the public probe saw.
    pub fn explains(&self, seen: &Seen) -> bool {
        self.makes.iter().any(|m| m.fits(seen))
    }

    /// Whether it can produce some server error at a proxy of this kind (`nginx`), or through
    /// one: what an edge in front of the origin may pass on or wrap in its own page.
    pub fn explains_some_error_at(&self, maker: &str) -> bool {
        self.makes.iter().any(|m| {
            (m.maker == maker || m.maker == "any" || m.maker == "app")
                && !matches!(m.status, MadeStatus::Failure(_))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(maker: &str, status: Option<u16>, failure: Option<&str>) -> Seen {
        Seen { maker: maker.into(), status, failure: failure.map(str::to_owned) }
    }

    #[test]
    fn made_reads_as_written_and_fits_what_was_seen() {
        let nginx = Made::parse("nginx 502").unwrap();
        assert!(nginx.fits(&seen("nginx", Some(502), None)));
        assert!(!nginx.fits(&seen("nginx", Some(504), None)));
        assert!(!nginx.fits(&seen("apache", Some(502), None)));
        let app = Made::parse("app 5xx").unwrap();
        assert!(
            app.fits(&seen("app", Some(503), None)) && !app.fits(&seen("app", Some(404), None))
        );
        let none = Made::parse("none timeout").unwrap();
        assert!(none.fits(&seen("none", None, Some("timeout"))));
        assert!(Made::parse("any 503").unwrap().fits(&seen("varnish", Some(503), None)));
        assert_eq!(Made::parse("nginx"), None);
        assert_eq!(Made::parse("nginx abc"), None);
    }
}
