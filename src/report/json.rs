//! The JSON export: the same data as the markdown note, as a documented, versioned document
//! (`docs/session-json.md`). Every string in it is sanitised and redacted on the way out.

use serde::Serialize;
use serde_json::Value;

use crate::diagnosis::attribute::Elsewhere;
use crate::diagnosis::path::Hop;
use crate::diagnosis::timeline::Timeline;
use crate::diagnosis::{Diagnosis, Rules};
use crate::report::support::{self, Item, clean_lines};
use crate::session::{Entry, RunbookRef, Session, Stamp};

/// Names the document type; readers check it together with `version`.
pub const SCHEMA: &str = "triage.session-export";
/// Bumped when a field changes meaning or goes away; new fields do not bump it.
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct Export<'a> {
    schema: &'static str,
    version: u32,
    generator: String,
    session: Header<'a>,
    support: Vec<Item>,
    diagnosis: Diagnosis,
    /// The request path, each hop with its state (`triage check --json`'s `path`).
    path: Vec<Hop>,
    elsewhere: Vec<Elsewhere>,
    timeline: Option<Timeline>,
    entries: &'a [Entry],
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
    let assessment = crate::report::assess(session, rules);
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
        support: support::collect(session, &assessment.facts, &assessment),
        diagnosis: assessment.diagnosis(),
        path: assessment.path.clone(),
        elsewhere: assessment.elsewhere.clone(),
        timeline: assessment.timeline.clone(),
        entries: &session.entries,
    };
    let mut value = serde_json::to_value(&export).unwrap_or(Value::Null);
    scrub(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
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
