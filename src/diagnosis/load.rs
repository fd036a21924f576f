//! Loading the diagnosis table: raw serde types that mirror assets/diagnosis.yaml, every check
//! (ids unique, causes declared, facts produced by some check, `makes` readable), then the
//! validated [`Rules`].

use std::collections::HashMap;

use serde::Deserialize;

use super::causes::{CauseSpec, Fails, Made};
use super::rules::{Confidence, Rule, Rules, Scope, Source, Where};
use crate::layer::Layer;
use crate::runbook::model::Severity;
use crate::runbook::raw::RawCondition;
use crate::runbook::{load, validate};
use crate::yaml::{self, At, Level, LoadFailure, Problem, SourceError, Text};

/// Loads and validates a rules table; errors name `origin:line:col`.
pub(super) fn rules(origin: &str, text: &str) -> Result<Rules, LoadFailure> {
    let raw: RawRules = yaml::from_str(origin, text)
        .map_err(|error| LoadFailure::Invalid(vec![Problem { level: Level::Error, error }]))?;
    let mut problems = check(origin, text, &raw);
    problems.sort_by_key(|p| (p.error.line, p.error.column));
    if problems.iter().any(|p| p.level == Level::Error) {
        return Err(LoadFailure::Invalid(problems));
    }
    Ok(build(raw))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    causes: Vec<RawCause>,
    #[serde(default)]
    scopes: Vec<Scope>,
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCause {
    id: Text,
    title: Text,
    description: Text,
    #[serde(default = "no_fault")]
    fails: Fails,
    #[serde(default)]
    generic: bool,
    #[serde(default)]
    refines: Vec<Text>,
    #[serde(default)]
    makes: Vec<Text>,
}

fn no_fault() -> Fails {
    Fails::None
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
        for made in cause.makes.iter().filter(|m| Made::parse(&m.value).is_none()) {
            error(
                made.pos,
                format!(
                    "`{}` is not `MAKER STATUS` (e.g. `nginx 502`, `app 5xx`, `none timeout`)",
                    made.value
                ),
            );
        }
    }
    for cause in &raw.causes {
        for refined in cause.refines.iter().filter(|r| !causes.contains_key(r.value.as_str())) {
            error(
                refined.pos,
                format!("cause `{}` is not declared under `causes:`", refined.value),
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
        } else if scope_of(&raw.scopes, &rule.when.value).is_none() && !raw.scopes.is_empty() {
            error(rule.when.pos, "no `scopes:` entry covers the first fact of `when:`".to_owned());
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

/// The scope of the first fact a rule's conditions test (the longest prefix that matches).
fn scope_of<'s>(scopes: &'s [Scope], when: &[At<RawCondition>]) -> Option<&'s Scope> {
    let fact = first_fact(&when.first()?.value)?;
    scopes.iter().filter(|s| fact.starts_with(&s.prefix)).max_by_key(|s| s.prefix.len())
}

fn first_fact(condition: &RawCondition) -> Option<&str> {
    match (&condition.fact, &condition.any) {
        (Some(fact), _) => Some(&fact.value),
        (None, Some(any)) => any.value.first().and_then(|c| first_fact(&c.value)),
        (None, None) => None,
    }
}

fn build(raw: RawRules) -> Rules {
    let causes = raw.causes.into_iter().map(cause).collect();
    let scopes = raw.scopes;
    let rules = raw
        .rules
        .into_iter()
        .map(|r| {
            let scope = scope_of(&scopes, &r.when.value);
            let at = scope.map_or(Where::Outside, |s| s.at);
            let source = scope.map_or(Source::Probe, |s| s.source);
            Rule {
                id: r.id.value,
                cause: r.cause.map(|c| c.value),
                layer: r.layer.map(|l| l.value),
                severity: r.severity,
                confidence: r.confidence,
                step: r.step.map(|s| s.value),
                summary: r.summary.value,
                when: r.when.value.into_iter().map(|c| load::condition(c.value)).collect(),
                cite: r.cite.into_iter().map(|c| c.value).collect(),
                at,
                source,
            }
        })
        .collect();
    Rules { causes, scopes, rules }
}

fn cause(c: RawCause) -> CauseSpec {
    CauseSpec {
        id: c.id.value,
        title: c.title.value,
        description: c.description.value,
        fails: c.fails,
        generic: c.generic,
        refines: c.refines.into_iter().map(|r| r.value).collect(),
        makes: c.makes.iter().filter_map(|m| Made::parse(&m.value)).collect(),
    }
}
