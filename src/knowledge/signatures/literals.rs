//! The literals of the prefilter: for each signature, byte strings one of which every match of
//! its pattern contains (read from the pattern's syntax tree), and one small set for the whole
//! table — at most [`MAX_PREFILTER`], so Aho-Corasick can search with SIMD (Teddy). Pure
//! functions of the patterns, cheap enough to run on every load: no regex is compiled here.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use memchr::memmem;
use regex_syntax::hir::{Hir, HirKind};

use super::ordinary::Ordinary;

/// The shortest literal the prefilter accepts: shorter ones would hit on most lines.
pub const MIN_LITERAL: usize = 4;

/// Aho-Corasick's SIMD (Teddy) search takes at most 64 literals; a few are left spare.
pub const MAX_PREFILTER: usize = 60;

/// Literals such that every match of `pattern` contains at least one of them, or `None` when
/// the pattern has no such set. Of several candidate sets, the one whose shortest literal is
/// longest wins (fewer false hits).
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    best(literal_options(pattern))
}

/// Every usable literal set of `pattern` (each literal at least [`MIN_LITERAL`] bytes), best
/// first.
pub fn literal_options(pattern: &str) -> Vec<Vec<Vec<u8>>> {
    analyse(pattern).options
}

/// What the prefilter needs to know of one pattern, from one parse.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Analysis {
    /// Every usable literal set, best first (see [`literal_options`]).
    pub options: Vec<Vec<Vec<u8>>>,
    /// The pattern is one plain literal: a line holding it matches.
    pub plain: bool,
}

/// Parses `pattern` once for its literal options and whether it is plain. A pattern that does
/// not parse has neither.
pub fn analyse(pattern: &str) -> Analysis {
    let Some(hir) = parse(pattern) else {
        return Analysis::default();
    };
    let all = sets_of_at_least(&hir, MIN_LITERAL);
    let plain = matches!(hir.kind(), HirKind::Literal(_)) && !all.is_empty();
    Analysis { options: all, plain }
}

/// Literals one of which every match of `pattern` holds, however short; empty when it has
/// none. For a field rule's gate, where the regex is the alternative: even a three-byte
/// literal like `]: ` rules out most lines for a memchr-speed search.
pub fn gate_literals(pattern: &str) -> Vec<Vec<u8>> {
    parse(pattern).and_then(|hir| sets_of_at_least(&hir, 1).into_iter().next()).unwrap_or_default()
}

fn parse(pattern: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern).ok()
}

/// Every literal set whose literals are all at least `min` bytes, best first.
fn sets_of_at_least(hir: &Hir, min: usize) -> Vec<Vec<Vec<u8>>> {
    let mut all: Vec<Vec<Vec<u8>>> = options(hir)
        .into_iter()
        .filter(|set| !set.is_empty() && set.iter().all(|l| l.len() >= min))
        .collect();
    all.sort_by_key(|set| Reverse(shortest(set)));
    all
}

/// Every set of literals such that each match holds one literal of the set.
fn options(hir: &Hir) -> Vec<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Literal(lit) => vec![vec![lit.0.to_vec()]],
        HirKind::Capture(cap) => options(&cap.sub),
        HirKind::Repetition(rep) if rep.min >= 1 => options(&rep.sub),
        HirKind::Concat(parts) => parts.iter().flat_map(options).collect(),
        HirKind::Alternation(branches) => {
            let sets: Option<Vec<Vec<Vec<u8>>>> =
                branches.iter().map(|b| best(options(b))).collect();
            sets.map(|sets| vec![sets.into_iter().flatten().collect()]).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// The option whose shortest literal is longest: the fewest false hits.
fn best(options: Vec<Vec<Vec<u8>>>) -> Option<Vec<Vec<u8>>> {
    options.into_iter().max_by_key(|set| shortest(set))
}

fn shortest(set: &[Vec<u8>]) -> usize {
    set.iter().map(Vec::len).min().unwrap_or(0)
}

/// The prefilter of a table: its literals, and for each, the signatures a line holding it may
/// match (ascending, so the first that matches is the one with precedence).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "SelectionText", into = "SelectionText")]
pub struct Selection {
    pub literals: Vec<Vec<u8>>,
    pub by_literal: Vec<Vec<usize>>,
    /// Each signature's own literal set: every match holds one of them. A prefilter literal
    /// may be a part shared by several signatures' literals.
    pub per_signature: Vec<Vec<Vec<u8>>>,
}

/// A selection with its literals as text, as the compiled table holds it (readable, and a
/// quarter the size of byte arrays).
#[derive(serde::Serialize, serde::Deserialize)]
struct SelectionText {
    literals: Vec<String>,
    by_literal: Vec<Vec<usize>>,
    per_signature: Vec<Vec<String>>,
}

impl From<SelectionText> for Selection {
    fn from(text: SelectionText) -> Self {
        Selection {
            literals: text.literals.into_iter().map(String::into_bytes).collect(),
            by_literal: text.by_literal,
            per_signature: text
                .per_signature
                .into_iter()
                .map(|set| set.into_iter().map(String::into_bytes).collect())
                .collect(),
        }
    }
}

impl From<Selection> for SelectionText {
    /// Lossy only for a literal that is not UTF-8, which the test of the compiled copy rules out.
    fn from(selection: Selection) -> Self {
        let text = |l: Vec<u8>| String::from_utf8_lossy(&l).into_owned();
        SelectionText {
            literals: selection.literals.into_iter().map(text).collect(),
            by_literal: selection.by_literal,
            per_signature: selection
                .per_signature
                .into_iter()
                .map(|set| set.into_iter().map(text).collect())
                .collect(),
        }
    }
}

/// Chooses each signature's literal set and the table's prefilter literals. Of a signature's
/// `options`, the one fewest `ordinary` lines hold wins, then the longest (as
/// [`literal_options`] orders them).
pub fn select(options: &[Vec<Vec<Vec<u8>>>], ordinary: &mut Ordinary) -> Selection {
    let ranked: Vec<Vec<Vec<Vec<u8>>>> = options
        .iter()
        .map(|sets| {
            let mut sets = sets.clone();
            sets.sort_by_cached_key(|set| ordinary.worst(set));
            sets
        })
        .collect();
    let per_signature = choose(&ranked);
    let literals = minimal(per_signature.iter().flatten().cloned().collect(), ordinary);
    let by_literal = literals
        .iter()
        .map(|kept| {
            let finder = memmem::Finder::new(kept);
            let holds = |lit: &Vec<u8>| finder.find(lit).is_some();
            (0..options.len()).filter(|&i| per_signature[i].iter().any(holds)).collect()
        })
        .collect();
    Selection { literals, by_literal, per_signature }
}

/// Each signature's literal set. A signature uses a set already chosen for another one when
/// one of its options is covered by it (every literal of the option contains a chosen
/// literal); else its best option. Signatures with the fewest options choose first.
fn choose(options: &[Vec<Vec<Vec<u8>>>]) -> Vec<Vec<Vec<u8>>> {
    let mut order: Vec<usize> = (0..options.len()).collect();
    order.sort_by_key(|&i| options[i].len());
    let mut chosen: Vec<Vec<u8>> = Vec::new();
    let mut sets = vec![Vec::new(); options.len()];
    for i in order {
        let holds = |lit: &Vec<u8>| chosen.iter().any(|c| memmem::find(lit, c).is_some());
        let covered = options[i].iter().find(|set| set.iter().all(holds)).cloned();
        sets[i] = covered.unwrap_or_else(|| {
            let set = options[i].first().cloned().unwrap_or_default();
            chosen.extend(set.iter().cloned());
            set
        });
    }
    sets
}

/// The literals without duplicates and without any that contains another one (a line holding
/// the longer one holds the shorter one too). While there are more than [`MAX_PREFILTER`],
/// two literals are replaced by a common part (at least [`MIN_LITERAL`] bytes), which every
/// line holding either of them holds: the part fewest `ordinary` lines hold, then the longest.
/// (The longest alone is often a phrase every server writes, `No such file or directory`.)
pub fn minimal(literals: Vec<Vec<u8>>, ordinary: &mut Ordinary) -> Vec<Vec<u8>> {
    let mut kept = without_containing(literals);
    if kept.len() <= MAX_PREFILTER {
        return kept;
    }
    let mut pairs = Pairs::new(&kept);
    while kept.len() > MAX_PREFILTER {
        let Some((i, start, len)) = pairs.best(&kept, ordinary) else { break };
        let common = kept[i][start..start + len].to_vec();
        let finder = memmem::Finder::new(&common);
        let gone: Vec<usize> =
            (0..kept.len()).filter(|&k| finder.find(&kept[k]).is_some()).rev().collect();
        for &k in &gone {
            kept.swap_remove(k);
            pairs.swap_remove(k);
        }
        pairs.push(&kept, &common);
        kept.push(common);
    }
    kept.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    kept
}

fn without_containing(mut literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    literals.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    literals.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for lit in literals {
        if !kept.iter().any(|k| memmem::find(&lit, k).is_some()) {
            kept.push(lit);
        }
    }
    kept
}

/// The longest common part of every pair of literals, kept up to date as literals are merged,
/// and cheap to keep: most pairs only ever get an optimistic bound (their shared
/// [`MIN_LITERAL`]-byte grams, held by no ordinary line), and the exact common part is
/// computed only for the pairs whose bound could beat the best one found.
struct Pairs {
    /// `common[i][j]`: the common part of literals `i` and `j`, or a bound on its length.
    common: Vec<Vec<Common>>,
    /// Each literal's grams, sorted, with repeats.
    grams: Vec<Vec<u32>>,
    /// One row of the dynamic programme, reused.
    row: Vec<usize>,
}

/// How good a merge is, best greatest (see [`Common::rank`]).
type Rank = (Reverse<usize>, usize, bool);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Common {
    /// At most this long.
    AtMost(usize),
    /// Starts here in the row's literal (and there in the column's), this long, held by
    /// `hits` ordinary lines.
    Exact { here: usize, there: usize, len: usize, hits: usize },
}

impl Common {
    fn len(self) -> usize {
        match self {
            Common::AtMost(len) | Common::Exact { len, .. } => len,
        }
    }

    /// How good a merge this is, best greatest: fewest ordinary lines first (a bound hopes for
    /// none), then the longest, then exact before a bound.
    fn rank(self) -> Rank {
        match self {
            Common::AtMost(len) => (Reverse(0), len, false),
            Common::Exact { len, hits, .. } => (Reverse(hits), len, true),
        }
    }

    /// The same, seen from the other literal of the pair.
    fn flipped(self) -> Common {
        match self {
            Common::Exact { here, there, len, hits } => {
                Common::Exact { here: there, there: here, len, hits }
            }
            bound @ Common::AtMost(_) => bound,
        }
    }
}

impl Pairs {
    fn new(literals: &[Vec<u8>]) -> Self {
        let mut pairs = Pairs { common: Vec::new(), grams: Vec::new(), row: Vec::new() };
        for (i, lit) in literals.iter().enumerate() {
            pairs.push(&literals[..i], lit);
        }
        pairs
    }

    /// Adds `lit` after `others` (the literals already in the table, in order).
    fn push(&mut self, others: &[Vec<u8>], lit: &[u8]) {
        let grams = grams(lit);
        let mut mine = Vec::with_capacity(others.len() + 1);
        for (j, theirs) in self.grams.iter().enumerate() {
            let bound = Common::AtMost(bound(&grams, theirs));
            mine.push(bound);
            self.common[j].push(bound);
        }
        mine.push(Common::AtMost(0));
        self.common.push(mine);
        self.grams.push(grams);
        debug_assert_eq!(self.common.len(), others.len() + 1);
    }

    /// Drops literal `k`, moving the last one into its place (as `Vec::swap_remove`).
    fn swap_remove(&mut self, k: usize) {
        self.common.swap_remove(k);
        for row in &mut self.common {
            row.swap_remove(k);
        }
        self.grams.swap_remove(k);
    }

    /// The pair with the best common part (see [`Common::rank`]), if one is long enough: the
    /// literal it is in, where it starts there, and its length. Bounds are made exact, best
    /// first, until the best entry is exact.
    fn best(
        &mut self,
        literals: &[Vec<u8>],
        ordinary: &mut Ordinary,
    ) -> Option<(usize, usize, usize)> {
        // Best first; on a tie the first pair in row order, as a scan would find it.
        let mut heap: BinaryHeap<(Rank, Reverse<usize>, Reverse<usize>)> = BinaryHeap::new();
        for (i, row) in self.common.iter().enumerate() {
            for (j, &common) in row[..i].iter().enumerate() {
                if common.len() >= MIN_LITERAL {
                    heap.push((common.rank(), Reverse(i), Reverse(j)));
                }
            }
        }
        while let Some((_, Reverse(i), Reverse(j))) = heap.pop() {
            if let Common::Exact { here, len, .. } = self.common[i][j] {
                return Some((i, here, len));
            }
            let (here, there, len) = longest_common(&literals[i], &literals[j], &mut self.row);
            let hits = ordinary.hits(&literals[i][here..here + len]);
            let exact = Common::Exact { here, there, len, hits };
            self.common[i][j] = exact;
            self.common[j][i] = exact.flipped();
            if len >= MIN_LITERAL {
                heap.push((exact.rank(), Reverse(i), Reverse(j)));
            }
        }
        None
    }
}

/// The [`MIN_LITERAL`]-byte grams of `lit`, sorted, with repeats.
fn grams(lit: &[u8]) -> Vec<u32> {
    let mut grams: Vec<u32> =
        lit.windows(MIN_LITERAL).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    grams.sort_unstable();
    grams
}

/// A bound on the length of the longest common part of two literals, from their grams: a
/// common part of `n` bytes holds `n - 3` grams (counted with repeats) that both literals
/// hold, so `n` is at most the shared grams plus 3 — 0 when they share none.
fn bound(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    if shared == 0 { 0 } else { shared + MIN_LITERAL - 1 }
}

/// The longest byte string both `a` and `b` contain: where it starts in `a`, in `b`, and its
/// length. One row of the classic dynamic programme, kept in `row`.
fn longest_common(a: &[u8], b: &[u8], row: &mut Vec<usize>) -> (usize, usize, usize) {
    row.clear();
    row.resize(b.len() + 1, 0);
    let mut best = (0, 0, 0);
    for (i, &x) in a.iter().enumerate() {
        // Right to left, so row[j] still holds the previous row's value.
        for j in (0..b.len()).rev() {
            let len = if x == b[j] { row[j] + 1 } else { 0 };
            row[j + 1] = len;
            if len > best.2 {
                best = (i + 1 - len, j + 1 - len, len);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lits: &[Vec<u8>]) -> Vec<String> {
        lits.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect()
    }

    #[test]
    fn required_literals_follow_the_regex_structure() {
        let lits = |p: &str| required_literals(p).map(|v| text(&v));
        assert_eq!(lits(r"connect\(\) (?:to \S+ )?failed \(111"), Some(vec!["failed (111".into()]));
        assert_eq!(lits("(?:abcd|efgh): x"), Some(vec!["abcd".into(), "efgh".into()]));
        assert_eq!(lits(r"(?:abcd)?\d+"), None);
        assert_eq!(lits(r"abcd\d+efghij"), Some(vec!["efghij".into()]));
        assert_eq!(lits(r"a\d+bc"), None, "shorter than MIN_LITERAL");
        assert!(analyse(r"connect\(\) failed").plain);
        assert!(!analyse(r"failed \(\d+").plain);
        assert!(!analyse("abc").plain, "too short for the prefilter");
    }

    #[test]
    fn the_longest_common_part_is_found_in_both() {
        let mut row = Vec::new();
        let (a, b) = (b"AH01630: client denied".as_slice(), b"x AH01797: client denied".as_slice());
        let (i, j, len) = longest_common(a, b, &mut row);
        assert_eq!(&a[i..i + len], b": client denied");
        assert_eq!(&b[j..j + len], b": client denied");
        assert_eq!(longest_common(b"abc", b"xyz", &mut row).2, 0);
        assert_eq!(bound(&grams(b"xx: client"), &grams(b": clie")), 6);
        assert_eq!(bound(&grams(b"abcdef"), &grams(b"bcdx")), 0);
        // Repeats count: "abababab" is common to both and holds 5 grams, 2 of them distinct.
        assert!(bound(&grams(b"xabababab"), &grams(b"ababababy")) >= 8);
    }

    #[test]
    fn too_many_literals_are_merged_by_their_common_part() {
        let many: Vec<Vec<u8>> =
            (0..80).map(|i| format!("literal number {i:03} here").into_bytes()).collect();
        let kept = minimal(many.clone(), &mut Ordinary::default());
        assert!(kept.len() <= MAX_PREFILTER, "{}", kept.len());
        for lit in &many {
            assert!(kept.iter().any(|k| memmem::find(lit, k).is_some()), "{lit:?} lost");
        }
        // Unrelated literals cannot be merged: all are kept, however many.
        let unrelated: Vec<Vec<u8>> =
            (0..70_u8).map(|i| vec![b'a' + i % 26, b'A' + i / 26, b'0' + i % 10, b'#']).collect();
        let kept = minimal(unrelated.clone(), &mut Ordinary::default());
        assert_eq!(kept.len(), without_containing(unrelated).len());
    }

    #[test]
    fn merges_avoid_parts_that_ordinary_lines_hold() {
        // 57 unrelated literals and two pairs, one merge to make: one pair shares a long everyday phrase,
        // the other a shorter part no ordinary line holds.
        let mut lits: Vec<Vec<u8>> =
            (0..57_u8).map(|i| vec![b'a' + i % 26, b'A' + i / 26, b'0' + i % 10, b'#']).collect();
        for lit in [
            "(2)No such file or directory: AH02454",
            "failed (2: No such file or directory) while connecting",
            "Server x is DOWN, reason: Layer4",
            "Server y is DOWN, reason: Layer7",
        ] {
            lits.push(lit.as_bytes().to_vec());
        }
        let mut ordinary =
            Ordinary::new([b"open() \"/f\" failed (2: No such file or directory)".as_slice()]);
        let kept = minimal(lits.clone(), &mut ordinary);
        assert_eq!(kept.len(), MAX_PREFILTER);
        assert!(kept.iter().any(|k| k == b" is DOWN, reason: Layer"), "{:?}", text(&kept));
        assert!(!kept.iter().any(|k| k == b"No such file or directory"), "{:?}", text(&kept));
        // Without ordinary lines, the longest part wins.
        let kept = minimal(lits, &mut Ordinary::default());
        assert!(kept.iter().any(|k| k == b"No such file or directory"), "{:?}", text(&kept));
    }

    #[test]
    fn shorter_literals_replace_those_that_contain_them() {
        let lits = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        let some = lits(&["upstream timed out", "timed out", "timed out", "haproxy["]);
        let kept = minimal(some, &mut Ordinary::default());
        assert_eq!(text(&kept), ["haproxy[", "timed out"]);
    }

    #[test]
    fn every_signature_keeps_a_literal_of_its_own() {
        let options: Vec<_> = ["abcd(?:x|y)", "(?:efgh|ijkl)+", "abcdefgh"]
            .iter()
            .map(|p| literal_options(p))
            .collect();
        let selection = select(&options, &mut Ordinary::default());
        assert_eq!(text(&selection.literals), ["abcd", "efgh", "ijkl"]);
        assert_eq!(selection.by_literal, vec![vec![0, 2], vec![1, 2], vec![1]]);
        assert_eq!(text(&selection.per_signature[2]), ["abcdefgh"]);
    }
}
