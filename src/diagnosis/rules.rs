//! The diagnosis rules table (`assets/diagnosis.yaml`): the causes triage can name and the rules
//! that recognise them in the facts. Loaded in two stages like a runbook — raw serde types, then
//! validated [`Rules`] — through the same strict YAML loader, so a typo names its line and column.
//! This module only loads and checks the table; applying it is `diagnosis::diagnose`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::knowledge::fingerprints;
use crate::knowledge::signatures::Signatures;
use crate::layer::Layer;
use crate::runbook::model::{Condition, Severity};
use crate::runbook::raw::RawCondition;
use crate::runbook::{load, validate};
use crate::yaml::{self, At, Level, LoadFailure, Problem, SourceError, Text};

/// How sure a finding or the verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn label(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// One level surer, for a cause that more than one finding points at.
    #[must_use]
    pub fn raised(self) -> Confidence {
        match self {
            Confidence::Low => Confidence::Medium,
            Confidence::Medium | Confidence::High => Confidence::High,
        }
    }
}

/// A cause triage can name, with a stable snake_case id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CauseSpec {
    pub id: String,
    pub title: String,
    pub description: String,
}

/// One rule: when every condition holds, the facts show this finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// The finding's stable id.
    pub id: String,
    /// The cause it points at; `None` for an observation that explains nothing by itself.
    pub cause: Option<String>,
    /// The layer at fault; `None` when nothing is at fault (the `none` cause).
    pub layer: Option<Layer>,
    pub severity: Severity,
    pub confidence: Confidence,
    /// The runbook step to go to.
    pub step: Option<String>,
    /// One sentence; `{fact.key}` placeholders render the fact's value.
    pub summary: String,
    pub when: Vec<Condition>,
    /// Further facts quoted as evidence when present.
    pub cite: Vec<String>,
}

/// The validated table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rules {
    pub causes: Vec<CauseSpec>,
    /// In precedence order: the first matching rule with a cause gives the verdict.
    pub rules: Vec<Rule>,
}

const BUILTIN: &str = include_str!("../../assets/diagnosis.yaml");
const BUILTIN_ORIGIN: &str = "builtin:assets/diagnosis.yaml";

impl Rules {
    /// The table shipped in the binary.
    pub fn builtin() -> Result<Rules, LoadFailure> {
        Rules::load_str(BUILTIN_ORIGIN, BUILTIN)
    }

    /// Loads and validates a rules table; errors name `origin:line:col`.
    pub fn load_str(origin: &str, text: &str) -> Result<Rules, LoadFailure> {
        let raw: RawRules = yaml::from_str(origin, text)
            .map_err(|error| LoadFailure::Invalid(vec![Problem { level: Level::Error, error }]))?;
        let mut problems = check(origin, text, &raw);
        problems.sort_by_key(|p| (p.error.line, p.error.column));
        if problems.iter().any(|p| p.level == Level::Error) {
            return Err(LoadFailure::Invalid(problems));
        }
        Ok(build(raw))
    }

    pub fn cause(&self, id: &str) -> Option<&CauseSpec> {
        self.causes.iter().find(|c| c.id == id)
    }

    /// The cause ids the knowledge tables name that this table does not declare, as
    /// `fingerprints.yaml: vendor/page: cause` lines. The tables are loaded apart (a check never
    /// reads the diagnosis); this is where they are held against each other.
    pub fn unknown_causes(&self, pages: &fingerprints::Table, logs: &Signatures) -> Vec<String> {
        let pages = pages.vendors.iter().flat_map(|v| {
            v.pages.iter().filter_map(move |p| {
                Some((format!("fingerprints.yaml: {}/{}", v.id, p.code), p.cause.as_deref()?))
            })
        });
        let logs = logs
            .list
            .iter()
            .filter_map(|s| Some((format!("log-signatures.yaml: {}", s.id), s.cause.as_deref()?)));
        pages
            .chain(logs)
            .filter(|(_, cause)| self.cause(cause).is_none())
            .map(|(at, cause)| format!("{at}: cause `{cause}` is not in diagnosis.yaml"))
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    causes: Vec<RawCause>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCause {
    id: Text,
    title: Text,
    description: Text,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Text,
    cause: Option<Text>,
    layer: Option<At<Layer>>,
    severity: Severity,
    confidence: Confidence,
    step: Option<Text>,
    summary: Text,
    when: At<Vec<At<RawCondition>>>,
    #[serde(default)]
    cite: Vec<Text>,
}

fn check(origin: &str, text: &str, raw: &RawRules) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut error = |pos: crate::yaml::Pos, message: String| {
        let error = SourceError::at(origin, text, pos.line, pos.column, message);
        problems.push(Problem { level: Level::Error, error });
    };
    let mut causes = HashMap::new();
    for cause in &raw.causes {
        if let Some(line) = causes.insert(cause.id.value.as_str(), cause.id.pos.line) {
            error(
                cause.id.pos,
                format!("duplicate cause `{}`: already at line {line}", cause.id.value),
            );
        }
    }
    let mut ids = HashMap::new();
    for rule in &raw.rules {
        if let Some(line) = ids.insert(rule.id.value.as_str(), rule.id.pos.line) {
            error(
                rule.id.pos,
                format!("duplicate rule `{}`: already at line {line}", rule.id.value),
            );
        }
        if let Some(cause) = rule.cause.as_ref().filter(|c| !causes.contains_key(c.value.as_str()))
        {
            error(cause.pos, format!("cause `{}` is not declared under `causes:`", cause.value));
        }
        if rule.when.value.is_empty() {
            error(rule.when.pos, "a rule needs at least one condition under `when:`".to_owned());
        }
    }
    for rule in &raw.rules {
        let placeholders = placeholder_texts(&rule.summary);
        let facts: Vec<&Text> = rule.cite.iter().chain(&placeholders).collect();
        problems.extend(validate::condition_problems(origin, text, &rule.when.value, &facts));
    }
    problems
}

/// The `{fact.key}` placeholders of a summary, as texts positioned at the summary.
fn placeholder_texts(summary: &Text) -> Vec<Text> {
    super::placeholders(&summary.value)
        .map(|key| At { value: key.to_owned(), pos: summary.pos })
        .collect()
}

fn build(raw: RawRules) -> Rules {
    let causes = raw
        .causes
        .into_iter()
        .map(|c| CauseSpec {
            id: c.id.value,
            title: c.title.value,
            description: c.description.value,
        })
        .collect();
    let rules = raw
        .rules
        .into_iter()
        .map(|r| Rule {
            id: r.id.value,
            cause: r.cause.map(|c| c.value),
            layer: r.layer.map(|l| l.value),
            severity: r.severity,
            confidence: r.confidence,
            step: r.step.map(|s| s.value),
            summary: r.summary.value,
            when: r.when.value.into_iter().map(|c| load::condition(c.value)).collect(),
            cite: r.cite.into_iter().map(|c| c.value).collect(),
        })
        .collect();
    Rules { causes, rules }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_loads() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(rules.cause("none").is_some() && rules.cause("unknown").is_some());
        assert!(!rules.rules.is_empty());
    }

    #[test]
    fn every_cause_the_knowledge_tables_name_is_declared() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        let pages = fingerprints::Table::builtin().unwrap_or_else(|e| panic!("{e}"));
        let logs = Signatures::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.unknown_causes(&pages, &logs), Vec::<String>::new());
        let mut pages = pages;
        pages.vendors[0].pages[0].cause = Some("no_such_cause".to_owned());
        assert_eq!(rules.unknown_causes(&pages, &logs).len(), 1);
    }

    #[test]
    fn every_step_a_rule_names_is_a_step_of_the_builtin_runbook() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        let runbooks = crate::runbook::builtin::load_all().unwrap_or_else(|e| panic!("{e}"));
        let http = runbooks.iter().find(|r| r.id == "http-5xx").unwrap();
        for rule in &rules.rules {
            if let Some(step) = &rule.step {
                assert!(
                    http.step(step).is_some(),
                    "rule `{}` names unknown step `{step}`",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn mistakes_name_their_line() {
        let text = "causes:\n  - { id: a, title: A, description: d }\nrules:\n  - id: r\n    cause: b\n    severity: high\n    confidence: high\n    summary: 'x {http.nope}'\n    when:\n      - { fact: http.stauts, equals: 502 }\n";
        let err = Rules::load_str("t.yaml", text).unwrap_err().to_string();
        assert!(err.contains("t.yaml:5:12: cause `b` is not declared"), "{err}");
        assert!(err.contains("t.yaml:8:14: no check produces the fact `http.nope`"), "{err}");
        assert!(err.contains("t.yaml:10:17: no check produces the fact `http.stauts` (did you mean `http.status`?)"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = "causes: []\nrules:\n  - id: r\n    severty: high\n";
        let err = Rules::load_str("t.yaml", text).unwrap_err().to_string();
        assert!(err.starts_with("error: t.yaml:4:5: "), "{err}");
    }
}
