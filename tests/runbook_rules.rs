//! One fixture per validation rule, each asserting the exact problems: level, line, column and
//! message. Every problem of a file is listed, so a rule that fires too often fails too.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use triage::runbook::load;
use triage::yaml::{Level, LoadFailure};

const E: Level = Level::Error;
const W: Level = Level::Warning;

type Expected = (Level, u32, u32, &'static str);

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/runbooks/{name}.yaml"))
}

#[rustfmt::skip]
const CASES: &[(&str, &[Expected])] = &[
    (
        "invalid/bad-status",
        &[
            (E, 5, 19, "`5020` is not an HTTP status code; expected 100-599"),
        ],
    ),
    (
        "invalid/changes-system-without-risk",
        &[
            (E, 29, 17, "this command changes the system but has no `risk`; expected low, medium or high"),
            (E, 29, 17, "this command changes the system but has no `rollback`; say how to undo it (or why nothing needs undoing)"),
        ],
    ),
    (
        "invalid/choice-input-default",
        &[
            (E, 14, 14, "default `caddy` is not one of the options: nginx, apache"),
        ],
    ),
    (
        "invalid/choice-two-targets",
        &[
            (E, 31, 17, "choice `stuck` needs exactly one of `next` (a step id) or `outcome` (an outcome id); found both"),
        ],
    ),
    (
        "invalid/duplicate-id",
        &[
            (E, 22, 9, "duplicate id `first`: already used by the step at line 11; step and outcome ids must be unique"),
            (W, 34, 11, "outcome `escalate` is never reached: no path from `start` leads here"),
        ],
    ),
    (
        "invalid/duplicate-input",
        &[
            (E, 10, 11, "duplicate input `url`: already declared at line 7"),
        ],
    ),
    (
        "invalid/empty-any",
        &[
            (E, 24, 20, "an `any:` group needs at least one condition"),
        ],
    ),
    (
        "invalid/escalate-without-to",
        &[
            (E, 34, 46, "an escalate outcome needs `to`; expected one of cdn, hosting_provider, developer, dba, network_team"),
        ],
    ),
    (
        "invalid/invalid-id",
        &[
            (E, 22, 9, "invalid id `Second_Step`; expected lowercase letters, digits and `-` (like `check-php-fpm`)"),
        ],
    ),
    (
        "invalid/many-problems",
        &[
            (E, 5, 8, "`start` names `begin`, which is not a step"),
            (E, 14, 19, "`{{who}}` is not a declared input; declare it under `inputs:`"),
            (E, 20, 44, "choice `yes` leads to step `secnod`, which does not exist (did you mean `second`?)"),
            (E, 31, 49, "choice `stuck` leads to outcome `escalated`, which does not exist (did you mean `escalate`?)"),
        ],
    ),
    (
        "invalid/made-unknown-fix",
        &[
            (E, 31, 49, "`made: restart-it` names no fix card of this step (did you mean `restart`?); it must be the id of one of the step's `fixes`"),
            (E, 44, 9, "a `kind: fix` step needs at least one fix card under `fixes:`"),
            (W, 44, 9, "step `third` is never reached: no path from `start` leads here"),
            (E, 49, 21, "`soon` is not a duration; expected a number and s, m or h (like `10s`, `5m`)"),
        ],
    ),
    (
        "invalid/missing-check-param",
        &[
            (E, 17, 16, "check `http_probe` needs the parameter `url` (absolute http(s) URL); add it under `with:`"),
        ],
    ),
    (
        "invalid/missing-outcome",
        &[
            (E, 31, 49, "choice `stuck` leads to outcome `escalate-host`, which does not exist"),
            (W, 34, 11, "outcome `escalate` is never reached: no path from `start` leads here"),
        ],
    ),
    (
        "invalid/missing-start",
        &[
            (E, 5, 8, "`start` names `begin`, which is not a step"),
        ],
    ),
    (
        "invalid/missing-step",
        &[
            (E, 20, 44, "choice `yes` leads to step `secnod`, which does not exist (did you mean `second`?)"),
            (W, 22, 9, "step `second` is never reached: no path from `start` leads here"),
            (W, 34, 11, "outcome `escalate` is never reached: no path from `start` leads here"),
        ],
    ),
    (
        "invalid/next-names-outcome",
        &[
            (E, 30, 49, "choice `fixed` leads to step `resolved`, which does not exist; `resolved` is an outcome: write `outcome: resolved`"),
        ],
    ),
    (
        "invalid/no-choices",
        &[
            (E, 29, 16, "a choice question needs choices; found none"),
            (W, 32, 11, "outcome `escalate` is never reached: no path from `start` leads here"),
        ],
    ),
    (
        "invalid/placeholder-in-heredoc",
        &[
            (E, 29, 57, "`{{url}}` is inside a heredoc, where shell quoting does not apply (a `$(…)` in the value would run); pass the value as an argument outside the heredoc"),
        ],
    ),
    (
        "invalid/placeholder-in-sh-c",
        &[
            (E, 27, 38, "`{{url}}` is in the script of `sh -c`, which that shell parses again, so its quoting does not hold; pass the value as an argument after the script: `sh -c '… \"$1\"' sh {{url}}`"),
        ],
    ),
    (
        "invalid/placeholder-in-ssh",
        &[
            (E, 27, 42, "`{{url}}` is in the remote command of `ssh`, which the remote shell parses again, so its quoting does not hold; show a command to run on that host instead"),
        ],
    ),
    (
        "invalid/quoted-placeholder",
        &[
            (E, 27, 26, "`{{url}}` is inside quotes in a command; values are shell-quoted when rendered, so write it without quotes"),
        ],
    ),
    (
        "invalid/read-only-with-risk",
        &[
            (E, 30, 15, "a read_only command takes no `risk` or `rollback`; set `effect: changes_system` if it changes anything"),
        ],
    ),
    (
        "invalid/resolved-with-to",
        &[
            (E, 33, 60, "a resolved outcome takes no `to`; use `kind: escalate` to hand it over"),
        ],
    ),
    (
        "invalid/text-question-with-choices",
        &[
            (E, 27, 13, "the text question needs exactly one of `next` (a step id) or `outcome` (an outcome id); found neither"),
            (E, 30, 9, "a text question takes `next` or `outcome`, not `choices`"),
            (W, 34, 11, "outcome `escalate` is never reached: no path from `start` leads here"),
        ],
    ),
    (
        "invalid/trap-cycle",
        &[
            (E, 22, 9, "no outcome can be reached from step `second`: every path from here loops without an exit; give one of these steps a choice that leads on or ends in an outcome"),
            (E, 32, 9, "no outcome can be reached from step `third`: every path from here loops without an exit; give one of these steps a choice that leads on or ends in an outcome"),
            (W, 43, 11, "outcome `resolved` is never reached: no path from `start` leads here"),
        ],
    ),
    (
        "invalid/two-operators",
        &[
            (E, 24, 21, "a condition needs exactly one of equals, one_of, exists, at_least, at_most, contains; found `equals` and `one_of`"),
        ],
    ),
    (
        "invalid/undeclared-variable",
        &[
            (E, 27, 32, "`{{site_root}}` is not a declared input; declare it under `inputs:`"),
        ],
    ),
    (
        "invalid/unknown-check-param",
        &[
            (E, 18, 34, "check `dns` has no parameter `server`; expected one of: host"),
        ],
    ),
    (
        "invalid/unknown-check",
        &[
            (E, 17, 16, "unknown check `http_prob` (did you mean `http_probe`?); expected one of: http_probe, dns, tls, origin, stack, upstreams, logs, resources, security, database, recent_changes"),
        ],
    ),
    (
        "invalid/unknown-fact",
        &[
            (E, 24, 21, "no check produces the fact `http.stauts` (did you mean `http.status`?); see the fact catalog in docs/runbook-format.md"),
        ],
    ),
    (
        "invalid/unknown-key",
        &[
            (E, 23, 5, "unknown field `titel`, expected one of id, title, kind, layer, why, instructions, commands, checks, causes, checklists, notes, record, question, fixes, watch"),
        ],
    ),
    (
        "invalid/unknown-layer",
        &[
            (E, 24, 12, "unknown variant `proxy`, expected one of client, dns, cdn, waf, load_balancer, reverse_proxy, web_server, app_runtime, database, host, deploy"),
        ],
    ),
    (
        "invalid/yes-no-ids",
        &[
            (E, 17, 13, "a yes_no question needs exactly two choices with ids `yes` and `no`; found `yes`, `maybe`"),
        ],
    ),
    (
        "warnings/condition-type",
        &[
            (W, 24, 21, "`at_least` does not fit `responder.vendor`, which holds text"),
            (W, 27, 23, "`equals` compares text but `http.status` holds a number; this test can never hold"),
        ],
    ),
    (
        "warnings/read-only-restart",
        &[
            (W, 27, 14, "this command looks like it changes the system (`systemctl restart`) but is marked read_only"),
        ],
    ),
    (
        "warnings/unreachable-step",
        &[
            (W, 22, 9, "step `second` is never reached: no path from `start` leads here"),
        ],
    ),
    (
        "warnings/unused-input",
        &[
            (W, 10, 11, "input `site_root` is declared but never used"),
        ],
    ),];

#[test]
fn every_rule_fixture_reports_exactly_its_problems() {
    for (name, expected) in CASES {
        let path = fixture(name);
        let origin = path.display().to_string();
        let problems = match load::load_file(&path) {
            Ok(loaded) => loaded.warnings,
            Err(LoadFailure::Invalid(problems)) => problems,
            Err(LoadFailure::Unreadable(e)) => panic!("{name}: unreadable: {e}"),
        };
        let got: Vec<(Level, u32, u32, String)> = problems
            .iter()
            .map(|p| (p.level, p.error.line, p.error.column, p.error.message.clone()))
            .collect();
        let want: Vec<(Level, u32, u32, String)> =
            expected.iter().map(|(l, line, col, m)| (*l, *line, *col, (*m).to_owned())).collect();
        assert_eq!(got, want, "{name}");
        for p in &problems {
            assert_eq!(p.error.origin, origin);
            let shown = p.to_string();
            let head = format!("{}: {origin}:{}:{}: ", p.level, p.error.line, p.error.column);
            assert!(shown.starts_with(&head), "{shown}");
            assert!(shown.ends_with('^'), "caret missing:\n{shown}");
        }
    }
}

#[test]
fn invalid_fixtures_fail_and_warning_fixtures_load() {
    for (name, expected) in CASES {
        let has_error = expected.iter().any(|(l, ..)| *l == E);
        assert_eq!(name.starts_with("invalid/"), has_error, "{name}");
        assert_eq!(load::load_file(&fixture(name)).is_ok(), !has_error, "{name}");
    }
}

#[test]
fn every_fixture_file_has_a_case() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runbooks");
    for kind in ["invalid", "warnings"] {
        for entry in std::fs::read_dir(dir.join(kind)).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            let name = format!("{kind}/{}", file.trim_end_matches(".yaml"));
            assert!(CASES.iter().any(|(n, _)| *n == name), "no expected problems for {name}");
        }
    }
}

#[test]
fn valid_fixtures_load_clean() {
    for name in ["valid/tiny", "valid/full"] {
        let loaded = load::load_file(&fixture(name)).unwrap();
        assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
    }
}

#[test]
fn full_fixture_loads_into_the_model() {
    use triage::runbook::{Effect, InputKind, Next, OutcomeKind, Question, Risk, Test};
    let rb = load::load_file(&fixture("valid/full")).unwrap().runbook;
    assert_eq!(rb.id, "full-example");
    assert_eq!(rb.applies_to, vec![502, 504]);
    let stack = rb.input("stack").unwrap();
    assert_eq!(
        stack.kind,
        InputKind::Choice(vec!["nginx".into(), "apache".into(), "other".into()])
    );
    assert_eq!(stack.default.as_deref(), Some("nginx"));
    let first = rb.step("public-error").unwrap();
    assert_eq!(
        first.checks[0].with,
        vec![("url".into(), "{{url}}".into()), ("count".into(), "5".into())]
    );
    let cdn = &first.question.choices()[0];
    assert_eq!(cdn.target, Next::Step("origin-logs".into()));
    assert_eq!(cdn.when.len(), 2);
    assert!(
        matches!(&cdn.when[0], triage::runbook::Condition::Fact { test: Test::OneOf(v), .. } if v.len() == 2)
    );
    let logs = rb.step("origin-logs").unwrap();
    assert!(
        matches!(&logs.question, Question::Text { then: Next::Step(s), .. } if s == "restart-check")
    );
    let fix = &logs.fixes[0];
    assert_eq!(fix.risk, Risk::Medium);
    assert!(
        matches!(&fix.commands[0].effect, Effect::ChangesSystem { risk: Risk::Medium, rollback } if rollback.contains("stop"))
    );
    assert!(matches!(rb.outcome("escalate-dba").unwrap().kind, OutcomeKind::Escalate(_)));
}

#[test]
fn exists_fits_every_kind_of_fact() {
    // A list fact "exists" when it holds an item, so `exists` on a list is no mistake.
    let text = std::fs::read_to_string(fixture("valid/tiny"))
        .unwrap()
        .replace(
            r#"- { id: "yes", label: "Yes", next: second }"#,
            r#"- { id: "yes", label: "Yes", next: second, when: [{ fact: host.disks_full, exists: true }, { fact: http.status, exists: true }, { fact: tls.valid, exists: false }, { fact: http.server, exists: true }] }"#,
        );
    let loaded = load::load_str("exists.yaml", &text).unwrap();
    assert_eq!(loaded.runbook.steps[0].question.choices()[0].when.len(), 4);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}
