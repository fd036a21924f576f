//! `triage resume [ID]`: reopens a saved session exactly where it was (the latest one when no id
//! is given). The session's lock is taken, then the session and its runbook are loaded, and
//! every problem reported, before the terminal switches to the UI. A session another process
//! has open is refused, opened `--read-only`, or taken over (`--take-over`: that process is
//! asked to save and quit first).

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::start;
use crate::diagnosis::Rules;
use crate::runbook::load;
use crate::runbook::model::Runbook;
use crate::session::lock::{LockError, SessionLock};
use crate::session::{Session, Stamp, Store};
use crate::tui::shell::Saving;
use crate::tui::{App, Msg};

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  triage resume\n  triage resume 20261201-084241-3fa9")]
pub struct ResumeArgs {
    /// The session to reopen (`triage sessions` lists them); the latest when left out.
    pub id: Option<String>,
    /// Draw with plain ASCII.
    #[arg(long)]
    pub ascii: bool,
    /// Open the session without saving anything (another triage may have it open).
    #[arg(long, conflicts_with = "take_over")]
    pub read_only: bool,
    /// When another triage has the session open, ask it to save and quit, then continue here.
    #[arg(long)]
    pub take_over: bool,
}

/// How long `--take-over` waits for the other process to save and let go.
const TAKE_OVER_WAIT: Duration = Duration::from_secs(10);

pub fn run(args: &ResumeArgs) -> anyhow::Result<ExitCode> {
    let store = if args.read_only { Store::open()? } else { start::writable_store()? };
    let id = match &args.id {
        Some(id) => id.clone(),
        None => store.latest()?.id,
    };
    let lock = if args.read_only {
        None
    } else {
        match store.lock(&id) {
            Ok(lock) => Some(lock),
            Err(LockError::Held { holder, .. }) if args.take_over => {
                Some(take_over(&store, &id, holder)?)
            }
            Err(e) => return Err(e.into()),
        }
    };
    // Read once the lock is held, so a holder's last save is in.
    let session = store.load(&id)?;
    let runbook = runbook_for(&session)?;
    let rules = Rules::builtin().context("the built-in diagnosis rules")?;
    let now = Stamp::now();
    let (mut app, first) =
        App::resume(runbook, rules, session, now).map_err(|e| anyhow::anyhow!(e))?;
    if args.read_only {
        let note = "read-only: nothing recorded in this run is saved";
        app.update(now, Msg::Problem(note.to_owned()));
    }
    let saving = Saving { store, lock, read_only: args.read_only };
    start::run_ui(app, saving, args.ascii, first)
}

/// Asks the triage process holding session `id` to save and quit (SIGTERM, which it treats as
/// a clean exit), then takes the lock once it lets go.
fn take_over(store: &Store, id: &str, holder: Option<u32>) -> anyhow::Result<SessionLock> {
    let pid = holder.filter(|&p| is_triage(p)).ok_or_else(|| {
        anyhow::anyhow!(
            "session {id} is locked, but not by a triage process this user can ask to quit"
        )
    })?;
    let target = rustix::process::Pid::from_raw(pid.cast_signed())
        .ok_or_else(|| anyhow::anyhow!("pid {pid} is not a process id"))?;
    rustix::process::kill_process(target, rustix::process::Signal::TERM)
        .map_err(|e| anyhow::anyhow!("could not ask pid {pid} to quit: {e}"))?;
    super::stderr(&format!("asked triage (pid {pid}) to save session {id} and quit …"));
    let started = Instant::now();
    loop {
        match store.lock(id) {
            Ok(lock) => return Ok(lock),
            Err(LockError::Held { .. }) if started.elapsed() < TAKE_OVER_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether `pid` runs triage (a pid in a lock file may have been reused since).
fn is_triage(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "triage")
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
