//! The application state and its transitions: `update(now, msg) -> effects`. Pure and
//! synchronous: no terminal, no tokio, no clock, no disk. The shell passes the time in with every
//! message and carries out the effects (save, start a check, copy, export, quit).

use std::collections::BTreeSet;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::contract::{CheckEvent, CheckReport, CheckRequest, RunId};
use crate::diagnosis::Rules;
use crate::report::Assessment;
use crate::runbook::condition::Suggestion;
use crate::runbook::model::Runbook;
use crate::session::{Event, Position, Session, Stamp};
use crate::tui::form::{Form, FormAction};
use crate::tui::overlay::Overlay;

/// What the shell hands to `update`.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press (the shell drops releases and repeats).
    Key(KeyEvent),
    /// Bracketed paste.
    Paste(String),
    /// The spinner and the clock moved on.
    Tick,
    Check(CheckEvent),
    /// How the last save went; a failure is shown, never hidden.
    Saved(Result<(), String>),
    /// Where the export went, or why it failed.
    Exported(Result<String, String>),
    /// Something the shell could not do (write to the clipboard), to show in the status line.
    Problem(String),
    /// The terminal's size, at the start and after every resize: paging moves by a pane's
    /// height less one line.
    Resize(u16, u16),
}

/// What `update` asks the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write the session to disk now (after every recorded event).
    Save,
    StartCheck {
        run: RunId,
        request: CheckRequest,
    },
    CancelCheck(RunId),
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    /// Write the markdown export next to the session and report back with `Msg::Exported`.
    Export,
    Quit,
}

/// What the screen shows as a whole.
#[derive(Debug)]
pub enum Mode {
    /// An open session exists for this URL: resume it or start fresh.
    Offer(Box<Session>),
    /// The runbook's inputs.
    Form(Form),
    /// A step or an outcome.
    Walk,
}

/// The panes of the walk screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Question,
    Details,
    Trail,
}

/// Where the cursors are on the current step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepView {
    /// The selected choice.
    pub choice: usize,
    /// The user moved the choice cursor: a later suggestion must not move it.
    pub choice_touched: bool,
    /// The selected command or fix card in the details pane.
    pub item: usize,
    /// The user moved the item cursor: the pane follows it (until then it reads from the top).
    pub item_touched: bool,
    /// Fix cards opened (or, on a fix step where cards start open, closed) by the user.
    pub expanded: BTreeSet<usize>,
    /// Lines the question pane is scrolled past the selected choice.
    pub question_scroll: u16,
    /// Lines scrolled past the selected item.
    pub scroll: u16,
}

/// One run of one check on the current step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRun {
    pub run: RunId,
    pub request: CheckRequest,
    pub state: RunState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    Queued,
    Running { progress: Option<String> },
    Finished(CheckReport),
}

/// The whole state of the UI.
#[derive(Debug)]
pub struct App {
    pub(crate) runbook: Runbook,
    pub(crate) rules: Rules,
    pub(crate) session: Session,
    pub(crate) mode: Mode,
    pub(crate) overlay: Option<Overlay>,
    pub(crate) focus: Pane,
    pub(crate) view: StepView,
    pub(crate) trail_cursor: usize,
    pub(crate) runs: Vec<CheckRun>,
    pub(crate) next_run: u64,
    pub(crate) assessment: Assessment,
    pub(crate) suggestion: Option<Suggestion>,
    pub(crate) now: Stamp,
    /// One line for the footer: what just happened.
    pub(crate) status: Option<String>,
    pub(crate) spinner: usize,
    pub(crate) dirty: bool,
    /// Why the last save failed; `None` once a save succeeds again.
    pub(crate) unsaved: Option<String>,
    /// The terminal's size as the shell last reported it.
    pub(crate) viewport: (u16, u16),
    /// When the current round of a watched step's checks began.
    pub(crate) round: Option<Stamp>,
}

impl App {
    /// A fresh walk: the inputs form first, the URL prefilled.
    pub fn new(runbook: Runbook, rules: Rules, session: Session, now: Stamp) -> App {
        let form = Form::new(&runbook, &session.url);
        let assessment = Assessment::of(&session, &rules);
        App {
            runbook,
            rules,
            session,
            mode: Mode::Form(form),
            overlay: None,
            focus: Pane::Question,
            view: StepView::default(),
            trail_cursor: 0,
            runs: Vec::new(),
            next_run: 1,
            assessment,
            suggestion: None,
            now,
            status: None,
            spinner: 0,
            unsaved: None,
            dirty: true,
            viewport: (80, 24),
            round: None,
        }
    }

    /// A fresh walk that starts at once: the URL is given and every input has a value or may
    /// stay blank, so the first step's checks run now and the inputs stay one key (`i`) away.
    /// Falls back to the form when the URL or a required input is missing.
    pub fn start(
        runbook: Runbook,
        rules: Rules,
        session: Session,
        now: Stamp,
        presets: &[(String, String)],
    ) -> (App, Vec<Effect>) {
        let mut app = App::new(runbook, rules, session, now);
        let mut fx = Vec::new();
        let Mode::Form(form) = &mut app.mode else { return (app, fx) };
        form.preset(presets);
        if let crate::tui::form::FormAction::Submit(values) = form.submit_if_ready() {
            app.start_walk(values, &mut fx);
        }
        (app, fx)
    }

    /// A fresh walk that first asks whether to resume `existing`, an open session on this URL.
    pub fn with_offer(
        runbook: Runbook,
        rules: Rules,
        fresh: Session,
        existing: Session,
        now: Stamp,
    ) -> App {
        let mut app = App::new(runbook, rules, fresh, now);
        app.mode = Mode::Offer(Box::new(existing));
        app
    }

    /// Reopens a saved session exactly where it was. Fails when the runbook no longer has the
    /// step the session stands at.
    pub fn resume(
        runbook: Runbook,
        rules: Rules,
        session: Session,
        now: Stamp,
    ) -> Result<(App, Vec<Effect>), String> {
        let mut app = App::new(runbook, rules, session, now);
        let mut fx = Vec::new();
        app.reopen(&mut fx)?;
        Ok((app, fx))
    }

    /// Switches to the walk at the session's position, recording the resumption.
    pub(crate) fn reopen(&mut self, fx: &mut Vec<Effect>) -> Result<(), String> {
        match self.session.position() {
            Position::Inputs => {
                self.mode = Mode::Form(Form::new(&self.runbook, &self.session.url));
                return Ok(());
            }
            Position::Step(id) if self.runbook.step(&id).is_none() => {
                return Err(missing(&self.session, "step", &id));
            }
            Position::Outcome(id) if self.runbook.outcome(&id).is_none() => {
                return Err(missing(&self.session, "outcome", &id));
            }
            _ => {}
        }
        self.mode = Mode::Walk;
        self.next_run = self.session.last_run().map_or(1, |r| r.0 + 1);
        self.record(Event::Resumed, fx);
        self.restore_runs(fx);
        self.refresh_evidence();
        Ok(())
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    pub fn runbook(&self) -> &Runbook {
        &self.runbook
    }

    /// What the evidence amounts to now: the same assessment `triage check` and the exports make.
    pub fn assessment(&self) -> &Assessment {
        &self.assessment
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Whether something moves on screen, so the shell ticks fast only then.
    pub fn is_animating(&self) -> bool {
        self.runs.iter().any(|r| !matches!(r.state, RunState::Finished(_)))
    }

    /// Whether the screen changed since the last call.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    /// Applies one message at time `now`.
    pub fn update(&mut self, now: Stamp, msg: Msg) -> Vec<Effect> {
        let before = crate::session::time::elapsed(now.since(self.session.started));
        let shown = crate::session::time::elapsed(self.now.since(self.session.started));
        self.now = now;
        let mut fx = Vec::new();
        match msg {
            Msg::Key(key) => {
                self.status = None;
                self.on_key(key, &mut fx);
                self.dirty = true;
            }
            Msg::Paste(text) => {
                self.on_paste(&text);
                self.dirty = true;
            }
            Msg::Tick => {
                if self.is_animating() {
                    self.spinner = self.spinner.wrapping_add(1);
                    self.dirty = true;
                }
                // The clock is in the walk screen's header; the offer and the form have none.
                self.dirty |= before != shown && matches!(self.mode, Mode::Walk);
            }
            Msg::Check(event) => self.on_check(event, &mut fx),
            Msg::Saved(result) => self.on_saved(result),
            Msg::Exported(result) => self.on_exported(result, &mut fx),
            Msg::Problem(problem) => self.say(problem),
            Msg::Resize(width, height) => {
                self.viewport = (width, height);
                self.dirty = true;
            }
        }
        if matches!(self.mode, Mode::Walk) {
            self.tick_watch(&mut fx);
        }
        fx
    }

    /// Appends an event to the session and asks for it to be saved.
    pub(crate) fn record(&mut self, event: Event, fx: &mut Vec<Effect>) {
        self.session.record(self.now, event);
        fx.push(Effect::Save);
    }

    pub(crate) fn say(&mut self, status: impl Into<String>) {
        self.status = Some(status.into());
        self.dirty = true;
    }

    fn on_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            fx.push(Effect::Quit);
            return;
        }
        if self.overlay.is_some() {
            self.overlay_key(key, fx);
            return;
        }
        match &mut self.mode {
            Mode::Offer(_) => self.offer_key(key, fx),
            Mode::Form(form) => match (form.key(key), form.editing) {
                (FormAction::Stay, _) => {}
                (FormAction::Quit, false) => self.overlay = Some(Overlay::ConfirmQuit),
                (FormAction::Quit, true) => self.mode = Mode::Walk,
                (FormAction::Submit(values), false) => self.start_walk(values, fx),
                (FormAction::Submit(values), true) => self.change_inputs(values, fx),
            },
            Mode::Walk => self.walk_key(key, fx),
        }
    }

    fn on_paste(&mut self, text: &str) {
        match (&mut self.overlay, &mut self.mode) {
            (Some(overlay), _) => overlay.paste(text),
            (None, Mode::Form(form)) => form.paste(text),
            _ => {}
        }
    }

    fn offer_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        match key.code {
            KeyCode::Char('r') | KeyCode::Enter => {
                let Mode::Offer(existing) = std::mem::replace(&mut self.mode, Mode::Walk) else {
                    return;
                };
                self.session = *existing;
                if let Err(e) = self.reopen(fx) {
                    self.say(e);
                }
            }
            KeyCode::Char('f' | 'n') => {
                self.mode = Mode::Form(Form::new(&self.runbook, &self.session.url));
                if let Mode::Form(form) = &mut self.mode
                    && let FormAction::Submit(values) = form.submit_if_ready()
                {
                    self.start_walk(values, fx);
                }
            }
            KeyCode::Char('q') | KeyCode::Esc => fx.push(Effect::Quit),
            _ => {}
        }
    }

    /// A failed save is shown in full (a box the first time each error appears, the status
    /// line after); the next save that works says so.
    fn on_saved(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                if self.unsaved.take().is_some() {
                    self.say("saved again: the session file is up to date");
                }
            }
            Err(e) => {
                let new = self.unsaved.as_deref() != Some(e.as_str());
                if new && self.overlay.is_none() {
                    let intro = "The session could not be saved. What you record stays in memory, and triage tries again after each answer; free space or fix the directory, and quit only once a save has worked.";
                    self.overlay = Some(Overlay::text("NOT SAVED", intro, &e));
                }
                self.say(format!("NOT SAVED: {e}"));
                self.unsaved = Some(e);
            }
        }
    }

    /// Why the last save failed, while it has not worked again.
    pub fn save_failure(&self) -> Option<&str> {
        self.unsaved.as_deref()
    }

    fn on_exported(&mut self, result: Result<String, String>, fx: &mut Vec<Effect>) {
        match result {
            Ok(path) => {
                self.say(format!("exported to {path}"));
                let intro = "The incident note (markdown) is written to:";
                let text = format!(
                    "{path}\n\nLater, or as JSON:\ntriage export {} --format json -o incident.json",
                    self.session.id
                );
                if self.overlay.is_none() {
                    self.overlay =
                        Some(crate::tui::overlay::Overlay::text("Exported", intro, &text));
                }
                self.record(Event::Exported { format: "markdown".to_owned(), to: path }, fx);
            }
            Err(e) => self.say(format!("could not export: {e}")),
        }
    }
}

/// `at` moved by `by`, kept within `0..count`.
pub(crate) fn clamp_step(at: usize, by: isize, count: usize) -> usize {
    if count == 0 { 0 } else { at.saturating_add_signed(by).min(count - 1) }
}

/// `at` moved one place forward or back around `0..count`.
pub(crate) fn wrap_step(at: usize, forward: bool, count: usize) -> usize {
    match count {
        0 => 0,
        _ if forward => (at + 1) % count,
        _ => (at + count - 1) % count,
    }
}

fn missing(session: &Session, what: &str, id: &str) -> String {
    format!(
        "session {} stands at {what} `{id}`, which runbook `{}` ({}) no longer has",
        session.id, session.runbook.id, session.runbook.origin
    )
}
