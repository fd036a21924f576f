//! One HTTP probe: a GET that follows redirects itself (hop by hop, loops and too many hops
//! detected, and only where `redirect` allows: never to link-local or metadata addresses, nor
//! from a public URL into a private network), bounds every phase in time and the body in size, and keeps what it saw —
//! sanitised and with secrets redacted — for the check and the export. A hostile server can
//! delay or flood it, but never stall it past its limits or make it hold more than `max_body`.

use std::collections::HashSet;
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use super::redirect;
use super::timing::{Clock, HandshakeStart, TimingLayer, TimingResolver};
use crate::checks::tls::{self, Capture};
use crate::contract::evidence::http::{Probe, ProbeFailure, Redirect, Timings};
use crate::contract::evidence::tls::Certificate;
use crate::knowledge::fingerprints;
use crate::{redact, sanitize};

/// How long each phase may take and how much a probe reads. Tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub dns: Duration,
    /// TCP connect and TLS handshake together.
    pub connect: Duration,
    /// From the request sent to the complete response headers.
    pub response: Duration,
    /// Reading the first `max_body` bytes of the body.
    pub body: Duration,
    pub max_body: usize,
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            dns: Duration::from_secs(5),
            connect: Duration::from_secs(8),
            response: Duration::from_secs(15),
            body: Duration::from_secs(5),
            max_body: 64 * 1024,
            max_redirects: 10,
        }
    }
}

/// Where to send the request.
#[derive(Debug, Clone)]
pub struct Destination {
    pub url: Url,
    /// Resolve this host to this address instead of asking DNS (`curl --resolve`).
    pub pin: Option<(String, IpAddr)>,
    /// A Host header to send instead of the URL's authority.
    pub host_header: Option<String>,
    /// Read the response even when the certificate does not verify (`curl -k`), recording why.
    pub accept_invalid_certs: bool,
    /// Follow redirects to internal addresses too (`--follow-internal-redirects`).
    pub follow_internal: bool,
}

impl Destination {
    pub fn new(url: Url) -> Self {
        Destination {
            url,
            pin: None,
            host_header: None,
            accept_invalid_certs: false,
            follow_internal: false,
        }
    }
}

/// The response of one hop.
struct Answer {
    status: u16,
    version: String,
    remote_addr: Option<String>,
    headers: Vec<(String, String)>,
    location: Option<String>,
    body: Vec<u8>,
    complete: bool,
}

impl Answer {
    /// The address the answer came from.
    fn ip(&self) -> Option<IpAddr> {
        let text = self.remote_addr.as_deref()?;
        text.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
    }
}

/// What one request ended with, with its timings and the certificate it was shown.
struct Hop {
    outcome: Result<Answer, ProbeFailure>,
    timings: Timings,
    certificate: Option<Certificate>,
}

const USER_AGENT: &str = concat!("triage/", env!("CARGO_PKG_VERSION"), " (5xx diagnosis probe)");
const MAX_HEADERS: usize = 100;
const EXCERPT: usize = 1024;

/// Probes `target`, following redirects, within `limits`.
pub async fn probe(target: &Destination, limits: &Limits) -> Probe {
    let started = Instant::now();
    let mut url = target.url.clone();
    let mut hop_target = target.clone();
    let mut visited = HashSet::from([url.to_string()]);
    let mut redirects = Vec::new();
    let mut first_addr = None;
    loop {
        let hop = fetch(&url, &hop_target, limits).await;
        let next = match &hop.outcome {
            Ok(answer) => answer.location.as_deref().and_then(|l| url.join(l).ok()),
            Err(_) => None,
        };
        if redirects.is_empty() {
            first_addr = hop.outcome.as_ref().ok().and_then(Answer::ip);
        }
        let Some(next) = next else {
            return finish(target, &url, hop, redirects, started);
        };
        let status = hop.outcome.as_ref().map_or(0, |a| a.status);
        redirects.push(Redirect { url: shown_url(&url), status, location: shown_url(&next) });
        let count = redirects.len();
        match next_hop(target, first_addr, &next, (&mut visited, count), limits).await {
            Ok(pin) => hop_target.pin = pin.or_else(|| target.pin.clone()),
            Err(failure) => {
                let hop = Hop { outcome: Err(failure), ..hop };
                return finish(target, &next, hop, redirects, started);
            }
        }
        url = next;
    }
}

/// Whether the redirect to `next` may be followed (its scheme, loops, the hop budget, and
/// where it points), and the address to pin its host to when it may.
async fn next_hop(
    target: &Destination,
    first: Option<IpAddr>,
    next: &Url,
    (visited, count): (&mut HashSet<String>, usize),
    limits: &Limits,
) -> Result<Option<(String, IpAddr)>, ProbeFailure> {
    if let Some(failure) = redirect::refused_by_name(next)
        .filter(|f| f.kind == "unsupported_scheme" || !target.follow_internal)
    {
        return Err(failure);
    }
    if !visited.insert(next.to_string()) {
        let looped = format!("the redirects loop back to {}", shown_url(next));
        return Err(ProbeFailure::new("redirect_loop", looped));
    }
    if count >= limits.max_redirects {
        let message = format!("more than {} redirects", limits.max_redirects);
        return Err(ProbeFailure::new("too_many_redirects", message));
    }
    let Some((host, addresses)) = redirect::resolve(next, target.pin.as_ref(), limits.dns).await
    else {
        return Ok(None);
    };
    if !target.follow_internal
        && let Some(failure) = redirect::refused_by_address(first, &host, &addresses)
    {
        return Err(failure);
    }
    Ok(addresses.first().map(|ip| (host, *ip)))
}

/// A URL as it may be shown and exported: sanitised, secrets redacted.
pub fn shown_url(url: &Url) -> String {
    sanitize::line(&redact::url(url.as_str())).into_owned()
}

fn finish(
    target: &Destination,
    url: &Url,
    hop: Hop,
    redirects: Vec<Redirect>,
    started: Instant,
) -> Probe {
    let mut timings = hop.timings;
    timings.total_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    let mut probe = Probe {
        url: shown_url(&target.url),
        status: None,
        failure: None,
        version: None,
        remote_addr: None,
        headers: Vec::new(),
        redirects,
        final_url: shown_url(url),
        body: String::new(),
        body_excerpt: String::new(),
        body_bytes: 0,
        body_complete: false,
        timings,
        certificate: hop.certificate,
    };
    match hop.outcome {
        Err(failure) => probe.failure = Some(failure),
        Ok(answer) => {
            probe.body = sanitize::bytes(&answer.body, true);
            // Redacted before it is cut, or the cut could leave half a token no pattern knows.
            let window = fingerprints::clip(&probe.body, 4 * EXCERPT);
            probe.body_excerpt = fingerprints::clip(&redact::text(&window), EXCERPT);
            probe.body_bytes = answer.body.len();
            probe.body_complete = answer.complete;
            probe.status = Some(answer.status);
            probe.version = Some(answer.version);
            probe.remote_addr = answer.remote_addr;
            probe.headers = answer.headers;
        }
    }
    probe
}

/// One request, no redirects followed.
async fn fetch(url: &Url, target: &Destination, limits: &Limits) -> Hop {
    let clock = Clock::default();
    let capture = Capture::default();
    let start = Instant::now();
    let outcome = match client(target, limits, &clock, &capture) {
        Ok(client) => request(&client, url, target, limits, &clock).await,
        Err(failure) => Err(failure),
    };
    let headers_at = outcome.as_ref().ok().map(|(_, at)| *at);
    let timings = clock.timings(start, headers_at, Instant::now());
    let certificate = capture.certificate();
    let outcome = outcome.map(|(a, _)| a).map_err(|f| {
        if target.accept_invalid_certs { f } else { rejected(f, certificate.as_ref()) }
    });
    Hop { outcome, timings, certificate }
}

fn client(
    target: &Destination,
    limits: &Limits,
    clock: &Clock,
    capture: &Capture,
) -> Result<reqwest::Client, ProbeFailure> {
    let hello = Arc::new(HandshakeStart(clock.clone()));
    let tls = tls::client_config(capture, target.accept_invalid_certs, Some(hello))
        .map_err(|e| ProbeFailure::new("tls", format!("cannot set up TLS: {e}")))?;
    let resolver =
        TimingResolver { clock: clock.clone(), pin: target.pin.clone(), timeout: limits.dns };
    let mut builder = reqwest::Client::builder();
    if target.host_header.is_some() {
        // HTTP/2 takes the authority from the URL; a Host header that differs from it is a
        // protocol error to many servers, so a rewritten Host goes over HTTP/1.1.
        builder = builder.http1_only();
    }
    builder
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .pool_max_idle_per_host(0)
        .connect_timeout(limits.connect + limits.dns)
        .dns_resolver(resolver)
        .connector_layer(TimingLayer(clock.clone()))
        .tls_backend_preconfigured(tls)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| {
            ProbeFailure::new("invalid_request", sanitize::line(&e.to_string()).into_owned())
        })
}

async fn request(
    client: &reqwest::Client,
    url: &Url,
    target: &Destination,
    limits: &Limits,
    clock: &Clock,
) -> Result<(Answer, Instant), ProbeFailure> {
    let mut builder = client.get(url.clone()).header("accept", "text/html,*/*;q=0.8");
    if let Some(host) = &target.host_header {
        builder = builder.header("host", host);
    }
    let deadline = limits.dns + limits.connect + limits.response;
    let response = match tokio::time::timeout(deadline, builder.send()).await {
        Err(_) => return Err(timeout(clock, limits)),
        Ok(Err(error)) => return Err(classify(&error, limits)),
        Ok(Ok(response)) => response,
    };
    let headers_at = Instant::now();
    Ok((read(response, limits).await, headers_at))
}

/// A connection that failed after our verifier rejected the certificate failed because of it,
/// whatever error the TLS stack wrapped that in.
fn rejected(failure: ProbeFailure, certificate: Option<&Certificate>) -> ProbeFailure {
    match certificate.and_then(|c| c.problem.as_ref()) {
        Some(problem) if failure.kind != "timeout" => {
            ProbeFailure::new("tls", format!("TLS failed: {problem}"))
        }
        _ => failure,
    }
}

fn timeout(clock: &Clock, limits: &Limits) -> ProbeFailure {
    if clock.connected() {
        ProbeFailure::new(
            "timeout",
            format!(
                "connected, but no complete response headers within {} s",
                limits.response.as_secs_f64()
            ),
        )
    } else {
        ProbeFailure::new(
            "timeout",
            format!("no connection within {} s", limits.connect.as_secs_f64()),
        )
    }
}

/// Status, headers and the first bytes of the body, each bounded.
async fn read(mut response: reqwest::Response, limits: &Limits) -> Answer {
    let status = response.status().as_u16();
    let version = format!("{:?}", response.version());
    let remote_addr = response.remote_addr().map(|a| a.to_string());
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .take(MAX_HEADERS)
        .map(|(name, value)| {
            let value = sanitize::bytes(value.as_bytes(), false);
            let value = redact::header(name.as_str(), &value).into_owned();
            (name.as_str().to_owned(), crate::knowledge::fingerprints::clip(&value, 512))
        })
        .collect();
    let location = (300..400)
        .contains(&status)
        .then(|| {
            response
                .headers()
                .get("location")
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        })
        .flatten();
    let (body, complete) = body(&mut response, limits).await;
    Answer { status, version, remote_addr, headers, location, body, complete }
}

/// Reads at most `max_body` bytes within `limits.body`; a longer or endless body is cut off and
/// the connection dropped.
async fn body(response: &mut reqwest::Response, limits: &Limits) -> (Vec<u8>, bool) {
    let deadline = tokio::time::Instant::now() + limits.body;
    let mut body = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                let room = limits.max_body.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() >= room {
                    return (body, false);
                }
            }
            Ok(Ok(None)) => return (body, true),
            Ok(Err(_)) | Err(_) => return (body, false),
        }
    }
}

/// The failure kind of a request error, found in its source chain.
fn classify(error: &reqwest::Error, limits: &Limits) -> ProbeFailure {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(dns) = e.downcast_ref::<crate::checks::dns::LookupError>() {
            let kind = match dns {
                crate::checks::dns::LookupError::Timeout(..) => "timeout",
                _ => "dns",
            };
            return ProbeFailure::new(kind, dns.to_string());
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_failure(tls);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return tls_failure(tls);
            }
            return io_failure(io);
        }
        source = e.source();
    }
    let text = chain(error);
    if text.contains("connection closed before message completed") {
        ProbeFailure::new("reset", "the server closed the connection without answering")
    } else if error.is_timeout() {
        ProbeFailure::new(
            "timeout",
            format!("no connection within {} s", limits.connect.as_secs_f64()),
        )
    } else {
        ProbeFailure::new(
            "invalid_response",
            format!("the server's answer is not valid HTTP: {text}"),
        )
    }
}

fn tls_failure(error: &rustls::Error) -> ProbeFailure {
    let words = match error {
        rustls::Error::InvalidCertificate(_) => tls::problem_words(error),
        other => sanitize::line(&other.to_string()).into_owned(),
    };
    ProbeFailure::new("tls", format!("TLS failed: {words}"))
}

fn io_failure(error: &std::io::Error) -> ProbeFailure {
    let kind = super::io_kind(error);
    let message = match kind {
        "refused" => "connection refused: nothing listens on that port".to_owned(),
        "reset" => "the server reset the connection".to_owned(),
        "unreachable" => "the network or host is unreachable".to_owned(),
        _ => sanitize::line(&error.to_string()).into_owned(),
    };
    ProbeFailure::new(kind, message)
}

/// The error and its sources, one line, sanitised.
fn chain(error: &dyn StdError) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        parts.push(e.to_string());
        source = e.source();
    }
    sanitize::line(&parts.join(": ")).into_owned()
}
