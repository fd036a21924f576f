//! Whole screens outside the walk: too small, the resume-or-fresh offer, the inputs form.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::doc::{Doc, truncate};
use super::panes::block;
use super::theme::Theme;
use super::{MIN_HEIGHT, MIN_WIDTH, centered};
use crate::runbook::model::InputKind;
use crate::session::Session;
use crate::tui::app::App;
use crate::tui::form::{Field, Form};

/// One line, at the top, so even a sliver of a terminal says what it needs.
pub fn too_small(frame: &mut Frame, area: Rect, _theme: Theme) {
    let text = format!(
        "triage needs {MIN_WIDTH}x{MIN_HEIGHT} (this is {}x{}); nothing is lost",
        area.width, area.height
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

pub fn offer(frame: &mut Frame, area: Rect, app: &App, existing: &Session, theme: Theme) {
    let width = usize::from(72.min(area.width).saturating_sub(4));
    let mut doc = Doc::new(width);
    doc.para("", &format!("An open session exists for {}.", existing.url), theme.heading());
    doc.blank();
    doc.para("  ", &format!("started  {}", existing.started.long()), Style::new());
    doc.para(
        "  ",
        &format!("last at  {}", existing.last_title().unwrap_or("the inputs")),
        Style::new(),
    );
    doc.para(
        "  ",
        &format!("id       {} ({} events)", existing.id, existing.entries.len()),
        Style::new(),
    );
    doc.blank();
    doc.line(keys_line(&[("⏎ r", "resume it"), ("f", "start fresh"), ("q", "quit")], theme));
    let title = format!(" {} ", truncate(&app.runbook().title, width));
    let height = u16::try_from(doc.lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, 72, height);
    frame.render_widget(Paragraph::new(doc.lines).block(block(title, true, theme)), rect);
}

pub(super) fn keys_line(keys: &[(&str, &str)], theme: Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (key, label) in keys {
        spans.push(Span::styled(format!(" {}", theme.key_name(key)), theme.key()));
        spans.push(Span::raw(format!(" {label}  ")));
    }
    Line::from(spans)
}

pub fn form(frame: &mut Frame, area: Rect, app: &App, form: &Form, theme: Theme) {
    let [body, footer] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(area);
    let width = usize::from(body.width.saturating_sub(4));
    let mut doc = Doc::new(width);
    if form.editing {
        doc.para("", "Change what triage uses; the step's checks run again.", Style::new());
        doc.heading("The inputs", theme.heading());
    } else {
        doc.para("", &app.runbook().summary, Style::new());
        doc.heading("First, what is affected?", theme.heading());
    }
    for (n, field) in form.fields.iter().enumerate() {
        let found = field.input.from.as_ref().and_then(|key| app.assessment.facts.get(key));
        field_lines(&mut doc, field, n == form.cursor, found.map(ToString::to_string), theme);
    }
    doc.blank();
    let end = if form.editing {
        "Enter on the last field (or Ctrl-S) applies them."
    } else {
        "Enter on the last field (or Ctrl-S) starts the walk."
    };
    doc.para("", end, theme.dim());
    let height = usize::from(body.height.saturating_sub(2));
    let offset = doc.offset(Some(form.cursor), 0, height);
    let title = format!(" triage · {} ", app.runbook().title);
    let paragraph = Paragraph::new(doc.lines).scroll((offset, 0)).block(block(
        truncate(&title, width),
        true,
        theme,
    ));
    frame.render_widget(paragraph, body);
    let esc = if form.editing { "back" } else { "quit" };
    let keys =
        [("↑↓", "field"), ("←→", "option"), ("⏎", "next / start"), ("^u", "clear"), ("Esc", esc)];
    frame.render_widget(Paragraph::new(keys_line(&keys, theme)), footer);
}

fn field_lines(doc: &mut Doc, field: &Field, selected: bool, found: Option<String>, theme: Theme) {
    let glyphs = theme.glyphs();
    let start = doc.begin_item();
    doc.blank();
    let required = if field.input.required { " (required)" } else { " (optional)" };
    let mark = if selected { glyphs.cursor } else { " " };
    let style = if selected { theme.title() } else { Style::new() };
    doc.text(
        Span::raw(format!("{mark} ")),
        "  ",
        &format!("{}{required}", field.input.prompt),
        style,
    );
    let value = match &field.input.kind {
        InputKind::Choice(_) if field.value.is_empty() => {
            format!("{} (none) {}", glyphs.left, glyphs.closed)
        }
        InputKind::Choice(_) => format!("{} {} {}", glyphs.left, field.value, glyphs.closed),
        _ if selected => format!("{}_", field.value),
        _ => field.value.clone(),
    };
    let value_style = if selected { theme.selected(true) } else { theme.command() };
    doc.text(Span::raw("    ".to_owned()), "    ", &value, value_style);
    match found {
        Some(found) => doc.para(
            "    ",
            &format!("found on this machine: {found} (used unless you type another)"),
            theme.ok(),
        ),
        None if field.input.from.is_some() => {
            doc.para(
                "    ",
                "not found by the checks yet: triage asks when a command needs it",
                theme.dim(),
            );
        }
        None => {}
    }
    if let Some(help) = &field.input.help {
        doc.para("    ", help, theme.dim());
    }
    if let Some(error) = &field.error {
        doc.text(
            Span::styled(format!("    {} ", glyphs.failed), theme.bad()),
            "      ",
            error,
            theme.bad(),
        );
    }
    doc.end_item(start);
}
