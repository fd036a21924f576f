//! Compiling every redaction pattern costs milliseconds, most of a short command's run, and
//! most text holds no secret at all. Each pattern is therefore compiled the first time a text
//! could match it: one that holds none of the strings every match must contain (its gate,
//! compared ignoring ASCII case) cannot. Text that is not ASCII always goes to the regex:
//! Unicode case folding (`K` for `k`, `ſ` for `s`) is not followed here.
//!
//! The gates are read from each pattern's syntax tree ([`required`]) by a test that writes them
//! to `gates.rs`: deriving them at run time parsed every pattern with Unicode case folding, half
//! of a short command's start-up.

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use regex::Regex;

#[cfg(test)]
pub(super) mod required;

/// A pattern compiled on first need.
#[derive(Debug)]
pub(super) struct Pattern {
    /// The strings one of which every match holds, ASCII lower case; empty when there are none.
    holds: &'static [&'static str],
    source: fn() -> String,
    gate: OnceLock<Option<AhoCorasick>>,
    regex: OnceLock<Option<Regex>>,
}

impl Pattern {
    pub(super) const fn new(holds: &'static [&'static str], source: fn() -> String) -> Self {
        Pattern { holds, source, gate: OnceLock::new(), regex: OnceLock::new() }
    }

    /// Whether `text` holds none of the strings every match holds (so the regex need not run,
    /// nor be compiled).
    pub(super) fn cannot_match(&self, text: &str) -> bool {
        let gate = self.gate.get_or_init(|| gate(self.holds));
        text.is_ascii() && gate.as_ref().is_some_and(|needles| !needles.is_match(text))
    }

    /// The regex; `None` when the pattern does not compile (and redaction fails closed).
    pub(super) fn regex(&self) -> Option<&Regex> {
        self.regex.get_or_init(|| Regex::new(&(self.source)()).ok()).as_ref()
    }
}

#[cfg(test)]
impl Pattern {
    /// The pattern's source, as compiled.
    pub(super) fn source(&self) -> String {
        (self.source)()
    }

    /// The gate it was built with.
    pub(super) fn holds(&self) -> &'static [&'static str] {
        self.holds
    }

    /// The first of `texts` the gate would skip although the regex matches in it (each
    /// match, and the whole text).
    pub(super) fn skips_a_match<'t>(&self, texts: &'t [String]) -> Option<&'t str> {
        let regex = Regex::new(&(self.source)()).unwrap_or_else(|e| panic!("{e}"));
        let gate = gate(self.holds);
        let admits = |t: &str| !t.is_ascii() || gate.as_ref().is_none_or(|g| g.is_match(t));
        texts.iter().map(String::as_str).find(|text| {
            !regex.find_iter(text).all(|m| admits(m.as_str()))
                || (regex.is_match(text) && !admits(text))
        })
    }
}

/// The gate's strings as a case-insensitive searcher; `None` for a pattern without a gate.
fn gate(holds: &[&str]) -> Option<AhoCorasick> {
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
        static P: Pattern = Pattern::new(&["password="], || r"(?i)password=(\S+)".to_owned());
        assert_eq!(required::holds(&P.source()).unwrap(), P.holds());
        assert!(P.cannot_match("read /var/log/empty.log: empty"));
        assert!(P.regex.get().is_none(), "not compiled");
        assert!(!P.cannot_match("PassWord=x"));
        // Not ASCII: the regex decides (`ſ` folds to `s`).
        assert!(!P.cannot_match("paſſword=x"));
        assert!(P.regex().is_some_and(|r| r.is_match("paſſword=x")));
    }
}
