//! The log scan counts what GNU grep counts. On a generated nginx error log (the examples of the
//! twelve upstream-error signatures the benchmark uses, near misses and noise, one message a
//! line), the `logs` check's count for each signature equals `grep -c -E` with that signature's
//! pattern — the same figure docs/benchmarks.md compares against, on a small file.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

use triage::checks::logs::time::Clock;
use triage::checks::logs::{self, Params};
use triage::contract::{Evidence, Progress};
use triage::knowledge::signatures::Signatures;

/// The signatures of scripts/bench/logs: nginx's upstream errors.
const IDS: [&str; 12] = [
    "nginx_upstream_refused",
    "nginx_upstream_socket_missing",
    "nginx_upstream_socket_permission",
    "nginx_upstream_socket_backlog",
    "nginx_upstream_tcp_permission",
    "nginx_upstream_unreachable",
    "nginx_upstream_connect_timeout",
    "nginx_upstream_read_timeout",
    "nginx_upstream_prematurely_closed",
    "nginx_upstream_reset",
    "nginx_upstream_invalid_header",
    "nginx_no_live_upstreams",
];

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap()
    }
}

/// ~2 MiB of lines: examples, examples with a byte changed or cut short, and notices.
fn generated(examples: &[String]) -> String {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut log = String::new();
    while log.len() < 2 << 20 {
        let example = &examples[rng.below(examples.len())];
        let line = match rng.below(10) {
            0..=3 => example.clone(),
            4 => example.replacen("upstream", "upstrem", 1),
            5 => example[..rng.below(example.len())].to_owned(),
            _ => {
                format!("2026/12/01 07:30:22 [notice] 1#1: *{} signal process", rng.below(1 << 20))
            }
        };
        log.push_str(&line);
        log.push('\n');
    }
    log
}

/// `grep -c -E PATTERN FILE`, with the Rust regex's non-capturing groups as plain groups and
/// `\d` as `[0-9]` (what scripts/bench/patterns.sh does).
fn grep_count(pattern: &str, file: &Path) -> u64 {
    let pattern = pattern.replace("(?:", "(").replace("\\d", "[0-9]");
    let out = Command::new("grep").args(["-c", "-E", "-e", &pattern]).arg(file).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "grep failed: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

#[test]
fn each_signature_counts_what_grep_counts() {
    let sigs = Signatures::builtin().unwrap();
    let chosen: Vec<_> = IDS.iter().map(|id| sigs.get(id).unwrap()).collect();
    let examples: Vec<String> = chosen.iter().map(|s| s.example.clone()).collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("error.log");
    std::fs::write(&file, generated(&examples)).unwrap();

    let params = Params {
        since_minutes: None,
        files: vec![file.clone()],
        config_logs: Vec::new(),
        time_limit: None,
        site: None,
        access_logs: Vec::new(),
    };
    let clock = Clock::new(1_796_110_222, jiff::tz::TimeZone::UTC);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = runtime.block_on(logs::run_with(params, clock, Progress::none()));
    let Evidence::Logs(evidence) = report.evidence else { panic!("{}", report.summary) };
    for sig in chosen {
        let ours = evidence.signatures.iter().find(|h| h.id == sig.id).map_or(0, |h| h.count);
        let grep = grep_count(&sig.pattern, &file);
        assert!(grep > 0, "{}: the log holds its example", sig.id);
        assert_eq!(ours, grep, "{}: triage counts {ours}, grep {grep}", sig.id);
    }
}
