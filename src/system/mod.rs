//! Reading this machine: where the local checks look (the `/proc` tree and the file-system
//! root, the real ones or a fixture tree in tests), bounded reads and bounded commands, the user
//! database (`users`), the running web stack (`stack`: processes, sockets, systemd units) and the
//! configs of its servers (`proxy`: nginx, Apache, HAProxy, PHP-FPM). Shared by the local checks
//! and `triage stack`. It only reads; nothing here writes to the system or waits without a limit.
//!
//! `TRIAGE_ROOT=DIR` makes the checks read `DIR/etc/...`, `DIR/run/...` and `DIR/proc` instead of
//! the real ones; `TRIAGE_PROC_ROOT=DIR` moves `/proc` alone. Both are for tests and for looking
//! at a copy of a server's files; commands (`systemctl`) run only against the real root. A
//! `TRIAGE_PROC_ROOT` that holds only some processes (the tests' own servers) narrows the real
//! machine to them: the machine-wide places (usual logs, journal, package history) are not read.

pub mod proxy;
pub mod stack;
pub mod units;
pub mod users;

use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Opens a file for reading only if it is a regular file: a FIFO, a device or a socket is
/// never read (opening does not block: `O_NONBLOCK`, then `fstat`).
pub fn open_regular(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NONBLOCK.bits();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(i32::try_from(flags).unwrap_or_default())
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    let what = if kind.is_dir() { "a directory" } else { "not a regular file" };
    Err(io::Error::new(io::ErrorKind::InvalidInput, what))
}

/// The family an os-release file names; `None` for others (Alpine, SUSE, Arch).
pub fn family_of(os_release: &str) -> Option<&'static str> {
    let ids: Vec<&str> = os_release
        .lines()
        .filter_map(|l| l.strip_prefix("ID=").or_else(|| l.strip_prefix("ID_LIKE=")))
        .flat_map(|v| v.trim_matches(['"', '\'']).split_whitespace())
        .collect();
    let any = |names: &[&str]| ids.iter().any(|id| names.contains(id));
    if any(&["debian", "ubuntu"]) {
        Some("debian")
    } else if any(&["rhel", "fedora", "centos", "rocky", "almalinux"]) {
        Some("rhel")
    } else {
        None
    }
}

/// The largest file a local check reads whole (configs, /proc files).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The roots the local checks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    /// Where `/proc` is.
    pub proc: PathBuf,
    /// Where `/` is.
    pub root: PathBuf,
}

impl System {
    pub const ROOT_VAR: &'static str = "TRIAGE_ROOT";
    pub const PROC_ROOT_VAR: &'static str = "TRIAGE_PROC_ROOT";

    /// This machine.
    pub fn real() -> System {
        System { proc: PathBuf::from("/proc"), root: PathBuf::from("/") }
    }

    /// A fixture tree: `root/proc`, `root/etc`, …
    pub fn fixture(root: &Path) -> System {
        System { proc: root.join("proc"), root: root.to_owned() }
    }

    /// The real machine, or the roots named by `TRIAGE_ROOT` and `TRIAGE_PROC_ROOT`.
    pub fn from_env() -> System {
        let mut system = match std::env::var_os(Self::ROOT_VAR) {
            Some(root) if !root.is_empty() => System::fixture(Path::new(&root)),
            _ => System::real(),
        };
        if let Some(proc) = std::env::var_os(Self::PROC_ROOT_VAR).filter(|p| !p.is_empty()) {
            system.proc = PathBuf::from(proc);
        }
        system
    }

    /// Whether this is the machine itself, so commands such as `systemctl` describe it.
    pub fn is_real_root(&self) -> bool {
        self.root == Path::new("/")
    }

    /// Whether the places that belong to the whole machine (the usual log directories, the
    /// journal, package history, config directories) are part of what the checks look at.
    /// Not when `TRIAGE_PROC_ROOT` narrows the real machine to some of its processes: then
    /// only what those processes' configs name is read.
    pub fn machine_wide(&self) -> bool {
        !self.is_real_root() || self.proc == Path::new("/proc")
    }

    /// An absolute path of the machine, under this root. `..` cannot climb out of the root.
    pub fn path(&self, path: &Path) -> PathBuf {
        if self.is_real_root() {
            return path.to_owned();
        }
        let resolved = lexical(path);
        self.root.join(resolved.strip_prefix("/").unwrap_or(&resolved))
    }

    /// A path under `/proc`, such as `net/tcp` or `1234/status`.
    pub fn proc_path(&self, relative: &str) -> PathBuf {
        self.proc.join(relative)
    }

    /// Reads a file of the machine (under the root), at most [`MAX_FILE_BYTES`], lossily as text.
    pub fn read(&self, path: &Path) -> io::Result<String> {
        read_text(&self.path(path))
    }

    /// Reads a `/proc` file, at most [`MAX_FILE_BYTES`].
    /// The Linux family from `/etc/os-release` (`ID` and `ID_LIKE`): `debian` for Debian,
    /// Ubuntu and their derivatives, `rhel` for RHEL, Alma, Rocky, CentOS and Fedora.
    pub fn family(&self) -> Option<&'static str> {
        let text = self.read(Path::new("/etc/os-release")).ok()?;
        family_of(&text)
    }

    pub fn read_proc(&self, relative: &str) -> io::Result<String> {
        read_text(&self.proc_path(relative))
    }

    /// Expands a glob of machine paths; the results are machine paths (not under the root). At
    /// most [`MAX_GLOB_ENTRIES`] paths are looked at, for at most [`MAX_GLOB_TIME`].
    pub fn glob(&self, pattern: &str) -> Vec<PathBuf> {
        self.glob_checked(pattern).0
    }

    /// [`System::glob`], with the directories it could not read (machine path, reason).
    pub fn glob_checked(&self, pattern: &str) -> (Vec<PathBuf>, Vec<(PathBuf, String)>) {
        if !self.is_real_root() && climbs(pattern) {
            let why = "a part of the pattern matches `..`, which would leave the root".to_owned();
            return (Vec::new(), vec![(PathBuf::from(pattern), why)]);
        }
        let rooted = self.path(Path::new(pattern));
        let Ok(paths) = glob::glob(&rooted.to_string_lossy()) else {
            return (Vec::new(), Vec::new());
        };
        let mut found = Vec::new();
        let mut errors = Vec::new();
        let started = std::time::Instant::now();
        for (n, entry) in paths.enumerate() {
            // `include=/**` walks the whole tree: a pattern gets a budget, like any expansion.
            if n >= MAX_GLOB_ENTRIES || started.elapsed() > MAX_GLOB_TIME {
                let why = format!("stopped after {n} entries: the pattern matches too much");
                errors.push((PathBuf::from(pattern), why));
                break;
            }
            match entry {
                Ok(p) => found.extend(self.unroot(&p)),
                Err(e) => {
                    let reason = io_reason(e.error());
                    errors.extend(self.unroot(e.path()).map(|p| (p, reason)));
                }
            }
        }
        found.sort();
        (found, errors)
    }

    /// The machine path of a path under the root.
    fn unroot(&self, path: &Path) -> Option<PathBuf> {
        if self.is_real_root() {
            return Some(path.to_owned());
        }
        path.strip_prefix(&self.root).ok().map(|p| Path::new("/").join(p))
    }
}

/// `path` with `.` gone and each `..` taking the part before it (`/..` is `/`, as the kernel
/// has it): how a fixture root keeps `..` inside it, and how an include cycle written as
/// `include /../etc/x.conf` inside `/etc/x.conf` is seen for what it is.
pub fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Whether a wildcard part of a glob can match `..` (`.*`, `.?`): the glob crate, like libc's
/// glob(3), then walks into the parent directory. On the real root that is the machine's own
/// tree, within the glob's budget; under a fixture root it would read outside the root, which
/// the literal `..` of [`System::path`] never does.
fn climbs(pattern: &str) -> bool {
    pattern.split('/').any(|part| {
        part.starts_with('.')
            && part.contains(['*', '?', '['])
            && glob::Pattern::new(part).is_ok_and(|p| p.matches(".."))
    })
}

/// How many paths one glob may go through, and for how long.
pub const MAX_GLOB_ENTRIES: usize = 2000;
pub const MAX_GLOB_TIME: std::time::Duration = std::time::Duration::from_millis(500);

/// Reads at most [`MAX_FILE_BYTES`] of a file as text (invalid UTF-8 replaced).
pub fn read_text(path: &Path) -> io::Result<String> {
    let mut bytes = Vec::new();
    crate::file::open_regular(path)?.take(MAX_FILE_BYTES).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A short reason for a failed read: "permission denied", "not found".
pub fn io_reason(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::NotFound => "not found".to_owned(),
        _ => error.to_string(),
    }
}

/// Runs a read-only command with a time limit and an output limit; its stdout, or why not.
pub fn run_bounded(
    program: &str,
    args: &[&str],
    limit: Duration,
    max_bytes: u64,
) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("could not run {program}: {}", io_reason(&e)))?;
    let stdout = child.stdout.take();
    // The reader drains the pipe so a chatty command cannot block on a full pipe.
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        if let Some(pipe) = stdout {
            let _ = pipe.take(max_bytes).read_to_end(&mut out);
        }
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{program} did not finish within {} s", limit.as_secs()));
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() && out.is_empty() {
        return Err(format!("{program} failed ({status})"));
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The effective user id of this process, for "run with sudo" advice.
pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_paths_stay_under_the_root() {
        let s = System::fixture(Path::new("/tmp/fx"));
        assert_eq!(
            s.path(Path::new("/etc/nginx/nginx.conf")),
            Path::new("/tmp/fx/etc/nginx/nginx.conf")
        );
        assert_eq!(s.path(Path::new("/../../etc/passwd")), Path::new("/tmp/fx/etc/passwd"));
        assert_eq!(System::real().path(Path::new("/etc/x")), Path::new("/etc/x"));
    }

    #[test]
    fn fixture_globs_never_climb_out_of_the_root() {
        let root = tempfile::tempdir().unwrap();
        let s = System::fixture(root.path());
        std::fs::create_dir_all(root.path().join("etc/php/conf.d")).unwrap();
        std::fs::write(root.path().join("etc/php/conf.d/www.conf"), "").unwrap();
        for pattern in ["/etc/php/.*/**", "/.*/.*/*", "/etc/.?/passwd", "/etc/.[.]/x"] {
            let (found, errors) = s.glob_checked(pattern);
            assert!(found.is_empty(), "{pattern}: {found:?}");
            assert!(errors[0].1.contains("would leave the root"), "{pattern}: {errors:?}");
        }
        let (found, errors) = s.glob_checked("/etc/php/../php/*/*.conf");
        assert_eq!(found, [Path::new("/etc/php/conf.d/www.conf")], "{errors:?}");
        assert!(!climbs("/etc/.hidden*/x") && climbs("/etc/.*"));
    }

    #[test]
    fn os_release_names_the_family() {
        assert_eq!(family_of("ID=ubuntu\nID_LIKE=debian\n"), Some("debian"));
        assert_eq!(family_of("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n"), Some("rhel"));
        assert_eq!(family_of("ID=debian\n"), Some("debian"));
        assert_eq!(family_of("ID=alpine\n"), None);
    }

    #[test]
    fn bounded_commands_stop_at_their_limit() {
        let err = run_bounded("sleep", &["5"], Duration::from_millis(100), 1024).unwrap_err();
        assert!(err.contains("did not finish"), "{err}");
        assert_eq!(run_bounded("echo", &["hi"], Duration::from_secs(5), 1024).unwrap(), "hi\n");
        assert!(run_bounded("/nonexistent/tool", &[], Duration::from_secs(1), 1).is_err());
    }
}
