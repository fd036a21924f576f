//! The real binary in a pseudo-terminal, read back through a terminal emulator (vt100): start
//! it, press keys, wait for what the screen shows (every wait has a deadline and names what it
//! waited for), resize it, signal it. Each test gives it its own data directory.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const DEADLINE: Duration = Duration::from_secs(20);

pub const ENTER: &str = "\r";
pub const TAB: &str = "\t";
pub const ESC: &str = "\x1b";
pub const CTRL_S: &str = "\x13";
pub const PAGE_DOWN: &str = "\x1b[6~";

pub struct Tui {
    pub child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    pub parser: Arc<Mutex<vt100::Parser>>,
    master: Box<dyn MasterPty + Send>,
    /// The machine as the walk's checks see it: only the test's own servers, none of this
    /// host's (so none of its configs or logs).
    _view: super::View,
}

impl Tui {
    /// The binary at 80x24 with `args`, its data and config under `data`, in UTC.
    pub fn start(data: &Path, args: &[&str]) -> Tui {
        Tui::start_sized(data, args, 24, 80)
    }

    /// At 80x24, with the processes `pids` (the test's servers) the only ones the checks see.
    pub fn start_viewing(data: &Path, args: &[&str], pids: &[u32]) -> Tui {
        Tui::start_with(data, args, (24, 80), pids)
    }

    pub fn start_sized(data: &Path, args: &[&str], rows: u16, cols: u16) -> Tui {
        Tui::start_with(data, args, (rows, cols), &[])
    }

    fn start_with(data: &Path, args: &[&str], (rows, cols): (u16, u16), pids: &[u32]) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_triage"));
        cmd.args(args);
        cmd.env("TRIAGE_DATA_DIR", data);
        cmd.env("TRIAGE_CONFIG_DIR", data.join("config"));
        cmd.env("TERM", "xterm-256color");
        cmd.env("TZ", "UTC");
        let view = super::View::of(pids);
        cmd.env("TRIAGE_PROC_ROOT", &view.proc);
        for var in ["NO_COLOR", "TMUX", "STY"] {
            cmd.env_remove(var);
        }
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(
            rows.try_into().unwrap(),
            cols.try_into().unwrap(),
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
        Tui { child, writer, parser, master: pty.master, _view: view }
    }

    /// Resizes the terminal (the program gets SIGWINCH) and the emulator with it.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows.try_into().unwrap(), cols.try_into().unwrap());
        self.master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 }).unwrap();
    }

    pub fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn paste(&mut self, text: &str) {
        self.press(&format!("\x1b[200~{text}\x1b[201~"));
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `text`; fails with the screen when the deadline passes.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_for_within(text, DEADLINE)
    }

    pub fn wait_for_within(&self, text: &str, deadline: Duration) -> String {
        let start = Instant::now();
        let mut last = String::new();
        loop {
            let screen = self.screen();
            // A frame arrives in pieces: the screen is returned once it has held still for one
            // poll, so a test that reads all of it never reads half a frame.
            if screen.contains(text) && screen == last {
                return screen;
            }
            assert!(
                start.elapsed() < deadline,
                "waited {deadline:?} for {text:?}; the screen:\n{screen}"
            );
            last = screen;
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the screen shows one of `texts`; which one, and the screen.
    pub fn wait_for_any(&self, texts: &[&str]) -> (usize, String) {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if let Some(i) = texts.iter().position(|t| screen.contains(t)) {
                return (i, screen);
            }
            assert!(start.elapsed() < DEADLINE, "waited for {texts:?}; the screen:\n{screen}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the screen no longer shows `text` (an overlay closed).
    pub fn wait_gone(&self, text: &str) {
        let start = Instant::now();
        while self.screen().contains(text) {
            assert!(start.elapsed() < DEADLINE, "{text:?} stayed; the screen:\n{}", self.screen());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_exit(&mut self) -> portable_pty::ExitStatus {
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

    pub fn signal(&self, name: &str) {
        let pid = self.child.process_id().unwrap();
        let status = std::process::Command::new("sh")
            .args(["-c", &format!("kill -{name} {pid}")])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Quits through the quit question and waits for a clean exit.
    pub fn quit(&mut self) {
        self.press("q");
        self.wait_for("Quit triage?");
        self.press("y");
        assert!(self.wait_exit().success());
    }
}

/// The one session file in the data directory.
pub fn session_file(data: &Path) -> (PathBuf, serde_json::Value) {
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

pub fn entries_of(session: &serde_json::Value, kind: &str) -> Vec<serde_json::Value> {
    session["entries"].as_array().unwrap().iter().filter(|e| e["type"] == kind).cloned().collect()
}

/// The binary without a terminal (`sessions`, `export`).
pub fn triage(data: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env("TRIAGE_DATA_DIR", data)
        .env("TRIAGE_CONFIG_DIR", data.join("config"))
        .env("TZ", "UTC")
        .output()
        .unwrap()
}
