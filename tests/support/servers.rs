//! More real servers for tests, each Debian's package started in its own temporary directory on a
//! free loopback port with its own config, logs and state, and stopped by pid when dropped:
//! Varnish, Caddy, HAProxy, a PHP-FPM pool with its own settings and scripts, and PostgreSQL. A
//! missing package skips loudly (a failure under `CI=true`), as `require` does.

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, is_root, open_dir, require, stop};

/// A started daemon: its process, stopped by pid on drop, and its directory.
#[derive(Debug)]
pub struct Daemon {
    pub pid: u32,
    pub dir: PathBuf,
    child: Child,
    _temp: tempfile::TempDir,
}

impl Daemon {
    /// Spawns `command` (its output to `DIR/stdout.log` unless already redirected) and waits
    /// until `ready` says so, or fails the test with what the daemon printed.
    fn start(
        command: Command,
        temp: tempfile::TempDir,
        what: &str,
        ready: &dyn Fn() -> bool,
    ) -> Daemon {
        let dir = temp.path().to_owned();
        let child = spawn_ready(command, &dir, what, ready);
        Daemon { pid: child.id(), dir, child, _temp: temp }
    }

    /// Starts it again after [`Daemon::stop`], in the same directory.
    fn restart(&mut self, command: Command, what: &str, ready: &dyn Fn() -> bool) {
        stop(&mut self.child);
        self.child = spawn_ready(command, &self.dir, what, ready);
        self.pid = self.child.id();
    }

    /// Stops it now (the test goes on without it).
    pub fn stop(&mut self) {
        stop(&mut self.child);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Spawns `command` (its stderr to `DIR/stderr.log`) and waits until `ready` says so, or fails
/// the test with what the daemon printed.
fn spawn_ready(mut command: Command, dir: &Path, what: &str, ready: &dyn Fn() -> bool) -> Child {
    let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
    let mut child = command
        .stdin(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let started = Instant::now();
    while !ready() {
        let said = || std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited with {status}: {}", said());
        }
        if started.elapsed() > Duration::from_secs(30) {
            stop(&mut child);
            panic!("{what} was not ready within 30 s: {}", said());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn listening(port: u16) -> impl Fn() -> bool {
    move || TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The line of `file` that contains `needle`, 1-based.
pub fn line_in(file: &Path, needle: &str) -> u32 {
    let text = std::fs::read_to_string(file).unwrap();
    let i = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` not in {}", file.display()));
    u32::try_from(i + 1).unwrap()
}

/// `file:line` of the line of `file` that contains `needle`.
pub fn location(file: &Path, needle: &str) -> String {
    format!("{}:{}", file.display(), line_in(file, needle))
}

/// varnishd on 127.0.0.1 with a VCL of its own (`vcl 4.1;` is added), its shared-memory log in
/// its own work directory (read it with `varnishlog -n`).
#[derive(Debug)]
pub struct Varnish {
    pub port: u16,
    pub vcl: PathBuf,
    pub workdir: PathBuf,
    pub daemon: Daemon,
}

impl Varnish {
    pub fn start(vcl_body: &str) -> Option<Varnish> {
        let binary = require(Path::new("/usr/sbin/varnishd"), "varnish", "real Varnish test")?;
        let temp = open_dir();
        let vcl = temp.path().join("default.vcl");
        std::fs::write(&vcl, format!("vcl 4.1;\n{vcl_body}")).unwrap();
        let workdir = temp.path().join("work");
        let port = free_port();
        let mut command = Command::new(binary);
        command
            .args(["-F", "-a", &format!("127.0.0.1:{port}"), "-T", "none", "-S", "none", "-f"])
            .arg(&vcl)
            .arg("-n")
            .arg(&workdir)
            .args(["-s", "malloc,16m", "-j", "none"])
            .stdout(Stdio::null());
        let daemon = Daemon::start(command, temp, "varnishd", &listening(port));
        Some(Varnish { port, vcl, workdir, daemon })
    }
}

/// Caddy on a free port with one `http://:PORT` site (any host) whose body is given, its default
/// (error) logger writing JSON to `caddy.log`, no admin endpoint, and its state in its directory.
#[derive(Debug)]
pub struct Caddy {
    pub port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
    pub daemon: Daemon,
}

impl Caddy {
    pub fn start(site_body: &str) -> Option<Caddy> {
        let binary = require(Path::new("/usr/bin/caddy"), "caddy", "real Caddy test")?;
        let temp = open_dir();
        let d = temp.path().to_owned();
        let port = free_port();
        let log = d.join("caddy.log");
        let config = d.join("Caddyfile");
        let body = site_body.replace("{dir}", &d.display().to_string());
        let text = format!(
            "{{\n\tadmin off\n\tauto_https off\n\tlog {{\n\t\toutput file {}\n\t\tformat json\n\t}}\n}}\nhttp://:{port} {{\n{body}\n}}\n",
            log.display()
        );
        std::fs::write(&config, text).unwrap();
        let mut command = Command::new(binary);
        command
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&config)
            .env("HOME", &d)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .stdout(Stdio::null());
        let daemon = Daemon::start(command, temp, "caddy", &listening(port));
        Some(Caddy { port, config, log, daemon })
    }
}

/// HAProxy on 127.0.0.1 (`{port}` in the config body is its frontend's port), logging in
/// syslog's format (`log stdout format rfc3164`) to `haproxy.log`, as rsyslog would keep it.
#[derive(Debug)]
pub struct Haproxy {
    pub port: u16,
    pub config: PathBuf,
    pub log: PathBuf,
    pub daemon: Daemon,
}

impl Haproxy {
    pub fn start(body: &str) -> Option<Haproxy> {
        let binary = require(Path::new("/usr/sbin/haproxy"), "haproxy", "real HAProxy test")?;
        let temp = open_dir();
        let port = free_port();
        let config = temp.path().join("haproxy.cfg");
        let text = format!(
            "global\n    log stdout format rfc3164 local0\n    pidfile {}\ndefaults\n    mode http\n    log global\n    option httplog\n{}\n",
            temp.path().join("haproxy.pid").display(),
            body.replace("{port}", &port.to_string())
        );
        std::fs::write(&config, text).unwrap();
        let log = temp.path().join("haproxy.log");
        let mut command = Command::new(binary);
        command.arg("-f").arg(&config).arg("-db").stdout(std::fs::File::create(&log).unwrap());
        let daemon = Daemon::start(command, temp, "haproxy", &listening(port));
        Some(Haproxy { port, config, log, daemon })
    }
}

/// A PHP-FPM master with one pool `app` on a unix socket: the pool's own lines, PHP scripts in
/// `www/`, PHP's error log `php-error.log` (the pool's `php_admin_value[error_log]`) and the
/// FPM log `php-fpm.log`. PHP runs without php.ini (`-n`), with the extensions named.
#[derive(Debug)]
pub struct FpmPool {
    pub socket: PathBuf,
    pub config: PathBuf,
    pub fpm_log: PathBuf,
    pub php_log: PathBuf,
    pub www: PathBuf,
    pub daemon: Daemon,
}

impl FpmPool {
    pub fn start(
        pool_lines: &str,
        scripts: &[(&str, &str)],
        extensions: &[&str],
    ) -> Option<FpmPool> {
        let binary =
            super::PhpFpm::binary().unwrap_or_else(|| PathBuf::from("/usr/sbin/php-fpm8.2"));
        let binary = require(&binary, "php-fpm", "real PHP-FPM test")?;
        for ext in extensions {
            let found = std::fs::read_dir("/usr/lib/php")
                .ok()?
                .flatten()
                .any(|d| d.path().join(format!("{ext}.so")).is_file());
            if !found {
                require(
                    Path::new(&format!("/usr/lib/php/<api>/{ext}.so")),
                    &format!("php-{ext}"),
                    "real PHP-FPM test",
                )?;
            }
        }
        let temp = open_dir();
        let d = temp.path().to_owned();
        let www = d.join("www");
        std::fs::create_dir(&www).unwrap();
        std::fs::set_permissions(&www, std::fs::Permissions::from_mode(0o755)).unwrap();
        for (name, text) in scripts {
            std::fs::write(www.join(name), text).unwrap();
        }
        let php_log = d.join("php-error.log");
        std::fs::write(&php_log, "").unwrap();
        std::fs::set_permissions(&php_log, std::fs::Permissions::from_mode(0o666)).unwrap();
        let socket = d.join("app.sock");
        let config = d.join("php-fpm.conf");
        let user = if is_root() { "user = nobody\ngroup = nogroup\n" } else { "" };
        let text = format!(
            "[global]\npid = {p}/php-fpm.pid\nerror_log = {p}/php-fpm.log\ndaemonize = no\n\n[app]\n{user}listen = {sock}\nlisten.mode = 0666\npm = static\npm.max_children = 2\nphp_admin_value[error_log] = {log}\nphp_admin_flag[log_errors] = on\nphp_admin_flag[display_errors] = off\n{pool_lines}\n",
            p = d.display(),
            sock = socket.display(),
            log = php_log.display(),
        );
        std::fs::write(&config, text).unwrap();
        let mut command = Command::new(binary);
        command.args(["-F", "-n"]);
        for ext in extensions {
            command.arg("-d").arg(format!("extension={ext}"));
        }
        command.arg("-y").arg(&config).stdout(Stdio::null());
        let sock = socket.clone();
        let ready = move || std::os::unix::net::UnixStream::connect(&sock).is_ok();
        let daemon = Daemon::start(command, temp, "php-fpm", &ready);
        let fpm_log = d.join("php-fpm.log");
        Some(FpmPool { socket, config, fpm_log, php_log, www, daemon })
    }

    /// An nginx `location` that passes PHP to this pool, without reading /etc/nginx.
    pub fn nginx_location(&self) -> String {
        format!(
            "        location ~ \\.php$ {{\n            fastcgi_param SCRIPT_FILENAME {}$fastcgi_script_name;\n            fastcgi_param REQUEST_METHOD $request_method;\n            fastcgi_param QUERY_STRING $query_string;\n            fastcgi_pass unix:{};\n        }}",
            self.www.display(),
            self.socket.display()
        )
    }
}

/// A PostgreSQL cluster (Debian's postgresql) in a temporary directory, trusting local users,
/// on a free port and its own socket directory; run as `postgres` when the tests run as root.
/// It can be stopped and started again on the same port (an incident and its repair).
#[derive(Debug)]
pub struct Postgres {
    pub port: u16,
    pub daemon: Daemon,
    bin: PathBuf,
    user: Option<(u32, u32)>,
}

impl Postgres {
    pub fn start() -> Option<Postgres> {
        let bin = postgres_bin().or_else(|| {
            require(
                Path::new("/usr/lib/postgresql/<version>/bin/postgres"),
                "postgresql",
                "real PostgreSQL test",
            );
            None
        })?;
        let temp = open_dir();
        std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let user = if is_root() { postgres_user() } else { None };
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.arg("-D").arg(temp.path().join("data")).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ]);
        let status = as_user(&mut initdb, user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        let port = free_port();
        let command = postgres_command(&bin, temp.path(), port, user);
        let daemon = Daemon::start(command, temp, "postgres", &pg_ready(&bin, port));
        Some(Postgres { port, daemon, bin, user })
    }

    /// Stops it (the test goes on without it), as an incident would.
    pub fn stop(&mut self) {
        self.daemon.stop();
    }

    /// Starts the stopped server again, on the same port and data, and waits until it answers.
    pub fn start_again(&mut self) {
        let command = postgres_command(&self.bin, &self.daemon.dir, self.port, self.user);
        self.daemon.restart(command, "postgres", &pg_ready(&self.bin, self.port));
    }
}

/// `postgres -D DIR/data -p PORT` listening on loopback, its socket in `dir`.
fn postgres_command(bin: &Path, dir: &Path, port: u16, user: Option<(u32, u32)>) -> Command {
    let mut command = Command::new(bin.join("postgres"));
    command
        .arg("-D")
        .arg(dir.join("data"))
        .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-k"])
        .arg(dir)
        .stdout(Stdio::null());
    as_user(&mut command, user);
    command
}

/// Listening is not ready: until its start-up ends, PostgreSQL answers "the database system is
/// starting up". pg_isready asks the way a client would.
fn pg_ready(bin: &Path, port: u16) -> impl Fn() -> bool {
    let isready = bin.join("pg_isready");
    move || {
        Command::new(&isready)
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|s| s.success())
    }
}

fn postgres_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .collect();
    dirs.sort();
    dirs.into_iter().rev().find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
}

/// The uid and gid of the `postgres` user.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|l| l.starts_with("postgres:"))?;
    let fields: Vec<&str> = line.split(':').collect();
    Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?))
}

fn as_user(command: &mut Command, user: Option<(u32, u32)>) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}
