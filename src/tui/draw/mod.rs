//! Drawing: a pure function of the application state. Nothing here mutates the state or does IO,
//! so every screen can be rendered into a `TestBackend` and snapshot. Every string that came from
//! outside (runbook text, inputs, check output) passes `sanitize` before it reaches a cell.

mod details;
mod doc;
mod outcome;
mod overlays;
mod panes;
mod screens;
pub mod theme;
mod watch;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};

use crate::tui::app::{App, Mode, Pane};
pub use theme::Theme;

/// The full layout (the trail beside the step) from this size on; 80x23 is tmux's usual pane.
pub const FULL_WIDTH: u16 = 80;
pub const FULL_HEIGHT: u16 = 20;
/// The smallest screen with a (compact) layout; below it one line says what is needed.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 12;

/// Draws the whole screen.
pub fn render(app: &App, frame: &mut Frame, theme: Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        screens::too_small(frame, area, theme);
        return;
    }
    match &app.mode {
        Mode::Offer(existing) => screens::offer(frame, area, app, existing, theme),
        Mode::Form(form) => screens::form(frame, area, app, form, theme),
        Mode::Walk => panes::render(frame, area, app, theme),
    }
    if let Some(overlay) = &app.overlay {
        overlays::render(frame, area, app, overlay, theme);
    }
    if theme.ascii {
        theme::asciify(frame.buffer_mut());
    }
}

/// Where the walk screen's parts go.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Areas {
    pub header: Rect,
    /// `None` in the compact layout.
    pub trail: Option<Rect>,
    pub details: Rect,
    /// `None` at an outcome.
    pub question: Option<Rect>,
    pub footer: Rect,
}

/// The walk screen's layout for `area`: the trail at the left when there is room, the step
/// above the question. The question pane is compact while the step has the focus, so a fix
/// card or the evidence gets the height.
pub(crate) fn areas(app: &App, area: Rect) -> Areas {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)])
            .areas(area);
    let full = area.width >= FULL_WIDTH && area.height >= FULL_HEIGHT;
    let trail_width = if area.width >= 120 { 34 } else { 24 };
    let (trail, main) = if full {
        let [trail, main] =
            Layout::horizontal([Constraint::Length(trail_width), Constraint::Min(0)]).areas(body);
        (Some(trail), main)
    } else {
        (None, body)
    };
    if app.current_step().is_none() {
        return Areas { header, trail, details: main, question: None, footer };
    }
    let height = panes::question_height(app, main);
    let [details, question] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(height)]).areas(main);
    Areas { header, trail, details, question: Some(question), footer }
}

/// The inner height of a pane at the last known terminal size, for paging.
pub fn pane_height(app: &App, pane: Pane) -> usize {
    let (width, height) = app.viewport;
    let a = areas(app, Rect::new(0, 0, width, height));
    let rect = match pane {
        Pane::Details => Some(a.details),
        Pane::Question => a.question,
        Pane::Trail => a.trail,
    };
    usize::from(rect.map_or(height, |r| r.height).saturating_sub(2))
}

pub use overlays::scroll_limit;

/// A rectangle of at most `width` x `height` in the middle of `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}
