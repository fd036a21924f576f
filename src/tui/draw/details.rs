//! The current step in detail: the evidence, why the step matters, what to do, commands,
//! causes, checklists, notes and fix cards, and the user's notes. On a fix step the cards come
//! first, open. Commands show the values found on this machine, the gaps still to fill, and
//! the OS family they are for.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use super::doc::Doc;
use super::panes::block;
use super::theme::Theme;
use crate::contract::{CheckReport, CheckStatus};
use crate::report::support;
use crate::runbook::model::{Command, Effect, Family, FixCard, Step};
use crate::tui::app::{App, CheckRun, Pane, RunState};
use crate::tui::walk::Item;

pub fn render_step(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(step) = app.current_step() else { return };
    let focused = app.focus == Pane::Details;
    let doc = step_doc(app, step, usize::from(area.width.saturating_sub(4)), theme);
    let height = usize::from(area.height.saturating_sub(2));
    // The selection is followed once the user moves it (or on a fix step, whose card is the
    // first item); otherwise the step reads from the top, evidence first.
    let follow = focused && (app.view.item_touched || step.is_fix());
    let selected = if doc.items.is_empty() || !follow { None } else { Some(app.view.item) };
    let offset = doc.offset(selected, app.view.scroll, height);
    let title = format!(" {} · {} ", app.text(&step.title), step.layer.label());
    let mut frame_block =
        block(super::doc::truncate(&title, usize::from(area.width) - 4), focused, theme);
    let more_below = doc.lines.len() > height + usize::from(offset);
    frame_block = bottom_line(frame_block, app, more_below, area.width, theme);
    frame.render_widget(Paragraph::new(doc.lines).scroll((offset, 0)).block(frame_block), area);
}

/// A pane's bottom line: the latest status message, else a hint when more lies below.
pub(super) fn bottom_line<'a>(
    block: Block<'a>,
    app: &App,
    more_below: bool,
    width: u16,
    theme: Theme,
) -> Block<'a> {
    if let Some(status) = &app.status {
        let text = format!(" {} ", super::doc::truncate(status, usize::from(width) - 6));
        block.title_bottom(Line::styled(text, theme.warn()).right_aligned())
    } else if more_below {
        block.title_bottom(Line::styled(" more below: PgDn ", theme.dim()).right_aligned())
    } else {
        block
    }
}

fn step_doc(app: &App, step: &Step, width: usize, theme: Theme) -> Doc {
    let mut doc = Doc::new(width);
    if step.is_fix() {
        // A fix step is its cards: open, first, at the pane's full height.
        fixes(&mut doc, app, step, theme);
    }
    super::watch::panel(&mut doc, app, theme);
    // The evidence next: at 80x24 it is what the first screen must show; why the step matters
    // follows at once (and leads on steps without checks). While watching, the panel above is
    // the evidence: the diagnosis of the latest probe alone would mislead.
    checks(&mut doc, app, theme);
    if step.repeat.is_none() {
        diagnosis(&mut doc, app, theme);
    }
    doc.heading_or_first("Why this step", theme.heading());
    doc.para("", &app.text(&step.why), Style::new());
    instructions(&mut doc, app, step, theme);
    commands(&mut doc, app, step, theme);
    causes(&mut doc, app, step, theme);
    checklists(&mut doc, app, step, theme);
    notes(&mut doc, app, step, theme);
    records(&mut doc, app, step, theme);
    if !step.is_fix() {
        fixes(&mut doc, app, step, theme);
    }
    user_notes(&mut doc, app, Some(&step.id), theme);
    doc
}

fn notes(doc: &mut Doc, app: &App, step: &Step, theme: Theme) {
    if step.notes.is_empty() {
        return;
    }
    doc.heading("Careful", theme.heading());
    for note in &step.notes {
        doc.text(
            Span::styled(format!("{} ", theme.glyphs().warning), theme.warn()),
            "  ",
            &app.text(note),
            Style::new(),
        );
    }
}

fn instructions(doc: &mut Doc, app: &App, step: &Step, theme: Theme) {
    if step.instructions.is_empty() {
        return;
    }
    doc.heading("What to do", theme.heading());
    for (n, text) in step.instructions.iter().enumerate() {
        doc.text(Span::raw(format!("{}. ", n + 1)), "   ", &app.text(text), Style::new());
    }
}

/// The marker and style of a selectable line.
fn item_style(app: &App, item: Item, theme: Theme) -> (&'static str, Style) {
    let selected = app.selected_item() == Some(item);
    let focused = app.focus == Pane::Details;
    if selected { (theme.glyphs().cursor, theme.selected(focused)) } else { (" ", Style::new()) }
}

fn commands(doc: &mut Doc, app: &App, step: &Step, theme: Theme) {
    if step.commands.is_empty() {
        return;
    }
    doc.heading("Commands — run by hand; c copies", theme.heading());
    for (i, command) in step.commands.iter().enumerate() {
        if app.fits_family(command) {
            command_lines(doc, app, command, Item::Command(i), "", theme);
        }
    }
    other_family(doc, app, &step.commands, "", theme);
}

/// One line for the commands set aside because they are for another OS family.
fn other_family(doc: &mut Doc, app: &App, commands: &[Command], indent: &str, theme: Theme) {
    let hidden = commands.iter().filter(|c| !app.fits_family(c)).count();
    let (Some(found), true) = (app.family(), hidden > 0) else { return };
    let other = if found == Family::Debian { Family::Rhel } else { Family::Debian };
    let text = format!(
        "{} for {} systems not shown: this one is {}",
        crate::text::count(hidden, "command", "commands"),
        other.label(),
        found.label()
    );
    doc.para(&format!("{indent}  "), &text, theme.dim());
}

fn command_lines(
    doc: &mut Doc,
    app: &App,
    command: &Command,
    item: Item,
    indent: &str,
    theme: Theme,
) {
    let (mark, style) = item_style(app, item, theme);
    let start = doc.begin_item();
    let lead = format!("{indent}{mark} $ ");
    let rest = " ".repeat(lead.chars().count());
    doc.text(Span::raw(lead), &rest, &app.command(&command.run), style.patch(theme.command()));
    let effect = match &command.effect {
        Effect::ReadOnly => "read-only".to_owned(),
        Effect::ChangesSystem { risk, rollback } => {
            format!("CHANGES THE SYSTEM ({} risk) · undo: {}", risk.label(), app.command(rollback))
        }
    };
    let family = command.family.map_or(String::new(), |f| format!("[{}] ", f.label()));
    doc.para(&rest, &format!("{family}{} · {effect}", app.text(&command.purpose)), theme.dim());
    let missing: Vec<String> =
        app.missing(&command.run).iter().map(|i| app.text(&i.prompt)).collect();
    if !missing.is_empty() {
        let text = format!("needs: {} — c asks for it", missing.join("; "));
        doc.para(&rest, &text, theme.warn());
    }
    doc.end_item(start);
}

fn checks(doc: &mut Doc, app: &App, theme: Theme) {
    if app.runs.is_empty() {
        return;
    }
    let pending = app.runs.iter().filter(|r| !matches!(r.state, RunState::Finished(_))).count();
    let heading = if pending == 0 {
        "Automatic checks — r runs them again".to_owned()
    } else {
        format!("Automatic checks — {pending} still running")
    };
    doc.heading(&heading, theme.heading());
    for run in &app.runs {
        check_line(doc, app, run, theme);
    }
}

fn check_line(doc: &mut Doc, app: &App, run: &CheckRun, theme: Theme) {
    let glyphs = theme.glyphs();
    let title = crate::checks::registry::spec(&run.request.check)
        .map_or(run.request.check.as_str(), |s| s.title);
    let (mark, style, text) = match &run.state {
        RunState::Queued => (glyphs.queued, theme.dim(), "waiting to start".to_owned()),
        RunState::Running { progress } => {
            let frame = glyphs.spinner[app.spinner % glyphs.spinner.len()];
            (frame, theme.warn(), progress.clone().unwrap_or_else(|| "running…".to_owned()))
        }
        RunState::Finished(report) => finished(report, theme),
    };
    doc.text(
        Span::styled(format!("{mark} "), style),
        "  ",
        &format!("{title}: {text}"),
        Style::new(),
    );
    if let RunState::Finished(report) = &run.state {
        for line in report.details.iter().take(8) {
            doc.preformatted("    ", line, theme.dim());
        }
        if let CheckStatus::CouldNotRun { instead: Some(instead), .. } = &report.status {
            doc.para("    ", &format!("instead, run: {instead}"), theme.command());
        }
    }
}

fn finished(report: &CheckReport, theme: Theme) -> (&'static str, Style, String) {
    let glyphs = theme.glyphs();
    let (mark, style) = match report.status {
        CheckStatus::Passed => (glyphs.done, theme.ok()),
        CheckStatus::Warning => (glyphs.warning, theme.warn()),
        CheckStatus::Failed => (glyphs.failed, theme.bad()),
        CheckStatus::CouldNotRun { .. } | CheckStatus::TimedOut { .. } => {
            (glyphs.skipped, theme.dim())
        }
    };
    (mark, style, report.summary.clone())
}

fn diagnosis(doc: &mut Doc, app: &App, theme: Theme) {
    let now = &app.assessment.now;
    let verdict = &now.verdict;
    if verdict.cause == "unknown" && verdict.hop.is_none() {
        return;
    }
    doc.heading("What the evidence says", theme.heading());
    let layer = verdict.layer.map_or("no layer", |l| l.label());
    doc.para(
        "",
        &format!("{} ({layer}; {} confidence)", verdict.summary, verdict.confidence.label()),
        Style::new(),
    );
    if !now.path.is_empty() {
        let chain = crate::sanitize::line(&now.chain()).into_owned();
        doc.para("  ", &format!("path: {chain}"), theme.dim());
    }
    for reason in verdict.reasons.iter().take(4) {
        doc.para("  ", &format!("{} {reason}", theme.glyphs().bullet), theme.dim());
    }
    let elsewhere: u64 = now.elsewhere.iter().map(|e| e.lines).sum();
    if elsewhere > 0 {
        let line =
            format!("other sites on this server: {elsewhere} error lines, not this incident");
        doc.para("  ", &line, theme.dim());
    }
}

fn causes(doc: &mut Doc, app: &App, step: &Step, theme: Theme) {
    if step.causes.is_empty() {
        return;
    }
    doc.heading("Known causes here", theme.heading());
    for cause in &step.causes {
        let statuses: Vec<String> = cause.statuses.iter().map(u16::to_string).collect();
        let head = format!("{} ({})", app.text(&cause.title), statuses.join(", "));
        doc.text(Span::raw(format!("{} ", theme.glyphs().bullet)), "  ", &head, Style::new());
        doc.para("  ", &format!("signs: {}", app.text(&cause.signs)), theme.dim());
        doc.para("  ", &format!("next: {}", app.text(&cause.next)), theme.dim());
    }
}

fn checklists(doc: &mut Doc, app: &App, step: &Step, theme: Theme) {
    for list in &step.checklists {
        doc.heading(&format!("Checklist: {}", app.text(&list.title)), theme.heading());
        for item in &list.items {
            doc.text(
                Span::raw(format!("{} ", theme.glyphs().box_empty)),
                "    ",
                &app.text(item),
                Style::new(),
            );
        }
    }
}

fn fixes(doc: &mut Doc, app: &App, step: &Step, theme: Theme) {
    if step.fixes.is_empty() {
        return;
    }
    let heading = if step.is_fix() {
        "The fix — make the change by hand, then Tab to answer"
    } else {
        "Fixes — Enter opens a card, t marks it tried"
    };
    if step.is_fix() {
        doc.heading_or_first(heading, theme.heading());
    } else {
        doc.heading(heading, theme.heading());
    }
    for (i, fix) in step.fixes.iter().enumerate() {
        fix_card(doc, app, step, i, fix, theme);
    }
}

fn fix_card(doc: &mut Doc, app: &App, step: &Step, i: usize, fix: &FixCard, theme: Theme) {
    let glyphs = theme.glyphs();
    let open = app.is_open(i);
    let (mark, style) = item_style(app, Item::Fix(i), theme);
    let tried = app
        .session()
        .fix_outcome(&step.id, &fix.id)
        .map(|o| format!("  [tried: {}]", o.label()))
        .unwrap_or_default();
    let head = format!(
        "{} {} · {} · {} risk · {}{tried}",
        if open { glyphs.open } else { glyphs.closed },
        app.text(&fix.title),
        fix.time,
        fix.risk.label(),
        fix.who.label()
    );
    let start = doc.begin_item();
    doc.text(Span::raw(format!("{mark} ")), "    ", &head, style);
    doc.para("    ", &app.text(&fix.summary), theme.dim());
    if open {
        fix_body(doc, app, i, fix, theme);
    }
    doc.end_item(start);
}

fn fix_body(doc: &mut Doc, app: &App, i: usize, fix: &FixCard, theme: Theme) {
    for (n, text) in fix.steps.iter().enumerate() {
        doc.text(Span::raw(format!("    {}. ", n + 1)), "       ", &app.text(text), Style::new());
    }
    for (j, command) in fix.commands.iter().enumerate() {
        if app.fits_family(command) {
            command_lines(doc, app, command, Item::FixCommand(i, j), "   ", theme);
        }
    }
    other_family(doc, app, &fix.commands, "   ", theme);
    for (label, text) in [
        ("Expect", &fix.expected),
        ("If it fails", &fix.if_failed),
        ("Verify", &fix.verify),
        ("Roll back", &fix.rollback),
    ] {
        doc.text(
            Span::styled(format!("    {label}: "), theme.heading()),
            "      ",
            &app.text(text),
            Style::new(),
        );
    }
}

/// What this step adds to "what to send support", filled or still to find out.
fn records(doc: &mut Doc, app: &App, step: &Step, theme: Theme) {
    if step.record.is_empty() {
        return;
    }
    doc.heading("For the support note", theme.heading());
    let incident = &app.assessment.incident;
    let items = support::collect(app.session(), &incident.facts, &incident.diagnosis);
    for record in &step.record {
        let Some(item) = items.iter().find(|i| i.item == record.item) else { continue };
        let (text, style) = match (item.lines.first(), &record.ask) {
            (Some(value), _) => (format!("{}: {value}", item.label), Style::new()),
            (None, Some(ask)) => {
                (format!("{}: not collected yet — {}", item.label, app.text(ask)), theme.dim())
            }
            (None, None) => (format!("{}: not collected yet", item.label), theme.dim()),
        };
        doc.text(Span::raw(format!("{} ", theme.glyphs().bullet)), "  ", &text, style);
    }
}

pub(super) fn user_notes(doc: &mut Doc, app: &App, step: Option<&str>, theme: Theme) {
    let notes: Vec<_> = app.session().notes_at(step).collect();
    if notes.is_empty() {
        return;
    }
    doc.heading("Your notes", theme.heading());
    for (at, text) in notes {
        doc.text(
            Span::styled(format!("{} ", at.clock()), theme.dim()),
            "      ",
            text,
            Style::new(),
        );
    }
}
