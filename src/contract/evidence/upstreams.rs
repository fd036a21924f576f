//! What the `upstreams` check found: each upstream target of the configs and what it did when
//! probed.

use serde::{Deserialize, Serialize};

use super::stack::Unseen;
use super::web::{FpmConfig, Location, ProxyConfig, ServerKind, Upstream};

/// What the check found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstreams {
    pub configs: Vec<ProxyConfig>,
    /// The PHP-FPM configs behind the FastCGI targets: which pool listens where, its request
    /// limits (with their lines) and its logs.
    #[serde(default)]
    pub fpm: Vec<FpmConfig>,
    pub results: Vec<UpstreamResult>,
    pub unseen: Vec<Unseen>,
    pub notes: Vec<String>,
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
    /// How long the proxy waits for its answer, by its config or its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// What sets `timeout_ms`: the setting with its line (`.first_byte_timeout 1s
    /// (/etc/varnish/default.vcl:5)`) or the server's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_by: Option<String>,
    /// How long the proxy waits for the connection, and what sets that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout_by: Option<String>,
    /// How long the probe waited: the proxy's wait and a margin, at most 20 s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waited_ms: Option<u64>,
    /// The PHP-FPM pool whose `listen` is this address, with that line: `www
    /// (/etc/php/8.2/fpm/pool.d/www.conf:41)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
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
    /// Did not connect or answer within the proxy's own timeout: the proxy gives up first.
    TimedOut {
        /// `connect` or `answer`.
        phase: String,
        /// What set the limit: `.first_byte_timeout 1s (default.vcl:4)`.
        limit: String,
    },
    /// The host name does not resolve (with the proxy's own resolver, where it has one).
    Unresolved {
        detail: String,
    },
    /// The TLS handshake the proxy would make fails (`https://` to a plain-HTTP port).
    TlsFailed {
        detail: String,
    },
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
            UpstreamState::TimedOut { .. } => "timed out",
            UpstreamState::Unresolved { .. } => "does not resolve",
            UpstreamState::TlsFailed { .. } => "TLS handshake fails",
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
