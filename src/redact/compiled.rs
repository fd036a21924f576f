//! A redaction pattern compiled the way its first text needs it: `regex_automata`'s meta
//! regex, which is what `regex::Regex` wraps, with one difference in how it is built.
//!
//! The regex crate also builds a literal prefilter, from the literals a match may start
//! with. That helps a pattern that starts with one short literal (`(`, `://`, `?`): the
//! search jumps to it. Where a match may start with many (the pattern folds case, which
//! multiplies them, or has dozens of alternatives), extracting them was more than half of the
//! compile and no search was faster for the prefilter that came out (docs/benchmarks.md, ninth
//! session); our gates (`gate.rs`) have already sent away the texts that cannot match. Those
//! patterns are built without it ([`super::gate::Pattern::without_prefilter`]). Which engine
//! searches never changes what matches (`tests::both_builds_capture_the_same`).

use std::ops::Range;

use regex_automata::meta::{self, Regex};
use regex_automata::util::captures::Captures as Groups;
use regex_automata::{Input, PatternID};

/// A compiled pattern.
#[derive(Debug)]
pub(super) struct Compiled {
    regex: Regex,
    /// The groups whose names start with `s`: the secrets `mask_groups` masks, found once.
    secret_groups: Vec<usize>,
}

impl Compiled {
    /// `None` when `source` does not compile (redaction then fails closed).
    pub(super) fn new(source: &str, prefilter: bool) -> Option<Self> {
        let config = meta::Config::new().auto_prefilter(prefilter);
        let regex = Regex::builder().configure(config).build(source).ok()?;
        let names = regex.group_info().pattern_names(PatternID::ZERO).enumerate();
        let secret_groups = names
            .filter(|(_, name)| name.is_some_and(|n| n.starts_with('s')))
            .map(|(index, _)| index)
            .collect();
        Some(Compiled { regex, secret_groups })
    }

    /// The indexes of the groups whose names start with `s`.
    pub(super) fn secret_groups(&self) -> &[usize] {
        &self.secret_groups
    }

    /// The first match at or after byte `at`, with its groups.
    pub(super) fn captures_at<'t>(&self, text: &'t str, at: usize) -> Option<Captures<'t>> {
        let mut groups = self.regex.create_captures();
        let input = Input::new(text).span(at.min(text.len())..text.len());
        self.regex.search_captures(&input, &mut groups);
        groups.is_match().then_some(Captures { text, groups })
    }

    /// Every match, left to right, with its groups.
    pub(super) fn captures_iter<'r, 't>(
        &'r self,
        text: &'t str,
    ) -> impl Iterator<Item = Captures<'t>> + 'r
    where
        't: 'r,
    {
        self.regex.captures_iter(text).map(move |groups| Captures { text, groups })
    }
}

#[cfg(test)]
impl Compiled {
    /// Each group's name, by index (`None` for an unnamed group).
    pub(super) fn capture_names(&self) -> impl Iterator<Item = Option<&str>> {
        self.regex.group_info().pattern_names(PatternID::ZERO)
    }
}

/// One match and its groups, as `regex::Captures` gives them.
#[derive(Debug)]
pub(super) struct Captures<'t> {
    text: &'t str,
    groups: Groups,
}

impl<'t> Captures<'t> {
    /// Group `index` (0: the whole match), when it took part in the match.
    pub(super) fn get(&self, index: usize) -> Option<Match<'t>> {
        self.groups.get_group(index).map(|span| Match { text: self.text, span: span.range() })
    }

    /// The group called `name`, when it took part in the match.
    pub(super) fn name(&self, name: &str) -> Option<Match<'t>> {
        let span = self.groups.get_group_by_name(name)?;
        Some(Match { text: self.text, span: span.range() })
    }
}

/// Where a group matched in the text.
#[derive(Debug, Clone)]
pub(super) struct Match<'t> {
    text: &'t str,
    span: Range<usize>,
}

impl<'t> Match<'t> {
    pub(super) fn start(&self) -> usize {
        self.span.start
    }

    pub(super) fn end(&self) -> usize {
        self.span.end
    }

    pub(super) fn range(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The matched text. A pattern of Unicode mode matches only whole characters, so the
    /// span falls on character boundaries, as `regex::Match::as_str` relies on too.
    pub(super) fn as_str(&self) -> &'t str {
        &self.text[self.span.clone()]
    }
}
