//! The log-signature table (`assets/log-signatures.yaml`): which lines name which layer and
//! cause. Loaded in two stages like the diagnosis rules — raw serde types, then validated
//! [`Signatures`] with compiled regexes and the literal prefilter — through the strict YAML
//! loader, so a mistake names its line and column. It only loads and checks; scanning is
//! `scan`.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use regex::bytes::{Regex, RegexSet};
use regex_syntax::hir::{Hir, HirKind};
use serde::Deserialize;

use crate::layer::Layer;
use crate::yaml::{self, At, Level, LoadFailure, Pos, Problem, SourceError, Text};

/// The shortest literal the prefilter accepts: shorter ones would hit on most lines.
pub const MIN_LITERAL: usize = 4;

/// The largest compiled regex accepted per signature (the regex crate's own size limit).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// One validated signature.
#[derive(Debug, Clone)]
pub struct Signature {
    pub id: String,
    pub title: String,
    pub layer: Layer,
    /// `None` for lines worth reporting that explain nothing by themselves.
    pub cause: Option<String>,
    pub step: String,
    pub pattern: String,
    /// Matches lines a more specific signature above it claims.
    pub general: bool,
    pub example: String,
    pub source: String,
}

/// A field a matching line may carry about where it came from (nginx's `server:` and `host:`,
/// the `upstream:` it tried, a PHP-FPM `[pool …]`, an HAProxy backend), so the line can be
/// attributed to a hop of the request path rather than to the whole machine.
#[derive(Debug, Clone)]
pub struct FieldRule {
    pub name: String,
    /// Its first capture group is the value.
    pub regex: Regex,
}

/// The validated table, compiled for scanning.
#[derive(Debug, Clone)]
pub struct Signatures {
    /// In precedence order: a line counts for the first signature that matches it.
    pub list: Vec<Signature>,
    /// Applied to matching lines only, in table order; the first rule to find a name wins.
    pub fields: Vec<FieldRule>,
    /// All patterns, in the order of `list`.
    pub set: RegexSet,
    /// The literals every match contains, for all signatures; a line without one of them
    /// matches no signature. Leftmost-first, so Aho-Corasick can use its SIMD (Teddy) search
    /// over whole blocks.
    pub prefilter: AhoCorasick,
    /// The same literals with standard semantics, for finding all of them in one line.
    in_line: AhoCorasick,
    /// Each pattern alone, in the order of `list`.
    regexes: Vec<Regex>,
    /// For each prefilter literal, the signatures a line holding it may match.
    by_literal: Vec<Vec<usize>>,
}

const BUILTIN: &str = include_str!("../../assets/log-signatures.yaml");
const BUILTIN_ORIGIN: &str = "builtin:assets/log-signatures.yaml";

impl Signatures {
    /// The table shipped in the binary.
    pub fn builtin() -> Result<Signatures, LoadFailure> {
        Signatures::load_str(BUILTIN_ORIGIN, BUILTIN)
    }

    /// Loads and validates a table; errors name `origin:line:col`.
    pub fn load_str(origin: &str, text: &str) -> Result<Signatures, LoadFailure> {
        let raw: RawTable = yaml::from_str(origin, text).map_err(|error| invalid(vec![error]))?;
        let mut errors = Vec::new();
        let mut options = Vec::new();
        let mut ids = HashMap::new();
        for sig in &raw.signatures {
            options.push(check_one(sig, &mut ids, &mut |pos, message| {
                errors.push(SourceError::at(origin, text, pos.line, pos.column, message));
            }));
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(invalid(errors));
        }
        let fields = raw.fields.iter().filter_map(|f| field_rule(f, &mut errors, origin, text));
        let fields: Vec<FieldRule> = fields.collect();
        if !errors.is_empty() {
            return Err(invalid(errors));
        }
        let list: Vec<Signature> = raw.signatures.into_iter().map(build).collect();
        let per_signature = choose(&options);
        let literals = minimal(per_signature.iter().flatten().cloned().collect());
        let by_literal = literals
            .iter()
            .map(|kept| {
                let holds = |lit: &Vec<u8>| memchr::memmem::find(lit, kept).is_some();
                (0..list.len()).filter(|&i| per_signature[i].iter().any(holds)).collect()
            })
            .collect();
        let regexes = list.iter().filter_map(|s| Regex::new(&s.pattern).ok()).collect();
        let whole = |message: String| invalid(vec![SourceError::whole_file(origin, message)]);
        let set = regex::bytes::RegexSetBuilder::new(list.iter().map(|s| s.pattern.as_str()))
            .size_limit(REGEX_SIZE_LIMIT * list.len().max(1))
            .build()
            .map_err(|e| whole(format!("the patterns do not compile together: {e}")))?;
        let build = |kind| AhoCorasick::builder().match_kind(kind).build(&literals);
        let prefilter = build(MatchKind::LeftmostFirst)
            .map_err(|e| whole(format!("the prefilter literals do not compile: {e}")))?;
        let in_line = build(MatchKind::Standard)
            .map_err(|e| whole(format!("the prefilter literals do not compile: {e}")))?;
        Ok(Signatures { list, fields, set, prefilter, in_line, regexes, by_literal })
    }

    /// The fields a line carries, each name once (the first rule that finds it wins), values
    /// bounded to 200 bytes and lossily decoded.
    pub fn fields_of(&self, line: &[u8]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for rule in &self.fields {
            if out.iter().any(|(name, _)| *name == rule.name) {
                continue;
            }
            if let Some(value) = rule.regex.captures(line).and_then(|c| c.get(1)) {
                let value = &value.as_bytes()[..value.len().min(200)];
                out.push((rule.name.clone(), String::from_utf8_lossy(value).trim().to_owned()));
            }
        }
        out
    }

    /// The first signature (in table order) that matches `line`, by index into `list`. Only
    /// the signatures whose literals the line holds are tried, each with its own regex.
    pub fn classify(&self, line: &[u8]) -> Option<usize> {
        let mut best: Option<usize> = None;
        for hit in self.in_line.find_overlapping_iter(line) {
            for &i in &self.by_literal[hit.pattern().as_usize()] {
                if best.is_none_or(|b| i < b) && self.regexes[i].is_match(line) {
                    best = Some(i);
                }
            }
        }
        best
    }

    pub fn get(&self, id: &str) -> Option<&Signature> {
        self.list.iter().find(|s| s.id == id)
    }
}

fn invalid(errors: Vec<SourceError>) -> LoadFailure {
    LoadFailure::Invalid(
        errors.into_iter().map(|error| Problem { level: Level::Error, error }).collect(),
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    #[serde(default)]
    fields: Vec<RawField>,
    signatures: Vec<RawSignature>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: Text,
    pattern: Text,
    /// A real line the pattern takes the value from, and the value it must take.
    example: Text,
    value: Text,
    source: Text,
}

/// A field rule whose pattern compiles, has a capture group and takes `value` from `example`.
fn field_rule(
    raw: &RawField,
    errors: &mut Vec<SourceError>,
    origin: &str,
    text: &str,
) -> Option<FieldRule> {
    let mut error = |pos: Pos, message: String| {
        errors.push(SourceError::at(origin, text, pos.line, pos.column, message));
    };
    if !is_snake_case(&raw.name.value) {
        error(raw.name.pos, format!("field `{}` must be snake_case", raw.name.value));
    }
    if raw.source.value.trim().is_empty() {
        error(raw.source.pos, "`source` must not be empty".to_owned());
    }
    let regex = match Regex::new(&raw.pattern.value) {
        Ok(regex) if regex.captures_len() > 1 => regex,
        Ok(_) => {
            error(raw.pattern.pos, "a field pattern needs a capture group for the value".into());
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
        error(
            raw.example.pos,
            format!("the pattern does not take `{}` from the example", raw.value.value),
        );
    }
    Some(FieldRule { name: raw.name.value.clone(), regex })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignature {
    id: Text,
    title: Text,
    layer: At<Layer>,
    cause: Option<Text>,
    step: Text,
    pattern: Text,
    #[serde(default)]
    general: bool,
    example: Text,
    source: Text,
}

/// Every rule for one signature; returns the literal options of a valid pattern.
fn check_one(
    sig: &RawSignature,
    ids: &mut HashMap<String, u32>,
    error: &mut impl FnMut(Pos, String),
) -> Vec<Vec<Vec<u8>>> {
    let id = &sig.id.value;
    if !is_snake_case(id) {
        error(sig.id.pos, format!("id `{id}` must be snake_case (a-z, 0-9, _)"));
    }
    if let Some(line) = ids.insert(id.clone(), sig.id.pos.line) {
        error(sig.id.pos, format!("duplicate signature `{id}`: already at line {line}"));
    }
    if let Some(cause) = sig.cause.as_ref().filter(|c| !is_snake_case(&c.value)) {
        error(cause.pos, format!("cause `{}` must be a snake_case cause id", cause.value));
    }
    for (field, text) in [("title", &sig.title), ("source", &sig.source), ("step", &sig.step)] {
        if text.value.trim().is_empty() {
            error(text.pos, format!("`{field}` must not be empty"));
        }
    }
    check_pattern(sig, error)
}

/// The pattern compiles, matches the example and holds a literal for the prefilter; returns
/// its literal options.
fn check_pattern(sig: &RawSignature, error: &mut impl FnMut(Pos, String)) -> Vec<Vec<Vec<u8>>> {
    let regex = match Regex::new(&sig.pattern.value) {
        Ok(regex) => regex,
        Err(e) => {
            let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
            error(sig.pattern.pos, format!("the pattern does not compile: {first}"));
            return Vec::new();
        }
    };
    if !regex.is_match(sig.example.value.as_bytes()) {
        let id = &sig.id.value;
        error(sig.example.pos, format!("the example does not match the pattern of `{id}`"));
    }
    let options = literal_options(&sig.pattern.value);
    if options.is_empty() {
        error(
            sig.pattern.pos,
            format!(
                "the pattern needs a literal of at least {MIN_LITERAL} bytes that every match \
                 contains (the scanner's prefilter); e.g. write `upstream timed out` as text, \
                 not inside a group that may be skipped"
            ),
        );
    }
    options
}

/// Aho-Corasick's SIMD (Teddy) search takes at most 64 literals; a few are left spare.
const MAX_PREFILTER: usize = 60;

/// The literals without duplicates and without any that contains another one (a line holding
/// the longer one holds the shorter one too, so the prefilter needs only the shorter). While
/// there are more than [`MAX_PREFILTER`], the two literals with the longest common part are
/// replaced by that part, which every line holding either of them holds.
fn minimal(literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut kept = without_containing(literals);
    while kept.len() > MAX_PREFILTER {
        let mut merge: Option<(usize, usize, Vec<u8>)> = None;
        for i in 0..kept.len() {
            for j in i + 1..kept.len() {
                let common = longest_common(&kept[i], &kept[j]);
                if common.len() >= MIN_LITERAL
                    && merge.as_ref().is_none_or(|m| common.len() > m.2.len())
                {
                    merge = Some((i, j, common.to_vec()));
                }
            }
        }
        let Some((_, j, common)) = merge else { break };
        let i = merge_index(&kept, &common, j);
        kept[i] = common;
        kept.remove(j);
        kept = without_containing(kept);
    }
    kept
}

/// The first literal that holds `common`, other than `j`.
fn merge_index(kept: &[Vec<u8>], common: &[u8], j: usize) -> usize {
    (0..kept.len())
        .find(|&i| i != j && memchr::memmem::find(&kept[i], common).is_some())
        .unwrap_or(0)
}

fn without_containing(mut literals: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    literals.sort_by_key(Vec::len);
    literals.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for lit in literals {
        if !kept.iter().any(|k| memchr::memmem::find(&lit, k).is_some()) {
            kept.push(lit);
        }
    }
    kept
}

/// The longest byte string both `a` and `b` contain.
fn longest_common<'a>(a: &'a [u8], b: &[u8]) -> &'a [u8] {
    let mut best = (0, 0);
    let mut prev = vec![0_usize; b.len() + 1];
    for (i, &x) in a.iter().enumerate() {
        let mut row = vec![0_usize; b.len() + 1];
        for (j, &y) in b.iter().enumerate() {
            if x == y {
                row[j + 1] = prev[j] + 1;
                if row[j + 1] > best.1 {
                    best = (i + 1 - row[j + 1], row[j + 1]);
                }
            }
        }
        prev = row;
    }
    &a[best.0..best.0 + best.1]
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Literals such that every match of `pattern` contains at least one of them, or `None` when
/// the pattern has no such set. Of several candidate sets, the one whose shortest literal is
/// longest wins (fewer false hits).
pub fn required_literals(pattern: &str) -> Option<Vec<Vec<u8>>> {
    best(literal_options(pattern))
}

/// Every usable literal set of `pattern` (each literal at least [`MIN_LITERAL`] bytes), best
/// first.
pub fn literal_options(pattern: &str) -> Vec<Vec<Vec<u8>>> {
    let Ok(hir) = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern) else {
        return Vec::new();
    };
    let mut all: Vec<Vec<Vec<u8>>> = options(&hir)
        .into_iter()
        .filter(|set| !set.is_empty() && set.iter().all(|l| l.len() >= MIN_LITERAL))
        .collect();
    all.sort_by_key(|set| std::cmp::Reverse(shortest(set)));
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

/// Each signature's literal set for the prefilter. Aho-Corasick's SIMD search takes at most
/// 64 literals, so a signature uses a set already chosen for another one when one of its
/// options is covered by it (every literal of the option contains a chosen literal); else its
/// best option. Signatures with the fewest options choose first.
fn choose(options: &[Vec<Vec<Vec<u8>>>]) -> Vec<Vec<Vec<u8>>> {
    let mut order: Vec<usize> = (0..options.len()).collect();
    order.sort_by_key(|&i| options[i].len());
    let mut chosen: Vec<Vec<u8>> = Vec::new();
    let mut sets = vec![Vec::new(); options.len()];
    for i in order {
        let holds = |lit: &Vec<u8>| chosen.iter().any(|c| memchr::memmem::find(lit, c).is_some());
        let covered = options[i].iter().find(|set| set.iter().all(holds)).cloned();
        sets[i] = covered.unwrap_or_else(|| {
            let set = options[i].first().cloned().unwrap_or_default();
            chosen.extend(set.iter().cloned());
            set
        });
    }
    sets
}

fn shortest(set: &[Vec<u8>]) -> usize {
    set.iter().map(Vec::len).min().unwrap_or(0)
}

fn build(raw: RawSignature) -> Signature {
    Signature {
        id: raw.id.value,
        title: raw.title.value,
        layer: raw.layer.value,
        cause: raw.cause.map(|c| c.value),
        step: raw.step.value,
        pattern: raw.pattern.value,
        general: raw.general,
        example: raw.example.value,
        source: raw.source.value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sig: &str) -> String {
        format!("signatures:\n  - {sig}\n")
    }

    fn load_error(sig: &str) -> String {
        Signatures::load_str("t.yaml", &table(sig)).unwrap_err().to_string()
    }

    const OK: &str = "{ id: a_b, title: T, layer: host, cause: disk_full, step: resources, pattern: 'No space left', example: 'x No space left', source: S }";

    #[test]
    fn the_builtin_table_loads() {
        let sigs = Signatures::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(sigs.list.len() >= 60, "{} signatures", sigs.list.len());
        // Aho-Corasick's SIMD (Teddy) search refuses more than 64 literals.
        let n = sigs.prefilter.patterns_len();
        assert!(n <= 64, "{n} prefilter literals");
        assert!(Signatures::load_str("t.yaml", &table(OK)).is_ok());
    }

    #[test]
    fn classify_agrees_with_the_first_match_of_the_whole_set() {
        let sigs = Signatures::builtin().unwrap();
        let lines = sigs.list.iter().map(|s| s.example.as_bytes().to_vec());
        let noise = [
            b"upstream timed out (110: x) while connecting".to_vec(),
            b"haproxy[1]: x".to_vec(),
            Vec::new(),
        ];
        for line in lines.chain(noise) {
            assert_eq!(
                sigs.classify(&line),
                sigs.set.matches(&line).iter().next(),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
    }

    #[test]
    fn required_literals_follow_the_regex_structure() {
        let lits = |p: &str| {
            required_literals(p)
                .map(|v| v.into_iter().map(|l| String::from_utf8(l).unwrap()).collect::<Vec<_>>())
        };
        assert_eq!(lits(r"connect\(\) (?:to \S+ )?failed \(111"), Some(vec!["failed (111".into()]));
        assert_eq!(lits("(?:abcd|efgh): x"), Some(vec!["abcd".into(), "efgh".into()]));
        assert_eq!(lits(r"(?:abcd)?\d+"), None);
        assert_eq!(lits(r"abcd\d+efghij"), Some(vec!["efghij".into()]));
        assert_eq!(lits(r"a\d+bc"), None, "shorter than MIN_LITERAL");
    }

    #[test]
    fn too_many_literals_are_merged_by_their_common_part() {
        assert_eq!(
            longest_common(b"AH01630: client denied", b"AH01797: client denied"),
            b": client denied"
        );
        let many: Vec<Vec<u8>> =
            (0..80).map(|i| format!("literal number {i:03} here").into_bytes()).collect();
        let kept = minimal(many.clone());
        assert!(kept.len() <= MAX_PREFILTER, "{}", kept.len());
        for lit in &many {
            assert!(kept.iter().any(|k| memchr::memmem::find(lit, k).is_some()), "{lit:?} lost");
        }
    }

    #[test]
    fn mistakes_name_their_line_and_column() {
        let err = load_error(&OK.replace("'No space left'", "'No (space'"));
        assert!(err.contains("t.yaml:2:"), "{err}");
        assert!(err.contains("the pattern does not compile"), "{err}");
        let err = load_error(&OK.replace("'No space left'", r"'\d+ (?:ab)?'"));
        assert!(err.contains("needs a literal of at least 4 bytes"), "{err}");
        let err = load_error(&OK.replace("'x No space left'", "'nothing'"));
        assert!(err.contains("the example does not match the pattern of `a_b`"), "{err}");
        let err = load_error(&OK.replace("id: a_b", "id: A-b"));
        assert!(err.contains("must be snake_case"), "{err}");
        let err = load_error(&OK.replace("layer: host", "layer: hots"));
        assert!(err.starts_with("error: t.yaml:2:"), "{err}");
        let err = load_error(&OK.replace("source: S", "source: S, sorce: x"));
        assert!(err.contains("sorce"), "{err}");
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let text = format!("signatures:\n  - {OK}\n  - {OK}\n");
        let err = Signatures::load_str("t.yaml", &text).unwrap_err().to_string();
        assert!(err.contains("t.yaml:3:") && err.contains("already at line 2"), "{err}");
    }
}
