//! Exports of a session: the markdown incident note (with "what to send support"), the JSON
//! document with the same data, and the support items both share. Everything here is a pure
//! function of a session; nothing from outside leaves unsanitised or unredacted.

pub mod json;
pub mod markdown;
pub mod support;

use crate::diagnosis::{self, Diagnosis, Rules};
use crate::evidence::Facts;
use crate::session::Session;

/// The evidence a session holds: every check's facts plus the diagnosis made from them.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub facts: Facts,
    pub diagnosis: Diagnosis,
}

impl Evidence {
    pub fn of(session: &Session, rules: &Rules) -> Evidence {
        let mut facts = session.facts();
        let diagnosis = diagnosis::diagnose(rules, &facts);
        facts.merge(&diagnosis.facts());
        Evidence { facts, diagnosis }
    }
}
