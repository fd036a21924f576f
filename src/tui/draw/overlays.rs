//! The boxes drawn over the walk screen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::centered;
use super::doc::{Doc, truncate};
use super::panes::block;
use super::screens::keys_line;
use super::theme::Theme;
use crate::tui::app::App;
use crate::tui::keys::HELP;
use crate::tui::overlay::{Editor, Outline, Overlay, Purpose};

pub fn render(frame: &mut Frame, area: Rect, app: &App, overlay: &Overlay, theme: Theme) {
    match overlay {
        Overlay::Help { scroll } => help(frame, area, *scroll, theme),
        Overlay::Outline(outline) => render_outline(frame, area, app, outline, theme),
        Overlay::Editor(editor) => render_editor(frame, area, app, editor, theme),
        Overlay::Text { title, intro, text, scroll } => {
            text_box(frame, area, [title, intro, text], *scroll, theme);
        }
        Overlay::FixOutcome { fix } => fix_outcome(frame, area, app, *fix, theme),
        Overlay::ConfirmQuit => confirm_quit(frame, area, app, theme),
    }
}

fn boxed(frame: &mut Frame, rect: Rect, title: &str, doc: Doc, scroll: u16, theme: Theme) {
    frame.render_widget(Clear, rect);
    let paragraph = Paragraph::new(doc.lines).scroll((scroll, 0)).block(block(
        format!(" {title} "),
        true,
        theme,
    ));
    frame.render_widget(paragraph, rect);
}

fn help(frame: &mut Frame, area: Rect, scroll: u16, theme: Theme) {
    let rect = centered(area, 76, 26);
    let mut doc = Doc::new(usize::from(rect.width.saturating_sub(4)));
    for (keys, what) in HELP {
        let key = Span::styled(format!("{keys:<18}"), theme.key());
        doc.text(key, &" ".repeat(18), what, Style::new());
    }
    doc.blank();
    doc.para(
        "",
        "Note editor: Ctrl-S saves, Esc cancels. Everything is saved as you go.",
        theme.dim(),
    );
    frame.render_widget(Clear, rect);
    let hint = Line::styled(" j k scroll · any other key closes ", theme.dim()).right_aligned();
    let frame_block = block(" Keys ".to_owned(), true, theme).title_bottom(hint);
    frame.render_widget(Paragraph::new(doc.lines).scroll((scroll, 0)).block(frame_block), rect);
}

fn render_outline(frame: &mut Frame, area: Rect, app: &App, outline: &Outline, theme: Theme) {
    let rect = centered(area, 70, 20);
    let width = usize::from(rect.width.saturating_sub(4));
    let mut doc = Doc::new(width);
    let cursor = if outline.searching { "_" } else { "" };
    doc.line(Line::from(vec![
        Span::styled("Search: ", theme.heading()),
        Span::raw(format!("{}{cursor}", outline.query)),
    ]));
    let visited: Vec<_> = app.session().path().into_iter().map(|v| v.position).collect();
    let matches = outline.matches(app.runbook());
    if matches.is_empty() {
        doc.para("", "No step title matches.", theme.dim());
    }
    for (n, id) in matches.iter().enumerate() {
        let Some(step) = app.runbook().step(id) else { continue };
        let seen = visited.contains(&crate::session::Position::Step(id.clone()));
        let mark = if n == outline.cursor { theme.glyphs().cursor } else { " " };
        let done = if seen { theme.glyphs().done } else { " " };
        let style = if n == outline.cursor { theme.selected(true) } else { Style::new() };
        let text = truncate(
            &format!("{} · {}", app.text(&step.title), step.layer.label()),
            width.saturating_sub(5),
        );
        doc.line(Line::from(vec![Span::raw(format!("{mark} {done} ")), Span::styled(text, style)]));
    }
    doc.blank();
    let hint = if outline.searching {
        "type to filter · ↑↓ select · Enter goes there · Esc closes"
    } else {
        "↑↓ j k select · / search · Enter goes there · Esc closes"
    };
    doc.para("", hint, theme.dim());
    let height = usize::from(rect.height.saturating_sub(2));
    let scroll = (outline.cursor + 2).saturating_sub(height.saturating_sub(3)) as u16;
    boxed(frame, rect, "Outline: jump to a step", doc, scroll, theme);
}

fn render_editor(frame: &mut Frame, area: Rect, app: &App, editor: &Editor, theme: Theme) {
    let rect = centered(area, 72, 14);
    frame.render_widget(Clear, rect);
    let (title, hint) = match editor.purpose {
        Purpose::Note => (" Note on this step ", " Ctrl-S save · Esc cancel "),
        Purpose::Answer => (" Your answer ", " Enter save · Esc cancel "),
    };
    let where_ =
        app.current_step().map_or_else(|| "the outcome".to_owned(), |s| app.text(&s.title));
    let outer = block(format!("{title}· {} ", truncate(&where_, 40)), true, theme)
        .title_bottom(Line::styled(hint, theme.dim()).right_aligned());
    let inner = outer.inner(rect);
    frame.render_widget(outer, rect);
    frame.render_widget(&editor.area, inner);
}

fn text_box(
    frame: &mut Frame,
    area: Rect,
    [title, intro, text]: [&String; 3],
    scroll: u16,
    theme: Theme,
) {
    let width = area.width.saturating_sub(2).min(78);
    let mut doc = Doc::new(usize::from(width.saturating_sub(4)));
    doc.para("", intro, theme.dim());
    doc.blank();
    for line in text.lines() {
        let body = line.trim_start();
        doc.para(&line[..line.len() - body.len()], body, theme.command());
    }
    doc.blank();
    doc.para("", "↑↓ scroll · any other key closes", theme.dim());
    let height = u16::try_from(doc.lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, width, height.min(area.height.saturating_sub(2)));
    boxed(frame, rect, title, doc, scroll, theme);
}

fn fix_outcome(frame: &mut Frame, area: Rect, app: &App, fix: usize, theme: Theme) {
    let rect = centered(area, 64, 5);
    let mut doc = Doc::new(usize::from(rect.width.saturating_sub(4)));
    let title = app
        .current_step()
        .and_then(|s| s.fixes.get(fix))
        .map(|f| app.text(&f.title))
        .unwrap_or_default();
    doc.para("", &format!("You tried \"{title}\". Did it work?"), theme.heading());
    doc.blank();
    doc.line(keys_line(
        &[("w", "worked"), ("d", "did not work"), ("p", "partly"), ("Esc", "cancel")],
        theme,
    ));
    boxed(frame, rect, "Fix tried", doc, 0, theme);
}

fn confirm_quit(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let rect = centered(area, 64, 6);
    let mut doc = Doc::new(usize::from(rect.width.saturating_sub(4)));
    doc.para("", "Quit triage? Everything so far is saved.", theme.heading());
    doc.para("", &format!("Continue later with: triage resume {}", app.session().id), Style::new());
    doc.blank();
    doc.line(keys_line(&[("y", "quit"), ("e", "export, then quit"), ("n", "stay")], theme));
    boxed(frame, rect, "Quit", doc, 0, theme);
}
