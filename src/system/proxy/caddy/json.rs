//! Caddy's native JSON config (a `--config caddy.json`, or what `caddy adapt` prints for a
//! Caddyfile): the HTTP servers' `listen` addresses and host matchers, every `reverse_proxy`
//! handler however deeply it sits in `subroute`s (its `upstreams[].dial`, its transport's
//! protocol, TLS and timeouts), and the file writers of `logging.logs`.

use std::path::PathBuf;

use serde_json::Value;

use super::address;
use crate::contract::evidence::web::{Address, LogKind, Protocol};

/// One `reverse_proxy` upstream as the JSON describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonUpstream {
    pub protocol: Protocol,
    pub address: Address,
    pub dial: String,
    /// The transport's `*_timeout`s, as written (`"2s"`, or nanoseconds).
    pub timeouts: Vec<(String, String)>,
    /// The host matchers of the routes around it.
    pub hosts: Vec<String>,
    /// The server (`srv0`) and its listen addresses.
    pub server: String,
    pub listen: Vec<String>,
}

/// Every upstream of every HTTP server.
pub fn upstreams(config: &Value) -> Vec<JsonUpstream> {
    let mut out = Vec::new();
    let Some(servers) = config.pointer("/apps/http/servers").and_then(Value::as_object) else {
        return out;
    };
    for (name, server) in servers {
        let listen: Vec<String> = strings(server.get("listen"));
        let context = Context { server: name.clone(), listen, hosts: Vec::new() };
        routes(server.get("routes"), &context, &mut out);
    }
    out
}

#[derive(Debug, Clone)]
struct Context {
    server: String,
    listen: Vec<String>,
    hosts: Vec<String>,
}

fn routes(list: Option<&Value>, context: &Context, out: &mut Vec<JsonUpstream>) {
    for route in list.and_then(Value::as_array).into_iter().flatten() {
        let mut inner = context.clone();
        for matcher in route.get("match").and_then(Value::as_array).into_iter().flatten() {
            inner.hosts.extend(strings(matcher.get("host")));
        }
        for handler in route.get("handle").and_then(Value::as_array).into_iter().flatten() {
            match handler.get("handler").and_then(Value::as_str) {
                Some("subroute") => routes(handler.get("routes"), &inner, out),
                Some("reverse_proxy") => reverse_proxy(handler, &inner, out),
                _ => {}
            }
        }
    }
}

fn reverse_proxy(handler: &Value, context: &Context, out: &mut Vec<JsonUpstream>) {
    let transport = handler.get("transport");
    let mut protocol = match transport.and_then(|t| t.get("protocol")).and_then(Value::as_str) {
        Some("fastcgi") => Protocol::FastCgi,
        _ => Protocol::Http,
    };
    if transport.and_then(|t| t.get("tls")).is_some() {
        protocol = Protocol::Https;
    }
    let timeouts: Vec<(String, String)> = transport
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.ends_with("_timeout"))
        .map(|(k, v)| (k.clone(), duration_text(v)))
        .collect();
    for upstream in handler.get("upstreams").and_then(Value::as_array).into_iter().flatten() {
        let Some(dial) = upstream.get("dial").and_then(Value::as_str) else { continue };
        let Some((protocol, address)) = address::dial(dial, protocol) else { continue };
        out.push(JsonUpstream {
            protocol,
            address,
            dial: dial.to_owned(),
            timeouts: timeouts.clone(),
            hosts: context.hosts.clone(),
            server: context.server.clone(),
            listen: context.listen.clone(),
        });
    }
}

/// A JSON duration: a Go duration string, or an integer of nanoseconds.
fn duration_text(value: &Value) -> String {
    match value {
        Value::Number(n) => {
            n.as_f64().map_or_else(|| n.to_string(), |ns| format!("{}ms", ns / 1e6))
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `logging.logs.NAME.writer` with `output: file`: (logger name, file).
pub fn log_files(config: &Value) -> Vec<(String, PathBuf, LogKind)> {
    let Some(logs) = config.pointer("/logging/logs").and_then(Value::as_object) else {
        return Vec::new();
    };
    logs.iter()
        .filter_map(|(name, log)| {
            let writer = log.get("writer")?;
            (writer.get("output")?.as_str()? == "file").then(|| {
                let file = writer.get("filename").and_then(Value::as_str).unwrap_or_default();
                (name.clone(), PathBuf::from(file), LogKind::CaddyJson)
            })
        })
        .filter(|(_, path, _)| path.is_absolute())
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_proxies_in_subroutes_with_transports() {
        let config: Value = serde_json::from_str(r#"{"apps":{"http":{"servers":{"srv0":{"listen":[":18300"],"routes":[{"match":[{"host":["shop.test"]}],"handle":[{"handler":"subroute","routes":[{"handle":[{"handler":"reverse_proxy","transport":{"protocol":"fastcgi","dial_timeout":2000000000},"upstreams":[{"dial":"unix//run/php.sock"}]}]},{"handle":[{"handler":"reverse_proxy","transport":{"protocol":"http","tls":{}},"upstreams":[{"dial":"api:443"}]}]}]}]}]}}}},"logging":{"logs":{"default":{"writer":{"output":"file","filename":"/var/log/caddy/caddy.log"}}}}}"#).unwrap();
        let found = upstreams(&config);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].address.to_string(), "unix:/run/php.sock");
        assert_eq!(found[0].protocol, Protocol::FastCgi);
        assert_eq!(found[0].timeouts, vec![("dial_timeout".to_owned(), "2000ms".to_owned())]);
        assert_eq!(found[0].hosts, vec!["shop.test"]);
        assert_eq!(found[1].protocol, Protocol::Https);
        assert_eq!(log_files(&config)[0].1, PathBuf::from("/var/log/caddy/caddy.log"));
    }
}
