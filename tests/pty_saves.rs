//! Honest saves (issue 12), with the real binary: a store that cannot be written stops the walk
//! before it starts; a save that fails mid-walk is shown in full, and the exit says what the
//! file holds; one process per session, with `--read-only` and `--take-over` for a second one.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::pty::{CTRL_S, Tui};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/walk/checkout.yaml");

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

/// Onto the first step (a URL starts the walk at once) once its check has finished and the walk
/// has saved: the first screen is drawn before the first save, and a check that ends later
/// saves again (into a file a test may have made unwritable by then).
fn into_the_walk(tui: &mut Tui, data: &Path) {
    tui.wait_for("on every probe");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !has_session_file(data) {
        assert!(std::time::Instant::now() < deadline, "no session file after 10 s");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn has_session_file(data: &Path) -> bool {
    std::fs::read_dir(data.join("sessions"))
        .is_ok_and(|dir| dir.flatten().any(|e| e.path().extension().is_some_and(|x| x == "json")))
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
    let url = support::site_502();
    let mut tui = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    into_the_walk(&mut tui, data.path());
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
    tui.wait_gone("NOT SAVED ");
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
    let url = support::site_502();
    let mut first = Tui::start(data.path(), &["--runbook", FIXTURE, &url]);
    into_the_walk(&mut first, data.path());
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
