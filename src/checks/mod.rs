//! Probes that gather evidence. Every check is read-only: it may connect, read files and run
//! read-only commands, but it never changes the system. Each run ends in exactly one
//! [`CheckReport`].

pub mod catalog;

use std::collections::BTreeMap;
use std::fmt;

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
    pub elapsed_ms: u64,
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

/// Lets a running check say what it is doing ("probe 3 of 5"). The engine throttles these before
/// they reach the UI; a check with no listener reports into nothing.
#[derive(Debug, Clone)]
pub struct Progress {
    run: RunId,
    events: Option<tokio::sync::mpsc::UnboundedSender<CheckEvent>>,
}

impl Progress {
    pub fn new(run: RunId, events: tokio::sync::mpsc::UnboundedSender<CheckEvent>) -> Self {
        Progress { run, events: Some(events) }
    }

    /// For running a check outside the engine (tests, `triage logs`).
    pub fn none() -> Self {
        Progress { run: RunId(0), events: None }
    }

    pub fn report(&self, message: impl Into<String>) {
        if let Some(tx) = &self.events {
            // A closed channel means nobody is listening any more; the check still finishes.
            let _ = tx.send(CheckEvent::Progress { run: self.run, message: message.into() });
        }
    }
}
