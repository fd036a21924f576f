//! The `database` check against loopback servers: fakes that greet like MySQL/MariaDB, refuse
//! with 1040 (as MySQL does before its greeting), accept and stay silent, or are not there; and
//! a real MariaDB and a real PostgreSQL started by the tests on their own ports and data
//! directories (stopped by pid; skipped loudly where not installed, a failure under CI=true). A password in the app's config must never appear in
//! the report.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use triage::checks::registry;
use triage::contract::{CheckReport, CheckRequest, CheckStatus};
use triage::facts::FactValue;

const SECRET: &str = "Sup3r-S3cret!pw";

/// The database check, seeing none of this machine's processes: the PHP-FPM pools and units
/// it would take a database from are the machine's own, and a test leaves those unread.
async fn run(request: CheckRequest) -> CheckReport {
    assert_eq!(request.check, "database");
    let view = support::View::of(&[]);
    triage::checks::database::run_on(view.system(), request).await
}

fn fact<'a>(report: &'a CheckReport, key: &str) -> Option<&'a FactValue> {
    report.facts.get(key)
}

/// A server on loopback that writes `greeting` to every connection and holds it open.
async fn fake_server(greeting: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let greeting = greeting.clone();
            tokio::spawn(async move {
                let _ = stream.write_all(&greeting).await;
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    port
}

fn packet(payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, 0];
    out.extend_from_slice(payload);
    out
}

/// A MariaDB 10.11 protocol-10 greeting, as the server sends it first.
fn mariadb_greeting() -> Vec<u8> {
    let mut p = vec![0x0a];
    p.extend_from_slice(b"5.5.5-10.11.6-MariaDB-0+deb12u1\0");
    p.extend_from_slice(&[0x2a, 0, 0, 0]);
    p.extend_from_slice(b"abcdefgh\0");
    p.extend_from_slice(&[0xfe, 0xf7, 0x2d, 0x02, 0, 0xff, 0x81, 0x15]);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0mysql_native_password\0");
    packet(&p)
}

fn assert_no_secret(report: &CheckReport) {
    let json = serde_json::to_string(report).unwrap();
    assert!(!json.contains(SECRET), "the password leaked: {json}");
    assert!(!json.contains("shop_user"), "the user name is not needed either: {json}");
}

fn site(files: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn wp_config(host: &str) -> String {
    format!(
        "<?php\ndefine( 'DB_NAME', 'shop' );\ndefine( 'DB_USER', 'shop_user' );\ndefine( 'DB_PASSWORD', '{SECRET}' );\ndefine( 'DB_HOST', '{host}' );\n$table_prefix = 'wp_';\n"
    )
}

#[tokio::test]
async fn a_wordpress_database_that_greets_is_reachable_and_its_password_never_appears() {
    let port = fake_server(mariadb_greeting()).await;
    let dir = site(&[("wp-config.php", wp_config(&format!("127.0.0.1:{port}")))]);
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert_eq!(report.status, CheckStatus::Passed, "{}", report.summary);
    assert_eq!(fact(&report, "db.reachable"), Some(&FactValue::Bool(true)));
    assert_eq!(fact(&report, "db.version"), Some(&"10.11.6-MariaDB-0+deb12u1".into()));
    assert_eq!(fact(&report, "db.source"), Some(&"wp-config.php".into()));
    assert_eq!(fact(&report, "db.target"), Some(&format!("127.0.0.1:{port}").into()));
    assert_no_secret(&report);
}

#[tokio::test]
async fn a_database_url_with_a_password_gives_only_host_and_port() {
    let port = fake_server(mariadb_greeting()).await;
    let env = format!(
        "APP_KEY=base64:k\nDB_PASSWORD={SECRET}\nDATABASE_URL=mysql://shop_user:{SECRET}@127.0.0.1:{port}/shop\n"
    );
    let dir = site(&[(".env", env)]);
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert_eq!(fact(&report, "db.reachable"), Some(&FactValue::Bool(true)), "{}", report.summary);
    assert_no_secret(&report);
}

#[tokio::test]
async fn error_1040_in_the_greeting_is_too_many_connections() {
    let mut err = vec![0xff, 0x10, 0x04];
    err.extend_from_slice(b"Too many connections");
    let port = fake_server(packet(&err)).await;
    let report =
        run(CheckRequest::new("database").with("address", format!("127.0.0.1:{port}"))).await;
    assert_eq!(report.status, CheckStatus::Failed);
    assert_eq!(fact(&report, "db.failure"), Some(&"too_many_connections".into()));
    assert_eq!(fact(&report, "db.kind"), Some(&"mysql".into()));
    assert!(
        report.details.iter().any(|d| d == "server said: 1040: Too many connections"),
        "{:?}",
        report.details
    );
    let rules = triage::diagnosis::Rules::builtin().unwrap();
    assert_eq!(
        triage::diagnosis::diagnose(&rules, &report.facts).verdict.cause,
        "db_too_many_connections"
    );
}

#[tokio::test]
async fn refused_silent_and_missing_servers_are_named() {
    let closed = support::dead_port();
    let report =
        run(CheckRequest::new("database").with("address", format!("127.0.0.1:{closed}"))).await;
    assert_eq!(fact(&report, "db.failure"), Some(&"refused".into()), "{}", report.summary);

    // Accepts (the kernel completes the handshake) but never speaks: a hung MySQL.
    let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = site(&[("wp-config.php", wp_config(&format!("127.0.0.1:{port}")))]);
    let started = Instant::now();
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert_eq!(fact(&report, "db.failure"), Some(&"timeout".into()), "{}", report.summary);
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(silent);

    let report =
        run(CheckRequest::new("database").with("address", "unix:/nonexistent/mysqld.sock")).await;
    assert_eq!(fact(&report, "db.failure"), Some(&"socket_missing".into()));
    assert_eq!(fact(&report, "db.reachable"), Some(&FactValue::Bool(false)));
}

#[tokio::test]
async fn without_an_address_or_a_config_it_says_what_it_needs() {
    let report = run(CheckRequest::new("database").with("site_root", "").with("address", "")).await;
    let CheckStatus::CouldNotRun { reason, .. } = &report.status else { panic!("{report:?}") };
    assert!(reason.contains("give the site's root"), "{reason}");
    let dir = tempfile::tempdir().unwrap();
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert!(report.summary.contains("found neither wp-config.php nor .env"), "{}", report.summary);
    let dir = site(&[(".env", "DB_CONNECTION=sqlite\n".to_owned())]);
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert!(report.summary.contains("SQLite"), "{}", report.summary);
}

#[tokio::test]
async fn the_check_emits_only_declared_facts() {
    let port = fake_server(mariadb_greeting()).await;
    let report =
        run(CheckRequest::new("database").with("address", format!("127.0.0.1:{port}"))).await;
    assert_eq!(registry::contract_breaches(&report), Vec::<String>::new());
}

/// A server started by a test, stopped by pid (SIGTERM) when dropped.
struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn wait_for_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

/// MariaDB (Debian's mariadb-server) with its own data directory, port and socket.
fn start_mariadb() -> Option<Server> {
    let (Ok(install), Ok(server)) = (which("mariadb-install-db"), which("mariadbd")) else {
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let user: &[&str] = if is_root() { &["--user=root"] } else { &[] };
    let status = Command::new(install)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(user)
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "mariadb-install-db failed");
    let port = support::free_port();
    let child = Command::new(server)
        .arg("--no-defaults")
        .arg(format!("--datadir={}", data.display()))
        .args(user)
        .arg(format!("--port={port}"))
        .arg("--bind-address=127.0.0.1")
        .arg(format!("--socket={}", dir.path().join("mysqld.sock").display()))
        .arg(format!("--pid-file={}", dir.path().join("mysqld.pid").display()))
        .arg("--skip-log-bin")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port, dir };
    wait_for_port(port, "MariaDB");
    Some(server)
}

fn which(name: &str) -> Result<PathBuf, ()> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

fn skip_or_fail(test: &str, package: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{package} is not installed, and CI=true: install Debian's {package} (see .ci/run)"
    );
    eprintln!("SKIPPED {test}: {package} is not installed (apt-get install {package})");
}

#[tokio::test]
async fn a_real_mariadb_greets_with_its_version_over_tcp_and_its_socket() {
    let Some(db) = tokio::task::spawn_blocking(start_mariadb).await.unwrap() else {
        return skip_or_fail(
            "a_real_mariadb_greets_with_its_version_over_tcp_and_its_socket",
            "mariadb-server",
        );
    };
    let dir = site(&[("wp-config.php", wp_config(&format!("127.0.0.1:{}", db.port)))]);
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert_eq!(report.status, CheckStatus::Passed, "{}", report.summary);
    let Some(FactValue::Text(version)) = fact(&report, "db.version") else { panic!("{report:?}") };
    assert!(version.contains("MariaDB") && !version.starts_with("5.5.5-"), "{version}");
    assert_no_secret(&report);
    let socket = db.dir.path().join("mysqld.sock");
    let dir = site(&[("wp-config.php", wp_config(&format!("localhost:{}", socket.display())))]);
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert_eq!(report.status, CheckStatus::Passed, "{}", report.summary);
    assert_eq!(fact(&report, "db.target"), Some(&format!("unix:{}", socket.display()).into()));
    let port = db.port;
    drop(db);
    let report =
        run(CheckRequest::new("database").with("address", format!("127.0.0.1:{port}"))).await;
    assert_eq!(fact(&report, "db.failure"), Some(&"refused".into()), "stopped: {}", report.summary);
}

#[tokio::test]
async fn a_real_postgresql_answers_over_tcp_and_its_unix_socket() {
    // Debian's postgresql in its own directory and port, ready when pg_isready says so (a
    // missing package is a loud skip, a failure under CI=true).
    let started = tokio::task::spawn_blocking(support::servers::Postgres::start).await.unwrap();
    let Some(pg) = started else { return };
    let env = format!(
        "DB_CONNECTION=pgsql\nDB_HOST=127.0.0.1\nDB_PORT={}\nDB_USERNAME=shop_user\nDB_PASSWORD={SECRET}\n",
        pg.port
    );
    let dir = site(&[(".env", env)]);
    let report =
        run(CheckRequest::new("database").with("site_root", dir.path().display().to_string()))
            .await;
    assert_eq!(report.status, CheckStatus::Passed, "{}", report.summary);
    assert_eq!(fact(&report, "db.kind"), Some(&"postgresql".into()));
    assert_no_secret(&report);
    let socket = pg.daemon.dir.join(format!(".s.PGSQL.{}", pg.port));
    let report =
        run(CheckRequest::new("database").with("address", format!("unix:{}", socket.display())))
            .await;
    assert_eq!(report.status, CheckStatus::Passed, "{}", report.summary);
    drop(pg);
    let report =
        run(CheckRequest::new("database").with("address", format!("unix:{}", socket.display())))
            .await;
    assert_eq!(report.status, CheckStatus::Failed, "stopped: {}", report.summary);
}
