//! The real `triage` binary: `validate`, `graph`, `runbooks`, `completions` and their exit codes
//! (0 clean, 1 problems, 2 could not read).

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn triage(args: &[&str]) -> Output {
    triage_with_config(args, Path::new("/nonexistent/triage-test-config"))
}

fn triage_with_config(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env("TRIAGE_CONFIG_DIR", config)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runbooks").join(kind);
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited normally, not by a signal")
}

#[test]
fn builtin_runbooks_validate_clean() {
    let out = triage(&["validate", "--strict"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("builtin:http-5xx.yaml: ok — "), "{stdout}");
    assert!(stdout.contains(" steps, ") && stdout.contains(" outcomes"), "{stdout}");
}

#[test]
fn every_invalid_fixture_exits_1_with_its_position() {
    for path in fixtures("invalid") {
        let p = path.display().to_string();
        let out = triage(&["validate", &p]);
        let stderr = text(&out.stderr);
        assert_eq!(code(&out), 1, "{p}\n{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let head = format!("error: {p}:");
        let line =
            stderr.lines().find(|l| l.starts_with(&head)).unwrap_or_else(|| panic!("{stderr}"));
        let rest: Vec<&str> = line[head.len()..].splitn(3, ':').collect();
        assert!(rest[0].parse::<u32>().is_ok() && rest[1].parse::<u32>().is_ok(), "{line}");
        assert!(stderr.contains('^'), "caret missing: {stderr}");
        assert!(stderr.contains(&format!("{p}: failed — ")), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_problem_is_printed_in_full_with_the_line_and_a_caret() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = dir.join("tests/fixtures/runbooks/invalid/missing-step.yaml");
    let p = path.display().to_string();
    let out = triage(&["validate", &p]);
    let expected = format!(
        "error: {p}:20:44: choice `yes` leads to step `secnod`, which does not exist (did you mean `second`?)\n   |\n20 |         - {{ id: \"yes\", label: \"Yes\", next: secnod }}\n   |                                            ^\n"
    );
    assert!(text(&out.stderr).starts_with(&expected), "{}", text(&out.stderr));
}

#[test]
fn warnings_fail_only_with_strict() {
    for path in fixtures("warnings") {
        let p = path.display().to_string();
        let out = triage(&["validate", &p]);
        assert_eq!(code(&out), 0, "{p}");
        assert!(text(&out.stderr).contains(&format!("warning: {p}:")));
        assert!(text(&out.stdout).contains(&format!("{p}: ok — ")));
        let strict = triage(&["validate", "--strict", &p]);
        assert_eq!(code(&strict), 1, "{p}");
        assert!(text(&strict.stdout).contains("failed (--strict)"));
    }
}

#[test]
fn unreadable_files_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, b"id: \xff\xfe\n").unwrap();
    let huge = dir.path().join("huge.yaml");
    std::fs::write(&huge, vec![b'#'; triage::yaml::MAX_BYTES + 10]).unwrap();
    let missing = dir.path().join("missing.yaml");
    for path in [binary, huge, missing, dir.path().to_owned()] {
        let p = path.display().to_string();
        let out = triage(&["validate", &p]);
        assert_eq!(code(&out), 2, "{p}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(&format!("error: {p}: ")), "{}", text(&out.stderr));
    }
}

#[test]
fn the_worst_file_decides_the_exit_code() {
    let valid = fixtures("valid")[0].display().to_string();
    let invalid = fixtures("invalid")[0].display().to_string();
    assert_eq!(code(&triage(&["validate", &valid, &invalid])), 1);
    assert_eq!(code(&triage(&["validate", &invalid, "/nonexistent/x.yaml", &valid])), 2);
}

#[test]
fn graph_prints_mermaid_and_dot() {
    let out = triage(&["graph"]);
    assert_eq!(code(&out), 0);
    assert!(text(&out.stdout).starts_with("flowchart TD\n"));
    let full =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runbooks/valid/full.yaml");
    let out = triage(&["graph", &full.display().to_string(), "--format", "dot"]);
    assert_eq!(code(&out), 0);
    assert!(text(&out.stdout).starts_with("digraph \"full-example\" {\n"));
}

#[test]
fn graph_of_a_bad_runbook_fails() {
    let invalid = fixtures("invalid")[0].display().to_string();
    let out = triage(&["graph", &invalid]);
    assert_eq!(code(&out), 1);
    assert!(text(&out.stderr).contains("error: "));
    let out = triage(&["graph", "no-such-runbook"]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("no runbook with id `no-such-runbook`; known: http-5xx"));
}

#[test]
fn runbooks_lists_builtin_and_user_runbooks() {
    let config = tempfile::tempdir().unwrap();
    let dir = config.path().join("runbooks");
    std::fs::create_dir(&dir).unwrap();
    let tiny = fixtures("valid").into_iter().find(|p| p.ends_with("tiny.yaml")).unwrap();
    let tiny_text = std::fs::read_to_string(tiny).unwrap();
    std::fs::write(dir.join("tiny.yaml"), &tiny_text).unwrap();
    std::fs::write(dir.join("mine.yaml"), tiny_text.replace("id: tiny", "id: http-5xx")).unwrap();
    std::fs::write(dir.join("broken.yaml"), "id: [").unwrap();
    let out = triage_with_config(&["runbooks"], config.path());
    assert_eq!(code(&out), 0);
    let stdout = text(&out.stdout);
    let mine = dir.join("mine.yaml").display().to_string();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("http-5xx")
                && l.ends_with(&format!("{mine} (replaces built-in)"))),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.starts_with("tiny ") && l.contains("Tiny")), "{stdout}");
    assert!(
        stdout.contains(&format!("invalid: {}:", dir.join("broken.yaml").display())),
        "{stdout}"
    );
    let out = triage_with_config(&["graph", "tiny"], config.path());
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("S_first"));
}

#[test]
fn help_completions_and_the_ui_needs_a_terminal() {
    let help = triage(&["--help"]);
    assert_eq!(code(&help), 0);
    assert!(text(&help.stdout).contains("Examples:"));
    let completions = triage(&["completions", "bash"]);
    assert_eq!(code(&completions), 0);
    assert!(text(&completions.stdout).contains("validate"));
    let ui = triage(&["https://example.test/"]);
    assert_eq!(code(&ui), 2);
    assert!(text(&ui.stderr).contains("the walk-through needs a terminal"), "{}", text(&ui.stderr));
}
