//! The `stack` check: which web servers, app runtimes and databases run on this machine, as
//! which user, with which config file, listening where, and in which systemd unit. It reads
//! `/proc` and the socket tables only (and `systemctl` where systemd runs); whatever it could not
//! see without privileges it names, with the command that would show it.

pub mod procs;
pub mod sockets;
pub mod system;
pub mod systemd;
pub mod table;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::checks::{CheckReport, CheckRequest, CheckStatus, Evidence, Progress};
use crate::evidence::Facts;
use crate::sanitize;
pub use procs::Process;
pub use sockets::Listener;
pub use system::{System, Users};
pub use systemd::{Systemd, Unit};
pub use table::{Role, ServiceSpec};

const CHECK: &str = "stack";
/// The command that shows what an unprivileged run could not.
pub const SUDO_STACK: &str = "sudo triage stack";
/// Fewest processes of one service kept in the evidence (the master and its first workers).
const KEPT_PROCESSES: usize = 16;

/// What runs on this machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    pub services: Vec<Service>,
    /// Services whose daemon is installed but that have no process.
    pub not_running: Vec<String>,
    pub systemd: Systemd,
    /// Listening sockets whose holder could not be seen (another user's process).
    pub unattributed: Vec<Listener>,
    /// What could not be seen, and the command that would show it.
    pub unseen: Vec<Unseen>,
}

/// Something a check could not see, and what to run to see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unseen {
    pub what: String,
    pub instead: String,
}

impl Unseen {
    pub fn new(what: impl Into<String>, instead: impl Into<String>) -> Self {
        Unseen { what: what.into(), instead: instead.into() }
    }

    /// `the sockets of nginx pid 812 (root): run `sudo triage stack``.
    pub fn line(&self) -> String {
        format!("could not see {}: run `{}`", self.what, self.instead)
    }
}

/// One running instance of a service: a master process and its workers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub role: Role,
    pub master: u32,
    /// The master and its first workers.
    pub processes: Vec<Process>,
    pub process_count: usize,
    /// Users the processes run as, the master's first.
    pub users: Vec<String>,
    pub config: Option<ConfigFile>,
    pub listening: Vec<Listener>,
    /// The systemd unit the master runs in, with its state where systemd was asked.
    pub unit: Option<Unit>,
}

impl Service {
    /// The master's command line.
    pub fn master_process(&self) -> Option<&Process> {
        self.processes.iter().find(|p| p.pid == self.master)
    }

    /// A worker (the process that serves requests and opens upstream sockets), else the master.
    pub fn worker(&self) -> Option<&Process> {
        self.processes.iter().find(|p| p.pid != self.master).or_else(|| self.master_process())
    }
}

/// A service's config file and where triage learned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    pub path: String,
    pub source: ConfigSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigSource {
    CommandLine,
    Default,
}

impl Stack {
    pub fn of_role(&self, role: Role) -> impl Iterator<Item = &Service> {
        self.services.iter().filter(move |s| s.role == role)
    }

    pub fn runs(&self, id: &str) -> bool {
        self.services.iter().any(|s| s.id == id)
    }

    /// Units of the stack that are inactive or failed.
    pub fn units_down(&self) -> Vec<&Unit> {
        match &self.systemd {
            Systemd::Running { units } => units.iter().filter(|u| u.is_down()).collect(),
            Systemd::Skipped { .. } => Vec::new(),
        }
    }
}

/// Finds the running stack. Blocking: call it from `spawn_blocking`.
pub fn discover(system: &System) -> Result<Stack, String> {
    let table = table::builtin().map_err(|e| e.to_string())?;
    let (processes, hidden) = procs::list(system).map_err(|e| {
        format!("could not read {}: {}", system.proc.display(), system::io_reason(&e))
    })?;
    let users = Users::load(system);
    let mut unseen = Vec::new();
    if hidden > 0 {
        unseen.push(Unseen::new(
            format!("{hidden} processes (/proc is mounted with hidepid)"),
            SUDO_STACK,
        ));
    }
    let mut services = instances(&table, &processes, &users);
    let listeners = match sockets::listening(system) {
        Ok(l) => l,
        Err(reason) => {
            unseen.push(Unseen::new(format!("the listening sockets ({reason})"), "sudo ss -ltnpx"));
            Vec::new()
        }
    };
    let unattributed =
        attach_sockets(system, &mut services, &processes, &listeners, &users, &mut unseen);
    for service in &mut services {
        service.config = config_file(system, &table, service);
    }
    let systemd = attach_units(system, &table, &mut services);
    let not_running = installed_not_running(system, &table, &services);
    Ok(Stack { services, not_running, systemd, unattributed, unseen })
}

/// Groups the processes of known services into instances, each under its master.
fn instances(table: &[ServiceSpec], processes: &[Process], users: &Users) -> Vec<Service> {
    let kind: HashMap<u32, &ServiceSpec> = processes
        .iter()
        .filter_map(|p| {
            table.iter().find(|s| p.names().iter().any(|n| s.matches_name(n))).map(|s| (p.pid, s))
        })
        .collect();
    let by_pid: HashMap<u32, &Process> = processes.iter().map(|p| (p.pid, p)).collect();
    let master_of = |p: &Process| {
        let id = &kind[&p.pid].id;
        let mut current = p;
        while let Some(parent) =
            by_pid.get(&current.ppid).filter(|q| kind.get(&q.pid).is_some_and(|s| &s.id == id))
        {
            current = parent;
        }
        current.pid
    };
    let mut services: Vec<Service> = Vec::new();
    for p in processes.iter().filter(|p| kind.contains_key(&p.pid)) {
        let master = master_of(p);
        if let Some(service) = services.iter_mut().find(|s| s.master == master) {
            service.process_count += 1;
            if service.processes.len() < KEPT_PROCESSES {
                service.processes.push(p.clone());
            }
            continue;
        }
        let spec = kind[&p.pid];
        let master_process = by_pid.get(&master).map_or_else(|| p.clone(), |m| (*m).clone());
        let mut first = vec![master_process];
        if p.pid != master {
            first.push(p.clone());
        }
        services.push(Service {
            id: spec.id.clone(),
            role: spec.role,
            master,
            process_count: first.len(),
            processes: first,
            users: Vec::new(),
            config: None,
            listening: Vec::new(),
            unit: None,
        });
    }
    for service in &mut services {
        service.users = user_names(&service.processes, users);
    }
    services
}

/// The distinct users of the processes, in order.
fn user_names(processes: &[Process], users: &Users) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in processes {
        let name = users.user_name(p.uid);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Gives each service the listening sockets its processes hold; returns those nobody could be
/// seen holding when some fd tables were unreadable.
fn attach_sockets(
    system: &System,
    services: &mut [Service],
    processes: &[Process],
    listeners: &[Listener],
    users: &Users,
    unseen: &mut Vec<Unseen>,
) -> Vec<Listener> {
    let by_inode: HashMap<u64, &Listener> = listeners.iter().map(|l| (l.inode, l)).collect();
    let mut attributed = BTreeSet::new();
    let mut blind = false;
    for service in services.iter_mut() {
        let pids: Vec<u32> = processes
            .iter()
            .filter(|p| p.pid == service.master || service.processes.iter().any(|q| q.pid == p.pid))
            .map(|p| p.pid)
            .collect();
        let mut hidden = Vec::new();
        for pid in pids {
            match sockets::socket_inodes(system, pid) {
                Ok(inodes) => {
                    for inode in inodes {
                        if let Some(l) = by_inode.get(&inode).filter(|_| attributed.insert(inode)) {
                            service.listening.push((*l).clone());
                        }
                    }
                }
                // A process that ended meanwhile hides nothing.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => hidden.push(pid),
            }
        }
        if !hidden.is_empty() {
            blind = true;
            let owner = service
                .master_process()
                .map_or_else(String::new, |m| format!(", user {}", users.user_name(m.uid)));
            let what =
                format!("which sockets {} holds (pid {}{owner})", service.id, join_pids(&hidden));
            unseen.push(Unseen::new(what, format!("{SUDO_STACK}` or `sudo ss -ltnpx")));
        }
        service.listening.sort_by(|a, b| a.address.cmp(&b.address));
    }
    if !blind {
        return Vec::new();
    }
    listeners
        .iter()
        .filter(|l| !attributed.contains(&l.inode) && !l.address.starts_with("unix:@"))
        .cloned()
        .collect()
}

fn join_pids(pids: &[u32]) -> String {
    let shown: Vec<String> = pids.iter().take(5).map(u32::to_string).collect();
    let more = if pids.len() > 5 { format!(" and {} more", pids.len() - 5) } else { String::new() };
    format!("{}{more}", shown.join(", "))
}

/// The config from the master's command line, else the first distribution default that exists.
fn config_file(system: &System, table: &[ServiceSpec], service: &Service) -> Option<ConfigFile> {
    let spec = table.iter().find(|s| s.id == service.id)?;
    let master = service.master_process()?;
    let from_flags = spec.config_flags.iter().find_map(|f| master.flag_value(f)).map(str::to_owned);
    let from_title = || {
        // php-fpm: "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"
        let start = master.title.find("(/")?;
        master.title[start + 1..].strip_suffix(')').map(str::to_owned)
    };
    let from_arg = || {
        spec.config_arg
            .then(|| {
                master
                    .args
                    .iter()
                    .skip(1)
                    .find(|a| {
                        Path::new(a).extension().is_some_and(|e| e.eq_ignore_ascii_case("conf"))
                    })
                    .cloned()
            })
            .flatten()
    };
    if let Some(path) = from_flags.or_else(from_title).or_else(from_arg) {
        return Some(ConfigFile { path, source: ConfigSource::CommandLine });
    }
    spec.default_configs
        .iter()
        .find_map(|pattern| system.glob(pattern).into_iter().next_back())
        .map(|p| ConfigFile {
            path: p.to_string_lossy().into_owned(),
            source: ConfigSource::Default,
        })
}

/// Unit names from the cgroups, states from systemd where it runs.
fn attach_units(system: &System, table: &[ServiceSpec], services: &mut [Service]) -> Systemd {
    let cgroup_units: Vec<Option<String>> =
        services.iter().map(|s| systemd::unit_of(system, s.master)).collect();
    let wanted = |name: &str| {
        table.iter().any(|s| s.matches_unit(name))
            || cgroup_units.iter().flatten().any(|u| u == name)
    };
    let state = systemd::units(system, wanted);
    for (service, unit) in services.iter_mut().zip(cgroup_units) {
        service.unit = unit.map(|name| {
            match &state {
                Systemd::Running { units } => units.iter().find(|u| u.name == name).cloned(),
                Systemd::Skipped { .. } => None,
            }
            .unwrap_or(Unit {
                name,
                load: String::new(),
                active: String::new(),
                sub: String::new(),
                result: None,
                restarts: None,
            })
        });
    }
    state
}

/// Services whose daemon is installed here but of which no process runs.
fn installed_not_running(
    system: &System,
    table: &[ServiceSpec],
    services: &[Service],
) -> Vec<String> {
    table
        .iter()
        .filter(|spec| !services.iter().any(|s| s.id == spec.id))
        .filter(|spec| spec.binaries.iter().any(|b| !system.glob(b).is_empty()))
        .map(|spec| spec.id.clone())
        .collect()
}

/// Runs the check.
pub async fn run(_request: CheckRequest, _progress: Progress) -> CheckReport {
    let system = System::from_env();
    match tokio::task::spawn_blocking(move || discover(&system)).await {
        Ok(Ok(stack)) => report(&stack),
        Ok(Err(reason)) => CheckReport::could_not_run(CHECK, reason, Some(SUDO_STACK.to_owned())),
        Err(_) => CheckReport::could_not_run(CHECK, "the discovery stopped unexpectedly", None),
    }
}

/// The report for a discovered stack.
pub fn report(stack: &Stack) -> CheckReport {
    let facts = facts(stack);
    let down: Vec<String> = stack.units_down().into_iter().map(unit_state).collect();
    let running: Vec<&str> = dedup(stack.services.iter().map(|s| s.id.as_str()));
    let (status, mut summary) = if running.is_empty() {
        (CheckStatus::Warning, "no web server, app runtime or database process found".to_owned())
    } else {
        (CheckStatus::Passed, format!("running: {}", running.join(", ")))
    };
    let status = if down.is_empty() { status } else { CheckStatus::Failed };
    if !down.is_empty() {
        summary.push_str(&format!("; down: {}", down.join(", ")));
    }
    if !stack.not_running.is_empty() {
        summary.push_str(&format!("; installed but not running: {}", stack.not_running.join(", ")));
    }
    CheckReport::new(CHECK, status, summary)
        .with_details(details(stack))
        .with_facts(facts)
        .with_evidence(Evidence::Stack(Box::new(stack.clone())))
}

/// `php8.2-fpm.service failed (oom-kill, 3 restarts)`.
fn unit_state(u: &Unit) -> String {
    let mut why: Vec<String> = u.result.iter().filter(|r| *r != "success").cloned().collect();
    why.extend(
        u.restarts.filter(|n| *n > 0).map(|n| crate::cli::count(n as usize, "restart", "restarts")),
    );
    let why = if why.is_empty() { String::new() } else { format!(" ({})", why.join(", ")) };
    format!("{} {}{why}", u.name, u.active)
}

fn dedup<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn facts(stack: &Stack) -> Facts {
    let mut facts = Facts::new();
    let ids = |role: Role| -> Vec<String> {
        dedup(stack.of_role(role).map(|s| s.id.as_str())).into_iter().map(str::to_owned).collect()
    };
    facts.set("stack.web_servers", ids(Role::WebServer));
    facts.set("stack.runtimes", ids(Role::Runtime));
    facts.set("stack.databases", ids(Role::Database));
    facts.set(
        "stack.units_down",
        stack.units_down().iter().map(|u| u.name.clone()).collect::<Vec<_>>(),
    );
    facts.set("stack.not_running", stack.not_running.clone());
    let listening: Vec<String> = stack
        .services
        .iter()
        .flat_map(|s| s.listening.iter().map(move |l| format!("{} {}", s.id, l.address)))
        .take(20)
        .collect();
    facts.set("stack.listening", listening);
    facts.set(
        "stack.unseen",
        stack.unseen.iter().map(|u| u.what.clone()).take(20).collect::<Vec<_>>(),
    );
    facts
}

/// One line per service, then what could not be seen.
pub fn details(stack: &Stack) -> Vec<String> {
    let mut lines: Vec<String> = stack.services.iter().map(service_line).collect();
    for id in &stack.not_running {
        lines.push(format!("{id}: installed but no process is running"));
    }
    if let Systemd::Skipped { reason } = &stack.systemd {
        lines.push(reason.clone());
    }
    if !stack.unattributed.is_empty() {
        let shown: Vec<&str> =
            stack.unattributed.iter().take(10).map(|l| l.address.as_str()).collect();
        lines.push(format!("listening, holder not visible: {}", shown.join(", ")));
    }
    lines.extend(stack.unseen.iter().map(Unseen::line));
    lines.into_iter().map(|l| sanitize::line(&l).into_owned()).collect()
}

fn service_line(s: &Service) -> String {
    let mut line = format!(
        "{} (pid {}, {}, user {})",
        s.id,
        s.master,
        crate::cli::count(s.process_count, "process", "processes"),
        s.users.join(", ")
    );
    if let Some(config) = &s.config {
        let from = match config.source {
            ConfigSource::CommandLine => "command line",
            ConfigSource::Default => "default",
        };
        line.push_str(&format!("; config {} ({from})", config.path));
    }
    if !s.listening.is_empty() {
        let addrs: Vec<&str> = s.listening.iter().take(8).map(|l| l.address.as_str()).collect();
        line.push_str(&format!("; listens {}", addrs.join(", ")));
    }
    if let Some(unit) = &s.unit {
        let state = if unit.active.is_empty() {
            String::new()
        } else {
            format!(" {}/{}", unit.active, unit.sub)
        };
        line.push_str(&format!("; unit {}{state}", unit.name));
    }
    line
}

/// The config path of a service resolved against the process's prefix where it is relative.
pub fn absolute_config(service: &Service, prefix: &Path) -> Option<std::path::PathBuf> {
    let config = service.config.as_ref()?;
    let path = Path::new(&config.path);
    Some(if path.is_absolute() { path.to_owned() } else { prefix.join(path) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(name: &str, active: &str, result: Option<&str>) -> Unit {
        Unit {
            name: name.into(),
            load: "loaded".into(),
            active: active.into(),
            sub: "dead".into(),
            result: result.map(str::to_owned),
            restarts: Some(3),
        }
    }

    #[test]
    fn a_failed_unit_fails_the_check_and_says_how_it_ended() {
        let stack = Stack {
            services: Vec::new(),
            not_running: vec!["php-fpm".into()],
            systemd: Systemd::Running {
                units: vec![
                    unit("nginx.service", "active", Some("success")),
                    unit("php8.2-fpm.service", "failed", Some("oom-kill")),
                ],
            },
            unattributed: Vec::new(),
            unseen: vec![Unseen::new("the sockets of x", SUDO_STACK)],
        };
        let report = report(&stack);
        assert_eq!(report.status, CheckStatus::Failed);
        assert_eq!(
            report.summary,
            "no web server, app runtime or database process found; down: php8.2-fpm.service failed (oom-kill, 3 restarts); installed but not running: php-fpm"
        );
        assert_eq!(
            report.facts.get("stack.units_down"),
            Some(&vec!["php8.2-fpm.service".to_owned()].into())
        );
        assert!(
            report
                .details
                .contains(&"could not see the sockets of x: run `sudo triage stack`".to_owned())
        );
    }
}
