//! The walk itself: entering steps, running their checks, folding check events in, suggesting
//! an answer from the evidence, answering, going back and jumping. Every change the user makes
//! is recorded in the session before anything else happens.

use std::collections::BTreeMap;

use ratatui::crossterm::event::KeyEvent;

use crate::contract::{CheckEvent, CheckRequest, RunId};
use crate::runbook::condition;
use crate::runbook::model::{Next, Outcome, Question, Step, SupportItem};
use crate::runbook::template::{render_command, render_text};
use crate::session::{Agreement, Copied, Ending, Event, Position, Suggested, Via};
use crate::tui::app::{
    App, CheckRun, Effect, Mode, Pane, RunState, StepView, clamp_step, wrap_step,
};
use crate::tui::keys::{self, Action};
use crate::tui::overlay::{Editor, Outline, Overlay, Purpose};

/// A selectable line in the details pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    Command(usize),
    Fix(usize),
    /// A command inside an expanded fix card.
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

    /// Every declared input with its value; a blank optional input is `""`.
    pub fn vars(&self) -> BTreeMap<String, String> {
        let set = self.session.inputs();
        let site = self.runbook.site_input();
        self.runbook
            .inputs
            .iter()
            .map(|i| {
                let value = if site == Some(i.name.as_str()) {
                    self.session.url.clone()
                } else {
                    set.and_then(|s| s.get(&i.name)).cloned().unwrap_or_default()
                };
                (i.name.clone(), value)
            })
            .collect()
    }

    pub fn text(&self, template: &str) -> String {
        render_text(template, &self.vars())
    }

    /// A command to show and copy. A blank optional input stays a visible `{{name}}` instead
    /// of becoming `''`: pasted as it is, the command then fails on the obvious gap rather
    /// than quietly running with an empty argument.
    pub fn command(&self, template: &str) -> String {
        let mut vars = self.vars();
        vars.retain(|_, value| !value.is_empty());
        render_command(template, &vars)
    }

    /// The selectable lines of the details pane, in screen order.
    pub fn items(&self) -> Vec<Item> {
        let Some(step) = self.current_step() else { return Vec::new() };
        let mut items: Vec<Item> = (0..step.commands.len()).map(Item::Command).collect();
        for (i, fix) in step.fixes.iter().enumerate() {
            items.push(Item::Fix(i));
            if self.view.expanded.contains(&i) {
                items.extend((0..fix.commands.len()).map(|j| Item::FixCommand(i, j)));
            }
        }
        items
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

    /// Records the step as entered and starts its checks with fresh run ids.
    pub(crate) fn enter_step(&mut self, id: &str, via: Via, fx: &mut Vec<Effect>) {
        let Some(step) = self.runbook.step(id) else { return };
        let title = self.text(&step.title);
        self.cancel_runs(fx);
        self.record(Event::StepEntered { step: id.to_owned(), title, via }, fx);
        self.view = StepView::default();
        self.focus = Pane::Question;
        self.start_checks(fx);
        self.refresh_evidence();
    }

    fn reach(&mut self, target: &Next, fx: &mut Vec<Effect>) {
        match target {
            Next::Step(id) => self.enter_step(id, Via::Answer, fx),
            Next::Outcome(id) => self.reach_outcome(id, fx),
        }
    }

    fn reach_outcome(&mut self, id: &str, fx: &mut Vec<Effect>) {
        let Some(outcome) = self.runbook.outcome(id) else { return };
        let event = Event::OutcomeReached {
            outcome: id.to_owned(),
            title: self.text(&outcome.title),
            ending: Ending::of(outcome.kind),
            summary: self.text(&outcome.summary),
        };
        self.cancel_runs(fx);
        self.record(event, fx);
        self.view = StepView::default();
        self.focus = Pane::Details;
        self.refresh_evidence();
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
        self.assessment = crate::report::assess(&self.session, &self.rules);
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
            Action::PageUp => self.scroll(-10),
            Action::PageDown => self.scroll(10),
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
            Action::Outline => self.open(Overlay::Outline(Outline::new(false))),
            Action::Search => self.open(Overlay::Outline(Outline::new(true))),
            Action::Export => fx.push(Effect::Export),
            Action::Rerun => self.rerun(fx),
            Action::Help => self.open(Overlay::Help { scroll: 0 }),
            Action::Quit => self.open(Overlay::ConfirmQuit),
        }
    }

    fn open(&mut self, overlay: Overlay) {
        self.overlay = Some(overlay);
    }

    fn panes(&self) -> &'static [Pane] {
        if self.current_step().is_some() {
            &[Pane::Question, Pane::Details, Pane::Trail]
        } else {
            &[Pane::Details, Pane::Trail]
        }
    }

    fn switch_pane(&mut self, forward: bool) {
        let panes = self.panes();
        let at = panes.iter().position(|p| *p == self.focus).unwrap_or(0);
        let next = wrap_step(at, forward, panes.len());
        self.focus = panes[next];
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
            }
            Pane::Details => {
                let count = self.items().len();
                if count == 0 {
                    self.scroll(by.signum() * by.abs().min(20));
                } else {
                    self.view.item = clamp_step(self.view.item, by, count);
                    self.view.scroll = 0;
                }
            }
            Pane::Trail => {
                let count = self.session.path().len();
                self.trail_cursor = clamp_step(self.trail_cursor, by, count);
            }
        }
    }

    fn scroll(&mut self, by: isize) {
        let lines = usize::from(self.view.scroll).saturating_add_signed(by).min(2000);
        self.view.scroll = u16::try_from(lines).unwrap_or(u16::MAX);
    }

    fn activate(&mut self, fx: &mut Vec<Effect>) {
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

    fn answer_selected(&mut self, fx: &mut Vec<Effect>) {
        let Some(step) = self.current_step() else { return };
        if let Question::Text { .. } = step.question {
            self.overlay = Some(Overlay::Editor(Box::new(Editor::new(Purpose::Answer))));
            return;
        }
        let Some(choice) = step.question.choices().get(self.view.choice) else { return };
        let suggested = self.suggestion.as_ref().and_then(|s| {
            let c = step.question.choices().get(s.choice)?;
            Some(Suggested {
                choice: c.id.clone(),
                label: self.text(&c.label),
                reason: s.reason.clone(),
            })
        });
        let agreement = match &self.suggestion {
            None => Agreement::NoSuggestion,
            Some(s) if s.choice == self.view.choice => Agreement::Confirmed,
            Some(_) => Agreement::Overrode,
        };
        let event = Event::Answered {
            step: step.id.clone(),
            choice: Some(choice.id.clone()),
            answer: self.text(&choice.label),
            suggested,
            agreement,
            fills: Vec::new(),
        };
        let target = choice.target.clone();
        self.record(event, fx);
        self.reach(&target, fx);
    }

    /// A typed answer to a text question; it fills the step's support items no check filled.
    pub(crate) fn answer_text(&mut self, text: String, fx: &mut Vec<Effect>) {
        let Some(step) = self.current_step() else { return };
        let Question::Text { then, .. } = &step.question else { return };
        let target = then.clone();
        let fills: Vec<SupportItem> = step
            .record
            .iter()
            .filter(|r| r.from.as_ref().is_none_or(|f| self.assessment.facts.get(f).is_none()))
            .map(|r| r.item)
            .collect();
        let event = Event::Answered {
            step: step.id.clone(),
            choice: None,
            answer: text,
            suggested: None,
            agreement: Agreement::NoSuggestion,
            fills,
        };
        self.record(event, fx);
        self.reach(&target, fx);
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

    fn selected_command(&self) -> Option<String> {
        let step = self.current_step()?;
        let template = match self.selected_item()? {
            Item::Command(i) => &step.commands.get(i)?.run,
            Item::FixCommand(f, c) => &step.fixes.get(f)?.commands.get(c)?.run,
            Item::Fix(_) => return None,
        };
        Some(self.command(template))
    }

    fn copy_command(&mut self, fx: &mut Vec<Effect>) {
        let Some(command) = self.selected_command() else {
            self.say("select a command first (Tab to the step, ↑↓ to one)");
            return;
        };
        let step = self.current_step().map(|s| s.id.clone());
        self.copy(step, Copied::Command, "Command copied", command, fx);
    }

    fn copy_summary(&mut self, fx: &mut Vec<Effect>) {
        let items = crate::report::support::collect(
            &self.session,
            &self.assessment.facts,
            &self.assessment,
        );
        let text = crate::report::support::plain_text(&self.session, &items, &self.assessment);
        let step = self.current_step().map(|s| s.id.clone());
        self.copy(step, Copied::SupportSummary, "Support summary copied", text, fx);
    }

    fn copy(
        &mut self,
        step: Option<String>,
        what: Copied,
        title: &str,
        text: String,
        fx: &mut Vec<Effect>,
    ) {
        fx.push(Effect::Copy(text.clone()));
        self.overlay = Some(Overlay::copied(title, &text));
        self.record(Event::Copied { step, what, text }, fx);
    }

    fn mark_tried(&mut self) {
        match self.selected_item() {
            Some(Item::Fix(fix) | Item::FixCommand(fix, _)) => {
                self.overlay = Some(Overlay::FixOutcome { fix });
            }
            _ => self.say("select a fix card first (Tab to the step, ↑↓ to a fix)"),
        }
    }

    pub(crate) fn record_fix(
        &mut self,
        fix: usize,
        outcome: crate::session::FixOutcome,
        fx: &mut Vec<Effect>,
    ) {
        let Some(step) = self.current_step() else { return };
        let Some(card) = step.fixes.get(fix) else { return };
        let event = Event::FixTried {
            step: step.id.clone(),
            fix: card.id.clone(),
            title: self.text(&card.title),
            outcome,
            verify: self.text(&card.verify),
            rollback: self.text(&card.rollback),
        };
        let title = self.text(&card.title);
        self.record(event, fx);
        self.say(format!("recorded: {title} {}", outcome.label()));
    }

    pub(crate) fn add_note(&mut self, text: String, fx: &mut Vec<Effect>) {
        if text.trim().is_empty() {
            self.say("empty note not saved");
            return;
        }
        let step = self.current_step().map(|s| s.id.clone());
        self.record(Event::Noted { step, text }, fx);
        self.say("note saved");
    }
}
