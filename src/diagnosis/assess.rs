//! The one assessment of an incident, used by `triage check`, the TUI's suggestions and both
//! exports alike: what the public probe saw, the request path, every finding placed on its hop,
//! the verdict, other sites' errors kept apart, and the timeline.

use serde::{Deserialize, Serialize};

use super::attribute::{self, Belongs, Elsewhere};
use super::causes::Seen;
use super::path::{self, Hop, Role};
use super::rules::Where;
use super::scope::{self, Gathered};
use super::timeline::{self, Timeline};
use super::{Diagnosis, Finding, Rules, Verdict, findings, select};
use crate::contract::evidence::http::{HttpEvidence, Probe};
use crate::contract::evidence::logs::{LineGroup, LogsEvidence};
use crate::contract::{CheckReport, Evidence};
use crate::facts::{FactValue, Facts};
use crate::site::SiteUrl;

/// The version of the assessment's JSON shape (`path`, `verdict`, `findings`, `elsewhere`,
/// `timeline`); bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

/// Everything the evidence amounts to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assessment {
    /// What the public probe saw; `None` when it got an answer below 400 every time.
    pub seen: Option<Seen>,
    pub path: Vec<Hop>,
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
    /// Errors of other sites on this server: counted, never the verdict.
    pub elsewhere: Vec<Elsewhere>,
    pub timeline: Option<Timeline>,
    /// Every check's facts and the verdict's, for the runbook's conditions.
    #[serde(skip)]
    pub facts: Facts,
}

impl Assessment {
    /// The findings and verdict in the shape the rules give them.
    pub fn diagnosis(&self) -> Diagnosis {
        Diagnosis { findings: self.findings.clone(), verdict: self.verdict.clone() }
    }

    /// The path from the first hop to the failing one, as people read it.
    pub fn chain(&self) -> String {
        path::chain(&select::branch(&self.path, self.verdict.hop))
    }
}

/// Assesses the latest report of each check. `url` is the site under investigation; without
/// one there is no local path, and only the outside evidence and the host's count.
pub fn assess(rules: &Rules, url: Option<&SiteUrl>, reports: &[&CheckReport]) -> Assessment {
    let mut facts = Facts::new();
    for report in reports {
        facts.merge(&report.facts);
    }
    let seen = observed(reports, &facts);
    let mut hops = path::build(url, reports);
    let logs = logs_of(reports);
    let groups: Vec<(&LineGroup, Belongs)> = logs
        .map(|l| l.groups.iter().map(|g| (g, attribute::belongs(g, &hops, url))).collect())
        .unwrap_or_default();
    let mut found = hop_findings(rules, &hops, reports, &facts, &groups);
    found.extend(host_findings(rules, &facts, &groups));
    found.extend(outside_findings(rules, &facts, &hops, seen.as_ref()));
    let timeline = logs.and_then(|l| timeline::of(l, &hops));
    let intermittent = facts.get("http.intermittent").and_then(FactValue::as_bool) == Some(true);
    let verdict =
        select::verdict(rules, &mut hops, &found, seen.as_ref(), intermittent, timeline.as_ref());
    let elsewhere = attribute::elsewhere(&groups);
    let mut assessment =
        Assessment { seen, path: hops, findings: found, verdict, elsewhere, timeline, facts };
    let verdict_facts = assessment.diagnosis().facts();
    assessment.facts.merge(&verdict_facts);
    assessment
}

fn logs_of<'r>(reports: &[&'r CheckReport]) -> Option<&'r LogsEvidence> {
    reports.iter().find_map(|r| match &r.evidence {
        Evidence::Logs(logs) => Some(logs.as_ref()),
        _ => None,
    })
}

fn http_of<'r>(reports: &[&'r CheckReport]) -> Option<&'r HttpEvidence> {
    reports.iter().find_map(|r| match &r.evidence {
        Evidence::Http(http) => Some(http.as_ref()),
        _ => None,
    })
}

/// What the public probe saw, in the terms of the causes' `makes`: the failure seen most often
/// across the probes (on a tie, the first), who made its page, and its status — or why there was
/// no answer.
fn observed(reports: &[&CheckReport], facts: &Facts) -> Option<Seen> {
    let http = http_of(reports)?;
    let failing: Vec<&Probe> =
        http.probes.iter().filter(|p| p.status.is_none_or(|s| s >= 400)).collect();
    let probe = most_common(&failing)?;
    if let Some(status) = probe.status {
        let fp = http.fingerprint.as_ref();
        let maker = match fp {
            Some(fp) if fp.generated => fp.vendor.clone().unwrap_or_else(|| "app".to_owned()),
            _ => "app".to_owned(),
        };
        return Some(Seen { maker, status: Some(status), failure: None });
    }
    let failure = probe.failure.as_ref().map(|f| f.kind.clone());
    let failure = failure
        .or_else(|| facts.get("http.failure").and_then(FactValue::as_text).map(str::to_owned));
    failure.map(|failure| Seen { maker: "none".to_owned(), status: None, failure: Some(failure) })
}

/// The probe whose outcome (status or failure kind) the most probes share; the first on a tie.
fn most_common<'p>(probes: &[&'p Probe]) -> Option<&'p Probe> {
    let count = |p: &Probe| probes.iter().filter(|q| q.outcome() == p.outcome()).count();
    let best = probes.iter().map(|p| count(p)).max()?;
    probes.iter().copied().find(|p| count(p) == best)
}

/// The rules run on each hop's own facts, with the outside facts beside them for citing.
fn hop_findings(
    rules: &Rules,
    hops: &[Hop],
    reports: &[&CheckReport],
    facts: &Facts,
    groups: &[(&LineGroup, Belongs)],
) -> Vec<Finding> {
    let gathered = gathered(reports);
    let outside = outside_facts(facts);
    let mut out = Vec::new();
    for (i, hop) in hops.iter().enumerate() {
        let own: Vec<&LineGroup> =
            groups.iter().filter(|(_, b)| *b == Belongs::Hop(i)).map(|(g, _)| *g).collect();
        let mut scoped = outside.clone();
        scoped.merge(&scope::hop_facts(hop, &gathered, &own));
        for mut finding in findings(rules, &scoped, Where::Hop) {
            finding.hop = Some(i);
            out.push(finding);
        }
    }
    out
}

fn gathered<'r>(reports: &[&'r CheckReport]) -> Gathered<'r> {
    let mut gathered = Gathered::default();
    for report in reports {
        match &report.evidence {
            Evidence::Upstreams(u) => gathered.upstreams = Some(u.as_ref()),
            Evidence::Stack(s) => gathered.stack = Some(s.as_ref()),
            Evidence::Database(_) => gathered.database = Some(&report.facts),
            _ => {}
        }
    }
    gathered
}

/// The facts that describe the public URL (and the host), which every hop may cite.
fn outside_facts(facts: &Facts) -> Facts {
    let local = ["upstream.", "logs.", "stack.", "db."];
    facts
        .iter()
        .filter(|(k, _)| !local.iter().any(|p| k.starts_with(p)))
        .map(|(k, v)| (k, v.clone()))
        .collect()
}

/// The rules about the machine as a whole, with the lines that belong to no site (the kernel's,
/// the journal's) as its log facts.
fn host_findings(rules: &Rules, facts: &Facts, groups: &[(&LineGroup, Belongs)]) -> Vec<Finding> {
    let host: Vec<&LineGroup> =
        groups.iter().filter(|(_, b)| *b == Belongs::Host).map(|(g, _)| *g).collect();
    let mut scoped = outside_facts(facts);
    scoped.merge(&scope::log_facts(&host));
    let mut out = findings(rules, &scoped, Where::Host);
    let log_rules = findings(rules, &scoped, Where::Hop)
        .into_iter()
        .filter(|f| f.source == super::Source::Log && host_cause(rules, f));
    out.extend(log_rules);
    out
}

/// A log finding about the machine (out of memory, a full disk), not about a site.
fn host_cause(rules: &Rules, finding: &Finding) -> bool {
    finding
        .cause
        .as_deref()
        .and_then(|c| rules.cause(c))
        .is_some_and(|c| c.fails == super::causes::Fails::Host)
}

/// The rules about the public URL, each placed on the hop its cause concerns: the edge for an
/// edge's or origin's fault, the page's maker for its own doing, the hop behind the maker for a
/// fault the maker only reports.
fn outside_findings(
    rules: &Rules,
    facts: &Facts,
    hops: &[Hop],
    seen: Option<&Seen>,
) -> Vec<Finding> {
    let maker = seen
        .and_then(|s| hops.iter().position(|h| h.key.vendor.as_deref() == Some(s.maker.as_str())));
    findings(rules, facts, Where::Outside)
        .into_iter()
        .map(|mut finding| {
            let fails = finding.cause.as_deref().and_then(|c| rules.cause(c)).map(|c| c.fails);
            finding.hop = select::place(hops, maker, fails);
            finding
        })
        .collect()
}

/// The path's hops of one role.
pub fn of_role(path: &[Hop], role: Role) -> impl Iterator<Item = &Hop> {
    path.iter().filter(move |h| h.role == role)
}
