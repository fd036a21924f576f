//! Property tests: the loader never panics on arbitrary bytes or on mutations of a valid runbook,
//! whatever it loads can be drawn as a graph, and rendered commands always give the shell back
//! exactly the value that went in.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use triage::runbook::{graph, load, template};
use triage::yaml::LoadFailure;

const VALID: &str = include_str!("fixtures/runbooks/valid/full.yaml");

/// Loads `text` and checks that every outcome is well formed.
fn load_and_check(text: &str) {
    match load::load_str("fuzz.yaml", text) {
        Ok(loaded) => {
            assert!(graph::mermaid(&loaded.runbook).starts_with("flowchart TD\n"));
            assert!(graph::dot(&loaded.runbook).ends_with("}\n"));
        }
        Err(LoadFailure::Invalid(problems)) => {
            assert!(!problems.is_empty());
            for p in problems {
                let shown = p.to_string();
                assert!(shown.contains("fuzz.yaml"), "{shown}");
                assert!(!shown.contains('\u{1b}'));
            }
        }
        Err(LoadFailure::Unreadable(e)) => panic!("load_str never reads a file: {e}"),
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Insert(usize, usize, String),
    Truncate(usize),
    Indent(usize, bool),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop::sample::select(vec![
        "",
        ":",
        "- ",
        "{",
        "}",
        "[",
        "]",
        "&a",
        "*a",
        "<<: *a",
        "\"",
        "'",
        "|",
        ">",
        "#",
        "\t",
        "{{url}}",
        "{{nope}}",
        "next: nowhere",
        "outcome: resolved",
        "kind: text",
        "~",
        "null",
        "99999999999999999999",
        "\u{1b}[2J",
        "é",
        "\u{0}",
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<usize>(), tokens.prop_map(str::to_owned))
            .prop_map(|(l, c, t)| Mutation::Insert(l, c, t)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<bool>()).prop_map(|(l, more)| Mutation::Indent(l, more)),
    ]
}

fn apply(lines: &mut Vec<String>, m: &Mutation) {
    if lines.is_empty() {
        return;
    }
    let n = lines.len();
    match m {
        Mutation::DeleteLine(i) => {
            lines.remove(i % n);
        }
        Mutation::DuplicateLine(i) => lines.insert(i % n, lines[i % n].clone()),
        Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
        Mutation::Insert(i, col, token) => {
            let line = &mut lines[i % n];
            let chars: Vec<char> = line.chars().collect();
            let at = col % (chars.len() + 1);
            *line = chars[..at].iter().collect::<String>()
                + token
                + &chars[at..].iter().collect::<String>();
        }
        Mutation::Truncate(i) => lines.truncate(i % n),
        Mutation::Indent(i, more) => {
            let line = &mut lines[i % n];
            if *more {
                line.insert_str(0, "  ");
            } else if let Some(rest) = line.strip_prefix("  ") {
                *line = rest.to_owned();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        load_and_check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_yaml_like_text_never_panics(text in "[a-z_{}:\\[\\]\\-\\n \"'#&*|>0-9]{0,400}") {
        load_and_check(&text);
    }

    #[test]
    fn mutations_of_a_valid_runbook_never_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
        let mut lines: Vec<String> = VALID.lines().map(str::to_owned).collect();
        for m in &mutations {
            apply(&mut lines, m);
        }
        load_and_check(&lines.join("\n"));
    }

    #[test]
    fn rendered_commands_give_the_value_back(value in any::<String>()) {
        let vars = BTreeMap::from([("v".to_owned(), value.clone())]);
        let command = template::render_command("printf %s {{v}} done", &vars);
        let words = shlex::split(&command).expect("a rendered command always parses");
        prop_assert_eq!(words, vec!["printf".to_owned(), "%s".to_owned(), value.replace('\0', "\u{fffd}"), "done".to_owned()]);
    }
}

#[test]
fn the_unmutated_fixture_loads() {
    assert!(load::load_str("fuzz.yaml", VALID).is_ok());
}
