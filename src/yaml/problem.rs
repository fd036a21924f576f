//! What can be wrong with a file triage loads: a [`SourceError`] at `path:line:col`, its
//! [`Level`], and the [`LoadFailure`] every two-stage loader (runbooks, the diagnosis rules, the
//! fingerprint and log-signature tables) returns.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// A problem at a place in a source file, shown as `path:line:col: message`, then the line and a
/// caret under the column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SourceError {
    /// The file path, or `builtin:<name>` for an embedded file.
    pub origin: String,
    /// 1-based line; 0 when the problem concerns the whole file.
    pub line: u32,
    /// 1-based column, counted in characters.
    pub column: u32,
    /// What is wrong and what was expected.
    pub message: String,
    /// An excerpt of the offending source line (at most [`EXCERPT_CHARS`] characters around
    /// the column), already sanitised for the terminal.
    pub source_line: Option<String>,
    /// Where the caret goes in `source_line`: 1-based, in characters.
    pub caret: u32,
}

/// Most characters of a source line a problem keeps and shows: a hostile file may hold one line
/// of megabytes, and every problem on it would otherwise carry (and print) a copy.
pub const EXCERPT_CHARS: usize = 120;
/// Most characters of a problem's message: messages quote what was written, which may be long.
pub const MESSAGE_CHARS: usize = 300;

impl SourceError {
    /// A problem at `line:column` of `text`.
    pub fn at(
        origin: &str,
        text: &str,
        line: u32,
        column: u32,
        message: impl Into<String>,
    ) -> Self {
        let excerpt = (line > 0).then(|| nth_line(text, line as usize - 1)).flatten().map(|l| {
            let (excerpt, caret) = excerpt(l, column);
            (crate::sanitize::line(&excerpt).into_owned(), caret)
        });
        let (source_line, caret) = excerpt.map_or((None, column), |(l, c)| (Some(l), c));
        SourceError {
            origin: shown(origin),
            line,
            column,
            message: clip_middle(&shown(&message.into()), MESSAGE_CHARS),
            source_line,
            caret,
        }
    }

    /// A problem with the file as a whole (too large, unreadable, empty).
    pub fn whole_file(origin: &str, message: impl Into<String>) -> Self {
        SourceError {
            origin: shown(origin),
            line: 0,
            column: 0,
            message: clip_middle(&shown(&message.into()), MESSAGE_CHARS),
            source_line: None,
            caret: 0,
        }
    }

    /// The first line only: `path:line:col: message`.
    pub fn headline(&self) -> String {
        if self.line == 0 {
            format!("{}: {}", self.origin, self.message)
        } else {
            format!("{}:{}:{}: {}", self.origin, self.line, self.column, self.message)
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())?;
        if let Some(src) = &self.source_line {
            let number = self.line.to_string();
            let gutter = " ".repeat(number.len());
            let caret_pad = " ".repeat(self.caret.saturating_sub(1) as usize);
            write!(f, "\n{gutter} |\n{number} | {src}\n{gutter} | {caret_pad}^")?;
        }
        Ok(())
    }
}

/// A file name or message as it may be printed. Messages quote what the file says (ids,
/// values) and a path is whatever the file system holds: either may carry escape sequences.
fn shown(text: &str) -> String {
    crate::sanitize::terminal_text(text, true).into_owned()
}

/// Line `index` (0-based) of `text`, without its line end.
fn nth_line(text: &str, index: usize) -> Option<&str> {
    let start = if index == 0 {
        0
    } else {
        memchr::memchr_iter(b'\n', text.as_bytes()).nth(index - 1)? + 1
    };
    let rest = text.get(start..)?;
    let line = rest.split('\n').next().unwrap_or_default();
    Some(line.strip_suffix('\r').unwrap_or(line))
}

/// At most [`EXCERPT_CHARS`] characters of `line` around `column`, with `…` where it was cut,
/// and the caret's column within the excerpt.
fn excerpt(line: &str, column: u32) -> (String, u32) {
    let index = column.saturating_sub(1) as usize;
    if line.chars().nth(EXCERPT_CHARS).is_none() {
        return (line.to_owned(), column);
    }
    let start = index.saturating_sub(EXCERPT_CHARS / 3);
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut chars = line.chars().skip(start);
    out.extend(chars.by_ref().take(EXCERPT_CHARS));
    if chars.next().is_some() {
        out.push('…');
    }
    let caret = index - start + 1 + usize::from(start > 0);
    (out, u32::try_from(caret).unwrap_or(u32::MAX))
}

/// `text` cut in the middle to at most `max` characters, saying how much was left out.
pub fn clip_middle(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let keep = max / 2;
    let head: String = text.chars().take(keep).collect();
    let tail: String = text.chars().skip(total - keep).collect();
    format!("{head}…({} characters left out)…{tail}", total - 2 * keep)
}

/// How serious a problem is. Errors always fail a load; warnings fail only under `--strict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Warning,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// One problem found in a file, at a place in its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub level: Level,
    pub error: SourceError,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.level, self.error)
    }
}

/// Why a file could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadFailure {
    /// The file could not be read at all: missing, too large, not UTF-8.
    #[error("{0}")]
    Unreadable(SourceError),
    /// The file was read but is not valid. Holds every problem, warnings included,
    /// errors and warnings in source order.
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
}

impl LoadFailure {
    /// The problems to print, errors and warnings alike.
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            LoadFailure::Unreadable(error) => {
                vec![Problem { level: Level::Error, error: error.clone() }]
            }
            LoadFailure::Invalid(problems) => problems.clone(),
        }
    }
}

fn render_problems(problems: &[Problem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Reads a UTF-8 text file of at most [`super::MAX_BYTES`].
pub fn read_bounded(path: &Path) -> Result<String, SourceError> {
    let origin = path.display().to_string();
    let unreadable =
        |e: std::io::Error| SourceError::whole_file(&origin, format!("cannot read: {e}"));
    let file =
        crate::file::open_regular(path).map_err(|e| match crate::file::not_regular_kind(&e) {
            Some(kind) => SourceError::whole_file(
                &origin,
                format!("is {}; expected a YAML file", kind.words()),
            ),
            None => unreadable(e),
        })?;
    let mut bytes = Vec::new();
    let limit = super::MAX_BYTES as u64 + 1;
    file.take(limit).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() > super::MAX_BYTES {
        return Err(SourceError::whole_file(
            &origin,
            format!("file is larger than {} bytes; expected a YAML file", super::MAX_BYTES),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let line = memchr::memchr_iter(b'\n', &bytes[..valid]).count() + 1;
        SourceError::whole_file(
            &origin,
            format!("invalid UTF-8 at line {line} (byte {valid}); expected UTF-8 text"),
        )
    })
}
