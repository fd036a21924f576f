//! Drawing: a pure function of the application state. Nothing here mutates the state or does IO,
//! so every screen can be rendered into a `TestBackend` and snapshot. Every string that came from
//! outside (runbook text, inputs, check output) passes `sanitize` before it reaches a cell.

mod details;
mod doc;
mod overlays;
mod panes;
mod screens;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::tui::app::{App, Mode};
pub use theme::Theme;

/// The smallest screen the layout is designed for.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

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
