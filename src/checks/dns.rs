//! Name resolution for every outside check, and the `dns` check: A/AAAA answers, the CNAME
//! chain, and whether they point at a known CDN (the fingerprint table's `dns:` data). Lookups
//! use hickory with the system's resolv.conf and hosts file, bounded in time; names under
//! `.invalid` never leave the machine (RFC 6761).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::proto::rr::{RData, RecordType};

use crate::contract::evidence::dns::Answers;
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input,
};
use crate::facts::FactKind::{Bool, List, Text};
use crate::facts::Facts;
use crate::knowledge::fingerprints;
use crate::sanitize;
use crate::site::SiteUrl;

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "dns",
    title: "Resolve the host",
    scope: Scope::Outside,
    applies: Applies::Always,
    params: &[input("host", true, Input::Host, "host name, or a URL whose host to resolve")],
    produces: &[
        fact("dns.resolves", Bool, "the name has A or AAAA records"),
        fact("dns.addresses", List, "A and AAAA answers"),
        fact("dns.cnames", List, "the CNAME chain"),
        fact("dns.cdn", Text, "the CDN the answers point at, if known"),
    ],
    timeout: Duration::from_secs(10),
};

/// Why a name gave no address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("`{0}` does not resolve: no such name (NXDOMAIN) or no A/AAAA records")]
    NotFound(String),
    #[error("no DNS answer for `{0}` within {1} ms")]
    Timeout(String, u64),
    #[error("DNS lookup of `{0}` failed: {1}")]
    Failed(String, String),
}

fn resolver(timeout: Duration) -> Result<TokioResolver, LookupError> {
    let failed = |e: &dyn std::fmt::Display| LookupError::Failed(String::new(), e.to_string());
    let mut builder = TokioResolver::builder_tokio().map_err(|e| failed(&e))?;
    let options = builder.options_mut();
    options.timeout = timeout;
    options.attempts = 1;
    options.cache_size = 0;
    options.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4AndIpv6;
    builder.build().map_err(|e| failed(&e))
}

/// Resolves `host` (a name or an IP literal), within `timeout`.
pub async fn lookup(host: &str, timeout: Duration) -> Result<Answers, LookupError> {
    let host = host.trim_matches(['[', ']']).trim_end_matches('.').to_ascii_lowercase();
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Answers { host, addresses: vec![ip], ..Answers::default() });
    }
    if host == "invalid" || host.ends_with(".invalid") {
        return Err(LookupError::NotFound(host));
    }
    let resolver = resolver(timeout).map_err(|e| with_host(e, &host))?;
    let deadline = timeout + Duration::from_millis(250);
    let answer = match tokio::time::timeout(deadline, resolver.lookup_ip(host.as_str())).await {
        Err(_) => return Err(LookupError::Timeout(host, millis(timeout))),
        Ok(Err(e)) if e.is_nx_domain() || e.is_no_records_found() => {
            return Err(LookupError::NotFound(host));
        }
        Ok(Err(e)) => return Err(LookupError::Failed(host, sanitize::line(&e.to_string()).into())),
        Ok(Ok(answer)) => answer,
    };
    let mut addresses: Vec<IpAddr> = answer.iter().collect();
    addresses.sort_by_key(IpAddr::is_ipv6);
    addresses.dedup();
    let cnames = answer
        .as_lookup()
        .answers()
        .iter()
        .filter(|r| r.record_type() == RecordType::CNAME)
        .filter_map(|r| match &r.data {
            RData::CNAME(target) => Some(target.0.to_string().trim_end_matches('.').to_owned()),
            _ => None,
        })
        .collect();
    if addresses.is_empty() {
        return Err(LookupError::NotFound(host));
    }
    Ok(Answers { host, addresses, cnames, cdn: None })
}

fn with_host(error: LookupError, host: &str) -> LookupError {
    match error {
        LookupError::Failed(_, message) => LookupError::Failed(host.to_owned(), message),
        other => other,
    }
}

/// The first address of `host` with `port`, for checks that open one connection.
pub async fn first_address(host: &str, port: u16, timeout: Duration) -> Result<SocketAddr, String> {
    let answers = lookup(host, timeout).await.map_err(|e| e.to_string())?;
    answers
        .addresses
        .first()
        .map(|ip| SocketAddr::new(*ip, port))
        .ok_or_else(|| format!("`{host}` has no address"))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

const TIMEOUT: Duration = Duration::from_secs(4);

/// The `dns` check. `host` may be a bare name or a URL.
pub async fn run(request: CheckRequest, _progress: Progress) -> CheckReport {
    let raw = request.param("host").or(request.param("url")).unwrap_or_default().trim();
    let host = host_of(raw);
    if host.is_empty() {
        return CheckReport::could_not_run(SPEC.id, "no host name given", None);
    }
    let mut facts = Facts::new();
    match lookup(&host, TIMEOUT).await {
        Ok(mut answers) => {
            answers.cdn = fingerprints::table().cdn_for(&answers.cnames, &answers.addresses);
            report(&answers, facts)
        }
        Err(error @ LookupError::NotFound(_)) => {
            facts.set("dns.resolves", false);
            CheckReport::new(SPEC.id, CheckStatus::Failed, error.to_string()).with_facts(facts)
        }
        Err(error) => {
            let instead = Some(format!("dig {host} A; dig {host} AAAA"));
            CheckReport::could_not_run(SPEC.id, error.to_string(), instead)
        }
    }
}

/// The host of a URL, or the text itself when it is a bare name.
pub fn host_of(text: &str) -> String {
    match SiteUrl::parse(text) {
        Ok(site) => site.host().to_owned(),
        Err(_) => text.split('/').next().unwrap_or_default().to_owned(),
    }
}

fn report(answers: &Answers, mut facts: Facts) -> CheckReport {
    let addresses: Vec<String> =
        answers.addresses.iter().take(20).map(ToString::to_string).collect();
    facts.set("dns.resolves", true);
    facts.set("dns.addresses", addresses.clone());
    facts.set("dns.cnames", answers.cnames.iter().take(20).cloned().collect::<Vec<_>>());
    let mut details = vec![format!("addresses  {}", addresses.join(", "))];
    if !answers.cnames.is_empty() {
        details.push(format!("cname      {}", answers.cnames.join(" → ")));
    }
    let cdn = match &answers.cdn {
        Some(cdn) => {
            facts.set("dns.cdn", cdn.vendor.clone());
            details.push(format!("cdn        {} ({})", cdn.name, cdn.evidence));
            format!(", behind {}", cdn.name)
        }
        None => String::new(),
    };
    let literal = answers.host.parse::<IpAddr>().is_ok();
    let summary = if literal {
        format!("{} is an address: nothing to resolve{cdn}.", answers.host)
    } else {
        format!(
            "{} resolves to {}{cdn}.",
            answers.host,
            crate::text::count(answers.addresses.len(), "address", "addresses")
        )
    };
    CheckReport::new(SPEC.id, CheckStatus::Passed, summary)
        .with_facts(facts)
        .with_details(details)
        .with_evidence(Evidence::Dns(Box::new(answers.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn invalid_names_never_resolve_and_literals_need_no_lookup() {
        let err = lookup("shop.invalid", Duration::from_millis(100)).await.unwrap_err();
        assert!(matches!(err, LookupError::NotFound(_)), "{err}");
        let answers = lookup("[::1]", Duration::from_millis(100)).await.unwrap();
        assert_eq!(answers.addresses, vec!["::1".parse::<IpAddr>().unwrap()]);
        assert_eq!(host_of("https://shop.test:8443/a"), "shop.test");
        assert_eq!(host_of("shop.test/x"), "shop.test");
    }

    #[tokio::test]
    async fn a_missing_name_fails_the_check_with_a_fact() {
        let report =
            run(CheckRequest::new("dns").with("host", "x.invalid"), Progress::none()).await;
        assert_eq!(report.status, CheckStatus::Failed);
        assert_eq!(report.facts.get("dns.resolves"), Some(&false.into()));
    }
}
