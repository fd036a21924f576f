//! `triage validate`: loads runbooks, prints every problem with its place, and sums up.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{stderr, stdout};
use crate::runbook::builtin;
use crate::runbook::load::{self, Loaded};
use crate::runbook::model::Runbook;
use crate::sanitize;
use crate::text::count;
use crate::yaml::{Level, LoadFailure};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  triage validate\n  triage validate --strict ~/.config/triage/runbooks/*.yaml\n\nExit codes: 0 clean, 1 problems found, 2 a file could not be read."
)]
pub struct ValidateArgs {
    /// Runbook files to check; without any, the built-in runbooks.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Fail on warnings too.
    #[arg(long)]
    pub strict: bool,
}

/// What one file came to, for the exit code: 0 clean, 1 problems, 2 unreadable.
fn verdict(result: &Result<Loaded, LoadFailure>, strict: bool) -> u8 {
    match result {
        Ok(loaded) if strict && !loaded.warnings.is_empty() => 1,
        Ok(_) => 0,
        Err(LoadFailure::Invalid(_)) => 1,
        Err(LoadFailure::Unreadable(_)) => 2,
    }
}

pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let results: Vec<(String, Result<Loaded, LoadFailure>)> = if args.files.is_empty() {
        builtin::sources().iter().map(|s| (s.origin(), s.load())).collect()
    } else {
        let shown = |p: &std::path::Path| sanitize::line(&p.display().to_string()).into_owned();
        args.files.iter().map(|p| (shown(p), load::load_file(p))).collect()
    };
    let mut worst = 0;
    for (origin, result) in &results {
        report(origin, result, args.strict)?;
        worst = worst.max(verdict(result, args.strict));
    }
    Ok(ExitCode::from(worst))
}

fn report(origin: &str, result: &Result<Loaded, LoadFailure>, strict: bool) -> anyhow::Result<()> {
    match result {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                stderr(&format!("{warning}\n"));
            }
            let failed = strict && !loaded.warnings.is_empty();
            let verdict = if failed { "failed (--strict)" } else { "ok" };
            let mut line = format!("{origin}: {verdict} — {}", summary(&loaded.runbook));
            if !loaded.warnings.is_empty() {
                line.push_str(&format!(
                    ", {}",
                    count(loaded.warnings.len(), "warning", "warnings")
                ));
            }
            stdout(&format!("{line}\n"))?;
        }
        Err(failure) => {
            let problems = failure.problems();
            for problem in &problems {
                stderr(&format!("{problem}\n"));
            }
            let errors = problems.iter().filter(|p| p.level == Level::Error).count();
            let warnings = problems.len() - errors;
            let mut line = format!("{origin}: failed — {}", count(errors, "error", "errors"));
            if warnings > 0 {
                line.push_str(&format!(", {}", count(warnings, "warning", "warnings")));
            }
            stderr(&line);
        }
    }
    Ok(())
}

/// `11 steps, 9 checks, 14 fix cards, 6 outcomes`.
pub fn summary(runbook: &Runbook) -> String {
    let checks: usize = runbook.steps.iter().map(|s| s.checks.len()).sum();
    let fixes: usize = runbook.steps.iter().map(|s| s.fixes.len()).sum();
    [
        count(runbook.steps.len(), "step", "steps"),
        count(checks, "check", "checks"),
        count(fixes, "fix card", "fix cards"),
        count(runbook.outcomes.len(), "outcome", "outcomes"),
    ]
    .join(", ")
}
