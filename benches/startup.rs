//! What start-up costs, part by part: each embedded table loaded from its YAML (parse and
//! checks), and each redaction pattern compiled, in-process, median of many loads. The TUI's first frame and every `triage check`
//! and `triage logs` pay for the tables they need, once per process.
//!
//! `cargo bench --bench startup`. Figures go to docs/benchmarks.md by hand.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use triage::diagnosis::Rules;
use triage::knowledge::fingerprints::Table;
use triage::knowledge::services;
use triage::knowledge::signatures::Signatures;
use triage::runbook::{builtin, library};

const ROUNDS: usize = 31;

fn main() {
    println!("| part (median of {ROUNDS} loads in one process) | time |");
    println!("| --- | --- |");
    // Both keep the zone once found: only the first call pays for finding and naming it.
    let started = Instant::now();
    std::hint::black_box(&triage::clock::zone().name);
    let took = started.elapsed().as_secs_f64() * 1e3;
    println!("| system time zone, rules and name (`clock::zone`, first call) | {took:.2} ms |");
    let started = Instant::now();
    std::hint::black_box(jiff::tz::TimeZone::system().iana_name());
    let took = started.elapsed().as_secs_f64() * 1e3;
    println!("| the same from jiff (`TimeZone::system`, first call) | {took:.2} ms |");
    row("built-in runbook `http-5xx` from its YAML (parse, validate)", || {
        builtin::sources()[0].load().unwrap();
    });
    row("built-in runbook `http-5xx` as the walk loads it (its compiled copy)", || {
        library::resolve("http-5xx").unwrap();
    });
    row("diagnosis rules (assets/diagnosis.yaml)", || {
        Rules::builtin().unwrap();
    });
    row("log signatures (assets/log-signatures.yaml, literal selection)", || {
        Signatures::builtin().unwrap();
    });
    row("fingerprints (assets/fingerprints.yaml)", || {
        Table::builtin().unwrap();
    });
    row("services (assets/stack.yaml)", || {
        services::builtin().unwrap();
    });
    // Each is compiled by the first text its gate lets through (`redact/gate.rs`), as
    // `redact/compiled.rs` builds it; beside it, the same source as `regex::Regex` builds it.
    for (name, source) in triage::redact::pattern_sources() {
        row(&format!("redaction pattern `{name}` compiled"), || {
            assert!(triage::redact::compile_pattern(name));
        });
        row("the same by `regex::Regex::new`", || {
            regex::Regex::new(&source).unwrap();
        });
    }
}

fn row(what: &str, mut load: impl FnMut()) {
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            load();
            started.elapsed()
        })
        .collect();
    times.sort();
    println!("| {what} | {:.2} ms |", times[ROUNDS / 2].as_secs_f64() * 1e3);
}
