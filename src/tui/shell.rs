//! The thin async shell around the pure core: it owns the terminal, the clock, the check engine
//! and the disk. The loop waits on terminal events (read by a thread of their own: crossterm's
//! `EventStream` sometimes stopped delivering keys under load in the pty tests), check events, a
//! tick (fast only while a check runs) and the signals; drains what is queued, applies it, carries out the effects, and
//! draws once, only when something changed. The session is saved after every recorded event, so
//! a signal or kill -9 loses nothing that was recorded.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self as term, Event as TermEvent, KeyEventKind};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::contract::CheckEvent;
use crate::engine::{Engine, Limits};
use crate::report::markdown;
use crate::session::lock::SessionLock;
use crate::session::{Stamp, Store};
use crate::tui::app::{App, Effect, Msg};
use crate::tui::clipboard::{self, Multiplexer};
use crate::tui::draw::{self, Theme};
use crate::tui::terminal::Guard;

/// How the UI ended, and whether the last save worked.
#[derive(Debug)]
pub struct Outcome {
    pub ended: Ended,
    /// Why the final save failed (the file on disk then holds an older state, or nothing).
    pub unsaved: Option<String>,
}

/// How the UI ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The user quit.
    Quit,
    /// A signal ended it (`SIGTERM`, `SIGHUP`, `SIGINT`), or the terminal went away.
    Signal(&'static str),
}

/// Why the loop should stop.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Quit,
    Signal(&'static str),
}

/// Where the UI saves: the store, the lock of the session it writes, or nowhere (read-only).
#[derive(Debug)]
pub struct Saving {
    pub store: Store,
    /// The session's lock, taken before the UI starts; `None` takes it at the first save.
    pub lock: Option<SessionLock>,
    /// Another process holds the session: show it, save nothing.
    pub read_only: bool,
}

struct Shell {
    guard: Guard,
    saving: Saving,
    engine: Engine,
    theme: Theme,
    mux: Multiplexer,
}

/// Runs the UI until the user quits or a signal arrives; the terminal is restored on return.
pub async fn run(
    app: &mut App,
    saving: Saving,
    theme: Theme,
    first: Vec<Effect>,
) -> anyhow::Result<Outcome> {
    let (tx, mut checks) = mpsc::unbounded_channel::<CheckEvent>();
    // Caught before the terminal changes: a SIGHUP or SIGTERM in between would otherwise end
    // the process by default, leaving the alternate screen and a hidden cursor behind.
    let mut signals = Signals::new()?;
    let mut shell = Shell {
        guard: Guard::enter()?,
        saving,
        engine: Engine::new(Limits::default(), tx),
        theme,
        mux: Multiplexer::detect(),
    };
    let (terminal_tx, mut terminal_events) = mpsc::unbounded_channel();
    let reading = Arc::new(AtomicBool::new(true));
    read_terminal(terminal_tx, Arc::clone(&reading));
    let ended =
        event_loop(app, &mut shell, &mut signals, &mut terminal_events, &mut checks, first).await;
    reading.store(false, Ordering::SeqCst);
    let stop = ended?;
    Ok(shell.finish(app, stop))
}

type TerminalEvents = mpsc::UnboundedReceiver<std::io::Result<TermEvent>>;

/// Reads terminal events on a thread of its own and hands them to the loop: a blocking reader
/// never loses or delays a key. It looks every 100 ms whether the UI has ended.
fn read_terminal(tx: mpsc::UnboundedSender<std::io::Result<TermEvent>>, reading: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while reading.load(Ordering::SeqCst) {
            let event = match term::poll(Duration::from_millis(100)) {
                Ok(false) => continue,
                Ok(true) => term::read(),
                Err(e) => Err(e),
            };
            let failed = event.is_err();
            if tx.send(event).is_err() || failed {
                break;
            }
        }
    });
}

/// The signals that end the UI cleanly.
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }
}

/// Waits, applies what came, draws when something changed; returns why to stop.
async fn event_loop(
    app: &mut App,
    shell: &mut Shell,
    signals: &mut Signals,
    terminal_events: &mut TerminalEvents,
    checks: &mut mpsc::UnboundedReceiver<CheckEvent>,
    first: Vec<Effect>,
) -> anyhow::Result<Stop> {
    if let Ok(size) = shell.guard.terminal.size() {
        let fx = app.update(Stamp::now(), Msg::Resize(size.width, size.height));
        if let Some(stop) = shell.apply(app, fx) {
            return Ok(stop);
        }
    }
    // The screen first, then the first save and checks: what they change is drawn next.
    app.take_dirty();
    shell.draw(app)?;
    if let Some(stop) = shell.apply(app, first) {
        return Ok(stop);
    }
    if app.take_dirty() {
        shell.draw(app)?;
    }
    loop {
        let tick =
            if app.is_animating() { Duration::from_millis(100) } else { Duration::from_secs(1) };
        let mut msgs = Vec::new();
        let mut resized = false;
        tokio::select! {
            event = terminal_events.recv() => match event {
                Some(Ok(event)) => push_terminal(&mut msgs, &mut resized, event),
                // The terminal is gone (the SSH link dropped before SIGHUP arrived).
                Some(Err(_)) | None => return Ok(Stop::Signal("terminal closed")),
            },
            Some(event) = checks.recv() => msgs.push(Msg::Check(event)),
            () = tokio::time::sleep(tick) => msgs.push(Msg::Tick),
            _ = signals.term.recv() => return Ok(Stop::Signal("SIGTERM")),
            _ = signals.hup.recv() => return Ok(Stop::Signal("SIGHUP")),
            _ = signals.int.recv() => return Ok(Stop::Signal("SIGINT")),
        }
        drain(terminal_events, checks, &mut msgs, &mut resized);
        for msg in msgs {
            let fx = app.update(Stamp::now(), msg);
            if let Some(stop) = shell.apply(app, fx) {
                return Ok(stop);
            }
        }
        if app.take_dirty() || resized {
            shell.draw(app)?;
        }
    }
}

/// Everything already queued, so a burst (a paste, many check events) draws once.
fn drain(
    terminal_events: &mut TerminalEvents,
    checks: &mut mpsc::UnboundedReceiver<CheckEvent>,
    msgs: &mut Vec<Msg>,
    resized: &mut bool,
) {
    while let Ok(Ok(event)) = terminal_events.try_recv() {
        push_terminal(msgs, resized, event);
    }
    while let Ok(event) = checks.try_recv() {
        msgs.push(Msg::Check(event));
    }
}

fn push_terminal(msgs: &mut Vec<Msg>, resized: &mut bool, event: TermEvent) {
    match event {
        TermEvent::Key(key) if key.kind == KeyEventKind::Press => msgs.push(Msg::Key(key)),
        TermEvent::Paste(text) => msgs.push(Msg::Paste(text)),
        TermEvent::Resize(width, height) => {
            *resized = true;
            msgs.push(Msg::Resize(width, height));
        }
        _ => {}
    }
}

impl Shell {
    fn draw(&mut self, app: &App) -> std::io::Result<()> {
        let theme = self.theme;
        self.guard.terminal.draw(|frame| draw::render(app, frame, theme))?;
        Ok(())
    }

    /// Carries out effects, feeding results back as messages; says when to stop.
    fn apply(&mut self, app: &mut App, effects: Vec<Effect>) -> Option<Stop> {
        let mut queue = std::collections::VecDeque::from(effects);
        let mut stop = None;
        let mut saved = false;
        while let Some(effect) = queue.pop_front() {
            let reply = match effect {
                Effect::Save if saved => None,
                Effect::Save => {
                    saved = true;
                    self.save(app)
                }
                Effect::StartCheck { run, request } => {
                    self.engine.start(run, request);
                    None
                }
                Effect::CancelCheck(run) => {
                    self.engine.cancel(run);
                    None
                }
                Effect::Copy(text) => self.copy(&text),
                Effect::Export => Some(Msg::Exported(self.export(app))),
                Effect::Quit => {
                    stop = Some(Stop::Quit);
                    None
                }
            };
            if let Some(msg) = reply {
                saved = false;
                queue.extend(app.update(Stamp::now(), msg));
            }
        }
        stop
    }

    /// Saves under the session's lock (taken now if the walk moved to another session), and
    /// says how it went; nothing in read-only mode.
    fn save(&mut self, app: &App) -> Option<Msg> {
        if self.saving.read_only {
            return None;
        }
        let id = &app.session().id;
        if self.saving.lock.as_ref().is_none_or(|l| l.id() != id) {
            match self.saving.store.lock(id) {
                Ok(lock) => self.saving.lock = Some(lock),
                Err(e) => return Some(Msg::Saved(Err(e.to_string()))),
            }
        }
        Some(Msg::Saved(self.saving.store.save(app.session()).map_err(|e| e.to_string())))
    }

    fn copy(&mut self, text: &str) -> Option<Msg> {
        let sequence = clipboard::osc52(text, self.mux)?;
        self.guard
            .write_raw(&sequence)
            .err()
            .map(|e| Msg::Problem(format!("could not write to the clipboard: {e}")))
    }

    fn export(&self, app: &App) -> Result<String, String> {
        let path: PathBuf = self.saving.store.dir().join(format!("{}.md", app.session().id));
        let text = markdown::render(app.session(), app.rules());
        crate::file::write_private(&path, text.as_bytes())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path.display().to_string())
    }

    /// The last save, then the terminal back.
    fn finish(mut self, app: &App, stop: Stop) -> Outcome {
        self.engine.cancel_all();
        // A session with nothing recorded (quit on the inputs form) leaves no file behind.
        let unsaved = if app.session().entries.is_empty() {
            None
        } else {
            match self.save(app) {
                Some(Msg::Saved(Err(e))) => Some(e),
                _ => None,
            }
        };
        drop(self.guard);
        let ended = match stop {
            Stop::Quit => Ended::Quit,
            Stop::Signal(name) => Ended::Signal(name),
        };
        Outcome { ended, unsaved }
    }
}
