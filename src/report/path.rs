//! The request path as the note shows it: the hops of the diagnosis's traced path from the
//! first one to the failing one (or all of them when none fails), each with its address, the
//! config line that defines it and what the diagnosis concluded of it.

use serde::Serialize;

use crate::diagnosis::{self, Hop, HopState, Rules};

/// The hops, outside in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    pub hops: Vec<Hop>,
    /// What each hop did, for people: its cause's title when it fails.
    #[serde(skip)]
    states: Vec<String>,
}

impl Path {
    /// The branch of the assessment's path that leads to its verdict; `None` without hops.
    pub fn of(assessment: &diagnosis::Assessment, rules: &Rules) -> Option<Path> {
        let hops = diagnosis::branch(&assessment.path, assessment.verdict.hop);
        let states = hops.iter().map(|hop| state(hop, rules)).collect();
        (!hops.is_empty()).then_some(Path { hops, states })
    }

    /// `nginx (localhost) (site.conf:3): passes the error on → php-fpm pool www
    /// unix:/run/php.sock (site.conf:12): ✗ The web server's user may not open the socket
    /// (upstream_socket_permission)`
    pub fn line(&self) -> String {
        let hops: Vec<String> =
            self.hops.iter().zip(&self.states).map(|(hop, state)| text(hop, state)).collect();
        hops.join(" → ")
    }
}

fn text(hop: &Hop, state: &str) -> String {
    let mut out = hop.name.clone();
    if let Some(address) = hop.address.as_ref().filter(|a| !hop.name.contains(a.as_str())) {
        out.push_str(&format!(" {address}"));
    }
    if let Some(at) = &hop.at {
        out.push_str(&format!(" ({at})"));
    }
    out.push_str(&format!(": {state}"));
    out
}

fn state(hop: &Hop, rules: &Rules) -> String {
    match &hop.state {
        HopState::Fails { cause } => match rules.cause(cause) {
            Some(spec) => format!("✗ {} ({cause})", spec.title),
            None => format!("✗ {cause}"),
        },
        HopState::PassesOn => "passes the error on".to_owned(),
        HopState::Ok => "works".to_owned(),
        HopState::Unknown => "not checked".to_owned(),
    }
}
