//! The walk screen: header, trail, the current step (or the outcome), the question, the footer.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
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
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)])
            .areas(area);
    render_header(frame, header, app, theme);
    let trail_width = if area.width >= 120 { 34 } else { 24 };
    let [trail, main] =
        Layout::horizontal([Constraint::Length(trail_width), Constraint::Min(0)]).areas(body);
    render_trail(frame, trail, app, theme);
    if app.current_step().is_some() {
        let question_height = question_height(app, main);
        let [details_area, question] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(question_height)]).areas(main);
        details::render_step(frame, details_area, app, theme);
        render_question(frame, question, app, theme);
    } else {
        details::render_outcome(frame, main, app, theme);
    }
    render_footer(frame, footer, app, theme);
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
    let right = format!(" {} · {layer} · {progress} ", elapsed(app.now.since(session.started)));
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

/// Room for the prompt, every choice and the suggestion line, within half the main pane.
fn question_height(app: &App, main: Rect) -> u16 {
    let width = usize::from(main.width.saturating_sub(4));
    let lines = question_doc(app, width, Theme::default()).lines.len() as u16;
    (lines + 2).clamp(5, main.height / 2 + 2)
}

fn render_question(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let focused = app.focus == Pane::Question;
    let width = usize::from(area.width.saturating_sub(4));
    let doc = question_doc(app, width, theme);
    let height = usize::from(area.height.saturating_sub(2));
    let selected = Some(app.view.choice);
    let offset = doc.offset(selected, 0, height);
    let title = if focused { " Question — Enter confirms " } else { " Question " };
    let paragraph = Paragraph::new(doc.lines).scroll((offset, 0)).block(block(
        title.to_owned(),
        focused,
        theme,
    ));
    frame.render_widget(paragraph, area);
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
    suggestion_line(&mut doc, app, theme);
    doc
}

fn choice_lines(doc: &mut Doc, app: &App, i: usize, label: &str, theme: Theme) {
    let glyphs = theme.glyphs();
    let selected = i == app.view.choice;
    let suggested = app.suggestion.as_ref().is_some_and(|s| s.choice == i);
    let focused = app.focus == Pane::Question;
    let mark = if selected { glyphs.cursor } else { " " };
    let radio = if selected { glyphs.radio_on } else { glyphs.radio_off };
    let mut text = label.to_owned();
    if suggested {
        text.push_str(&format!("  {} suggested", glyphs.suggested));
    }
    let style = if selected {
        theme.selected(focused)
    } else if suggested {
        theme.suggested()
    } else {
        Style::new()
    };
    let start = doc.begin_item();
    doc.text(Span::raw(format!("{mark} {radio} ")), "      ", &text, style);
    doc.end_item(start);
}

fn suggestion_line(doc: &mut Doc, app: &App, theme: Theme) {
    let glyphs = theme.glyphs();
    if let Some(s) = &app.suggestion {
        let text = format!("{} Suggested by the evidence: {}", glyphs.suggested, s.reason);
        doc.para("", &text, theme.suggested());
        return;
    }
    let running = app.runs.iter().any(|r| !matches!(r.state, RunState::Finished(_)));
    let note = if running {
        "Checks are running; a suggestion may appear. You can answer now."
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
