//! Compiled copies of the YAML tables embedded in the binary. Parsing and checking a table's
//! YAML is most of what it costs to load, and the embedded ones cannot change after the build,
//! so each also ships as JSON of what its load produced. A copy records the CRC-32 of the YAML
//! it was made from and is read only while that matches: an edited YAML is never shadowed by a
//! stale copy, only read more slowly until `TRIAGE_BLESS=1 cargo test --lib compiled` writes
//! the copy again (a test per table fails until then).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A compiled table and the checksum of the YAML it came from.
#[derive(Serialize, Deserialize)]
struct Copy<T> {
    source_crc32: u32,
    table: T,
}

/// The table in `compiled` when it was made from `source`; `None` when it was not (or does
/// not read), and the caller loads the YAML.
pub fn read<T: DeserializeOwned>(compiled: &str, source: &str) -> Option<T> {
    let copy: Copy<T> = serde_json::from_str(compiled).ok()?;
    (copy.source_crc32 == crc32(source)).then_some(copy.table)
}

/// The table in `compiled` while it was made from `source`; otherwise what `load` makes of
/// `source` (the YAML, read more slowly).
pub fn read_or_load<T: DeserializeOwned, E>(
    compiled: &str,
    source: &str,
    load: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    read(compiled, source).map_or_else(load, Ok)
}

/// The compiled copy of `table`, loaded from `source`, as it should be in the repository.
pub fn write<T: Serialize>(source: &str, table: &T) -> String {
    let copy = Copy { source_crc32: crc32(source), table };
    serde_json::to_string_pretty(&copy).unwrap_or_default() + "\n"
}

fn crc32(text: &str) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(text.as_bytes());
    crc.sum()
}

/// For the test that keeps a copy current: with `TRIAGE_BLESS` set, writes `fresh` to `path`
/// (relative to the crate); otherwise fails unless `embedded` is `fresh`.
#[cfg(test)]
pub fn bless_or_check(path: &str, embedded: &str, fresh: &str) {
    if std::env::var_os("TRIAGE_BLESS").is_some() {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::write(full, fresh).unwrap();
        return;
    }
    assert!(
        embedded == fresh,
        "{path} is not current: run `TRIAGE_BLESS=1 cargo test --lib compiled`"
    );
}

/// For a table's test: its compiled copy (`embedded`, at `path`) is current for `source`
/// ([`bless_or_check`]), reads back as `table`, the table the YAML gives, and `builtin`, what
/// the binary loads, is that table too.
#[cfg(test)]
pub fn check_copy<T>(path: &str, embedded: &str, source: &str, table: &T, builtin: &T)
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let fresh = write(source, table);
    bless_or_check(path, embedded, &fresh);
    assert_eq!(read::<T>(&fresh, source).as_ref(), Some(table), "{path} reads back");
    assert_eq!(builtin, table, "the binary loads the table the YAML gives");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_reads_back_only_for_its_own_source() {
        let copy = write("a: 1\n", &vec![1_u32, 2]);
        assert_eq!(read::<Vec<u32>>(&copy, "a: 1\n"), Some(vec![1, 2]));
        assert_eq!(read::<Vec<u32>>(&copy, "a: 2\n"), None, "a stale copy is never read");
        assert_eq!(read::<Vec<u32>>("{", "a: 1\n"), None);
    }
}
