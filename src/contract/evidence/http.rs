//! What the `http_probe` check saw: every probe, its timings and who answered it (the fingerprint).

use serde::{Deserialize, Serialize};

use super::tls::Certificate;
use crate::layer::Layer;

/// What the probes saw, for exports and `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpEvidence {
    pub probes: Vec<Probe>,
    /// Who answered the representative probe (the first failing one, else the first).
    pub fingerprint: Option<Fingerprint>,
    /// Index of the representative probe.
    pub representative: usize,
}

impl HttpEvidence {
    pub fn representative(&self) -> Option<&Probe> {
        self.probes.get(self.representative)
    }
}

/// Why a probe got no response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeFailure {
    /// dns, refused, unreachable, timeout, tls, reset, invalid_response, redirect_loop,
    /// too_many_redirects, internal_redirect (not followed), unsupported_scheme.
    pub kind: String,
    /// One sentence, sanitised.
    pub message: String,
}

impl ProbeFailure {
    pub(crate) fn new(kind: &str, message: impl Into<String>) -> Self {
        ProbeFailure { kind: kind.to_owned(), message: message.into() }
    }
}

/// One redirect followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    pub url: String,
    pub status: u16,
    pub location: String,
}

/// What one probe saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// The URL asked for (redacted).
    pub url: String,
    pub status: Option<u16>,
    pub failure: Option<ProbeFailure>,
    pub version: Option<String>,
    pub remote_addr: Option<String>,
    /// Every response header of the final response, sanitised and redacted.
    pub headers: Vec<(String, String)>,
    pub redirects: Vec<Redirect>,
    /// The URL of the final response (redacted).
    pub final_url: String,
    /// The first bytes of the body, sanitised, for matching; not exported.
    #[serde(skip)]
    pub body: String,
    /// The start of the body as exported: at most 1 KiB, sanitised and redacted.
    pub body_excerpt: String,
    /// Bytes of body read (at most `max_body`).
    pub body_bytes: usize,
    /// The whole body was read within the limits.
    pub body_complete: bool,
    pub timings: Timings,
    pub certificate: Option<Certificate>,
}

impl Probe {
    /// The status, or the failure kind: what `http.statuses` lists.
    pub fn outcome(&self) -> String {
        match (self.status, &self.failure) {
            (Some(status), _) => status.to_string(),
            (None, Some(f)) => f.kind.clone(),
            (None, None) => "unknown".to_owned(),
        }
    }

    /// A 5xx or no response at all.
    pub fn is_error(&self) -> bool {
        self.status.is_none_or(|s| s >= 500)
    }
}

/// How long each phase took, in milliseconds. `ttfb_ms` and `total_ms` count from the start of
/// the request (as curl's `time_starttransfer` and `time_total` do); the others are the phase
/// alone. A phase that did not happen (no DNS for an IP literal, no TLS over http) is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    pub dns_ms: Option<u64>,
    pub connect_ms: Option<u64>,
    pub tls_ms: Option<u64>,
    pub ttfb_ms: Option<u64>,
    pub total_ms: Option<u64>,
}

impl Timings {
    /// `dns 12 ms · connect 20 ms · tls 35 ms · ttfb 210 ms · total 230 ms`, skipping phases
    /// that did not happen.
    pub fn line(&self) -> String {
        let phases = [
            ("dns", self.dns_ms),
            ("connect", self.connect_ms),
            ("tls", self.tls_ms),
            ("ttfb", self.ttfb_ms),
            ("total", self.total_ms),
        ];
        let parts: Vec<String> =
            phases.iter().filter_map(|(n, v)| v.map(|v| format!("{n} {v} ms"))).collect();
        parts.join(" · ")
    }
}

/// A vendor seen in the response path, with the header that shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub vendor: String,
    pub name: String,
    pub layer: Layer,
    pub evidence: String,
}

/// Who generated a response, and what the vendor says it means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The vendor that made the response; `None` when it came from the application.
    pub vendor: Option<String>,
    pub vendor_name: Option<String>,
    pub layer: Layer,
    /// An intermediary (CDN, load balancer, proxy, web server) made the page itself.
    pub generated: bool,
    /// The vendor's own code (521, H10, no_healthy_upstream, …).
    pub code: Option<String>,
    pub meaning: Option<String>,
    pub cause: Option<String>,
    pub maintenance: bool,
    /// `high` for a vendor's own page, `low` for an inference.
    pub confidence: String,
    /// The quoted headers and body text behind the verdict.
    pub evidence: Vec<String>,
    /// Every vendor seen in the headers, outside in.
    pub path: Vec<Hop>,
    /// The CDN in the path, if any.
    pub cdn: Option<String>,
    /// Request ids for the support note, `name: value`.
    pub request_ids: Vec<String>,
    pub retry_after: Option<String>,
}
