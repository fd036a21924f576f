//! PHP-FPM's config (`php-fpm.conf` and its `include=`d pool files): each pool's listen
//! address, socket owner and mode, user, process manager and `pm.max_children`, and the error
//! and slow logs — with file and line. Read even when PHP-FPM is down, so a proxy pointing at
//! the wrong socket can be told where the pool would listen.

use std::path::{Path, PathBuf};

use super::source::{self, Sources};
use crate::contract::evidence::stack::{ConfigSource, Stack};
use crate::contract::evidence::web::{FpmConfig, Location, LogKind, LogPath, Pool, Setting};
use crate::knowledge::services;
use crate::system::System;

/// Debian's compiled-in prefix: relative includes and logs are taken from here.
pub const COMPILED_PREFIX: &str = "/usr";

/// Reads `main` and the pool files it includes.
pub fn read(system: &System, main: &Path) -> FpmConfig {
    let mut sources = Sources::new(system);
    let mut config = FpmConfig {
        main: main.to_owned(),
        pools: Vec::new(),
        logs: Vec::new(),
        files: Vec::new(),
        unreadable: Vec::new(),
    };
    let mut section = String::from("global");
    read_file(&mut sources, main, &mut config, &mut section);
    php_ini(&mut sources, main, &mut config);
    config.files = sources.files;
    config.unreadable = sources.unreadable;
    config
}

fn read_file(sources: &mut Sources<'_>, path: &Path, config: &mut FpmConfig, section: &mut String) {
    let Some(text) = sources.enter(path) else { return };
    for (n, raw) in text.lines().enumerate() {
        let at = Location::new(path, n as u32 + 1);
        let line = raw.split(';').next().unwrap_or_default().trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            name.clone_into(section);
            if name != "global" {
                config.pools.push(Pool { name: name.to_owned(), at: Some(at), ..Pool::default() });
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches('"').replace("$pool", section);
        let key = key.trim();
        if key == "include" {
            for file in sources.expand(&value, Path::new(COMPILED_PREFIX)) {
                read_file(sources, &file, config, section);
            }
            continue;
        }
        apply(config, section, key, &value, &at);
    }
    sources.leave();
}

fn apply(config: &mut FpmConfig, section: &str, key: &str, value: &str, at: &Location) {
    let log = |kind| LogPath {
        kind,
        path: source::absolute(value, Path::new("/usr/var")),
        at: Some(at.clone()),
        site: (section != "global").then(|| section.to_owned()),
    };
    match key {
        "error_log" if section == "global" && value != "syslog" => {
            config.logs.push(log(LogKind::PhpFpmError));
        }
        "slowlog" => config.logs.push(log(LogKind::PhpFpmSlow)),
        "php_admin_value[error_log]" | "php_value[error_log]" if value != "syslog" => {
            config.logs.push(log(LogKind::PhpError));
        }
        _ => {}
    }
    let Some(pool) = config.pools.iter_mut().rev().find(|p| p.name == section) else { return };
    let setting =
        || Some(Setting { name: key.to_owned(), value: value.to_owned(), at: at.clone() });
    match key {
        "listen" => pool.listen = setting(),
        "user" => pool.user = Some(value.to_owned()),
        "group" => pool.group = Some(value.to_owned()),
        "listen.owner" => pool.listen_owner = Some(value.to_owned()),
        "listen.group" => pool.listen_group = Some(value.to_owned()),
        "listen.mode" => pool.listen_mode = Some(value.to_owned()),
        "pm" => pool.pm = Some(value.to_owned()),
        "pm.max_children" => pool.max_children = setting(),
        _ => pool_extra(pool, key, value, at),
    }
}

/// The limits that end a request, and the `env[…]` lines that locate the database.
fn pool_extra(pool: &mut Pool, key: &str, value: &str, at: &Location) {
    let ini = key
        .strip_prefix("php_admin_value[")
        .or_else(|| key.strip_prefix("php_value["))
        .and_then(|k| k.strip_suffix(']'));
    let name = match ini {
        Some(name @ ("memory_limit" | "max_execution_time")) => name,
        Some(_) => return,
        None if LIMITS.contains(&key) => key,
        None => {
            if let Some(var) = key.strip_prefix("env[").and_then(|k| k.strip_suffix(']')) {
                pool.env.extend(db_env(var, value, at));
            }
            return;
        }
    };
    pool.limits.push(Setting { name: name.to_owned(), value: value.to_owned(), at: at.clone() });
}

/// Pool keys that bound a request or route its output.
const LIMITS: &[&str] = &[
    "request_terminate_timeout",
    "request_slowlog_timeout",
    "catch_workers_output",
    "listen.backlog",
];

/// The environment variables that say where the database is; everything else (passwords,
/// keys) is dropped here and never stored.
pub const DB_ENV: &[&str] = &[
    "DB_HOST",
    "DB_PORT",
    "DB_SOCKET",
    "DB_CONNECTION",
    "DATABASE_URL",
    "DATABASE_HOST",
    "DATABASE_PORT",
    "PGHOST",
    "PGPORT",
    "MYSQL_HOST",
    "MYSQL_PORT",
];

/// An `env[NAME] = value` worth keeping: a database locator, a URL without its user and
/// password.
pub fn db_env(name: &str, value: &str, at: &Location) -> Option<Setting> {
    if !DB_ENV.contains(&name) {
        return None;
    }
    let value = if name == "DATABASE_URL" { without_userinfo(value)? } else { value.to_owned() };
    Some(Setting { name: name.to_owned(), value, at: at.clone() })
}

/// `postgres://app:secret@db:5432/shop` → `postgres://db:5432/shop`.
pub fn without_userinfo(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    parsed.set_password(None).ok()?;
    parsed.set_username("").ok()?;
    Some(parsed.to_string())
}

/// The `error_log` of the php.ini beside php-fpm.conf (Debian's `/etc/php/8.2/fpm/php.ini`):
/// where PHP's errors go for the pools that set none of their own.
fn php_ini(sources: &mut Sources<'_>, main: &Path, config: &mut FpmConfig) {
    let ini = main.with_file_name("php.ini");
    if !sources.system().path(&ini).is_file() {
        return;
    }
    let Some(text) = sources.enter(&ini) else { return };
    for (n, raw) in text.lines().enumerate() {
        let line = raw.split(';').next().unwrap_or_default().trim();
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches('"');
        if key.trim() == "error_log" && !value.is_empty() && value != "syslog" {
            config.logs.push(LogPath {
                kind: LogKind::PhpError,
                path: source::absolute(value, Path::new("/")),
                at: Some(Location::new(&ini, n as u32 + 1)),
                site: None,
            });
        }
    }
    sources.leave();
}

/// The configs of the running PHP-FPM masters, else of the installed ones (when PHP-FPM is
/// down, its pools still say where it would listen).
pub fn read_stack(system: &System, stack: &Stack) -> Vec<FpmConfig> {
    let mut mains: Vec<PathBuf> = stack
        .services
        .iter()
        .filter(|s| s.id == "php-fpm")
        .filter_map(|s| s.config.as_ref())
        .filter(|c| c.source == ConfigSource::CommandLine || Path::new(&c.path).is_absolute())
        .map(|c| PathBuf::from(&c.path))
        .collect();
    if mains.is_empty() {
        let defaults = services::table().get("php-fpm").map(|s| s.default_configs.as_slice());
        mains.extend(defaults.unwrap_or_default().iter().flat_map(|g| system.glob(g)));
    }
    mains.dedup();
    mains.iter().map(|m| read(system, m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_from_included_files_with_lines() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("php-fpm.conf");
        std::fs::create_dir(dir.path().join("pool.d")).unwrap();
        std::fs::write(
            &main,
            format!(
                "[global]\nerror_log = /var/log/php8.2-fpm.log\ninclude={}/pool.d/*.conf\n",
                dir.path().display()
            ),
        )
        .unwrap();
        std::fs::write(dir.path().join("pool.d/www.conf"), "; comment\n[www]\nuser = www-data\nlisten = /run/php/$pool.sock\nlisten.mode = 0660\npm = dynamic\npm.max_children = 5 ; five\nrequest_terminate_timeout = 30s\nphp_admin_value[memory_limit] = 64M\nphp_admin_value[error_log] = /var/log/php/www-error.log\nenv[DATABASE_URL] = postgres://app:hunter2@db:5433/shop\nenv[DB_PASSWORD] = hunter2\nphp_value[display_errors] = off\n").unwrap();
        std::fs::write(
            dir.path().join("php.ini"),
            "[PHP]\n;error_log = php_errors.log\nerror_log = /var/log/php_errors.log\n",
        )
        .unwrap();
        let config = read(&System::real(), &main);
        let pool = &config.pools[0];
        assert_eq!(pool.name, "www");
        assert_eq!(pool.listen.as_ref().unwrap().value, "/run/php/www.sock");
        assert_eq!(pool.max_children(), Some(5));
        assert_eq!(pool.max_children.as_ref().unwrap().at.line, 7);
        assert_eq!(config.logs[0].path, PathBuf::from("/var/log/php8.2-fpm.log"));
        assert_eq!(config.files.len(), 3);
        let limit = pool.limit("request_terminate_timeout").unwrap();
        assert_eq!((limit.value.as_str(), limit.at.line), ("30s", 8));
        assert_eq!(pool.limit("memory_limit").unwrap().value, "64M");
        assert_eq!(pool.limits.len(), 2, "display_errors is not a limit");
        assert_eq!(pool.env.len(), 1, "only the database locator is kept: {:?}", pool.env);
        assert_eq!(pool.env[0].value, "postgres://db:5433/shop");
        assert!(!format!("{config:?}").contains("hunter2"));
        let php_logs: Vec<(&str, Option<&str>)> = config
            .logs
            .iter()
            .filter(|l| l.kind == LogKind::PhpError)
            .map(|l| (l.path.to_str().unwrap(), l.site.as_deref()))
            .collect();
        assert_eq!(
            php_logs,
            vec![("/var/log/php/www-error.log", Some("www")), ("/var/log/php_errors.log", None)]
        );
    }
}
