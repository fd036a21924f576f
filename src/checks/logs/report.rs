//! What a logs run amounts to: the signatures ranked (the site's own lines first), the facts,
//! the one-line verdict and the evidence lines for people.

use super::tally::{self, Tally};
use super::time::Clock;
use super::{MAX_LIST, SPEC};
use crate::contract::evidence::logs::{LineGroup, LogsEvidence, SignatureHit};
use crate::contract::{CheckReport, CheckStatus};
use crate::facts::Facts;
use crate::knowledge::signatures::Signatures;
use crate::sanitize;
use crate::text::bytes;

/// Signatures that matched: those naming a cause first, then by count, then table order.
pub(super) fn ranked(signatures: &Signatures, tally: &Tally) -> Vec<SignatureHit> {
    let mut hits: Vec<(usize, &tally::Hit)> =
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

/// The groups of matching lines, for attribution to the hops of the request path.
pub(super) fn groups(signatures: &Signatures, tally: &Tally) -> Vec<LineGroup> {
    tally
        .groups
        .iter()
        .map(|g| {
            let sig = &signatures.list[g.signature];
            LineGroup {
                signature: sig.id.clone(),
                cause: sig.cause.clone(),
                file: sanitize::line(&g.file).into_owned(),
                fields: g.fields.clone(),
                count: g.count,
                first: stamp(g.first),
                last: stamp(g.last),
                line: g.line.clone(),
            }
        })
        .collect()
}

/// Unix seconds as RFC 3339.
fn stamp(t: Option<i64>) -> Option<String> {
    t.and_then(|t| jiff::Timestamp::from_second(t).ok()).map(|t| t.to_string())
}

pub(super) fn facts(evidence: &LogsEvidence, journal: Option<&str>) -> Facts {
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

pub(super) fn window_words(evidence: &LogsEvidence) -> String {
    evidence
        .since_minutes
        .map_or_else(|| "the whole files".to_owned(), |m| format!("the last {}", minutes_words(m)))
}

/// A window as `--since` takes it: `1d`, `2h`, `45m`.
pub(super) fn since_arg(m: u64) -> String {
    match m {
        m if m % 1440 == 0 => format!("{}d", m / 1440),
        m if m % 60 == 0 => format!("{}h", m / 60),
        m => format!("{m}m"),
    }
}

pub(super) fn minutes_words(m: u64) -> String {
    match m {
        m if m % 1440 == 0 => format!("{} d", m / 1440),
        m if m % 60 == 0 => format!("{} h", m / 60),
        m => format!("{m} min"),
    }
}

pub(super) fn verdict(evidence: &LogsEvidence, sudo: &str) -> (CheckStatus, String) {
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

pub(super) fn nothing_read(evidence: &LogsEvidence, sudo: &str) -> (CheckStatus, String) {
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

pub(super) fn details(evidence: &LogsEvidence, clock: &Clock) -> Vec<String> {
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

pub(super) fn local(rfc3339: &str, clock: &Clock) -> String {
    rfc3339.parse::<jiff::Timestamp>().map_or_else(
        |_| rfc3339.to_owned(),
        |t| t.to_zoned(clock.tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
    )
}
