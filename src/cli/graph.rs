//! `triage graph`: prints a runbook's decision tree as Mermaid or Graphviz DOT.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{stderr, stdout};
use crate::runbook::graph;
use crate::runbook::library::{self, ResolveError};
use crate::yaml::LoadFailure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Mermaid,
    Dot,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  triage graph > tree.mmd\n  triage graph my-runbook.yaml --format dot | dot -Tsvg > tree.svg"
)]
pub struct GraphArgs {
    /// A runbook file or id; the built-in http-5xx by default.
    #[arg(value_name = "FILE|ID", default_value = "http-5xx")]
    pub runbook: String,
    /// Diagram language.
    #[arg(long, value_enum, default_value_t = Format::Mermaid)]
    pub format: Format,
}

pub fn run(args: &GraphArgs) -> anyhow::Result<ExitCode> {
    let loaded = match library::resolve(&args.runbook) {
        Ok(loaded) => loaded,
        Err(error) => return Ok(failed(&error)),
    };
    let text = match args.format {
        Format::Mermaid => graph::mermaid(&loaded.runbook),
        Format::Dot => graph::dot(&loaded.runbook),
    };
    stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints why the runbook could not be used and returns 1 (invalid) or 2 (unreadable, unknown).
pub fn failed(error: &ResolveError) -> ExitCode {
    match error {
        ResolveError::Load(failure @ LoadFailure::Invalid(_)) => {
            for problem in failure.problems() {
                stderr(&format!("{problem}\n"));
            }
            ExitCode::from(1)
        }
        other => {
            stderr(&format!("error: {other}"));
            ExitCode::from(2)
        }
    }
}
