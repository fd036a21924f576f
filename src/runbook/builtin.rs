//! The runbooks shipped inside the binary, embedded from `runbooks/*.yaml` at build time. They
//! are validated like any user file (a test keeps them clean); this module never reads the disk.
//!
//! Each also ships compiled (`yaml::compiled`): `runbooks/compiled/<id>.json` is the validated
//! runbook as JSON, which reads in a fraction of the YAML's time (the YAML parse was most of
//! the TUI's start).

use crate::runbook::load::{self, Loaded};
use crate::runbook::model::Runbook;
use crate::yaml::{LoadFailure, compiled};

/// One embedded runbook file.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinSource {
    /// The file name under `runbooks/`.
    pub file: &'static str,
    pub text: &'static str,
    /// `runbooks/compiled/<file stem>.json`.
    pub compiled: &'static str,
}

impl BuiltinSource {
    /// How messages name it: `builtin:<file>`.
    pub fn origin(&self) -> String {
        format!("builtin:{}", self.file)
    }

    /// Parses and validates the YAML: what `triage validate` and the tests check.
    pub fn load(&self) -> Result<Loaded, LoadFailure> {
        load::load_str(&self.origin(), self.text)
    }

    /// The runbook, from its compiled copy when that was made from this YAML, else from the
    /// YAML. A built-in runbook has no warnings (a test holds it to that).
    pub fn load_fast(&self) -> Result<Loaded, LoadFailure> {
        match compiled::read::<Runbook>(self.compiled, self.text) {
            Some(runbook) => Ok(Loaded { runbook, warnings: Vec::new() }),
            None => self.load(),
        }
    }

    /// The compiled copy of this runbook as it should be, for the test that keeps it current.
    pub fn compile(&self) -> Result<String, LoadFailure> {
        Ok(compiled::write(self.text, &self.load()?.runbook))
    }
}

const SOURCES: &[BuiltinSource] = &[BuiltinSource {
    file: "http-5xx.yaml",
    text: include_str!("../../runbooks/http-5xx.yaml"),
    compiled: include_str!("../../runbooks/compiled/http-5xx.json"),
}];

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

    /// The compiled copies are current and read back to the runbook the YAML gives.
    /// `TRIAGE_BLESS=1` writes them first.
    #[test]
    fn compiled_copies_match_their_yaml() {
        for source in sources() {
            let fresh = source.compile().unwrap_or_else(|e| panic!("{e}"));
            let name = source.file.replace(".yaml", ".json");
            compiled::bless_or_check(&format!("runbooks/compiled/{name}"), source.compiled, &fresh);
            if std::env::var_os("TRIAGE_BLESS").is_some() {
                continue;
            }
            let yaml = format!("{:?}", source.load().unwrap().runbook);
            let json = format!("{:?}", source.load_fast().unwrap().runbook);
            assert!(yaml == json, "{name} reads back to another runbook");
        }
    }

    #[test]
    fn http_5xx_is_there() {
        let runbooks = load_all().unwrap();
        assert!(runbooks.iter().any(|r| r.id == "http-5xx" && r.origin == "builtin:http-5xx.yaml"));
    }
}
