//! `triage resume [ID]`: reopens a saved session exactly where it was (the latest one when no id
//! is given). The session and its runbook are loaded, and every problem reported, before the
//! terminal switches to the UI.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::start;
use crate::diagnosis::Rules;
use crate::runbook::load;
use crate::runbook::model::Runbook;
use crate::session::{Session, Stamp, Store};
use crate::tui::App;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  triage resume\n  triage resume 20261201-084241-3fa9")]
pub struct ResumeArgs {
    /// The session to reopen (`triage sessions` lists them); the latest when left out.
    pub id: Option<String>,
    /// Draw with plain ASCII.
    #[arg(long)]
    pub ascii: bool,
}

pub fn run(args: &ResumeArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open()?;
    let session = match &args.id {
        Some(id) => store.load(id)?,
        None => store.latest()?,
    };
    let runbook = runbook_for(&session)?;
    let rules = Rules::builtin().context("the built-in diagnosis rules")?;
    let (app, first) =
        App::resume(runbook, rules, session, Stamp::now()).map_err(|e| anyhow::anyhow!(e))?;
    start::run_ui(app, &store, args.ascii, first)
}

/// The runbook the session walked: a built-in or library one by id, else the file it came from.
pub fn runbook_for(session: &Session) -> anyhow::Result<Runbook> {
    let origin = &session.runbook.origin;
    if origin.starts_with("builtin:") {
        return start::load_runbook(&session.runbook.id);
    }
    let loaded = load::load_file(std::path::Path::new(origin)).map_err(|e| {
        anyhow::anyhow!(
            "session {} walks the runbook {origin}, which does not load: {e}",
            session.id
        )
    })?;
    Ok(loaded.runbook)
}
