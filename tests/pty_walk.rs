//! The real binary in a pseudo-terminal, driven key by key with the screen read back through a
//! terminal emulator (vt100): a walk to an outcome with a note and an export; a session killed
//! with SIGKILL and resumed with nothing recorded missing; SIGHUP (the SSH link dropped) saving
//! the session and giving the terminal back. Every wait has a deadline and names what it waited
//! for; no sleep is an assertion. Each test uses its own temporary data directory, and the site
//! under test is a loopback server that answers like Cloudflare's own 502 page, so the walk runs
//! the real checks and pre-selects the answer their evidence supports.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use support::pty::{CTRL_S, ENTER, ESC, PAGE_DOWN, TAB, Tui, entries_of, session_file, triage};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/walk/checkout.yaml");
/// The page and headers Cloudflare sends with its own 502 (see assets/fingerprints.yaml).
const CLOUDFLARE_502: &str = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>";

/// Starts a loopback site that answers every request with Cloudflare's 502 and returns its URL.
/// The thread lives as long as the test process.
fn site() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let response = format!(
                "HTTP/1.1 502 Bad Gateway\r\nServer: cloudflare\r\nCF-RAY: 8a1b2c3d4e5f6a70-AMS\r\nContent-Type: text/html\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{CLOUDFLARE_502}",
                CLOUDFLARE_502.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    format!("http://127.0.0.1:{port}/checkout")
}
fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// From the start (a URL on the command line starts the checks at once) onto the second step,
/// with a note written there.
fn to_second_step_with_a_note(tui: &mut Tui, note: &str) {
    tui.wait_for("Confirm the public error");
    tui.wait_for("A CDN error page (\"521\" & co.) ★ suggested");
    tui.press(ENTER);
    tui.wait_for("Read the nginx error log");
    tui.wait_gone("still running");
    tui.press("n");
    tui.wait_for("Note on this step");
    tui.press(note);
    tui.press(CTRL_S);
    tui.wait_for("note saved");
}

#[test]
fn walk_a_path_write_a_note_export_and_quit() {
    let data = data_dir();
    let url = site();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    to_second_step_with_a_note(&mut tui, "php-fpm socket missing");
    tui.press(ENTER);
    tui.wait_for("Your answer");
    tui.paste("connect() to unix:/run/php/php8.2-fpm.sock failed");
    tui.press(ENTER);
    tui.wait_for("Re-check after the fix");
    // The site still answers 502, so the evidence suggests "No"; the user overrides it.
    tui.wait_for("No; back to the logs ★ suggested");
    tui.press("k");
    tui.press(ENTER);
    // The outcome asks its question for the note first; Esc leaves it for later.
    tui.wait_for("For the note: question 1 of 1");
    tui.press(ESC);
    tui.wait_gone("For the note");
    tui.wait_for("The end: Resolved");
    tui.press("e");
    tui.wait_for("The incident note (markdown) is written to");
    tui.press(ESC);
    tui.wait_gone("is written to");
    tui.press("q");
    tui.wait_for("Quit triage?");
    tui.press("y");
    assert!(tui.wait_exit().success());

    let (path, session) = session_file(data.path());
    assert_eq!(entries_of(&session, "noted")[0]["text"], "php-fpm socket missing");
    let answers = entries_of(&session, "answered");
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0]["agreement"], "confirmed", "the CDN answer followed the evidence");
    assert_eq!(answers[0]["suggested"]["choice"], "cdn-error");
    assert_eq!(answers[2]["agreement"], "overrode", "{}", answers[2]);
    assert_eq!(answers[2]["suggested"]["choice"], "still-failing");
    assert_eq!(entries_of(&session, "outcome_reached").len(), 1);
    assert_eq!(entries_of(&session, "check_finished").len(), 3, "every check's result is kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let exported = std::fs::read_to_string(path.with_extension("md")).unwrap();
    assert!(exported.contains("## What to send support"));
    assert!(exported.contains("php-fpm socket missing"));

    let list = String::from_utf8(triage(data.path(), &["sessions"]).stdout).unwrap();
    assert!(list.contains("closed") && list.contains(&url), "{list}");
    let json = triage(data.path(), &["export", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["schema"], "triage.session-export");
}

#[test]
fn a_session_killed_with_sigkill_resumes_with_nothing_missing() {
    let data = data_dir();
    let url = site();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    to_second_step_with_a_note(&mut tui, "recorded before the kill");
    tui.signal("KILL");
    tui.wait_exit();
    let (_, before) = session_file(data.path());
    let recorded = before["entries"].as_array().unwrap().clone();
    assert_eq!(entries_of(&before, "noted").len(), 1);

    let mut tui = Tui::start(data.path(), &["resume"]);
    let screen = tui.wait_for("Read the nginx error log");
    assert!(screen.contains("A CDN error page"), "the trail keeps the answer:\n{screen}");
    tui.press(TAB);
    tui.press(&PAGE_DOWN.repeat(6));
    tui.wait_for("recorded before the kill");
    tui.press("q");
    tui.wait_for("Quit triage?");
    tui.press("y");
    assert!(tui.wait_exit().success());
    let (_, after) = session_file(data.path());
    let entries = after["entries"].as_array().unwrap();
    assert_eq!(&entries[..recorded.len()], &recorded[..], "nothing recorded is lost or changed");
    assert_eq!(entries[recorded.len()]["type"], "resumed");
}

#[test]
fn sighup_saves_the_session_and_gives_the_terminal_back() {
    let data = data_dir();
    let url = site();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    to_second_step_with_a_note(&mut tui, "the link is about to drop");
    assert!(tui.parser.lock().unwrap().screen().alternate_screen());
    tui.signal("HUP");
    let status = tui.wait_exit();
    assert_eq!(status.exit_code(), 129);
    tui.wait_for("triage resume");
    {
        let parser = tui.parser.lock().unwrap();
        let screen = parser.screen();
        assert!(!screen.alternate_screen(), "back on the main screen");
        assert!(!screen.hide_cursor(), "the cursor is visible again");
        assert!(!screen.bracketed_paste(), "bracketed paste is off again");
    }
    let (_, session) = session_file(data.path());
    assert_eq!(entries_of(&session, "noted")[0]["text"], "the link is about to drop");
    let list = String::from_utf8(triage(data.path(), &["sessions"]).stdout).unwrap();
    assert!(list.contains("open"), "{list}");
}

#[test]
fn sigterm_saves_the_session_and_gives_the_terminal_back() {
    let data = data_dir();
    let url = site();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    to_second_step_with_a_note(&mut tui, "stopped by the service manager");
    tui.signal("TERM");
    assert_eq!(tui.wait_exit().exit_code(), 143);
    tui.wait_for("triage resume");
    assert!(!tui.parser.lock().unwrap().screen().alternate_screen());
    let (_, session) = session_file(data.path());
    assert_eq!(entries_of(&session, "noted")[0]["text"], "stopped by the service manager");
}

#[test]
fn resizing_at_any_moment_redraws_and_too_small_says_so() {
    let data = data_dir();
    let url = site();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    tui.wait_for("Confirm the public error");
    // tmux's usual pane draws the full layout; a narrow one a compact one; a sliver one line.
    tui.resize(23, 80);
    tui.wait_for("╭ Trail");
    tui.resize(20, 60);
    tui.wait_for("\n╭ Confirm the public error");
    tui.resize(10, 36);
    tui.wait_for("triage needs 40x12 (this is 36x10)");
    tui.resize(30, 100);
    let screen = tui.wait_for("Confirm the public error <fast> · visitor / client");
    assert!(screen.lines().next().unwrap().trim_end().ends_with("step 1 of 6"), "{screen}");
    tui.quit();
}

#[test]
fn without_a_url_the_form_asks_and_quitting_before_anything_is_recorded_says_so() {
    let data = data_dir();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE]);
    tui.wait_for("First, what is affected?");
    tui.press(ESC);
    tui.wait_for("Quit triage? Nothing is recorded yet");
    tui.press("y");
    assert!(tui.wait_exit().success());
    tui.wait_for("Nothing was recorded, so no session was saved.");
    // The session's lock may stay behind; no session file does.
    let saved = std::fs::read_dir(data.path().join("sessions")).map_or(0, |dir| {
        dir.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "json")).count()
    });
    assert_eq!(saved, 0, "no session was saved");
}

#[test]
fn an_open_session_for_the_url_is_offered_for_resuming() {
    let data = data_dir();
    let url = site();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    to_second_step_with_a_note(&mut tui, "first run");
    tui.press("q");
    tui.wait_for("Quit triage?");
    tui.press("y");
    assert!(tui.wait_exit().success());
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    tui.wait_for(&format!("An open session exists for {url}"));
    tui.wait_for("⏎ r resume it");
    tui.press(ENTER);
    tui.wait_for("Read the nginx error log");
    tui.press("q");
    tui.wait_for("Quit triage?");
    tui.press("y");
    assert!(tui.wait_exit().success());
    let (_, session) = session_file(data.path());
    assert_eq!(entries_of(&session, "resumed").len(), 1, "resumed, not a second session");
}

#[test]
fn a_broken_runbook_is_reported_before_the_screen_switches() {
    let data = data_dir();
    let broken = data.path().join("broken.yaml");
    std::fs::write(&broken, "id: x\ntitle: [unclosed\n").unwrap();
    let out = triage(data.path(), &["--runbook", broken.to_str().unwrap(), "https://x.test/"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("broken.yaml:2:"), "{err}");
}

#[test]
fn a_damaged_session_file_is_reported_and_left_alone() {
    let data = data_dir();
    let dir = data.path().join("sessions");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("20251201-000000-dead.json");
    std::fs::write(&file, "{\"format\": 1, \"id\": \"20251201").unwrap();
    let out = triage(data.path(), &["resume", "20251201-000000-dead"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("damaged") && err.contains("left as it is"), "{err}");
    let list = String::from_utf8(triage(data.path(), &["sessions"]).stdout).unwrap();
    assert!(list.contains("DAMAGED"), "{list}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "{\"format\": 1, \"id\": \"20251201");
}
