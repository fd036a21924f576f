//! The `resources` check: load against cores, memory and swap, OOM kills, disk space and inodes
//! on the mounts that hold the site, its logs and its database, open files against the limits,
//! process counts, worker pools against their limits (PHP-FPM `pm.max_children`, nginx
//! `worker_connections`, Apache `MaxRequestWorkers`) and CloudLinux LVE faults. Read-only; what
//! it could not see unprivileged it names, with the command that would.

pub mod disks;
pub mod kernel;
pub mod pools;

use std::path::PathBuf;
use std::time::Duration;

use crate::contract::evidence::resources::{Disk, Resources, WorkerPool};
use crate::contract::evidence::stack::{SUDO_STACK, Stack, Systemd, Unseen};
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input,
};
use crate::facts::FactKind::{Int, List};
use crate::facts::Facts;
use crate::sanitize;
use crate::system::{System, stack};

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "resources",
    title: "Check host resources and limits",
    scope: Scope::Local,
    applies: Applies::LocalStack,
    params: &[
        input("paths", false, Input::SiteRoot, "comma-separated paths whose mounts to check"),
        input("since", false, Input::Since, "window for OOM kills, e.g. 30m (default 30m)"),
    ],
    produces: &[
        fact("host.load_pct", Int, "1-minute load as a percentage of the cores"),
        fact("host.memory_used_pct", Int, "memory in use, without reclaimable cache"),
        fact("host.swap_used_pct", Int, "swap in use"),
        fact("host.oom_kills", Int, "OOM kills in the window"),
        fact("host.disks_full", List, "mounts at 95% or more of space or inodes"),
        fact("host.fd_used_pct", Int, "open files against the system limit"),
        fact("host.workers_exhausted", List, "worker pools at their limit: php-fpm, nginx, apache"),
        fact("host.lve_limits_hit", List, "CloudLinux LVE limits reached"),
        fact("host.cores", Int, "CPU cores"),
        fact("host.oom_kills_since_boot", Int, "OOM kills since boot (/proc/vmstat)"),
        fact(
            "host.fd_limits_hit",
            List,
            "stack processes at 90% or more of their open-files limit",
        ),
        fact("host.tasks_used_pct", Int, "tasks (threads) against the kernel's limit"),
        fact("host.unseen", List, "what could not be seen without privileges"),
    ],
    timeout: Duration::from_secs(15),
};

/// The incident window when the runbook gives none.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 60);
/// A process at or above this share of its open-files limit is at the limit.
pub const FD_LIMIT_PCT: u64 = 90;

/// Runs the check. Parameters: `paths` (comma-separated, mounts to check besides the site's),
/// `since` (the window for OOM kills, e.g. `30m`).
pub async fn run(request: CheckRequest, _progress: Progress) -> CheckReport {
    let window = match request.param("since").map(str::trim).filter(|s| !s.is_empty()) {
        None => DEFAULT_WINDOW,
        Some(text) => match parse_window(text) {
            Some(w) => w,
            None => {
                return CheckReport::could_not_run(
                    SPEC.id,
                    format!("`{}` is not a window such as 30m, 2h or 1d", sanitize::line(text)),
                    None,
                );
            }
        },
    };
    let paths: Vec<PathBuf> = request
        .param("paths")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .collect();
    let system = System::from_env();
    match tokio::task::spawn_blocking(move || measure(&system, &paths, window)).await {
        Ok(resources) => report(&resources),
        Err(_) => CheckReport::could_not_run(SPEC.id, "measuring stopped unexpectedly", None),
    }
}

/// `90s`, `30m`, `2h`, `1d`; a bare number is minutes.
pub fn parse_window(text: &str) -> Option<Duration> {
    let (number, unit) =
        text.find(|c: char| !c.is_ascii_digit()).map_or((text, "m"), |i| text.split_at(i));
    let n: u64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

/// Takes every measurement. Blocking.
pub fn measure(system: &System, extra_paths: &[PathBuf], window: Duration) -> Resources {
    let mut unseen = Vec::new();
    let stack = match stack::discover(system) {
        Ok(stack) => stack,
        Err(reason) => {
            unseen.push(Unseen::new(format!("the running services ({reason})"), SUDO_STACK));
            empty_stack()
        }
    };
    let (loadavg, cores) = (system.read_proc("loadavg").unwrap_or_default(), kernel::cores(system));
    let load = loadavg.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let load_pct = loadavg
        .split_whitespace()
        .next()
        .and_then(|l| l.parse::<f64>().ok())
        .filter(|_| cores > 0)
        .map(|l| (l * 100.0 / f64::from(cores)).round() as i64);
    let tasks = kernel::tasks(system, &loadavg);
    let oom_kills = kernel::oom_kills(system, window, &mut unseen);
    let disks = disks::measure(system, &disks::paths_of(system, &stack, extra_paths), &mut unseen);
    let fd_limits_hit = pools::fd_limits(system, &stack, &mut unseen);
    let pools = pools::measure(system, &stack, &mut unseen);
    let lve_faults = kernel::lve_faults(system, &mut unseen);
    Resources {
        cores,
        load,
        load_pct,
        memory: kernel::memory(system),
        oom_kills,
        disks,
        open_files: kernel::open_files(system),
        fd_limits_hit,
        tasks,
        pools,
        lve_faults,
        unseen,
    }
}

fn empty_stack() -> Stack {
    Stack {
        services: Vec::new(),
        not_running: Vec::new(),
        systemd: Systemd::Skipped { reason: String::new() },
        unattributed: Vec::new(),
        unseen: Vec::new(),
    }
}

/// Facts, details and status.
pub fn report(r: &Resources) -> CheckReport {
    let facts = facts(r);
    let problems = problems(r, &facts);
    let status = if !problems.is_empty() {
        CheckStatus::Failed
    } else if !r.unseen.is_empty() {
        CheckStatus::Warning
    } else {
        CheckStatus::Passed
    };
    let summary = if problems.is_empty() { overview(r) } else { problems.join("; ") };
    CheckReport::new(SPEC.id, status, summary)
        .with_details(details(r))
        .with_facts(facts)
        .with_evidence(Evidence::Resources(Box::new(r.clone())))
}

fn pct(used: u64, total: u64) -> Option<i64> {
    (total > 0).then(|| i64::try_from(used.saturating_mul(100) / total).unwrap_or(i64::MAX))
}

fn facts(r: &Resources) -> Facts {
    let mut facts = Facts::new();
    facts.set("host.cores", i64::from(r.cores));
    if let Some(load) = r.load_pct {
        facts.set("host.load_pct", load);
    }
    if let Some(m) = &r.memory {
        facts.extend_opt(
            "host.memory_used_pct",
            pct(m.total_kib.saturating_sub(m.available_kib), m.total_kib),
        );
        facts.extend_opt(
            "host.swap_used_pct",
            pct(m.swap_total_kib.saturating_sub(m.swap_free_kib), m.swap_total_kib),
        );
    }
    if let Some(n) = r.oom_kills.in_window {
        facts.set("host.oom_kills", i64::try_from(n).unwrap_or(i64::MAX));
    }
    if let Some(n) = r.oom_kills.since_boot {
        facts.set("host.oom_kills_since_boot", i64::try_from(n).unwrap_or(i64::MAX));
    }
    let full: Vec<String> =
        r.disks.iter().filter(|d| d.is_full()).map(Disk::label).take(20).collect();
    facts.set("host.disks_full", full);
    if let Some((open, max)) = r.open_files {
        facts.extend_opt("host.fd_used_pct", pct(open, max));
    }
    facts.set("host.fd_limits_hit", r.fd_limits_hit.iter().take(20).cloned().collect::<Vec<_>>());
    let exhausted: Vec<String> =
        r.pools.iter().filter(|p| p.exhausted()).map(WorkerPool::label).take(20).collect();
    facts.set("host.workers_exhausted", exhausted);
    facts.set("host.lve_limits_hit", r.lve_faults.iter().take(20).cloned().collect::<Vec<_>>());
    if let Some((tasks, max)) = r.tasks {
        facts.extend_opt("host.tasks_used_pct", pct(tasks, max));
    }
    facts.set("host.unseen", r.unseen.iter().map(|u| u.what.clone()).take(20).collect::<Vec<_>>());
    facts
}

trait SetOpt {
    fn extend_opt(&mut self, key: &str, value: Option<i64>);
}

impl SetOpt for Facts {
    fn extend_opt(&mut self, key: &str, value: Option<i64>) {
        if let Some(v) = value {
            self.set(key, v);
        }
    }
}

/// The limits reached, one phrase each, for the summary.
fn problems(r: &Resources, facts: &Facts) -> Vec<String> {
    let mut out = Vec::new();
    let int = |k: &str| facts.get(k).and_then(crate::facts::FactValue::as_int);
    if int("host.oom_kills").is_some_and(|n| n > 0) {
        out.push(format!("{} OOM kills in the window", int("host.oom_kills").unwrap_or(0)));
    }
    out.extend(r.disks.iter().filter(|d| d.is_full()).map(|d| format!("disk full: {}", d.label())));
    out.extend(
        r.pools.iter().filter(|p| p.exhausted()).map(|p| format!("at its limit: {}", p.label())),
    );
    if int("host.memory_used_pct").is_some_and(|m| m >= 95) {
        out.push(format!("memory {}% used", int("host.memory_used_pct").unwrap_or(0)));
    }
    if int("host.fd_used_pct").is_some_and(|m| m >= 90) || !r.fd_limits_hit.is_empty() {
        out.push("open files at the limit".to_owned());
    }
    if r.load_pct.is_some_and(|l| l >= 200) {
        out.push(format!("load {} on {} cores", r.load, r.cores));
    }
    if !r.lve_faults.is_empty() {
        out.push(format!("LVE limits hit: {}", r.lve_faults.join(", ")));
    }
    out
}

fn overview(r: &Resources) -> String {
    let memory = r
        .memory
        .as_ref()
        .and_then(|m| pct(m.total_kib.saturating_sub(m.available_kib), m.total_kib))
        .map_or_else(String::new, |p| format!(", memory {p}% used"));
    format!(
        "load {} on {} cores{memory}, {} checked, no limit reached",
        r.load,
        r.cores,
        crate::text::count(r.disks.len(), "mount", "mounts")
    )
}

fn details(r: &Resources) -> Vec<String> {
    let mut lines = vec![format!("load {} on {} cores", r.load, r.cores)];
    if let Some(m) = &r.memory {
        lines.push(m.line());
    }
    lines.push(r.oom_kills.line());
    lines.extend(r.disks.iter().map(Disk::line));
    if let Some((open, max)) = r.open_files {
        lines.push(format!("open files: {open} of {max}"));
    }
    lines.extend(r.fd_limits_hit.iter().map(|l| format!("at the open-files limit: {l}")));
    if let Some((tasks, max)) = r.tasks {
        lines.push(format!("tasks: {tasks} of {max}"));
    }
    lines.extend(r.pools.iter().map(WorkerPool::line));
    lines.extend(r.lve_faults.iter().map(|l| format!("CloudLinux LVE: {l}")));
    lines.extend(r.unseen.iter().map(Unseen::line));
    lines.into_iter().map(|l| sanitize::line(&l).into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_window("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_window("45"), Some(Duration::from_secs(2700)));
        assert_eq!(parse_window("0m"), None);
        assert_eq!(parse_window("soon"), None);
    }
}
