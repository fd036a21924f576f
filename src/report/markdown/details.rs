//! The note's details, after its first screen: every support item filled or marked not
//! collected, the timeline of the walk, fixes tried, notes, commands copied and the check
//! results.

use super::inline;
use crate::contract::CheckReport;
use crate::report::support::{Item, NOT_COLLECTED, clean, clean_lines};
use crate::sanitize::{markdown_code_block, markdown_code_span, markdown_inline};
use crate::session::{Agreement, Copied, Ending, Event, Session, Via};

pub(super) fn support_section(out: &mut String, items: &[Item]) {
    out.push_str("## What to send support\n\n");
    for item in items {
        match item.lines.as_slice() {
            [] => out.push_str(&format!("- **{}:** _{NOT_COLLECTED}_\n", item.label)),
            [one] if !is_block(item) => {
                out.push_str(&format!("- **{}:** {}\n", item.label, markdown_code_span(one)));
            }
            lines => {
                out.push_str(&format!("- **{}:**\n\n", item.label));
                let block = markdown_code_block(&lines.join("\n"), "text");
                for line in block.lines() {
                    out.push_str(&format!("  {line}\n"));
                }
                out.push('\n');
            }
        }
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

fn is_block(item: &Item) -> bool {
    use crate::runbook::model::SupportItem::{FirstLogLine, ResponseHeaders};
    matches!(item.item, ResponseHeaders | FirstLogLine)
}

pub(super) fn timeline(out: &mut String, session: &Session) {
    out.push_str("## Timeline\n\n| Time | Step | What happened |\n| --- | --- | --- |\n");
    let mut step = "—".to_owned();
    for entry in &session.entries {
        if let Event::StepEntered { title, .. } | Event::OutcomeReached { title, .. } = &entry.event
        {
            step.clone_from(title);
        }
        let what = describe(&entry.event, &session.url);
        out.push_str(&format!("| {} | {} | {what} |\n", entry.at.long(), inline(&step)));
    }
    out.push('\n');
}

fn describe(event: &Event, url: &str) -> String {
    match event {
        Event::InputsSet { values } => {
            let mut values = values.clone();
            values.retain(|_, v| !v.is_empty());
            values.entry("url".to_owned()).or_insert_with(|| url.to_owned());
            let pairs: Vec<String> =
                values.iter().map(|(k, v)| format!("{}={}", inline(k), inline(v))).collect();
            format!("Inputs set: {}", pairs.join(", "))
        }
        Event::StepEntered { via, .. } => format!("Entered the step ({})", via_label(*via)),
        Event::Answered { answer, suggested, agreement, .. } => {
            answered(answer, suggested.as_ref(), *agreement)
        }
        Event::Noted { .. } => "Note written (see Notes)".to_owned(),
        Event::FixTried { title, outcome, .. } => {
            format!("Tried fix “{}”: {}", inline(title), outcome.label())
        }
        Event::Copied { what: Copied::Command, text, .. } => {
            format!("Copied command: {}", inline(text))
        }
        Event::Copied { what: Copied::SupportSummary, .. } => {
            "Copied the support summary".to_owned()
        }
        Event::CheckFinished { report, .. }
            if report.summary.starts_with(report.status.label()) =>
        {
            format!("Check {}: {}", inline(&report.check), inline(&report.summary))
        }
        Event::CheckFinished { report, .. } => format!(
            "Check {}: {} — {}",
            inline(&report.check),
            report.status.label(),
            inline(&report.summary)
        ),
        Event::OutcomeReached { ending, .. } => match ending {
            Ending::Resolved => "Reached the end: resolved".to_owned(),
            Ending::Escalated { to } => format!("Reached the end: escalate to {}", inline(to)),
        },
        Event::Exported { format, .. } => format!("Exported ({})", inline(format)),
        Event::Asked { prompt, answer, .. } => {
            format!("Asked “{}”: **{}**", inline(prompt), inline(answer))
        }
        Event::Watching { every_secs, for_secs, .. } => format!(
            "Monitoring began: the checks run every {every_secs} s for {}",
            crate::session::time::elapsed(jiff::SignedDuration::from_secs(
                i64::try_from(*for_secs).unwrap_or(i64::MAX)
            ))
        ),
        Event::Resumed => "Session resumed".to_owned(),
    }
}

fn via_label(via: Via) -> &'static str {
    match via {
        Via::Start => "first step",
        Via::Answer => "from the answer",
        Via::Back => "went back",
        Via::Jump => "jumped here",
    }
}

fn answered(
    answer: &str,
    suggested: Option<&crate::session::Suggested>,
    agreement: Agreement,
) -> String {
    let base = format!("Answered: **{}**", inline(answer));
    match (agreement, suggested) {
        (Agreement::Confirmed, Some(s)) => {
            format!("{base} — confirmed the suggestion ({})", inline(&s.reason))
        }
        (Agreement::Overrode, Some(s)) => format!(
            "{base} — overrode the suggestion “{}” ({})",
            inline(&s.label),
            inline(&s.reason)
        ),
        _ => format!("{base} — no suggestion from the evidence"),
    }
}

pub(super) fn fixes(out: &mut String, session: &Session) {
    out.push_str("## Fixes tried\n\n");
    let mut any = false;
    for entry in &session.entries {
        if let Event::FixTried { title, outcome, verify, rollback, .. } = &entry.event {
            any = true;
            out.push_str(&format!(
                "- **{}** — {} ({})\n  - Verify: {}\n  - Roll back: {}\n",
                inline(title),
                outcome.label(),
                entry.at.long(),
                inline(verify),
                inline(rollback)
            ));
        }
    }
    if !any {
        out.push_str("_None recorded._\n");
    }
    out.push('\n');
}

pub(super) fn notes(out: &mut String, session: &Session) {
    out.push_str("## Notes\n\n");
    let mut step = String::new();
    let mut any = false;
    for entry in &session.entries {
        match &entry.event {
            Event::StepEntered { title, .. } | Event::OutcomeReached { title, .. } => {
                step.clone_from(title);
            }
            Event::Noted { text, .. } => {
                any = true;
                out.push_str(&format!("**{}** at {}:\n\n", entry.at.long(), inline(&step)));
                for line in clean_lines(text).lines() {
                    out.push_str(&format!("> {}\n", markdown_inline(line)));
                }
                out.push('\n');
            }
            _ => {}
        }
    }
    if !any {
        out.push_str("_None written._\n\n");
    }
}

pub(super) fn commands(out: &mut String, session: &Session) {
    out.push_str("## Commands copied\n\n");
    let copied: Vec<(&crate::session::Entry, &String)> = session
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Copied { what: Copied::Command, text, .. } => Some((e, text)),
            _ => None,
        })
        .collect();
    if copied.is_empty() {
        out.push_str("_None copied._\n\n");
    }
    for (entry, text) in copied {
        out.push_str(&format!(
            "{}:\n\n{}\n",
            entry.at.long(),
            markdown_code_block(&clean(text), "sh")
        ));
    }
}

/// The report's status and summary, the status said once: a check that could not run says so
/// in its summary already ("could not run: the URL is plain http").
fn labelled(report: &CheckReport) -> String {
    let (label, summary) = (report.status.label(), inline(&report.summary));
    match summary.strip_prefix(label) {
        Some(rest) if rest.starts_with(':') => summary,
        _ => format!("{label}: {summary}"),
    }
}

pub(super) fn checks(out: &mut String, session: &Session) {
    out.push_str("## Check results\n\n");
    let mut any = false;
    for entry in &session.entries {
        if let Event::CheckFinished { report, .. } = &entry.event {
            any = true;
            out.push_str(&format!(
                "- {} **{}** {}\n",
                entry.at.long(),
                inline(&report.check),
                labelled(report)
            ));
            if !report.details.is_empty() {
                let details: Vec<String> = report.details.iter().map(|d| clean(d)).collect();
                for line in markdown_code_block(&details.join("\n"), "text").lines() {
                    out.push_str(&format!("  {line}\n"));
                }
            }
        }
    }
    if !any {
        out.push_str("_No automatic check ran._\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::CheckStatus;

    #[test]
    fn a_check_result_says_its_status_once() {
        let cannot = CheckReport::could_not_run("tls", "the URL is plain http", None);
        assert_eq!(labelled(&cannot), "could not run: the URL is plain http");
        let failed = CheckReport::new("http_probe", CheckStatus::Failed, "502 on every probe");
        assert_eq!(labelled(&failed), "failed: 502 on every probe");
        let alike = CheckReport::new("db", CheckStatus::Failed, "failed logins: 3");
        assert_eq!(labelled(&alike), "failed: failed logins: 3");
    }
}
