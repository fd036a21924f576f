//! What triage knows about the world, as data in assets/: the vendors' error pages and headers
//! (`fingerprints`), the log lines that name a cause (`signatures`) and the services of a web
//! stack (`services`). Each table is loaded in two stages (raw serde types, then validated) and
//! tested as data; the checks read them, and cause ids are checked against the diagnosis where
//! the tables are loaded together.

pub mod fingerprints;
pub mod services;
pub mod signatures;
