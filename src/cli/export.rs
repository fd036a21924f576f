//! `triage export [ID] [--format md|json] [-o FILE]`: the incident note of a saved session, to
//! stdout or a file. Read-only: the session file is not changed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::stdout;
use crate::diagnosis::Rules;
use crate::report::{json, markdown};
use crate::session::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Markdown for people (GitHub-flavoured).
    Md,
    /// JSON for tools (schema: docs/session-json.md).
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  triage export > incident.md\n  triage export 20261201-084241-3fa9 --format json -o incident.json"
)]
pub struct ExportArgs {
    /// The session to export; the latest when left out.
    pub id: Option<String>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: Format,
    /// Write here instead of stdout: a new file readable by you only (0600), put in place
    /// atomically; a symbolic link or anything but a regular file there is refused.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open()?;
    let session = match &args.id {
        Some(id) => store.load(id)?,
        None => store.latest()?,
    };
    let rules = Rules::builtin().context("the built-in diagnosis rules")?;
    let text = match args.format {
        Format::Md => markdown::render(&session, &rules),
        Format::Json => json::render(&session, &rules),
    };
    match &args.output {
        Some(path) => {
            crate::file::write_private(path, text.as_bytes())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => stdout(&text)?,
    }
    Ok(ExitCode::SUCCESS)
}
