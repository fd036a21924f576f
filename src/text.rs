//! Small wording helpers shared by every front end and the checks' summaries: counted nouns,
//! word wrapping, and durations as servers write them in configs (nginx's `5s`, HAProxy's bare
//! milliseconds, Varnish's `3.5`, Go's `1m30s`, Envoy's `0.25s`) and as people read them.
//! Ground floor: imports nothing of the project.

use std::time::Duration;

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

/// Reads `text`; a bare number counts in `bare_unit_ms` milliseconds (1000 for seconds).
/// `None` for anything else (`off`, a variable, a typo), and for `0`, which the servers take as
/// "no limit".
pub fn parse_duration(text: &str, bare_unit_ms: f64) -> Option<Duration> {
    let text = text.trim().trim_matches(|c| c == '"' || c == '\'');
    let mut total_ms = 0.0_f64;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total_ms += number * unit_ms(unit, bare_unit_ms)?;
    }
    (total_ms > 0.0 && total_ms.is_finite()).then(|| Duration::from_secs_f64(total_ms / 1000.0))
}

/// Milliseconds in one `unit`; `""` is the bare unit.
fn unit_ms(unit: &str, bare_unit_ms: f64) -> Option<f64> {
    Some(match unit {
        "" => bare_unit_ms,
        "ns" => 1e-6,
        "us" | "µs" => 1e-3,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        "w" => 604_800_000.0,
        "M" => 2_592_000_000.0,
        "y" => 31_536_000_000.0,
        _ => return None,
    })
}

/// A duration for people: `500 ms`, `3.5 s`, `2 min`.
pub fn duration_words(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
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

    #[test]
    fn each_servers_spelling_reads() {
        let s = |t, unit| parse_duration(t, unit).map(|d| d.as_millis());
        assert_eq!(s("5s", 1000.0), Some(5000));
        assert_eq!(s("60", 1000.0), Some(60_000), "nginx: bare seconds");
        assert_eq!(s("5000", 1.0), Some(5000), "HAProxy: bare milliseconds");
        assert_eq!(s("1m30s", 1000.0), Some(90_000));
        assert_eq!(s("3.5", 1000.0), Some(3500), "Varnish parameters");
        assert_eq!(s("0.25s", 1000.0), Some(250), "Envoy");
        assert_eq!(s("500ms", 1000.0), Some(500));
        assert_eq!(s("\"2s\"", 1000.0), Some(2000));
        for bad in ["", "off", "0", "$t", "5 parsecs", "1x"] {
            assert_eq!(parse_duration(bad, 1000.0), None, "{bad}");
        }
        assert_eq!(duration_words(Duration::from_millis(3500)), "3.5 s");
        assert_eq!(duration_words(Duration::from_secs(120)), "2 min");
        assert_eq!(duration_words(Duration::from_millis(250)), "250 ms");
    }
}
