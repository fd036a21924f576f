//! The real binary in a pseudo-terminal, driven key by key with the screen read back through a
//! terminal emulator (vt100): a walk to an outcome with a note and an export; a session killed
//! with SIGKILL and resumed with nothing recorded missing; SIGHUP (the SSH link dropped) saving
//! the session and giving the terminal back. Every wait has a deadline and names what it waited
//! for; no sleep is an assertion. Each test uses its own temporary data directory, and the site
//! under test is a loopback server that answers like Cloudflare's own 502 page, so the walk runs
//! the real checks and pre-selects the answer their evidence supports.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

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
const DEADLINE: Duration = Duration::from_secs(20);

const ENTER: &str = "\r";
const TAB: &str = "\t";
const CTRL_S: &str = "\x13";
const PAGE_DOWN: &str = "\x1b[6~";

struct Tui {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    master: Box<dyn MasterPty + Send>,
}

impl Tui {
    fn start(data: &Path, args: &[&str]) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize { rows: 24, cols: 80, pixel_width: 0, pixel_height: 0 })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_triage"));
        cmd.args(args);
        cmd.env("TRIAGE_DATA_DIR", data);
        cmd.env("TRIAGE_CONFIG_DIR", data.join("config"));
        cmd.env("TERM", "xterm-256color");
        for var in ["NO_COLOR", "TMUX", "STY"] {
            cmd.env_remove(var);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            24.try_into().unwrap(),
            80.try_into().unwrap(),
            0,
        )));
        let mut reader = pty.master.try_clone_reader().unwrap();
        let feed = Arc::clone(&parser);
        std::thread::spawn(move || {
            let mut buf = [0_u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                feed.lock().unwrap().process(&buf[..n]);
            }
        });
        let writer = pty.master.take_writer().unwrap();
        Tui { child, writer, parser, master: pty.master }
    }

    /// Resizes the terminal (the program gets SIGWINCH) and the emulator with it.
    fn resize(&mut self, rows: u16, cols: u16) {
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows.try_into().unwrap(), cols.try_into().unwrap());
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
    }

    fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn paste(&mut self, text: &str) {
        self.press(&format!("\x1b[200~{text}\x1b[201~"));
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`; fails with the screen when the deadline passes.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the screen no longer shows `text` (an overlay closed).
    fn wait_gone(&self, text: &str) {
        let start = Instant::now();
        while self.screen().contains(text) {
            assert!(start.elapsed() < DEADLINE, "{text:?} stayed; the screen:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the program did not exit; the screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn signal(&self, name: &str) {
        let pid = self.child.process_id().unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", &format!("kill -{name} {pid}")])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The one session file in the data directory.
fn session_file(data: &Path) -> (PathBuf, serde_json::Value) {
    let dir = data.join("sessions");
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    (files[0].clone(), value)
}

fn entries_of(session: &serde_json::Value, kind: &str) -> Vec<serde_json::Value> {
    session["entries"].as_array().unwrap().iter().filter(|e| e["type"] == kind).cloned().collect()
}

fn triage(data: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env("TRIAGE_DATA_DIR", data)
        .env("TRIAGE_CONFIG_DIR", data.join("config"))
        .output()
        .unwrap()
}

/// From the start through the inputs onto the second step, with a note written there.
fn to_second_step_with_a_note(tui: &mut Tui, note: &str) {
    tui.wait_for("First, what is affected?");
    tui.press(&ENTER.repeat(5));
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
    let screen = tui.wait_for("What to send support");
    assert!(screen.contains("Resolved"), "{screen}");
    tui.press("e");
    tui.wait_for("The incident note (markdown) is written to");
    tui.press("\x1b");
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
    tui.wait_for("First, what is affected?");
    tui.resize(20, 60);
    tui.wait_for("needs at least 80x24; this terminal is 60x20");
    tui.press(&ENTER.repeat(5));
    tui.resize(30, 100);
    let screen = tui.wait_for("Confirm the public error <fast> · visitor / client");
    assert!(screen.lines().next().unwrap().trim_end().ends_with("step 1 of 4"), "{screen}");
    tui.press("q");
    tui.wait_for("Quit triage?");
    tui.press("y");
    assert!(tui.wait_exit().success());
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
    tui.press("r");
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
