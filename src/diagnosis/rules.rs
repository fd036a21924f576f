//! The diagnosis rules table (`assets/diagnosis.yaml`): the causes triage can name and the rules
//! that recognise them in the facts. Loaded in two stages like a runbook — raw serde types, then
//! validated [`Rules`] — through the same strict YAML loader, so a typo names its line and column.
//! This module holds the table (loading it is `load`); applying it is `diagnosis::diagnose` and,
//! over the request path, `diagnosis::assess`.

use serde::{Deserialize, Serialize};

pub use super::causes::CauseSpec;
use super::load;

use crate::knowledge::fingerprints;
use crate::knowledge::signatures::Signatures;
use crate::layer::Layer;
use crate::runbook::model::{Condition, Severity};
use crate::yaml::{LoadFailure, compiled};

/// How sure a finding or the verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn label(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }

    /// One level surer, for a cause that more than one finding points at.
    #[must_use]
    pub fn raised(self) -> Confidence {
        match self {
            Confidence::Low => Confidence::Medium,
            Confidence::Medium | Confidence::High => Confidence::High,
        }
    }
}

/// One rule: when every condition holds, the facts show this finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The finding's stable id.
    pub id: String,
    /// The cause it points at; `None` for an observation that explains nothing by itself.
    pub cause: Option<String>,
    /// The layer at fault; `None` when nothing is at fault (the `none` cause).
    pub layer: Option<Layer>,
    pub severity: Severity,
    pub confidence: Confidence,
    /// The runbook step to go to.
    pub step: Option<String>,
    /// One sentence; `{fact.key}` placeholders render the fact's value.
    pub summary: String,
    pub when: Vec<Condition>,
    /// Further facts quoted as evidence when present.
    pub cite: Vec<String>,
    /// Where its evidence sits, and what kind of source it is (from `scopes:`).
    pub at: Where,
    pub source: Source,
}

/// Where a rule's evidence sits on the request path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Where {
    /// The public URL, seen from outside.
    Outside,
    /// One hop of the request path: its facts are scoped to the hop before the rule runs.
    Hop,
    /// The machine as a whole.
    Host,
}

/// What kind of evidence a finding rests on. Two findings agree, for confidence, only when their
/// sources differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The error page the maker served (its fingerprint).
    Page,
    /// A live probe: of the public URL, an upstream, the database.
    Probe,
    /// A log line attributed to the hop.
    Log,
    /// The site's access log.
    Access,
    /// The configuration read from disk.
    Config,
    /// The running services and their units.
    Stack,
    /// The machine's resources.
    Host,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Page => "the error page",
            Source::Probe => "a live probe",
            Source::Log => "the error log",
            Source::Access => "the access log",
            Source::Config => "the configuration",
            Source::Stack => "the running services",
            Source::Host => "the machine's resources",
        }
    }
}

/// Which facts sit where: a rule takes its place and source from its first fact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub prefix: String,
    pub at: Where,
    pub source: Source,
}

/// The validated table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    pub causes: Vec<CauseSpec>,
    pub scopes: Vec<Scope>,
    /// In precedence order: the first matching rule with a cause gives the verdict.
    pub rules: Vec<Rule>,
}

const BUILTIN: &str = include_str!("../../assets/diagnosis.yaml");
const BUILTIN_ORIGIN: &str = "builtin:assets/diagnosis.yaml";
const COMPILED: &str = include_str!("../../assets/compiled/diagnosis.json");

impl Rules {
    /// The table shipped in the binary, from its compiled copy while that is current: parsing
    /// and checking the YAML was a fifth of a `triage check` (docs/benchmarks.md).
    pub fn builtin() -> Result<Rules, LoadFailure> {
        compiled::read_or_load(COMPILED, BUILTIN, || Rules::load_str(BUILTIN_ORIGIN, BUILTIN))
    }

    /// Loads and validates a rules table; errors name `origin:line:col`.
    pub fn load_str(origin: &str, text: &str) -> Result<Rules, LoadFailure> {
        load::rules(origin, text)
    }

    pub fn cause(&self, id: &str) -> Option<&CauseSpec> {
        self.causes.iter().find(|c| c.id == id)
    }

    /// The cause ids the knowledge tables name that this table does not declare, as
    /// `fingerprints.yaml: vendor/page: cause` lines. The tables are loaded apart (a check never
    /// reads the diagnosis); this is where they are held against each other.
    pub fn unknown_causes(&self, pages: &fingerprints::Table, logs: &Signatures) -> Vec<String> {
        let pages = pages.vendors.iter().flat_map(|v| {
            v.pages.iter().filter_map(move |p| {
                Some((format!("fingerprints.yaml: {}/{}", v.id, p.code), p.cause.as_deref()?))
            })
        });
        let logs = logs
            .list
            .iter()
            .filter_map(|s| Some((format!("log-signatures.yaml: {}", s.id), s.cause.as_deref()?)));
        pages
            .chain(logs)
            .filter(|(_, cause)| self.cause(cause).is_none())
            .map(|(at, cause)| format!("{at}: cause `{cause}` is not in diagnosis.yaml"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compiled copy is current and reads back as the table the YAML gives.
    /// `TRIAGE_BLESS=1` writes it first.
    #[test]
    fn the_compiled_copy_matches_the_yaml() {
        let rules = Rules::load_str(BUILTIN_ORIGIN, BUILTIN).unwrap_or_else(|e| panic!("{e}"));
        let builtin = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        compiled::check_copy("assets/compiled/diagnosis.json", COMPILED, BUILTIN, &rules, &builtin);
    }

    #[test]
    fn the_builtin_table_loads() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(rules.cause("none").is_some() && rules.cause("unknown").is_some());
        assert!(!rules.rules.is_empty());
    }

    #[test]
    fn every_cause_the_knowledge_tables_name_is_declared() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        let pages = fingerprints::Table::builtin().unwrap_or_else(|e| panic!("{e}"));
        let logs = Signatures::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rules.unknown_causes(&pages, &logs), Vec::<String>::new());
        let mut pages = pages;
        pages.vendors[0].pages[0].cause = Some("no_such_cause".to_owned());
        assert_eq!(rules.unknown_causes(&pages, &logs).len(), 1);
    }

    #[test]
    fn every_cause_a_vendor_page_names_can_produce_that_page() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        let pages = fingerprints::Table::builtin().unwrap_or_else(|e| panic!("{e}"));
        let mut missing = Vec::new();
        for vendor in &pages.vendors {
            for page in &vendor.pages {
                let Some(cause) = page.cause.as_deref().and_then(|c| rules.cause(c)) else {
                    continue;
                };
                for &status in &page.statuses {
                    let seen = super::super::causes::Seen {
                        maker: vendor.id.clone(),
                        status: Some(status),
                        failure: None,
                    };
                    if status >= 400 && !cause.explains(&seen) {
                        missing
                            .push(format!("{}: {} {status} ({})", cause.id, vendor.id, page.code));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "causes whose `makes` lack their vendor's page:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn every_cause_but_none_and_unknown_says_what_it_makes() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        for cause in rules.causes.iter().filter(|c| !["none", "unknown"].contains(&c.id.as_str())) {
            assert!(!cause.makes.is_empty(), "cause `{}` says nothing it makes", cause.id);
        }
    }

    #[test]
    fn every_step_a_rule_names_is_a_step_of_the_builtin_runbook() {
        let rules = Rules::builtin().unwrap_or_else(|e| panic!("{e}"));
        let runbooks = crate::runbook::builtin::load_all().unwrap_or_else(|e| panic!("{e}"));
        let http = runbooks.iter().find(|r| r.id == "http-5xx").unwrap();
        for rule in &rules.rules {
            if let Some(step) = &rule.step {
                assert!(
                    http.step(step).is_some(),
                    "rule `{}` names unknown step `{step}`",
                    rule.id
                );
            }
        }
    }

    #[test]
    fn mistakes_name_their_line() {
        let text = "causes:\n  - { id: a, title: A, description: d }\nrules:\n  - id: r\n    cause: b\n    severity: high\n    confidence: high\n    summary: 'x {http.nope}'\n    when:\n      - { fact: http.stauts, equals: 502 }\n";
        let err = Rules::load_str("t.yaml", text).unwrap_err().to_string();
        assert!(err.contains("t.yaml:5:12: cause `b` is not declared"), "{err}");
        assert!(err.contains("t.yaml:8:14: no check produces the fact `http.nope`"), "{err}");
        assert!(err.contains("t.yaml:10:17: no check produces the fact `http.stauts` (did you mean `http.status`?)"), "{err}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = "causes: []\nrules:\n  - id: r\n    severty: high\n";
        let err = Rules::load_str("t.yaml", text).unwrap_err().to_string();
        assert!(err.starts_with("error: t.yaml:4:5: "), "{err}");
    }
}
