//! The `logs` check against real files: only the incident window is classified, and only it
//! (plus a few probes) is read; rotated and gzip-compressed logs are read when the window
//! reaches back into them; an unreadable log says so with the sudo command; hostile lines are
//! bounded and sanitised; and the check emits only the facts the catalog declares.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use flate2::Compression;
use flate2::write::GzEncoder;
use triage::checks::logs::time::Clock;
use triage::checks::logs::{self, Params};
use triage::checks::registry;
use triage::contract::evidence::logs::LogsEvidence;
use triage::contract::{CheckReport, CheckStatus, Evidence, Progress};
use triage::facts::FactValue;

/// 2026-12-01 07:30:22 UTC: "now" in these tests.
const NOW: i64 = 1_796_110_222;

fn stamp(t: i64) -> String {
    jiff::Timestamp::from_second(t).unwrap().strftime("%Y/%m/%d %H:%M:%S").to_string()
}

fn refused(t: i64) -> String {
    format!(
        "{} [error] 1234#1234: *{t} connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: shop.example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:9000/\", host: \"shop.example.com\"\n",
        stamp(t)
    )
}

fn notice(t: i64) -> String {
    format!(
        "{} [notice] 1234#1234: *{t} a client request body is buffered to a temporary file /var/lib/nginx/body/0000000001, client: 203.0.113.7\n",
        stamp(t)
    )
}

/// A log from `from` to `to` (Unix seconds): a notice every second, a refused connect every
/// ten seconds. Its modification time is its last line's.
fn nginx_log(path: &Path, from: i64, to: i64) -> u64 {
    let mut text = String::new();
    for t in from..to {
        text.push_str(&notice(t));
        if t % 10 == 0 {
            text.push_str(&refused(t));
        }
    }
    write_with_mtime(path, text.as_bytes(), to);
    (from..to).filter(|t| t % 10 == 0).count() as u64
}

fn write_with_mtime(path: &Path, bytes: &[u8], mtime: i64) {
    fs::write(path, bytes).unwrap();
    let file = File::options().write(true).open(path).unwrap();
    file.set_modified(UNIX_EPOCH + Duration::from_secs(mtime as u64)).unwrap();
}

async fn check(files: Vec<PathBuf>, since: Option<u64>) -> (CheckReport, LogsEvidence) {
    let params = Params {
        since_minutes: since,
        files,
        config_logs: Vec::new(),
        time_limit: None,
        site: None,
        access_logs: Vec::new(),
    };
    let report =
        logs::run_with(params, Clock::new(NOW, jiff::tz::TimeZone::UTC), Progress::none()).await;
    let Evidence::Logs(evidence) = &report.evidence else { panic!("no evidence: {report:?}") };
    let evidence = (**evidence).clone();
    (report, evidence)
}

fn count(evidence: &LogsEvidence, id: &str) -> u64 {
    evidence.signatures.iter().find(|h| h.id == id).map_or(0, |h| h.count)
}

#[tokio::test]
async fn a_log_spanning_hours_is_classified_and_read_only_in_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log");
    nginx_log(&path, NOW - 6 * 3600, NOW);
    let (report, evidence) = check(vec![path.clone()], Some(30)).await;
    // Lines at NOW-1800 .. NOW-10, one every ten seconds.
    assert_eq!(count(&evidence, "nginx_upstream_refused"), 180, "{:#?}", evidence.signatures);
    assert_eq!(report.status, CheckStatus::Failed);
    let hit = &evidence.signatures[0];
    assert_eq!(hit.first.as_deref(), Some("2026-12-01T07:00:30Z"));
    assert_eq!(hit.last.as_deref(), Some("2026-12-01T07:30:20Z"));
    assert!(hit.first_line.starts_with("2026/12/01 07:00:30 [error]"), "{}", hit.first_line);
    let file = &evidence.files[0];
    // The window (a twelfth of the file), the probes of the binary search (64 KiB each, about
    // log2(size / 64 KiB) of them, plus the first and last block) and at most a block before
    // the window's first line.
    let probes = 12 * 64 * 1024;
    assert!(
        file.bytes_read < file.size / 12 + probes,
        "read {} of {} bytes for 1/12 of the time",
        file.bytes_read,
        file.size
    );
    assert_eq!(
        report.facts.get("logs.causes"),
        Some(&FactValue::List(vec!["upstream_refused".into()]))
    );
    assert_eq!(
        report.facts.get("logs.upstreams"),
        Some(&FactValue::List(vec!["http://127.0.0.1:9000/".into()]))
    );
    assert!(report.summary.starts_with("upstream_refused: "), "{}", report.summary);
}

fn gzip(path: &Path, text: &[u8], mtime: i64) {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(text).unwrap();
    write_with_mtime(path, &enc.finish().unwrap(), mtime);
}

#[tokio::test]
async fn rotated_and_gzip_logs_are_read_when_the_window_reaches_them() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("error.log");
    let one = dir.path().join("error.log.1");
    let two = dir.path().join("error.log.2.gz");
    let three = dir.path().join("error.log.3.gz");
    nginx_log(&current, NOW - 20 * 60, NOW);
    nginx_log(&one, NOW - 40 * 60, NOW - 20 * 60);
    let older = |from: i64, to: i64| {
        (from..to).map(|t| if t % 10 == 0 { refused(t) } else { notice(t) }).collect::<String>()
    };
    gzip(&two, older(NOW - 60 * 60, NOW - 40 * 60).as_bytes(), NOW - 40 * 60);
    gzip(&three, older(NOW - 120 * 60, NOW - 60 * 60).as_bytes(), NOW - 60 * 60);

    let (_, evidence) = check(vec![current.clone()], Some(50)).await;
    assert_eq!(count(&evidence, "nginx_upstream_refused"), 300, "50 min, one every 10 s");
    let read: Vec<(&str, u64)> =
        evidence.files.iter().map(|f| (f.path.rsplit('/').next().unwrap(), f.bytes_read)).collect();
    let names: Vec<&str> = read.iter().filter(|(_, n)| *n > 0).map(|(p, _)| *p).collect();
    assert_eq!(names, vec!["error.log.2.gz", "error.log.1", "error.log"], "{read:?}");
    assert!(
        evidence.files.iter().all(|f| !f.path.ends_with("error.log.3.gz")),
        "the window begins inside error.log.2.gz, so error.log.3.gz is not even opened"
    );
    let first = &evidence.signatures[0];
    assert!(
        first.file.ends_with("error.log.2.gz"),
        "the first line comes from the oldest part: {}",
        first.file
    );
    assert_eq!(first.first.as_deref(), Some("2026-12-01T06:40:30Z"));

    let (_, recent) = check(vec![current], Some(10)).await;
    assert_eq!(count(&recent, "nginx_upstream_refused"), 60);
    assert_eq!(recent.files.len(), 1, "the window does not reach error.log.1: {:?}", recent.files);
}

#[tokio::test]
async fn a_log_without_timestamps_is_read_from_its_tail_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.log");
    fs::write(
        &path,
        "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect\n",
    )
    .unwrap();
    let (_, evidence) = check(vec![path], Some(30)).await;
    assert_eq!(count(&evidence, "node_db_refused"), 1);
    assert!(evidence.files[0].note.as_deref().unwrap().contains("no timestamps triage knows"));
    assert_eq!(evidence.signatures[0].first, None);
}

#[tokio::test]
async fn hostile_lines_are_bounded_and_sanitised() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(stamp(NOW - 60).as_bytes());
    bytes.extend_from_slice(b" [error] 1#1: *1 \x1b]0;pwned\x07\x1b[31m\x9b2J\xc3\x28 connect() failed (111: Connection refused) while connecting to upstream, request: \"GET /login?password=hunter2 HTTP/1.1\"\n");
    bytes.extend_from_slice(stamp(NOW - 50).as_bytes());
    bytes.extend_from_slice(b" [error] 1#1: *2 upstream prematurely closed connection while reading response header from upstream ");
    bytes.extend(std::iter::repeat_n(b'\xff', 10 << 20));
    bytes.push(b'\n');
    fs::write(&path, &bytes).unwrap();
    let (report, evidence) = check(vec![path], Some(30)).await;
    assert_eq!(count(&evidence, "nginx_upstream_refused"), 1);
    assert_eq!(count(&evidence, "nginx_upstream_prematurely_closed"), 1);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.len() < 64 * 1024, "the report is {} bytes", json.len());
    for bad in ["\\u001b", "\\u0007", "\\u009b", "hunter2", "pwned"] {
        assert!(!json.contains(bad), "{bad} in {json}");
    }
    for line in report.details.iter().chain([&report.summary]) {
        assert!(line.chars().all(|c| !c.is_control()), "{line:?}");
    }
}

#[tokio::test]
async fn the_check_emits_only_declared_facts_of_the_declared_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log");
    nginx_log(&path, NOW - 600, NOW);
    let (report, _) = check(vec![path], Some(30)).await;
    assert!(!report.facts.is_empty());
    assert_eq!(registry::contract_breaches(&report), Vec::<String>::new());
}

#[tokio::test]
async fn a_window_with_nothing_in_it_passes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log");
    let text: String = (NOW - 600..NOW).map(notice).collect();
    fs::write(&path, text).unwrap();
    let (report, evidence) = check(vec![path], Some(30)).await;
    assert_eq!(report.status, CheckStatus::Passed, "{}", report.summary);
    assert!(evidence.signatures.is_empty());
    assert_eq!(report.summary, "No known error signature in the last 30 min of 1 log.");
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Root reads every file, so as root the real binary runs as `nobody`.
#[test]
fn an_unreadable_log_says_so_and_names_the_sudo_command() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.path().join("error.log");
    fs::write(&path, refused(NOW)).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_triage"));
    command.arg("logs").arg(&path).arg("--json");
    if is_root() {
        command.uid(65534).gid(65534);
    }
    let output = command.output().unwrap();
    let report: CheckReport = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(output.status.code(), Some(2));
    let shown = path.display().to_string();
    let CheckStatus::CouldNotRun { reason, instead } = &report.status else { panic!("{report:?}") };
    assert_eq!(reason, &format!("could not read {shown} (permission denied)"));
    assert_eq!(instead.as_deref(), Some(format!("sudo triage logs {shown} --since 30m").as_str()));
    assert_eq!(report.facts.get("logs.unreadable"), Some(&FactValue::List(vec![shown])));
}

#[test]
fn triage_logs_prints_the_evidence_and_exits_1_when_a_signature_matched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log");
    fs::write(&path, format!("{}{}", notice(NOW - 5), refused(NOW - 4))).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["logs", "--since", "all"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("failed: upstream_refused: nginx: the upstream refused the connection (nothing listens there) — 1 line in the whole files."), "{stdout}");
    assert!(
        lines[1].starts_with(
            "  nginx_upstream_refused ×1 2026-12-01 07:30:18 UTC–2026-12-01 07:30:18 UTC"
        ),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with(
            "    first: 2026/12/01 07:30:18 [error] 1234#1234: *1796110218 connect() failed (111"
        ),
        "{stdout}"
    );
    let quiet = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["logs", "--since", "nonsense"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&quiet.stderr).contains("expected e.g. 30m, 2h, 1d or all"));
}

#[tokio::test]
async fn a_scan_stopped_by_the_time_limit_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("error.log");
    nginx_log(&path, NOW - 600, NOW);
    let params = Params {
        since_minutes: Some(30),
        files: vec![path],
        config_logs: Vec::new(),
        time_limit: Some(Duration::ZERO),
        site: None,
        access_logs: Vec::new(),
    };
    let report =
        logs::run_with(params, Clock::new(NOW, jiff::tz::TimeZone::UTC), Progress::none()).await;
    assert_eq!(report.status, CheckStatus::Warning, "{}", report.summary);
    assert!(
        report.summary.ends_with("; the time limit stopped the scan before the end."),
        "{}",
        report.summary
    );
    assert!(
        report.details.iter().any(|d| d.contains("not read: the check's time limit was reached")),
        "{:?}",
        report.details
    );
}

/// One server, two sites: another site's older and more numerous errors must not be the line the
/// support note quotes for this one.
#[tokio::test]
async fn the_site_under_investigation_is_quoted_before_another_sites_errors() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("blog.error.log");
    let mut text = String::new();
    for t in (NOW - 900..NOW - 300).step_by(10) {
        text.push_str(&refused(t).replace("shop.example.com", "blog.example.com"));
    }
    write_with_mtime(&other, text.as_bytes(), NOW - 300);
    let ours = dir.path().join("shop.error.log");
    let missing = format!(
        "{} [crit] 1234#1234: *9 connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 203.0.113.7, server: shop.example.com, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"shop.example.com\"\n",
        stamp(NOW - 60)
    );
    write_with_mtime(&ours, missing.as_bytes(), NOW - 60);
    let params = |site: Option<&str>| Params {
        since_minutes: Some(30),
        files: vec![other.clone(), ours.clone()],
        config_logs: Vec::new(),
        time_limit: None,
        site: site.map(str::to_owned),
        access_logs: Vec::new(),
    };
    let clock = || Clock::new(NOW, jiff::tz::TimeZone::UTC);
    let first_line = |report: &CheckReport| {
        report.facts.get("logs.first_line").and_then(|v| v.as_text()).unwrap().to_owned()
    };

    let unfocused = logs::run_with(params(None), clock(), Progress::none()).await;
    assert!(first_line(&unfocused).contains("blog.example.com"), "without a site, by count");

    let focused = logs::run_with(params(Some("shop.example.com")), clock(), Progress::none()).await;
    let line = first_line(&focused);
    assert!(
        line.contains("(2: No such file or directory)") && line.contains("shop.example.com"),
        "{line}"
    );
    let Some(FactValue::List(causes)) = focused.facts.get("logs.causes") else { panic!() };
    assert_eq!(causes[0], "upstream_socket_missing", "this site's cause comes first: {causes:?}");
    assert!(causes.contains(&"upstream_refused".to_owned()), "the other site's is still reported");
}
