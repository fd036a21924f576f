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

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::checks::stack::{self, Role, Service, Stack, System, Unseen};
pub use source::Unreadable;

/// A place in a config file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: u32,
}

impl Location {
    pub fn new(file: &Path, line: u32) -> Self {
        Location { file: file.to_owned(), line }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Which server a config belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    Nginx,
    Apache,
    Haproxy,
}

impl ServerKind {
    pub fn id(self) -> &'static str {
        match self {
            ServerKind::Nginx => "nginx",
            ServerKind::Apache => "apache",
            ServerKind::Haproxy => "haproxy",
        }
    }

    /// The stack service id of this server.
    pub fn from_service(id: &str) -> Option<ServerKind> {
        match id {
            "nginx" => Some(ServerKind::Nginx),
            "apache" => Some(ServerKind::Apache),
            "haproxy" => Some(ServerKind::Haproxy),
            _ => None,
        }
    }

    /// Guesses the server from a config file's name (for `--config`-style parameters).
    pub fn guess(path: &Path) -> ServerKind {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.contains("haproxy") || Path::new(&name).extension().is_some_and(|e| e == "cfg") {
            ServerKind::Haproxy
        } else if name.contains("apache") || name.contains("httpd") {
            ServerKind::Apache
        } else {
            ServerKind::Nginx
        }
    }
}

/// The protocol a proxy speaks to its upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Http,
    Https,
    FastCgi,
    Uwsgi,
    Scgi,
    Grpc,
    Memcached,
    Ajp,
    /// HAProxy in TCP mode, or a scheme triage does not speak.
    Tcp,
}

impl Protocol {
    pub fn id(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
            Protocol::FastCgi => "fastcgi",
            Protocol::Uwsgi => "uwsgi",
            Protocol::Scgi => "scgi",
            Protocol::Grpc => "grpc",
            Protocol::Memcached => "memcached",
            Protocol::Ajp => "ajp",
            Protocol::Tcp => "tcp",
        }
    }
}

/// Where an upstream is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Address {
    Tcp {
        host: String,
        port: u16,
    },
    Unix {
        path: PathBuf,
    },
    /// Depends on a variable (`proxy_pass http://$backend`): not checkable from the config.
    Dynamic {
        text: String,
    },
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "{host}:{port}"),
            Address::Unix { path } => write!(f, "unix:{}", path.display()),
            Address::Dynamic { text } => f.write_str(text),
        }
    }
}

/// One upstream a site sends requests to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub protocol: Protocol,
    pub address: Address,
    /// The upstream group (`upstream php { … }`, `backend app`, `balancer://x`) it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The directive that points here, as written (`fastcgi_pass unix:/run/php/php8.2-fpm.sock`).
    pub directive: String,
    pub at: Location,
    /// For a group member, the `server` line that names this address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_at: Option<Location>,
    /// Marked `down`, `disabled` or `backup`: not expected to take traffic.
    pub standby: bool,
}

impl Target {
    /// The config line that names the address: the group member's, else the directive's.
    pub fn address_at(&self) -> &Location {
        self.member_at.as_ref().unwrap_or(&self.at)
    }
}

/// A named setting (timeout, limit) and where it was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub name: String,
    pub value: String,
    pub at: Location,
}

/// A rule that answers 503 on purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    /// As written: `return 503`, `RewriteRule ^ - [R=503,L]`.
    pub rule: String,
    pub at: Location,
    /// The flag file whose existence switches it on, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag_file: Option<PathBuf>,
    /// Whether it is on now: unconditional, or its flag file exists.
    pub active: bool,
}

/// Which log a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    NginxError,
    NginxAccess,
    ApacheError,
    ApacheAccess,
    Haproxy,
    PhpFpmError,
    PhpFpmSlow,
}

/// A log file the configs write to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogPath {
    pub kind: LogKind,
    /// Absolute. May contain a variable (`/var/log/nginx/$host.log`) that only nginx can expand.
    pub path: PathBuf,
    /// The directive that names it; `None` for a compiled-in or distribution default.
    pub at: Option<Location>,
    /// The site (server name) it belongs to; `None` for a global log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
}

/// One site: an nginx `server`, an Apache `VirtualHost` (or the main server), an HAProxy
/// `backend` or `listen` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Site {
    /// The first server name, or `_`/the section name.
    pub name: String,
    pub names: Vec<String>,
    pub listen: Vec<String>,
    pub at: Option<Location>,
    pub root: Option<String>,
    pub targets: Vec<Target>,
    pub timeouts: Vec<Setting>,
    pub limits: Vec<Setting>,
    pub maintenance: Vec<Maintenance>,
}

impl Site {
    /// Whether this site answers requests for the URL's host and port: a `listen` on its port
    /// (none means 80), and a matching server name (any name for an IP address or localhost).
    pub fn serves(&self, url: &url::Url) -> bool {
        let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(80);
        let port_ok = self.listen.is_empty() && port == 80
            || self.listen.iter().any(|l| listen_port(l) == Some(port));
        let by_ip = host.parse::<std::net::IpAddr>().is_ok() || host == "localhost";
        port_ok
            && (by_ip
                || self.names.is_empty()
                || self.names.iter().any(|n| n == "_" || name_matches(n, &host)))
    }
}

/// `80`, `127.0.0.1:8080`, `[::]:443`, `*:80`, `unix:…` (none).
pub fn listen_port(listen: &str) -> Option<u16> {
    listen.rsplit(':').next().and_then(|p| p.parse().ok())
}

/// nginx and Apache server names: exact, `*.example.com`, `.example.com`.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    if let Some(suffix) = pattern.strip_prefix("*.") {
        return host.ends_with(&format!(".{suffix}"));
    }
    if let Some(suffix) = pattern.strip_prefix('.') {
        return host == suffix || host.ends_with(&pattern);
    }
    pattern == host
}

/// Everything read from one server's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyConfig {
    pub server: ServerKind,
    pub main: PathBuf,
    /// Every file read, the main one first.
    pub files: Vec<PathBuf>,
    pub unreadable: Vec<Unreadable>,
    pub sites: Vec<Site>,
    pub logs: Vec<LogPath>,
    /// The user the workers run as, by the config (`user www-data;`, `User ${APACHE_RUN_USER}`).
    pub user: Option<String>,
    /// Server-wide settings: worker_connections, MaxRequestWorkers, maxconn, …
    pub settings: Vec<Setting>,
    /// Things the parser could not make sense of, with their place.
    pub problems: Vec<String>,
}

impl ProxyConfig {
    pub fn new(server: ServerKind, main: &Path) -> Self {
        ProxyConfig {
            server,
            main: main.to_owned(),
            files: Vec::new(),
            unreadable: Vec::new(),
            sites: Vec::new(),
            logs: Vec::new(),
            user: None,
            settings: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The first server-wide setting of this name (case-insensitive).
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

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
    let kind = ServerKind::from_service(&service.id)?;
    let prefix = service.master_process().and_then(|m| m.flag_value("-p")).map(PathBuf::from);
    let base = prefix.clone().unwrap_or_else(|| PathBuf::from(nginx::COMPILED_PREFIX));
    let main = stack::absolute_config(service, &base)?;
    Some((kind, main, prefix))
}

/// The log files the configs name, and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogPaths {
    pub paths: Vec<LogPath>,
    pub unseen: Vec<Unseen>,
}

/// The configured log files of every running web server and PHP-FPM, with their kind, each with
/// the config line that names it. Blocking. For the logs check, which adds the usual places.
pub fn log_paths(system: &System) -> LogPaths {
    match stack::discover(system) {
        Ok(stack) => log_paths_of(system, &stack),
        Err(reason) => LogPaths {
            paths: Vec::new(),
            unseen: vec![Unseen::new(
                format!("the running services ({reason})"),
                stack::SUDO_STACK,
            )],
        },
    }
}

/// The document root of the first site in the running servers' configs that serves `url`: where
/// the app's config (`wp-config.php`, `.env`) and its git checkout are likely to be.
pub fn site_root_for(system: &System, stack: &Stack, url: &url::Url) -> Option<String> {
    read_stack(system, stack)
        .into_iter()
        .flat_map(|config| config.sites)
        .filter(|site| site.serves(url))
        .find_map(|site| site.root.filter(|root| !root.contains('$')))
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

    #[test]
    fn addresses_display_as_people_write_them() {
        assert_eq!(Address::Tcp { host: "::1".into(), port: 80 }.to_string(), "[::1]:80");
        assert_eq!(
            Address::Unix { path: "/run/php.sock".into() }.to_string(),
            "unix:/run/php.sock"
        );
    }
}
