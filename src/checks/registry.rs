//! The one table of checks: each row is a check's declaration (its `SPEC`: id, title, params,
//! facts, timeout) and the function that runs it. Adding a check is one file that declares
//! `SPEC` and `run`, and one row here; the engine, the runbook validator, `triage check` and the
//! TUI all read this table.

use super::{
    changes, database, dns, http, logs, origin, resources, security, stack, tls, upstreams,
};
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, FactSpec, Input, Progress, ReportFuture,
    VERDICT_FACTS, WALK_FACTS,
};

/// One row: what the check is, and what runs it.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub spec: &'static CheckSpec,
    pub run: fn(CheckRequest, Progress) -> ReportFuture,
}

/// A row for a check module that declares `SPEC` and `async fn run(request, progress)`.
macro_rules! row {
    ($check:ident) => {
        Check {
            spec: &$check::SPEC,
            run: |request, progress| Box::pin($check::run(request, progress)),
        }
    };
}

/// Every check, in the order front ends list them: outside in.
pub const CHECKS: &[Check] = &[
    row!(http),
    row!(dns),
    row!(tls),
    row!(origin),
    row!(stack),
    row!(upstreams),
    row!(logs),
    row!(resources),
    row!(security),
    row!(database),
    row!(changes),
];

/// Every check's declaration, in table order.
pub fn specs() -> impl Iterator<Item = &'static CheckSpec> {
    CHECKS.iter().map(|c| c.spec)
}

/// The check with this id.
pub fn spec(id: &str) -> Option<&'static CheckSpec> {
    specs().find(|s| s.id == id)
}

/// The declaration of a fact key, from any check or from the diagnosis.
pub fn fact(key: &str) -> Option<&'static FactSpec> {
    all_facts().find(|f| f.key == key)
}

/// Every declared fact: the checks', the diagnosis's and the walk's.
pub fn all_facts() -> impl Iterator<Item = &'static FactSpec> {
    specs().flat_map(|s| s.produces.iter()).chain(VERDICT_FACTS).chain(WALK_FACTS)
}

/// How a report breaks its check's declaration (see [`CheckSpec::breaches`]); every check's
/// tests assert this is empty.
pub fn contract_breaches(report: &CheckReport) -> Vec<String> {
    match spec(&report.check) {
        Some(spec) => spec.breaches(report),
        None => vec![format!("`{}` is not a check in the catalog", report.check)],
    }
}

/// Runs one check to its report. The engine adds the time limit, cancellation and timing; each
/// check bounds its own reads and connections as well.
pub fn run(request: CheckRequest, progress: Progress) -> ReportFuture {
    if let Some(check) = CHECKS.iter().find(|c| c.spec.id == request.check) {
        return (check.run)(request, progress);
    }
    let id = request.check;
    Box::pin(async move { CheckReport::could_not_run(&id, format!("unknown check `{id}`"), None) })
}

/// What a front end knows of the incident, to plan the checks without a runbook.
#[derive(Debug, Clone, Default)]
pub struct Incident {
    pub url: String,
    pub host: String,
    pub https: bool,
    pub count: Option<u8>,
    pub origin: Option<String>,
    pub since: Option<String>,
    pub site_root: Option<String>,
    /// A web server, runtime or database runs on this machine.
    pub local_stack: bool,
}

impl Incident {
    fn value(&self, input: Input) -> Option<String> {
        match input {
            Input::Url => Some(self.url.clone()),
            Input::Host => Some(self.host.clone()),
            Input::Count => self.count.map(|n| n.to_string()),
            Input::Origin => self.origin.clone(),
            Input::Since => self.since.clone(),
            Input::SiteRoot => self.site_root.clone(),
        }
    }

    fn wants(&self, spec: &CheckSpec) -> bool {
        match spec.applies {
            Applies::Always => true,
            Applies::Https => self.https,
            Applies::WithOrigin => self.origin.is_some(),
            Applies::LocalStack => self.local_stack,
        }
    }
}

/// The checks that apply to `incident`, each with the parameters it supplies.
pub fn plan(incident: &Incident) -> Vec<CheckRequest> {
    specs()
        .filter(|spec| incident.wants(spec))
        .map(|spec| {
            let mut request = CheckRequest::new(spec.id);
            for param in spec.params {
                if let Some(value) = param.from.and_then(|from| incident.value(from)) {
                    request = request.with(param.name, value);
                }
            }
            request
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::CheckStatus;
    use std::collections::HashSet;

    #[test]
    fn breaches_of_the_contract_are_named() {
        let mut facts = crate::facts::Facts::new();
        facts.set("http.status", 502_i64);
        facts.set("http.stauts", 502_i64);
        facts.set("http.server", 1_i64);
        facts.set("http.statuses", vec!["502".to_owned(); 21]);
        let report = CheckReport::new("http_probe", CheckStatus::Failed, "x").with_facts(facts);
        assert_eq!(
            contract_breaches(&report),
            vec![
                "`http_probe` emits `http.server` as Int; the catalog declares Text",
                "`http_probe` emits `http.statuses` with 21 items",
                "`http_probe` emits the undeclared fact `http.stauts`",
            ]
        );
    }

    #[test]
    fn the_checks_that_apply_to_a_url() {
        let site = |url: &str, origin: Option<&str>| Incident {
            url: url.to_owned(),
            https: url.starts_with("https"),
            origin: origin.map(str::to_owned),
            count: Some(3),
            ..Incident::default()
        };
        let ids = |incident: &Incident| -> Vec<String> {
            plan(incident).into_iter().map(|r| r.check).collect()
        };
        assert_eq!(
            ids(&site("https://shop.test/", Some("10.0.0.5"))),
            ["http_probe", "dns", "tls", "origin"]
        );
        assert_eq!(ids(&site("http://shop.test/", None)), ["http_probe", "dns"]);
        let local = Incident { local_stack: true, ..site("http://shop.test/", None) };
        assert_eq!(
            ids(&local),
            [
                "http_probe",
                "dns",
                "stack",
                "upstreams",
                "logs",
                "resources",
                "security",
                "database",
                "recent_changes"
            ]
        );
    }

    #[test]
    fn ids_and_fields_are_unique() {
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for spec in specs() {
            assert!(ids.insert(spec.id), "duplicate check id {}", spec.id);
        }
        for f in all_facts() {
            assert!(keys.insert(f.key), "field {} declared twice", f.key);
        }
    }
}
