//! The journal path of the `logs` check, with a stand-in `journalctl` (a shell script printing
//! what journalctl prints in `short-iso`): the window is asked for with `--since=@…` and a line
//! bound, OOM kills and unit failures are classified, and a user who sees only their own
//! messages is told the sudo command.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use triage::checks::logs::journal::{self, Journal};
use triage::checks::logs::time::Clock;
use triage::checks::logs::{self, Params};
use triage::contract::evidence::logs::LogsEvidence;
use triage::contract::{Evidence, Progress};
use triage::facts::FactValue;

/// 2026-12-01 07:30:22 UTC.
const NOW: i64 = 1_796_110_222;

const JOURNAL: &str = "\
2026-12-01T06:10:00+00:00 web1 kernel: Out of memory: Killed process 1111 (mysqld) total-vm:2048576kB, anon-rss:1524288kB, file-rss:0kB, shmem-rss:0kB, UID:106 pgtables:4048kB oom_score_adj:0
2026-12-01T07:25:00+00:00 web1 kernel: Out of memory: Killed process 4321 (php-fpm8.2) total-vm:1048576kB, anon-rss:524288kB, file-rss:0kB, shmem-rss:0kB, UID:33 pgtables:2048kB oom_score_adj:0
2026-12-01T07:25:01+00:00 web1 systemd[1]: php8.2-fpm.service: Main process exited, code=killed, status=9/KILL
2026-12-01T07:25:01+00:00 web1 systemd[1]: php8.2-fpm.service: Failed with result 'signal'.
";

/// A `journalctl` that records its arguments next to itself and prints `JOURNAL`.
fn fake_journalctl(dir: &Path, stderr: &str) -> PathBuf {
    let path = dir.join("journalctl");
    let script = format!(
        "#!/bin/sh\necho \"$@\" > \"$0.args\"\ncat <<'EOF'\n{JOURNAL}EOF\necho '{stderr}' >&2\n"
    );
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

async fn check_with(journal: Journal) -> (triage::contract::CheckReport, LogsEvidence) {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("error.log");
    fs::write(&empty, "").unwrap();
    let params = Params {
        since_minutes: Some(30),
        files: vec![empty],
        config_logs: Vec::new(),
        time_limit: None,
        site: None,
        access_logs: Vec::new(),
    };
    let clock = Clock::new(NOW, jiff::tz::TimeZone::UTC);
    let report = logs::run_with_journal(params, clock, Progress::none(), Some(journal)).await;
    let Evidence::Logs(e) = &report.evidence else { panic!("{report:?}") };
    let e = (**e).clone();
    (report, e)
}

#[tokio::test]
async fn the_journal_window_is_asked_for_bounded_and_classified() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_journalctl(dir.path(), "");
    let journal = journal::read(&program, NOW - 1800).await;
    let args = fs::read_to_string(dir.path().join("journalctl.args")).unwrap();
    assert!(args.contains(&format!("--since=@{}", NOW - 1800)), "{args}");
    assert!(
        args.contains("--lines=200000")
            && args.contains("--no-pager")
            && args.contains("--output=short-iso"),
        "{args}"
    );
    let (report, evidence) = check_with(journal).await;
    let counts: Vec<(&str, u64)> =
        evidence.signatures.iter().map(|s| (s.id.as_str(), s.count)).collect();
    assert_eq!(
        counts,
        vec![("kernel_oom_kill", 1), ("systemd_unit_failed", 1), ("systemd_main_killed", 1)],
        "the 06:10 kill is outside the window"
    );
    assert_eq!(evidence.signatures[0].file, "systemd journal");
    assert_eq!(report.facts.get("logs.journal"), Some(&FactValue::Text("read".into())));
    let rules = triage::diagnosis::Rules::builtin().unwrap();
    assert_eq!(triage::diagnosis::diagnose(&rules, &report.facts).verdict.cause, "out_of_memory");
}

#[tokio::test]
async fn a_user_who_sees_only_their_own_messages_is_told_the_sudo_command() {
    let dir = tempfile::tempdir().unwrap();
    let program = fake_journalctl(
        dir.path(),
        "Hint: You are currently not seeing messages from other users and the system.",
    );
    let journal = journal::read(&program, NOW - 1800).await;
    let (report, evidence) = check_with(journal).await;
    assert_eq!(report.facts.get("logs.journal"), Some(&FactValue::Text("partial".into())));
    let unread = &evidence.unreadable[0];
    assert_eq!(unread.path, "systemd journal");
    assert_eq!(unread.instead, format!("sudo journalctl --no-pager --since @{}", NOW - 1800));
    assert!(
        report.details.iter().any(|d| d.contains("run `sudo journalctl")),
        "{:?}",
        report.details
    );
}

#[tokio::test]
async fn no_journal_is_skipped_with_the_reason() {
    let (report, evidence) =
        check_with(Journal::Unavailable { reason: "no systemd journal on this machine".into() })
            .await;
    assert_eq!(
        evidence.skipped,
        vec!["systemd journal: no systemd journal on this machine".to_owned()]
    );
    assert_eq!(report.facts.get("logs.journal"), Some(&FactValue::Text("unavailable".into())));
    assert!(
        report
            .details
            .iter()
            .any(|d| d == "skipped systemd journal: no systemd journal on this machine")
    );
    let missing = journal::read(Path::new("/nonexistent/journalctl"), NOW).await;
    assert!(
        matches!(missing, Journal::Unavailable { reason } if reason.starts_with("could not run journalctl"))
    );
}
