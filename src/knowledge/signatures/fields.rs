//! Fields a matching line may carry about where it came from (nginx's `server:` and `host:`,
//! the `upstream:` it tried, a PHP-FPM `[pool …]`, an HAProxy backend), so the line can be
//! attributed to a hop of the request path rather than to the whole machine. Each rule's
//! pattern is compiled on first use, as the signatures' are.
//!
//! Every matching line is read for every rule, so the literals the rules start from (a walked
//! rule's prefix, a regex rule's gate) are found in one SIMD search over the line ([`FieldSearch`])
//! rather than one search per rule: a rule whose literal the line lacks costs nothing.

use std::ops::Range;
use std::sync::OnceLock;

use aho_corasick::Span;
use aho_corasick::packed::{self, Searcher};
use memchr::memmem::Finder;
use regex::bytes::Regex;
use serde::Deserialize;

use super::shape::{Shape, Walk};
use crate::yaml::{Pos, Text};

/// The longest value taken, in bytes.
const MAX_VALUE: usize = 200;

/// One field rule.
#[derive(Debug)]
pub struct FieldRule {
    pub name: String,
    /// Its first capture group is the value.
    pub pattern: String,
    regex: OnceLock<Option<Regex>>,
    /// Literals one of which every match holds: a line without any is passed over without the
    /// regex (most lines carry few of the fields).
    literals: Vec<Finder<'static>>,
    /// The pattern as a literal and a run, when it is one: walked without the regex.
    shape: Option<Shape>,
}

impl FieldRule {
    /// The rule named `name` that takes its value with `pattern`'s first group.
    pub(super) fn new(name: String, pattern: String) -> FieldRule {
        let literals = super::literals::gate_literals(&pattern);
        FieldRule {
            literals: literals.iter().map(|l| Finder::new(l).into_owned()).collect(),
            shape: Shape::of(&pattern),
            name,
            pattern,
            regex: OnceLock::new(),
        }
    }

    /// Where the value this rule takes from `line` is: at most [`MAX_VALUE`] bytes, without
    /// the whitespace around it. `seen` says where the rule's anchors first occur in `line`,
    /// when the one search for every rule's anchors ran.
    fn value(&self, line: &[u8], seen: Option<(&Seen, &[usize])>) -> Option<Range<usize>> {
        let walked = self.shape.as_ref().map(|shape| match seen {
            Some((seen, ids)) => ids
                .first()
                .and_then(|&id| seen.first(id))
                .map_or(Walk::NoMatch, |at| shape.walk_at(line, at)),
            None => shape.walk(line),
        });
        let range = match walked {
            Some(Walk::Value(range)) => range,
            Some(Walk::NoMatch) => return None,
            Some(Walk::Unsure) | None => self.by_regex(line, seen)?,
        };
        Some(bounded(line, range))
    }

    /// Where the regex's first group is in `line`, unless the line lacks all its literals.
    fn by_regex(&self, line: &[u8], seen: Option<(&Seen, &[usize])>) -> Option<Range<usize>> {
        let lacks_all = match seen {
            // A walked rule's anchor is its prefix, not its literals: its regex only runs
            // where the walk was unsure, so the prefix is there.
            Some(_) if self.shape.is_some() => false,
            Some((seen, ids)) => ids.iter().all(|&id| seen.first(id).is_none()),
            None => self.literals.iter().all(|l| l.find(line).is_none()),
        };
        if !self.literals.is_empty() && lacks_all {
            return None;
        }
        self.regex_value(line)
    }

    /// Where the regex's first group is in `line`, with no literal looked for first.
    fn regex_value(&self, line: &[u8]) -> Option<Range<usize>> {
        let regex = self.regex.get_or_init(|| Regex::new(&self.pattern).ok()).as_ref()?;
        Some(regex.captures(line)?.get(1)?.range())
    }
}

/// The fields `line` carries, each name once, into `found` (emptied first): each as the index
/// of the rule that took it (the first in table order to find its name) and where its value
/// is in the line. Allocates nothing once `found` has grown: it runs on every matching line.
pub fn fields_in(
    rules: &[FieldRule],
    search: &FieldSearch,
    line: &[u8],
    found: &mut Vec<(usize, Range<usize>)>,
) {
    let seen = search.first_in(line);
    let same_name = |a: usize, b: usize| search.first_of_name[a] == search.first_of_name[b];
    take_fields(rules, found, same_name, |index, rule| {
        let ids = search.of_rule.get(index).map_or(&[][..], Vec::as_slice);
        rule.value(line, seen.as_ref().map(|seen| (seen, ids)))
    });
}

/// The same fields as [`fields_in`], each taken by its rule's regex alone: what the walks
/// and the anchor search must agree with (tests and the `log_classifier` fuzz target hold
/// them to it).
pub fn fields_by_regex(rules: &[FieldRule], line: &[u8], found: &mut Vec<(usize, Range<usize>)>) {
    let same_name = |a: usize, b: usize| rules[a].name == rules[b].name;
    take_fields(rules, found, same_name, |_, rule| Some(bounded(line, rule.regex_value(line)?)));
}

/// Each rule's value in table order, skipping a rule whose name an earlier one took.
fn take_fields(
    rules: &[FieldRule],
    found: &mut Vec<(usize, Range<usize>)>,
    same_name: impl Fn(usize, usize) -> bool,
    mut value: impl FnMut(usize, &FieldRule) -> Option<Range<usize>>,
) {
    found.clear();
    for (index, rule) in rules.iter().enumerate() {
        if found.iter().any(|&(taken, _)| same_name(taken, index)) {
            continue;
        }
        if let Some(value) = value(index, rule) {
            found.push((index, value));
        }
    }
}

/// A value's range cut to [`MAX_VALUE`] bytes, without the whitespace around it.
fn bounded(line: &[u8], range: Range<usize>) -> Range<usize> {
    trimmed(line, range.start..range.end.min(range.start + MAX_VALUE))
}

/// The most anchors searched for at once (the built-in table has 7); a table with more
/// searches rule by rule.
const MAX_ANCHORS: usize = 16;

/// What applying the rules to a line quickly needs beyond the rules: the distinct literals they
/// start from (a walked rule's prefix, a regex rule's literals), with one searcher for all of
/// them, and which rules share a name.
#[derive(Debug)]
pub struct FieldSearch {
    /// Per rule: the first rule with its name.
    first_of_name: Vec<usize>,
    literals: Vec<Vec<u8>>,
    /// Per rule, in table order: its anchors, as indexes into `literals`.
    of_rule: Vec<Vec<usize>>,
    /// Per literal: the others that can start where it does (one is a prefix of the other),
    /// since a leftmost-first search reports one literal at a place.
    same_start: Vec<Vec<usize>>,
    /// `None` when there are no anchors, or too many: then each rule searches for its own.
    searcher: Option<Searcher>,
}

/// Where each anchor first occurs in a line.
#[derive(Debug)]
pub struct Seen {
    present: u16,
    at: [usize; MAX_ANCHORS],
}

impl Seen {
    fn first(&self, id: usize) -> Option<usize> {
        (self.present & (1 << id) != 0).then(|| self.at[id])
    }
}

impl FieldSearch {
    pub(super) fn new(rules: &[FieldRule]) -> FieldSearch {
        let mut literals: Vec<Vec<u8>> = Vec::new();
        let mut id = |literal: &[u8]| {
            let known = literals.iter().position(|l| l == literal);
            known.unwrap_or_else(|| {
                literals.push(literal.to_vec());
                literals.len() - 1
            })
        };
        let of_rule = rules
            .iter()
            .map(|rule| match &rule.shape {
                Some(shape) => vec![id(shape.prefix())],
                None => rule.literals.iter().map(|l| id(l.needle())).collect(),
            })
            .collect();
        let same_start = (0..literals.len()).map(|i| sharing_start(&literals, i)).collect();
        let searcher = (!literals.is_empty() && literals.len() <= MAX_ANCHORS)
            .then(|| {
                let mut config = packed::Config::new();
                config
                    .match_kind(packed::MatchKind::LeftmostFirst)
                    .builder()
                    .extend(&literals)
                    .build()
            })
            .flatten();
        let first_of_name =
            rules.iter().map(|r| rules.iter().position(|s| s.name == r.name).unwrap_or(0));
        FieldSearch {
            first_of_name: first_of_name.collect(),
            literals,
            of_rule,
            same_start,
            searcher,
        }
    }

    /// Where each anchor first occurs in `line`; `None` when there is no searcher.
    fn first_in(&self, line: &[u8]) -> Option<Seen> {
        let searcher = self.searcher.as_ref()?;
        let all = u16::MAX >> (MAX_ANCHORS - self.literals.len());
        let mut seen = Seen { present: 0, at: [0; MAX_ANCHORS] };
        let mut from = 0;
        while seen.present != all {
            let Some(hit) = searcher.find_in(line, Span::from(from..line.len())) else { break };
            let (at, id) = (hit.start(), hit.pattern().as_usize());
            for id in std::iter::once(id).chain(self.same_start[id].iter().copied()) {
                if seen.present & (1 << id) == 0 && line[at..].starts_with(&self.literals[id]) {
                    seen.present |= 1 << id;
                    seen.at[id] = at;
                }
            }
            from = at + 1;
        }
        Some(seen)
    }
}

/// The literals other than `literals[i]` that can start where it does: those it is a prefix
/// of, and its own prefixes.
fn sharing_start(literals: &[Vec<u8>], i: usize) -> Vec<usize> {
    let a = &literals[i];
    let others = literals.iter().enumerate().filter(|&(j, _)| j != i);
    others.filter(|(_, b)| a.starts_with(b) || b.starts_with(a)).map(|(j, _)| j).collect()
}

/// A value as it is shown: lossily decoded, without the whitespace around it.
pub fn value_text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).trim().to_owned()
}

/// `range` of `line` without the whitespace around it: what [`value_text`] keeps, so two
/// values are shown alike when their trimmed bytes are alike.
fn trimmed(line: &[u8], range: Range<usize>) -> Range<usize> {
    let value = &line[range.clone()];
    // Most values start and end with a printable ASCII byte: whatever the rest holds, neither
    // end is whitespace (whitespace beyond ASCII is made only of bytes above 0x7f).
    let printable = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    if printable(value.first()) && printable(value.last()) {
        return range;
    }
    let (lead, kept) = match std::str::from_utf8(value) {
        Ok(text) => (text.len() - text.trim_start().len(), text.trim().len()),
        Err(_) => (value.len() - value.trim_ascii_start().len(), value.trim_ascii().len()),
    };
    range.start + lead..range.start + lead + kept
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawField {
    name: Text,
    pattern: Text,
    /// A real line the pattern takes the value from, and the value it must take.
    example: Text,
    value: Text,
    source: Text,
}

/// The name and pattern of the rule `raw` describes; with `full` checks, its pattern must
/// compile, have a capture group and take `value` from `example` (the built-in table's tests
/// run those).
pub(super) fn field_rule(
    raw: &RawField,
    full: bool,
    error: &mut dyn FnMut(Pos, String),
) -> Option<(String, String)> {
    if !super::is_snake_case(&raw.name.value) {
        error(raw.name.pos, format!("field `{}` must be snake_case", raw.name.value));
    }
    if raw.source.value.trim().is_empty() {
        error(raw.source.pos, "`source` must not be empty".to_owned());
    }
    if full {
        let regex = match Regex::new(&raw.pattern.value) {
            Ok(regex) if regex.captures_len() > 1 => regex,
            Ok(_) => {
                error(
                    raw.pattern.pos,
                    "a field pattern needs a capture group for the value".into(),
                );
                return None;
            }
            Err(e) => {
                let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
                error(raw.pattern.pos, format!("the pattern does not compile: {first}"));
                return None;
            }
        };
        let got = regex.captures(raw.example.value.as_bytes()).and_then(|c| c.get(1));
        if got.is_none_or(|m| m.as_bytes() != raw.value.value.as_bytes()) {
            let message =
                format!("the pattern does not take `{}` from the example", raw.value.value);
            error(raw.example.pos, message);
        }
    }
    Some((raw.name.value.clone(), raw.pattern.value.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::signatures::Signatures;

    #[test]
    fn every_field_rule_is_walked_or_gated_by_a_literal() {
        let table = Signatures::builtin().unwrap();
        for rule in &table.fields {
            assert!(rule.shape.is_some() || !rule.literals.is_empty(), "{}", rule.pattern);
        }
        let haproxy = super::super::literals::gate_literals(r"\]: \S+:\d+ \[[^\]]+\] (\S+) ");
        assert_eq!(haproxy, vec![b"]: ".to_vec()]);
    }

    /// Lines near each of `examples`: itself, cut short, with a space, a quote or a
    /// non-ASCII character put in, twice over, and beside each other example.
    fn near_lines(examples: &[&str]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        for (n, example) in examples.iter().enumerate() {
            lines.push(format!("{example} {example}").into_bytes());
            lines.push(format!("{example} | {}", examples[(n + 1) % examples.len()]).into_bytes());
            for (at, _) in example.char_indices().step_by(5) {
                lines.push(example.as_bytes()[..at].to_vec());
                for insert in [" ", ",", "\"", "]", "é", "\u{a0}"] {
                    lines.push(format!("{}{insert}{}", &example[..at], &example[at..]).into());
                }
            }
        }
        lines
    }

    #[test]
    fn one_search_for_every_rule_takes_the_regexes_fields() {
        let table = Signatures::builtin().unwrap();
        let examples: Vec<&str> = table.list.iter().map(|s| s.example.as_str()).collect();
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let mut with_fields = 0;
        for line in near_lines(&examples) {
            table.fields_in(&line, &mut fast);
            table.fields_by_regex(&line, &mut slow);
            assert_eq!(fast, slow, "{}", String::from_utf8_lossy(&line));
            with_fields += usize::from(!fast.is_empty());
        }
        assert!(with_fields > 1000, "{with_fields} lines had fields");
    }

    #[test]
    fn anchors_that_start_alike_are_both_found() {
        let rules = vec![
            FieldRule::new("long".into(), r"x: y(\S+)".into()),
            FieldRule::new("short".into(), r"x: ([a-z]+)".into()),
            FieldRule::new("gated".into(), r"x: yz(\d*)\b".into()),
        ];
        let anchors = FieldSearch::new(&rules);
        assert!(anchors.searcher.is_some());
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        for line in [&b"a x: yz1 b"[..], b"x: x: yq", b"x: y", b"x: 9 x: yz"] {
            fields_in(&rules, &anchors, line, &mut fast);
            fields_by_regex(&rules, line, &mut slow);
            assert_eq!(fast, slow, "{}", String::from_utf8_lossy(line));
        }
        fields_in(&rules, &anchors, b"a x: yz1 b", &mut fast);
        assert_eq!(fast, vec![(0, 6..8), (1, 5..7), (2, 7..8)]);
    }

    #[test]
    fn walked_fields_are_the_regexes_values_on_every_example() {
        let table = Signatures::builtin().unwrap();
        let walked = table.fields.iter().filter(|rule| rule.shape.is_some()).count();
        assert!(walked >= 6, "{walked} field rules are walked");
        let lines: Vec<&[u8]> = table.list.iter().map(|s| s.example.as_bytes()).collect();
        for rule in &table.fields {
            let regex = Regex::new(&rule.pattern).unwrap();
            for line in &lines {
                let want = regex.captures(line).and_then(|c| c.get(1)).map(|m| m.range());
                let got =
                    rule.shape.as_ref().map_or(want.clone(), |shape| match shape.walk(line) {
                        Walk::Value(range) => Some(range),
                        Walk::NoMatch => None,
                        Walk::Unsure => want.clone(),
                    });
                assert_eq!(got, want, "{} on {}", rule.pattern, String::from_utf8_lossy(line));
            }
        }
    }
}
