//! `triage check --json` — the real binary — against a real nginx on loopback, end to end: the
//! public 502 that nginx generated, the upstream that the config points at (with its file and
//! line), the error-log line that says why, and the verdict that ties them together. The site
//! is probed from outside and the machine is read from inside (the running nginx is discovered
//! from /proc, its config parsed, its error log found from that config). Each run sees only
//! its own nginx (`support::View`): never the machine's servers, configs, logs or journal.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::process::Command;
use std::sync::Mutex;

use serde_json::Value;
use support::{Nginx, View};

/// One nginx at a time: the log scan reads every running nginx's logs, and "the first matching
/// line" must be this test's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `triage check --json URL --count 3` and returns the parsed object and the exit code.
fn check(nginx: &Nginx) -> (Value, i32) {
    // The incident is under way before triage looks: the checks run at once, and the logs
    // check may read the error log before the probes' own requests have failed.
    let _ = nginx.get("/");
    let view = View::of(&[nginx.pid]);
    let out = view
        .apply(&mut Command::new(env!("CARGO_BIN_EXE_triage")))
        .args(["check", "--json", "--count", "3", "--since", "10m", &nginx.url()])
        .env("TRIAGE_CONFIG_DIR", nginx.prefix.join("config"))
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{text}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (json, out.status.code().unwrap())
}

fn finding<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("no finding `{id}` in {:#}", json["findings"]))
}

fn evidence(finding: &Value) -> String {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_report<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == id)
        .unwrap_or_else(|| panic!("no `{id}` check ran: {:#}", json["checks"]))
}

/// The public 502 is nginx's own page, made for the request it could not pass on.
fn assert_nginx_made_the_502(json: &Value, code: i32) {
    assert_eq!(code, 1, "an error is confirmed");
    assert_eq!(json["status"], 502, "{json:#}");
    assert_eq!(json["generated_by"]["vendor"], "nginx", "{:#}", json["generated_by"]);
    assert_eq!(json["generated_by"]["generated"], true, "{:#}", json["generated_by"]);
}

#[test]
fn a_proxy_to_a_port_where_nothing_listens_is_upstream_refused() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dead = support::dead_port();
    let Some(nginx) = Nginx::start(&format!(
        "        location / {{\n            proxy_pass http://127.0.0.1:{dead};\n        }}"
    )) else {
        return;
    };
    let (json, code) = check(&nginx);
    assert_nginx_made_the_502(&json, code);

    let verdict = &json["verdict"];
    assert_eq!(verdict["cause"], "upstream_refused", "{verdict:#}");
    assert_eq!(verdict["layer"], "app_runtime", "{verdict:#}");
    let refused = evidence(finding(&json, "upstream-refused"));
    assert!(refused.contains(&format!("upstream.refused = 127.0.0.1:{dead}")), "{refused}");
    assert!(refused.contains(&nginx.location_of("proxy_pass")), "the config line: {refused}");

    let logs = check_report(&json, "logs");
    let first_line = logs["facts"]["logs.first_line"].as_str().unwrap_or_default();
    assert!(
        first_line.contains("connect() failed (111: Connection refused)")
            && first_line.contains(&format!("127.0.0.1:{dead}")),
        "the log line that says why: {logs:#}"
    );
    let reasons = verdict["reasons"].to_string();
    assert!(reasons.contains("Connection refused"), "the verdict cites the log line: {reasons}");
}

#[test]
fn a_fastcgi_port_where_no_php_fpm_runs_is_runtime_down() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dead = support::dead_port();
    let Some(nginx) = Nginx::start(&format!(
        "        location / {{\n            fastcgi_pass 127.0.0.1:{dead};\n        }}"
    )) else {
        return;
    };
    let (json, code) = check(&nginx);
    assert_nginx_made_the_502(&json, code);
    let verdict = &json["verdict"];
    assert_eq!(verdict["cause"], "runtime_down", "{verdict:#}");
    assert_eq!(verdict["layer"], "app_runtime");
    let down = evidence(finding(&json, "runtime-down"));
    assert!(down.contains(&format!("127.0.0.1:{dead}")), "{down}");
    assert!(down.contains("php-fpm"), "names the runtime that is not running: {down}");
}

#[test]
fn a_missing_php_fpm_socket_is_upstream_socket_missing_with_its_path() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(nginx) = Nginx::start(
        "        location / {\n            fastcgi_pass unix:{prefix}/php8.2-fpm.sock;\n        }",
    ) else {
        return;
    };
    let socket = nginx.prefix.join("php8.2-fpm.sock").display().to_string();
    let (json, code) = check(&nginx);
    assert_nginx_made_the_502(&json, code);
    let verdict = &json["verdict"];
    assert_eq!(verdict["cause"], "upstream_socket_missing", "{verdict:#}");
    assert!(verdict["summary"].as_str().unwrap().contains(&socket), "{verdict:#}");
    let missing = evidence(finding(&json, "upstream-socket-missing"));
    assert!(
        missing.contains(&socket) && missing.contains(&nginx.location_of("fastcgi_pass")),
        "{missing}"
    );
    let logs = check_report(&json, "logs");
    let first_line = logs["facts"]["logs.first_line"].as_str().unwrap_or_default();
    assert!(
        first_line.contains("(2: No such file or directory)") && first_line.contains(&socket),
        "{logs:#}"
    );
}

#[test]
fn the_text_output_with_the_local_checks_fits_in_80_columns() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let Some(nginx) = Nginx::start(
        "        location / {\n            fastcgi_pass unix:{prefix}/php8.2-fpm.sock;\n        }",
    ) else {
        return;
    };
    let view = View::of(&[nginx.pid]);
    let out = view
        .apply(&mut Command::new(env!("CARGO_BIN_EXE_triage")))
        .args(["check", "--count", "2", &nginx.url()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Check the proxy's upstreams"), "the local checks ran:\n{text}");
    assert!(text.contains("verdict: upstream_socket_missing at app runtime"), "{text}");
    let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > 80).collect();
    assert!(wide.is_empty(), "wider than 80 columns:\n{}", wide.join("\n"));
}
