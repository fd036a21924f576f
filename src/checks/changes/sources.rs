//! Where recent changes are read from: dpkg's and apt's logs (rotated too), modification times
//! under the web server's, PHP's and the app's directories (a bounded walk), service starts
//! (the journal where it is readable, else process start times in `/proc`), and the site's git
//! reflog (read from `.git` directly; git itself is never run). Everything here only reads.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::checks::logs::time::{Clock, line_time};
use crate::checks::logs::window::{is_rotated, modified};
use crate::contract::evidence::changes::Change;
use crate::knowledge::services;
use crate::{redact, sanitize};

/// Directories never walked into: history, dependencies and caches change without a deploy.
const SKIP_DIRS: &[&str] =
    &[".git", "node_modules", "cache", ".cache", "sessions", "tmp", "logs", "log"];
/// Entries a walk visits in all, and how deep it goes.
pub const MAX_ENTRIES: usize = 50_000;
const MAX_DEPTH: usize = 8;
/// Rotated package logs read.
const MAX_ROTATED: usize = 4;
/// The most bytes read of one package log (decompressed).
const MAX_LOG_BYTES: u64 = 64 << 20;

/// A source that exists but could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    pub path: PathBuf,
    pub error: io::ErrorKind,
}

/// What one run collects.
#[derive(Debug, Default)]
pub struct Found {
    pub changes: Vec<Change>,
    pub unread: Vec<Unread>,
    pub notes: Vec<String>,
}

fn under(root: &Path, absolute: &str) -> PathBuf {
    root.join(absolute.trim_start_matches('/'))
}

/// Lines of a log and its rotated siblings (`.1`, `.2.gz`), oldest first, bounded.
fn log_lines(path: &Path, found: &mut Found) -> Vec<String> {
    let mut files: Vec<PathBuf> = Vec::new();
    let base = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if let Some(Ok(entries)) = path.parent().map(fs::read_dir) {
        let mut rotated: Vec<PathBuf> = entries
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(|n| is_rotated(base, n)))
            .map(|e| e.path())
            .collect();
        rotated.sort_by_key(|p| std::cmp::Reverse(fs::metadata(p).map_or(0, |m| modified(&m))));
        files.extend(rotated.into_iter().take(MAX_ROTATED).rev());
    }
    files.push(path.to_path_buf());
    let mut lines = Vec::new();
    for file in files {
        match open_text(&file) {
            Ok(reader) => lines.extend(BufReader::new(reader).lines().map_while(Result::ok)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => found.unread.push(Unread { path: file, error: e.kind() }),
        }
    }
    lines
}

fn open_text(path: &Path) -> io::Result<Box<dyn Read>> {
    let file = crate::file::open_regular(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(MultiGzDecoder::new(file).take(MAX_LOG_BYTES)))
    } else {
        Ok(Box::new(file.take(MAX_LOG_BYTES)))
    }
}

/// apt runs (one change each, with the command line) and dpkg actions apt did not make.
pub fn packages(root: &Path, since: i64, clock: &Clock, found: &mut Found) {
    let runs = apt_runs(&under(root, "/var/log/apt/history.log"), since, clock, found);
    for (start, _, what) in &runs {
        found.changes.push(Change::new(*start, "package", what.clone()));
    }
    let covered = |t: i64| runs.iter().any(|(s, e, _)| (*s..=*e).contains(&t));
    for line in log_lines(&under(root, "/var/log/dpkg.log"), found) {
        let Some(t) = line_time(line.as_bytes(), clock).filter(|&t| t >= since && !covered(t))
        else {
            continue;
        };
        let mut words = line.split_whitespace().skip(2);
        let (Some(action), Some(package)) = (words.next(), words.next()) else { continue };
        if !matches!(action, "install" | "upgrade" | "remove" | "purge") {
            continue;
        }
        let versions: Vec<&str> = words.filter(|v| *v != "<none>").collect();
        let package = package.split(':').next().unwrap_or(package);
        let what = match versions.as_slice() {
            [from, to] => format!("dpkg {action} {package} {from} → {to}"),
            [version] => format!("dpkg {action} {package} {version}"),
            _ => format!("dpkg {action} {package}"),
        };
        found.changes.push(Change::new(t, "package", sanitize::line(&what).into_owned()));
    }
}

/// `Start-Date:` … `Commandline:` … `Upgrade:`/`Install:`/`Remove:` … `End-Date:` blocks.
fn apt_runs(path: &Path, since: i64, clock: &Clock, found: &mut Found) -> Vec<(i64, i64, String)> {
    let mut runs = Vec::new();
    let mut current: Option<(i64, String, usize)> = None;
    for line in log_lines(path, found) {
        if let Some(date) = line.strip_prefix("Start-Date: ") {
            current = line_time(date.as_bytes(), clock).map(|t| (t, String::new(), 0));
        } else if let Some(command) = line.strip_prefix("Commandline: ") {
            if let Some((_, c, _)) = current.as_mut() {
                *c = command.chars().take(120).collect();
            }
        } else if let Some((_, list)) = line
            .split_once(": ")
            .filter(|(k, _)| matches!(*k, "Install" | "Upgrade" | "Remove" | "Purge" | "Downgrade"))
        {
            if let Some((_, _, n)) = current.as_mut() {
                *n += list.matches("), ").count() + 1;
            }
        } else if let Some(date) = line.strip_prefix("End-Date: ") {
            let end = line_time(date.as_bytes(), clock);
            if let (Some((start, command, n)), Some(end)) = (current.take(), end)
                && end >= since
            {
                let command = if command.is_empty() { "apt".to_owned() } else { command };
                let what = format!("{command} ({n} packages)");
                let what = redact::text(&sanitize::line(&what)).into_owned();
                runs.push((start, end, what));
            }
        }
    }
    runs
}

/// Files under the config directories and the site root modified since `since`.
pub fn config_files(root: &Path, site_root: Option<&Path>, since: i64, found: &mut Found) {
    let mut budget = MAX_ENTRIES;
    for dir in services::table().config_dirs() {
        walk(&under(root, dir), since, "config", 0, &mut budget, found);
    }
    if let Some(site) = site_root {
        walk(site, since, "file", 0, &mut budget, found);
    }
    if budget == 0 {
        found.notes.push(format!("stopped listing files after {MAX_ENTRIES} entries"));
    }
}

fn walk(
    dir: &Path,
    since: i64,
    kind: &'static str,
    depth: usize,
    budget: &mut usize,
    found: &mut Found,
) {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => return found.unread.push(Unread { path: dir.to_path_buf(), error: e.kind() }),
    };
    for entry in entries.flatten() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        // symlink_metadata: links are listed, never followed, so a loop cannot trap the walk.
        let Ok(meta) = entry.path().symlink_metadata() else { continue };
        let name = entry.file_name();
        if meta.is_dir() {
            let skip = name.to_str().is_some_and(|n| SKIP_DIRS.contains(&n));
            if !skip && depth < MAX_DEPTH {
                walk(&entry.path(), since, kind, depth + 1, budget, found);
            }
        } else if modified(&meta) >= since {
            let what = sanitize::line(&entry.path().display().to_string()).into_owned();
            found.changes.push(Change::new(modified(&meta), kind, what));
        }
    }
}

/// Service processes that started since `since`, from `/proc` (the start time of each
/// service's main process; workers started with it are left out).
pub fn process_starts(proc_root: &Path, since: i64, found: &mut Found) {
    let Some(boot) = boot_time(proc_root) else { return };
    let Ok(entries) = fs::read_dir(proc_root) else { return };
    let mut procs: HashMap<u32, (String, u32, i64)> = HashMap::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if let Some((comm, ppid, ticks)) = stat(&entry.path().join("stat")) {
            // USER_HZ: /proc reports start times in 1/100 s on every Linux architecture.
            procs.insert(pid, (comm, ppid, boot + ticks / 100));
        }
    }
    for (pid, (comm, ppid, started)) in &procs {
        let parent_same = procs.get(ppid).is_some_and(|(c, _, _)| c == comm);
        if started >= &since && !parent_same && is_service(comm) {
            let what = sanitize::line(&format!("{comm} started (pid {pid})")).into_owned();
            found.changes.push(Change::new(*started, "restart", what));
        }
    }
}

fn boot_time(proc_root: &Path) -> Option<i64> {
    let text = fs::read_to_string(proc_root.join("stat")).ok()?;
    text.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

/// `pid (comm) state ppid … starttime` — comm may hold spaces and parentheses.
fn stat(path: &Path) -> Option<(String, u32, i64)> {
    let text = fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // After the comm: state (0), ppid (1), …, starttime is field 22 of the line, index 19 here.
    Some((comm, rest.get(1)?.parse().ok()?, rest.get(19)?.parse().ok()?))
}

/// Process names of the web stack's services (assets/stack.yaml).
pub fn is_service(comm: &str) -> bool {
    services::table().by_name(comm).is_some()
}

/// systemd's `Started`/`Stopped`/`Reloaded` lines for services, from journal output.
pub fn journal_restarts(output: &[u8], since: i64, clock: &Clock, found: &mut Found) {
    const PERIODIC: &[&str] = &[
        "systemd-",
        "apt-",
        "man-db",
        "logrotate",
        "e2scrub",
        "fstrim",
        "session-",
        "user@",
        "user-runtime-dir@",
        "dpkg-db-backup",
        "phpsessionclean",
        "certbot",
        "motd-news",
        "sysstat",
    ];
    for line in output.split(|&b| b == b'\n') {
        let Some(t) = line_time(line, clock).filter(|&t| t >= since) else { continue };
        let text = String::from_utf8_lossy(line);
        let Some((_, message)) = text.split_once("systemd[1]: ") else { continue };
        let Some((verb, unit)) = ["Started ", "Stopped ", "Reloaded "]
            .iter()
            .find_map(|v| message.strip_prefix(v).map(|u| (v.trim(), u)))
        else {
            continue;
        };
        let unit = unit.split(" - ").next().unwrap_or(unit).trim_end_matches('.');
        if !unit.ends_with(".service") || PERIODIC.iter().any(|p| unit.starts_with(p)) {
            continue;
        }
        let what = sanitize::line(&format!("{} {unit}", verb.to_lowercase())).into_owned();
        found.changes.push(Change::new(t, "restart", what));
    }
}

/// HEAD's reflog in the site's `.git`: pulls, checkouts, resets and commits, with their times.
pub fn deploys(site_root: &Path, since: i64, found: &mut Found) {
    let git = site_root.join(".git");
    if !git.is_dir() {
        return;
    }
    let reflog = git.join("logs").join("HEAD");
    let text = match crate::file::open_regular(&reflog) {
        Ok(file) => {
            let len = file.metadata().map_or(0, |m| m.len());
            let mut tail = Vec::new();
            let mut reader = io::BufReader::new(file);
            let skip = len.saturating_sub(1 << 20);
            let _ = io::copy(&mut (&mut reader).take(skip), &mut io::sink());
            let _ = reader.take(1 << 20).read_to_end(&mut tail);
            String::from_utf8_lossy(&tail).into_owned()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return found
                .notes
                .push(format!("{} is a git checkout without a reflog", site_root.display()));
        }
        Err(e) => return found.unread.push(Unread { path: reflog, error: e.kind() }),
    };
    for line in text.lines() {
        if let Some((t, what)) = reflog_entry(line).filter(|(t, _)| *t >= since) {
            found.changes.push(Change::new(t, "deploy", what));
        }
    }
}

/// `<old> <new> Name <email> <unix> <tz>\t<message>` → the time and `message (new sha)`. The
/// name and e-mail address are left out.
pub fn reflog_entry(line: &str) -> Option<(i64, String)> {
    let (head, message) = line.split_once('\t')?;
    let mut words = head.split_whitespace();
    let _old = words.next()?;
    let new = words.next()?;
    let rest: Vec<&str> = words.collect();
    let time: i64 = rest.get(rest.len().checked_sub(2)?)?.parse().ok()?;
    let sha = new.get(..7)?;
    let message: String = message.chars().take(120).collect();
    let message = redact::text(&sanitize::line(&message)).into_owned();
    Some((time, format!("{message} ({sha})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflog_entries_keep_the_message_and_drop_the_author() {
        let line = "1111111111111111111111111111111111111111 2222222aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa Deploy Bot <deploy@example.com> 1796110222 +0000\tpull: Fast-forward";
        assert_eq!(
            reflog_entry(line),
            Some((1_796_110_222, "pull: Fast-forward (2222222)".to_owned()))
        );
        assert_eq!(reflog_entry("garbage"), None);
        let leaky = line.replace("pull: Fast-forward", "deploy with token=abc123secret");
        assert!(!reflog_entry(&leaky).unwrap().1.contains("abc123secret"));
    }

    #[test]
    fn systemd_starts_and_stops_of_services_are_restarts() {
        let journal = b"2026-12-01T07:00:00+00:00 web1 systemd[1]: Stopped php8.2-fpm.service - The PHP 8.2 FastCGI Process Manager.\n\
2026-12-01T07:00:01+00:00 web1 systemd[1]: Started php8.2-fpm.service - The PHP 8.2 FastCGI Process Manager.\n\
2026-12-01T07:10:00+00:00 web1 systemd[1]: Started apt-daily.service - Daily apt download activities.\n\
2026-12-01T07:11:00+00:00 web1 systemd[1]: Started session-4.scope - Session 4 of User root.\n\
2026-11-30T07:00:00+00:00 web1 systemd[1]: Started nginx.service - nginx.\n";
        let clock = Clock::new(1_796_110_222, jiff::tz::TimeZone::UTC);
        let mut found = Found::default();
        journal_restarts(journal, 1_796_110_222 - 3600, &clock, &mut found);
        let got: Vec<&str> = found.changes.iter().map(|c| c.what.as_str()).collect();
        assert_eq!(got, vec!["stopped php8.2-fpm.service", "started php8.2-fpm.service"]);
    }

    #[test]
    fn proc_stat_lines_with_odd_names_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        fs::write(&path, "1234 (php-fpm: pool (www)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n").unwrap();
        assert_eq!(stat(&path), Some(("php-fpm: pool (www)".to_owned(), 1, 98765)));
        assert!(is_service("php-fpm8.2") && is_service("nginx") && !is_service("bash"));
    }
}
