//! What the kernel says about the host: cores, memory and swap (`/proc/meminfo`), tasks, open
//! files (`/proc/sys/fs/file-nr`), OOM kills (`/proc/vmstat` since boot, and `/dev/kmsg` for the
//! window) and CloudLinux LVE fault counters (`/proc/lve/list`). Reads only.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use crate::contract::evidence::resources::{Memory, OomKills};
use crate::contract::evidence::stack::Unseen;
use crate::system::System;

/// Most kernel log records read.
const MAX_KMSG_RECORDS: usize = 200_000;

/// Counted from `processor` lines of `/proc/cpuinfo`; 1 when unreadable.
pub fn cores(system: &System) -> u32 {
    let text = system.read_proc("cpuinfo").unwrap_or_default();
    let n = text.lines().filter(|l| l.starts_with("processor")).count();
    u32::try_from(n.max(1)).unwrap_or(1)
}

pub fn memory(system: &System) -> Option<Memory> {
    let text = system.read_proc("meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        total_kib: field("MemTotal:")?,
        available_kib: field("MemAvailable:")?,
        swap_total_kib: field("SwapTotal:").unwrap_or(0),
        swap_free_kib: field("SwapFree:").unwrap_or(0),
    })
}

/// Tasks from `/proc/loadavg`'s `running/total` and `/proc/sys/kernel/threads-max`.
pub fn tasks(system: &System, loadavg: &str) -> Option<(u64, u64)> {
    let total = loadavg.split_whitespace().nth(3)?.split('/').nth(1)?.parse().ok()?;
    let max = system.read_proc("sys/kernel/threads-max").ok()?.trim().parse().ok()?;
    Some((total, max))
}

/// Allocated file handles and the system limit.
pub fn open_files(system: &System) -> Option<(u64, u64)> {
    let text = system.read_proc("sys/fs/file-nr").ok()?;
    let f: Vec<u64> = text.split_whitespace().filter_map(|n| n.parse().ok()).collect();
    Some((*f.first()?, *f.get(2)?))
}

pub fn oom_kills(system: &System, window: Duration, unseen: &mut Vec<Unseen>) -> OomKills {
    let since_boot = system.read_proc("vmstat").ok().and_then(|t| {
        t.lines().find_map(|l| l.strip_prefix("oom_kill ")).and_then(|n| n.trim().parse().ok())
    });
    let mut kills =
        OomKills { since_boot, window_minutes: window.as_secs() / 60, ..OomKills::default() };
    let uptime = system
        .read_proc("uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok());
    match (read_kmsg(system), uptime) {
        (Ok(records), Some(uptime)) => {
            let start_us = ((uptime - window.as_secs_f64()).max(0.0) * 1e6) as u64;
            let in_window: Vec<&(u64, String)> =
                records.iter().filter(|(us, m)| *us >= start_us && is_oom_kill(m)).collect();
            kills.in_window = Some(in_window.len() as u64);
            kills.first = in_window.first().map(|(_, m)| crate::sanitize::line(m).into_owned());
        }
        (Err(reason), _) => unseen.push(Unseen::new(
            format!("the kernel log for OOM kills in the window ({reason})"),
            "sudo dmesg -T | grep -i 'killed process'",
        )),
        (Ok(_), None) => {}
    }
    kills
}

/// `Out of memory: Killed process 1234 (php-fpm8.2)`, `Memory cgroup out of memory: Killed process …`.
fn is_oom_kill(message: &str) -> bool {
    message.contains("Killed process") && message.contains("out of memory")
        || message.starts_with("Out of memory: Killed process")
}

/// The kernel log records as (microseconds since boot, message), read without blocking.
fn read_kmsg(system: &System) -> Result<Vec<(u64, String)>, String> {
    if !system.is_real_root() {
        let text = system.read(Path::new("/dev/kmsg")).map_err(|e| crate::system::io_reason(&e))?;
        return Ok(text.lines().filter_map(parse_kmsg).collect());
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0))
        .open("/dev/kmsg")
        .map_err(|e| format!("/dev/kmsg: {}", crate::system::io_reason(&e)))?;
    let mut records = Vec::new();
    let mut buf = vec![0u8; 8192];
    while records.len() < MAX_KMSG_RECORDS {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => records.extend(parse_kmsg(&String::from_utf8_lossy(&buf[..n]))),
            // EPIPE: a record was overwritten while we read; the next read goes on.
            Err(e) if e.raw_os_error() == Some(32) => {}
            Err(_) => break,
        }
    }
    Ok(records)
}

/// `6,1234,5678901234,-;message` → (5678901234, message).
fn parse_kmsg(record: &str) -> Option<(u64, String)> {
    let (head, message) = record.split_once(';')?;
    let usec = head.split(',').nth(2)?.parse().ok()?;
    Some((usec, message.lines().next().unwrap_or_default().to_owned()))
}

/// LVE rows of `/proc/lve/list` whose fault counters (`f…` columns) are above zero.
pub fn lve_faults(system: &System, unseen: &mut Vec<Unseen>) -> Vec<String> {
    let path = system.proc_path("lve/list");
    if !path.exists() {
        return Vec::new();
    }
    match system.read_proc("lve/list") {
        Ok(text) => parse_lve(&text),
        Err(e) => {
            unseen.push(Unseen::new(
                format!("CloudLinux LVE limits ({})", crate::system::io_reason(&e)),
                "sudo lveinfo --period=1h",
            ));
            Vec::new()
        }
    }
}

/// The header names the columns (`8:LVE EP lCPU … fMEM fEP …`); faults are the `f` columns.
pub fn parse_lve(text: &str) -> Vec<String> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else { return Vec::new() };
    let header = header.split_once(':').map_or(header, |(_, h)| h);
    let names: Vec<&str> = header.split_whitespace().collect();
    lines
        .filter_map(|line| {
            let values: Vec<&str> = line.split_whitespace().collect();
            let id = values.first()?;
            let faults: Vec<String> = names
                .iter()
                .zip(&values)
                .filter(|(name, value)| {
                    name.starts_with('f') && value.parse::<u64>().is_ok_and(|v| v > 0)
                })
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            (!faults.is_empty() && *id != "0").then(|| format!("LVE {id}: {}", faults.join(" ")))
        })
        .take(20)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kmsg_records_and_oom_lines() {
        assert_eq!(
            parse_kmsg(
                "6,1234,5678901234,-;Out of memory: Killed process 42 (php-fpm8.2)\n SUBSYSTEM=x"
            ),
            Some((5_678_901_234, "Out of memory: Killed process 42 (php-fpm8.2)".into()))
        );
        assert!(is_oom_kill("Out of memory: Killed process 42 (php-fpm8.2) total-vm:1kB"));
        assert!(is_oom_kill("Memory cgroup out of memory: Killed process 42 (node)"));
        assert!(!is_oom_kill("Killed process 42 by hand"));
    }

    #[test]
    fn lve_fault_columns() {
        let text = "8:LVE EP lCPU lIO CPU MEM IO lMEM lEP nCPU fMEM fEP\n0 0 100 0 0 0 0 0 0 1 0 0\n1001 20 100 1024 5 100 0 262144 20 1 3 12\n1002 1 100 1024 5 100 0 262144 20 1 0 0\n";
        assert_eq!(parse_lve(text), vec!["LVE 1001: fMEM=3 fEP=12"]);
    }
}
