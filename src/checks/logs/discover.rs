//! Which logs to read: the ones the proxy configs name first (handed in by the caller), then
//! the usual places of nginx, Apache, HAProxy, PHP-FPM, MySQL/MariaDB, PostgreSQL, gunicorn,
//! uWSGI and syslog on Debian, Ubuntu and Red Hat systems. It only lists and stats; it never
//! opens a log. A directory it may not list is reported, with the reason.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::window::is_rotated;

/// Fixed paths of the usual logs.
const USUAL_FILES: &[&str] = &[
    "/var/log/nginx/error.log",
    "/var/log/apache2/error.log",
    "/var/log/httpd/error_log",
    "/var/log/haproxy.log",
    "/var/log/php-fpm/error.log",
    "/var/log/php-fpm/www-error.log",
    "/var/log/mysql/error.log",
    "/var/log/mysqld.log",
    "/var/log/mariadb/mariadb.log",
    "/var/log/syslog",
    "/var/log/messages",
    "/var/log/kern.log",
];

/// Whether a file name in a usual directory is a log to read.
type Wanted = fn(&str) -> bool;

/// Directories whose error logs are found by name (`*error*.log`, `php*-fpm.log`, …).
const USUAL_DIRS: &[(&str, Wanted)] = &[
    ("/var/log/nginx", |n| n.contains("error") && is_dot_log(n)),
    ("/var/log/apache2", |n| n.contains("error") && is_dot_log(n)),
    ("/var/log/httpd", |n| n.contains("error_log") || n.ends_with("error.log")),
    ("/var/log", |n| n.starts_with("php") && n.ends_with("-fpm.log")),
    ("/var/log/postgresql", |n| n.starts_with("postgresql") && is_dot_log(n)),
    ("/var/log/gunicorn", is_dot_log),
    ("/var/log/uwsgi", is_dot_log),
    ("/var/log/uwsgi/app", is_dot_log),
];

fn is_dot_log(name: &str) -> bool {
    Path::new(name).extension().is_some_and(|e| e == "log")
}

/// What discovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// Logs to read (the current file of each; rotated siblings are the reader's business).
    pub logs: Vec<PathBuf>,
    /// Directories that exist but could not be listed, with the error.
    pub unlisted: Vec<(PathBuf, io::ErrorKind)>,
}

/// The logs the configs name, then the usual ones under `root` (`/` on a real system; tests
/// point it at a fixture tree). Missing paths are left out; duplicates are dropped.
pub fn discover(config_named: &[PathBuf], root: &Path) -> Found {
    let mut found = Found::default();
    let mut seen = HashSet::new();
    let mut add = |found: &mut Found, path: PathBuf| {
        let key = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if seen.insert(key) {
            found.logs.push(path);
        }
    };
    for path in config_named {
        if is_log_file(path) {
            add(&mut found, path.clone());
        }
    }
    for file in USUAL_FILES {
        let path = under(root, file);
        if is_log_file(&path) {
            add(&mut found, path);
        }
    }
    for (dir, wanted) in USUAL_DIRS {
        let dir = under(root, dir);
        match fs::read_dir(&dir) {
            Ok(entries) => {
                let mut names: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| e.file_name().to_str().is_some_and(wanted))
                    .map(|e| e.path())
                    .filter(|p| is_log_file(p) && !is_rotated_name(p))
                    .collect();
                names.sort();
                for path in names {
                    add(&mut found, path);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => found.unlisted.push((dir, e.kind())),
        }
    }
    found
}

/// The logs rsyslog writes from the journal on systemd machines.
pub fn is_journal_copy(path: &Path) -> bool {
    ["/var/log/syslog", "/var/log/messages", "/var/log/kern.log"]
        .iter()
        .any(|p| path == Path::new(p))
}

fn under(root: &Path, absolute: &str) -> PathBuf {
    root.join(absolute.trim_start_matches('/'))
}

/// A regular file (following symlinks), or one we may not stat: that one is reported when
/// it is opened.
fn is_log_file(path: &Path) -> bool {
    match fs::metadata(path) {
        Ok(meta) => meta.is_file(),
        Err(e) => e.kind() == io::ErrorKind::PermissionDenied,
    }
}

/// `error.log.1`, `error.log.2.gz`: a rotated file is read through its current one.
fn is_rotated_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else { return false };
    Path::new(name).extension().is_some_and(|e| e == "gz")
        || name.rsplit_once('.').is_some_and(|(base, _)| is_rotated(base, name))
        || name.rsplit_once('-').is_some_and(|(base, _)| is_rotated(base, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syslog_files_are_journal_copies() {
        assert!(is_journal_copy(Path::new("/var/log/syslog")));
        assert!(is_journal_copy(Path::new("/var/log/kern.log")));
        assert!(!is_journal_copy(Path::new("/var/log/nginx/error.log")));
    }

    #[test]
    fn finds_config_named_and_usual_logs_once_each() {
        let root = tempfile::tempdir().unwrap();
        let make = |p: &str| {
            let path = root.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, "x\n").unwrap();
            path
        };
        let custom = make("srv/shop/logs/error.log");
        let nginx = make("var/log/nginx/error.log");
        let vhost = make("var/log/nginx/shop.error.log");
        make("var/log/nginx/error.log.1");
        make("var/log/nginx/error.log.2.gz");
        make("var/log/nginx/access.log");
        let fpm = make("var/log/php8.2-fpm.log");
        let pg = make("var/log/postgresql/postgresql-15-main.log");
        let found =
            discover(&[custom.clone(), nginx.clone(), root.path().join("gone.log")], root.path());
        assert_eq!(found.logs, vec![custom, nginx, vhost, fpm, pg]);
        assert!(found.unlisted.is_empty());
    }
}
