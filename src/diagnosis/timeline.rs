//! When the incident happened, from the access log of the hop that made the error: server
//! errors per minute over the window, when they began, whether they go on, and the share of
//! requests that failed. triage's own probes are already left out of the counts.

use serde::{Deserialize, Serialize};

use crate::contract::evidence::logs::{AccessSummary, LogsEvidence, Minute};

use super::path::{Hop, Role};

/// Errors in the last this-many seconds before the logs were read mean "still happening".
pub const RECENT_SECONDS: i64 = 5 * 60;

/// The incident over time, as one access log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The access log it comes from, and the site it belongs to (`None`: shared by every site).
    pub file: String,
    pub site: Option<String>,
    pub requests: u64,
    pub errors: u64,
    /// Errors as a share of requests, in percent (rounded up, so one error is never 0%).
    pub share_pct: u64,
    /// RFC 3339.
    pub first_error: Option<String>,
    pub last_error: Option<String>,
    /// Errors in the last five minutes before the logs were read.
    pub recent: bool,
    pub statuses: Vec<(u16, u64)>,
    pub minutes: Vec<Minute>,
}

impl Timeline {
    /// The most frequent server-error status.
    pub fn main_status(&self) -> Option<u16> {
        self.statuses.iter().max_by_key(|(status, n)| (*n, *status)).map(|(status, _)| *status)
    }
}

/// The timeline of an access log the outermost local proxy writes for the site: its own when its
/// server block names one, else one every site of that server writes. Another instance's access
/// log is never this site's.
pub fn of(logs: &LogsEvidence, hops: &[Hop]) -> Option<Timeline> {
    let front = hops.iter().find(|h| h.role == Role::Proxy)?;
    let writes = |a: &&AccessSummary| {
        front.key.logs.iter().any(|l| l.kind.is_access() && l.path.to_string_lossy() == a.file)
    };
    let mine: Vec<&AccessSummary> = logs.access.iter().filter(writes).collect();
    let summary = mine.iter().find(|a| a.site.is_some()).or_else(|| mine.first())?;
    let now = logs.read_at.as_deref().and_then(seconds);
    Some(timeline(summary, now))
}

fn timeline(a: &AccessSummary, now: Option<i64>) -> Timeline {
    let last = a.last_error.as_deref().and_then(seconds);
    let recent = matches!((last, now), (Some(last), Some(now)) if now - last <= RECENT_SECONDS);
    Timeline {
        file: a.file.clone(),
        site: a.site.clone(),
        requests: a.requests,
        errors: a.errors,
        share_pct: if a.requests == 0 { 0 } else { (a.errors * 100).div_ceil(a.requests) },
        first_error: a.first_error.clone(),
        last_error: a.last_error.clone(),
        recent,
        statuses: a.statuses.clone(),
        minutes: a.minutes.clone(),
    }
}

fn seconds(rfc3339: &str) -> Option<i64> {
    rfc3339.parse::<jiff::Timestamp>().ok().map(jiff::Timestamp::as_second)
}
