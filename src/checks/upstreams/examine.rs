//! Judging each target: what probing it showed, who holds its socket, and — with the whole
//! picture — whether a refused or missing target points where its runtime does not listen.

use std::path::Path;

use super::access::{self, Access};
use super::probe::{self, Contact};
use super::{Gathered, Planned, SLOW_MS, SUDO_CHECK};
use crate::contract::evidence::stack::{Endpoint, Listener};
use crate::contract::evidence::upstreams::{UpstreamResult, UpstreamState};
use crate::contract::evidence::web::{Address, FpmConfig, Location, Upstream};
use crate::knowledge::services;
use crate::system::System;

/// Stats a socket target as the web server's user, then probes it.
pub(super) async fn examine(
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
    let resolver = planned.resolver.as_ref();
    let contact =
        probe::probe(target.protocol, &target.address, &planned.ask, planned.limits, resolver);
    outcome(planned, contact.await)
}

pub(super) fn outcome(planned: &Planned, probe: Contact) -> (UpstreamState, Option<u64>) {
    let protocol = planned.target.protocol.id();
    // The proxy's own waits that the probe waited out in full (it waits no longer than 20 s).
    let (limits, waits) = (&planned.limits, &planned.waits);
    let connect = waits.connect.as_ref().filter(|w| limits.connect > w.duration);
    let answer = waits.answer.as_ref().filter(|w| limits.answer > w.duration);
    let late = |ms: u64| answer.is_some_and(|w| u128::from(ms) > w.duration.as_millis());
    let timed_out = |phase: &str, by: &str| UpstreamState::TimedOut {
        phase: phase.to_owned(),
        limit: by.to_owned(),
    };
    match probe {
        Contact::Answered { answer, ms } if http_status(&answer).is_some_and(|s| s >= 500) => {
            (UpstreamState::Erroring { answer }, Some(ms))
        }
        // An answer later than the proxy waits is no answer to the proxy.
        Contact::Answered { ms, .. } if late(ms) => {
            (timed_out("answer", answer.map_or("", |w| w.by.as_str())), Some(ms))
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
        Contact::Unresolved { detail } => (UpstreamState::Unresolved { detail }, None),
        Contact::TlsFailed { detail } => (UpstreamState::TlsFailed { detail }, None),
        Contact::ConnectTimeout => {
            let ms = Some(limits.connect.as_millis() as u64);
            match connect {
                Some(w) => (timed_out("connect", &w.by), ms),
                None => (UpstreamState::NoAnswer, ms),
            }
        }
        Contact::NoAnswer { after_ms } if answer.is_some() => {
            (timed_out("answer", answer.map_or("", |w| w.by.as_str())), Some(after_ms))
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

pub(super) fn http_status(answer: &str) -> Option<u16> {
    answer.strip_prefix("HTTP/")?.split_whitespace().nth(1)?.parse().ok()
}

/// The service that holds the listening socket at an address, when visible.
pub(super) fn holder(gathered: &Gathered, address: &Address) -> Option<String> {
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

pub(super) fn resolve_local(host: &str) -> Option<std::net::IpAddr> {
    match host {
        "localhost" => Some(std::net::IpAddr::from([127, 0, 0, 1])),
        other => other.parse().ok(),
    }
}

/// The runtime a target implies (assets/stack.yaml): FastCGI is PHP-FPM, uwsgi is uWSGI, and
/// socket names say the rest.
pub fn expected_runtime(target: &Upstream) -> Option<&'static str> {
    let socket = match &target.address {
        Address::Unix { path } => Some(path.to_string_lossy()),
        _ => None,
    };
    services::table().runtime_for(target.protocol, socket.as_deref()).map(|s| s.id.as_str())
}

/// Second look with the whole picture: a refused or missing target whose runtime runs but
/// listens elsewhere points elsewhere; a runtime that is down is noted with its pool's address.
pub(super) fn refine(gathered: &Gathered, results: &mut [UpstreamResult], notes: &mut Vec<String>) {
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
        } else if runtime == "php-fpm" {
            notes.extend(pool_notes(&gathered.fpm, &result.target.address, runs));
        }
    }
}

/// For a FastCGI target nothing listens at: the pools' own addresses when none is configured
/// there (the proxy and PHP-FPM disagree), else that its pool's PHP-FPM is not running.
fn pool_notes(fpm: &[FpmConfig], address: &Address, runs: bool) -> Vec<String> {
    match pool_of(fpm, address) {
        None => pool_addresses(fpm)
            .into_iter()
            .map(|(pool, listen, at)| {
                format!("no PHP-FPM pool is configured at {address}: pool {pool} would listen at {listen} ({at})")
            })
            .collect(),
        Some(pool) if !runs => {
            vec![format!("PHP-FPM pool {pool} would listen at {address}, but PHP-FPM is not running")]
        }
        Some(_) => Vec::new(),
    }
}

/// A listener close enough to the target to be what the proxy meant: a socket in the same
/// directory (`php8.1-fpm.sock` for `php8.2-fpm.sock`), or a port on the same host.
pub(super) fn near(target: &Address, listener: &Listener) -> bool {
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

/// The PHP-FPM pool that listens at `address` by its config: `www (pool.d/www.conf:4)`.
pub(super) fn pool_of(fpm: &[FpmConfig], address: &Address) -> Option<String> {
    let listens_here = |listen: &str| match address {
        Address::Unix { path } => Path::new(listen) == path,
        Address::Tcp { host, port } => {
            let (pool_host, pool_port) = listen.rsplit_once(':').unwrap_or(("", listen));
            pool_port.parse::<u16>().ok() == Some(*port)
                && (pool_host.is_empty()
                    || pool_host == "0.0.0.0"
                    || pool_host == "[::]"
                    || resolve_local(pool_host) == resolve_local(host))
        }
        Address::Dynamic { .. } => false,
    };
    pool_addresses(fpm)
        .into_iter()
        .find(|(_, listen, _)| listens_here(listen))
        .map(|(pool, _, at)| format!("{pool} ({at})"))
}

pub(super) fn pool_addresses(fpm: &[FpmConfig]) -> Vec<(String, String, Location)> {
    fpm.iter()
        .flat_map(|c| c.pools.iter())
        .filter_map(|p| p.listen.as_ref().map(|l| (p.name.clone(), l.value.clone(), l.at.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::evidence::web::{Location, Protocol};

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
            settings: Vec::new(),
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
