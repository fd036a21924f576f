//! `triage runbooks`: lists the built-in runbooks and the user's, and where to put your own.

use std::process::ExitCode;

use clap::Args;

use super::stdout;
use crate::runbook::library::Library;
use crate::sanitize;

#[derive(Debug, Args)]
#[command(
    after_help = "Your own runbooks: *.yaml files in the config directory's runbooks/ folder\n(~/.config/triage/runbooks on Linux, or $TRIAGE_CONFIG_DIR/runbooks). A runbook with a\nbuilt-in's id replaces the built-in."
)]
pub struct RunbooksArgs {}

pub fn run(_args: &RunbooksArgs) -> anyhow::Result<ExitCode> {
    stdout(&listing(&Library::load()))?;
    Ok(ExitCode::SUCCESS)
}

/// The table of runbooks, the broken files and where user runbooks go.
pub fn listing(library: &Library) -> String {
    let rows: Vec<[String; 4]> = library
        .entries
        .iter()
        .map(|e| {
            let mut source = e.source.to_string();
            if e.replaces_builtin {
                source.push_str(" (replaces built-in)");
            }
            let title = sanitize::line(&e.runbook.title).into_owned();
            let version = sanitize::line(&e.runbook.version).into_owned();
            [e.runbook.id.clone(), title, version, source]
        })
        .collect();
    let header = ["ID".to_owned(), "TITLE".to_owned(), "VERSION".to_owned(), "SOURCE".to_owned()];
    let mut out = table(&header, &rows);
    for broken in &library.broken {
        let first =
            broken.failure.problems().first().map(|p| p.error.headline()).unwrap_or_default();
        out.push_str(&format!(
            "invalid: {first}\n  (run `triage validate {}`)\n",
            sanitize::line(&broken.path.display().to_string())
        ));
    }
    if let Some(dir) = &library.user_dir {
        let dir = sanitize::line(&dir.display().to_string()).into_owned();
        out.push_str(&format!("\nYour runbooks: {dir}/*.yaml\n"));
    }
    out
}

fn table(header: &[String; 4], rows: &[[String; 4]]) -> String {
    let mut widths = header.each_ref().map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(header).chain(rows) {
        let cells: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
