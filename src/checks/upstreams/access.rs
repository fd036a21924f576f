//! Whether a user may connect to a unix socket: search permission on every directory on the way
//! and write permission on the socket, by owner, group and mode, as the kernel decides it for a
//! process with that uid and those groups. It only stats; it never connects or changes anything.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::contract::evidence::upstreams::Credentials;
use crate::system::users::Users;
use crate::system::{self, System};

/// What a stat of the socket and its directories shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// The socket is not there; `dir_missing` when its directory is not there either.
    Missing {
        dir_missing: bool,
    },
    NotSocket,
    /// The user may not pass `path` (a directory) or write to it (the socket).
    Denied {
        detail: String,
    },
    /// A stat failed for us (unprivileged): we cannot tell.
    Unknown {
        reason: String,
    },
}

/// Decides whether `who` may connect to the socket at `path` (a machine path).
pub fn socket_access(system: &System, path: &Path, who: &Credentials, users: &Users) -> Access {
    let mut dirs: Vec<PathBuf> = path.ancestors().skip(1).map(Path::to_owned).collect();
    dirs.reverse();
    for dir in &dirs {
        match std::fs::metadata(system.path(dir)) {
            Ok(meta) if allows(&meta, who, 0o1) => {}
            Ok(meta) => {
                return Access::Denied {
                    detail: denied(dir, &meta, who, users, "enter the directory"),
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Access::Missing { dir_missing: true };
            }
            Err(e) => {
                return Access::Unknown {
                    reason: format!("{}: {}", dir.display(), system::io_reason(&e)),
                };
            }
        }
    }
    match std::fs::metadata(system.path(path)) {
        Ok(meta) if !meta.file_type().is_socket() => Access::NotSocket,
        Ok(meta) if allows(&meta, who, 0o2) => Access::Allowed,
        Ok(meta) => {
            Access::Denied { detail: denied(path, &meta, who, users, "write to the socket") }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Access::Missing { dir_missing: false }
        }
        Err(e) => {
            Access::Unknown { reason: format!("{}: {}", path.display(), system::io_reason(&e)) }
        }
    }
}

/// The permission bits that apply to `who` contain `want`; root passes everything.
fn allows(meta: &std::fs::Metadata, who: &Credentials, want: u32) -> bool {
    if who.uid == 0 {
        return true;
    }
    let mode = meta.mode();
    let bits = if meta.uid() == who.uid {
        mode >> 6
    } else if who.gids.contains(&meta.gid()) {
        mode >> 3
    } else {
        mode
    };
    bits & want == want
}

fn denied(
    path: &Path,
    meta: &std::fs::Metadata,
    who: &Credentials,
    users: &Users,
    action: &str,
) -> String {
    let groups: Vec<String> = who.gids.iter().map(|g| users.group_name(*g)).collect();
    format!(
        "{} is {} {}:{}; {} (groups {}) may not {action}",
        path.display(),
        mode_string(meta),
        users.user_name(meta.uid()),
        users.group_name(meta.gid()),
        who.name,
        groups.join(", "),
    )
}

/// `srw-rw----`, as `ls -l` shows it.
pub fn mode_string(meta: &std::fs::Metadata) -> String {
    let kind = if meta.file_type().is_socket() {
        's'
    } else if meta.is_dir() {
        'd'
    } else {
        '-'
    };
    let mode = meta.mode();
    let mut out = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn nobody() -> Credentials {
        Credentials { name: "nobody".into(), uid: 65534, gids: vec![65534] }
    }

    #[test]
    fn modes_decide_for_the_user() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let sock = dir.path().join("app.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let system = System::real();
        let users = Users::default();
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).unwrap();
        match socket_access(&system, &sock, &nobody(), &users) {
            Access::Denied { detail } => assert!(
                detail.contains("srw------- ") && detail.contains("may not write"),
                "{detail}"
            ),
            other => assert!(rustix::process::geteuid().as_raw() == 65534, "{other:?}"),
        }
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert_eq!(socket_access(&system, &sock, &nobody(), &users), Access::Allowed);
        assert_eq!(
            socket_access(&system, &dir.path().join("gone.sock"), &nobody(), &users),
            Access::Missing { dir_missing: false }
        );
        assert_eq!(
            socket_access(&system, &dir.path().join("no/gone.sock"), &nobody(), &users),
            Access::Missing { dir_missing: true }
        );
        std::fs::write(dir.path().join("file"), "").unwrap();
        assert_eq!(
            socket_access(&system, &dir.path().join("file"), &nobody(), &users),
            Access::NotSocket
        );
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let uid = rustix::process::geteuid().as_raw();
        let owner = Credentials { name: "me".into(), uid, gids: vec![] };
        assert_eq!(socket_access(&system, &sock, &owner, &users), Access::Allowed);
        if uid != 65534 {
            assert!(
                matches!(socket_access(&system, &sock, &nobody(), &users), Access::Denied { detail } if detail.contains("enter the directory"))
            );
        }
    }
}
