//! The command line: clap definitions and dispatch. Each subcommand lives in its own file and
//! returns the process exit code; nothing here panics or exits the process itself (that is
//! `main`'s job), and output to a closed pipe ends quietly.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

pub mod check;
pub mod export;
pub mod graph;
pub mod logs;
pub mod resume;
pub mod runbooks;
pub mod sessions;
pub mod stack;
pub mod start;
pub mod validate;

const EXAMPLES: &str = "\
Examples:
  triage https://shop.example.com/          walk through a 5xx on this URL (checks start at once)
  triage URL --monitor 15m --set origin=203.0.113.7   watch longer after the fix; preset an input
  triage check https://shop.example.com/    check from outside and print the verdict
  triage --runbook ./my-runbook.yaml URL    use your own runbook
  triage sessions                           list saved sessions
  triage resume                             continue the latest session
  triage export -o incident.md              the incident note of the latest session
  triage validate                           check the built-in runbooks
  triage validate --strict my-runbook.yaml  check a runbook; warnings fail too
  triage graph --format dot | dot -Tsvg > tree.svg
  triage runbooks                           list built-in and your own runbooks
  sudo triage stack                         the web stack running on this machine
  triage logs --since 2h                    known error lines of the last two hours
  triage completions bash > ~/.local/share/bash-completion/completions/triage

Exit codes: 0 ok, 1 problems found, 2 could not run (unreadable file, bad arguments).";

/// From \"the site shows 502 / 503 / 504\" to the failing layer, its cause, a fix and a note for
/// support.
#[derive(Debug, Parser)]
#[command(name = "triage", version, about, after_help = EXAMPLES, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Public URL that shows the error; starts the walk-through.
    #[arg(value_name = "URL")]
    pub url: Option<String>,
    /// Runbook to walk: a YAML file or the id of a built-in or user runbook.
    #[arg(long, value_name = "FILE|ID")]
    pub runbook: Option<String>,
    /// Draw with plain ASCII (for terminals without Unicode box drawing).
    #[arg(long)]
    pub ascii: bool,
    /// How long Monitor watches the site after a fix (`30s`, `5m`, `15m`; the runbook's
    /// `monitor_for` input, 5m by default).
    #[arg(long, value_name = "DURATION")]
    pub monitor: Option<String>,
    /// Set a runbook input before the walk starts (`--set origin=203.0.113.7`); repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a URL from outside (probe, fingerprints, DNS, TLS, origin) and print the verdict.
    Check(check::CheckArgs),
    /// Check runbooks for errors (with file, line and column) and warnings.
    Validate(validate::ValidateArgs),
    /// Print a runbook's decision tree as a Mermaid or Graphviz diagram.
    Graph(graph::GraphArgs),
    /// List the built-in runbooks and your own.
    Runbooks(runbooks::RunbooksArgs),
    /// Show the web stack running on this machine: servers, runtimes, databases.
    Stack(stack::StackArgs),
    /// Scan the logs of the incident window for known error signatures.
    Logs(logs::LogsArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// List saved sessions: id, state, started, URL, last step.
    Sessions(sessions::SessionsArgs),
    /// Reopen a saved session where it was (the latest when no id is given).
    Resume(resume::ResumeArgs),
    /// Write a session's incident note as markdown or JSON.
    Export(export::ExportArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  triage completions zsh > \"${fpath[1]}/_triage\"")]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    pub shell: clap_complete::Shell,
}

/// Runs the parsed command line and returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::Check(args)) => check::run(&args),
        Some(Command::Validate(args)) => validate::run(&args),
        Some(Command::Graph(args)) => graph::run(&args),
        Some(Command::Runbooks(args)) => runbooks::run(&args),
        Some(Command::Stack(args)) => stack::run(&args),
        Some(Command::Logs(args)) => logs::run(&args),
        Some(Command::Completions(args)) => completions(&args),
        Some(Command::Sessions(args)) => sessions::run(&args),
        Some(Command::Resume(args)) => resume::run(&args),
        Some(Command::Export(args)) => export::run(&args),
        None => {
            let mut presets = cli.set.clone();
            if let Some(monitor) = &cli.monitor {
                presets.push(format!("monitor_for={monitor}"));
            }
            start::run(cli.url, cli.runbook.as_deref(), cli.ascii, &presets)
        }
    }
}

fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "triage", &mut script);
    stdout(&String::from_utf8_lossy(&script))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a closed pipe (`triage graph | head`) is not an error.
pub fn stdout(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Writes one line to stderr, ignoring failure: there is nowhere left to report it. Messages
/// quote file names, config lines and error texts from outside, so the line is sanitised here,
/// once for every message.
pub fn stderr(line: &str) {
    let line = crate::sanitize::terminal_text(line, true);
    let _ = writeln!(io::stderr().lock(), "{line}");
}
