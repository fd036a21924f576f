//! Logs that live behind a read-only command rather than in a file: Varnish's shared-memory log
//! (`varnishlog -d`, which dumps what is in memory and exits — the only place Varnish says why a
//! fetch failed) and the logs of running Docker containers (`docker logs --since`, only when
//! docker is installed and its daemon answers). Each command is bounded in time and bytes, and
//! one that cannot run says why instead of pretending.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::contract::evidence::stack::Stack;

/// Each command gets this long.
pub const TIME_LIMIT: Duration = Duration::from_secs(10);
/// At most this much output is kept from one command.
pub const MAX_BYTES: u64 = 16 << 20;
/// At most this many containers' logs are read.
pub const MAX_CONTAINERS: usize = 10;

/// What one command gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// How the report names the source: `varnishlog -d -n /var/lib/varnish/web1`.
    pub name: String,
    /// Its output, or why there is none.
    pub output: Result<Vec<u8>, String>,
    pub truncated: bool,
    /// The lines carry their own timestamps (docker `--timestamps`); varnishlog's do not.
    pub timed: bool,
}

/// The command sources of the running stack: `varnishlog -d` for each varnishd, and the logs of
/// the running Docker containers (the whole machine's: not when `TRIAGE_ROOT` or
/// `TRIAGE_PROC_ROOT` points the checks elsewhere).
pub async fn gather(stack: Option<&Stack>, since_minutes: Option<u64>) -> Vec<Captured> {
    let mut out = Vec::new();
    if let Some(stack) = stack {
        for varnish in stack.services.iter().filter(|s| s.id == "varnish") {
            let workdir =
                varnish.master_process().and_then(|m| m.flag_value("-n")).map(PathBuf::from);
            out.push(varnishlog(workdir.as_deref()).await);
        }
    }
    let system = crate::system::System::from_env();
    let machine = system.is_real_root() && system.machine_wide();
    if let Some(docker) = find_program("docker").filter(|_| machine) {
        out.extend(docker_logs(&docker, since_minutes).await);
    }
    out
}

/// `varnishlog -d -g raw -i FetchError,Backend_health [-n WORKDIR]`: the failed fetches and
/// health changes still in Varnish's memory.
pub async fn varnishlog(workdir: Option<&Path>) -> Captured {
    let mut args: Vec<String> = ["-d", "-g", "raw", "-i", "FetchError,Backend_health"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    if let Some(dir) = workdir {
        args.extend(["-n".to_owned(), dir.display().to_string()]);
    }
    let name = format!("varnishlog {}", args.join(" "));
    let Some(program) = find_program("varnishlog") else {
        return Captured {
            name,
            output: Err("varnishlog is not installed".to_owned()),
            truncated: false,
            timed: false,
        };
    };
    let (output, truncated) = match run(&program, &args).await {
        Ok((out, truncated)) => (Ok(out), truncated),
        Err(reason) => (Err(reason), false),
    };
    Captured { name, output, truncated, timed: false }
}

/// `docker ps`, then `docker logs --since --timestamps` of each running container (at most
/// [`MAX_CONTAINERS`]). A daemon that does not answer is one [`Captured`] with the reason.
pub async fn docker_logs(docker: &Path, since_minutes: Option<u64>) -> Vec<Captured> {
    let ps = ["ps", "--format", "{{.ID}} {{.Names}}"].map(str::to_owned);
    let listed = match run(docker, &ps).await {
        Ok((out, _)) => String::from_utf8_lossy(&out).into_owned(),
        Err(reason) => {
            let output = Err(format!("not read: {reason}"));
            return vec![Captured {
                name: "docker ps".to_owned(),
                output,
                truncated: false,
                timed: true,
            }];
        }
    };
    let since = format!("{}m", since_minutes.unwrap_or(30));
    let mut out = Vec::new();
    for line in listed.lines().take(MAX_CONTAINERS) {
        let mut words = line.split_whitespace();
        let (Some(id), name) = (words.next(), words.next()) else { continue };
        let args = ["logs", "--since", since.as_str(), "--timestamps", "--tail", "200000", id]
            .map(str::to_owned);
        let shown = format!("docker logs --since {since} {}", name.unwrap_or(id));
        let (output, truncated) = match run(docker, &args).await {
            Ok((o, t)) => (Ok(o), t),
            Err(reason) => (Err(reason), false),
        };
        out.push(Captured {
            name: crate::sanitize::line(&shown).into_owned(),
            output,
            truncated,
            timed: true,
        });
    }
    out
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// Runs a read-only command: stdout and stderr together (docker copies a container's stderr to
/// its own), at most [`MAX_BYTES`], within [`TIME_LIMIT`]; the child is killed after that.
async fn run(program: &Path, args: &[String]) -> Result<(Vec<u8>, bool), String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("could not run {}: {e}", program.display()))?;
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let work = async {
        let (out, err) = tokio::join!(bounded(stdout), bounded(stderr));
        let status = child.wait().await;
        (out, err, status)
    };
    let Ok((mut out, err, status)) = tokio::time::timeout(TIME_LIMIT, work).await else {
        return Err(format!(
            "{} did not finish within {} s",
            program.display(),
            TIME_LIMIT.as_secs()
        ));
    };
    let failed = status.map_or(true, |s| !s.success());
    if failed && out.is_empty() {
        let first = String::from_utf8_lossy(&err).lines().next().unwrap_or("failed").to_owned();
        return Err(crate::sanitize::line(&first).into_owned());
    }
    out.extend_from_slice(&err);
    let truncated = out.len() as u64 >= MAX_BYTES;
    Ok((out, truncated))
}

async fn bounded<R: AsyncRead + Unpin>(pipe: Option<R>) -> Vec<u8> {
    let mut buf = Vec::new();
    if let Some(pipe) = pipe {
        let _ = pipe.take(MAX_BYTES).read_to_end(&mut buf).await;
    }
    buf
}
