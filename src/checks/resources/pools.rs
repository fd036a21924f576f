//! Worker pools against their configured limits — PHP-FPM children against `pm.max_children`,
//! nginx worker connections against `worker_connections`, Apache workers against
//! `MaxRequestWorkers` — and the stack's processes against their open-files limit.

use std::path::Path;

use crate::contract::evidence::resources::WorkerPool;
use crate::contract::evidence::stack::{Process, Service, Stack, Unseen};
use crate::contract::evidence::web::ServerKind;
use crate::knowledge::services::{self, WorkerLimit};
use crate::system::System;
use crate::system::proxy::{self, phpfpm};
use crate::system::stack::{procs, sockets};

/// nginx's default `worker_connections`.
const NGINX_DEFAULT_CONNECTIONS: u64 = 512;
/// Apache's default `ThreadsPerChild` for the event and worker MPMs.
const APACHE_DEFAULT_THREADS: u64 = 25;

/// Every pool of the running stack that has a limit triage can read.
pub fn measure(system: &System, stack: &Stack, unseen: &mut Vec<Unseen>) -> Vec<WorkerPool> {
    let processes = procs::list(system).map(|(p, _)| p).unwrap_or_default();
    let mut pools = Vec::new();
    for service in &stack.services {
        let children: Vec<&Process> =
            processes.iter().filter(|p| p.ppid == service.master).collect();
        match services::table().get(&service.id).and_then(|s| s.workers) {
            Some(WorkerLimit::PhpFpm) => pools.extend(php_fpm(system, service, &children)),
            Some(WorkerLimit::Nginx) => pools.extend(nginx(system, service, &children, unseen)),
            Some(WorkerLimit::Apache) => pools.extend(apache(system, service, &children)),
            None => {}
        }
    }
    pools
}

fn php_fpm(system: &System, service: &Service, children: &[&Process]) -> Vec<WorkerPool> {
    let Some(config) = service.config.as_ref().filter(|c| c.path.starts_with('/')) else {
        return Vec::new();
    };
    let config = phpfpm::read(system, Path::new(&config.path));
    config
        .pools
        .iter()
        .filter_map(|pool| {
            let limit = u64::from(pool.max_children()?);
            let title = format!("pool {}", pool.name);
            let used = children.iter().filter(|p| p.title.ends_with(&title)).count() as u64;
            Some(WorkerPool {
                name: format!("php-fpm {title}"),
                used,
                limit,
                at: pool.max_children.as_ref().map(|s| s.at.clone()),
                // A static pool always runs max_children children: that says nothing about
                // how many are busy. A dynamic or ondemand pool at its limit has run out.
                at_limit: limit > 0 && used >= limit && pool.pm.as_deref() != Some("static"),
            })
        })
        .collect()
}

fn nginx(
    system: &System,
    service: &Service,
    workers: &[&Process],
    unseen: &mut Vec<Unseen>,
) -> Option<WorkerPool> {
    let config = proxy::read_running(system, &proxy::config_of(service)?);
    let setting = config.setting("worker_connections");
    let limit = setting.and_then(|s| s.value.parse().ok()).unwrap_or(NGINX_DEFAULT_CONNECTIONS);
    let mut used = 0;
    let mut hidden = Vec::new();
    for worker in workers {
        match sockets::socket_inodes(system, worker.pid) {
            Ok(inodes) => used = used.max(inodes.len() as u64),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => hidden.push(worker.pid.to_string()),
        }
    }
    if !hidden.is_empty() {
        unseen.push(Unseen::new(
            format!("the connections of nginx workers (pid {})", hidden.join(", ")),
            "sudo triage check",
        ));
        return None;
    }
    let at_limit = used * 100 >= limit * 95;
    Some(WorkerPool {
        name: "nginx worker_connections (busiest worker)".to_owned(),
        used,
        limit,
        at: setting.map(|s| s.at.clone()),
        at_limit,
    })
}

fn apache(system: &System, service: &Service, children: &[&Process]) -> Option<WorkerPool> {
    let main = Path::new(&service.config.as_ref()?.path).to_owned();
    let config = proxy::read(system, ServerKind::Apache, &main, None);
    let max = config.setting("MaxRequestWorkers").or_else(|| config.setting("MaxClients"))?;
    let limit: u64 = max.value.parse().ok()?;
    let prefork = config.setting("mpm").is_some_and(|m| m.value == "prefork");
    let threads = if prefork {
        1
    } else {
        config
            .setting("ThreadsPerChild")
            .and_then(|s| s.value.parse().ok())
            .unwrap_or(APACHE_DEFAULT_THREADS)
    };
    let used = children.len() as u64 * threads;
    Some(WorkerPool {
        name: "apache MaxRequestWorkers".to_owned(),
        used,
        limit,
        at: Some(max.at.clone()),
        at_limit: limit > 0 && used >= limit,
    })
}

/// Processes of the stack at 90% or more of their open-files limit.
pub fn fd_limits(system: &System, stack: &Stack, unseen: &mut Vec<Unseen>) -> Vec<String> {
    let mut hit = Vec::new();
    for service in &stack.services {
        let mut hidden = false;
        for p in &service.processes {
            let (Ok(entries), Ok(limits)) = (
                std::fs::read_dir(system.proc_path(&format!("{}/fd", p.pid))),
                system.read_proc(&format!("{}/limits", p.pid)),
            ) else {
                // Gone since the stack was read, or another user's: only the latter hides anything.
                hidden |= system.proc_path(&p.pid.to_string()).exists();
                continue;
            };
            let open = entries.count() as u64;
            let Some(limit) = open_files_limit(&limits) else { continue };
            if limit > 0 && open * 100 >= limit * super::FD_LIMIT_PCT {
                hit.push(format!("{} pid {}: {open}/{limit}", service.id, p.pid));
            }
        }
        if hidden {
            unseen.push(Unseen::new(
                format!("the open files of {} (pid {})", service.id, service.master),
                "sudo triage check",
            ));
        }
    }
    hit
}

/// The soft limit from `/proc/PID/limits`: `Max open files  1024  524288  files`.
pub fn open_files_limit(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files")?.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax processes             127431               127431               processes\nMax open files            1024                 524288               files\n";
        assert_eq!(open_files_limit(limits), Some(1024));
        assert_eq!(open_files_limit("Max open files unlimited unlimited files"), None);
    }
}
