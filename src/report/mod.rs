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

use crate::diagnosis::{self, Diagnosis, Rules};
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
    /// How far the search for the incident has read the session, for [`Assessment::update`].
    surest: Surest,
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
        Assessment::continuing(Surest::default(), session, rules)
    }

    /// As [`Assessment::of`] for the same session grown by a few entries: the incident search
    /// goes on from where this one stopped instead of assessing every entry again.
    #[must_use]
    pub fn update(&self, session: &Session, rules: &Rules) -> Assessment {
        let same =
            self.surest.session == session.id && self.surest.scanned <= session.entries.len();
        let start = if same { self.surest.clone() } else { Surest::default() };
        Assessment::continuing(start, session, rules)
    }

    fn continuing(surest: Surest, session: &Session, rules: &Rules) -> Assessment {
        let now = assess_before(session, rules, session.entries.len());
        let mut facts = now.facts.clone();
        facts.merge(&found::facts(session, &facts));
        let watch = Watch::of(session);
        if let Some(w) = &watch {
            facts.merge(&w.facts());
        }
        let surest = surest.extend(session, rules);
        let incident = match &surest.best {
            Some(assessed) => Incident::of(session, assessed.clone()),
            None => {
                Incident { facts: facts.clone(), diagnosis: now.diagnosis(), assessed: now.clone() }
            }
        };
        let path = Path::of(&incident.assessed, rules);
        let timeline = Timeline::of(session);
        let diagnosis = now.diagnosis();
        Assessment { now, facts, diagnosis, incident, timeline, path, watch, surest }
    }
}

impl Incident {
    /// The incident `assessed` describes, with what was found since (`found.*`).
    fn of(session: &Session, assessed: diagnosis::Assessment) -> Incident {
        let mut facts = assessed.facts.clone();
        facts.merge(&found::facts(session, &facts));
        Incident { facts, diagnosis: assessed.diagnosis(), assessed }
    }
}

/// The one assessment of the reports recorded before entry `end`.
fn assess_before(session: &Session, rules: &Rules, end: usize) -> diagnosis::Assessment {
    let url = SiteUrl::parse(&session.url).ok();
    diagnosis::assess(rules, url.as_ref(), &session.reports_before(end))
}

/// The surest incident among the session's first `scanned` entries.
#[derive(Debug, Clone, Default)]
struct Surest {
    session: String,
    scanned: usize,
    best: Option<diagnosis::Assessment>,
}

impl Surest {
    /// Goes on through the entries not yet read: the surest verdict naming a cause while the
    /// latest probe still failed; the later one of two equally sure.
    fn extend(mut self, session: &Session, rules: &Rules) -> Surest {
        for (i, entry) in session.entries.iter().enumerate().skip(self.scanned) {
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
            let best = self.best.as_ref().map(|b| b.verdict.confidence);
            if best.is_none_or(|c| verdict.confidence >= c) {
                self.best = Some(assessed);
            }
        }
        self.session.clone_from(&session.id);
        self.scanned = session.entries.len();
        self
    }
}

/// The latest public probe saw an error (or no probe ran and local evidence is all there is).
fn failing(facts: &Facts) -> bool {
    match facts.get("http.error_probes").and_then(FactValue::as_int) {
        Some(errors) => errors > 0,
        None => facts.get("http.failure").is_some() || facts.get("http.status").is_none(),
    }
}
