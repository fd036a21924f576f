//! Evidence → findings → one verdict. [`assess`] is the one function every front end uses: it
//! builds the request path from the checks' typed evidence, runs the rules on each hop's own
//! facts, and names the first broken hop from the outside in whose cause explains the public
//! error. [`diagnose`] runs the rules on one set of facts. Nothing here performs IO, and nothing
//! guesses beyond the rules: when nothing fits, the verdict says so and names where to look.

pub mod assess;
pub mod attribute;
pub mod causes;
mod load;
pub mod path;
pub mod rules;
pub mod scope;
mod select;
pub mod timeline;

use serde::{Deserialize, Serialize};

use crate::facts::{FactValue, Facts};
use crate::layer::Layer;
use crate::runbook::model::Severity;
use crate::sanitize;

pub use assess::{Assessment, assess};
pub use path::{Hop, HopState};
pub use rules::{CauseSpec, Confidence, Rule, Rules, Source, Where};
pub use select::branch;

/// One thing the evidence shows, with where to go about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The stable id of the rule that found it.
    pub id: String,
    pub layer: Option<Layer>,
    pub cause: Option<String>,
    pub severity: Severity,
    pub confidence: Confidence,
    /// One sentence, sanitised.
    pub summary: String,
    /// The facts behind it, as `key = value`, sanitised.
    pub evidence: Vec<String>,
    /// The runbook step to go to.
    pub step: Option<String>,
    /// What kind of evidence it rests on.
    #[serde(default = "probe_source")]
    pub source: Source,
    /// The hop of the request path it concerns (an index into the path), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<usize>,
}

fn probe_source() -> Source {
    Source::Probe
}

/// Whether the failure goes on now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// Every probe failed.
    Steady,
    /// Some probes failed, or the probes passed but the site's logs show errors of the last
    /// minutes.
    Intermittent,
    /// The probes pass and the errors stopped a while ago.
    Recovered,
    /// No error now nor in the window.
    None,
    /// Nothing to tell by (no probe of the site).
    #[default]
    Unknown,
}

impl Timing {
    pub fn label(self) -> &'static str {
        match self {
            Timing::Steady => "steady",
            Timing::Intermittent => "intermittent",
            Timing::Recovered => "recovered",
            Timing::None => "none",
            Timing::Unknown => "unknown",
        }
    }
}

/// The layer and cause that best explain the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub layer: Option<Layer>,
    /// A cause id from the rules table; `unknown` when no rule matched.
    pub cause: String,
    pub confidence: Confidence,
    pub summary: String,
    /// Why: the deciding finding's evidence, then the other findings that agree.
    pub reasons: Vec<String>,
    /// The runbook step to go to.
    pub step: Option<String>,
    /// The failing hop (an index into the path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hop: Option<usize>,
    /// The kinds of evidence that agree on it.
    #[serde(default)]
    pub sources: Vec<Source>,
    #[serde(default)]
    pub timing: Timing,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub findings: Vec<Finding>,
    pub verdict: Verdict,
}

/// Applies every rule to the facts. Findings come in rule order; the verdict is the first
/// finding with a cause, one level surer when another finding names the same cause.
pub fn diagnose(rules: &Rules, facts: &Facts) -> Diagnosis {
    let findings: Vec<Finding> = rules.rules.iter().filter_map(|r| apply(r, facts)).collect();
    let verdict = verdict(rules, &findings);
    Diagnosis { findings, verdict }
}

impl Diagnosis {
    /// The diagnosis as facts (`verdict.layer`, `verdict.cause`, `verdict.confidence`,
    /// `findings`), so runbook conditions can read it like any check's evidence.
    pub fn facts(&self) -> Facts {
        let mut facts = Facts::new();
        if let Some(layer) = self.verdict.layer {
            facts.set("verdict.layer", layer.id());
        }
        facts.set("verdict.cause", self.verdict.cause.as_str());
        facts.set("verdict.confidence", self.verdict.confidence.label());
        facts.set("verdict.timing", self.verdict.timing.label());
        let mut ids: Vec<String> = Vec::new();
        for finding in &self.findings {
            if !ids.contains(&finding.id) {
                ids.push(finding.id.clone());
            }
        }
        ids.truncate(crate::contract::MAX_LIST_ITEMS);
        facts.set("findings", ids);
        facts
    }
}

/// The findings of the rules placed `at` (outside, per hop, the whole host) on `facts`.
pub fn findings(rules: &Rules, facts: &Facts, at: Where) -> Vec<Finding> {
    rules.rules.iter().filter(|r| r.at == at).filter_map(|r| apply(r, facts)).collect()
}

fn apply(rule: &Rule, facts: &Facts) -> Option<Finding> {
    let matched: Vec<String> =
        rule.when.iter().map(|c| c.matched(facts)).collect::<Option<Vec<_>>>()?;
    let mut evidence = matched;
    for key in &rule.cite {
        if let Some(value) = facts.get(key).filter(|v| !is_empty(v)) {
            let line = format!("{key} = {}", sanitize::line(&value.to_string()));
            if !evidence.contains(&line) {
                evidence.push(line);
            }
        }
    }
    Some(Finding {
        id: rule.id.clone(),
        layer: rule.layer,
        cause: rule.cause.clone(),
        severity: rule.severity,
        confidence: rule.confidence,
        summary: render(&rule.summary, facts),
        evidence,
        step: rule.step.clone(),
        source: rule.source,
        hop: None,
    })
}

/// An empty list or text says nothing; citing it would only add noise to the evidence.
fn is_empty(value: &FactValue) -> bool {
    match value {
        FactValue::List(items) => items.is_empty(),
        FactValue::Text(text) => text.is_empty(),
        FactValue::Bool(_) | FactValue::Int(_) => false,
    }
}

fn verdict(rules: &Rules, findings: &[Finding]) -> Verdict {
    let Some((first, cause)) = findings.iter().find_map(|f| f.cause.as_ref().map(|c| (f, c)))
    else {
        return unknown(rules);
    };
    let agreeing: Vec<&Finding> =
        findings.iter().filter(|f| f.id != first.id && f.cause.as_ref() == Some(cause)).collect();
    let confidence = if agreeing.is_empty() { first.confidence } else { first.confidence.raised() };
    let mut reasons = first.evidence.clone();
    reasons.extend(agreeing.iter().map(|f| f.summary.clone()));
    Verdict {
        layer: first.layer,
        cause: cause.clone(),
        confidence,
        summary: first.summary.clone(),
        reasons,
        step: first.step.clone(),
        hop: None,
        sources: vec![first.source],
        timing: Timing::Unknown,
    }
}

pub(crate) fn unknown(rules: &Rules) -> Verdict {
    let summary = rules.cause("unknown").map_or_else(
        || "The evidence so far does not point at one layer.".to_owned(),
        |c| c.description.clone(),
    );
    Verdict {
        layer: None,
        cause: "unknown".to_owned(),
        confidence: Confidence::Low,
        summary,
        reasons: Vec::new(),
        step: None,
        hop: None,
        sources: Vec::new(),
        timing: Timing::Unknown,
    }
}

/// The `{fact.key}` placeholders in a summary: a brace, a dotted lowercase key, a brace.
pub(crate) fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| {
        let (key, _) = rest.split_once('}')?;
        is_fact_key(key).then_some(key)
    })
}

fn is_fact_key(key: &str) -> bool {
    !key.is_empty()
        && key.contains('.')
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.')
}

/// A summary with each `{fact.key}` replaced by the fact's value (sanitised), or `?` when absent.
fn render(template: &str, facts: &Facts) -> String {
    let mut out = template.to_owned();
    for key in placeholders(template) {
        let value = facts.get(key).map_or_else(|| "?".to_owned(), ToString::to_string);
        out = out.replace(&format!("{{{key}}}"), &sanitize::line(&value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn nothing_known_is_unknown_with_low_confidence() {
        let d = diagnose(&rules(), &Facts::new());
        assert_eq!(d.verdict.cause, "unknown");
        assert_eq!(d.verdict.confidence, Confidence::Low);
        assert_eq!(d.verdict.layer, None);
    }

    #[test]
    fn a_healthy_site_is_none() {
        let facts: Facts =
            [("http.status", 200_i64), ("http.error_probes", 0)].into_iter().collect();
        let d = diagnose(&rules(), &facts);
        assert_eq!(d.verdict.cause, "none");
        assert_eq!(d.facts().get("verdict.cause"), Some(&"none".into()));
    }

    #[test]
    fn placeholders_render_and_absent_facts_show_a_question_mark() {
        let mut facts = Facts::new();
        facts.set("http.status", 502_i64);
        facts.set("http.server", "ev\u{1b}[2Jil");
        assert_eq!(
            render("{http.status} from {http.server} ({dns.cdn})", &facts),
            "502 from evil (?)"
        );
        assert_eq!(
            placeholders("{a} {http.status} {x.Y}").collect::<Vec<_>>(),
            vec!["http.status"]
        );
    }

    #[test]
    fn agreeing_findings_raise_confidence() {
        let table = "causes:\n  - { id: c, title: C, description: d }\n  - { id: unknown, title: U, description: u }\nrules:\n  - { id: a, cause: c, layer: host, severity: high, confidence: low, summary: A, when: [{ fact: http.status, equals: 502 }] }\n  - { id: b, cause: c, layer: host, severity: high, confidence: low, summary: B, when: [{ fact: http.status, at_least: 500 }] }\n";
        let rules = Rules::load_str("t.yaml", table).unwrap();
        let facts: Facts = [("http.status", 502_i64)].into_iter().collect();
        let d = diagnose(&rules, &facts);
        assert_eq!(d.verdict.confidence, Confidence::Medium);
        assert_eq!(d.verdict.reasons, vec!["http.status = 502".to_owned(), "B".to_owned()]);
        assert_eq!(d.findings.len(), 2);
    }
}
