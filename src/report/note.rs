//! The incident in a few lines, shared by the markdown note, the JSON export and the outcome
//! screen: what was tried and whether it worked, the reached outcome's `send:` list filled in
//! from the evidence, and the answers to the runbook's questions for the note.

use serde::Serialize;

use super::support::{self, Item, clean};
use super::{Assessment, Watch};
use crate::facts::{FactValue, Facts};
use crate::runbook::model::{Fill, Send};
use crate::session::{Event, FixOutcome, Session, Stamp};
use crate::text::count;

/// A change made or a fix tried, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tried {
    pub at: Stamp,
    pub step: String,
    pub fix: String,
    pub title: String,
    pub outcome: FixOutcome,
    /// `worked`, `did not stop the errors`, `not yet known`, or the user's own word.
    pub result: String,
    pub rollback: String,
}

/// Every fix tried, in order; a change made is judged by the monitoring that followed it.
pub fn tried(session: &Session, watch: Option<&Watch>) -> Vec<Tried> {
    session
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::FixTried { step, fix, title, outcome, rollback, .. } => Some(Tried {
                at: e.at,
                step: step.clone(),
                fix: fix.clone(),
                title: clean(title),
                outcome: *outcome,
                result: result(*outcome, e.at, watch),
                rollback: clean(rollback),
            }),
            _ => None,
        })
        .collect()
}

fn result(outcome: FixOutcome, at: Stamp, watch: Option<&Watch>) -> String {
    if outcome != FixOutcome::Made {
        return outcome.label().to_owned();
    }
    let Some(w) = watch.filter(|w| w.started >= at) else {
        return "not yet known: no monitoring after it".to_owned();
    };
    let over = w.probes.last().map_or(jiff::SignedDuration::ZERO, |p| p.at.since(w.started));
    let seen = format!(
        "{} of {} probes failed over {}",
        w.errors(),
        w.probes.len(),
        crate::session::time::elapsed(over)
    );
    let logs = match w.log_errors {
        0 => String::new(),
        n => format!(", {n} new error lines"),
    };
    match (w.errors() + usize::try_from(w.log_errors).unwrap_or(usize::MAX), w.done) {
        (0, true) => format!("worked: {seen}{logs}"),
        (0, false) => format!("looks good so far: {seen}{logs}"),
        _ => format!("did not stop the errors: {seen}{logs}"),
    }
}

/// One entry of the outcome's `send:` list with what fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filled {
    pub text: String,
    /// The values, safe to show; empty when nothing filled it.
    pub lines: Vec<String>,
    /// The question for the note and its answer, when the entry asks one.
    pub ask: Option<String>,
    pub answer: Option<String>,
}

/// The key an outcome's `send:` ask is recorded under.
pub fn send_key(outcome: &str, n: usize) -> String {
    format!("send:{outcome}:{n}")
}

/// The reached outcome's id and `send:` list, as recorded.
pub fn reached(session: &Session) -> Option<(&str, &[Send])> {
    session.entries.iter().rev().find_map(|e| match &e.event {
        Event::OutcomeReached { outcome, send, .. } => Some((outcome.as_str(), send.as_slice())),
        _ => None,
    })
}

/// The reached outcome's `send:` list, each entry filled from the evidence and the answers.
pub fn filled(session: &Session, assessment: &Assessment) -> Vec<Filled> {
    let Some((outcome, send)) = reached(session) else { return Vec::new() };
    let items =
        support::collect(session, &assessment.incident.facts, &assessment.incident.diagnosis);
    send.iter()
        .enumerate()
        .map(|(n, entry)| {
            let mut lines: Vec<String> = Vec::new();
            for fill in &entry.fill {
                lines.extend(fill_lines(*fill, session, assessment, &items));
            }
            let answer = session.asked(&send_key(outcome, n)).map(support::clean_lines);
            Filled { text: clean(&entry.text), lines, ask: entry.ask.clone(), answer }
        })
        .collect()
}

fn fill_lines(fill: Fill, session: &Session, a: &Assessment, items: &[Item]) -> Vec<String> {
    if let Some(item) = fill.item() {
        return items.iter().find(|i| i.item == item).map(|i| i.lines.clone()).unwrap_or_default();
    }
    let facts = &a.incident.facts;
    match fill {
        Fill::Verdict => verdict_line(a).into_iter().collect(),
        Fill::Path => a.path.iter().map(|p| clean(&p.line())).collect(),
        Fill::Fixes => tried(session, a.watch.as_ref())
            .iter()
            .map(|t| format!("{} at {}: {}", t.title, t.at.long(), t.result))
            .collect(),
        Fill::Resources => resources(facts),
        Fill::Origin => origin(facts),
        Fill::Database => database(facts),
        Fill::Monitoring => a.watch.iter().map(monitoring_line).collect(),
        _ => Vec::new(),
    }
}

/// `The web server's user may not open … (upstream_socket_permission; app runtime; high confidence)`.
pub fn verdict_line(a: &Assessment) -> Option<String> {
    let v = &a.incident.diagnosis.verdict;
    if v.cause == "unknown" || v.cause == "none" {
        return None;
    }
    let layer = v.layer.map_or("no layer", |l| l.label());
    Some(clean(&format!(
        "{} ({}; {layer}; {} confidence)",
        v.summary,
        v.cause,
        v.confidence.label()
    )))
}

/// `6 probes over 1 min after the fix: 0 failed; no new error lines in the logs`.
pub fn monitoring_line(w: &Watch) -> String {
    let logs = match w.log_errors {
        0 => "no new error lines of the site in the logs".to_owned(),
        n => format!(
            "{} of the site in the logs",
            count(n as usize, "new error line", "new error lines")
        ),
    };
    let state = if w.done { "" } else { " (still watching)" };
    format!(
        "{} every {} s from {}: {} failed; {logs}{state}",
        count(w.probes.len(), "probe", "probes"),
        w.every_secs,
        w.started.long(),
        w.errors()
    )
}

fn value(facts: &Facts, key: &str) -> Option<String> {
    match facts.get(key)? {
        FactValue::List(items) if items.is_empty() => None,
        FactValue::List(items) => Some(items.join(", ")),
        other => Some(other.to_string()),
    }
    .map(|v| clean(&v))
}

fn labelled(facts: &Facts, pairs: &[(&str, &str)]) -> Vec<String> {
    pairs
        .iter()
        .filter_map(|(key, label)| value(facts, key).map(|v| format!("{label}: {v}")))
        .collect()
}

fn resources(facts: &Facts) -> Vec<String> {
    labelled(
        facts,
        &[
            ("host.load_pct", "load, % of the cores"),
            ("host.memory_used_pct", "memory used, %"),
            ("host.swap_used_pct", "swap used, %"),
            ("host.disks_full", "disks full"),
            ("host.oom_kills", "OOM kills in the window"),
            ("host.workers_exhausted", "worker pools at their limit"),
            ("host.lve_limits_hit", "hosting limits hit"),
        ],
    )
}

fn origin(facts: &Facts) -> Vec<String> {
    labelled(
        facts,
        &[
            ("origin.status", "the origin's own answer"),
            ("origin.failure", "the origin did not answer"),
            ("origin.vendor", "answered by"),
            ("origin.tls_problem", "origin certificate"),
        ],
    )
}

fn database(facts: &Facts) -> Vec<String> {
    labelled(
        facts,
        &[
            ("db.kind", "database"),
            ("db.target", "address"),
            ("db.reachable", "accepts connections"),
            ("db.failure", "failure"),
            ("db.source", "found in"),
        ],
    )
}

/// The answers given to the runbook's questions for the note, in order (the latest per key).
pub fn answers(session: &Session) -> Vec<(String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for entry in &session.entries {
        if let Event::Asked { key, prompt, answer, .. } = &entry.event {
            out.retain(|(k, ..)| k != key);
            out.push((key.clone(), clean(prompt), support::clean_lines(answer)));
        }
    }
    out.into_iter().filter(|(.., a)| !a.trim().is_empty()).map(|(_, p, a)| (p, a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::timeline::Probe;

    #[test]
    fn the_monitoring_line_counts_in_words() {
        let at = Stamp::from_secs(1_800_000_000, 0);
        let probe = Probe { at, status: Some(502), failure: None };
        let mut w = Watch {
            step: "monitor".into(),
            started: at,
            every_secs: 10,
            for_secs: 300,
            probes: vec![probe.clone()],
            log_errors: 1,
            log_line: None,
            done: true,
        };
        let one = monitoring_line(&w);
        assert!(one.starts_with("1 probe every 10 s from "), "{one}");
        assert!(one.ends_with(": 1 failed; 1 new error line of the site in the logs"), "{one}");
        w.probes.push(probe);
        w.log_errors = 3;
        w.done = false;
        let two = monitoring_line(&w);
        assert!(two.starts_with("2 probes every 10 s"), "{two}");
        assert!(
            two.ends_with("3 new error lines of the site in the logs (still watching)"),
            "{two}"
        );
    }
}
