//! When the incident was seen: every public probe triage recorded, the worst status among them
//! and who made it, when errors were first and last seen, and when the site answered normally
//! again. Built from the recorded `http_probe` reports and their times; the access-log timeline
//! of issue 9 (5xx per minute) fills the same fields once the diagnosis produces it.

use serde::Serialize;

use crate::contract::Evidence;
use crate::contract::evidence::logs::SignatureHit;
use crate::facts::{FactValue, Facts};
use crate::session::{Event, Session, Stamp};

/// One probe of the public URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub at: Stamp,
    /// The HTTP status, when there was an answer.
    pub status: Option<i64>,
    /// Why there was none: refused, timeout, tls, …
    pub failure: Option<String>,
}

impl Probe {
    /// A 5xx, or no answer at all.
    pub fn failed(&self) -> bool {
        self.failure.is_some() || self.status.is_some_and(|s| s >= 500)
    }

    /// `502`, or `refused`.
    pub fn label(&self) -> String {
        match (&self.status, &self.failure) {
            (Some(s), _) => s.to_string(),
            (None, Some(f)) => f.clone(),
            (None, None) => "?".to_owned(),
        }
    }
}

/// The worst answer seen, and who made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Worst {
    pub status: Option<i64>,
    pub failure: Option<String>,
    /// The responder's name for people: nginx, Cloudflare.
    pub maker: Option<String>,
    /// The layer it sits at, as a label.
    pub layer: Option<String>,
    pub at: Stamp,
}

impl Worst {
    /// `HTTP 502`, or `no answer (refused)`.
    pub fn headline(&self) -> String {
        match (&self.status, &self.failure) {
            (Some(s), _) => format!("HTTP {s}{}", reason(*s)),
            (None, Some(f)) => format!("no answer ({f})"),
            (None, None) => "an error".to_owned(),
        }
    }
}

fn reason(status: i64) -> &'static str {
    match status {
        500 => " Internal Server Error",
        502 => " Bad Gateway",
        503 => " Service Unavailable",
        504 => " Gateway Timeout",
        _ => "",
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub probes: Vec<Probe>,
    pub worst: Option<Worst>,
    /// The earliest error: triage's first failing probe, or an earlier error line of the site
    /// in the logs.
    pub first_seen: Option<Stamp>,
    /// The first error line of the site in the logs' window, when the logs were read.
    pub first_logged: Option<Stamp>,
    pub last_seen: Option<Stamp>,
    /// The first normal answer after the last error.
    pub recovered_at: Option<Stamp>,
}

impl Timeline {
    pub fn of(session: &Session) -> Timeline {
        let mut timeline = Timeline::default();
        for entry in &session.entries {
            let Event::CheckFinished { report, request, .. } = &entry.event else { continue };
            if let Evidence::Logs(logs) = &report.evidence {
                let site = request.param("url").is_some();
                timeline.note_logged(&logs.signatures, site, entry.at);
            }
            if report.check != "http_probe" {
                continue;
            }
            let probes = probes_of(&report.facts, entry.at);
            timeline.note_worst(&probes, &report.facts, entry.at);
            timeline.probes.extend(probes);
        }
        timeline.mark_times();
        timeline
    }

    /// Errors seen and not followed by a normal answer.
    pub fn still_failing(&self) -> bool {
        self.last_seen.is_some() && self.recovered_at.is_none()
    }

    fn note_worst(&mut self, probes: &[Probe], facts: &Facts, at: Stamp) {
        let Some(bad) = probes.iter().filter(|p| p.failed()).max_by_key(|p| p.status) else {
            return;
        };
        let worse = match &self.worst {
            None => true,
            Some(w) => bad.status.unwrap_or(0) > w.status.unwrap_or(0),
        };
        if worse {
            let text = |k: &str| facts.get(k).map(ToString::to_string);
            self.worst = Some(Worst {
                status: bad.status,
                failure: bad.failure.clone(),
                maker: text("responder.name").or_else(|| text("responder.vendor")),
                layer: text("responder.layer"),
                at,
            });
        }
    }

    /// The earliest error line of the site (or of any site, when the logs were not asked about
    /// one) with a cause, in the zone of the report that found it.
    fn note_logged(&mut self, hits: &[SignatureHit], site: bool, at: Stamp) {
        let earliest = hits
            .iter()
            .filter(|h| h.cause.is_some() && (!site || h.site_line.is_some()))
            .filter_map(|h| h.first.as_deref()?.parse::<jiff::Timestamp>().ok())
            .min();
        if let Some(first) = earliest {
            let stamp = Stamp { at: first, offset: at.offset };
            self.first_logged = Some(self.first_logged.map_or(stamp, |f| f.min(stamp)));
        }
    }

    fn mark_times(&mut self) {
        let probed = self.probes.iter().find(|p| p.failed()).map(|p| p.at);
        self.first_seen = match (probed, self.first_logged) {
            (Some(p), Some(l)) => Some(p.min(l)),
            (p, l) => p.or(l),
        };
        self.last_seen = self.probes.iter().rev().find(|p| p.failed()).map(|p| p.at);
        let last_error = self.probes.iter().rposition(Probe::failed);
        self.recovered_at =
            last_error.and_then(|i| self.probes.get(i + 1..)?.first()).map(|p| p.at);
    }
}

/// The probes of one report: `http.statuses`, each stamped with the report's time.
pub fn probes_of(facts: &Facts, at: Stamp) -> Vec<Probe> {
    let Some(FactValue::List(outcomes)) = facts.get("http.statuses") else { return Vec::new() };
    outcomes
        .iter()
        .map(|o| match o.parse::<i64>() {
            Ok(status) => Probe { at, status: Some(status), failure: None },
            Err(_) => Probe { at, status: None, failure: Some(o.clone()) },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{CheckReport, CheckRequest, CheckStatus, RunId};
    use crate::session::{FORMAT, RunbookRef};

    fn probe_report(statuses: &[&str], vendor: &str) -> Event {
        let mut facts = Facts::new();
        facts.set("http.statuses", statuses.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        facts.set("responder.name", vendor);
        Event::CheckFinished {
            step: "s".into(),
            run: RunId(1),
            request: CheckRequest {
                check: "http_probe".into(),
                params: std::collections::BTreeMap::default(),
            },
            report: CheckReport::new("http_probe", CheckStatus::Failed, "x").with_facts(facts),
        }
    }

    #[test]
    fn the_worst_status_and_the_recovery_are_found() {
        let rb = RunbookRef {
            id: "r".into(),
            title: "R".into(),
            version: "1".into(),
            origin: "x".into(),
        };
        let mut s = Session {
            format: FORMAT,
            id: "s".into(),
            runbook: rb,
            url: "https://x.test/".into(),
            time_zone: "UTC".into(),
            started: Stamp::from_secs(0, 0),
            entries: Vec::new(),
        };
        s.record(Stamp::from_secs(10, 0), probe_report(&["200", "502"], "nginx"));
        s.record(Stamp::from_secs(20, 0), probe_report(&["504", "refused"], "Cloudflare"));
        s.record(Stamp::from_secs(30, 0), probe_report(&["200", "200"], "app"));
        let t = Timeline::of(&s);
        let worst = t.worst.clone().unwrap();
        assert_eq!((worst.status, worst.maker.as_deref()), (Some(504), Some("Cloudflare")));
        assert_eq!(worst.headline(), "HTTP 504 Gateway Timeout");
        assert_eq!(t.first_seen, Some(Stamp::from_secs(10, 0)));
        assert_eq!(t.last_seen, Some(Stamp::from_secs(20, 0)));
        assert_eq!(t.recovered_at, Some(Stamp::from_secs(30, 0)));
        assert!(!t.still_failing());
    }
}
