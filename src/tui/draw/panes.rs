//! The walk screen: header, trail, the current step (or the outcome), the question, the footer.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::details;
use super::doc::{Doc, truncate};
use super::theme::Theme;
use crate::runbook::model::Question;
use crate::session::time::elapsed;
use crate::session::{Position, Visit};
use crate::tui::app::{App, Pane, RunState};
use crate::tui::keys;

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let a = super::areas(app, area);
    render_header(frame, a.header, app, theme);
    if let Some(trail) = a.trail {
        render_trail(frame, trail, app, theme);
    }
    match a.question {
        Some(question) => {
            details::render_step(frame, a.details, app, theme);
            render_question(frame, question, app, theme);
        }
        None => super::outcome::render(frame, a.details, app, theme),
    }
    render_footer(frame, a.footer, app, theme);
}

pub(super) fn block(title: String, focused: bool, theme: Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_set(theme.border())
        .border_style(theme.frame(focused))
        .title(Span::styled(title, theme.title()))
}

fn render_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let session = app.session();
    let (layer, progress) = match (app.current_step(), app.current_outcome()) {
        (Some(step), _) => {
            let at = app.runbook().step_index(&step.id).map_or(0, |i| i + 1);
            (step.layer.label().to_owned(), format!("step {at} of {}", app.runbook().steps.len()))
        }
        (None, Some(_)) => ("outcome".to_owned(), "done".to_owned()),
        (None, None) => (String::new(), String::new()),
    };
    let right = if area.width >= super::FULL_WIDTH {
        format!(" {} · {layer} · {progress} ", elapsed(app.now.since(session.started)))
    } else {
        format!(" {} · {progress} ", elapsed(app.now.since(session.started)))
    };
    let room = usize::from(area.width).saturating_sub(right.chars().count() + 10);
    let left = format!(" triage · {}", truncate(&session.url, room));
    let pad = usize::from(area.width).saturating_sub(left.chars().count() + right.chars().count());
    let line = Line::from(vec![Span::raw(left), Span::raw(" ".repeat(pad)), Span::raw(right)]);
    frame.render_widget(Paragraph::new(line).style(theme.header()), area);
}

fn render_trail(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let focused = app.focus == Pane::Trail;
    let width = usize::from(area.width.saturating_sub(4));
    let path = app.session().path();
    let mut doc = Doc::new(width + 2);
    for (n, visit) in path.iter().enumerate() {
        let start = doc.begin_item();
        trail_visit(&mut doc, app, visit, n, n + 1 == path.len(), width, theme);
        doc.end_item(start);
    }
    let inner_height = usize::from(area.height.saturating_sub(2));
    let selected = if focused { app.trail_cursor } else { path.len().saturating_sub(1) };
    let offset = doc.offset(Some(selected), 0, inner_height);
    let frame_block = block(" Trail ".to_owned(), focused, theme);
    frame.render_widget(Paragraph::new(doc.lines).scroll((offset, 0)).block(frame_block), area);
}

/// One place on the path: its title, marked done, current or selected, and the answer given.
fn trail_visit(
    doc: &mut Doc,
    app: &App,
    visit: &Visit,
    n: usize,
    current: bool,
    width: usize,
    theme: Theme,
) {
    let glyphs = theme.glyphs();
    let selected = app.focus == Pane::Trail && n == app.trail_cursor;
    let (mark, style) = match (selected, current) {
        (true, _) => (glyphs.cursor, theme.selected(true)),
        (false, true) => (glyphs.arrow, theme.title()),
        (false, false) => (glyphs.done, Style::new()),
    };
    let title = match visit.position {
        Position::Outcome(_) => format!("End: {}", visit.title),
        _ => visit.title.clone(),
    };
    doc.line(Line::from(vec![
        Span::raw(format!("{mark} ")),
        Span::styled(truncate(&title, width), style),
    ]));
    if let Some(answer) = &visit.answer {
        doc.line(Line::styled(format!("  {}", truncate(answer, width)), theme.dim()));
    }
}

/// Room for the prompt, every choice and the suggestion, within half the main pane; while the
/// step has the focus, only the prompt and the answer chosen, so the step gets the height.
pub(super) fn question_height(app: &App, main: Rect) -> u16 {
    if app.focus == Pane::Details {
        return 5.min(main.height / 2);
    }
    let width = usize::from(main.width.saturating_sub(4));
    let lines = question_doc(app, width, Theme::default()).lines.len() as u16;
    (lines + 2).clamp(5, main.height / 2 + 2)
}

fn render_question(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let focused = app.focus == Pane::Question;
    let width = usize::from(area.width.saturating_sub(4));
    let height = usize::from(area.height.saturating_sub(2));
    let (doc, offset) = if focused {
        let doc = question_doc(app, width, theme);
        let offset = doc.offset(Some(app.view.choice), app.view.question_scroll, height);
        (doc, offset)
    } else {
        (compact_question(app, width, theme), 0)
    };
    let title =
        if focused { " Question — Enter confirms " } else { " Question — Tab to answer " };
    let mut frame_block = block(title.to_owned(), focused, theme);
    if doc.lines.len() > height + usize::from(offset) {
        let hint = Line::styled(" more: PgDn ", theme.dim()).right_aligned();
        frame_block = frame_block.title_bottom(hint);
    }
    let paragraph = Paragraph::new(doc.lines).scroll((offset, 0)).block(frame_block);
    frame.render_widget(paragraph, area);
}

/// The prompt and the answer the cursor is on (or the suggested one), for when the step has
/// the focus.
fn compact_question(app: &App, width: usize, theme: Theme) -> Doc {
    let mut doc = Doc::new(width);
    let Some(step) = app.current_step() else { return doc };
    let prompt = truncate(&app.text(step.question.prompt()), width);
    doc.line(Line::styled(prompt, theme.heading()));
    let Some(choice) = step.question.choices().get(app.view.choice) else {
        doc.line(Line::styled("Tab, then Enter, to type the answer", theme.dim()));
        return doc;
    };
    let suggested = app.suggestion.as_ref().is_some_and(|s| s.choice == app.view.choice);
    let mark = if suggested { format!(" {}", theme.glyphs().suggested) } else { String::new() };
    let text = format!("{} {}{mark}", theme.glyphs().cursor, app.text(&choice.label));
    doc.line(Line::styled(
        truncate(&text, width),
        if suggested { theme.suggested() } else { Style::new() },
    ));
    doc
}

fn question_doc(app: &App, width: usize, theme: Theme) -> Doc {
    let mut doc = Doc::new(width);
    let Some(step) = app.current_step() else { return doc };
    doc.para("", &app.text(step.question.prompt()), theme.heading());
    if let Question::Text { .. } = step.question {
        doc.para("", "Press Enter to type the answer (Enter saves it, Esc cancels).", theme.dim());
        return doc;
    }
    for (i, choice) in step.question.choices().iter().enumerate() {
        choice_lines(&mut doc, app, i, &app.text(&choice.label), theme);
    }
    if app.suggestion.is_none() {
        no_suggestion_line(&mut doc, app, theme);
    }
    doc
}

/// One choice; the suggested one carries the reason under it, in the same item, so selecting
/// it always brings the reason into view.
fn choice_lines(doc: &mut Doc, app: &App, i: usize, label: &str, theme: Theme) {
    let glyphs = theme.glyphs();
    let selected = i == app.view.choice;
    let suggestion = app.suggestion.as_ref().filter(|s| s.choice == i);
    let focused = app.focus == Pane::Question;
    // With no evidence and no keypress, no answer looks chosen: the cursor only shows where
    // Enter would answer.
    let chosen = selected && (app.view.choice_touched || suggestion.is_some());
    let mark = if selected { glyphs.cursor } else { " " };
    let radio = if chosen { glyphs.radio_on } else { glyphs.radio_off };
    let mut text = label.to_owned();
    if suggestion.is_some() {
        text.push_str(&format!("  {} suggested", glyphs.suggested));
    }
    let style = if selected {
        theme.selected(focused)
    } else if suggestion.is_some() {
        theme.suggested()
    } else {
        Style::new()
    };
    let start = doc.begin_item();
    doc.text(Span::raw(format!("{mark} {radio} ")), "      ", &text, style);
    if let Some(s) = suggestion {
        let reason = format!("{} {}", glyphs.suggested, s.reason);
        doc.para("      ", &reason, theme.suggested());
    }
    doc.end_item(start);
}

fn no_suggestion_line(doc: &mut Doc, app: &App, theme: Theme) {
    let running = app.runs.iter().any(|r| !matches!(r.state, RunState::Finished(_)));
    let note = if app.watching() {
        "Watching: the answer is suggested when the window has passed, or at once if errors come back."
    } else if running {
        "Checks are running; a suggestion may appear. You can answer now."
    } else if app.current_step().is_some_and(crate::runbook::model::Step::is_fix) {
        "Make the change, then r checks again: the answer is suggested once the fault is gone."
    } else if app.runs.is_empty() {
        "No automatic check here: answer from what you see."
    } else if app.assessment.facts.is_empty() || app.runs.iter().all(could_not_run) {
        "No evidence yet (the checks could not run): answer from what you see."
    } else {
        "The evidence suggests no answer here: answer from what you see."
    };
    doc.para("", note, theme.dim());
}

fn render_footer(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let at_outcome = app.current_step().is_none();
    let mut spans = Vec::new();
    for (key, label) in keys::footer(app.focus, at_outcome) {
        spans.push(Span::styled(format!(" {}", theme.key_name(key)), theme.key()));
        spans.push(Span::raw(format!(" {label} ")));
    }
    let line = Line::from(spans);
    frame.render_widget(Paragraph::new(line), area);
}

fn could_not_run(run: &crate::tui::app::CheckRun) -> bool {
    matches!(&run.state, RunState::Finished(r) if matches!(r.status, crate::contract::CheckStatus::CouldNotRun { .. } | crate::contract::CheckStatus::TimedOut { .. }))
}
