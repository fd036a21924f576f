//! The diagram exports: a Mermaid snapshot of a fixture runbook (the built-in one changes too
//! often to snapshot), and a check that every Mermaid line is one of the productions we emit,
//! for the fixture, the built-in runbooks and a runbook full of hostile labels.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::path::PathBuf;

use regex::Regex;
use triage::runbook::{Runbook, builtin, graph, load};

fn fixture(name: &str) -> Runbook {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/fixtures/runbooks/{name}.yaml"));
    load::load_file(&path).unwrap().runbook
}

#[test]
fn mermaid_snapshot_of_the_full_fixture() {
    insta::assert_snapshot!(graph::mermaid(&fixture("valid/full")));
}

#[test]
fn dot_snapshot_of_the_full_fixture() {
    insta::assert_snapshot!(graph::dot(&fixture("valid/full")));
}

const ID: &str = r"[A-Za-z0-9_]+";
const LABEL: &str = r##""(?:[^"#;\n]|#(?:[a-z]+|[0-9]+);)*""##;

/// The node ids a line declares and the ones it refers to, or an error naming the line.
fn parse_line(line: &str) -> Result<(Vec<String>, Vec<String>), String> {
    let productions = [
        ("decl", r"^    entry\(\(\x22start\x22\)\)$".to_owned()),
        ("group", format!(r"^    subgraph ({ID})\[{LABEL}\]$")),
        ("decl", format!(r"^        ({ID})\[{LABEL}\]$")),
        ("none", r"^    end$".to_owned()),
        ("decl", format!(r"^    ({ID})\(\[{LABEL}\]\)$")),
        ("decl", format!(r"^    ({ID})\[\[{LABEL}\]\]$")),
        ("edge", format!(r"^    (entry) --> ({ID})$")),
        ("edge", format!(r"^    ({ID}) -->\|{LABEL}\| ({ID})$")),
        (
            "none",
            r"^    classDef (resolved|escalate) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6}$".to_owned(),
        ),
        ("class", format!(r"^    class ({ID}(?:,{ID})*) (?:resolved|escalate)$")),
    ];
    for (kind, pattern) in &productions {
        let Some(caps) = Regex::new(pattern).unwrap().captures(line) else { continue };
        let groups: Vec<String> =
            caps.iter().skip(1).flatten().map(|m| m.as_str().to_owned()).collect();
        return Ok(match *kind {
            "decl" => (if groups.is_empty() { vec!["entry".to_owned()] } else { groups }, vec![]),
            "edge" => (vec![], groups),
            "class" => (vec![], groups[0].split(',').map(str::to_owned).collect()),
            _ => (vec![], vec![]),
        });
    }
    Err(format!("not a production we emit: {line:?}"))
}

fn assert_grammar(mermaid: &str) {
    let mut lines = mermaid.lines();
    assert_eq!(lines.next(), Some("flowchart TD"));
    let mut declared = HashSet::new();
    let mut referenced = Vec::new();
    let mut depth = 0_i32;
    for line in lines {
        let (decls, refs) = parse_line(line).unwrap_or_else(|e| panic!("{e}\n{mermaid}"));
        depth += i32::from(line.starts_with("    subgraph ")) - i32::from(line == "    end");
        assert!((0..=1).contains(&depth), "unbalanced subgraph at {line:?}");
        for d in decls {
            assert!(declared.insert(d.clone()), "{d} declared twice");
        }
        referenced.extend(refs);
    }
    assert_eq!(depth, 0);
    for r in referenced {
        assert!(declared.contains(&r), "{r} used but never declared\n{mermaid}");
    }
}

#[test]
fn mermaid_of_the_fixture_follows_the_grammar() {
    assert_grammar(&graph::mermaid(&fixture("valid/full")));
    assert_grammar(&graph::mermaid(&fixture("valid/tiny")));
}

#[test]
fn mermaid_of_every_builtin_follows_the_grammar() {
    for runbook in builtin::load_all().unwrap() {
        assert_grammar(&graph::mermaid(&runbook));
    }
}

#[test]
fn hostile_labels_cannot_break_the_syntax() {
    // YAML double-quoted escapes: a quote, a newline, a backslash and an ESC reach the model.
    let hostile = r#"\"]\n  click S_first call alert() %% end; `x` <script>|#quot;\\ \u001b[2J"#;
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/runbooks/valid/tiny.yaml"),
    )
    .unwrap()
    .replace("\"First\"", &format!("\"{hostile}\""))
    .replace("\"Yes\"", &format!("\"{hostile}\""))
    .replace("\"Resolved\"", &format!("\"{hostile}\""));
    let runbook = load::load_str("hostile.yaml", &text).unwrap().runbook;
    assert!(runbook.steps[0].title.contains('\n'), "the fixture really holds a newline");
    let mermaid = graph::mermaid(&runbook);
    assert_grammar(&mermaid);
    let dot = graph::dot(&runbook);
    let quoted = Regex::new(r#"^"(?:[^"\\]|\\.)*"[,\];]"#).unwrap();
    for line in dot.lines() {
        assert!(!line.contains('\u{1b}'));
        if let Some(label) = line.split("label=").nth(1) {
            assert!(quoted.is_match(label), "{line}");
        }
    }
}
