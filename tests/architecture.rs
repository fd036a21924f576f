//! The crate's rooms and the direction of their arrows (docs/architecture.md), checked on the
//! source: a module may import only the modules below it in [`LAYERS`], so the core never
//! imports the UI, the checks never import the runbook or the diagnosis, and no two top-level
//! modules import each other. Also the size limits the style guide sets: no file in src/ over
//! 600 lines, no function over 80, and 90% of functions at most 30.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every top-level module, bottom up. The ground floor (text to yaml) imports nothing of the
/// project but what sits below it on the ground floor.
const LAYERS: &[&str] = &[
    // ground
    "file",
    "clock",
    "text",
    "sanitize",
    "redact",
    "layer",
    "facts",
    "site",
    "yaml",
    // the check contract, knowledge tables, this machine
    "contract",
    "knowledge",
    "system",
    // the checks and what runs them
    "checks",
    "engine",
    // the decision tree, the verdict, the record, the note
    "runbook",
    "diagnosis",
    "session",
    "report",
    // front ends
    "tui",
    "cli",
];

/// One `crate::…` reference: which file, which line, from which module to which.
#[derive(Debug)]
struct Import {
    file: PathBuf,
    line: usize,
    from: String,
    to: String,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to; `None` for lib.rs and main.rs.
fn module_of(file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src()).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (name != "lib" && name != "main").then(|| name.to_owned())
}

/// Code without `//` comments (doc links name modules without importing them).
fn code(line: &str) -> &str {
    line.split("//").next().unwrap_or_default()
}

/// The modules a line names: `crate::x::…` and each item of `crate::{x, y::z}`.
fn named(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        let rest = &line[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or_default();
            out.extend(inner.split(',').map(|p| head(p.trim())));
        } else {
            out.push(head(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

fn head(path: &str) -> String {
    path.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

fn imports() -> Vec<Import> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut out = Vec::new();
    for file in files {
        let Some(from) = module_of(&file) else { continue };
        let text = fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for to in named(code(line)) {
                if to != from {
                    out.push(Import { file: file.clone(), line: n + 1, from: from.clone(), to });
                }
            }
        }
    }
    out
}

fn layer(module: &str) -> usize {
    LAYERS.iter().position(|m| *m == module).unwrap_or(usize::MAX)
}

fn shown(i: &Import) -> String {
    let file = i.file.strip_prefix(src()).unwrap_or(&i.file).display();
    format!("src/{file}:{}: {} imports {}", i.line, i.from, i.to)
}

#[test]
fn every_top_level_module_has_its_place() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(f)).collect();
    let unplaced: Vec<&String> = modules.iter().filter(|m| layer(m) == usize::MAX).collect();
    assert!(unplaced.is_empty(), "add these to LAYERS and docs/architecture.md: {unplaced:?}");
}

#[test]
fn arrows_point_down_only() {
    let upward: Vec<String> =
        imports().iter().filter(|i| layer(&i.to) > layer(&i.from)).map(shown).collect();
    assert!(upward.is_empty(), "imports that point up:\n{}", upward.join("\n"));
}

#[test]
fn the_core_never_imports_the_front_ends() {
    let core_to_ui: Vec<String> = imports()
        .iter()
        .filter(|i| !["tui", "cli"].contains(&i.from.as_str()))
        .filter(|i| ["tui", "cli"].contains(&i.to.as_str()))
        .map(shown)
        .collect();
    assert!(core_to_ui.is_empty(), "{}", core_to_ui.join("\n"));
}

#[test]
fn checks_never_import_the_runbook_or_the_diagnosis() {
    let wrong: Vec<String> = imports()
        .iter()
        .filter(|i| ["checks", "contract", "knowledge", "system"].contains(&i.from.as_str()))
        .filter(|i| ["runbook", "diagnosis"].contains(&i.to.as_str()))
        .map(shown)
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_two_top_level_modules_import_each_other() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in imports() {
        graph.entry(i.from).or_default().insert(i.to);
    }
    let cycles: Vec<Vec<String>> = cycles(&graph);
    assert!(cycles.is_empty(), "import cycles between top-level modules: {cycles:?}");
}

/// The strongly connected components with more than one module (Tarjan's algorithm).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, (usize, usize)>,
        stack: Vec<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(w: &mut Walk<'g>, node: &'g str) {
        let n = w.index.len();
        w.index.insert(node, (n, n));
        w.stack.push(node);
        for next in w.graph.get(node).into_iter().flatten() {
            let next = next.as_str();
            if !w.index.contains_key(next) {
                visit(w, next);
                let low = w.index[next].1.min(w.index[node].1);
                w.index.get_mut(node).unwrap().1 = low;
            } else if w.stack.contains(&next) {
                let low = w.index[next].0.min(w.index[node].1);
                w.index.get_mut(node).unwrap().1 = low;
            }
        }
        if w.index[node].0 == w.index[node].1 {
            let at = w.stack.iter().position(|m| *m == node).unwrap();
            let component: Vec<String> = w.stack.drain(at..).map(str::to_owned).collect();
            if component.len() > 1 {
                w.found.push(component);
            }
        }
    }
    let mut walk = Walk { graph, index: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for node in graph.keys() {
        if !walk.index.contains_key(node.as_str()) {
            visit(&mut walk, node);
        }
    }
    walk.found
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    graph.entry("c".into()).or_default().insert("d".into());
    assert_eq!(cycles(&graph), vec![vec!["a".to_owned(), "b".into(), "c".into()]]);
    assert_eq!(named("use crate::{redact, sanitize::line};"), ["redact", "sanitize"]);
}

#[test]
fn files_stay_under_600_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, fs::read_to_string(f).unwrap().lines().count()))
        .filter(|(_, n)| *n > 600)
        .map(|(f, n)| format!("{}: {n} lines", f.display()))
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

#[test]
fn functions_stay_short() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut lengths: Vec<(usize, String)> = Vec::new();
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        for (line, length) in function_lengths(&text) {
            lengths.push((length, format!("{}:{line}", file.display())));
        }
    }
    lengths.sort();
    let p90 = lengths[lengths.len() * 9 / 10].0;
    let over: Vec<&(usize, String)> = lengths.iter().filter(|(n, _)| *n > 80).collect();
    assert!(over.is_empty(), "functions over 80 lines: {over:?}");
    assert!(p90 <= 30, "90% of functions should be at most 30 lines; p90 is {p90}");
}

/// Each `fn` with a body: its first line and how many lines it spans.
fn function_lengths(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut line_starts = vec![0];
    line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
    for (n, &start) in line_starts.iter().enumerate() {
        let line = &text[start..text[start..].find('\n').map_or(text.len(), |e| start + e)];
        let trimmed = line.trim_start();
        let is_fn = [
            "fn ",
            "pub fn ",
            "pub(crate) fn ",
            "pub(super) fn ",
            "async fn ",
            "pub async fn ",
            "const fn ",
            "pub const fn ",
        ]
        .iter()
        .any(|p| trimmed.starts_with(p));
        if !is_fn {
            continue;
        }
        let Some(open) = body_start(bytes, start) else { continue };
        let close = matching_brace(bytes, open);
        let lines = text[start..close].matches('\n').count() + 1;
        out.push((n + 1, lines));
    }
    out
}

/// The `{` that opens the body of the `fn` starting at `from`; `None` for a declaration.
fn body_start(bytes: &[u8], from: usize) -> Option<usize> {
    let mut parens = 0i32;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            b'(' => parens += 1,
            b')' => parens -= 1,
            b';' if parens == 0 => return None,
            b'{' if parens == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

/// The index after the `}` matching the `{` at `open`, skipping strings, chars and comments.
fn matching_brace(bytes: &[u8], open: usize) -> usize {
    let mut depth = 0;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += bytes[i..].iter().position(|&b| b == b'\n').unwrap_or(bytes.len() - i);
                continue;
            }
            b'"' => i = string_end(bytes, i),
            b'r' if raw_string_at(bytes, i) => i = raw_string_end(bytes, i),
            b'\'' if bytes.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if bytes.get(i + 1) == Some(&b'\\') => {
                i += bytes[i + 2..].iter().position(|&b| b == b'\'').map_or(0, |p| p + 2);
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    bytes.len()
}

fn string_end(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while i < bytes.len() && bytes[i] != b'"' {
        i += if bytes[i] == b'\\' { 2 } else { 1 };
    }
    i
}

fn raw_string_at(bytes: &[u8], i: usize) -> bool {
    let before = i.checked_sub(1).map(|p| bytes[p]);
    if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return false;
    }
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    bytes.get(i + 1 + hashes) == Some(&b'"')
}

fn raw_string_end(bytes: &[u8], r: usize) -> usize {
    let hashes = bytes[r + 1..].iter().take_while(|&&b| b == b'#').count();
    let mut close = vec![b'"'];
    close.extend(std::iter::repeat_n(b'#', hashes));
    let body = r + 2 + hashes;
    bytes[body..]
        .windows(close.len())
        .position(|w| w == close)
        .map_or(bytes.len(), |p| body + p + close.len() - 1)
}
