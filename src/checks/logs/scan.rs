//! The line scanner: finds candidate lines with the signatures' literal prefilter over whole
//! blocks (as ripgrep does), runs the regexes only on those lines, and records what matched.
//! One rule decides what a line is for every path through it ([`matching_lines`]: the
//! sequential read here, the parallel one in `split`): lines end at `\n`, and each is
//! classified on its first [`MAX_LINE`] bytes without a trailing `\r`. It bounds every line it
//! keeps ([`SHOWN_CHARS`], sanitised and redacted) and allocates per block, never per line.

use std::collections::{BTreeSet, HashMap};
use std::io::{self, Read};
use std::ops::Range;

use memchr::{memchr, memrchr};

use super::time::{Clock, line_time};
use crate::knowledge::signatures::{Signatures, value_text};
use crate::{redact, sanitize};

/// How much is read at a time.
pub const CHUNK: usize = 1 << 20;
/// The longest line classified; the rest of a longer line is skipped.
pub const MAX_LINE: usize = 64 * 1024;
/// The longest line kept for the report, in characters.
pub const SHOWN_CHARS: usize = 1000;
/// At most this many upstream addresses are kept from nginx lines.
const MAX_UPSTREAMS: usize = 10;
/// At most this many groups of lines (signature × file × fields) are kept; later lines that
/// would open a new group are counted as ungrouped.
pub const MAX_GROUPS: usize = 256;

/// The matching lines of one signature in one file that carry the same fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub signature: usize,
    pub file: String,
    pub fields: Vec<(String, String)>,
    pub count: u64,
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// The earliest line, sanitised, redacted and bounded.
    pub line: String,
}

/// What one signature matched so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub count: u64,
    /// Unix seconds of the earliest and latest matching line, when the lines carry times.
    pub first: Option<i64>,
    pub last: Option<i64>,
    /// The earliest matching line, sanitised, redacted and bounded.
    pub first_line: String,
    /// The log it came from.
    pub file: String,
    /// The earliest matching line that names the site under investigation (its host), and
    /// its time: on a server with many sites, the line the support note should quote.
    pub site_line: Option<(Option<i64>, String)>,
}

/// Every signature's hits, over all the logs scanned.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Indexed like `Signatures::list` (and only as long as the last signature hit).
    pub hits: Vec<Option<Hit>>,
    /// Upstream addresses named by matching nginx lines (`upstream: "…"`).
    pub upstreams: BTreeSet<String>,
    /// The site's host (`shop.example.com`, `127.0.0.1:8080`) as lines name it, when known.
    pub site: Option<String>,
    /// The same lines grouped by where they say they came from.
    pub groups: Vec<Group>,
    /// Where each group is in `groups`, by its key: the signature, the file and the fields as
    /// the line holds them (before they are cleaned for showing), as [`Tally::key`] packs
    /// them.
    group_at: HashMap<Box<[u8]>, usize>,
    pub ungrouped: u64,
    /// The fields of the line being recorded, and its group key: kept to be reused, so a line
    /// of an existing group allocates nothing.
    fields: Vec<(usize, Range<usize>)>,
    key: Vec<u8>,
    /// Field values as shown, by their bytes in the line: groups mostly differ in one field
    /// and share the others, and redacting a value costs more than grouping a thousand lines.
    shown_values: HashMap<Box<[u8]>, String>,
}

impl Tally {
    pub fn new(signatures: &Signatures) -> Self {
        Tally {
            hits: vec![None; signatures.list.len()],
            upstreams: BTreeSet::new(),
            site: None,
            groups: Vec::new(),
            group_at: HashMap::new(),
            ungrouped: 0,
            fields: Vec::new(),
            key: Vec::new(),
            shown_values: HashMap::new(),
        }
    }

    /// An empty tally whose lines naming `site` are kept apart.
    pub fn for_site(site: Option<String>) -> Self {
        Tally { site, ..Tally::default() }
    }

    pub fn matched_lines(&self) -> u64 {
        self.hits.iter().flatten().map(|h| h.count).sum()
    }

    /// Packs the group key of a line of signature `index` in `file` whose fields are
    /// `self.fields` into `self.key`, each variable part after its length so that no two keys
    /// run together.
    fn key(&mut self, index: usize, line: &[u8], file: &str) {
        fn part(key: &mut Vec<u8>, bytes: &[u8]) {
            key.extend_from_slice(&bytes.len().to_le_bytes());
            key.extend_from_slice(bytes);
        }
        let key = &mut self.key;
        key.clear();
        key.extend_from_slice(&index.to_le_bytes());
        part(key, file.as_bytes());
        for (rule, value) in &self.fields {
            key.extend_from_slice(&rule.to_le_bytes());
            part(key, &line[value.clone()]);
        }
    }

    /// Adds a matching line (its fields in `self.fields`) to its group, opening one while
    /// there is room.
    fn group(
        &mut self,
        signatures: &Signatures,
        index: usize,
        time: Option<i64>,
        line: &[u8],
        file: &str,
    ) {
        self.key(index, line, file);
        if let Some(&at) = self.group_at.get(self.key.as_slice()) {
            let group = &mut self.groups[at];
            group.count += 1;
            if let Some(t) = time {
                if group.first.is_none_or(|f| t < f) {
                    group.first = Some(t);
                    group.line = shown(line);
                }
                group.last = Some(group.last.map_or(t, |l| l.max(t)));
            }
        } else if self.groups.len() < MAX_GROUPS {
            let fields = self.clean_fields(signatures, line);
            self.groups.push(Group {
                signature: index,
                file: file.to_owned(),
                fields,
                count: 1,
                first: time,
                last: time,
                line: shown(line),
            });
            self.group_at.insert(self.key.as_slice().into(), self.groups.len() - 1);
        } else {
            self.ungrouped += 1;
        }
    }

    /// Records a line signature `index` matched, its fields in `self.fields`; `signatures`
    /// names them.
    fn record(
        &mut self,
        signatures: &Signatures,
        index: usize,
        time: Option<i64>,
        line: &[u8],
        file: &str,
    ) {
        self.group(signatures, index, time, line, file);
        self.note_upstream(line);
        let for_site = self
            .site
            .as_ref()
            .is_some_and(|site| memchr::memmem::find(line, site.as_bytes()).is_some());
        if self.hits.len() <= index {
            self.hits.resize(index + 1, None);
        }
        let slot = &mut self.hits[index];
        let site_line = || for_site.then(|| (time, shown(line)));
        match slot {
            None => {
                *slot = Some(Hit {
                    count: 1,
                    first: time,
                    last: time,
                    first_line: shown(line),
                    file: file.to_owned(),
                    site_line: site_line(),
                });
            }
            Some(hit) => {
                hit.count += 1;
                let earlier = |seen: &Option<i64>| match (time, seen) {
                    (Some(t), Some(s)) => t < *s,
                    _ => false,
                };
                if for_site && hit.site_line.as_ref().is_none_or(|(seen, _)| earlier(seen)) {
                    hit.site_line = site_line();
                }
                if let Some(t) = time {
                    if hit.first.is_none_or(|f| t < f) {
                        hit.first = Some(t);
                        hit.first_line = shown(line);
                        file.clone_into(&mut hit.file);
                    }
                    hit.last = Some(hit.last.map_or(t, |l| l.max(t)));
                }
            }
        }
    }

    fn note_upstream(&mut self, line: &[u8]) {
        const KEY: &[u8] = b"upstream: \"";
        if self.upstreams.len() >= MAX_UPSTREAMS {
            return;
        }
        let Some(at) = memchr::memmem::find(line, KEY) else { return };
        let rest = &line[at + KEY.len()..];
        let value = &rest[..memchr(b'"', rest).unwrap_or(rest.len()).min(200)];
        // Most matching lines name an upstream already kept: no allocation for those.
        if std::str::from_utf8(value).is_ok_and(|v| self.upstreams.contains(v)) {
            return;
        }
        let value = sanitize::bytes(value, false);
        self.upstreams.insert(redact::url(&value).into_owned());
    }
}

impl Tally {
    /// The fields of `line` found in `self.fields` as the report may show them: named,
    /// sanitised, secrets masked.
    fn clean_fields(&mut self, signatures: &Signatures, line: &[u8]) -> Vec<(String, String)> {
        let shown_values = &mut self.shown_values;
        self.fields
            .iter()
            .map(|(rule, value)| {
                let raw = &line[value.clone()];
                let shown = shown_values.entry(raw.into()).or_insert_with(|| {
                    redact::text(&sanitize::line(&value_text(raw))).into_owned()
                });
                (signatures.fields[*rule].name.clone(), shown.clone())
            })
            .collect()
    }
}

/// A line as the report shows it: sanitised, secrets masked, at most [`SHOWN_CHARS`].
pub fn shown(line: &[u8]) -> String {
    let clean = sanitize::bytes(line, false);
    let redacted = redact::text(&clean);
    let mut out: String = redacted.chars().take(SHOWN_CHARS).collect();
    if redacted.chars().nth(SHOWN_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// One pass over one log (or one part of it).
#[derive(Debug)]
pub struct Scan<'a> {
    pub signatures: &'a Signatures,
    pub clock: &'a Clock,
    /// Lines stamped before this are outside the window; `None` reads everything.
    pub cutoff: Option<i64>,
    /// The log's lines carry timestamps, so an unstamped line counts only once the window
    /// is known to have begun (a stack trace line after an in-window line).
    pub timed: bool,
    /// The name the report gives the log.
    pub file: &'a str,
    /// Set when `keep_going` stopped the read before the end.
    pub stopped: bool,
    in_window: bool,
}

impl<'a> Scan<'a> {
    pub fn new(signatures: &'a Signatures, clock: &'a Clock, file: &'a str) -> Self {
        Scan {
            signatures,
            clock,
            cutoff: None,
            timed: false,
            file,
            stopped: false,
            in_window: false,
        }
    }

    /// Reads `reader` to its end and records every matching line in `tally`. Returns the bytes
    /// read. `keep_going` hears the running byte count after every block; when it says no, the
    /// read stops there and `stopped` is set.
    pub fn read<R: Read>(
        &mut self,
        mut reader: R,
        tally: &mut Tally,
        keep_going: &mut dyn FnMut(u64) -> bool,
    ) -> io::Result<u64> {
        let mut buf = vec![0_u8; CHUNK + MAX_LINE];
        let mut filled = 0;
        let mut total = 0_u64;
        // Inside a line longer than MAX_LINE whose start was already classified.
        let mut skipping = false;
        loop {
            let n = read_some(&mut reader, &mut buf[filled..])?;
            if n == 0 {
                if filled > 0 && !skipping {
                    self.line(&buf[..filled], tally);
                }
                return Ok(total);
            }
            total += n as u64;
            filled += n;
            if !keep_going(total) {
                self.stopped = true;
                return Ok(total);
            }
            let mut start = 0;
            if let Some(last) = memrchr(b'\n', &buf[..filled]) {
                if skipping {
                    start = memchr(b'\n', &buf[..=last]).map_or(0, |i| i + 1);
                    skipping = false;
                }
                self.region(&buf[start..=last], tally);
                buf.copy_within(last + 1..filled, 0);
                filled -= last + 1;
            } else if skipping {
                filled = 0;
            }
            if filled >= MAX_LINE {
                self.line(&buf[..MAX_LINE], tally);
                skipping = true;
                filled = 0;
            }
        }
    }

    /// Complete lines: each one a signature matches is recorded.
    fn region(&mut self, region: &[u8], tally: &mut Tally) {
        let signatures = self.signatures;
        matching_lines(signatures, region, &mut |index, line| {
            self.accept(index, &region[line], tally);
        });
    }

    /// One line (or the first [`MAX_LINE`] bytes of a longer one), classified alone.
    fn line(&mut self, line: &[u8], tally: &mut Tally) {
        let line = bounded(line);
        if let Some(index) = self.signatures.classify(line) {
            self.accept(index, line, tally);
        }
    }

    /// A line signature `index` matched: counted unless the window rules it out.
    fn accept(&mut self, index: usize, line: &[u8], tally: &mut Tally) {
        let time = line_time(line, self.clock);
        if self.counts(time) {
            self.signatures.fields_in(line, &mut tally.fields);
            tally.record(self.signatures, index, time, line, self.file);
        }
    }

    /// As [`Scan::accept`], for a line whose time and fields were read on another thread (a
    /// [`Matched`] of it).
    pub(super) fn accept_matched(
        &mut self,
        matched: &Matched,
        fields: &[(usize, Range<usize>)],
        line: &[u8],
        tally: &mut Tally,
    ) {
        if self.counts(matched.time) {
            tally.fields.clear();
            tally.fields.extend_from_slice(fields);
            tally.record(self.signatures, matched.index, matched.time, line, self.file);
        }
    }

    /// Whether a matching line stamped `time` counts: not before the window.
    fn counts(&mut self, time: Option<i64>) -> bool {
        match (time, self.cutoff) {
            (Some(t), Some(cutoff)) if t < cutoff => false,
            (Some(_), _) => {
                self.in_window = true;
                true
            }
            (None, Some(_)) => !self.timed || self.in_window,
            (None, None) => true,
        }
    }
}

/// A matching line as a worker thread reads it, for [`Scan::accept_matched`]: all the thread
/// applying the matches in file order has left to do is count it.
#[derive(Debug, Clone)]
pub struct Matched {
    /// The signature's index.
    pub index: usize,
    /// Where the line is in the worker's buffer.
    pub line: Range<usize>,
    pub time: Option<i64>,
    /// Where its fields ([`Signatures::fields_in`]) are in the worker's list of them.
    pub fields: Range<usize>,
}

/// Calls `found` with the signature's index and where the line is in `lines` (its classified
/// part, [`bounded`]) for every line a signature matches, in order. `lines` holds whole lines;
/// the last may lack its `\n`. Only lines holding a prefilter literal are looked at, each from
/// where its first literal starts.
pub fn matching_lines(
    signatures: &Signatures,
    lines: &[u8],
    found: &mut impl FnMut(usize, Range<usize>),
) {
    let mut pos = 0;
    while pos < lines.len() {
        let Some(hit) = signatures.prefilter.find(&lines[pos..]) else { return };
        let at = pos + hit.start();
        let hit_end = pos + hit.end();
        let start = memrchr(b'\n', &lines[pos..at]).map_or(pos, |i| pos + i + 1);
        let end = memchr(b'\n', &lines[at..]).map_or(lines.len(), |i| at + i);
        let line = bounded(&lines[start..end]);
        // The literal must lie within the part of the line that is classified.
        if hit_end - start <= line.len()
            && let Some(index) = signatures.classify_at(line, hit.pattern().as_usize(), at - start)
        {
            found(index, start..start + line.len());
        }
        pos = end + 1;
    }
}

/// What of a line is classified: its first [`MAX_LINE`] bytes, without a trailing `\r`.
pub fn bounded(line: &[u8]) -> &[u8] {
    let line = &line[..line.len().min(MAX_LINE)];
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// One read, retried on EINTR.
fn read_some<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sigs() -> Signatures {
        Signatures::builtin().unwrap()
    }

    fn scan(text: &[u8]) -> Tally {
        let sigs = sigs();
        let clock = Clock::new(0, jiff::tz::TimeZone::UTC);
        let mut tally = Tally::new(&sigs);
        Scan::new(&sigs, &clock, "t.log").read(text, &mut tally, &mut |_| true).unwrap();
        tally
    }

    fn count(tally: &Tally, id: &str) -> u64 {
        let sigs = sigs();
        let i = sigs.list.iter().position(|s| s.id == id).unwrap();
        tally.hits.get(i).and_then(Option::as_ref).map_or(0, |h| h.count)
    }

    const REFUSED: &str = "2026/12/01 07:30:22 [error] 1#1: *5 connect() failed (111: Connection refused) while connecting to upstream, client: 1.2.3.4, upstream: \"http://127.0.0.1:9000/\"";

    #[test]
    fn counts_lines_across_block_boundaries_and_without_a_final_newline() {
        let mut text = Vec::new();
        let filler = format!("2026/12/01 07:30:22 [notice] 1#1: {}\n", "x".repeat(300));
        while text.len() < 3 * CHUNK {
            text.extend_from_slice(filler.as_bytes());
            text.extend_from_slice(REFUSED.as_bytes());
            text.push(b'\n');
        }
        let expected = text.len() / (filler.len() + REFUSED.len() + 1);
        text.extend_from_slice(REFUSED.as_bytes());
        let tally = scan(&text);
        assert_eq!(count(&tally, "nginx_upstream_refused"), expected as u64 + 1);
        assert_eq!(tally.upstreams.iter().collect::<Vec<_>>(), vec!["http://127.0.0.1:9000/"]);
    }

    #[test]
    fn lines_of_one_upstream_from_many_clients_are_one_group() {
        let lines: Vec<String> = (0..1000)
            .map(|i| REFUSED.replace("1.2.3.4", &format!("10.0.{}.{}", i / 250, i % 250)))
            .collect();
        let tally = scan(format!("{}\n", lines.join("\n")).as_bytes());
        assert_eq!(tally.groups.len(), 1, "{:?}", tally.groups.first());
        assert_eq!(tally.groups[0].count, 1000);
        assert_eq!(tally.ungrouped, 0);
    }

    #[test]
    fn lines_whose_fields_differ_only_in_where_they_split_are_two_groups() {
        let line =
            |server: &str, host: &str| format!("{REFUSED}, server: {server}, host: \"{host}\"");
        let text = format!("{}\n{}\n{}\n", line("ab", "c"), line("a", "bc"), line("ab", " c "));
        let tally = scan(text.as_bytes());
        let fields: Vec<_> = tally.groups.iter().map(|g| (g.fields.clone(), g.count)).collect();
        let named = |s: &str, h: &str| {
            let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
            let upstream = pair("upstream", "http://127.0.0.1:9000/");
            vec![pair("server", s), pair("host", h), upstream]
        };
        // The surrounding spaces are not shown, so they do not make a group of their own.
        assert_eq!(fields, vec![(named("ab", "c"), 2), (named("a", "bc"), 1)]);
    }

    #[test]
    fn a_ten_megabyte_line_is_bounded_and_the_next_line_still_counts() {
        let mut text = format!("{REFUSED} ").into_bytes();
        text.extend(std::iter::repeat_n(b'A', 10 << 20));
        text.push(b'\n');
        text.extend_from_slice(REFUSED.as_bytes());
        text.push(b'\n');
        let tally = scan(&text);
        assert_eq!(count(&tally, "nginx_upstream_refused"), 2);
        let hit = tally.hits.iter().flatten().next().unwrap();
        assert!(hit.first_line.chars().count() <= SHOWN_CHARS + 1);
        assert!(hit.first_line.ends_with('…'));
    }

    #[test]
    fn hostile_bytes_are_sanitised_and_secrets_redacted() {
        let line = b"2026/12/01 07:30:22 [error] 1#1: *5 \x1b]52;c;ZXZpbA==\x07\x1b[2J\xff connect() failed (111: Connection refused) while connecting to upstream, request: \"GET /?token=s3cr3t HTTP/1.1\"\r\n";
        let tally = scan(line);
        let hit = tally.hits.iter().flatten().next().unwrap();
        assert!(!hit.first_line.contains('\u{1b}') && !hit.first_line.contains('\u{7}'));
        assert!(hit.first_line.contains('\u{fffd}'), "{}", hit.first_line);
        assert!(!hit.first_line.contains("s3cr3t"), "{}", hit.first_line);
        assert!(hit.first_line.ends_with("HTTP/1.1\""), "{}", hit.first_line);
    }

    #[test]
    fn lines_before_the_cutoff_do_not_count() {
        let sigs = sigs();
        let clock = Clock::new(0, jiff::tz::TimeZone::UTC);
        let early = REFUSED.replace("07:30:22", "06:00:00");
        let text = format!("{early}\n#0 stack line connect ECONNREFUSED\n{REFUSED}\n");
        let mut tally = Tally::new(&sigs);
        let mut scan = Scan::new(&sigs, &clock, "t.log");
        scan.cutoff = Some(1_796_110_222 - 60);
        scan.timed = true;
        scan.read(text.as_bytes(), &mut tally, &mut |_| true).unwrap();
        assert_eq!(count(&tally, "nginx_upstream_refused"), 1);
        assert_eq!(count(&tally, "node_connect_refused"), 0, "unstamped line before the window");
    }
}
