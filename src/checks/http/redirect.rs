//! Where a probe may be sent by a redirect: probes stay where they were pointed. A redirect to
//! a link-local address (169.254.0.0/16, fe80::/10) or a cloud metadata service (by name or
//! address) is never followed, and when the first URL answered from a public address, neither
//! is one to a private, loopback or unique-local address — checked on every address the
//! target's name resolves to, and the hop then pinned to the address checked, so a name cannot
//! point elsewhere between the check and the connection. Only http and https are followed.
//! An explicit `follow_internal` allows the internal ones (a staging site that redirects to
//! its own private network, say).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use url::Url;

use crate::checks::dns;
use crate::contract::evidence::http::ProbeFailure;

/// How far inside an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Public,
    /// RFC 1918, shared address space (100.64.0.0/10), unique-local (fc00::/7), "this network".
    Private,
    Loopback,
    /// Link-local and the metadata services: never a redirect target.
    LinkLocal,
}

impl Scope {
    fn words(self) -> &'static str {
        match self {
            Scope::Public => "public",
            Scope::Private => "private network",
            Scope::Loopback => "loopback",
            Scope::LinkLocal => "link-local",
        }
    }
}

/// Names of cloud metadata services (GCP, AWS, Azure, OpenStack, Alibaba, Tencent…).
const METADATA_NAMES: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
    "metadata.tencentyun.com",
    "metadata.platformequinix.com",
];

/// Metadata addresses outside the link-local ranges (AWS's IPv6 one, Alibaba's).
const METADATA_ADDRESSES: &[IpAddr] = &[
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
];

/// The scope of an address (IPv4-mapped IPv6 addresses as their IPv4 address).
pub fn scope(ip: IpAddr) -> Scope {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 @ IpAddr::V4(_) => v4,
    };
    if METADATA_ADDRESSES.contains(&ip) {
        return Scope::LinkLocal;
    }
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_link_local() {
                Scope::LinkLocal
            } else if v4.is_loopback() {
                Scope::Loopback
            } else if v4.is_private() || a == 0 || (a == 100 && (64..128).contains(&b)) {
                Scope::Private
            } else {
                Scope::Public
            }
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if first & 0xffc0 == 0xfe80 {
                Scope::LinkLocal
            } else if v6.is_loopback() || v6.is_unspecified() {
                Scope::Loopback
            } else if first & 0xfe00 == 0xfc00 {
                Scope::Private
            } else {
                Scope::Public
            }
        }
    }
}

/// Why a redirect to `next` must not be followed because of its scheme or its name alone.
pub fn refused_by_name(next: &Url) -> Option<ProbeFailure> {
    if !matches!(next.scheme(), "http" | "https") {
        return Some(ProbeFailure::new(
            "unsupported_scheme",
            format!(
                "redirect to a `{}:` URL, not followed: a probe follows only http and https",
                crate::sanitize::line(next.scheme())
            ),
        ));
    }
    let host = next.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    METADATA_NAMES.contains(&host.as_str()).then(|| internal(&host, "a cloud metadata service"))
}

/// Why a redirect to addresses `to` must not be followed, given where the first URL answered
/// from (`first`; unknown counts as public).
pub fn refused_by_address(
    first: Option<IpAddr>,
    host: &str,
    to: &[IpAddr],
) -> Option<ProbeFailure> {
    let from = first.map_or(Scope::Public, scope);
    let worst = to.iter().copied().max_by_key(|ip| scope(*ip))?;
    let inside = scope(worst);
    let refused = inside == Scope::LinkLocal || (from == Scope::Public && inside > Scope::Public);
    refused.then(|| {
        let what = if host == worst.to_string() {
            format!("{worst}: {}", inside.words())
        } else {
            format!("{host} is {worst}: {}", inside.words())
        };
        internal(host, &what)
    })
}

fn internal(host: &str, what: &str) -> ProbeFailure {
    let what = if what.starts_with(host) { what.to_owned() } else { format!("{host}: {what}") };
    ProbeFailure::new(
        "internal_redirect",
        format!(
            "redirect to an internal address ({}), not followed; `--follow-internal-redirects` follows it",
            crate::sanitize::line(&what)
        ),
    )
}

/// Where the hop to `next` goes: the address to pin its host to, after the checks above.
/// `pin` is a host already pinned by the caller; `None` when the name does not resolve (the
/// hop then fails with the DNS error of its own lookup).
pub async fn resolve(
    next: &Url,
    pin: Option<&(String, IpAddr)>,
    timeout: Duration,
) -> Option<(String, Vec<IpAddr>)> {
    let host = next.host_str()?.trim_matches(['[', ']']).to_owned();
    if let Some((pinned, ip)) = pin.filter(|(h, _)| h.eq_ignore_ascii_case(&host)) {
        return Some((pinned.clone(), vec![*ip]));
    }
    let answers = dns::lookup(&host, timeout).await.ok()?;
    Some((host, answers.addresses))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn scopes() {
        for (text, expected) in [
            ("169.254.169.254", Scope::LinkLocal),
            ("fe80::1", Scope::LinkLocal),
            ("fd00:ec2::254", Scope::LinkLocal),
            ("100.100.100.200", Scope::LinkLocal),
            ("::ffff:169.254.169.254", Scope::LinkLocal),
            ("127.0.0.1", Scope::Loopback),
            ("::1", Scope::Loopback),
            ("10.1.2.3", Scope::Private),
            ("172.16.0.1", Scope::Private),
            ("192.168.1.1", Scope::Private),
            ("100.64.0.1", Scope::Private),
            ("fd12::1", Scope::Private),
            ("0.0.0.0", Scope::Private),
            ("203.0.113.7", Scope::Public),
            ("2001:db8::1", Scope::Public),
        ] {
            assert_eq!(scope(ip(text)), expected, "{text}");
        }
    }

    #[test]
    fn link_local_is_never_followed_and_inside_only_from_inside() {
        let public = Some(ip("203.0.113.7"));
        let local = Some(ip("127.0.0.1"));
        let metadata = [ip("169.254.169.254")];
        assert!(refused_by_address(local, "169.254.169.254", &metadata).is_some());
        assert!(refused_by_address(public, "169.254.169.254", &metadata).is_some());
        for inside in ["127.0.0.1", "10.0.0.5", "fd12::1", "::1"] {
            let failure = refused_by_address(public, "db.internal", &[ip(inside)]).unwrap();
            assert_eq!(failure.kind, "internal_redirect");
            assert!(failure.message.contains(&format!("db.internal is {inside}")), "{failure:?}");
            assert!(refused_by_address(local, "db.internal", &[ip(inside)]).is_none());
        }
        // A name with one public and one internal address is internal.
        let mixed = [ip("203.0.113.9"), ip("10.0.0.5")];
        assert!(refused_by_address(public, "www", &mixed).is_some());
        assert!(refused_by_address(public, "cdn", &[ip("198.51.100.1")]).is_none());
        assert!(refused_by_address(None, "x", &[ip("127.0.0.1")]).is_some(), "unknown is public");
    }

    #[test]
    fn metadata_names_and_other_schemes_are_refused_by_name() {
        let url = |u: &str| Url::parse(u).unwrap();
        let m =
            refused_by_name(&url("http://metadata.google.internal/computeMetadata/v1/")).unwrap();
        assert_eq!(m.kind, "internal_redirect");
        assert_eq!(
            m.message,
            "redirect to an internal address (metadata.google.internal: a cloud metadata service), not followed; `--follow-internal-redirects` follows it"
        );
        for u in ["file:///etc/passwd", "gopher://127.0.0.1:70/_x", "ftp://example.com/"] {
            assert_eq!(refused_by_name(&url(u)).unwrap().kind, "unsupported_scheme", "{u}");
        }
        assert!(refused_by_name(&url("https://shop.example.com/")).is_none());
    }
}
