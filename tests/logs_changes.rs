//! The `recent_changes` check on a fixture machine: dpkg and apt logs (rotated too), config
//! files by modification time, service starts from a `/proc` tree, and deploys from a real git
//! checkout's reflog — newest first, only the window, and only declared facts.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::{self, File};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use triage::checks::changes::{self, Search};
use triage::checks::logs::time::Clock;
use triage::checks::registry;
use triage::contract::evidence::changes::ChangesEvidence;
use triage::contract::{CheckReport, Evidence};
use triage::facts::FactValue;

/// "Now" for the fixture: 2026-12-01 07:30:22 UTC.
const NOW: i64 = 1_796_110_222;

fn write(root: &Path, path: &str, text: &str, mtime: i64) {
    let path = root.join(path.trim_start_matches('/'));
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(UNIX_EPOCH + Duration::from_secs(mtime as u64))
        .unwrap();
}

fn evidence(report: &CheckReport) -> &ChangesEvidence {
    let Evidence::Changes(e) = &report.evidence else { panic!("{report:?}") };
    e
}

fn machine() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(
        r,
        "/var/log/dpkg.log.1",
        "2026-11-20 10:00:00 upgrade libc6:amd64 2.36-9 2.36-9+deb12u1\n",
        NOW - 10 * 86_400,
    );
    write(
        r,
        "/var/log/dpkg.log",
        "2026-12-01 05:10:00 status installed php8.2-fpm:amd64 8.2.20-1\n\
         2026-12-01 05:10:00 upgrade php8.2-fpm:amd64 8.2.19-1 8.2.20-1\n\
         2026-12-01 06:45:10 install jq:amd64 <none> 1.6-2.1\n",
        NOW - 2700,
    );
    write(
        r,
        "/var/log/apt/history.log",
        "\nStart-Date: 2026-12-01  05:09:58\nCommandline: apt-get upgrade -y\nUpgrade: php8.2-fpm:amd64 (8.2.19-1, 8.2.20-1), php8.2-cli:amd64 (8.2.19-1, 8.2.20-1)\nEnd-Date: 2026-12-01  05:10:04\n",
        NOW - 8000,
    );
    write(r, "/etc/nginx/nginx.conf", "events {}\n", NOW - 30 * 86_400);
    write(r, "/etc/nginx/sites-enabled/shop", "server { listen 80; }\n", NOW - 600);
    write(r, "/etc/php/8.2/fpm/pool.d/www.conf", "[www]\npm.max_children = 5\n", NOW - 3600);
    write(r, "/proc/stat", "cpu  1 2 3\nbtime 1796000000\n", NOW);
    let ticks = |t: i64| (t - 1_796_000_000) * 100;
    let stat = |pid: u32, comm: &str, ppid: u32, start: i64| {
        format!(
            "{pid} ({comm}) S {ppid} {pid} {pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 {} 1000 10 0 0\n",
            ticks(start)
        )
    };
    write(r, "/proc/812/stat", &stat(812, "php-fpm8.2", 1, NOW - 1200), NOW);
    write(r, "/proc/813/stat", &stat(813, "php-fpm8.2", 812, NOW - 1200), NOW);
    write(r, "/proc/900/stat", &stat(900, "nginx", 1, NOW - 86_400 * 3), NOW);
    write(r, "/proc/901/stat", &stat(901, "bash", 1, NOW - 60), NOW);
    root
}

#[test]
fn changes_are_listed_newest_first_within_the_window() {
    let root = machine();
    let site = root.path().join("srv/shop");
    write(root.path(), "/srv/shop/wp-config.php", "<?php\n", NOW - 300);
    write(root.path(), "/srv/shop/wp-content/cache/page.html", "x", NOW - 30);
    let scope = Search {
        root: root.path().to_path_buf(),
        site_root: Some(site),
        hours: 6,
        stack_only: false,
    };
    let report = changes::collect(&scope, &Clock::new(NOW, jiff::tz::TimeZone::UTC), None);
    let e = evidence(&report);
    let got: Vec<(i64, &str, &str)> =
        e.changes.iter().map(|c| (NOW - c.at, c.kind.as_str(), c.what.as_str())).collect();
    let shop = root.path().join("srv/shop/wp-config.php").display().to_string();
    let site_conf = root.path().join("etc/nginx/sites-enabled/shop").display().to_string();
    let pool = root.path().join("etc/php/8.2/fpm/pool.d/www.conf").display().to_string();
    assert_eq!(
        got,
        vec![
            (300, "file", shop.as_str()),
            (600, "config", site_conf.as_str()),
            (1200, "restart", "php-fpm8.2 started (pid 812)"),
            (2712, "package", "dpkg install jq 1.6-2.1"),
            (3600, "config", pool.as_str()),
            (8424, "package", "apt-get upgrade -y (2 packages)"),
        ]
        .into_iter()
        .filter(|(ago, _, _)| *ago <= 6 * 3600)
        .collect::<Vec<_>>()
    );
    assert_eq!(report.facts.get("changes.newest_minutes"), Some(&FactValue::Int(5)));
    let Some(FactValue::List(recent)) = report.facts.get("changes.recent") else { panic!() };
    assert_eq!(recent[0], format!("2026-12-01 07:25 file {shop}"));
    assert!(recent.len() <= 10);
    assert!(
        report.summary.starts_with("6 changes in the last 6 h; the newest 5 min ago: file "),
        "{}",
        report.summary
    );
    assert_eq!(registry::contract_breaches(&report), Vec::<String>::new());

    // Asked for the stack only, the package that is not part of it (jq) is left out and said so.
    let stack = Search { stack_only: true, ..scope };
    let report = changes::collect(&stack, &Clock::new(NOW, jiff::tz::TimeZone::UTC), None);
    let kept: Vec<&str> = evidence(&report).changes.iter().map(|c| c.what.as_str()).collect();
    assert!(!kept.contains(&"dpkg install jq 1.6-2.1"), "{kept:?}");
    assert!(kept.contains(&"php-fpm8.2 started (pid 812)"), "{kept:?}");
    assert!(kept.contains(&site_conf.as_str()), "{kept:?}");
    assert!(
        report.details.iter().any(|d| d == "left out 1 change, not touching the web stack"),
        "{:?}",
        report.details
    );
}

#[test]
fn a_quiet_machine_passes() {
    let root = tempfile::tempdir().unwrap();
    let scope =
        Search { root: root.path().to_path_buf(), site_root: None, hours: 24, stack_only: false };
    let report = changes::collect(&scope, &Clock::new(NOW, jiff::tz::TimeZone::UTC), None);
    assert_eq!(report.summary, "No package, config, restart or deploy in the last 24 h.");
    assert_eq!(report.facts.get("changes.count"), Some(&FactValue::Int(0)));
}

#[test]
fn a_git_checkout_shows_its_deploys_without_running_git() {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("GIT_AUTHOR_NAME", "Deploy Bot")
            .env("GIT_AUTHOR_EMAIL", "deploy@example.com")
            .env("GIT_COMMITTER_NAME", "Deploy Bot")
            .env("GIT_COMMITTER_EMAIL", "deploy@example.com")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q"]);
    fs::write(dir.path().join("index.php"), "<?php echo 1;\n").unwrap();
    git(&["add", "."]);
    git(&["commit", "-qm", "release 1.4.2"]);
    let clock = Clock::system();
    let scope = Search {
        root: tempfile::tempdir().unwrap().path().to_path_buf(),
        site_root: Some(dir.path().to_path_buf()),
        hours: 1,
        stack_only: false,
    };
    let report = changes::collect(&scope, &clock, None);
    let deploys: Vec<&str> = evidence(&report)
        .changes
        .iter()
        .filter(|c| c.kind == "deploy")
        .map(|c| c.what.as_str())
        .collect();
    assert_eq!(deploys.len(), 1, "{deploys:?}");
    assert!(deploys[0].starts_with("commit (initial): release 1.4.2 ("), "{}", deploys[0]);
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("deploy@example.com"), "no e-mail addresses in the report");
}
