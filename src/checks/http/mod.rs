//! The `http_probe` check: probes the public URL several times at once (default 5), so a steady
//! error can be told from an intermittent one, and names who answered with the fingerprint
//! table. Everything it keeps from the server is sanitised; header values and URLs are also
//! redacted, since reports are exported.

pub mod probe;
pub mod redirect;
pub mod timing;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::contract::{Applies, CheckSpec, Input, Scope, fact, input, param};
use crate::facts::FactKind::{Bool, Int, List, Text};

pub use probe::{Destination, Limits, probe};

use crate::checks::dns;
use crate::contract::evidence::http::Fingerprint;
use crate::contract::evidence::http::HttpEvidence;
use crate::contract::evidence::http::Probe;
use crate::contract::{CheckReport, CheckRequest, CheckStatus, Evidence, Progress};
use crate::facts::Facts;
use crate::knowledge::fingerprints::{self, Response, clip};
use crate::sanitize;
use crate::site::SiteUrl;

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "http_probe",
    title: "Probe the public URL",
    scope: Scope::Outside,
    applies: Applies::Always,
    params: &[
        input("url", true, Input::Url, "absolute http(s) URL"),
        input("count", false, Input::Count, "how many probes (default 5)"),
        param(
            FOLLOW_INTERNAL,
            false,
            "`yes` follows redirects to internal addresses too (link-local and metadata ones, and private ones from a public URL); they are reported, not followed, by default",
        ),
    ],
    produces: &[
        fact("http.status", Int, "the status seen most often; on a tie, the highest"),
        fact("http.statuses", List, "each probe's status, or its failure kind"),
        fact("http.error_probes", Int, "probes that returned 5xx or no response"),
        fact("http.intermittent", Bool, "some probes failed and some did not"),
        fact(
            "http.failure",
            Text,
            "why no response: dns, refused, unreachable, timeout, tls, reset, invalid_response, redirect_loop, too_many_redirects, internal_redirect (a redirect to an internal address, not followed), unsupported_scheme (a redirect to file:, gopher:, …)",
        ),
        fact("http.remote_addr", Text, "the address (IP:port) the response came from"),
        fact("http.version", Text, "HTTP/1.1, HTTP/2"),
        fact("http.server", Text, "the Server header"),
        fact(
            "http.headers",
            List,
            "the first 20 response headers as `name: value` (all are in the evidence)",
        ),
        fact("http.final_url", Text, "the URL after redirects"),
        fact("http.redirects", Int, "redirect hops followed"),
        fact("http.retry_after", Text, "the Retry-After header"),
        fact("http.request_ids", List, "request ids as `header: value` (cf-ray, x-amz-cf-id, …)"),
        fact("http.ttfb_ms", Int, "time to first byte of the last probe"),
        fact("http.total_ms", Int, "total time of the last probe"),
        fact(
            "responder.vendor",
            Text,
            "who generated the response (of the first failing probe, else the first): cloudflare, cloudfront, nginx, …; absent when the application did",
        ),
        fact("responder.name", Text, "the responder's name for people: Cloudflare, nginx, …"),
        fact("responder.layer", Text, "the layer that generated the response"),
        fact(
            "responder.generated",
            Bool,
            "an intermediary (CDN, load balancer, proxy, web server) made the page itself; false when it is the application's page passed through",
        ),
        fact(
            "responder.code",
            Text,
            "the vendor's own error code: 521, H10, no_healthy_upstream, …",
        ),
        fact("responder.maintenance", Bool, "the response is a maintenance page"),
        fact("responder.cdn", Text, "a CDN seen anywhere in the response path"),
        fact(
            "responder.cause",
            Text,
            "the cause id the responder's own error page points at (fingerprints.yaml)",
        ),
        fact("responder.path", List, "every vendor the headers show, outside in"),
        fact(
            "responder.evidence",
            List,
            "the quoted headers and body text that name the responder",
        ),
    ],
    timeout: Duration::from_secs(60),
};

/// The parameter that lets redirects lead to internal addresses.
pub const FOLLOW_INTERNAL: &str = "follow_internal_redirects";

const DEFAULT_COUNT: usize = 5;
const MAX_COUNT: usize = 20;

/// The check with the default limits.
pub async fn run(request: CheckRequest, progress: Progress) -> CheckReport {
    check(request, progress, &Limits::default()).await
}

/// The check with explicit limits (tests use short ones).
pub async fn check(request: CheckRequest, progress: Progress, limits: &Limits) -> CheckReport {
    let url = match SiteUrl::parse(request.param("url").unwrap_or_default()) {
        Ok(url) => url,
        Err(reason) => return CheckReport::could_not_run(SPEC.id, reason.to_string(), None),
    };
    let count = match parse_count(request.param("count")) {
        Ok(count) => count,
        Err(reason) => return CheckReport::could_not_run(SPEC.id, reason, None),
    };
    progress.report(format!("probing {} ({count} at once)", url.shown()));
    let mut target = Destination::new(url.url().clone());
    target.follow_internal =
        request.param(FOLLOW_INTERNAL).is_some_and(|v| matches!(v.trim(), "yes" | "true" | "1"));
    let probes = futures_util::future::join_all((0..count).map(|_| probe(&target, limits))).await;
    report(probes)
}

fn parse_count(text: Option<&str>) -> Result<usize, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(DEFAULT_COUNT),
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
            _ => {
                Err(format!("count `{}` is not a number from 1 to {MAX_COUNT}", sanitize::line(t)))
            }
        },
    }
}

/// `IP`, `IP:PORT`, `[v6]:PORT`, `host` or `host:PORT`; `default_port` when none is given.
pub async fn parse_address(text: &str, default_port: u16) -> Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, default_port));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((host, port)) => {
            let port = port.parse::<u16>().map_err(|_| {
                format!(
                    "`{}` is not an address; expected IP[:PORT] or host[:PORT]",
                    sanitize::line(text)
                )
            })?;
            (host, port)
        }
        None => (text, default_port),
    };
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(format!(
            "`{}` is not an address; expected IP[:PORT] or host[:PORT]",
            sanitize::line(text)
        ));
    }
    dns::first_address(host, port, Limits::default().dns).await
}

/// The failure kind of an IO error.
pub fn io_kind(error: &std::io::Error) -> &'static str {
    use std::io::ErrorKind as K;
    match error.kind() {
        K::ConnectionRefused => "refused",
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => "reset",
        K::TimedOut => "timeout",
        K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable => "unreachable",
        _ => "connect",
    }
}

/// The index of the probe to describe: the first that failed, else the first.
fn representative(probes: &[Probe]) -> usize {
    probes.iter().position(Probe::is_error).unwrap_or(0)
}

/// The status seen most often; on a tie, the highest.
fn most_common(probes: &[Probe]) -> Option<u16> {
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for status in probes.iter().filter_map(|p| p.status) {
        *counts.entry(status).or_default() += 1;
    }
    counts.into_iter().max_by_key(|&(status, n)| (n, status)).map(|(status, _)| status)
}

fn report(probes: Vec<Probe>) -> CheckReport {
    let index = representative(&probes);
    let fingerprint = probes.get(index).and_then(|p| {
        let status = p.status?;
        let response = Response { status, headers: &p.headers, body: &p.body };
        Some(fingerprints::table().identify(&response))
    });
    let facts = facts(&probes, index, fingerprint.as_ref());
    let (status, summary) = verdict(&probes, index, fingerprint.as_ref());
    let details = details(&probes, index, fingerprint.as_ref());
    let evidence = HttpEvidence { probes, fingerprint, representative: index };
    CheckReport::new(SPEC.id, status, summary)
        .with_facts(facts)
        .with_details(details)
        .with_evidence(Evidence::Http(Box::new(evidence)))
}

fn facts(probes: &[Probe], index: usize, fp: Option<&Fingerprint>) -> Facts {
    let mut facts = Facts::new();
    let errors = probes.iter().filter(|p| p.is_error()).count();
    facts.set("http.statuses", probes.iter().map(Probe::outcome).collect::<Vec<_>>());
    facts.set("http.error_probes", i64::try_from(errors).unwrap_or(i64::MAX));
    facts.set("http.intermittent", errors > 0 && errors < probes.len());
    if let Some(status) = most_common(probes) {
        facts.set("http.status", status);
    }
    if let Some(failure) = probes.iter().find_map(|p| p.failure.as_ref()) {
        facts.set("http.failure", failure.kind.clone());
    }
    let Some(p) = probes.get(index) else { return facts };
    facts.set("http.final_url", p.final_url.clone());
    facts.set("http.redirects", i64::try_from(p.redirects.len()).unwrap_or(i64::MAX));
    set_timing(&mut facts, "http.ttfb_ms", p.timings.ttfb_ms);
    set_timing(&mut facts, "http.total_ms", p.timings.total_ms);
    if p.status.is_some() {
        response_facts(&mut facts, p);
    }
    if let Some(fp) = fp {
        responder_facts(&mut facts, fp);
    }
    facts
}

fn set_timing(facts: &mut Facts, key: &str, ms: Option<u64>) {
    if let Some(ms) = ms {
        facts.set(key, i64::try_from(ms).unwrap_or(i64::MAX));
    }
}

fn response_facts(facts: &mut Facts, p: &Probe) {
    if let Some(version) = &p.version {
        facts.set("http.version", version.clone());
    }
    if let Some(addr) = &p.remote_addr {
        facts.set("http.remote_addr", addr.clone());
    }
    let header = |name: &str| p.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    if let Some(server) = header("server") {
        facts.set("http.server", server);
    }
    if let Some(retry) = header("retry-after") {
        facts.set("http.retry_after", retry);
    }
    let lines: Vec<String> =
        p.headers.iter().take(20).map(|(n, v)| format!("{n}: {}", clip(v, 120))).collect();
    facts.set("http.headers", lines);
}

fn responder_facts(facts: &mut Facts, fp: &Fingerprint) {
    if let Some(vendor) = &fp.vendor {
        facts.set("responder.vendor", vendor.clone());
    }
    if let Some(name) = &fp.vendor_name {
        facts.set("responder.name", name.clone());
    }
    facts.set("responder.layer", fp.layer.id());
    facts.set("responder.generated", fp.generated);
    if let Some(code) = &fp.code {
        facts.set("responder.code", code.clone());
    }
    if let Some(cause) = &fp.cause {
        facts.set("responder.cause", cause.clone());
    }
    facts.set("responder.maintenance", fp.maintenance);
    if let Some(cdn) = &fp.cdn {
        facts.set("responder.cdn", cdn.clone());
    }
    facts.set("responder.path", fp.path.iter().map(|h| h.vendor.clone()).collect::<Vec<_>>());
    if !fp.request_ids.is_empty() {
        facts.set("http.request_ids", fp.request_ids.clone());
    }
    let quotes: Vec<String> = fp.evidence.iter().take(6).map(|q| clip(q, 120)).collect();
    facts.set("responder.evidence", quotes);
}

fn verdict(probes: &[Probe], index: usize, fp: Option<&Fingerprint>) -> (CheckStatus, String) {
    let errors = probes.iter().filter(|p| p.is_error()).count();
    let Some(p) = probes.get(index) else {
        return (
            CheckStatus::CouldNotRun { reason: "no probe ran".into(), instead: None },
            "no probe ran".into(),
        );
    };
    let who = fp.map(who).unwrap_or_default();
    match (p.status, &p.failure) {
        (None, Some(f)) if errors == probes.len() => {
            (CheckStatus::Failed, format!("No response on any probe: {}.", f.message))
        }
        _ if errors > 0 && errors < probes.len() => (
            CheckStatus::Failed,
            format!("{errors} of {} probes failed ({}){who}.", probes.len(), outcomes(probes)),
        ),
        (Some(status), _) if errors > 0 => {
            (CheckStatus::Failed, format!("{status} on every probe{who}."))
        }
        (Some(status), _) if status >= 400 => {
            (CheckStatus::Warning, format!("{status} on every probe{who}."))
        }
        (Some(status), _) => {
            let ttfb =
                p.timings.ttfb_ms.map(|t| format!(", first byte after {t} ms")).unwrap_or_default();
            (CheckStatus::Passed, format!("{status} on every probe{ttfb}."))
        }
        (None, _) => (CheckStatus::Failed, "No response.".to_owned()),
    }
}

fn outcomes(probes: &[Probe]) -> String {
    probes.iter().map(Probe::outcome).collect::<Vec<_>>().join(" ")
}

/// `, made by Cloudflare (CDN edge): 521` for the summary.
fn who(fp: &Fingerprint) -> String {
    match (&fp.vendor_name, &fp.code) {
        (Some(name), Some(code)) if fp.generated => {
            format!(", made by {name} ({}): {code}", fp.layer.label())
        }
        (Some(name), _) => format!(", from {name} ({})", fp.layer.label()),
        (None, _) => String::new(),
    }
}

/// Detail lines fit a 76-column pane (80 columns less the UI's or `triage check`'s indent).
const WIDTH: usize = 76;

fn line(label: &str, value: &str) -> String {
    format!("{label:<11}{}", clip(&sanitize::line(value), WIDTH - 11))
}

fn details(probes: &[Probe], index: usize, fp: Option<&Fingerprint>) -> Vec<String> {
    let mut out = vec![line("probes", &outcomes(probes))];
    let Some(p) = probes.get(index) else { return out };
    if let Some(status) = p.status {
        let mut parts = vec![status.to_string()];
        parts.extend(p.version.clone());
        parts.extend(p.remote_addr.clone());
        out.push(line("status", &parts.join(" · ")));
    }
    if let Some(f) = &p.failure {
        out.push(line("failure", &format!("{}: {}", f.kind, f.message)));
    }
    if let Some(fp) = fp {
        out.extend(fingerprint_lines(fp));
    }
    out.push(line("timings", &p.timings.line()));
    for r in &p.redirects {
        out.push(line("redirect", &format!("{} {} → {}", r.status, r.url, r.location)));
    }
    if let Some(cert) = &p.certificate {
        out.push(line("tls", &cert.describe()));
    }
    out
}

fn fingerprint_lines(fp: &Fingerprint) -> Vec<String> {
    let mut out = Vec::new();
    let made = match (&fp.vendor_name, fp.generated) {
        (Some(name), true) => format!(
            "{name} ({}) made this page itself{}",
            fp.layer.label(),
            fp.code.as_ref().map(|c| format!(": {c}")).unwrap_or_default()
        ),
        (Some(name), false) => format!("{name} ({})", fp.layer.label()),
        (None, _) => "the application (its own page, passed through)".to_owned(),
    };
    out.push(line("made by", &made));
    if let Some(meaning) = &fp.meaning {
        out.push(line("meaning", meaning));
    }
    for quote in fp.evidence.iter().filter(|q| !q.starts_with("status ")).take(3) {
        out.push(line("evidence", quote));
    }
    if !fp.path.is_empty() {
        let path: Vec<String> =
            fp.path.iter().map(|h| format!("{} ({})", h.name, h.layer)).collect();
        out.push(line("path", &path.join(" → ")));
    }
    if let Some(retry) = &fp.retry_after {
        out.push(line("retry", &format!("Retry-After: {retry}")));
    }
    for id in fp.request_ids.iter().take(4) {
        out.push(line("request id", id));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_bounded() {
        assert_eq!(parse_count(None), Ok(5));
        assert_eq!(parse_count(Some("")), Ok(5));
        assert_eq!(parse_count(Some("3")), Ok(3));
        assert!(parse_count(Some("0")).is_err());
        assert!(parse_count(Some("1000")).is_err());
    }

    #[tokio::test]
    async fn addresses_parse_with_and_without_ports() {
        assert_eq!(parse_address("10.0.0.5", 443).await, Ok("10.0.0.5:443".parse().unwrap()));
        assert_eq!(parse_address("10.0.0.5:8443", 443).await, Ok("10.0.0.5:8443".parse().unwrap()));
        assert_eq!(parse_address("[::1]:80", 443).await, Ok("[::1]:80".parse().unwrap()));
        assert!(parse_address("origin.invalid:80", 443).await.is_err());
        assert!(parse_address("a b", 443).await.is_err());
    }
}
