//! The signature table as data: every signature's real-format example (built from the message
//! its cited source defines) matches that signature and no other, except `general` ones below
//! it; every cause and step is one the diagnosis and the runbook know; and all examples, written
//! as one log, are each counted once by the real check.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use triage::checks::logs::time::Clock;
use triage::checks::logs::{self, Params};
use triage::contract::{Evidence, Progress};
use triage::diagnosis::Rules;
use triage::knowledge::signatures::Signatures;

/// The built-in runbook's steps a signature may send the user to (HELPERS.md, "Diagnosis").
const STEPS: &[&str] = &[
    "confirm-public-error",
    "visitor-side",
    "identify-layer",
    "cdn-proxy",
    "origin",
    "web-server-logs",
    "app-runtime",
    "database",
    "resources",
    "rollback",
    "monitor",
];

/// 2026-12-01 07:30:22 UTC, the time every example is stamped with.
const T: i64 = 1_796_110_222;

fn signatures() -> Signatures {
    Signatures::builtin().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_example_matches_its_own_signature_and_no_other() {
    let sigs = signatures();
    let set = regex::bytes::RegexSet::new(sigs.list.iter().map(|s| &s.pattern)).unwrap();
    let mut problems = Vec::new();
    for (i, sig) in sigs.list.iter().enumerate() {
        let matching: Vec<usize> = set.matches(sig.example.as_bytes()).into_iter().collect();
        if sigs.classify(sig.example.as_bytes()) != Some(i) {
            problems.push(format!("{}: its example is claimed by {:?}", sig.id, matching));
        }
        for j in matching.into_iter().filter(|&j| j != i) {
            let other = &sigs.list[j];
            if j < i || !other.general {
                problems.push(format!("{}: its example also matches `{}`", sig.id, other.id));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn general_signatures_really_are_shadowed_by_a_more_specific_one() {
    let sigs = signatures();
    for (j, sig) in sigs.list.iter().enumerate().filter(|(_, s)| s.general) {
        let shadows = sigs.list[..j].iter().any(|s| {
            sigs.list[j].pattern != s.pattern && {
                let set = regex::bytes::Regex::new(&sig.pattern).unwrap();
                set.is_match(s.example.as_bytes())
            }
        });
        assert!(shadows, "{} is marked general but matches no example above it", sig.id);
    }
}

#[test]
fn causes_layers_and_steps_are_known_to_the_diagnosis_and_the_runbook() {
    let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
    for sig in &signatures().list {
        if let Some(cause) = &sig.cause {
            assert!(
                rules.cause(cause).is_some(),
                "{}: cause `{cause}` is not in diagnosis.yaml",
                sig.id
            );
        }
        assert!(STEPS.contains(&sig.step.as_str()), "{}: unknown step `{}`", sig.id, sig.step);
    }
}

#[test]
fn every_signature_cites_where_its_message_is_defined() {
    for sig in &signatures().list {
        let s = &sig.source;
        let cites_file = s.split_whitespace().any(|w| w.contains('/') && w.contains('.'));
        let cites_docs = s.contains("docs") || s.contains("doc/");
        assert!(
            cites_file || cites_docs,
            "{}: `{s}` names no source file or documentation",
            sig.id
        );
    }
}

#[test]
fn the_table_covers_every_server_the_issue_names() {
    let ids: HashSet<String> = signatures().list.iter().map(|s| s.id.clone()).collect();
    for prefix in [
        "nginx_",
        "apache_",
        "haproxy_",
        "fpm_",
        "php_",
        "kernel_oom",
        "gunicorn_",
        "uwsgi_",
        "node_",
        "mysql_",
        "innodb_",
        "pg_",
        "systemd_",
        "disk_full",
    ] {
        assert!(ids.iter().any(|id| id.starts_with(prefix)), "no signature for {prefix}");
    }
}

#[tokio::test]
async fn all_examples_in_one_log_are_each_counted_once_by_the_check() {
    let sigs = signatures();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.log");
    // Lines without a timestamp count once the window is known to have begun, so the
    // stamped examples come first.
    let mut examples: Vec<&str> = sigs.list.iter().map(|s| s.example.as_str()).collect();
    examples.sort_by_key(|e| {
        !e.starts_with(|c: char| c.is_ascii_digit() || c == '[' || c.is_ascii_uppercase())
            || e.starts_with("Error")
            || e.starts_with("FATAL")
            || e.starts_with("psycopg2")
    });
    std::fs::write(&path, examples.join("\n") + "\n").unwrap();
    let params = Params {
        since_minutes: Some(30),
        files: vec![path],
        config_logs: Vec::new(),
        time_limit: None,
        site: None,
    };
    let report =
        logs::run_with(params, Clock::new(T + 600, jiff::tz::TimeZone::UTC), Progress::none())
            .await;
    let Evidence::Logs(evidence) = &report.evidence else { panic!("{report:?}") };
    let counted: Vec<(&str, u64)> =
        evidence.signatures.iter().map(|h| (h.id.as_str(), h.count)).collect();
    for sig in &sigs.list {
        let count = counted.iter().find(|(id, _)| *id == sig.id).map_or(0, |(_, n)| *n);
        assert_eq!(count, 1, "{} counted {count} times; all: {counted:?}", sig.id);
    }
}
