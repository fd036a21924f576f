//! `triage check` as text: a headline, each check's summary (with the evidence lines of the
//! probe, the comparison and any check that failed), the request path, then the verdict — every
//! line sanitised, redacted and within 80 columns.

use super::{CheckRun, Health};
use crate::contract::CheckStatus;
use crate::text::wrap;
use crate::{redact, sanitize};

struct Paint(bool);

impl Paint {
    fn paint(&self, text: &str, code: &str) -> String {
        if self.0 { format!("\u{1b}[{code}m{text}\u{1b}[0m") } else { text.to_owned() }
    }
}

/// The text for a terminal or a log: a headline, each check's summary (with the evidence
/// lines of the probe, the comparison and any check that failed), then the verdict.
pub fn to_text(outcome: &CheckRun, colour: bool) -> String {
    let paint = Paint(colour);
    let clean = |s: &str| sanitize::line(&redact::text(s)).into_owned();
    let mut out = format!("{}\n", paint.paint(&clean(&outcome.url), "1"));
    for report in &outcome.reports {
        let (mark, code) = match report.status {
            CheckStatus::Passed => ("ok", "32"),
            CheckStatus::Warning => ("!!", "33"),
            CheckStatus::Failed => ("XX", "31"),
            CheckStatus::CouldNotRun { .. } | CheckStatus::TimedOut { .. } => ("??", "2"),
        };
        let title =
            crate::checks::registry::spec(&report.check).map_or(report.check.as_str(), |s| s.title);
        let line = wrap(&format!("{title}: {}", clean(&report.summary)), 76, "    ");
        out.push_str(&format!(" {} {line}\n", paint.paint(mark, code)));
        let full = matches!(report.check.as_str(), "http_probe" | "origin")
            || report.status == CheckStatus::Failed;
        if full {
            for line in &report.details {
                out.push_str(&format!("    {}\n", detail_line(&clean(line))));
            }
        }
    }
    out.push_str(&verdict_text(outcome, &paint, &clean));
    out
}

fn verdict_text(outcome: &CheckRun, paint: &Paint, clean: &dyn Fn(&str) -> String) -> String {
    let v = &outcome.assessment.verdict;
    let layer = v.layer.map_or("no single layer".to_owned(), |l| l.label().to_owned());
    let code = match outcome.health {
        Health::Healthy => "32;1",
        Health::Error => "31;1",
        Health::CouldNotCheck => "33;1",
    };
    let head = format!("verdict: {} at {layer} ({} confidence)", v.cause, v.confidence.label());
    let mut out = path_text(outcome, clean);
    out.push_str(&format!(
        "{}\n  {}\n",
        paint.paint(&head, code),
        wrap(&clean(&v.summary), 78, "  ")
    ));
    out.push_str(&timing_text(outcome));
    if let Some(step) = &v.step {
        out.push_str(&format!("  next: the runbook step `{step}`\n"));
    }
    // Findings that say something the verdict does not: other causes and observations.
    let others: Vec<&str> = outcome
        .assessment
        .findings
        .iter()
        .filter(|f| f.cause.as_ref() != Some(&v.cause))
        .map(|f| f.summary.as_str())
        .collect();
    let mut shown: Vec<&str> = Vec::new();
    for summary in others {
        if shown.len() < 5 && !shown.contains(&summary) {
            shown.push(summary);
            out.push_str(&format!("  also: {}\n", wrap(&clean(summary), 72, "        ")));
        }
    }
    out.push_str(&elsewhere_text(outcome, clean));
    out
}

/// `path: nginx (shop) → php-fpm pool www ✗`, when there is a path.
fn path_text(outcome: &CheckRun, clean: &dyn Fn(&str) -> String) -> String {
    if outcome.assessment.path.is_empty() {
        return String::new();
    }
    format!("path: {}\n", wrap(&clean(&outcome.assessment.chain()), 74, "      "))
}

/// When the errors began and whether they go on, from the site's access log.
fn timing_text(outcome: &CheckRun) -> String {
    let v = &outcome.assessment.verdict;
    let Some(t) = &outcome.assessment.timeline else {
        return format!("  timing: {}\n", v.timing.label());
    };
    if t.requests == 0 {
        return format!(
            "  timing: {} (the access log holds only triage's own probes)\n",
            v.timing.label()
        );
    }
    if t.errors == 0 {
        return format!(
            "  timing: {}; {} requests in the window, none failed\n",
            v.timing.label(),
            t.requests
        );
    }
    let since = t.first_error.as_deref().unwrap_or("?");
    let last = t.last_error.as_deref().unwrap_or("?");
    let line = format!(
        "timing: {}; {} of {} requests failed ({}%), first at {since}, last at {last}",
        v.timing.label(),
        t.errors,
        t.requests,
        t.share_pct
    );
    format!("  {}\n", wrap(&line, 78, "  "))
}

/// Other sites' errors on this server: counted, not this incident.
fn elsewhere_text(outcome: &CheckRun, clean: &dyn Fn(&str) -> String) -> String {
    let others = &outcome.assessment.elsewhere;
    if others.is_empty() {
        return String::new();
    }
    let lines: u64 = others.iter().map(|e| e.lines).sum();
    let names: Vec<&str> = others.iter().take(3).map(|e| e.site.as_str()).collect();
    let line = format!(
        "other sites on this server: {lines} error lines ({}), not this incident",
        names.join(", ")
    );
    format!("  {}\n", wrap(&clean(&line), 78, "  "))
}

/// An evidence line under its check: kept as it is when it fits (its spacing may align a table),
/// else wrapped with a hanging indent so the output stays within 80 columns.
fn detail_line(line: &str) -> String {
    if line.chars().count() <= 76 {
        return line.to_owned();
    }
    wrap(&line.split_whitespace().collect::<Vec<_>>().join(" "), 76, "      ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_evidence_lines_wrap_within_80_columns() {
        let line = "x ".repeat(60);
        assert!(detail_line(&line).lines().all(|l| l.chars().count() <= 80));
    }
}
