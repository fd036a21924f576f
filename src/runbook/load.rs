//! Loading a runbook: YAML text → raw types (stage 1, `raw`) → every validation rule
//! (`validate`) → the domain model (stage 2). It reads files with a size bound and never panics
//! on any input; every problem names `path:line:col`.

use std::path::Path;

use crate::facts::FactValue;
use crate::runbook::model::{
    Cause, CheckCall, Checklist, Choice, Command, Condition, Effect, FixCard, Input, InputKind,
    Next, Outcome, OutcomeKind, Question, Record, Repeat, Risk, Runbook, Send, Step, Test,
};
use crate::runbook::raw::{
    RawChoice, RawCommand, RawCondition, RawEffect, RawInput, RawInputKind, RawOutcome,
    RawOutcomeKind, RawQuestion, RawQuestionKind, RawRunbook, RawScalar, RawStep, RawStepKind,
};
use crate::runbook::validate;
use crate::yaml::{self, Level, LoadFailure, Problem, Text, read_bounded};

/// A runbook that passed validation, with the warnings it raised.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub runbook: Runbook,
    pub warnings: Vec<Problem>,
}

/// Loads and validates a runbook from text. `origin` names it in messages (a path or
/// `builtin:<file>`).
pub fn load_str(origin: &str, text: &str) -> Result<Loaded, LoadFailure> {
    let raw: RawRunbook = yaml::from_str(origin, text)
        .map_err(|error| LoadFailure::Invalid(vec![Problem { level: Level::Error, error }]))?;
    let problems = validate::validate(origin, text, &raw);
    if problems.iter().any(|p| p.level == Level::Error) {
        return Err(LoadFailure::Invalid(problems));
    }
    Ok(Loaded { runbook: build(origin, raw), warnings: problems })
}

/// Reads at most `yaml::MAX_BYTES` from `path`, then loads it like [`load_str`].
pub fn load_file(path: &Path) -> Result<Loaded, LoadFailure> {
    let origin = path.display().to_string();
    let text = read_bounded(path).map_err(LoadFailure::Unreadable)?;
    load_str(&origin, &text)
}

/// Stage 2: the domain model from raw types that passed validation. Every reference is known to
/// resolve here; the fallbacks below only keep this total and are never reached.
fn build(origin: &str, raw: RawRunbook) -> Runbook {
    Runbook {
        id: raw.id.value,
        title: raw.title.value,
        version: raw.version.value,
        summary: raw.summary.value,
        applies_to: raw.applies_to.into_iter().map(|s| s.value).collect(),
        inputs: raw.inputs.into_iter().map(input).collect(),
        start: raw.start.value,
        steps: raw.steps.value.into_iter().map(step).collect(),
        outcomes: raw.outcomes.value.into_iter().map(outcome).collect(),
        origin: origin.to_owned(),
    }
}

fn texts(list: Vec<Text>) -> Vec<String> {
    list.into_iter().map(|t| t.value).collect()
}

fn input(raw: RawInput) -> Input {
    let kind = match raw.kind.value {
        RawInputKind::Url => InputKind::Url,
        RawInputKind::Host => InputKind::Host,
        RawInputKind::Path => InputKind::Path,
        RawInputKind::Text => InputKind::Text,
        RawInputKind::Choice => {
            InputKind::Choice(raw.options.map(|o| texts(o.value)).unwrap_or_default())
        }
    };
    Input {
        name: raw.name.value,
        prompt: raw.prompt.value,
        kind,
        default: raw.default.map(|d| d.value),
        required: raw.required,
        help: raw.help.map(|h| h.value),
        from: raw.from.map(|f| f.value),
    }
}

fn step(raw: RawStep) -> Step {
    Step {
        id: raw.id.value,
        title: raw.title.value,
        layer: raw.layer.value,
        why: raw.why.value,
        instructions: texts(raw.instructions),
        commands: raw.commands.into_iter().map(command).collect(),
        checks: raw
            .checks
            .into_iter()
            .map(|c| CheckCall {
                check: c.check.value,
                with: c.with.0.into_iter().map(|(k, v)| (k.value, v.value)).collect(),
            })
            .collect(),
        causes: raw
            .causes
            .into_iter()
            .map(|c| Cause {
                id: c.id.value,
                title: c.title.value,
                statuses: c.statuses.into_iter().map(|s| s.value).collect(),
                severity: c.severity,
                signs: c.signs.value,
                next: c.next.value,
            })
            .collect(),
        checklists: raw
            .checklists
            .into_iter()
            .map(|c| Checklist { title: c.title.value, items: texts(c.items) })
            .collect(),
        notes: texts(raw.notes),
        record: raw
            .record
            .into_iter()
            .map(|r| Record {
                item: r.item,
                from: r.from.map(|f| f.value),
                ask: r.ask.map(|a| a.value),
            })
            .collect(),
        question: question(raw.question.value),
        repeat: raw
            .watch
            .map(|r| Repeat { every: r.value.every.value, until: r.value.r#for.value }),
        fix_step: raw.kind == RawStepKind::Fix,
        fixes: raw
            .fixes
            .into_iter()
            .map(|f| FixCard {
                id: f.id.value,
                title: f.title.value,
                time: f.time.value,
                risk: f.risk,
                who: f.who,
                summary: f.summary.value,
                steps: texts(f.steps),
                commands: f.commands.into_iter().map(command).collect(),
                expected: f.expected.value,
                if_failed: f.if_failed.value,
                verify: f.verify.value,
                rollback: f.rollback.value,
            })
            .collect(),
    }
}

fn command(raw: RawCommand) -> Command {
    let effect = match raw.effect.value {
        RawEffect::ReadOnly => Effect::ReadOnly,
        RawEffect::ChangesSystem => Effect::ChangesSystem {
            risk: raw.risk.map_or(Risk::High, |r| r.value),
            rollback: raw.rollback.map(|r| r.value).unwrap_or_default(),
        },
    };
    Command {
        run: raw.run.value,
        purpose: raw.purpose.value,
        effect,
        family: raw.family.map(|f| f.value),
    }
}

fn target(next: Option<Text>, outcome: Option<Text>) -> Next {
    match (next, outcome) {
        (Some(step), _) => Next::Step(step.value),
        (None, Some(end)) => Next::Outcome(end.value),
        (None, None) => Next::Outcome(String::new()),
    }
}

fn question(raw: RawQuestion) -> Question {
    let prompt = raw.prompt.value;
    let choices =
        || raw.choices.map(|c| c.value.into_iter().map(choice).collect()).unwrap_or_default();
    match raw.kind.value {
        RawQuestionKind::YesNo => Question::YesNo { prompt, choices: choices() },
        RawQuestionKind::Choice => Question::Choice { prompt, choices: choices() },
        RawQuestionKind::Text => Question::Text {
            prompt,
            default: raw.default.map(|d| d.value),
            then: target(raw.next, raw.outcome),
        },
    }
}

fn choice(raw: RawChoice) -> Choice {
    Choice {
        id: raw.id.value,
        label: raw.label.value,
        target: target(raw.next, raw.outcome),
        when: raw.when.into_iter().map(|c| condition(c.value)).collect(),
        because: raw.because.map(|b| b.value),
        made: raw.made.map(|m| m.value),
    }
}

fn scalar(raw: RawScalar) -> FactValue {
    match raw {
        RawScalar::Bool(b) => FactValue::Bool(b),
        RawScalar::Int(n) => FactValue::Int(n),
        RawScalar::Text(s) => FactValue::Text(s),
    }
}

/// A validated raw condition as the model's [`Condition`]; also used by the diagnosis rules.
pub(crate) fn condition(raw: RawCondition) -> Condition {
    if let Some(group) = raw.any {
        return Condition::Any(group.value.into_iter().map(|c| condition(c.value)).collect());
    }
    let test = if let Some(v) = raw.equals {
        Test::Equals(scalar(v.value))
    } else if let Some(list) = raw.one_of {
        Test::OneOf(list.value.into_iter().map(|v| scalar(v.value)).collect())
    } else if let Some(n) = raw.at_least {
        Test::AtLeast(n.value)
    } else if let Some(n) = raw.at_most {
        Test::AtMost(n.value)
    } else if let Some(s) = raw.contains {
        Test::Contains(s.value)
    } else {
        Test::Exists(raw.exists.is_none_or(|e| e.value))
    };
    Condition::Fact { fact: raw.fact.map(|f| f.value).unwrap_or_default(), test }
}

fn outcome(raw: RawOutcome) -> Outcome {
    let kind = match (raw.kind.value, raw.to) {
        (RawOutcomeKind::Escalate, Some(to)) => OutcomeKind::Escalate(to.value),
        _ => OutcomeKind::Resolved,
    };
    Outcome {
        id: raw.id.value,
        title: raw.title.value,
        kind,
        summary: raw.summary.value,
        send: raw
            .send
            .into_iter()
            .map(|s| Send {
                text: s.text.value,
                fill: s.fill.into_iter().map(|f| f.value).collect(),
                ask: s.ask.map(|a| a.value),
            })
            .collect(),
    }
}
