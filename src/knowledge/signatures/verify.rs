//! Telling a candidate line apart: which signatures a prefilter literal may belong to, each
//! signature's own literals around it (a byte comparison rules most candidates out, far
//! cheaper than a search or the regex), and the patterns: walked by hand where they have a
//! literal-run-literal [`Shape`], else (and at a non-ASCII byte in a run) by the regex,
//! compiled on first use. Pure matching; no IO.

use std::sync::OnceLock;

use memchr::memmem::Finder;
use regex::bytes::Regex;

use super::Signature;
use super::literals::Selection;
use super::shape::Shape;

/// What confirms a candidate line, per prefilter literal and per signature.
#[derive(Debug)]
pub(super) struct Verify {
    /// For each prefilter literal, the signatures a line holding it may match, ascending.
    by_literal: Vec<Vec<Candidate>>,
    /// For each prefilter literal, the first signature it may match.
    first_of: Vec<usize>,
    /// The prefilter literals by `first_of`, ascending.
    by_first: Vec<usize>,
    /// Each prefilter literal, to tell whether it occurs again further on in a line.
    again: Vec<Finder<'static>>,
    /// The signatures whose pattern is one plain literal: holding it is matching.
    plain: Vec<bool>,
    /// How each pattern is confirmed, made on first use.
    confirm: Vec<Confirm>,
}

/// How a line is held to one pattern: its shape, read from the pattern the first time a line
/// needs it (much cheaper than compiling, and start-up reads no pattern), and the regex,
/// compiled only for a pattern without a shape or a run the walk cannot take (`None` if it does
/// not compile, which the strict load of the built-in table in the tests rules out).
#[derive(Debug, Default)]
struct Confirm {
    shape: OnceLock<Option<Shape>>,
    regex: OnceLock<Option<Regex>>,
}

/// A signature a prefilter literal may belong to, with its own literals that hold it.
#[derive(Debug)]
struct Candidate {
    signature: usize,
    /// Each own literal holding the prefilter literal, and where it holds it.
    around: Vec<(Finder<'static>, usize)>,
}

impl Candidate {
    /// Whether one of the signature's own literals lies around the prefilter literal found at
    /// `at`.
    fn around(&self, line: &[u8], at: usize) -> bool {
        self.around.iter().any(|(own, offset)| {
            at.checked_sub(*offset).is_some_and(|start| line[start..].starts_with(own.needle()))
        })
    }

    /// Whether one of the signature's own literals holding the prefilter literal is anywhere
    /// in `line`.
    fn anywhere(&self, line: &[u8]) -> bool {
        self.around.iter().any(|(own, _)| own.find(line).is_some())
    }
}

impl Verify {
    pub(super) fn new(selection: &Selection, plain: Vec<bool>) -> Self {
        let by_literal: Vec<Vec<Candidate>> = selection
            .literals
            .iter()
            .zip(&selection.by_literal)
            .map(|(literal, signatures)| {
                signatures.iter().map(|&i| candidate(literal, i, selection)).collect()
            })
            .collect();
        let first_of: Vec<usize> = by_literal
            .iter()
            .map(|candidates| candidates.first().map_or(usize::MAX, |c| c.signature))
            .collect();
        let mut by_first: Vec<usize> = (0..first_of.len()).collect();
        by_first.sort_by_key(|&l| first_of[l]);
        let again = selection.literals.iter().map(|l| Finder::new(l).into_owned()).collect();
        let confirm = plain.iter().map(|_| Confirm::default()).collect();
        Verify { by_literal, first_of, by_first, again, plain, confirm }
    }

    /// For each prefilter literal, the signatures it may belong to.
    #[cfg(test)]
    pub(super) fn signatures_by_literal(&self) -> Vec<Vec<usize>> {
        self.by_literal.iter().map(|c| c.iter().map(|c| c.signature).collect()).collect()
    }

    /// Whether any pattern has been compiled yet.
    #[cfg(test)]
    pub(super) fn compiled_any(&self) -> bool {
        self.confirm.iter().any(|c| c.shape.get().is_some() || c.regex.get().is_some())
    }

    /// The first signature below `best` among those prefilter literal `literal` (found at
    /// `at`) may belong to that matches `line`.
    pub(super) fn first_in(
        &self,
        list: &[Signature],
        literal: usize,
        at: usize,
        line: &[u8],
        best: Option<usize>,
    ) -> Option<usize> {
        // Whether the literal occurs again after `at`: only then can a signature's own literal
        // be elsewhere in the line. Asked once, and only if some candidate is not around `at`.
        let mut again: Option<bool> = None;
        for candidate in &self.by_literal[literal] {
            let i = candidate.signature;
            if best.is_some_and(|b| i >= b) {
                break;
            }
            let holds = candidate.around(line, at)
                || (*again.get_or_insert_with(|| self.occurs_after(literal, at, line))
                    && candidate.anywhere(line));
            if holds && (self.plain[i] || self.matches(list, i, line)) {
                return Some(i);
            }
        }
        best
    }

    fn occurs_after(&self, literal: usize, at: usize, line: &[u8]) -> bool {
        line.get(at + 1..).is_some_and(|rest| self.again[literal].find(rest).is_some())
    }

    /// How many prefilter literals may name a signature before `limit`.
    pub(super) fn improvers(&self, limit: usize) -> usize {
        self.by_first.partition_point(|&l| self.first_of[l] < limit)
    }

    /// The first signature that matches `line`, given `best` from the literal `first` found
    /// first (at byte `at`): every other literal that may name an earlier signature, in the
    /// order of the first it may name, is looked for after `at` and tried where it first
    /// occurs, as a walk through the line's literals in order would try it.
    pub(super) fn improve(
        &self,
        list: &[Signature],
        line: &[u8],
        (first, at): (usize, usize),
        mut best: Option<usize>,
    ) -> Option<usize> {
        let rest = line.get(at + 1..).unwrap_or_default();
        for &literal in &self.by_first {
            if self.first_of[literal] >= best.unwrap_or(list.len()) {
                break;
            }
            if literal == first {
                continue;
            }
            if let Some(found) = self.again[literal].find(rest) {
                best = self.first_in(list, literal, at + 1 + found, line, best);
            }
        }
        best
    }

    /// Whether a literal not yet seen in the line may name a signature before `limit`.
    pub(super) fn could_improve(&self, limit: usize, seen: &Seen) -> bool {
        self.by_first.iter().take_while(|&&l| self.first_of[l] < limit).any(|&l| !seen.contains(l))
    }

    /// Whether signature `i`'s pattern matches `line`.
    fn matches(&self, list: &[Signature], i: usize, line: &[u8]) -> bool {
        let confirm = &self.confirm[i];
        let pattern = &list[i].pattern;
        let shape = confirm.shape.get_or_init(|| Shape::of_signature(pattern));
        if let Some(sure) = shape.as_ref().and_then(|shape| shape.matches(line)) {
            return sure;
        }
        let regex = confirm.regex.get_or_init(|| Regex::new(pattern).ok());
        regex.as_ref().is_some_and(|r| r.is_match(line))
    }
}

/// Signature `i` as a candidate of prefilter literal `literal`: its own literals holding it,
/// with every place they hold it.
fn candidate(literal: &[u8], i: usize, selection: &Selection) -> Candidate {
    let finder = Finder::new(literal);
    let around = selection.per_signature[i]
        .iter()
        .flat_map(|own| {
            let own_finder = Finder::new(own).into_owned();
            finder.find_iter(own).map(move |offset| (own_finder.clone(), offset))
        })
        .collect();
    Candidate { signature: i, around }
}

/// The prefilter literals already handled in one line: a bit each for the first 256 (the
/// prefilter holds at most 64 when Teddy applies); others are never marked, which only means
/// they are looked at again.
#[derive(Debug, Default)]
pub(super) struct Seen([u64; 4]);

impl Seen {
    /// Marks `literal`; false when it was marked already.
    pub(super) fn insert(&mut self, literal: usize) -> bool {
        let Some(word) = self.0.get_mut(literal / 64) else { return true };
        let bit = 1 << (literal % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }

    fn contains(&self, literal: usize) -> bool {
        self.0.get(literal / 64).is_some_and(|word| word & (1 << (literal % 64)) != 0)
    }
}
