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
use crate::tui::overlay::{Asking, Editor, Filling, Outline, Overlay, Purpose};

pub fn render(frame: &mut Frame, area: Rect, app: &App, overlay: &Overlay, theme: Theme) {
    match overlay {
        Overlay::Help { scroll } => help(frame, area, *scroll, theme),
        Overlay::Outline(outline) => render_outline(frame, area, app, outline, theme),
        Overlay::Editor(editor) => render_editor(frame, area, app, editor, theme),
        Overlay::Text { title, intro, text, scroll } => {
            text_box(frame, area, [title, intro, text], *scroll, theme);
        }
        Overlay::FixOutcome { fix } => fix_outcome(frame, area, app, *fix, theme),
        Overlay::Ask(asking) => ask(frame, area, asking, theme),
        Overlay::Fill(filling) => fill(frame, area, filling, theme),
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

/// A dialog sized to what it says (its keys always in view), at most `width` wide.
fn fitted(
    frame: &mut Frame,
    area: Rect,
    width: u16,
    title: &str,
    theme: Theme,
    build: impl Fn(&mut Doc),
) {
    let width = width.min(area.width);
    let mut doc = Doc::new(usize::from(width.saturating_sub(4)));
    build(&mut doc);
    let height = u16::try_from(doc.lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, width, height);
    let skip = doc.lines.len().saturating_sub(usize::from(rect.height.saturating_sub(2)));
    // When the screen is too short, the first lines give way: the keys at the end stay.
    boxed(frame, rect, title, doc, u16::try_from(skip).unwrap_or(0), theme);
}

/// The furthest a read-only box can scroll at this screen size: its last line at the bottom.
pub fn scroll_limit(app: &App, overlay: &Overlay) -> u16 {
    let area = Rect::new(0, 0, app.viewport.0, app.viewport.1);
    let (lines, rect) = match overlay {
        Overlay::Help { .. } => {
            let rect = centered(area, 76, 26);
            (help_doc(rect, Theme::default()).lines.len(), rect)
        }
        Overlay::Text { title, intro, text, .. } => {
            let (doc, rect) = text_doc(area, [title, intro, text], Theme::default());
            (doc.lines.len(), rect)
        }
        _ => return 0,
    };
    u16::try_from(lines.saturating_sub(usize::from(rect.height.saturating_sub(2)))).unwrap_or(0)
}

fn help_doc(rect: Rect, theme: Theme) -> Doc {
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
    doc
}

fn help(frame: &mut Frame, area: Rect, scroll: u16, theme: Theme) {
    let rect = centered(area, 76, 26);
    let doc = help_doc(rect, theme);
    frame.render_widget(Clear, rect);
    let hint = Line::styled(" j k scroll · any other key closes ", theme.dim()).right_aligned();
    let frame_block = block(" Keys ".to_owned(), true, theme).title_bottom(hint);
    frame.render_widget(Paragraph::new(doc.lines).scroll((scroll, 0)).block(frame_block), rect);
}

fn render_outline(frame: &mut Frame, area: Rect, app: &App, outline: &Outline, theme: Theme) {
    let rect = centered(area, 70, 20);
    let width = usize::from(rect.width.saturating_sub(4));
    let mut doc = Doc::new(width);
    doc.line(Line::from(vec![
        Span::styled("Find a step: ", theme.heading()),
        Span::raw(format!("{}_", outline.query)),
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
    let height = usize::from(rect.height.saturating_sub(2));
    let scroll = (outline.cursor + 2).saturating_sub(height.saturating_sub(1)) as u16;
    let hint =
        Line::styled(" type to find · ↑↓ · Enter go · Esc close ", theme.dim()).right_aligned();
    frame.render_widget(Clear, rect);
    let frame_block = block(" Outline: jump to a step ".to_owned(), true, theme).title_bottom(hint);
    frame.render_widget(Paragraph::new(doc.lines).scroll((scroll, 0)).block(frame_block), rect);
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

fn text_doc(area: Rect, [_, intro, text]: [&String; 3], theme: Theme) -> (Doc, Rect) {
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
    (doc, rect)
}

fn text_box(frame: &mut Frame, area: Rect, texts: [&String; 3], scroll: u16, theme: Theme) {
    let (doc, rect) = text_doc(area, texts, theme);
    boxed(frame, rect, texts[0], doc, scroll, theme);
}

fn fix_outcome(frame: &mut Frame, area: Rect, app: &App, fix: usize, theme: Theme) {
    let title = app
        .current_step()
        .and_then(|s| s.fixes.get(fix))
        .map(|f| app.text(&f.title))
        .unwrap_or_default();
    fitted(frame, area, 64, "Fix tried", theme, |doc| {
        doc.para("", &format!("You tried \"{title}\". Did it work?"), theme.heading());
        doc.blank();
        let keys = [("w", "worked"), ("d", "did not work"), ("p", "partly"), ("Esc", "cancel")];
        doc.line(keys_line(&keys, theme));
    });
}

/// A question for the note, with its editor; Enter saves it, Tab skips, Esc stops.
fn ask(frame: &mut Frame, area: Rect, asking: &Asking, theme: Theme) {
    let Some(current) = asking.queue.first() else { return };
    let (n, total) = asking.position();
    let title = format!(" For the note: question {n} of {total} ");
    prompt_box(
        frame,
        area,
        &title,
        &current.prompt,
        &asking.editor,
        theme,
        " Enter save · Tab skip · Esc later ",
    );
}

/// A value a command lacks; Enter takes it, Esc leaves the command uncopied.
fn fill(frame: &mut Frame, area: Rect, filling: &Filling, theme: Theme) {
    let Some((_, prompt)) = filling.missing.first() else { return };
    let text = format!("This command needs: {prompt}");
    prompt_box(
        frame,
        area,
        " A value the command needs ",
        &text,
        &filling.editor,
        theme,
        " Enter use it · Esc cancel ",
    );
}

fn prompt_box(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    prompt: &str,
    editor: &Editor,
    theme: Theme,
    hint: &'static str,
) {
    let width = 72.min(area.width);
    let lines = super::doc::wrap(prompt, usize::from(width.saturating_sub(4)));
    let box_height = (u16::try_from(lines.len()).unwrap_or(3) + 6).min(area.height);
    let rect = centered(area, width, box_height);
    frame.render_widget(Clear, rect);
    let outer = block(title.to_owned(), true, theme)
        .title_bottom(Line::styled(hint, theme.dim()).right_aligned());
    let inner = outer.inner(rect);
    frame.render_widget(outer, rect);
    let prompt_height = u16::try_from(lines.len()).unwrap_or(1).min(inner.height.saturating_sub(1));
    let text: Vec<Line> = lines.into_iter().map(|l| Line::styled(l, theme.heading())).collect();
    let [top, below] = ratatui::layout::Layout::vertical([
        ratatui::layout::Constraint::Length(prompt_height),
        ratatui::layout::Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(text), top);
    frame.render_widget(&editor.area, below);
}

fn confirm_quit(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let recorded = !app.session().entries.is_empty();
    fitted(frame, area, 64, "Quit", theme, |doc| {
        if recorded {
            doc.para("", "Quit triage? Everything so far is saved.", theme.heading());
            let resume = format!("Continue later with: triage resume {}", app.session().id);
            doc.para("", &resume, Style::new());
            doc.blank();
            doc.line(keys_line(&[("y", "quit"), ("e", "export, then quit"), ("n", "stay")], theme));
        } else {
            doc.para(
                "",
                "Quit triage? Nothing is recorded yet, so no session is saved.",
                theme.heading(),
            );
            doc.blank();
            doc.line(keys_line(&[("y", "quit"), ("n", "stay")], theme));
        }
    });
}
