//! Real servers for tests: Debian's nginx and PHP-FPM on loopback, each in its own temporary
//! prefix with its own config, pid file, logs and free port, stopped by pid when dropped. When a
//! package is missing the test says so loudly and skips; under `CI=true` a skip is a failure.
//!
//! ```ignore
//! mod support;
//! let Some(nginx) = support::Nginx::start("location / { proxy_pass http://127.0.0.1:9; }") else { return };
//! // nginx.port, nginx.url(), nginx.config, nginx.error_log, nginx.line_of("proxy_pass")
//! ```

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod pty;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub mod backends;
pub mod servers;

pub const NGINX: &str = "/usr/sbin/nginx";

/// The binary, or `None` after a loud skip message; under `CI=true` a missing binary fails.
pub fn require(binary: &Path, package: &str, test: &str) -> Option<PathBuf> {
    if binary.exists() {
        return Some(binary.to_owned());
    }
    let message = format!(
        "SKIPPED {test}: {} is not installed (apt-get install -y {package})",
        binary.display()
    );
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message}; under CI=true a skip is a failure"
    );
    eprintln!("\n!!!!! {message} !!!!!\n");
    None
}

/// Whether the tests run as root (then servers drop to `nobody` as they would in production).
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A loopback port nothing listens on (just now), for a server to take. Never the same port twice
/// in one test process: the kernel may hand a just-released port out again, and a proxy whose
/// "dead" upstream is its own port loops into itself.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if given.insert(port) {
            return port;
        }
    }
}

/// A loopback port that refuses every connection for as long as it lives: bound, never
/// listening, so no server of this or any other process can take it. `{dead}` formats the port.
#[derive(Debug)]
pub struct DeadPort {
    pub port: u16,
    _bound: std::os::fd::OwnedFd,
}

pub fn dead_port() -> DeadPort {
    use rustix::net::{AddressFamily, SocketType};
    let socket = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
    rustix::net::bind(&socket, &SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0)).unwrap();
    let bound = SocketAddrV4::try_from(rustix::net::getsockname(&socket).unwrap()).unwrap();
    DeadPort { port: bound.port(), _bound: socket }
}

impl std::fmt::Display for DeadPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.port.fmt(f)
    }
}

/// A temporary directory every user may enter, so workers running as `nobody` reach sockets in it.
pub fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix("triage-test-").tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A running nginx.
#[derive(Debug)]
pub struct Nginx {
    pub port: u16,
    pub prefix: PathBuf,
    pub config: PathBuf,
    pub error_log: PathBuf,
    pub access_log: PathBuf,
    pub pid: u32,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx with one `server` on 127.0.0.1 whose body is `server_body` (`{prefix}` in it is
    /// replaced by the prefix). `None` when nginx is not installed (outside CI).
    pub fn start(server_body: &str) -> Option<Nginx> {
        Nginx::start_with("", server_body)
    }

    /// As [`Nginx::start`], with extra `http`-level directives (upstream groups, …).
    pub fn start_with(http_extra: &str, server_body: &str) -> Option<Nginx> {
        let binary = require(Path::new(NGINX), "nginx-light", "real nginx test")?;
        let mut last_error = String::new();
        for _ in 0..3 {
            match Nginx::try_start(&binary, http_extra, server_body) {
                Ok(nginx) => return Some(nginx),
                Err(e) => last_error = e,
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    /// nginx with the whole `http { … }` body given: `{prefix}` and `{port}` (a free port for
    /// the first server) in it are replaced. For several servers sharing one error log.
    pub fn start_http(http_body: &str) -> Option<Nginx> {
        let binary = require(Path::new(NGINX), "nginx-light", "real nginx test")?;
        let mut last_error = String::new();
        for _ in 0..3 {
            let make = |prefix: &Path, port: u16| http_config(prefix, port, http_body);
            match Nginx::try_start_config(&binary, &make) {
                Ok(nginx) => return Some(nginx),
                Err(e) => last_error = e,
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    fn try_start(binary: &Path, http_extra: &str, server_body: &str) -> Result<Nginx, String> {
        let make = |prefix: &Path, port: u16| nginx_config(prefix, port, http_extra, server_body);
        Nginx::try_start_config(binary, &make)
    }

    fn try_start_config(
        binary: &Path,
        make: &dyn Fn(&Path, u16) -> String,
    ) -> Result<Nginx, String> {
        let dir = open_dir();
        let prefix = dir.path().to_owned();
        let port = free_port();
        std::fs::create_dir(prefix.join("tmp")).unwrap();
        let config = prefix.join("nginx.conf");
        std::fs::write(&config, make(&prefix, port)).unwrap();
        let error_log = prefix.join("error.log");
        let mut child = Command::new(binary)
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(prefix.join("stderr.log")).unwrap())
            .spawn()
            .map_err(|e| e.to_string())?;
        let pid = child.id();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let stderr = std::fs::read_to_string(prefix.join("stderr.log")).unwrap_or_default();
                return Err(format!("exited with {status}: {stderr}"));
            }
            if started.elapsed() > Duration::from_secs(10) {
                stop(&mut child);
                return Err("did not listen within 10 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The master listens before it forks its workers; a test that looks at the processes
        // (a `View`, the user a worker runs as) needs them there.
        while with_descendants(&[pid]).len() < 2 && started.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let access_log = prefix.join("access.log");
        Ok(Nginx { port, prefix, config, error_log, access_log, pid, child, _dir: dir })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The line of the config that contains `needle` (1-based), for asserting config lines.
    pub fn line_of(&self, needle: &str) -> u32 {
        let text = std::fs::read_to_string(&self.config).unwrap();
        let index = text
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("`{needle}` is not in the config"));
        u32::try_from(index + 1).unwrap()
    }

    /// `config:line` of the line that contains `needle`.
    pub fn location_of(&self, needle: &str) -> String {
        format!("{}:{}", self.config.display(), self.line_of(needle))
    }

    pub fn error_log_text(&self) -> String {
        std::fs::read_to_string(&self.error_log).unwrap_or_default()
    }

    /// `GET path` over HTTP/1.0; the status code and the body.
    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

fn nginx_config(prefix: &Path, port: u16, http_extra: &str, server_body: &str) -> String {
    let p = prefix.display();
    let user = if is_root() { "user nobody nogroup;\n" } else { "" };
    let body = server_body.replace("{prefix}", &p.to_string());
    let extra = http_extra.replace("{prefix}", &p.to_string());
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\n{user}pid {p}/nginx.pid;\nerror_log {p}/error.log info;\nevents {{\n    worker_connections 64;\n}}\nhttp {{\n    access_log {p}/access.log;\n    client_body_temp_path {p}/tmp/body;\n    proxy_temp_path {p}/tmp/proxy;\n    fastcgi_temp_path {p}/tmp/fastcgi;\n    uwsgi_temp_path {p}/tmp/uwsgi;\n    scgi_temp_path {p}/tmp/scgi;\n{extra}\n    server {{\n        listen 127.0.0.1:{port};\n        server_name localhost;\n{body}\n    }}\n}}\n"
    )
}

fn http_config(prefix: &Path, port: u16, http_body: &str) -> String {
    let p = prefix.display();
    let user = if is_root() { "user nobody nogroup;\n" } else { "" };
    let body = http_body.replace("{prefix}", &p.to_string()).replace("{port}", &port.to_string());
    format!(
        "daemon off;\nmaster_process on;\nworker_processes 1;\n{user}pid {p}/nginx.pid;\nerror_log {p}/error.log info;\nevents {{\n    worker_connections 64;\n}}\nhttp {{\n    client_body_temp_path {p}/tmp/body;\n    proxy_temp_path {p}/tmp/proxy;\n    fastcgi_temp_path {p}/tmp/fastcgi;\n    uwsgi_temp_path {p}/tmp/uwsgi;\n    scgi_temp_path {p}/tmp/scgi;\n{body}\n}}\n"
    )
}

/// Stops a server by its pid: SIGTERM, then SIGKILL after 5 s.
fn stop(child: &mut Child) {
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `GET path` to 127.0.0.1:port; the status and body.
/// A loopback site that answers 502 to every request, for the life of the test process; its
/// URL.
pub fn site_502() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0_u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbad",
            );
        }
    });
    format!("http://127.0.0.1:{port}/checkout")
}

pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A running PHP-FPM master with one static pool on a unix socket.
#[derive(Debug)]
pub struct PhpFpm {
    pub socket: PathBuf,
    pub config: PathBuf,
    pub error_log: PathBuf,
    pub pid: u32,
    child: Child,
    _dir: tempfile::TempDir,
}

impl PhpFpm {
    /// The installed php-fpm binary (`/usr/sbin/php-fpm8.2` on Debian 12).
    pub fn binary() -> Option<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/sbin")
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("php-fpm"))
            })
            .collect();
        found.sort();
        found.pop()
    }

    /// `None` when PHP-FPM is not installed (outside CI).
    pub fn start() -> Option<PhpFpm> {
        PhpFpm::start_with("listen.mode = 0666\n")
    }

    /// As [`PhpFpm::start`], with the pool's `listen.*` lines given (owner, group, mode).
    pub fn start_with(listen: &str) -> Option<PhpFpm> {
        let binary = PhpFpm::binary().unwrap_or_else(|| PathBuf::from("/usr/sbin/php-fpm8.2"));
        let binary = require(&binary, "php-fpm", "real PHP-FPM test")?;
        let dir = open_dir();
        let d = dir.path().display().to_string();
        let socket = dir.path().join("php-fpm.sock");
        let config = dir.path().join("php-fpm.conf");
        let user = if is_root() { "user = nobody\ngroup = nogroup\n" } else { "" };
        let text = format!(
            "[global]\npid = {d}/php-fpm.pid\nerror_log = {d}/php-fpm.log\ndaemonize = no\n[www]\n{user}listen = {d}/php-fpm.sock\n{listen}pm = static\npm.max_children = 2\n"
        );
        std::fs::write(&config, text).unwrap();
        let mut child = Command::new(&binary)
            .args(["-F", "-n", "-y"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while !socket.exists() {
            if let Ok(Some(status)) = child.try_wait() {
                let stderr =
                    std::fs::read_to_string(dir.path().join("stderr.log")).unwrap_or_default();
                panic!("php-fpm exited with {status}: {stderr}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "php-fpm did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = child.id();
        let error_log = dir.path().join("php-fpm.log");
        Some(PhpFpm { socket, config, error_log, pid, child, _dir: dir })
    }
}

impl Drop for PhpFpm {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// What a `triage` run under test may see of this machine: only the given servers' processes
/// (a `/proc` of links to theirs and to the rest of `/proc` that is not a process, with a calm
/// load and memory). Pointed at it (`TRIAGE_PROC_ROOT`), the local checks find the test's
/// servers, read the configs they were started with and the logs those name, and never the
/// machine's own servers, configs, usual logs, package history or journal: on a server where
/// nginx, PHP-FPM or PostgreSQL serve real sites, they stay unread.
#[derive(Debug)]
pub struct View {
    pub proc: PathBuf,
    _dir: tempfile::TempDir,
}

impl View {
    /// A view holding the processes `pids` and their descendants.
    pub fn of(pids: &[u32]) -> View {
        let dir = open_dir();
        let proc = dir.path().join("proc");
        std::fs::create_dir(&proc).unwrap();
        std::fs::set_permissions(&proc, std::fs::Permissions::from_mode(0o755)).unwrap();
        let keep = with_descendants(pids);
        // A calm machine: the load, memory and OOM kills of the host running the tests (busy
        // with other builds, say) must not change what the checks conclude.
        for (file, text) in CALM_PROC {
            std::fs::write(proc.join(file), text).unwrap();
        }
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = entry.file_name();
            let pid = name.to_str().and_then(|n| n.parse::<u32>().ok());
            let calm = CALM_PROC.iter().any(|(file, _)| name.to_str() == Some(file));
            if !calm && name != "pressure" && pid.is_none_or(|p| keep.contains(&p)) {
                let _ = std::os::unix::fs::symlink(entry.path(), proc.join(&name));
            }
        }
        View { proc, _dir: dir }
    }

    /// The machine as the view shows it, for the library's checks.
    pub fn system(&self) -> triage::system::System {
        triage::system::System { proc: self.proc.clone(), root: PathBuf::from("/") }
    }

    /// `command` pointed at this view.
    pub fn apply<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command.env("TRIAGE_PROC_ROOT", &self.proc)
    }
}

/// The host's state as a [`View`] shows it: idle, plenty of memory, no OOM kill.
const CALM_PROC: &[(&str, &str)] = &[
    ("loadavg", "0.05 0.04 0.01 1/180 4242\n"),
    ("uptime", "86400.00 170000.00\n"),
    (
        "meminfo",
        "MemTotal:       24576000 kB\nMemFree:        20000000 kB\nMemAvailable:   21000000 kB\nBuffers:          100000 kB\nCached:          1000000 kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n",
    ),
    ("vmstat", "pgfault 1000\npgmajfault 10\noom_kill 0\n"),
];

/// `pids` and every process below them.
fn with_descendants(pids: &[u32]) -> Vec<u32> {
    let mut keep = pids.to_vec();
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let child = e.file_name().to_str()?.parse::<u32>().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let after = stat.rsplit_once(')')?.1;
            let parent = after.split_whitespace().nth(1)?.parse().ok()?;
            Some((child, parent))
        })
        .collect();
    loop {
        let more: Vec<u32> = parents
            .iter()
            .filter(|(child, parent)| keep.contains(parent) && !keep.contains(child))
            .map(|(child, _)| *child)
            .collect();
        if more.is_empty() {
            return keep;
        }
        keep.extend(more);
    }
}
