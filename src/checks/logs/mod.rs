//! The `logs` check: finds the logs (the ones the proxy configs name, then the usual places and
//! the systemd journal), reads only the incident window of each by the lines' own timestamps,
//! and classifies lines against the signature table. It reads; it never writes, truncates or
//! rotates a log, and every line it reports is sanitised and redacted.

pub mod discover;
pub mod journal;
pub mod scan;
pub mod time;
pub mod window;

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use flate2::read::MultiGzDecoder;

use self::journal::Journal;
use self::scan::{Scan, Tally};
use self::time::Clock;
use self::window::Start;
use crate::contract::evidence::logs::{LogFile, LogsEvidence, SignatureHit, UnreadableLog};
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input, param,
};
use crate::facts::FactKind::{Int, List, Text};
use crate::facts::Facts;
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

/// The built-in signature table, loaded once. A broken table is a build defect the tests catch;
/// at run time it becomes a `could_not_run` report.
static SIGNATURES: LazyLock<Result<Signatures, String>> =
    LazyLock::new(|| Signatures::builtin().map_err(|e| e.to_string()));

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
/// servers' and PHP-FPM's configs name (`checks::proxy::log_paths`) are read first, ahead of
/// `config_logs` and the usual places.
pub async fn run(request: CheckRequest, progress: Progress) -> CheckReport {
    let mut params = match Params::from_request(&request) {
        Ok(params) => params,
        Err(reason) => return CheckReport::could_not_run(SPEC.id, reason, None),
    };
    if params.files.is_empty() {
        let configured = tokio::task::spawn_blocking(configured_logs).await.unwrap_or_default();
        for path in configured.into_iter().rev() {
            if !params.config_logs.contains(&path) {
                params.config_logs.insert(0, path);
            }
        }
    }
    run_with(params, Clock::system(), progress).await
}

/// The log files the running servers' configs name (blocking: reads /proc and the configs). Paths with a variable (`$host.log`) only
/// the server can expand are left out.
pub fn configured_logs() -> Vec<PathBuf> {
    let system = crate::system::System::from_env();
    crate::system::proxy::log_paths(&system)
        .paths
        .into_iter()
        .map(|log| log.path)
        .filter(|path| !path.to_string_lossy().contains('$'))
        .collect()
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
    let journal = match (params.files.is_empty(), cutoff(&params, &clock)) {
        (true, Some(cutoff)) => Some(match journal::locate() {
            Ok(program) => journal::read(&program, cutoff).await,
            Err(reason) => Journal::Unavailable { reason },
        }),
        (true, None) => Some(Journal::Unavailable {
            reason: "not read with --since all (the whole journal is too much)".to_owned(),
        }),
        (false, _) => None,
    };
    run_with_journal(params, clock, progress, journal).await
}

/// Runs the check on the files and on a journal already read (`None`: no journal).
pub async fn run_with_journal(
    params: Params,
    clock: Clock,
    progress: Progress,
    journal: Option<Journal>,
) -> CheckReport {
    let signatures = match SIGNATURES.as_ref() {
        Ok(s) => s,
        Err(e) => {
            let reason = format!("the signature table is broken: {e}");
            return CheckReport::could_not_run(SPEC.id, reason, None);
        }
    };
    let cutoff = cutoff(&params, &clock);
    let task = tokio::task::spawn_blocking(move || {
        let mut reader = Reader::new(signatures, &clock, cutoff, &params, progress);
        reader.read_all(&params, journal);
        reader.report()
    });
    task.await.unwrap_or_else(|e| {
        CheckReport::could_not_run(SPEC.id, format!("the log scan failed: {e}"), None)
    })
}

/// One run's state: the tally and the evidence so far.
struct Reader<'a> {
    signatures: &'a Signatures,
    clock: &'a Clock,
    cutoff: Option<i64>,
    tally: Tally,
    evidence: LogsEvidence,
    journal_fact: Option<&'static str>,
    progress: Progress,
    /// When to stop reading, if ever.
    deadline: Option<Instant>,
    /// What to run instead when something could not be read.
    sudo: String,
}

impl<'a> Reader<'a> {
    fn new(
        signatures: &'a Signatures,
        clock: &'a Clock,
        cutoff: Option<i64>,
        params: &Params,
        progress: Progress,
    ) -> Self {
        let since = params.since_minutes.map_or_else(|| "all".to_owned(), since_arg);
        let files: Vec<String> = params
            .files
            .iter()
            .map(|p| format!("{} ", shell_word(&p.display().to_string())))
            .collect();
        let sudo = format!("sudo triage logs {}--since {since}", files.concat());
        let evidence = LogsEvidence {
            since_minutes: params.since_minutes,
            cutoff: cutoff
                .and_then(|c| jiff::Timestamp::from_second(c).ok())
                .map(|t| t.to_string()),
            ..LogsEvidence::default()
        };
        Reader {
            signatures,
            clock,
            cutoff,
            tally: Tally { site: params.site.clone(), ..Tally::new(signatures) },
            evidence,
            journal_fact: None,
            progress,
            deadline: params.time_limit.map(|limit| Instant::now() + limit),
            sudo,
        }
    }

    fn read_all(&mut self, params: &Params, journal: Option<Journal>) {
        let logs = if params.files.is_empty() {
            let found = discover::discover(&params.config_logs, Path::new("/"));
            for (dir, kind) in found.unlisted {
                self.unreadable(&dir, &io::Error::from(kind), true);
            }
            let journal_read = matches!(journal, Some(Journal::Read { .. }));
            self.without_journal_copies(found.logs, journal_read, &params.config_logs)
        } else {
            params.files.clone()
        };
        for log in &logs {
            self.read_family(log);
        }
        if let Some(journal) = journal {
            self.read_journal(journal);
        }
    }

    /// Where the whole journal is read, syslog, messages and kern.log are copies of it (rsyslog
    /// forwards the journal): reading both would count every OOM kill twice.
    fn without_journal_copies(
        &mut self,
        logs: Vec<PathBuf>,
        journal_read: bool,
        named: &[PathBuf],
    ) -> Vec<PathBuf> {
        if !journal_read {
            return logs;
        }
        let (copies, logs): (Vec<PathBuf>, Vec<PathBuf>) =
            logs.into_iter().partition(|p| discover::is_journal_copy(p) && !named.contains(p));
        for copy in copies {
            let shown = sanitize::line(&copy.display().to_string()).into_owned();
            self.evidence
                .skipped
                .push(format!("{shown}: the systemd journal holds the same messages"));
        }
        logs
    }

    /// A log and, when the window reaches back into them, its rotated siblings, read oldest
    /// first so that "first" means first in time.
    fn read_family(&mut self, path: &Path) {
        let mut parts = Vec::new();
        let mut older = vec![path.to_path_buf()];
        if self.cutoff.is_some() {
            older.extend(window::rotated(path));
        }
        for file in older {
            match self.plan(&file) {
                Ok(Some((part, reaches_older))) => {
                    parts.push(part);
                    if !reaches_older {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.unreadable(&file, &e, false);
                    break;
                }
            }
        }
        for part in parts.into_iter().rev() {
            self.read_part(part);
        }
    }

    /// What to read of one file, and whether the window reaches further back than it.
    /// `None` when nothing in it (or older) is in the window.
    fn plan(&mut self, path: &Path) -> io::Result<Option<(Part, bool)>> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let part = Part::new(path, file, meta.len());
        if part.size == 0 {
            self.evidence.files.push(part.record(0, Some("empty".to_owned())));
            return Ok(None);
        }
        let Some(cutoff) = self.cutoff else { return Ok(Some((part, false))) };
        if window::modified(&meta) < cutoff {
            let note = "last written before the window; not read".to_owned();
            self.evidence.files.push(part.record(0, Some(note)));
            return Ok(None);
        }
        if part.gzip {
            let (first, probed) = window::gzip_first_time(path, self.clock)?;
            let reaches_older = first.is_none_or(|t| t >= cutoff);
            return Ok(Some((Part { probed, ..part }, reaches_older)));
        }
        self.plan_plain(part, cutoff)
    }

    /// A plain file: where its window starts, by binary search on its timestamps.
    fn plan_plain(&mut self, mut part: Part, cutoff: i64) -> io::Result<Option<(Part, bool)>> {
        let (start, probed) = window::window_start(&part.file, part.size, cutoff, self.clock)?;
        part.probed = probed;
        match start {
            Start::At { offset, before } => Ok(Some((Part { offset, ..part }, before))),
            Start::Nothing => {
                let note = Some("no line in the window".to_owned());
                self.evidence.files.push(part.record(probed, note));
                Ok(None)
            }
            Start::Untimed => {
                part.offset = part.size.saturating_sub(window::TAIL_BYTES);
                part.timed = false;
                let tail = window::TAIL_BYTES >> 20;
                part.note = Some(format!("no timestamps triage knows; read the last {tail} MiB"));
                Ok(Some((part, false)))
            }
        }
    }

    fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    fn read_part(&mut self, mut part: Part) {
        if self.out_of_time() {
            let note = Some(format!("not read: {TIME_LIMIT_NOTE}"));
            self.evidence.files.push(part.record(part.probed, note));
            return;
        }
        let name = part.path.display().to_string();
        let mut scan = Scan::new(self.signatures, self.clock, &name);
        scan.cutoff = self.cutoff;
        scan.timed = part.timed;
        let (progress, deadline) = (self.progress.clone(), self.deadline);
        let mut reported = 0;
        let mut tick = |n: u64| {
            if n >= reported + PROGRESS_BYTES {
                reported = n;
                progress.report(format!("{name}: {} MiB read", n >> 20));
            }
            deadline.is_none_or(|d| Instant::now() < d)
        };
        let result = if part.gzip {
            let limit = window::MAX_GZIP_BYTES;
            let reader = MultiGzDecoder::new(&part.file).take(limit);
            scan.read(reader, &mut self.tally, &mut tick).inspect(|&n| {
                if n >= limit {
                    part.note = Some(format!("stopped after {} GiB decompressed", limit >> 30));
                }
            })
        } else {
            part.file.seek(SeekFrom::Start(part.offset)).and_then(|_| {
                scan.read((&part.file).take(part.size - part.offset), &mut self.tally, &mut tick)
            })
        };
        if scan.stopped {
            part.note = Some(format!("stopped: {TIME_LIMIT_NOTE}"));
        }
        match result {
            Ok(read) => {
                let note = part.note.take();
                let record = part.record(part.probed + read, note);
                self.evidence.files.push(record);
            }
            Err(e) => self.unreadable(&part.path, &e, false),
        }
    }

    fn read_journal(&mut self, journal: Journal) {
        let (output, note) = match journal {
            Journal::Read { output, truncated } => {
                self.journal_fact = Some("read");
                (
                    output,
                    truncated.then(|| format!("stopped after {} MiB", journal::MAX_BYTES >> 20)),
                )
            }
            Journal::Partial { output, instead } => {
                self.journal_fact = Some("partial");
                self.evidence.unreadable.push(UnreadableLog {
                    path: "systemd journal".to_owned(),
                    reason: "only this user's messages are visible".to_owned(),
                    instead,
                });
                (output, Some("only this user's messages".to_owned()))
            }
            Journal::Unavailable { reason } => {
                self.journal_fact = Some("unavailable");
                self.evidence.skipped.push(format!("systemd journal: {reason}"));
                return;
            }
        };
        let mut scan = Scan::new(self.signatures, self.clock, "systemd journal");
        scan.cutoff = self.cutoff;
        scan.timed = true;
        let size = output.len() as u64;
        let _ = scan.read(output.as_slice(), &mut self.tally, &mut |_| true);
        self.evidence.files.push(LogFile {
            path: "systemd journal".to_owned(),
            compressed: false,
            size,
            bytes_read: size,
            note,
        });
    }

    /// A log (or a directory of logs, `dir`) that could not be read, and what would read it.
    fn unreadable(&mut self, path: &Path, error: &io::Error, dir: bool) {
        let reason = if dir {
            format!("{}; cannot list the directory", describe(error))
        } else {
            describe(error)
        };
        let instead = if error.kind() == io::ErrorKind::PermissionDenied && !is_root() {
            self.sudo.clone()
        } else {
            format!("ls -l {}", shell_word(&path.display().to_string()))
        };
        let path = sanitize::line(&path.display().to_string()).into_owned();
        self.evidence.unreadable.push(UnreadableLog { path, reason, instead });
    }

    fn report(mut self) -> CheckReport {
        self.evidence.signatures = ranked(self.signatures, &self.tally);
        self.evidence.upstreams = self.tally.upstreams.iter().cloned().collect();
        let facts = facts(&self.evidence, self.journal_fact);
        let details = details(&self.evidence, self.clock);
        let (status, summary) = verdict(&self.evidence, &self.sudo);
        CheckReport::new(SPEC.id, status, summary)
            .with_facts(facts)
            .with_details(details)
            .with_evidence(Evidence::Logs(Box::new(self.evidence)))
    }
}

/// Why a read stopped early.
const TIME_LIMIT_NOTE: &str =
    "the check's time limit was reached (`triage logs` from a shell has none)";

/// One file to read: opened once, so the plan and the read see the same file.
#[derive(Debug)]
struct Part {
    path: PathBuf,
    file: File,
    size: u64,
    offset: u64,
    probed: u64,
    timed: bool,
    gzip: bool,
    note: Option<String>,
}

impl Part {
    fn new(path: &Path, file: File, size: u64) -> Self {
        let gzip = window::is_gzip(path);
        let path = path.to_path_buf();
        Part { path, file, size, offset: 0, probed: 0, timed: true, gzip, note: None }
    }

    fn record(&self, bytes_read: u64, note: Option<String>) -> LogFile {
        LogFile {
            path: sanitize::line(&self.path.display().to_string()).into_owned(),
            compressed: self.gzip,
            size: self.size,
            bytes_read,
            note,
        }
    }
}

fn describe(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        io::ErrorKind::NotFound => "not found".to_owned(),
        io::ErrorKind::IsADirectory => "is a directory".to_owned(),
        _ => sanitize::line(&error.to_string()).to_lowercase(),
    }
}

/// Whether this process runs as root: `/proc/self` belongs to the process's effective user.
fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A path as one shell word, for the commands triage prints.
fn shell_word(text: &str) -> String {
    shlex::try_quote(&sanitize::line(text))
        .map_or_else(|_| "'?'".to_owned(), std::borrow::Cow::into_owned)
}

/// Signatures that matched: those naming a cause first, then by count, then table order.
fn ranked(signatures: &Signatures, tally: &Tally) -> Vec<SignatureHit> {
    let mut hits: Vec<(usize, &scan::Hit)> =
        tally.hits.iter().enumerate().filter_map(|(i, h)| h.as_ref().map(|h| (i, h))).collect();
    // With a site named, its own signatures come first: another site's errors on the same
    // server are not this incident's.
    hits.sort_by_key(|(i, h)| {
        let other_site = tally.site.is_some() && h.site_line.is_none();
        (signatures.list[*i].cause.is_none(), other_site, std::cmp::Reverse(h.count), *i)
    });
    hits.into_iter()
        .map(|(i, hit)| {
            let sig = &signatures.list[i];
            let stamp = |t: Option<i64>| {
                t.and_then(|t| jiff::Timestamp::from_second(t).ok()).map(|t| t.to_string())
            };
            SignatureHit {
                id: sig.id.clone(),
                title: sig.title.clone(),
                layer: sig.layer,
                cause: sig.cause.clone(),
                step: sig.step.clone(),
                count: hit.count,
                first: stamp(hit.first),
                last: stamp(hit.last),
                first_line: hit.first_line.clone(),
                file: sanitize::line(&hit.file).into_owned(),
                site_line: hit.site_line.as_ref().map(|(_, line)| line.clone()),
            }
        })
        .collect()
}

fn facts(evidence: &LogsEvidence, journal: Option<&str>) -> Facts {
    let mut facts = Facts::new();
    let sigs = &evidence.signatures;
    facts.set(
        "logs.signatures",
        sigs.iter().take(MAX_LIST).map(|s| s.id.clone()).collect::<Vec<_>>(),
    );
    let mut causes: Vec<String> = Vec::new();
    for cause in sigs.iter().filter_map(|s| s.cause.as_ref()) {
        if !causes.contains(cause) {
            causes.push(cause.clone());
        }
    }
    facts.set("logs.causes", causes);
    let matches: u64 = sigs.iter().map(|s| s.count).sum();
    facts.set("logs.matches", i64::try_from(matches).unwrap_or(i64::MAX));
    if let Some(top) = sigs.first() {
        facts.set("logs.first_line", top.quoted_line().chars().take(500).collect::<String>());
    }
    let read: Vec<String> =
        evidence.files.iter().filter(|f| f.bytes_read > 0).map(|f| f.path.clone()).collect();
    facts.set("logs.files", read.into_iter().take(MAX_LIST).collect::<Vec<_>>());
    facts.set(
        "logs.unreadable",
        evidence.unreadable.iter().take(MAX_LIST).map(|u| u.path.clone()).collect::<Vec<_>>(),
    );
    facts.set("logs.upstreams", evidence.upstreams.clone());
    if let Some(journal) = journal {
        facts.set("logs.journal", journal);
    }
    facts
}

fn window_words(evidence: &LogsEvidence) -> String {
    evidence
        .since_minutes
        .map_or_else(|| "the whole files".to_owned(), |m| format!("the last {}", minutes_words(m)))
}

/// A window as `--since` takes it: `1d`, `2h`, `45m`.
fn since_arg(m: u64) -> String {
    match m {
        m if m % 1440 == 0 => format!("{}d", m / 1440),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}

fn minutes_words(m: u64) -> String {
    match m {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

fn verdict(evidence: &LogsEvidence, sudo: &str) -> (CheckStatus, String) {
    let read = evidence.files.len();
    let window = window_words(evidence);
    if read == 0 {
        return nothing_read(evidence, sudo);
    }
    let mut unread = match evidence.unreadable.len() {
        0 => String::new(),
        n => format!(
            "; {} could not be read (try `{sudo}`)",
            crate::text::count(n, "source", "sources")
        ),
    };
    let cut =
        evidence.files.iter().any(|f| f.note.as_deref().is_some_and(|n| n.contains("time limit")));
    if cut {
        unread.push_str("; the time limit stopped the scan before the end");
    }
    let Some(top) = evidence.signatures.first() else {
        let status = if unread.is_empty() { CheckStatus::Passed } else { CheckStatus::Warning };
        let logs = crate::text::count(read, "log", "logs");
        return (status, format!("No known error signature in {window} of {logs}{unread}."));
    };
    let others = match evidence.signatures.len() - 1 {
        0 => String::new(),
        n => format!(" and {} more", crate::text::count(n, "signature", "signatures")),
    };
    let lines = crate::text::count(top.count as usize, "line", "lines");
    match &top.cause {
        Some(cause) => (
            CheckStatus::Failed,
            format!("{cause}: {} — {lines} in {window}{others}{unread}.", top.title),
        ),
        None => (
            CheckStatus::Warning,
            format!("{} — {lines} in {window}{others}; none names a cause{unread}.", top.title),
        ),
    }
}

fn nothing_read(evidence: &LogsEvidence, sudo: &str) -> (CheckStatus, String) {
    if let Some(first) = evidence.unreadable.first() {
        let reason = format!("could not read {} ({})", first.path, first.reason);
        let instead = Some(if first.reason.starts_with("permission denied") {
            first.instead.clone()
        } else {
            sudo.to_owned()
        });
        let report = CheckReport::could_not_run(SPEC.id, reason, instead);
        return (report.status, report.summary);
    }
    let reason = "found no log to read in the usual places".to_owned();
    let report = CheckReport::could_not_run(
        SPEC.id,
        reason,
        Some("triage logs /path/to/error.log".to_owned()),
    );
    (report.status, report.summary)
}

fn details(evidence: &LogsEvidence, clock: &Clock) -> Vec<String> {
    let mut out = Vec::new();
    for hit in &evidence.signatures {
        let cause = hit.cause.as_deref().unwrap_or("no cause by itself");
        let when = match (&hit.first, &hit.last) {
            (Some(f), Some(l)) => format!(" {}–{}", local(f, clock), local(l, clock)),
            _ => String::new(),
        };
        out.push(format!("{} ×{}{when} ({cause}, {}): {}", hit.id, hit.count, hit.file, hit.title));
        out.push(format!("  first: {}", hit.first_line));
        if let Some(line) = hit.site_line.as_ref().filter(|l| **l != hit.first_line) {
            out.push(format!("  first for this site: {line}"));
        }
    }
    for file in &evidence.files {
        let note = file.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default();
        let unpacked = if file.compressed { " decompressed, from" } else { " of" };
        let (read, size) = (bytes(file.bytes_read), bytes(file.size));
        if file.size == 0 && file.path == "systemd journal" {
            out.push(format!("systemd journal: no entries in the window{note}"));
        } else if file.size == 0 {
            out.push(format!("read {}: empty", file.path));
        } else if file.bytes_read >= file.size && !file.compressed {
            // Small files are read whole; the few bytes the window search probed twice are
            // not worth a confusing "3 KiB of 2 KiB".
            out.push(format!("read {}: all {size}{note}", file.path));
        } else {
            out.push(format!("read {}: {read}{unpacked} {size}{note}", file.path));
        }
    }
    for u in &evidence.unreadable {
        out.push(format!("could not read {} ({}): run `{}`", u.path, u.reason, u.instead));
    }
    out.extend(evidence.skipped.iter().map(|s| format!("skipped {s}")));
    out
}

fn local(rfc3339: &str, clock: &Clock) -> String {
    rfc3339.parse::<jiff::Timestamp>().map_or_else(
        |_| rfc3339.to_owned(),
        |t| t.to_zoned(clock.tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
    )
}

/// `512 B`, `64.0 KiB`, `3.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(64 * 1024), "64.0 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
