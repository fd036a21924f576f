//! Stack discovery, config reading and the local checks on fixture trees: a copy of a Debian
//! LEMP server's files (`tests/fixtures/local/debian-lemp`: Debian's packaged nginx and PHP-FPM
//! configs with includes, an upstream group and unix sockets, and a `/proc` in the kernel's
//! formats), an Apache and an HAProxy config.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use triage::checks::{registry, resources, upstreams};
use triage::contract::evidence::stack::{ConfigSource, Role, Systemd};
use triage::contract::evidence::web::{Address, LogKind, Protocol, ServerKind};
use triage::contract::{CheckReport, CheckRequest, CheckStatus, Progress};
use triage::facts::FactValue;
use triage::system::{System, proxy, stack};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/local").join(name)
}

fn lemp() -> System {
    System::fixture(&fixture("debian-lemp"))
}

fn assert_only_declared_facts(report: &CheckReport) {
    assert_eq!(registry::contract_breaches(report), Vec::<String>::new());
}

fn list(report: &CheckReport, key: &str) -> Vec<String> {
    match report.facts.get(key) {
        Some(FactValue::List(items)) => items.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn discovery_finds_each_service_with_user_config_sockets_and_unit() {
    let found = stack::discover(&lemp()).unwrap();
    let ids: Vec<&str> = found.services.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, vec!["nginx", "php-fpm", "mysql"], "sshd is not part of the web stack");
    let nginx = &found.services[0];
    assert_eq!((nginx.master, nginx.process_count), (812, 2));
    assert_eq!(nginx.users, vec!["root", "www-data"]);
    let config = nginx.config.as_ref().unwrap();
    assert_eq!(
        (config.path.as_str(), config.source),
        ("/etc/nginx/nginx.conf", ConfigSource::Default)
    );
    let listening: Vec<&str> = nginx.listening.iter().map(|l| l.address.as_str()).collect();
    assert_eq!(listening, vec!["0.0.0.0:80", "[::]:80"]);
    assert_eq!(nginx.unit.as_ref().unwrap().name, "nginx.service");
    let fpm = &found.services[1];
    assert_eq!(
        fpm.config.as_ref().unwrap().path,
        "/etc/php/8.2/fpm/php-fpm.conf",
        "from the master's title"
    );
    assert_eq!(fpm.config.as_ref().unwrap().source, ConfigSource::CommandLine);
    assert_eq!(fpm.listening[0].address, "unix:/run/php/php8.2-fpm.sock");
    let mysql = &found.services[2];
    assert_eq!((mysql.role, mysql.users[0].as_str()), (Role::Database, "mysql"));
    assert_eq!(mysql.listening[0].address, "127.0.0.1:3306");
    assert!(
        matches!(&found.systemd, Systemd::Skipped { reason } if reason.contains("systemd is not running"))
    );
    assert!(found.not_running.is_empty(), "{:?}", found.not_running);
    assert!(found.unseen.is_empty(), "{:?}", found.unseen);

    let report = triage::checks::stack::report(&found);
    assert_only_declared_facts(&report);
    assert_eq!(report.status, CheckStatus::Passed);
    assert_eq!(report.summary, "running: nginx, php-fpm, mysql");
    assert_eq!(list(&report, "stack.runtimes"), vec!["php-fpm"]);
    assert!(
        report.details.iter().any(|d| d.contains("unit states skipped")),
        "{:?}",
        report.details
    );
}

#[test]
fn nginx_configs_are_read_with_every_include_group_and_socket() {
    let system = lemp();
    let found = stack::discover(&system).unwrap();
    let configs = proxy::read_stack(&system, &found);
    assert_eq!(configs.len(), 1);
    let config = &configs[0];
    assert_eq!(config.server, ServerKind::Nginx);
    let files: Vec<String> = config.files.iter().map(|f| f.display().to_string()).collect();
    assert_eq!(
        files,
        vec![
            "/etc/nginx/nginx.conf",
            "/etc/nginx/mime.types",
            "/etc/nginx/conf.d/upstreams.conf",
            "/etc/nginx/sites-enabled/shop",
            "/etc/nginx/snippets/fastcgi-php.conf",
            "/etc/nginx/fastcgi.conf"
        ]
    );
    assert!(
        config.unreadable.is_empty(),
        "modules-enabled/*.conf matches nothing, which nginx allows: {:?}",
        config.unreadable
    );
    assert_eq!(config.user.as_deref(), Some("www-data"));
    assert_eq!(config.setting("worker_connections").unwrap().value, "768");
    let site = &config.sites[0];
    assert_eq!(
        (site.name.as_str(), site.root.as_deref()),
        ("shop.example.com", Some("/var/www/shop"))
    );
    let targets: Vec<(String, Protocol, String, bool)> = site
        .targets
        .iter()
        .map(|t| (t.address.to_string(), t.protocol, t.address_at().to_string(), t.standby))
        .collect();
    assert_eq!(
        targets,
        vec![
            (
                "127.0.0.1:8001".into(),
                Protocol::Http,
                "/etc/nginx/conf.d/upstreams.conf:3".into(),
                false
            ),
            (
                "127.0.0.1:8002".into(),
                Protocol::Http,
                "/etc/nginx/conf.d/upstreams.conf:4".into(),
                false
            ),
            (
                "unix:/run/gunicorn/app.sock".into(),
                Protocol::Http,
                "/etc/nginx/conf.d/upstreams.conf:5".into(),
                true
            ),
            (
                "unix:/run/php/php8.1-fpm.sock".into(),
                Protocol::FastCgi,
                "/etc/nginx/sites-enabled/shop:28".into(),
                false
            ),
        ]
    );
    assert_eq!(
        site.targets[0].at.to_string(),
        "/etc/nginx/sites-enabled/shop:22",
        "the proxy_pass that uses the group"
    );
    assert_eq!(site.targets[0].group.as_deref(), Some("app_servers"));
    let timeouts: Vec<String> =
        site.timeouts.iter().map(|t| format!("{} {} {}", t.name, t.value, t.at.line)).collect();
    assert_eq!(timeouts, vec!["proxy_read_timeout 30s 23", "fastcgi_read_timeout 60s 29"]);
    let limits: Vec<&str> = site.limits.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(limits, vec!["limit_req_zone", "limit_req"]);
    let m = &site.maintenance[0];
    assert_eq!(
        (m.rule.as_str(), m.at.line, m.flag_file.as_deref(), m.active),
        ("return 503", 13, Some(Path::new("/var/www/shop/maintenance.flag")), false)
    );

    let logs = proxy::log_paths_of(&system, &found);
    let shown: Vec<(LogKind, String, Option<String>)> = logs
        .paths
        .iter()
        .map(|l| (l.kind, l.path.display().to_string(), l.at.as_ref().map(ToString::to_string)))
        .collect();
    assert_eq!(
        shown,
        vec![
            (
                LogKind::NginxError,
                "/var/log/nginx/error.log".into(),
                Some("/etc/nginx/nginx.conf:4".into())
            ),
            (
                LogKind::NginxAccess,
                "/var/log/nginx/access.log".into(),
                Some("/etc/nginx/nginx.conf:30".into())
            ),
            (
                LogKind::NginxAccess,
                "/var/log/nginx/shop.access.log".into(),
                Some("/etc/nginx/sites-enabled/shop:9".into())
            ),
            (
                LogKind::NginxError,
                "/var/log/nginx/shop.error.log".into(),
                Some("/etc/nginx/sites-enabled/shop:10".into())
            ),
            (
                LogKind::PhpFpmError,
                "/var/log/php8.2-fpm.log".into(),
                Some("/etc/php/8.2/fpm/php-fpm.conf:10".into())
            ),
            (
                LogKind::PhpFpmSlow,
                "/var/log/php8.2-fpm.slow.log".into(),
                Some("/etc/php/8.2/fpm/pool.d/www.conf:14".into())
            ),
        ]
    );
    assert_eq!(logs.paths[2].site.as_deref(), Some("shop.example.com"));
}

#[test]
fn apache_configs_follow_debian_includes_envvars_handlers_and_balancers() {
    let system = System::fixture(&fixture("debian-apache"));
    let config =
        proxy::read(&system, ServerKind::Apache, Path::new("/etc/apache2/apache2.conf"), None);
    assert!(config.unreadable.is_empty(), "{:?}", config.unreadable);
    assert_eq!(config.user.as_deref(), Some("www-data"), "from envvars");
    assert_eq!(
        config.setting("MaxRequestWorkers").unwrap().at.to_string(),
        "/etc/apache2/mods-enabled/mpm_event.conf:7"
    );
    assert_eq!(config.setting("mpm").unwrap().value, "event");
    let main = config.sites.iter().find(|s| s.name == "main server").unwrap();
    assert_eq!(main.targets[0].address, Address::Unix { path: "/run/php/php8.2-fpm.sock".into() });
    assert_eq!(main.targets[0].at.to_string(), "/etc/apache2/conf-enabled/php8.2-fpm.conf:5");
    let shop = config.sites.iter().find(|s| s.name == "shop.example.com").unwrap();
    let targets: Vec<(String, Protocol, String)> = shop
        .targets
        .iter()
        .map(|t| (t.address.to_string(), t.protocol, t.address_at().to_string()))
        .collect();
    assert_eq!(
        targets,
        vec![
            (
                "127.0.0.1:9000".into(),
                Protocol::FastCgi,
                "/etc/apache2/sites-enabled/shop.conf:7".into()
            ),
            (
                "127.0.0.1:8001".into(),
                Protocol::Http,
                "/etc/apache2/sites-enabled/shop.conf:14".into()
            ),
            (
                "127.0.0.1:8002".into(),
                Protocol::Http,
                "/etc/apache2/sites-enabled/shop.conf:15".into()
            ),
        ]
    );
    assert_eq!(
        shop.maintenance[0].flag_file.as_deref(),
        Some(Path::new("/var/www/shop/maintenance.html"))
    );
    let logs: Vec<String> =
        config.logs.iter().map(|l| format!("{:?} {}", l.kind, l.path.display())).collect();
    assert_eq!(
        logs,
        vec![
            "ApacheError /var/log/apache2/error.log",
            "ApacheError /var/log/apache2/shop-error.log",
            "ApacheAccess /var/log/apache2/shop-access.log"
        ]
    );
}

#[test]
fn haproxy_backends_become_sites_with_their_servers() {
    let system = System::fixture(&fixture("haproxy"));
    let config =
        proxy::read(&system, ServerKind::Haproxy, Path::new("/etc/haproxy/haproxy.cfg"), None);
    let names: Vec<&str> = config.sites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["web", "api"]);
    let web = &config.sites[0];
    assert_eq!(web.listen, vec!["*:80", "*:443"]);
    assert_eq!(web.targets.iter().filter(|t| t.standby).count(), 1);
    assert_eq!(web.targets[0].at.to_string(), "/etc/haproxy/haproxy.cfg:27");
    let api = &config.sites[1];
    assert_eq!(api.targets[0].address, Address::Unix { path: "/run/api/api.sock".into() });
    assert_eq!(api.timeouts.last().unwrap().value, "10s");
    assert_eq!(config.logs[0].at.as_ref().unwrap().line, 2);
    assert_eq!(config.user.as_deref(), Some("haproxy"));
}

#[test]
fn upstreams_on_the_fixture_name_the_socket_php_fpm_does_not_listen_on() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let report = runtime.block_on(upstreams::run_on(
        lemp(),
        &CheckRequest::new("upstreams"),
        Progress::none(),
    ));
    assert_only_declared_facts(&report);
    assert_eq!(report.status, CheckStatus::Failed);
    let elsewhere = list(&report, "upstream.elsewhere");
    assert_eq!(
        elsewhere,
        vec![
            "unix:/run/php/php8.1-fpm.sock (/etc/nginx/sites-enabled/shop:28), but php-fpm listens at unix:/run/php/php8.2-fpm.sock"
        ]
    );
    assert_eq!(
        report.facts.get("upstream.problem_at").unwrap().as_text(),
        Some("/etc/nginx/sites-enabled/shop:28")
    );
    assert!(
        list(&report, "upstream.socket_missing").is_empty(),
        "the socket is missing because it points elsewhere"
    );
    assert!(
        report.details.iter().any(|d| d.contains(
            "maintenance rule off: return 503 when /var/www/shop/maintenance.flag exists"
        )),
        "{:?}",
        report.details
    );
    let diagnosis =
        triage::diagnosis::diagnose(&triage::diagnosis::Rules::builtin().unwrap(), &report.facts);
    assert_eq!(diagnosis.verdict.cause, "proxy_misconfigured");
}

#[test]
fn resources_on_the_fixture_find_the_full_pool_the_oom_kills_and_the_lve_faults() {
    let r = resources::measure(&lemp(), &[], resources::DEFAULT_WINDOW);
    assert_eq!((r.cores, r.load_pct), (2, Some(170)));
    assert_eq!(r.oom_kills.since_boot, Some(3));
    assert_eq!(
        r.oom_kills.in_window,
        Some(3),
        "kills at 6000 s, 7100 s and 7150 s of 7200 s uptime are in the last 30 min"
    );
    assert!(
        r.oom_kills
            .first
            .as_deref()
            .unwrap()
            .starts_with("Out of memory: Killed process 1201 (php-fpm8.2)")
    );
    let pools: Vec<String> =
        r.pools.iter().map(|p| format!("{} {}", p.label(), p.at_limit)).collect();
    assert_eq!(
        pools,
        vec!["nginx worker_connections (busiest worker) 5/768 false", "php-fpm pool www 2/2 true"]
    );
    assert_eq!(r.pools[1].at.as_ref().unwrap().to_string(), "/etc/php/8.2/fpm/pool.d/www.conf:10");
    assert_eq!(r.lve_faults, vec!["LVE 1001: fEP=7"]);
    assert!(r.disks.iter().all(|d| !d.paths.is_empty()));
    let report = resources::report(&r);
    assert_only_declared_facts(&report);
    assert_eq!(report.status, CheckStatus::Failed);
    assert_eq!(report.facts.get("host.memory_used_pct"), Some(&FactValue::Int(97)));
    assert_eq!(report.facts.get("host.swap_used_pct"), Some(&FactValue::Int(75)));
    assert_eq!(list(&report, "host.workers_exhausted"), vec!["php-fpm pool www 2/2"]);
    assert!(report.summary.contains("3 OOM kills in the window"), "{}", report.summary);
    let diagnosis =
        triage::diagnosis::diagnose(&triage::diagnosis::Rules::builtin().unwrap(), &report.facts);
    assert_eq!(diagnosis.verdict.cause, "out_of_memory");
}
