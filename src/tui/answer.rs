//! Answering: a choice (recording whether it followed the evidence, and the change it says was
//! made), a typed answer, the questions the runbook asks for the note, notes, fixes tried, and
//! copying a command (asking first for any value it still lacks).

use std::collections::BTreeMap;

use crate::report::note::{self, send_key};
use crate::report::support;
use crate::runbook::model::{Question, SupportItem};
use crate::session::{Agreement, Copied, Event, FixOutcome, Position, Suggested};
use crate::tui::app::{App, Effect};
use crate::tui::overlay::{Ask, Asking, Editor, Filling, Overlay, Purpose};
use crate::tui::walk::Item;

impl App {
    pub(crate) fn answer_selected(&mut self, fx: &mut Vec<Effect>) {
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
        let made = choice.made.clone().and_then(|id| step.fixes.iter().position(|f| f.id == id));
        self.record(event, fx);
        if let Some(fix) = made {
            self.record_fix(fix, FixOutcome::Made, fx);
        }
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

    /// The questions for the note nothing answered yet: the `ask:` of every step on the path
    /// whose item no check filled, then the reached outcome's `send:` entries that ask.
    pub(crate) fn open_asks(&self) -> Vec<Ask> {
        let facts = &self.assessment.incident.facts;
        let items = support::collect(&self.session, facts, &self.assessment.incident.diagnosis);
        let empty = |item: SupportItem| items.iter().any(|i| i.item == item && !i.collected());
        let mut asks: Vec<Ask> = Vec::new();
        for visit in self.session.path() {
            let Position::Step(id) = &visit.position else { continue };
            let Some(step) = self.runbook.step(id) else { continue };
            for record in &step.record {
                let Some(prompt) = &record.ask else { continue };
                let key = format!("record:{id}:{}", record.item.id());
                let repeated = asks.iter().any(|a| a.item == Some(record.item));
                if empty(record.item) && !repeated && self.session.asked(&key).is_none() {
                    asks.push(Ask { key, prompt: self.text(prompt), item: Some(record.item) });
                }
            }
        }
        asks.extend(self.send_asks());
        asks
    }

    fn send_asks(&self) -> Vec<Ask> {
        let Some((outcome, _)) = note::reached(&self.session) else { return Vec::new() };
        note::filled(&self.session, &self.assessment)
            .into_iter()
            .enumerate()
            .filter(|(_, f)| f.lines.is_empty() && f.answer.is_none())
            .filter_map(|(n, f)| {
                let prompt = f.ask?;
                Some(Ask { key: send_key(outcome, n), prompt, item: None })
            })
            .collect()
    }

    /// At an outcome: asks the open questions for the note, one after the other.
    pub(crate) fn ask_for_the_note(&mut self) {
        let asks = self.open_asks();
        if !asks.is_empty() {
            let total = asks.len();
            self.overlay = Some(Overlay::Ask(Box::new(Asking::new(asks, total))));
        }
    }

    /// `a`: the open questions again, or a word that there are none.
    pub(crate) fn ask_for_the_note_again(&mut self) {
        if self.open_asks().is_empty() {
            self.say("no open questions for the note");
        } else {
            self.ask_for_the_note();
        }
    }

    pub(crate) fn record_ask(&mut self, ask: &Ask, answer: String, fx: &mut Vec<Effect>) {
        if answer.trim().is_empty() {
            return;
        }
        let event = Event::Asked {
            key: ask.key.clone(),
            prompt: ask.prompt.clone(),
            item: ask.item,
            answer,
        };
        self.record(event, fx);
        self.refresh_evidence();
    }

    /// The template of the selected command, if a command is selected.
    fn selected_template(&self) -> Option<String> {
        let step = self.current_step()?;
        let template = match self.selected_item()? {
            Item::Command(i) => &step.commands.get(i)?.run,
            Item::FixCommand(f, c) => &step.fixes.get(f)?.commands.get(c)?.run,
            Item::Fix(_) => return None,
        };
        Some(template.clone())
    }

    /// `c`: copies the selected command; when it still lacks a value, asks for it first.
    pub(crate) fn copy_command(&mut self, fx: &mut Vec<Effect>) {
        self.view.item_touched = true;
        let Some(template) = self.selected_template() else {
            self.say("select a command first (Tab to the step, ↑↓ to one)");
            return;
        };
        let missing: Vec<(String, String)> = self
            .missing(&template)
            .iter()
            .map(|i| (i.name.clone(), self.text(&i.prompt)))
            .collect();
        if missing.is_empty() {
            self.copy_now(&template, fx);
        } else {
            self.overlay = Some(Overlay::Fill(Box::new(Filling::new(template, missing))));
        }
    }

    fn copy_now(&mut self, template: &str, fx: &mut Vec<Effect>) {
        let command = self.command(template);
        let step = self.current_step().map(|s| s.id.clone());
        self.copy(step, Copied::Command, "Command copied", command, fx);
    }

    /// The values asked for a command: recorded with the other inputs, then the copy.
    pub(crate) fn filled_in(
        &mut self,
        template: &str,
        values: Vec<(String, String)>,
        fx: &mut Vec<Effect>,
    ) {
        let mut all: BTreeMap<String, String> = self.session.inputs().cloned().unwrap_or_default();
        all.extend(values);
        self.record(Event::InputsSet { values: all }, fx);
        self.refresh_evidence();
        if self.missing(template).is_empty() {
            self.copy_now(template, fx);
        }
    }

    pub(crate) fn copy_summary(&mut self, fx: &mut Vec<Effect>) {
        let a = &self.assessment;
        let items = support::collect(&self.session, &a.incident.facts, &a.incident.diagnosis);
        let text = support::plain_text(&self.session, &items, &a.incident.diagnosis);
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

    pub(crate) fn mark_tried(&mut self) {
        self.view.item_touched = true;
        match self.selected_item() {
            Some(Item::Fix(fix) | Item::FixCommand(fix, _)) => {
                self.overlay = Some(Overlay::FixOutcome { fix });
            }
            _ => self.say("select a fix card first (Tab to the step, ↑↓ to a fix)"),
        }
    }

    pub(crate) fn record_fix(&mut self, fix: usize, outcome: FixOutcome, fx: &mut Vec<Effect>) {
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
