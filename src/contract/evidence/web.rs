//! The web servers' configs as triage reads them: sites, their upstreams, timeouts, limits,
//! maintenance rules and log files, each with the file and line that set it; and PHP-FPM's pools.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::stack::{SUDO_STACK, Unseen};
use crate::site::SiteUrl;

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
    Varnish,
    Caddy,
    Traefik,
    Envoy,
}

impl ServerKind {
    pub fn id(self) -> &'static str {
        match self {
            ServerKind::Nginx => "nginx",
            ServerKind::Apache => "apache",
            ServerKind::Haproxy => "haproxy",
            ServerKind::Varnish => "varnish",
            ServerKind::Caddy => "caddy",
            ServerKind::Traefik => "traefik",
            ServerKind::Envoy => "envoy",
        }
    }

    /// Guesses the server from a config file's name (for `--config`-style parameters).
    pub fn guess(path: &Path) -> ServerKind {
        let name = path.to_string_lossy().to_ascii_lowercase();
        let extension = Path::new(&name).extension().and_then(|e| e.to_str()).unwrap_or_default();
        if name.contains("haproxy") || extension == "cfg" {
            ServerKind::Haproxy
        } else if extension == "vcl" || name.contains("varnish") {
            ServerKind::Varnish
        } else if name.contains("caddy") {
            ServerKind::Caddy
        } else if name.contains("traefik") {
            ServerKind::Traefik
        } else if name.contains("envoy") {
            ServerKind::Envoy
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
    #[serde(alias = "fastcgi")]
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
pub struct Upstream {
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
    /// The settings that govern this upstream where the config sets them per target — its
    /// timeouts (an nginx location's, a Varnish backend's, a Caddy transport's), nginx's
    /// `resolver` and the `set $var` a variable address takes — innermost last. Where empty,
    /// the site's timeouts apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<Setting>,
}

impl Upstream {
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
    /// PHP's own error_log (a pool's `php_admin_value[error_log]`, php.ini's `error_log`).
    PhpError,
    /// `varnishncsa -w FILE`: Varnish's access log.
    VarnishNcsa,
    /// Caddy's JSON logs (the default logger with `http.log.error`, and a site's access log).
    CaddyJson,
    TraefikLog,
    TraefikAccess,
    EnvoyAccess,
    /// An app runtime's own log (gunicorn `--error-logfile`, uWSGI `--logto`, a unit's
    /// `StandardError=append:`).
    RuntimeLog,
}

impl LogKind {
    /// A log of requests (one line each), as opposed to a log of errors.
    pub fn is_access(self) -> bool {
        matches!(self, LogKind::NginxAccess | LogKind::ApacheAccess)
    }
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
    pub targets: Vec<Upstream>,
    pub timeouts: Vec<Setting>,
    pub limits: Vec<Setting>,
    pub maintenance: Vec<Maintenance>,
}

impl Site {
    /// Whether this site answers requests for the URL's host and port: a `listen` on its port
    /// (none means 80), and a matching server name (any name for an IP address or localhost).
    pub fn serves(&self, url: &SiteUrl) -> bool {
        let host = url.host().to_ascii_lowercase();
        let port = url.port();
        let port_ok = self.listen.is_empty() && port == 80
            || self.listen.iter().any(|l| listen_port(l) == Some(port));
        let by_ip = host.parse::<std::net::IpAddr>().is_ok() || host == "localhost";
        port_ok
            && (by_ip
                || self.names.is_empty()
                || self.names.iter().any(|n| n == "_" || name_matches(n, &host)))
    }
}

impl Site {
    /// Whether one of its `listen`s is on this port (none means 80).
    pub fn listens_on(&self, port: u16) -> bool {
        self.listen.is_empty() && port == 80
            || self.listen.iter().any(|l| listen_port(l) == Some(port))
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
    pub unreadable: Vec<UnreadableConfig>,
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

/// The log files the configs name, and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogPaths {
    pub paths: Vec<LogPath>,
    pub unseen: Vec<Unseen>,
}

/// A config file that exists but could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnreadableConfig {
    pub path: PathBuf,
    pub reason: String,
}

impl UnreadableConfig {
    /// What could not be seen, with the command that shows the full config.
    pub fn unseen(&self, server: ServerKind) -> Unseen {
        let instead = match server {
            ServerKind::Nginx => "sudo nginx -T",
            ServerKind::Apache => "sudo apachectl -S",
            ServerKind::Haproxy
            | ServerKind::Varnish
            | ServerKind::Caddy
            | ServerKind::Traefik
            | ServerKind::Envoy => SUDO_STACK,
        };
        self.unseen_with(instead)
    }

    pub fn unseen_with(&self, instead: &str) -> Unseen {
        Unseen::new(format!("{} ({})", self.path.display(), self.reason), instead)
    }
}

/// One `[pool]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Pool {
    pub name: String,
    pub at: Option<Location>,
    /// `listen = …`: a path or `[host:]port`.
    pub listen: Option<Setting>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub listen_owner: Option<String>,
    pub listen_group: Option<String>,
    pub listen_mode: Option<String>,
    /// static, dynamic or ondemand
    pub pm: Option<String>,
    pub max_children: Option<Setting>,
    /// The limits that end a request: `request_terminate_timeout`, `request_slowlog_timeout`,
    /// and the pool's `php_value`/`php_admin_value` `memory_limit` and `max_execution_time`;
    /// also `catch_workers_output`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<Setting>,
    /// The `env[…]` lines that locate the app's database (`DB_HOST`, `DB_PORT`, `DB_SOCKET`,
    /// `DB_CONNECTION`, `DATABASE_URL` without its user and password). Nothing else is kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<Setting>,
}

impl Pool {
    pub fn max_children(&self) -> Option<u32> {
        self.max_children.as_ref().and_then(|s| s.value.parse().ok())
    }

    /// The pool's limit of this name (`request_terminate_timeout`, `memory_limit`).
    pub fn limit(&self, name: &str) -> Option<&Setting> {
        self.limits.iter().rev().find(|s| s.name == name)
    }
}

/// One PHP-FPM master's config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FpmConfig {
    pub main: PathBuf,
    pub pools: Vec<Pool>,
    pub logs: Vec<LogPath>,
    pub files: Vec<PathBuf>,
    pub unreadable: Vec<UnreadableConfig>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_display_as_people_write_them() {
        assert_eq!(Address::Tcp { host: "::1".into(), port: 80 }.to_string(), "[::1]:80");
        assert_eq!(
            Address::Unix { path: "/run/php.sock".into() }.to_string(),
            "unix:/run/php.sock"
        );
    }

    #[test]
    fn server_names_match_like_nginx() {
        assert!(name_matches("*.example.com", "shop.example.com"));
        assert!(name_matches(".example.com", "example.com"));
        assert!(!name_matches("example.com", "shop.example.com"));
        assert_eq!(listen_port("[::]:443"), Some(443));
        assert_eq!(listen_port("80"), Some(80));
    }
}
