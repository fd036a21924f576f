//! Resolving an upstream's host name the way its proxy does: with nginx's own `resolver` (its
//! name servers and `resolver_timeout`) for an address that comes from a variable — nginx asks
//! that server, not /etc/resolv.conf, at request time — else with the system's resolver.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use crate::contract::evidence::web::Setting;
use crate::text::{duration_words, parse_duration};

/// The proxy's own resolver for a target, when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResolver {
    pub servers: Vec<SocketAddr>,
    pub timeout: Duration,
    /// `resolver 127.0.0.1:15353 valid=1s (nginx.conf:12)`.
    pub by: String,
}

/// nginx's `resolver` (with `resolver_timeout`, default 30 s) among a target's settings, for an
/// address that came from a variable; `None` otherwise.
pub fn proxy_resolver(settings: &[Setting], dynamic: bool) -> Option<ProxyResolver> {
    if !dynamic {
        return None;
    }
    let resolver = settings.iter().rev().find(|s| s.name == "resolver")?;
    let servers: Vec<SocketAddr> =
        resolver.value.split_whitespace().filter(|w| !w.contains('=')).filter_map(server).collect();
    let timeout = settings
        .iter()
        .rev()
        .find(|s| s.name == "resolver_timeout")
        .and_then(|s| parse_duration(&s.value, 1000.0))
        .unwrap_or(Duration::from_secs(30));
    (!servers.is_empty()).then(|| ProxyResolver {
        servers,
        timeout,
        by: format!("resolver {} ({})", resolver.value, resolver.at),
    })
}

/// `127.0.0.1`, `127.0.0.1:5353`, `[::1]:53`.
fn server(word: &str) -> Option<SocketAddr> {
    if let Ok(addr) = word.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip: IpAddr = word.trim_matches(['[', ']']).parse().ok()?;
    Some(SocketAddr::new(ip, 53))
}

/// Asks the proxy's name servers for `host`, within `limit`.
pub async fn lookup(
    host: &str,
    resolver: &ProxyResolver,
    limit: Duration,
) -> Result<Vec<IpAddr>, String> {
    let servers = resolver
        .servers
        .iter()
        .map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp])
        })
        .collect();
    let config = ResolverConfig::from_name_servers(servers);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    let options = builder.options_mut();
    options.timeout = limit;
    options.attempts = 1;
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    let dns = builder.build().map_err(|e| e.to_string())?;
    let asked = format!("{host} at {}", resolver.by);
    match tokio::time::timeout(limit + Duration::from_millis(250), dns.lookup_ip(host)).await {
        Err(_) => Err(format!("{asked}: no answer within {}", duration_words(limit))),
        Ok(Err(e)) if e.is_nx_domain() => Err(format!("{asked}: no such name (NXDOMAIN)")),
        Ok(Err(e)) if e.is_no_records_found() => Err(format!("{asked}: no A/AAAA records")),
        Ok(Err(e)) => Err(format!("{asked}: {e}")),
        Ok(Ok(answer)) => Ok(answer.iter().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::evidence::web::Location;
    use std::path::Path;

    #[test]
    fn nginx_resolvers_read() {
        let at = Location::new(Path::new("/etc/nginx/nginx.conf"), 7);
        let set = |name: &str, value: &str| Setting {
            name: name.into(),
            value: value.into(),
            at: at.clone(),
        };
        let settings =
            [set("resolver", "127.0.0.1:15353 [::1] valid=1s"), set("resolver_timeout", "2s")];
        let r = proxy_resolver(&settings, true).unwrap();
        assert_eq!(
            r.servers,
            vec!["127.0.0.1:15353".parse().unwrap(), "[::1]:53".parse().unwrap()]
        );
        assert_eq!(r.timeout, Duration::from_secs(2));
        assert_eq!(r.by, "resolver 127.0.0.1:15353 [::1] valid=1s (/etc/nginx/nginx.conf:7)");
        assert_eq!(proxy_resolver(&settings, false), None, "static names resolve at start-up");
    }
}
