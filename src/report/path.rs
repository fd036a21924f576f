//! The request path as the note shows it: the hops a request takes from the edge to the
//! database, each with its address, the config line that sends it on, and its state.
//!
//! This is the seam for issue 9: until the diagnosis traces the path hop by hop, it is put
//! together here from the facts the checks gathered (the responder, the upstream the proxy
//! config names, the runtime, the database). The note and the JSON render whatever `Path` the
//! assessment holds, so the traced path replaces [`Path::from_facts`] and nothing else.

use serde::Serialize;

use crate::facts::{FactValue, Facts};

/// One hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    /// `edge`, `web_server`, `upstream`, `runtime` or `database`.
    pub role: &'static str,
    /// What it is, for people: `nginx`, `fastcgi_pass`, `php-fpm`.
    pub name: String,
    pub address: Option<String>,
    /// `file:line` of the config that sends requests on from here.
    pub config_at: Option<String>,
    /// What it did: `answered 502`, `permission denied`, `refused`, `reachable`.
    pub state: String,
    /// Whether this hop works: `None` when not known.
    pub ok: Option<bool>,
}

/// The hops, outside in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    pub hops: Vec<Hop>,
}

impl Path {
    /// The path the facts describe; `None` when they name no hop.
    pub fn from_facts(facts: &Facts) -> Option<Path> {
        let hops: Vec<Hop> = [edge(facts), upstream(facts), runtime(facts), database(facts)]
            .into_iter()
            .flatten()
            .collect();
        (!hops.is_empty()).then_some(Path { hops })
    }

    /// `nginx 127.0.0.1:8089: answered 502 → fastcgi_pass unix:/run/php.sock (site.conf:12): ✗ permission denied → …`
    pub fn line(&self) -> String {
        let hops: Vec<String> = self.hops.iter().map(Hop::text).collect();
        hops.join(" → ")
    }
}

impl Hop {
    fn text(&self) -> String {
        let mut out = self.name.clone();
        if let Some(address) = &self.address {
            out.push_str(&format!(" {address}"));
        }
        if let Some(at) = &self.config_at {
            out.push_str(&format!(" ({at})"));
        }
        let mark = if self.ok == Some(false) { "✗ " } else { "" };
        out.push_str(&format!(": {mark}{}", self.state));
        out
    }
}

fn text(facts: &Facts, key: &str) -> Option<String> {
    match facts.get(key)? {
        FactValue::List(items) => items.first().cloned(),
        FactValue::Text(t) if t.is_empty() => None,
        other => Some(other.to_string()),
    }
}

fn edge(facts: &Facts) -> Option<Hop> {
    let name = text(facts, "responder.name").or_else(|| text(facts, "http.server"))?;
    let state = match (text(facts, "http.status"), text(facts, "http.failure")) {
        (Some(status), _) => format!("answered {status}"),
        (None, Some(failure)) => format!("no answer ({failure})"),
        (None, None) => "answered".to_owned(),
    };
    let status = facts.get("http.status").and_then(FactValue::as_int);
    Some(Hop {
        role: "edge",
        name,
        address: text(facts, "http.remote_addr"),
        config_at: None,
        state,
        ok: status.map(|s| s < 500),
    })
}

/// The first bad upstream target the config names, else the first one.
fn upstream(facts: &Facts) -> Option<Hop> {
    const FAULTS: &[(&str, &str)] = &[
        ("upstream.socket_permission", "permission denied"),
        ("upstream.socket_missing", "socket missing"),
        ("upstream.refused", "refused"),
        ("upstream.no_answer", "no answer"),
        ("upstream.closed", "closed without answering"),
        ("upstream.erroring", "answers with a server error"),
        ("upstream.misconfigured", "misconfigured"),
        ("upstream.elsewhere", "its runtime listens elsewhere"),
    ];
    // `fastcgi_pass unix:/run/php.sock: permission denied` names the directive first.
    let directive = text(facts, "upstream.problem")
        .and_then(|p| p.split_whitespace().next().map(str::to_owned));
    let config_at = text(facts, "upstream.problem_at");
    for (key, state) in FAULTS {
        if let Some(address) = text(facts, key) {
            let name = directive
                .clone()
                .filter(|d| !d.is_empty())
                .unwrap_or_else(|| "upstream".to_owned());
            let state = (*state).to_owned();
            return Some(Hop {
                role: "upstream",
                name,
                address: Some(address),
                config_at,
                state,
                ok: Some(false),
            });
        }
    }
    let address = text(facts, "upstream.targets")?;
    let healthy = facts.get("upstream.healthy").and_then(FactValue::as_int).unwrap_or(0) > 0;
    let state = if healthy { "answers" } else { "not checked" }.to_owned();
    let ok = healthy.then_some(true);
    Some(Hop {
        role: "upstream",
        name: "upstream".to_owned(),
        address: Some(address),
        config_at,
        state,
        ok,
    })
}

/// The runtime the site's upstream implies (PHP-FPM behind FastCGI), not any runtime that
/// happens to run on the machine.
fn runtime(facts: &Facts) -> Option<Hop> {
    let down = text(facts, "upstream.runtimes_down");
    let name = down.clone().or_else(|| text(facts, "found.runtime"))?;
    let unit = text(facts, "found.php_unit").filter(|_| name == "php-fpm");
    let state = if down.is_some() { "not listening" } else { "running" }.to_owned();
    Some(Hop {
        role: "runtime",
        name,
        address: unit.map(|u| format!("({u})")),
        config_at: text(facts, "found.pool_file"),
        state,
        ok: Some(down.is_none()),
    })
}

fn database(facts: &Facts) -> Option<Hop> {
    let target = text(facts, "db.target")?;
    let reachable = facts.get("db.reachable").and_then(FactValue::as_bool);
    let state = match (reachable, text(facts, "db.failure")) {
        (Some(true), _) => "accepts connections".to_owned(),
        (_, Some(failure)) => failure,
        _ => "not checked".to_owned(),
    };
    Some(Hop {
        role: "database",
        name: text(facts, "db.kind").unwrap_or_else(|| "database".to_owned()),
        address: Some(target),
        config_at: text(facts, "db.source"),
        state,
        ok: reachable,
    })
}
