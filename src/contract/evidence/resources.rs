//! What the `resources` check found: load, memory, OOM kills, disks, file descriptors and worker
//! pools.

use serde::{Deserialize, Serialize};

use crate::contract::evidence::stack::Unseen;
use crate::contract::evidence::web::Location;

/// What the check measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    pub cores: u32,
    /// `/proc/loadavg` as written: 1, 5 and 15-minute load.
    pub load: String,
    pub load_pct: Option<i64>,
    pub memory: Option<Memory>,
    pub oom_kills: OomKills,
    pub disks: Vec<Disk>,
    /// Open files system-wide and the limit (`/proc/sys/fs/file-nr`).
    pub open_files: Option<(u64, u64)>,
    /// Processes of the stack at their open-files limit: `nginx pid 812: 1019/1024`.
    pub fd_limits_hit: Vec<String>,
    /// Tasks (threads) and the limit (`/proc/sys/kernel/threads-max`).
    pub tasks: Option<(u64, u64)>,
    pub pools: Vec<WorkerPool>,
    /// CloudLinux LVE fault counters above zero: `LVE 1001: fEP=12`.
    pub lve_faults: Vec<String>,
    pub unseen: Vec<Unseen>,
}

/// One pool of workers and its limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerPool {
    /// `php-fpm pool www`, `nginx worker_connections`, `apache MaxRequestWorkers`.
    pub name: String,
    pub used: u64,
    pub limit: u64,
    /// Where the limit is set; `None` for a compiled-in default.
    pub at: Option<Location>,
    /// At (or, for connections, within 5% of) the limit.
    pub at_limit: bool,
}

impl WorkerPool {
    pub fn exhausted(&self) -> bool {
        self.at_limit
    }

    /// `php-fpm pool www 5/5`.
    pub fn label(&self) -> String {
        format!("{} {}/{}", self.name, self.used, self.limit)
    }

    pub fn line(&self) -> String {
        let at = self.at.as_ref().map_or_else(|| "default".to_owned(), ToString::to_string);
        let state = if self.at_limit { "AT THE LIMIT" } else { "below the limit" };
        format!("{}: {} of {} ({at}), {state}", self.name, self.used, self.limit)
    }
}

/// `/proc/meminfo`, in KiB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    pub total_kib: u64,
    pub available_kib: u64,
    pub swap_total_kib: u64,
    pub swap_free_kib: u64,
}

impl Memory {
    pub fn line(&self) -> String {
        let gib = |kib: u64| kib as f64 / 1024.0 / 1024.0;
        format!(
            "memory: {:.1} GiB of {:.1} GiB in use (without cache); swap: {:.1} GiB of {:.1} GiB",
            gib(self.total_kib.saturating_sub(self.available_kib)),
            gib(self.total_kib),
            gib(self.swap_total_kib.saturating_sub(self.swap_free_kib)),
            gib(self.swap_total_kib),
        )
    }
}

/// OOM kills: since boot from `/proc/vmstat`, in the window from the kernel log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OomKills {
    pub since_boot: Option<u64>,
    pub in_window: Option<u64>,
    pub window_minutes: u64,
    /// The first kill in the window, as the kernel wrote it.
    pub first: Option<String>,
}

impl OomKills {
    pub fn line(&self) -> String {
        let boot = self.since_boot.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
        let window = self.in_window.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
        let first = self.first.as_ref().map_or_else(String::new, |f| format!("; first: {f}"));
        format!(
            "OOM kills: {window} in the last {} min, {boot} since boot{first}",
            self.window_minutes
        )
    }
}

/// One file system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disk {
    pub mount: String,
    /// The paths checked that live on it.
    pub paths: Vec<String>,
    pub size_bytes: u64,
    pub available_bytes: u64,
    pub used_pct: u64,
    pub inodes_used_pct: Option<u64>,
}

impl Disk {
    pub fn is_full(&self) -> bool {
        self.used_pct >= FULL_PCT || self.inodes_used_pct.is_some_and(|i| i >= FULL_PCT)
    }

    /// `/var (97% space)` or `/ (100% inodes)`.
    pub fn label(&self) -> String {
        match self.inodes_used_pct {
            Some(i) if i >= FULL_PCT && i >= self.used_pct => {
                format!("{} ({i}% inodes)", self.mount)
            }
            _ => format!("{} ({}% space)", self.mount, self.used_pct),
        }
    }

    pub fn line(&self) -> String {
        let gib = |b: u64| b as f64 / 1024.0 / 1024.0 / 1024.0;
        let inodes = self.inodes_used_pct.map_or_else(String::new, |i| format!(", {i}% of inodes"));
        format!(
            "disk {}: {}% of {:.1} GiB used ({:.1} GiB free){inodes}; holds {}",
            self.mount,
            self.used_pct,
            gib(self.size_bytes),
            gib(self.available_bytes),
            self.paths.join(", ")
        )
    }
}

/// A mount at or above this share of space or inodes is full.
pub const FULL_PCT: u64 = 95;
