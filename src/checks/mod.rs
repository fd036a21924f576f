//! Probes that gather evidence. Every check is read-only: it may connect, read files and run
//! read-only commands, but it never changes the system. Each run ends in exactly one
//! [`CheckReport`].

pub mod catalog;
pub mod changes;
pub mod database;
pub mod dns;
pub mod engine;
pub mod fingerprint;
pub mod http;
pub mod logs;
pub mod origin;
pub mod proxy;
pub mod resources;
pub mod stack;
pub mod tls;
pub mod upstreams;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::evidence::Facts;

/// A check to run, with its parameters already rendered from the runbook inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRequest {
    pub check: String,
    pub params: BTreeMap<String, String>,
}

impl CheckRequest {
    pub fn new(check: impl Into<String>) -> Self {
        CheckRequest { check: check.into(), params: BTreeMap::new() }
    }

    #[must_use]
    pub fn with(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Identifies one run of one check. The UI hands out ids; events for an id it no longer
/// waits for (a re-run, a step left) are dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RunId(pub u64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How a check ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CheckStatus {
    /// Looked and found nothing wrong.
    Passed,
    /// Found something worth a look that does not explain the error by itself.
    Warning,
    /// Found a fault.
    Failed,
    /// Could not look: no permission, tool missing, input missing.
    CouldNotRun {
        reason: String,
        /// A command the user can run instead (e.g. with sudo).
        instead: Option<String>,
    },
    /// Did not finish within its time limit.
    TimedOut { after_ms: u64 },
}

impl CheckStatus {
    pub fn label(&self) -> &'static str {
        match self {
            CheckStatus::Passed => "passed",
            CheckStatus::Warning => "warning",
            CheckStatus::Failed => "failed",
            CheckStatus::CouldNotRun { .. } => "could not run",
            CheckStatus::TimedOut { .. } => "timed out",
        }
    }
}

/// The one result of a check run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    pub check: String,
    pub status: CheckStatus,
    /// One sentence for the list of checks.
    pub summary: String,
    /// Evidence lines for people, already sanitised.
    pub details: Vec<String>,
    pub facts: Facts,
    /// The typed evidence behind the facts, for exports and `--json`.
    #[serde(default)]
    pub evidence: Evidence,
    pub elapsed_ms: u64,
}

impl CheckReport {
    /// A report with no details, facts or evidence yet. The engine fills in `elapsed_ms`.
    pub fn new(check: &str, status: CheckStatus, summary: impl Into<String>) -> Self {
        CheckReport {
            check: check.to_owned(),
            status,
            summary: summary.into(),
            details: Vec::new(),
            facts: Facts::new(),
            evidence: Evidence::None,
            elapsed_ms: 0,
        }
    }

    /// A check that could not look, with the reason and, where it helps, what to run instead.
    pub fn could_not_run(check: &str, reason: impl Into<String>, instead: Option<String>) -> Self {
        let reason = reason.into();
        let summary = format!("could not run: {reason}");
        CheckReport::new(check, CheckStatus::CouldNotRun { reason, instead }, summary)
    }

    #[must_use]
    pub fn with_facts(mut self, facts: Facts) -> Self {
        self.facts = facts;
        self
    }

    #[must_use]
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    #[must_use]
    pub fn with_evidence(mut self, evidence: Evidence) -> Self {
        self.evidence = evidence;
        self
    }
}

/// The typed evidence a check found. Each check adds its own variant; facts are derived from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Evidence {
    /// The check keeps nothing beyond its facts (or could not run).
    #[default]
    None,
    /// `http_probe`: every probe and who answered.
    Http(Box<http::HttpEvidence>),
    /// `dns`: the answers and the CDN they point at.
    Dns(Box<dns::Answers>),
    /// `tls`: the certificate.
    Tls(Box<tls::Certificate>),
    /// `origin`: the edge and the origin side by side.
    Origin(Box<origin::Comparison>),
    /// The local web stack (`stack`).
    Stack(Box<stack::Stack>),
    /// The proxy configs' upstream targets and what each answered (`upstreams`).
    Upstreams(Box<upstreams::Upstreams>),
    /// Host resources and limits (`resources`).
    Resources(Box<resources::Resources>),
    /// The `logs` check: classified lines of the incident window.
    Logs(Box<logs::LogsEvidence>),
    /// The `database` check: the target and what the server said.
    Database(Box<database::DatabaseEvidence>),
    /// The `recent_changes` check: changes newest first.
    Changes(Box<changes::ChangesEvidence>),
}

/// What a running check tells the UI loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckEvent {
    Started { run: RunId },
    Progress { run: RunId, message: String },
    Finished { run: RunId, report: CheckReport },
}

impl CheckEvent {
    pub fn run(&self) -> RunId {
        match self {
            CheckEvent::Started { run }
            | CheckEvent::Progress { run, .. }
            | CheckEvent::Finished { run, .. } => *run,
        }
    }
}

/// Lets a running check say what it is doing ("probe 3 of 5"). Messages closer together than
/// [`Progress::MIN_INTERVAL`] are dropped, so a chatty check cannot flood the UI loop; a check with
/// no listener reports into nothing.
#[derive(Debug, Clone)]
pub struct Progress {
    run: RunId,
    events: Option<tokio::sync::mpsc::UnboundedSender<CheckEvent>>,
    /// When the last message went out, shared by the clones handed to one run's subtasks.
    last_sent: Arc<Mutex<Option<Instant>>>,
}

impl Progress {
    pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

    pub fn new(run: RunId, events: tokio::sync::mpsc::UnboundedSender<CheckEvent>) -> Self {
        Progress { run, events: Some(events), last_sent: Arc::default() }
    }

    /// For running a check outside the engine (tests, `triage logs`).
    pub fn none() -> Self {
        Progress { run: RunId(0), events: None, last_sent: Arc::default() }
    }

    pub fn report(&self, message: impl Into<String>) {
        let Some(tx) = &self.events else { return };
        let now = Instant::now();
        {
            let Ok(mut last) = self.last_sent.lock() else { return };
            if last.is_some_and(|t| now.duration_since(t) < Self::MIN_INTERVAL) {
                return;
            }
            *last = Some(now);
        }
        // A closed channel means nobody is listening any more; the check still finishes.
        let _ = tx.send(CheckEvent::Progress { run: self.run, message: message.into() });
    }
}

/// Runs one check to its report. The engine adds the time limit, cancellation and timing; each
/// check bounds its own reads and connections as well.
pub async fn run(request: CheckRequest, progress: Progress) -> CheckReport {
    match request.check.as_str() {
        "http_probe" => http::run(request, progress).await,
        "dns" => dns::run(request, progress).await,
        "tls" => tls::run(request, progress).await,
        "origin" => origin::run(request, progress).await,
        "stack" => stack::run(request, progress).await,
        "upstreams" => upstreams::run(request, progress).await,
        "resources" => resources::run(request, progress).await,
        logs::ID => logs::run(request, progress).await,
        database::ID => database::run(request, progress).await,
        changes::ID => changes::run(request, progress).await,
        id => not_available(id),
    }
}

/// A check the catalog knows that this build does not implement, or an unknown id.
fn not_available(id: &str) -> CheckReport {
    match catalog::spec(id) {
        Some(spec) => CheckReport::could_not_run(
            spec.id,
            format!("the `{}` check is not available in this build", spec.id),
            None,
        ),
        None => CheckReport::could_not_run(id, format!("unknown check `{id}`"), None),
    }
}
