//! The runbooks available to this user: the built-in ones plus `*.yaml` files in the config
//! directory (`$TRIAGE_CONFIG_DIR/runbooks`, else the platform config dir, e.g.
//! `~/.config/triage/runbooks`). A user runbook with a built-in's id replaces it. This module
//! reads that one directory (bounded) and never writes anything.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::runbook::builtin;
use crate::runbook::load::{self, Loaded};
use crate::runbook::model::Runbook;
use crate::yaml::{LoadFailure, Problem};

/// Environment variable that overrides the config directory (tests, portable setups).
pub const CONFIG_DIR_ENV: &str = "TRIAGE_CONFIG_DIR";
/// At most this many user runbook files are read.
pub const MAX_USER_FILES: usize = 200;

/// Where a runbook came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Builtin,
    User(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Builtin => f.write_str("built-in"),
            Source::User(path) => write!(f, "{}", path.display()),
        }
    }
}

/// One runbook of the library.
#[derive(Debug, Clone)]
pub struct Entry {
    pub runbook: Runbook,
    pub warnings: Vec<Problem>,
    pub source: Source,
    /// A user runbook that takes the place of the built-in with the same id.
    pub replaces_builtin: bool,
}

/// A file of the user's that did not load.
#[derive(Debug, Clone)]
pub struct Broken {
    pub path: PathBuf,
    pub failure: LoadFailure,
}

/// All runbooks, built-in first, then the user's in file-name order.
#[derive(Debug, Clone, Default)]
pub struct Library {
    pub entries: Vec<Entry>,
    pub broken: Vec<Broken>,
    /// The directory user runbooks were read from, when there is one.
    pub user_dir: Option<PathBuf>,
}

/// The config directory: `$TRIAGE_CONFIG_DIR`, else the platform's (`~/.config/triage`).
pub fn config_dir() -> Option<PathBuf> {
    match std::env::var_os(CONFIG_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Some(PathBuf::from(dir)),
        _ => directories::ProjectDirs::from("", "", "triage").map(|d| d.config_dir().to_owned()),
    }
}

/// Where user runbooks live.
pub fn user_dir() -> Option<PathBuf> {
    config_dir().map(|d| d.join("runbooks"))
}

impl Library {
    /// The built-in runbooks and the user's.
    pub fn load() -> Library {
        Library::load_from(user_dir().as_deref())
    }

    /// The built-in runbooks and the `*.yaml`/`*.yml` files directly in `dir`.
    pub fn load_from(dir: Option<&Path>) -> Library {
        let mut library = Library { user_dir: dir.map(Path::to_owned), ..Library::default() };
        for source in builtin::sources() {
            match source.load_fast() {
                Ok(loaded) => library.add(loaded, Source::Builtin),
                Err(failure) => {
                    library.broken.push(Broken { path: source.origin().into(), failure });
                }
            }
        }
        for path in dir.map(user_files).unwrap_or_default() {
            match load::load_file(&path) {
                Ok(loaded) => library.add(loaded, Source::User(path)),
                Err(failure) => library.broken.push(Broken { path, failure }),
            }
        }
        library
    }

    fn add(&mut self, loaded: Loaded, source: Source) {
        let id = loaded.runbook.id.clone();
        let existing = self.entries.iter().position(|e| e.runbook.id == id);
        let replaces_builtin = existing.is_some_and(|i| self.entries[i].source == Source::Builtin);
        let entry =
            Entry { runbook: loaded.runbook, warnings: loaded.warnings, source, replaces_builtin };
        match existing {
            Some(i) => self.entries[i] = entry,
            None => self.entries.push(entry),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.runbook.id == id)
    }
}

/// The runbook files directly in `dir`, sorted, at most [`MAX_USER_FILES`]. A missing or
/// unreadable directory has none.
fn user_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(read) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = read
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .filter(|p| p.is_file())
        .take(MAX_USER_FILES)
        .collect();
    files.sort();
    files
}

/// Why `--runbook` could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("no runbook with id `{id}`; known: {}. Run `triage runbooks` to list them, or pass a file path", known.join(", "))]
    UnknownId { id: String, known: Vec<String> },
    #[error("{0}")]
    Load(LoadFailure),
}

/// Resolves `--runbook FILE|ID`: a path to a file (anything with a `/` or a `.yaml`/`.yml`
/// ending, or an existing file), else a runbook id from the library.
pub fn resolve(file_or_id: &str) -> Result<Loaded, ResolveError> {
    let path = Path::new(file_or_id);
    let looks_like_path = file_or_id.contains(std::path::MAIN_SEPARATOR)
        || file_or_id.contains('/')
        || path.extension().is_some_and(|x| x == "yaml" || x == "yml")
        || path.is_file();
    if looks_like_path {
        return load::load_file(path).map_err(ResolveError::Load);
    }
    let library = Library::load();
    match library.get(file_or_id) {
        Some(entry) => {
            Ok(Loaded { runbook: entry.runbook.clone(), warnings: entry.warnings.clone() })
        }
        None => Err(ResolveError::UnknownId {
            id: file_or_id.to_owned(),
            known: library.entries.iter().map(|e| e.runbook.id.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINE: &str = "id: mine\ntitle: Mine\nversion: '1'\nsummary: s\nstart: a\nsteps:\n  - id: a\n    title: A\n    layer: host\n    why: w\n    question: { kind: text, prompt: p, outcome: done }\noutcomes:\n  - { id: done, title: Done, kind: resolved, summary: s }\n";

    #[test]
    fn user_runbooks_join_and_replace_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("mine.yaml"), MINE).unwrap();
        std::fs::write(dir.path().join("5xx.yml"), MINE.replace("id: mine", "id: http-5xx"))
            .unwrap();
        std::fs::write(dir.path().join("broken.yaml"), "id: [").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let lib = Library::load_from(Some(dir.path()));
        let replaced = lib.get("http-5xx").unwrap();
        assert!(replaced.replaces_builtin);
        assert_eq!(replaced.source, Source::User(dir.path().join("5xx.yml")));
        assert!(!lib.get("mine").unwrap().replaces_builtin);
        assert_eq!(lib.entries.len(), 2);
        assert_eq!(lib.broken.len(), 1);
        assert_eq!(lib.broken[0].path, dir.path().join("broken.yaml"));
    }

    #[test]
    fn missing_dir_gives_the_builtins() {
        let lib = Library::load_from(Some(Path::new("/nonexistent/triage/runbooks")));
        assert!(lib.get("http-5xx").is_some_and(|e| e.source == Source::Builtin));
        assert!(lib.broken.is_empty());
    }
}
