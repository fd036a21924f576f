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
    pub files: Vec<LogFile>,
    /// Ranked: signatures that name a cause first, then by count.
    pub signatures: Vec<SignatureHit>,
    pub unreadable: Vec<UnreadableLog>,
    /// Sources that were not read, with the reason (no journal, …).
    pub skipped: Vec<String>,
    /// Upstream addresses named by the matching nginx lines.
    pub upstreams: Vec<String>,
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
