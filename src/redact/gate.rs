//! Compiling every redaction pattern costs milliseconds, most of a short command's run, and
//! most text holds no secret at all. Each pattern is therefore compiled the first time a text
//! could match it: one that holds none of the strings every match must contain (its gate,
//! compared ignoring ASCII case) cannot. The strings are read with each small class cut to its
//! ASCII part, so a text holding one of the characters beyond ASCII those classes admit (Unicode
//! case folding's `ſ` for `s` and `K` for `k`) goes to the regex; our own `—` and `×` do not.
//!
//! The gates are read from each pattern's syntax tree ([`required`]) by a test that writes them
//! to `gates.rs`: deriving them at run time parsed every pattern with Unicode case folding, half
//! of a short command's start-up.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::Regex;

#[cfg(test)]
pub(super) mod required;

/// What every match of a pattern holds, as `gates.rs` lists it.
#[derive(Debug)]
pub(super) struct Gate {
    /// The strings one of which every match holds, ASCII lower case; empty when there are none.
    pub(super) holds: &'static [&'static str],
    /// Characters beyond ASCII the pattern's classes admit where `holds` reads only their ASCII
    /// part: a text holding one of them goes to the regex.
    pub(super) beyond_ascii: &'static [(char, char)],
}

impl Gate {
    /// Whether the gate tells about `text`: its characters beyond ASCII are none of those the
    /// strings were read without.
    fn applies_to(&self, text: &str) -> bool {
        let admitted = |c: char| self.beyond_ascii.iter().any(|&(lo, hi)| (lo..=hi).contains(&c));
        text.is_ascii() || !text.chars().any(|c| !c.is_ascii() && admitted(c))
    }
}

/// A pattern compiled on first need.
#[derive(Debug)]
pub(super) struct Pattern {
    gate: &'static Gate,
    source: fn() -> String,
    needles: OnceLock<Option<AhoCorasick>>,
    regex: OnceLock<Option<Regex>>,
}

impl Pattern {
    pub(super) const fn new(gate: &'static Gate, source: fn() -> String) -> Self {
        Pattern { gate, source, needles: OnceLock::new(), regex: OnceLock::new() }
    }

    /// Whether `text` holds none of the strings every match holds (so the regex need not run,
    /// nor be compiled).
    pub(super) fn cannot_match(&self, text: &str) -> bool {
        let needles = self.needles.get_or_init(|| needles(self.gate.holds));
        self.gate.applies_to(text) && needles.as_ref().is_some_and(|n| !n.is_match(text))
    }

    /// The regex; `None` when the pattern does not compile (and redaction fails closed).
    pub(super) fn regex(&self) -> Option<&Regex> {
        self.regex.get_or_init(|| Regex::new(&(self.source)()).ok()).as_ref()
    }
}

impl Pattern {
    /// The pattern's source, as compiled.
    pub(super) fn source(&self) -> String {
        (self.source)()
    }
}

#[cfg(test)]
impl Pattern {
    /// The gate it was built with.
    pub(super) fn gate(&self) -> &'static Gate {
        self.gate
    }

    /// The first of `texts` the gate would skip although the regex matches in it (each
    /// match, and the whole text).
    pub(super) fn skips_a_match<'t>(&self, texts: &'t [String]) -> Option<&'t str> {
        let regex = Regex::new(&(self.source)()).unwrap_or_else(|e| panic!("{e}"));
        let needles = needles(self.gate.holds);
        let admits =
            |t: &str| !self.gate.applies_to(t) || needles.as_ref().is_none_or(|n| n.is_match(t));
        texts.iter().map(String::as_str).find(|text| {
            !regex.find_iter(text).all(|m| admits(m.as_str()))
                || (regex.is_match(text) && !admits(text))
        })
    }
}

/// The gate's strings as a case-insensitive searcher; `None` for a pattern without a gate.
fn needles(holds: &[&str]) -> Option<AhoCorasick> {
    if holds.is_empty() {
        return None;
    }
    // Searched once per text, over short texts: the automaton cheapest to build will do.
    let kind = Some(AhoCorasickKind::NoncontiguousNFA);
    AhoCorasick::builder().kind(kind).ascii_case_insensitive(true).build(holds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_them_is_not_matched_and_compiles_nothing() {
        static GATE: Gate = Gate { holds: &["password="], beyond_ascii: &[('ſ', 'ſ')] };
        static P: Pattern = Pattern::new(&GATE, || r"(?i)password=(\S+)".to_owned());
        assert_eq!(required::holds(&P.source()).unwrap(), GATE.holds);
        assert_eq!(required::beyond_ascii(&P.source()), GATE.beyond_ascii);
        assert!(P.cannot_match("read /var/log/empty.log: empty"));
        assert!(P.regex.get().is_none(), "not compiled");
        assert!(!P.cannot_match("PassWord=x"));
        // `ſ` folds to `s`: the regex decides.
        assert!(!P.cannot_match("paſſword=x"));
        assert!(P.regex().is_some_and(|r| r.is_match("paſſword=x")));
        // Other characters beyond ASCII do not hide a string.
        assert!(P.cannot_match("read error.log — 0 B × 2"));
    }
}
