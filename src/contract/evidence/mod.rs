//! The typed evidence each check keeps beside its facts: what the probes saw, the stack, the
//! configs read, the classified log lines. Only data lives here (with small accessors); the checks
//! that gather it are in `checks`, and nothing here performs IO.

use serde::{Deserialize, Serialize};

pub mod changes;
pub mod database;
pub mod dns;
pub mod http;
pub mod logs;
pub mod origin;
pub mod resources;
pub mod security;
pub mod stack;
pub mod tls;
pub mod upstreams;
pub mod web;

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
    /// The `security` check: SELinux, its denials, the connection-tracking table.
    Security(Box<security::SecurityEvidence>),
}
