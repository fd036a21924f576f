//! Stage 1 and 2 of loading the fingerprint table: raw serde types that mirror the YAML, then
//! the validated [`Table`]. Cause ids are checked against the diagnosis where both tables are
//! loaded together (`diagnosis::Rules::unknown_causes`), not here.

use std::collections::HashSet;

use serde::Deserialize;

use super::{Cidr, Example, HeaderTest, Match, Page, Table, Vendor};
use crate::layer::Layer;
use crate::yaml::{At, Pos, Text};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    request_ids: Vec<Text>,
    maintenance: Vec<Text>,
    vendors: Vec<RawVendor>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVendor {
    id: Text,
    name: Text,
    layer: At<Layer>,
    docs: Text,
    signs: Vec<At<RawMatch>>,
    request_ids: Vec<Text>,
    dns: Option<RawDns>,
    pages: Vec<RawPage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    #[serde(default)]
    cnames: Vec<Text>,
    #[serde(default)]
    ranges: Vec<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    code: Text,
    #[serde(default)]
    statuses: Vec<At<u16>>,
    layer: Option<At<Layer>>,
    meaning: Text,
    cause: Option<Text>,
    #[serde(default)]
    maintenance: bool,
    #[serde(default)]
    empty_body: bool,
    when: At<Vec<At<RawMatch>>>,
    example: Example,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    header: Option<Text>,
    equals: Option<Text>,
    contains: Option<Text>,
    body: Option<Text>,
    body_is: Option<Text>,
}

pub(super) type Report<'a> = dyn FnMut(Pos, String) + 'a;

pub(super) fn build(raw: RawTable, error: &mut Report<'_>) -> Table {
    let mut ids = HashSet::new();
    let vendors = raw
        .vendors
        .into_iter()
        .map(|v| {
            if !ids.insert(v.id.value.clone()) {
                error(v.id.pos, format!("duplicate vendor `{}`", v.id.value));
            }
            vendor(v, error)
        })
        .collect();
    Table {
        request_ids: raw.request_ids.into_iter().map(|t| t.value.to_ascii_lowercase()).collect(),
        maintenance: raw.maintenance.into_iter().map(|t| t.value.to_ascii_lowercase()).collect(),
        vendors,
    }
}

fn vendor(raw: RawVendor, error: &mut Report<'_>) -> Vendor {
    let signs = raw.signs.into_iter().filter_map(|m| condition(m, error)).collect();
    let (cnames, ranges) = match raw.dns {
        Some(dns) => {
            let ranges = dns
                .ranges
                .iter()
                .filter_map(|r| {
                    let cidr = Cidr::parse(&r.value);
                    if cidr.is_none() {
                        error(
                            r.pos,
                            format!("`{}` is not an address range like 203.0.113.0/24", r.value),
                        );
                    }
                    cidr
                })
                .collect();
            (dns.cnames.into_iter().map(|c| c.value).collect(), ranges)
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut codes = HashSet::new();
    let pages = raw
        .pages
        .into_iter()
        .map(|p| {
            if !codes.insert(p.code.value.clone()) {
                error(
                    p.code.pos,
                    format!("duplicate page code `{}` for this vendor", p.code.value),
                );
            }
            page(p, error)
        })
        .collect();
    Vendor {
        id: raw.id.value,
        name: raw.name.value,
        layer: raw.layer.value,
        docs: raw.docs.value,
        signs,
        request_ids: raw.request_ids.into_iter().map(|t| t.value.to_ascii_lowercase()).collect(),
        cnames,
        ranges,
        pages,
    }
}

fn page(raw: RawPage, error: &mut Report<'_>) -> Page {
    if raw.when.value.is_empty() {
        error(raw.when.pos, "a page needs at least one condition under `when:`".to_owned());
    }
    Page {
        code: raw.code.value,
        statuses: raw.statuses.into_iter().map(|s| s.value).collect(),
        layer: raw.layer.map(|l| l.value),
        meaning: raw.meaning.value,
        cause: raw.cause.map(|c| c.value),
        maintenance: raw.maintenance,
        empty_body: raw.empty_body,
        when: raw.when.value.into_iter().filter_map(|m| condition(m, error)).collect(),
        example: raw.example,
    }
}

fn condition(raw: At<RawMatch>, error: &mut Report<'_>) -> Option<Match> {
    let RawMatch { header, equals, contains, body, body_is } = raw.value;
    match (header, body, body_is) {
        (Some(name), None, None) => {
            let test = match (equals, contains) {
                (None, None) => HeaderTest::Present,
                (Some(e), None) => HeaderTest::Equals(e.value),
                (None, Some(c)) => HeaderTest::Contains(c.value),
                (Some(e), Some(_)) => {
                    error(e.pos, "use `equals` or `contains`, not both".to_owned());
                    return None;
                }
            };
            Some(Match::Header { name: name.value.to_ascii_lowercase(), test })
        }
        (None, Some(b), None) if equals.is_none() && contains.is_none() => {
            Some(Match::Body(b.value))
        }
        (None, None, Some(b)) if equals.is_none() && contains.is_none() => {
            Some(Match::BodyIs(b.value))
        }
        _ => {
            error(
                raw.pos,
                "a condition is one of `header` (with `equals` or `contains`), `body` or `body_is`"
                    .to_owned(),
            );
            None
        }
    }
}
