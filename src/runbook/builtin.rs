//! The runbooks shipped inside the binary, embedded from `runbooks/*.yaml` at build time. They
//! are validated like any user file (a test keeps them clean); this module never reads the disk.

use crate::runbook::load::{self, Loaded};
use crate::runbook::model::Runbook;
use crate::yaml::LoadFailure;

/// One embedded runbook file.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinSource {
    /// The file name under `runbooks/`.
    pub file: &'static str,
    pub text: &'static str,
}

impl BuiltinSource {
    /// How messages name it: `builtin:<file>`.
    pub fn origin(&self) -> String {
        format!("builtin:{}", self.file)
    }

    pub fn load(&self) -> Result<Loaded, LoadFailure> {
        load::load_str(&self.origin(), self.text)
    }
}

const SOURCES: &[BuiltinSource] =
    &[BuiltinSource { file: "http-5xx.yaml", text: include_str!("../../runbooks/http-5xx.yaml") }];

/// Every embedded runbook file.
pub fn sources() -> &'static [BuiltinSource] {
    SOURCES
}

/// Every built-in runbook, validated. Fails on the first that does not load.
pub fn load_all() -> Result<Vec<Runbook>, LoadFailure> {
    SOURCES.iter().map(|s| s.load().map(|l| l.runbook)).collect()
}

/// The built-in runbook with this id.
pub fn find(id: &str) -> Option<Result<Loaded, LoadFailure>> {
    SOURCES.iter().map(BuiltinSource::load).find(|l| match l {
        Ok(loaded) => loaded.runbook.id == id,
        Err(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_loads_without_warnings() {
        for source in sources() {
            match source.load() {
                Ok(loaded) => assert!(
                    loaded.warnings.is_empty(),
                    "{}:\n{}",
                    source.file,
                    loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
                ),
                Err(e) => panic!("{}:\n{e}", source.file),
            }
        }
    }

    #[test]
    fn http_5xx_is_there() {
        let runbooks = load_all().unwrap();
        assert!(runbooks.iter().any(|r| r.id == "http-5xx" && r.origin == "builtin:http-5xx.yaml"));
    }
}
