//! The `recent_changes` check: what changed on this machine in the last hours — packages,
//! config files, service restarts, deploys — newest first with times, so the user can pick the
//! smallest change to roll back. It only reads: logs, modification times, `/proc`, the journal
//! and `.git`; it never runs git or a package manager.

pub mod sources;

use std::path::{Path, PathBuf};
use std::time::Duration;

use self::sources::Found;
use super::logs::journal::{self, Journal};
use super::logs::time::Clock;
use crate::contract::evidence::changes::ChangesEvidence;
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input, param,
};
use crate::facts::FactKind::{Int, List};
use crate::facts::Facts;
use crate::sanitize;
use crate::system::System;

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "recent_changes",
    title: "List recent changes",
    scope: Scope::Local,
    applies: Applies::LocalStack,
    params: &[
        input(
            "site_root",
            false,
            Input::SiteRoot,
            "the site's directory (git checkout or app files)",
        ),
        param("hours", false, "how far back (default 24)"),
        param(
            "scope",
            false,
            "`stack`: only changes that touch the web stack (its packages, configs, units, the site); default all",
        ),
    ],
    produces: &[
        fact("changes.count", Int, "changes found in the window"),
        fact("changes.newest_minutes", Int, "minutes since the newest change"),
        fact("changes.kinds", List, "kinds found: package, config, restart, deploy"),
        fact(
            "changes.recent",
            List,
            "the newest changes as `time kind what`, newest first, at most 10",
        ),
    ],
    timeout: Duration::from_secs(30),
};

const DEFAULT_HOURS: u64 = 24;
/// Changes kept in the evidence, and lines in the `changes.recent` fact.
const MAX_KEPT: usize = 200;
const MAX_RECENT: usize = 10;

/// Where to look; tests point `root` at a fixture tree.
#[derive(Debug, Clone)]
pub struct Search {
    pub root: PathBuf,
    pub site_root: Option<PathBuf>,
    pub hours: u64,
    /// Keep only the changes that touch the web stack.
    pub stack_only: bool,
}

pub async fn run(request: CheckRequest, _progress: Progress) -> CheckReport {
    let hours = match request.param("hours").map(str::trim).filter(|s| !s.is_empty()) {
        None => DEFAULT_HOURS,
        Some(text) => match text.parse::<u64>() {
            Ok(h) if (1..=24 * 90).contains(&h) => h,
            _ => {
                let reason =
                    format!("`{}` is not a number of hours (1 to 2160)", sanitize::line(text));
                return CheckReport::could_not_run(SPEC.id, reason, None);
            }
        },
    };
    let site_root =
        request.param("site_root").map(str::trim).filter(|s| !s.is_empty()).map(PathBuf::from);
    let system = System::from_env();
    let stack_only = request.param("scope").is_some_and(|s| s.trim() == "stack");
    let scope = Search { root: system.root.clone(), site_root, hours, stack_only };
    let clock = Clock::system();
    let since = clock.now - i64::try_from(hours * 3600).unwrap_or(i64::MAX / 2);
    if !system.machine_wide() {
        return tokio::task::spawn_blocking(move || narrowed(&scope, &system, &clock))
            .await
            .unwrap_or_else(|e| {
                CheckReport::could_not_run(SPEC.id, format!("listing changes failed: {e}"), None)
            });
    }
    let journal = match journal::locate() {
        Ok(_) if !system.is_real_root() => None,
        // systemd's own messages (PID 1) are the ones that say a service started or stopped.
        Ok(program) => Some(journal::read_matching(&program, since, &["_PID=1"]).await),
        Err(_) => None,
    };
    let task = tokio::task::spawn_blocking(move || collect(&scope, &clock, journal));
    task.await.unwrap_or_else(|e| {
        CheckReport::could_not_run(SPEC.id, format!("listing changes failed: {e}"), None)
    })
}

/// The changes of a machine narrowed to some processes: their restarts and the site's deploys;
/// package history, config directories and the journal belong to the whole machine.
fn narrowed(scope: &Search, system: &System, clock: &Clock) -> CheckReport {
    let since = clock.now - i64::try_from(scope.hours * 3600).unwrap_or(i64::MAX / 2);
    let mut found = Found::default();
    sources::process_starts(&system.proc, since, &mut found);
    if let Some(site) = &scope.site_root {
        sources::deploys(site, since, &mut found);
    }
    found.notes.push(
        "package history, config directories and the journal were not read: TRIAGE_PROC_ROOT narrows the checks to some processes".to_owned(),
    );
    report(scope, clock, found)
}

/// Gathers every source and builds the report. `journal` is the journal's window, when read.
pub fn collect(scope: &Search, clock: &Clock, journal: Option<Journal>) -> CheckReport {
    let since = clock.now - i64::try_from(scope.hours * 3600).unwrap_or(i64::MAX / 2);
    let mut found = Found::default();
    sources::packages(&scope.root, since, clock, &mut found);
    sources::config_files(&scope.root, scope.site_root.as_deref(), since, &mut found);
    match journal {
        Some(Journal::Read { output, .. }) => {
            sources::journal_restarts(&output, since, clock, &mut found);
        }
        Some(Journal::Partial { output, instead }) => {
            sources::journal_restarts(&output, since, clock, &mut found);
            sources::process_starts(&scope.root.join("proc"), since, &mut found);
            found.notes.push(format!(
                "the journal shows only this user's messages; run `{instead}` for every restart"
            ));
        }
        _ => sources::process_starts(&scope.root.join("proc"), since, &mut found),
    }
    if let Some(site) = &scope.site_root {
        sources::deploys(site, since, &mut found);
    }
    report(scope, clock, found)
}

fn report(scope: &Search, clock: &Clock, mut found: Found) -> CheckReport {
    if scope.stack_only {
        let before = found.changes.len();
        found.changes.retain(touches_stack);
        let other = before - found.changes.len();
        if other > 0 {
            found.notes.push(format!(
                "left out {}, not touching the web stack",
                crate::text::count(other, "change", "changes")
            ));
        }
    }
    found.changes.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.what.cmp(&b.what)));
    found.changes.dedup();
    let total = found.changes.len();
    let unreadable: Vec<String> =
        found.unread.iter().map(|u| unread_line(&u.path, u.error)).collect();
    found.changes.truncate(MAX_KEPT);
    let evidence = ChangesEvidence {
        hours: scope.hours,
        more: total - found.changes.len(),
        changes: found.changes,
        unreadable,
        notes: found.notes,
    };
    let (status, summary) = verdict(&evidence, clock, total);
    CheckReport::new(SPEC.id, status, summary)
        .with_facts(facts(&evidence, clock, total))
        .with_details(details(&evidence, clock))
        .with_evidence(Evidence::Changes(Box::new(evidence)))
}

/// A change to the web stack: a deploy, a config or site file, a package run, a package or a
/// unit of one of the services triage knows (nginx, PHP-FPM, PostgreSQL…).
pub fn touches_stack(change: &crate::contract::evidence::changes::Change) -> bool {
    let services = &crate::knowledge::services::table().services;
    match change.kind.as_str() {
        // `started nginx.service` (the journal) or `php-fpm8.2 started (pid 812)` (/proc).
        "restart" => change
            .what
            .split_whitespace()
            .any(|word| services.iter().any(|s| s.matches_unit(word) || s.matches_name(word))),
        "package" => package_names(&change.what).iter().all(|p| is_stack_package(p, services)),
        _ => true,
    }
}

/// The packages a package change names: `dpkg upgrade nginx-common 1.22 → 1.24` names one; an
/// apt run names those after its verb (`apt-get install -y jq curl`), or none (`apt upgrade`),
/// which counts as touching everything.
fn package_names(what: &str) -> Vec<String> {
    let words: Vec<&str> = what.split_whitespace().collect();
    if words.first() == Some(&"dpkg") {
        return words.get(2).map(|p| vec![(*p).to_owned()]).unwrap_or_default();
    }
    let named: Vec<String> = words
        .iter()
        .skip_while(|w| !matches!(**w, "install" | "remove" | "purge" | "reinstall"))
        .skip(1)
        .filter(|w| !w.starts_with('-') && !w.starts_with('('))
        .map(|w| (*w).to_owned())
        .collect();
    if named.is_empty() { Vec::new() } else { vec![named.join(" ")] }
}

/// One package name (or, for an apt run, the names it lists) of a known service.
fn is_stack_package(names: &str, services: &[crate::knowledge::services::ServiceSpec]) -> bool {
    names.split_whitespace().any(|name| {
        let name = name.to_ascii_lowercase();
        name.starts_with("php")
            || services.iter().any(|s| {
                name.contains(&s.id)
                    || s.names.iter().any(|n| name.contains(&n.to_ascii_lowercase()))
            })
    })
}

fn unread_line(path: &Path, error: std::io::ErrorKind) -> String {
    let shown = sanitize::line(&path.display().to_string()).into_owned();
    if error == std::io::ErrorKind::PermissionDenied {
        format!("could not read {shown} (permission denied): run `sudo triage` to include it")
    } else {
        format!("could not read {shown} ({error})")
    }
}

/// `2026-12-01 07:30` in the machine's zone.
fn when(at: i64, clock: &Clock) -> String {
    jiff::Timestamp::from_second(at)
        .map(|t| t.to_zoned(clock.tz.clone()).strftime("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn minutes_ago(at: i64, clock: &Clock) -> i64 {
    ((clock.now - at) / 60).max(0)
}

fn verdict(e: &ChangesEvidence, clock: &Clock, total: usize) -> (CheckStatus, String) {
    let Some(newest) = e.changes.first() else {
        if !e.unreadable.is_empty() {
            return (
                CheckStatus::Warning,
                format!(
                    "No change found in the last {} h, but {} could not be read.",
                    e.hours,
                    crate::text::count(e.unreadable.len(), "source", "sources")
                ),
            );
        }
        return (
            CheckStatus::Passed,
            format!("No package, config, restart or deploy in the last {} h.", e.hours),
        );
    };
    let changes = crate::text::count(total, "change", "changes");
    let ago = minutes_ago(newest.at, clock);
    (
        CheckStatus::Warning,
        format!(
            "{changes} in the last {} h; the newest {ago} min ago: {} {}.",
            e.hours, newest.kind, newest.what
        ),
    )
}

fn facts(e: &ChangesEvidence, clock: &Clock, total: usize) -> Facts {
    let mut facts = Facts::new();
    facts.set("changes.count", i64::try_from(total).unwrap_or(i64::MAX));
    if let Some(newest) = e.changes.first() {
        facts.set("changes.newest_minutes", minutes_ago(newest.at, clock));
    }
    let mut kinds: Vec<String> = Vec::new();
    for change in &e.changes {
        if !kinds.contains(&change.kind) {
            kinds.push(change.kind.clone());
        }
    }
    facts.set("changes.kinds", kinds);
    let recent: Vec<String> = e
        .changes
        .iter()
        .take(MAX_RECENT)
        .map(|c| {
            format!(
                "{} {} {}",
                when(c.at, clock),
                c.kind,
                c.what.chars().take(160).collect::<String>()
            )
        })
        .collect();
    facts.set("changes.recent", recent);
    facts
}

fn details(e: &ChangesEvidence, clock: &Clock) -> Vec<String> {
    let mut out: Vec<String> = e
        .changes
        .iter()
        .take(50)
        .map(|c| format!("{} {} {}", when(c.at, clock), c.kind, c.what))
        .collect();
    let hidden = e.changes.len().saturating_sub(50) + e.more;
    if hidden > 0 {
        out.push(format!("… and {hidden} older changes"));
    }
    out.extend(e.unreadable.iter().cloned());
    out.extend(e.notes.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::evidence::changes::Change;

    #[test]
    fn only_changes_to_the_stack_count_as_touching_it() {
        let kept = |kind: &str, what: &str| touches_stack(&Change::new(0, kind, what.to_owned()));
        assert!(!kept("package", "apt-get install -y hyperfine ripgrep (2 packages)"));
        assert!(kept("package", "apt-get install -y php8.3-fpm (1 packages)"));
        assert!(
            kept("package", "apt upgrade (93 packages)"),
            "an upgrade names nothing: it may touch all"
        );
        assert!(!kept("package", "dpkg install jq 1.6-2.1"));
        assert!(kept("package", "dpkg upgrade nginx-common 1.22 → 1.24"));
        assert!(kept("restart", "started nginx.service"));
        assert!(kept("restart", "php-fpm8.2 started (pid 812)"));
        assert!(!kept("restart", "started cron.service"));
        assert!(kept("config", "/etc/nginx/sites-enabled/shop"));
    }
}
