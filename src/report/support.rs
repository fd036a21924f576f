//! "What to send support": the eight items a hosting provider or CDN asks for, each filled from
//! the evidence and the answers, or marked as not collected. Values are sanitised and redacted
//! here, once, so every exporter (markdown, JSON, the copied summary) shows the same safe text.

use crate::diagnosis::Diagnosis;
use crate::facts::{FactValue, Facts};
use crate::runbook::model::SupportItem;
use crate::session::{Event, Session};
use crate::{redact, sanitize};

/// What a summary says for an item nothing filled.
pub const NOT_COLLECTED: &str = "not collected";
/// Header lines kept per item; a real response has a dozen or two.
const MAX_LINES: usize = 40;

/// One item of the support note.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub item: SupportItem,
    pub label: &'static str,
    /// The lines that fill it, safe to show; empty when not collected.
    pub lines: Vec<String>,
    /// Where the value came from: fact keys, or `answer`.
    pub source: Vec<String>,
}

impl Item {
    pub fn collected(&self) -> bool {
        !self.lines.is_empty()
    }
}

/// Every item, in the fixed order of [`SupportItem::ALL`].
pub fn collect(session: &Session, facts: &Facts, diagnosis: &Diagnosis) -> Vec<Item> {
    SupportItem::ALL
        .iter()
        .map(|&item| {
            let (mut lines, mut source) = from_evidence(item, session, facts, diagnosis);
            if lines.is_empty() {
                for answer in answers_filling(session, item) {
                    lines.push(clean(&answer));
                    source.push("answer".to_owned());
                }
            }
            lines.truncate(MAX_LINES);
            Item { item, label: item.label(), lines, source }
        })
        .collect()
}

/// Text answers recorded as filling this item, in order.
fn answers_filling(session: &Session, item: SupportItem) -> Vec<String> {
    session
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Answered { answer, fills, .. }
                if fills.contains(&item) && !answer.trim().is_empty() =>
            {
                Some(answer.clone())
            }
            Event::Asked { item: Some(filled), answer, .. }
                if *filled == item && !answer.trim().is_empty() =>
            {
                Some(answer.clone())
            }
            _ => None,
        })
        .collect()
}

/// Sanitised and redacted, on one line. A `Name: value` line is treated as a header first, so
/// `Cookie:` and `Authorization:` lose their values whatever they hold.
pub fn clean(text: &str) -> String {
    let line = sanitize::line(text);
    let looks_like_header = line.split_once(':').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    let line =
        if looks_like_header { redact::header_line(&line).into_owned() } else { line.into_owned() };
    redact::text(&line).into_owned()
}

/// Like [`clean`], line by line, keeping the line breaks (notes, pasted answers).
pub fn clean_lines(text: &str) -> String {
    // Redacted whole first: a private key or a YAML block spans lines.
    redact::text(&sanitize::terminal_text(text, true))
        .lines()
        .map(clean)
        .collect::<Vec<_>>()
        .join("\n")
}

fn text(facts: &Facts, key: &str) -> Option<String> {
    facts.get(key).map(|v| clean(&v.to_string())).filter(|s| !s.is_empty())
}

fn list(facts: &Facts, key: &str) -> Vec<String> {
    match facts.get(key) {
        Some(FactValue::List(items)) => items.iter().map(|i| clean(i)).collect(),
        Some(other) => vec![clean(&other.to_string())],
        None => Vec::new(),
    }
}

fn from_evidence(
    item: SupportItem,
    session: &Session,
    facts: &Facts,
    diagnosis: &Diagnosis,
) -> (Vec<String>, Vec<String>) {
    match item {
        SupportItem::AffectedUrl => (affected_url(session), vec!["input url".to_owned()]),
        SupportItem::Timestamps => (timestamps(session), vec!["session".to_owned()]),
        SupportItem::Status => status(facts),
        SupportItem::ResponseHeaders => {
            let lines = headers(facts);
            sourced(lines, &["http.headers"])
        }
        SupportItem::RequestIds => sourced(list(facts, "http.request_ids"), &["http.request_ids"]),
        SupportItem::RecentChanges => sourced(changes(facts), &["changes.*"]),
        SupportItem::Branding => branding(facts, diagnosis),
        SupportItem::FirstLogLine => {
            sourced(text(facts, "logs.first_line").into_iter().collect(), &["logs.first_line"])
        }
    }
}

fn sourced(lines: Vec<String>, keys: &[&str]) -> (Vec<String>, Vec<String>) {
    let source =
        if lines.is_empty() { Vec::new() } else { keys.iter().map(|k| (*k).to_owned()).collect() };
    (lines, source)
}

fn affected_url(session: &Session) -> Vec<String> {
    let url = &session.url;
    if url.trim().is_empty() {
        Vec::new()
    } else {
        vec![redact::url(&sanitize::line(url)).into_owned()]
    }
}

fn timestamps(session: &Session) -> Vec<String> {
    let mut lines = vec![format!(
        "triage session started {} ({})",
        session.started.long(),
        sanitize::line(&session.time_zone)
    )];
    let timeline = super::Timeline::of(session);
    let probed = timeline.probes.iter().find(|p| p.failed()).map(|p| p.at);
    let times = [
        ("first error line of the site in the logs", timeline.first_logged),
        ("first error seen by triage", probed),
        ("last error seen by triage", timeline.last_seen),
        ("normal answers again from", timeline.recovered_at),
    ];
    for (label, at) in times {
        if let Some(at) = at {
            lines.push(format!("{label} {}", at.long()));
        }
    }
    lines.push(format!("last recorded {}", session.last_activity().long()));
    lines
}

fn status(facts: &Facts) -> (Vec<String>, Vec<String>) {
    let Some(status) = text(facts, "http.status") else {
        return match text(facts, "http.failure") {
            Some(f) => (vec![format!("no response: {f}")], vec!["http.failure".to_owned()]),
            None => (Vec::new(), Vec::new()),
        };
    };
    let mut line = format!("HTTP {status}");
    let statuses = list(facts, "http.statuses");
    if !statuses.is_empty() {
        line.push_str(&format!(" (probes: {})", statuses.join(", ")));
    }
    (vec![line], vec!["http.status".to_owned()])
}

fn headers(facts: &Facts) -> Vec<String> {
    match facts.get("http.headers") {
        Some(FactValue::List(lines)) => lines.iter().map(|l| clean(l)).collect(),
        _ => Vec::new(),
    }
}

/// The newest changes first (the `recent_changes` check lists those that touch the stack when
/// asked to), then how many there were.
fn changes(facts: &Facts) -> Vec<String> {
    let mut lines: Vec<String> = list(facts, "changes.recent").into_iter().take(5).collect();
    if let Some(count) = text(facts, "changes.count") {
        let kinds = list(facts, "changes.kinds");
        let kinds =
            if kinds.is_empty() { String::new() } else { format!(" ({})", kinds.join(", ")) };
        lines.push(format!("{count} change(s) in the window{kinds}"));
    }
    lines
}

fn branding(facts: &Facts, diagnosis: &Diagnosis) -> (Vec<String>, Vec<String>) {
    let keys = [
        ("responder.vendor", "generated by"),
        ("responder.code", "vendor error code"),
        ("responder.cdn", "CDN in the path"),
        ("dns.cdn", "DNS points at"),
        ("http.server", "Server header"),
        ("origin.vendor", "origin answered as"),
    ];
    let mut lines = Vec::new();
    let mut source = Vec::new();
    for (key, label) in keys {
        if let Some(value) = text(facts, key) {
            lines.push(format!("{label}: {value}"));
            source.push(key.to_owned());
        }
    }
    if !lines.is_empty()
        && let Some(layer) = diagnosis.verdict.layer
    {
        lines.push(format!("layer at fault: {}", layer.label()));
        source.push("verdict.layer".to_owned());
    }
    (lines, source)
}

/// The support note as plain text, for the clipboard and for copying by hand.
pub fn plain_text(session: &Session, items: &[Item], diagnosis: &Diagnosis) -> String {
    let mut out = format!("What to send support: {}\n", clean(&session.url));
    let verdict = &diagnosis.verdict;
    if verdict.cause != "unknown" {
        out.push_str(&format!(
            "Diagnosis: {} ({} confidence)\n",
            clean(&verdict.summary),
            verdict.confidence.label()
        ));
    }
    for item in items {
        if item.lines.is_empty() {
            out.push_str(&format!("- {}: {NOT_COLLECTED}\n", item.label));
        } else if item.lines.len() == 1 {
            out.push_str(&format!("- {}: {}\n", item.label, item.lines[0]));
        } else {
            out.push_str(&format!("- {}:\n", item.label));
            for line in &item.lines {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}
