//! Reading the logs of one run: each log and its rotated siblings, only the incident window of
//! each (found by the lines' own timestamps), gzip'd rotations streamed within a budget, and the
//! journal; what could not be read is recorded with the command that would read it.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use flate2::read::MultiGzDecoder;

use super::Table;
use super::access;
use super::commands::Captured;
use super::journal::{self, Journal};
use super::report::{details, facts, groups, ranked, since_arg, verdict};
use super::scan::Scan;
use super::split::{self, Region};
use super::tally::Tally;
use super::time::Clock;
use super::window::{self, Start};
use super::{PROGRESS_BYTES, Params, SPEC, discover};
use crate::contract::evidence::logs::{LogFile, LogsEvidence, UnreadableLog};
use crate::contract::{CheckReport, Evidence, Progress};
use crate::knowledge::signatures::Signatures;
use crate::sanitize;

/// One run's state: the tally and the evidence so far.
pub(super) struct Reader<'a> {
    /// The signature table, loaded when the first log has bytes to classify: a run over
    /// empty or untouched logs never pays for it.
    table: &'static Table,
    /// Why the table could not be loaded, once that is known.
    broken: Option<String>,
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
    pub(super) fn new(
        table: &'static Table,
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
            read_at: jiff::Timestamp::from_second(clock.now).ok().map(|t| t.to_string()),
            ..LogsEvidence::default()
        };
        Reader {
            table,
            broken: None,
            clock,
            cutoff,
            tally: Tally::for_site(params.site.clone()),
            evidence,
            journal_fact: None,
            progress,
            deadline: params.time_limit.map(|limit| Instant::now() + limit),
            sudo,
        }
    }

    pub(super) fn read_all(&mut self, params: &Params, journal: Option<Journal>) {
        let logs = if params.files.is_empty() {
            let system = crate::system::System::from_env();
            let found = if system.machine_wide() {
                discover::discover(&params.config_logs, &system.root)
            } else {
                discover::discover_named(&params.config_logs)
            };
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
        for log in &params.access_logs {
            match access::summarise(log, self.cutoff, self.clock) {
                Ok(summary) => self.evidence.access.push(summary),
                Err(e) => self.unreadable(&log.path, &e, false),
            }
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
                Err(e) if crate::file::not_regular_kind(&e).is_some() => {
                    let shown = sanitize::line(&file.display().to_string()).into_owned();
                    self.evidence.skipped.push(format!("{shown}: {e}; not read"));
                    break;
                }
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
        let file = crate::file::open_regular(path)?;
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

    /// The signature table, loaded on first use; `None` (and `broken` set) when it is broken.
    fn signatures(&mut self) -> Option<&'static Signatures> {
        match self.table.as_ref() {
            Ok(signatures) => Some(signatures),
            Err(e) => {
                self.broken = Some(format!("the signature table is broken: {e}"));
                None
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
        let Some(signatures) = self.signatures() else { return };
        let name = part.path.display().to_string();
        let mut scan = Scan::new(signatures, self.clock, &name);
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
            let region = Region { start: part.offset, end: part.size };
            read_plain(&part.file, region, &mut scan, &mut self.tally, &mut tick)
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
        let Some(signatures) = self.signatures() else { return };
        let mut scan = Scan::new(signatures, self.clock, "systemd journal");
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

    /// The output of a log command (`varnishlog -d`, `docker logs`), scanned as one log.
    pub(super) fn read_captured(&mut self, captured: Captured) {
        let name = sanitize::line(&captured.name).into_owned();
        let output = match captured.output {
            Ok(output) => output,
            Err(reason) => {
                self.evidence.skipped.push(format!("{name}: {}", sanitize::line(&reason)));
                return;
            }
        };
        if output.is_empty() {
            self.evidence.files.push(LogFile {
                path: name,
                compressed: false,
                size: 0,
                bytes_read: 0,
                note: None,
            });
            return;
        }
        let Some(signatures) = self.signatures() else { return };
        let mut scan = Scan::new(signatures, self.clock, &name);
        scan.cutoff = self.cutoff;
        scan.timed = captured.timed;
        let size = output.len() as u64;
        let _ = scan.read(output.as_slice(), &mut self.tally, &mut |_| true);
        let note = match (captured.truncated, captured.timed) {
            (true, _) => Some(format!("stopped after {} MiB", super::commands::MAX_BYTES >> 20)),
            (false, false) => {
                Some("what the command still holds in memory; its lines carry no time".to_owned())
            }
            (false, true) => None,
        };
        self.evidence.files.push(LogFile {
            path: name,
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

    pub(super) fn report(mut self) -> CheckReport {
        if let Some(reason) = self.broken {
            return CheckReport::could_not_run(SPEC.id, reason, None);
        }
        // Hits exist only if a log was classified, so the table is loaded by then.
        if let Some(Ok(signatures)) =
            self.tally.hits.iter().any(Option::is_some).then(|| self.table.as_ref())
        {
            self.evidence.signatures = ranked(signatures, &self.tally);
            self.evidence.groups = groups(signatures, &self.tally);
        }
        self.evidence.upstreams = self.tally.upstreams.iter().cloned().collect();
        self.evidence.ungrouped = self.tally.ungrouped;
        let facts = facts(&self.evidence, self.journal_fact);
        let details = details(&self.evidence, self.clock);
        let (status, summary) = verdict(&self.evidence, &self.sudo);
        CheckReport::new(SPEC.id, status, summary)
            .with_facts(facts)
            .with_details(details)
            .with_evidence(Evidence::Logs(Box::new(self.evidence)))
    }
}

/// Reads `region` of a plain file: on every core when it is large, else on this thread.
fn read_plain(
    file: &File,
    region: Region,
    scan: &mut Scan,
    tally: &mut Tally,
    keep_going: &mut dyn FnMut(u64) -> bool,
) -> io::Result<u64> {
    let workers = split::workers();
    if workers > 0 && region.end - region.start >= split::PARALLEL_MIN {
        return split::scan_region(file, region, workers, scan, tally, keep_going);
    }
    let mut file = file;
    file.seek(SeekFrom::Start(region.start))?;
    scan.read(file.take(region.end - region.start), tally, keep_going)
}

/// Why a read stopped early.
pub(super) const TIME_LIMIT_NOTE: &str =
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
    pub(super) fn new(path: &Path, file: File, size: u64) -> Self {
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
pub(super) fn shell_word(text: &str) -> String {
    shlex::try_quote(&sanitize::line(text))
        .map_or_else(|_| "'?'".to_owned(), std::borrow::Cow::into_owned)
}
