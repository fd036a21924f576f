//! The request path decides the verdict, end to end: the real binary (`triage check --json`)
//! against real nginx instances on loopback with real faults — a chain of two proxies, limits
//! rejecting requests while the upstream is slow, a neighbour site with errors of its own (a
//! second instance, and a second server sharing one error log), an upstream that fails every
//! other request, and a healthy site beside a broken one. Each test starts its own servers and
//! stops them; nothing of the machine's own is read.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use support::Nginx;

/// One scenario at a time: the servers are slow on purpose, and a busy machine blurs timings.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `triage check --json URL`, seeing only the processes `pids` (the scenario's own nginx
/// instances): never the machine's own servers, their configs or their logs.
fn check(url: &str, count: u8, pids: &[u32]) -> (Value, i32) {
    let view = support::View::of(pids);
    let mut command = Command::new(env!("CARGO_BIN_EXE_triage"));
    command.args(["check", "--json", "--count", &count.to_string(), "--since", "10m", url]);
    let out = view.apply(&mut command).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("not JSON ({e}):\n{text}\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (json, out.status.code().unwrap())
}

fn verdict_hop(json: &Value) -> &Value {
    let hop =
        json["verdict"]["hop"].as_u64().unwrap_or_else(|| panic!("no hop: {:#}", json["verdict"]));
    &json["path"][usize::try_from(hop).unwrap()]
}

/// An HTTP upstream on loopback that answers each request after `delay`, or closes every other
/// connection without an answer when `flaky`. Runs until the test ends.
fn upstream(delay: Duration, flaky: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = std::sync::Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let n = served.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || answer(stream, delay, flaky && n % 2 == 1));
        }
    });
    port
}

fn answer(mut stream: std::net::TcpStream, delay: Duration, close: bool) {
    let mut buf = [0u8; 4096];
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.read(&mut buf);
    if close {
        return;
    }
    std::thread::sleep(delay);
    let _ =
        stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n");
}

#[test]
fn two_nginx_in_a_chain_with_a_dead_origin_blame_the_back_proxys_upstream() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dead = support::dead_port();
    let Some(back) = Nginx::start(&format!(
        "        location / {{\n            proxy_pass http://127.0.0.1:{dead};\n        }}"
    )) else {
        return;
    };
    let Some(front) = Nginx::start(&format!(
        "        location / {{\n            proxy_pass http://127.0.0.1:{};\n        }}",
        back.port
    )) else {
        return;
    };
    // The back proxy has logged the refusal before triage looks (the logs check runs beside
    // the probes).
    let _ = front.get("/");
    let (json, code) = check(&front.url(), 2, &[front.pid, back.pid]);
    assert_eq!(code, 1, "{json:#}");
    let verdict = &json["verdict"];
    assert_eq!(verdict["cause"], "upstream_refused", "{verdict:#}\n{}", json["chain"]);
    let hop = verdict_hop(&json);
    assert_eq!(hop["address"], format!("127.0.0.1:{dead}"), "{hop:#}");
    let chain = json["chain"].as_str().unwrap();
    assert_eq!(
        chain.matches("nginx (localhost)").count(),
        2,
        "both proxies are on the path: {chain}"
    );
    let back_config = back.config.display().to_string();
    assert!(chain.contains(&back_config), "the back proxy's config: {chain}");
    let back_hop = &json["path"][usize::try_from(hop["from"].as_u64().unwrap()).unwrap()];
    assert_eq!(back_hop["state"]["state"], "passes_on", "{back_hop:#}");
    assert_eq!(
        verdict["confidence"], "high",
        "the probe and the back proxy's log agree: {verdict:#}"
    );
}

#[test]
fn limit_req_and_limit_conn_503s_are_the_limit_not_the_slow_upstream() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for (zone, limit) in [
        ("limit_req_zone $binary_remote_addr zone=one:1m rate=1r/m;", "limit_req zone=one;"),
        ("limit_conn_zone $binary_remote_addr zone=one:1m;", "limit_conn one 1;"),
    ] {
        let slow = upstream(Duration::from_millis(2500), false);
        let Some(nginx) = Nginx::start_with(
            zone,
            &format!(
                "        location / {{\n            {limit}\n            proxy_read_timeout 1s;\n            proxy_pass http://127.0.0.1:{slow};\n        }}"
            ),
        ) else {
            return;
        };
        // The limit has logged its line before triage looks: the logs check runs beside the
        // probes, and may read the log before their own requests are refused.
        let port = nginx.port;
        let other = std::thread::spawn(move || support::http_get(port, "/"));
        let _ = nginx.get("/");
        let _ = other.join();
        let (json, _) = check(&nginx.url(), 3, &[nginx.pid]);
        assert_eq!(json["seen"]["status"], 503, "{limit}: {:#}", json["seen"]);
        let verdict = &json["verdict"];
        assert_eq!(
            verdict["cause"], "rate_limited",
            "{limit}: {verdict:#}\n{:#}",
            json["findings"]
        );
        assert!(
            json["findings"].as_array().unwrap().iter().any(|f| f["cause"] == "upstream_timeout"),
            "the slow upstream is found, but does not explain a 503: {:#}",
            json["findings"]
        );
    }
}

#[test]
fn a_neighbour_instance_and_a_neighbour_server_never_decide() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // A second instance, with the same server name, whose PHP-FPM socket is missing.
    let Some(neighbour) = Nginx::start(
        "        location / {\n            fastcgi_pass unix:{prefix}/gone.sock;\n        }",
    ) else {
        return;
    };
    for _ in 0..5 {
        neighbour.get("/");
    }
    let dead = support::dead_port();
    // Ours and a second server sharing one error log; the second's upstream times out.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let other_port = support::free_port();
    let Some(nginx) = Nginx::start_http(&format!(
        "    access_log {{prefix}}/access.log;\n    server {{\n        listen 127.0.0.1:{{port}};\n        server_name shop.test;\n        location / {{\n            proxy_pass http://127.0.0.1:{dead};\n        }}\n    }}\n    server {{\n        listen 127.0.0.1:{other_port};\n        server_name other.test;\n        location / {{\n            proxy_read_timeout 1s;\n            proxy_pass http://127.0.0.1:{silent_port};\n        }}\n    }}"
    )) else {
        return;
    };
    for _ in 0..3 {
        support::http_get(other_port, "/");
    }
    let (json, _) = check(&nginx.url(), 2, &[nginx.pid, neighbour.pid]);
    let verdict = &json["verdict"];
    assert_eq!(verdict["cause"], "upstream_refused", "{verdict:#}\n{:#}", json["findings"]);
    let elsewhere = json["elsewhere"].to_string();
    assert!(
        elsewhere.contains("other.test"),
        "the neighbour server is reported apart: {elsewhere}"
    );
    assert!(
        elsewhere.contains("upstream_socket_missing"),
        "so is the neighbour instance: {elsewhere}"
    );
    let decided = verdict["reasons"].to_string();
    assert!(!decided.contains("gone.sock") && !decided.contains("other.test"), "{decided}");
}

#[test]
fn an_upstream_that_fails_every_other_request_is_intermittent_with_its_rate() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let flaky = upstream(Duration::ZERO, true);
    let Some(nginx) = Nginx::start(&format!(
        "        location / {{\n            proxy_next_upstream off;\n            proxy_pass http://127.0.0.1:{flaky};\n        }}"
    )) else {
        return;
    };
    let statuses: Vec<u16> = (0..20).map(|_| nginx.get("/").0).collect();
    assert!(statuses.contains(&502) && statuses.contains(&200), "{statuses:?}");
    let (json, code) = check(&nginx.url(), 4, &[nginx.pid]);
    assert_eq!(code, 1, "an error is confirmed");
    let verdict = &json["verdict"];
    assert_eq!(verdict["timing"], "intermittent", "{verdict:#}");
    assert_eq!(verdict["cause"], "upstream_reset", "{verdict:#}\n{:#}", json["findings"]);
    let timeline = &json["timeline"];
    let share = timeline["share_pct"].as_u64().unwrap();
    assert!((30..=70).contains(&share), "about half the requests failed: {timeline:#}");
    assert_eq!(timeline["requests"], 20, "triage's own probes are left out: {timeline:#}");
}

#[test]
fn a_healthy_site_beside_a_broken_neighbour_is_none() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dead = support::dead_port();
    let Some(neighbour) = Nginx::start(&format!(
        "        location / {{\n            proxy_pass http://127.0.0.1:{dead};\n        }}"
    )) else {
        return;
    };
    for _ in 0..5 {
        neighbour.get("/");
    }
    let healthy = upstream(Duration::ZERO, false);
    let Some(nginx) = Nginx::start(&format!(
        "        location / {{\n            proxy_pass http://127.0.0.1:{healthy};\n        }}"
    )) else {
        return;
    };
    let (json, code) = check(&nginx.url(), 2, &[nginx.pid, neighbour.pid]);
    assert_eq!(code, 0, "{:#}", json["verdict"]);
    assert_eq!(json["verdict"]["cause"], "none", "{:#}", json["verdict"]);
    assert!(json["elsewhere"].to_string().contains("upstream_refused"), "{:#}", json["elsewhere"]);
}

/// The scenarios' dead upstreams stay dead: CI once gave a proxy its own port as its "dead"
/// upstream, and nginx looped into itself until its workers ran out.
#[test]
fn a_dead_port_refuses_and_no_server_can_take_it() {
    let dead = support::dead_port();
    let refused = std::net::TcpStream::connect(("127.0.0.1", dead.port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    let taken = TcpListener::bind(("127.0.0.1", dead.port)).unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
    let given: Vec<u16> = (0..200).map(|_| support::free_port()).collect();
    let mut unique = given.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), given.len(), "free_port gave a port twice");
    assert!(!given.contains(&dead.port));
}
