//! nginx configs: the directives (`syntax`: the tokenizer and the bounded parser, `include`
//! expanded where it stands) and a walk over `http`/`server`/`location` that collects targets,
//! upstream groups, timeouts, limits, maintenance rules and logs with their file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod scope;
mod syntax;

pub use syntax::{Directive, MAX_BLOCK_DEPTH};

use self::scope::{expand_variables, governing, scoped};
use self::syntax::parse_file;
use super::source::{self, Sources};
use crate::contract::evidence::web::{
    Address, Location, LogKind, LogPath, Maintenance, Protocol, ProxyConfig, ServerKind, Setting,
    Site, Upstream,
};
use crate::system::System;

/// Debian's `--prefix`: where relative log paths point when nginx runs without `-p`.
pub const COMPILED_PREFIX: &str = "/usr/share/nginx";
/// Debian's compiled-in logs, used when the config names none.
pub const DEFAULT_ERROR_LOG: &str = "/var/log/nginx/error.log";
pub const DEFAULT_ACCESS_LOG: &str = "/var/log/nginx/access.log";

/// Reads `main` and everything it includes.
pub fn read(system: &System, main: &Path, prefix: Option<&Path>) -> ProxyConfig {
    let mut sources = Sources::new(system);
    let conf_dir = main.parent().unwrap_or(Path::new("/")).to_owned();
    let tree = parse_file(&mut sources, main, &conf_dir, 0);
    let mut config = ProxyConfig::new(ServerKind::Nginx, main);
    let prefix = prefix.map_or_else(|| PathBuf::from(COMPILED_PREFIX), Path::to_owned);
    let mut walk = Walk { config: &mut config, groups: HashMap::new(), prefix, system };
    walk.main(&tree);
    config.files = sources.files;
    config.unreadable = sources.unreadable;
    config.problems.extend(sources.problems);
    config
}

/// A member of an `upstream` group.
#[derive(Debug, Clone)]
struct Member {
    address: Address,
    at: Location,
    standby: bool,
}

struct Walk<'a> {
    config: &'a mut ProxyConfig,
    groups: HashMap<String, Vec<Member>>,
    prefix: PathBuf,
    system: &'a System,
}

/// Settings inherited from `http` into every server.
#[derive(Default, Clone)]
struct Inherited {
    timeouts: Vec<Setting>,
    limits: Vec<Setting>,
    root: Option<String>,
    /// The settings that govern upstreams (see [`scoped`]), from `http`.
    scope: Vec<Setting>,
}

impl Walk<'_> {
    fn main(&mut self, tree: &[Directive]) {
        for d in tree {
            match d.name.as_str() {
                "user" => self.config.user = Some(d.arg(0).to_owned()),
                "worker_processes" | "worker_rlimit_nofile" => self.setting(d),
                "error_log" => self.log(d, LogKind::NginxError, None),
                "events" => d
                    .children()
                    .iter()
                    .filter(|c| c.name == "worker_connections")
                    .for_each(|c| self.setting(c)),
                "http" => self.http(d.children()),
                _ => {}
            }
        }
        self.defaults();
    }

    fn setting(&mut self, d: &Directive) {
        self.config.settings.push(setting(d));
    }

    fn http(&mut self, http: &[Directive]) {
        for d in http.iter().filter(|d| d.name == "upstream") {
            let members =
                d.children().iter().filter(|m| m.name == "server").filter_map(member).collect();
            self.groups.insert(d.arg(0).to_owned(), members);
        }
        let mut inherited = Inherited::default();
        for d in http {
            match d.name.as_str() {
                "error_log" => self.log(d, LogKind::NginxError, None),
                "access_log" => self.log(d, LogKind::NginxAccess, None),
                "root" => inherited.root = Some(d.arg(0).to_owned()),
                _ => collect_setting(d, &mut inherited.timeouts, &mut inherited.limits),
            }
        }
        inherited.scope = scoped(http, &[]);
        for server in http.iter().filter(|d| d.name == "server") {
            self.server(server, &inherited);
        }
    }

    fn server(&mut self, server: &Directive, inherited: &Inherited) {
        let mut site = Site {
            at: Some(server.at.clone()),
            timeouts: inherited.timeouts.clone(),
            limits: inherited.limits.clone(),
            root: inherited.root.clone(),
            ..Site::default()
        };
        for d in server.children() {
            match d.name.as_str() {
                "server_name" => site.names.extend(d.args.iter().cloned()),
                "listen" => site.listen.push(d.arg(0).to_owned()),
                "root" => site.root = Some(d.arg(0).to_owned()),
                _ => {}
            }
        }
        site.name = site.names.first().cloned().unwrap_or_else(|| "_".to_owned());
        self.body(server.children(), &mut site, None, &inherited.scope);
        self.config.sites.push(site);
    }

    /// The directives of a server, location or `if` block; `flag` is the file an enclosing
    /// `if (-f …)` tests.
    /// `scope` holds the upstream settings of the enclosing blocks.
    fn body(&mut self, body: &[Directive], site: &mut Site, flag: Option<&str>, scope: &[Setting]) {
        let scope = scoped(body, scope);
        for d in body {
            match d.name.as_str() {
                "location" | "limit_except" => self.body(d.children(), site, flag, &scope),
                "if" => {
                    let tested = flag_file(&d.args);
                    self.body(d.children(), site, tested.as_deref().or(flag), &scope);
                }
                "error_log" => self.log(d, LogKind::NginxError, Some(&site.name)),
                "access_log" => self.log(d, LogKind::NginxAccess, Some(&site.name)),
                "return" if d.arg(0) == "503" => {
                    site.maintenance.push(self.maintenance(d, site, flag));
                }
                name if name.ends_with("_pass") => site.targets.extend(self.targets(d, &scope)),
                _ => collect_setting(d, &mut site.timeouts, &mut site.limits),
            }
        }
    }

    fn maintenance(&self, d: &Directive, site: &Site, flag: Option<&str>) -> Maintenance {
        let flag_file = flag.map(|f| {
            let root = site.root.as_deref().unwrap_or("html");
            let f = f.replace("$document_root", root).replace("$realpath_root", root);
            source::absolute(&f, &self.prefix)
        });
        let active = flag_file.as_ref().is_none_or(|f| self.system.path(f).exists());
        Maintenance { rule: d.text(), at: d.at.clone(), flag_file, active }
    }

    /// The targets a `*_pass` directive points at, group members expanded; a variable set to
    /// a literal by `set` in scope is expanded.
    fn targets(&self, d: &Directive, scope: &[Setting]) -> Vec<Upstream> {
        let Some((protocol, rest)) = pass_target(&d.name, d.arg(0)) else { return Vec::new() };
        let settings = governing(d, scope);
        let target = |address, member_at, standby, group: Option<&str>| Upstream {
            protocol,
            address,
            group: group.map(str::to_owned),
            directive: d.text(),
            at: d.at.clone(),
            member_at,
            standby,
            settings: settings.clone(),
        };
        let rest = expand_variables(&rest, scope);
        if rest.contains('$') {
            return vec![target(Address::Dynamic { text: rest }, None, false, None)];
        }
        let name = rest.split('/').next().unwrap_or_default();
        if let Some(members) = self.groups.get(name) {
            return members
                .iter()
                .map(|m| target(m.address.clone(), Some(m.at.clone()), m.standby, Some(name)))
                .collect();
        }
        match parse_address(&rest, default_port(protocol)) {
            Some(address) => vec![target(address, None, false, None)],
            None => Vec::new(),
        }
    }

    fn log(&mut self, d: &Directive, kind: LogKind, site: Option<&str>) {
        let Some(path) = log_file(d.arg(0), &self.prefix) else { return };
        self.config.logs.push(LogPath {
            kind,
            path,
            at: Some(d.at.clone()),
            site: site.map(str::to_owned),
        });
    }

    /// nginx's compiled-in logs when the config names none, or names only `access_log off`.
    fn defaults(&mut self) {
        for (kind, path) in
            [(LogKind::NginxError, DEFAULT_ERROR_LOG), (LogKind::NginxAccess, DEFAULT_ACCESS_LOG)]
        {
            if !self.config.logs.iter().any(|l| l.kind == kind) {
                self.config.logs.push(LogPath {
                    kind,
                    path: PathBuf::from(path),
                    at: None,
                    site: None,
                });
            }
        }
    }
}

pub(super) fn setting(d: &Directive) -> Setting {
    Setting { name: d.name.clone(), value: d.args.join(" "), at: d.at.clone() }
}

/// Timeouts and rate or connection limits worth showing next to a site's upstreams.
fn collect_setting(d: &Directive, timeouts: &mut Vec<Setting>, limits: &mut Vec<Setting>) {
    if d.name.ends_with("_timeout") {
        timeouts.push(setting(d));
    } else if d.name.starts_with("limit_") || d.name == "client_max_body_size" {
        limits.push(setting(d));
    }
}

/// A log path, absolute; `None` for `off`, `stderr`, `syslog:` and memory buffers.
fn log_file(arg: &str, prefix: &Path) -> Option<PathBuf> {
    if arg.is_empty()
        || arg == "off"
        || arg == "stderr"
        || arg.starts_with("syslog:")
        || arg.starts_with("memory:")
        || arg == "/dev/null"
    {
        return None;
    }
    Some(source::absolute(arg, prefix))
}

/// The flag file an `if (-f path)` or `if (-e path)` tests.
fn flag_file(args: &[String]) -> Option<String> {
    let joined = args.join(" ");
    let inner = joined.trim().trim_start_matches('(').trim_end_matches(')');
    let mut words = inner.split_whitespace();
    while let Some(w) = words.next() {
        if w == "-f" || w == "-e" {
            return words.next().map(|p| p.trim_matches('"').to_owned());
        }
    }
    None
}

/// The protocol of a `*_pass` directive and its address text without the scheme.
fn pass_target(name: &str, arg: &str) -> Option<(Protocol, String)> {
    let strip = |s: &str, schemes: &[&str]| {
        schemes.iter().find_map(|p| s.strip_prefix(p)).unwrap_or(s).to_owned()
    };
    Some(match name {
        "proxy_pass" => {
            if let Some(rest) = arg.strip_prefix("https://") {
                (Protocol::Https, rest.to_owned())
            } else {
                (Protocol::Http, arg.strip_prefix("http://")?.to_owned())
            }
        }
        "fastcgi_pass" => (Protocol::FastCgi, arg.to_owned()),
        "uwsgi_pass" => (Protocol::Uwsgi, strip(arg, &["uwsgi://", "suwsgi://"])),
        "scgi_pass" => (Protocol::Scgi, arg.to_owned()),
        "grpc_pass" => (Protocol::Grpc, strip(arg, &["grpc://", "grpcs://"])),
        "memcached_pass" => (Protocol::Memcached, arg.to_owned()),
        _ => return None,
    })
}

fn default_port(protocol: Protocol) -> Option<u16> {
    match protocol {
        Protocol::Http => Some(80),
        Protocol::Https => Some(443),
        _ => None,
    }
}

/// `unix:/path[:/uri]`, `host:port[/uri]` or `host[/uri]` (with the default port).
fn parse_address(text: &str, default: Option<u16>) -> Option<Address> {
    if let Some(rest) = text.strip_prefix("unix:") {
        let path = rest.split_once(':').map_or(rest, |(p, _)| p);
        return Some(Address::Unix { path: PathBuf::from(path) });
    }
    let hostport = text.split('/').next()?;
    let (host, port) = super::split_host_port(hostport, default)?;
    Some(Address::Tcp { host, port })
}

/// `server 127.0.0.1:9000 weight=5 backup;` in an upstream group.
fn member(d: &Directive) -> Option<Member> {
    let address = parse_address(d.arg(0), Some(80))?;
    let standby = d.args.iter().skip(1).any(|a| a == "down" || a == "backup");
    Some(Member { address, at: d.at.clone(), standby })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ProxyConfig {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("nginx.conf");
        std::fs::write(&main, text).unwrap();
        read(&System::real(), &main, Some(Path::new("/srv/nginx")))
    }

    #[test]
    fn targets_groups_and_lines() {
        let config = parse(
            "user www-data;\nevents { worker_connections 512; }\nhttp {\n  upstream php {\n    server unix:/run/php/fpm.sock;\n    server 127.0.0.1:9001 backup;\n  }\n  server {\n    listen 80;\n    server_name shop.example.com www.example.com;\n    location / { proxy_pass http://127.0.0.1:8080/app; proxy_read_timeout 5s; }\n    location ~ \\.php$ {\n      fastcgi_pass php;\n    }\n  }\n}\n",
        );
        assert_eq!(config.user.as_deref(), Some("www-data"));
        assert_eq!(config.setting("worker_connections").unwrap().value, "512");
        let site = &config.sites[0];
        assert_eq!(site.name, "shop.example.com");
        let t: Vec<(String, u32, Option<u32>, bool)> = site
            .targets
            .iter()
            .map(|t| {
                (t.address.to_string(), t.at.line, t.member_at.as_ref().map(|m| m.line), t.standby)
            })
            .collect();
        assert_eq!(
            t,
            vec![
                ("127.0.0.1:8080".into(), 11, None, false),
                ("unix:/run/php/fpm.sock".into(), 13, Some(5), false),
                ("127.0.0.1:9001".into(), 13, Some(6), true)
            ]
        );
        assert_eq!(site.targets[1].protocol, Protocol::FastCgi);
        assert_eq!(site.timeouts[0].name, "proxy_read_timeout");
        assert_eq!(
            config.logs.iter().map(|l| l.path.to_str().unwrap()).collect::<Vec<_>>(),
            vec![DEFAULT_ERROR_LOG, DEFAULT_ACCESS_LOG]
        );
    }

    #[test]
    fn quotes_variables_comments_and_unix_urls() {
        let config = parse(
            "http {\n  # a comment { with braces\n  error_log \"logs/err;or.log\" warn;\n  server {\n    set $b \"x\";\n    location /a { proxy_pass http://unix:/run/app.sock:/api; }\n    location /b { proxy_pass http://${b}:81; resolver 127.0.0.1; }\n    location /c { proxy_pass http://backend.internal; }\n    location /d { proxy_pass http://$host$request_uri; }\n  }\n}\n",
        );
        assert_eq!(config.logs[0].path, PathBuf::from("/srv/nginx/logs/err;or.log"));
        let t = &config.sites[0].targets;
        assert_eq!(t[0].address, Address::Unix { path: "/run/app.sock".into() });
        assert_eq!(t[1].address.to_string(), "x:81", "a variable set to a literal is expanded");
        let governing: Vec<&str> = t[1].settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(governing, vec!["set", "resolver"]);
        assert_eq!(t[2].address.to_string(), "backend.internal:80");
        assert!(matches!(t[3].address, Address::Dynamic { .. }));
    }

    #[test]
    fn deep_nesting_is_cut_with_a_problem_not_a_stack_overflow() {
        let depth = 100_000;
        let text = format!(
            "http {{ server {{ {} proxy_pass http://127.0.0.1:9; {} }} }}\nevents {{ worker_connections 64; }}\n",
            "location / {".repeat(depth),
            "}".repeat(depth)
        );
        let config = parse(&text);
        assert!(
            config.problems.iter().any(|p| p.contains("nested more than 32 deep")),
            "{:?}",
            config.problems
        );
        assert_eq!(config.setting("worker_connections").unwrap().value, "64", "read on after it");
    }

    #[test]
    fn an_include_chain_stops_at_the_depth_limit() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40 {
            let next = dir.path().join(format!("{}.conf", i + 1));
            std::fs::write(
                dir.path().join(format!("{i}.conf")),
                format!("include {};\n", next.display()),
            )
            .unwrap();
        }
        let config = read(&System::real(), &dir.path().join("0.conf"), None);
        assert_eq!(config.files.len(), super::source::MAX_DEPTH, "{:?}", config.files);
        assert!(
            config.problems.iter().any(|p| p.contains("more than 16 levels")),
            "{:?}",
            config.problems
        );
    }

    #[test]
    fn maintenance_rules_and_flag_files() {
        let config = parse(
            "http { server { root /nonexistent/www;\n if (-f $document_root/maintenance.on) { return 503; }\n location /down { return 503 \"gone\"; } } }\n",
        );
        let m = &config.sites[0].maintenance;
        assert_eq!(m[0].flag_file.as_deref(), Some(Path::new("/nonexistent/www/maintenance.on")));
        assert!(!m[0].active);
        assert!(m[1].active && m[1].rule == "return 503 gone" && m[1].at.line == 3);
    }
}
