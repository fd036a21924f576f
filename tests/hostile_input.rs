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

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// An nginx error line stamped now, in the local zone as nginx writes it.
fn error_line_now() -> String {
    let now = jiff::Zoned::now();
    format!(
        "{} [error] 812#812: *7 connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream, client: 127.0.0.1, server: shop, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"shop\"",
        now.strftime("%Y/%m/%d %H:%M:%S")
    )
}

#[test]
fn a_fifo_named_as_a_log_or_met_as_a_rotated_sibling_is_skipped_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("named.log");
    mkfifo(&fifo);
    let log = dir.path().join("error.log");
    std::fs::write(&log, format!("{}\n", error_line_now())).unwrap();
    // The window reaches back into the rotated sibling only when the current file starts in it.
    mkfifo(&dir.path().join("error.log.1"));
    let args = ["logs", "--json", fifo.to_str().unwrap(), log.to_str().unwrap()];
    let out = triage(&args, dir.path(), Duration::from_secs(30));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = json["evidence"]["skipped"].to_string();
    assert!(skipped.contains("named.log: a FIFO (named pipe), not a regular file"), "{skipped}");
    assert!(skipped.contains("error.log.1: a FIFO (named pipe), not a regular file"), "{skipped}");
    assert!(json["facts"]["logs.first_line"].is_string(), "the real log was still read: {json}");
}

#[test]
fn devices_and_directories_given_as_logs_are_not_regular_files_rather_than_empty() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["logs", "--json", "/dev/zero", "/dev/urandom", dir.path().to_str().unwrap()];
    let out = triage(&args, dir.path(), Duration::from_secs(30));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = json["evidence"]["skipped"].to_string();
    assert!(skipped.contains("/dev/zero: a character device, not a regular file"), "{skipped}");
    assert!(skipped.contains("/dev/urandom: a character device, not a regular file"), "{skipped}");
    assert!(skipped.contains("a directory, not a regular file"), "{skipped}");
    assert!(!json.to_string().contains("\"empty\""), "{json}");
}

#[test]
fn a_line_longer_than_the_window_probe_still_has_its_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    let mut text = error_line_now();
    text.push_str(" payload=");
    std::fs::write(&log, text).unwrap();
    // One line of 64 MiB (sparse: the rest is NUL bytes, no newline): far past the 1 MiB the
    // window search reads looking for a line end. A 2 GB line behaves the same, only slower.
    std::fs::OpenOptions::new().write(true).open(&log).unwrap().set_len(64 << 20).unwrap();
    let out =
        triage(&["logs", "--json", log.to_str().unwrap()], dir.path(), Duration::from_secs(120));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let files = json["evidence"]["files"].to_string();
    assert!(!files.contains("no timestamps"), "{files}");
    let first = json["facts"]["logs.first_line"].as_str().unwrap_or_default();
    assert!(first.contains("php8.2-fpm.sock failed"), "{json}");
}

#[test]
fn a_fifo_or_a_directory_as_a_runbook_is_named_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("runbook.yaml");
    mkfifo(&fifo);
    let f = fifo.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [vec!["validate", f], vec!["graph", f], vec!["validate", d]] {
        let out = triage(&args, dir.path(), Duration::from_secs(20));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let named = stderr.contains("is a FIFO (named pipe); expected a YAML file")
            || stderr.contains("is a directory; expected a YAML file");
        assert!(named, "{args:?}: {stderr}");
    }
    let out = triage(&["--runbook", f, "http://127.0.0.1:9/"], dir.path(), Duration::from_secs(20));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is a FIFO (named pipe); expected a YAML file"), "{stderr}");
}

#[test]
fn a_fifo_or_a_directory_named_like_a_session_is_reported_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions");
    std::fs::create_dir_all(&sessions).unwrap();
    mkfifo(&sessions.join("20261201-084241-3fa9.json"));
    std::fs::create_dir(sessions.join("20261201-084241-3fab.json")).unwrap();
    let out = triage(&["sessions"], dir.path(), Duration::from_secs(20));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(all.contains("a FIFO (named pipe), not a regular file"), "{all}");
    assert!(all.contains("a directory, not a regular file"), "{all}");
    for args in [
        vec!["export", "20261201-084241-3fa9"],
        vec!["resume", "20261201-084241-3fa9"],
        vec!["export", "20261201-084241-3fab"],
    ] {
        let out = triage(&args, dir.path(), Duration::from_secs(20));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{args:?}: {stderr}");
    }
    let out = triage(&["export"], dir.path(), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "no readable session: {}", text(&out.stderr));
}

/// A saved session in `data`'s store, for the commands that read one.
fn saved_session(data: &Path) -> String {
    use triage::runbook::library;
    use triage::session::{Session, Stamp, Store};
    let runbook = library::resolve("http-5xx").unwrap().runbook;
    let id = "20261201-084241-3fa9".to_owned();
    let session = Session::new(
        id.clone(),
        &runbook,
        "https://shop.example.com/".into(),
        "UTC".into(),
        Stamp::from_secs(1_764_578_561, 1),
    );
    Store::at(data.join("sessions")).unwrap().save(&session).unwrap();
    id
}

#[test]
fn export_to_a_file_writes_it_owner_only_and_never_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let id = saved_session(dir.path());
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "keep me").unwrap();
    let link = dir.path().join("incident.md");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out =
        triage(&["export", &id, "-o", link.to_str().unwrap()], dir.path(), Duration::from_secs(20));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a symbolic link, not a regular file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    let file = dir.path().join("note.md");
    let out =
        triage(&["export", &id, "-o", file.to_str().unwrap()], dir.path(), Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the note holds incident details: owner only");
    assert!(std::fs::read_to_string(&file).unwrap().contains("shop.example.com"));
}

#[test]
fn check_ends_and_names_a_fifo_among_the_rotated_logs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/local/debian-lemp");
    let status = Command::new("cp").arg("-r").arg(&fixture).arg(&root).status().unwrap();
    assert!(status.success());
    let logs = root.join("var/log/nginx");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("error.log"), format!("{}\n", error_line_now())).unwrap();
    mkfifo(&logs.join("error.log.1"));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/");
    let out =
        triage(&["check", &url, "--json", "--count", "1"], dir.path(), Duration::from_secs(90));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    let logs = json["checks"].as_array().unwrap().iter().find(|c| c["check"] == "logs").unwrap();
    let shown = logs.to_string();
    assert!(shown.contains("error.log.1: a FIFO (named pipe), not a regular file"), "{shown}");
    assert!(shown.contains("php8.2-fpm.sock failed"), "the fixture's own log was read: {shown}");
}

#[test]
fn escape_sequences_a_runbook_writes_in_its_ids_never_reach_the_terminal_through_validate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("esc\x1b[2Jrunbook.yaml");
    let runbook = "id: esc\ntitle: E\nversion: '1'\nsummary: s\nstart: a\nsteps:\n  - id: a\n    title: A\n    layer: client\n    why: w\n    question:\n      kind: yes_no\n      prompt: p\n      choices:\n        - { id: \"y\\e]0;pwned\\a\\e[31m\", label: Y, outcome: done }\n        - { id: \"no\", label: N, outcome: done }\noutcomes:\n  - { id: done, title: Done, kind: resolved, summary: s }\n";
    std::fs::write(&path, runbook).unwrap();
    let out = triage(&["validate", path.to_str().unwrap()], dir.path(), Duration::from_secs(20));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("a yes_no question needs exactly two choices"), "{stderr}");
    assert!(!stdout.contains('\x1b') && !stderr.contains('\x1b'), "{stderr:?}");
    assert!(!stderr.contains('\x07'), "{stderr:?}");
}
