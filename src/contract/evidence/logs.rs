//! What the `logs` check found: the files read and the classified lines of the incident window.

use serde::{Deserialize, Serialize};

use crate::layer::Layer;

/// The classified evidence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsEvidence {
    /// The window in minutes; `None` when whole files were read (`--since all`).
    pub since_minutes: Option<u64>,
    /// The window's start, RFC 3339.
    pub cutoff: Option<String>,
    /// When the logs were read, RFC 3339: what "the last minutes" are measured from.
    #[serde(default)]
    pub read_at: Option<String>,
    pub files: Vec<LogFile>,
    /// Ranked: signatures that name a cause first, then by count.
    pub signatures: Vec<SignatureHit>,
    pub unreadable: Vec<UnreadableLog>,
    /// Sources that were not read, with the reason (no journal, …).
    pub skipped: Vec<String>,
    /// Upstream addresses named by the matching nginx lines.
    pub upstreams: Vec<String>,
    /// The matching lines grouped by signature, file and what they say of where they came from
    /// (server, host, upstream, pool…): what the diagnosis attributes to a hop of the request
    /// path, or to another site.
    #[serde(default)]
    pub groups: Vec<LineGroup>,
    /// Matching lines beyond the group limit, counted but not grouped.
    #[serde(default)]
    pub ungrouped: u64,
    /// The site's access logs over the window: when the errors began and whether they go on.
    #[serde(default)]
    pub access: Vec<AccessSummary>,
}

/// One access log over the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessSummary {
    pub file: String,
    /// The server name whose log it is; `None` when every site writes it.
    pub site: Option<String>,
    pub requests: u64,
    /// Responses of 500 and above.
    pub errors: u64,
    /// Each server-error status seen, with its count.
    pub statuses: Vec<(u16, u64)>,
    /// RFC 3339 of the first and last server error in the window.
    pub first_error: Option<String>,
    pub last_error: Option<String>,
    /// Requests and errors per minute, oldest first (minutes without requests left out).
    pub minutes: Vec<Minute>,
    /// triage's own probe requests, left out of every count.
    pub own_probes: u64,
    /// Lines that were not in a format triage reads.
    pub unparsed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Minute {
    /// RFC 3339 of the minute's start.
    pub at: String,
    pub requests: u64,
    pub errors: u64,
}

/// Matching lines of one signature in one log that say the same about where they came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineGroup {
    pub signature: String,
    pub cause: Option<String>,
    pub file: String,
    /// `server`, `host`, `upstream`, `pool`, … as the lines carry them (sanitised, redacted).
    pub fields: Vec<(String, String)>,
    pub count: u64,
    /// RFC 3339, when the lines carry times.
    pub first: Option<String>,
    pub last: Option<String>,
    /// The earliest line of the group, sanitised and redacted.
    pub line: String,
}

impl LineGroup {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// One file (or the journal) and what reading it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFile {
    pub path: String,
    pub compressed: bool,
    pub size: u64,
    /// Every byte read, window probes included (decompressed bytes for gzip).
    pub bytes_read: u64,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureHit {
    pub id: String,
    pub title: String,
    pub layer: Layer,
    pub cause: Option<String>,
    pub step: String,
    pub count: u64,
    /// RFC 3339, when the lines carry times.
    pub first: Option<String>,
    pub last: Option<String>,
    /// The first matching line, sanitised and redacted.
    pub first_line: String,
    pub file: String,
    /// The first matching line that names the site under investigation (the `url` param's
    /// host), when one does: the line the support note quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_line: Option<String>,
}

impl SignatureHit {
    /// The line the support note quotes: the site's own when there is one.
    pub fn quoted_line(&self) -> &str {
        self.site_line.as_deref().unwrap_or(&self.first_line)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableLog {
    pub path: String,
    pub reason: String,
    /// The command that would read it.
    pub instead: String,
}
