//! Reads the timestamp a log line starts with, in the formats the servers write: nginx error,
//! combined access, Apache 2.4 error, PHP-FPM and PHP, syslog, RFC 3339 (the journal, MySQL 8),
//! MariaDB, PostgreSQL, gunicorn and ctime (uWSGI). Pure: the present and the time zone are
//! inputs ([`Clock`]), so the same line always reads the same. Hand-written and allocation-free,
//! because the window search and every matching line of a multi-GB scan pass through here.

use std::cell::Cell;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// The present and the local time zone, for lines that carry no year or no offset.
#[derive(Debug, Clone)]
pub struct Clock {
    /// Unix seconds.
    pub now: i64,
    pub tz: TimeZone,
    /// The last (local hour → UTC offset) looked up, so a scan asks the zone once an hour.
    cache: Cell<Option<(i64, i64)>>,
}

impl Clock {
    pub fn new(now: i64, tz: TimeZone) -> Self {
        Clock { now, tz, cache: Cell::new(None) }
    }

    /// The real present, in the system's time zone.
    pub fn system() -> Self {
        Clock::new(jiff::Timestamp::now().as_second(), crate::clock::zone().rules.clone())
    }

    /// Unix seconds of a local civil time.
    fn local(&self, c: Civil) -> Option<i64> {
        let naive = c.naive_seconds()?;
        let hour = naive.div_euclid(3600);
        if let Some((h, offset)) = self.cache.get()
            && h == hour
        {
            return Some(naive - offset);
        }
        let dt = DateTime::new(c.year, c.month, c.day, c.hour, 0, 0, 0).ok()?;
        let at_hour = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?.as_second();
        let offset = hour * 3600 - at_hour;
        self.cache.set(Some((hour, offset)));
        Some(naive - offset)
    }

    fn resolve(&self, c: Civil, offset: Offset) -> Option<i64> {
        match offset {
            Offset::Seconds(s) => Some(c.naive_seconds()? - s),
            Offset::Local => self.local(c),
        }
    }
}

/// A civil date and time as written in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i16,
    month: i8,
    day: i8,
    hour: i8,
    minute: i8,
    second: i8,
}

impl Civil {
    /// Seconds since the epoch as if the time were UTC.
    fn naive_seconds(self) -> Option<i64> {
        let valid = (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && (0..=23).contains(&self.hour)
            && (0..=59).contains(&self.minute)
            && (0..=60).contains(&self.second);
        valid.then(|| {
            let days = days_from_civil(i64::from(self.year), self.month.into(), self.day.into());
            days * 86_400
                + i64::from(self.hour) * 3600
                + i64::from(self.minute) * 60
                + i64::from(self.second)
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[derive(Debug, Clone, Copy)]
enum Offset {
    Seconds(i64),
    Local,
}

/// The Unix time a line was written, or `None` when it starts with no timestamp triage knows.
pub fn line_time(line: &[u8], clock: &Clock) -> Option<i64> {
    let line = without_priority(line);
    let first = *line.first()?;
    let parsed = match first {
        b'0'..=b'9' => iso_like(line).or_else(|| bracketed_access(line)),
        b'[' => bracketed(&line[1..]).or_else(|| bracketed_access(line)),
        b'A'..=b'Z' => syslog(line, clock).or_else(|| ctime(line)),
        _ => None,
    };
    let (civil, offset) = parsed?;
    clock.resolve(civil, offset)
}

/// A syslog line as a program prints it itself (`<134>Dec  1 21:58:47 …`, HAProxy's
/// `log stdout format rfc3164`): the `<PRI>` rsyslog would drop, dropped.
fn without_priority(line: &[u8]) -> &[u8] {
    match line {
        [b'<', rest @ ..] => match rest.iter().take(4).position(|b| *b == b'>') {
            Some(end) if rest[..end].iter().all(u8::is_ascii_digit) => &rest[end + 1..],
            _ => line,
        },
        _ => line,
    }
}

/// A cursor over the bytes of a line, for fixed-shape fields.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(b: &'a [u8]) -> Self {
        Cur { b, i: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn byte(&mut self, want: u8) -> Option<()> {
        (self.peek()? == want).then(|| self.i += 1)
    }

    /// Exactly `n` digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let s = self.b.get(self.i..self.i + n)?;
        let mut v = 0_i64;
        for &c in s {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        self.i += n;
        Some(v)
    }

    /// One or two digits, possibly after a padding space (`Dec  1`, MariaDB's ` 7:30:22`).
    fn padded(&mut self) -> Option<i64> {
        if self.peek() == Some(b' ') {
            self.i += 1;
            return self.digits(1);
        }
        match self.b.get(self.i + 1) {
            Some(c) if c.is_ascii_digit() => self.digits(2),
            _ => self.digits(1),
        }
    }

    fn spaces(&mut self) -> usize {
        let start = self.i;
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
        self.i - start
    }

    /// `.123456` or `,123`: skipped.
    fn fraction(&mut self) {
        if matches!(self.peek(), Some(b'.' | b',')) {
            self.i += 1;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
        }
    }

    fn month_name(&mut self) -> Option<i8> {
        let name = self.b.get(self.i..self.i + 3)?;
        let month = MONTHS.iter().position(|m| m.as_bytes() == name)?;
        self.i += 3;
        Some(month as i8 + 1)
    }

    fn weekday(&mut self) -> Option<()> {
        let name = self.b.get(self.i..self.i + 3)?;
        DAYS.iter().any(|d| d.as_bytes() == name).then(|| self.i += 3)
    }

    /// `HH:MM:SS`, the hour possibly space-padded.
    fn clock(&mut self) -> Option<(i8, i8, i8)> {
        let h = self.padded()?;
        self.byte(b':')?;
        let m = self.digits(2)?;
        self.byte(b':')?;
        let s = self.digits(2)?;
        Some((h as i8, m as i8, s as i8))
    }

    /// `Z`, `+00:00`, `+0000`, ` +0000`, ` UTC`, ` GMT`; anything else is local time.
    fn offset(&mut self) -> Offset {
        let save = self.i;
        if self.peek() == Some(b' ') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'Z') => return Offset::Seconds(0),
            Some(b'+' | b'-') => {
                let sign = if self.peek() == Some(b'-') { -1 } else { 1 };
                self.i += 1;
                if let Some(h) = self.digits(2) {
                    let _ = self.byte(b':');
                    if let Some(m) = self.digits(2) {
                        return Offset::Seconds(sign * (h * 3600 + m * 60));
                    }
                }
            }
            _ if self.b[self.i..].starts_with(b"UTC") || self.b[self.i..].starts_with(b"GMT") => {
                return Offset::Seconds(0);
            }
            _ => {}
        }
        self.i = save;
        Offset::Local
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn civil(year: i64, month: i64, day: i64, (hour, minute, second): (i8, i8, i8)) -> Option<Civil> {
    Some(Civil {
        year: i16::try_from(year).ok()?,
        month: i8::try_from(month).ok()?,
        day: i8::try_from(day).ok()?,
        hour,
        minute,
        second,
    })
}

/// `2026/12/01 07:30:22` (nginx), `2026-12-01T07:30:22.123Z` (RFC 3339, journal, MySQL 8),
/// `2026-12-01 07:30:22.123 UTC` (PostgreSQL), `2026-12-01  7:30:22` (MariaDB).
fn iso_like(line: &[u8]) -> Option<(Civil, Offset)> {
    let mut c = Cur::new(line);
    let year = c.digits(4)?;
    let sep = c.peek()?;
    if sep != b'/' && sep != b'-' {
        return None;
    }
    c.i += 1;
    let month = c.digits(2)?;
    c.byte(sep)?;
    let day = c.digits(2)?;
    if c.byte(b'T').is_none() && c.spaces() == 0 {
        return None;
    }
    let time = c.clock()?;
    c.fraction();
    let offset = if sep == b'/' { Offset::Local } else { c.offset() };
    Some((civil(year, month, day, time)?, offset))
}

/// After a `[`: `Tue Dec 01 07:30:22.123456 2026]` (Apache 2.4), `01-Dec-2026 07:30:22]`
/// (PHP-FPM; PHP adds ` UTC`), `2026-12-01 07:30:22 +0000]` (gunicorn).
fn bracketed(rest: &[u8]) -> Option<(Civil, Offset)> {
    let mut c = Cur::new(rest);
    if c.weekday().is_some() {
        c.byte(b' ')?;
        let month = c.month_name()?;
        c.byte(b' ')?;
        let day = c.padded()?;
        c.byte(b' ')?;
        let time = c.clock()?;
        c.fraction();
        c.byte(b' ')?;
        let year = c.digits(4)?;
        return Some((civil(year, month.into(), day, time)?, Offset::Local));
    }
    if let Some(parsed) = iso_like(rest) {
        return Some(parsed);
    }
    day_month_year(rest, b'-', b' ')
}

/// `[01/Dec/2026:07:30:22 +0000]` anywhere in the first bytes (combined access log, HAProxy).
fn bracketed_access(line: &[u8]) -> Option<(Civil, Offset)> {
    let head = &line[..line.len().min(256)];
    let mut from = 0;
    while let Some(pos) = memchr::memchr(b'[', &head[from..]) {
        let start = from + pos + 1;
        if let Some(parsed) = access_time(&head[start..]) {
            return Some(parsed);
        }
        from = start;
    }
    None
}

fn access_time(rest: &[u8]) -> Option<(Civil, Offset)> {
    day_month_year(rest, b'/', b':')
}

/// `01-Dec-2026 07:30:22` (PHP-FPM) and `01/Dec/2026:07:30:22 +0000` (access logs): day, month
/// name and year split by `sep`, then `before_time`, the clock, an optional fraction and offset.
fn day_month_year(rest: &[u8], sep: u8, before_time: u8) -> Option<(Civil, Offset)> {
    let mut c = Cur::new(rest);
    let day = c.digits(2)?;
    c.byte(sep)?;
    let month = c.month_name()?;
    c.byte(sep)?;
    let year = c.digits(4)?;
    c.byte(before_time)?;
    let time = c.clock()?;
    c.fraction();
    Some((civil(year, month.into(), day, time)?, c.offset()))
}

/// `Dec  1 07:30:22` (syslog): the year is the one that puts the line closest before now.
fn syslog(line: &[u8], clock: &Clock) -> Option<(Civil, Offset)> {
    let mut c = Cur::new(line);
    let month = c.month_name()?;
    c.byte(b' ')?;
    let day = c.padded()?;
    c.byte(b' ')?;
    let time = c.clock()?;
    if c.peek() == Some(b' ') && c.b.get(c.i + 1).is_some_and(u8::is_ascii_digit) {
        // `Dec  1 07:30:22 2026` is ctime, not syslog.
        return None;
    }
    let now_year = jiff::Timestamp::from_second(clock.now).ok()?.to_zoned(clock.tz.clone()).year();
    let this_year = civil(now_year.into(), month.into(), day, time)?;
    let ahead = clock.local(this_year)? > clock.now + 86_400;
    let year = if ahead { i64::from(now_year) - 1 } else { i64::from(now_year) };
    Some((civil(year, month.into(), day, time)?, Offset::Local))
}

/// `Tue Dec  1 07:30:22 2026` (ctime, as uWSGI writes it).
fn ctime(line: &[u8]) -> Option<(Civil, Offset)> {
    let mut c = Cur::new(line);
    c.weekday()?;
    c.byte(b' ')?;
    let month = c.month_name()?;
    c.byte(b' ')?;
    let day = c.padded()?;
    c.byte(b' ')?;
    let time = c.clock()?;
    c.byte(b' ')?;
    let year = c.digits(4)?;
    Some((civil(year, month.into(), day, time)?, Offset::Local))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-01 07:30:22 UTC.
    const T: i64 = 1_796_110_222;

    fn utc() -> Clock {
        Clock::new(T + 600, TimeZone::UTC)
    }

    fn at(line: &str) -> Option<i64> {
        line_time(line.as_bytes(), &utc())
    }

    #[test]
    fn every_server_format_reads_the_same_instant() {
        for line in [
            "2026/12/01 07:30:22 [error] 1#1: *5 connect() failed",
            "203.0.113.7 - - [01/Dec/2026:07:30:22 +0000] \"GET / HTTP/1.1\" 502 157",
            "[Tue Dec 01 07:30:22.123456 2026] [proxy:error] [pid 1]",
            "[Tue Dec  1 07:30:22 2026] [error] apache 2.2",
            "[01-Dec-2026 07:30:22] WARNING: [pool www] server reached",
            "[01-Dec-2026 07:30:22 UTC] PHP Fatal error:  Allowed memory",
            "Dec  1 07:30:22 web1 kernel: Out of memory",
            "2026-12-01T07:30:22+00:00 web1 systemd[1]: x",
            "2026-12-01T07:30:22.123456Z 0 [ERROR] [MY-010000] mysqld",
            "2026-12-01  7:30:22 0 [Note] InnoDB: Starting crash recovery",
            "2026-12-01 07:30:22.123 UTC [4321] FATAL:  sorry",
            "[2026-12-01 07:30:22 +0000] [1234] [CRITICAL] WORKER TIMEOUT (pid:1240)",
            "Tue Dec  1 07:30:22 2026 - *** uWSGI listen queue",
            "Dec  1 07:30:22 lb1 haproxy[2345]: 203.0.113.7:51234 [01/Dec/2026:07:30:22.101]",
            "<134>Dec  1 07:30:22 localhost haproxy[8028]: 127.0.0.1:58678 [01/Dec/2026:07:30:21.453]",
        ] {
            assert_eq!(at(line), Some(T), "{line}");
        }
    }

    #[test]
    fn offsets_and_local_zones_are_applied() {
        assert_eq!(at("2026-12-01T08:30:22+01:00 x"), Some(T));
        assert_eq!(at("1.2.3.4 - - [01/Dec/2026:02:30:22 -0500] \"GET /\""), Some(T));
        let berlin = Clock::new(T, TimeZone::get("Europe/Berlin").unwrap());
        assert_eq!(line_time(b"2026/12/01 08:30:22 [error]", &berlin), Some(T));
        let summer = 1_782_891_022; // 2026-07-01 07:30:22 UTC, CEST is +2
        assert_eq!(line_time(b"2026/07/01 09:30:22 [error]", &berlin), Some(summer));
    }

    #[test]
    fn syslog_lines_from_last_december_read_last_year() {
        let january = Clock::new(T + 40 * 86_400, TimeZone::UTC);
        let last_year = line_time(b"Dec  1 07:30:22 web1 kernel: x", &january).unwrap();
        assert_eq!(last_year, T);
        let early = Clock::new(T - 300 * 86_400, TimeZone::UTC);
        assert_eq!(line_time(b"Dec  1 07:30:22 web1 x", &early), Some(T - 365 * 86_400));
    }

    #[test]
    fn lines_without_a_timestamp_read_none() {
        for line in [
            "",
            "#0 /var/www/index.php(12): foo()",
            "2026-13-45 99:99:99 x",
            "Stack trace:",
            "[pool www] x",
            "\u{1b}[2J",
            "<html>",
        ] {
            assert_eq!(at(line), None, "{line:?}");
        }
    }
}
