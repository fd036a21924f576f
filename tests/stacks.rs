//! More of the real world, end to end at the level of the checks: Debian's Varnish, Caddy,
//! HAProxy, PHP-FPM, PostgreSQL and nginx started on loopback with one fault each. For every
//! fault the checks must name the specific cause, the hop's config `file:line` and the log line
//! that says why; then the evidence goes through the same code as `triage check --json` (the
//! outside probe against the loopback site, `CheckRun`, `to_json`) for the verdict. Every check
//! is given its config and log files explicitly, so no test reads the machine's /etc or
//! /var/log (stack discovery reads /proc and the user database only).
//! The verdict must name the specific cause and the hop of the request path it blames.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::backends::{Backend, NxDomain};
use support::servers::{Caddy, FpmPool, Haproxy, Postgres, Varnish, location};
use support::{Nginx, http_get};
use triage::checks::logs::commands::{self, Captured};
use triage::checks::logs::time::Clock;
use triage::checks::logs::{self, Params};
use triage::checks::{database, http, registry, upstreams};
use triage::cli::check::{CheckRun, to_json};
use triage::contract::{CheckReport, CheckRequest, Evidence, Progress};
use triage::facts::FactValue;
use triage::system::System;
use triage::system::proxy::phpfpm;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn checked(report: CheckReport) -> CheckReport {
    assert_eq!(registry::contract_breaches(&report), Vec::<String>::new(), "{report:#?}");
    report
}

/// The `upstreams` check on this config (and, for FastCGI, this PHP-FPM config), seeing only
/// the processes `pids` (the test's own servers) of this machine.
fn upstreams_of(config: &Path, fpm_config: Option<&Path>, pids: &[u32]) -> CheckReport {
    let mut request = CheckRequest::new("upstreams").with("config", config.display().to_string());
    if let Some(fpm) = fpm_config {
        request = request.with("fpm_config", fpm.display().to_string());
    }
    // Nothing of the machine's own: no process to discover, only the configs named here.
    let view = support::View::of(pids);
    checked(runtime().block_on(upstreams::run_on(view.system(), &request, Progress::none())))
}

/// The `logs` check on these files only, plus command output already captured.
fn logs_of(files: &[PathBuf], captured: Vec<Captured>) -> CheckReport {
    let params = Params {
        since_minutes: Some(30),
        files: files.to_vec(),
        config_logs: Vec::new(),
        time_limit: None,
        site: None,
        access_logs: Vec::new(),
    };
    let run = logs::run_with_sources(params, Clock::system(), Progress::none(), None, captured);
    checked(runtime().block_on(run))
}

/// The verdict names the hop it blames, and that hop names its config line.
fn verdict_names_its_hop(json: &Value) {
    let hop = json["verdict"]["hop"].as_u64().unwrap_or_else(|| panic!("{:#}", json["verdict"]));
    let at = &json["path"][usize::try_from(hop).unwrap()]["at"];
    assert!(
        at.as_str().is_some_and(|a| a.contains(':')),
        "the hop's config line: {:#}",
        json["path"]
    );
}

/// What `triage check --json URL` says given these local reports: the outside probe runs for
/// real against the loopback URL.
fn check_json(url: &str, local: Vec<CheckReport>) -> Value {
    let request = CheckRequest::new("http_probe").with("url", url).with("count", "1");
    let mut reports = vec![checked(runtime().block_on(http::run(request, Progress::none())))];
    reports.extend(local);
    let run = CheckRun::new(&triage::site::SiteUrl::parse(url).unwrap(), reports).unwrap();
    serde_json::from_str(&to_json(&run)).unwrap()
}

fn list(report: &CheckReport, key: &str) -> Vec<String> {
    match report.facts.get(key) {
        Some(FactValue::List(items)) => items.clone(),
        other => panic!("{key}: {other:?}\n{report:#?}"),
    }
}

fn text(report: &CheckReport, key: &str) -> String {
    report
        .facts
        .get(key)
        .and_then(FactValue::as_text)
        .unwrap_or_else(|| panic!("{key}: {report:#?}"))
        .to_owned()
}

fn has(items: &[String], needle: &str) -> bool {
    items.iter().any(|i| i.contains(needle))
}

fn findings(json: &Value) -> Vec<String> {
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A log with nothing in it, for a logs run that should read only command output.
fn nothing_else() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.log");
    std::fs::write(&path, "").unwrap();
    (dir, path)
}

#[test]
fn varnish_with_a_dead_backend_names_it_its_vcl_line_and_the_fetch_error() {
    let dead = support::dead_port();
    let Some(varnish) = Varnish::start(&format!(
        "backend dead {{\n  .host = \"127.0.0.1\";\n  .port = \"{dead}\";\n  .connect_timeout = 1s;\n}}\nsub vcl_recv {{ set req.backend_hint = dead; return (pass); }}\n"
    )) else {
        return;
    };
    assert_eq!(http_get(varnish.port, "/").0, 503, "Varnish answers 503 Backend fetch failed");

    let up = upstreams_of(&varnish.vcl, None, &[varnish.daemon.pid]);
    assert_eq!(list(&up, "upstream.refused"), vec![format!("127.0.0.1:{dead}")]);
    assert_eq!(
        text(&up, "upstream.problem_at"),
        location(&varnish.vcl, ".host"),
        "the backend's .host line"
    );
    assert!(text(&up, "upstream.problem").starts_with("backend dead {"), "{up:#?}");

    let captured = runtime().block_on(commands::varnishlog(Some(&varnish.workdir)));
    let (_keep, empty) = nothing_else();
    let logs = logs_of(&[empty], vec![captured]);
    assert!(
        list(&logs, "logs.signatures").contains(&"varnish_backend_refused".to_owned()),
        "{logs:#?}"
    );
    assert_eq!(list(&logs, "logs.causes")[0], "upstream_refused");
    assert!(
        text(&logs, "logs.first_line")
            .contains("backend dead: fail errno 111 (Connection refused)")
    );

    let json = check_json(&format!("http://127.0.0.1:{}/", varnish.port), vec![up, logs]);
    assert_eq!(json["status"], 503);
    assert_eq!(json["verdict"]["cause"], "upstream_refused", "{:#}", json["verdict"]);
}

#[test]
fn varnish_with_a_slow_backend_times_out_at_its_own_first_byte_timeout() {
    let slow = Backend::slow();
    let Some(varnish) = Varnish::start(&format!(
        "backend slow {{\n  .host = \"127.0.0.1\";\n  .port = \"{}\";\n  .first_byte_timeout = 1s;\n}}\nsub vcl_recv {{ set req.backend_hint = slow; return (pass); }}\n",
        slow.port
    )) else {
        return;
    };
    assert_eq!(http_get(varnish.port, "/").0, 503, "a first byte timeout is a 503 too");

    let up = upstreams_of(&varnish.vcl, None, &[varnish.daemon.pid]);
    let timeout_at = location(&varnish.vcl, ".first_byte_timeout");
    let timed_out = list(&up, "upstream.timed_out");
    assert!(
        has(&timed_out, &format!("127.0.0.1:{}", slow.port))
            && has(&timed_out, &format!(".first_byte_timeout 1s ({timeout_at})")),
        "bounded by the backend's own timeout, named with its line: {timed_out:?}"
    );
    let Evidence::Upstreams(evidence) = &up.evidence else { panic!() };
    let result = &evidence.results[0];
    assert_eq!(result.timeout_ms, Some(1000), "the backend's own first byte timeout");
    assert_eq!(
        result.timeout_by.as_deref(),
        Some(format!(".first_byte_timeout 1s ({timeout_at})").as_str())
    );
    assert!(result.waited_ms.is_some_and(|ms| ms < 2000), "waited as long as Varnish does");

    let captured = runtime().block_on(commands::varnishlog(Some(&varnish.workdir)));
    let (_keep, empty) = nothing_else();
    let logs = logs_of(&[empty], vec![captured]);
    assert_eq!(list(&logs, "logs.signatures")[0], "varnish_first_byte_timeout", "{logs:#?}");
    assert!(text(&logs, "logs.first_line").contains("first byte timeout"));

    let json = check_json(&format!("http://127.0.0.1:{}/", varnish.port), vec![up, logs]);
    assert_eq!(json["verdict"]["cause"], "upstream_timeout", "{:#}", json["verdict"]);
}

#[test]
fn caddy_reverse_proxy_to_a_refused_port_names_the_caddyfile_line_and_its_json_error() {
    let dead = support::dead_port();
    let Some(caddy) = Caddy::start(&format!("\treverse_proxy 127.0.0.1:{dead}")) else { return };
    assert_eq!(http_get(caddy.port, "/").0, 502);

    let up = upstreams_of(&caddy.config, None, &[caddy.daemon.pid]);
    assert_eq!(list(&up, "upstream.refused"), vec![format!("127.0.0.1:{dead}")]);
    assert_eq!(text(&up, "upstream.problem_at"), location(&caddy.config, "reverse_proxy"));

    let logs = logs_of(std::slice::from_ref(&caddy.log), Vec::new());
    assert_eq!(list(&logs, "logs.signatures")[0], "caddy_upstream_refused", "{logs:#?}");
    assert!(
        text(&logs, "logs.first_line")
            .contains(&format!("dial tcp 127.0.0.1:{dead}: connect: connection refused"))
    );

    let json = check_json(&format!("http://127.0.0.1:{}/", caddy.port), vec![up, logs]);
    assert_eq!(json["verdict"]["cause"], "upstream_refused", "{:#}", json["verdict"]);
}

#[test]
fn caddy_php_fastcgi_to_a_missing_socket_names_the_socket_and_the_pool_that_would_listen() {
    let Some(caddy) = Caddy::start("\troot * {dir}/www\n\tphp_fastcgi unix/{dir}/php-fpm.sock")
    else {
        return;
    };
    let www = caddy.daemon.dir.join("www");
    std::fs::create_dir(&www).unwrap();
    std::fs::write(www.join("index.php"), "<?php echo 'hi';\n").unwrap();
    assert_eq!(http_get(caddy.port, "/index.php").0, 502);
    let socket = caddy.daemon.dir.join("php-fpm.sock").display().to_string();
    let fpm_config = caddy.daemon.dir.join("php-fpm.conf");
    std::fs::write(&fpm_config, "[www]\nlisten = /run/php/php8.2-fpm.sock\n").unwrap();

    let up = upstreams_of(&caddy.config, Some(&fpm_config), &[caddy.daemon.pid]);
    assert_eq!(list(&up, "upstream.socket_missing"), vec![socket.clone()]);
    assert_eq!(list(&up, "upstream.runtimes_down"), vec!["php-fpm".to_owned()]);
    assert_eq!(text(&up, "upstream.problem_at"), location(&caddy.config, "php_fastcgi"));
    assert!(
        up.details.iter().any(|d| d.contains("no PHP-FPM pool is configured at")
            && d.contains("pool www would listen at /run/php/php8.2-fpm.sock")),
        "{:?}",
        up.details
    );

    let logs = logs_of(std::slice::from_ref(&caddy.log), Vec::new());
    assert_eq!(list(&logs, "logs.signatures")[0], "caddy_socket_missing", "{logs:#?}");
    assert!(
        text(&logs, "logs.first_line")
            .contains(&format!("dial unix {socket}: connect: no such file or directory"))
    );

    let json = check_json(&format!("http://127.0.0.1:{}/index.php", caddy.port), vec![up, logs]);
    assert_eq!(json["verdict"]["cause"], "upstream_socket_missing", "{:#}", json["verdict"]);
}

#[test]
fn haproxy_with_maxconn_1_and_a_queue_timeout_is_a_full_queue_not_a_timeout() {
    let slow = Backend::slow();
    let Some(haproxy) = Haproxy::start(&format!(
        "    timeout client 10s\nfrontend fe\n    bind 127.0.0.1:{{port}}\n    default_backend app\nbackend app\n    timeout connect 1s\n    timeout server 5s\n    timeout queue 1s\n    server slow1 127.0.0.1:{} maxconn 1\n",
        slow.port
    )) else {
        return;
    };
    let port = haproxy.port;
    let holder = std::thread::spawn(move || http_get(port, "/holds-the-only-slot"));
    slow.wait_for_connections(1);
    let url = format!("http://127.0.0.1:{port}/");
    let http = checked(runtime().block_on(http::run(
        CheckRequest::new("http_probe").with("url", url.as_str()).with("count", "1"),
        Progress::none(),
    )));
    assert_eq!(
        http.facts.get("http.status"),
        Some(&FactValue::Int(503)),
        "queued past timeout queue"
    );
    assert_eq!(holder.join().unwrap().0, 200);
    std::thread::sleep(Duration::from_millis(300));

    let up = upstreams_of(&haproxy.config, None, &[haproxy.daemon.pid]);
    let Evidence::Upstreams(evidence) = &up.evidence else { panic!() };
    let site = &evidence.configs[0].sites[0];
    let maxconn = site.limits.iter().find(|l| l.name == "server slow1 maxconn").unwrap();
    assert_eq!(
        (maxconn.value.as_str(), maxconn.at.to_string()),
        ("1", location(&haproxy.config, "maxconn 1"))
    );
    let queue = site.timeouts.iter().find(|t| t.name == "timeout queue").unwrap();
    assert_eq!(queue.at.to_string(), location(&haproxy.config, "timeout queue"));

    let logs = logs_of(std::slice::from_ref(&haproxy.log), Vec::new());
    assert_eq!(list(&logs, "logs.signatures")[0], "haproxy_queue_timeout", "{logs:#?}");
    assert_eq!(list(&logs, "logs.causes")[0], "upstream_queue_full");
    assert!(
        text(&logs, "logs.first_line").contains(" sQ-- "),
        "{}",
        text(&logs, "logs.first_line")
    );

    let run =
        CheckRun::new(&triage::site::SiteUrl::parse(&url).unwrap(), vec![http, up, logs]).unwrap();
    let json: Value = serde_json::from_str(&to_json(&run)).unwrap();
    assert!(
        findings(&json).contains(&"log-upstream-queue-full".to_owned()),
        "{:#} {:#} {:#}",
        json["findings"],
        json["path"],
        json["elsewhere"]
    );
    assert_eq!(json["verdict"]["cause"], "upstream_queue_full", "{:#}", json["verdict"]);
    verdict_names_its_hop(&json);
}

/// nginx in front of a PHP-FPM pool (started by the caller).
fn nginx_for(pool: &FpmPool) -> Option<Nginx> {
    Nginx::start(&pool.nginx_location())
}

/// The pool's own logs, found from its config: the FPM log and PHP's error log.
fn pool_logs(pool: &FpmPool) -> Vec<PathBuf> {
    let config = phpfpm::read(&System::real(), &pool.config);
    let logs: Vec<PathBuf> = config.logs.iter().map(|l| l.path.clone()).collect();
    assert!(logs.contains(&pool.php_log) && logs.contains(&pool.fpm_log), "{logs:?}");
    logs
}

#[test]
fn php_fpm_request_terminate_timeout_is_the_runtime_killing_the_request() {
    let scripts = [("sleep.php", "<?php sleep(3); echo \"slept\\n\";\n")];
    let Some(pool) = FpmPool::start("request_terminate_timeout = 1s", &scripts, &[]) else {
        return;
    };
    let Some(nginx) = nginx_for(&pool) else { return };
    assert_eq!(nginx.get("/sleep.php").0, 502, "FPM kills the child: nginx sees a reset");
    std::thread::sleep(Duration::from_millis(300));

    let up = upstreams_of(&nginx.config, Some(&pool.config), &[nginx.pid, pool.daemon.pid]);
    let pools = list(&up, "upstream.pools");
    let limit_at = location(&pool.config, "request_terminate_timeout");
    assert!(has(&pools, &format!("request_terminate_timeout = 1s ({limit_at})")), "{pools:?}");
    let Evidence::Upstreams(evidence) = &up.evidence else { panic!() };
    let pool_at = location(&pool.config, "listen = ");
    assert_eq!(evidence.results[0].pool.as_deref(), Some(format!("app ({pool_at})").as_str()));

    let mut files = pool_logs(&pool);
    files.push(nginx.error_log.clone());
    let logs = logs_of(&files, Vec::new());
    assert!(
        list(&logs, "logs.causes").contains(&"runtime_request_timeout".to_owned()),
        "{logs:#?}"
    );
    let Evidence::Logs(found) = &logs.evidence else { panic!() };
    let hit = found.signatures.iter().find(|h| h.id == "fpm_execution_timed_out").unwrap();
    assert!(
        hit.first_line.contains("execution timed out") && hit.first_line.contains("sleep.php"),
        "{}",
        hit.first_line
    );

    let json = check_json(&format!("{}sleep.php", nginx.url()), vec![up, logs]);
    assert_eq!(json["status"], 502);
    assert!(
        findings(&json).contains(&"log-runtime-request-timeout".to_owned()),
        "{:#}",
        json["findings"]
    );
    assert_eq!(json["verdict"]["cause"], "runtime_request_timeout", "{:#}", json["verdict"]);
    verdict_names_its_hop(&json);
}

#[test]
fn a_php_script_over_memory_limit_is_the_apps_memory_limit_with_the_pool_line() {
    let scripts = [("mem.php", "<?php $a = []; while (true) { $a[] = str_repeat('x', 20000); }\n")];
    let Some(pool) = FpmPool::start("php_admin_value[memory_limit] = 16M", &scripts, &[]) else {
        return;
    };
    let Some(nginx) = nginx_for(&pool) else { return };
    assert_eq!(nginx.get("/mem.php").0, 500);

    let up = upstreams_of(&nginx.config, Some(&pool.config), &[nginx.pid, pool.daemon.pid]);
    let limit_at = location(&pool.config, "memory_limit");
    assert!(has(&list(&up, "upstream.pools"), &format!("memory_limit = 16M ({limit_at})")));

    let logs = logs_of(&pool_logs(&pool), Vec::new());
    assert_eq!(list(&logs, "logs.causes")[0], "app_memory_limit", "{logs:#?}");
    let first = text(&logs, "logs.first_line");
    assert!(
        first.contains("Allowed memory size of 16777216 bytes exhausted")
            && first.contains("mem.php"),
        "{first}"
    );

    let json = check_json(&format!("{}mem.php", nginx.url()), vec![up, logs]);
    assert!(findings(&json).contains(&"log-app-memory-limit".to_owned()), "{:#}", json["findings"]);
    assert_eq!(json["verdict"]["cause"], "app_memory_limit", "{:#}", json["verdict"]);
    verdict_names_its_hop(&json);
}

#[test]
fn a_php_app_whose_postgresql_stopped_is_database_unavailable_from_the_pools_env() {
    let Some(mut pg) = Postgres::start() else { return };
    let script = "<?php $db = pg_connect(getenv('DATABASE_URL'));\nif (!$db) { http_response_code(503); echo \"database unavailable\\n\"; exit; }\necho \"ok\\n\";\n";
    let env = format!("env[DATABASE_URL] = postgresql://postgres@127.0.0.1:{}/postgres", pg.port);
    let Some(pool) = FpmPool::start(&env, &[("db.php", script)], &["pgsql"]) else { return };
    let Some(nginx) = nginx_for(&pool) else { return };
    assert_eq!(
        nginx.get("/db.php"),
        (200, "ok\n".to_owned()),
        "the app works while PostgreSQL runs"
    );
    pg.daemon.stop();
    let after = nginx.get("/db.php");
    assert_eq!(
        after.0,
        503,
        "the app says its database is unavailable: {after:?} {}",
        std::fs::read_to_string(&pool.php_log).unwrap_or_default()
    );

    let request =
        CheckRequest::new("database").with("fpm_config", pool.config.display().to_string());
    let view = support::View::of(&[]);
    let db = checked(runtime().block_on(database::run_on(view.system(), request)));
    assert_eq!(text(&db, "db.target"), format!("127.0.0.1:{}", pg.port));
    assert_eq!(text(&db, "db.failure"), "refused");
    let env_at = location(&pool.config, "env[DATABASE_URL]");
    assert_eq!(text(&db, "db.source"), format!("php-fpm pool app env[DATABASE_URL] ({env_at})"));
    let local = text(&db, "db.local_server");
    assert!(
        local.starts_with("postgresql"),
        "installed here, and not running at that port: {local}"
    );

    let logs = logs_of(&pool_logs(&pool), Vec::new());
    assert_eq!(list(&logs, "logs.signatures")[0], "php_pg_connect_failed", "{logs:#?}");
    assert!(
        text(&logs, "logs.first_line")
            .contains(&format!("port {} failed: Connection refused", pg.port))
    );

    let json = check_json(&format!("{}db.php", nginx.url()), vec![db, logs]);
    assert_eq!(json["status"], 503);
    assert_eq!(json["verdict"]["cause"], "db_unavailable", "{:#}", json["verdict"]);
}

#[test]
fn nginx_with_a_resolver_that_answers_nxdomain_names_the_name_and_the_resolver() {
    let dns = NxDomain::start();
    let Some(nginx) = Nginx::start(&format!(
        "        location / {{\n            resolver 127.0.0.1:{} valid=1s;\n            resolver_timeout 2s;\n            set $backend \"nope.invalid.test\";\n            proxy_pass http://$backend:80;\n        }}",
        dns.port
    )) else {
        return;
    };
    assert_eq!(nginx.get("/").0, 502);
    assert!(
        nginx
            .error_log_text()
            .contains("nope.invalid.test could not be resolved (3: Host not found)"),
        "{}",
        nginx.error_log_text()
    );

    let up = upstreams_of(&nginx.config, None, &[nginx.pid]);
    let unresolved = list(&up, "upstream.unresolved");
    let resolver_at = nginx.location_of("resolver 127.0.0.1");
    assert!(
        has(&unresolved, "nope.invalid.test")
            && has(&unresolved, "NXDOMAIN")
            && has(&unresolved, &resolver_at),
        "asked nginx's own resolver, named with its line: {unresolved:?}"
    );
    assert_eq!(text(&up, "upstream.problem_at"), nginx.location_of("proxy_pass"));

    let logs = logs_of(std::slice::from_ref(&nginx.error_log), Vec::new());
    assert_eq!(list(&logs, "logs.signatures")[0], "nginx_resolver_not_found", "{logs:#?}");
    assert_eq!(list(&logs, "logs.causes")[0], "upstream_dns");

    let json = check_json(&nginx.url(), vec![up, logs]);
    assert!(findings(&json).contains(&"upstream-dns".to_owned()), "{:#}", json["findings"]);
    assert_eq!(json["verdict"]["cause"], "upstream_dns", "{:#}", json["verdict"]);
    verdict_names_its_hop(&json);
}

#[test]
fn nginx_proxy_pass_https_to_a_plain_http_port_is_a_tls_error_with_its_line() {
    let plain = Backend::plain_http();
    let Some(nginx) = Nginx::start(&format!(
        "        location / {{\n            proxy_pass https://127.0.0.1:{};\n        }}",
        plain.port
    )) else {
        return;
    };
    assert_eq!(nginx.get("/").0, 502);

    let up = upstreams_of(&nginx.config, None, &[nginx.pid]);
    let failed = list(&up, "upstream.tls_failed");
    assert!(
        has(&failed, "does not speak TLS") && has(&failed, &nginx.location_of("proxy_pass")),
        "{failed:?}"
    );

    let logs = logs_of(std::slice::from_ref(&nginx.error_log), Vec::new());
    assert_eq!(list(&logs, "logs.signatures")[0], "nginx_upstream_tls_plain_port", "{logs:#?}");
    assert!(text(&logs, "logs.first_line").contains("wrong version number"));

    let json = check_json(&nginx.url(), vec![up, logs]);
    assert!(findings(&json).contains(&"upstream-tls-error".to_owned()), "{:#}", json["findings"]);
    assert_eq!(json["verdict"]["cause"], "upstream_tls_error", "{:#}", json["verdict"]);
    verdict_names_its_hop(&json);
}
