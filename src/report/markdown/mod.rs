//! The markdown incident note, in the order support reads it. The first screen is the incident
//! itself: the worst status seen and who made it, the cause and how sure, first seen, last seen
//! and recovered at (with the time zone), the request path, the site's first matching log line,
//! what was tried and what worked, the outcome, the filled-in `send:` list and the answers for
//! the note. The details follow: every support item, the walk's timeline, fixes, notes, commands
//! and check results. Everything from outside is sanitised, redacted and escaped here.

mod details;

use super::note::{self, Filled, Tried};
use super::support::{self, clean};
use super::{Assessment, Watch};
use crate::diagnosis::Rules;
use crate::sanitize::{markdown_code_block, markdown_code_span, markdown_inline};
use crate::session::{Ending, Event, Session, Stamp};

/// The whole note.
pub fn render(session: &Session, rules: &Rules) -> String {
    let a = Assessment::of(session, rules);
    let mut out = String::new();
    title(&mut out, session, &a);
    first_screen(&mut out, session, &a);
    send(&mut out, session, &a);
    answers(&mut out, session);
    if let Some(w) = &a.watch {
        monitoring(&mut out, w);
    }
    out.push_str("---\n\n");
    let items = support::collect(session, &a.incident.facts, &a.incident.diagnosis);
    details::support_section(&mut out, &items);
    details::timeline(&mut out, session);
    details::fixes(&mut out, session);
    details::notes(&mut out, session);
    details::commands(&mut out, session);
    details::checks(&mut out, session);
    out.push_str(&format!(
        "\n---\n_Written by triage {} from session {}._\n",
        env!("CARGO_PKG_VERSION"),
        markdown_code_span(&session.id)
    ));
    out
}

fn inline(text: &str) -> String {
    markdown_inline(&clean(text))
}

/// `# HTTP 502 Bad Gateway on https://… — resolved`: the incident's worst status, never the
/// recovered 200.
fn title(out: &mut String, session: &Session, a: &Assessment) {
    let status = match (&a.timeline.worst, a.facts.get("http.status")) {
        (Some(worst), _) => worst.headline(),
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => "Server error (status not collected)".to_owned(),
    };
    let end = match ending(session) {
        Some(Ending::Resolved) => " — resolved".to_owned(),
        Some(Ending::Escalated { to }) => format!(" — escalated to {to}"),
        None => " — open".to_owned(),
    };
    out.push_str(&format!("# {} on {}{}\n\n", inline(&status), inline(&session.url), inline(&end)));
}

fn ending(session: &Session) -> Option<Ending> {
    if !session.is_closed() {
        return None;
    }
    session.entries.iter().rev().find_map(|e| match &e.event {
        Event::OutcomeReached { ending, .. } => Some(ending.clone()),
        _ => None,
    })
}

fn first_screen(out: &mut String, session: &Session, a: &Assessment) {
    let cause = note::verdict_line(a)
        .unwrap_or_else(|| "not determined by the evidence; see the timeline below".to_owned());
    out.push_str(&format!("- **Cause:** {}\n", markdown_inline(&cause)));
    out.push_str(&format!("- **Seen:** {}\n", seen(session, a)));
    if let Some(path) = &a.path {
        out.push_str(&format!("- **Path:** {}\n", inline(&path.line())));
    }
    if let Some(others) = elsewhere(&a.incident.assessed.elsewhere) {
        out.push_str(&format!("- **Other sites on this server:** {}\n", inline(&others)));
    }
    if let Some((line, answered)) = first_log_line(session, a) {
        let from = if answered { " (as pasted during the walk)" } else { "" };
        let quoted = markdown_code_span(&line);
        out.push_str(&format!("- **First log line of this site{from}:** {quoted}\n"));
    }
    tried(out, &note::tried(session, a.watch.as_ref()));
    out.push_str(&format!("- **Outcome:** {}\n\n", outcome(session)));
    out.push_str(&format!(
        "Times are in {} (UTC{}). Runbook “{}” (version {}), session {}.\n\n",
        inline(&session.time_zone),
        session.started.offset_label(),
        inline(&session.runbook.title),
        inline(&session.runbook.version),
        markdown_code_span(&session.id)
    ));
}

/// `shop.example.net: 12 error lines (upstream_refused); …, not this incident`.
fn elsewhere(others: &[crate::diagnosis::attribute::Elsewhere]) -> Option<String> {
    let each: Vec<String> = others
        .iter()
        .map(|e| match e.causes.as_slice() {
            [] => format!("{}: {} error lines", e.site, e.lines),
            causes => format!("{}: {} error lines ({})", e.site, e.lines, causes.join(", ")),
        })
        .collect();
    (!each.is_empty()).then(|| format!("{}; counted apart, not this incident", each.join("; ")))
}

/// The site's first matching log line, from the logs check or, failing that, as the user
/// pasted it; and whether it was pasted.
fn first_log_line(session: &Session, a: &Assessment) -> Option<(String, bool)> {
    let items = support::collect(session, &a.incident.facts, &a.incident.diagnosis);
    let item =
        items.into_iter().find(|i| i.item == crate::runbook::model::SupportItem::FirstLogLine)?;
    let answered = item.source.iter().any(|s| s == "answer");
    item.lines.into_iter().next().map(|line| (line, answered))
}

/// `worst 502, made by nginx (web server); first seen …, last seen …, recovered at …`.
fn seen(session: &Session, a: &Assessment) -> String {
    let t = &a.timeline;
    let Some(worst) = &t.worst else {
        let probes = t.probes.len();
        return format!(
            "no error in {probes} probes by triage; session started {}",
            session.started.long()
        );
    };
    let mut out = format!("worst {}", inline(&worst.headline()));
    if let Some(maker) = &worst.maker {
        let layer = worst.layer.as_deref().and_then(crate::layer::Layer::from_id);
        let layer = layer.map_or(String::new(), |l| format!(" ({})", l.label()));
        out.push_str(&format!(", made by {}{}", inline(maker), inline(&layer)));
    }
    let stamp = |s: Option<Stamp>| s.map_or_else(|| "—".to_owned(), Stamp::long);
    let from_logs = t.first_logged.is_some() && t.first_logged == t.first_seen;
    let source = if from_logs { " (the site's first error line in the logs)" } else { "" };
    out.push_str(&format!(
        "; first seen {}{source}; last seen {}",
        stamp(t.first_seen),
        stamp(t.last_seen)
    ));
    match t.recovered_at {
        Some(at) => out.push_str(&format!("; recovered at {}", at.long())),
        None => out.push_str("; still failing at the last probe"),
    }
    out
}

fn tried(out: &mut String, tried: &[Tried]) {
    match tried {
        [] => out.push_str("- **Tried:** nothing recorded\n"),
        [one] => out.push_str(&format!("- **Tried:** {}\n", tried_line(one))),
        many => {
            out.push_str("- **Tried:**\n");
            for t in many {
                out.push_str(&format!("  - {}\n", tried_line(t)));
            }
        }
    }
}

fn tried_line(t: &Tried) -> String {
    format!("{} ({}, {}) — {}", inline(&t.title), t.outcome.label(), t.at.long(), inline(&t.result))
}

fn outcome(session: &Session) -> String {
    let last = session.entries.iter().rev().find_map(|e| match &e.event {
        Event::OutcomeReached { title, ending, summary, .. } => Some((title, ending, summary)),
        _ => None,
    });
    match (session.is_closed(), last) {
        (true, Some((title, Ending::Resolved, summary)))
            if title.eq_ignore_ascii_case("resolved") =>
        {
            format!("resolved. {}", inline(summary))
        }
        (true, Some((title, Ending::Resolved, summary))) => {
            format!("resolved ({}). {}", inline(title), inline(summary))
        }
        (true, Some((title, Ending::Escalated { to }, summary))) => {
            format!("escalated to {} ({}). {}", inline(to), inline(title), inline(summary))
        }
        _ => format!(
            "still open, at {}.",
            session.last_title().map_or_else(|| "the inputs".to_owned(), inline)
        ),
    }
}

/// The reached outcome's `send:` list, filled in.
fn send(out: &mut String, session: &Session, a: &Assessment) {
    let filled = note::filled(session, a);
    if filled.is_empty() {
        return;
    }
    let to = match ending(session) {
        Some(Ending::Escalated { to }) => format!("Send to {}", inline(&to)),
        _ => "Keep for the record".to_owned(),
    };
    out.push_str(&format!("## {to}\n\n"));
    for entry in &filled {
        send_entry(out, entry);
    }
    out.push('\n');
}

fn send_entry(out: &mut String, entry: &Filled) {
    out.push_str(&format!("- **{}:**", inline(&entry.text)));
    let mut lines: Vec<String> = entry.lines.clone();
    if let Some(answer) = &entry.answer {
        lines.extend(answer.lines().map(str::to_owned));
    }
    match lines.as_slice() {
        [] => {
            let ask = entry.ask.as_deref().map_or(String::new(), |q| format!(" — {}", inline(q)));
            out.push_str(&format!(" _{}{ask}_\n", support::NOT_COLLECTED));
        }
        [one] if one.len() < 160 => out.push_str(&format!(" {}\n", markdown_code_span(one))),
        many => {
            out.push_str("\n\n");
            for line in markdown_code_block(&many.join("\n"), "text").lines() {
                out.push_str(&format!("  {line}\n"));
            }
            out.push('\n');
        }
    }
}

fn answers(out: &mut String, session: &Session) {
    let answers = note::answers(session);
    if answers.is_empty() {
        return;
    }
    out.push_str("## Answers for the note\n\n");
    for (prompt, answer) in answers {
        let answer: Vec<String> = answer.lines().map(markdown_inline).collect();
        out.push_str(&format!("- _{}_ {}\n", inline(&prompt), answer.join(" / ")));
    }
    out.push('\n');
}

/// The probes after the fix as a one-line chart: `.` a normal answer, `x` an error.
fn monitoring(out: &mut String, w: &Watch) {
    out.push_str("## Monitoring after the fix\n\n");
    out.push_str(&format!("{}.\n\n", inline(&note::monitoring_line(w))));
    let first =
        w.probes.first().map_or_else(|| w.started.clock_seconds(), |p| p.at.clock_seconds());
    let last = w.probes.last().map_or_else(|| w.started.clock_seconds(), |p| p.at.clock_seconds());
    let chart = format!("{first} {} {last}\n(. normal answer, x 5xx or no answer)", w.chart());
    out.push_str(&markdown_code_block(&chart, "text"));
    if let Some(line) = &w.log_line {
        out.push_str(&format!("\nLatest new error line: {}\n", markdown_code_span(&clean(line))));
    }
    out.push('\n');
}
