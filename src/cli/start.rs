//! `triage [URL]`: starts the walk-through. Everything that can fail on the way in (the runbook, the
//! diagnosis rules, the data directory, a terminal to draw on) fails here, with a plain error,
//! before the terminal switches to the full-screen UI.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::stderr;
use crate::diagnosis::Rules;
use crate::runbook::library;
use crate::runbook::model::Runbook;
use crate::session::{Session, Stamp, Store};
use crate::tui::draw::Theme;
use crate::tui::shell::{self, Ended, Saving};
use crate::tui::{App, Effect};

/// The runbook walked when `--runbook` is not given.
pub const DEFAULT_RUNBOOK: &str = "http-5xx";

pub fn run(
    url: Option<String>,
    runbook: Option<&str>,
    ascii: bool,
    presets: &[String],
) -> anyhow::Result<ExitCode> {
    let (runbook, Prepared { rules, store, zone }) = load_beside(runbook)?;
    let presets = parse_presets(&runbook, presets)?;
    let rules = rules.context("the built-in diagnosis rules")?;
    let store = store?;
    require_terminal()?;
    let now = Stamp::now();
    let url = url.unwrap_or_default();
    let fresh = Session::new(new_id(&store, now), &runbook, url.clone(), zone, now);
    let lock = store.lock(&fresh.id)?;
    let existing = if url.is_empty() { None } else { store.open_for(&url, &runbook.id)? };
    // A session another triage has open is not offered: two writers would lose updates.
    let existing = existing.filter(|s| match store.lock(&s.id) {
        Ok(_) => true,
        Err(e) => {
            stderr(&format!("{e}\nStarting a new session instead."));
            false
        }
    });
    let (app, first) = match existing {
        Some(existing) => (App::with_offer(runbook, rules, fresh, existing, now), Vec::new()),
        // With a URL the checks start at once; the inputs stay one key (`i`) away.
        None => App::start(runbook, rules, fresh, now, &presets),
    };
    let saving = Saving { store, lock: Some(lock), read_only: false };
    run_ui(app, saving, ascii, first)
}

/// What the walk needs besides its runbook.
struct Prepared {
    rules: Result<Rules, crate::yaml::LoadFailure>,
    store: anyhow::Result<Store>,
    zone: String,
}

/// Loads the runbook while one thread loads the rules and another checks the store (it waits
/// on an `fsync`) and names the time zone: the first frame waits for the longest of the three,
/// not for their sum. Errors are reported in the order they always were: the runbook's first.
fn load_beside(runbook: Option<&str>) -> anyhow::Result<(Runbook, Prepared)> {
    let failed = |_| anyhow::anyhow!("start-up: a loading thread failed");
    std::thread::scope(|scope| {
        let rules = scope.spawn(Rules::builtin);
        let store = scope.spawn(|| (writable_store(), time_zone()));
        let runbook = load_runbook(runbook.unwrap_or(DEFAULT_RUNBOOK))?;
        let rules = rules.join().map_err(failed)?;
        let (store, zone) = store.join().map_err(failed)?;
        Ok((runbook, Prepared { rules, store, zone }))
    })
}

/// The session store, checked writable before anything is recorded in it.
pub fn writable_store() -> anyhow::Result<Store> {
    let store = Store::open()?;
    store.check_writable()?;
    Ok(store)
}

/// `NAME=VALUE` pairs for the runbook's inputs, each name checked against them.
fn parse_presets(runbook: &Runbook, presets: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    presets
        .iter()
        .map(|pair| {
            let Some((name, value)) = pair.split_once('=') else {
                anyhow::bail!("`--set {pair}`: expected NAME=VALUE");
            };
            if runbook.input(name).is_none() {
                let names: Vec<&str> = runbook.inputs.iter().map(|i| i.name.as_str()).collect();
                anyhow::bail!(
                    "`--set {pair}`: runbook `{}` has no input `{name}`; its inputs: {}",
                    runbook.id,
                    names.join(", ")
                );
            }
            Ok((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// A runbook by file or id, with its warnings printed (they do not stop the walk).
pub fn load_runbook(file_or_id: &str) -> anyhow::Result<Runbook> {
    // An absolute path, so that `triage resume` finds the file again from any directory.
    let path = std::path::Path::new(file_or_id);
    let absolute = path.is_file().then(|| std::fs::canonicalize(path).ok()).flatten();
    let file_or_id = absolute.as_ref().map_or(file_or_id.to_owned(), |p| p.display().to_string());
    let loaded = library::resolve(&file_or_id).map_err(|e| anyhow::anyhow!("{e}"))?;
    for warning in &loaded.warnings {
        stderr(&warning.to_string());
    }
    Ok(loaded.runbook)
}

fn require_terminal() -> anyhow::Result<()> {
    if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        return Ok(());
    }
    anyhow::bail!(
        "the walk-through needs a terminal (stdin and stdout are not one); for scripts use `triage sessions` and `triage export`"
    )
}

/// `20261201-084241-3fa9`: sortable, and unique in this store.
fn new_id(store: &Store, now: Stamp) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let base = now.at.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y%m%d-%H%M%S").to_string();
    let mut salt = nanos ^ std::process::id().rotate_left(16);
    loop {
        let id = format!("{base}-{:04x}", salt & 0xffff);
        if !store.exists(&id) {
            return id;
        }
        salt = salt.wrapping_mul(2_654_435_761).wrapping_add(1);
    }
}

/// What the user is told on the way out: what the session file holds, read back from disk,
/// against what was recorded.
pub fn exit_message(
    session: &Session,
    store: &Store,
    read_only: bool,
    unsaved: Option<&str>,
) -> String {
    let recorded = session.entries.len();
    if recorded == 0 {
        return "Nothing was recorded, so no session was saved.".to_owned();
    }
    let id = &session.id;
    let path = store.path(id);
    let entries = crate::text::count(recorded, "entry", "entries");
    if read_only {
        return format!(
            "Session {id} was open read-only: nothing recorded in this run was saved ({} holds the other process's copy)",
            path.display()
        );
    }
    let on_disk = store.load(id).map(|s| s.entries.len());
    match (on_disk, unsaved) {
        (Ok(n), None) if n == recorded => format!(
            "Session {id} saved in {}: all {entries}\n  continue: triage resume {id}\n  export:   triage export {id} -o incident.md",
            path.display()
        ),
        (Ok(n), why) => format!(
            "Session {id} was NOT fully saved: {} holds {n} of the {entries} recorded; the last {} are lost{}",
            path.display(),
            recorded.saturating_sub(n),
            why.map(|w| format!(" ({w})")).unwrap_or_default()
        ),
        (Err(e), why) => format!(
            "Session {id} was NOT saved: no readable file at {} ({e}); the {entries} recorded are lost{}",
            path.display(),
            why.map(|w| format!(" (last save: {w})")).unwrap_or_default()
        ),
    }
}

/// The system time zone's IANA name, or its offset when it has none.
fn time_zone() -> String {
    let zone = crate::clock::zone();
    zone.name.clone().unwrap_or_else(|| format!("UTC{}", Stamp::now().offset_label()))
}

/// Runs the UI to its end and says what was saved where.
pub fn run_ui(
    mut app: App,
    saving: Saving,
    ascii: bool,
    first: Vec<Effect>,
) -> anyhow::Result<ExitCode> {
    let theme = Theme::from_env(ascii);
    let store = saving.store.clone();
    let read_only = saving.read_only;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let outcome = runtime.block_on(shell::run(&mut app, saving, theme, first));
    // Checks still reading a slow disk must not hold the exit.
    runtime.shutdown_timeout(Duration::from_millis(500));
    let outcome = outcome?;
    stderr(&exit_message(app.session(), &store, read_only, outcome.unsaved.as_deref()));
    Ok(match outcome.ended {
        Ended::Quit => ExitCode::SUCCESS,
        Ended::Signal("SIGHUP") => ExitCode::from(129),
        Ended::Signal("SIGINT") => ExitCode::from(130),
        Ended::Signal(_) => ExitCode::from(143),
    })
}
