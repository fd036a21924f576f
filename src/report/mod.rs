//! Exports of a session: the markdown incident note (with "what to send support"), the JSON
//! document with the same data, and the support items both share. Everything here is a pure
//! function of a session; nothing from outside leaves unsanitised or unredacted.

pub mod found;
pub mod json;
pub mod markdown;
pub mod note;
pub mod path;
pub mod support;
pub mod timeline;
pub mod watch;

use crate::diagnosis::{self, Confidence, Diagnosis, Rules};
use crate::facts::{FactValue, Facts};
use crate::session::{Event, Session};
use crate::site::SiteUrl;

pub use path::Path;
pub use timeline::Timeline;
pub use watch::Watch;

/// What a session's evidence amounts to: the one assessment (`diagnosis::assess`) of the latest
/// report of each check (for the walk's suggestions), the incident as it stood while the site
/// failed (for the note), when it was seen, its request path and what monitoring saw.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The assessment of the latest reports: path, findings, verdict, other sites' errors.
    pub now: diagnosis::Assessment,
    /// The latest facts, the verdict's, what was found (`found.*`) and monitoring (`watch.*`).
    pub facts: Facts,
    pub diagnosis: Diagnosis,
    pub incident: Incident,
    pub timeline: Timeline,
    /// The incident's request path, from the first hop to the failing one.
    pub path: Option<Path>,
    pub watch: Option<Watch>,
}

/// The incident as the evidence explained it while the site was failing: the surest verdict
/// seen then, and the facts behind it. After a fix the latest facts say "200"; the note's
/// headline must still tell what failed.
#[derive(Debug, Clone)]
pub struct Incident {
    pub facts: Facts,
    pub diagnosis: Diagnosis,
    pub assessed: diagnosis::Assessment,
}

impl Assessment {
    pub fn of(session: &Session, rules: &Rules) -> Assessment {
        let now = assess_before(session, rules, session.entries.len());
        let mut facts = now.facts.clone();
        facts.merge(&found::facts(session, &facts));
        let watch = Watch::of(session);
        if let Some(w) = &watch {
            facts.merge(&w.facts());
        }
        let incident = Incident::of(session, rules).unwrap_or_else(|| Incident {
            facts: facts.clone(),
            diagnosis: now.diagnosis(),
            assessed: now.clone(),
        });
        let path = Path::of(&incident.assessed);
        let timeline = Timeline::of(session);
        let diagnosis = now.diagnosis();
        Assessment { now, facts, diagnosis, incident, timeline, path, watch }
    }
}

/// The one assessment of the reports recorded before entry `end`.
fn assess_before(session: &Session, rules: &Rules, end: usize) -> diagnosis::Assessment {
    let url = SiteUrl::parse(&session.url).ok();
    diagnosis::assess(rules, url.as_ref(), &session.reports_before(end))
}

impl Incident {
    /// The surest verdict naming a cause while the latest probe still failed; the later one
    /// of two equally sure. `None` when the site never failed with a cause named.
    fn of(session: &Session, rules: &Rules) -> Option<Incident> {
        let mut best: Option<(Confidence, Incident)> = None;
        for (i, entry) in session.entries.iter().enumerate() {
            if !matches!(entry.event, Event::CheckFinished { .. }) {
                continue;
            }
            if !failing(&session.facts_before(i + 1)) {
                continue;
            }
            let assessed = assess_before(session, rules, i + 1);
            let verdict = &assessed.verdict;
            if verdict.cause == "unknown" || verdict.cause == "none" {
                continue;
            }
            let confidence = verdict.confidence;
            if best.as_ref().is_none_or(|(c, _)| confidence >= *c) {
                let mut facts = assessed.facts.clone();
                facts.merge(&found::facts(session, &facts));
                let diagnosis = assessed.diagnosis();
                best = Some((confidence, Incident { facts, diagnosis, assessed }));
            }
        }
        best.map(|(_, incident)| incident)
    }
}

/// The latest public probe saw an error (or no probe ran and local evidence is all there is).
fn failing(facts: &Facts) -> bool {
    match facts.get("http.error_probes").and_then(FactValue::as_int) {
        Some(errors) => errors > 0,
        None => facts.get("http.failure").is_some() || facts.get("http.status").is_none(),
    }
}
