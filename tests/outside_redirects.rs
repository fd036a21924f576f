//! Probes stay where they were pointed (issue 12): a redirect to a link-local or cloud metadata
//! address is reported and never followed, nor one to another scheme; an explicit flag allows
//! the internal ones. Every server is in-process on loopback, and no refused target is ever
//! connected to (the refusal comes before any connection).

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod outside_server;

use std::net::SocketAddr;
use std::time::Duration;

use outside_server::{read_head, response, serve};
use tokio::io::AsyncWriteExt;
use triage::checks::http::{self, Destination, Limits, probe};
use triage::contract::evidence::http::Probe;
use triage::contract::{CheckRequest, Progress};

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

/// A server that redirects `/` to `location` and answers 200 `inside` anywhere else.
async fn redirecting_to(location: &'static str) -> SocketAddr {
    serve(move |mut stream| async move {
        let head = String::from_utf8_lossy(&read_head(&mut stream).await).into_owned();
        let answer = if head.starts_with("GET / ") {
            response(302, &[("location", location)], b"")
        } else {
            response(200, &[], b"inside")
        };
        let _ = stream.write_all(&answer).await;
    })
    .await
}

fn failure(p: &Probe) -> (&str, &str) {
    p.failure.as_ref().map_or(("none", ""), |f| (f.kind.as_str(), f.message.as_str()))
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_reported_and_not_followed() {
    let addr =
        redirecting_to("http://169.254.169.254/latest/meta-data/iam/security-credentials/").await;
    let p = probe(&Destination::new(format!("http://{addr}/").parse().unwrap()), &limits()).await;
    let (kind, message) = failure(&p);
    assert_eq!(kind, "internal_redirect", "{p:?}");
    assert_eq!(
        message,
        "redirect to an internal address (169.254.169.254: link-local), not followed; `--follow-internal-redirects` follows it"
    );
    assert_eq!(p.status, None, "nothing it could answer is kept");
    assert!(p.body.is_empty() && p.headers.is_empty());
    assert_eq!(p.redirects.len(), 1);
    assert_eq!(p.final_url, "http://169.254.169.254/latest/meta-data/iam/security-credentials/");
}

#[tokio::test]
async fn link_local_and_metadata_targets_of_every_form_are_not_followed() {
    for (location, shown) in [
        ("http://[fe80::1]/", "fe80::1: link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254: link-local"),
        ("http://169.254.170.2/v2/credentials", "169.254.170.2: link-local"),
        (
            "http://metadata.google.internal/computeMetadata/v1/",
            "metadata.google.internal: a cloud metadata service",
        ),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
    ] {
        let addr = redirecting_to(location).await;
        let url = format!("http://{addr}/");
        let p = probe(&Destination::new(url.parse().unwrap()), &limits()).await;
        let (kind, message) = failure(&p);
        assert_eq!(kind, "internal_redirect", "{location}: {p:?}");
        assert!(message.contains(shown), "{location}: {message}");
    }
}

#[tokio::test]
async fn other_schemes_are_reported_as_unsupported_not_as_invalid_responses() {
    for (location, scheme) in
        [("file:///etc/passwd", "file"), ("gopher://127.0.0.1:70/_x", "gopher")]
    {
        let addr = redirecting_to(location).await;
        let url = format!("http://{addr}/");
        let p = probe(&Destination::new(url.parse().unwrap()), &limits()).await;
        let (kind, message) = failure(&p);
        assert_eq!(kind, "unsupported_scheme", "{location}: {p:?}");
        assert_eq!(
            message,
            format!(
                "redirect to a `{scheme}:` URL, not followed: a probe follows only http and https"
            )
        );
    }
}

#[tokio::test]
async fn redirects_within_loopback_are_followed_from_a_loopback_url() {
    let inside = serve(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.write_all(&response(200, &[], b"inside")).await;
    })
    .await;
    let location: &'static str = Box::leak(format!("http://{inside}/next").into_boxed_str());
    let addr = redirecting_to(location).await;
    let p = probe(&Destination::new(format!("http://{addr}/").parse().unwrap()), &limits()).await;
    assert_eq!((failure(&p).0, p.status), ("none", Some(200)), "{p:?}");
}

#[tokio::test]
async fn the_flag_follows_an_internal_redirect_and_the_check_reports_the_refusal_by_default() {
    // The metadata name is pinned to this test's own server, so following it stays on loopback.
    let inside = serve(|mut stream| async move {
        read_head(&mut stream).await;
        let _ = stream.write_all(&response(200, &[], b"inside")).await;
    })
    .await;
    let url = format!("http://metadata.google.internal:{}/computeMetadata/v1/", inside.port());
    let location: &'static str = Box::leak(url.into_boxed_str());
    let addr = redirecting_to(location).await;
    let mut target = Destination::new(format!("http://{addr}/").parse().unwrap());
    target.pin = Some(("metadata.google.internal".to_owned(), addr.ip()));
    let refused = probe(&target, &limits()).await;
    assert_eq!(failure(&refused).0, "internal_redirect", "{refused:?}");
    target.follow_internal = true;
    let followed = probe(&target, &limits()).await;
    assert_eq!((failure(&followed).0, followed.status), ("none", Some(200)), "{followed:?}");

    let request =
        CheckRequest::new("http_probe").with("url", format!("http://{addr}/")).with("count", "1");
    let report = http::check(request, Progress::none(), &limits()).await;
    assert_eq!(
        report.facts.get("http.failure").map(ToString::to_string).as_deref(),
        Some("internal_redirect"),
        "{report:?}"
    );
    assert_eq!(triage::checks::registry::contract_breaches(&report), Vec::<String>::new());
}
