//! Compiling every redaction pattern costs milliseconds, most of a short command's run, and
//! most text holds no secret at all. Each pattern is therefore compiled the first time a text
//! could match it: one that lacks every string of a set every match holds one of (its gate,
//! compared ignoring ASCII case) cannot. A gate has up to four such sets (`scheme://user:pw@`
//! holds `://` and `@`), so a URL without an `@` does not compile the URL password's pattern.
//! The strings are read with each small class cut to its ASCII part, so a text holding one of
//! the characters beyond ASCII those classes admit (Unicode case folding's `ſ` for `s` and `K`
//! for `k`) goes to the regex; our own `—` and `×` do not.
//!
//! A text is read once for every gate ([`Screen`]), not once a pattern, before the passes run.
//!
//! The gates are read from each pattern's syntax tree ([`required`]) by a test that writes them
//! to `gates.rs`: deriving them at run time parsed every pattern with Unicode case folding, half
//! of a short command's start-up.

use std::sync::OnceLock;

use super::compiled::Compiled;
use aho_corasick::{AhoCorasick, AhoCorasickKind};

#[cfg(test)]
pub(super) mod required;

/// What every match of a pattern holds, as `gates.rs` lists it.
#[derive(Debug)]
pub(super) struct Gate {
    /// Sets of strings, ASCII lower case: every match holds one string of each set. Empty when
    /// nothing is known.
    pub(super) holds: &'static [&'static [&'static str]],
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
    /// Whether the regex builds its own literal prefilter (`compiled.rs`).
    prefilter: bool,
    regex: OnceLock<Option<Compiled>>,
}

impl Pattern {
    /// A pattern whose matches start with one short literal, which the regex looks for
    /// first.
    pub(super) const fn new(gate: &'static Gate, source: fn() -> String) -> Self {
        Pattern { gate, source, prefilter: true, regex: OnceLock::new() }
    }

    /// A pattern whose matches may start with many literals (it folds case, or has many
    /// alternatives): the regex is built without a prefilter of its own (`compiled.rs`).
    pub(super) const fn without_prefilter(gate: &'static Gate, source: fn() -> String) -> Self {
        Pattern { gate, source, prefilter: false, regex: OnceLock::new() }
    }

    /// The regex; `None` when the pattern does not compile (and redaction fails closed).
    pub(super) fn regex(&self) -> Option<&Compiled> {
        self.regex.get_or_init(|| self.compile()).as_ref()
    }

    /// The regex, compiled afresh.
    pub(super) fn compile(&self) -> Option<Compiled> {
        Compiled::new(&(self.source)(), self.prefilter)
    }

    /// The gate it was built with.
    pub(super) fn gate(&self) -> &'static Gate {
        self.gate
    }

    /// The pattern's source, as compiled.
    pub(super) fn source(&self) -> String {
        (self.source)()
    }
}

/// The gates of several patterns in one searcher: a text is read once to learn which patterns
/// it may match, not once per pattern.
#[derive(Debug)]
pub(super) struct Screen {
    gates: Vec<&'static Gate>,
    /// Every gate's strings; `None` when none has any, or they could not be built into a
    /// searcher (then every text may match every pattern).
    searcher: Option<AhoCorasick>,
    /// Per string of the searcher: the index of its gate and the bit of its set.
    owner: Vec<(usize, u8)>,
}

/// Which of a screen's patterns a text may match, one bit each by index; a pattern past the
/// 32nd always may.
#[derive(Debug, Clone, Copy)]
pub(super) struct MayMatch(u32);

impl MayMatch {
    pub(super) fn get(self, index: usize) -> bool {
        bit(index) == 0 || self.0 & bit(index) != 0
    }
}

/// Pattern `index`'s bit; none past the 32nd.
fn bit(index: usize) -> u32 {
    u32::try_from(index).ok().and_then(|i| 1u32.checked_shl(i)).unwrap_or(0)
}

/// The most sets of one gate the screen looks for, one bit each: a set past them is not looked
/// for, and the gate then opens more readily, never less (`gates.rs` has at most four).
const SETS_READ: usize = 8;

/// The bits of a gate's sets, all set: what a text must show to open it.
fn every_set(gate: &Gate) -> u8 {
    (1_u16 << gate.holds.len().min(SETS_READ)).wrapping_sub(1) as u8
}

impl Screen {
    pub(super) fn new(gates: &[&'static Gate]) -> Screen {
        let strings = gates.iter().enumerate().flat_map(|(i, g)| {
            let sets = g.holds.iter().take(SETS_READ).enumerate();
            sets.flat_map(move |(set, strings)| strings.iter().map(move |s| ((i, 1 << set), *s)))
        });
        let (owner, strings): (Vec<(usize, u8)>, Vec<&str>) = strings.unzip();
        // Built once a process and read once a text: the contiguous NFA builds in half the
        // time of a DFA and reads a short text about as fast.
        let kind = Some(AhoCorasickKind::ContiguousNFA);
        let builder =
            AhoCorasick::builder().kind(kind).ascii_case_insensitive(true).build(&strings);
        let searcher = builder.ok();
        Screen { gates: gates.to_vec(), searcher: searcher.filter(|_| !strings.is_empty()), owner }
    }

    /// The patterns `text` may match: those whose gate does not apply to it (no strings, or
    /// a character beyond ASCII they were read without), and those it holds a string of each
    /// set of, ASCII case ignored.
    pub(super) fn may_match(&self, text: &str) -> MayMatch {
        let Some(searcher) = &self.searcher else { return MayMatch(u32::MAX) };
        let all = (0..self.gates.len()).fold(0, |all, index| all | bit(index));
        let ascii = text.is_ascii();
        let mut may = 0;
        for (index, gate) in self.gates.iter().enumerate() {
            if gate.holds.is_empty() || (!ascii && !gate.applies_to(text)) {
                may |= bit(index);
            }
        }
        // The sets seen so far of the first 32 gates (later ones always may).
        let mut seen = [0_u8; 32];
        for found in searcher.find_overlapping_iter(text) {
            if may == all {
                break;
            }
            let (index, set) = self.owner[found.pattern().as_usize()];
            if let Some(seen) = seen.get_mut(index) {
                *seen |= set;
                if *seen == every_set(self.gates[index]) {
                    may |= bit(index);
                }
            }
        }
        MayMatch(may)
    }
}

#[cfg(test)]
impl Pattern {
    /// The first of `texts` the gate would skip although the regex matches in it (each
    /// match, and the whole text).
    pub(super) fn skips_a_match<'t>(&self, texts: &'t [String]) -> Option<&'t str> {
        let regex = regex::Regex::new(&(self.source)()).unwrap_or_else(|e| panic!("{e}"));
        let screen = Screen::new(&[self.gate]);
        let admits = |t: &str| screen.may_match(t).get(0);
        texts.iter().map(String::as_str).find(|text| {
            !regex.find_iter(text).all(|m| admits(m.as_str()))
                || (regex.is_match(text) && !admits(text))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_them_is_not_matched_and_compiles_nothing() {
        static GATE: Gate = Gate { holds: &[&["password="]], beyond_ascii: &[('ſ', 'ſ')] };
        static OTHER: Gate = Gate { holds: &[&["token", "jwt"]], beyond_ascii: &[] };
        static OPEN: Gate = Gate { holds: &[], beyond_ascii: &[] };
        static P: Pattern = Pattern::new(&GATE, || r"(?i)password=(\S+)".to_owned());
        assert_eq!(required::holds(&P.source()).unwrap(), GATE.holds);
        assert_eq!(required::beyond_ascii(&P.source()), GATE.beyond_ascii);
        let screen = Screen::new(&[&GATE, &OTHER]);
        let may = |text: &str| [0, 1].map(|i| screen.may_match(text).get(i));
        assert_eq!(may("read /var/log/empty.log: empty"), [false, false]);
        assert!(P.regex.get().is_none(), "not compiled");
        assert_eq!(may("PassWord=x"), [true, false]);
        assert_eq!(may("a JWT after password=x"), [true, true]);
        // `ſ` folds to `s`: the regex decides.
        assert_eq!(may("paſſword=x"), [true, false]);
        assert!(P.regex().is_some_and(|r| r.captures_at("paſſword=x", 0).is_some()));
        // Other characters beyond ASCII do not hide a string.
        assert_eq!(may("read error.log — 0 B × 2"), [false, false]);
        // A gate without strings lets everything through, as does every gate past the 32nd.
        assert!(Screen::new(&[&GATE, &OPEN]).may_match("nothing").get(1));
        let forty = Screen::new(&[&GATE; 40]).may_match("nothing");
        assert!(!forty.get(31) && forty.get(32) && forty.get(39));
        assert!(Screen::new(&[]).may_match("nothing").get(0));
    }

    #[test]
    fn a_gate_of_several_sets_opens_only_on_one_string_of_each() {
        static URL: Gate = Gate { holds: &[&["://"], &["@"]], beyond_ascii: &[] };
        static PAIR: Gate = Gate { holds: &[&["pass", "key"], &["="]], beyond_ascii: &[] };
        let screen = Screen::new(&[&URL, &PAIR]);
        let may = |text: &str| [0, 1].map(|i| screen.may_match(text).get(i));
        assert_eq!(may("upstream: \"http://10.0.0.12:8080/\""), [false, false]);
        assert_eq!(may("mail me@example.com"), [false, false]);
        assert_eq!(may("http://me:pw@db/"), [true, false]);
        assert_eq!(may("the key is x"), [false, false]);
        assert_eq!(may("x=1 then PASS"), [false, true]);
        assert_eq!(may("https://db/?key=1 by @ops"), [true, true]);
    }
}
