//! The machine's time zone, found once per process: its rules for every local time triage
//! writes or reads (session stamps, log lines without an offset) and its name for the note.
//!
//! jiff's `TimeZone::system()` finds the same rules, but to name them it goes through its
//! zone database, which lists the whole of `/usr/share/zoneinfo` on first use (40-odd
//! directories: 2–11 ms on every start, more than the rest of the TUI's start-up). Here the name
//! is the link's target when `/etc/localtime` is a link, or, when it is a copy (Debian images,
//! containers), what `/etc/timezone` says if that zone's file holds the same bytes (one read);
//! otherwise the zone goes by its offset. `TZ`, when set, is jiff's to read.
//! Ground floor: it imports nothing of the project but `file`.

use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

use jiff::tz::TimeZone;

const LOCALTIME: &str = "/etc/localtime";
const TIMEZONE: &str = "/etc/timezone";
const ZONEINFO: &str = "/usr/share/zoneinfo";
/// Larger than any zone file (the largest are about 4 KB).
const MAX_TZIF: u64 = 256 * 1024;

/// The system's time zone and its IANA name, when it has one.
#[derive(Debug, Clone)]
pub struct Zone {
    pub rules: TimeZone,
    pub name: Option<String>,
}

/// The system's time zone, looked up on the first call.
pub fn zone() -> &'static Zone {
    static ZONE: OnceLock<Zone> = OnceLock::new();
    ZONE.get_or_init(|| {
        if std::env::var_os("TZ").is_some() {
            return from_jiff();
        }
        from_localtime().unwrap_or_else(from_jiff)
    })
}

fn from_jiff() -> Zone {
    let rules = TimeZone::system();
    let name = rules.iana_name().map(str::to_owned);
    Zone { rules, name }
}

/// `/etc/localtime`'s rules, named by the link's target or by `/etc/timezone`.
fn from_localtime() -> Option<Zone> {
    let data = read_small(Path::new(LOCALTIME))?;
    let name =
        linked_name().or_else(|| named_copy(&data, Path::new(TIMEZONE), Path::new(ZONEINFO)));
    let rules = TimeZone::tzif(name.as_deref().unwrap_or("localtime"), &data).ok()?;
    Some(Zone { rules, name })
}

/// `Europe/Berlin` from `/etc/localtime -> /usr/share/zoneinfo/Europe/Berlin`.
fn linked_name() -> Option<String> {
    let target = std::fs::read_link(LOCALTIME).ok()?;
    let target = target.to_str()?;
    let (_, name) = target.split_once("zoneinfo/")?;
    Some(name.to_owned())
}

/// The name `timezone` (`/etc/timezone`) gives, if that zone's file in `zoneinfo` is the copy
/// in `/etc/localtime`.
fn named_copy(localtime: &[u8], timezone: &Path, zoneinfo: &Path) -> Option<String> {
    let text = read_small(timezone)?;
    let name = std::str::from_utf8(&text).ok()?.trim();
    let safe = !name.is_empty() && !name.starts_with('/') && !name.split('/').any(|p| p == "..");
    if !safe {
        return None;
    }
    let zone_file = read_small(&zoneinfo.join(name))?;
    (zone_file == localtime).then(|| name.to_owned())
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    let file = crate::file::open_regular(path).ok()?;
    let mut data = Vec::new();
    file.take(MAX_TZIF).read_to_end(&mut data).ok()?;
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zone_keeps_jiffs_rules_and_its_name_is_a_zone_with_them() {
        let ours = zone();
        let now = jiff::Timestamp::now();
        assert_eq!(ours.rules.to_offset(now), TimeZone::system().to_offset(now));
        if let Some(name) = &ours.name {
            assert_eq!(TimeZone::get(name).unwrap().to_offset(now), ours.rules.to_offset(now));
        }
    }

    #[test]
    fn a_copy_is_named_only_by_a_zone_file_with_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let zoneinfo = dir.path().join("zoneinfo");
        std::fs::create_dir_all(zoneinfo.join("Europe")).unwrap();
        std::fs::write(zoneinfo.join("Europe/Berlin"), b"TZif-berlin").unwrap();
        let timezone = dir.path().join("timezone");
        std::fs::write(&timezone, "Europe/Berlin\n").unwrap();
        let named = |copy: &[u8]| named_copy(copy, &timezone, &zoneinfo);
        assert_eq!(named(b"TZif-berlin").as_deref(), Some("Europe/Berlin"));
        assert_eq!(named(b"TZif-paris"), None, "a stale /etc/timezone names nothing");
        std::fs::write(&timezone, "../zoneinfo/Europe/Berlin\n").unwrap();
        assert_eq!(named(b"TZif-berlin"), None);
        std::fs::remove_file(&timezone).unwrap();
        assert_eq!(named(b"TZif-berlin"), None);
    }
}
