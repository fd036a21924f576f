//! Choosing the verdict: the first broken hop from the outside in whose cause can produce what
//! the public probe saw. A cause that cannot (a slow upstream never makes nginx answer 503) is
//! not the verdict; a generic cause yields to a specific one; a cause explained by a finer one
//! on the same hop (`refines`) joins it. Confidence is high only when two kinds of evidence
//! agree on the same hop and cause, and never for a generic cause.

use super::causes::{CauseSpec, Fails, Seen};
use super::path::{Hop, HopState, Role};
use super::rules::Source;
use super::timeline::Timeline;
use super::{Confidence, Finding, Rules, Timing, Verdict, unknown};

/// Where on the path a finding about the public URL belongs: `maker` is the hop that made the
/// page (when it is on the path).
pub fn place(hops: &[Hop], maker: Option<usize>, fails: Option<Fails>) -> Option<usize> {
    let first_local = hops.iter().position(|h| h.role != Role::Edge);
    match fails? {
        Fails::Dns | Fails::None | Fails::Host => None,
        Fails::Edge => hops.iter().position(|h| h.role == Role::Edge).or(maker),
        Fails::Origin => first_local.or(maker),
        Fails::Proxy => maker.or(first_local),
        Fails::Upstream | Fails::Runtime | Fails::App | Fails::Database => {
            let behind = maker.and_then(|m| hops.iter().position(|h| h.from == Some(m)));
            behind.or(maker)
        }
    }
}

/// One cause on one hop, with every finding that supports it.
#[derive(Debug)]
struct Candidate<'f> {
    hop: Option<usize>,
    cause: &'f CauseSpec,
    findings: Vec<&'f Finding>,
}

impl Candidate<'_> {
    fn sources(&self) -> Vec<Source> {
        let mut sources: Vec<Source> = self.findings.iter().map(|f| f.source).collect();
        sources.sort();
        sources.dedup();
        sources
    }
}

/// The verdict, and each hop's state.
pub fn verdict(
    rules: &Rules,
    hops: &mut [Hop],
    found: &[Finding],
    seen: Option<&Seen>,
    intermittent: bool,
    timeline: Option<&Timeline>,
) -> Verdict {
    let candidates = candidates(rules, found);
    let steady = if intermittent { Timing::Intermittent } else { Timing::Steady };
    let (seen, timing) = match seen {
        Some(seen) => (Some(seen.clone()), steady),
        None => match from_access(hops, timeline) {
            Some((seen, timing)) => (Some(seen), timing),
            None => return healthy(rules, found, timeline),
        },
    };
    let Some(seen) = seen else { return healthy(rules, found, timeline) };
    let fitting: Vec<&Candidate> = candidates.iter().filter(|c| explains(c, &seen, hops)).collect();
    let Some(chosen) = choose(&fitting, hops) else {
        return unexplained(rules, hops, &candidates, &seen, timing);
    };
    mark(hops, chosen);
    decided(chosen, timing, timeline)
}

/// Findings grouped by hop and cause; a cause another one on the same hop refines joins it.
fn candidates<'f>(rules: &'f Rules, found: &'f [Finding]) -> Vec<Candidate<'f>> {
    let mut out: Vec<Candidate<'f>> = Vec::new();
    for finding in found {
        let Some(cause) = finding.cause.as_deref().filter(|c| *c != "none") else { continue };
        let Some(spec) = rules.cause(cause) else { continue };
        match out.iter_mut().find(|c| c.hop == finding.hop && c.cause.id == spec.id) {
            Some(candidate) => candidate.findings.push(finding),
            None => out.push(Candidate { hop: finding.hop, cause: spec, findings: vec![finding] }),
        }
    }
    fold_refined(out)
}

/// `runtime_down` and `upstream_refused` on one hop are one candidate, `runtime_down`.
fn fold_refined(mut all: Vec<Candidate<'_>>) -> Vec<Candidate<'_>> {
    let mut i = 0;
    while i < all.len() {
        let finer = all
            .iter()
            .position(|c| c.hop == all[i].hop && c.cause.refines.contains(&all[i].cause.id));
        match finer {
            Some(j) if j != i => {
                let plain = all.remove(i);
                let j = if j > i { j - 1 } else { j };
                all[j].findings.extend(plain.findings);
            }
            _ => i += 1,
        }
    }
    all
}

/// Whether the candidate's cause can produce what was seen. Through an edge (a CDN in front of
/// the origin), a local cause needs only produce some error at the origin's front proxy: the
/// edge passes it on or wraps it in its own page.
fn explains(candidate: &Candidate<'_>, seen: &Seen, hops: &[Hop]) -> bool {
    if candidate.cause.explains(seen) {
        return true;
    }
    let through_edge = hops
        .iter()
        .any(|h| h.role == Role::Edge && h.key.vendor.as_deref() == Some(seen.maker.as_str()));
    let local = candidate.hop.is_some_and(|h| hops[h].role != Role::Edge);
    let front = hops.iter().find(|h| h.role == Role::Proxy).and_then(|h| h.key.vendor.as_deref());
    through_edge && local && front.is_some_and(|f| candidate.cause.explains_some_error_at(f))
}

/// The outermost hop's candidate, specific causes before generic ones; outside findings
/// without a hop come first (DNS, the edge), the machine's last.
fn choose<'c, 'f>(fitting: &[&'c Candidate<'f>], hops: &[Hop]) -> Option<&'c Candidate<'f>> {
    let rank = |c: &Candidate<'_>| {
        let band = match (c.hop, c.cause.fails) {
            (None, Fails::Dns | Fails::Edge | Fails::Origin) => 0,
            (Some(_), _) => 1,
            (None, _) => 2,
        };
        let depth = c.hop.map_or(0, |h| depth(hops, h));
        (c.cause.generic, band, depth, c.hop.unwrap_or(0))
    };
    fitting.iter().copied().min_by_key(|c| rank(c))
}

/// How many hops lie before `hop` on its branch.
fn depth(hops: &[Hop], hop: usize) -> usize {
    let mut n = 0;
    let mut at = hops[hop].from;
    while let Some(i) = at {
        n += 1;
        at = hops.get(i).and_then(|h| h.from);
    }
    n
}

/// The chosen hop fails; the hops before it on its branch pass the error on; probed hops with
/// nothing against them are fine.
fn mark(hops: &mut [Hop], chosen: &Candidate<'_>) {
    for hop in hops.iter_mut() {
        if hop.state == HopState::Unknown && hop.key.result.is_some() {
            hop.state = HopState::Ok;
        }
    }
    let Some(at) = chosen.hop else { return };
    hops[at].state = HopState::Fails { cause: chosen.cause.id.clone() };
    let mut before = hops[at].from;
    while let Some(i) = before {
        hops[i].state = HopState::PassesOn;
        before = hops[i].from;
    }
}

fn decided(chosen: &Candidate<'_>, timing: Timing, timeline: Option<&Timeline>) -> Verdict {
    let first = chosen.findings[0];
    let mut sources = chosen.sources();
    if timeline.is_some_and(|t| t.errors > 0) && chosen.hop.is_some() {
        sources.push(Source::Access);
    }
    let mut reasons = first.evidence.clone();
    for other in chosen.findings.iter().skip(1).filter(|f| f.id != first.id) {
        if !reasons.contains(&other.summary) {
            reasons.push(other.summary.clone());
        }
    }
    Verdict {
        layer: first.layer,
        cause: chosen.cause.id.clone(),
        confidence: confidence(chosen, &sources),
        summary: first.summary.clone(),
        reasons,
        step: first.step.clone(),
        hop: chosen.hop,
        sources,
        timing,
    }
}

/// High only when two kinds of evidence agree (and the rule itself is sure); one kind is at
/// most medium; a generic cause is never high.
fn confidence(chosen: &Candidate<'_>, sources: &[Source]) -> Confidence {
    let best = chosen.findings.iter().map(|f| f.confidence).max().unwrap_or(Confidence::Low);
    let capped = if sources.len() >= 2 { best } else { best.min(Confidence::Medium) };
    if chosen.cause.generic { capped.min(Confidence::Medium) } else { capped }
}

/// The probes passed: what the site's access log says of the window. Errors in the last
/// minutes are an intermittent incident (seen as the front proxy's most frequent 5xx); older
/// ones one that recovered.
fn from_access(hops: &[Hop], timeline: Option<&Timeline>) -> Option<(Seen, Timing)> {
    let timeline = timeline.filter(|t| t.errors > 0)?;
    let maker = hops.iter().find(|h| h.role == Role::Proxy).and_then(|h| h.key.vendor.clone())?;
    let seen = Seen { maker, status: timeline.main_status(), failure: None };
    Some((seen, if timeline.recent { Timing::Intermittent } else { Timing::Recovered }))
}

/// No error now nor in the site's logs of the window.
fn healthy(rules: &Rules, found: &[Finding], timeline: Option<&Timeline>) -> Verdict {
    let Some(ok) = found.iter().find(|f| f.cause.as_deref() == Some("none")) else {
        return unknown(rules);
    };
    let mut reasons = ok.evidence.clone();
    if let Some(t) = timeline {
        reasons.push(format!("{}: {} requests, no server error in the window", t.file, t.requests));
    }
    Verdict {
        layer: None,
        cause: "none".to_owned(),
        confidence: if timeline.is_some() {
            Confidence::High
        } else {
            ok.confidence.min(Confidence::Medium)
        },
        summary: ok.summary.clone(),
        reasons,
        step: ok.step.clone(),
        hop: None,
        sources: timeline
            .map_or_else(|| vec![Source::Probe], |_| vec![Source::Probe, Source::Access]),
        timing: Timing::None,
    }
}

/// Nothing found explains what was seen: say so, what was found instead, and where to look.
fn unexplained(
    rules: &Rules,
    hops: &[Hop],
    candidates: &[Candidate<'_>],
    seen: &Seen,
    timing: Timing,
) -> Verdict {
    let mut verdict = unknown(rules);
    let next = hops
        .iter()
        .position(|h| h.key.vendor.as_deref() == Some(seen.maker.as_str()))
        .and_then(|m| hops.iter().position(|h| h.from == Some(m)).or(Some(m)))
        .or_else(|| hops.iter().position(|h| h.role != Role::Edge));
    verdict.summary = match next {
        Some(i) => format!(
            "Nothing found explains {}; look next at {}{}.",
            seen.label(),
            hops[i].name,
            hops[i].at.as_ref().map(|at| format!(" ({at})")).unwrap_or_default()
        ),
        None => format!("Nothing found explains {}.", seen.label()),
    };
    verdict.reasons = candidates
        .iter()
        .map(|c| format!("not the cause: {} ({})", c.cause.id, c.findings[0].summary))
        .collect();
    verdict.hop = next;
    verdict.timing = timing;
    verdict
}

/// The hops from the first to `to` along its branch (the whole path when `to` is `None`).
pub fn branch(hops: &[Hop], to: Option<usize>) -> Vec<Hop> {
    let Some(mut at) = to else { return hops.to_vec() };
    let mut out = vec![hops[at].clone()];
    while let Some(i) = hops[at].from {
        out.push(hops[i].clone());
        at = i;
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::model::Severity;

    fn finding(cause: &str, source: Source) -> Finding {
        Finding {
            id: format!("{cause}-{source:?}"),
            layer: None,
            cause: Some(cause.to_owned()),
            severity: Severity::High,
            confidence: Confidence::High,
            summary: String::new(),
            evidence: Vec::new(),
            step: None,
            source,
            hop: Some(0),
        }
    }

    #[test]
    fn no_generic_cause_is_ever_stated_with_high_confidence() {
        let rules = Rules::builtin().unwrap();
        for cause in rules.causes.iter().filter(|c| c.generic) {
            let found = [finding(&cause.id, Source::Page), finding(&cause.id, Source::Log)];
            let candidate = Candidate { hop: Some(0), cause, findings: found.iter().collect() };
            let sources = candidate.sources();
            assert_eq!(sources.len(), 2);
            assert!(confidence(&candidate, &sources) <= Confidence::Medium, "{}", cause.id);
        }
    }

    #[test]
    fn one_kind_of_evidence_is_at_most_medium_and_two_make_it_high() {
        let rules = Rules::builtin().unwrap();
        let cause = rules.cause("upstream_refused").unwrap();
        let one = [finding("upstream_refused", Source::Probe)];
        let candidate = Candidate { hop: Some(0), cause, findings: one.iter().collect() };
        assert_eq!(confidence(&candidate, &candidate.sources()), Confidence::Medium);
        let two =
            [finding("upstream_refused", Source::Probe), finding("upstream_refused", Source::Log)];
        let candidate = Candidate { hop: Some(0), cause, findings: two.iter().collect() };
        assert_eq!(confidence(&candidate, &candidate.sources()), Confidence::High);
    }

    #[test]
    fn a_finer_cause_on_the_same_hop_absorbs_the_plainer_one() {
        let rules = Rules::builtin().unwrap();
        let found =
            [finding("upstream_refused", Source::Probe), finding("runtime_down", Source::Stack)];
        let all = candidates(&rules, &found);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].cause.id, "runtime_down");
        assert_eq!(all[0].sources(), [Source::Probe, Source::Stack]);
    }
}
