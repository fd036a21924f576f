//! What the `recent_changes` check found: changes newest first.

use serde::{Deserialize, Serialize};

/// One change, at a time, of a kind: package, config, file, restart, deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Unix seconds.
    pub at: i64,
    pub kind: String,
    /// What changed, sanitised.
    pub what: String,
}

impl Change {
    pub fn new(at: i64, kind: &str, what: String) -> Self {
        Change { at, kind: kind.to_owned(), what }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangesEvidence {
    pub hours: u64,
    /// Newest first.
    pub changes: Vec<Change>,
    /// Changes found beyond those kept.
    pub more: usize,
    /// Sources that could not be read, each with the command that would.
    pub unreadable: Vec<String>,
    pub notes: Vec<String>,
}
