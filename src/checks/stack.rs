//! The `stack` check: which web servers, app runtimes and databases run on this machine, as
//! which user, with which config file, listening where, and in which systemd unit. Discovery
//! itself is `system::stack`; this check turns what it found into facts and a summary.

use std::time::Duration;

use crate::contract::evidence::Evidence;
use crate::contract::evidence::stack::{
    ConfigSource, Role, SUDO_STACK, Service, Stack, Systemd, Unit, Unseen,
};
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Progress, Scope, fact,
};
use crate::facts::FactKind::{List, Text};
use crate::facts::Facts;
use crate::sanitize;
use crate::system::System;
use crate::system::stack::discover;

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "stack",
    title: "Discover the local web stack",
    scope: Scope::Local,
    applies: Applies::LocalStack,
    params: &[],
    produces: &[
        fact(
            "stack.web_servers",
            List,
            "running web servers and proxies: nginx, apache, haproxy, …",
        ),
        fact("stack.runtimes", List, "running app runtimes: php-fpm, node, gunicorn, …"),
        fact("stack.databases", List, "running databases: mysql, postgresql, redis"),
        fact("stack.units_down", List, "systemd units of the stack that are inactive or failed"),
        fact(
            "stack.not_running",
            List,
            "services whose daemon is installed but that have no process: php-fpm, mysql, …",
        ),
        fact("stack.listening", List, "listening sockets of the stack as `service address`"),
        fact(
            "stack.unseen",
            List,
            "what could not be seen without privileges (`sudo triage stack` shows it)",
        ),
        fact("stack.family", Text, "the Linux family, from /etc/os-release: debian or rhel"),
        fact(
            "stack.units_starting",
            List,
            "systemd units of the stack still starting (activating), not yet serving",
        ),
    ],
    timeout: Duration::from_secs(15),
};

/// Runs the check.
pub async fn run(_request: CheckRequest, _progress: Progress) -> CheckReport {
    let system = System::from_env();
    let family = system.family();
    match tokio::task::spawn_blocking(move || discover(&system)).await {
        Ok(Ok(stack)) => {
            let mut report = report(&stack);
            if let Some(family) = family {
                report.facts.set("stack.family", family);
            }
            report
        }
        Ok(Err(reason)) => CheckReport::could_not_run(SPEC.id, reason, Some(SUDO_STACK.to_owned())),
        Err(_) => CheckReport::could_not_run(SPEC.id, "the discovery stopped unexpectedly", None),
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
    CheckReport::new(SPEC.id, status, summary)
        .with_details(details(stack))
        .with_facts(facts)
        .with_evidence(Evidence::Stack(Box::new(stack.clone())))
}

/// `php8.2-fpm.service failed (oom-kill, 3 restarts)`.
fn unit_state(u: &Unit) -> String {
    let mut why: Vec<String> = u.result.iter().filter(|r| *r != "success").cloned().collect();
    why.extend(
        u.restarts
            .filter(|n| *n > 0)
            .map(|n| crate::text::count(n as usize, "restart", "restarts")),
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

pub fn facts(stack: &Stack) -> Facts {
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
    facts.set("stack.units_starting", starting(stack));
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

/// Units in `activating` (not the `auto-restart` of a unit that keeps crashing).
fn starting(stack: &Stack) -> Vec<String> {
    let Systemd::Running { units } = &stack.systemd else { return Vec::new() };
    units
        .iter()
        .filter(|u| u.active == "activating" && u.sub != "auto-restart")
        .map(|u| u.name.clone())
        .collect()
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
        crate::text::count(s.process_count, "process", "processes"),
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
