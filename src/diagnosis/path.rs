//! The request path: the chain of hops a request to the site takes, outside in — the edge that
//! answered, the local proxy whose config serves the host and port, its upstreams, a proxy
//! behind a proxy (followed to a bounded depth, loops detected), the runtime (a PHP-FPM pool, an
//! app server) and its database — each with how it was found. It is built from the checks'
//! typed evidence and performs no IO; what the tool cannot see is a hop known from outside.

use serde::{Deserialize, Serialize};

use crate::checks::upstreams::examine::expected_runtime;
use crate::checks::upstreams::local_port;
use crate::contract::CheckReport;
use crate::contract::Evidence;
use crate::contract::evidence::database::DatabaseEvidence;
use crate::contract::evidence::http::HttpEvidence;
use crate::contract::evidence::upstreams::{UpstreamResult, Upstreams};
use crate::contract::evidence::web::{
    Address, FpmConfig, LogPath, Pool, ProxyConfig, Site, Upstream,
};
use crate::layer::Layer;
use crate::site::SiteUrl;

/// How deep a chain of local proxies is followed.
pub const MAX_DEPTH: usize = 6;

/// What a hop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A CDN, WAF or load balancer in front of the origin.
    Edge,
    /// A proxy or web server on this machine, with the config that serves the site.
    Proxy,
    /// What a proxy sends requests to, when it is neither a known runtime nor a local proxy.
    Upstream,
    /// An app runtime: a PHP-FPM pool, gunicorn, Node…
    Runtime,
    Database,
}

impl Role {
    pub fn label(self) -> &'static str {
        match self {
            Role::Edge => "edge",
            Role::Proxy => "proxy",
            Role::Upstream => "upstream",
            Role::Runtime => "runtime",
            Role::Database => "database",
        }
    }

    pub fn layer(self) -> Layer {
        match self {
            Role::Edge => Layer::Cdn,
            Role::Proxy => Layer::ReverseProxy,
            Role::Upstream | Role::Runtime => Layer::AppRuntime,
            Role::Database => Layer::Database,
        }
    }
}

/// One hop of the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub role: Role,
    /// For people: `Cloudflare`, `nginx (shop.example.com)`, `php-fpm pool www`.
    pub name: String,
    /// Where the hop before it connects to: `127.0.0.1:9000`, `unix:/run/php/…sock`.
    pub address: Option<String>,
    /// The config line that defines it: the server block, the upstream directive, the pool.
    pub at: Option<String>,
    /// How triage knows of it.
    pub found_by: String,
    /// The hop before it on the path (`None` for the first).
    pub from: Option<usize>,
    /// What the diagnosis concluded of it.
    pub state: HopState,
    /// Why: the findings and probe results that concern it, for people.
    pub evidence: Vec<String>,
    /// What ties evidence to it (not exported).
    #[serde(skip)]
    pub key: Key,
}

/// What the diagnosis concluded of one hop.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum HopState {
    /// Nothing wrong seen.
    Ok,
    /// It fails, with this cause.
    Fails { cause: String },
    /// It answers with an error because a hop behind it fails.
    PassesOn,
    /// Not looked at, or nothing to judge by.
    #[default]
    Unknown,
}

/// What ties evidence to a hop: the vendor that may have made the page, the config and site, the
/// upstream address and its probe, the pool, the logs it writes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Key {
    /// The fingerprint vendor id of a page this hop would make (`nginx`, `cloudflare`).
    pub vendor: Option<String>,
    /// For a proxy: its config's index in the upstreams evidence, and its site's.
    pub config: Option<(usize, usize)>,
    /// The names the site answers to.
    pub names: Vec<String>,
    /// For an upstream or runtime: the upstream as configured, and its probe's index.
    pub upstream: Option<Upstream>,
    pub result: Option<usize>,
    /// For a runtime: the service id (`php-fpm`) and the pool.
    pub service: Option<String>,
    pub pool: Option<String>,
    /// The logs this hop writes: its own site's and its server's global ones.
    pub logs: Vec<LogPath>,
}

/// Builds the path from the reports of one run (or a session's latest reports).
pub fn build(url: Option<&SiteUrl>, reports: &[&CheckReport]) -> Vec<Hop> {
    let mut hops = Vec::new();
    if let Some(http) = evidence(reports, |e| match e {
        Evidence::Http(h) => Some(h.as_ref()),
        _ => None,
    }) {
        edges(http, &mut hops);
    }
    let upstreams = evidence(reports, |e| match e {
        Evidence::Upstreams(u) => Some(u.as_ref()),
        _ => None,
    });
    if let (Some(url), Some(upstreams)) = (url, upstreams) {
        local(url, upstreams, &mut hops);
    }
    if let Some(db) = evidence(reports, |e| match e {
        Evidence::Database(d) => Some(d.as_ref()),
        _ => None,
    }) {
        database(db, &mut hops);
    }
    hops
}

fn evidence<'r, T>(
    reports: &[&'r CheckReport],
    pick: impl Fn(&'r Evidence) -> Option<&'r T>,
) -> Option<&'r T> {
    reports.iter().find_map(|r| pick(&r.evidence))
}

/// The CDNs, WAFs and load balancers the response headers show, outside in.
fn edges(http: &HttpEvidence, hops: &mut Vec<Hop>) {
    let Some(fp) = &http.fingerprint else { return };
    for seen in
        fp.path.iter().filter(|h| matches!(h.layer, Layer::Cdn | Layer::Waf | Layer::LoadBalancer))
    {
        if is_local_kind(&seen.vendor) {
            continue;
        }
        hops.push(Hop {
            role: Role::Edge,
            name: seen.name.clone(),
            address: None,
            at: None,
            found_by: format!("the response headers ({})", seen.evidence),
            from: hops.len().checked_sub(1),
            state: HopState::Unknown,
            evidence: Vec::new(),
            key: Key { vendor: Some(seen.vendor.clone()), ..Key::default() },
        });
    }
}

/// Servers that run on the origin itself: their fingerprint is a local hop, not an edge.
fn is_local_kind(vendor: &str) -> bool {
    crate::knowledge::services::table().get(vendor).is_some()
}

/// The local proxy whose site serves the URL, and everything behind it.
fn local(url: &SiteUrl, upstreams: &Upstreams, hops: &mut Vec<Hop>) {
    let front = upstreams.configs.iter().enumerate().find_map(|(c, config)| {
        config.sites.iter().position(|site| site.serves(url)).map(|s| (c, s))
    });
    let Some((c, s)) = front else { return };
    let from = hops.len().checked_sub(1);
    let found_by = format!("it serves {} on port {}", url.host(), url.port());
    let proxy = proxy_hop(upstreams, (c, s), from, found_by, None);
    hops.push(proxy);
    let mut visited = vec![(c, s)];
    behind(upstreams, hops.len() - 1, &mut visited, hops, 1);
}

fn proxy_hop(
    upstreams: &Upstreams,
    (c, s): (usize, usize),
    from: Option<usize>,
    found_by: String,
    address: Option<String>,
) -> Hop {
    let config = &upstreams.configs[c];
    let site = &config.sites[s];
    let kind = config.server.id();
    Hop {
        role: Role::Proxy,
        name: format!("{kind} ({})", site.name),
        address,
        at: site.at.as_ref().map(ToString::to_string),
        found_by,
        from,
        state: HopState::Unknown,
        evidence: Vec::new(),
        key: Key {
            vendor: Some(kind.to_owned()),
            config: Some((c, s)),
            names: site.names.clone(),
            logs: site_logs(config, site),
            ..Key::default()
        },
    }
}

/// The logs a site is written to: its own, and its server's that no site names.
fn site_logs(config: &ProxyConfig, site: &Site) -> Vec<LogPath> {
    config
        .logs
        .iter()
        .filter(|log| log.site.is_none() || log.site.as_deref() == Some(site.name.as_str()))
        .cloned()
        .collect()
}

/// The hops behind proxy hop `at`: each upstream of its site, a local proxy followed further.
fn behind(
    upstreams: &Upstreams,
    at: usize,
    visited: &mut Vec<(usize, usize)>,
    hops: &mut Vec<Hop>,
    depth: usize,
) {
    let Some((c, s)) = hops[at].key.config else { return };
    let targets: Vec<Upstream> = upstreams.configs[c].sites[s].targets.clone();
    for target in targets.iter().filter(|t| !t.standby) {
        if let Some(next) = next_proxy(upstreams, target) {
            if visited.contains(&next) || depth >= MAX_DEPTH {
                hops[at]
                    .evidence
                    .push(format!("{} loops back to a proxy already on the path", target.address));
                continue;
            }
            visited.push(next);
            let found_by =
                format!("{} ({}) sends requests to it", target.directive, target.address_at());
            let hop =
                proxy_hop(upstreams, next, Some(at), found_by, Some(target.address.to_string()));
            hops.push(hop);
            let here = hops.len() - 1;
            link_result(upstreams, target, &mut hops[here]);
            behind(upstreams, here, visited, hops, depth + 1);
        } else {
            hops.push(upstream_hop(upstreams, target, at));
        }
    }
}

/// The local proxy site an upstream reaches: one listening on its port.
fn next_proxy(upstreams: &Upstreams, target: &Upstream) -> Option<(usize, usize)> {
    let port = local_port(&target.address)?;
    upstreams.configs.iter().enumerate().find_map(|(c, config)| {
        config.sites.iter().position(|site| site.listens_on(port)).map(|s| (c, s))
    })
}

fn link_result(upstreams: &Upstreams, target: &Upstream, hop: &mut Hop) {
    hop.key.result = result_index(upstreams, target);
    hop.key.upstream = Some(target.clone());
}

fn result_index(upstreams: &Upstreams, target: &Upstream) -> Option<usize> {
    upstreams
        .results
        .iter()
        .position(|r| r.target.protocol == target.protocol && r.target.address == target.address)
}

/// An upstream that is not a local proxy: a runtime when one is known to be behind it.
fn upstream_hop(upstreams: &Upstreams, target: &Upstream, from: usize) -> Hop {
    let result = result_index(upstreams, target);
    let held = result.and_then(|i| upstreams.results[i].held_by.as_deref());
    let service = held
        .and_then(|h| h.split_whitespace().next())
        .filter(|id| runtime_id(id))
        .map(str::to_owned)
        .or_else(|| expected_runtime(target).map(str::to_owned));
    let pool = pool_at(&upstreams.fpm, &target.address);
    let role = if service.is_some() || pool.is_some() { Role::Runtime } else { Role::Upstream };
    let name = match (&pool, &service) {
        (Some((pool, _)), _) => format!("php-fpm pool {}", pool.name),
        (None, Some(service)) => format!("{service} at {}", target.address),
        (None, None) => target.address.to_string(),
    };
    let at = target.address_at().to_string();
    Hop {
        role,
        name,
        address: Some(target.address.to_string()),
        at: Some(at.clone()),
        found_by: format!("{} ({at})", target.directive),
        from: Some(from),
        state: HopState::Unknown,
        evidence: Vec::new(),
        key: Key {
            upstream: Some(target.clone()),
            result,
            service: service.or_else(|| pool.as_ref().map(|_| "php-fpm".to_owned())),
            pool: pool.as_ref().map(|(p, _)| p.name.clone()),
            logs: pool.map(|(_, logs)| logs).unwrap_or_default(),
            ..Key::default()
        },
    }
}

fn runtime_id(id: &str) -> bool {
    crate::knowledge::services::table()
        .get(id)
        .is_some_and(|s| s.role == crate::contract::evidence::stack::Role::Runtime)
}

/// The PHP-FPM pool that listens at an address, with its master's logs.
fn pool_at(fpm: &[FpmConfig], address: &Address) -> Option<(Pool, Vec<LogPath>)> {
    fpm.iter().find_map(|config| {
        let pool = config.pools.iter().find(|p| pool_listens_at(p, address))?;
        Some((pool.clone(), config.logs.clone()))
    })
}

fn pool_listens_at(pool: &Pool, address: &Address) -> bool {
    let Some(listen) = pool.listen.as_ref().map(|l| l.value.trim()) else { return false };
    match address {
        Address::Unix { path } => std::path::Path::new(listen) == path.as_path(),
        Address::Tcp { host, port } => {
            let (h, p) = listen.rsplit_once(':').map_or(("", listen), |(h, p)| (h, p));
            p.parse::<u16>().is_ok_and(|p| p == *port)
                && (h.is_empty() || h == host || h == "0.0.0.0" || h == "[::]" || h == "*")
        }
        Address::Dynamic { .. } => false,
    }
}

/// The database the app's config names, behind the runtime (or the last local hop).
fn database(db: &DatabaseEvidence, hops: &mut Vec<Hop>) {
    let from =
        hops.iter().rposition(|h| h.role == Role::Runtime).or_else(|| hops.len().checked_sub(1));
    hops.push(Hop {
        role: Role::Database,
        name: match db.kind.as_str() {
            "postgresql" => "PostgreSQL".to_owned(),
            "mysql" => "MySQL/MariaDB".to_owned(),
            _ => "the database".to_owned(),
        },
        address: Some(db.target.clone()),
        at: None,
        found_by: format!("the app's config ({})", db.source),
        from,
        state: HopState::Unknown,
        evidence: Vec::new(),
        key: Key::default(),
    });
}

/// The probe result of an upstream or runtime hop.
pub fn result<'u>(hop: &Hop, upstreams: &'u Upstreams) -> Option<&'u UpstreamResult> {
    hop.key.result.and_then(|i| upstreams.results.get(i))
}

/// The path as people read it: `Cloudflare → nginx (shop) → php-fpm pool www ✗`.
pub fn chain(hops: &[Hop]) -> String {
    hops.iter()
        .map(|hop| {
            let mark = match &hop.state {
                HopState::Fails { .. } => " ✗",
                HopState::PassesOn => " …",
                HopState::Ok | HopState::Unknown => "",
            };
            let place = hop
                .at
                .as_ref()
                .filter(|_| hop.role == Role::Proxy)
                .map(|at| format!(" ({at})"))
                .unwrap_or_default();
            format!("{}{place}{mark}", hop.name)
        })
        .collect::<Vec<_>>()
        .join(" → ")
}
