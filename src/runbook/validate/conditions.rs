//! The rules on what the evidence can say: every check a step calls exists and gets the
//! parameters it needs, and every condition names a fact some check produces, with an operator and
//! a value that fit the fact's kind.

use super::{Report, did_you_mean};
use crate::checks::registry;
use crate::contract::FactSpec;
use crate::facts::FactKind;
use crate::runbook::raw::{RawCheck, RawChoice, RawCondition, RawScalar, RawStep};
use crate::yaml::{At, Text};

pub(super) const OPERATORS: &str = "equals, one_of, exists, at_least, at_most, contains";

pub(super) fn choice_conditions(r: &mut Report, choice: &RawChoice) {
    for cond in &choice.when {
        condition(r, cond);
    }
}

pub(super) fn condition(r: &mut Report, cond: &At<RawCondition>) {
    let c = &cond.value;
    if let Some(group) = &c.any {
        if c.fact.is_some() || !operators(c).is_empty() {
            r.error(cond.pos, "an `any:` group takes only a list of conditions; move `fact` and its test into the list");
        }
        if group.value.is_empty() {
            r.error(group.pos, "an `any:` group needs at least one condition");
        }
        for inner in &group.value {
            condition(r, inner);
        }
        return;
    }
    let Some(fact) = &c.fact else {
        r.error(
            cond.pos,
            format!("a condition needs `fact` and one of {OPERATORS} (or is an `any:` group)"),
        );
        return;
    };
    let ops = operators(c);
    match ops.as_slice() {
        [] => {
            r.error(fact.pos, format!("a condition needs exactly one of {OPERATORS}; found none"));
        }
        [_] => {}
        [first, second, ..] => r.error(
            fact.pos,
            format!("a condition needs exactly one of {OPERATORS}; found `{first}` and `{second}`"),
        ),
    }
    let Some(spec) = fact_spec(r, fact) else { return };
    if let [op] = ops.as_slice() {
        fits(r, fact, spec.kind, op, c);
    }
}

pub(super) fn operators(c: &RawCondition) -> Vec<&'static str> {
    let set = [
        ("equals", c.equals.is_some()),
        ("one_of", c.one_of.is_some()),
        ("exists", c.exists.is_some()),
        ("at_least", c.at_least.is_some()),
        ("at_most", c.at_most.is_some()),
        ("contains", c.contains.is_some()),
    ];
    set.into_iter().filter(|(_, on)| *on).map(|(op, _)| op).collect()
}

/// The catalog entry for a fact key, reporting an unknown key.
pub(super) fn fact_spec(r: &mut Report, fact: &Text) -> Option<&'static FactSpec> {
    let spec = registry::fact(&fact.value);
    if spec.is_none() {
        let keys = registry::all_facts();
        let hint = did_you_mean(&fact.value, keys.map(|f| f.key));
        r.error(fact.pos, format!(
            "no check produces the fact `{}`{hint}; see the fact catalog in docs/runbook-format.md",
            fact.value
        ));
    }
    spec
}

pub(super) fn kind_name(kind: FactKind) -> &'static str {
    match kind {
        FactKind::Bool => "a yes/no value",
        FactKind::Int => "a number",
        FactKind::Text => "text",
        FactKind::List => "a list",
    }
}

pub(super) fn scalar_kind(v: &RawScalar) -> FactKind {
    match v {
        RawScalar::Bool(_) => FactKind::Bool,
        RawScalar::Int(_) => FactKind::Int,
        RawScalar::Text(_) => FactKind::Text,
    }
}

/// Warns when an operator or its value cannot match the kind of fact the catalog declares.
pub(super) fn fits(r: &mut Report, fact: &Text, kind: FactKind, op: &str, c: &RawCondition) {
    let values: Vec<&At<RawScalar>> = match (&c.equals, &c.one_of) {
        (Some(v), _) => vec![v],
        (None, Some(list)) => list.value.iter().collect(),
        _ => Vec::new(),
    };
    let fitting: &[FactKind] = match op {
        "at_least" | "at_most" => &[FactKind::Int, FactKind::List],
        "contains" => &[FactKind::Text, FactKind::List],
        // A list "exists" when it holds at least one item (see `condition`).
        "exists" => &[FactKind::Bool, FactKind::Int, FactKind::Text, FactKind::List],
        _ => &[FactKind::Bool, FactKind::Int, FactKind::Text],
    };
    let name = fact.value.as_str();
    if !fitting.contains(&kind) {
        let hint = if kind == FactKind::List { "; use `contains` for a list" } else { "" };
        r.warn(
            fact.pos,
            format!("`{op}` does not fit `{name}`, which holds {}{hint}", kind_name(kind)),
        );
        return;
    }
    for v in values.into_iter().filter(|v| scalar_kind(&v.value) != kind) {
        let given = kind_name(scalar_kind(&v.value));
        r.warn(
            v.pos,
            format!(
                "`{op}` compares {given} but `{name}` holds {}; this test can never hold",
                kind_name(kind)
            ),
        );
    }
}

pub(super) fn checks(r: &mut Report, step: &RawStep) {
    for call in &step.checks {
        check(r, call);
    }
}

pub(super) fn check(r: &mut Report, call: &RawCheck) {
    let id = &call.check;
    let Some(spec) = registry::spec(&id.value) else {
        let ids: Vec<&str> = registry::specs().map(|c| c.id).collect();
        let hint = did_you_mean(&id.value, ids.iter().copied());
        r.error(
            id.pos,
            format!("unknown check `{}`{hint}; expected one of: {}", id.value, ids.join(", ")),
        );
        return;
    };
    for param in spec.params.iter().filter(|p| p.required) {
        if !call.with.0.iter().any(|(k, _)| k.value == param.name) {
            r.error(
                id.pos,
                format!(
                    "check `{}` needs the parameter `{}` ({}); add it under `with:`",
                    spec.id, param.name, param.doc
                ),
            );
        }
    }
    for (key, _) in &call.with.0 {
        if !spec.params.iter().any(|p| p.name == key.value) {
            let names: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            let expected = if names.is_empty() {
                "it takes no parameters".to_owned()
            } else {
                format!("expected one of: {}", names.join(", "))
            };
            r.error(
                key.pos,
                format!("check `{}` has no parameter `{}`; {expected}", spec.id, key.value),
            );
        }
    }
}
