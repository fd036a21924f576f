//! The TUI's start and weight, with the release binary in a pseudo-terminal at 80x24, walking
//! the built-in runbook against a loopback site that answers 502 (the checks run for real; the
//! machine's own processes are hidden from them, as in the tests):
//!
//! 1. first frame: from spawning the process to the first screen drawn (the step's title on the
//!    terminal), beside the anchor of spawning `/bin/echo` in the same kind of terminal;
//! 2. resident memory (VmRSS, and its peak VmHWM) once the first step's checks have finished,
//!    and how much of it is the process's own (RssAnon) and how much mapped files (RssFile);
//! 3. idle CPU: the process's user+system time over 5 s with nothing happening;
//! 4. bytes written to the terminal for one keypress (↓ then ↑, averaged).
//!
//! `cargo bench --bench tui`. Figures go to docs/benchmarks.md by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, PtySize, native_pty_system};

const ROUNDS: usize = 9;

fn main() {
    let url = support::site_502();
    // Another build to compare with, in the same rounds: `TRIAGE_BENCH_OTHER=/tmp/triage-old`.
    let other = std::env::var("TRIAGE_BENCH_OTHER").ok();
    let (mut frames, mut anchors, mut others) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        anchors.push(first_output(&["/bin/echo", "ready"], "ready").0);
        frames.push(first_output(&[env!("CARGO_BIN_EXE_triage"), &url], TITLE).0);
        if let Some(other) = &other {
            others.push(first_output(&[other, &url], TITLE).0);
        }
    }
    println!("| measure | median of {ROUNDS} |");
    println!("| --- | --- |");
    println!(
        "| spawn `/bin/echo` in a pty to its output (anchor) | {:.1} ms |",
        ms(median(anchors))
    );
    println!("| triage: spawn to the first drawn screen | {:.1} ms |", ms(median(frames)));
    if let Some(other) = &other {
        println!("| `{other}`: spawn to the first drawn screen | {:.1} ms |", ms(median(others)));
    }
    weight(env!("CARGO_BIN_EXE_triage"), &url);
    if let Some(other) = &other {
        println!("| `{other}`: | |");
        weight(other, &url);
    }
}

/// The first step's title: its appearance means the first screen was drawn.
const TITLE: &str = "Confirm the public";

/// Time from spawn until `text` appears in what the process writes.
fn first_output(argv: &[&str], text: &str) -> (Duration, Term) {
    let started = Instant::now();
    let mut term = Term::spawn(argv);
    term.wait_for(text, Duration::from_secs(10));
    (started.elapsed(), term)
}

/// Memory after the first step's checks, idle CPU, and bytes per keypress.
fn weight(binary: &str, url: &str) {
    let (_, mut term) = first_output(&[binary, url], TITLE);
    term.wait_for("on every probe", Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(1));
    let pid = term.child.process_id().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).unwrap_or("").to_owned();
    println!(
        "| resident memory after the first step's checks | {} ({}) |",
        field("VmRSS"),
        field("VmHWM")
    );
    // What the resident pages are: the process's own (anonymous: heap, arenas, stacks) and
    // those of files it maps (its code and data, libc), which the page cache shares.
    println!("| of which | {}, {} |", field("RssAnon"), field("RssFile"));
    term.drain();
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(5));
    let idle = cpu_ticks(pid) - before;
    println!("| CPU while idle for 5 s | {} ms |", idle * 10);
    term.drain();
    let mut bytes = 0;
    for key in ["\x1b[B", "\x1b[A", "\x1b[B", "\x1b[A"] {
        term.press(key);
        std::thread::sleep(Duration::from_millis(300));
        bytes += term.drain();
    }
    println!("| bytes written for one keypress (↓/↑, mean of 4) | {} |", bytes / 4);
}

/// utime + stime, in clock ticks (100 a second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = stat.rsplit_once(')').unwrap().1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// A process in an 80x24 pseudo-terminal, its output collected by a thread.
struct Term {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Receiver<Vec<u8>>,
    /// What was written so far, and the screen it draws.
    seen: Vec<u8>,
    screen: vt100::Parser,
    _master: Box<dyn portable_pty::MasterPty + Send>,
    _view: support::View,
    _data: tempfile::TempDir,
}

impl Term {
    fn spawn(argv: &[&str]) -> Term {
        let pty = native_pty_system()
            .openpty(PtySize { rows: 24, cols: 80, pixel_width: 0, pixel_height: 0 })
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let view = support::View::of(&[]);
        let mut cmd = CommandBuilder::new(argv[0]);
        cmd.args(&argv[1..]);
        cmd.env("TRIAGE_DATA_DIR", data.path());
        cmd.env("TRIAGE_CONFIG_DIR", data.path().join("config"));
        cmd.env("TRIAGE_PROC_ROOT", &view.proc);
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).unwrap();
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().unwrap();
        let (send, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0_u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || send.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let writer = pty.master.take_writer().unwrap();
        let master = pty.master;
        let screen = vt100::Parser::new(24.try_into().unwrap(), 80.try_into().unwrap(), 0);
        Term {
            child,
            writer,
            output,
            seen: Vec::new(),
            screen,
            _master: master,
            _view: view,
            _data: data,
        }
    }

    /// Waits until the screen shows `text` (or, before anything is drawn, the output holds it).
    fn wait_for(&mut self, text: &str, limit: Duration) {
        let started = Instant::now();
        while !contains(&self.seen, text.as_bytes())
            && !self.screen.screen().contents().contains(text)
        {
            let left = limit.checked_sub(started.elapsed()).unwrap_or_else(|| {
                panic!("{text:?} never appeared:\n{}", self.screen.screen().contents())
            });
            if let Ok(chunk) = self.output.recv_timeout(left) {
                self.screen.process(&chunk);
                self.seen.extend(chunk);
            }
        }
    }

    /// Bytes written since the last call (waiting 100 ms for stragglers).
    fn drain(&mut self) -> usize {
        let mut n = 0;
        while let Ok(chunk) = self.output.recv_timeout(Duration::from_millis(100)) {
            n += chunk.len();
            self.screen.process(&chunk);
        }
        n
    }

    fn press(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
