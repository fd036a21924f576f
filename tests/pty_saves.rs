//! Honest saves (issue 12), with the real binary: a store that cannot be written stops the walk
//! before it starts; a save that fails mid-walk is shown in full, and the exit says what the
//! file holds; one process per session, with `--read-only` and `--take-over` for a second one.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/walk/checkout.yaml");
const DEADLINE: Duration = Duration::from_secs(20);
const ENTER: &str = "\r";
const CTRL_S: &str = "\x13";

/// The binary in an 80x24 pseudo-terminal, its screen read back through vt100.
struct Tui {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    parser: Arc<Mutex<vt100::Parser>>,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    /// The machine as the walk's checks see it: no process of this host, so none of its logs.
    _view: support::View,
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
        let view = support::View::of(&[]);
        cmd.env("TRIAGE_PROC_ROOT", &view.proc);
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
        Tui { child, writer, parser, _master: pty.master, _view: view }
    }

    fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(start.elapsed() < DEADLINE, "waited for {text:?}; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(start.elapsed() < DEADLINE, "did not exit; the screen:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A loopback site that answers 502 to everything (the walk's checks run against it).
fn site() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0_u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad",
            );
        }
    });
    format!("http://127.0.0.1:{port}/checkout")
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The one session file in `data`.
fn session_file(data: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(data.join("sessions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

fn entries(path: &Path) -> usize {
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    value["entries"].as_array().unwrap().len()
}

/// Through the inputs onto the first step: the walk has recorded and saved its first entries.
fn into_the_walk(tui: &mut Tui) {
    tui.wait_for("First, what is affected?");
    tui.press(&ENTER.repeat(3));
    tui.wait_for("Confirm the public error");
}

fn write_a_note(tui: &mut Tui, note: &str) {
    tui.press("n");
    tui.wait_for("Note on this step");
    tui.press(note);
    tui.press(CTRL_S);
}

/// The screen's words in reading order, box borders left out, so wrapped text reads whole.
fn words(screen: &str) -> String {
    let text: String = screen
        .chars()
        .map(|c| if ('\u{2500}'..='\u{257f}').contains(&c) { ' ' } else { c })
        .collect();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn quit(tui: &mut Tui) {
    tui.press("q");
    tui.wait_for("Quit triage?");
    tui.press("y");
}

#[test]
fn a_store_that_cannot_be_written_stops_the_walk_before_it_starts() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let data = tempfile::tempdir().unwrap();
    let sessions = data.path().join("sessions");
    std::fs::create_dir(&sessions).unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&sessions, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_triage"));
    cmd.args(["--runbook", FIXTURE, "http://127.0.0.1:9/"])
        .env("TRIAGE_DATA_DIR", data.path())
        .env("TRIAGE_CONFIG_DIR", data.path().join("config"));
    if is_root() {
        // Root writes anywhere; a real read-only store is one the user may not write.
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot save sessions in {}", sessions.display())),
        "{stderr}"
    );
    assert!(stderr.contains("Set $TRIAGE_DATA_DIR to a directory you can write"), "{stderr}");
}

/// Makes every later save of `file` fail while it stays readable: immutable for root (who
/// writes anywhere else), a read-only directory for anyone else. Undone on drop.
struct Unwritable(PathBuf);

impl Unwritable {
    fn make(file: &Path) -> Unwritable {
        use std::os::unix::fs::PermissionsExt;
        if is_root() {
            assert!(Command::new("chattr").arg("+i").arg(file).status().unwrap().success());
        } else {
            let dir = file.parent().unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        }
        Unwritable(file.to_owned())
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
        let dir = self.0.parent().unwrap();
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
}

#[test]
fn a_failed_save_is_shown_in_full_and_the_exit_says_what_the_file_holds() {
    let data = tempfile::tempdir().unwrap();
    let url = site();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    into_the_walk(&mut tui);
    let file = session_file(data.path());
    let saved = entries(&file);
    let guard = Unwritable::make(&file);
    write_a_note(&mut tui, "written while the disk is full");
    let screen = tui.wait_for("NOT SAVED");
    // The whole error is on screen, wrapped: its last words too, not cut at 80 columns.
    let joined = words(&screen);
    assert!(
        joined.contains("Operation not permitted") || joined.contains("Permission denied"),
        "{screen}"
    );
    assert!(joined.contains("quit only once a save has worked"), "{screen}");
    tui.press("\x1b");
    let start = Instant::now();
    while tui.screen().contains("NOT SAVED ") {
        assert!(start.elapsed() < DEADLINE, "the box stayed open:\n{}", tui.screen());
        std::thread::sleep(Duration::from_millis(20));
    }
    quit(&mut tui);
    assert!(tui.wait_exit().success());
    let screen = tui.wait_for("NOT fully saved");
    let joined = words(&screen);
    assert!(joined.contains(&format!("holds {saved} of the")), "{screen}");
    assert!(!joined.contains("saved in"), "no claim that it was saved: {screen}");
    drop(guard);
    assert_eq!(entries(&file), saved, "the file was left as it was");
}

#[test]
fn a_second_process_on_one_session_is_told_and_can_read_it_or_take_it_over() {
    let data = tempfile::tempdir().unwrap();
    let url = site();
    let mut first = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    into_the_walk(&mut first);
    let file = session_file(data.path());
    let id = file.file_stem().unwrap().to_str().unwrap().to_owned();

    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["resume", &id])
        .env("TRIAGE_DATA_DIR", data.path())
        .env("TRIAGE_CONFIG_DIR", data.path().join("config"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let pid = first.child.process_id().unwrap();
    assert!(
        stderr.contains(&format!("session {id} is open in another triage process (pid {pid})")),
        "{stderr}"
    );
    assert!(stderr.contains("--read-only") && stderr.contains("--take-over"), "{stderr}");

    let mut reader = Tui::start(data.path(), &["resume", &id, "--read-only"]);
    reader.wait_for("read-only: nothing recorded in this run is saved");
    write_a_note(&mut reader, "only in memory");
    quit(&mut reader);
    assert!(reader.wait_exit().success());
    reader.wait_for("was open read-only: nothing recorded in this run was saved");

    write_a_note(&mut first, "from the first pane");
    first.wait_for("note saved");
    let mut second = Tui::start(data.path(), &["resume", &id, "--take-over"]);
    assert_eq!(first.wait_exit().exit_code(), 143, "the first process saved and quit");
    second.wait_for("Confirm the public error");
    write_a_note(&mut second, "from the second pane");
    second.wait_for("note saved");
    quit(&mut second);
    assert!(second.wait_exit().success());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("from the first pane") && text.contains("from the second pane"),
        "no update lost"
    );
    assert!(!text.contains("only in memory"));
}
