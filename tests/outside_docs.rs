//! The documentation of the outside evidence stays true: every cause id is documented in
//! docs/diagnosis.md, and every top-level field `triage check --json` prints is documented in
//! docs/check-json.md.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod outside_server;

use serde_json::Value;

fn doc(name: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn every_cause_is_documented() {
    let rules = triage::diagnosis::Rules::builtin().unwrap();
    let text = doc("diagnosis.md");
    let missing: Vec<&str> = rules
        .causes
        .iter()
        .map(|c| c.id.as_str())
        .filter(|id| !text.contains(&format!("| `{id}` |")))
        .collect();
    assert!(missing.is_empty(), "causes missing from docs/diagnosis.md: {missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_json_field_is_documented() {
    let addr = outside_server::fixed(outside_server::response(200, &[], b"ok")).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["check", "--no-local", &format!("http://{addr}/"), "--json", "--count", "1"])
        .output()
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = doc("check-json.md");
    let missing: Vec<&String> = json
        .as_object()
        .unwrap()
        .keys()
        .filter(|key| !text.contains(&format!("| `{key}` |")))
        .collect();
    assert!(missing.is_empty(), "fields missing from docs/check-json.md: {missing:?}");
}
