//! Scanning a large part of a regular file on every core. The part is cut into chunks of
//! [`CHUNK`] bytes; a line belongs to the chunk it starts in. Worker threads read their chunks
//! with positioned reads and classify them (the prefilter, then the regexes of candidate
//! lines — the costly part); the calling thread applies the matches chunk by chunk in file
//! order, so the window, the counts and the first lines come out exactly as one sequential
//! pass would give them. A chunk travels to the calling thread in the buffer it was read into,
//! with where its matching lines are, and the buffer goes back to its worker to be read into
//! again: nothing is copied, and a worker touches at most [`AHEAD`] + 2 buffers' worth of
//! fresh memory whatever the file's size (fresh pages cost a fault each, a tenth of a window
//! scan's time when every chunk had a new buffer). Read-only, like every reader of the check.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread;

use memchr::{memchr, memrchr};

use super::scan::{MAX_LINE, Matched, Scan, matching_lines};
use super::tally::Tally;
use super::time::{Clock, line_time};
use crate::knowledge::signatures::Signatures;

/// How much of the part one worker classifies at a time: small enough that an incident
/// window of a few MiB is shared evenly and the calling thread starts applying early, large
/// enough that handing chunks over costs nothing next to classifying them.
pub const CHUNK: usize = 256 << 10;
/// Parts smaller than this are read on one thread: starting workers would cost more than
/// they save.
pub const PARALLEL_MIN: u64 = 4 * CHUNK as u64;
/// How many classified chunks a worker may hold before the calling thread takes them.
const AHEAD: usize = 2;
/// Most workers started, however many cores there are.
const MAX_WORKERS: usize = 8;

/// One classified chunk: the buffer it was read into, and its lines that a signature matched,
/// read as far as they can be out of order.
#[derive(Debug, Default)]
struct Found {
    buf: Vec<u8>,
    hits: Vec<Matched>,
    /// Every matching line's fields, each line's after the last's.
    fields: Vec<(usize, Range<usize>)>,
}

/// A byte range of one file, `start` being a line start.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    pub start: u64,
    pub end: u64,
}

impl Region {
    fn chunks(self) -> u64 {
        (self.end - self.start).div_ceil(CHUNK as u64)
    }
}

/// How many workers to start: one per core.
pub fn workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS))
}

/// Scans `region` of `file` with `workers` threads, recording matches in `tally` in file
/// order. `keep_going` hears the running byte count after every chunk; when it says no, the
/// scan stops there and `scan.stopped` is set. Returns the bytes scanned.
pub fn scan_region(
    file: &File,
    region: Region,
    workers: usize,
    scan: &mut Scan,
    tally: &mut Tally,
    keep_going: &mut dyn FnMut(u64) -> bool,
) -> io::Result<u64> {
    let (signatures, clock) = (scan.signatures, scan.clock);
    let stop = AtomicBool::new(false);
    thread::scope(|threads| {
        let mut inboxes = Vec::new();
        let mut used = Vec::new();
        for index in 0..workers {
            let (outbox, inbox) = sync_channel(AHEAD);
            let (give_back, spare) = channel();
            inboxes.push(inbox);
            used.push(give_back);
            let stop = &stop;
            let clock = clock.clone();
            threads.spawn(move || {
                let chunks = (index as u64..region.chunks()).step_by(workers);
                let worker = Worker { file, region, signatures, clock };
                worker.classify_chunks(chunks, (&outbox, &spare), stop);
            });
        }
        let result = apply_in_order(region, (&inboxes, &used), scan, tally, keep_going);
        stop.store(true, Ordering::Relaxed);
        // Dropping the inboxes wakes any worker blocked on a full one.
        drop(inboxes);
        result
    })
}

/// Takes each chunk's matches from the worker that classified it, in file order, and gives
/// the chunk's buffer back to it.
fn apply_in_order(
    region: Region,
    (inboxes, used): (&[Receiver<io::Result<Found>>], &[Sender<Found>]),
    scan: &mut Scan,
    tally: &mut Tally,
    keep_going: &mut dyn FnMut(u64) -> bool,
) -> io::Result<u64> {
    let mut done = 0_u64;
    for chunk in 0..region.chunks() {
        let worker = (chunk % inboxes.len() as u64) as usize;
        let found = inboxes[worker]
            .recv()
            .map_err(|_| io::Error::other("a scanning thread ended early"))??;
        for matched in &found.hits {
            let (fields, line) =
                (&found.fields[matched.fields.clone()], &found.buf[matched.line.clone()]);
            scan.accept_matched(matched, fields, line, tally);
        }
        // A worker that has ended no longer needs it.
        let _ = used[worker].send(found);
        done = (region.start + (chunk + 1) * CHUNK as u64).min(region.end) - region.start;
        if !keep_going(done) {
            scan.stopped = true;
            break;
        }
    }
    Ok(done)
}

/// One scanning thread: what it reads with.
struct Worker<'a> {
    file: &'a File,
    region: Region,
    signatures: &'a Signatures,
    /// The worker's own: a clock caches the zone's offsets as it goes.
    clock: Clock,
}

impl Worker<'_> {
    /// Reads and classifies chunks until they run out, the scan stops, or the calling thread
    /// no longer listens. Each chunk is read into a buffer the calling thread gave back, when
    /// one is back.
    fn classify_chunks(
        &self,
        chunks: impl Iterator<Item = u64>,
        (outbox, spare): (&SyncSender<io::Result<Found>>, &Receiver<Found>),
        stop: &AtomicBool,
    ) {
        let mut fields = Vec::new();
        for chunk in chunks {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let mut found = spare.try_recv().unwrap_or_default();
            let classified = self.classify(chunk, &mut found, &mut fields);
            let failed = classified.is_err();
            if outbox.send(classified.map(|()| found)).is_err() || failed {
                return;
            }
        }
    }

    /// Reads chunk `chunk` into `found`: its matching lines, their times and their fields.
    fn classify(
        &self,
        chunk: u64,
        found: &mut Found,
        fields: &mut Vec<(usize, Range<usize>)>,
    ) -> io::Result<()> {
        let Found { buf, hits, fields: all } = found;
        hits.clear();
        all.clear();
        let lines = chunk_lines(self.file, self.region, chunk, buf)?;
        let base = lines.start;
        matching_lines(self.signatures, &buf[lines], &mut |index, line| {
            let line = base + line.start..base + line.end;
            let text = &buf[line.clone()];
            self.signatures.fields_in(text, fields);
            let at = all.len();
            all.extend_from_slice(fields);
            let time = line_time(text, &self.clock);
            hits.push(Matched { index, line, time, fields: at..all.len() });
        });
        Ok(())
    }
}

/// The lines that start in chunk `chunk` of `region`, read into `buf`: where the chunk's bytes
/// from its first line start are, with the rest of its last line — up to [`MAX_LINE`] bytes of
/// it, all that is classified.
fn chunk_lines(
    file: &File,
    region: Region,
    chunk: u64,
    buf: &mut Vec<u8>,
) -> io::Result<Range<usize>> {
    let lo = region.start + chunk * CHUNK as u64;
    let hi = (lo + CHUNK as u64).min(region.end);
    // From the byte before the chunk, to see whether a line starts at its first byte.
    let from = if lo == region.start { lo } else { lo - 1 };
    let len = read_at(file, buf, 0, from, hi)?;
    let first = if lo == region.start {
        0
    } else {
        match memchr(b'\n', &buf[..len]) {
            Some(newline) => newline + 1,
            // A line that started in an earlier chunk covers this one.
            None => return Ok(0..0),
        }
    };
    if first >= len || buf[len - 1] == b'\n' || hi == region.end {
        return Ok(first..len);
    }
    let last_start = memrchr(b'\n', &buf[first..len]).map_or(first, |i| first + i + 1);
    let end = finish_last_line(file, buf, len, hi, region.end, last_start)?;
    Ok(first..end)
}

/// Reads on past `hi` (into `buf` after its first `len` bytes) until the line starting at
/// `last_start` ends or [`MAX_LINE`] bytes of it are in; returns where the line's classified
/// part ends in `buf`.
fn finish_last_line(
    file: &File,
    buf: &mut Vec<u8>,
    mut len: usize,
    hi: u64,
    region_end: u64,
    last_start: usize,
) -> io::Result<usize> {
    const STEP: u64 = 4096;
    let limit = last_start + MAX_LINE;
    let mut next = hi;
    while len < limit && next < region_end {
        let upto = (next + STEP).min(region_end).min(next + (limit - len) as u64);
        let added = read_at(file, buf, len, next, upto)?;
        if let Some(newline) = memchr(b'\n', &buf[len..len + added]) {
            return Ok(len + newline);
        }
        if added == 0 {
            // The file ended early (truncated while being read).
            break;
        }
        len += added;
        next = upto;
    }
    Ok(len.min(limit))
}

/// Reads bytes `from..to` of the file into `buf` at `at`, growing it when needed (it never
/// shrinks, so a buffer is zeroed once); returns how many were read (fewer if the
/// file is shorter now).
fn read_at(file: &File, buf: &mut Vec<u8>, at: usize, from: u64, to: u64) -> io::Result<usize> {
    let want = (to - from) as usize;
    if buf.len() < at + want {
        buf.resize(at + want, 0);
    }
    let mut filled = 0;
    while filled < want {
        match file.read_at(&mut buf[at + filled..at + want], from + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::checks::logs::time::Clock;

    /// Lines of every kind the scanner meets, long ones across chunk boundaries included, with
    /// times so that first and last lines are told apart.
    fn log() -> Vec<u8> {
        let sigs = Signatures::builtin().unwrap();
        let mut log = Vec::new();
        let mut n = 0_usize;
        while log.len() < 14 * CHUNK {
            let example = &sigs.list[n % sigs.list.len()].example;
            let t = 1_796_100_000 + i64::try_from(n).unwrap();
            let stamp = jiff::Timestamp::from_second(t).unwrap().strftime("%Y/%m/%d %H:%M:%S");
            match n % 7 {
                0 => writeln!(log, "{stamp} [error] {example}").unwrap(),
                1 => writeln!(log, "{stamp} {}", "y".repeat(n % 5000)).unwrap(),
                2 if n % 1000 == 2 => {
                    writeln!(log, "{stamp} {example}{}", "x".repeat(MAX_LINE)).unwrap();
                }
                _ => writeln!(log, "{example}").unwrap(),
            }
            n += 1;
        }
        log.extend_from_slice(b"no newline at the end: connect() failed (111: Connection refused) while connecting to upstream");
        log
    }

    #[test]
    fn every_worker_count_records_what_one_pass_records() {
        let sigs = Signatures::builtin().unwrap();
        let clock = Clock::new(1_796_110_222, jiff::tz::TimeZone::UTC);
        let text = log();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&text).unwrap();
        let mut one = Tally::default();
        Scan::new(&sigs, &clock, "t.log").read(text.as_slice(), &mut one, &mut |_| true).unwrap();
        assert!(one.matched_lines() > 1000);
        for workers in [1, 2, 3] {
            let mut tally = Tally::default();
            let mut scan = Scan::new(&sigs, &clock, "t.log");
            let region = Region { start: 0, end: text.len() as u64 };
            let read = scan_region(&file, region, workers, &mut scan, &mut tally, &mut |_| true);
            assert_eq!(read.unwrap(), text.len() as u64);
            assert_eq!(tally.hits, one.hits, "{workers} workers");
            assert_eq!(tally.upstreams, one.upstreams, "{workers} workers");
            assert_eq!(tally.groups, one.groups, "{workers} workers");
            assert_eq!(tally.ungrouped, one.ungrouped, "{workers} workers");
        }
    }

    #[test]
    fn a_stopped_scan_says_so_and_stops_its_workers() {
        let sigs = Signatures::builtin().unwrap();
        let clock = Clock::new(1_796_110_222, jiff::tz::TimeZone::UTC);
        let text = log();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&text).unwrap();
        let mut scan = Scan::new(&sigs, &clock, "t.log");
        let region = Region { start: 0, end: text.len() as u64 };
        let mut tally = Tally::default();
        let read = scan_region(&file, region, 2, &mut scan, &mut tally, &mut |n| n < CHUNK as u64);
        assert_eq!(read.unwrap(), CHUNK as u64, "stops after the chunk that said no");
        assert!(scan.stopped);
    }
}
