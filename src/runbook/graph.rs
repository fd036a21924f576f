//! The whole decision tree as a diagram: Mermaid (for markdown and docs) and Graphviz DOT.
//! Steps are grouped by layer, choices are labelled edges, outcomes are distinct nodes. Every
//! runbook text is escaped so that no label can break out of its quotes; this module never
//! emits a line that is not one of the few productions documented on each function.

use crate::layer::Layer;
use crate::runbook::model::{Next, OutcomeKind, Question, Runbook, Step};
use crate::sanitize;

/// Each edge of the tree: from step, label, to target.
fn edges(step: &Step) -> Vec<(String, &Next)> {
    match &step.question {
        Question::Text { then, .. } => vec![("(text answer)".to_owned(), then)],
        q => q.choices().iter().map(|c| (c.label.clone(), &c.target)).collect(),
    }
}

/// The layers that have steps, outside in, each with its steps in file order.
fn by_layer(runbook: &Runbook) -> Vec<(Layer, Vec<&Step>)> {
    Layer::ALL
        .into_iter()
        .map(|layer| (layer, runbook.steps.iter().filter(|s| s.layer == layer).collect::<Vec<_>>()))
        .filter(|(_, steps)| !steps.is_empty())
        .collect()
}

/// A node id: a prefix and the runbook id with `-` as `_`, so ids match `[A-Za-z0-9_]+`.
fn node_id(prefix: &str, id: &str) -> String {
    let body: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("{prefix}_{body}")
}

fn target_id(target: &Next) -> String {
    match target {
        Next::Step(id) => node_id("S", id),
        Next::Outcome(id) => node_id("O", id),
    }
}

/// Runbook text as one line: line breaks become spaces, escapes and controls are removed.
fn one_line(text: &str) -> String {
    sanitize::line(&text.replace(['\r', '\n'], " ")).into_owned()
}

/// A Mermaid label in double quotes. Characters that Mermaid reads as syntax (quotes, `#`,
/// `;`, markup, pipes, backticks) become `#name;` or `#code;` entities.
fn mermaid_label(text: &str) -> String {
    let clean = one_line(text);
    let mut out = String::with_capacity(clean.len() + 2);
    out.push('"');
    for c in clean.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            '\\' => out.push_str("#92;"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Mermaid flowchart. Productions: `flowchart TD`; `    subgraph ID["label"]`; `        ID["label"]`;
/// `    end`; `    ID(["label"])` (resolved outcome); `    ID[["label"]]` (escalation);
/// `    entry(("start"))`; `    ID --> ID`; `    ID -->|"label"| ID`; `    classDef …`; `    class IDs name`.
pub fn mermaid(runbook: &Runbook) -> String {
    let mut out = String::from("flowchart TD\n");
    out.push_str("    entry((\"start\"))\n");
    for (layer, steps) in by_layer(runbook) {
        let title = format!("{} ({})", layer.label(), layer.id());
        out.push_str(&format!(
            "    subgraph {}[{}]\n",
            node_id("L", layer.id()),
            mermaid_label(&title)
        ));
        for step in steps {
            out.push_str(&format!(
                "        {}[{}]\n",
                node_id("S", &step.id),
                mermaid_label(&step.title)
            ));
        }
        out.push_str("    end\n");
    }
    for outcome in &runbook.outcomes {
        let (open, close) = match outcome.kind {
            OutcomeKind::Resolved => ("([", "])"),
            OutcomeKind::Escalate(_) => ("[[", "]]"),
        };
        let label = mermaid_label(&outcome_label(outcome));
        out.push_str(&format!("    {}{open}{label}{close}\n", node_id("O", &outcome.id)));
    }
    out.push_str(&format!("    entry --> {}\n", node_id("S", &runbook.start)));
    for step in &runbook.steps {
        for (label, target) in edges(step) {
            let (from, to) = (node_id("S", &step.id), target_id(target));
            out.push_str(&format!("    {from} -->|{}| {to}\n", mermaid_label(&label)));
        }
    }
    out.push_str(&mermaid_classes(runbook));
    out
}

fn outcome_label(outcome: &crate::runbook::model::Outcome) -> String {
    match outcome.kind {
        OutcomeKind::Resolved => outcome.title.clone(),
        OutcomeKind::Escalate(to) => format!("{} (to {})", outcome.title, to.label()),
    }
}

fn mermaid_classes(runbook: &Runbook) -> String {
    let mut out = String::new();
    let groups = [
        ("resolved", "fill:#d4edda,stroke:#2e7d32", true),
        ("escalate", "fill:#fde2e1,stroke:#c62828", false),
    ];
    for (name, style, resolved) in groups {
        let ids: Vec<String> = runbook
            .outcomes
            .iter()
            .filter(|o| matches!(o.kind, OutcomeKind::Resolved) == resolved)
            .map(|o| node_id("O", &o.id))
            .collect();
        if !ids.is_empty() {
            out.push_str(&format!("    classDef {name} {style}\n"));
            out.push_str(&format!("    class {} {name}\n", ids.join(",")));
        }
    }
    out
}

/// A DOT string literal: backslashes and quotes escaped, no newlines or control characters.
fn dot_string(text: &str) -> String {
    let clean = one_line(text);
    let mut out = String::with_capacity(clean.len() + 2);
    out.push('"');
    for c in clean.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Graphviz DOT: one cluster per layer, outcomes as ellipses (green resolved, red escalation).
pub fn dot(runbook: &Runbook) -> String {
    let mut out = format!("digraph {} {{\n", dot_string(&runbook.id));
    out.push_str("    rankdir=TB;\n    node [shape=box, style=rounded];\n");
    out.push_str("    \"entry\" [label=\"start\", shape=circle];\n");
    for (layer, steps) in by_layer(runbook) {
        let title = format!("{} ({})", layer.label(), layer.id());
        out.push_str(&format!("    subgraph \"cluster_{}\" {{\n", layer.id()));
        out.push_str(&format!("        label={};\n", dot_string(&title)));
        for step in steps {
            let (id, label) = (node_id("S", &step.id), dot_string(&step.title));
            out.push_str(&format!("        \"{id}\" [label={label}];\n"));
        }
        out.push_str("    }\n");
    }
    for outcome in &runbook.outcomes {
        let color = match outcome.kind {
            OutcomeKind::Resolved => "#d4edda",
            OutcomeKind::Escalate(_) => "#fde2e1",
        };
        let (id, label) = (node_id("O", &outcome.id), dot_string(&outcome_label(outcome)));
        out.push_str(&format!(
            "    \"{id}\" [label={label}, shape=ellipse, style=filled, fillcolor=\"{color}\"];\n"
        ));
    }
    out.push_str(&format!("    \"entry\" -> \"{}\";\n", node_id("S", &runbook.start)));
    for step in &runbook.steps {
        for (label, target) in edges(step) {
            let (from, to) = (node_id("S", &step.id), target_id(target));
            out.push_str(&format!("    \"{from}\" -> \"{to}\" [label={}];\n", dot_string(&label)));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_labels_cannot_break_out() {
        let label = mermaid_label("a\"]; click X call evil() %% `x` <b>|#quot;\\\n\u{1b}[31m");
        let inner = &label[1..label.len() - 1];
        assert!(!inner.contains('"') && !inner.contains('\n') && !inner.contains('\u{1b}'));
        assert!(inner.starts_with("a#quot;]#59; click"), "{label}");
    }

    #[test]
    fn dot_strings_escape_quotes_and_backslashes() {
        assert_eq!(dot_string("say \"hi\" \\n\nnow"), "\"say \\\"hi\\\" \\\\n now\"");
    }
}
