//! Finding the incident window in a log without reading it whole: a binary search by the
//! lines' own timestamps over a plain file (a few 64 KiB probes, even for 10 GB), and the
//! rotated siblings (`error.log.1`, `error.log.2.gz`, `error.log-20261201.gz`) that the window
//! reaches back into. It decides what to read; `scan` reads it. Read-only, and every read
//! here is bounded.

use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use flate2::read::MultiGzDecoder;

use super::time::{Clock, line_time};

/// One probe's read.
const BLOCK: usize = 64 * 1024;
/// How far a probe reads forward looking for a stamped line (a long stack trace, say).
const PROBE_LIMIT: usize = 16 * BLOCK;
/// Enough of a line's start to hold any timestamp format triage reads.
const LINE_HEAD: usize = 256;
/// What is read from the end of a log whose lines carry no timestamp triage knows.
pub const TAIL_BYTES: u64 = 32 << 20;
/// The most a compressed rotated log is decompressed.
pub const MAX_GZIP_BYTES: u64 = 2 << 30;
/// Rotated siblings looked at, newest first.
const MAX_ROTATED: usize = 10;

/// Where in one file the window begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Read from this byte offset (a line start) to the end. `before` is set when the file's
    /// first stamped line is already inside the window: the window began in an older file.
    At { offset: u64, before: bool },
    /// Nothing in this file is in the window.
    Nothing,
    /// No line carries a known timestamp: read the last [`TAIL_BYTES`].
    Untimed,
}

/// Binary search for the first line stamped at or after `cutoff`. Returns where to start and
/// the bytes the probes read.
pub fn window_start(file: &File, len: u64, cutoff: i64, clock: &Clock) -> io::Result<(Start, u64)> {
    let mut read = 0_u64;
    let Some((_, first)) = first_stamped(file, 0, clock, &mut read)? else {
        return Ok((Start::Untimed, read));
    };
    if first >= cutoff {
        return Ok((Start::At { offset: 0, before: true }, read));
    }
    if last_stamped(file, len, clock, &mut read)?.is_some_and(|t| t < cutoff) {
        return Ok((Start::Nothing, read));
    }
    let (mut lo, mut hi) = (0_u64, len);
    while hi - lo > BLOCK as u64 {
        let mid = lo + (hi - lo) / 2;
        match first_stamped(file, mid, clock, &mut read)? {
            Some((at, t)) if t < cutoff => lo = at,
            _ => hi = mid,
        }
    }
    // `lo` starts a line stamped before the cutoff (or is 0); the scan drops the few lines
    // between it and the window's first line by their timestamps.
    Ok((Start::At { offset: lo, before: false }, read))
}

/// The first line starting at or after `offset` that carries a timestamp: its offset and time.
/// Reads a block at a time, up to [`PROBE_LIMIT`].
fn first_stamped(
    file: &File,
    offset: u64,
    clock: &Clock,
    read: &mut u64,
) -> io::Result<Option<(u64, i64)>> {
    let mut buf = Vec::with_capacity(BLOCK);
    // Mid-file, the bytes up to the first newline belong to a line that started earlier.
    let mut pos: Option<usize> = (offset == 0).then_some(0);
    while buf.len() < PROBE_LIMIT {
        let start = buf.len();
        buf.resize(start + BLOCK, 0);
        let n = read_at_most(file, &mut buf[start..], offset + start as u64)?;
        *read += n as u64;
        buf.truncate(start + n);
        let at_end = n < BLOCK;
        if pos.is_none() {
            pos = memchr::memchr(b'\n', &buf).map(|i| i + 1);
        }
        if let Some(p) = pos.as_mut() {
            while let Some(end) = memchr::memchr(b'\n', &buf[*p..]).map(|i| *p + i) {
                if let Some(t) = line_time(&buf[*p..end], clock) {
                    return Ok(Some((offset + *p as u64, t)));
                }
                *p = end + 1;
            }
            if at_end && *p < buf.len() {
                return Ok(line_time(&buf[*p..], clock).map(|t| (offset + *p as u64, t)));
            }
        }
        if at_end {
            break;
        }
    }
    // A line longer than the probe (one 2 GB line, say) still starts with its timestamp.
    Ok(pos.filter(|&p| p < buf.len()).and_then(|p| {
        let head = &buf[p..buf.len().min(p + LINE_HEAD)];
        line_time(head, clock).map(|t| (offset + p as u64, t))
    }))
}

/// The time of the last stamped line in the file's final block.
fn last_stamped(file: &File, len: u64, clock: &Clock, read: &mut u64) -> io::Result<Option<i64>> {
    let from = len.saturating_sub(BLOCK as u64);
    let mut buf = vec![0_u8; BLOCK];
    let n = read_at_most(file, &mut buf, from)?;
    *read += n as u64;
    Ok(buf[..n].split(|&b| b == b'\n').rev().find_map(|line| line_time(line, clock)))
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The first stamped time in a gzip file's first block, and the bytes decompressed for it.
pub fn gzip_first_time(path: &Path, clock: &Clock) -> io::Result<(Option<i64>, u64)> {
    let mut head = Vec::with_capacity(BLOCK);
    MultiGzDecoder::new(crate::file::open_regular(path)?)
        .take(BLOCK as u64)
        .read_to_end(&mut head)?;
    let time = head.split(|&b| b == b'\n').find_map(|line| line_time(line, clock));
    Ok((time, head.len() as u64))
}

/// Whether `name` is a rotated sibling of `base`: `base.1`, `base.2.gz`, `base-20261201`,
/// `base-20261201.gz`.
pub fn is_rotated(base: &str, name: &str) -> bool {
    let Some(rest) = name.strip_prefix(base) else { return false };
    let rest = rest.strip_suffix(".gz").unwrap_or(rest);
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match rest.as_bytes().first() {
        Some(b'.') => digits(&rest[1..]),
        Some(b'-') => digits(&rest[1..]) && rest.len() == 9,
        _ => false,
    }
}

/// The rotated siblings of `path`, newest first (by modification time), at most ten.
pub fn rotated(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(base)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<(i64, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(|n| is_rotated(base, n)))
        .filter_map(|e| Some((modified(&e.metadata().ok()?), e.path())))
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    found.into_iter().take(MAX_ROTATED).map(|(_, p)| p).collect()
}

/// Modification time in Unix seconds (0 when unknown).
pub fn modified(meta: &fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub fn is_gzip(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn rotated_names_are_recognised() {
        for name in ["error.log.1", "error.log.2.gz", "error.log-20261201", "error.log-20261201.gz"]
        {
            assert!(is_rotated("error.log", name), "{name}");
        }
        for name in
            ["error.log", "error.log.bak", "error.log.1.xz", "error.log-old", "access.log.1"]
        {
            assert!(!is_rotated("error.log", name), "{name}");
        }
    }

    fn log_of_hours(hours: i64) -> (tempfile::NamedTempFile, u64) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let start = 1_796_110_222 - hours * 3600;
        let mut w = io::BufWriter::new(f.as_file_mut());
        for i in 0..hours * 3600 {
            let t = jiff::Timestamp::from_second(start + i).unwrap();
            writeln!(w, "{} [notice] 1#1: tick {i}", t.strftime("%Y/%m/%d %H:%M:%S")).unwrap();
        }
        drop(w);
        let len = f.as_file().metadata().unwrap().len();
        (f, len)
    }

    #[test]
    fn the_search_reads_a_few_blocks_and_lands_before_the_window() {
        let (f, len) = log_of_hours(6);
        let clock = Clock::new(1_796_110_222, jiff::tz::TimeZone::UTC);
        let cutoff = 1_796_110_222 - 1800;
        let (start, read) = window_start(f.as_file(), len, cutoff, &clock).unwrap();
        let Start::At { offset, before: false } = start else { panic!("{start:?}") };
        assert!(read < 40 * PROBE_LIMIT as u64, "read {read} of {len}");
        let mut rest = Vec::new();
        let mut file = File::open(f.path()).unwrap();
        io::Seek::seek(&mut file, io::SeekFrom::Start(offset)).unwrap();
        file.read_to_end(&mut rest).unwrap();
        let first = line_time(&rest, &clock).unwrap();
        assert!(first < cutoff && cutoff - first < 3600, "starts {} s early", cutoff - first);
        let window = (len - offset) as f64 / len as f64;
        assert!(window < 0.2, "reads {window:.2} of the file for 1/12 of its time");
    }

    #[test]
    fn old_and_untimed_files_are_told_apart() {
        let (f, len) = log_of_hours(1);
        let clock = Clock::new(1_796_110_222, jiff::tz::TimeZone::UTC);
        let later = 1_796_110_222 + 60;
        assert_eq!(window_start(f.as_file(), len, later, &clock).unwrap().0, Start::Nothing);
        let earlier = 1_796_110_222 - 7200;
        let (start, _) = window_start(f.as_file(), len, earlier, &clock).unwrap();
        assert_eq!(start, Start::At { offset: 0, before: true });
        let mut untimed = tempfile::NamedTempFile::new().unwrap();
        writeln!(untimed, "Error: connect ECONNREFUSED 127.0.0.1:5432").unwrap();
        let (start, _) = window_start(untimed.as_file(), 44, earlier, &clock).unwrap();
        assert_eq!(start, Start::Untimed);
    }
}
