//! The real `triage check` binary against loopback servers that imitate each vendor's own 5xx
//! (the documented headers and body of every page in assets/fingerprints.yaml): it must name the
//! right vendor and layer, and the diagnosis the cause the vendor's page means. Also: a page
//! passed through from the origin, a healthy site, an intermittent pool, `--origin`, exit codes
//! and hostile text, all through the binary.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod outside_server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use outside_server::{fixed, read_head, response, serve};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use triage::knowledge::fingerprints::{Example, table};

/// Runs `triage check ARGS` and returns its exit code and stdout.
async fn triage(args: &[&str]) -> (i32, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["check", "--no-local"])
        .args(args)
        .env("NO_COLOR", "1")
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap())
}

async fn check_json(addr: SocketAddr, extra: &[&str]) -> (i32, Value) {
    let url = format!("http://{addr}/");
    let mut args = vec![url.as_str(), "--json", "--count", "2"];
    args.extend_from_slice(extra);
    let (code, out) = triage(&args).await;
    let json: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, json)
}

/// Serves a documented example: its status, headers (our server sets the length) and body.
async fn serve_example(example: &Example) -> SocketAddr {
    let headers: Vec<(&str, &str)> = example
        .headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "content-length" | "connection"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    fixed(response(example.status, &headers, example.body.as_bytes())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_vendor_page_is_named_with_its_vendor_layer_and_cause() {
    let cases: Vec<_> =
        table().vendors.iter().flat_map(|v| v.pages.iter().map(move |p| (v, p))).collect();
    assert!(cases.len() >= 60, "only {} pages", cases.len());
    let mut failures = Vec::new();
    for chunk in cases.chunks(8) {
        let runs = chunk.iter().map(|(vendor, page)| async move {
            let addr = serve_example(&page.example).await;
            let (code, json) = check_json(addr, &[]).await;
            (vendor, page, code, json)
        });
        for (vendor, page, code, json) in futures_util::future::join_all(runs).await {
            let who = format!("{} {}", vendor.id, page.code);
            let by = &json["generated_by"];
            let layer = page.layer.unwrap_or(vendor.layer).id();
            let expected_cause = page.cause.clone().map_or(Value::Null, Value::String);
            let cause_ok = page.cause.is_none() || json["verdict"]["cause"] == expected_cause;
            if by["vendor"] != vendor.id.as_str() || by["layer"] != layer || !cause_ok || code != 1
            {
                failures.push(format!(
                    "{who}: exit {code}, vendor {}, layer {}, verdict {} (expected {layer}, {expected_cause})",
                    by["vendor"], by["layer"], json["verdict"]["cause"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} pages misread:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_page_passed_through_cloudflare_is_the_applications() {
    let headers = [("server", "cloudflare"), ("cf-ray", "8a1b2c3d4e5f6a70-AMS")];
    let addr = fixed(response(500, &headers, b"<h1>Our shop is having a moment</h1>")).await;
    let (code, json) = check_json(addr, &[]).await;
    assert_eq!(code, 1);
    assert_eq!(json["generated_by"]["vendor"], Value::Null);
    assert_eq!(json["generated_by"]["layer"], "app_runtime");
    assert_eq!(json["generated_by"]["generated"], false);
    assert_eq!(json["cdn"], "cloudflare");
    assert_eq!(json["request_ids"][0], "cf-ray: 8a1b2c3d4e5f6a70-AMS");
    assert_eq!(json["verdict"]["cause"], "app_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healthy_site_exits_zero_with_the_documented_fields() {
    let addr =
        fixed(response(200, &[("server", "nginx"), ("x-request-id", "abc-123")], b"<h1>shop</h1>"))
            .await;
    let (code, json) = check_json(addr, &[]).await;
    assert_eq!(code, 0);
    assert_eq!(json["schema_version"], 2);
    assert_eq!(json["status"], 200);
    assert_eq!(json["health"], "healthy");
    assert_eq!(json["verdict"]["cause"], "none");
    assert_eq!(json["probes"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["url"], format!("http://{addr}/"));
    assert_eq!(json["final_url"], format!("http://{addr}/"));
    assert!(json["timings_ms"]["ttfb"].is_u64(), "{}", json["timings_ms"]);
    assert_eq!(json["request_ids"][0], "x-request-id: abc-123");
    for key in ["findings", "checks", "generated_by", "verdict", "origin", "dns"] {
        assert!(json.get(key).is_some(), "{key} missing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bad_backends_in_five_are_intermittent() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let addr = serve(move |mut stream| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            read_head(&mut stream).await;
            let bytes = if n % 5 < 2 {
                response(502, &[("server", "nginx")], b"<hr><center>nginx</center>")
            } else {
                response(200, &[("server", "nginx")], b"ok")
            };
            let _ = stream.write_all(&bytes).await;
        }
    })
    .await;
    let (code, out) = triage(&[&format!("http://{addr}/"), "--json"]).await;
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 1);
    let statuses: Vec<i64> =
        json["probes"].as_array().unwrap().iter().filter_map(|p| p["status"].as_i64()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 502).count(), 2, "{statuses:?}");
    let findings: Vec<&str> =
        json["findings"].as_array().unwrap().iter().filter_map(|f| f["id"].as_str()).collect();
    assert!(findings.contains(&"intermittent-errors"), "{findings:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_origin_the_edge_and_the_origin_are_compared_in_text_and_json() {
    let page = &table().vendor("cloudflare").unwrap().pages[1].example;
    assert_eq!(page.status, 521);
    let edge = serve_example(page).await;
    let origin = fixed(response(200, &[("server", "nginx/1.22.1")], b"<h1>shop</h1>")).await;
    let origin_arg = origin.to_string();
    let (code, json) = check_json(edge, &["--origin", &origin_arg]).await;
    assert_eq!(code, 1);
    assert_eq!(json["origin"]["address"], origin_arg);
    assert_eq!(json["origin"]["edge"]["status"], 521);
    assert_eq!(json["origin"]["origin"]["status"], 200);
    assert_eq!(json["origin"]["edge"]["answered_by"], "cloudflare");
    assert_eq!(json["origin"]["origin"]["answered_by"], "nginx");
    assert_eq!(json["verdict"]["cause"], "waf_block", "{}", json["verdict"]);
    let (_, text) = triage(&[&format!("http://{edge}/"), "--origin", &origin_arg]).await;
    assert!(
        text.contains(&format!("origin {origin_arg}"))
            && text.lines().any(|l| l.trim_start().starts_with("edge") && l.ends_with("origin")),
        "{text}"
    );
    assert!(text.lines().all(|l| l.chars().count() <= 80), "wider than 80 columns:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_and_hostile_text_through_the_binary() {
    let (code, out) = triage(&["http://exa mple.com/"]).await;
    assert_eq!((code, out.as_str()), (2, ""));
    let (code, out) = triage(&["http://127.0.0.1:9/", "--count", "1"]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused"), "{out}");
    let body =
        b"<h1>\x1b[2J\x1b]0;owned\x07bad \xff gateway</h1><hr><center>nginx</center>".to_vec();
    let addr =
        fixed(response(502, &[("server", "nginx"), ("set-cookie", "sid=s3cr3t")], &body)).await;
    for json in [true, false] {
        let url = format!("http://{addr}/?token=hunter2");
        let mut args = vec![url.as_str(), "--count", "1"];
        if json {
            args.push("--json");
        }
        let (_, out) = triage(&args).await;
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "escape in output: {out}");
        assert!(!out.contains("hunter2") && !out.contains("s3cr3t"), "secret in output: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_https_site_is_healthy_with_every_phase_measured() {
    let (addr, ca) =
        outside_server::tls_trusted(response(200, &[("server", "Caddy")], b"ok")).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["check", "--no-local", &format!("https://{addr}/"), "--json", "--count", "2"])
        .env("SSL_CERT_FILE", &ca_file)
        .output()
        .await
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    assert_eq!(json["tls"]["verified"], true, "{}", json["tls"]);
    assert!(json["tls"]["days_left"].as_i64().unwrap() > 300);
    assert_eq!(json["verdict"]["cause"], "none");
    let t = &json["timings_ms"];
    assert!(t["connect"].is_u64() && t["tls"].is_u64() && t["ttfb"].is_u64(), "{t}");
    assert_eq!(json["checks"][2]["check"], "tls");
    assert_eq!(json["checks"][2]["status"], "passed");
}
