//! The one strict YAML loader for everything triage reads from files: runbooks, fingerprint and
//! log-signature tables. It bounds the input, rejects unknown keys (through the raw types'
//! `deny_unknown_fields`) and turns every failure into a [`SourceError`] that names
//! `path:line:col`. It is the only module, with the raw types, that knows the YAML crate.
//! Ground floor: it imports nothing of the project but `sanitize`.

pub mod compiled;
mod position;
mod problem;

use serde::de::DeserializeOwned;

pub use position::{At, Pos, Text};
pub use problem::{
    EXCERPT_CHARS, Level, LoadFailure, MESSAGE_CHARS, Problem, SourceError, clip_middle,
    read_bounded,
};

/// Largest YAML document triage will parse. The built-in runbook is far below it.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Deepest nesting accepted; a runbook needs about ten levels.
pub const MAX_DEPTH: usize = 64;
/// Alias (`*ref`) uses accepted; hostile files use thousands to explode memory.
pub const MAX_ALIASES: usize = 256;
/// Problems reported for one file; past it they are counted in one last line. A hostile file
/// can raise one problem per line, and each one is formatted, kept and printed.
pub const MAX_PROBLEMS: usize = 100;
/// Parser events accepted (about one per scalar, key or bracket).
pub const MAX_EVENTS: usize = 400_000;

/// Parses `text` as one YAML document into `T`, within the limits above.
pub fn from_str<T: DeserializeOwned>(origin: &str, text: &str) -> Result<T, SourceError> {
    if text.len() > MAX_BYTES {
        return Err(SourceError::whole_file(
            origin,
            format!("file is {} bytes; expected at most {MAX_BYTES} bytes of YAML", text.len()),
        ));
    }
    serde_saphyr::from_str_with_options(text, options())
        .map_err(|err| to_source_error(origin, text, &err))
}

/// Parses YAML bytes; invalid UTF-8 is reported with its position.
pub fn from_slice<T: DeserializeOwned>(origin: &str, bytes: &[u8]) -> Result<T, SourceError> {
    if bytes.len() > MAX_BYTES {
        return Err(SourceError::whole_file(
            origin,
            format!("file is {} bytes; expected at most {MAX_BYTES} bytes of YAML", bytes.len()),
        ));
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => from_str(origin, text),
        Err(e) => {
            let valid = &bytes[..e.valid_up_to()];
            let line = memchr::memchr_iter(b'\n', valid).count() as u32 + 1;
            let start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
            let column = String::from_utf8_lossy(&valid[start..]).chars().count() as u32 + 1;
            let text = String::from_utf8_lossy(bytes);
            Err(SourceError::at(origin, &text, line, column, "invalid UTF-8; expected UTF-8 text"))
        }
    }
}

fn options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_events = MAX_EVENTS;
    budget.max_documents = 1;
    budget.max_total_scalar_bytes = MAX_BYTES;
    budget.max_reader_input_bytes = Some(MAX_BYTES);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.alias_limits.max_total_replayed_events = MAX_EVENTS;
    options
}

fn to_source_error(origin: &str, text: &str, err: &serde_saphyr::Error) -> SourceError {
    let message = plain_message(err);
    match err.location() {
        Some(loc) if loc.line() > 0 => {
            let line = u32::try_from(loc.line()).unwrap_or(u32::MAX);
            let column = u32::try_from(loc.column()).unwrap_or(u32::MAX);
            SourceError::at(origin, text, line, column, message)
        }
        _ => SourceError::whole_file(origin, message),
    }
}

/// serde-saphyr's message without its own snippet and position suffix, which we render ourselves.
fn plain_message(err: &serde_saphyr::Error) -> String {
    let raw = err.without_snippet().to_string();
    let first = raw.lines().next().unwrap_or_default().trim();
    let trimmed =
        first.rsplit_once(" at line ").map_or(first, |(msg, _)| msg).trim_end_matches(':').trim();
    crate::sanitize::line(trimmed).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        count: u32,
    }

    #[test]
    fn unknown_key_names_line_column_and_shows_caret() {
        let text = "name: a\ncuont: 3\n";
        let err = from_str::<Doc>("x.yaml", text).unwrap_err();
        assert_eq!((err.line, err.column), (2, 1), "{err}");
        assert!(err.message.contains("cuont"), "{err}");
        let shown = err.to_string();
        assert!(shown.starts_with("x.yaml:2:1: "), "{shown}");
        assert!(shown.ends_with("2 | cuont: 3\n  | ^"), "{shown}");
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 { "a".to_owned() } else { format!("l{}", i - 1) };
            let refs = vec![format!("*{prev}"); 10].join(", ");
            text.push_str(&format!("l{i}: &l{i} [{refs}]\n"));
        }
        let err = from_str::<serde_json::Value>("bomb.yaml", &text).unwrap_err();
        assert!(!err.message.is_empty());
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}{}", "[".repeat(500), "]".repeat(500));
        assert!(from_str::<serde_json::Value>("deep.yaml", &text).is_err());
    }

    #[test]
    fn invalid_utf8_points_at_the_byte() {
        let err = from_slice::<Doc>("bin.yaml", b"name: ok\ncount: \xff\n").unwrap_err();
        assert_eq!((err.line, err.column), (2, 8));
    }
}
