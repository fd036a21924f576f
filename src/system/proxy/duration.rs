//! Durations as the servers write them in their configs: nginx's `5s`, `1m30s` and bare seconds,
//! HAProxy's bare milliseconds, Varnish's `3.5` and `1.5s`, Go's `500ms` (Caddy, Traefik),
//! Envoy's `0.25s`, PHP-FPM's `30s` and `5m`. Pure text to a [`Duration`]; it never fails loudly,
//! because a value it cannot read is reported as written.

use std::time::Duration;

/// Reads `text`; a bare number counts in `bare_unit_ms` milliseconds (1000 for seconds).
/// `None` for anything else (`off`, a variable, a typo), and for `0`, which the servers take as
/// "no limit".
pub fn parse(text: &str, bare_unit_ms: f64) -> Option<Duration> {
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
pub fn words(duration: Duration) -> String {
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
    fn each_servers_spelling_reads() {
        let s = |t, unit| parse(t, unit).map(|d| d.as_millis());
        assert_eq!(s("5s", 1000.0), Some(5000));
        assert_eq!(s("60", 1000.0), Some(60_000), "nginx: bare seconds");
        assert_eq!(s("5000", 1.0), Some(5000), "HAProxy: bare milliseconds");
        assert_eq!(s("1m30s", 1000.0), Some(90_000));
        assert_eq!(s("3.5", 1000.0), Some(3500), "Varnish parameters");
        assert_eq!(s("0.25s", 1000.0), Some(250), "Envoy");
        assert_eq!(s("500ms", 1000.0), Some(500));
        assert_eq!(s("\"2s\"", 1000.0), Some(2000));
        for bad in ["", "off", "0", "$t", "5 parsecs", "1x"] {
            assert_eq!(parse(bad, 1000.0), None, "{bad}");
        }
        assert_eq!(words(Duration::from_millis(3500)), "3.5 s");
        assert_eq!(words(Duration::from_secs(120)), "2 min");
        assert_eq!(words(Duration::from_millis(250)), "250 ms");
    }
}
