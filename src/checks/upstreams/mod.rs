//! The `upstreams` check: every upstream the web servers' configs point at — does anything listen
//! there, may the web server's user open the socket, does it answer in the proxy's protocol, and
//! how fast. A bad target is named with the config file and line that points at it. Read-only:
//! it stats, connects and sends one harmless request (`GET /`, `FCGI_GET_VALUES`) per target.

pub mod access;
pub mod examine;
pub mod limits;
pub mod probe;
pub mod report;
pub mod resolve;

use std::path::{Path, PathBuf};
use std::time::Duration;

use self::examine::{examine, expected_runtime, holder, pool_of, refine};
use self::limits::ProxyWaits;
use self::probe::{Ask, Limits};
use self::report::report;
use self::resolve::ProxyResolver;
use crate::contract::evidence::stack::{Role, SUDO_STACK, Service, Stack, Unseen};
use crate::contract::evidence::upstreams::{Credentials, UpstreamResult, Upstreams};
use crate::contract::evidence::web::{
    Address, FpmConfig, Location, ProxyConfig, ServerKind, Site, Upstream,
};
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, Input, Progress, Scope, fact, input, param,
};
use crate::facts::FactKind::{Int, List, Text};
use crate::sanitize;
use crate::site::SiteUrl;
use crate::system::proxy::{self, phpfpm};
use crate::system::users::Users;
use crate::system::{System, stack};

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "upstreams",
    title: "Check the proxy's upstreams",
    scope: Scope::Local,
    applies: Applies::LocalStack,
    params: &[
        param("config", false, "a proxy config file to read instead of the running servers'"),
        input("url", false, Input::Url, "check only the sites that serve this URL's host and port"),
        param(
            "fpm_config",
            false,
            "a php-fpm.conf to read for the pools behind FastCGI targets, instead of the running or installed PHP-FPM's",
        ),
    ],
    produces: &[
        fact("upstream.targets", List, "upstream targets from the proxy configs"),
        fact("upstream.refused", List, "targets where nothing listens"),
        fact("upstream.socket_missing", List, "unix sockets that do not exist"),
        fact("upstream.socket_permission", List, "sockets the web server user cannot open"),
        fact("upstream.slow", List, "targets slower than the proxy's timeout allows"),
        fact("upstream.healthy", Int, "targets that answered"),
        fact(
            "upstream.no_answer",
            List,
            "targets that accepted the connection but did not answer (within the proxy's own timeout, or triage's)",
        ),
        fact(
            "upstream.timed_out",
            List,
            "targets slower than the proxy's own timeout, with the setting and its file:line",
        ),
        fact(
            "upstream.unresolved",
            List,
            "targets whose host name does not resolve (with the proxy's own resolver where it has one)",
        ),
        fact(
            "upstream.tls_failed",
            List,
            "targets the proxy speaks TLS to that fail the handshake (https:// to a plain-HTTP port)",
        ),
        fact(
            "upstream.pools",
            List,
            "the PHP-FPM pools behind the targets, with their request limits and file:line",
        ),
        fact(
            "upstream.closed",
            List,
            "targets that closed or reset the connection without answering",
        ),
        fact("upstream.erroring", List, "targets that answered with a server error (HTTP 5xx)"),
        fact(
            "upstream.misconfigured",
            List,
            "targets the config points at wrongly: wrong protocol, unresolvable host, not a socket",
        ),
        fact(
            "upstream.elsewhere",
            List,
            "targets whose runtime runs but listens at another address",
        ),
        fact(
            "upstream.runtimes_down",
            List,
            "runtimes that refused or missing targets imply (FastCGI: php-fpm, …): none listens there",
        ),
        fact("upstream.problem", Text, "the first bad target's directive and what is wrong"),
        fact("upstream.problem_at", Text, "the config file and line of the first bad target"),
        fact(
            "upstream.maintenance",
            List,
            "maintenance rules (return 503, flag files) that are on",
        ),
        fact("upstream.configs", List, "the proxy config files read"),
        fact("upstream.unseen", List, "what could not be seen without privileges"),
    ],
    timeout: Duration::from_secs(30),
};

/// Most distinct targets probed in one run.
pub const MAX_TARGETS: usize = 32;
/// An answer slower than this is reported as slow.
pub const SLOW_MS: u64 = 1000;
/// What an unprivileged run suggests for what it could not see.
pub const SUDO_CHECK: &str = "sudo triage check";

/// What the blocking part gathered: the stack, the configs and who reads them.
struct Gathered {
    stack: Stack,
    configs: Vec<(ProxyConfig, Option<Credentials>)>,
    fpm: Vec<FpmConfig>,
    users: Users,
    notes: Vec<String>,
    /// The incident's path and query, which HTTP upstreams are asked for (`/` without a URL).
    path: String,
}

/// Runs the check. Parameters: `config` (a config file to read instead of the running servers'),
/// `url` (only the sites that serve this URL's host and port), `fpm_config` (the PHP-FPM config
/// behind FastCGI targets, instead of the running or installed one's).
pub async fn run(request: CheckRequest, progress: Progress) -> CheckReport {
    run_on(System::from_env(), &request, progress).await
}

/// [`run`] on the given roots (a fixture tree in tests).
pub async fn run_on(system: System, request: &CheckRequest, progress: Progress) -> CheckReport {
    let given =
        |name: &str| request.param(name).filter(|v| !v.trim().is_empty()).map(str::to_owned);
    let asked = Asked {
        config: given("config").map(PathBuf::from),
        url: given("url"),
        fpm_config: given("fpm_config").map(PathBuf::from),
    };
    let gathered = {
        let system = system.clone();
        tokio::task::spawn_blocking(move || gather(&system, &asked)).await
    };
    let gathered = match gathered {
        Ok(Ok(g)) => g,
        Ok(Err((reason, instead))) => return CheckReport::could_not_run(SPEC.id, reason, instead),
        Err(_) => {
            return CheckReport::could_not_run(
                SPEC.id,
                "reading the configs stopped unexpectedly",
                None,
            );
        }
    };
    progress.report("probing upstream targets");
    let upstreams = check(&system, gathered).await;
    report(&upstreams)
}

/// What the request names.
struct Asked {
    config: Option<PathBuf>,
    url: Option<String>,
    fpm_config: Option<PathBuf>,
}

fn gather(system: &System, asked: &Asked) -> Result<Gathered, (String, Option<String>)> {
    let config = asked.config.as_deref();
    let stack = stack::discover(system).map_err(|r| (r, Some(SUDO_STACK.to_owned())))?;
    let users = Users::load(system);
    let mut notes = Vec::new();
    let mut configs: Vec<(ProxyConfig, Option<Credentials>)> = Vec::new();
    for service in stack.of_role(Role::WebServer) {
        let Some(running) = proxy::config_of(service) else { continue };
        let main = &running.main;
        if config.is_some_and(|c| c != main) || configs.iter().any(|(c, _)| &c.main == main) {
            continue;
        }
        let read = proxy::read_running(system, &running);
        let who = worker_credentials(service, &users).or_else(|| config_credentials(&read, &users));
        configs.push((read, who));
    }
    if let Some(path) = config.filter(|p| !configs.iter().any(|(c, _)| c.main == *p)) {
        let read = proxy::read(system, ServerKind::guess(path), path, None);
        let who = config_credentials(&read, &users);
        configs.push((read, who));
    }
    if configs.is_empty() {
        return Err((
            "no web server or proxy (nginx, Apache, HAProxy, Varnish, Caddy, Traefik, Envoy) is running here, so there is no proxy config to read"
                .to_owned(),
            none_running_hint(&stack),
        ));
    }
    if let Some(url) = &asked.url {
        filter_sites(&mut configs, url, &mut notes);
    }
    let fpm = fpm_configs(system, &stack, &configs, asked.fpm_config.as_deref());
    let path = asked.url.as_deref().and_then(|u| SiteUrl::parse(u).ok()).map_or_else(
        || "/".to_owned(),
        |u| {
            let url = u.url();
            url.query().map_or_else(|| url.path().to_owned(), |q| format!("{}?{q}", url.path()))
        },
    );
    Ok(Gathered { stack, configs, fpm, users, notes, path })
}

/// The PHP-FPM configs behind the FastCGI targets: the one asked for, else the running or
/// installed PHP-FPM's; none when no target speaks FastCGI.
fn fpm_configs(
    system: &System,
    stack: &Stack,
    configs: &[(ProxyConfig, Option<Credentials>)],
    asked: Option<&Path>,
) -> Vec<FpmConfig> {
    if let Some(path) = asked {
        return vec![phpfpm::read(system, path)];
    }
    let fastcgi = configs
        .iter()
        .flat_map(|(c, _)| c.sites.iter())
        .flat_map(|s| s.targets.iter())
        .any(|t| expected_runtime(t) == Some("php-fpm"));
    if fastcgi { phpfpm::read_stack(system, stack) } else { Vec::new() }
}

fn none_running_hint(stack: &Stack) -> Option<String> {
    (!stack.unseen.is_empty()).then(|| SUDO_STACK.to_owned())
}

/// The credentials of a worker process: the ones the kernel checks when it opens a socket.
fn worker_credentials(service: &Service, users: &Users) -> Option<Credentials> {
    let worker = service.worker()?;
    let mut gids = worker.groups.clone();
    gids.push(worker.gid);
    gids.sort_unstable();
    gids.dedup();
    Some(Credentials { name: users.user_name(worker.uid), uid: worker.uid, gids })
}

/// The user the config says the workers run as (nginx's default is `nobody`).
fn config_credentials(config: &ProxyConfig, users: &Users) -> Option<Credentials> {
    let configured = config.user.as_deref().and_then(|u| u.split_whitespace().next());
    let name = configured.unwrap_or(match config.server {
        ServerKind::Nginx => "nobody",
        ServerKind::Apache => "www-data",
        ServerKind::Haproxy => "haproxy",
        ServerKind::Varnish => "vcache",
        ServerKind::Caddy => "caddy",
        ServerKind::Traefik => "traefik",
        ServerKind::Envoy => "envoy",
    });
    let user = users.by_name(name)?;
    Some(Credentials { name: user.name.clone(), uid: user.uid, gids: users.groups_of(user) })
}

/// Keeps the sites that serve the URL's host and port, and the sites those send requests on to
/// (a local proxy behind a proxy: nginx → varnish → nginx), so the whole request path is
/// checked; all of them when none serves the URL.
fn filter_sites(
    configs: &mut [(ProxyConfig, Option<Credentials>)],
    url: &str,
    notes: &mut Vec<String>,
) {
    let Ok(parsed) = SiteUrl::parse(url) else {
        notes.push(format!("`{}` is not a URL; every site was checked", sanitize::line(url)));
        return;
    };
    let all: Vec<&ProxyConfig> = configs.iter().map(|(c, _)| c).collect();
    let keep = path_sites(&all, &parsed);
    if keep.is_empty() {
        notes.push(format!("no site serves {}; every site was checked", sanitize::line(url)));
        return;
    }
    for (n, (config, _)) in configs.iter_mut().enumerate() {
        let mut index = 0;
        config.sites.retain(|_| {
            index += 1;
            keep.contains(&(n, index - 1))
        });
    }
}

/// The sites on the request path, as (config, site) indexes: those serving the URL, then every
/// site a kept site's upstream reaches on this machine, to a bounded depth.
fn path_sites(configs: &[&ProxyConfig], url: &SiteUrl) -> Vec<(usize, usize)> {
    let mut keep: Vec<(usize, usize)> = sites_where(configs, |site| site.serves(url));
    let mut next = 0;
    while next < keep.len() && keep.len() < MAX_TARGETS {
        let (c, s) = keep[next];
        next += 1;
        for target in &configs[c].sites[s].targets {
            let Some(port) = local_port(&target.address) else { continue };
            for found in sites_where(configs, |site| site.listens_on(port)) {
                if !keep.contains(&found) {
                    keep.push(found);
                }
            }
        }
    }
    keep
}

fn sites_where(configs: &[&ProxyConfig], test: impl Fn(&Site) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (c, config) in configs.iter().enumerate() {
        for (s, site) in config.sites.iter().enumerate() {
            if test(site) {
                out.push((c, s));
            }
        }
    }
    out
}

/// The port of an upstream on this machine (loopback or localhost).
pub fn local_port(address: &Address) -> Option<u16> {
    let Address::Tcp { host, port } = address else { return None };
    let local = host == "localhost"
        || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified());
    local.then_some(*port)
}

/// A distinct target to probe and everything that points at it.
struct Planned {
    server: ServerKind,
    site: String,
    ask: Ask,
    target: Upstream,
    also_at: Vec<Location>,
    who: Option<Credentials>,
    /// How long the proxy waits for it, by its config (or its default), and what says so.
    waits: ProxyWaits,
    /// How long the probe waits: no longer than the proxy (and a margin).
    limits: Limits,
    /// The proxy's own resolver, for an address from a variable.
    resolver: Option<ProxyResolver>,
}

async fn check(system: &System, gathered: Gathered) -> Upstreams {
    let mut notes = gathered.notes.clone();
    let planned = plan(&gathered, &mut notes);
    let probes = planned.iter().map(|p| examine(system, &gathered, p));
    let outcomes = futures_util::future::join_all(probes).await;
    let mut results: Vec<UpstreamResult> = planned
        .into_iter()
        .zip(outcomes)
        .map(|(p, (outcome, ms))| {
            let held_by = holder(&gathered, &p.target.address);
            let pool = pool_of(&gathered.fpm, &p.target.address);
            UpstreamResult {
                server: p.server,
                site: p.site,
                target: p.target,
                also_at: p.also_at,
                user: p.who.map(|w| w.name),
                held_by,
                outcome,
                ms,
                timeout_ms: p.waits.answer.as_ref().map(|w| w.duration.as_millis() as u64),
                timeout_by: p.waits.answer.map(|w| w.by),
                connect_timeout_ms: p.waits.connect.as_ref().map(|w| w.duration.as_millis() as u64),
                connect_timeout_by: p.waits.connect.map(|w| w.by),
                waited_ms: Some(p.limits.answer.as_millis() as u64),
                pool,
            }
        })
        .collect();
    refine(&gathered, &mut results, &mut notes);
    let mut unseen: Vec<Unseen> = gathered.stack.unseen.clone();
    for (config, _) in &gathered.configs {
        unseen.extend(config.unreadable.iter().map(|u| u.unseen(config.server)));
        notes.extend(config.problems.iter().cloned());
    }
    let configs = gathered.configs.into_iter().map(|(c, _)| c).collect();
    Upstreams { configs, fpm: gathered.fpm, results, unseen, notes }
}

/// One entry per distinct (protocol, address), in config order.
fn plan(gathered: &Gathered, notes: &mut Vec<String>) -> Vec<Planned> {
    let mut planned: Vec<Planned> = Vec::new();
    for (config, who) in &gathered.configs {
        for site in &config.sites {
            for target in &site.targets {
                if let Some(p) = planned.iter_mut().find(|p| {
                    p.target.protocol == target.protocol && p.target.address == target.address
                }) {
                    p.also_at.push(target.address_at().clone());
                    continue;
                }
                if planned.len() == MAX_TARGETS {
                    notes.push(format!(
                        "more than {MAX_TARGETS} upstream targets: the rest were not checked"
                    ));
                    return planned;
                }
                let host = site
                    .names
                    .iter()
                    .find(|n| !n.contains(['*', '~', '_']))
                    .cloned()
                    .unwrap_or_else(|| "localhost".to_owned());
                let dynamic = target.directive.contains('$');
                let waits = limits::proxy_waits(config.server, site, target);
                let wait = |w: &Option<limits::Wait>| w.as_ref().map(|w| w.duration);
                let probe_limits = Limits::within(wait(&waits.connect), wait(&waits.answer));
                planned.push(Planned {
                    server: config.server,
                    site: site.name.clone(),
                    ask: Ask { host, path: gathered.path.clone() },
                    target: target.clone(),
                    also_at: Vec::new(),
                    who: who.clone(),
                    waits,
                    limits: probe_limits,
                    resolver: resolve::proxy_resolver(&target.settings, dynamic),
                });
            }
        }
    }
    planned
}
