//! Which strings every match of a pattern holds, read from its syntax tree: the derivation of
//! the gates in `../gates.rs`, run by the tests that keep that file true.
//!
//! The strings hold on text whose characters are ASCII where the pattern has a small class:
//! each such class is read by its ASCII part. So the gate also lists the class members beyond
//! ASCII (`ſ` and the Kelvin sign `K` in case-insensitive `s` and `k`); a text holding one
//! goes to the regex.

use regex_syntax::hir::{Class, Hir, HirKind};

use super::Pattern;

/// At most this many exact strings are kept per part (joining parts multiplies them).
const MAX_STRINGS: usize = 32;
/// At most this many strings one of which a match holds (an alternation of vendors' token
/// prefixes has dozens); beyond, the part tells nothing.
const MAX_HOLDS: usize = 256;

/// The strings one of which every match of `pattern` holds on ASCII text, ASCII lower case;
/// `None` when the pattern gives no such set.
pub(in crate::redact) fn holds(pattern: &str) -> Option<Vec<String>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let strings = required(&hir).holds()?;
    Some(strings.into_iter().map(|s| String::from_utf8_lossy(&s).into_owned()).collect())
}

/// The characters beyond ASCII that the classes read by their ASCII part also admit, as
/// sorted, merged ranges: where a text holds none of them, [`holds`] holds for it too.
pub(in crate::redact) fn beyond_ascii(pattern: &str) -> Vec<(char, char)> {
    let mut ranges = Vec::new();
    if let Ok(hir) = regex_syntax::Parser::new().parse(pattern) {
        small_classes_beyond_ascii(&hir, &mut ranges);
    }
    ranges.sort_unstable();
    let mut merged: Vec<(char, char)> = Vec::new();
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if u32::from(lo) <= u32::from(last.1) + 1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

fn small_classes_beyond_ascii(hir: &Hir, out: &mut Vec<(char, char)>) {
    match hir.kind() {
        HirKind::Class(class) if class_strings(class).is_some() => match class {
            Class::Unicode(c) => out.extend(
                c.ranges()
                    .iter()
                    .filter(|r| !r.end().is_ascii())
                    .map(|r| (r.start().max('\u{80}'), r.end())),
            ),
            // A byte beyond ASCII is part of some character: any of them may be.
            Class::Bytes(c) if c.ranges().iter().any(|r| !r.end().is_ascii()) => {
                out.push(('\u{80}', char::MAX));
            }
            Class::Bytes(_) => {}
        },
        HirKind::Capture(capture) => small_classes_beyond_ascii(&capture.sub, out),
        HirKind::Repetition(rep) => small_classes_beyond_ascii(&rep.sub, out),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            for part in parts {
                small_classes_beyond_ascii(part, out);
            }
        }
        _ => {}
    }
}

/// The text of `gates.rs` for `patterns`, by name: each one's [`holds`] and [`beyond_ascii`].
pub(in crate::redact) fn gates_file(patterns: &[(&str, &Pattern)]) -> String {
    let mut file = String::from(GATES_HEADER);
    for (name, pattern) in patterns {
        let holds = holds(&pattern.source()).unwrap_or_default();
        let quoted: Vec<String> = holds.iter().map(|s| format!("{s:?},")).collect();
        let beyond: Vec<String> = beyond_ascii(&pattern.source())
            .iter()
            .map(|&(lo, hi)| {
                format!("('\\u{{{:x}}}', '\\u{{{:x}}}'),", u32::from(lo), u32::from(hi))
            })
            .collect();
        file.push_str(&format!(
            "pub(super) const {name}: Gate = Gate {{\n    holds: &[\n{}    ],\n    beyond_ascii: &[{}],\n}};\n",
            wrapped(&quoted),
            beyond.join(" ").trim_end_matches(','),
        ));
    }
    file
}

/// Items joined by spaces in lines of at most 100 columns, indented by eight.
fn wrapped(items: &[String]) -> String {
    let mut lines = vec![String::new()];
    for item in items {
        let last = lines.last_mut().unwrap_or_else(|| unreachable!());
        if !last.is_empty() && last.len() + item.len() > 91 {
            lines.push(item.clone());
        } else {
            last.push_str(if last.is_empty() { "" } else { " " });
            last.push_str(item);
        }
    }
    lines.iter().fold(String::new(), |out, line| out + "        " + line + "\n")
}

const GATES_HEADER: &str = "\
//! Written by `TRIAGE_BLESS=1 cargo test --lib gates` from each redaction pattern's syntax
//! tree (`gate/required.rs`); not edited by hand. A text holding none of a pattern's strings
//! (ASCII case ignored) and none of the characters beyond ASCII its classes were read without
//! skips the pattern. `cargo fmt` leaves this file alone (`#[rustfmt::skip]` in `mod.rs`).

use super::gate::Gate;

";

/// What a part of a pattern says about the text it matches, on ASCII text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    /// It matches exactly one of these strings (ASCII lower case).
    Exactly(Vec<Vec<u8>>),
    /// Every match holds one of these.
    Holds(Vec<Vec<u8>>),
    /// Nothing known.
    Anything,
}

impl Req {
    /// The strings one of which every match holds, if any is non-empty.
    fn holds(self) -> Option<Vec<Vec<u8>>> {
        let (Req::Exactly(strings) | Req::Holds(strings)) = self else { return None };
        (strings.iter().all(|s| !s.is_empty())).then_some(strings)
    }

    /// The better of two facts about one match: the set whose shortest string is longest.
    fn better(self, other: Req) -> Req {
        let shortest = |r: &Req| match r {
            Req::Exactly(s) | Req::Holds(s) => s.iter().map(Vec::len).min().unwrap_or(usize::MAX),
            Req::Anything => 0,
        };
        if shortest(&other) > shortest(&self) { other } else { self }
    }
}

fn required(hir: &Hir) -> Req {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Req::Exactly(vec![Vec::new()]),
        HirKind::Literal(lit) => Req::Exactly(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => class_strings(class).map_or(Req::Anything, Req::Exactly),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(rep) if rep.min == 0 => Req::Anything,
        HirKind::Repetition(rep) => match required(&rep.sub) {
            Req::Exactly(s) if rep.max == Some(1) => Req::Exactly(s),
            Req::Exactly(s) | Req::Holds(s) => Req::Holds(s),
            Req::Anything => Req::Anything,
        },
        HirKind::Concat(parts) => concat(parts),
        HirKind::Alternation(branches) => alternation(branches),
    }
}

/// The ASCII characters a class holds, lower case, when they are few; a class of no ASCII
/// character matches no ASCII text (an empty set).
fn class_strings(class: &Class) -> Option<Vec<Vec<u8>>> {
    // Ranges are sorted: the ASCII ones come first.
    let ascii: Vec<(u8, u8)> = match class {
        Class::Unicode(c) => c
            .ranges()
            .iter()
            .take_while(|r| r.start().is_ascii())
            .map(|r| (r.start() as u8, r.end().min('\x7f') as u8))
            .collect(),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .take_while(|r| r.start().is_ascii())
            .map(|r| (r.start(), r.end().min(0x7f)))
            .collect(),
    };
    // A letter in both cases is two bytes: more than eight is more than four characters.
    if ascii.iter().map(|&(lo, hi)| usize::from(hi - lo) + 1).sum::<usize>() > 8 {
        return None;
    }
    let mut chars: Vec<u8> =
        ascii.iter().flat_map(|&(lo, hi)| lo..=hi).map(|b| b.to_ascii_lowercase()).collect();
    chars.sort_unstable();
    chars.dedup();
    (chars.len() <= 4).then(|| chars.into_iter().map(|c| vec![c]).collect())
}

/// Runs of exact parts are joined (`c`,`o`,`o`,`k`… is `cookie`); of the runs and the other
/// parts, the best fact wins.
fn concat(parts: &[Hir]) -> Req {
    let mut best = Req::Anything;
    let mut run: Vec<Vec<u8>> = vec![Vec::new()];
    let mut all_exact = true;
    for part in parts {
        match required(part) {
            Req::Exactly(strings) => {
                if let Some(joined) = cross(&run, &strings) {
                    run = joined;
                } else {
                    // Too many combinations: the run so far stands alone, a new one starts.
                    all_exact = false;
                    best = best.better(Req::Holds(std::mem::replace(&mut run, strings)));
                }
            }
            other => {
                all_exact = false;
                best = best.better(Req::Holds(std::mem::replace(&mut run, vec![Vec::new()])));
                if let Req::Holds(strings) = other {
                    best = best.better(Req::Holds(strings));
                }
            }
        }
    }
    if all_exact { Req::Exactly(run) } else { best.better(Req::Holds(run)) }
}

/// Every string of `a` followed by every string of `b`, if there are few.
fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > MAX_STRINGS {
        return None;
    }
    Some(a.iter().flat_map(|x| b.iter().map(move |y| [x.as_slice(), y].concat())).collect())
}

/// A match of an alternation is a match of one branch: the union of what each holds.
fn alternation(branches: &[Hir]) -> Req {
    let mut exact = true;
    let mut union = Vec::new();
    for branch in branches {
        match required(branch) {
            Req::Exactly(s) => union.extend(s),
            Req::Holds(s) => {
                exact = false;
                union.extend(s);
            }
            Req::Anything => return Req::Anything,
        }
    }
    union.sort();
    union.dedup();
    if exact && union.len() <= MAX_STRINGS {
        return Req::Exactly(union);
    }
    // Holding a string means holding every part of it: the shortest strings suffice.
    let union = without_containing(union);
    if union.len() <= MAX_HOLDS { Req::Holds(union) } else { Req::Anything }
}

/// `strings` without any that holds another one.
fn without_containing(mut strings: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    strings.sort_by_key(Vec::len);
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for s in strings {
        if !kept
            .iter()
            .any(|k| s.windows(k.len().max(1)).any(|w| w == k.as_slice()) || k.is_empty())
        {
            kept.push(s);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_strings_follow_the_pattern() {
        assert_eq!(holds(r"(?i)(?:set-cookie|cookies?)[ :=]+x"), Some(vec!["cookie".into()]));
        assert_eq!(holds(r"[A-Za-z]+://[^@]*@"), Some(vec!["://".into()]));
        assert_eq!(
            holds(r"(?:[?&]|&amp;)(?P<n>\w+)=(?P<s>\S*)"),
            Some(vec!["&".into(), "&amp;".into(), "?".into()])
        );
        assert_eq!(holds(r"(?i)\bbearer\s+\S+"), Some(vec!["bearer".into()]));
        assert_eq!(holds(r"\S+"), None);
        assert_eq!(holds(r"(?:abc)?x*"), None);
    }

    #[test]
    fn a_small_class_names_what_it_admits_beyond_ascii() {
        assert_eq!(beyond_ascii(r"(?i)secret"), [('ſ', 'ſ')]);
        assert_eq!(beyond_ascii(r"(?i)key|pass"), [('ſ', 'ſ'), ('\u{212a}', '\u{212a}')]);
        assert_eq!(beyond_ascii(r"token=[^\s;]+"), []);
        assert_eq!(beyond_ascii(r"a[b\x{FFFD}]"), [('\u{fffd}', '\u{fffd}')]);
    }
}
