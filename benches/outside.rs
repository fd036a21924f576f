//! Benchmark (run on demand, not a test): the full set of outside checks of one URL —
//! `http_probe` (5 probes), `dns`, `tls` and `origin` — through `engine::run_all`, against
//! loopback servers that take `DELAY` to answer. Because the checks and the probes run at once,
//! the whole set should take about as long as its slowest single probe, not the sum.
//!
//! Run: `cargo bench --bench outside` (figures go in docs/benchmarks.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/outside_server/mod.rs"]
mod outside_server;

use std::time::{Duration, Instant};

use outside_server::{Cert, acceptor, read_head, response, serve};
use tokio::io::AsyncWriteExt;
use triage::contract::{CheckReport, CheckRequest, Evidence};
use triage::engine::{self, Limits};

const DELAY: Duration = Duration::from_millis(200);
const ROUNDS: usize = 7;

/// An HTTP server that waits `DELAY` before each answer.
async fn slow_http() -> std::net::SocketAddr {
    serve(|mut stream| async move {
        read_head(&mut stream).await;
        tokio::time::sleep(DELAY).await;
        let _ = stream
            .write_all(&response(502, &[("server", "nginx")], b"<hr><center>nginx</center>"))
            .await;
    })
    .await
}

/// A TLS server that waits `DELAY` before its handshake.
async fn slow_tls() -> std::net::SocketAddr {
    let tls = acceptor(Cert::SelfSigned);
    serve(move |stream| {
        let tls = tls.clone();
        async move {
            tokio::time::sleep(DELAY).await;
            if let Ok(mut s) = tls.accept(stream).await {
                read_head(&mut s).await;
                let _ = s.write_all(&response(200, &[], b"ok")).await;
            }
        }
    })
    .await
}

/// The longest single probe or check in one round.
fn slowest(reports: &[CheckReport]) -> u64 {
    let probes = reports.iter().flat_map(|r| match &r.evidence {
        Evidence::Http(e) => e.probes.iter().filter_map(|p| p.timings.total_ms).collect::<Vec<_>>(),
        Evidence::Origin(c) => {
            [&c.edge.probe, &c.origin.probe].iter().filter_map(|p| p.timings.total_ms).collect()
        }
        _ => Vec::new(),
    });
    probes.chain(reports.iter().map(|r| r.elapsed_ms)).max().unwrap_or(0)
}

/// Every probe and check one after the other would take this long.
fn sequential(reports: &[CheckReport]) -> u64 {
    reports
        .iter()
        .map(|r| match &r.evidence {
            Evidence::Http(e) => e.probes.iter().filter_map(|p| p.timings.total_ms).sum(),
            Evidence::Origin(c) => {
                c.edge.probe.timings.total_ms.unwrap_or(0)
                    + c.origin.probe.timings.total_ms.unwrap_or(0)
            }
            _ => r.elapsed_ms,
        })
        .sum()
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let (http, tls) = (slow_http().await, slow_tls().await);
        let url = format!("http://{http}/");
        let requests = || {
            vec![
                CheckRequest::new("http_probe").with("url", &url).with("count", "5"),
                CheckRequest::new("dns").with("host", "127.0.0.1"),
                CheckRequest::new("tls").with("url", format!("https://{tls}/")),
                CheckRequest::new("origin").with("url", &url).with("origin", http.to_string()),
            ]
        };
        let (mut wall, mut slow, mut sum) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let reports = engine::run_all(requests(), Limits::default(), engine::real_runner(), |_| {}).await;
            wall.push(u64::try_from(started.elapsed().as_millis()).unwrap());
            slow.push(slowest(&reports));
            sum.push(sequential(&reports));
        }
        println!("outside checks of one URL (http_probe x5, dns, tls, origin x2), server delay {} ms, {ROUNDS} rounds", DELAY.as_millis());
        println!("  wall time of the whole set   median {:>5} ms  (all: {wall:?})", median(wall.clone()));
        println!("  slowest single probe/check   median {:>5} ms", median(slow));
        println!("  sum if run one by one        median {:>5} ms", median(sum));
    });
}
