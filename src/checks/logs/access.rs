//! The site's access logs over the incident window: requests and server errors per minute, when
//! the errors began and whether they still happen. It reads only the window (found by the
//! lines' own timestamps, like the error logs) and leaves out triage's own probe requests, which
//! it recognises by their User-Agent, so a check never counts itself as the incident.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};

use super::time::{Clock, line_time};
use super::window::{self, Start};
use crate::contract::evidence::logs::{AccessSummary, Minute};
use crate::sanitize;
use crate::system::open_regular;

/// What identifies triage's own requests in an access log.
pub const PROBE_AGENT: &str = "triage/";
/// The longest access-log line looked at; the rest is skipped.
const MAX_LINE: usize = 16 * 1024;
/// The most minutes kept (a day): the window may be longer, the chart need not be.
const MAX_MINUTES: usize = 1440;
/// The most bytes read of one access log in a window.
const MAX_BYTES: u64 = 512 << 20;

/// An access log to read: its path and the site it belongs to (`None`: every site writes it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessLog {
    pub path: std::path::PathBuf,
    pub site: Option<String>,
}

/// One request line as far as the counts need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Request {
    at: i64,
    status: u16,
    own: bool,
}

/// Reads the window of one access log into its summary.
pub fn summarise(log: &AccessLog, cutoff: Option<i64>, clock: &Clock) -> io::Result<AccessSummary> {
    let file = open_regular(&log.path)?;
    let size = file.metadata()?.len();
    let mut summary = AccessSummary {
        file: sanitize::line(&log.path.display().to_string()).into_owned(),
        site: log.site.clone(),
        ..AccessSummary::default()
    };
    let offset = match cutoff {
        None => 0,
        Some(cutoff) => match window::window_start(&file, size, cutoff, clock)?.0 {
            Start::At { offset, .. } => offset,
            Start::Nothing => return Ok(summary),
            Start::Untimed => size.saturating_sub(window::TAIL_BYTES),
        },
    };
    let mut reader = BufReader::new(&file);
    reader.seek(SeekFrom::Start(offset))?;
    let mut minutes: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
    let mut line = Vec::new();
    let mut limited = reader.take(MAX_BYTES);
    loop {
        line.clear();
        if limited.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let bounded = &line[..line.len().min(MAX_LINE)];
        match parse(bounded, clock) {
            Some(r) if cutoff.is_some_and(|c| r.at < c) => {}
            Some(r) if r.own => summary.own_probes += 1,
            Some(r) => count(&mut summary, &mut minutes, r),
            None => summary.unparsed += 1,
        }
    }
    summary.minutes = minutes
        .into_iter()
        .rev()
        .take(MAX_MINUTES)
        .rev()
        .filter_map(|(m, (requests, errors))| Some(Minute { at: stamp(m * 60)?, requests, errors }))
        .collect();
    Ok(summary)
}

fn count(summary: &mut AccessSummary, minutes: &mut BTreeMap<i64, (u64, u64)>, r: Request) {
    summary.requests += 1;
    let slot = minutes.entry(r.at.div_euclid(60)).or_default();
    slot.0 += 1;
    if r.status >= 500 {
        slot.1 += 1;
        summary.errors += 1;
        match summary.statuses.iter_mut().find(|(s, _)| *s == r.status) {
            Some((_, n)) => *n += 1,
            None => summary.statuses.push((r.status, 1)),
        }
        let at = stamp(r.at);
        if summary.first_error.is_none() {
            summary.first_error.clone_from(&at);
        }
        summary.last_error = at;
    }
}

/// A combined/common-format line: `… [time] "request" status …"user agent"`. The status is
/// the three digits after the request's closing quote.
fn parse(line: &[u8], clock: &Clock) -> Option<Request> {
    let at = line_time(line, clock)?;
    let request_start = memchr::memchr(b'"', line)?;
    let request_end = closing_quote(line, request_start + 1)?;
    let rest = line.get(request_end + 1..)?.trim_ascii_start();
    let digits = rest.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || rest.get(3).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let status = std::str::from_utf8(digits).ok()?.parse().ok()?;
    let own = memchr::memmem::find(line, PROBE_AGENT.as_bytes()).is_some();
    Some(Request { at, status, own })
}

/// The quote that closes a quoted field starting at `from`; Apache escapes quotes inside as
/// `\"` (nginx as `\x22`).
fn closing_quote(line: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < line.len() {
        match line[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

fn stamp(seconds: i64) -> Option<String> {
    jiff::Timestamp::from_second(seconds).ok().map(|t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn clock() -> Clock {
        // 2026-12-01 07:40:00 UTC
        Clock::new(1_796_110_800, jiff::tz::TimeZone::UTC)
    }

    fn line(minute: u32, status: u16, agent: &str) -> String {
        format!(
            "203.0.113.7 - - [01/Dec/2026:07:{minute:02}:10 +0000] \"GET /cart?a=\\\"b\\\" HTTP/1.1\" {status} 512 \"-\" \"{agent}\"\n"
        )
    }

    #[test]
    fn errors_per_minute_leave_out_triage_s_own_probes() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let mut text = String::new();
        text.push_str(&line(0, 502, "curl/8")); // before the window
        for minute in 31..35 {
            text.push_str(&line(minute, 200, "Mozilla/5.0"));
            text.push_str(&line(minute, if minute >= 33 { 502 } else { 200 }, "Mozilla/5.0"));
        }
        text.push_str(&line(34, 502, "triage/0.1.0 (5xx diagnosis probe)"));
        text.push_str("garbage\n");
        file.write_all(text.as_bytes()).unwrap();
        let log = AccessLog { path: file.path().to_path_buf(), site: Some("shop.test".into()) };
        let cutoff = clock().now - 30 * 60;
        let s = summarise(&log, Some(cutoff), &clock()).unwrap();
        assert_eq!((s.requests, s.errors, s.own_probes, s.unparsed), (8, 2, 1, 1));
        assert_eq!(s.statuses, vec![(502, 2)]);
        assert_eq!(s.first_error.as_deref(), Some("2026-12-01T07:33:10Z"));
        assert_eq!(s.last_error.as_deref(), Some("2026-12-01T07:34:10Z"));
        let errors: Vec<u64> = s.minutes.iter().map(|m| m.errors).collect();
        assert_eq!(errors, [0, 0, 1, 1]);
        assert_eq!(s.minutes[0].at, "2026-12-01T07:31:00Z");
    }

    #[test]
    fn a_fifo_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("access.log");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        let log = AccessLog { path: fifo, site: None };
        let err = summarise(&log, None, &clock()).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
