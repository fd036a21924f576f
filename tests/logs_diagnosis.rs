//! The diagnosis on log, database and change evidence: each log cause gives its verdict, root
//! causes outrank the proxy's symptoms, and the exact local evidence outranks the logs.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use triage::diagnosis::{Rules, diagnose};
use triage::facts::Facts;
use triage::layer::Layer;

fn verdict(facts: &[(&str, triage::facts::FactValue)]) -> (String, Option<Layer>, Option<String>) {
    let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
    let facts: Facts = facts.iter().cloned().collect();
    let d = diagnose(&rules, &facts);
    (d.verdict.cause, d.verdict.layer, d.verdict.step)
}

fn causes(list: &[&str]) -> triage::facts::FactValue {
    list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>().into()
}

fn bad_gateway() -> Vec<(&'static str, triage::facts::FactValue)> {
    vec![
        ("http.status", 502_i64.into()),
        ("http.error_probes", 5_i64.into()),
        ("responder.layer", "web_server".into()),
    ]
}

#[test]
fn each_log_cause_gives_its_verdict() {
    for (cause, layer) in [
        ("upstream_refused", Layer::AppRuntime),
        ("upstream_timeout", Layer::AppRuntime),
        ("upstream_reset", Layer::AppRuntime),
        ("upstream_socket_missing", Layer::AppRuntime),
        ("upstream_socket_permission", Layer::AppRuntime),
        ("worker_exhaustion", Layer::AppRuntime),
        ("out_of_memory", Layer::Host),
        ("disk_full", Layer::Host),
        ("db_too_many_connections", Layer::Database),
        ("db_unavailable", Layer::Database),
        ("runtime_down", Layer::AppRuntime),
        ("app_crash", Layer::AppRuntime),
        ("no_healthy_upstream", Layer::LoadBalancer),
        ("redirect_loop", Layer::WebServer),
    ] {
        let mut facts = bad_gateway();
        facts.push(("logs.causes", causes(&[cause])));
        let (got, got_layer, step) = verdict(&facts);
        assert_eq!((got.as_str(), got_layer), (cause, Some(layer)), "for {cause}");
        assert!(step.is_some(), "{cause} names a step");
    }
}

#[test]
fn a_root_cause_in_the_logs_outranks_the_proxys_symptom() {
    let mut facts = bad_gateway();
    facts.push(("logs.causes", causes(&["upstream_refused", "out_of_memory"])));
    assert_eq!(verdict(&facts).0, "out_of_memory");
    let mut facts = bad_gateway();
    facts.push(("logs.causes", causes(&["upstream_timeout", "worker_exhaustion"])));
    assert_eq!(verdict(&facts).0, "worker_exhaustion");
}

#[test]
fn the_exact_local_evidence_outranks_the_logs() {
    let mut facts = bad_gateway();
    facts.push(("logs.causes", causes(&["upstream_refused"])));
    facts.push(("upstream.socket_missing", causes(&["/run/php/php8.2-fpm.sock"])));
    assert_eq!(verdict(&facts).0, "upstream_socket_missing");
}

#[test]
fn a_database_at_its_connection_limit_is_named_as_such() {
    let facts = vec![
        ("db.reachable", false.into()),
        ("db.failure", "too_many_connections".into()),
        ("db.target", "127.0.0.1:3306".into()),
    ];
    assert_eq!(verdict(&facts).0, "db_too_many_connections");
    let facts = vec![("db.reachable", false.into()), ("db.failure", "refused".into())];
    assert_eq!(verdict(&facts).0, "db_unavailable");
}
