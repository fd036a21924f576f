//! The systemd journal, through `journalctl`: the incident window only (`--since`), bounded in
//! lines, bytes and time, for OOM kills, unit failures and the services that log to stdout.
//! Where there is no journal it says why; where it sees only the user's own messages it says
//! which command would see all of them. It never writes to the journal or its configuration.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// At most this many journal lines are asked for.
pub const MAX_LINES: u32 = 200_000;
/// At most this much output is read.
pub const MAX_BYTES: u64 = 64 << 20;
/// journalctl gets this long.
pub const TIME_LIMIT: Duration = Duration::from_secs(20);

/// What reading the journal gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Journal {
    /// The window's lines, in `short-iso` format.
    Read { output: Vec<u8>, truncated: bool },
    /// Only the user's own messages were visible; the lines that were are in `output`.
    Partial { output: Vec<u8>, instead: String },
    /// No journal to read, and why.
    Unavailable { reason: String },
}

/// Where `journalctl` is, when this machine keeps a journal.
pub fn locate() -> Result<PathBuf, String> {
    let has_journal =
        ["/run/systemd/journal", "/var/log/journal"].iter().any(|d| Path::new(d).is_dir());
    if !has_journal {
        return Err("no systemd journal on this machine (neither /run/systemd/journal nor /var/log/journal exists)".to_owned());
    }
    find_program("journalctl").ok_or_else(|| "journalctl is not installed".to_owned())
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// The command that shows the window's journal to a person, with sudo.
pub fn sudo_command(since: i64) -> String {
    format!("sudo journalctl --no-pager --since @{since}")
}

/// Reads the journal from `since` (Unix seconds) with `program`.
pub async fn read(program: &Path, since: i64) -> Journal {
    read_matching(program, since, &[]).await
}

/// Like [`read`], only the entries with these journal fields (`_PID=1`: systemd's own).
pub async fn read_matching(program: &Path, since: i64, matches: &[&str]) -> Journal {
    let mut command = Command::new(program);
    command
        .args(["--no-pager", "--quiet", "--output=short-iso", "--utc"])
        .arg(format!("--since=@{since}"))
        .arg(format!("--lines={MAX_LINES}"))
        .args(matches)
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return Journal::Unavailable { reason: format!("could not run journalctl: {e}") },
    };
    match tokio::time::timeout(TIME_LIMIT, collect(child)).await {
        Ok(Ok((output, stderr, truncated))) => interpret(output, &stderr, truncated, since),
        Ok(Err(e)) => {
            Journal::Unavailable { reason: format!("could not read journalctl's output: {e}") }
        }
        Err(_) => Journal::Unavailable {
            reason: format!("journalctl did not finish within {} s", TIME_LIMIT.as_secs()),
        },
    }
}

async fn collect(mut child: tokio::process::Child) -> std::io::Result<(Vec<u8>, String, bool)> {
    let mut output = Vec::new();
    let mut stderr = Vec::new();
    let out = child.stdout.take();
    let err = child.stderr.take();
    let read_out = async {
        if let Some(out) = out {
            out.take(MAX_BYTES + 1).read_to_end(&mut output).await?;
        }
        Ok::<_, std::io::Error>(())
    };
    let read_err = async {
        if let Some(err) = err {
            err.take(64 * 1024).read_to_end(&mut stderr).await?;
        }
        Ok::<_, std::io::Error>(())
    };
    let (a, b) = tokio::join!(read_out, read_err);
    a?;
    b?;
    let truncated = output.len() as u64 > MAX_BYTES;
    output.truncate(MAX_BYTES as usize);
    // Past the byte limit journalctl may still be writing; it is killed on drop.
    if !truncated {
        let _ = child.wait().await;
    }
    Ok((output, String::from_utf8_lossy(&stderr).into_owned(), truncated))
}

fn interpret(output: Vec<u8>, stderr: &str, truncated: bool, since: i64) -> Journal {
    if stderr.contains("not seeing messages from other users and the system") {
        return Journal::Partial { output, instead: sudo_command(since) };
    }
    if output.is_empty() && stderr.contains("No journal files were") {
        return Journal::Unavailable { reason: "the journal has no files".to_owned() };
    }
    Journal::Read { output, truncated }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restricted_user_is_told_the_sudo_command() {
        let hint = "Hint: You are currently not seeing messages from other users and the system.\n";
        let Journal::Partial { instead, .. } = interpret(b"x\n".to_vec(), hint, false, 100) else {
            panic!()
        };
        assert_eq!(instead, "sudo journalctl --no-pager --since @100");
        assert_eq!(
            interpret(Vec::new(), "", false, 1),
            Journal::Read { output: Vec::new(), truncated: false }
        );
    }
}
