//! Reading the web servers' configs: nginx (with every `include`), Apache httpd, HAProxy,
//! Varnish (VCL and varnishd's command line), Caddy (Caddyfile or JSON), Traefik and Envoy, and
//! PHP-FPM's pools. For each site it extracts the upstream targets, timeouts, limits,
//! maintenance rules and log files, each with the file and line that set it. It parses the files
//! itself: `nginx -T` would open (and create) every log file it names, load modules and read
//! keys as the caller, which a read-only check must not do. The one command it runs is
//! `caddy adapt`, which only reads, to check its own reading of a Caddyfile.

pub mod apache;
pub mod caddy;
pub mod envoy;
pub mod haproxy;
pub mod nginx;
pub mod phpfpm;
mod scalar;
pub mod source;
pub mod traefik;
pub mod varnish;

use std::path::{Path, PathBuf};

use crate::contract::evidence::stack::{Role, SUDO_STACK, Service, Stack, Unseen};
use crate::contract::evidence::web::{Location, LogPath, LogPaths, ProxyConfig, ServerKind};
use crate::knowledge::services;
use crate::site::SiteUrl;
use crate::system::{System, stack, units};

/// Reads one server's config file. `prefix` is nginx's `-p` (relative log paths); `None` for
/// the compiled-in default.
pub fn read(
    system: &System,
    server: ServerKind,
    main: &Path,
    prefix: Option<&Path>,
) -> ProxyConfig {
    let running = Running {
        kind: server,
        main: main.to_owned(),
        prefix: prefix.map(Path::to_owned),
        args: Vec::new(),
        pid: None,
    };
    read_running(system, &running)
}

/// A running web server's config, as its command line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Running {
    pub kind: ServerKind,
    /// The main config file (for `varnishd -b`, which has none, its `/proc/PID/cmdline`).
    pub main: PathBuf,
    /// nginx's `-p`.
    pub prefix: Option<PathBuf>,
    /// The master's command line (varnishd's `-a`, `-b`, `-p`, `-j`).
    pub args: Vec<String>,
    pub pid: Option<u32>,
}

/// Reads a running server's config (or a file, with no command line).
pub fn read_running(system: &System, running: &Running) -> ProxyConfig {
    let main = running.main.as_path();
    match running.kind {
        ServerKind::Nginx => nginx::read(system, main, running.prefix.as_deref()),
        ServerKind::Apache => apache::read(system, main),
        ServerKind::Haproxy => haproxy::read(system, main),
        ServerKind::Varnish => {
            let cmdline = running.pid.map_or_else(
                || PathBuf::from("varnishd command line"),
                |pid| PathBuf::from(format!("/proc/{pid}/cmdline")),
            );
            varnish::read(system, main, &running.args, &cmdline)
        }
        ServerKind::Caddy => caddy::read(system, main),
        ServerKind::Traefik => traefik::read(system, main),
        ServerKind::Envoy => envoy::read(system, main),
    }
}

/// The config of each running web server of the stack that triage can read, in stack order.
pub fn read_stack(system: &System, stack: &Stack) -> Vec<ProxyConfig> {
    let mut configs: Vec<ProxyConfig> = Vec::new();
    for service in stack.of_role(Role::WebServer) {
        let Some(running) = config_of(service) else { continue };
        if configs.iter().any(|c| c.main == running.main) {
            continue;
        }
        configs.push(read_running(system, &running));
    }
    configs
}

/// How to read a running web server's config: its kind, absolute main config, nginx's `-p`
/// prefix and its master's command line.
pub fn config_of(service: &Service) -> Option<Running> {
    let kind = services::table().get(&service.id)?.config_format?;
    let master = service.master_process();
    let prefix = master.and_then(|m| m.flag_value("-p")).map(PathBuf::from);
    let args = master.map(|m| m.args.clone()).unwrap_or_default();
    let no_vcl = kind == ServerKind::Varnish && args.iter().any(|a| a == "-b");
    let main = if no_vcl {
        PathBuf::from(format!("/proc/{}/cmdline", service.master))
    } else {
        let base = prefix.clone().unwrap_or_else(|| PathBuf::from(nginx::COMPILED_PREFIX));
        stack::absolute_config(service, &base)?
    };
    let prefix = (kind == ServerKind::Nginx).then_some(prefix).flatten();
    Some(Running { kind, main, prefix, args, pid: Some(service.master) })
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
    for log in runtime_logs(system, stack) {
        if !out.paths.iter().any(|p| p.path == log.path) {
            out.paths.push(log);
        }
    }
    out
}

/// The logs the app runtimes' command lines and systemd units name (gunicorn
/// `--error-logfile`, uWSGI `--logto`, `StandardError=append:`).
fn runtime_logs(system: &System, stack: &Stack) -> Vec<LogPath> {
    let mut out = Vec::new();
    for service in stack.of_role(Role::Runtime).filter(|s| s.id != "php-fpm") {
        if let Some(master) = service.master_process() {
            let at = Location::new(Path::new(&format!("/proc/{}/cmdline", master.pid)), 1);
            out.extend(units::flag_logs(&master.args.join(" "), &at));
        }
        let unit = service.unit.as_ref().and_then(|u| units::read(system, &u.name));
        out.extend(unit.into_iter().flat_map(|u| u.logs));
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
