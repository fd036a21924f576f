//! Which logs to read: the ones the proxy configs name first (handed in by the caller), then
//! each service's usual logs and the host's (the `logs:` and `host_logs:` globs of
//! assets/stack.yaml). It only lists and stats; it never opens a log. A directory it may not
//! list is reported, with the reason.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::{fs, io};

use super::window::is_rotated;
use crate::knowledge::services;

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
    let table = services::table();
    let usual = table.services.iter().flat_map(|s| &s.logs).chain(&table.host_logs);
    for pattern in usual {
        let (paths, unlisted) = matching(root, pattern);
        found.unlisted.extend(unlisted);
        for path in paths {
            add(&mut found, path);
        }
    }
    found.unlisted.dedup();
    found
}

/// Only the logs the configs name (the machine narrowed to some processes: no usual places).
pub fn discover_named(config_named: &[PathBuf]) -> Found {
    let mut found = Found::default();
    for path in config_named {
        if is_log_file(path) && !found.logs.contains(path) {
            found.logs.push(path.clone());
        }
    }
    found
}

/// The current log files under `root` that `pattern` matches, sorted, and the directories that
/// exist but could not be listed.
fn matching(root: &Path, pattern: &str) -> (Vec<PathBuf>, Vec<(PathBuf, io::ErrorKind)>) {
    let full = under(root, pattern);
    let Ok(paths) = glob::glob(&full.to_string_lossy()) else { return (Vec::new(), Vec::new()) };
    let mut found = Vec::new();
    let mut unlisted = Vec::new();
    for entry in paths {
        match entry {
            Ok(path) if is_log_file(&path) && !is_rotated_name(&path) => found.push(path),
            Ok(_) => {}
            Err(e) => unlisted.push((e.path().to_path_buf(), e.error().kind())),
        }
    }
    found.sort();
    (found, unlisted)
}

/// The logs rsyslog writes from the journal on systemd machines.
pub fn is_journal_copy(path: &Path) -> bool {
    services::table().journal_copies.iter().any(|p| path == Path::new(p))
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
