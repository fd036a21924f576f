//! The request path as the note shows it: the hops of the diagnosis's traced path from the
//! first one to the failing one (or all of them when none fails), each with its address, the
//! config line that defines it and what the diagnosis concluded of it.

use serde::Serialize;

use crate::diagnosis::{self, Hop, HopState};

/// The hops, outside in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Path {
    pub hops: Vec<Hop>,
}

impl Path {
    /// The branch of the assessment's path that leads to its verdict; `None` without hops.
    pub fn of(assessment: &diagnosis::Assessment) -> Option<Path> {
        let hops = diagnosis::branch(&assessment.path, assessment.verdict.hop);
        (!hops.is_empty()).then_some(Path { hops })
    }

    /// `nginx (site.conf:3) 127.0.0.1:8089: passes the error on → php-fpm pool www
    /// unix:/run/php.sock (www.conf:4): ✗ upstream_socket_permission`
    pub fn line(&self) -> String {
        let hops: Vec<String> = self.hops.iter().map(text).collect();
        hops.join(" → ")
    }
}

fn text(hop: &Hop) -> String {
    let mut out = hop.name.clone();
    if let Some(address) = &hop.address {
        out.push_str(&format!(" {address}"));
    }
    if let Some(at) = &hop.at {
        out.push_str(&format!(" ({at})"));
    }
    let state = match &hop.state {
        HopState::Fails { cause } => format!("✗ {cause}"),
        HopState::PassesOn => "passes the error on".to_owned(),
        HopState::Ok => "works".to_owned(),
        HopState::Unknown => "not checked".to_owned(),
    };
    out.push_str(&format!(": {state}"));
    out
}
