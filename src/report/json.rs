//! The JSON export: the same data as the markdown note, as a documented, versioned document
//! (`docs/session-json.md`). Every string in it is sanitised and redacted on the way out.

use serde::Serialize;
use serde_json::Value;

use crate::diagnosis::attribute::Elsewhere;
use crate::diagnosis::path::Hop;
use crate::diagnosis::timeline::Timeline as LogTimeline;
use crate::diagnosis::{Diagnosis, Rules};
use crate::report::note::{self, Filled, Tried};
use crate::report::support::{self, Item, clean_lines};
use crate::report::timeline::Probe;
use crate::report::{Assessment, Timeline, Watch};
use crate::session::{Entry, RunbookRef, Session, Stamp};

/// Names the document type; readers check it together with `version`.
pub const SCHEMA: &str = "triage.session-export";
/// Bumped when a field changes meaning or goes away; new fields do not bump it. 2: `support`
/// and `diagnosis` describe the incident as it was while the site failed (not the latest
/// probe); `incident`, `path`, `tried`, `send`, `answers` and `monitoring` were added; entries
/// may be `asked` and `watching`, and a fix's outcome may be `made`.
pub const VERSION: u32 = 2;

#[derive(Debug, Serialize)]
struct Export<'a> {
    schema: &'static str,
    version: u32,
    generator: String,
    session: Header<'a>,
    incident: IncidentView<'a>,
    /// The incident's request path, each hop with its state (`triage check --json`'s `path`).
    path: &'a [Hop],
    tried: Vec<Tried>,
    send: Vec<Filled>,
    answers: Vec<Answer>,
    monitoring: Option<Monitoring<'a>>,
    support: Vec<Item>,
    /// The incident's assessment: its findings and verdict.
    diagnosis: &'a Diagnosis,
    /// The diagnosis of the latest evidence (after a fix: the healthy site).
    latest_diagnosis: &'a Diagnosis,
    elsewhere: &'a [Elsewhere],
    timeline: Option<&'a LogTimeline>,
    entries: &'a [Entry],
}

/// The incident in a few fields: what the note's first screen says.
#[derive(Debug, Serialize)]
struct IncidentView<'a> {
    status: Option<i64>,
    failure: Option<&'a str>,
    maker: Option<&'a str>,
    layer: Option<&'a str>,
    cause: &'a str,
    confidence: &'static str,
    summary: &'a str,
    first_seen: Option<Stamp>,
    last_seen: Option<Stamp>,
    recovered_at: Option<Stamp>,
    still_failing: bool,
    first_log_line: Option<String>,
    probes: &'a [Probe],
}

#[derive(Debug, Serialize)]
struct Answer {
    prompt: String,
    answer: String,
}

#[derive(Debug, Serialize)]
struct Monitoring<'a> {
    started: Stamp,
    every_secs: u64,
    for_secs: u64,
    done: bool,
    probes: usize,
    errors: usize,
    log_errors: u64,
    log_line: Option<&'a str>,
    /// One character per probe: `.` normal, `x` a 5xx or no answer.
    chart: String,
}

#[derive(Debug, Serialize)]
struct Header<'a> {
    id: &'a str,
    url: &'a str,
    runbook: &'a RunbookRef,
    time_zone: &'a str,
    started: Stamp,
    last_activity: Stamp,
    closed: bool,
    last_step: Option<&'a str>,
}

/// The export as pretty-printed JSON.
pub fn render(session: &Session, rules: &Rules) -> String {
    let assessment = Assessment::of(session, rules);
    let a = &assessment;
    let export = Export {
        schema: SCHEMA,
        version: VERSION,
        generator: format!("triage {}", env!("CARGO_PKG_VERSION")),
        session: Header {
            id: &session.id,
            url: &session.url,
            runbook: &session.runbook,
            time_zone: &session.time_zone,
            started: session.started,
            last_activity: session.last_activity(),
            closed: session.is_closed(),
            last_step: session.last_title(),
        },
        incident: incident(a, &a.timeline),
        path: &a.incident.assessed.path,
        tried: note::tried(session, a.watch.as_ref()),
        send: note::filled(session, a),
        answers: note::answers(session)
            .into_iter()
            .map(|(prompt, answer)| Answer { prompt, answer })
            .collect(),
        monitoring: a.watch.as_ref().map(monitoring),
        support: support::collect(session, &a.incident.facts, &a.incident.diagnosis),
        diagnosis: &a.incident.diagnosis,
        latest_diagnosis: &a.diagnosis,
        elsewhere: &a.incident.assessed.elsewhere,
        timeline: a.incident.assessed.timeline.as_ref(),
        entries: &session.entries,
    };
    let mut value = serde_json::to_value(&export).unwrap_or(Value::Null);
    scrub(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

fn incident<'a>(a: &'a Assessment, t: &'a Timeline) -> IncidentView<'a> {
    let verdict = &a.incident.diagnosis.verdict;
    let worst = t.worst.as_ref();
    IncidentView {
        status: worst.and_then(|w| w.status),
        failure: worst.and_then(|w| w.failure.as_deref()),
        maker: worst.and_then(|w| w.maker.as_deref()),
        layer: verdict.layer.map(crate::layer::Layer::id),
        cause: &verdict.cause,
        confidence: verdict.confidence.label(),
        summary: &verdict.summary,
        first_seen: t.first_seen,
        last_seen: t.last_seen,
        recovered_at: t.recovered_at,
        still_failing: t.still_failing(),
        first_log_line: a.incident.facts.get("logs.first_line").map(ToString::to_string),
        probes: &t.probes,
    }
}

fn monitoring(w: &Watch) -> Monitoring<'_> {
    Monitoring {
        started: w.started,
        every_secs: w.every_secs,
        for_secs: w.for_secs,
        done: w.done,
        probes: w.probes.len(),
        errors: w.errors(),
        log_errors: w.log_errors,
        log_line: w.log_line.as_deref(),
        chart: w.chart(),
    }
}

/// Every string, redacted and sanitised (line breaks kept).
fn scrub(value: &mut Value) {
    match value {
        Value::String(s) => *s = clean_lines(s),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) => map.values_mut().for_each(scrub),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}
