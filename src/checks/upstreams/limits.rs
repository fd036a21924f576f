//! How long a proxy waits for one of its upstreams, and what says so: the target's own setting
//! (an nginx location's `proxy_read_timeout`, a Varnish backend's `.first_byte_timeout`, a Caddy
//! transport's `dial_timeout`), else the site's (HAProxy's `timeout server`, Apache's
//! `ProxyTimeout`), else the server's default — the names and defaults per server are
//! `timeouts` in assets/stack.yaml. The probe then waits no longer than that (`probe::Limits`),
//! so a target slower than its proxy's own limit is one the proxy gave up on.

use std::time::Duration;

use crate::contract::evidence::web::{ServerKind, Setting, Site, Upstream};
use crate::knowledge::services::{self, Timeouts};
use crate::text::duration_words;

/// How long the proxy waits to connect to a target and for its answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyWaits {
    pub connect: Option<Wait>,
    pub answer: Option<Wait>,
}

/// One wait and what sets it: `.first_byte_timeout 1s (/etc/varnish/default.vcl:5)`, or
/// `varnish's default, 60 s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    pub duration: Duration,
    pub by: String,
}

/// The waits of `server` for `target` of `site`.
pub fn proxy_waits(server: ServerKind, site: &Site, target: &Upstream) -> ProxyWaits {
    let Some(timeouts) = services::table().get(server.id()).and_then(|s| s.timeouts.as_ref())
    else {
        return ProxyWaits::default();
    };
    let protocol = target.protocol.id();
    let default = |text: Option<&str>| {
        let duration = timeouts.parse(text?)?;
        Some(Wait {
            duration,
            by: format!("{}'s default, {}", server.id(), duration_words(duration)),
        })
    };
    let pick = |names: &[String], default_text: Option<&String>| match setting(
        timeouts, names, site, target,
    ) {
        Found::Set(wait) => Some(wait),
        Found::NoLimit => None,
        Found::Unset => default(default_text.map(String::as_str)),
    };
    ProxyWaits {
        connect: pick(timeouts.connect_names(protocol), timeouts.default_connect.as_ref()),
        answer: pick(timeouts.answer_names(protocol), timeouts.default_answer.as_ref()),
    }
}

/// What the config says of one wait.
enum Found {
    Set(Wait),
    /// Set to no limit (`0`, `off`): the proxy waits for ever.
    NoLimit,
    Unset,
}

/// The first of `names` (most specific first) set for the target, then for the site; a name set
/// more than once counts as its last (innermost) setting.
fn setting(timeouts: &Timeouts, names: &[String], site: &Site, target: &Upstream) -> Found {
    for name in names {
        let found = |settings: &[Setting]| {
            settings.iter().rev().find(|s| s.name.eq_ignore_ascii_case(name)).cloned()
        };
        if let Some(s) = found(&target.settings).or_else(|| found(&site.timeouts)) {
            return match timeouts.parse(&s.value) {
                Some(duration) => {
                    Found::Set(Wait { duration, by: format!("{} {} ({})", s.name, s.value, s.at) })
                }
                None => Found::NoLimit,
            };
        }
    }
    Found::Unset
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
    fn the_targets_own_setting_then_the_sites_then_the_default() {
        let site = Site::default();
        let varnish = proxy_waits(
            ServerKind::Varnish,
            &site,
            &target(vec![
                set("first_byte_timeout", "120", 1),
                set(".first_byte_timeout", "1.5s", 4),
            ]),
        );
        let answer = varnish.answer.unwrap();
        assert_eq!(answer.duration, Duration::from_millis(1500));
        assert_eq!(answer.by, ".first_byte_timeout 1.5s (/etc/x.conf:4)");
        assert_eq!(varnish.connect.unwrap().by, "varnish's default, 3.5 s");
        let haproxy = Site { timeouts: vec![set("timeout server", "2000", 9)], ..Site::default() };
        let waits = proxy_waits(ServerKind::Haproxy, &haproxy, &target(Vec::new()));
        assert_eq!(waits.answer.unwrap().duration, Duration::from_secs(2), "bare numbers in ms");
        assert_eq!(waits.connect, None, "HAProxy waits for ever without `timeout connect`");
        let off = proxy_waits(
            ServerKind::Haproxy,
            &Site::default(),
            &target(vec![set("timeout server", "0", 2)]),
        );
        assert_eq!(off.answer, None);
    }
}
