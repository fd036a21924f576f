//! The log-signature table (`assets/log-signatures.yaml`): which lines name which layer and
//! cause. Loaded in two stages like the diagnosis rules — raw serde types, then validated
//! [`Signatures`] with the literal prefilter — through the strict YAML loader, so a mistake
//! names its line and column. Loading compiles no regex: each pattern compiles the first time
//! a line holding one of its literals needs it, so start-up does not grow with the table. The
//! embedded table also ships compiled (`assets/compiled/log-signatures.json`, see
//! `yaml::compiled`): the checked table with its literals chosen, which every scan would
//! otherwise parse and choose again before its first line. It only loads, checks and
//! classifies one line; reading logs is `checks::logs`.

mod fields;
pub mod literals;
mod ordinary;
mod shape;
mod verify;

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use regex::bytes::Regex;
use serde::{Deserialize, Serialize};

pub use self::fields::{FieldRule, value_text};
use self::fields::{FieldSearch, RawField};
use self::literals::{Analysis, Selection};
pub use self::literals::{MIN_LITERAL, literal_options, required_literals};
use self::ordinary::Ordinary;
use self::verify::{Seen, Verify};
use crate::layer::Layer;
use crate::yaml::{self, At, Level, LoadFailure, Pos, Problem, SourceError, Text, compiled};

/// One validated signature.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// The validated table, ready for scanning.
#[derive(Debug)]
pub struct Signatures {
    /// In precedence order: a line counts for the first signature that matches it.
    pub list: Vec<Signature>,
    /// Applied to matching lines only, in table order; the first rule to find a name wins.
    pub fields: Vec<FieldRule>,
    /// The literals the field rules start from, looked for in one search per line.
    field_search: FieldSearch,
    /// The literals every match contains, for all signatures; a line without one of them
    /// matches no signature. Leftmost-first, so Aho-Corasick searches whole blocks with SIMD
    /// (Teddy); and since no literal contains another, at most one starts at any byte.
    pub prefilter: AhoCorasick,
    /// How a line holding a prefilter literal is told apart.
    verify: Verify,
}

/// A checked table with its literals chosen: what the prefilter and the verifier are built
/// from, and what the compiled copy holds.
#[derive(Debug, Serialize, Deserialize)]
struct Table {
    signatures: Vec<Signature>,
    /// Each field rule's name and pattern, in table order.
    fields: Vec<(String, String)>,
    /// Per signature: its pattern is one plain literal.
    plain: Vec<bool>,
    selection: Selection,
}

const BUILTIN: &str = include_str!("../../../assets/log-signatures.yaml");
const BUILTIN_ORIGIN: &str = "builtin:assets/log-signatures.yaml";
const COMPILED: &str = include_str!("../../../assets/compiled/log-signatures.json");

impl Signatures {
    /// The table shipped in the binary, from its compiled copy while that is current. Its
    /// patterns are not compiled here: the test suite loads the same text with
    /// [`Signatures::load_str`], which checks every one.
    pub fn builtin() -> Result<Signatures, LoadFailure> {
        match compiled::read::<Table>(COMPILED, BUILTIN) {
            Some(table) => Signatures::build(BUILTIN_ORIGIN, table),
            None => Signatures::load(BUILTIN_ORIGIN, BUILTIN, Checks::Cheap),
        }
    }

    /// Loads and validates a table: every pattern compiles and matches its example. Errors
    /// name `origin:line:col`.
    pub fn load_str(origin: &str, text: &str) -> Result<Signatures, LoadFailure> {
        Signatures::load(origin, text, Checks::Full)
    }

    fn load(origin: &str, text: &str, checks: Checks) -> Result<Signatures, LoadFailure> {
        let (table, ordinary) = Table::load(origin, text, checks)?;
        let signatures = Signatures::build(origin, table)?;
        if checks == Checks::Full {
            signatures.no_ordinary_line_matches(origin, text, &ordinary)?;
        }
        Ok(signatures)
    }

    /// The prefilter and the verifier over a checked table.
    fn build(origin: &str, table: Table) -> Result<Signatures, LoadFailure> {
        let Table { signatures, fields, plain, selection } = table;
        // The automaton only confirms Teddy's candidates, so the cheapest one to build does.
        let prefilter = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .match_kind(MatchKind::LeftmostFirst)
            .build(&selection.literals)
            .map_err(|e| {
                let message = format!("the prefilter literals do not compile: {e}");
                invalid(vec![SourceError::whole_file(origin, message)])
            })?;
        let verify = Verify::new(&selection, plain);
        let fields: Vec<FieldRule> =
            fields.into_iter().map(|(name, pattern)| FieldRule::new(name, pattern)).collect();
        let field_search = FieldSearch::new(&fields);
        Ok(Signatures { list: signatures, fields, field_search, prefilter, verify })
    }

    /// An ordinary line a signature matches is a mistake in one or the other.
    fn no_ordinary_line_matches(
        &self,
        origin: &str,
        text: &str,
        ordinary: &[RawOrdinary],
    ) -> Result<(), LoadFailure> {
        let mut errors = Vec::new();
        for o in ordinary {
            let at =
                |pos: Pos, message| SourceError::at(origin, text, pos.line, pos.column, message);
            if o.source.value.trim().is_empty() {
                errors.push(at(o.source.pos, "`source` must not be empty".to_owned()));
            }
            if let Some(index) = self.classify(o.line.value.as_bytes()) {
                let id = &self.list[index].id;
                let message =
                    format!("this ordinary line matches signature `{id}`: it must match none");
                errors.push(at(o.line.pos, message));
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(invalid(errors)) }
    }

    /// The first signature (in table order) that matches `line`, by index into `list`.
    pub fn classify(&self, line: &[u8]) -> Option<usize> {
        let hit = self.prefilter.find(line)?;
        self.classify_at(line, hit.pattern().as_usize(), hit.start())
    }

    /// As [`Signatures::classify`], for a line whose first prefilter literal is known (the
    /// scanner found it): literal `literal`, starting at byte `at`. Each literal in the line
    /// names the signatures it may belong to; they are tried in table order, and the line is
    /// searched for more literals only while some could name an earlier signature than the one
    /// found.
    pub fn classify_at(&self, line: &[u8], literal: usize, at: usize) -> Option<usize> {
        let verify = &self.verify;
        let best = verify.first_in(&self.list, literal, at, line, None);
        // Most lines are of the table's first signatures, so only a few literals could do
        // better: each is looked for by itself (memchr's SIMD search), which costs far less
        // than running the prefilter over the rest of the line.
        if verify.improvers(best.unwrap_or(self.list.len())) <= FEW_IMPROVERS {
            return verify.improve(&self.list, line, (literal, at), best);
        }
        self.improve_by_prefilter(line, literal, at, best)
    }

    /// The rest of [`Signatures::classify_at`] when many literals could improve on `best`:
    /// the literals of the rest of the line in order, until none left could.
    fn improve_by_prefilter(
        &self,
        line: &[u8],
        literal: usize,
        at: usize,
        mut best: Option<usize>,
    ) -> Option<usize> {
        let verify = &self.verify;
        let mut seen = Seen::default();
        seen.insert(literal);
        let mut at = at;
        loop {
            if !verify.could_improve(best.unwrap_or(self.list.len()), &seen) {
                return best;
            }
            // No literal contains another, so none other starts where this one does.
            let Some(hit) = self.prefilter.find(Input::new(line).span(at + 1..line.len())) else {
                return best;
            };
            let literal = hit.pattern().as_usize();
            at = hit.start();
            if seen.insert(literal) {
                best = verify.first_in(&self.list, literal, at, line, best);
            }
        }
    }

    /// The fields a matching line carries, each name once, into `found`: the index of the
    /// rule in `fields` that took it and where its value is in `line`.
    pub fn fields_in(&self, line: &[u8], found: &mut Vec<(usize, Range<usize>)>) {
        fields::fields_in(&self.fields, &self.field_search, line, found);
    }

    /// The same as [`Signatures::fields_in`], each value taken by its rule's regex alone: the
    /// reference the tests and the `log_classifier` fuzz target hold the fast path to.
    pub fn fields_by_regex(&self, line: &[u8], found: &mut Vec<(usize, Range<usize>)>) {
        fields::fields_by_regex(&self.fields, line, found);
    }

    pub fn get(&self, id: &str) -> Option<&Signature> {
        self.list.iter().find(|s| s.id == id)
    }
}

/// Up to this many literals that could name an earlier signature than the one a line matched
/// are looked for one by one; more, and the prefilter looks for all of them at once.
const FEW_IMPROVERS: usize = 8;

/// How much a load checks: the embedded table skips what compiles regexes (its tests do it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checks {
    Cheap,
    Full,
}

impl Table {
    /// Parses and checks `text`, and chooses the literals; also returns the ordinary lines, to
    /// hold the table to them.
    fn load(
        origin: &str,
        text: &str,
        checks: Checks,
    ) -> Result<(Table, Vec<RawOrdinary>), LoadFailure> {
        let raw: RawTable = yaml::from_str(origin, text).map_err(|error| invalid(vec![error]))?;
        let mut errors = Vec::new();
        let mut error = |pos: Pos, message| {
            errors.push(SourceError::at(origin, text, pos.line, pos.column, message));
        };
        let mut ids = HashMap::new();
        let analyses: Vec<Analysis> =
            raw.signatures.iter().map(|sig| check_one(sig, &mut ids, checks, &mut error)).collect();
        let full = checks == Checks::Full;
        let fields: Vec<(String, String)> =
            raw.fields.iter().filter_map(|f| fields::field_rule(f, full, &mut error)).collect();
        if !errors.is_empty() {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(invalid(errors));
        }
        let plain = analyses.iter().map(|a| a.plain).collect();
        let options: Vec<_> = analyses.into_iter().map(|a| a.options).collect();
        let mut ordinary = Ordinary::new(raw.ordinary.iter().map(|o| o.line.value.as_bytes()));
        let selection = literals::select(&options, &mut ordinary);
        let signatures = raw.signatures.into_iter().map(build).collect();
        Ok((Table { signatures, fields, plain, selection }, raw.ordinary))
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
    /// Lines healthy servers write all day: no signature may match them, and the prefilter
    /// avoids literals they hold.
    #[serde(default)]
    ordinary: Vec<RawOrdinary>,
    signatures: Vec<RawSignature>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrdinary {
    line: Text,
    /// Which server writes it, and where its message is defined.
    source: Text,
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
    checks: Checks,
    error: &mut impl FnMut(Pos, String),
) -> Analysis {
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
    if checks == Checks::Full && !compiles_and_matches(sig, error) {
        return Analysis::default();
    }
    let analysis = literals::analyse(&sig.pattern.value);
    if analysis.options.is_empty() {
        error(
            sig.pattern.pos,
            format!(
                "the pattern needs a literal of at least {MIN_LITERAL} bytes that every match \
                 contains (the scanner's prefilter); e.g. write `upstream timed out` as text, \
                 not inside a group that may be skipped"
            ),
        );
    }
    analysis
}

/// The pattern compiles and matches the example.
fn compiles_and_matches(sig: &RawSignature, error: &mut impl FnMut(Pos, String)) -> bool {
    let regex = match Regex::new(&sig.pattern.value) {
        Ok(regex) => regex,
        Err(e) => {
            let first = e.to_string().lines().last().unwrap_or_default().trim().to_owned();
            error(sig.pattern.pos, format!("the pattern does not compile: {first}"));
            return false;
        }
    };
    if !regex.is_match(sig.example.value.as_bytes()) {
        let id = &sig.id.value;
        error(sig.example.pos, format!("the example does not match the pattern of `{id}`"));
    }
    true
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
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
    fn the_builtin_table_loads_strictly_and_the_same_without_compiling() {
        let strict =
            Signatures::load_str(BUILTIN_ORIGIN, BUILTIN).unwrap_or_else(|e| panic!("{e}"));
        assert!(strict.list.len() >= 60, "{} signatures", strict.list.len());
        // Aho-Corasick's SIMD (Teddy) search refuses more than 64 literals.
        let n = strict.prefilter.patterns_len();
        assert!(n <= 64, "{n} prefilter literals");
        let cheap = Signatures::builtin().unwrap();
        let ids = |s: &Signatures| s.list.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&cheap), ids(&strict));
        let by_literal = cheap.verify.signatures_by_literal();
        assert_eq!(by_literal, strict.verify.signatures_by_literal());
        assert!(!cheap.verify.compiled_any(), "nothing compiled on load");
        assert!(Signatures::load_str("t.yaml", &table(OK)).is_ok());
    }

    /// The compiled copy is current and builds the table the YAML gives. `TRIAGE_BLESS=1`
    /// writes it first.
    #[test]
    fn the_compiled_copy_matches_the_yaml() {
        let (table, _) = Table::load(BUILTIN_ORIGIN, BUILTIN, Checks::Full).unwrap();
        let fresh = compiled::write(BUILTIN, &table);
        compiled::bless_or_check("assets/compiled/log-signatures.json", COMPILED, &fresh);
        let from_copy = compiled::read::<Table>(&fresh, BUILTIN).expect("the copy reads back");
        assert_eq!(format!("{from_copy:?}"), format!("{table:?}"));
        let yaml = Signatures::load(BUILTIN_ORIGIN, BUILTIN, Checks::Cheap).unwrap();
        let copy = Signatures::builtin().unwrap();
        assert_eq!(copy.verify.signatures_by_literal(), yaml.verify.signatures_by_literal());
        assert_eq!(format!("{:?}", copy.list), format!("{:?}", yaml.list));
    }

    #[test]
    fn classify_agrees_with_the_first_match_of_the_whole_set() {
        let sigs = Signatures::builtin().unwrap();
        let set = regex::bytes::RegexSet::new(sigs.list.iter().map(|s| &s.pattern)).unwrap();
        let lines = sigs.list.iter().map(|s| s.example.as_bytes().to_vec());
        let noise = [
            b"upstream timed out (110: x) while connecting".to_vec(),
            b"haproxy[1]: x".to_vec(),
            b"x connect ECONNREFUSED 10.0.0.1:5432 and PHP Fatal error:  Uncaught x".to_vec(),
            Vec::new(),
        ];
        // Two examples on one line, either first: the earlier in the table wins, whichever
        // literal the line shows first and however many could still name an earlier one.
        // Every example beside every ninth one (all pairs take minutes in a debug build).
        let examples: Vec<&str> = sigs.list.iter().map(|s| s.example.as_str()).collect();
        let some: Vec<&str> = examples.iter().step_by(9).copied().collect();
        let pairs = examples.iter().flat_map(|a| {
            some.iter().flat_map(move |b| [format!("{a} | {b}"), format!("{b} | {a}")])
        });
        let pairs = pairs.map(String::into_bytes);
        for line in lines.chain(noise).chain(pairs) {
            assert_eq!(
                sigs.classify(&line),
                set.matches(&line).iter().next(),
                "{}",
                String::from_utf8_lossy(&line)
            );
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
