//! What was recorded during an incident: the inputs, every step entered, every answer (with the
//! suggestion the evidence made and whether the user confirmed or overrode it), notes, fixes
//! tried, commands copied and check results, each stamped with the time and its UTC offset.
//!
//! The session is an append-only log: nothing recorded is ever changed or removed; going back
//! and answering differently appends. Everything else (where the walk is, the path so far, the
//! evidence) is derived by replaying the log. This module performs no IO except in `store`, and
//! never reads the clock (the shell passes [`Stamp`]s in).

pub mod lock;
pub mod store;
pub mod time;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::contract::{CheckReport, CheckRequest, RunId};
use crate::facts::Facts;
use crate::runbook::model::{OutcomeKind, Runbook, Send, SupportItem};

pub use store::{Listed, Store, StoreError};
pub use time::Stamp;

/// The version of the session file format; readers refuse newer files. 2 added `asked` and
/// `watching` entries and the `made` fix outcome; format 1 files read as they are.
pub const FORMAT: u32 = 2;

/// One incident walk-through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Always [`FORMAT`] when written by this build.
    pub format: u32,
    pub id: String,
    pub runbook: RunbookRef,
    /// The affected URL: the one copy, from the command line and then the form's URL input
    /// (normalised by `SiteUrl`); `InputsSet` holds the other inputs.
    pub url: String,
    /// The IANA name of the time zone the session was recorded in (`Europe/Berlin`, `UTC`).
    pub time_zone: String,
    pub started: Stamp,
    pub entries: Vec<Entry>,
}

/// Which runbook the session walks, so `resume` can find it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookRef {
    pub id: String,
    pub title: String,
    pub version: String,
    /// `builtin:<file>` or the path it was loaded from.
    pub origin: String,
}

impl RunbookRef {
    pub fn of(runbook: &Runbook) -> RunbookRef {
        RunbookRef {
            id: runbook.id.clone(),
            title: runbook.title.clone(),
            version: runbook.version.clone(),
            origin: runbook.origin.clone(),
        }
    }
}

/// One recorded event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Stamp,
    #[serde(flatten)]
    pub event: Event,
}

/// Everything a session records. Titles and labels are copied in, so an export reads well even
/// when the runbook has changed since.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Event {
    /// The runbook's inputs as confirmed on the form (a blank optional input is `""`), but for
    /// the site's URL, which is the session's `url`.
    InputsSet {
        values: BTreeMap<String, String>,
    },
    StepEntered {
        step: String,
        title: String,
        via: Via,
    },
    Answered {
        step: String,
        /// The choice id; `None` for a text question.
        choice: Option<String>,
        /// The choice's label, or the text typed.
        answer: String,
        /// What the evidence suggested when the user answered.
        suggested: Option<Suggested>,
        agreement: Agreement,
        /// Support-note items this (text) answer fills, where no check filled them.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        fills: Vec<SupportItem>,
    },
    Noted {
        step: Option<String>,
        text: String,
    },
    /// Monitoring began at this step: its checks run every `every_secs` for `for_secs`.
    Watching {
        step: String,
        every_secs: u64,
        for_secs: u64,
    },
    /// The answer to a question the runbook asks for the note (a `record:` or `send:` `ask`).
    Asked {
        /// Which ask: `record:<step>:<item>` or `send:<outcome>:<n>`, so it is asked once.
        key: String,
        prompt: String,
        /// The support item the answer fills, if it is one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        item: Option<SupportItem>,
        answer: String,
    },
    FixTried {
        step: String,
        fix: String,
        title: String,
        outcome: FixOutcome,
        verify: String,
        rollback: String,
    },
    Copied {
        step: Option<String>,
        what: Copied,
        text: String,
    },
    CheckFinished {
        step: String,
        run: RunId,
        request: CheckRequest,
        report: CheckReport,
    },
    OutcomeReached {
        outcome: String,
        title: String,
        ending: Ending,
        summary: String,
        /// The outcome's `send:` list, its texts rendered, so the note can fill it in.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        send: Vec<Send>,
    },
    Exported {
        format: String,
        to: String,
    },
    /// The session was reopened (`triage resume`, or "resume" at start).
    Resumed,
}

/// How a step was entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The runbook's first step, once the inputs were set.
    Start,
    /// The answer to the previous step's question led here.
    Answer,
    /// The user went back along the path.
    Back,
    /// The user jumped here from the outline, the search or the trail.
    Jump,
}

/// The suggestion the evidence made for a question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggested {
    pub choice: String,
    pub label: String,
    pub reason: String,
}

/// Whether the answer followed the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    /// The evidence suggested this answer and the user confirmed it.
    Confirmed,
    /// The evidence suggested another answer; the user chose this one.
    Overrode,
    /// The evidence suggested nothing.
    NoSuggestion,
}

impl Agreement {
    pub fn label(self) -> &'static str {
        match self {
            Agreement::Confirmed => "confirmed the suggestion",
            Agreement::Overrode => "overrode the suggestion",
            Agreement::NoSuggestion => "no suggestion",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixOutcome {
    Worked,
    DidNotWork,
    Partly,
    /// An answer said the change was made; whether it worked is for monitoring to show.
    Made,
}

impl FixOutcome {
    pub fn label(self) -> &'static str {
        match self {
            FixOutcome::Worked => "worked",
            FixOutcome::DidNotWork => "did not work",
            FixOutcome::Partly => "partly worked",
            FixOutcome::Made => "change made",
        }
    }
}

/// What was copied to the clipboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Copied {
    Command,
    SupportSummary,
}

/// How the walk ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Ending {
    Resolved,
    /// Handed on; `to` says to whom, as people say it ("the hosting provider").
    Escalated {
        to: String,
    },
}

impl Ending {
    pub fn of(kind: OutcomeKind) -> Ending {
        match kind {
            OutcomeKind::Resolved => Ending::Resolved,
            OutcomeKind::Escalate(to) => Ending::Escalated { to: to.label().to_owned() },
        }
    }
}

/// Where the walk stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// The inputs are not set yet.
    Inputs,
    Step(String),
    Outcome(String),
}

/// One place on the path so far, with the latest answer given there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visit {
    pub position: Position,
    pub title: String,
    pub answer: Option<String>,
}

impl Session {
    pub fn new(
        id: String,
        runbook: &Runbook,
        url: String,
        time_zone: String,
        started: Stamp,
    ) -> Self {
        Session {
            format: FORMAT,
            id,
            runbook: RunbookRef::of(runbook),
            url,
            time_zone,
            started,
            entries: Vec::new(),
        }
    }

    /// Appends an event. The caller saves the session after each.
    pub fn record(&mut self, at: Stamp, event: Event) {
        self.entries.push(Entry { at, event });
    }

    /// The inputs as last confirmed.
    pub fn inputs(&self) -> Option<&BTreeMap<String, String>> {
        self.entries.iter().rev().find_map(|e| match &e.event {
            Event::InputsSet { values } => Some(values),
            _ => None,
        })
    }

    /// The step or outcome entered last.
    pub fn position(&self) -> Position {
        self.entries.iter().rev().find_map(|e| position_of(&e.event)).unwrap_or(Position::Inputs)
    }

    /// A session is closed once its walk has reached an outcome (going back reopens it).
    pub fn is_closed(&self) -> bool {
        matches!(self.position(), Position::Outcome(_))
    }

    /// The time of the last recorded event, or the start.
    pub fn last_activity(&self) -> Stamp {
        self.entries.last().map_or(self.started, |e| e.at)
    }

    /// The title of the last step or outcome entered.
    pub fn last_title(&self) -> Option<&str> {
        self.entries.iter().rev().find_map(|e| match &e.event {
            Event::StepEntered { title, .. } | Event::OutcomeReached { title, .. } => {
                Some(title.as_str())
            }
            _ => None,
        })
    }

    /// The path so far: each answer or jump extends it, going back shortens it to the step
    /// returned to. Each visit carries the latest answer given there on this path.
    pub fn path(&self) -> Vec<Visit> {
        let mut path: Vec<Visit> = Vec::new();
        for entry in &self.entries {
            match &entry.event {
                Event::StepEntered { step, title, via: Via::Back } => {
                    let here = Position::Step(step.clone());
                    match path.iter().rposition(|v| v.position == here) {
                        Some(i) => path.truncate(i + 1),
                        None => path.push(visit(here, title)),
                    }
                }
                Event::StepEntered { step, title, .. } => {
                    path.push(visit(Position::Step(step.clone()), title));
                }
                Event::OutcomeReached { outcome, title, .. } => {
                    path.push(visit(Position::Outcome(outcome.clone()), title));
                }
                Event::Answered { answer, .. } => {
                    if let Some(last) = path.last_mut() {
                        last.answer = Some(answer.clone());
                    }
                }
                _ => {}
            }
        }
        path
    }

    /// The facts of every check that finished, taking only the latest run of each request (a
    /// re-run replaces its earlier result whole), later results replacing earlier ones.
    pub fn facts(&self) -> Facts {
        self.facts_before(self.entries.len())
    }

    /// The facts as they stood before entry `end` was recorded.
    pub fn facts_before(&self, end: usize) -> Facts {
        let mut latest: Vec<(&CheckRequest, &CheckReport)> = Vec::new();
        for entry in self.entries.iter().take(end) {
            if let Event::CheckFinished { request, report, .. } = &entry.event {
                latest.retain(|(r, _)| *r != request);
                latest.push((request, report));
            }
        }
        let mut facts = Facts::new();
        for (_, report) in latest {
            facts.merge(&report.facts);
        }
        facts
    }

    /// The latest report of each check that finished (a later run of a check replaces an
    /// earlier one), in the order they finished: what the assessment reads.
    pub fn latest_reports(&self) -> Vec<&CheckReport> {
        self.reports_before(self.entries.len())
    }

    /// The latest report of each check recorded before entry `end`.
    pub fn reports_before(&self, end: usize) -> Vec<&CheckReport> {
        let mut latest: Vec<&CheckReport> = Vec::new();
        for entry in self.entries.iter().take(end) {
            if let Event::CheckFinished { report, .. } = &entry.event {
                latest.retain(|r| r.check != report.check);
                latest.push(report);
            }
        }
        latest
    }

    /// Every finished check's report, in the order they finished.
    pub fn reports(&self) -> impl Iterator<Item = &CheckReport> {
        self.entries.iter().filter_map(|e| match &e.event {
            Event::CheckFinished { report, .. } => Some(report),
            _ => None,
        })
    }

    /// The check results recorded since the current step was last entered, by run.
    pub fn results_since_entered(&self) -> Vec<(RunId, &CheckRequest, &CheckReport)> {
        let from =
            self.entries.iter().rposition(|e| position_of(&e.event).is_some()).map_or(0, |i| i + 1);
        self.entries[from..]
            .iter()
            .filter_map(|e| match &e.event {
                Event::CheckFinished { run, request, report, .. } => Some((*run, request, report)),
                _ => None,
            })
            .collect()
    }

    /// The highest run id recorded, so a resumed walk hands out fresh ones.
    pub fn last_run(&self) -> Option<RunId> {
        self.entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::CheckFinished { run, .. } => Some(*run),
                _ => None,
            })
            .max()
    }

    /// The notes written at one step (or at none), in order.
    pub fn notes_at<'a>(&'a self, step: Option<&'a str>) -> impl Iterator<Item = (Stamp, &'a str)> {
        self.entries.iter().filter_map(move |e| match &e.event {
            Event::Noted { step: s, text } if s.as_deref() == step => Some((e.at, text.as_str())),
            _ => None,
        })
    }

    /// The answer recorded for an ask, by its key.
    pub fn asked(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find_map(|e| match &e.event {
            Event::Asked { key: k, answer, .. } if k == key => Some(answer.as_str()),
            _ => None,
        })
    }

    /// When the current step or outcome was entered.
    pub fn entered_at(&self) -> Option<Stamp> {
        self.entries.iter().rev().find(|e| position_of(&e.event).is_some()).map(|e| e.at)
    }

    /// The latest outcome recorded for each fix tried at a step.
    pub fn fix_outcome(&self, step: &str, fix: &str) -> Option<FixOutcome> {
        self.entries.iter().rev().find_map(|e| match &e.event {
            Event::FixTried { step: s, fix: f, outcome, .. } if s == step && f == fix => {
                Some(*outcome)
            }
            _ => None,
        })
    }
}

fn visit(position: Position, title: &str) -> Visit {
    Visit { position, title: title.to_owned(), answer: None }
}

fn position_of(event: &Event) -> Option<Position> {
    match event {
        Event::StepEntered { step, .. } => Some(Position::Step(step.clone())),
        Event::OutcomeReached { outcome, .. } => Some(Position::Outcome(outcome.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            format: FORMAT,
            id: "s1".into(),
            runbook: RunbookRef {
                id: "rb".into(),
                title: "RB".into(),
                version: "1".into(),
                origin: "builtin:rb.yaml".into(),
            },
            url: "https://x.test/".into(),
            time_zone: "UTC".into(),
            started: Stamp::from_secs(0, 0),
            entries: Vec::new(),
        }
    }

    fn enter(s: &mut Session, step: &str, via: Via) {
        let event = Event::StepEntered { step: step.into(), title: step.to_uppercase(), via };
        s.record(Stamp::from_secs(1, 0), event);
    }

    fn answer(s: &mut Session, step: &str, answer: &str) {
        s.record(
            Stamp::from_secs(2, 0),
            Event::Answered {
                step: step.into(),
                choice: Some(answer.into()),
                answer: answer.into(),
                suggested: None,
                agreement: Agreement::NoSuggestion,
                fills: Vec::new(),
            },
        );
    }

    #[test]
    fn going_back_shortens_the_path_but_keeps_the_log() {
        let mut s = session();
        enter(&mut s, "a", Via::Start);
        answer(&mut s, "a", "first");
        enter(&mut s, "b", Via::Answer);
        enter(&mut s, "a", Via::Back);
        answer(&mut s, "a", "second");
        enter(&mut s, "c", Via::Answer);
        let path: Vec<_> = s.path().into_iter().map(|v| (v.title, v.answer)).collect();
        assert_eq!(path, vec![("A".to_owned(), Some("second".to_owned())), ("C".to_owned(), None)]);
        let answers = s.entries.iter().filter(|e| matches!(e.event, Event::Answered { .. }));
        assert_eq!(answers.count(), 2, "both answers stay recorded");
        assert_eq!(s.position(), Position::Step("c".into()));
    }

    #[test]
    fn the_file_format_round_trips() {
        let mut s = session();
        enter(&mut s, "a", Via::Start);
        s.record(
            Stamp::from_secs(3, 2),
            Event::Noted { step: Some("a".into()), text: "hi".into() },
        );
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""type":"step_entered""#), "{json}");
        assert!(json.contains(r#""at":"1970-01-01T02:00:03.000+02:00""#), "{json}");
        assert_eq!(serde_json::from_str::<Session>(&json).unwrap(), s);
    }
}
