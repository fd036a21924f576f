//! The fixed vocabulary of layers a request passes through, shared by the runbook, the checks
//! and the diagnosis. It must never grow a layer that only one of them understands.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A layer between the visitor and the data, outside in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Client,
    Dns,
    Cdn,
    Waf,
    LoadBalancer,
    ReverseProxy,
    WebServer,
    AppRuntime,
    Database,
    Host,
    Deploy,
}

impl Layer {
    /// Every layer, outside in: the order in which triage walks them.
    pub const ALL: [Layer; 11] = [
        Layer::Client,
        Layer::Dns,
        Layer::Cdn,
        Layer::Waf,
        Layer::LoadBalancer,
        Layer::ReverseProxy,
        Layer::WebServer,
        Layer::AppRuntime,
        Layer::Database,
        Layer::Host,
        Layer::Deploy,
    ];

    /// The layer with this id.
    pub fn from_id(id: &str) -> Option<Layer> {
        Layer::ALL.iter().copied().find(|l| l.id() == id)
    }

    /// The id used in YAML, JSON and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Layer::Client => "client",
            Layer::Dns => "dns",
            Layer::Cdn => "cdn",
            Layer::Waf => "waf",
            Layer::LoadBalancer => "load_balancer",
            Layer::ReverseProxy => "reverse_proxy",
            Layer::WebServer => "web_server",
            Layer::AppRuntime => "app_runtime",
            Layer::Database => "database",
            Layer::Host => "host",
            Layer::Deploy => "deploy",
        }
    }

    /// A short human name for headers and reports.
    pub fn label(self) -> &'static str {
        match self {
            Layer::Client => "visitor / client",
            Layer::Dns => "DNS",
            Layer::Cdn => "CDN edge",
            Layer::Waf => "WAF / security",
            Layer::LoadBalancer => "load balancer",
            Layer::ReverseProxy => "reverse proxy",
            Layer::WebServer => "web server",
            Layer::AppRuntime => "app runtime",
            Layer::Database => "database",
            Layer::Host => "host resources",
            Layer::Deploy => "deploys and changes",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// The text was not one of the layer ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown layer `{0}`; expected one of: client, dns, cdn, waf, load_balancer, reverse_proxy, web_server, app_runtime, database, host, deploy"
)]
pub struct UnknownLayer(pub String);

impl FromStr for Layer {
    type Err = UnknownLayer;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Layer::ALL.into_iter().find(|l| l.id() == s).ok_or_else(|| UnknownLayer(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_from_str_and_serde() {
        for layer in Layer::ALL {
            assert_eq!(layer.id().parse::<Layer>(), Ok(layer));
            let json = serde_json::to_string(&layer).unwrap();
            assert_eq!(json, format!("\"{}\"", layer.id()));
        }
        assert!("proxy".parse::<Layer>().is_err());
    }
}
