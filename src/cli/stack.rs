//! `triage stack`: what runs on this machine — web servers, app runtimes, databases — with
//! users, configs, listening sockets and systemd units, and what an unprivileged run could not
//! see. Plain text for people, `--json` for scripts; both pass through sanitising and redaction.

use std::process::ExitCode;

use clap::Args;

use super::{stderr, stdout};
use crate::contract::evidence::stack::{ConfigSource, Service, Stack, Systemd};
use crate::system::{System, stack};
use crate::{redact, sanitize};

#[derive(Debug, Args)]
#[command(
    after_help = "Run it with sudo to see the sockets and units of other users' processes.\nTRIAGE_ROOT=DIR reads DIR/proc, DIR/etc, … instead (a copy of a server's files)."
)]
pub struct StackArgs {
    /// Print the discovered stack as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &StackArgs) -> anyhow::Result<ExitCode> {
    let stack = match stack::discover(&System::from_env()) {
        Ok(stack) => stack,
        Err(reason) => {
            stderr(&format!("triage: {}", sanitize::line(&reason)));
            return Ok(ExitCode::from(2));
        }
    };
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&stack)?)
    } else {
        render(&stack)
    };
    stdout(&redact::text(&text))?;
    Ok(ExitCode::SUCCESS)
}

/// The stack for people: one block per service, then what is not running and what was not seen.
pub fn render(stack: &Stack) -> String {
    let mut out = String::new();
    if stack.services.is_empty() {
        out.push_str("No web server, app runtime or database process found.\n");
    }
    for s in &stack.services {
        out.push_str(&service_block(s));
    }
    for id in &stack.not_running {
        out.push_str(&format!("{id:<11} installed, not running\n"));
    }
    match &stack.systemd {
        Systemd::Skipped { reason } => out.push_str(&format!("\n{reason}\n")),
        Systemd::Running { .. } => {
            let down: Vec<String> =
                stack.units_down().iter().map(|u| format!("{} ({})", u.name, u.active)).collect();
            if !down.is_empty() {
                out.push_str(&format!("\nUnits down: {}\n", down.join(", ")));
            }
        }
    }
    if !stack.unattributed.is_empty() {
        let addrs: Vec<&str> = stack.unattributed.iter().map(|l| l.address.as_str()).collect();
        out.push_str(&format!("Listening, holder not visible: {}\n", addrs.join(", ")));
    }
    for unseen in &stack.unseen {
        out.push_str(&format!("{}\n", unseen.line()));
    }
    sanitize::terminal_text(&out, true).into_owned()
}

fn service_block(s: &Service) -> String {
    let mut out = format!(
        "{:<11} pid {} ({}), user {}\n",
        s.id,
        s.master,
        crate::text::count(s.process_count, "process", "processes"),
        s.users.join(", ")
    );
    if let Some(config) = &s.config {
        let from = match config.source {
            ConfigSource::CommandLine => "from the command line",
            ConfigSource::Default => "distribution default",
        };
        out.push_str(&format!("{:<11} config {} ({from})\n", "", config.path));
    }
    if !s.listening.is_empty() {
        let addrs: Vec<&str> = s.listening.iter().map(|l| l.address.as_str()).collect();
        out.push_str(&format!("{:<11} listens {}\n", "", addrs.join(", ")));
    }
    if let Some(unit) = &s.unit {
        let state = if unit.active.is_empty() {
            String::new()
        } else {
            format!(" ({}/{})", unit.active, unit.sub)
        };
        out.push_str(&format!("{:<11} unit {}{state}\n", "", unit.name));
    }
    out
}
