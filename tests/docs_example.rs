//! docs/runbook-format.md cannot drift from the code: its complete example loads with the real
//! loader, without a warning, and uses every part of the format; its tables name every check,
//! parameter, fact, layer and support item the code knows, and nothing else; the messages it
//! shows are the ones triage prints.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::Path;

use triage::checks::registry;
use triage::cli::validate::summary;
use triage::contract::{Scope, VERDICT_FACTS, WALK_FACTS};
use triage::facts::FactKind;
use triage::layer::Layer;
use triage::runbook::{
    Condition, Effect, InputKind, Next, OutcomeKind, Question, Runbook, SupportItem, Test, load,
};
use triage::yaml::LoadFailure;

const DOC: &str = include_str!("../docs/runbook-format.md");
const MARKER: &str = "<!-- complete-example";

/// The yaml block that follows the marker comment.
fn example_text() -> &'static str {
    let after = &DOC[DOC.find(MARKER).expect("the example's marker comment")..];
    let start = after.find("```yaml\n").expect("a yaml block after the marker") + 8;
    let body = &after[start..];
    &body[..=body.find("\n```").expect("the end of the yaml block")]
}

fn example() -> Runbook {
    match load::load_str("php-site-502.yaml", example_text()) {
        Ok(loaded) => {
            let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
            assert!(warnings.is_empty(), "the example raises warnings:\n{}", warnings.join("\n"));
            loaded.runbook
        }
        Err(failure) => panic!("the documented example does not load:\n{failure}"),
    }
}

/// Every test in a condition tree, `any` groups included, by name.
fn tests_in(condition: &Condition, out: &mut BTreeSet<&'static str>) {
    match condition {
        Condition::Any(group) => {
            out.insert("any");
            for c in group {
                tests_in(c, out);
            }
        }
        Condition::Fact { test, .. } => {
            out.insert(match test {
                Test::Equals(_) => "equals",
                Test::OneOf(_) => "one_of",
                Test::Exists(_) => "exists",
                Test::AtLeast(_) => "at_least",
                Test::AtMost(_) => "at_most",
                Test::Contains(_) => "contains",
            });
        }
    }
}

#[test]
fn the_complete_example_loads_and_its_summary_is_the_one_shown() {
    let runbook = example();
    assert!(DOC.contains(&format!("`php-site-502.yaml: ok — {}`", summary(&runbook))));
}

#[test]
fn the_complete_example_uses_every_part_of_the_format() {
    let rb = example();
    assert!(!rb.applies_to.is_empty());
    let kinds: BTreeSet<&str> = rb
        .inputs
        .iter()
        .map(|i| match i.kind {
            InputKind::Url => "url",
            InputKind::Host => "host",
            InputKind::Path => "path",
            InputKind::Text => "text",
            InputKind::Choice(_) => "choice",
        })
        .collect();
    assert_eq!(kinds.len(), 5, "every input kind: {kinds:?}");
    assert!(rb.inputs.iter().any(|i| i.required) && rb.inputs.iter().any(|i| i.help.is_some()));
    assert!(rb.inputs.iter().any(|i| i.default.is_some()));

    let questions: BTreeSet<&str> = rb
        .steps
        .iter()
        .map(|s| match &s.question {
            Question::YesNo { .. } => "yes_no",
            Question::Choice { .. } => "choice",
            Question::Text { default, .. } => {
                assert!(default.is_some(), "the text question shows its default");
                "text"
            }
        })
        .collect();
    assert_eq!(questions.len(), 3, "every question kind: {questions:?}");

    let choices: Vec<_> = rb.steps.iter().flat_map(|s| s.question.choices()).collect();
    let mut operators = BTreeSet::new();
    for choice in &choices {
        choice.when.iter().for_each(|c| tests_in(c, &mut operators));
    }
    assert_eq!(operators.len(), 7, "every operator and `any`: {operators:?}");
    assert!(choices.iter().any(|c| c.because.is_some()));
    assert!(choices.iter().any(|c| matches!(c.target, Next::Outcome(_))));
    assert!(
        choices.iter().any(|c| c.target == Next::Step(rb.start.clone())),
        "a loop back that can exit"
    );

    let steps = &rb.steps;
    let commands: Vec<_> = steps
        .iter()
        .flat_map(|s| s.commands.iter().chain(s.fixes.iter().flat_map(|f| &f.commands)))
        .collect();
    assert!(commands.iter().any(|c| c.effect == Effect::ReadOnly));
    assert!(commands.iter().any(|c| matches!(c.effect, Effect::ChangesSystem { .. })));
    let checks: Vec<_> = steps.iter().flat_map(|s| &s.checks).collect();
    assert!(checks.iter().any(|c| c.with.is_empty()) && checks.iter().any(|c| !c.with.is_empty()));
    assert!(steps.iter().any(|s| s.causes.iter().any(|c| !c.statuses.is_empty())));
    assert!(steps.iter().any(|s| !s.checklists.is_empty()));
    assert!(steps.iter().any(|s| !s.notes.is_empty()));
    assert!(steps.iter().any(|s| !s.instructions.is_empty()));
    let records: Vec<_> = steps.iter().flat_map(|s| &s.record).collect();
    assert!(records.iter().any(|r| r.from.is_some() && r.ask.is_none()));
    assert!(records.iter().any(|r| r.from.is_none() && r.ask.is_some()));
    assert!(records.iter().any(|r| r.from.is_some() && r.ask.is_some()));
    assert!(steps.iter().any(|s| !s.fixes.is_empty()));

    assert!(rb.outcomes.iter().any(|o| o.kind == OutcomeKind::Resolved));
    assert!(
        rb.outcomes
            .iter()
            .any(|o| matches!(o.kind, OutcomeKind::Escalate(_)) && !o.send.is_empty())
    );
}

/// The rows of the markdown table in the section headed `heading`.
fn table_rows(heading: &str) -> Vec<Vec<String>> {
    let section = &DOC[DOC.find(heading).unwrap_or_else(|| panic!("section {heading}"))..];
    let section = &section[heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_owned()).collect())
        .collect()
}

fn kind_id(kind: FactKind) -> &'static str {
    match kind {
        FactKind::Bool => "bool",
        FactKind::Int => "int",
        FactKind::Text => "text",
        FactKind::List => "list",
    }
}

/// The check table's rows as the catalog says they should read.
fn check_rows() -> Vec<String> {
    registry::specs()
        .map(|c| {
            let scope = match c.scope {
                Scope::Outside => "outside",
                Scope::Local => "local",
            };
            let params: Vec<String> = c
                .params
                .iter()
                .map(|p| {
                    let required = if p.required { " (required)" } else { "" };
                    format!("`{}`{required}: {}", p.name, p.doc)
                })
                .collect();
            let params = if params.is_empty() { "none".to_owned() } else { params.join("<br>") };
            format!("| `{}` | {} | {scope} | {params} |", c.id, c.title)
        })
        .collect()
}

/// The fact table's rows as the catalog says they should read.
fn fact_rows() -> Vec<String> {
    registry::specs()
        .flat_map(|c| c.produces.iter().map(move |f| (f, format!("`{}`", c.id))))
        .chain(VERDICT_FACTS.iter().map(|f| (f, "the diagnosis".to_owned())))
        .chain(WALK_FACTS.iter().map(|f| (f, "the walk".to_owned())))
        .map(|(f, by)| {
            format!("| `{}` | {} | {by} | {} |", f.key, kind_id(f.kind), f.doc.replace('|', "\\|"))
        })
        .collect()
}

/// With `TRIAGE_BLESS_DOCS=1`, rewrites the check and fact tables from the catalog, so a new
/// check or fact only needs its doc string written once (in the check's `SPEC`).
#[test]
fn bless_the_tables_when_asked() {
    if std::env::var_os("TRIAGE_BLESS_DOCS").is_none() {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/runbook-format.md");
    let mut doc = std::fs::read_to_string(&path).unwrap();
    doc = replace_table(&doc, "| Check | What it does | Scope | Parameters |", &check_rows());
    doc = replace_table(&doc, "| Fact | Kind | Produced by | Meaning |", &fact_rows());
    std::fs::write(&path, doc).unwrap();
}

/// `doc` with the body rows of the table under `header` replaced by `rows`.
fn replace_table(doc: &str, header: &str, rows: &[String]) -> String {
    let start = doc.find(header).unwrap();
    let body = start + doc[start..].find("\n|---").unwrap() + 1;
    let body = body + doc[body..].find('\n').unwrap() + 1;
    let end = body + doc[body..].find("\n\n").unwrap_or(doc.len() - body);
    format!("{}{}{}", &doc[..body], rows.join("\n"), &doc[end..])
}

#[test]
fn the_check_table_is_the_catalog() {
    // The section's second table: the one with a scope column.
    let rows: Vec<Vec<String>> = table_rows("## Checks")
        .into_iter()
        .filter(|r| r.len() == 4 && (r[2] == "outside" || r[2] == "local"))
        .collect();
    let documented: Vec<&str> = rows.iter().map(|r| r[0].trim_matches('`')).collect();
    let known: Vec<&str> = registry::specs().map(|c| c.id).collect();
    assert_eq!(documented, known);
    for (row, spec) in rows.iter().zip(registry::specs()) {
        let params: Vec<&str> = row[3].split("<br>").filter(|p| *p != "none").collect();
        assert_eq!(params.len(), spec.params.len(), "{}", spec.id);
        for (shown, param) in params.iter().zip(spec.params) {
            let required = if param.required { " (required)" } else { "" };
            assert_eq!(*shown, format!("`{}`{required}: {}", param.name, param.doc), "{}", spec.id);
        }
    }
}

#[test]
fn the_fact_table_is_the_catalog() {
    let rows = table_rows("## The fact catalog");
    let known = registry::specs()
        .flat_map(|c| c.produces.iter().map(move |f| (f, format!("`{}`", c.id))))
        .chain(VERDICT_FACTS.iter().map(|f| (f, "the diagnosis".to_owned())))
        .chain(WALK_FACTS.iter().map(|f| (f, "the walk".to_owned())));
    let want: Vec<[String; 4]> = known
        .map(|(f, by)| {
            [format!("`{}`", f.key), kind_id(f.kind).to_owned(), by, f.doc.replace('|', "\\|")]
        })
        .collect();
    let got: Vec<[String; 4]> = rows.into_iter().map(|r| r.try_into().unwrap()).collect();
    assert_eq!(got, want);
}

#[test]
fn the_layer_and_support_item_tables_are_the_vocabularies() {
    let layers: Vec<[String; 2]> =
        Layer::ALL.iter().map(|l| [format!("`{}`", l.id()), l.label().to_owned()]).collect();
    let rows: Vec<[String; 2]> =
        table_rows("### Layers").into_iter().map(|r| r.try_into().unwrap()).collect();
    assert_eq!(rows, layers);
    let items: Vec<[String; 2]> =
        SupportItem::ALL.iter().map(|i| [format!("`{}`", i.id()), i.label().to_owned()]).collect();
    let rows: Vec<[String; 2]> = table_rows("## What to send support")
        .into_iter()
        .filter(|r| r.len() == 2)
        .map(|r| r.try_into().unwrap())
        .collect();
    assert_eq!(rows, items);
}

#[test]
fn the_messages_shown_are_the_ones_printed() {
    let failure = load::load_file(Path::new("tests/fixtures/runbooks/invalid/missing-step.yaml"));
    let Err(LoadFailure::Invalid(problems)) = failure else { panic!("the fixture must fail") };
    let first = problems[0].to_string();
    assert!(DOC.contains(&format!("```text\n$ triage validate tests/fixtures/runbooks/invalid/missing-step.yaml\n{first}\n```")), "{first}");

    let path = "tests/fixtures/runbooks/warnings/unused-input.yaml";
    let loaded = load::load_file(Path::new(path)).unwrap();
    let warning = loaded.warnings[0].to_string();
    let line = format!("{path}: ok — {}, 1 warning", summary(&loaded.runbook));
    assert!(DOC.contains(&format!("{warning}\n\n{line}\n")), "{warning}\n\n{line}");
}

#[test]
fn every_key_the_loader_accepts_has_a_row() {
    // raw.rs mirrors the YAML one to one: each field of a `deny_unknown_fields` struct is a key.
    let raw = include_str!("../src/runbook/raw.rs");
    let structs =
        regex::Regex::new(r"(?s)#\[serde\(deny_unknown_fields\)\]\npub struct (\w+) \{(.*?)\n\}")
            .unwrap();
    let field = regex::Regex::new(r"(?m)^\s+pub (\w+):").unwrap();
    let mut keys = 0;
    for s in structs.captures_iter(raw) {
        for f in field.captures_iter(&s[2]) {
            keys += 1;
            let row = format!("| `{}` |", &f[1]);
            assert!(
                DOC.contains(&row),
                "{}.{} has no row `{row}` in docs/runbook-format.md",
                &s[1],
                &f[1]
            );
        }
    }
    assert!(keys > 70, "found only {keys} keys in raw.rs; did its layout change?");
}
