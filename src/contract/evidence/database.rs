//! What the `database` check found: the target and what the server said.

use serde::{Deserialize, Serialize};

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseEvidence {
    /// `host:port` or `unix:/path`.
    pub target: String,
    /// `mysql`, `postgresql` or `unknown`. Written as `engine`: `kind` is the tag of
    /// [`super::Evidence`], and a field of that name made a session unreadable.
    #[serde(rename = "engine")]
    pub kind: String,
    /// Where the address came from: `wp-config.php`, `.env`, `.env DATABASE_URL`, `address`.
    pub source: String,
    pub reachable: bool,
    pub failure: Option<String>,
    pub version: Option<String>,
    /// The server's own error, e.g. `1040: Too many connections`.
    pub server_error: Option<String>,
    pub elapsed_ms: u64,
    /// For a local database that does not answer: its server installed here but stopped, or
    /// running but listening elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_server: Option<String>,
}
