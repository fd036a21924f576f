//! `triage sessions`: every saved session, newest first: id, state, started, URL, last step.
//! Damaged files are listed too, never skipped silently, and never touched.

use std::process::ExitCode;

use clap::Args;

use super::stdout;
use crate::sanitize;
use crate::session::{Listed, Store};

#[derive(Debug, Args)]
#[command(
    after_help = "Sessions live in ~/.local/share/triage/sessions (or $TRIAGE_DATA_DIR/sessions)."
)]
pub struct SessionsArgs {}

pub fn run(_args: &SessionsArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open()?;
    let listed = store.list()?;
    if listed.is_empty() {
        stdout(&format!(
            "No sessions yet in {}. Start one with `triage URL`.\n",
            store.dir().display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    stdout(&table(&listed))?;
    Ok(ExitCode::SUCCESS)
}

/// The listing as aligned columns.
pub fn table(listed: &[Listed]) -> String {
    let mut rows = vec![[
        "ID".to_owned(),
        "STATE".to_owned(),
        "STARTED".to_owned(),
        "URL".to_owned(),
        "LAST STEP".to_owned(),
    ]];
    for entry in listed {
        rows.push(match entry {
            Listed::Session(s) => [
                s.id.clone(),
                if s.is_closed() { "closed" } else { "open" }.to_owned(),
                s.started.long(),
                sanitize::line(&crate::redact::url(&s.url)).into_owned(),
                sanitize::line(s.last_title().unwrap_or("(inputs)")).into_owned(),
            ],
            Listed::Damaged { path, reason } => [
                path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                "DAMAGED".to_owned(),
                String::new(),
                sanitize::line(&reason.chars().take(60).collect::<String>()).into_owned(),
                format!("(left as it is: {})", sanitize::line(&path.display().to_string())),
            ],
        });
    }
    let widths: Vec<usize> =
        (0..4).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        for (c, cell) in row.iter().enumerate().take(4) {
            out.push_str(&format!("{cell:<width$}  ", width = widths[c]));
        }
        out.push_str(&row[4]);
        out.push('\n');
    }
    out
}
