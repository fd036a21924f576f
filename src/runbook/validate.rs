//! The validation rules, run on the raw runbook (which still knows where everything was
//! written). Each rule reports every problem it finds; nothing stops at the first one. Rules only
//! read; they never change the runbook or guess what the author meant.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::checks::registry;
use crate::contract::FactSpec;
use crate::facts::FactKind;
use crate::runbook::raw::{
    RawCheck, RawChoice, RawCommand, RawCondition, RawEffect, RawInputKind, RawOutcomeKind,
    RawQuestion, RawQuestionKind, RawRunbook, RawScalar, RawStep, TextUse,
};
use crate::runbook::template;
use crate::yaml::{At, Level, Pos, Problem, SourceError, Text};

/// Runs every rule and returns all problems in source order.
pub(crate) fn validate(origin: &str, text: &str, raw: &RawRunbook) -> Vec<Problem> {
    let mut r = Report { origin, text, problems: Vec::new() };
    ids(&mut r, raw);
    inputs(&mut r, raw);
    statuses(&mut r, raw);
    for step in &raw.steps.value {
        questions(&mut r, step);
        checks(&mut r, step);
        records(&mut r, step);
        for cmd in step.commands.iter().chain(step.fixes.iter().flat_map(|f| &f.commands)) {
            command(&mut r, cmd);
        }
    }
    outcomes(&mut r, raw);
    targets(&mut r, raw);
    flow(&mut r, raw);
    variables(&mut r, raw);
    r.problems.sort_by_key(|p| (p.error.line, p.error.column));
    r.problems
}

/// The problems in a list of conditions written in another file of the same grammar (the
/// diagnosis rules), and in the fact keys `facts` names.
pub(crate) fn condition_problems(
    origin: &str,
    text: &str,
    conditions: &[At<RawCondition>],
    facts: &[&Text],
) -> Vec<Problem> {
    let mut r = Report { origin, text, problems: Vec::new() };
    for cond in conditions {
        condition(&mut r, cond);
    }
    for fact in facts {
        fact_spec(&mut r, fact);
    }
    r.problems
}

struct Report<'a> {
    origin: &'a str,
    text: &'a str,
    problems: Vec<Problem>,
}

impl Report<'_> {
    fn error(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Level::Error, pos, message.into());
    }

    fn warn(&mut self, pos: Pos, message: impl Into<String>) {
        self.push(Level::Warning, pos, message.into());
    }

    fn push(&mut self, level: Level, pos: Pos, message: String) {
        let error = SourceError::at(self.origin, self.text, pos.line, pos.column, message);
        self.problems.push(Problem { level, error });
    }

    /// The position of `needle` inside the scalar at `at`, or the scalar's own position.
    fn inside(&self, at: Pos, needle: &str) -> Pos {
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

/// A close spelling among `candidates`, for "did you mean" hints.
fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
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

fn did_you_mean<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> String {
    closest(word, candidates).map(|c| format!(" (did you mean `{c}`?)")).unwrap_or_default()
}

fn is_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn check_id_format(r: &mut Report, id: &Text) {
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
struct Unique<'a> {
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
        conditions(r, choice);
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

const OPERATORS: &str = "equals, one_of, exists, at_least, at_most, contains";

fn conditions(r: &mut Report, choice: &RawChoice) {
    for cond in &choice.when {
        condition(r, cond);
    }
}

fn condition(r: &mut Report, cond: &At<RawCondition>) {
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

fn operators(c: &RawCondition) -> Vec<&'static str> {
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
fn fact_spec(r: &mut Report, fact: &Text) -> Option<&'static FactSpec> {
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

fn kind_name(kind: FactKind) -> &'static str {
    match kind {
        FactKind::Bool => "a yes/no value",
        FactKind::Int => "a number",
        FactKind::Text => "text",
        FactKind::List => "a list",
    }
}

fn scalar_kind(v: &RawScalar) -> FactKind {
    match v {
        RawScalar::Bool(_) => FactKind::Bool,
        RawScalar::Int(_) => FactKind::Int,
        RawScalar::Text(_) => FactKind::Text,
    }
}

/// Warns when an operator or its value cannot match the kind of fact the catalog declares.
fn fits(r: &mut Report, fact: &Text, kind: FactKind, op: &str, c: &RawCondition) {
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

fn checks(r: &mut Report, step: &RawStep) {
    for call in &step.checks {
        check(r, call);
    }
}

fn check(r: &mut Report, call: &RawCheck) {
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

fn records(r: &mut Report, step: &RawStep) {
    for from in step.record.iter().filter_map(|rec| rec.from.as_ref()) {
        fact_spec(r, from);
    }
}

fn command(r: &mut Report, cmd: &RawCommand) {
    match cmd.effect.value {
        RawEffect::ChangesSystem => {
            if cmd.risk.is_none() {
                r.error(cmd.effect.pos, "this command changes the system but has no `risk`; expected low, medium or high");
            }
            if cmd.rollback.as_ref().is_none_or(|t| t.value.trim().is_empty()) {
                r.error(cmd.effect.pos, "this command changes the system but has no `rollback`; say how to undo it (or why nothing needs undoing)");
            }
        }
        RawEffect::ReadOnly => {
            let extra = cmd.risk.as_ref().map(|r| r.pos).or(cmd.rollback.as_ref().map(|t| t.pos));
            if let Some(pos) = extra {
                r.error(pos, "a read_only command takes no `risk` or `rollback`; set `effect: changes_system` if it changes anything");
            }
            if let Some(word) = looks_changing(&cmd.run.value) {
                r.warn(cmd.run.pos, format!(
                    "this command looks like it changes the system (`{word}`) but is marked read_only"
                ));
            }
        }
    }
}

/// The words that make a command look system-changing, if any. A heuristic for a warning only.
fn looks_changing(run: &str) -> Option<String> {
    const ALWAYS: &[&str] = &[
        "rm", "mv", "kill", "pkill", "killall", "reboot", "shutdown", "chmod", "chown", "truncate",
        "tee", "dd", "mkfs", "crontab",
    ];
    const IPTABLES_CHANGES: &[&str] = &[
        "-A",
        "-D",
        "-I",
        "-R",
        "-F",
        "-X",
        "-P",
        "-N",
        "-Z",
        "-E",
        "--append",
        "--delete",
        "--insert",
        "--replace",
        "--flush",
        "--policy",
        "--new-chain",
        "--delete-chain",
    ];
    const WITH_VERB: &[(&str, &[&str])] = &[
        ("systemctl", &["restart", "reload", "stop", "start", "enable", "disable", "kill", "mask"]),
        ("service", &["restart", "reload", "stop", "start"]),
        ("apt", &["install", "remove", "purge", "upgrade"]),
        ("apt-get", &["install", "remove", "purge", "upgrade"]),
        ("dnf", &["install", "remove", "upgrade"]),
        ("yum", &["install", "remove", "update"]),
        ("nginx", &["-s"]),
        ("apachectl", &["restart", "graceful", "stop", "start"]),
        ("sed", &["-i"]),
        (
            "ufw",
            &[
                "allow", "deny", "reject", "limit", "enable", "disable", "reset", "delete",
                "insert", "reload", "route", "default",
            ],
        ),
        ("iptables", IPTABLES_CHANGES),
        ("ip6tables", IPTABLES_CHANGES),
        ("nft", &["add", "delete", "flush", "insert", "replace", "create", "destroy", "-f"]),
    ];
    for segment in run.split(['|', ';', '&', '\n']) {
        let words = shlex::split(segment).unwrap_or_default();
        let words: Vec<&str> =
            words.iter().map(String::as_str).skip_while(|w| *w == "sudo").collect();
        let Some(first) = words.first().copied() else { continue };
        if ALWAYS.contains(&first) {
            return Some(first.to_owned());
        }
        let verbs = WITH_VERB.iter().find(|(cmd, _)| *cmd == first).map(|(_, v)| *v);
        if let Some(verb) = verbs.and_then(|v| words.iter().skip(1).find(|w| v.contains(w))) {
            return Some(format!("{first} {verb}"));
        }
    }
    None
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

/// Where a choice (or text question) of a step leads, as written.
struct Edge<'a> {
    what: String,
    next: Option<&'a Text>,
    outcome: Option<&'a Text>,
}

fn edges(step: &RawStep) -> Vec<Edge<'_>> {
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

fn targets(r: &mut Report, raw: &RawRunbook) {
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
            let hint = target_hint(&next.value, &steps, &ends, "step");
            r.error(
                next.pos,
                format!("{} leads to step `{}`, which does not exist{hint}", edge.what, next.value),
            );
        }
        if let Some(end) = edge.outcome.filter(|o| !ends.contains(o.value.as_str())) {
            let hint = target_hint(&end.value, &ends, &steps, "outcome");
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
fn target_hint(id: &str, same: &BTreeSet<&str>, other: &BTreeSet<&str>, kind: &str) -> String {
    if other.contains(id) {
        let (is, key) = if kind == "step" { ("an outcome", "outcome") } else { ("a step", "next") };
        return format!("; `{id}` is {is}: write `{key}: {id}`");
    }
    did_you_mean(id, same.iter().copied())
}

/// Unreachable steps and outcomes (warnings) and steps that cannot reach any outcome (errors).
fn flow(r: &mut Report, raw: &RawRunbook) {
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

fn unreachable(r: &mut Report, raw: &RawRunbook, start: usize, next: &[Vec<usize>]) {
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
fn can_reach_an_outcome(next: &[Vec<usize>], exits: &[bool]) -> Vec<bool> {
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

/// Undeclared placeholders and placeholders quoted inside commands (errors), unused inputs
/// (warnings).
fn variables(r: &mut Report, raw: &RawRunbook) {
    let declared: Vec<&str> = raw.inputs.iter().map(|i| i.name.value.as_str()).collect();
    let mut used: BTreeSet<String> = BTreeSet::new();
    let defaults =
        raw.inputs.iter().filter_map(|i| i.default.as_ref().map(|d| (d, TextUse::Prose)));
    for (text, usage) in raw.texts().into_iter().chain(defaults) {
        for p in template::scan(&text.value) {
            let shown = &text.value[p.range.clone()];
            used.insert(p.name.to_owned());
            if !declared.contains(&p.name) {
                let hint = did_you_mean(p.name, declared.iter().copied());
                let pos = r.inside(text.pos, shown);
                r.error(
                    pos,
                    format!("`{shown}` is not a declared input{hint}; declare it under `inputs:`"),
                );
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

#[cfg(test)]
mod tests {
    use super::looks_changing;

    #[test]
    fn reading_the_firewall_is_not_changing_it() {
        for cmd in
            ["sudo ufw status verbose", "iptables -L -n", "sudo iptables -S", "nft list ruleset"]
        {
            assert_eq!(looks_changing(cmd), None, "{cmd}");
        }
        assert_eq!(looks_changing("sudo ufw allow from 127.0.0.1").as_deref(), Some("ufw allow"));
        assert_eq!(looks_changing("iptables -A INPUT -j DROP").as_deref(), Some("iptables -A"));
        assert_eq!(looks_changing("nft flush ruleset").as_deref(), Some("nft flush"));
        assert_eq!(looks_changing("systemctl status nginx"), None);
        assert_eq!(looks_changing("x | sudo tee /etc/f").as_deref(), Some("tee"));
    }
}
