//! Who answered: the fingerprint table (`assets/fingerprints.yaml`) and the matching that names
//! the vendor and layer that generated a response, with the evidence quoted. The table is loaded
//! in two stages like the diagnosis rules (raw serde types, then validated [`Table`]); matching is
//! pure — it reads a status, headers and a body prefix and performs no IO.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::sync::LazyLock;

mod load;

use serde::{Deserialize, Serialize};

use crate::contract::evidence::dns::CdnMatch;
use crate::contract::evidence::http::{Fingerprint, Hop};
use crate::layer::Layer;
use crate::yaml::{self, Level, LoadFailure, Pos, Problem, SourceError, compiled};

/// One test on a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Match {
    Header {
        name: String,
        test: HeaderTest,
    },
    /// The body contains this text (ASCII case-insensitive).
    Body(String),
    /// The whole body, trimmed, is this text.
    BodyIs(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeaderTest {
    Present,
    Equals(String),
    Contains(String),
}

/// An error response a vendor generates itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub code: String,
    pub statuses: Vec<u16>,
    pub layer: Option<Layer>,
    pub meaning: String,
    pub cause: Option<String>,
    pub maintenance: bool,
    pub empty_body: bool,
    pub when: Vec<Match>,
    pub example: Example,
}

/// A documented response of the vendor, for the tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vendor {
    pub id: String,
    pub name: String,
    pub layer: Layer,
    pub docs: String,
    pub signs: Vec<Match>,
    pub request_ids: Vec<String>,
    pub cnames: Vec<String>,
    pub ranges: Vec<Cidr>,
    pub pages: Vec<Page>,
}

/// The validated table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub request_ids: Vec<String>,
    pub maintenance: Vec<String>,
    pub vendors: Vec<Vendor>,
}

/// An address range, `203.0.113.0/24` or `2606:4700::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cidr {
    base: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (ip, bits) = text.split_once('/')?;
        let base: IpAddr = ip.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { base, bits })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, ip) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.bits)).unwrap_or(0);
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// A response as the fingerprints see it: already sanitised text.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    pub status: u16,
    pub headers: &'a [(String, String)],
    pub body: &'a str,
}

const BUILTIN: &str = include_str!("../../../assets/fingerprints.yaml");
const BUILTIN_ORIGIN: &str = "builtin:assets/fingerprints.yaml";
const COMPILED: &str = include_str!("../../../assets/compiled/fingerprints.json");

static TABLE: LazyLock<Table> = LazyLock::new(|| Table::builtin().unwrap_or_default());

/// The built-in table. Its tests guarantee it loads; were it ever broken, matching would find
/// nothing rather than stop a check.
pub fn table() -> &'static Table {
    &TABLE
}

impl Table {
    /// The table shipped in the binary, from its compiled copy while that is current.
    pub fn builtin() -> Result<Table, LoadFailure> {
        compiled::read_or_load(COMPILED, BUILTIN, || Table::load_str(BUILTIN_ORIGIN, BUILTIN))
    }

    /// Loads and validates a fingerprint table; errors name `origin:line:col`.
    pub fn load_str(origin: &str, text: &str) -> Result<Table, LoadFailure> {
        let raw: load::RawTable = yaml::from_str(origin, text)
            .map_err(|error| LoadFailure::Invalid(vec![Problem { level: Level::Error, error }]))?;
        let mut problems = Vec::new();
        let table = load::build(raw, &mut |pos: Pos, message: String| {
            let error = SourceError::at(origin, text, pos.line, pos.column, message);
            problems.push(Problem { level: Level::Error, error });
        });
        if problems.is_empty() { Ok(table) } else { Err(LoadFailure::Invalid(problems)) }
    }

    pub fn vendor(&self, id: &str) -> Option<&Vendor> {
        self.vendors.iter().find(|v| v.id == id)
    }

    /// Names who generated `response` and collects what the support note needs.
    pub fn identify(&self, response: &Response<'_>) -> Fingerprint {
        let path = self.path(response);
        let mut fp = match self.page(response) {
            Some((vendor, page, evidence)) => from_page(vendor, page, evidence),
            None => inferred(response, &path),
        };
        if !fp.maintenance && response.status == 503 && fp.vendor.is_none() {
            let body = response.body.to_ascii_lowercase();
            if let Some(phrase) = self.maintenance.iter().find(|p| body.contains(p.as_str())) {
                fp.maintenance = true;
                fp.cause = Some("maintenance".to_owned());
                fp.evidence.push(format!("body: \"{phrase}\" (503: a maintenance page)"));
            }
        }
        fp.cdn = path.iter().find(|h| h.layer == Layer::Cdn).map(|h| h.vendor.clone());
        fp.request_ids = self.request_ids(response.headers);
        fp.retry_after = header(response.headers, "retry-after").map(str::to_owned);
        fp.path = path;
        fp
    }

    fn path(&self, response: &Response<'_>) -> Vec<Hop> {
        let mut hops: Vec<Hop> = self
            .vendors
            .iter()
            .filter_map(|v| {
                let evidence = v.signs.iter().find_map(|m| quote(m, response))?;
                Some(Hop { vendor: v.id.clone(), name: v.name.clone(), layer: v.layer, evidence })
            })
            .collect();
        // Istio's sidecar is Envoy: show the more specific one only.
        if hops.iter().any(|h| h.vendor == "istio") {
            hops.retain(|h| h.vendor != "envoy");
        }
        hops.sort_by_key(|h| h.layer);
        hops
    }

    fn page<'t>(&'t self, response: &Response<'_>) -> Option<(&'t Vendor, &'t Page, Vec<String>)> {
        self.vendors.iter().find_map(|vendor| {
            vendor.pages.iter().find_map(|page| {
                let evidence = page_matches(page, response)?;
                Some((vendor, page, evidence))
            })
        })
    }

    fn request_ids(&self, headers: &[(String, String)]) -> Vec<String> {
        let mut names: Vec<&str> = self.request_ids.iter().map(String::as_str).collect();
        for vendor in &self.vendors {
            names.extend(vendor.request_ids.iter().map(String::as_str));
        }
        let mut seen = HashSet::new();
        headers
            .iter()
            .filter(|(name, _)| names.iter().any(|n| n.eq_ignore_ascii_case(name)))
            .filter(|(name, value)| seen.insert((name.to_ascii_lowercase(), value.clone())))
            .take(20)
            .map(|(name, value)| format!("{}: {}", name.to_ascii_lowercase(), clip(value, 160)))
            .collect()
    }

    /// The CDN that DNS answers point at: a CNAME under one of its suffixes or an address in one
    /// of its published ranges.
    pub fn cdn_for(&self, cnames: &[String], addresses: &[IpAddr]) -> Option<CdnMatch> {
        self.vendors.iter().find_map(|v| {
            let by_name = cnames.iter().find_map(|c| {
                let suffix = v.cnames.iter().find(|s| has_suffix(c, s))?;
                Some(format!("CNAME {c} is under {suffix}"))
            });
            let by_range = || {
                addresses.iter().find_map(|ip| {
                    v.ranges
                        .iter()
                        .any(|r| r.contains(*ip))
                        .then(|| format!("{ip} is in {}'s published ranges", v.name))
                })
            };
            let evidence = by_name.or_else(by_range)?;
            Some(CdnMatch { vendor: v.id.clone(), name: v.name.clone(), evidence })
        })
    }
}

/// No vendor page matched. A gateway error (502, 504) still comes from a proxy: the last
/// one the headers show. Anything else came from the application behind them.
fn inferred(response: &Response<'_>, path: &[Hop]) -> Fingerprint {
    let gateway = matches!(response.status, 502 | 504);
    if let Some(hop) = path.last().filter(|_| gateway) {
        return Fingerprint {
            vendor: Some(hop.vendor.clone()),
            vendor_name: Some(hop.name.clone()),
            layer: hop.layer,
            generated: true,
            code: Some(response.status.to_string()),
            confidence: "low".to_owned(),
            evidence: vec![
                hop.evidence.clone(),
                format!(
                    "no known error page; a {} comes from the last proxy seen",
                    response.status
                ),
            ],
            ..empty(Layer::ReverseProxy)
        };
    }
    let mut fp = empty(Layer::AppRuntime);
    if response.status >= 500 {
        let behind = path.iter().map(|h| h.name.as_str()).collect::<Vec<_>>();
        fp.evidence.push(if behind.is_empty() {
            "no vendor's error page matched: the page came from the application".to_owned()
        } else {
            format!(
                "no vendor's error page matched: the application's own page, passed through {}",
                behind.join(", ")
            )
        });
        "low".clone_into(&mut fp.confidence);
    }
    fp
}

fn has_suffix(name: &str, suffix: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let suffix = suffix.to_ascii_lowercase();
    name == suffix || name.ends_with(&format!(".{suffix}"))
}

fn empty(layer: Layer) -> Fingerprint {
    Fingerprint {
        vendor: None,
        vendor_name: None,
        layer,
        generated: false,
        code: None,
        meaning: None,
        cause: None,
        maintenance: false,
        confidence: "medium".to_owned(),
        evidence: Vec::new(),
        path: Vec::new(),
        cdn: None,
        request_ids: Vec::new(),
        retry_after: None,
    }
}

fn from_page(vendor: &Vendor, page: &Page, evidence: Vec<String>) -> Fingerprint {
    let layer = page.layer.unwrap_or(vendor.layer);
    Fingerprint {
        vendor: Some(vendor.id.clone()),
        vendor_name: Some(vendor.name.clone()),
        layer,
        generated: !matches!(layer, Layer::AppRuntime | Layer::Database),
        code: Some(page.code.clone()),
        meaning: Some(page.meaning.clone()),
        cause: page.cause.clone(),
        maintenance: page.maintenance,
        confidence: "high".to_owned(),
        evidence,
        ..empty(layer)
    }
}

/// The quoted evidence when every condition of the page holds.
fn page_matches(page: &Page, response: &Response<'_>) -> Option<Vec<String>> {
    if !page.statuses.is_empty() && !page.statuses.contains(&response.status) {
        return None;
    }
    let mut evidence = vec![format!("status {}", response.status)];
    if page.empty_body {
        if !response.body.trim().is_empty() {
            return None;
        }
        evidence.push("an empty body".to_owned());
    }
    for m in &page.when {
        evidence.push(quote(m, response)?);
    }
    Some(evidence)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// How the response satisfies `m`, quoted, or `None` when it does not.
fn quote(m: &Match, response: &Response<'_>) -> Option<String> {
    match m {
        Match::Header { name, test } => {
            let value = response
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .find(|v| match test {
                    HeaderTest::Present => true,
                    HeaderTest::Equals(want) => v.trim().eq_ignore_ascii_case(want),
                    HeaderTest::Contains(want) => {
                        v.to_ascii_lowercase().contains(&want.to_ascii_lowercase())
                    }
                })?;
            Some(format!("header {}: {}", name.to_ascii_lowercase(), clip(value, 100)))
        }
        Match::Body(needle) => {
            let at = response.body.to_ascii_lowercase().find(&needle.to_ascii_lowercase())?;
            let found = response.body.get(at..at + needle.len()).unwrap_or(needle);
            Some(format!("body: \"{found}\""))
        }
        Match::BodyIs(whole) => response
            .body
            .trim()
            .eq_ignore_ascii_case(whole)
            .then(|| format!("body is exactly \"{whole}\"")),
    }
}

/// At most `max` characters, the last of them an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().nth(max).is_none() {
        return text.to_owned();
    }
    let keep: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{keep}…")
}

// Stage 1: raw types that mirror the YAML.

#[cfg(test)]
mod tests {
    use super::*;

    fn respond(example: &Example) -> Fingerprint {
        let headers: Vec<(String, String)> =
            example.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        table().identify(&Response {
            status: example.status,
            headers: &headers,
            body: &example.body,
        })
    }

    /// The compiled copy is current and reads back as the table the YAML gives.
    /// `TRIAGE_BLESS=1` writes it first.
    #[test]
    fn the_compiled_copy_matches_the_yaml() {
        let table = Table::load_str(BUILTIN_ORIGIN, BUILTIN).unwrap_or_else(|e| panic!("{e}"));
        let builtin = Table::builtin().unwrap_or_else(|e| panic!("{e}"));
        let path = "assets/compiled/fingerprints.json";
        compiled::check_copy(path, COMPILED, BUILTIN, &table, &builtin);
    }

    #[test]
    fn the_builtin_table_loads() {
        let table = Table::builtin().unwrap_or_else(|e| panic!("{e}"));
        for id in [
            "cloudflare",
            "cloudfront",
            "fastly",
            "akamai",
            "aws_alb",
            "aws_elb",
            "gcp_lb",
            "azure_front_door",
            "azure_app_gateway",
            "vercel",
            "netlify",
            "heroku",
            "varnish",
            "envoy",
            "istio",
            "traefik",
            "caddy",
            "haproxy",
            "nginx",
            "ingress_nginx",
            "apache",
            "iis",
        ] {
            assert!(table.vendor(id).is_some_and(|v| !v.pages.is_empty()), "{id} has no pages");
        }
    }

    /// Every page's documented example is recognised as that page, not shadowed by another.
    #[test]
    fn every_page_recognises_its_documented_example() {
        for vendor in &table().vendors {
            for page in &vendor.pages {
                let fp = respond(&page.example);
                let who = format!("{} {}", vendor.id, page.code);
                assert_eq!(fp.vendor.as_deref(), Some(vendor.id.as_str()), "{who}: {fp:?}");
                assert_eq!(fp.code.as_deref(), Some(page.code.as_str()), "{who}: {fp:?}");
                assert_eq!(fp.layer, page.layer.unwrap_or(vendor.layer), "{who}");
                assert_eq!(fp.cause, page.cause, "{who}");
                assert!(fp.evidence.len() >= 2, "{who}: evidence {:?}", fp.evidence);
            }
        }
    }

    #[test]
    fn an_origin_page_through_cloudflare_is_passed_through() {
        let headers = vec![
            ("server".to_owned(), "cloudflare".to_owned()),
            ("cf-ray".to_owned(), "8a1b2c3d4e5f6a70-AMS".to_owned()),
        ];
        let body = "<h1>Sorry, the shop is having trouble</h1>";
        let fp = table().identify(&Response { status: 500, headers: &headers, body });
        assert_eq!(fp.vendor, None);
        assert_eq!(fp.layer, Layer::AppRuntime);
        assert!(!fp.generated);
        assert_eq!(fp.cdn.as_deref(), Some("cloudflare"));
        assert_eq!(fp.request_ids, vec!["cf-ray: 8a1b2c3d4e5f6a70-AMS".to_owned()]);
    }

    #[test]
    fn a_bare_502_is_blamed_on_the_last_proxy_with_low_confidence() {
        let headers = vec![("server".to_owned(), "nginx".to_owned())];
        let fp = table().identify(&Response { status: 502, headers: &headers, body: "oops" });
        assert_eq!(fp.vendor.as_deref(), Some("nginx"));
        assert_eq!(fp.confidence, "low");
    }

    #[test]
    fn a_503_that_says_maintenance_is_a_maintenance_page() {
        let headers = vec![("retry-after".to_owned(), "120".to_owned())];
        let body = "<h1>Down for maintenance</h1>";
        let fp = table().identify(&Response { status: 503, headers: &headers, body });
        assert!(fp.maintenance);
        assert_eq!(fp.retry_after.as_deref(), Some("120"));
    }

    #[test]
    fn ranges_and_cname_suffixes_name_the_cdn() {
        let cf = table().cdn_for(&[], &["104.16.132.229".parse().unwrap()]).unwrap();
        assert_eq!(cf.vendor, "cloudflare");
        let cname = vec!["d111111abcdef8.cloudfront.net".to_owned()];
        assert_eq!(table().cdn_for(&cname, &[]).unwrap().vendor, "cloudfront");
        assert!(table().cdn_for(&["notcloudfront.net".to_owned()], &[]).is_none());
        assert!(
            Cidr::parse("2606:4700::/32")
                .unwrap()
                .contains("2606:4700::6810:84e5".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
    }

    #[test]
    fn mistakes_name_their_line() {
        let text = "request_ids: []\nmaintenance: []\nvendors:\n  - id: x\n    name: X\n    layer: cdn\n    docs: d\n    signs: [{ header: a, body: b }]\n    request_ids: []\n    pages: []\n";
        let err = Table::load_str("t.yaml", text).unwrap_err().to_string();
        assert!(err.contains("t.yaml:8:"), "{err}");
        let text =
            "request_ids: []\nmaintenance: []\nvendors:\n  - id: x\n    name: X\n    layer: edge\n";
        let err = Table::load_str("t.yaml", text).unwrap_err().to_string();
        assert!(err.contains("t.yaml:6:"), "{err}");
    }
}
