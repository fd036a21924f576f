//! Exports of a session: the markdown incident note (with "what to send support"), the JSON
//! document with the same data, and the support items both share. Everything here is a pure
//! function of a session; nothing from outside leaves unsanitised or unredacted.

pub mod json;
pub mod markdown;
pub mod support;

use crate::diagnosis::{self, Diagnosis, Rules};
use crate::facts::Facts;
use crate::session::Session;

/// What a session's evidence amounts to: every check's facts plus the diagnosis made from them.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub facts: Facts,
    pub diagnosis: Diagnosis,
}

impl Assessment {
    pub fn of(session: &Session, rules: &Rules) -> Assessment {
        let mut facts = session.facts();
        let diagnosis = diagnosis::diagnose(rules, &facts);
        facts.merge(&diagnosis.facts());
        Assessment { facts, diagnosis }
    }
}
