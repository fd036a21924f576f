//! Monitoring after a fix: the probes of the watched step over its window, the share that
//! failed, and the new error lines of the site the logs showed since the window began
//! (`watch.*` facts, the sparkline on screen and the chart in the note). Pure: it reads the
//! `watching` entry and the reports recorded after it.

use serde::Serialize;

use super::timeline::{Probe, probes_of};
use crate::contract::Evidence;
use crate::contract::evidence::logs::SignatureHit;
use crate::facts::Facts;
use crate::session::{Entry, Event, Session, Stamp};

/// What monitoring saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Watch {
    pub step: String,
    pub started: Stamp,
    pub every_secs: u64,
    pub for_secs: u64,
    pub probes: Vec<Probe>,
    /// New error lines of the site since monitoring began (at least; a signature seen both
    /// before and after counts once).
    pub log_errors: u64,
    /// The latest of those lines.
    pub log_line: Option<String>,
    /// A round of checks finished at or after the end of the window.
    pub done: bool,
}

impl Watch {
    /// The last monitoring window recorded, if any.
    pub fn of(session: &Session) -> Option<Watch> {
        let start =
            session.entries.iter().rposition(|e| matches!(e.event, Event::Watching { .. }))?;
        let Event::Watching { step, every_secs, for_secs } = &session.entries[start].event else {
            return None;
        };
        let started = session.entries[start].at;
        let mut watch = Watch {
            step: step.clone(),
            started,
            every_secs: *every_secs,
            for_secs: *for_secs,
            probes: Vec::new(),
            log_errors: 0,
            log_line: None,
            done: false,
        };
        let window = session.entries[start + 1..].iter().take_while(|e| !is_position(&e.event));
        for entry in window {
            watch.add(entry);
        }
        Some(watch)
    }

    fn add(&mut self, entry: &Entry) {
        let Event::CheckFinished { report, request, .. } = &entry.event else { return };
        let end = self.started.at.as_second().saturating_add_unsigned(self.for_secs);
        self.done |= entry.at.at.as_second() >= end;
        match &report.evidence {
            Evidence::Logs(logs) => self.add_logs(&logs.signatures, request.param("url").is_some()),
            _ if report.check == "http_probe" => {
                self.probes.extend(probes_of(&report.facts, entry.at));
            }
            _ => {}
        }
    }

    /// The newest count of lines since the start: each logs run covers the recent window, so
    /// the latest run's hits replace the earlier ones.
    fn add_logs(&mut self, hits: &[SignatureHit], site_known: bool) {
        let since = self.started.at;
        let new: Vec<&SignatureHit> = hits
            .iter()
            .filter(|h| h.cause.is_some() && (!site_known || h.site_line.is_some()))
            .filter(|h| stamp(h.last.as_deref()).is_some_and(|t| t >= since))
            .collect();
        self.log_errors = new
            .iter()
            .map(
                |h| if stamp(h.first.as_deref()).is_some_and(|t| t >= since) { h.count } else { 1 },
            )
            .sum();
        self.log_line = new.first().map(|h| h.quoted_line().to_owned());
    }

    pub fn errors(&self) -> usize {
        self.probes.iter().filter(|p| p.failed()).count()
    }

    /// Whole minutes watched so far.
    pub fn minutes(&self) -> u64 {
        let last = self.probes.last().map_or(self.started, |p| p.at);
        u64::try_from(last.since(self.started).as_secs()).unwrap_or(0) / 60
    }

    /// `watch.probes`, `watch.errors`, `watch.log_errors`, `watch.done`, `watch.minutes`.
    pub fn facts(&self) -> Facts {
        let mut facts = Facts::new();
        let int = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        facts.set("watch.probes", int(self.probes.len()));
        facts.set("watch.errors", int(self.errors()));
        facts.set("watch.log_errors", i64::try_from(self.log_errors).unwrap_or(i64::MAX));
        facts.set("watch.done", self.done);
        facts.set("watch.minutes", i64::try_from(self.minutes()).unwrap_or(i64::MAX));
        facts
    }

    /// One character per probe: `.` a normal answer, `x` a 5xx or no answer. For the note.
    pub fn chart(&self) -> String {
        self.probes.iter().map(|p| if p.failed() { 'x' } else { '.' }).collect()
    }
}

fn is_position(event: &Event) -> bool {
    matches!(event, Event::StepEntered { .. } | Event::OutcomeReached { .. })
}

fn stamp(text: Option<&str>) -> Option<jiff::Timestamp> {
    text?.parse().ok()
}
