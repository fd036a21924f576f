//! Bad input and hostile servers: each case against a real server on loopback (started by the
//! test, in-process), each with one clear result. Limits are short, so no case can hang the run:
//! the slowest waits half a second for a server that never answers.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod outside_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use outside_server::{Cert, closed_port, fixed, read_head, response, serve, tls_fixed};
use tokio::io::AsyncWriteExt;
use triage::checks::http::{self, Destination, Limits, probe};
use triage::contract::evidence::http::Probe;
use triage::contract::{CheckRequest, CheckStatus, Progress};

fn limits() -> Limits {
    Limits {
        dns: Duration::from_millis(500),
        connect: Duration::from_millis(500),
        response: Duration::from_millis(500),
        body: Duration::from_millis(500),
        max_body: 64 * 1024,
        max_redirects: 5,
    }
}

async fn get(url: &str) -> Probe {
    probe(&Destination::new(url.parse().unwrap()), &limits()).await
}

fn kind(p: &Probe) -> &str {
    p.failure.as_ref().map_or("none", |f| f.kind.as_str())
}

/// Nothing from a hostile server reaches a probe's text raw.
fn assert_clean(p: &Probe) {
    let json = serde_json::to_string(p).unwrap();
    let all = format!("{json}{}", p.body);
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "escape survived: {all}");
    for c in all.chars() {
        assert!(!c.is_control() || c == '\n', "control {c:?} survived in {all}");
    }
}

#[tokio::test]
async fn an_invalid_url_cannot_run_and_says_why() {
    let request = CheckRequest::new("http_probe").with("url", "http://exa mple.com/");
    let report = http::check(request, Progress::none(), &limits()).await;
    let CheckStatus::CouldNotRun { reason, .. } = &report.status else { panic!("{report:?}") };
    assert!(reason.contains("is not a valid URL"), "{reason}");
    let report = http::check(CheckRequest::new("http_probe"), Progress::none(), &limits()).await;
    assert!(report.summary.contains("no URL given"), "{}", report.summary);
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_a_dns_failure() {
    let p = get("http://shop.invalid/").await;
    assert_eq!(kind(&p), "dns", "{p:?}");
    assert!(p.failure.unwrap().message.contains("does not resolve"));
}

#[tokio::test]
async fn a_refused_connection_says_nothing_listens() {
    let addr = closed_port().await;
    let p = get(&format!("http://{addr}/")).await;
    assert_eq!(kind(&p), "refused", "{p:?}");
    assert!(p.failure.unwrap().message.contains("nothing listens"));
}

#[tokio::test]
async fn a_server_that_accepts_and_never_answers_times_out() {
    let addr = serve(|stream| async move {
        let _hold = stream;
        std::future::pending::<()>().await;
    })
    .await;
    let started = Instant::now();
    let p = get(&format!("http://{addr}/")).await;
    assert_eq!(kind(&p), "timeout", "{p:?}");
    assert!(p.failure.unwrap().message.contains("connected, but no complete response headers"));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn headers_sent_byte_by_byte_forever_time_out() {
    let addr = serve(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ").await;
        while stream.write_all(b"a").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let started = Instant::now();
    let p = get(&format!("http://{addr}/")).await;
    assert_eq!(kind(&p), "timeout", "{p:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_redirect_loop_is_detected_hop_by_hop() {
    let addr = serve(|mut stream| async move {
        let head = String::from_utf8_lossy(&read_head(&mut stream).await).into_owned();
        let next = if head.starts_with("GET /a ") { "/b" } else { "/a" };
        let _ = stream.write_all(&response(302, &[("location", next)], b"")).await;
    })
    .await;
    let p = get(&format!("http://{addr}/a")).await;
    assert_eq!(kind(&p), "redirect_loop", "{p:?}");
    let hops: Vec<(u16, &str)> =
        p.redirects.iter().map(|r| (r.status, r.location.as_str())).collect();
    assert_eq!(
        hops,
        vec![
            (302, format!("http://{addr}/b").as_str()),
            (302, format!("http://{addr}/a").as_str())
        ]
    );
}

#[tokio::test]
async fn endless_redirects_stop_at_the_limit() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let addr = serve(move |mut stream| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            read_head(&mut stream).await;
            let location = format!("/hop{}", n + 1);
            let _ = stream.write_all(&response(301, &[("location", &location)], b"")).await;
        }
    })
    .await;
    let p = get(&format!("http://{addr}/hop0")).await;
    assert_eq!(kind(&p), "too_many_redirects", "{p:?}");
    assert_eq!(p.redirects.len(), 5);
    assert_eq!(hits.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn a_one_gigabyte_body_is_cut_off_not_read() {
    let written = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&written);
    let addr = serve(move |mut stream| {
        let count = Arc::clone(&count);
        async move {
            read_head(&mut stream).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n";
            let _ = stream.write_all(head.as_bytes()).await;
            let chunk = vec![b'x'; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {
                if count.fetch_add(chunk.len(), Ordering::SeqCst) > 1 << 30 {
                    break;
                }
            }
        }
    })
    .await;
    let started = Instant::now();
    let p = get(&format!("http://{addr}/")).await;
    assert_eq!(p.status, Some(200));
    assert_eq!(p.body_bytes, 64 * 1024);
    assert!(!p.body_complete);
    assert!(started.elapsed() < Duration::from_secs(3));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(written.load(Ordering::SeqCst) < 64 << 20, "the client kept reading");
}

#[tokio::test]
async fn a_body_that_never_ends_is_cut_off_in_time() {
    let addr = serve(|mut stream| async move {
        read_head(&mut stream).await;
        let head = "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        while stream.write_all(b"1\r\nx\r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let started = Instant::now();
    let p = get(&format!("http://{addr}/")).await;
    assert_eq!(p.status, Some(503));
    assert!(!p.body_complete && p.body_bytes > 0, "{p:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn invalid_utf8_and_escapes_in_headers_and_body_never_come_through_raw() {
    let body = b"<h1>\x1b[2J\x1b]0;owned\x07hello \xff\xfe world\x9b31m</h1>\r\n".to_vec();
    let mut bytes =
        b"HTTP/1.1 502 Bad Gateway\r\nserver: ngi\xffnx\r\nx-note: caf\xc3\xa9 \xe2\x80\xae\r\n"
            .to_vec();
    bytes.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    bytes.extend_from_slice(&body);
    let addr = fixed(bytes).await;
    let p = get(&format!("http://{addr}/")).await;
    assert_eq!(p.status, Some(502), "{p:?}");
    assert_clean(&p);
    assert!(p.body.contains("hello"), "{}", p.body);
}

#[tokio::test]
async fn an_escape_sequence_in_a_header_is_an_invalid_response_reported_cleanly() {
    let addr = fixed(
        b"HTTP/1.1 200 OK\r\nx-evil: \x1b]52;c;ZXZpbA==\x07\x1b[2J\r\ncontent-length: 0\r\n\r\n"
            .to_vec(),
    )
    .await;
    let p = get(&format!("http://{addr}/")).await;
    assert_eq!(kind(&p), "invalid_response", "{p:?}");
    assert_clean(&p);
}

#[tokio::test]
async fn a_self_signed_certificate_fails_the_probe_and_is_described() {
    let addr = tls_fixed(Cert::SelfSigned, response(200, &[], b"ok")).await;
    let p = get(&format!("https://{addr}/")).await;
    assert_eq!(kind(&p), "tls", "{p:?}");
    assert!(p.failure.as_ref().unwrap().message.contains("self-signed"), "{p:?}");
    let cert = p.certificate.unwrap();
    assert!(cert.self_signed && !cert.verified && !cert.expired && cert.name_matches, "{cert:?}");
    // The origin comparison reads past it, as `curl -k` would, and keeps the verdict.
    let mut target = Destination::new(format!("https://{addr}/").parse().unwrap());
    target.accept_invalid_certs = true;
    let p = probe(&target, &limits()).await;
    assert_eq!(p.status, Some(200));
    assert!(p.timings.connect_ms.is_some() && p.timings.tls_ms.is_some(), "{:?}", p.timings);
    assert!(p.timings.ttfb_ms >= p.timings.tls_ms, "{:?}", p.timings);
    assert_eq!(p.certificate.unwrap().problem_kind(), Some("self_signed"));
}

#[tokio::test]
async fn the_origin_is_asked_with_the_public_name_and_its_certificate_judged_for_it() {
    let origin = tls_fixed(Cert::SelfSigned, response(200, &[("server", "nginx")], b"ok")).await;
    let request = CheckRequest::new("origin")
        .with("url", "https://shop.invalid/")
        .with("origin", origin.to_string());
    let report = triage::checks::origin::check(request, Progress::none(), &limits()).await;
    assert_eq!(report.facts.get("origin.status"), Some(&200_i64.into()), "{report:?}");
    assert_eq!(report.facts.get("origin.tls_valid"), Some(&false.into()));
    let triage::contract::Evidence::Origin(c) = &report.evidence else { panic!("{report:?}") };
    let cert = c.origin.probe.certificate.as_ref().unwrap();
    assert!(!cert.name_matches, "the certificate names 127.0.0.1, not shop.invalid: {cert:?}");
    assert_eq!(c.edge.probe.failure.as_ref().map(|f| f.kind.as_str()), Some("dns"));
    assert!(
        report.details.iter().any(|l| l.starts_with("certificate") && l.contains("INVALID")),
        "{:?}",
        report.details
    );
}

#[tokio::test]
async fn an_expired_certificate_is_named_by_the_probe_and_the_tls_check() {
    let addr = tls_fixed(Cert::Expired, response(200, &[], b"ok")).await;
    let p = get(&format!("https://{addr}/")).await;
    assert_eq!(kind(&p), "tls", "{p:?}");
    assert!(p.certificate.as_ref().is_some_and(|c| c.expired && c.days_left < 0), "{p:?}");
    let request = CheckRequest::new("tls").with("url", format!("https://{addr}/"));
    let report = triage::checks::tls::run(request, Progress::none()).await;
    assert_eq!(report.status, CheckStatus::Failed, "{report:?}");
    assert_eq!(report.facts.get("tls.expired"), Some(&true.into()));
    assert_eq!(report.facts.get("tls.valid"), Some(&false.into()));
    assert!(report.summary.contains("expired"), "{}", report.summary);
}

#[tokio::test]
async fn plain_http_to_a_tls_port_is_a_clear_failure() {
    let addr = tls_fixed(Cert::SelfSigned, response(200, &[], b"ok")).await;
    let p = get(&format!("http://{addr}/")).await;
    assert!(matches!(kind(&p), "invalid_response" | "reset" | "timeout"), "{p:?}");
}

/// Every fact the outside checks emit is declared for that check in the catalog, with its kind,
/// and lists stay small.
#[tokio::test]
async fn every_fact_the_outside_checks_emit_is_declared() {
    let page =
        &triage::knowledge::fingerprints::table().vendor("cloudflare").unwrap().pages[1].example;
    let headers: Vec<(&str, &str)> =
        page.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let edge = fixed(response(page.status, &headers, page.body.as_bytes())).await;
    let tls = tls_fixed(Cert::Expired, response(200, &[("retry-after", "5")], b"ok")).await;
    let url = format!("http://{edge}/");
    let reports = vec![
        http::check(CheckRequest::new("http_probe").with("url", &url), Progress::none(), &limits())
            .await,
        http::check(
            CheckRequest::new("http_probe").with("url", "http://x.invalid/"),
            Progress::none(),
            &limits(),
        )
        .await,
        triage::checks::origin::check(
            CheckRequest::new("origin").with("url", &url).with("origin", tls.to_string()),
            Progress::none(),
            &limits(),
        )
        .await,
        triage::checks::origin::check(
            CheckRequest::new("origin")
                .with("url", format!("https://{tls}/"))
                .with("origin", tls.to_string()),
            Progress::none(),
            &limits(),
        )
        .await,
        triage::checks::dns::run(
            CheckRequest::new("dns").with("host", "127.0.0.1"),
            Progress::none(),
        )
        .await,
        triage::checks::dns::run(
            CheckRequest::new("dns").with("host", "x.invalid"),
            Progress::none(),
        )
        .await,
        triage::checks::tls::run(
            CheckRequest::new("tls").with("url", format!("https://{tls}/")),
            Progress::none(),
        )
        .await,
    ];
    let mut seen = 0;
    for report in &reports {
        assert_eq!(triage::checks::registry::contract_breaches(report), Vec::<String>::new());
        seen += report.facts.len();
    }
    assert!(seen > 30, "only {seen} facts");
}
