//! Reading a config and the files it includes: bounded in count, size and depth, globs expanded
//! in sorted order (as nginx and Apache do), unreadable files recorded with the reason, and the
//! text sanitised before any parser sees it. It never writes and never follows a cycle.

use std::path::{Path, PathBuf};

use crate::contract::evidence::web::UnreadableConfig;
use crate::sanitize;
use crate::system::{self, System};

/// Most files one config may pull in.
pub const MAX_FILES: usize = 1000;
/// Most bytes of config read for one server.
pub const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;
/// Deepest include nesting followed.
pub const MAX_DEPTH: usize = 16;

/// The files read for one server's config.
#[derive(Debug)]
pub struct Sources<'a> {
    system: &'a System,
    pub files: Vec<PathBuf>,
    pub unreadable: Vec<UnreadableConfig>,
    pub problems: Vec<String>,
    bytes: usize,
    open: Vec<PathBuf>,
}

impl<'a> Sources<'a> {
    pub fn new(system: &'a System) -> Self {
        Sources {
            system,
            files: Vec::new(),
            unreadable: Vec::new(),
            problems: Vec::new(),
            bytes: 0,
            open: Vec::new(),
        }
    }

    pub fn system(&self) -> &System {
        self.system
    }

    /// Starts reading `path`: its sanitised text, or `None` (recorded) when it cannot be read,
    /// is already open (an include cycle), or a budget is spent. Pair with [`Sources::leave`].
    pub fn enter(&mut self, path: &Path) -> Option<String> {
        let key = system::lexical(path);
        if self.open.contains(&key) {
            self.problems.push(format!("{}: includes itself; not read again", path.display()));
            return None;
        }
        if self.open.len() >= MAX_DEPTH
            || self.files.len() >= MAX_FILES
            || self.bytes >= MAX_TOTAL_BYTES
        {
            self.problems.push(format!("{}: not read (more than {MAX_DEPTH} levels, {MAX_FILES} files or {} MiB of config)", path.display(), MAX_TOTAL_BYTES >> 20));
            return None;
        }
        match self.system.read(path) {
            Ok(text) => {
                self.bytes += text.len();
                self.files.push(path.to_owned());
                self.open.push(key);
                Some(sanitize::terminal_text(&text, true).into_owned())
            }
            Err(e) => {
                let reason = system::io_reason(&e);
                self.unreadable.push(UnreadableConfig { path: path.to_owned(), reason });
                None
            }
        }
    }

    /// Done with the file most recently entered.
    pub fn leave(&mut self) {
        self.open.pop();
    }

    /// The files an include pattern names, relative paths taken from `base`. A glob may match
    /// nothing; a plain path that does not exist is returned so that reading it records why.
    pub fn expand(&mut self, pattern: &str, base: &Path) -> Vec<PathBuf> {
        let path = absolute(pattern, base);
        let text = path.to_string_lossy();
        if !text.contains(['*', '?', '[']) {
            return vec![path];
        }
        let (found, errors) = self.system.glob_checked(&text);
        self.unreadable
            .extend(errors.into_iter().map(|(path, reason)| UnreadableConfig { path, reason }));
        found.into_iter().filter(|p| !self.system.path(p).is_dir()).collect()
    }
}

/// `path` made absolute against `base`.
pub fn absolute(path: &str, base: &Path) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() { p.to_owned() } else { base.join(p) }
}

/// A config line without its comment: `#` starts a comment outside quotes.
pub fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (c, quote) {
            ('"' | '\'', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('#', None) => return &line[..i],
            _ => {}
        }
    }
    line
}

/// Splits a line into words; quotes group words and are removed.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    let mut has_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                if let Some(next) = chars.next() {
                    current.push(next);
                    has_word = true;
                }
            }
            ('"' | '\'', None) => {
                quote = Some(c);
                has_word = true;
            }
            (q, Some(open)) if q == open => quote = None,
            (c, None) if c.is_whitespace() => {
                if has_word {
                    out.push(std::mem::take(&mut current));
                    has_word = false;
                }
            }
            (c, _) => {
                current.push(c);
                has_word = true;
            }
        }
    }
    if has_word {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_comments() {
        assert_eq!(
            words(r#"ProxyPass "/app" "http://127.0.0.1:8080/" retry=0"#),
            vec!["ProxyPass", "/app", "http://127.0.0.1:8080/", "retry=0"]
        );
        assert_eq!(strip_comment("server 1.2.3.4:80 # old one"), "server 1.2.3.4:80 ");
        assert_eq!(strip_comment("log \"a#b\" x"), "log \"a#b\" x");
        assert_eq!(words("a\\ b ''"), vec!["a b", ""]);
    }

    #[test]
    fn cycles_and_unreadable_files_are_recorded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.conf"), "x").unwrap();
        let system = System::real();
        let mut sources = Sources::new(&system);
        let a = dir.path().join("a.conf");
        assert!(sources.enter(&a).is_some());
        assert!(sources.enter(&a).is_none(), "a cycle is not followed");
        let roundabout =
            dir.path().join("../").join(dir.path().file_name().unwrap()).join("./a.conf");
        assert!(sources.enter(&roundabout).is_none(), "nor one through `..` and `.`");
        assert_eq!(
            system::lexical(Path::new("/../etc/./php/../php/x.conf")),
            Path::new("/etc/php/x.conf")
        );
        sources.leave();
        assert!(sources.enter(&dir.path().join("missing.conf")).is_none());
        assert_eq!(sources.unreadable[0].reason, "not found");
        assert_eq!(sources.expand("*.conf", dir.path()), vec![a]);
    }
}
