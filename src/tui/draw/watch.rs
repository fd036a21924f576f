//! The monitoring panel of a watched step: how long, the live 5xx rate, new errors of the site
//! in the logs, and a sparkline of the status over time (one cell per probe).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::doc::Doc;
use super::theme::Theme;
use crate::report::Watch;
use crate::session::time::elapsed;
use crate::tui::app::App;

/// The panel, on a step that watches; nothing elsewhere.
pub fn panel(doc: &mut Doc, app: &App, theme: Theme) {
    let Some((every, until)) = app.watch_window() else { return };
    let watch = app
        .assessment
        .watch
        .as_ref()
        .filter(|w| Some(&w.step) == app.current_step().map(|s| &s.id));
    let watched =
        watch.map_or(0, |w| u64::try_from(app.now.since(w.started).as_secs()).unwrap_or(0));
    let state = if app.watching() {
        format!("{} of {} watched", secs(watched.min(until)), secs(until))
    } else {
        format!("done: {} watched", secs(until))
    };
    let heading = format!("Monitoring — a probe every {every} s; {state}");
    if doc.lines.is_empty() {
        doc.line(Line::styled(heading, theme.heading()));
    } else {
        doc.heading(&heading, theme.heading());
    }
    let Some(w) = watch else {
        doc.para("", "The first probe is on its way.", theme.dim());
        return;
    };
    rate(doc, w, theme);
    sparkline(doc, w, theme);
    logs(doc, w, theme);
}

fn secs(s: u64) -> String {
    elapsed(jiff::SignedDuration::from_secs(i64::try_from(s).unwrap_or(i64::MAX)))
}

/// `5xx rate 0% (0 of 12 probes)`.
fn rate(doc: &mut Doc, w: &Watch, theme: Theme) {
    let probes = w.probes.len();
    let errors = w.errors();
    let pct = (errors * 100 + probes / 2).checked_div(probes).unwrap_or(0);
    let style = if errors == 0 { theme.ok() } else { theme.bad() };
    doc.line(Line::from(vec![
        Span::raw("5xx rate "),
        Span::styled(format!("{pct}%"), style),
        Span::raw(format!(" ({errors} of {probes} probes failed)")),
    ]));
}

/// One cell per probe, the latest at the right: low and green for a normal answer, full and
/// red for a 5xx or no answer. The times of the first and last cell frame it.
fn sparkline(doc: &mut Doc, w: &Watch, theme: Theme) {
    let room = doc.width.saturating_sub(14).max(8);
    let shown = &w.probes[w.probes.len().saturating_sub(room)..];
    let (Some(first), Some(last)) = (shown.first(), shown.last()) else { return };
    let mut spans = vec![Span::styled(format!("{} ", first.at.clock()), theme.dim())];
    for probe in shown {
        let (cell, style) = if probe.failed() {
            (theme.glyphs().spark_bad, theme.bad())
        } else {
            (theme.glyphs().spark_ok, theme.ok())
        };
        spans.push(Span::styled(cell, style));
    }
    spans.push(Span::styled(format!(" {}", last.at.clock()), theme.dim()));
    doc.line(Line::from(spans));
    let labels: Vec<String> =
        shown.iter().rev().take(6).map(crate::report::timeline::Probe::label).collect();
    doc.para("", &format!("latest: {}", labels.join(" ")), theme.dim());
}

fn logs(doc: &mut Doc, w: &Watch, theme: Theme) {
    match (&w.log_line, w.log_errors) {
        (_, 0) => doc.para("", "No new error lines of this site in the logs.", Style::new()),
        (line, n) => {
            let lines = crate::text::count(n as usize, "new error line", "new error lines");
            let text = format!("{lines} of this site in the logs");
            doc.para("", &text, theme.bad());
            if let Some(line) = line {
                doc.preformatted("  ", line, theme.dim());
            }
        }
    }
}
