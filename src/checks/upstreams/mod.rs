//! The `upstreams` check: every upstream the web servers' configs point at — does anything listen
//! there, may the web server's user open the socket, does it answer in the proxy's protocol, and
//! how fast. A bad target is named with the config file and line that points at it. Read-only:
//! it stats, connects and sends one harmless request (`GET /`, `FCGI_GET_VALUES`) per target.

pub mod access;
pub mod probe;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use access::Access;
use probe::Contact;

use crate::contract::evidence::stack::{
    Endpoint, Listener, Role, SUDO_STACK, Service, Stack, Unseen,
};
use crate::contract::evidence::upstreams::{Credentials, UpstreamResult, UpstreamState, Upstreams};
use crate::contract::evidence::web::{
    Address, FpmConfig, Location, Protocol, ProxyConfig, ServerKind, Site, Upstream,
};
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input, param,
};
use crate::facts::FactKind::{Int, List, Text};
use crate::facts::Facts;
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
    Upstreams { configs, results, unseen, notes }
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

/// Stats a socket target as the web server's user, then probes it.
async fn examine(
    system: &System,
    gathered: &Gathered,
    planned: &Planned,
) -> (UpstreamState, Option<u64>) {
    let target = &planned.target;
    if let Address::Dynamic { text } = &target.address {
        return (
            UpstreamState::NotChecked {
                reason: format!("the address `{text}` depends on a variable"),
            },
            None,
        );
    }
    if let (Address::Unix { path }, Some(who)) = (&target.address, &planned.who) {
        match access::socket_access(system, path, who, &gathered.users) {
            Access::Allowed => {}
            Access::Missing { dir_missing } => {
                return (UpstreamState::SocketMissing { dir_missing }, None);
            }
            Access::NotSocket => {
                return (
                    UpstreamState::Misconfigured {
                        detail: format!("{} is not a socket", path.display()),
                    },
                    None,
                );
            }
            Access::Denied { detail } => return (UpstreamState::Permission { detail }, None),
            Access::Unknown { reason } => {
                return (UpstreamState::Unseen { reason, instead: SUDO_CHECK.to_owned() }, None);
            }
        }
    }
    if !system.is_real_root() {
        return (
            UpstreamState::NotChecked {
                reason: "a fixture root is not probed over the network".to_owned(),
            },
            None,
        );
    }
    outcome(planned, probe::probe(target.protocol, &target.address, &planned.host).await)
}

fn outcome(planned: &Planned, probe: Contact) -> (UpstreamState, Option<u64>) {
    let protocol = planned.target.protocol.id();
    match probe {
        Contact::Answered { answer, ms } if http_status(&answer).is_some_and(|s| s >= 500) => {
            (UpstreamState::Erroring { answer }, Some(ms))
        }
        Contact::Answered { answer, ms } if ms > SLOW_MS => {
            (UpstreamState::Slow { answer }, Some(ms))
        }
        Contact::Answered { answer, ms } => (UpstreamState::Healthy { answer }, Some(ms)),
        Contact::Refused => (UpstreamState::Refused, None),
        Contact::Missing => (UpstreamState::SocketMissing { dir_missing: false }, None),
        Contact::NoPermission => {
            let reason = format!(
                "whether {} answers: triage may not connect to it as uid {}",
                planned.target.address,
                crate::system::current_uid()
            );
            (UpstreamState::Unseen { reason, instead: SUDO_CHECK.to_owned() }, None)
        }
        Contact::Unresolved { detail } => (UpstreamState::Misconfigured { detail }, None),
        Contact::ConnectTimeout => {
            (UpstreamState::NoAnswer, Some(probe::CONNECT_LIMIT.as_millis() as u64))
        }
        Contact::NoAnswer { after_ms } => (UpstreamState::NoAnswer, Some(after_ms)),
        Contact::WrongProtocol { detail } => (
            UpstreamState::Misconfigured {
                detail: format!("the proxy speaks {protocol} to it, but it {detail}"),
            },
            None,
        ),
        Contact::Closed { detail } => (UpstreamState::Closed { detail }, None),
        Contact::Failed { detail } => (UpstreamState::NotChecked { reason: detail }, None),
    }
}

fn http_status(answer: &str) -> Option<u16> {
    answer.strip_prefix("HTTP/")?.split_whitespace().nth(1)?.parse().ok()
}

/// The service that holds the listening socket at an address, when visible.
fn holder(gathered: &Gathered, address: &Address) -> Option<String> {
    let matches = |l: &Listener| match address {
        Address::Unix { path } => l.endpoint == Endpoint::Unix(path.to_string_lossy().into_owned()),
        Address::Tcp { host, port } => resolve_local(host).is_some_and(|ip| l.accepts(ip, *port)),
        Address::Dynamic { .. } => false,
    };
    gathered
        .stack
        .services
        .iter()
        .find(|s| s.listening.iter().any(matches))
        .map(|s| format!("{} pid {}", s.id, s.master))
}

fn resolve_local(host: &str) -> Option<std::net::IpAddr> {
    match host {
        "localhost" => Some(std::net::IpAddr::from([127, 0, 0, 1])),
        other => other.parse().ok(),
    }
}

/// The runtime a target implies: FastCGI is PHP-FPM, uwsgi is uWSGI, and socket names say it.
pub fn expected_runtime(target: &Upstream) -> Option<&'static str> {
    match target.protocol {
        Protocol::FastCgi => return Some("php-fpm"),
        Protocol::Uwsgi => return Some("uwsgi"),
        _ => {}
    }
    let Address::Unix { path } = &target.address else { return None };
    let name = path.to_string_lossy().to_ascii_lowercase();
    [
        ("php", "php-fpm"),
        ("fpm", "php-fpm"),
        ("gunicorn", "gunicorn"),
        ("uwsgi", "uwsgi"),
        ("puma", "puma"),
        ("node", "node"),
    ]
    .iter()
    .find(|(needle, _)| name.contains(needle))
    .map(|(_, runtime)| *runtime)
}

/// Second look with the whole picture: a refused or missing target whose runtime runs but
/// listens elsewhere points elsewhere; a runtime that is down is noted with its pool's address.
fn refine(gathered: &Gathered, results: &mut [UpstreamResult], notes: &mut Vec<String>) {
    for result in results.iter_mut() {
        if !matches!(result.outcome, UpstreamState::Refused | UpstreamState::SocketMissing { .. }) {
            continue;
        }
        let Some(runtime) = expected_runtime(&result.target) else { continue };
        let runs = gathered.stack.runs(runtime);
        let listens: Vec<String> = gathered
            .stack
            .services
            .iter()
            .filter(|s| s.id == runtime)
            .flat_map(|s| s.listening.iter())
            .filter(|l| near(&result.target.address, l))
            .map(|l| l.address.clone())
            .collect();
        if !listens.is_empty() {
            result.outcome =
                UpstreamState::PointsElsewhere { runtime: runtime.to_owned(), listens };
        } else if runtime == "php-fpm" && !runs {
            notes.extend(pool_addresses(&gathered.fpm).into_iter().map(|(pool, listen, at)| {
                format!("PHP-FPM pool {pool} would listen at {listen} ({at})")
            }));
        }
    }
}

/// A listener close enough to the target to be what the proxy meant: a socket in the same
/// directory (`php8.1-fpm.sock` for `php8.2-fpm.sock`), or a port on the same host.
fn near(target: &Address, listener: &Listener) -> bool {
    match (target, &listener.endpoint) {
        (Address::Unix { path }, Endpoint::Unix(other)) => {
            path.parent() == Path::new(other).parent()
        }
        (Address::Tcp { host, .. }, Endpoint::Tcp(ip, _)) => {
            resolve_local(host).is_some_and(|h| h == *ip || ip.is_unspecified())
        }
        _ => false,
    }
}

fn pool_addresses(fpm: &[FpmConfig]) -> Vec<(String, String, Location)> {
    fpm.iter()
        .flat_map(|c| c.pools.iter())
        .filter_map(|p| p.listen.as_ref().map(|l| (p.name.clone(), l.value.clone(), l.at.clone())))
        .collect()
}

/// Facts, details and the status for what was found.
pub fn report(upstreams: &Upstreams) -> CheckReport {
    let facts = facts(upstreams);
    let faults: Vec<&UpstreamResult> =
        upstreams.results.iter().filter(|r| r.outcome.is_fault() && !r.target.standby).collect();
    let counted: BTreeMap<&str, usize> =
        upstreams.results.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.outcome.label()).or_default() += 1;
            m
        });
    let tally: Vec<String> = counted.iter().map(|(label, n)| format!("{n} {label}")).collect();
    let summary = match faults.first() {
        Some(first) => format!(
            "{} {}: {} ({})",
            first.target.address,
            first.outcome.label(),
            first.target.directive,
            first.target.address_at()
        ),
        None if upstreams.results.is_empty() => {
            "the proxy configs name no upstream targets".to_owned()
        }
        None => format!("{} upstream targets: {}", upstreams.results.len(), tally.join(", ")),
    };
    let slow = upstreams.results.iter().any(|r| matches!(r.outcome, UpstreamState::Slow { .. }));
    let status = if !faults.is_empty() {
        CheckStatus::Failed
    } else if slow || !upstreams.unseen.is_empty() {
        CheckStatus::Warning
    } else {
        CheckStatus::Passed
    };
    CheckReport::new(SPEC.id, status, sanitize::line(&summary).into_owned())
        .with_details(details(upstreams))
        .with_facts(facts)
        .with_evidence(Evidence::Upstreams(Box::new(upstreams.clone())))
}

fn facts(u: &Upstreams) -> Facts {
    let mut facts = Facts::new();
    let live = || u.results.iter().filter(|r| !r.target.standby);
    let list = |f: &dyn Fn(&UpstreamResult) -> Option<String>| -> Vec<String> {
        live().filter_map(f).take(20).collect()
    };
    let addr = |r: &UpstreamResult| r.target.address.to_string();
    let path = |r: &UpstreamResult| match &r.target.address {
        Address::Unix { path } => path.to_string_lossy().into_owned(),
        other => other.to_string(),
    };
    facts.set("upstream.targets", u.results.iter().map(addr).take(20).collect::<Vec<_>>());
    facts.set(
        "upstream.refused",
        list(&|r| matches!(r.outcome, UpstreamState::Refused).then(|| addr(r))),
    );
    facts.set(
        "upstream.socket_missing",
        list(&|r| matches!(r.outcome, UpstreamState::SocketMissing { .. }).then(|| path(r))),
    );
    facts.set(
        "upstream.socket_permission",
        list(&|r| matches!(r.outcome, UpstreamState::Permission { .. }).then(|| path(r))),
    );
    facts.set(
        "upstream.slow",
        list(&|r| {
            matches!(r.outcome, UpstreamState::Slow { .. })
                .then(|| format!("{} ({} ms)", addr(r), r.ms.unwrap_or(0)))
        }),
    );
    facts.set(
        "upstream.no_answer",
        list(&|r| matches!(r.outcome, UpstreamState::NoAnswer).then(|| addr(r))),
    );
    facts.set(
        "upstream.closed",
        list(&|r| matches!(r.outcome, UpstreamState::Closed { .. }).then(|| addr(r))),
    );
    facts.set(
        "upstream.erroring",
        list(&|r| match &r.outcome {
            UpstreamState::Erroring { answer } => Some(format!("{} ({answer})", addr(r))),
            _ => None,
        }),
    );
    facts.set(
        "upstream.misconfigured",
        list(&|r| match &r.outcome {
            UpstreamState::Misconfigured { detail } => {
                Some(format!("{}: {detail} ({})", r.target.directive, r.target.address_at()))
            }
            _ => None,
        }),
    );
    facts.set(
        "upstream.elsewhere",
        list(&|r| match &r.outcome {
            UpstreamState::PointsElsewhere { runtime, listens } => Some(format!(
                "{} ({}), but {runtime} listens at {}",
                addr(r),
                r.target.address_at(),
                listens.join(", ")
            )),
            _ => None,
        }),
    );
    summary_facts(u, &mut facts);
    facts
}

/// The counts, the runtimes implied, the first problem and the configs.
fn summary_facts(u: &Upstreams, facts: &mut Facts) {
    let live = || u.results.iter().filter(|r| !r.target.standby);
    let healthy = u
        .results
        .iter()
        .filter(|r| matches!(r.outcome, UpstreamState::Healthy { .. } | UpstreamState::Slow { .. }))
        .count();
    facts.set("upstream.healthy", i64::try_from(healthy).unwrap_or(i64::MAX));
    let mut down: Vec<String> = Vec::new();
    for r in live().filter(|r| {
        matches!(r.outcome, UpstreamState::Refused | UpstreamState::SocketMissing { .. })
    }) {
        if let Some(runtime) =
            expected_runtime(&r.target).filter(|rt| !down.iter().any(|d| d == rt))
        {
            down.push(runtime.to_owned());
        }
    }
    facts.set("upstream.runtimes_down", down);
    if let Some(first) = live().find(|r| r.outcome.is_fault()) {
        facts.set(
            "upstream.problem",
            format!("{}: {}", first.target.directive, first.outcome.label()),
        );
        facts.set("upstream.problem_at", first.target.address_at().to_string());
    }
    let maintenance: Vec<String> = u
        .configs
        .iter()
        .flat_map(|c| c.sites.iter())
        .flat_map(|s| s.maintenance.iter())
        .filter(|m| m.active)
        .map(|m| format!("{} ({})", m.rule, m.at))
        .take(20)
        .collect();
    facts.set("upstream.maintenance", maintenance);
    facts.set(
        "upstream.configs",
        u.configs.iter().map(|c| c.main.to_string_lossy().into_owned()).collect::<Vec<_>>(),
    );
    facts.set(
        "upstream.unseen",
        u.unseen.iter().map(|x| x.what.clone()).take(20).collect::<Vec<_>>(),
    );
}

/// One line per target, then the configs, the notes and what could not be seen.
pub fn details(u: &Upstreams) -> Vec<String> {
    let mut lines: Vec<String> = u.results.iter().map(result_line).collect();
    for config in &u.configs {
        let sites = crate::text::count(config.sites.len(), "site", "sites");
        lines.push(format!(
            "{} config {}: {} files read, {sites}",
            config.server.id(),
            config.main.display(),
            config.files.len()
        ));
        for m in config.sites.iter().flat_map(|s| s.maintenance.iter()) {
            let state = if m.active { "on" } else { "off" };
            let flag = m
                .flag_file
                .as_ref()
                .map_or_else(String::new, |f| format!(" when {} exists", f.display()));
            lines.push(format!("maintenance rule {state}: {}{flag} ({})", m.rule, m.at));
        }
    }
    lines.extend(u.notes.iter().cloned());
    lines.extend(u.unseen.iter().map(Unseen::line));
    lines.into_iter().map(|l| sanitize::line(&l).into_owned()).collect()
}

fn result_line(r: &UpstreamResult) -> String {
    let standby = if r.target.standby { " (standby)" } else { "" };
    let mut line = format!(
        "{}{standby}: {} ({}, site {})",
        r.outcome.label(),
        r.target.directive,
        r.target.address_at(),
        r.site
    );
    let what = match &r.outcome {
        UpstreamState::Healthy { answer }
        | UpstreamState::Slow { answer }
        | UpstreamState::Erroring { answer } => {
            format!("{answer} in {} ms", r.ms.unwrap_or(0))
        }
        UpstreamState::Refused => format!("nothing listens at {}", r.target.address),
        UpstreamState::SocketMissing { dir_missing: true } => {
            format!("{} does not exist, nor does its directory", r.target.address)
        }
        UpstreamState::SocketMissing { dir_missing: false } => {
            format!("{} does not exist", r.target.address)
        }
        UpstreamState::Permission { detail }
        | UpstreamState::Closed { detail }
        | UpstreamState::Misconfigured { detail } => detail.clone(),
        UpstreamState::NoAnswer => format!(
            "accepted the connection but did not answer within {} s",
            probe::ANSWER_LIMIT.as_secs()
        ),
        UpstreamState::PointsElsewhere { runtime, listens } => {
            format!("{runtime} runs but listens at {}", listens.join(", "))
        }
        UpstreamState::NotChecked { reason } => reason.clone(),
        UpstreamState::Unseen { reason, instead } => {
            format!("could not see {reason}: run `{instead}`")
        }
    };
    line.push_str(&format!(": {what}"));
    if let Some(holder) = &r.held_by {
        line.push_str(&format!(" [{holder}]"));
    }
    if !r.also_at.is_empty() {
        let more: Vec<String> = r.also_at.iter().take(3).map(ToString::to_string).collect();
        line.push_str(&format!("; also at {}", more.join(", ")));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_match_like_nginx() {
        use crate::contract::evidence::web::{listen_port, name_matches};
        assert!(name_matches("*.example.com", "shop.example.com"));
        assert!(name_matches(".example.com", "example.com"));
        assert!(!name_matches("example.com", "shop.example.com"));
        assert_eq!(listen_port("[::]:443"), Some(443));
        assert_eq!(listen_port("80"), Some(80));
    }

    #[test]
    fn runtimes_are_inferred_from_protocol_and_socket_name() {
        let t = |protocol, address| Upstream {
            protocol,
            address,
            group: None,
            directive: String::new(),
            at: Location::new(Path::new("/x"), 1),
            member_at: None,
            standby: false,
        };
        assert_eq!(
            expected_runtime(&t(
                Protocol::FastCgi,
                Address::Tcp { host: "127.0.0.1".into(), port: 9000 }
            )),
            Some("php-fpm")
        );
        assert_eq!(
            expected_runtime(&t(
                Protocol::Http,
                Address::Unix { path: "/run/gunicorn.sock".into() }
            )),
            Some("gunicorn")
        );
        assert_eq!(
            expected_runtime(&t(
                Protocol::Http,
                Address::Tcp { host: "127.0.0.1".into(), port: 3000 }
            )),
            None
        );
    }
}
