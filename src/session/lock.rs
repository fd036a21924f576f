//! One writer per session: an advisory `flock` on `<id>.lock` beside the session file, held for
//! as long as a triage process has the session open. The lock file names the holder's pid, so
//! a second process can say who has the session open, open it read-only, or ask the holder to
//! save and close and take it over (the front end's business). The kernel drops the lock when
//! the holder dies, so a kill -9 never leaves a session locked.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rustix::fs::FlockOperation;

/// A session held open by this process; dropping it releases the lock.
#[derive(Debug)]
pub struct SessionLock {
    id: String,
    _file: File,
}

impl SessionLock {
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Why a session could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "session {id} is open in another triage process{}; open it read-only with `--read-only`, or close that one first (`--take-over` asks it to save and quit)",
        holder.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Held { id: String, holder: Option<u32> },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// The lock file of session `id` in `dir`.
fn lock_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.lock"))
}

/// Takes the lock of session `id` without waiting.
pub fn lock(dir: &Path, id: &str) -> Result<SessionLock, LockError> {
    let path = lock_path(dir, id);
    let io = |source| LockError::Io { path: path.clone(), source };
    let mut file = open_lock_file(&path).map_err(io)?;
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(rustix::io::Errno::WOULDBLOCK) => {
            return Err(LockError::Held { id: id.to_owned(), holder: holder_of(&mut file) });
        }
        Err(e) => return Err(io(e.into())),
    }
    // The holder's pid, for the message a second process prints.
    file.set_len(0).and_then(|()| file.seek(SeekFrom::Start(0))).map_err(io)?;
    write!(file, "{}", std::process::id()).and_then(|()| file.flush()).map_err(io)?;
    Ok(SessionLock { id: id.to_owned(), _file: file })
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0))
        .open(path)
}

fn holder_of(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_holder_and_a_dropped_lock_frees_the_session() {
        let dir = tempfile::tempdir().unwrap();
        let first = lock(dir.path(), "s1").unwrap();
        assert_eq!(first.id(), "s1");
        match lock(dir.path(), "s1") {
            Err(LockError::Held { id, holder }) => {
                assert_eq!((id.as_str(), holder), ("s1", Some(std::process::id())));
            }
            other => panic!("{other:?}"),
        }
        assert!(lock(dir.path(), "s2").is_ok(), "another session is not held");
        drop(first);
        assert!(lock(dir.path(), "s1").is_ok());
    }
}
