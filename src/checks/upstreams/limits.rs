//! How long to wait for each upstream: no longer than its proxy would. The proxy's own
//! settings for the target (an nginx location's `proxy_read_timeout`, a Varnish backend's
//! `.first_byte_timeout`, HAProxy's `timeout server`, Caddy's `dial_timeout`), else the site's,
//! else the server's default (assets/stack.yaml `upstream_timeouts`), each capped so one check
//! run stays short. A target slower than its proxy's own limit is one the proxy gave up on.

use std::time::Duration;

use super::probe::{ANSWER_LIMIT, CONNECT_LIMIT};
use crate::contract::evidence::upstreams::{Limit, ProbeLimits};
use crate::contract::evidence::web::{ServerKind, Setting, Site, Upstream};
use crate::knowledge::services::{self, UpstreamTimeouts};
use crate::system::proxy::duration;

/// The limits to probe `target` with, and what set them.
pub fn limits(server: ServerKind, site: &Site, target: &Upstream) -> ProbeLimits {
    let table = services::table().get(server.id()).and_then(|s| s.upstream_timeouts.as_ref());
    let Some(spec) = table else {
        return ProbeLimits {
            connect: capped(None, CONNECT_LIMIT, "triage's own limit"),
            answer: capped(None, ANSWER_LIMIT, "triage's own limit"),
        };
    };
    let connect = pick(spec, &spec.connect, spec.default_connect.as_deref(), site, target);
    let answer = pick(spec, &spec.answer, spec.default_answer.as_deref(), site, target);
    ProbeLimits {
        connect: limit(connect, CONNECT_LIMIT, server, "connect"),
        answer: limit(answer, ANSWER_LIMIT, server, "answer"),
    }
}

/// What bounds one phase: a setting, the server's default, or nothing (it waits for ever).
enum Bound {
    Set(Setting, Duration),
    Default(Duration),
    Unlimited,
}

/// The first of `names` (most specific first) set for the target, then for the site; a name
/// set more than once counts as its last (innermost) setting.
fn pick(
    spec: &UpstreamTimeouts,
    names: &[String],
    default: Option<&str>,
    site: &Site,
    target: &Upstream,
) -> Bound {
    let unit = spec.bare_unit_ms();
    for name in names {
        let found = |settings: &[Setting]| {
            settings.iter().rev().find(|s| s.name.eq_ignore_ascii_case(name)).cloned()
        };
        if let Some(setting) = found(&target.settings).or_else(|| found(&site.timeouts)) {
            return match duration::parse(&setting.value, unit) {
                Some(d) => Bound::Set(setting, d),
                None => Bound::Unlimited,
            };
        }
    }
    default.and_then(|d| duration::parse(d, 1000.0)).map_or(Bound::Unlimited, Bound::Default)
}

fn limit(bound: Bound, cap: Duration, server: ServerKind, phase: &str) -> Limit {
    let server = server.id();
    match bound {
        Bound::Set(setting, d) => {
            capped(Some(d), cap, &format!("{} {} ({})", setting.name, setting.value, setting.at))
        }
        Bound::Default(d) => capped(
            Some(d),
            cap,
            &format!("{server}'s default {phase} timeout, {}", duration::words(d)),
        ),
        Bound::Unlimited => capped(None, cap, &format!("{server} sets no {phase} timeout")),
    }
}

/// The proxy's limit when it is shorter than triage's cap, else the cap.
fn capped(own: Option<Duration>, cap: Duration, by: &str) -> Limit {
    let own_ms = own.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let cap_ms = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
    match own_ms {
        Some(ms) if ms <= cap_ms => Limit { ms, by: by.to_owned(), proxy_own: true },
        _ => Limit {
            ms: cap_ms,
            by: format!("{by}; triage waits at most {}", duration::words(cap)),
            proxy_own: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::evidence::web::{Address, Location, Protocol};
    use std::path::Path;

    fn target(settings: Vec<Setting>) -> Upstream {
        Upstream {
            protocol: Protocol::Http,
            address: Address::Tcp { host: "127.0.0.1".into(), port: 8080 },
            group: None,
            directive: String::new(),
            at: Location::new(Path::new("/x"), 1),
            member_at: None,
            standby: false,
            settings,
        }
    }

    fn set(name: &str, value: &str, line: u32) -> Setting {
        Setting {
            name: name.into(),
            value: value.into(),
            at: Location::new(Path::new("/etc/x.conf"), line),
        }
    }

    #[test]
    fn the_proxys_own_limits_bound_the_probe() {
        let site = Site::default();
        let varnish = limits(
            ServerKind::Varnish,
            &site,
            &target(vec![set("first_byte_timeout", "120", 1), set(".first_byte_timeout", "1s", 4)]),
        );
        assert_eq!(varnish.answer.ms, 1000);
        assert!(varnish.answer.proxy_own);
        assert_eq!(varnish.answer.by, ".first_byte_timeout 1s (/etc/x.conf:4)");
        assert_eq!(
            varnish.connect.by,
            "varnish's default connect timeout, 3.5 s; triage waits at most 2 s"
        );
        assert!(!varnish.connect.proxy_own);
        let haproxy =
            limits(ServerKind::Haproxy, &site, &target(vec![set("timeout server", "2000", 9)]));
        assert_eq!(haproxy.answer.ms, 2000, "HAProxy counts bare numbers in ms");
        assert!(!haproxy.connect.proxy_own);
        assert!(haproxy.connect.by.starts_with("haproxy sets no connect timeout"));
        let nginx =
            limits(ServerKind::Nginx, &site, &target(vec![set("proxy_read_timeout", "300s", 3)]));
        assert!(!nginx.answer.proxy_own, "longer than triage waits");
        assert_eq!(nginx.answer.ms, ANSWER_LIMIT.as_millis() as u64);
    }
}
