//! Caddy's addresses: a site's (`example.com`, `http://127.0.0.1:8080`, `:443`) and an
//! upstream's (`127.0.0.1:8080`, `http://app:80`, `https://api`, `h2c://app`, `unix//run/app.sock`,
//! a `{placeholder}`), as its Caddyfile adapter and JSON config read them.

use std::path::PathBuf;

use crate::contract::evidence::web::{Address, Protocol};

/// A site address: the host it names (if any) and the listen addresses it implies (`*:443`
/// and `*:80` for a bare name, since Caddy serves it over HTTPS and redirects HTTP).
pub fn site_address(word: &str) -> (Option<String>, Vec<String>) {
    let (scheme, rest) = word.split_once("://").map_or((None, word), |(s, r)| (Some(s), r));
    let hostport = rest.split('/').next().unwrap_or_default();
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, _)) if !h.ends_with(']') && h.contains(':') => (hostport, None),
        Some((h, p)) => (h, p.parse::<u16>().ok()),
        None => (hostport, None),
    };
    let host = host.trim_matches(['[', ']']);
    let name = (!host.is_empty()).then(|| host.to_owned());
    let ports: Vec<u16> = match (port, scheme) {
        (Some(p), _) => vec![p],
        (None, Some("http")) => vec![80],
        (None, Some(_)) => vec![443],
        (None, None) => vec![443, 80],
    };
    let bind = if host.parse::<std::net::IpAddr>().is_ok() { host } else { "*" };
    (name, ports.into_iter().map(|p| format!("{bind}:{p}")).collect())
}

/// An upstream address; `protocol` is what the directive speaks (`https://` turns HTTP into
/// HTTPS). A placeholder makes it dynamic; a port left out is 80 (443 for https), as Caddy's
/// `parseUpstreamDialAddress` does.
pub fn upstream(text: &str, protocol: Protocol) -> Option<(Protocol, Address)> {
    if text.contains('{') {
        return Some((protocol, Address::Dynamic { text: text.to_owned() }));
    }
    if let Some(path) = text.strip_prefix("unix/") {
        return Some((protocol, Address::Unix { path: PathBuf::from(path) }));
    }
    let (scheme, rest) = text.split_once("://").map_or((None, text), |(s, r)| (Some(s), r));
    let protocol = match scheme {
        Some("https") if protocol == Protocol::Http => Protocol::Https,
        _ => protocol,
    };
    let default = if protocol == Protocol::Https { 443 } else { 80 };
    let hostport = rest.split('/').next()?;
    let hostport = if hostport.starts_with(':') {
        format!("localhost{hostport}")
    } else {
        hostport.to_owned()
    };
    let (host, port) = super::super::split_host_port(&hostport, Some(default))?;
    Some((protocol, Address::Tcp { host, port }))
}

/// A JSON `dial` (`127.0.0.1:8080`, `unix//path`, `[::1]:80`): no scheme, always a port.
pub fn dial(text: &str, protocol: Protocol) -> Option<(Protocol, Address)> {
    upstream(text, protocol)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_addresses() {
        assert_eq!(
            site_address("http://127.0.0.1:18300"),
            (Some("127.0.0.1".into()), vec!["127.0.0.1:18300".into()])
        );
        assert_eq!(
            site_address("shop.example.com"),
            (Some("shop.example.com".into()), vec!["*:443".into(), "*:80".into()])
        );
        assert_eq!(site_address(":8080"), (None, vec!["*:8080".into()]));
        assert_eq!(
            site_address("http://shop.test"),
            (Some("shop.test".into()), vec!["*:80".into()])
        );
    }

    #[test]
    fn upstream_addresses() {
        let a = |t| upstream(t, Protocol::Http).map(|(p, a)| (p, a.to_string()));
        assert_eq!(a("127.0.0.1:9000"), Some((Protocol::Http, "127.0.0.1:9000".into())));
        assert_eq!(a("https://api.internal"), Some((Protocol::Https, "api.internal:443".into())));
        assert_eq!(a("unix//run/app.sock"), Some((Protocol::Http, "unix:/run/app.sock".into())));
        assert_eq!(a(":3000"), Some((Protocol::Http, "localhost:3000".into())));
        assert_eq!(a("app"), Some((Protocol::Http, "app:80".into())));
        assert!(matches!(
            upstream("{upstream}", Protocol::Http),
            Some((_, Address::Dynamic { .. }))
        ));
    }
}
