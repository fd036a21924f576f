//! The end of the walk: resolved or escalated, the incident in a few lines (worst status, cause,
//! when), what was tried and whether it worked, what to send filled in from the evidence, the
//! answers for the note and the questions still open.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use super::details::{bottom_line, user_notes};
use super::doc::Doc;
use super::panes::block;
use super::theme::Theme;
use crate::report::note;
use crate::report::support;
use crate::session::Ending;
use crate::tui::app::{App, Pane};

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let Some(outcome) = app.current_outcome() else { return };
    let doc = outcome_doc(app, usize::from(area.width.saturating_sub(4)), theme);
    let height = usize::from(area.height.saturating_sub(2));
    let offset = doc.offset(None, app.view.scroll, height);
    let mut frame_block = block(
        format!(" The end: {} ", app.text(&outcome.title)),
        app.focus == Pane::Details,
        theme,
    );
    let more_below = doc.lines.len() > height + usize::from(offset);
    frame_block = bottom_line(frame_block, app, more_below, area.width, theme);
    frame.render_widget(Paragraph::new(doc.lines).scroll((offset, 0)).block(frame_block), area);
}

fn outcome_doc(app: &App, width: usize, theme: Theme) -> Doc {
    let mut doc = Doc::new(width);
    let Some(outcome) = app.current_outcome() else { return doc };
    let head = match Ending::of(outcome.kind) {
        Ending::Resolved => format!("{} Resolved.", theme.glyphs().done),
        Ending::Escalated { to } => format!("{} Escalate to {to}.", theme.glyphs().arrow),
    };
    doc.para("", &head, theme.title());
    doc.para("", &app.text(&outcome.summary), Style::new());
    incident(&mut doc, app, theme);
    send(&mut doc, app, theme);
    answers(&mut doc, app, theme);
    support_items(&mut doc, app, theme);
    doc.blank();
    doc.para(
        "",
        "e writes the incident note (markdown); a answers the open questions; s copies the support summary; b goes back.",
        theme.dim(),
    );
    user_notes(&mut doc, app, None, theme);
    doc
}

fn bullet(doc: &mut Doc, text: &str, style: Style, theme: Theme) {
    doc.text(Span::raw(format!("{} ", theme.glyphs().bullet)), "  ", text, style);
}

/// The incident as the note's first screen tells it.
fn incident(doc: &mut Doc, app: &App, theme: Theme) {
    let a = &app.assessment;
    doc.heading("The incident", theme.heading());
    if let Some(worst) = &a.timeline.worst {
        let maker = worst.maker.as_deref().map_or(String::new(), |m| format!(", made by {m}"));
        bullet(doc, &format!("worst seen: {}{maker}", worst.headline()), Style::new(), theme);
    }
    if let Some(cause) = note::verdict_line(a) {
        bullet(doc, &format!("cause: {cause}"), Style::new(), theme);
    }
    let t = &a.timeline;
    let times = [
        ("first seen", t.first_seen),
        ("last seen", t.last_seen),
        ("recovered at", t.recovered_at),
    ];
    let known: Vec<String> = times
        .iter()
        .filter_map(|(label, at)| at.map(|at| format!("{label} {}", at.long())))
        .collect();
    if !known.is_empty() {
        bullet(doc, &known.join("; "), Style::new(), theme);
    }
    if let Some(path) = &a.path {
        bullet(doc, &format!("path: {}", path.line()), theme.dim(), theme);
    }
    for tried in note::tried(app.session(), a.watch.as_ref()) {
        bullet(doc, &format!("tried: {} — {}", tried.title, tried.result), Style::new(), theme);
    }
}

/// The outcome's `send:` list, filled in.
fn send(doc: &mut Doc, app: &App, theme: Theme) {
    let filled = note::filled(app.session(), &app.assessment);
    if filled.is_empty() {
        return;
    }
    doc.heading("Send with it", theme.heading());
    for entry in filled {
        let value = entry.lines.first().cloned().or(entry.answer.clone());
        let Some(value) = value else {
            let ask = entry.ask.map_or(String::new(), |q| format!(" — a asks: {q}"));
            let text = format!("{}: {}{ask}", entry.text, support::NOT_COLLECTED);
            bullet(doc, &text, theme.dim(), theme);
            continue;
        };
        bullet(doc, &format!("{}:", entry.text), Style::new(), theme);
        doc.para("    ", &value, theme.command());
        if entry.lines.len() > 1 {
            let more = format!("(+{} more lines in the note)", entry.lines.len() - 1);
            doc.para("    ", &more, theme.dim());
        }
    }
}

fn answers(doc: &mut Doc, app: &App, theme: Theme) {
    let given = note::answers(app.session());
    let open = app.open_asks().len();
    if given.is_empty() && open == 0 {
        return;
    }
    doc.heading("Answers for the note", theme.heading());
    for (prompt, answer) in given {
        bullet(doc, &format!("{prompt} {answer}"), Style::new(), theme);
    }
    if open > 0 {
        let text = format!(
            "{} still open: a answers them",
            crate::text::count(open, "question", "questions")
        );
        doc.para("", &text, theme.warn());
    }
}

fn support_items(doc: &mut Doc, app: &App, theme: Theme) {
    doc.heading("What to send support", theme.heading());
    let a = &app.assessment;
    let items = support::collect(app.session(), &a.incident.facts, &a.incident.diagnosis);
    for item in items {
        if item.lines.is_empty() {
            let text = format!("{}: {}", item.label, support::NOT_COLLECTED);
            bullet(doc, &text, theme.dim(), theme);
            continue;
        }
        bullet(doc, &format!("{}:", item.label), Style::new(), theme);
        for line in item.lines.iter().take(3) {
            doc.para("    ", line, theme.command());
        }
        if item.lines.len() > 3 {
            let more = format!("(+{} more in the export)", item.lines.len() - 3);
            doc.para("    ", &more, theme.dim());
        }
    }
}
