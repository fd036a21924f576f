//! What the checks found, in the form a command needs: the PHP version and unit, the pool file,
//! the socket, the site's config file and line, its logs, the units and users of the stack
//! (`found.*` facts). Runbook inputs name these with `from:`, so a copied command uses the paths
//! and units of this machine rather than a distribution's defaults. Pure: it reads recorded
//! reports only.

use crate::contract::evidence::stack::{Role, Service, Stack};
use crate::contract::evidence::upstreams::{UpstreamResult, Upstreams};
use crate::contract::evidence::web::{Address, LogKind, LogPath};
use crate::contract::{CheckReport, Evidence};
use crate::facts::{FactValue, Facts};
use crate::session::{Event, Session};

/// The `found.*` facts for everything recorded so far.
pub fn facts(session: &Session, facts: &Facts) -> Facts {
    let mut found = Facts::new();
    let stack = latest(session, "stack").and_then(|r| match &r.evidence {
        Evidence::Stack(s) => Some(s.as_ref()),
        _ => None,
    });
    let upstreams = latest(session, "upstreams").and_then(|r| match &r.evidence {
        Evidence::Upstreams(u) => Some(u.as_ref()),
        _ => None,
    });
    let family = text(facts, "stack.family");
    set(&mut found, "found.family", family.clone());
    stack_facts(&mut found, stack, facts, family.as_deref());
    if let Some(u) = upstreams {
        upstream_facts(&mut found, u);
    }
    set(&mut found, "found.database_kind", text(facts, "db.kind"));
    found
}

fn set(facts: &mut Facts, key: &str, value: Option<String>) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        facts.set(key, value);
    }
}

fn text(facts: &Facts, key: &str) -> Option<String> {
    match facts.get(key)? {
        FactValue::Text(t) => Some(t.clone()),
        other => Some(other.to_string()),
    }
}

/// The latest finished report of a check.
pub fn latest<'a>(session: &'a Session, check: &str) -> Option<&'a CheckReport> {
    session.entries.iter().rev().find_map(|e| match &e.event {
        Event::CheckFinished { report, .. } if report.check == check => Some(report),
        _ => None,
    })
}

fn stack_facts(found: &mut Facts, stack: Option<&Stack>, facts: &Facts, family: Option<&str>) {
    let fpm = stack.and_then(|s| s.services.iter().find(|s| s.id == "php-fpm"));
    let down = list(facts, "stack.units_down");
    let version = fpm.and_then(php_version).or_else(|| down.iter().find_map(|u| unit_version(u)));
    let unit = fpm
        .and_then(|s| s.unit.as_ref().map(|u| unit_name(&u.name)))
        .or_else(|| down.iter().find(|u| u.starts_with("php")).map(|u| unit_name(u)))
        .or_else(|| match (family, &version) {
            (Some("rhel"), _) => Some("php-fpm".to_owned()),
            (Some("debian"), Some(v)) => Some(format!("php{v}-fpm")),
            _ => None,
        });
    set(found, "found.php_version", version);
    set(found, "found.php_unit", unit);
    let Some(stack) = stack else { return };
    let web = stack.of_role(Role::WebServer).next();
    set(found, "found.web_server", web.and_then(|s| s.unit.as_ref()).map(|u| unit_name(&u.name)));
    set(found, "found.web_user", web.and_then(worker_user));
    let db = stack.of_role(Role::Database).next().and_then(|s| s.unit.as_ref());
    let db_unit = db.map(|u| unit_name(&u.name)).or_else(|| {
        down.iter()
            .find(|u| ["postgres", "mysql", "mariadb"].iter().any(|d| u.contains(d)))
            .map(|u| unit_name(u))
    });
    set(found, "found.database_unit", db_unit);
}

fn list(facts: &Facts, key: &str) -> Vec<String> {
    match facts.get(key) {
        Some(FactValue::List(items)) => items.clone(),
        _ => Vec::new(),
    }
}

/// `php8.2-fpm.service` → `php8.2-fpm`.
fn unit_name(name: &str) -> String {
    name.trim_end_matches(".service").to_owned()
}

/// `8.2` from `php8.2-fpm.service`.
fn unit_version(unit: &str) -> Option<String> {
    let rest = unit.strip_prefix("php")?;
    let version = rest.split('-').next()?;
    is_version(version).then(|| version.to_owned())
}

fn is_version(v: &str) -> bool {
    let mut parts = v.split('.');
    parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_none()
}

/// PHP-FPM's version from its process name (`php-fpm8.2`), its unit or its config path
/// (`/etc/php/8.2/fpm/php-fpm.conf`).
fn php_version(fpm: &Service) -> Option<String> {
    let from_names = fpm.processes.iter().flat_map(|p| p.names()).find_map(|n| {
        let v = n.strip_prefix("php-fpm")?;
        is_version(v).then(|| v.to_owned())
    });
    let from_unit = || fpm.unit.as_ref().and_then(|u| unit_version(&u.name));
    let from_config = || {
        let path = &fpm.config.as_ref()?.path;
        path.split('/').find(|part| is_version(part)).map(str::to_owned)
    };
    from_names.or_else(from_unit).or_else(from_config)
}

fn worker_user(service: &Service) -> Option<String> {
    let master = service.master;
    let worker = service.processes.iter().find(|p| p.pid != master);
    let users = &service.users;
    match worker {
        Some(_) => users.iter().find(|u| u.as_str() != "root").or(users.first()).cloned(),
        None => users.first().cloned(),
    }
}

fn upstream_facts(found: &mut Facts, u: &Upstreams) {
    let live: Vec<&UpstreamResult> = u.results.iter().filter(|r| !r.target.standby).collect();
    let first = live.iter().find(|r| r.outcome.is_fault()).or(live.first()).copied();
    if let Some(r) = first {
        set(found, "found.site_config", Some(r.target.at.file.display().to_string()));
        set(found, "found.site_config_line", Some(r.target.at.line.to_string()));
        set(found, "found.web_user", r.user.clone());
    }
    let socket = first.and_then(|r| match &r.target.address {
        Address::Unix { path } => Some(path.display().to_string()),
        _ => None,
    });
    set(found, "found.pool_file", first.and_then(|r| pool_file(u, &r.target.address)));
    set(found, "found.runtime", first.and_then(|r| runtime(&r.target)));
    set(found, "found.socket", socket);
    let logs: Vec<&LogPath> = u.configs.iter().flat_map(|c| c.logs.iter()).collect();
    let site = first.map(|r| r.site.as_str());
    set(
        found,
        "found.error_log",
        log_of(&logs, site, &[LogKind::NginxError, LogKind::ApacheError]),
    );
    set(
        found,
        "found.access_log",
        log_of(&logs, site, &[LogKind::NginxAccess, LogKind::ApacheAccess]),
    );
    let root = u.configs.iter().flat_map(|c| c.sites.iter()).find_map(|s| s.root.clone());
    set(found, "found.site_root", root);
}

/// `php-fpm` when the target speaks FastCGI or its socket's name says PHP.
fn runtime(target: &crate::contract::evidence::web::Upstream) -> Option<String> {
    let services = crate::knowledge::services::table();
    let socket = match &target.address {
        Address::Unix { path } => path.to_str(),
        _ => None,
    };
    services.runtime_for(target.protocol, socket).map(|s| s.id.clone())
}

/// The pool file whose `listen` is this address (`9000` and `127.0.0.1:9000` are one port).
fn pool_file(u: &Upstreams, address: &Address) -> Option<String> {
    let listens_here = |listen: &str| match address {
        Address::Unix { path } => Some(listen) == path.to_str(),
        Address::Tcp { port, .. } => listen.rsplit(':').next() == Some(port.to_string().as_str()),
        Address::Dynamic { .. } => false,
    };
    u.fpm.iter().flat_map(|c| c.pools.iter()).find_map(|pool| {
        let listen = pool.listen.as_ref()?;
        listens_here(&listen.value).then(|| listen.at.file.display().to_string())
    })
}

/// The site's own log of one of these kinds, else the first of them.
fn log_of(logs: &[&LogPath], site: Option<&str>, kinds: &[LogKind]) -> Option<String> {
    let of_kind = || logs.iter().filter(|l| kinds.contains(&l.kind));
    let own = of_kind().find(|l| site.is_some() && l.site.as_deref() == site);
    own.or_else(|| of_kind().next()).map(|l| l.path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_unit_names() {
        assert_eq!(unit_version("php8.3-fpm.service").as_deref(), Some("8.3"));
        assert_eq!(unit_version("php-fpm.service"), None);
        assert_eq!(unit_name("postgresql@15-main.service"), "postgresql@15-main");
        assert!(
            is_version("8.2") && !is_version("8") && !is_version("8.2.1") && !is_version("a.b")
        );
    }
}
