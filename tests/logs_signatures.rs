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
        "varnish_",
        "caddy_",
        "traefik_",
        "envoy_",
        "selinux_",
        "kernel_conntrack",
        "pm2_",
        "puma_",
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
        access_logs: Vec::new(),
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

/// Real lines (lines.md: printed by the Debian 12 servers on loopback, or built from the
/// format strings) in the forms each server writes besides the one its example shows: tcplog
/// and custom log-formats, syslog datagrams and `-db` stderr, `varnishlog -g request`, Caddy's
/// default logger and the journal, PHP's messages relayed by nginx and PHP-FPM, and the
/// database clients.
const REAL_LINES: &[(&str, &str)] = &[
    (
        "Dec  1 21:59:03 lb1 haproxy[11887]: 127.0.0.1:52532 [01/Dec/2026:21:59:00.909] tcp_dead tcp_dead/app1 1/-1/3006 0 SC 1/1/0/0/3 0/0",
        "haproxy_server_refused",
    ),
    (
        "<134>Dec  1 21:58:56 haproxy[11887]: 127.0.0.1:44898 [01/Dec/2026:21:58:56.674] fe_http be_empty/<NOSRV> 0/-1/-1/-1/0 503 217 - - SC-- 1/1/0/0/0 0/0 \"GET /empty HTTP/1.1\"",
        "haproxy_no_server",
    ),
    (
        "<134>Dec  1 21:58:52 haproxy[11887]: 127.0.0.1:36108 [01/Dec/2026:21:58:50.583] fe_http be_slow/slow1 0/0/0/-1/2001 504 198 - - sH-- 1/1/0/0/0 0/0 \"GET /slow HTTP/1.1\"",
        "haproxy_server_timeout",
    ),
    (
        "Dec  1 21:58:57 lb1 haproxy[11887]: shop.test fe_http be_queue/<NOSRV> 503 1002ms sQ-- 2/2/1/0/0 0/1 \"GET /queue2 HTTP/1.1\"",
        "haproxy_queue_timeout",
    ),
    (
        "[WARNING]  (11887) : Server be_checked/app1 is DOWN, reason: Layer4 connection problem, info: \"Connection refused\", check duration: 0ms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.",
        "haproxy_server_down_refused",
    ),
    (
        "--  FetchError     backend dead: fail errno 111 (Connection refused)",
        "varnish_backend_refused",
    ),
    ("--  FetchError     first byte timeout", "varnish_first_byte_timeout"),
    (
        "{\"level\":\"error\",\"ts\":1796162417.5731301,\"logger\":\"http.log.error\",\"msg\":\"dial tcp 127.0.0.1:19999: connect: connection refused\",\"request\":{\"remote_ip\":\"127.0.0.1\",\"remote_port\":\"41928\",\"proto\":\"HTTP/1.1\",\"method\":\"GET\",\"host\":\"127.0.0.1:18301\",\"uri\":\"/x\"},\"duration\":0.000409896,\"status\":502}",
        "caddy_upstream_refused",
    ),
    (
        "2026-12-01T21:46:05+0000 web1 caddy[812]: {\"level\":\"error\",\"ts\":1796162399.1151154,\"logger\":\"http.log.error.log0\",\"msg\":\"EOF\",\"status\":502}",
        "caddy_upstream_reset",
    ),
    (
        "[01-Dec-2026 21:46:05] WARNING: [pool www] child 21776, script '/tmp/research-fpm/www/sleep.php' (request: \"GET /sleep.php?s=6\") execution timed out (3.081612 sec), terminating",
        "fpm_execution_timed_out",
    ),
    (
        "[01-Dec-2026 21:46:28] WARNING: [pool nolog] child 24051 said into stderr: \"NOTICE: PHP message: PHP Fatal error:  Allowed memory size of 16777216 bytes exhausted (tried to allocate 8388608 bytes) in /tmp/research-fpm/www/mem.php on line 1\"",
        "php_memory_exhausted",
    ),
    (
        "2026/12/01 21:46:28 [error] 24132#24132: *60 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Allowed memory size of 16777216 bytes exhausted (tried to allocate 8388608 bytes) in /tmp/research-fpm/www/mem.php on line 1\" while reading response header from upstream, client: 127.0.0.1, server: shop.test, request: \"GET /tcp/mem.php HTTP/1.1\", upstream: \"fastcgi://127.0.0.1:19000\", host: \"shop.test\"",
        "php_memory_exhausted",
    ),
    (
        "2026/12/01 21:46:38 [error] 24132#24132: *76 FastCGI sent in stderr: \"PHP message: PHP Warning:  pg_connect(): Unable to connect to PostgreSQL server: connection to server at &quot;127.0.0.1&quot;, port 15499 failed: Connection refused",
        "php_pg_connect_failed",
    ),
    (
        "2026/12/01 21:46:35 [error] 24132#24132: *70 FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught PDOException: SQLSTATE[HY000] [2002] Connection refused in /tmp/research-fpm/www/db.php:4",
        "php_pdo_connect_failed",
    ),
    (
        "2026-12-01 22:03:38 4 [Warning] Access denied for user 'app'@'localhost' (using password: YES)",
        "mysql_access_denied",
    ),
    (
        "ERROR 1045 (28000): Access denied for user 'app'@'localhost' (using password: YES)",
        "mysql_access_denied",
    ),
    (
        "psql: error: connection to server on socket \"/tmp/research-nope/.s.PGSQL.5432\" failed: No such file or directory",
        "pg_client_socket_missing",
    ),
    (
        "psql: error: connection to server at \"127.0.0.1\", port 15499 failed: Connection refused",
        "pg_client_refused",
    ),
    (
        "pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)\")",
        "mysql_cant_connect",
    ),
    (
        "PHP Warning:  mysqli_connect(): (HY000/1040): Too many connections in Command line code on line 1",
        "mysql_too_many_connections",
    ),
    ("Tue Dec  1 07:30:22 2026 - HARAKIRI triggered by worker 1 core 0 !!!", "uwsgi_harakiri"),
    (
        "Dec 01 07:30:22 web1 systemd[1]: php8.2-fpm.service: A process of this unit has been killed by the OOM killer.",
        "systemd_oom_killed",
    ),
    (
        "Dec 01 07:30:22 web1 systemd[1]: php8.2-fpm.service: Failed with result 'oom-kill'.",
        "systemd_oom_killed",
    ),
    (
        "Dec  1 07:30:22 web1 kernel: nf_conntrack: table full, dropping packet",
        "kernel_conntrack_full",
    ),
    (
        "nginx: [emerg] bind() to 127.0.0.1:18080 failed (98: Address already in use)",
        "nginx_bind_in_use",
    ),
    (
        "nginx: [emerg] host not found in upstream \"backend.invalid\" in /tmp/research-nginx2/hnf.conf:4",
        "nginx_host_not_found_in_upstream",
    ),
];

#[test]
fn real_lines_in_their_other_forms_classify_as_their_signature() {
    let sigs = signatures();
    let mut wrong = Vec::new();
    for (line, want) in REAL_LINES {
        let got = sigs.classify(line.as_bytes()).map(|i| sigs.list[i].id.as_str());
        if got != Some(*want) {
            wrong.push(format!("{want}: got {got:?} for {line}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
