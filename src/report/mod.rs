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

pub use path::{Hop, Path};
pub use timeline::Timeline;
pub use watch::Watch;

/// What a session's evidence amounts to: every check's facts plus the diagnosis made from them
/// (for the walk's suggestions), the incident as it stood while the site failed (for the note),
/// when it was seen, the request path and what monitoring saw.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The latest facts, the diagnosis's, what was found (`found.*`) and monitoring (`watch.*`).
    pub facts: Facts,
    pub diagnosis: Diagnosis,
    pub incident: Incident,
    pub timeline: Timeline,
    /// The request path; issue 9's traced path plugs in here (see `path`).
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
}

impl Assessment {
    pub fn of(session: &Session, rules: &Rules) -> Assessment {
        let mut facts = session.facts();
        let diagnosis = diagnosis::diagnose(rules, &facts);
        facts.merge(&diagnosis.facts());
        facts.merge(&found::facts(session, &facts));
        let watch = Watch::of(session);
        if let Some(w) = &watch {
            facts.merge(&w.facts());
        }
        let incident = Incident::of(session, rules)
            .unwrap_or_else(|| Incident { facts: facts.clone(), diagnosis: diagnosis.clone() });
        let path = Path::from_facts(&incident.facts);
        let timeline = Timeline::of(session);
        Assessment { facts, diagnosis, incident, timeline, path, watch }
    }
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
            let mut facts = session.facts_before(i + 1);
            if !failing(&facts) {
                continue;
            }
            let diagnosis = diagnosis::diagnose(rules, &facts);
            let verdict = &diagnosis.verdict;
            if verdict.cause == "unknown" || verdict.cause == "none" {
                continue;
            }
            let confidence = verdict.confidence;
            if best.as_ref().is_none_or(|(c, _)| confidence >= *c) {
                facts.merge(&diagnosis.facts());
                facts.merge(&found::facts(session, &facts));
                best = Some((confidence, Incident { facts, diagnosis }));
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
