//! The fast path can never drift from the plain meaning of the signature table. On a generated
//! log of a few MiB — every signature's example, near misses, noise, CRLF endings, empty lines,
//! lines longer than the classified part and than a whole read block, and no final newline —
//! the real check counts, per signature, exactly what a straightforward reference counts: each
//! line (cut to `MAX_LINE` bytes, without its `\r`) given to the first signature whose regex
//! matches it. The same log gzip-compressed counts the same.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use flate2::Compression;
use flate2::write::GzEncoder;
use regex::bytes::RegexSet;
use triage::checks::logs::scan::{CHUNK, MAX_LINE};
use triage::checks::logs::time::Clock;
use triage::checks::logs::{self, Params};
use triage::contract::{Evidence, Progress};
use triage::knowledge::signatures::Signatures;

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One line of the log (without its ending): an example, a near miss, noise, or a hostile
/// length.
fn line(rng: &mut Rng, examples: &[&str]) -> Vec<u8> {
    let example = examples[rng.below(examples.len())].as_bytes();
    match rng.below(20) {
        0..=5 => example.to_vec(),
        // Near misses: a byte changed, or the line cut short.
        6 | 7 => {
            let mut near = example.to_vec();
            let at = rng.below(near.len());
            near[at] = b"0x) (Z"[rng.below(6)];
            near
        }
        8 => example[..rng.below(example.len())].to_vec(),
        // Two examples on one line: the earlier signature in the table must win.
        9 => [example, b" | ", examples[rng.below(examples.len())].as_bytes()].concat(),
        // A match that starts beyond the classified part does not count; one before it does.
        10 if rng.below(8) == 0 => [vec![b'x'; MAX_LINE - 20], example.to_vec()].concat(),
        11 if rng.below(8) == 0 => [example.to_vec(), vec![b'y'; MAX_LINE + 500]].concat(),
        12 => Vec::new(),
        _ => {
            format!("2026/12/01 07:30:22 [notice] 1#1: *{} nothing to see here", rng.below(1 << 20))
                .into_bytes()
        }
    }
}

/// The generated log: ~6 MiB, so the scanner reads it in several blocks (and, on a machine with
/// more than one core, on several threads), with one line longer than a whole block.
fn generated(examples: &[&str]) -> Vec<u8> {
    let mut rng = Rng(0x5eed_1e55_c0ff_ee11);
    let mut log = Vec::new();
    while log.len() < 6 * CHUNK {
        if log.len() > 3 * CHUNK && log.len() < 3 * CHUNK + 2000 {
            log.extend(std::iter::repeat_n(b'z', CHUNK + CHUNK / 2));
            log.extend_from_slice(examples[0].as_bytes());
            log.push(b'\n');
        }
        log.extend(line(&mut rng, examples));
        if rng.below(4) == 0 {
            log.push(b'\r');
        }
        log.push(b'\n');
    }
    log.extend_from_slice(examples[1].as_bytes());
    log
}

/// Per signature id, the lines the reference gives it.
fn reference(sigs: &Signatures, log: &[u8]) -> BTreeMap<String, u64> {
    let set = RegexSet::new(sigs.list.iter().map(|s| &s.pattern)).unwrap();
    let mut counts = BTreeMap::new();
    for line in log.split(|&b| b == b'\n') {
        let line = &line[..line.len().min(MAX_LINE)];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(first) = set.matches(line).iter().next() {
            *counts.entry(sigs.list[first].id.clone()).or_default() += 1;
        }
    }
    counts
}

async fn counted(file: PathBuf) -> BTreeMap<String, u64> {
    let params = Params {
        since_minutes: None,
        files: vec![file],
        config_logs: Vec::new(),
        time_limit: None,
        site: None,
        access_logs: Vec::new(),
    };
    let clock = Clock::new(1_796_110_222, jiff::tz::TimeZone::UTC);
    let report = logs::run_with(params, clock, Progress::none()).await;
    let Evidence::Logs(evidence) = report.evidence else { panic!("{}", report.summary) };
    evidence.signatures.iter().map(|hit| (hit.id.clone(), hit.count)).collect()
}

#[tokio::test]
async fn every_signature_counts_what_the_reference_counts() {
    let sigs = Signatures::builtin().unwrap();
    let examples: Vec<&str> = sigs.list.iter().map(|s| s.example.as_str()).collect();
    let log = generated(&examples);
    let expected = reference(&sigs, &log);
    assert!(expected.len() > sigs.list.len() * 9 / 10, "the log exercises most signatures");

    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("error.log");
    std::fs::write(&plain, &log).unwrap();
    assert_eq!(counted(plain).await, expected, "plain file");

    let gzip = dir.path().join("error.log.2.gz");
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(&log).unwrap();
    std::fs::write(&gzip, encoder.finish().unwrap()).unwrap();
    assert_eq!(counted(gzip).await, expected, "gzip file");
}
