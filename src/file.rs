//! Opening the files people and the machine name (logs, runbooks, sessions, configs, exports):
//! only regular files. A path is opened without blocking and checked with `fstat` before any
//! read, so a FIFO, a device, a socket or a directory in its place is named for what it is
//! instead of hanging a read forever or reading an endless device. Writes for the user go to a
//! fresh owner-only file renamed into place, never through a symbolic link. Ground floor: it
//! imports nothing of the project.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use rustix::fs::{FileType, Mode, OFlags};

/// A path that holds something other than a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}, not a regular file", .0.words())]
pub struct NotRegular(pub Kind);

/// What a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Directory,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Socket,
    SymbolicLink,
    Other,
}

impl Kind {
    fn of(file_type: FileType) -> Option<Kind> {
        Some(match file_type {
            FileType::RegularFile => return None,
            FileType::Directory => Kind::Directory,
            FileType::Fifo => Kind::Fifo,
            FileType::CharacterDevice => Kind::CharacterDevice,
            FileType::BlockDevice => Kind::BlockDevice,
            FileType::Socket => Kind::Socket,
            FileType::Symlink => Kind::SymbolicLink,
            FileType::Unknown => Kind::Other,
        })
    }

    /// "a FIFO (named pipe)", "a directory", …
    pub fn words(self) -> &'static str {
        match self {
            Kind::Directory => "a directory",
            Kind::Fifo => "a FIFO (named pipe)",
            Kind::CharacterDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Socket => "a socket",
            Kind::SymbolicLink => "a symbolic link",
            Kind::Other => "not a file triage can read",
        }
    }
}

/// Opens `path` for reading if it is a regular file (after symbolic links). Anything else is an
/// error of kind `InvalidInput` wrapping [`NotRegular`], whose text says what the path holds.
/// Opening never blocks: a FIFO without a writer is seen for what it is, not waited on.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = rustix::fs::open(path, flags, Mode::empty())?;
    let stat = rustix::fs::fstat(&fd)?;
    if let Some(kind) = Kind::of(FileType::from_raw_mode(stat.st_mode)) {
        return Err(not_regular(kind));
    }
    // Reads of a regular file never block anyway; clear the flag so nothing downstream sees it.
    rustix::fs::fcntl_setfl(&fd, OFlags::empty())?;
    Ok(File::from(fd))
}

fn not_regular(kind: Kind) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, NotRegular(kind))
}

/// What `path` holds when it is not a regular file, from the error [`open_regular`] returned.
pub fn not_regular_kind(error: &io::Error) -> Option<Kind> {
    error.get_ref()?.downcast_ref::<NotRegular>().map(|n| n.0)
}

/// Writes `bytes` to `path` as a new file readable by its owner only (0600): into a temporary
/// file beside it, synced, then renamed over it. A symbolic link, a FIFO, a device or a
/// directory at `path` is refused, never followed or written through.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            if let Some(kind) =
                Kind::of(FileType::from_raw_mode(std::os::unix::fs::MetadataExt::mode(&meta)))
            {
                return Err(not_regular(kind));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(|| "export".into(), |n| n.to_string_lossy());
    // tempfile creates with O_EXCL and mode 0600.
    let mut temp = tempfile::Builder::new().prefix(&format!(".{name}.")).tempfile_in(dir)?;
    temp.write_all(bytes)?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn only_regular_files_open() {
        assert!(open_regular(Path::new("/proc/self/status")).is_ok());
        for (path, kind) in [
            ("/dev/zero", Kind::CharacterDevice),
            ("/dev/urandom", Kind::CharacterDevice),
            ("/tmp", Kind::Directory),
        ] {
            let e = open_regular(Path::new(path)).unwrap_err();
            assert_eq!(not_regular_kind(&e), Some(kind), "{path}");
        }
        let e = open_regular(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.to_string(), "a character device, not a regular file");
        let missing = open_regular(Path::new("/nonexistent/x")).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_fifo_is_named_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("error.log");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
        let e = open_regular(&fifo).unwrap_err();
        assert_eq!(e.to_string(), "a FIFO (named pipe), not a regular file");
    }

    #[test]
    fn private_writes_refuse_links_and_are_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("note.md");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_private(&link, b"x").unwrap_err();
        assert_eq!(e.to_string(), "a symbolic link, not a regular file");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        let out = dir.path().join("out.md");
        write_private(&out, b"one").unwrap();
        write_private(&out, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "two");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
