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
/// At most this many sets are kept of those every match holds one string of: the strongest.
const MAX_SETS: usize = 4;

/// Strings one of which a match holds.
type Set = Vec<Vec<u8>>;

/// The sets of strings every match of `pattern` holds one string of each, on ASCII text, ASCII
/// lower case, strongest first (`[A-Za-z]+://[^@]*@` holds `://` and `@`); `None` when the
/// pattern gives no such set.
pub(in crate::redact) fn holds(pattern: &str) -> Option<Vec<Vec<String>>> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let sets = required(&hir).sets();
    let text = |s: &Vec<u8>| String::from_utf8_lossy(s).into_owned();
    let sets: Vec<Vec<String>> = sets.iter().map(|set| set.iter().map(text).collect()).collect();
    (!sets.is_empty()).then_some(sets)
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
/// Each set is one line, folded at 100 columns.
pub(in crate::redact) fn gates_file(patterns: &[(&str, &Pattern)]) -> String {
    let mut file = String::from(GATES_HEADER);
    for (name, pattern) in patterns {
        let sets = holds(&pattern.source()).unwrap_or_default();
        let beyond: Vec<String> = beyond_ascii(&pattern.source())
            .iter()
            .map(|&(lo, hi)| {
                format!("('\\u{{{:x}}}', '\\u{{{:x}}}'),", u32::from(lo), u32::from(hi))
            })
            .collect();
        file.push_str(&format!(
            "pub(super) const {name}: Gate = Gate {{\n    holds: &[\n{}    ],\n    beyond_ascii: &[{}],\n}};\n",
            sets.iter().map(|set| set_lines(set)).collect::<String>(),
            beyond.join(" ").trim_end_matches(','),
        ));
    }
    file
}

/// One set of a gate as `gates.rs` writes it: on one line when it fits in 100 columns.
fn set_lines(set: &[String]) -> String {
    let quoted: Vec<String> = set.iter().map(|s| format!("{s:?},")).collect();
    let line = format!("        &[{}],\n", quoted.join(" ").trim_end_matches(','));
    if line.len() <= 101 {
        return line;
    }
    format!("        &[\n{}        ],\n", wrapped(&quoted, 12))
}

/// Items joined by spaces in lines of at most 100 columns, indented by `indent`.
fn wrapped(items: &[String], indent: usize) -> String {
    let mut lines = vec![String::new()];
    for item in items {
        let last = lines.last_mut().unwrap_or_else(|| unreachable!());
        if !last.is_empty() && indent + last.len() + 1 + item.len() > 100 {
            lines.push(item.clone());
        } else {
            last.push_str(if last.is_empty() { "" } else { " " });
            last.push_str(item);
        }
    }
    let margin = " ".repeat(indent);
    lines.iter().fold(String::new(), |out, line| out + &margin + line + "\n")
}

const GATES_HEADER: &str = "\
//! Written by `TRIAGE_BLESS=1 cargo test --lib gates` from each redaction pattern's syntax
//! tree (`gate/required.rs`); not edited by hand. A text that lacks every string of one of a
//! pattern's sets (ASCII case ignored) and holds none of the characters beyond ASCII its
//! classes were read without skips the pattern. `cargo fmt` leaves this file alone
//! (`#[rustfmt::skip]` in `mod.rs`).

use super::gate::Gate;

";

/// What a part of a pattern says about the text it matches, on ASCII text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Req {
    /// It matches exactly one of these strings (ASCII lower case).
    Exactly(Set),
    /// Every match holds one string of each of these sets; none: nothing is known.
    Holds(Vec<Set>),
}

impl Req {
    const ANYTHING: Req = Req::Holds(Vec::new());

    /// The sets every match holds one string of, strongest first, without a set another
    /// implies; at most [`MAX_SETS`].
    fn sets(self) -> Vec<Set> {
        let sets = match self {
            Req::Exactly(set) => vec![set],
            Req::Holds(sets) => sets,
        };
        let mut sets: Vec<Set> = sets.into_iter().filter(useful).map(sorted).collect();
        sets.sort_by_key(|set| std::cmp::Reverse(shortest(set)));
        sets.dedup();
        // A set another implies sends nothing away the other does not; of two that imply each
        // other, the first stays.
        let implies = |j: usize, i: usize| every_holds_one(&sets[j], &sets[i]);
        let redundant = |i: usize| {
            (0..sets.len()).any(|j| j != i && implies(j, i) && (j < i || !implies(i, j)))
        };
        let kept: Vec<usize> = (0..sets.len()).filter(|&i| !redundant(i)).collect();
        kept.into_iter().take(MAX_SETS).map(|i| sets[i].clone()).collect()
    }

    /// The strongest single set, for a branch of an alternation.
    fn best(self) -> Option<Set> {
        self.sets().into_iter().next()
    }
}

/// A set tells something when it has strings, none of them empty and none a lone space or
/// tab: nearly every text holds one of those, and the screen would stop at each for nothing.
fn useful(set: &Set) -> bool {
    let blank = |s: &Vec<u8>| s.is_empty() || s == b" " || s == b"\t";
    !set.is_empty() && !set.iter().any(blank)
}

/// The set without a string that holds another one, in order.
fn sorted(set: Set) -> Set {
    let mut set = without_containing(set);
    set.sort();
    set
}

/// The length of a set's shortest string: the longer, the rarer a text holds one.
fn shortest(set: &Set) -> usize {
    set.iter().map(Vec::len).min().unwrap_or(0)
}

/// Whether holding a string of `set` means holding one of `other` too.
fn every_holds_one(set: &Set, other: &Set) -> bool {
    set.iter().all(|s| other.iter().any(|o| contains(s, o)))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn required(hir: &Hir) -> Req {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Req::Exactly(vec![Vec::new()]),
        HirKind::Literal(lit) => Req::Exactly(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(class) => class_strings(class).map_or(Req::ANYTHING, Req::Exactly),
        HirKind::Capture(capture) => required(&capture.sub),
        HirKind::Repetition(rep) if rep.min == 0 => Req::ANYTHING,
        HirKind::Repetition(rep) => match required(&rep.sub) {
            Req::Exactly(s) if rep.max == Some(1) => Req::Exactly(s),
            Req::Exactly(s) => Req::Holds(vec![s]),
            holds @ Req::Holds(_) => holds,
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

/// Runs of exact parts are joined (`c`,`o`,`o`,`k`… is `cookie`); every match holds one of
/// each run and of each set the other parts hold.
fn concat(parts: &[Hir]) -> Req {
    let mut sets = Vec::new();
    let mut run: Set = vec![Vec::new()];
    let mut all_exact = true;
    for part in parts {
        match required(part) {
            Req::Exactly(strings) => {
                if let Some(joined) = cross(&run, &strings) {
                    run = joined;
                } else {
                    // Too many combinations: the run so far stands alone, a new one starts.
                    all_exact = false;
                    sets.push(std::mem::replace(&mut run, strings));
                }
            }
            Req::Holds(held) => {
                all_exact = false;
                sets.push(std::mem::replace(&mut run, vec![Vec::new()]));
                sets.extend(held);
            }
        }
    }
    if all_exact {
        return Req::Exactly(run);
    }
    sets.push(run);
    Req::Holds(sets)
}

/// Every string of `a` followed by every string of `b`, if there are few.
fn cross(a: &[Vec<u8>], b: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if a.len() * b.len() > MAX_STRINGS {
        return None;
    }
    Some(a.iter().flat_map(|x| b.iter().map(move |y| [x.as_slice(), y].concat())).collect())
}

/// A match of an alternation is a match of one branch: the union of what each holds (of a
/// branch that holds several sets, its strongest).
fn alternation(branches: &[Hir]) -> Req {
    let mut exact = true;
    let mut union = Vec::new();
    for branch in branches {
        match required(branch) {
            Req::Exactly(s) => union.extend(s),
            holds @ Req::Holds(_) => {
                exact = false;
                let Some(best) = holds.best() else { return Req::ANYTHING };
                union.extend(best);
            }
        }
    }
    union.sort();
    union.dedup();
    if exact && union.len() <= MAX_STRINGS {
        return Req::Exactly(union);
    }
    // Holding a string means holding every part of it: the shortest strings suffice.
    let union = without_containing(union);
    if union.len() <= MAX_HOLDS { Req::Holds(vec![union]) } else { Req::ANYTHING }
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
        let sets = |sets: &[&[&str]]| {
            Some(sets.iter().map(|set| set.iter().map(|s| (*s).to_owned()).collect()).collect())
        };
        assert_eq!(holds(r"(?i)(?:set-cookie|cookies?)[ :=]+x"), sets(&[&["cookie"], &["x"]]));
        assert_eq!(holds(r"[A-Za-z]+://[^@]*@"), sets(&[&["://"], &["@"]]));
        assert_eq!(holds(r"(?:[?&]|&amp;)(?P<n>\w+)=(?P<s>\S*)"), sets(&[&["&", "?"], &["="]]));
        // A lone space or tab sends nothing away.
        assert_eq!(holds(r"key[ \t]+x"), sets(&[&["key"], &["x"]]));
        assert_eq!(holds(r"(?i)\bbearer\s+\S+"), sets(&[&["bearer"]]));
        assert_eq!(holds(r"\S+"), None);
        assert_eq!(holds(r"(?:abc)?x*"), None);
        // A set another implies is left out: holding `abc` is holding `b`.
        assert_eq!(holds(r"a[^x]*b[^x]*abc"), sets(&[&["abc"]]));
        // A branch of several sets gives the alternation its strongest.
        assert_eq!(holds(r"(?:ab.*cde|fgh)"), sets(&[&["cde", "fgh"]]));
    }

    #[test]
    fn a_small_class_names_what_it_admits_beyond_ascii() {
        assert_eq!(beyond_ascii(r"(?i)secret"), [('ſ', 'ſ')]);
        assert_eq!(beyond_ascii(r"(?i)key|pass"), [('ſ', 'ſ'), ('\u{212a}', '\u{212a}')]);
        assert_eq!(beyond_ascii(r"token=[^\s;]+"), []);
        assert_eq!(beyond_ascii(r"a[b\x{FFFD}]"), [('\u{fffd}', '\u{fffd}')]);
    }
}
