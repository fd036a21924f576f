//! How much longer `triage check --count 1` takes than `curl -sI` on the same URL, side by side
//! in one run, for three upstreams behind a real nginx on loopback: one that refuses, one that
//! never answers (nginx gives up after `proxy_read_timeout 2s`), and a healthy one. The checks
//! of different hops run at once and an upstream probe waits no longer than the proxy does, so
//! triage should take what the public probe takes, plus its own start-up and the local reads.
//!
//! `cargo bench --bench check_latency` (release build; needs nginx-light and curl). Figures go
//! to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::Nginx;

const ROUNDS: usize = 7;

fn main() {
    let scenarios: [(&str, Option<Duration>); 3] = [
        ("refused", None),
        ("timing out (2 s)", Some(Duration::from_secs(30))),
        ("healthy", Some(Duration::ZERO)),
    ];
    println!("| upstream | curl -sI (median of {ROUNDS}) | triage check --count 1 | difference |");
    println!("| --- | --- | --- | --- |");
    for (name, delay) in scenarios {
        let port = delay.map_or_else(support::free_port, upstream);
        let Some(nginx) = Nginx::start(&format!(
            "        location / {{\n            proxy_read_timeout 2s;\n            proxy_pass http://127.0.0.1:{port};\n        }}"
        )) else {
            eprintln!("nginx is not installed; nothing measured");
            return;
        };
        let (curl, triage) = measure(&nginx.url());
        let diff = triage.as_millis().cast_signed() - curl.as_millis().cast_signed();
        println!("| {name} | {} ms | {} ms | {diff:+} ms |", curl.as_millis(), triage.as_millis());
    }
}

/// Medians of alternating runs of curl and triage.
fn measure(url: &str) -> (Duration, Duration) {
    let mut curl = Vec::new();
    let mut triage = Vec::new();
    for _ in 0..ROUNDS {
        curl.push(time(Command::new("curl").args(["-sI", "-o", "/dev/null", url])));
        let bin = env!("CARGO_BIN_EXE_triage");
        triage.push(time(Command::new(bin).args(["check", "--count", "1", "--json", url])));
    }
    (median(curl), median(triage))
}

fn time(command: &mut Command) -> Duration {
    let started = Instant::now();
    command.stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
    started.elapsed()
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// An upstream that answers after `delay` (never, for a long one).
fn upstream(delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                std::thread::sleep(delay);
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n",
                );
            });
        }
    });
    port
}
