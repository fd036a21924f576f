//! `triage logs [FILE...] [--since 30m] [--json]`: the `logs` check from the command line —
//! classified log evidence of the incident window. Read-only; every line it prints is
//! sanitised, and the JSON is redacted like every export.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::site::SiteUrl;

use super::stdout;
use crate::checks::logs::{self, Params, time::Clock};
use crate::contract::{CheckReport, CheckStatus, Progress};
use crate::sanitize;

#[derive(Debug, Args)]
#[command(after_help = "\
Without FILE, reads the logs the web server's configs name, the usual places (nginx, Apache,
HAProxy, PHP-FPM, MySQL/MariaDB, PostgreSQL, syslog) and the systemd journal.

Examples:
  triage logs                                  the last 30 minutes of every log found
  triage logs --since 2h /var/log/nginx/error.log
  sudo triage logs --json > logs.json          as root, to read every log

Exit codes: 0 nothing found, 1 signatures matched (or something could not be read),
2 could not run.")]
pub struct LogsArgs {
    /// Logs to read instead of the discovered ones (rotated siblings are read too when the
    /// window reaches them).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// How far back to read, by the lines' own timestamps: 30m, 2h, 1d, or `all` for whole
    /// files.
    #[arg(long, value_name = "WINDOW", default_value = logs::DEFAULT_SINCE)]
    pub since: String,
    /// Print the full report (facts and typed evidence) as JSON.
    #[arg(long)]
    pub json: bool,
    /// The site under investigation: its lines come first and its access logs are counted per
    /// minute (when the running servers' configs name them).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

pub fn run(args: &LogsArgs) -> anyhow::Result<ExitCode> {
    let since_minutes = logs::parse_since(&args.since).map_err(anyhow::Error::msg)?;
    let url = args.url.as_deref().map(SiteUrl::parse).transpose()?;
    let params = Params {
        since_minutes,
        files: args.files.clone(),
        config_logs: Vec::new(),
        time_limit: None,
        site: url.as_ref().map(SiteUrl::host_header),
        access_logs: Vec::new(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let json = args.json;
    let (status, output) = runtime.block_on(async move {
        let report = logs::run_discovered(params, url, Clock::system(), Progress::none()).await;
        // Rendered on the blocking pool, which hands it to an idle thread: with files named,
        // the one that scanned, whose redaction caches are warm from the scan's lines. On this
        // thread they would be built again: 3 M instructions, three quarters of what this
        // thread did in a window run (docs/benchmarks.md).
        tokio::task::spawn_blocking(move || (report.status.clone(), render(&report, json))).await
    })?;
    runtime.shutdown_timeout(super::check::SHUTDOWN);
    stdout(&output?)?;
    Ok(exit_code(&status))
}

/// The report as `--json` or for a terminal, redacted on the way out.
fn render(report: &CheckReport, json: bool) -> anyhow::Result<String> {
    if !json {
        return Ok(human(report));
    }
    let mut json = serde_json::to_value(report)?;
    crate::redact::json_value(&mut json);
    Ok(format!("{}\n", serde_json::to_string_pretty(&json)?))
}

/// The report for a terminal: the summary, then the evidence lines.
pub fn human(report: &CheckReport) -> String {
    let summary = sanitize::line(&report.summary);
    let mut out = match &report.status {
        CheckStatus::CouldNotRun { instead, .. } => {
            let instead =
                instead.as_deref().map(|i| format!("  instead, run: {}\n", sanitize::line(i)));
            format!("{summary}\n{}", instead.unwrap_or_default())
        }
        status => format!("{}: {summary}\n", status.label()),
    };
    for line in &report.details {
        out.push_str(&format!("  {}\n", sanitize::line(&crate::redact::text(line))));
    }
    out
}

fn exit_code(status: &CheckStatus) -> ExitCode {
    match status {
        CheckStatus::Passed => ExitCode::SUCCESS,
        CheckStatus::Warning | CheckStatus::Failed => ExitCode::from(1),
        CheckStatus::CouldNotRun { .. } | CheckStatus::TimedOut { .. } => ExitCode::from(2),
    }
}
