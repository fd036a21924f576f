//! The fuzz targets' seed corpora (fuzz/seeds/<target>/), replayed as ordinary tests through
//! the same invariants the libFuzzer targets check (fuzz/invariants.rs): every regression a
//! fuzzing run found stays a test here. How to fuzz: docs/fuzzing.md.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../fuzz/invariants.rs"]
mod invariants;

use std::path::PathBuf;

/// Runs `check` on every seed of `target`; there must be some.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(target);
    let mut seeds: Vec<PathBuf> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    for seed in seeds {
        let data = std::fs::read(&seed).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target}: {} broke an invariant", seed.display());
    }
}

#[test]
fn runbook_loader() {
    replay("runbook_loader", invariants::runbook_loader);
}

#[test]
fn fingerprints() {
    replay("fingerprints", invariants::fingerprints);
}

#[test]
fn nginx_config() {
    replay("nginx_config", invariants::nginx_config);
}

#[test]
fn apache_config() {
    replay("apache_config", invariants::apache_config);
}

#[test]
fn haproxy_config() {
    replay("haproxy_config", invariants::haproxy_config);
}

#[test]
fn phpfpm_config() {
    replay("phpfpm_config", invariants::phpfpm_config);
}

#[test]
fn log_classifier() {
    replay("log_classifier", invariants::log_classifier);
}

#[test]
fn log_time() {
    replay("log_time", invariants::log_time);
}

#[test]
fn sanitize_redact() {
    replay("sanitize_redact", invariants::sanitize_redact);
}

#[test]
fn varnish_config() {
    replay("varnish_config", invariants::varnish_config);
}

#[test]
fn caddy_config() {
    replay("caddy_config", invariants::caddy_config);
}

#[test]
fn traefik_config() {
    replay("traefik_config", invariants::traefik_config);
}

#[test]
fn envoy_config() {
    replay("envoy_config", invariants::envoy_config);
}
