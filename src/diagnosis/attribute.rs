//! Which hop a group of log lines belongs to. A line counts for this incident only when it
//! belongs to a hop on the path: where it says where it came from (nginx's `server:`, `host:`,
//! `upstream:`, a PHP-FPM `[pool …]`, an HAProxy backend) those fields must match the hop; where
//! it says nothing, it must be in a log that hop's config names. Everything else is another
//! site's, counted apart, and never decides the verdict.

use serde::{Deserialize, Serialize};

use super::path::{Hop, Role};
use crate::contract::evidence::logs::LineGroup;
use crate::contract::evidence::web::name_matches;
use crate::site::SiteUrl;

/// Where a group of lines belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Belongs {
    /// To this hop of the path.
    Hop(usize),
    /// To another site or service on this machine, named as the lines name it.
    Elsewhere(String),
    /// To the machine as a whole (the kernel, the journal), with nothing tying it to a site.
    Host,
}

/// Another site's errors, for the "not this incident" line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Elsewhere {
    /// The site, pool or log as the lines name it.
    pub site: String,
    pub lines: u64,
    /// The causes its lines point at.
    pub causes: Vec<String>,
}

/// The hop `group` belongs to. The fields the lines carry pick the hop; the file must then be a
/// log the hop that wrote the lines names (the proxy in front of an upstream, the pool's
/// master), so a second instance with the same server name is never taken for this one.
pub fn belongs(group: &LineGroup, hops: &[Hop], url: Option<&SiteUrl>) -> Belongs {
    let picked = by_fields(group, hops, url);
    match picked {
        Picked::Hop { hop, writer } if writes(hops, writer, &group.file) => Belongs::Hop(hop),
        Picked::Hop { .. } => Belongs::Elsewhere(format!("{} ({})", site_label(group), group.file)),
        Picked::Elsewhere(label) => Belongs::Elsewhere(label),
        Picked::Nothing => by_file(group, hops).map_or_else(|| unplaced(group), Belongs::Hop),
    }
}

/// What a group's fields say.
enum Picked {
    /// The hop the lines are about, and the hop that wrote them.
    Hop {
        hop: usize,
        writer: usize,
    },
    Elsewhere(String),
    Nothing,
}

fn by_fields(group: &LineGroup, hops: &[Hop], url: Option<&SiteUrl>) -> Picked {
    if let Some(upstream) = group.field("upstream") {
        return by_upstream(group, upstream, hops, url);
    }
    if let Some(pool) = group.field("pool") {
        return match hops.iter().position(|h| h.key.pool.as_deref() == Some(pool)) {
            Some(i) => Picked::Hop { hop: i, writer: i },
            None => Picked::Elsewhere(format!("PHP-FPM pool {pool}")),
        };
    }
    if group.field("server").is_some() || group.field("host").is_some() {
        return match by_site(group, hops, url) {
            Some(i) => Picked::Hop { hop: i, writer: i },
            None => Picked::Elsewhere(site_label(group)),
        };
    }
    if let Some(backend) = group.field("backend").or_else(|| group.field("frontend")) {
        let hop = hops
            .iter()
            .position(|h| h.role == Role::Proxy && h.key.names.iter().any(|n| n == backend));
        return match hop {
            Some(i) => Picked::Hop { hop: i, writer: i },
            None => Picked::Elsewhere(format!("HAProxy {backend}")),
        };
    }
    Picked::Nothing
}

/// A line naming the upstream it tried: the hop at that address (written by the proxy in front
/// of it), when the line's site (if it names one) is ours.
fn by_upstream(group: &LineGroup, upstream: &str, hops: &[Hop], url: Option<&SiteUrl>) -> Picked {
    let address = upstream_address(upstream);
    let names_site = group.field("server").is_some() || group.field("host").is_some();
    let site = by_site(group, hops, url);
    if names_site && site.is_none() {
        return Picked::Elsewhere(site_label(group));
    }
    let at = hops.iter().position(|h| h.address.as_deref() == Some(address.as_str()));
    match (at, site) {
        (Some(i), _) => Picked::Hop { hop: i, writer: hops[i].from.unwrap_or(i) },
        (None, Some(proxy)) => Picked::Hop { hop: proxy, writer: proxy },
        (None, None) => Picked::Elsewhere(format!("upstream {address}")),
    }
}

/// Whether hop `writer`'s config names `file` as one of its logs.
fn writes(hops: &[Hop], writer: usize, file: &str) -> bool {
    hops.get(writer)
        .is_some_and(|h| h.key.logs.iter().any(|log| log.path.to_string_lossy() == file))
}

/// The proxy hop whose site the line's `server:` or `host:` names.
fn by_site(group: &LineGroup, hops: &[Hop], url: Option<&SiteUrl>) -> Option<usize> {
    let server = group.field("server");
    let host = group.field("host").map(str::to_ascii_lowercase);
    let ours = |hop: &Hop| {
        hop.role == Role::Proxy
            && (server.is_some_and(|s| hop.key.names.iter().any(|n| n == s))
                || host.as_deref().is_some_and(|h| {
                    let bare = strip_port(h);
                    hop.key.names.iter().any(|n| name_matches(n, bare))
                        || url.is_some_and(|u| h == u.host_header().to_ascii_lowercase())
                }))
    };
    hops.iter().position(ours)
}

/// The hop whose config names the file the lines are in.
fn by_file(group: &LineGroup, hops: &[Hop]) -> Option<usize> {
    hops.iter().position(|h| h.key.logs.iter().any(|log| log.path.to_string_lossy() == group.file))
}

/// Lines tied to no site: the journal's and the kernel's belong to the machine; the rest are in
/// a log no hop of the path writes.
fn unplaced(group: &LineGroup) -> Belongs {
    let machine = group.file == "systemd journal"
        || ["/var/log/syslog", "/var/log/messages", "/var/log/kern.log"]
            .contains(&group.file.as_str());
    if machine { Belongs::Host } else { Belongs::Elsewhere(group.file.clone()) }
}

fn site_label(group: &LineGroup) -> String {
    match (group.field("server"), group.field("host")) {
        (Some(server), _) if server != "_" => server.to_owned(),
        (_, Some(host)) => host.to_owned(),
        (Some(server), None) => format!("server {server} in {}", group.file),
        (None, None) => group.file.clone(),
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((bare, port)) if port.chars().all(|c| c.is_ascii_digit()) && !bare.contains(':') => {
            bare
        }
        _ => host,
    }
}

/// nginx's `upstream: "fastcgi://unix:/run/php/x.sock:"` or `"http://127.0.0.1:9000/path"` as
/// the path's addresses read: `unix:/run/php/x.sock`, `127.0.0.1:9000`.
pub fn upstream_address(upstream: &str) -> String {
    let rest = upstream.split_once("://").map_or(upstream, |(_, rest)| rest);
    if let Some(path) = rest.strip_prefix("unix:") {
        return format!("unix:{}", path.trim_end_matches(':'));
    }
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Sums the groups that belong elsewhere by site, busiest first.
pub fn elsewhere(groups: &[(&LineGroup, Belongs)]) -> Vec<Elsewhere> {
    let mut out: Vec<Elsewhere> = Vec::new();
    for (group, belongs) in groups {
        let Belongs::Elsewhere(site) = belongs else { continue };
        let i = out.iter().position(|e| &e.site == site).unwrap_or_else(|| {
            out.push(Elsewhere { site: site.clone(), lines: 0, causes: Vec::new() });
            out.len() - 1
        });
        let entry = &mut out[i];
        entry.lines += group.count;
        if let Some(cause) = group.cause.as_ref().filter(|c| !entry.causes.contains(c)) {
            entry.causes.push(cause.clone());
        }
    }
    out.sort_by(|a, b| b.lines.cmp(&a.lines).then_with(|| a.site.cmp(&b.site)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_upstream_fields_read_as_path_addresses() {
        assert_eq!(upstream_address("http://127.0.0.1:9000/cart"), "127.0.0.1:9000");
        assert_eq!(
            upstream_address("fastcgi://unix:/run/php/php8.2-fpm.sock:"),
            "unix:/run/php/php8.2-fpm.sock"
        );
        assert_eq!(upstream_address("fastcgi://[::1]:9000"), "[::1]:9000");
        assert_eq!(strip_port("shop.test:8080"), "shop.test");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }
}
