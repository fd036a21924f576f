//! The table of services triage recognises (`assets/stack.yaml`): how to find each in `/proc`,
//! where its config, logs and unit are, which upstreams imply it and which worker limit it has.
//! Loaded through the strict YAML loader and checked. It only describes services; finding them
//! is `system::stack`, reading their logs `checks::logs`. A new server or runtime is a row here
//! (plus, where it has a config to parse, one parser in `system::proxy`).

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::contract::evidence::stack::Role;
use crate::contract::evidence::web::{Protocol, ServerKind};
use crate::yaml::{self, SourceError, compiled};

/// One service as the table describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub id: String,
    pub role: Role,
    pub names: Vec<String>,
    #[serde(default)]
    pub prefixes: Vec<String>,
    #[serde(default)]
    pub config_flags: Vec<String>,
    #[serde(default)]
    pub config_arg: bool,
    #[serde(default)]
    pub default_configs: Vec<String>,
    /// The parser that reads its config, for the proxies triage can read.
    #[serde(default)]
    pub config_format: Option<ServerKind>,
    /// Directories whose files' modification times count as recent changes.
    #[serde(default)]
    pub config_dirs: Vec<String>,
    /// The usual error logs (globs), read after the ones its config names.
    #[serde(default)]
    pub logs: Vec<String>,
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(default)]
    pub binaries: Vec<String>,
    /// For a runtime: the upstreams that imply it.
    #[serde(default)]
    pub upstream: Option<UpstreamHints>,
    /// Which worker limit to measure against its busy workers.
    #[serde(default)]
    pub workers: Option<WorkerLimit>,
    /// For a proxy: the settings that bound how long it waits for an upstream.
    #[serde(default)]
    pub timeouts: Option<Timeouts>,
}

/// How long a proxy waits for its upstream, by the names its config gives the settings. Each
/// map goes from a protocol (`http`, `fastcgi`, …, or `any`) to the setting names to look for,
/// most specific first (a target's own `.first_byte_timeout` before the `-p` parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// The unit of a bare number (`60` is seconds for nginx, milliseconds for HAProxy).
    pub unit: TimeUnit,
    /// The wait for an answer when the config sets none; absent when the server waits forever.
    #[serde(default)]
    pub default_answer: Option<String>,
    /// The wait for a connection when the config sets none (Varnish 3.5 s, Caddy 3 s).
    #[serde(default)]
    pub default_connect: Option<String>,
    #[serde(default)]
    pub connect: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub answer: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    S,
    Ms,
}

impl Timeouts {
    /// The setting names that bound the wait for an answer over `protocol`.
    pub fn answer_names(&self, protocol: &str) -> &[String] {
        Self::names(&self.answer, protocol)
    }

    pub fn connect_names(&self, protocol: &str) -> &[String] {
        Self::names(&self.connect, protocol)
    }

    fn names<'a>(map: &'a BTreeMap<String, Vec<String>>, protocol: &str) -> &'a [String] {
        map.get(protocol).or_else(|| map.get("any")).map_or(&[], Vec::as_slice)
    }

    /// A setting's value as a duration: `60`, `60s`, `500ms`, `1m30s`, `3.5` (Varnish), `0.25s`
    /// (Envoy), `5000` (ms in HAProxy); `None` for `0` and what is not a duration.
    pub fn parse(&self, text: &str) -> Option<Duration> {
        let bare_ms = match self.unit {
            TimeUnit::S => 1000.0,
            TimeUnit::Ms => 1.0,
        };
        crate::text::parse_duration(text, bare_ms)
    }
}

/// How a proxy's upstream names the runtime behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamHints {
    /// Protocols only this runtime speaks (`fastcgi` is PHP-FPM).
    #[serde(default)]
    pub protocols: Vec<Protocol>,
    /// Words in a unix socket's path that name it (`php`, `fpm`).
    #[serde(default)]
    pub socket_words: Vec<String>,
}

/// The worker limits triage can measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerLimit {
    /// Each pool's `pm.max_children` against its children.
    PhpFpm,
    /// `worker_connections` against the busiest worker's connections.
    Nginx,
    /// `MaxRequestWorkers` against the workers' threads.
    Apache,
}

impl ServiceSpec {
    /// Whether a process name (comm, argv[0]'s file name or a script's name) is this service's.
    pub fn matches_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name) || self.prefixes.iter().any(|p| name.starts_with(p))
    }

    /// Whether a systemd unit name is one of this service's units.
    pub fn matches_unit(&self, unit: &str) -> bool {
        self.units.iter().any(|pattern| {
            glob::Pattern::new(pattern).is_ok_and(|p| p.matches(unit)) || pattern == unit
        })
    }

    /// Whether an upstream of this protocol at this unix socket path implies this runtime.
    pub fn implied_by(&self, protocol: Protocol, socket: Option<&str>) -> bool {
        let Some(hints) = &self.upstream else { return false };
        let socket = socket.map(str::to_ascii_lowercase);
        hints.protocols.contains(&protocol)
            || socket.is_some_and(|s| hints.socket_words.iter().any(|w| s.contains(w.as_str())))
    }
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Services {
    pub services: Vec<ServiceSpec>,
    /// The logs rsyslog copies from the journal: skipped when the journal itself was read.
    #[serde(default)]
    pub journal_copies: Vec<String>,
    /// Logs of the host as a whole (the kernel's OOM kills), read after the services' own.
    #[serde(default)]
    pub host_logs: Vec<String>,
    /// Config directories of the host as a whole (systemd units) whose changes count.
    #[serde(default)]
    pub host_config_dirs: Vec<String>,
}

impl Services {
    pub fn get(&self, id: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.id == id)
    }

    /// The service a process name belongs to.
    pub fn by_name(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.matches_name(name))
    }

    /// The runtime an upstream implies: a protocol only it speaks, else its socket's name.
    pub fn runtime_for(&self, protocol: Protocol, socket: Option<&str>) -> Option<&ServiceSpec> {
        let runtimes = || self.services.iter().filter(|s| s.role == Role::Runtime);
        runtimes()
            .find(|s| s.implied_by(protocol, None))
            .or_else(|| runtimes().find(|s| s.implied_by(protocol, socket)))
    }

    /// Every config directory whose changes count, the services' and the host's.
    pub fn config_dirs(&self) -> impl Iterator<Item = &str> {
        self.services
            .iter()
            .flat_map(|s| &s.config_dirs)
            .chain(&self.host_config_dirs)
            .map(String::as_str)
    }
}

const BUILTIN: &str = include_str!("../../assets/stack.yaml");
const BUILTIN_ORIGIN: &str = "builtin:assets/stack.yaml";
const COMPILED: &str = include_str!("../../assets/compiled/stack.json");

static TABLE: LazyLock<Services> = LazyLock::new(|| builtin().unwrap_or_else(|_| empty()));

/// The built-in table, loaded once. Its tests guarantee it loads; were it ever broken, nothing
/// would be recognised rather than a check stopped.
pub fn table() -> &'static Services {
    &TABLE
}

fn empty() -> Services {
    Services {
        services: Vec::new(),
        journal_copies: Vec::new(),
        host_logs: Vec::new(),
        host_config_dirs: Vec::new(),
    }
}

/// The built-in table, loaded afresh: from its compiled copy while that is current, else from
/// the YAML.
pub fn builtin() -> Result<Services, SourceError> {
    compiled::read_or_load(COMPILED, BUILTIN, || load_str(BUILTIN_ORIGIN, BUILTIN))
}

/// Loads and checks a table: ids unique, every service with a name, every glob valid.
pub fn load_str(origin: &str, text: &str) -> Result<Services, SourceError> {
    let table: Services = yaml::from_str(origin, text)?;
    let mut seen = HashSet::new();
    for spec in &table.services {
        let problem = if !seen.insert(spec.id.as_str()) {
            Some(format!("service `{}` is listed twice", spec.id))
        } else if spec.names.is_empty() && spec.prefixes.is_empty() {
            Some(format!("service `{}` needs at least one of `names` or `prefixes`", spec.id))
        } else {
            bad_glob(spec).map(|g| format!("service `{}`: `{g}` is not a valid glob", spec.id))
        };
        if let Some(message) = problem {
            return Err(SourceError::whole_file(origin, message));
        }
    }
    Ok(table)
}

fn bad_glob(spec: &ServiceSpec) -> Option<&str> {
    spec.default_configs
        .iter()
        .chain(&spec.units)
        .chain(&spec.binaries)
        .chain(&spec.logs)
        .find(|g| glob::Pattern::new(g).is_err())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled copy is current and reads back as the table the YAML gives.
    /// `TRIAGE_BLESS=1` writes it first.
    #[test]
    fn the_compiled_copy_matches_the_yaml() {
        let table = load_str(BUILTIN_ORIGIN, BUILTIN).unwrap();
        compiled::check_copy(
            "assets/compiled/stack.json",
            COMPILED,
            BUILTIN,
            &table,
            &builtin().unwrap(),
        );
    }

    #[test]
    fn the_builtin_table_loads_and_names_the_stack() {
        let table = builtin().unwrap();
        for id in
            ["nginx", "apache", "haproxy", "php-fpm", "gunicorn", "mysql", "postgresql", "redis"]
        {
            assert!(table.get(id).is_some(), "{id} missing");
        }
        let fpm = table.get("php-fpm").unwrap();
        assert!(fpm.matches_name("php-fpm8.2") && fpm.matches_unit("php8.2-fpm.service"));
        assert_eq!(table.get("nginx").unwrap().config_format, Some(ServerKind::Nginx));
    }

    #[test]
    fn upstreams_imply_their_runtime() {
        let table = builtin().unwrap();
        let runtime = |protocol, socket| table.runtime_for(protocol, socket).map(|s| s.id.as_str());
        assert_eq!(runtime(Protocol::FastCgi, None), Some("php-fpm"));
        assert_eq!(runtime(Protocol::Uwsgi, Some("/run/app.sock")), Some("uwsgi"));
        assert_eq!(runtime(Protocol::Http, Some("/run/gunicorn/app.sock")), Some("gunicorn"));
        assert_eq!(runtime(Protocol::Http, Some("/run/php/php8.2-fpm.sock")), Some("php-fpm"));
        assert_eq!(runtime(Protocol::Http, None), None);
    }

    #[test]
    fn proxy_timeouts_read_as_their_servers_write_them() {
        let table = builtin().unwrap();
        let nginx = table.get("nginx").unwrap().timeouts.as_ref().unwrap();
        assert_eq!(nginx.parse("60"), Some(Duration::from_secs(60)));
        assert_eq!(nginx.parse("2s"), Some(Duration::from_secs(2)));
        assert_eq!(nginx.parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(nginx.answer_names("fastcgi"), ["fastcgi_read_timeout"]);
        let haproxy = table.get("haproxy").unwrap().timeouts.as_ref().unwrap();
        assert_eq!(haproxy.parse("5000"), Some(Duration::from_secs(5)));
        assert_eq!(haproxy.answer_names("http"), ["timeout server"]);
        assert_eq!(haproxy.default_answer, None, "HAProxy waits forever without `timeout server`");
    }

    #[test]
    fn mistakes_are_named() {
        let twice = "services:\n  - { id: a, role: runtime, names: [a] }\n  - { id: a, role: runtime, names: [b] }\n";
        assert!(load_str("t.yaml", twice).unwrap_err().to_string().contains("listed twice"));
        let unknown = "services:\n  - { id: a, role: runtime, names: [a], colour: red }\n";
        assert!(load_str("t.yaml", unknown).unwrap_err().to_string().starts_with("t.yaml:2:"));
    }
}
