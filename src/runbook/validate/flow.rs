//! The rules on the decision tree as a graph: every target exists, every step is reachable
//! from the start, and every step can reach an outcome.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Report, did_you_mean};
use crate::runbook::raw::{RawQuestionKind, RawRunbook, RawStep};
use crate::yaml::Text;

/// Where a choice (or text question) of a step leads, as written.
pub(super) struct Edge<'a> {
    what: String,
    next: Option<&'a Text>,
    outcome: Option<&'a Text>,
}

pub(super) fn edges(step: &RawStep) -> Vec<Edge<'_>> {
    let q = &step.question.value;
    if q.kind.value == RawQuestionKind::Text {
        return vec![Edge {
            what: "the text question".to_owned(),
            next: q.next.as_ref(),
            outcome: q.outcome.as_ref(),
        }];
    }
    q.choices
        .iter()
        .flat_map(|c| &c.value)
        .map(|c| Edge {
            what: format!("choice `{}`", c.id.value),
            next: c.next.as_ref(),
            outcome: c.outcome.as_ref(),
        })
        .collect()
}

pub(super) fn targets(r: &mut Report, raw: &RawRunbook) {
    let steps: BTreeSet<&str> = raw.steps.value.iter().map(|s| s.id.value.as_str()).collect();
    let ends: BTreeSet<&str> = raw.outcomes.value.iter().map(|o| o.id.value.as_str()).collect();
    if !steps.contains(raw.start.value.as_str()) {
        let hint = target_hint(&raw.start.value, &steps, &ends, "step");
        r.error(
            raw.start.pos,
            format!("`start` names `{}`, which is not a step{hint}", raw.start.value),
        );
    }
    for edge in raw.steps.value.iter().flat_map(edges) {
        if let Some(next) = edge.next.filter(|n| !steps.contains(n.value.as_str())) {
            let hint = if r.is_full() {
                String::new()
            } else {
                target_hint(&next.value, &steps, &ends, "step")
            };
            r.error(
                next.pos,
                format!("{} leads to step `{}`, which does not exist{hint}", edge.what, next.value),
            );
        }
        if let Some(end) = edge.outcome.filter(|o| !ends.contains(o.value.as_str())) {
            let hint = if r.is_full() {
                String::new()
            } else {
                target_hint(&end.value, &ends, &steps, "outcome")
            };
            r.error(
                end.pos,
                format!(
                    "{} leads to outcome `{}`, which does not exist{hint}",
                    edge.what, end.value
                ),
            );
        }
    }
}

/// "did you mean", or a note that the id is of the other kind (`next:` naming an outcome).
pub(super) fn target_hint(
    id: &str,
    same: &BTreeSet<&str>,
    other: &BTreeSet<&str>,
    kind: &str,
) -> String {
    if other.contains(id) {
        let (is, key) = if kind == "step" { ("an outcome", "outcome") } else { ("a step", "next") };
        return format!("; `{id}` is {is}: write `{key}: {id}`");
    }
    did_you_mean(id, same.iter().copied())
}

/// Unreachable steps and outcomes (warnings) and steps that cannot reach any outcome (errors).
pub(super) fn flow(r: &mut Report, raw: &RawRunbook) {
    let steps = &raw.steps.value;
    let index: HashMap<&str, usize> =
        steps.iter().enumerate().rev().map(|(i, s)| (s.id.value.as_str(), i)).collect();
    let next: Vec<Vec<usize>> = steps
        .iter()
        .map(|s| {
            edges(s)
                .iter()
                .filter_map(|e| e.next.and_then(|n| index.get(n.value.as_str()).copied()))
                .collect()
        })
        .collect();
    let exits: Vec<bool> =
        steps.iter().map(|s| edges(s).iter().any(|e| e.outcome.is_some())).collect();
    if let Some(&start) = index.get(raw.start.value.as_str()) {
        unreachable(r, raw, start, &next);
    }
    let can_end = can_reach_an_outcome(&next, &exits);
    // A step without any way out already has its own error (no choices, no target).
    let leads_on = |s: &RawStep| edges(s).iter().any(|e| e.next.is_some() || e.outcome.is_some());
    let trapped = steps.iter().zip(&can_end).filter(|(s, ok)| !**ok && leads_on(s));
    for (step, _) in trapped {
        r.error(step.id.pos, format!(
            "no outcome can be reached from step `{}`: every path from here loops without an exit; give one of these steps a choice that leads on or ends in an outcome",
            step.id.value
        ));
    }
}

pub(super) fn unreachable(r: &mut Report, raw: &RawRunbook, start: usize, next: &[Vec<usize>]) {
    let steps = &raw.steps.value;
    let mut seen = vec![false; steps.len()];
    let mut todo = vec![start];
    let mut ends: BTreeSet<&str> = BTreeSet::new();
    while let Some(i) = todo.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        ends.extend(edges(&steps[i]).iter().filter_map(|e| e.outcome.map(|o| o.value.as_str())));
        todo.extend(next[i].iter().copied().filter(|&j| !seen[j]));
    }
    let first_of_id: BTreeMap<&str, usize> =
        steps.iter().enumerate().rev().map(|(i, s)| (s.id.value.as_str(), i)).collect();
    for (i, step) in steps.iter().enumerate() {
        if !seen[i] && first_of_id.get(step.id.value.as_str()) == Some(&i) {
            r.warn(
                step.id.pos,
                format!(
                    "step `{}` is never reached: no path from `start` leads here",
                    step.id.value
                ),
            );
        }
    }
    for outcome in raw.outcomes.value.iter().filter(|o| !ends.contains(o.id.value.as_str())) {
        r.warn(
            outcome.id.pos,
            format!(
                "outcome `{}` is never reached: no path from `start` leads here",
                outcome.id.value
            ),
        );
    }
}

/// For each step, whether some path from it ends in an outcome.
pub(super) fn can_reach_an_outcome(next: &[Vec<usize>], exits: &[bool]) -> Vec<bool> {
    let mut ok = exits.to_vec();
    let mut changed = true;
    while changed {
        changed = false;
        for i in 0..next.len() {
            if !ok[i] && next[i].iter().any(|&j| ok[j]) {
                ok[i] = true;
                changed = true;
            }
        }
    }
    ok
}
