//! The `origin` check: the same request to the public URL and straight to the origin address
//! with the public Host and SNI (what `curl --resolve` does), side by side — status, who
//! answered, timings, certificate. Both requests run at once. The origin's certificate is read
//! even when it does not verify (`curl -k`), because that is exactly what explains a Cloudflare
//! 525/526; the problem is reported, never trusted.

use std::net::SocketAddr;
use std::time::Duration;

use url::{Host, Url};

use crate::checks::http::{self, Destination, Limits, probe};
use crate::contract::evidence::http::Probe;
use crate::contract::evidence::origin::{Comparison, Side};
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input,
};
use crate::facts::FactKind::{Bool, Int, Text};
use crate::facts::Facts;
use crate::knowledge::fingerprints::{self, Response, clip};
use crate::site::SiteUrl;

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "origin",
    title: "Compare the edge with the origin",
    scope: Scope::Outside,
    applies: Applies::WithOrigin,
    params: &[
        input("url", true, Input::Url, "the public URL"),
        input("origin", true, Input::Origin, "origin address, IP[:PORT] or host[:PORT]"),
    ],
    produces: &[
        fact("origin.reachable", Bool, "the origin answered over HTTP"),
        fact("origin.status", Int, "the origin's status for the same request"),
        fact(
            "origin.failure",
            Text,
            "why the origin did not answer: refused, timeout, tls, reset, …",
        ),
        fact("origin.vendor", Text, "who answered at the origin"),
        fact("origin.tls_valid", Bool, "the origin's certificate verifies for the public host"),
        fact("origin.matches_edge", Bool, "edge and origin return the same status"),
        fact(
            "origin.tls_problem",
            Text,
            "what is wrong with the origin's certificate: expired, self_signed, name_mismatch, untrusted",
        ),
        fact("origin.ttfb_ms", Int, "time to first byte straight from the origin"),
    ],
    timeout: Duration::from_secs(45),
};

pub async fn run(request: CheckRequest, progress: Progress) -> CheckReport {
    check(request, progress, &Limits::default()).await
}

/// The check with explicit limits (tests use short ones).
pub async fn check(request: CheckRequest, progress: Progress, limits: &Limits) -> CheckReport {
    let site = match SiteUrl::parse(request.param("url").unwrap_or_default()) {
        Ok(site) => site,
        Err(reason) => return CheckReport::could_not_run(SPEC.id, reason.to_string(), None),
    };
    let Some(origin) = request.param("origin").map(str::trim).filter(|o| !o.is_empty()) else {
        return CheckReport::could_not_run(
            SPEC.id,
            "no origin address given; it is the origin server's own IP, as set in the CDN or load balancer",
            Some(format!("triage check {} --origin IP[:PORT]", site.shown())),
        );
    };
    let port = site.port();
    let url = site.url().clone();
    let address = match http::parse_address(origin, port).await {
        Ok(address) => address,
        Err(reason) => return CheckReport::could_not_run(SPEC.id, reason, None),
    };
    progress.report(format!("comparing the edge with the origin {address}"));
    let (public, straight) = (Destination::new(url.clone()), direct(&url, address));
    let (edge, direct) = tokio::join!(probe(&public, limits), probe(&straight, limits));
    let comparison =
        Comparison { address: address.to_string(), edge: side(edge), origin: side(direct) };
    report(&comparison)
}

/// The public request, sent to `address`: the URL's host is pinned there (or, for a URL that
/// names an IP, replaced), the port is the origin's, and the Host header stays the public one.
pub fn direct(url: &Url, address: SocketAddr) -> Destination {
    let mut to = url.clone();
    let public = authority(url);
    let literal = matches!(url.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)));
    if literal {
        let _ = to.set_ip_host(address.ip());
    }
    let _ = to.set_port(Some(address.port()));
    let pin = url.host_str().filter(|_| !literal).map(|h| (h.to_owned(), address.ip()));
    let host_header = (authority(&to) != public).then_some(public);
    Destination { url: to, pin, host_header, accept_invalid_certs: true, follow_internal: false }
}

fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => String::new(),
    }
}

fn facts(c: &Comparison) -> Facts {
    let mut facts = Facts::new();
    let (edge, origin) = (&c.edge.probe, &c.origin.probe);
    facts.set("origin.reachable", origin.status.is_some());
    if let Some(status) = origin.status {
        facts.set("origin.status", status);
    }
    if let Some(failure) = &origin.failure {
        facts.set("origin.failure", failure.kind.clone());
    }
    if let Some(vendor) = c.origin.answered_by() {
        facts.set("origin.vendor", vendor);
    }
    if let Some(cert) = &origin.certificate {
        facts.set("origin.tls_valid", cert.verified);
        if let Some(kind) = cert.problem_kind() {
            facts.set("origin.tls_problem", kind);
        }
    }
    if let (Some(e), Some(o)) = (edge.status, origin.status) {
        facts.set("origin.matches_edge", e == o);
    }
    if let Some(ttfb) = origin.timings.ttfb_ms {
        facts.set("origin.ttfb_ms", i64::try_from(ttfb).unwrap_or(i64::MAX));
    }
    facts
}

fn report(c: &Comparison) -> CheckReport {
    let (status, summary) = verdict(c);
    CheckReport::new(SPEC.id, status, summary)
        .with_facts(facts(c))
        .with_details(table(c))
        .with_evidence(Evidence::Origin(Box::new(c.clone())))
}

fn verdict(c: &Comparison) -> (CheckStatus, String) {
    let (edge, origin) = (&c.edge.probe, &c.origin.probe);
    let addr = &c.address;
    let bad_cert = origin.certificate.as_ref().and_then(|cert| cert.problem.clone());
    match (origin.status, &origin.failure) {
        (None, Some(f)) => {
            (CheckStatus::Failed, format!("The origin {addr} does not answer: {}.", f.message))
        }
        (Some(s), _) if s >= 500 => {
            (CheckStatus::Failed, format!("The origin {addr} itself answers {s}."))
        }
        (Some(s), _) if edge.is_error() => (
            CheckStatus::Failed,
            format!(
                "The origin {addr} answers {s} but the edge {}: the fault is between them{}.",
                edge.outcome(),
                bad_cert.map(|p| format!(" ({p} at the origin)")).unwrap_or_default()
            ),
        ),
        (Some(s), _) if bad_cert.is_some() => (
            CheckStatus::Warning,
            format!("The origin {addr} answers {s}, but {}.", bad_cert.unwrap_or_default()),
        ),
        (Some(s), _) if edge.status != Some(s) => (
            CheckStatus::Warning,
            format!("The origin {addr} answers {s} and the edge {}.", edge.outcome()),
        ),
        (Some(s), _) => (CheckStatus::Passed, format!("Edge and origin {addr} both answer {s}.")),
        (None, None) => (CheckStatus::Failed, format!("The origin {addr} gave no answer.")),
    }
}

/// Label, edge, origin as aligned rows. The edge column is as wide as its widest cell (at most
/// 30), so the usual table is about 50 columns and fits the UI's evidence pane at 80x24; the
/// widest possible row is 12 + 30 + 2 + 30 = 74 columns, which leaves `triage check`'s indent
/// room in 80.
fn rows(cells: &[(&str, String, String)]) -> Vec<String> {
    let cell = |s: &str| clip(&crate::sanitize::line(s), 30);
    let cells: Vec<(&str, String, String)> =
        cells.iter().map(|(label, edge, origin)| (*label, cell(edge), cell(origin))).collect();
    let width = cells.iter().map(|(_, edge, _)| edge.chars().count()).max().unwrap_or(0);
    cells
        .iter()
        .map(|(label, edge, origin)| {
            format!("{label:<12}{edge:<width$}  {origin}").trim_end().to_owned()
        })
        .collect()
}

fn table(c: &Comparison) -> Vec<String> {
    let (e, o) = (&c.edge, &c.origin);
    let ms = |v: Option<u64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v} ms"));
    let mut cells = vec![
        // The summary above the table names the origin's address.
        ("", "edge".to_owned(), "origin".to_owned()),
        ("status", status(&e.probe), status(&o.probe)),
        ("answered by", answered(e), answered(o)),
        ("made by", made(e), made(o)),
        ("connect", ms(e.probe.timings.connect_ms), ms(o.probe.timings.connect_ms)),
    ];
    if e.probe.timings.tls_ms.is_some() || o.probe.timings.tls_ms.is_some() {
        cells.push(("tls", ms(e.probe.timings.tls_ms), ms(o.probe.timings.tls_ms)));
    }
    cells.push(("ttfb", ms(e.probe.timings.ttfb_ms), ms(o.probe.timings.ttfb_ms)));
    if e.probe.certificate.is_some() || o.probe.certificate.is_some() {
        cells.push(("certificate", cert(&e.probe), cert(&o.probe)));
    }
    rows(&cells)
}

fn status(p: &Probe) -> String {
    match (p.status, &p.failure) {
        (Some(s), _) => format!("{s} · {}", p.version.as_deref().unwrap_or("?")),
        (None, Some(f)) => format!("no answer: {}", f.kind),
        (None, None) => "-".to_owned(),
    }
}

fn answered(side: &Side) -> String {
    let Some(fp) = &side.fingerprint else { return "-".to_owned() };
    match (&fp.vendor_name, fp.path.last()) {
        (Some(name), _) => name.clone(),
        (None, Some(hop)) => hop.name.clone(),
        (None, None) => "unknown server".to_owned(),
    }
}

fn made(side: &Side) -> String {
    let Some(fp) = &side.fingerprint else { return "-".to_owned() };
    match (&fp.vendor_name, &fp.code, fp.generated) {
        (Some(name), Some(code), true) => format!("{name}: {code}"),
        _ => "the application".to_owned(),
    }
}

fn cert(p: &Probe) -> String {
    match &p.certificate {
        None => "-".to_owned(),
        Some(c) => match c.problem_kind() {
            None => format!("valid, {} days left", c.days_left),
            Some(kind) => format!("INVALID: {}", kind.replace('_', " ")),
        },
    }
}

/// One side of the comparison, with who answered it.
fn side(probe: Probe) -> Side {
    let fingerprint = probe.status.map(|status| {
        let response = Response { status, headers: &probe.headers, body: &probe.body };
        fingerprints::table().identify(&response)
    });
    Side { probe, fingerprint }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_request_keeps_the_public_host() {
        let url = Url::parse("https://shop.test/cart?x=1").unwrap();
        let t = direct(&url, "10.0.0.5:8443".parse().unwrap());
        assert_eq!(t.url.as_str(), "https://shop.test:8443/cart?x=1");
        assert_eq!(t.pin, Some(("shop.test".to_owned(), "10.0.0.5".parse().unwrap())));
        assert_eq!(t.host_header.as_deref(), Some("shop.test"));
        let t = direct(&url, "10.0.0.5:443".parse().unwrap());
        assert_eq!(t.url.as_str(), "https://shop.test/cart?x=1");
        assert_eq!(t.host_header, None);
        let url = Url::parse("http://127.0.0.1:8080/").unwrap();
        let t = direct(&url, "127.0.0.2:9090".parse().unwrap());
        assert_eq!(t.url.as_str(), "http://127.0.0.2:9090/");
        assert_eq!(t.host_header.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(t.pin, None);
    }

    #[test]
    fn rows_fit_in_80_columns_and_align() {
        let long = "x".repeat(200);
        let cells = [
            ("", "edge (public)".to_owned(), "origin 10.0.0.5".to_owned()),
            ("answered by", long.clone(), long),
        ];
        assert!(rows(&cells).iter().all(|r| r.chars().count() <= 74));
        let short = [
            ("", "edge (public)".to_owned(), "origin 10.0.0.5".to_owned()),
            ("status", "502 · HTTP/1.1".to_owned(), "200 · HTTP/1.1".to_owned()),
        ];
        assert_eq!(
            rows(&short),
            vec![
                "            edge (public)   origin 10.0.0.5",
                "status      502 · HTTP/1.1  200 · HTTP/1.1",
            ]
        );
    }

    #[tokio::test]
    async fn a_blank_origin_cannot_run_and_says_what_to_do() {
        let request =
            CheckRequest::new("origin").with("url", "https://shop.test/").with("origin", "");
        let report = run(request, Progress::none()).await;
        let CheckStatus::CouldNotRun { reason, instead } = report.status else { panic!() };
        assert!(reason.contains("no origin address"));
        assert_eq!(instead.as_deref(), Some("triage check https://shop.test/ --origin IP[:PORT]"));
    }
}
