//! Stack discovery: which web servers, app runtimes and databases run on this machine, as which
//! user, with which config file, listening where, and in which systemd unit. It reads `/proc` and
//! the socket tables only (and `systemctl` where systemd runs); whatever it could not see without
//! privileges it names, with the command that would show it.

pub mod procs;
pub mod sockets;
pub mod systemd;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::contract::evidence::stack::{
    ConfigFile, ConfigSource, Listener, Process, SUDO_STACK, Service, Stack, Systemd, Unit, Unseen,
};
use crate::knowledge::services::{self, ServiceSpec};
use crate::system::users::Users;
use crate::system::{self, System};

/// Fewest processes of one service kept in the evidence (the master and its first workers).
const KEPT_PROCESSES: usize = 16;

/// Finds the running stack. Blocking: call it from `spawn_blocking`.
pub fn discover(system: &System) -> Result<Stack, String> {
    let table = &services::table().services;
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
    let mut services = instances(table, &processes, &users);
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
        service.config = config_file(system, table, service);
    }
    let systemd = attach_units(system, table, &mut services);
    let not_running = installed_not_running(system, table, &services);
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

/// The config path of a service resolved against the process's prefix where it is relative.
pub fn absolute_config(service: &Service, prefix: &Path) -> Option<std::path::PathBuf> {
    let config = service.config.as_ref()?;
    let path = Path::new(&config.path);
    Some(if path.is_absolute() { path.to_owned() } else { prefix.join(path) })
}
