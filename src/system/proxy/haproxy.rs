//! HAProxy configs: `backend` and `listen` sections become sites whose targets are their
//! `server` lines (`unix@`, `ipv4@`, `[v6]:port`), with `timeout`, `maxconn` and `log` settings
//! and the frontends' `bind`s that use them — each with file and line.

use std::path::{Path, PathBuf};

use super::source::{self, Sources};
use crate::contract::evidence::web::{
    Address, Location, LogKind, LogPath, Protocol, ProxyConfig, ServerKind, Setting, Site, Upstream,
};
use crate::system::System;

/// Where Debian's rsyslog rule (`/etc/rsyslog.d/49-haproxy.conf`) writes HAProxy's log.
pub const DEBIAN_LOG: &str = "/var/log/haproxy.log";

const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "peers",
    "resolvers",
    "userlist",
    "program",
    "http-errors",
    "cache",
    "ring",
    "mailers",
];

/// Reads one HAProxy config file.
pub fn read(system: &System, main: &Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(ServerKind::Haproxy, main);
    let mut sources = Sources::new(system);
    if let Some(text) = sources.enter(main) {
        parse(&mut config, main, &text);
        sources.leave();
    }
    config.files = sources.files;
    config.unreadable = sources.unreadable;
    config
}

#[derive(Default)]
struct Section {
    kind: String,
    name: String,
    mode_tcp: bool,
    uses: Vec<String>,
    binds: Vec<String>,
}

fn parse(config: &mut ProxyConfig, file: &Path, text: &str) {
    let mut parser = Parser {
        config,
        section: Section::default(),
        defaults: Section::default(),
        defaults_timeouts: Vec::new(),
        frontends: Vec::new(),
    };
    for (n, raw) in text.lines().enumerate() {
        let words = source::words(source::strip_comment(raw));
        if !words.is_empty() {
            parser.line(&words, Location::new(file, n as u32 + 1));
        }
    }
    parser.finish();
}

/// The state of one pass over a file: the section being read and what `defaults` set.
struct Parser<'a> {
    config: &'a mut ProxyConfig,
    section: Section,
    defaults: Section,
    defaults_timeouts: Vec<Setting>,
    frontends: Vec<Section>,
}

impl Parser<'_> {
    fn line(&mut self, words: &[String], at: Location) {
        let arg = |i: usize| words.get(i).map_or("", String::as_str);
        let first = arg(0);
        if SECTIONS.contains(&first) {
            self.open(first, arg(1), at);
            return;
        }
        let in_site = self.in_site();
        match first {
            "mode" => self.section.mode_tcp = arg(1) == "tcp",
            "bind" if self.section.kind == "listen" => push_listen(self.config, arg(1)),
            "bind" => self.section.binds.push(arg(1).to_owned()),
            "default_backend" | "use_backend" => self.section.uses.push(arg(1).to_owned()),
            "timeout" => self.timeout(arg(1), arg(2), at),
            "maxconn" | "fullconn" => self.limit(first, arg(1), at),
            "log" if arg(1) != "global" => log(self.config, words, at),
            "user" if self.section.kind == "global" => self.config.user = Some(arg(1).to_owned()),
            "server" if in_site => self.server(words, at),
            "log-format" | "log-format-sd" => self.log_format(first, words, at),
            "option" if matches!(arg(1), "httplog" | "tcplog" | "httpslog") => {
                self.log_format(first, words, at);
            }
            _ => {}
        }
    }

    fn server(&mut self, words: &[String], at: Location) {
        let protocol = if self.section.mode_tcp { Protocol::Tcp } else { Protocol::Http };
        let Some(target) = server(words, protocol, &self.section.name, at.clone()) else { return };
        let site = last_site(self.config);
        if let Some(value) = words.windows(2).find(|w| w[0] == "maxconn").map(|w| w[1].clone()) {
            let name = format!("server {} maxconn", words.get(1).map_or("", String::as_str));
            site.limits.push(Setting { name, value, at });
        }
        site.targets.push(target);
    }

    /// `option httplog`, `option tcplog` or a custom `log-format`: which log format the
    /// section's lines are in. A custom format without `%ts`/`%tsc` (the termination state)
    /// leaves triage unable to say why HAProxy ended a request, so that is noted.
    fn log_format(&mut self, directive: &str, words: &[String], at: Location) {
        let value = words[1..].join(" ");
        if directive.starts_with("log-format") && !value.contains("%ts") {
            self.config.problems.push(format!(
                "{at}: this log-format has no termination state (%tsc or %ts); its lines do not say why a request failed"
            ));
        }
        let name = format!("{} {directive}", section_label(&self.section));
        self.config.settings.push(Setting { name, value, at });
    }

    fn in_site(&self) -> bool {
        matches!(self.section.kind.as_str(), "backend" | "listen")
    }

    /// Starts a section; a `backend` or `listen` is a site that inherits the defaults.
    fn open(&mut self, kind: &str, name: &str, at: Location) {
        let done = std::mem::take(&mut self.section);
        match done.kind.as_str() {
            "frontend" => self.frontends.push(done),
            "defaults" => self.defaults = done,
            _ => {}
        }
        self.section = Section {
            kind: kind.to_owned(),
            name: name.to_owned(),
            mode_tcp: self.defaults.mode_tcp,
            ..Section::default()
        };
        if self.in_site() {
            let timeouts = self.defaults_timeouts.clone();
            self.config.sites.push(Site {
                name: name.to_owned(),
                at: Some(at),
                timeouts,
                ..Site::default()
            });
        }
    }

    fn timeout(&mut self, which: &str, value: &str, at: Location) {
        let setting = Setting { name: format!("timeout {which}"), value: value.to_owned(), at };
        if self.in_site() {
            last_site(self.config).timeouts.push(setting);
        } else if self.section.kind == "defaults" {
            self.defaults_timeouts.push(setting);
        }
    }

    fn limit(&mut self, name: &str, value: &str, at: Location) {
        let setting = Setting {
            name: format!("{} {name}", section_label(&self.section)),
            value: value.to_owned(),
            at,
        };
        if self.in_site() {
            last_site(self.config).limits.push(setting);
        } else {
            self.config.settings.push(setting);
        }
    }

    /// Gives each site the binds of the frontends that use it.
    fn finish(mut self) {
        if self.section.kind == "frontend" {
            self.frontends.push(std::mem::take(&mut self.section));
        }
        for frontend in &self.frontends {
            for site in self.config.sites.iter_mut().filter(|s| frontend.uses.contains(&s.name)) {
                site.listen.extend(frontend.binds.iter().cloned());
            }
        }
    }
}

fn section_label(section: &Section) -> String {
    if section.name.is_empty() {
        section.kind.clone()
    } else {
        format!("{} {}", section.kind, section.name)
    }
}

fn last_site(config: &mut ProxyConfig) -> &mut Site {
    if config.sites.is_empty() {
        config.sites.push(Site::default());
    }
    let last = config.sites.len() - 1;
    &mut config.sites[last]
}

fn push_listen(config: &mut ProxyConfig, bind: &str) {
    last_site(config).listen.push(bind.to_owned());
}

/// `log /dev/log local0` or `log 127.0.0.1:514 local0`: HAProxy logs to syslog, which
/// Debian's rsyslog rule writes to [`DEBIAN_LOG`]; `log stdout` goes to the journal instead.
fn log(config: &mut ProxyConfig, words: &[String], at: Location) {
    let target = words.get(1).map_or("", String::as_str);
    if target.starts_with("stdout")
        || target.starts_with("stderr")
        || config.logs.iter().any(|l| l.path == Path::new(DEBIAN_LOG))
    {
        return;
    }
    config.logs.push(LogPath {
        kind: LogKind::Haproxy,
        path: PathBuf::from(DEBIAN_LOG),
        at: Some(at),
        site: None,
    });
}

/// `server web1 127.0.0.1:8080 check [backup] [disabled]`.
fn server(words: &[String], protocol: Protocol, group: &str, at: Location) -> Option<Upstream> {
    let address = parse_address(words.get(2)?)?;
    let standby = words.iter().skip(3).any(|w| w == "backup" || w == "disabled");
    let ssl = words.iter().skip(3).any(|w| w == "ssl");
    let protocol = if ssl && protocol == Protocol::Http { Protocol::Https } else { protocol };
    Some(Upstream {
        protocol,
        address,
        group: Some(group.to_owned()),
        directive: words.join(" "),
        at: at.clone(),
        member_at: Some(at),
        standby,
        settings: Vec::new(),
    })
}

/// `unix@/path`, `/path`, `ipv4@1.2.3.4:80`, `[::1]:80`, `host:port`.
pub fn parse_address(text: &str) -> Option<Address> {
    let text = ["ipv4@", "ipv6@", "tcp@", "tcp4@", "tcp6@"]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .unwrap_or(text);
    if let Some(path) = text.strip_prefix("unix@").or_else(|| text.starts_with('/').then_some(text))
    {
        return Some(Address::Unix { path: PathBuf::from(path) });
    }
    let (host, port) = super::split_host_port(text, None)?;
    Some(Address::Tcp { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_servers_timeouts_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("haproxy.cfg");
        std::fs::write(&main, "global\n  log /dev/log local0\n  maxconn 2000\ndefaults\n  mode http\n  timeout connect 5s\n  timeout server 50s\nfrontend www\n  bind *:80\n  default_backend app\nbackend app\n  server a1 127.0.0.1:8080 check\n  server a2 unix@/run/app.sock check backup # spare\n  timeout server 10s\n").unwrap();
        let config = read(&System::real(), &main);
        let site = &config.sites[0];
        assert_eq!(site.name, "app");
        assert_eq!(site.listen, vec!["*:80"]);
        assert_eq!(site.targets.len(), 2);
        assert_eq!(
            (site.targets[0].address.to_string(), site.targets[0].at.line),
            ("127.0.0.1:8080".into(), 12)
        );
        assert!(site.targets[1].standby);
        assert_eq!(
            site.timeouts.iter().map(|t| t.value.as_str()).collect::<Vec<_>>(),
            vec!["5s", "50s", "10s"]
        );
        assert_eq!(config.logs[0].path, PathBuf::from(DEBIAN_LOG));
        assert_eq!(config.logs[0].at.as_ref().unwrap().line, 2);
        assert_eq!(config.setting("global maxconn").unwrap().value, "2000");
    }
}
