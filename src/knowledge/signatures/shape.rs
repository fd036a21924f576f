//! The shape most field patterns have — a literal, then the value as a run of one character
//! class, then perhaps a closing literal (`, server: ([^,\s]+)`, `, host: "([^"]+)"`) — taken
//! without the regex engine: find the literal, walk the run, check the close. On ASCII this
//! gives exactly the regex's leftmost match; at the first non-ASCII byte of a run it gives up
//! and the regex decides (Unicode classes are not walked by hand). Many signatures have the
//! same shape without the group (`connect\(\) to unix:\S+ failed \(2: …\) while connecting
//! to upstream`), or with a close that is one of a few literals (`upstream timed out \(110:
//! [^)]*\) while (?:reading upstream|…)`), and most of an incident's lines are theirs.

use memchr::memchr;
use memchr::memmem::Finder;
use regex_syntax::hir::{Class, Hir, HirKind};

/// A pattern of the form `prefix(class+)suffix` (or `class*`), where the suffix is a literal,
/// an alternation of literals, both in turn, or nothing.
#[derive(Debug)]
pub struct Shape {
    prefix: Finder<'static>,
    /// What each byte is to the run: the ASCII bytes the class holds are in it.
    class: [Byte; 256],
    /// The one ASCII byte the class lacks, when it lacks one only (`[^"]`): the run is then
    /// found with memchr, not a byte at a time (a host's or upstream's value is most of what
    /// an nginx line's fields walk).
    stop: Option<u8>,
    /// The fewest bytes the run holds: 0 or 1.
    min: usize,
    /// The literals one of which must follow the run; one empty one when nothing need.
    suffixes: Vec<Vec<u8>>,
}

/// What a byte is to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Byte {
    In,
    /// Ends the run.
    Out,
    /// Beyond ASCII: only the regex can tell.
    Unsure,
}

/// What walking the shape found in a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Walk {
    /// The value's byte range: the regex's first capture group would be the same.
    Value(std::ops::Range<usize>),
    /// The regex would not match.
    NoMatch,
    /// A run met a non-ASCII byte: ask the regex.
    Unsure,
}

/// Whether the run must be the pattern's first capture group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// A field's: its value is the group.
    Captured,
    /// A signature's: only whether the line matches is asked.
    Any,
}

impl Shape {
    /// The shape of a field pattern (the run being its first group), when it has it.
    pub fn of(pattern: &str) -> Option<Shape> {
        Shape::parse(pattern, Run::Captured)
    }

    /// The shape of a signature pattern, when it has it.
    pub fn of_signature(pattern: &str) -> Option<Shape> {
        Shape::parse(pattern, Run::Any)
    }

    /// Whether `line` matches, as the regex would say; `None` when a run meets a non-ASCII
    /// byte and only the regex can tell.
    pub fn matches(&self, line: &[u8]) -> Option<bool> {
        match self.walk(line) {
            Walk::Value(_) => Some(true),
            Walk::NoMatch => Some(false),
            Walk::Unsure => None,
        }
    }

    fn parse(pattern: &str, run_is: Run) -> Option<Shape> {
        let hir = regex_syntax::ParserBuilder::new().utf8(false).build().parse(pattern).ok()?;
        let HirKind::Concat(parts) = hir.kind() else { return None };
        let [prefix, run, rest @ ..] = parts.as_slice() else { return None };
        let prefix = literal(prefix)?;
        let (class, min) = run_class(run, run_is)?;
        let suffixes = suffixes(rest)?;
        // The run must stop where a suffix starts, or a shorter run could match too.
        let eaten = |s: &Vec<u8>| s.first().is_some_and(|&b| b < 128 && class[usize::from(b)]);
        if suffixes.iter().any(eaten) || prefix.is_empty() {
            return None;
        }
        let mut outside = (0_u8..128).filter(|&b| !class[usize::from(b)]);
        let stop = outside.next().filter(|_| outside.next().is_none());
        let class = std::array::from_fn(|b| match class.get(b) {
            Some(true) => Byte::In,
            Some(false) => Byte::Out,
            None => Byte::Unsure,
        });
        Some(Shape { prefix: Finder::new(&prefix).into_owned(), class, stop, min, suffixes })
    }

    /// The leftmost match in `line`, as the regex would find it.
    pub fn walk(&self, line: &[u8]) -> Walk {
        match self.prefix.find(line) {
            Some(at) => self.walk_at(line, at),
            None => Walk::NoMatch,
        }
    }

    /// The same as [`Shape::walk`], told where the prefix first occurs: `at`, which a search
    /// for several literals at once found.
    pub fn walk_at(&self, line: &[u8], mut at: usize) -> Walk {
        loop {
            let start = at + self.prefix.needle().len();
            let end = start + self.run_length(&line[start..]);
            if line.get(end).is_some_and(|&b| self.class[usize::from(b)] == Byte::Unsure) {
                return Walk::Unsure;
            }
            if end - start >= self.min && self.suffixes.iter().any(|s| line[end..].starts_with(s)) {
                return Walk::Value(start..end);
            }
            match self.prefix.find(&line[at + 1..]) {
                Some(next) => at += 1 + next,
                None => return Walk::NoMatch,
            }
        }
    }

    /// How many bytes from the start of `rest` are in the class: where the run ends.
    fn run_length(&self, rest: &[u8]) -> usize {
        let Some(stop) = self.stop else {
            let end = rest.iter().position(|&b| self.class[usize::from(b)] != Byte::In);
            return end.unwrap_or(rest.len());
        };
        // Only `stop` ends the run among ASCII bytes, and every byte beyond ASCII does.
        let out = memchr(stop, rest).unwrap_or(rest.len());
        if rest[..out].is_ascii() {
            return out;
        }
        rest.iter().position(|b| !b.is_ascii()).unwrap_or(out)
    }

    /// The literal the match starts with.
    pub fn prefix(&self) -> &[u8] {
        self.prefix.needle()
    }
}

fn literal(hir: &Hir) -> Option<Vec<u8>> {
    match hir.kind() {
        HirKind::Literal(lit) => Some(lit.0.to_vec()),
        _ => None,
    }
}

/// What may follow the run: nothing, a literal, an alternation of literals, or a literal then
/// such an alternation; as the literals one of which must follow.
fn suffixes(rest: &[Hir]) -> Option<Vec<Vec<u8>>> {
    let branches = |hir: &Hir| match hir.kind() {
        HirKind::Alternation(subs) => subs.iter().map(literal).collect::<Option<Vec<_>>>(),
        _ => None,
    };
    let suffixes = match rest {
        [] => vec![Vec::new()],
        [one] => literal(one).map(|l| vec![l]).or_else(|| branches(one))?,
        [first, alternation] => {
            let first = literal(first)?;
            branches(alternation)?.into_iter().map(|b| [first.as_slice(), &b].concat()).collect()
        }
        _ => return None,
    };
    Some(suffixes)
}

/// The ASCII members of `class` in `(class+)` (the first capture group) or, for a signature,
/// `class+`, and the fewest bytes the run holds: greedy, unbounded, `+` or `*`.
fn run_class(hir: &Hir, run_is: Run) -> Option<([bool; 128], usize)> {
    let repetition = match hir.kind() {
        HirKind::Capture(capture) if capture.index == 1 || run_is == Run::Any => &capture.sub,
        HirKind::Repetition(_) if run_is == Run::Any => hir,
        _ => return None,
    };
    let HirKind::Repetition(rep) = repetition.kind() else { return None };
    if rep.min > 1 || rep.max.is_some() || !rep.greedy {
        return None;
    }
    let HirKind::Class(class) = rep.sub.kind() else { return None };
    let mut members = [false; 128];
    for (b, member) in (0_u8..128).zip(members.iter_mut()) {
        *member = match class {
            Class::Unicode(c) => {
                c.ranges().iter().any(|r| r.start() <= char::from(b) && char::from(b) <= r.end())
            }
            Class::Bytes(c) => c.ranges().iter().any(|r| r.start() <= b && b <= r.end()),
        };
    }
    Some((members, rep.min as usize))
}

#[cfg(test)]
mod tests {
    use regex::bytes::Regex;

    use super::*;

    /// The walk agrees with the regex's first group wherever it is sure.
    fn agrees(pattern: &str, line: &[u8]) {
        let shape = Shape::of(pattern).unwrap();
        let regex = Regex::new(pattern).unwrap();
        let want = regex.captures(line).and_then(|c| c.get(1)).map(|m| m.range());
        match shape.walk(line) {
            Walk::Value(range) => assert_eq!(Some(range), want, "{pattern} on {line:?}"),
            Walk::NoMatch => assert_eq!(None, want, "{pattern} on {line:?}"),
            Walk::Unsure => assert!(!line.is_ascii()),
        }
    }

    #[test]
    fn field_shapes_are_walked_as_the_regex_matches() {
        let lines: &[&[u8]] = &[
            b"x, server: shop.example.com, request: \"GET /\"",
            b"x, server: , server: b, host: \"a\"",
            b", host: \"\", host: \"h:80\" tail",
            b", host: \"unterminated",
            b"attempt to connect to 127.0.0.1:8080 (127.0.0.1:8080) failed",
            b"attempt to connect to x(y) failed, attempt to connect to z (",
            b"[pool www] child",
            b"[pool w\xc3\xa9b] child",
            // Beyond ASCII inside, after and instead of a quoted value's close.
            b", host: \"h\xc3\xa9st\" x",
            b", host: \"ok\" \xc3\xa9, host: \"\xff\"",
            b", host: \"no close \xe2\x80\x94",
            b"no fields at all",
            b"",
        ];
        for pattern in [
            r"attempt to connect to (\S*) \(",
            r"attempt to connect to (\S*) (?:\(|failed|x\))",
            r", server: ([^,\s]+)",
            r#", host: "([^"]+)""#,
            r"attempt to connect to (\S+) \(",
            r"\[pool ([^\]\s]+)\]",
        ] {
            for line in lines {
                agrees(pattern, line);
            }
        }
    }

    #[test]
    fn a_class_lacking_one_ascii_byte_is_walked_to_it_with_memchr() {
        assert_eq!(Shape::of(r#", host: "([^"]+)""#).unwrap().stop, Some(b'"'));
        assert_eq!(Shape::of(r", server: ([^,\s]+)").unwrap().stop, None);
    }

    /// Lines near `example`: itself, cut short, with its runs broken by a space, a quote or a
    /// non-ASCII character, doubled, and with the example's literals pulled apart.
    fn near(example: &str) -> Vec<Vec<u8>> {
        let mut lines = vec![example.as_bytes().to_vec(), format!("{example} | {example}").into()];
        for (at, _) in example.char_indices().step_by(3) {
            lines.push(example.as_bytes()[..at].to_vec());
            for insert in [" ", "\"", "é", "\u{85}", "\u{a0}", "\u{2003}"] {
                lines.push(format!("{}{insert}{}", &example[..at], &example[at..]).into());
            }
        }
        lines.push([example.as_bytes(), b"\xff"].concat());
        lines
    }

    #[test]
    fn signature_shapes_match_where_the_regex_does() {
        let text = include_str!("../../../assets/log-signatures.yaml");
        let table = super::super::Signatures::load_str("t", text).unwrap();
        let mut walked = 0;
        for signature in &table.list {
            let Some(shape) = Shape::of_signature(&signature.pattern) else { continue };
            walked += 1;
            let regex = Regex::new(&signature.pattern).unwrap();
            for line in near(&signature.example) {
                if let Some(sure) = shape.matches(&line) {
                    let shown = String::from_utf8_lossy(&line);
                    assert_eq!(sure, regex.is_match(&line), "{} on {shown}", signature.pattern);
                }
            }
        }
        // The nginx socket signatures, most of a PHP incident's lines, are among them.
        assert!(walked >= 25, "{walked} signatures are walked");
        let socket = r"connect\(\) to unix:\S+ failed \(2: No such file or directory\) while connecting to upstream";
        assert!(Shape::of_signature(socket).is_some());
        // A close that is one of several literals, after a run that may be empty.
        let timeout = r"upstream timed out \(110: [^)]*\) while (?:reading upstream|sending request to upstream)";
        assert!(Shape::of_signature(timeout).is_some());
    }

    #[test]
    fn other_patterns_have_no_shape() {
        // No prefix, a run of at least two or lazy, a class after the run, a suffix the run
        // could eat (alone or as one branch), an alternation for the run, a branch that is
        // not a literal.
        for pattern in [
            r"(\S+)",
            r"a(\S{2,})b",
            r"a(\S+?)b",
            r"a(\S+)\S",
            r"ab([a-z]+)c",
            r"a([a-z]+)(?:xy|1)",
            r"x(ab|cd)",
            r"a(\S+) (?:x|y\d)",
        ] {
            assert!(Shape::of(pattern).is_none(), "{pattern}");
        }
        // A field's run must be its first group; a signature's need not be a group.
        assert!(Shape::of(r"a\S+b").is_none());
        assert!(Shape::of_signature(r"a\S+ b").is_some());
        assert!(Shape::of_signature(r"a\S+\S").is_none());
    }
}
