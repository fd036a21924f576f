//! triage: from "the site shows 502 / 503 / 504" to the failing layer, its cause, a fix and a
//! note for support. The library holds the core (runbook, checks, diagnosis, session, report)
//! and the terminal UI; `main.rs` is a thin shell over the command line.

pub mod checks;
pub mod cli;
pub mod clock;
pub mod contract;
pub mod diagnosis;
pub mod engine;
pub mod facts;
pub mod file;
pub mod knowledge;
pub mod layer;
pub mod redact;
pub mod report;
pub mod runbook;
pub mod sanitize;
pub mod session;
pub mod site;
pub mod system;
pub mod text;
pub mod tui;
pub mod yaml;
