//! The process table from `/proc`: pid, parent, user, groups, name and command line of every
//! process. Only what any user may read; a process that vanishes mid-read is skipped.

use super::system::System;
use crate::contract::evidence::stack::Process;
use crate::sanitize;

/// Every process that could be read, and how many could not.
pub fn list(system: &System) -> std::io::Result<(Vec<Process>, usize)> {
    let mut processes = Vec::new();
    let mut unreadable = 0;
    for entry in std::fs::read_dir(&system.proc)?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        match read(system, pid) {
            Some(p) => processes.push(p),
            // Hidden by hidepid, not merely ended since the directory was listed.
            None if is_hidden(system, pid) => unreadable += 1,
            None => {}
        }
    }
    processes.sort_by_key(|p| p.pid);
    Ok((processes, unreadable))
}

fn is_hidden(system: &System, pid: u32) -> bool {
    matches!(system.read_proc(&format!("{pid}/status")), Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied)
}

/// One process, or `None` when it is gone or hidden.
pub fn read(system: &System, pid: u32) -> Option<Process> {
    let status = system.read_proc(&format!("{pid}/status")).ok()?;
    let cmdline = system.read_proc(&format!("{pid}/cmdline")).unwrap_or_default();
    let comm = system.read_proc(&format!("{pid}/comm")).unwrap_or_default();
    let field = |name: &str| {
        status.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).unwrap_or_default()
    };
    let ids = |name: &str| -> Vec<u32> {
        field(name).split_whitespace().filter_map(|n| n.parse().ok()).collect()
    };
    let args = split_cmdline(&cmdline);
    Some(Process {
        pid,
        ppid: field("PPid:").parse().unwrap_or(0),
        uid: ids("Uid:").get(1).copied().unwrap_or(u32::MAX),
        gid: ids("Gid:").get(1).copied().unwrap_or(u32::MAX),
        groups: ids("Groups:"),
        threads: field("Threads:").parse().unwrap_or(1),
        comm: sanitize::line(comm.trim_end()).into_owned(),
        title: crate::redact::text(&args.join(" ")).into_owned(),
        args,
    })
}

/// The words of a NUL-separated command line. A daemon that rewrote its title into argv[0]
/// (`nginx: master process /usr/sbin/nginx -c /etc/nginx/nginx.conf`) is split at spaces.
pub fn split_cmdline(raw: &str) -> Vec<String> {
    let mut args: Vec<String> = raw.split('\0').map(|a| sanitize::line(a).into_owned()).collect();
    while args.last().is_some_and(String::is_empty) {
        args.pop();
    }
    if args.len() == 1 && args[0].contains(' ') {
        args = args[0].split_whitespace().map(str::to_owned).collect();
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(cmdline: &str, comm: &str) -> Process {
        let args = split_cmdline(cmdline);
        Process {
            pid: 1,
            ppid: 0,
            uid: 0,
            gid: 0,
            groups: vec![],
            threads: 1,
            comm: comm.into(),
            title: args.join(" "),
            args,
        }
    }

    #[test]
    fn rewritten_titles_are_split_and_flags_found() {
        let nginx = process(
            "nginx: master process /usr/sbin/nginx -p /srv/x -c conf/nginx.conf\0\0\0",
            "nginx",
        );
        assert_eq!(nginx.flag_value("-c"), Some("conf/nginx.conf"));
        assert_eq!(nginx.flag_value("-p"), Some("/srv/x"));
        assert!(nginx.names().contains(&"nginx"));
        let gunicorn = process(
            "/usr/bin/python3\0/usr/bin/gunicorn\0--config=/etc/g.py\0app:app\0",
            "python3",
        );
        assert!(gunicorn.names().contains(&"gunicorn"));
        assert_eq!(gunicorn.flag_value("--config"), Some("/etc/g.py"));
        let evil = process("x\u{1b}[2J\0", "x");
        assert_eq!(evil.title, "x");
    }
}
