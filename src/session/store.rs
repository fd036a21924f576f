//! Where sessions live on disk: one JSON file per session in the data directory
//! (`$TRIAGE_DATA_DIR/sessions`, else the platform's, e.g. `~/.local/share/triage/sessions`).
//! Every save is atomic (temp file, fsync, rename, fsync of the directory) and owner-only (0600),
//! so a kill -9 leaves either the previous or the new file, never half of one. A file that does
//! not parse is reported and left exactly as it is: this module never overwrites or deletes one.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::{FORMAT, Session};

/// Environment variable that overrides the data directory (tests, portable setups).
pub const DATA_DIR_ENV: &str = "TRIAGE_DATA_DIR";
/// Session files larger than this are not read (a real one is a few hundred kilobytes).
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no data directory: set ${DATA_DIR_ENV} or HOME")]
    NoDataDir,
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(
        "{}: the session file is damaged ({reason}); it was left as it is. Move it away to \
         silence this, or start a new session with `triage URL`",
        path.display()
    )]
    Damaged { path: PathBuf, reason: String },
    #[error("no session `{id}` in {}; `triage sessions` lists them", dir.display())]
    NotFound { id: String, dir: PathBuf },
    #[error("no sessions yet in {}; start one with `triage URL`", dir.display())]
    Empty { dir: PathBuf },
    #[error("`{0}` is not a session id (letters, digits and `-` only)")]
    BadId(String),
    #[error(
        "cannot save sessions in {}: {source}; nothing you record could be kept. Set \
         ${DATA_DIR_ENV} to a directory you can write (sessions then go to \
         ${DATA_DIR_ENV}/sessions), e.g. `{DATA_DIR_ENV}=/tmp/triage triage URL`",
        dir.display()
    )]
    NotWritable { dir: PathBuf, source: std::io::Error },
}

/// One file found in the sessions directory.
#[derive(Debug)]
pub enum Listed {
    Session(Box<Session>),
    Damaged { path: PathBuf, reason: String },
}

/// The sessions directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io { path: path.to_owned(), source }
}

impl Store {
    /// The store in the data directory, created (0700) when missing.
    pub fn open() -> Result<Store, StoreError> {
        let root = match std::env::var_os(DATA_DIR_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => directories::ProjectDirs::from("", "", "triage")
                .map(|d| d.data_dir().to_owned())
                .ok_or(StoreError::NoDataDir)?,
        };
        Store::at(root.join("sessions"))
    }

    /// The store in `dir`, created (0700) when missing.
    pub fn at(dir: PathBuf) -> Result<Store, StoreError> {
        create_private_dir(&dir)?;
        Ok(Store { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Whether a file for this id exists already (a fresh session must not take its place).
    pub fn exists(&self, id: &str) -> bool {
        self.path(id).exists()
    }

    /// Whether a session can be saved here: a file is created, written, synced and removed,
    /// so a read-only or full directory is found before the walk starts, not at its end.
    pub fn check_writable(&self) -> Result<(), StoreError> {
        let not_writable = |source| StoreError::NotWritable { dir: self.dir.clone(), source };
        let mut probe = tempfile::Builder::new()
            .prefix(".write-check.")
            .tempfile_in(&self.dir)
            .map_err(not_writable)?;
        probe.write_all(&[b'\n'; 512]).map_err(not_writable)?;
        probe.as_file().sync_all().map_err(not_writable)
    }

    /// Takes the lock of session `id`: one writer per session (see [`super::lock`]).
    pub fn lock(&self, id: &str) -> Result<super::lock::SessionLock, super::lock::LockError> {
        super::lock::lock(&self.dir, id)
    }

    /// Writes the session atomically, readable by the owner only.
    pub fn save(&self, session: &Session) -> Result<(), StoreError> {
        check_id(&session.id)?;
        let path = self.path(&session.id);
        let json = serde_json::to_vec_pretty(session)
            .map_err(|e| StoreError::Io { path: path.clone(), source: e.into() })?;
        let mut temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", session.id))
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(io(&self.dir))?;
        set_private(temp.path())?;
        temp.write_all(&json).map_err(io(temp.path()))?;
        temp.as_file().sync_all().map_err(io(&path))?;
        temp.persist(&path).map_err(|e| StoreError::Io { path: path.clone(), source: e.error })?;
        // The rename is durable only once the directory entry is on disk too.
        fs::File::open(&self.dir).and_then(|d| d.sync_all()).map_err(io(&self.dir))
    }

    /// Reads one session; a file that does not parse is `Damaged` and stays untouched.
    pub fn load(&self, id: &str) -> Result<Session, StoreError> {
        check_id(id)?;
        let path = self.path(id);
        if !path.exists() {
            return Err(StoreError::NotFound { id: id.to_owned(), dir: self.dir.clone() });
        }
        read(&path)
    }

    /// Every session file, newest activity first; damaged files are listed, not skipped.
    pub fn list(&self) -> Result<Vec<Listed>, StoreError> {
        let mut listed: Vec<Listed> = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let path = entry.map_err(io(&self.dir))?.path();
            let is_session = path.extension().is_some_and(|x| x == "json")
                && !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !is_session {
                continue;
            }
            listed.push(match read(&path) {
                Ok(session) => Listed::Session(Box::new(session)),
                Err(StoreError::Damaged { path, reason }) => Listed::Damaged { path, reason },
                Err(other) => return Err(other),
            });
        }
        listed.sort_by_key(|l| match l {
            Listed::Session(s) => (std::cmp::Reverse(Some(s.last_activity())), s.id.clone()),
            Listed::Damaged { path, .. } => (std::cmp::Reverse(None), path.display().to_string()),
        });
        Ok(listed)
    }

    /// The session with the latest activity.
    pub fn latest(&self) -> Result<Session, StoreError> {
        self.list()?
            .into_iter()
            .find_map(|l| match l {
                Listed::Session(s) => Some(*s),
                Listed::Damaged { .. } => None,
            })
            .ok_or_else(|| StoreError::Empty { dir: self.dir.clone() })
    }

    /// The most recent open session on this URL and runbook, if there is one.
    pub fn open_for(&self, url: &str, runbook: &str) -> Result<Option<Session>, StoreError> {
        let same = |s: &Session| same_url(&s.url, url) && s.runbook.id == runbook;
        Ok(self.list()?.into_iter().find_map(|l| match l {
            Listed::Session(s) if !s.is_closed() && same(&s) => Some(*s),
            _ => None,
        }))
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim().trim_end_matches('/').eq_ignore_ascii_case(b.trim().trim_end_matches('/'))
}

fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(StoreError::BadId(id.to_owned())) }
}

fn read(path: &Path) -> Result<Session, StoreError> {
    let damaged = |reason: String| StoreError::Damaged { path: path.to_owned(), reason };
    // A FIFO or a directory named like a session is reported, never waited on or read.
    let file =
        crate::file::open_regular(path).map_err(|e| match crate::file::not_regular_kind(&e) {
            Some(_) => damaged(e.to_string()),
            None => StoreError::Io { path: path.to_owned(), source: e },
        })?;
    let len = file.metadata().map_err(io(path))?.len();
    if len > MAX_FILE_BYTES {
        return Err(damaged(format!("{len} bytes, more than a session can be")));
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES).read_to_end(&mut bytes).map_err(io(path))?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    let format = value.get("format").and_then(serde_json::Value::as_u64);
    match format {
        Some(f) if f > u64::from(FORMAT) => {
            return Err(damaged(format!(
                "format {f} was written by a newer triage; this one reads format {FORMAT}"
            )));
        }
        None => return Err(damaged("no `format` field: not a triage session".to_owned())),
        Some(_) => {}
    }
    serde_json::from_value(value).map_err(|e| damaged(e.to_string()))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(io(dir))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    fs::create_dir_all(dir).map_err(io(dir))
}

#[cfg(unix)]
fn set_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io(path))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Event, RunbookRef, Stamp, Via};

    fn session(id: &str) -> Session {
        Session {
            format: FORMAT,
            id: id.into(),
            runbook: RunbookRef {
                id: "rb".into(),
                title: "RB".into(),
                version: "1".into(),
                origin: "builtin:rb.yaml".into(),
            },
            url: "https://x.test/".into(),
            time_zone: "UTC".into(),
            started: Stamp::from_secs(10, 0),
            entries: Vec::new(),
        }
    }

    #[test]
    fn saves_atomically_owner_only_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("sessions")).unwrap();
        let mut s = session("a-1");
        store.save(&s).unwrap();
        let event = Event::StepEntered { step: "x".into(), title: "X".into(), via: Via::Start };
        s.record(Stamp::from_secs(20, 0), event);
        store.save(&s).unwrap();
        assert_eq!(store.load("a-1").unwrap(), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(store.path("a-1")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = fs::read_dir(store.dir()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temp files left behind");
    }

    #[test]
    fn a_damaged_file_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_owned()).unwrap();
        fs::write(store.path("bad"), "{\"format\": 1, \"id\": ").unwrap();
        let err = store.load("bad").unwrap_err().to_string();
        assert!(err.contains("damaged") && err.contains("left as it is"), "{err}");
        store.save(&session("good")).unwrap();
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().any(|l| matches!(l, Listed::Damaged { .. })));
        assert_eq!(fs::read_to_string(store.path("bad")).unwrap(), "{\"format\": 1, \"id\": ");
        assert_eq!(store.latest().unwrap().id, "good");
    }

    #[test]
    fn newer_formats_and_bad_ids_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_owned()).unwrap();
        fs::write(store.path("new"), "{\"format\": 99}").unwrap();
        assert!(store.load("new").unwrap_err().to_string().contains("newer triage"));
        assert!(matches!(store.load("../etc/passwd"), Err(StoreError::BadId(_))));
        assert!(matches!(store.load("nope"), Err(StoreError::NotFound { .. })));
    }

    #[test]
    fn finds_the_open_session_for_a_url() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().to_owned()).unwrap();
        store.save(&session("one")).unwrap();
        assert_eq!(store.open_for("https://X.test", "rb").unwrap().unwrap().id, "one");
        assert!(store.open_for("https://x.test/", "other").unwrap().is_none());
        assert!(store.open_for("https://y.test/", "rb").unwrap().is_none());
    }
}
