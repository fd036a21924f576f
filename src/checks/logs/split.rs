//! Scanning a large part of a regular file on every core. The part is cut into chunks of
//! [`CHUNK`] bytes; a line belongs to the chunk it starts in. Worker threads read their chunks
//! with positioned reads and classify them (the prefilter, then the regexes of candidate
//! lines — the costly part); the calling thread applies the matches chunk by chunk in file
//! order, so the window, the counts and the first lines come out exactly as one sequential
//! pass would give them. Workers run at most [`AHEAD`] chunks ahead, so memory stays a few
//! chunks whatever the file's size. Read-only, like every reader of the check.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use memchr::{memchr, memrchr};

use super::scan::{CHUNK, MAX_LINE, Scan, Tally, matching_lines};
use crate::knowledge::signatures::Signatures;

/// Parts smaller than this are read on one thread: starting workers would cost more than
/// they save.
pub const PARALLEL_MIN: u64 = 4 * CHUNK as u64;
/// How many classified chunks a worker may hold before the calling thread takes them.
const AHEAD: usize = 2;
/// Most workers started, however many cores there are.
const MAX_WORKERS: usize = 8;

/// The lines of one chunk that a signature matched, packed into one buffer.
#[derive(Debug, Default)]
struct Found {
    /// The matching lines, back to back.
    lines: Vec<u8>,
    /// For each matching line: the signature's index and where the line ends in `lines`.
    hits: Vec<(usize, usize)>,
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
    let signatures = scan.signatures;
    let stop = AtomicBool::new(false);
    thread::scope(|threads| {
        let mut inboxes = Vec::new();
        for worker in 0..workers {
            let (outbox, inbox) = sync_channel(AHEAD);
            inboxes.push(inbox);
            let stop = &stop;
            threads.spawn(move || {
                let chunks = (worker as u64..region.chunks()).step_by(workers);
                classify_chunks(file, region, signatures, chunks, &outbox, stop);
            });
        }
        let result = apply_in_order(region, &inboxes, scan, tally, keep_going);
        stop.store(true, Ordering::Relaxed);
        // Dropping the inboxes wakes any worker blocked on a full one.
        drop(inboxes);
        result
    })
}

/// Takes each chunk's matches from the worker that classified it, in file order.
fn apply_in_order(
    region: Region,
    inboxes: &[Receiver<io::Result<Found>>],
    scan: &mut Scan,
    tally: &mut Tally,
    keep_going: &mut dyn FnMut(u64) -> bool,
) -> io::Result<u64> {
    let mut done = 0_u64;
    for chunk in 0..region.chunks() {
        let inbox = &inboxes[(chunk % inboxes.len() as u64) as usize];
        let found =
            inbox.recv().map_err(|_| io::Error::other("a scanning thread ended early"))??;
        let mut from = 0;
        for &(index, end) in &found.hits {
            scan.accept(index, &found.lines[from..end], tally);
            from = end;
        }
        done = (region.start + (chunk + 1) * CHUNK as u64).min(region.end) - region.start;
        if !keep_going(done) {
            scan.stopped = true;
            break;
        }
    }
    Ok(done)
}

/// One worker: reads and classifies its chunks until they run out, the scan stops, or the
/// calling thread no longer listens.
fn classify_chunks(
    file: &File,
    region: Region,
    signatures: &Signatures,
    chunks: impl Iterator<Item = u64>,
    outbox: &SyncSender<io::Result<Found>>,
    stop: &AtomicBool,
) {
    let mut buf = Vec::new();
    for chunk in chunks {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let found = chunk_lines(file, region, chunk, &mut buf).map(|lines| {
            let mut found = Found::default();
            matching_lines(signatures, lines, &mut |index, line| {
                found.lines.extend_from_slice(line);
                found.hits.push((index, found.lines.len()));
            });
            found
        });
        let failed = found.is_err();
        if outbox.send(found).is_err() || failed {
            return;
        }
    }
}

/// The lines that start in chunk `chunk` of `region`, read into `buf`: the chunk's bytes from
/// its first line start, and the rest of its last line — up to [`MAX_LINE`] bytes of it, all
/// that is classified.
fn chunk_lines<'b>(
    file: &File,
    region: Region,
    chunk: u64,
    buf: &'b mut Vec<u8>,
) -> io::Result<&'b [u8]> {
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
            None => return Ok(&[]),
        }
    };
    if first >= len || buf[len - 1] == b'\n' || hi == region.end {
        return Ok(&buf[first..len]);
    }
    let last_start = memrchr(b'\n', &buf[first..len]).map_or(first, |i| first + i + 1);
    let end = finish_last_line(file, buf, len, hi, region.end, last_start)?;
    Ok(&buf[first..end])
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
/// shrinks, so a worker's buffer is zeroed once); returns how many were read (fewer if the
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
        while log.len() < 3 * CHUNK + CHUNK / 2 {
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
