//! Log-scan benchmark (run on demand, never in the test suite):
//!
//!     cargo bench --bench log_scan            # 3 GiB; LOG_BENCH_GIB=10 for more
//!
//! Generates an nginx error log of several GiB spanning a week into a temp dir (deleted at the
//! end), then measures
//! 1. the incident-window scan (`--since 30m`): bytes read against the file's size and time;
//! 2. the full-file scan (`--since all`) against ripgrep on the same file with the same
//!    patterns (`rg -c -f patterns.txt`), best of three warm runs each; the two must count the
//!    same lines.
//!
//! The figures go to docs/benchmarks.md, "Log scan", by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cast_possible_wrap,
    clippy::format_collect
)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use triage::checks::logs::time::Clock;
use triage::checks::logs::{self, Params};
use triage::contract::evidence::logs::LogsEvidence;
use triage::contract::{Evidence, Progress};
use triage::knowledge::signatures::Signatures;

/// The log ends here: 2026-12-01 07:30:22 UTC.
const END: i64 = 1_796_110_222;
const SPAN: i64 = 7 * 86_400;

/// Lines that match no signature (most of a real error log), and near misses.
const NOISE: &[&str] = &[
    "[notice] 1234#1234: signal process started",
    "[warn] 1234#1234: *{n} an upstream response is buffered to a temporary file /var/lib/nginx/proxy/7/45/0000000457 while reading upstream, client: 203.0.113.7, server: shop.example.com, request: \"GET /feed HTTP/1.1\", upstream: \"http://127.0.0.1:8000/feed\", host: \"shop.example.com\"",
    "[error] 1234#1234: *{n} open() \"/var/www/html/favicon.ico\" failed (2: No such file or directory), client: 203.0.113.7, server: shop.example.com, request: \"GET /favicon.ico HTTP/1.1\", host: \"shop.example.com\"",
    "[info] 1234#1234: *{n} client 203.0.113.7 closed keepalive connection",
    "[warn] 1234#1234: *{n} a client request body is buffered to a temporary file /var/lib/nginx/body/0000000001, client: 203.0.113.7, server: shop.example.com, request: \"POST /upload HTTP/1.1\", host: \"shop.example.com\"",
    "[error] 1234#1234: *{n} FastCGI sent in stderr: \"PHP message: PHP Warning:  Undefined array key \"id\" in /var/www/html/product.php on line 42\" while reading response header from upstream, client: 203.0.113.7, server: shop.example.com, request: \"GET /product.php HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"shop.example.com\"",
];

/// Lines that match a signature, about one in twenty lines.
const ERRORS: &[&str] = &[
    "[error] 1234#1234: *{n} connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: shop.example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:9000/\", host: \"shop.example.com\"",
    "[error] 1234#1234: *{n} upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.7, server: shop.example.com, request: \"POST /checkout HTTP/1.1\", upstream: \"http://127.0.0.1:8000/checkout\", host: \"shop.example.com\"",
    "[error] 1234#1234: *{n} upstream prematurely closed connection while reading response header from upstream, client: 203.0.113.7, server: shop.example.com, request: \"GET / HTTP/1.1\", upstream: \"http://127.0.0.1:8000/\", host: \"shop.example.com\"",
    "[error] 1234#1234: *{n} FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 134217728 bytes exhausted (tried to allocate 20480 bytes) in /var/www/html/wp-includes/class-wpdb.php on line 2056\" while reading response header from upstream, client: 203.0.113.7, server: shop.example.com, request: \"GET / HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock:\", host: \"shop.example.com\"",
];

fn generate(path: &Path, bytes: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let (mut written, mut n) = (0_u64, 0_u64);
    let mut stamp = String::new();
    let mut stamped = i64::MIN;
    while written < bytes {
        // Time advances with the bytes written, so the log ends at END whatever the line mix.
        let t = END - SPAN + (i128::from(written) * i128::from(SPAN) / i128::from(bytes)) as i64;
        if t != stamped {
            stamp =
                jiff::Timestamp::from_second(t).unwrap().strftime("%Y/%m/%d %H:%M:%S").to_string();
            stamped = t;
        }
        let template = if n % 20 == 7 {
            ERRORS[(n / 20) as usize % ERRORS.len()]
        } else {
            NOISE[n as usize % NOISE.len()]
        };
        let line = format!("{stamp} {}\n", template.replace("{n}", &n.to_string()));
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        n += 1;
    }
    out.flush().unwrap();
    written
}

fn scan(path: &Path, since: Option<u64>) -> (Duration, LogsEvidence) {
    let params = Params {
        since_minutes: since,
        files: vec![path.to_path_buf()],
        config_logs: Vec::new(),
        time_limit: None,
        site: None,
        access_logs: Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let clock = Clock::new(END + 60, jiff::tz::TimeZone::UTC);
    let start = Instant::now();
    let report = runtime.block_on(logs::run_with(params, clock, Progress::none()));
    let elapsed = start.elapsed();
    let Evidence::Logs(evidence) = report.evidence else { panic!("{}", report.summary) };
    (elapsed, *evidence)
}

fn ripgrep(path: &Path, patterns: &Path) -> (Duration, u64) {
    let start = Instant::now();
    let out = Command::new("rg").args(["-c", "-f"]).arg(patterns).arg(path).output().unwrap();
    let elapsed = start.elapsed();
    let count = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    (elapsed, count)
}

fn best<T>(runs: usize, mut f: impl FnMut() -> (Duration, T)) -> (Duration, T) {
    let mut best = f();
    for _ in 1..runs {
        let next = f();
        if next.0 < best.0 {
            best = next;
        }
    }
    best
}

fn main() {
    let gib: u64 = std::env::var("LOG_BENCH_GIB").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("error.log");
    let patterns = dir.path().join("patterns.txt");
    let sigs = Signatures::builtin().unwrap();
    std::fs::write(
        &patterns,
        sigs.list.iter().map(|s| format!("{}\n", s.pattern)).collect::<String>(),
    )
    .unwrap();

    let start = Instant::now();
    let size = generate(&log, gib << 30);
    println!(
        "generated {} in {:.1} s ({} signatures)",
        triage::text::bytes(size),
        start.elapsed().as_secs_f64(),
        sigs.list.len()
    );

    let (window_time, window) = best(3, || scan(&log, Some(30)));
    let read = window.files[0].bytes_read;
    let window_matches: u64 = window.signatures.iter().map(|h| h.count).sum();
    println!(
        "window scan (--since 30m): read {} of {} ({:.3}%), {:.3} s, {window_matches} matching lines",
        triage::text::bytes(read),
        triage::text::bytes(size),
        read as f64 * 100.0 / size as f64,
        window_time.as_secs_f64()
    );

    let (ours, full) = best(3, || scan(&log, None));
    let our_count: u64 = full.signatures.iter().map(|h| h.count).sum();
    let (theirs, rg_count) = best(3, || ripgrep(&log, &patterns));
    let gbps = |d: Duration| size as f64 / d.as_secs_f64() / f64::from(1 << 30);
    println!(
        "full scan, triage (--since all): {:.2} s ({:.2} GiB/s), {our_count} matching lines",
        ours.as_secs_f64(),
        gbps(ours)
    );
    println!(
        "full scan, rg -c -f patterns.txt: {:.2} s ({:.2} GiB/s), {rg_count} matching lines",
        theirs.as_secs_f64(),
        gbps(theirs)
    );
    println!("ratio triage / ripgrep: {:.2}", ours.as_secs_f64() / theirs.as_secs_f64());
    assert_eq!(our_count, rg_count, "triage and ripgrep must count the same lines");
}
