//! Reading the web servers' configs: nginx (with every `include`), Apache httpd and HAProxy, and
//! PHP-FPM's pools. For each site it extracts the upstream targets, timeouts, limits,
//! maintenance rules and log files, each with the file and line that set it. It parses the files
//! itself and runs nothing: `nginx -T` would open (and create) every log file it names, load
//! modules and read keys as the caller, which a read-only check must not do.

pub mod apache;
pub mod haproxy;
pub mod nginx;
pub mod phpfpm;
pub mod source;

use std::path::{Path, PathBuf};

use crate::contract::evidence::stack::{Role, SUDO_STACK, Service, Stack, Unseen};
use crate::contract::evidence::web::{LogPath, LogPaths, ProxyConfig, ServerKind};
use crate::knowledge::services;
use crate::site::SiteUrl;
use crate::system::{System, stack};

/// Reads one server's config. `prefix` is nginx's `-p` (relative log paths); `None` for the
/// compiled-in default.
pub fn read(
    system: &System,
    server: ServerKind,
    main: &Path,
    prefix: Option<&Path>,
) -> ProxyConfig {
    match server {
        ServerKind::Nginx => nginx::read(system, main, prefix),
        ServerKind::Apache => apache::read(system, main),
        ServerKind::Haproxy => haproxy::read(system, main),
    }
}

/// The config of each running web server of the stack that triage can read, in stack order.
pub fn read_stack(system: &System, stack: &Stack) -> Vec<ProxyConfig> {
    let mut configs: Vec<ProxyConfig> = Vec::new();
    for service in stack.of_role(Role::WebServer) {
        let Some((kind, main, prefix)) = config_of(service) else { continue };
        if configs.iter().any(|c| c.main == main) {
            continue;
        }
        configs.push(read(system, kind, &main, prefix.as_deref()));
    }
    configs
}

/// The server kind, absolute main config and `-p` prefix of a running web server.
pub fn config_of(service: &Service) -> Option<(ServerKind, PathBuf, Option<PathBuf>)> {
    let kind = services::table().get(&service.id)?.config_format?;
    let prefix = service.master_process().and_then(|m| m.flag_value("-p")).map(PathBuf::from);
    let base = prefix.clone().unwrap_or_else(|| PathBuf::from(nginx::COMPILED_PREFIX));
    let main = stack::absolute_config(service, &base)?;
    Some((kind, main, prefix))
}

/// The configured log files of every running web server and PHP-FPM, with their kind, each with
/// the config line that names it. Blocking. For the logs check, which adds the usual places.
pub fn log_paths(system: &System) -> LogPaths {
    match stack::discover(system) {
        Ok(stack) => log_paths_of(system, &stack),
        Err(reason) => LogPaths {
            paths: Vec::new(),
            unseen: vec![Unseen::new(format!("the running services ({reason})"), SUDO_STACK)],
        },
    }
}

/// The document root of the first site in the running servers' configs that serves `url`: where
/// the app's config (`wp-config.php`, `.env`) and its git checkout are likely to be.
pub fn site_root_for(system: &System, stack: &Stack, url: &SiteUrl) -> Option<String> {
    read_stack(system, stack)
        .into_iter()
        .flat_map(|config| config.sites)
        .filter(|site| site.serves(url))
        .find_map(|site| site.root.filter(|root| !root.contains('$')))
}

/// The access logs of the site that serves `url`, in each running server that serves it: the
/// site's own when its server block names one, else the ones every site of that server writes.
pub fn access_logs_for(system: &System, url: &SiteUrl) -> Vec<LogPath> {
    let Ok(stack) = stack::discover(system) else { return Vec::new() };
    let mut out = Vec::new();
    for config in read_stack(system, &stack) {
        let Some(site) = config.sites.iter().find(|s| s.serves(url)) else { continue };
        let access = config.logs.iter().filter(|l| l.kind.is_access());
        let own: Vec<&LogPath> =
            access.clone().filter(|l| l.site.as_ref() == Some(&site.name)).collect();
        let chosen: Vec<&LogPath> =
            if own.is_empty() { access.filter(|l| l.site.is_none()).collect() } else { own };
        out.extend(chosen.into_iter().cloned());
    }
    out
}

/// [`log_paths`] for a stack already discovered.
pub fn log_paths_of(system: &System, stack: &Stack) -> LogPaths {
    let mut out = LogPaths::default();
    let configs = read_stack(system, stack);
    for config in &configs {
        out.unseen.extend(config.unreadable.iter().map(|u| u.unseen(config.server)));
        for log in &config.logs {
            if !out.paths.iter().any(|p| p.path == log.path) {
                out.paths.push(log.clone());
            }
        }
    }
    for fpm in phpfpm::read_stack(system, stack) {
        out.unseen.extend(fpm.unreadable.iter().map(|u| u.unseen_with("sudo triage logs")));
        out.paths.extend(fpm.logs);
    }
    out
}

/// Splits `host:port`, `[v6]:port` or `host` (with the default port).
pub fn split_host_port(text: &str, default_port: Option<u16>) -> Option<(String, u16)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => default_port?,
        };
        return Some((host.to_owned(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host.to_owned(), port.parse().ok()?)),
        _ if !text.is_empty() && !text.contains(':') => Some((text.to_owned(), default_port?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports_split() {
        assert_eq!(split_host_port("127.0.0.1:9000", None), Some(("127.0.0.1".into(), 9000)));
        assert_eq!(split_host_port("[::1]:81", None), Some(("::1".into(), 81)));
        assert_eq!(split_host_port("backend", Some(80)), Some(("backend".into(), 80)));
        assert_eq!(split_host_port("backend", None), None);
        assert_eq!(split_host_port("h:notaport", Some(80)), None);
    }
}
