//! Small wording helpers shared by every front end and the checks' summaries: counted nouns and
//! word wrapping. Ground floor: imports nothing of the project.

/// `10s`, `5m`, `1h` (or a bare number of seconds) as seconds; `None` for anything else.
pub fn duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().ok()?;
    let scale = match unit.trim() {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" => 3600,
        _ => return None,
    };
    n.checked_mul(scale).filter(|s| *s > 0)
}

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

/// `512 B`, `64.0 KiB`, `3.2 GiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_seconds_minutes_and_hours() {
        assert_eq!(duration("10s"), Some(10));
        assert_eq!(duration("5m"), Some(300));
        assert_eq!(duration(" 1h "), Some(3600));
        assert_eq!(duration("90"), Some(90));
        assert_eq!(duration("0s"), None);
        assert_eq!(duration("5 weeks"), None);
        assert_eq!(duration(""), None);
    }

    #[test]
    fn long_lines_wrap_at_words() {
        assert_eq!(wrap("aa bb cc dd", 5, "  "), "aa bb\n  cc\n  dd");
        assert_eq!(wrap("aa bb cc dd", 7, "  "), "aa bb\n  cc dd");
        assert_eq!(wrap("short", 80, "  "), "short");
    }

    #[test]
    fn sizes_read_for_people() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(64 * 1024), "64.0 KiB");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}
