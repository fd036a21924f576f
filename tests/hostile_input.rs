//! Small hostile inputs that once crashed, hung or exhausted triage (issue 12): each is run
//! through the real binary, which must end with a clear, bounded answer.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with its own data and config directories; kills it after `limit`.
fn triage(args: &[&str], data: &Path, limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env("TRIAGE_DATA_DIR", data)
        .env("TRIAGE_CONFIG_DIR", data.join("config"))
        .env("TRIAGE_ROOT", data.join("root"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "`triage {}` did not end within {limit:?}; stderr: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A 100 KB runbook whose one long line holds 1,500 choices, each leading to a step that does
/// not exist under a long id: every problem used to carry (and print) the whole line, and each
/// "did you mean" compared long ids character by character.
fn hostile_runbook() -> String {
    let tiny = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runbooks/valid/tiny.yaml"),
    )
    .unwrap();
    let long = "x".repeat(40);
    let choices: Vec<String> =
        (0..1500).map(|i| format!("{{id: c{i}, label: L, next: missing-{long}-{i}}}")).collect();
    let line = format!("      choices: [{}]\n", choices.join(", "));
    let mut out = String::new();
    let mut replaced = false;
    let mut skipping = false;
    for l in tiny.lines() {
        if l.trim() == "choices:" && !replaced {
            out.push_str(&line);
            replaced = true;
            skipping = true;
            continue;
        }
        if skipping && l.trim_start().starts_with("- {") {
            continue;
        }
        skipping = false;
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[test]
fn a_runbook_with_thousands_of_problems_on_one_long_line_gets_a_bounded_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.yaml");
    let runbook = hostile_runbook();
    assert!(runbook.len() > 100_000, "{}", runbook.len());
    std::fs::write(&path, &runbook).unwrap();
    let out = triage(&["validate", path.to_str().unwrap()], dir.path(), Duration::from_secs(60));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", &stderr[..stderr.len().min(2000)]);
    let problems = stderr.lines().filter(|l| l.starts_with("error: ")).count();
    assert!(problems <= 101, "{problems} problems printed");
    assert!(stderr.contains("more problems not shown"), "{}", &stderr[..stderr.len().min(2000)]);
    assert!(stderr.len() < 100_000, "{} bytes printed for a 100 KB runbook", stderr.len());
    for line in stderr.lines() {
        assert!(line.chars().count() < 600, "a line of {} characters", line.chars().count());
    }
    // The caret still points under the column the headline names.
    assert!(stderr.contains("…"), "the excerpt says where it was cut");
}
