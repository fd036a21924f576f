//! Small wording helpers shared by every front end and the checks' summaries: counted nouns and
//! word wrapping. Ground floor: imports nothing of the project.

/// `1 step`, `2 steps`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Wraps `text` at word boundaries to `width` columns, indenting continuation lines (the
/// indent counts against the width).
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut column = 0;
    let mut line_start = true;
    for word in text.split(' ') {
        let len = word.chars().count();
        if !line_start && column + 1 + len > width {
            out.push('\n');
            out.push_str(indent);
            column = indent.chars().count();
            line_start = true;
        }
        if !line_start {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
        line_start = false;
    }
    out
}

/// At most `max` items joined by commas, then how many more: `a, b (+3 more)`; `none` when empty.
pub fn list(items: &[String], max: usize) -> String {
    let mut shown = items.iter().take(max).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > max {
        shown.push_str(&format!(" (+{} more)", items.len() - max));
    }
    if shown.is_empty() { "none".to_owned() } else { shown }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_at_words() {
        assert_eq!(wrap("aa bb cc dd", 5, "  "), "aa bb\n  cc\n  dd");
        assert_eq!(wrap("aa bb cc dd", 7, "  "), "aa bb\n  cc dd");
        assert_eq!(wrap("short", 80, "  "), "short");
    }
}
