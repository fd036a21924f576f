//! systemd unit states of the stack, where systemd runs: the unit of a running process (from its
//! cgroup) and the stack's units that are inactive or failed. Where systemd does not run, says so
//! and does nothing else. `systemctl` is run read-only, bounded in time and output.

use std::path::Path;
use std::time::Duration;

use super::system::{self, System};
use crate::contract::evidence::stack::{Systemd, Unit};
use crate::sanitize;

const SYSTEMCTL_LIMIT: Duration = Duration::from_secs(3);
const SYSTEMCTL_MAX_BYTES: u64 = 1024 * 1024;

/// Whether systemd manages this machine (the test `sd_booted()` makes).
pub fn booted(system: &System) -> bool {
    system.path(Path::new("/run/systemd/system")).is_dir()
}

/// The units for which `wanted` says yes, with their states.
pub fn units(system: &System, wanted: impl Fn(&str) -> bool) -> Systemd {
    if !booted(system) {
        return Systemd::Skipped {
            reason: "systemd is not running here (no /run/systemd/system): unit states skipped"
                .to_owned(),
        };
    }
    if !system.is_real_root() {
        return Systemd::Skipped {
            reason: "unit states are read only on the real machine".to_owned(),
        };
    }
    let args = ["list-units", "--all", "--type=service", "--plain", "--no-legend", "--no-pager"];
    match system::run_bounded("systemctl", &args, SYSTEMCTL_LIMIT, SYSTEMCTL_MAX_BYTES) {
        Ok(text) => {
            let mut units: Vec<Unit> =
                parse_list_units(&text).into_iter().filter(|u| wanted(&u.name)).collect();
            add_results(&mut units);
            Systemd::Running { units }
        }
        Err(reason) => Systemd::Skipped { reason },
    }
}

/// `Result` and `NRestarts` from one bounded `systemctl show` for all the units.
fn add_results(units: &mut [Unit]) {
    if units.is_empty() {
        return;
    }
    let mut args = vec!["show", "--property=Id,Result,NRestarts", "--"];
    args.extend(units.iter().map(|u| u.name.as_str()));
    let Ok(text) = system::run_bounded("systemctl", &args, SYSTEMCTL_LIMIT, SYSTEMCTL_MAX_BYTES)
    else {
        return;
    };
    for (id, result, restarts) in parse_show(&text) {
        if let Some(unit) = units.iter_mut().find(|u| u.name == id) {
            unit.result = result;
            unit.restarts = restarts;
        }
    }
}

/// `systemctl show` output: `key=value` blocks separated by blank lines.
pub fn parse_show(text: &str) -> Vec<(String, Option<String>, Option<u32>)> {
    text.split("\n\n")
        .filter_map(|block| {
            let value = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                    .map(|v| sanitize::line(v).into_owned())
            };
            Some((value("Id")?, value("Result"), value("NRestarts").and_then(|n| n.parse().ok())))
        })
        .collect()
}

/// `UNIT LOAD ACTIVE SUB DESCRIPTION…` lines; a leading `●` marks failed units.
pub fn parse_list_units(text: &str) -> Vec<Unit> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace().skip_while(|w| *w == "●" || *w == "*");
            let clean = |w: &str| sanitize::line(w).into_owned();
            Some(Unit {
                name: clean(words.next()?),
                load: clean(words.next()?),
                active: clean(words.next()?),
                sub: clean(words.next()?),
                result: None,
                restarts: None,
            })
        })
        .collect()
}

/// The unit a process runs in, from `/proc/PID/cgroup` (`0::/system.slice/nginx.service`).
pub fn unit_of(system: &System, pid: u32) -> Option<String> {
    let text = system.read_proc(&format!("{pid}/cgroup")).ok()?;
    text.lines().find_map(|line| {
        let path = line.rsplit(':').next()?;
        path.split('/')
            .rev()
            .find(|part| part.ends_with(".service"))
            .map(|u| sanitize::line(u).into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_units_lines_parse_and_down_units_are_recognised() {
        let text = "nginx.service loaded active running A high performance web server\n● php8.2-fpm.service loaded failed failed The PHP 8.2 FastCGI Process Manager\nmysql.service not-found inactive dead mysql.service\n";
        let units = parse_list_units(text);
        assert_eq!(units.len(), 3);
        assert!(!units[0].is_down());
        assert!(units[1].is_down() && units[1].name == "php8.2-fpm.service");
        assert!(!units[2].is_down(), "a unit that is not installed is not down");
        let shown = parse_show(
            "Id=nginx.service\nResult=success\nNRestarts=0\n\nId=php8.2-fpm.service\nResult=oom-kill\nNRestarts=3\n",
        );
        assert_eq!(shown[1], ("php8.2-fpm.service".into(), Some("oom-kill".into()), Some(3)));
    }

    #[test]
    fn without_systemd_the_states_are_skipped_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        match units(&System::fixture(dir.path()), |_| true) {
            Systemd::Skipped { reason } => {
                assert!(reason.contains("systemd is not running"), "{reason}");
            }
            other @ Systemd::Running { .. } => panic!("{other:?}"),
        }
    }
}
