//! The `logs` check: finds the logs (the ones the proxy configs name, then the usual places and
//! the systemd journal), reads only the incident window of each by the lines' own timestamps,
//! and classifies lines against the signature table. It reads; it never writes, truncates or
//! rotates a log, and every line it reports is sanitised and redacted.

pub mod access;
pub mod commands;
pub mod discover;
pub mod journal;
mod read;
mod report;
pub mod scan;
mod split;
pub mod tally;
pub mod time;
pub mod window;

use std::path::PathBuf;
use std::sync::{LazyLock, Once};
use std::time::Duration;

use self::access::AccessLog;
use self::commands::Captured;
use self::journal::Journal;
use self::read::Reader;
use self::time::Clock;
use crate::contract::evidence::stack::Stack;
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, Input, Progress, Scope, fact, input, param,
};
use crate::facts::FactKind::{Int, List, Text};
use crate::knowledge::signatures::Signatures;
use crate::sanitize;
use crate::site::SiteUrl;

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "logs",
    title: "Scan the logs of the incident window",
    scope: Scope::Local,
    applies: Applies::LocalStack,
    params: &[
        input("since", false, Input::Since, "window, e.g. 30m, 2h, 1d or all (default 30m)"),
        param("files", false, "comma-separated logs to read instead of the discovered ones"),
        param("config_logs", false, "comma-separated logs the proxy configs name, read first"),
        input(
            "url",
            false,
            Input::Url,
            "the site under investigation: lines naming its host come first",
        ),
    ],
    produces: &[
        fact("logs.signatures", List, "ids of the signatures that matched, causes first, by count"),
        fact("logs.causes", List, "cause ids of the signatures that matched, in the same order"),
        fact("logs.matches", Int, "matching lines in the window"),
        fact(
            "logs.first_line",
            Text,
            "the first line of the top signature (the site's own when `url` names one), sanitised and redacted",
        ),
        fact("logs.unreadable", List, "logs that exist but could not be read"),
        fact("logs.files", List, "logs that were read (the journal as `systemd journal`)"),
        fact("logs.upstreams", List, "upstream addresses named by the matching nginx lines"),
        fact(
            "logs.journal",
            Text,
            "the systemd journal: read, partial (own messages) or unavailable",
        ),
    ],
    timeout: Duration::from_secs(60),
};

/// The window when the runbook or the user names none.
pub const DEFAULT_SINCE: &str = "30m";
/// Fact lists stay this short.
const MAX_LIST: usize = 20;
/// Stop this long before the engine's time limit, so the partial report still arrives.
const TIME_MARGIN: Duration = Duration::from_secs(5);
/// Progress is reported at most once per this many bytes.
const PROGRESS_BYTES: u64 = 64 << 20;

/// The built-in signature table, loaded once, when a run first has a line to classify. A
/// broken table is a build defect the tests catch; at run time it becomes a `could_not_run`
/// report.
type Table = LazyLock<Result<Signatures, String>>;
static SIGNATURES: Table = LazyLock::new(|| Signatures::builtin().map_err(|e| e.to_string()));

/// Loads the signature table on a thread of its own while the first scan opens its files and
/// finds the window (at its start the scan keeps one core busy of the two or more it will
/// use); the scan waits for it when it needs it, and loads it itself if no thread could be
/// started. Later scans (the TUI runs the check again) start nothing.
fn prepare() {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        // Detached: a run that ends first does not wait for it.
        let _ = std::thread::Builder::new().name("logs-table".to_owned()).spawn(|| {
            LazyLock::force(&SIGNATURES);
        });
    });
}

/// What to read and for how long back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// `None` reads whole files.
    pub since_minutes: Option<u64>,
    /// The user's own files; when set, nothing is discovered and the journal is not read.
    pub files: Vec<PathBuf>,
    /// Logs the proxy configs name (read first).
    pub config_logs: Vec<PathBuf>,
    /// Stop reading after this long (the engine's limit, less a margin, so the report still
    /// comes back); `None` reads everything asked for (`triage logs`).
    pub time_limit: Option<Duration>,
    /// The host (with a port that is not the scheme's) of the site under investigation, from
    /// the `url` param: its lines are quoted first.
    pub site: Option<String>,
    /// The site's access logs, whose window is counted per minute (`url` given, configs read).
    pub access_logs: Vec<AccessLog>,
}

impl Params {
    pub fn from_request(request: &CheckRequest) -> Result<Params, String> {
        let since = request.param("since").map(str::trim).filter(|s| !s.is_empty());
        let since_minutes = parse_since(since.unwrap_or(DEFAULT_SINCE))?;
        let list = |name: &str| -> Vec<PathBuf> {
            request
                .param(name)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect()
        };
        let time_limit = Some(SPEC.timeout.saturating_sub(TIME_MARGIN));
        Ok(Params {
            since_minutes,
            files: list("files"),
            config_logs: list("config_logs"),
            time_limit,
            site: request
                .param("url")
                .and_then(|u| SiteUrl::parse(u).ok())
                .map(|u| u.host_header()),
            access_logs: Vec::new(),
        })
    }
}

/// `30m`, `2h`, `1d`, `90s` (rounded up to minutes) or `all`.
pub fn parse_since(text: &str) -> Result<Option<u64>, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let bad =
        || format!("`{}` is not a window; expected e.g. 30m, 2h, 1d or all", sanitize::line(text));
    let (number, unit) =
        text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = number.parse().map_err(|_| bad())?;
    let minutes = match unit {
        "" | "m" | "min" => n,
        "s" => n.div_ceil(60),
        "h" => n.saturating_mul(60),
        "d" => n.saturating_mul(1440),
        _ => return Err(bad()),
    };
    if minutes == 0 {
        return Err(bad());
    }
    Ok(Some(minutes))
}

/// Runs the check. Unless the request names its own files, the logs that the running web
/// servers' and PHP-FPM's configs name (`system::proxy::log_paths`) are read first, ahead of
/// `config_logs` and the usual places; with a `url`, the access logs of the site that serves it
/// are counted per minute.
pub async fn run(request: CheckRequest, progress: Progress) -> CheckReport {
    let url = request.param("url").and_then(|u| SiteUrl::parse(u).ok());
    match Params::from_request(&request) {
        Ok(params) => run_discovered(params, url, Clock::system(), progress).await,
        Err(reason) => CheckReport::could_not_run(SPEC.id, reason, None),
    }
}

/// Runs the check; unless `params` names its own files, the logs the running servers' and
/// runtimes' configs name come first, the access logs of the site that serves `url` are counted
/// per minute, and the log commands of the running stack (`varnishlog -d`, `docker logs`) are
/// read too.
pub async fn run_discovered(
    mut params: Params,
    url: Option<SiteUrl>,
    clock: Clock,
    progress: Progress,
) -> CheckReport {
    if params.files.is_empty() {
        let task = tokio::task::spawn_blocking(move || configured_logs(url.as_ref()));
        let (errors, access, stack) = task.await.unwrap_or_default();
        for path in errors.into_iter().rev() {
            if !params.config_logs.contains(&path) {
                params.config_logs.insert(0, path);
            }
        }
        params.access_logs = access;
        // The commands and the journal answer at their own pace: ask them at once.
        let gather = commands::gather(stack.as_ref(), params.since_minutes);
        let journal = read_journal_from(true, cutoff(&params, &clock));
        let (captured, journal) = tokio::join!(gather, journal);
        return run_with_sources(params, clock, progress, journal, captured).await;
    }
    run_with_sources(params, clock, progress, None, Vec::new()).await
}

/// The logs the running servers', PHP-FPM's and the runtimes' configs name (blocking: reads
/// /proc and the configs, under `TRIAGE_ROOT` when it is set): the error logs, the access logs
/// of the site that serves `url`, and the stack they were found in. Paths with a variable (`$host.log`) only the server can expand
/// are left out.
pub fn configured_logs(url: Option<&SiteUrl>) -> (Vec<PathBuf>, Vec<AccessLog>, Option<Stack>) {
    let system = crate::system::System::from_env();
    let expandable = |path: &PathBuf| !path.to_string_lossy().contains('$');
    let stack = crate::system::stack::discover(&system).ok();
    let paths = match &stack {
        Some(stack) => crate::system::proxy::log_paths_of(&system, stack).paths,
        None => crate::system::proxy::log_paths(&system).paths,
    };
    let errors = paths
        .into_iter()
        .filter(|log| !log.kind.is_access())
        .map(|log| system.path(&log.path))
        .filter(expandable)
        .collect();
    let access = url
        .map(|url| crate::system::proxy::access_logs_for(&system, url))
        .unwrap_or_default()
        .into_iter()
        .filter(|log| expandable(&log.path))
        .map(|log| AccessLog { path: system.path(&log.path), site: log.site })
        .collect();
    (errors, access, stack)
}

/// The window's start for these parameters, Unix seconds; `None` reads whole files.
pub fn cutoff(params: &Params, clock: &Clock) -> Option<i64> {
    params
        .since_minutes
        .map(|m| clock.now - i64::try_from(m).unwrap_or(i64::MAX / 60).saturating_mul(60))
}

/// Runs the check with explicit parameters and clock (the CLI and tests). The journal is read
/// when no files are named.
pub async fn run_with(params: Params, clock: Clock, progress: Progress) -> CheckReport {
    let journal = read_journal(&params, &clock).await;
    run_with_journal(params, clock, progress, journal).await
}

/// The journal of the window, when no files are named.
async fn read_journal(params: &Params, clock: &Clock) -> Option<Journal> {
    let window = cutoff(params, clock);
    read_journal_from(params.files.is_empty(), window).await
}

/// The journal from `window` (Unix seconds) when `wanted`.
async fn read_journal_from(wanted: bool, window: Option<i64>) -> Option<Journal> {
    let system = crate::system::System::from_env();
    let elsewhere = !system.is_real_root() || !system.machine_wide();
    match (wanted, window) {
        // The journal is the whole machine's; a fixture root or a narrowed /proc has none.
        (true, Some(_)) if elsewhere => Some(Journal::Unavailable {
            reason: "not read: TRIAGE_ROOT or TRIAGE_PROC_ROOT points the checks elsewhere"
                .to_owned(),
        }),
        (true, Some(cutoff)) => Some(match journal::locate() {
            Ok(program) => journal::read(&program, cutoff).await,
            Err(reason) => Journal::Unavailable { reason },
        }),
        (true, None) => Some(Journal::Unavailable {
            reason: "not read with --since all (the whole journal is too much)".to_owned(),
        }),
        (false, _) => None,
    }
}

/// Runs the check on the files and on a journal already read (`None`: no journal).
pub async fn run_with_journal(
    params: Params,
    clock: Clock,
    progress: Progress,
    journal: Option<Journal>,
) -> CheckReport {
    run_with_sources(params, clock, progress, journal, Vec::new()).await
}

/// Runs the check on the files, a journal already read and the output of log commands
/// (`varnishlog -d`, `docker logs`) already captured.
pub async fn run_with_sources(
    params: Params,
    clock: Clock,
    progress: Progress,
    journal: Option<Journal>,
    captured: Vec<Captured>,
) -> CheckReport {
    let cutoff = cutoff(&params, &clock);
    prepare();
    let task = tokio::task::spawn_blocking(move || {
        let mut reader = Reader::new(&SIGNATURES, &clock, cutoff, &params, progress);
        reader.read_all(&params, journal);
        for source in captured {
            reader.read_captured(source);
        }
        reader.report()
    });
    task.await.unwrap_or_else(|e| {
        CheckReport::could_not_run(SPEC.id, format!("the log scan failed: {e}"), None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use report::since_arg;

    #[test]
    fn windows_parse_in_minutes() {
        assert_eq!(parse_since("30m"), Ok(Some(30)));
        assert_eq!(parse_since("2h"), Ok(Some(120)));
        assert_eq!(parse_since("1d"), Ok(Some(1440)));
        assert_eq!(parse_since("90s"), Ok(Some(2)));
        assert_eq!(parse_since("45"), Ok(Some(45)));
        assert_eq!(parse_since("ALL"), Ok(None));
        for m in [30, 120, 1440, 90] {
            assert_eq!(parse_since(&since_arg(m)), Ok(Some(m)), "{m}");
        }
        for bad in ["", "0m", "m", "3 weeks", "-5m", "\u{1b}[2J"] {
            let err = parse_since(bad).unwrap_err();
            assert!(err.contains("expected e.g. 30m") && !err.contains('\u{1b}'), "{err}");
        }
    }
}
