//! systemd unit files, read as files (never through `systemctl edit` or a daemon-reload): where
//! an app runtime's unit says its logs go (`StandardOutput=`/`StandardError=append:FILE`, and
//! the `--error-logfile`/`--log-file`/`--logto` flags of its `ExecStart=`), and the environment it
//! gives the app (`Environment=`, `EnvironmentFile=`) — of which only the variables that locate
//! the database are kept (a password never is). Drop-ins (`NAME.service.d/*.conf`) count too.

use std::path::{Path, PathBuf};

use crate::contract::evidence::web::{Location, LogKind, LogPath, Setting};
use crate::system::System;
use crate::system::proxy::phpfpm;
use crate::system::proxy::source::{self, Sources};

/// Where unit files live, in systemd's order of precedence.
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// The flags of app servers that name a log file.
const LOG_FLAGS: &[&str] = &[
    "--error-logfile",
    "--log-file",
    "--access-logfile",
    "--logto",
    "--logto2",
    "--daemonize",
    "--redirect-stderr",
    "--error-log",
];

/// What a unit file says about the app's logs and database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFile {
    pub name: String,
    /// The unit file and its drop-ins, as read.
    pub files: Vec<PathBuf>,
    pub logs: Vec<LogPath>,
    /// `DB_HOST`, `DATABASE_URL` (without user and password), … from `Environment=` and
    /// `EnvironmentFile=`.
    pub env: Vec<Setting>,
}

/// Reads the unit `name` (`gunicorn.service`) from the first unit directory that has it, and
/// its drop-ins.
pub fn read(system: &System, name: &str) -> Option<UnitFile> {
    let main =
        UNIT_DIRS.iter().map(|d| Path::new(d).join(name)).find(|p| system.path(p).is_file())?;
    let mut sources = Sources::new(system);
    let mut unit = UnitFile { name: name.to_owned(), ..UnitFile::default() };
    let mut files = vec![main.clone()];
    for dir in UNIT_DIRS {
        files.extend(system.glob(&format!("{dir}/{name}.d/*.conf")));
    }
    for file in files {
        if let Some(text) = sources.enter(&file) {
            sources.leave();
            read_text(&mut sources, &file, &text, &mut unit);
        }
    }
    unit.files = sources.files;
    Some(unit)
}

fn read_text(sources: &mut Sources<'_>, file: &Path, text: &str, unit: &mut UnitFile) {
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let Some((key, value)) = line.split_once('=') else { continue };
        let at = Location::new(file, n as u32 + 1);
        match key.trim() {
            "Environment" => unit.env.extend(environment(value, &at)),
            "EnvironmentFile" => {
                let path = value.trim().trim_start_matches('-');
                environment_file(sources, Path::new(path), unit);
            }
            "StandardOutput" | "StandardError" => unit.logs.extend(output_file(value, &at)),
            "ExecStart" => unit.logs.extend(flag_logs(value, &at)),
            _ => {}
        }
    }
}

/// `Environment="DB_HOST=db" DB_PORT=5432`: the database's variables only.
fn environment(value: &str, at: &Location) -> Vec<Setting> {
    source::words(value)
        .iter()
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(name, value)| phpfpm::db_env(name, value, at))
        .collect()
}

fn environment_file(sources: &mut Sources<'_>, path: &Path, unit: &mut UnitFile) {
    if !sources.system().path(path).is_file() {
        return;
    }
    let Some(text) = sources.enter(path) else { return };
    sources.leave();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim().trim_start_matches("export ").trim();
        let Some((name, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        let at = Location::new(path, n as u32 + 1);
        unit.env.extend(phpfpm::db_env(name.trim(), value, &at));
    }
}

/// `StandardError=append:/var/log/app/error.log` (also `file:`, `truncate:`).
fn output_file(value: &str, at: &Location) -> Option<LogPath> {
    let value = value.trim();
    let path = ["append:", "file:", "truncate:"].iter().find_map(|p| value.strip_prefix(p))?;
    Some(LogPath {
        kind: LogKind::RuntimeLog,
        path: PathBuf::from(path),
        at: Some(at.clone()),
        site: None,
    })
}

/// `--error-logfile /var/log/gunicorn/error.log`, `--logto=/var/log/uwsgi/app.log`.
pub fn flag_logs(command: &str, at: &Location) -> Vec<LogPath> {
    let words = source::words(command.trim_start_matches(['-', '@', '+', '!', ':']));
    let mut out = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let (flag, inline) =
            word.split_once('=').map_or((word.as_str(), None), |(f, v)| (f, Some(v.to_owned())));
        if !LOG_FLAGS.contains(&flag) {
            continue;
        }
        let Some(value) = inline.or_else(|| words.get(i + 1).cloned()) else { continue };
        if value.starts_with('/') {
            out.push(LogPath {
                kind: LogKind::RuntimeLog,
                path: PathBuf::from(value),
                at: Some(at.clone()),
                site: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_and_database_variables_of_a_unit() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("etc/systemd/system");
        std::fs::create_dir_all(dir.join("app.service.d")).unwrap();
        std::fs::create_dir_all(root.path().join("srv/app")).unwrap();
        std::fs::write(dir.join("app.service"), "[Service]\nEnvironment=\"DB_HOST=10.0.0.5\" DB_PORT=6432 SECRET_KEY=hunter2\nEnvironmentFile=-/srv/app/env\nExecStart=/srv/app/venv/bin/gunicorn --error-logfile /var/log/app/error.log -b unix:/run/app.sock app:app\nStandardError=append:/var/log/app/stderr.log\n").unwrap();
        std::fs::write(
            dir.join("app.service.d/override.conf"),
            "[Service]\nExecStart=\nExecStart=/usr/bin/uwsgi --logto=/var/log/app/uwsgi.log\n",
        )
        .unwrap();
        std::fs::write(
            root.path().join("srv/app/env"),
            "DATABASE_URL=postgres://app:hunter2@db.internal/app\nDB_PASSWORD=hunter2\n",
        )
        .unwrap();
        let unit = read(&System::fixture(root.path()), "app.service").unwrap();
        let env: Vec<(&str, &str)> =
            unit.env.iter().map(|s| (s.name.as_str(), s.value.as_str())).collect();
        assert_eq!(
            env,
            vec![
                ("DB_HOST", "10.0.0.5"),
                ("DB_PORT", "6432"),
                ("DATABASE_URL", "postgres://db.internal/app")
            ]
        );
        assert!(!format!("{unit:?}").contains("hunter2"));
        let logs: Vec<&str> = unit.logs.iter().map(|l| l.path.to_str().unwrap()).collect();
        assert_eq!(
            logs,
            vec!["/var/log/app/error.log", "/var/log/app/stderr.log", "/var/log/app/uwsgi.log"]
        );
        assert_eq!(unit.logs[0].at.as_ref().unwrap().line, 4);
        assert_eq!(unit.files.len(), 3);
    }
}
