//! The check contract: what a front end asks of a check ([`CheckRequest`]), how a run is named
//! ([`RunId`]) and reported while it runs ([`CheckEvent`], [`Progress`]), and its one result
//! ([`CheckReport`] with its [`CheckStatus`], facts and typed [`Evidence`]). The session, the
//! engine and the UI depend on this module, never on the checks themselves.

pub mod evidence;
pub mod spec;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::facts::Facts;

pub use evidence::Evidence;
pub use spec::{
    Applies, CheckSpec, FactSpec, Input, MAX_LIST_ITEMS, ParamSpec, Scope, VERDICT_FACTS,
    WALK_FACTS, fact, input, param,
};

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

/// The future that runs one check to its one report.
pub type ReportFuture = Pin<Box<dyn Future<Output = CheckReport> + Send>>;

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
