//! The thin async shell around the pure core: it owns the terminal, the clock, the check engine
//! and the disk. The loop waits on terminal events, check events, a tick (fast only while a
//! check runs) and the signals; drains what is queued, applies it, carries out the effects, and
//! draws once, only when something changed. The session is saved after every recorded event, so
//! a signal or kill -9 loses nothing that was recorded.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::checks::CheckEvent;
use crate::checks::engine::{Engine, Limits};
use crate::report::markdown;
use crate::session::{Stamp, Store};
use crate::tui::app::{App, Effect, Msg};
use crate::tui::clipboard::{self, Multiplexer};
use crate::tui::draw::{self, Theme};
use crate::tui::terminal::Guard;

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

struct Shell {
    guard: Guard,
    store: Store,
    engine: Engine,
    theme: Theme,
    mux: Multiplexer,
}

/// Runs the UI until the user quits or a signal arrives; the terminal is restored on return.
pub async fn run(
    app: &mut App,
    store: Store,
    theme: Theme,
    first: Vec<Effect>,
) -> anyhow::Result<Ended> {
    let (tx, mut checks) = mpsc::unbounded_channel::<CheckEvent>();
    let mut shell = Shell {
        guard: Guard::enter()?,
        store,
        engine: Engine::new(Limits::default(), tx),
        theme,
        mux: Multiplexer::detect(),
    };
    let mut terminal_events = EventStream::new();
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    let mut int = signal(SignalKind::interrupt())?;
    if let Some(stop) = shell.apply(app, first) {
        return Ok(shell.finish(app, stop));
    }
    shell.draw(app)?;
    loop {
        let tick =
            if app.is_animating() { Duration::from_millis(100) } else { Duration::from_secs(1) };
        let mut msgs = Vec::new();
        let mut resized = false;
        tokio::select! {
            event = terminal_events.next() => match event {
                Some(Ok(event)) => push_terminal(&mut msgs, &mut resized, event),
                // The terminal is gone (the SSH link dropped before SIGHUP arrived).
                Some(Err(_)) | None => return Ok(shell.finish(app, Stop::Signal("terminal closed"))),
            },
            Some(event) = checks.recv() => msgs.push(Msg::Check(event)),
            () = tokio::time::sleep(tick) => msgs.push(Msg::Tick),
            _ = term.recv() => return Ok(shell.finish(app, Stop::Signal("SIGTERM"))),
            _ = hup.recv() => return Ok(shell.finish(app, Stop::Signal("SIGHUP"))),
            _ = int.recv() => return Ok(shell.finish(app, Stop::Signal("SIGINT"))),
        }
        while let Ok(event) = checks.try_recv() {
            msgs.push(Msg::Check(event));
        }
        for msg in msgs {
            let fx = app.update(Stamp::now(), msg);
            if let Some(stop) = shell.apply(app, fx) {
                return Ok(shell.finish(app, stop));
            }
        }
        if app.take_dirty() || resized {
            shell.draw(app)?;
        }
    }
}

fn push_terminal(msgs: &mut Vec<Msg>, resized: &mut bool, event: TermEvent) {
    match event {
        TermEvent::Key(key) if key.kind == KeyEventKind::Press => msgs.push(Msg::Key(key)),
        TermEvent::Paste(text) => msgs.push(Msg::Paste(text)),
        TermEvent::Resize(..) => *resized = true,
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
                    self.store.save(app.session()).err().map(|e| Msg::Saved(Err(e.to_string())))
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

    fn copy(&mut self, text: &str) -> Option<Msg> {
        let sequence = clipboard::osc52(text, self.mux)?;
        self.guard
            .write_raw(&sequence)
            .err()
            .map(|e| Msg::Problem(format!("could not write to the clipboard: {e}")))
    }

    fn export(&self, app: &App) -> Result<String, String> {
        let path: PathBuf = self.store.dir().join(format!("{}.md", app.session().id));
        let text = markdown::render(app.session(), app.rules());
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path.display().to_string())
    }

    /// The last save (a no-op when nothing changed since), then the terminal back.
    fn finish(mut self, app: &App, stop: Stop) -> Ended {
        self.engine.cancel_all();
        // A session with nothing recorded (quit on the inputs form) leaves no file behind.
        if !app.session().entries.is_empty() {
            let _ = self.store.save(app.session());
        }
        drop(self.guard);
        match stop {
            Stop::Quit => Ended::Quit,
            Stop::Signal(name) => Ended::Signal(name),
        }
    }
}
