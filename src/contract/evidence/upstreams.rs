//! What the `upstreams` check found: each upstream target of the configs and what it did when
//! probed.

use serde::{Deserialize, Serialize};

use super::stack::Unseen;
use super::web::{FpmConfig, Location, ProxyConfig, ServerKind, Upstream};

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstreams {
    pub configs: Vec<ProxyConfig>,
    pub results: Vec<UpstreamResult>,
    pub unseen: Vec<Unseen>,
    pub notes: Vec<String>,
    /// The PHP-FPM configs read, so a socket can be traced to its pool file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fpm: Vec<FpmConfig>,
}

/// One distinct target and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamResult {
    pub server: ServerKind,
    pub site: String,
    /// The first directive that points here.
    pub target: Upstream,
    /// Other directives that point at the same address.
    pub also_at: Vec<Location>,
    /// The web server user the socket permissions were judged for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The service holding the listening socket there, when visible (`php-fpm pid 812`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_by: Option<String>,
    #[serde(flatten)]
    pub outcome: UpstreamState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<u64>,
}

/// What a target did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum UpstreamState {
    Healthy {
        answer: String,
    },
    Slow {
        answer: String,
    },
    /// Answered, with a server error of its own (HTTP 5xx).
    Erroring {
        answer: String,
    },
    Refused,
    SocketMissing {
        dir_missing: bool,
    },
    Permission {
        detail: String,
    },
    NoAnswer,
    /// Connected, then closed or reset without answering.
    Closed {
        detail: String,
    },
    Misconfigured {
        detail: String,
    },
    /// The runtime it expects runs, but listens somewhere else.
    PointsElsewhere {
        runtime: String,
        listens: Vec<String>,
    },
    NotChecked {
        reason: String,
    },
    Unseen {
        reason: String,
        instead: String,
    },
}

impl UpstreamState {
    pub fn label(&self) -> &'static str {
        match self {
            UpstreamState::Healthy { .. } => "healthy",
            UpstreamState::Slow { .. } => "slow",
            UpstreamState::Erroring { .. } => "server error",
            UpstreamState::Refused => "refused",
            UpstreamState::SocketMissing { .. } => "socket missing",
            UpstreamState::Permission { .. } => "permission denied",
            UpstreamState::NoAnswer => "no answer",
            UpstreamState::Closed { .. } => "closed",
            UpstreamState::Misconfigured { .. } => "misconfigured",
            UpstreamState::PointsElsewhere { .. } => "points elsewhere",
            UpstreamState::NotChecked { .. } => "not checked",
            UpstreamState::Unseen { .. } => "could not see",
        }
    }

    /// Explains a failure of the site by itself.
    pub fn is_fault(&self) -> bool {
        !matches!(
            self,
            UpstreamState::Healthy { .. }
                | UpstreamState::Slow { .. }
                | UpstreamState::NotChecked { .. }
                | UpstreamState::Unseen { .. }
        )
    }
}

/// Who would open the socket: the web server's worker user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub name: String,
    pub uid: u32,
    pub gids: Vec<u32>,
}
