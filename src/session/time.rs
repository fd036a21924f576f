//! A moment with the UTC offset it was seen in: how the session stamps every event. It is plain
//! data; reading the clock is the shell's job (`Stamp::now`), never the core's.

use std::fmt;

use jiff::fmt::temporal::Pieces;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant and the local offset at that instant, written as RFC 3339
/// (`2026-12-01T08:42:41.123+01:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub at: Timestamp,
    pub offset: Offset,
}

impl Stamp {
    /// The current time in the system's time zone. Only the shell calls this.
    pub fn now() -> Stamp {
        Stamp::from_zoned(&Timestamp::now().to_zoned(crate::clock::zone().rules.clone()))
    }

    pub fn from_zoned(zoned: &Zoned) -> Stamp {
        Stamp { at: zoned.timestamp(), offset: zoned.offset() }
    }

    /// Seconds since the Unix epoch with an offset in whole hours: for tests and fixtures.
    pub fn from_secs(secs: i64, offset_hours: i8) -> Stamp {
        Stamp {
            at: Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH),
            offset: Offset::constant(offset_hours),
        }
    }

    fn zoned(self) -> Zoned {
        self.at.to_zoned(TimeZone::fixed(self.offset))
    }

    /// `2026-12-01 08:42:41 +01:00`: the full stamp for reports.
    pub fn long(self) -> String {
        self.zoned().strftime("%Y-%m-%d %H:%M:%S %:z").to_string()
    }

    /// `08:42`: the wall-clock time for the screen.
    pub fn clock(self) -> String {
        self.zoned().strftime("%H:%M").to_string()
    }

    /// `08:42:41`: the wall-clock time with seconds, for timelines.
    pub fn clock_seconds(self) -> String {
        self.zoned().strftime("%H:%M:%S").to_string()
    }

    /// `+01:00`.
    pub fn offset_label(self) -> String {
        self.zoned().strftime("%:z").to_string()
    }

    /// The time from `earlier` to this stamp (negative when `earlier` is later).
    pub fn since(self, earlier: Stamp) -> SignedDuration {
        self.at.duration_since(earlier.at)
    }

    /// `2026-12-01T08:42:41.123+01:00`.
    pub fn rfc3339(self) -> String {
        self.zoned().strftime("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
    }

    pub fn parse(text: &str) -> Result<Stamp, String> {
        let at: Timestamp = text.parse().map_err(|e| format!("bad time `{text}`: {e}"))?;
        let pieces = Pieces::parse(text).map_err(|e| format!("bad time `{text}`: {e}"))?;
        let offset = pieces.offset().map_or(Offset::UTC, |o| o.to_numeric_offset());
        Ok(Stamp { at, offset })
    }
}

/// `1h05m`, `4m`, `35s`: how long an incident has been going, for the header.
pub fn elapsed(duration: SignedDuration) -> String {
    let secs = duration.as_secs().max(0);
    match (secs / 3600, secs % 3600 / 60) {
        (0, 0) => format!("{secs}s"),
        (0, m) => format!("{m}m"),
        (h, m) => format!("{h}h{m:02}m"),
    }
}

impl fmt::Display for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.rfc3339())
    }
}

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Stamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_its_offset() {
        let stamp = Stamp::from_secs(1_764_578_561, 1);
        assert_eq!(stamp.rfc3339(), "2025-12-01T09:42:41.000+01:00");
        assert_eq!(Stamp::parse(&stamp.rfc3339()), Ok(stamp));
        assert_eq!(stamp.long(), "2025-12-01 09:42:41 +01:00");
        assert_eq!(Stamp::parse("2025-12-01T08:42:41Z").map(|s| s.offset), Ok(Offset::UTC));
        assert!(Stamp::parse("yesterday").is_err());
    }

    #[test]
    fn elapsed_reads_like_people_say_it() {
        assert_eq!(elapsed(SignedDuration::from_secs(35)), "35s");
        assert_eq!(elapsed(SignedDuration::from_secs(250)), "4m");
        assert_eq!(elapsed(SignedDuration::from_secs(3900)), "1h05m");
        assert_eq!(elapsed(SignedDuration::from_secs(-5)), "0s");
    }
}
