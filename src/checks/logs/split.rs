//! Scanning a large part of a regular file on every core. The part is cut into chunks of
//! [`CHUNK`] bytes; a line belongs to the chunk it starts in. Each thread, the calling one
//! included, claims the next chunk no thread has claimed, reads it with a positioned read and
//! classifies it (the prefilter, then the regexes of candidate lines — the costly part). The
//! calling thread also applies the matches chunk by chunk in file order, so the window, the
//! counts and the first lines come out exactly as one sequential pass would give them, and
//! while the chunk it needs next is not in yet it classifies one itself. So there is one
//! thread per core and none waits while there is work: with a thread per core that only
//! classified and another that only applied, two shared a core while the other stood idle
//! (the scheduler does not move a thread that has just run). A chunk travels to the calling
//! thread in the buffer it was read into, with where its matching lines are, and the buffer
//! goes back to the thread that read it: nothing is copied, and a thread touches at most
//! [`BUFFERS`] buffers' worth of fresh memory whatever the file's size (fresh pages cost a
//! fault each). Read-only, like every reader of the check.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;

use memchr::{memchr, memrchr};

use super::scan::{MAX_LINE, Matched, Scan, matching_lines};
use super::tally::Tally;
use super::time::{Clock, line_time};
use crate::knowledge::signatures::Signatures;

/// How much of the part one thread classifies at a time: small enough that an incident
/// window of a few MiB is shared evenly and the calling thread starts applying early, large
/// enough that handing chunks over costs nothing next to classifying them.
pub const CHUNK: usize = 256 << 10;
/// Parts smaller than this are read on one thread: starting workers would cost more than
/// they save.
pub const PARALLEL_MIN: u64 = 4 * CHUNK as u64;
/// How many buffers each thread reads chunks into: one being classified, the others waiting
/// to be applied.
const BUFFERS: usize = 3;
/// Most threads that classify, however many cores there are.
const MAX_THREADS: usize = 8;

/// One classified chunk: the buffer it was read into, and its lines that a signature matched,
/// read as far as they can be out of order.
#[derive(Debug, Default)]
struct Found {
    buf: Vec<u8>,
    hits: Vec<Matched>,
    /// Every matching line's fields, each line's after the last's.
    fields: Vec<(usize, Range<usize>)>,
}

/// A chunk on its way to being applied: which one, whose buffer it is in (`None`: the calling
/// thread's) and whether it could be read.
#[derive(Debug)]
struct Classified {
    chunk: u64,
    owner: Option<usize>,
    found: Found,
    read: io::Result<()>,
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

/// The chunks of a region, handed out in file order to whichever thread asks first.
#[derive(Debug)]
struct Chunks {
    next: AtomicU64,
    count: u64,
    stop: AtomicBool,
}

impl Chunks {
    /// The next chunk nobody has claimed; `None` when there are no more or the scan stopped.
    fn claim(&self) -> Option<u64> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let chunk = self.next.fetch_add(1, Ordering::Relaxed);
        (chunk < self.count).then_some(chunk)
    }
}

/// How many threads to start besides the calling one, which classifies too: one per other
/// core.
pub fn workers() -> usize {
    thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS)) - 1
}

/// Scans `region` of `file` on the calling thread and `workers` more, recording matches in
/// `tally` in file order. `keep_going` hears the running byte count after every chunk; when it
/// says no, the scan stops there and `scan.stopped` is set. Returns the bytes scanned.
pub fn scan_region(
    file: &File,
    region: Region,
    workers: usize,
    scan: &mut Scan,
    tally: &mut Tally,
    keep_going: &mut dyn FnMut(u64) -> bool,
) -> io::Result<u64> {
    let (signatures, clock) = (scan.signatures, scan.clock);
    let chunks = Chunks { next: AtomicU64::new(0), count: region.chunks(), stop: false.into() };
    let reader = |clock: &Clock| Worker { file, region, signatures, clock: clock.clone() };
    thread::scope(|threads| {
        let (outbox, inbox) = channel();
        let mut give_back = Vec::new();
        for owner in 0..workers {
            let (back, spare) = channel();
            give_back.push(back);
            let (worker, outbox, chunks) = (reader(clock), outbox.clone(), &chunks);
            threads.spawn(move || worker.classify_claimed(owner, chunks, &outbox, &spare));
        }
        drop(outbox);
        let applier = Applier { worker: reader(clock), chunks: &chunks, inbox, give_back };
        let result = applier.apply_in_order(scan, tally, keep_going);
        chunks.stop.store(true, Ordering::Relaxed);
        // Dropping the channels wakes any worker waiting for a buffer.
        drop(applier);
        result
    })
}

/// The calling thread's part of a scan.
struct Applier<'a> {
    worker: Worker<'a>,
    chunks: &'a Chunks,
    inbox: Receiver<Classified>,
    /// Where each worker's buffers go back to.
    give_back: Vec<Sender<Found>>,
}

impl Applier<'_> {
    /// Applies each chunk's matches in file order, and gives its buffer back to the thread
    /// that read it.
    fn apply_in_order(
        &self,
        scan: &mut Scan,
        tally: &mut Tally,
        keep_going: &mut dyn FnMut(u64) -> bool,
    ) -> io::Result<u64> {
        let region = self.worker.region;
        let (mut pending, mut own, mut fields) = (BTreeMap::new(), Vec::new(), Vec::new());
        own.resize_with(BUFFERS, Found::default);
        let mut done = 0_u64;
        for chunk in 0..self.chunks.count {
            let Classified { owner, found, read, .. } =
                self.next_in_order(chunk, &mut pending, &mut own, &mut fields)?;
            read?;
            for matched in &found.hits {
                let (fields, line) =
                    (&found.fields[matched.fields.clone()], &found.buf[matched.line.clone()]);
                scan.accept_matched(matched, fields, line, tally);
            }
            match owner {
                // A worker that has ended no longer needs it.
                Some(worker) => drop(self.give_back[worker].send(found)),
                None => own.push(found),
            }
            done = (region.start + (chunk + 1) * CHUNK as u64).min(region.end) - region.start;
            if !keep_going(done) {
                scan.stopped = true;
                break;
            }
        }
        Ok(done)
    }

    /// Chunk `chunk`, classified: from those already in, else from the workers as they send
    /// them, classifying the next unclaimed chunk here (into one of `own` buffers) whenever
    /// nothing is in and a buffer is free.
    fn next_in_order(
        &self,
        chunk: u64,
        pending: &mut BTreeMap<u64, Classified>,
        own: &mut Vec<Found>,
        fields: &mut Vec<(usize, Range<usize>)>,
    ) -> io::Result<Classified> {
        loop {
            if let Some(classified) = pending.remove(&chunk) {
                return Ok(classified);
            }
            let classified = match self.inbox.try_recv() {
                Ok(classified) => classified,
                Err(_) => match self.help(own, fields) {
                    Some(classified) => classified,
                    None => self
                        .inbox
                        .recv()
                        .map_err(|_| io::Error::other("a scanning thread ended early"))?,
                },
            };
            pending.insert(classified.chunk, classified);
        }
    }

    /// Classifies the next unclaimed chunk here, into one of `own` buffers; `None` when no
    /// buffer is free or no chunk is left.
    fn help(
        &self,
        own: &mut Vec<Found>,
        fields: &mut Vec<(usize, Range<usize>)>,
    ) -> Option<Classified> {
        let found = own.pop()?;
        if let Some(next) = self.chunks.claim() {
            Some(self.worker.classify(next, None, found, fields))
        } else {
            own.push(found);
            None
        }
    }
}

/// One scanning thread: what it reads with.
struct Worker<'a> {
    file: &'a File,
    region: Region,
    signatures: &'a Signatures,
    /// The thread's own: a clock caches the zone's offsets as it goes.
    clock: Clock,
}

impl Worker<'_> {
    /// Claims, reads and classifies chunks until they run out, the scan stops, or the calling
    /// thread no longer listens. Each chunk is read into one of the worker's [`BUFFERS`],
    /// waiting for the calling thread to give one back when all are out.
    fn classify_claimed(
        &self,
        owner: usize,
        chunks: &Chunks,
        outbox: &Sender<Classified>,
        spare: &Receiver<Found>,
    ) {
        let (mut fresh, mut fields) = (BUFFERS, Vec::new());
        loop {
            let found = match spare.try_recv() {
                Ok(found) => found,
                Err(_) if fresh > 0 => {
                    fresh -= 1;
                    Found::default()
                }
                Err(_) => match spare.recv() {
                    Ok(found) => found,
                    Err(_) => return,
                },
            };
            let Some(chunk) = chunks.claim() else { return };
            let classified = self.classify(chunk, Some(owner), found, &mut fields);
            let failed = classified.read.is_err();
            if outbox.send(classified).is_err() || failed {
                return;
            }
        }
    }

    /// Reads chunk `chunk` into `found`: its matching lines, their times and their fields.
    fn classify(
        &self,
        chunk: u64,
        owner: Option<usize>,
        mut found: Found,
        fields: &mut Vec<(usize, Range<usize>)>,
    ) -> Classified {
        let Found { buf, hits, fields: all } = &mut found;
        hits.clear();
        all.clear();
        let read = chunk_lines(self.file, self.region, chunk, buf).map(|lines| {
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
        });
        Classified { chunk, owner, found, read }
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
        for workers in [0, 1, 2, 3] {
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
