//! The validation rules, run on the raw runbook (which still knows where everything was
//! written). Each rule reports every problem it finds; nothing stops at the first one. Rules only
//! read; they never change the runbook or guess what the author meant.

mod commands;
mod conditions;
mod flow;
mod shell;

use std::collections::{BTreeSet, HashMap};

use self::commands::command;
use self::conditions::{checks, choice_conditions, condition, fact_spec};
use self::flow::{flow, targets};
use crate::runbook::raw::{
    RawCondition, RawInputKind, RawOutcomeKind, RawQuestion, RawQuestionKind, RawRunbook, RawStep,
    RawStepKind, TextUse,
};
use crate::runbook::template;
use crate::yaml::{At, Level, MAX_PROBLEMS, Pos, Problem, SourceError, Text};

/// Longest word that gets a "did you mean" hint.
const MAX_HINT_CHARS: usize = 64;
/// Most candidates a hint compares a word with.
const MAX_HINT_CANDIDATES: usize = 1000;

/// Runs every rule and returns all problems in source order.
pub(crate) fn validate(origin: &str, text: &str, raw: &RawRunbook) -> Vec<Problem> {
    let mut r = Report::new(origin, text);
    ids(&mut r, raw);
    inputs(&mut r, raw);
    statuses(&mut r, raw);
    for input in raw.inputs.iter().filter_map(|i| i.from.as_ref()) {
        fact_spec(&mut r, input);
    }
    for step in &raw.steps.value {
        questions(&mut r, step);
        checks(&mut r, step);
        records(&mut r, step);
        made(&mut r, step);
        repeat(&mut r, step);
        for cmd in step.commands.iter().chain(step.fixes.iter().flat_map(|f| &f.commands)) {
            command(&mut r, cmd);
        }
    }
    outcomes(&mut r, raw);
    targets(&mut r, raw);
    flow(&mut r, raw);
    variables(&mut r, raw);
    r.finish()
}

/// The problems in a list of conditions written in another file of the same grammar (the
/// diagnosis rules), and in the fact keys `facts` names.
pub(crate) fn condition_problems(
    origin: &str,
    text: &str,
    conditions: &[At<RawCondition>],
    facts: &[&Text],
) -> Vec<Problem> {
    let mut r = Report::new(origin, text);
    for cond in conditions {
        condition(&mut r, cond);
    }
    for fact in facts {
        fact_spec(&mut r, fact);
    }
    r.finish()
}

/// The problems found so far, at most [`MAX_PROBLEMS`] of them kept; the rest are counted.
pub(super) struct Report<'a> {
    origin: &'a str,
    text: &'a str,
    problems: Vec<Problem>,
    /// Problems past the budget: how many, and the worst level among them.
    left_out: usize,
    worst_left_out: Option<Level>,
}

impl<'a> Report<'a> {
    fn new(origin: &'a str, text: &'a str) -> Self {
        Report { origin, text, problems: Vec::new(), left_out: 0, worst_left_out: None }
    }

    /// Whether the budget is spent: rules may skip costly hints and positions then.
    pub(super) fn is_full(&self) -> bool {
        self.problems.len() >= MAX_PROBLEMS
    }

    /// The problems in source order, then one line for those left out.
    fn finish(mut self) -> Vec<Problem> {
        self.problems.sort_by_key(|p| (p.error.line, p.error.column));
        if let Some(level) = self.worst_left_out {
            let message = format!(
                "{} more problems not shown (only the first {MAX_PROBLEMS} are); fix these and validate again",
                self.left_out
            );
            let error = SourceError::whole_file(self.origin, message);
            self.problems.push(Problem { level, error });
        }
        self.problems
    }

    pub(super) fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Level::Error, pos, message.into());
    }

    pub(super) fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Level::Warning, pos, message.into());
    }

    pub(super) fn push(&mut self, level: Level, pos: Pos, message: String) {
        if self.is_full() {
            self.left_out += 1;
            self.worst_left_out = self.worst_left_out.max(Some(level));
            return;
        }
        let error = SourceError::at(self.origin, self.text, pos.line, pos.column, message);
        self.problems.push(Problem { level, error });
    }

    /// The position of `needle` inside the scalar at `at`, or the scalar's own position.
    pub(super) fn inside(&self, at: Pos, needle: &str) -> Pos {
        if self.is_full() {
            return at;
        }
        let Some(start) = at.byte_offset.filter(|&o| o <= self.text.len()) else {
            return at;
        };
        let end = at.byte_len.map_or(self.text.len(), |l| (start + l + 2).min(self.text.len()));
        let Some(found) = self.text.get(start..end).and_then(|s| s.find(needle)) else {
            return at;
        };
        let offset = start + found;
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Pos {
            line: before.matches('\n').count() as u32 + 1,
            column: before[line_start..].chars().count() as u32 + 1,
            byte_offset: Some(offset),
            byte_len: Some(needle.len()),
        }
    }
}

/// A close spelling among `candidates`, for "did you mean" hints. Only short words get one:
/// the edit distance costs the product of the lengths, and nobody mistypes a 200-character id.
pub(super) fn closest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<&'c str> {
    let length = word.chars().count();
    if length > MAX_HINT_CHARS {
        return None;
    }
    let limit = (length / 3).clamp(1, 3);
    candidates
        .into_iter()
        .take(MAX_HINT_CANDIDATES)
        .filter(|c| c.len() <= MAX_HINT_CHARS * 4 && c.chars().count().abs_diff(length) <= limit)
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

pub(super) fn did_you_mean<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> String {
    closest(word, candidates).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

pub(super) fn is_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

pub(super) fn check_id_format(r: &mut Report, id: &Text) {
    if !is_id(&id.value) {
        r.error(
            id.pos,
            format!(
                "invalid id `{}`; expected lowercase letters, digits and `-` (like `check-php-fpm`)",
                id.value
            ),
        );
    }
}

/// Remembers ids in one namespace and reports the second use of any of them.
pub(super) struct Unique<'a> {
    seen: HashMap<&'a str, (u32, &'static str)>,
}

impl<'a> Unique<'a> {
    fn new() -> Self {
        Unique { seen: HashMap::new() }
    }

    /// The first use's line and kind when `id` was already seen.
    fn add(&mut self, id: &'a Text, kind: &'static str) -> Option<(u32, &'static str)> {
        if let Some(first) = self.seen.get(id.value.as_str()) {
            return Some(*first);
        }
        self.seen.insert(&id.value, (id.pos.line, kind));
        None
    }
}

fn ids(r: &mut Report, raw: &RawRunbook) {
    check_id_format(r, &raw.id);
    let mut nodes = Unique::new();
    let steps = raw.steps.value.iter().map(|s| (&s.id, "step"));
    for (id, kind) in steps.chain(raw.outcomes.value.iter().map(|o| (&o.id, "outcome"))) {
        check_id_format(r, id);
        if let Some((line, first)) = nodes.add(id, kind) {
            let msg = format!(
                "duplicate id `{}`: already used by the {first} at line {line}; step and outcome ids must be unique",
                id.value
            );
            r.error(id.pos, msg);
        }
    }
    let mut fixes = Unique::new();
    for step in &raw.steps.value {
        step_ids(r, step, &mut fixes);
    }
}

fn step_ids<'a>(r: &mut Report, step: &'a RawStep, fixes: &mut Unique<'a>) {
    for fix in &step.fixes {
        check_id_format(r, &fix.id);
        if let Some((line, _)) = fixes.add(&fix.id, "fix") {
            let msg = format!(
                "duplicate fix id `{}`: already used at line {line}; fix ids must be unique in the runbook",
                fix.id.value
            );
            r.error(fix.id.pos, msg);
        }
    }
    let mut causes = Unique::new();
    for cause in &step.causes {
        check_id_format(r, &cause.id);
        if let Some((line, _)) = causes.add(&cause.id, "cause") {
            let msg = format!(
                "duplicate cause id `{}` in this step: already used at line {line}",
                cause.id.value
            );
            r.error(cause.id.pos, msg);
        }
    }
    let mut choices = Unique::new();
    for choice in step.question.value.choices.iter().flat_map(|c| &c.value) {
        check_id_format(r, &choice.id);
        if let Some((line, _)) = choices.add(&choice.id, "choice") {
            let msg = format!(
                "duplicate choice id `{}` in this question: already used at line {line}",
                choice.id.value
            );
            r.error(choice.id.pos, msg);
        }
    }
}

fn inputs(r: &mut Report, raw: &RawRunbook) {
    let mut names = Unique::new();
    for input in &raw.inputs {
        let name = &input.name;
        if !template::is_name(&name.value) {
            r.error(name.pos, format!(
                "invalid input name `{}`; expected a lowercase letter or `_`, then lowercase letters, digits or `_` (like `site_root`)",
                name.value
            ));
        }
        if let Some((line, _)) = names.add(name, "input") {
            r.error(
                name.pos,
                format!("duplicate input `{}`: already declared at line {line}", name.value),
            );
        }
        match (&input.kind.value, &input.options) {
            (RawInputKind::Choice, None) => {
                r.error(input.kind.pos, "a choice input needs `options`: the values to pick from");
            }
            (RawInputKind::Choice, Some(options)) => {
                choice_input(r, options, input.default.as_ref());
            }
            (_, Some(options)) => {
                r.error(options.pos, "`options` is only for `kind: choice`");
            }
            (_, None) => {}
        }
    }
}

fn choice_input(r: &mut Report, options: &At<Vec<Text>>, default: Option<&Text>) {
    if options.value.is_empty() {
        r.error(options.pos, "a choice input needs at least one option");
    }
    if let Some(d) = default.filter(|d| !options.value.iter().any(|o| o.value == d.value)) {
        let list: Vec<&str> = options.value.iter().map(|o| o.value.as_str()).collect();
        r.error(
            d.pos,
            format!("default `{}` is not one of the options: {}", d.value, list.join(", ")),
        );
    }
}

fn statuses(r: &mut Report, raw: &RawRunbook) {
    let causes = raw.steps.value.iter().flat_map(|s| &s.causes).flat_map(|c| &c.statuses);
    for status in raw.applies_to.iter().chain(causes) {
        if !(100..=599).contains(&status.value) {
            r.error(
                status.pos,
                format!("`{}` is not an HTTP status code; expected 100-599", status.value),
            );
        }
    }
}

fn questions(r: &mut Report, step: &RawStep) {
    let q = &step.question.value;
    let kind = q.kind.value;
    match kind {
        RawQuestionKind::Text => {
            if let Some(choices) = &q.choices {
                r.error(choices.pos, "a text question takes `next` or `outcome`, not `choices`");
            }
            exactly_one_target(
                r,
                q.kind.pos,
                "the text question",
                q.next.as_ref(),
                q.outcome.as_ref(),
            );
        }
        RawQuestionKind::YesNo | RawQuestionKind::Choice => {
            for extra in [&q.next, &q.outcome, &q.default].into_iter().flatten() {
                r.error(extra.pos, format!(
                    "a {} question leads on through its choices; `next`, `outcome` and `default` are only for text questions",
                    kind.id()
                ));
            }
            choice_list(r, q);
        }
    }
}

fn choice_list(r: &mut Report, q: &RawQuestion) {
    let kind = q.kind.value;
    let choices = q.choices.as_ref().map_or(&[][..], |c| &c.value[..]);
    if choices.is_empty() {
        let pos = q.choices.as_ref().map_or(q.kind.pos, |c| c.pos);
        r.error(pos, format!("a {} question needs choices; found none", kind.id()));
        return;
    }
    let ids: Vec<&str> = choices.iter().map(|c| c.id.value.as_str()).collect();
    if kind == RawQuestionKind::YesNo && ids != ["yes", "no"] && ids != ["no", "yes"] {
        let found: Vec<String> = ids.iter().map(|i| format!("`{i}`")).collect();
        r.error(
            q.kind.pos,
            format!(
                "a yes_no question needs exactly two choices with ids `yes` and `no`; found {}",
                found.join(", ")
            ),
        );
    }
    for choice in choices {
        let what = format!("choice `{}`", choice.id.value);
        exactly_one_target(r, choice.id.pos, &what, choice.next.as_ref(), choice.outcome.as_ref());
        choice_conditions(r, choice);
    }
}

fn exactly_one_target(
    r: &mut Report,
    pos: Pos,
    what: &str,
    next: Option<&Text>,
    outcome: Option<&Text>,
) {
    let found = match (next, outcome) {
        (Some(_), Some(_)) => "both",
        (None, None) => "neither",
        _ => return,
    };
    r.error(pos, format!(
        "{what} needs exactly one of `next` (a step id) or `outcome` (an outcome id); found {found}"
    ));
}

fn records(r: &mut Report, step: &RawStep) {
    for from in step.record.iter().filter_map(|rec| rec.from.as_ref()) {
        fact_spec(r, from);
    }
}

/// A choice's `made:` names a fix card of its own step.
fn made(r: &mut Report, step: &RawStep) {
    let choices = step.question.value.choices.iter().flat_map(|c| &c.value);
    for made in choices.filter_map(|c| c.made.as_ref()) {
        if !step.fixes.iter().any(|f| f.id.value == made.value) {
            let ids = step.fixes.iter().map(|f| f.id.value.as_str());
            let hint = did_you_mean(&made.value, ids);
            r.error(
                made.pos,
                format!(
                    "`made: {}` names no fix card of this step{hint}; it must be the id of one of the step's `fixes`",
                    made.value
                ),
            );
        }
    }
}

/// `watch:` durations read as `10s`, `5m`, `1h` (or hold a placeholder, read at run time).
fn repeat(r: &mut Report, step: &RawStep) {
    if step.kind == RawStepKind::Fix && step.fixes.is_empty() {
        r.error(step.id.pos, "a `kind: fix` step needs at least one fix card under `fixes:`");
    }
    let Some(repeat) = &step.watch else { return };
    for text in [&repeat.value.every, &repeat.value.r#for] {
        let placeholder = !template::scan(&text.value).is_empty();
        if !placeholder && crate::text::duration(&text.value).is_none() {
            r.error(
                text.pos,
                format!(
                    "`{}` is not a duration; expected a number and s, m or h (like `10s`, `5m`)",
                    text.value
                ),
            );
        }
    }
}

fn outcomes(r: &mut Report, raw: &RawRunbook) {
    if raw.steps.value.is_empty() {
        r.error(raw.steps.pos, "a runbook needs at least one step");
    }
    if raw.outcomes.value.is_empty() {
        r.error(raw.outcomes.pos, "a runbook needs at least one outcome");
    }
    for outcome in &raw.outcomes.value {
        match (outcome.kind.value, &outcome.to) {
            (RawOutcomeKind::Escalate, None) => r.error(outcome.kind.pos,
                "an escalate outcome needs `to`; expected one of cdn, hosting_provider, developer, dba, network_team"),
            (RawOutcomeKind::Resolved, Some(to)) => r.error(to.pos, "a resolved outcome takes no `to`; use `kind: escalate` to hand it over"),
            _ => {}
        }
    }
}

/// Undeclared placeholders and placeholders quoted inside commands (errors), unused inputs
/// (warnings).
fn variables(r: &mut Report, raw: &RawRunbook) {
    let declared: Vec<&str> = raw.inputs.iter().map(|i| i.name.value.as_str()).collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let defaults =
        raw.inputs.iter().filter_map(|i| i.default.as_ref().map(|d| (d, TextUse::Prose)));
    for (text, usage) in raw.texts().into_iter().chain(defaults) {
        let reparsed =
            if usage == TextUse::Command { shell::reparsed(&text.value) } else { Vec::new() };
        for p in template::scan(&text.value) {
            let shown = &text.value[p.range.clone()];
            used.insert(p.name.to_owned());
            let again = reparsed.iter().find(|(range, _)| range.contains(&p.range.start));
            if !declared.contains(&p.name) {
                let hint = did_you_mean(p.name, declared.iter().copied());
                let pos = r.inside(text.pos, shown);
                r.error(
                    pos,
                    format!("`{shown}` is not a declared input{hint}; declare it under `inputs:`"),
                );
            } else if let Some((_, why)) = again {
                let pos = r.inside(text.pos, shown);
                r.error(pos, why.message(shown));
            } else if usage == TextUse::Command
                && template::inside_quotes(&text.value, p.range.start)
            {
                let pos = r.inside(text.pos, shown);
                r.error(pos, format!(
                    "`{shown}` is inside quotes in a command; values are shell-quoted when rendered, so write it without quotes"
                ));
            }
        }
    }
    for input in raw.inputs.iter().filter(|i| !used.contains(&i.name.value)) {
        r.warn(input.name.pos, format!("input `{}` is declared but never used", input.name.value));
    }
}
