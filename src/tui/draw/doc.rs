//! A scrollable document of wrapped lines, built once per frame, that knows where each selectable
//! item starts and ends so the view can keep the selected one on screen.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::sanitize;

/// Word-wraps `text` (sanitised; newlines kept as breaks) into lines of at most `width` columns.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let clean = sanitize::terminal_text(text, true);
    let mut lines = Vec::new();
    for paragraph in clean.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let fits = line.width() + usize::from(!line.is_empty()) + word.width() <= width;
            if !line.is_empty() && !fits {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            push_hard(&mut line, &mut lines, word, width);
        }
        lines.push(line);
    }
    lines
}

/// Appends a word, breaking it where it is wider than a line (URLs, long paths).
fn push_hard(line: &mut String, lines: &mut Vec<String>, word: &str, width: usize) {
    for c in word.chars() {
        if line.width() + c.width().unwrap_or(0) > width {
            lines.push(std::mem::take(line));
        }
        line.push(c);
    }
}

/// Cuts `text` (sanitised) to `width` columns, with `…` when it was longer.
pub fn truncate(text: &str, width: usize) -> String {
    let clean = sanitize::line(text);
    if clean.width() <= width {
        return clean.into_owned();
    }
    let mut out = String::new();
    for c in clean.chars() {
        if out.width() + c.width().unwrap_or(0) + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

#[derive(Debug)]
pub struct Doc {
    pub lines: Vec<Line<'static>>,
    /// Line ranges of the selectable items, in item order.
    pub items: Vec<(usize, usize)>,
    pub width: usize,
}

impl Doc {
    pub fn new(width: usize) -> Doc {
        Doc { lines: Vec::new(), items: Vec::new(), width }
    }

    pub fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| l.width() > 0) {
            self.lines.push(Line::default());
        }
    }

    /// A heading, except at the very top of the document, where the pane's title says enough.
    pub fn heading_or_first(&mut self, text: &str, style: Style) {
        if !self.lines.is_empty() {
            self.heading(text, style);
        }
    }

    pub fn heading(&mut self, text: &str, style: Style) {
        self.blank();
        self.lines.push(Line::styled(text.to_owned(), style));
    }

    pub fn line(&mut self, line: Line<'static>) {
        self.lines.push(line);
    }

    /// Wrapped text: the first line after `first`, the rest after `rest` (a hanging indent).
    pub fn text(&mut self, first: Span<'static>, rest: &str, text: &str, style: Style) {
        let indent = first.width().max(rest.width());
        let mut prefix = Some(first);
        for piece in wrap(text, self.width.saturating_sub(indent)) {
            let lead = prefix.take().unwrap_or_else(|| Span::raw(rest.to_owned()));
            self.lines.push(Line::from(vec![lead, Span::styled(piece, style)]));
        }
    }

    /// Plain wrapped text with an indent.
    pub fn para(&mut self, indent: &str, text: &str, style: Style) {
        self.text(Span::raw(indent.to_owned()), indent, text, style);
    }

    /// A line whose spacing means something (a check's aligned table): kept as it is when it
    /// fits, wrapped like a paragraph when it does not.
    pub fn preformatted(&mut self, indent: &str, text: &str, style: Style) {
        let clean = sanitize::line(text);
        if indent.width() + clean.width() <= self.width {
            self.lines.push(Line::from(vec![
                Span::raw(indent.to_owned()),
                Span::styled(clean.into_owned(), style),
            ]));
        } else {
            self.para(indent, text, style);
        }
    }

    /// Starts a selectable item; items may nest (a fix card holds its commands), so the slot
    /// is taken in item order now and closed by [`Doc::end_item`].
    pub fn begin_item(&mut self) -> usize {
        self.items.push((self.lines.len(), self.lines.len()));
        self.items.len() - 1
    }

    pub fn end_item(&mut self, slot: usize) {
        let end = self.lines.len();
        if let Some(item) = self.items.get_mut(slot) {
            item.1 = end;
        }
    }

    /// The first line to show so that item `selected` is in view, then `scroll` further down.
    pub fn offset(&self, selected: Option<usize>, scroll: u16, height: usize) -> u16 {
        let base = selected.and_then(|i| self.items.get(i)).map_or(0, |&(start, end)| {
            let fits = end.saturating_sub(start) <= height;
            if fits { end.saturating_sub(height) } else { start }
        });
        let max = self.lines.len().saturating_sub(height);
        (base + usize::from(scroll)).min(max.max(base)) as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_breaks_long_ones() {
        assert_eq!(wrap("one two three four", 9), vec!["one two", "three", "four"]);
        assert_eq!(wrap("https://a.very.long.host/path", 10).len(), 3);
        assert_eq!(wrap("a\nb", 10), vec!["a", "b"]);
        assert_eq!(wrap("evil\u{1b}[2Jtext", 20), vec!["eviltext"]);
    }

    #[test]
    fn truncates_with_an_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
