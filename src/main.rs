//! The `triage` binary: parses the command line and hands it to `triage::cli`. It maps errors to
//! exit code 2 and never panics.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = triage::cli::Cli::parse();
    match triage::cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            triage::cli::stderr(&format!("error: {error:#}"));
            ExitCode::from(2)
        }
    }
}
