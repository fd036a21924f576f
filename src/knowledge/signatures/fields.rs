//! Fields a matching line may carry about where it came from (nginx's `server:` and `host:`,
//! the `upstream:` it tried, a PHP-FPM `[pool …]`, an HAProxy backend), so the line can be
//! attributed to a hop of the request path rather than to the whole machine. Each rule's
//! pattern is compiled on first use, as the signatures' are.

use std::ops::Range;
use std::sync::OnceLock;

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
    /// the whitespace around it.
    fn value(&self, line: &[u8]) -> Option<Range<usize>> {
        let range = match self.shape.as_ref().map(|shape| shape.walk(line)) {
            Some(Walk::Value(range)) => range,
            Some(Walk::NoMatch) => return None,
            Some(Walk::Unsure) | None => self.by_regex(line)?,
        };
        let bounded = range.start..range.end.min(range.start + MAX_VALUE);
        Some(trimmed(line, bounded))
    }

    /// Where the regex's first group is in `line`.
    fn by_regex(&self, line: &[u8]) -> Option<Range<usize>> {
        if !self.literals.is_empty() && !self.literals.iter().any(|l| l.find(line).is_some()) {
            return None;
        }
        let regex = self.regex.get_or_init(|| Regex::new(&self.pattern).ok()).as_ref()?;
        Some(regex.captures(line)?.get(1)?.range())
    }
}

/// The fields `line` carries, each name once, into `found` (emptied first): each as the index
/// of the rule that took it (the first in table order to find its name) and where its value
/// is in the line. Allocates nothing once `found` has grown: it runs on every matching line.
pub fn fields_in(rules: &[FieldRule], line: &[u8], found: &mut Vec<(usize, Range<usize>)>) {
    found.clear();
    for (index, rule) in rules.iter().enumerate() {
        if found.iter().any(|(taken, _)| rules[*taken].name == rule.name) {
            continue;
        }
        if let Some(value) = rule.value(line) {
            found.push((index, value));
        }
    }
}

/// A value as it is shown: lossily decoded, without the whitespace around it.
pub fn value_text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).trim().to_owned()
}

/// `range` of `line` without the whitespace around it: what [`value_text`] keeps, so two
/// values are shown alike when their trimmed bytes are alike.
fn trimmed(line: &[u8], range: Range<usize>) -> Range<usize> {
    let value = &line[range.clone()];
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
