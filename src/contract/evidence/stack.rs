//! The local web stack as discovery found it: services, their processes, sockets and systemd units,
//! and what could not be seen without privileges.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

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

/// One process, as `/proc/PID/{status,cmdline,comm}` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    /// Effective user and group ids.
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups.
    #[serde(skip)]
    pub groups: Vec<u32>,
    #[serde(skip)]
    pub threads: u32,
    /// The kernel's name for it (at most 15 bytes), sanitised.
    pub comm: String,
    /// The command line as shown by `ps`, sanitised.
    pub title: String,
    /// The command line split into words (a rewritten title is split at spaces).
    #[serde(skip)]
    pub args: Vec<String>,
}

impl Process {
    /// The names a service table may know this process by: its comm, argv[0]'s file name and,
    /// for an interpreter, its script's file name.
    pub fn names(&self) -> Vec<&str> {
        let mut names = vec![self.comm.as_str()];
        let Some(first) = self.args.first() else { return names };
        let base = file_name(first).trim_end_matches(':');
        names.push(base);
        if is_interpreter(base) {
            let script = self.args.iter().skip(1).find(|a| !a.starts_with('-') && *a != "-m");
            if let Some(script) = script {
                names.push(file_name(script));
            }
        }
        names
    }

    /// The value of `flag` on the command line (`-c FILE`, `--config=FILE`, `-cFILE` not).
    pub fn flag_value(&self, flag: &str) -> Option<&str> {
        let mut words = self.args.iter();
        while let Some(word) = words.next() {
            if word == flag {
                return words.next().map(String::as_str);
            }
            if let Some(value) = word.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                return Some(value);
            }
        }
        None
    }
}

/// A socket in the listening state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    /// `127.0.0.1:9000`, `[::]:80` or `unix:/run/php/php8.2-fpm.sock`.
    pub address: String,
    /// The owner of a TCP socket (unix sockets do not say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip)]
    pub inode: u64,
    #[serde(skip)]
    pub endpoint: Endpoint,
}

impl Listener {
    /// Whether a TCP connection to `ip:port` would reach this listener.
    pub fn accepts(&self, ip: IpAddr, port: u16) -> bool {
        match &self.endpoint {
            Endpoint::Tcp(bound, p) => {
                // `[::]` takes IPv4 only without IPV6_V6ONLY, which nginx sets: do not assume it.
                let any = bound.is_unspecified() && bound.is_ipv4() == ip.is_ipv4();
                *p == port && (any || *bound == ip || same_v4(*bound, ip))
            }
            _ => false,
        }
    }
}

/// What systemd says, or why it was not asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Systemd {
    /// The units of the stack that systemd knows.
    Running { units: Vec<Unit> },
    /// Unit states were not read, and why ("systemd is not running here").
    Skipped { reason: String },
}

/// One unit as `systemctl list-units` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub name: String,
    /// loaded, not-found, masked
    pub load: String,
    /// active, inactive, failed, activating
    pub active: String,
    /// running, dead, failed, auto-restart
    pub sub: String,
    /// How it last ended, from `systemctl show`: success, exit-code, signal, oom-kill, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// How often systemd restarted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u32>,
}

impl Unit {
    /// Inactive or failed while loaded: the service is meant to exist but is not running.
    pub fn is_down(&self) -> bool {
        self.load == "loaded" && matches!(self.active.as_str(), "inactive" | "failed")
    }
}

/// What part of the stack a service is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    WebServer,
    Runtime,
    Database,
}

pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub(crate) fn is_interpreter(name: &str) -> bool {
    ["python", "ruby", "perl", "bundle"].iter().any(|i| name.starts_with(i))
}

/// Where a listener listens.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Endpoint {
    Tcp(IpAddr, u16),
    Unix(String),
    #[default]
    Unknown,
}

/// `::ffff:127.0.0.1` and `127.0.0.1` are one address.
pub(crate) fn same_v4(a: IpAddr, b: IpAddr) -> bool {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    v4(a).is_some() && v4(a) == v4(b)
}

/// The command that shows what an unprivileged run could not.
pub const SUDO_STACK: &str = "sudo triage stack";
