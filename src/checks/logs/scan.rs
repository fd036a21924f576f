//! The line scanner: finds candidate lines with the signatures' literal prefilter over whole
//! blocks (as ripgrep does), runs the regexes only on those lines, and records what matched.
//! One rule decides what a line is for every path through it ([`matching_lines`]: the
//! sequential read here, the parallel one in `split`): lines end at `\n`, and each is
//! classified on its first [`MAX_LINE`] bytes without a trailing `\r`. What the lines add up to
//! is the [`Tally`]'s; the scanner allocates per block, never per line.

use std::io::{self, Read};
use std::ops::Range;

use memchr::{memchr, memrchr};

use super::tally::Tally;
use super::time::{Clock, line_time};
use crate::knowledge::signatures::Signatures;

/// How much is read at a time.
pub const CHUNK: usize = 1 << 20;
/// The longest line classified; the rest of a longer line is skipped.
pub const MAX_LINE: usize = 64 * 1024;
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
    use crate::checks::logs::tally::SHOWN_CHARS;

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
