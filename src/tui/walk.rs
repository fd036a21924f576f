//! The walk itself: entering steps, running their checks (again and again on a watched step),
//! folding check events in, suggesting an answer from the evidence, going back and jumping, and
//! moving through the panes. Answering is in `answer`. Every change the user makes is recorded in
//! the session before anything else happens.

use std::collections::BTreeMap;

use ratatui::crossterm::event::KeyEvent;

use crate::contract::{CheckEvent, CheckRequest, RunId};
use crate::runbook::condition;
use crate::runbook::model::{Next, Outcome, Step};
use crate::runbook::template::render_text;
use crate::session::{Ending, Event, Position, Via};
use crate::tui::app::{App, CheckRun, Effect, Mode, Pane, RunState, StepView, clamp_step};
use crate::tui::form::Form;
use crate::tui::keys::{self, Action};
use crate::tui::overlay::{Editor, Outline, Overlay, Purpose};

/// A selectable line in the details pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Command(usize),
    Fix(usize),
    /// A command inside an open fix card.
    FixCommand(usize, usize),
}

impl App {
    pub fn current_step(&self) -> Option<&Step> {
        match self.session.position() {
            Position::Step(id) => self.runbook.step(&id),
            _ => None,
        }
    }

    pub fn current_outcome(&self) -> Option<&Outcome> {
        match self.session.position() {
            Position::Outcome(id) => self.runbook.outcome(&id),
            _ => None,
        }
    }

    /// Whether fix card `i` of the current step is shown in full: on a fix step cards start
    /// open, elsewhere closed, and Enter turns one over.
    pub fn is_open(&self, i: usize) -> bool {
        let fix_step = self.current_step().is_some_and(Step::is_fix);
        fix_step != self.view.expanded.contains(&i)
    }

    /// The selectable lines of the details pane, in screen order: on a fix step its cards come
    /// first. Commands for another OS family than this one are not among them.
    pub fn items(&self) -> Vec<Item> {
        let Some(step) = self.current_step() else { return Vec::new() };
        let commands: Vec<Item> = (0..step.commands.len())
            .filter(|&i| self.fits_family(&step.commands[i]))
            .map(Item::Command)
            .collect();
        let mut fixes = Vec::new();
        for (i, fix) in step.fixes.iter().enumerate() {
            fixes.push(Item::Fix(i));
            if self.is_open(i) {
                let fitting =
                    (0..fix.commands.len()).filter(|&j| self.fits_family(&fix.commands[j]));
                fixes.extend(fitting.map(|j| Item::FixCommand(i, j)));
            }
        }
        if step.is_fix() { [fixes, commands].concat() } else { [commands, fixes].concat() }
    }

    pub fn selected_item(&self) -> Option<Item> {
        self.items().get(self.view.item).copied()
    }

    pub(crate) fn start_walk(
        &mut self,
        mut values: BTreeMap<String, String>,
        fx: &mut Vec<Effect>,
    ) {
        // The site's URL has one copy in the session, `session.url`; the other inputs are logged.
        if let Some(url) = self.runbook.site_input().and_then(|name| values.remove(name)) {
            self.session.url = url;
        }
        self.mode = Mode::Walk;
        self.record(Event::InputsSet { values }, fx);
        let start = self.runbook.start.clone();
        self.enter_step(&start, Via::Start, fx);
    }

    /// New inputs from the form during the walk: recorded, and the step's checks run again.
    pub(crate) fn change_inputs(
        &mut self,
        mut values: BTreeMap<String, String>,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(url) = self.runbook.site_input().and_then(|name| values.remove(name)) {
            self.session.url = url;
        }
        self.mode = Mode::Walk;
        self.record(Event::InputsSet { values }, fx);
        self.refresh_evidence();
        if self.current_step().is_some_and(|s| !s.checks.is_empty()) {
            self.cancel_runs(fx);
            self.start_checks(fx);
        }
        self.say("inputs changed");
    }

    /// The inputs form over the values as they are, to change them (`i`).
    fn edit_inputs(&mut self) {
        let values = self.vars();
        self.mode = Mode::Form(Form::editing(&self.runbook, &self.session.url, &values));
    }

    /// Records the step as entered and starts its checks with fresh run ids; a watched step
    /// records that monitoring began.
    pub(crate) fn enter_step(&mut self, id: &str, via: Via, fx: &mut Vec<Effect>) {
        let Some(step) = self.runbook.step(id) else { return };
        let title = self.text(&step.title);
        let fix = step.is_fix();
        self.cancel_runs(fx);
        self.record(Event::StepEntered { step: id.to_owned(), title, via }, fx);
        self.view = StepView::default();
        self.focus = if fix { Pane::Details } else { Pane::Question };
        self.round = None;
        if let Some((every_secs, for_secs)) = self.watch_window() {
            self.record(Event::Watching { step: id.to_owned(), every_secs, for_secs }, fx);
        }
        self.start_checks(fx);
        self.refresh_evidence();
    }

    pub(crate) fn reach(&mut self, target: &Next, fx: &mut Vec<Effect>) {
        match target {
            Next::Step(id) => self.enter_step(id, Via::Answer, fx),
            Next::Outcome(id) => self.reach_outcome(id, fx),
        }
    }

    fn reach_outcome(&mut self, id: &str, fx: &mut Vec<Effect>) {
        let Some(outcome) = self.runbook.outcome(id) else { return };
        let send = outcome
            .send
            .iter()
            .map(|s| crate::runbook::model::Send {
                text: self.text(&s.text),
                fill: s.fill.clone(),
                ask: s.ask.as_ref().map(|a| self.text(a)),
            })
            .collect();
        let event = Event::OutcomeReached {
            outcome: id.to_owned(),
            title: self.text(&outcome.title),
            ending: Ending::of(outcome.kind),
            summary: self.text(&outcome.summary),
            send,
        };
        self.cancel_runs(fx);
        self.record(event, fx);
        self.view = StepView::default();
        self.focus = Pane::Details;
        self.round = None;
        self.refresh_evidence();
        self.ask_for_the_note();
    }

    fn requests(&self) -> Vec<CheckRequest> {
        let Some(step) = self.current_step() else { return Vec::new() };
        let vars = self.vars();
        step.checks
            .iter()
            .map(|call| CheckRequest {
                check: call.check.clone(),
                params: call.with.iter().map(|(k, v)| (k.clone(), render_text(v, &vars))).collect(),
            })
            .collect()
    }

    fn start_checks(&mut self, fx: &mut Vec<Effect>) {
        self.round = Some(self.now);
        for request in self.requests() {
            self.start_run(request, fx);
        }
    }

    fn start_run(&mut self, request: CheckRequest, fx: &mut Vec<Effect>) {
        let run = RunId(self.next_run);
        self.next_run += 1;
        fx.push(Effect::StartCheck { run, request: request.clone() });
        self.runs.push(CheckRun { run, request, state: RunState::Queued });
    }

    /// Stops what is still running and forgets every run: late events for them are ignored.
    fn cancel_runs(&mut self, fx: &mut Vec<Effect>) {
        for run in self.runs.drain(..) {
            if !matches!(run.state, RunState::Finished(_)) {
                fx.push(Effect::CancelCheck(run.run));
            }
        }
    }

    /// After a resume: recorded results show as they were; checks without one start again.
    pub(crate) fn restore_runs(&mut self, fx: &mut Vec<Effect>) {
        let recorded: Vec<CheckRun> = self
            .session
            .results_since_entered()
            .into_iter()
            .map(|(run, request, report)| CheckRun {
                run,
                request: request.clone(),
                state: RunState::Finished(report.clone()),
            })
            .collect();
        let mut missing = Vec::new();
        self.runs.clear();
        for request in self.requests() {
            match recorded.iter().rev().find(|r| r.request == request) {
                Some(done) => self.runs.push(done.clone()),
                None => missing.push(request),
            }
        }
        self.round = Some(self.now);
        for request in missing {
            self.start_run(request, fx);
        }
    }

    fn rerun(&mut self, fx: &mut Vec<Effect>) {
        if self.current_step().is_none_or(|s| s.checks.is_empty()) {
            self.say("this step has no automatic checks");
            return;
        }
        self.cancel_runs(fx);
        self.start_checks(fx);
        self.say("checks started again");
    }

    /// The current step's watch window in seconds (`every`, `for`), its placeholders filled.
    pub fn watch_window(&self) -> Option<(u64, u64)> {
        let watch = self.current_step()?.repeat.as_ref()?;
        let vars = self.vars();
        let every = crate::text::duration(&render_text(&watch.every, &vars)).unwrap_or(10);
        let until = crate::text::duration(&render_text(&watch.until, &vars)).unwrap_or(300);
        Some((every.max(1), until))
    }

    /// Whether the current step is watched and its window has not passed.
    pub fn watching(&self) -> bool {
        let Some((_, until)) = self.watch_window() else { return false };
        let started = self.session.entered_at().unwrap_or(self.now);
        self.round.is_some_and(|round| secs(round.since(started)) < until)
    }

    /// On a watched step, the next round of checks once the last has finished and `every` has
    /// passed; a last round at or after the end of the window, then no more.
    pub(crate) fn tick_watch(&mut self, fx: &mut Vec<Effect>) {
        let Some((every, _)) = self.watch_window() else { return };
        let Some(round) = self.round else { return };
        let busy = self.runs.iter().any(|r| !matches!(r.state, RunState::Finished(_)));
        if busy || !self.watching() || secs(self.now.since(round)) < every {
            return;
        }
        self.runs.clear();
        self.start_checks(fx);
    }

    /// Folds a check event into the state; events for runs not on this step are dropped.
    pub(crate) fn on_check(&mut self, event: CheckEvent, fx: &mut Vec<Effect>) {
        let Some(index) = self.runs.iter().position(|r| r.run == event.run()) else { return };
        if matches!(self.runs[index].state, RunState::Finished(_)) {
            return;
        }
        match event {
            CheckEvent::Started { .. } => {
                self.runs[index].state = RunState::Running { progress: None };
            }
            CheckEvent::Progress { message, .. } => {
                self.runs[index].state = RunState::Running { progress: Some(message) };
            }
            CheckEvent::Finished { run, report } => {
                let request = self.runs[index].request.clone();
                self.runs[index].state = RunState::Finished(report.clone());
                let step = self.current_step().map(|s| s.id.clone()).unwrap_or_default();
                self.record(Event::CheckFinished { step, run, request, report }, fx);
                self.refresh_evidence();
            }
        }
        self.dirty = true;
    }

    /// Recomputes the facts, the diagnosis and the suggestion for the current question.
    pub(crate) fn refresh_evidence(&mut self) {
        self.assessment = self.assessment.update(&self.session, &self.rules);
        self.suggestion = self
            .current_step()
            .and_then(|step| condition::suggest(&step.question, &self.assessment.facts));
        if let Some(s) = &self.suggestion
            && !self.view.choice_touched
        {
            self.view.choice = s.choice;
        }
    }

    pub(crate) fn walk_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let Some(action) = keys::walk_action(key) else { return };
        match action {
            Action::Up => self.move_cursor(-1),
            Action::Down => self.move_cursor(1),
            Action::PageUp => self.page(false),
            Action::PageDown => self.page(true),
            Action::Top => self.move_cursor(-1000),
            Action::Bottom => self.move_cursor(1000),
            Action::NextPane => self.switch_pane(true),
            Action::PrevPane => self.switch_pane(false),
            Action::Activate => self.activate(fx),
            Action::Back => self.go_back(fx),
            Action::Note => self.open(Overlay::Editor(Box::new(Editor::new(Purpose::Note)))),
            Action::Copy => self.copy_command(fx),
            Action::CopySummary => self.copy_summary(fx),
            Action::MarkTried => self.mark_tried(),
            Action::Outline | Action::Search => self.open(Overlay::Outline(Outline::default())),
            Action::Inputs => self.edit_inputs(),
            Action::Ask => self.ask_for_the_note_again(),
            Action::Export => fx.push(Effect::Export),
            Action::Rerun => self.rerun(fx),
            Action::Help => self.open(Overlay::Help { scroll: 0 }),
            Action::Quit => self.open(Overlay::ConfirmQuit),
        }
    }

    pub(crate) fn open(&mut self, overlay: Overlay) {
        self.overlay = Some(overlay);
    }

    /// Tab (either way) goes between the question and the step (at an outcome there is only
    /// the step); ← goes to the trail at the left, and → or Tab back.
    fn switch_pane(&mut self, forward: bool) {
        let at_step = self.current_step().is_some();
        self.focus = match (forward, self.focus, at_step) {
            (true, Pane::Question, _) | (_, Pane::Trail, false) | (true, _, false) => Pane::Details,
            (true, _, true) | (false, Pane::Trail, true) => Pane::Question,
            (false, _, _) => Pane::Trail,
        };
        if self.focus == Pane::Trail {
            self.trail_cursor = self.session.path().len().saturating_sub(1);
        }
    }

    fn move_cursor(&mut self, by: isize) {
        match self.focus {
            Pane::Question => {
                let count = self.current_step().map_or(0, |s| s.question.choices().len());
                self.view.choice = clamp_step(self.view.choice, by, count);
                self.view.choice_touched = true;
                self.view.question_scroll = 0;
            }
            Pane::Details => {
                let count = self.items().len();
                if count == 0 {
                    self.scroll(by.signum() * by.abs().min(20));
                } else {
                    self.view.item = clamp_step(self.view.item, by, count);
                    self.view.item_touched = true;
                    self.view.scroll = 0;
                }
            }
            Pane::Trail => {
                let count = self.session.path().len();
                self.trail_cursor = clamp_step(self.trail_cursor, by, count);
            }
        }
    }

    /// PgDn and PgUp: the focused pane's height less one line, so one line stays in view.
    fn page(&mut self, down: bool) {
        let height = crate::tui::draw::pane_height(self, self.focus);
        let by = isize::try_from(height.saturating_sub(1).max(1)).unwrap_or(1);
        let by = if down { by } else { -by };
        match self.focus {
            Pane::Question => {
                let lines = usize::from(self.view.question_scroll).saturating_add_signed(by);
                self.view.question_scroll = u16::try_from(lines.min(500)).unwrap_or(0);
            }
            Pane::Trail => self.move_cursor(by.signum() * 3),
            Pane::Details => self.scroll(by),
        }
    }

    fn scroll(&mut self, by: isize) {
        let lines = usize::from(self.view.scroll).saturating_add_signed(by).min(2000);
        self.view.scroll = u16::try_from(lines).unwrap_or(u16::MAX);
    }

    fn activate(&mut self, fx: &mut Vec<Effect>) {
        if self.focus == Pane::Details {
            self.view.item_touched = true;
        }
        match self.focus {
            Pane::Question => self.answer_selected(fx),
            Pane::Details => match self.selected_item() {
                Some(Item::Fix(i)) if !self.view.expanded.remove(&i) => {
                    self.view.expanded.insert(i);
                }
                Some(Item::Fix(_)) | None => {}
                Some(Item::Command(_) | Item::FixCommand(..)) => self.copy_command(fx),
            },
            Pane::Trail => self.jump_to_visit(fx),
        }
    }

    /// Back along the path; the log keeps everything, the path shortens.
    fn go_back(&mut self, fx: &mut Vec<Effect>) {
        let path = self.session.path();
        let previous = path.iter().rev().skip(1).find_map(|v| match &v.position {
            Position::Step(id) => Some(id.clone()),
            _ => None,
        });
        match previous {
            Some(id) => self.enter_step(&id, Via::Back, fx),
            None => self.say("this is the first step"),
        }
    }

    fn jump_to_visit(&mut self, fx: &mut Vec<Effect>) {
        let path = self.session.path();
        let Some(visit) = path.get(self.trail_cursor) else { return };
        if self.trail_cursor + 1 == path.len() {
            self.focus = Pane::Question;
            return;
        }
        if let Position::Step(id) = &visit.position {
            self.enter_step(&id.clone(), Via::Back, fx);
        }
    }

    pub(crate) fn jump(&mut self, id: &str, fx: &mut Vec<Effect>) {
        self.enter_step(id, Via::Jump, fx);
    }
}

fn secs(d: jiff::SignedDuration) -> u64 {
    u64::try_from(d.as_secs()).unwrap_or(0)
}
