//! Apache httpd configs: `Include`/`IncludeOptional` (globs, relative to `ServerRoot`),
//! `${VAR}` from Debian's `envvars` and `Define`, `<VirtualHost>` sites, `ProxyPass`,
//! `ProxyPassMatch`, `SetHandler "proxy:…"`, `<Proxy balancer://…>` members, `ErrorLog`,
//! `CustomLog`, timeouts, MPM limits and 503 rewrite rules — with file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::source::{self, Sources};
use crate::contract::evidence::web::{
    Address, Location, LogKind, LogPath, Maintenance, Protocol, ProxyConfig, ServerKind, Setting,
    Site, Upstream,
};
use crate::system::System;

/// Where Debian keeps the variables its apache2.conf uses.
pub const DEBIAN_ENVVARS: &str = "/etc/apache2/envvars";

const LIMITS: &[&str] = &[
    "maxrequestworkers",
    "maxclients",
    "serverlimit",
    "threadsperchild",
    "startservers",
    "maxconnectionsperchild",
];

/// Longest line `${VAR}` expansion may produce. A `Define` chain that doubles at each step
/// would otherwise grow without bound (ten lines of `${prev}` x16 asked for terabytes).
pub const MAX_EXPANDED_LINE: usize = 64 * 1024;
/// Most bytes all `Define`d values may hold together.
pub const MAX_DEFINED_BYTES: usize = 1024 * 1024;

/// Reads `main` and everything it includes.
pub fn read(system: &System, main: &Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(ServerKind::Apache, main);
    let mut sources = Sources::new(system);
    let mut walk = Walk {
        config: &mut config,
        defined_bytes: 0,
        vars: envvars(system),
        server_root: main.parent().unwrap_or(Path::new("/")).to_owned(),
        current: 0,
        balancer: None,
        groups: HashMap::new(),
        pending: Vec::new(),
        flag: None,
    };
    walk.config.sites.push(Site { name: "main server".to_owned(), ..Site::default() });
    walk.file(&mut sources, main);
    walk.resolve_balancers();
    walk.defaults(main);
    config
        .sites
        .retain(|s| s.name != "main server" || !s.targets.is_empty() || !s.maintenance.is_empty());
    config.files = sources.files;
    config.unreadable = sources.unreadable;
    config.problems.extend(sources.problems);
    config
}

/// `export NAME=value` lines of Debian's envvars file.
fn envvars(system: &System) -> HashMap<String, String> {
    let text = system.read(Path::new(DEBIAN_ENVVARS)).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').replace("$SUFFIX", "")))
        .collect()
}

struct Walk<'a> {
    config: &'a mut ProxyConfig,
    vars: HashMap<String, String>,
    /// Bytes of the values in `vars` set by `Define`, held under [`MAX_DEFINED_BYTES`].
    defined_bytes: usize,
    server_root: PathBuf,
    /// Index of the site being read: 0 is the main server, then each VirtualHost.
    current: usize,
    balancer: Option<String>,
    groups: HashMap<String, Vec<(String, Location)>>,
    /// Targets through a balancer, resolved once every `<Proxy>` section has been read.
    pending: Vec<(usize, Upstream, String)>,
    /// The flag file of the last `RewriteCond … -f`.
    flag: Option<String>,
}

impl Walk<'_> {
    fn file(&mut self, sources: &mut Sources<'_>, path: &Path) {
        let Some(text) = sources.enter(path) else { return };
        let mut pending = String::new();
        let mut first_line = 0;
        for (n, raw) in text.lines().enumerate() {
            if pending.is_empty() {
                first_line = n as u32 + 1;
            }
            if let Some(part) = raw.strip_suffix('\\') {
                pending.push_str(part);
                pending.push(' ');
                continue;
            }
            pending.push_str(raw);
            let line = std::mem::take(&mut pending);
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = Location::new(path, first_line);
            let Some(expanded) = expand_vars(&self.vars, line) else {
                self.config.problems.push(format!(
                    "{}:{first_line}: `${{…}}` expands to more than {} KiB; line not read",
                    path.display(),
                    MAX_EXPANDED_LINE >> 10
                ));
                continue;
            };
            let words = source::words(&expanded);
            self.line(sources, &words, at);
        }
        sources.leave();
    }

    fn line(&mut self, sources: &mut Sources<'_>, words: &[String], at: Location) {
        let Some(first) = words.first() else { return };
        let name = first.to_ascii_lowercase();
        let arg = |i: usize| words.get(i).map_or("", String::as_str);
        match name.as_str() {
            "<virtualhost" => {
                let listen = words[1..]
                    .iter()
                    .map(|w| w.trim_end_matches('>').to_owned())
                    .filter(|w| !w.is_empty())
                    .collect();
                self.config.sites.push(Site {
                    name: String::new(),
                    listen,
                    at: Some(at),
                    ..Site::default()
                });
                self.current = self.config.sites.len() - 1;
            }
            "</virtualhost>" => self.close_vhost(),
            "<proxy" | "<proxymatch" => {
                self.balancer = arg(1)
                    .trim_end_matches('>')
                    .strip_prefix("balancer://")
                    .map(|b| b.trim_end_matches('/').to_owned());
            }
            "</proxy>" | "</proxymatch>" => self.balancer = None,
            "serverroot" => self.server_root = PathBuf::from(arg(1)),
            "include" | "includeoptional" => {
                for file in sources.expand(arg(1), &self.server_root.clone()) {
                    if name == "include" || sources.system().path(&file).exists() {
                        self.file(sources, &file);
                    }
                }
            }
            "define" => self.define(arg(1), arg(2), &at),
            "user" => self.config.user = Some(arg(1).to_owned()),
            "servername" | "serveralias" => self.site().names.extend(words[1..].iter().cloned()),
            "documentroot" => self.site().root = Some(arg(1).to_owned()),
            "errorlog" => self.log(LogKind::ApacheError, arg(1), at),
            "customlog" | "transferlog" => self.log(LogKind::ApacheAccess, arg(1), at),
            "proxypass" | "proxypassmatch" => self.proxy(words, at),
            "sethandler" => {
                if let Some(url) = arg(1).strip_prefix("proxy:") {
                    self.target(url, words.join(" "), at);
                }
            }
            "balancermember" => {
                if let Some(group) = self.balancer.clone() {
                    self.groups.entry(group).or_default().push((arg(1).to_owned(), at));
                }
            }
            "timeout" | "proxytimeout" | "keepalivetimeout" => {
                let setting = Setting { name: first.clone(), value: arg(1).to_owned(), at };
                self.site().timeouts.push(setting);
            }
            "rewritecond" if words.iter().any(|w| w == "-f") => self.flag = Some(arg(1).to_owned()),
            "rewriterule" => self.rewrite(words, at),
            "redirect" if arg(1) == "503" => self.maintenance(words.join(" "), at, None),
            "loadmodule" if arg(1).starts_with("mpm_") => {
                let mpm = arg(1).trim_start_matches("mpm_").trim_end_matches("_module").to_owned();
                self.config.settings.push(Setting { name: "mpm".to_owned(), value: mpm, at });
            }
            n if LIMITS.contains(&n) => self.config.settings.push(Setting {
                name: first.clone(),
                value: arg(1).to_owned(),
                at,
            }),
            _ => {}
        }
    }

    /// `Define NAME value`, within [`MAX_DEFINED_BYTES`] for all values together.
    fn define(&mut self, name: &str, value: &str, at: &Location) {
        let added = name.len() + value.len();
        if self.defined_bytes + added > MAX_DEFINED_BYTES {
            self.config.problems.push(format!(
                "{}:{}: `Define {name}` passes {} KiB of defined values; ignored",
                at.file.display(),
                at.line,
                MAX_DEFINED_BYTES >> 10
            ));
            return;
        }
        self.defined_bytes += added;
        self.vars.insert(name.to_owned(), value.to_owned());
    }

    fn close_vhost(&mut self) {
        let site = self.site();
        site.name = site.names.first().cloned().unwrap_or_else(|| site.listen.join(" "));
        self.current = 0;
    }

    fn site(&mut self) -> &mut Site {
        &mut self.config.sites[self.current]
    }

    fn log(&mut self, kind: LogKind, arg: &str, at: Location) {
        if arg.is_empty() || arg.starts_with('|') || arg.starts_with("syslog") {
            return;
        }
        let site = (self.current != 0)
            .then(|| self.config.sites[self.current].names.first().cloned())
            .flatten();
        let path = source::absolute(arg, &self.server_root);
        self.config.logs.push(LogPath { kind, path, at: Some(at), site });
    }

    /// `ProxyPass [path] url [key=value…]`; `ProxyPass /x !` excludes a path.
    fn proxy(&mut self, words: &[String], at: Location) {
        let Some(url) = words.iter().skip(1).find(|w| w.contains("://") || w.starts_with("unix:"))
        else {
            return;
        };
        for key in ["timeout", "connectiontimeout"] {
            let prefix = format!("{key}=");
            if let Some(t) = words.iter().find_map(|w| w.strip_prefix(prefix.as_str())) {
                let setting = Setting {
                    name: format!("ProxyPass {key}"),
                    value: t.to_owned(),
                    at: at.clone(),
                };
                self.site().timeouts.push(setting);
            }
        }
        self.target(&url.clone(), words.join(" "), at);
    }

    fn target(&mut self, url: &str, directive: String, at: Location) {
        let Some((protocol, address)) = parse_url(url) else { return };
        let target = Upstream {
            protocol,
            address,
            group: None,
            directive,
            at,
            member_at: None,
            standby: false,
            settings: Vec::new(),
        };
        match url.strip_prefix("balancer://") {
            Some(rest) => {
                let name = rest.split('/').next().unwrap_or_default().to_owned();
                self.pending.push((self.current, target, name));
            }
            None => self.site().targets.push(target),
        }
    }

    /// `RewriteRule pattern - [R=503,L]`, switched on by the preceding `RewriteCond … -f`.
    fn rewrite(&mut self, words: &[String], at: Location) {
        let flag = self.flag.take();
        if words.iter().any(|w| w.to_ascii_uppercase().contains("R=503")) {
            self.maintenance(words.join(" "), at, flag);
        }
    }

    fn maintenance(&mut self, rule: String, at: Location, flag: Option<String>) {
        let root = self.site().root.clone().unwrap_or_default();
        let flag_file = flag.map(|f| PathBuf::from(f.replace("%{DOCUMENT_ROOT}", &root)));
        let active = flag_file.is_none();
        self.site().maintenance.push(Maintenance { rule, at, flag_file, active });
    }

    fn resolve_balancers(&mut self) {
        for (site, target, group) in std::mem::take(&mut self.pending) {
            for (url, member_at) in self.groups.get(&group).cloned().unwrap_or_default() {
                let Some((protocol, address)) = parse_url(&url) else { continue };
                let member = Upstream {
                    protocol,
                    address,
                    group: Some(group.clone()),
                    member_at: Some(member_at),
                    ..target.clone()
                };
                self.config.sites[site].targets.push(member);
            }
        }
    }

    /// The distribution's error log when the config names none.
    fn defaults(&mut self, main: &Path) {
        if self.config.logs.iter().any(|l| l.kind == LogKind::ApacheError) {
            return;
        }
        let debian = main.starts_with("/etc/apache2");
        let path = if debian { "/var/log/apache2/error.log" } else { "/var/log/httpd/error_log" };
        self.config.logs.push(LogPath {
            kind: LogKind::ApacheError,
            path: PathBuf::from(path),
            at: None,
            site: None,
        });
    }
}

/// `line` with each `${NAME}` that `vars` holds replaced by its value, in one pass as httpd does
/// (a value is not expanded again); `None` when the result would pass [`MAX_EXPANDED_LINE`].
fn expand_vars(vars: &HashMap<String, String>, line: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            rest = &rest[start..];
            break;
        };
        match vars.get(&after[..end]) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[start..start + 3 + end]),
        }
        rest = &after[end + 1..];
        if out.len() > MAX_EXPANDED_LINE {
            return None;
        }
    }
    out.push_str(rest);
    (out.len() <= MAX_EXPANDED_LINE).then_some(out)
}

/// `http://127.0.0.1:8080/`, `fcgi://127.0.0.1:9000/var/www/$1`,
/// `unix:/run/php/php8.2-fpm.sock|fcgi://localhost/`, `balancer://app/`.
pub fn parse_url(url: &str) -> Option<(Protocol, Address)> {
    if let Some(rest) = url.strip_prefix("unix:") {
        let (path, after) = rest.split_once('|').unwrap_or((rest, "http://localhost"));
        let (protocol, _) = scheme(after)?;
        return Some((protocol, Address::Unix { path: PathBuf::from(path) }));
    }
    if url.starts_with("balancer://") {
        return Some((Protocol::Http, Address::Dynamic { text: url.to_owned() }));
    }
    let (protocol, default_port) = scheme(url)?;
    let rest = url.split_once("://")?.1;
    let hostport = rest.split('/').next()?;
    let (host, port) = super::split_host_port(hostport, Some(default_port))?;
    Some((protocol, Address::Tcp { host, port }))
}

/// The protocol of a URL scheme and mod_proxy's default port for it.
fn scheme(url: &str) -> Option<(Protocol, u16)> {
    let scheme = url.split_once("://")?.0.to_ascii_lowercase();
    Some(match scheme.as_str() {
        "http" | "ws" | "h2c" => (Protocol::Http, 80),
        "https" | "wss" | "h2" => (Protocol::Https, 443),
        "fcgi" => (Protocol::FastCgi, 8000),
        "ajp" => (Protocol::Ajp, 8009),
        "uwsgi" => (Protocol::Uwsgi, 3031),
        "scgi" => (Protocol::Scgi, 4000),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse_url("fcgi://127.0.0.1:9000/var/www/$1"),
            Some((Protocol::FastCgi, Address::Tcp { host: "127.0.0.1".into(), port: 9000 }))
        );
        assert_eq!(
            parse_url("unix:/run/php/php8.2-fpm.sock|fcgi://localhost/"),
            Some((Protocol::FastCgi, Address::Unix { path: "/run/php/php8.2-fpm.sock".into() }))
        );
        assert_eq!(
            parse_url("http://app"),
            Some((Protocol::Http, Address::Tcp { host: "app".into(), port: 80 }))
        );
        assert_eq!(parse_url("!"), None);
    }

    #[test]
    fn a_define_chain_is_bounded_not_expanded_to_gigabytes() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("apache2.conf");
        let mut text = String::from("Define v0 0123456789abcdef\n");
        for i in 1..=10 {
            text.push_str(&format!("Define v{i} {}\n", format!("${{v{}}}", i - 1).repeat(16)));
        }
        text.push_str("ErrorLog /var/log/${v10}.log\nMaxRequestWorkers 150\n");
        std::fs::write(&main, text).unwrap();
        let config = read(&System::real(), &main);
        assert!(
            config.problems.iter().any(|p| p.contains("expands to more than 64 KiB")),
            "{:?}",
            config.problems
        );
        assert!(config.logs.iter().all(|l| l.path.as_os_str().len() < MAX_EXPANDED_LINE));
        assert_eq!(config.setting("MaxRequestWorkers").unwrap().value, "150", "read on after it");
    }

    #[test]
    fn variables_expand_once_and_unknown_ones_stay() {
        let vars = HashMap::from([("A".to_owned(), "${B}".to_owned()), ("B".into(), "b".into())]);
        assert_eq!(expand_vars(&vars, "x ${A} ${C} ${B").as_deref(), Some("x ${B} ${C} ${B"));
    }

    #[test]
    fn vhosts_balancers_handlers_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("apache2.conf");
        std::fs::write(&main, "Define LOGS /var/log/apache2\nErrorLog ${LOGS}/error.log\nMaxRequestWorkers 150\n<VirtualHost *:80>\n  ServerName shop.example.com\n  ProxyPass /api balancer://app/ timeout=30\n  <FilesMatch \\.php$>\n    SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n  </FilesMatch>\n  CustomLog logs/shop.log combined\n</VirtualHost>\n<Proxy balancer://app>\n  BalancerMember http://10.0.0.5:8080 \\\n     retry=5\n</Proxy>\n").unwrap();
        let config = read(&System::real(), &main);
        assert_eq!(config.setting("MaxRequestWorkers").unwrap().value, "150");
        let site = &config.sites[0];
        assert_eq!(site.name, "shop.example.com");
        let t: Vec<(String, u32, Option<u32>)> = site
            .targets
            .iter()
            .map(|t| (t.address.to_string(), t.at.line, t.member_at.as_ref().map(|m| m.line)))
            .collect();
        assert_eq!(
            t,
            vec![
                ("unix:/run/php/php8.2-fpm.sock".into(), 8, None),
                ("10.0.0.5:8080".into(), 6, Some(13))
            ]
        );
        assert_eq!(site.timeouts[0].value, "30");
        assert_eq!(config.logs[0].path, PathBuf::from("/var/log/apache2/error.log"));
        assert_eq!(config.logs[1].path, dir.path().join("logs/shop.log"));
        assert_eq!(config.logs[1].site.as_deref(), Some("shop.example.com"));
    }
}
