//! The `upstreams` check: every upstream the web servers' configs point at — does anything listen
//! there, may the web server's user open the socket, does it answer in the proxy's protocol, and
//! how fast. A bad target is named with the config file and line that points at it. Read-only:
//! it stats, connects and sends one harmless request (`GET /`, `FCGI_GET_VALUES`) per target.

pub mod access;
mod examine;
pub mod probe;
mod report;

use std::path::{Path, PathBuf};
use std::time::Duration;

use self::examine::{examine, holder, refine};
use self::report::report;
use crate::contract::evidence::stack::{Role, SUDO_STACK, Service, Stack, Unseen};
use crate::contract::evidence::upstreams::{Credentials, UpstreamResult, Upstreams};
use crate::contract::evidence::web::{
    FpmConfig, Location, ProxyConfig, ServerKind, Site, Upstream,
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
    ],
    produces: &[
        fact("upstream.targets", List, "upstream targets from the proxy configs"),
        fact("upstream.refused", List, "targets where nothing listens"),
        fact("upstream.socket_missing", List, "unix sockets that do not exist"),
        fact("upstream.socket_permission", List, "sockets the web server user cannot open"),
        fact("upstream.slow", List, "targets slower than the proxy's timeout allows"),
        fact("upstream.healthy", Int, "targets that answered"),
        fact("upstream.no_answer", List, "targets that accepted the connection but did not answer"),
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
}

/// Runs the check. Parameters: `config` (a config file to read instead of the running servers'),
/// `url` (only the sites that serve this URL's host and port).
pub async fn run(request: CheckRequest, progress: Progress) -> CheckReport {
    run_on(System::from_env(), &request, progress).await
}

/// [`run`] on the given roots (a fixture tree in tests).
pub async fn run_on(system: System, request: &CheckRequest, progress: Progress) -> CheckReport {
    let config = request.param("config").filter(|c| !c.trim().is_empty()).map(PathBuf::from);
    let url = request.param("url").filter(|u| !u.trim().is_empty()).map(str::to_owned);
    let gathered = {
        let system = system.clone();
        tokio::task::spawn_blocking(move || gather(&system, config.as_deref(), url.as_deref()))
            .await
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

fn gather(
    system: &System,
    config: Option<&Path>,
    url: Option<&str>,
) -> Result<Gathered, (String, Option<String>)> {
    let stack = stack::discover(system).map_err(|r| (r, Some(SUDO_STACK.to_owned())))?;
    let users = Users::load(system);
    let mut notes = Vec::new();
    let mut configs: Vec<(ProxyConfig, Option<Credentials>)> = Vec::new();
    for service in stack.of_role(Role::WebServer) {
        let Some((kind, main, prefix)) = proxy::config_of(service) else { continue };
        if config.is_some_and(|c| c != main) || configs.iter().any(|(c, _)| c.main == main) {
            continue;
        }
        let read = proxy::read(system, kind, &main, prefix.as_deref());
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
            "no nginx, Apache or HAProxy is running here, so there is no proxy config to read"
                .to_owned(),
            none_running_hint(&stack),
        ));
    }
    if let Some(url) = url {
        filter_sites(&mut configs, url, &mut notes);
    }
    let fpm = phpfpm::read_stack(system, &stack);
    Ok(Gathered { stack, configs, fpm, users, notes })
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
    });
    let user = users.by_name(name)?;
    Some(Credentials { name: user.name.clone(), uid: user.uid, gids: users.groups_of(user) })
}

/// Keeps the sites that serve the URL's host and port; all of them when none does.
fn filter_sites(
    configs: &mut [(ProxyConfig, Option<Credentials>)],
    url: &str,
    notes: &mut Vec<String>,
) {
    let Ok(parsed) = SiteUrl::parse(url) else {
        notes.push(format!("`{}` is not a URL; every site was checked", sanitize::line(url)));
        return;
    };
    let serves = |site: &Site| site.serves(&parsed);
    if !configs.iter().any(|(c, _)| c.sites.iter().any(serves)) {
        notes.push(format!("no site serves {}; every site was checked", sanitize::line(url)));
        return;
    }
    for (config, _) in configs.iter_mut() {
        config.sites.retain(serves);
    }
}

/// A distinct target to probe and everything that points at it.
struct Planned {
    server: ServerKind,
    site: String,
    host: String,
    target: Upstream,
    also_at: Vec<Location>,
    who: Option<Credentials>,
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
            UpstreamResult {
                server: p.server,
                site: p.site,
                target: p.target,
                also_at: p.also_at,
                user: p.who.map(|w| w.name),
                held_by,
                outcome,
                ms,
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
    Upstreams { configs, results, unseen, notes, fpm: gathered.fpm }
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
                planned.push(Planned {
                    server: config.server,
                    site: site.name.clone(),
                    host,
                    target: target.clone(),
                    also_at: Vec::new(),
                    who: who.clone(),
                });
            }
        }
    }
    planned
}
