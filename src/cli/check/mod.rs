//! `triage check URL`: every automatic check that applies, run at once without a terminal UI,
//! then the evidence and the verdict in a few lines — or one JSON object (docs/check-json.md).
//! Exit 0 healthy, 1 error confirmed, 2 could not check. Everything printed is sanitised, and
//! everything in the JSON is redacted as well.

mod json;
mod text;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;

use crate::checks::registry::{self, Incident};
use crate::contract::{CheckReport, CheckStatus};
use crate::diagnosis::{self, Assessment, Rules, Timing};
use crate::engine::{self, Limits};
use crate::site::SiteUrl;
use crate::system::{System, proxy, stack};

/// How long the runtime waits for blocking work left behind once the checks have reported.
pub const SHUTDOWN: std::time::Duration = std::time::Duration::from_millis(500);

/// The version of the `--json` schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  triage check https://shop.example.com/
  triage check https://shop.example.com/ --origin 203.0.113.7
  triage check https://shop.example.com/ --count 10 --json | jq .verdict

Exit codes: 0 the site is healthy, 1 an error is confirmed, 2 could not check.")]
pub struct CheckArgs {
    /// The public URL that shows the error.
    #[arg(value_name = "URL")]
    pub url: String,
    /// The origin server's own address, to compare with the edge (IP[:PORT] or host[:PORT]).
    #[arg(long, value_name = "ADDR")]
    pub origin: Option<String>,
    /// How many probes of the URL, sent at once (1-20).
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u8).range(1..=20))]
    pub count: u8,
    /// Print one JSON object (schema in docs/check-json.md) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Look from outside only: skip the checks of this machine.
    #[arg(long)]
    pub no_local: bool,
    /// The incident window for the log scan and OOM kills: 30m, 2h, 1d.
    #[arg(long, value_name = "WINDOW", default_value = "30m")]
    pub since: String,
    /// The site's directory (wp-config.php, .env, git checkout); found from the web server's
    /// config when not given.
    #[arg(long, value_name = "DIR")]
    pub site_root: Option<String>,
    /// Follow redirects to internal addresses too: link-local and cloud metadata addresses,
    /// and private or loopback ones when the URL itself is public. By default they are
    /// reported and not followed.
    #[arg(long)]
    pub follow_internal_redirects: bool,
}

/// How the run ended, as the exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Healthy,
    Error,
    CouldNotCheck,
}

impl Health {
    pub fn code(self) -> u8 {
        match self {
            Health::Healthy => 0,
            Health::Error => 1,
            Health::CouldNotCheck => 2,
        }
    }
}

/// Everything one run found.
#[derive(Debug, Clone)]
pub struct CheckRun {
    pub url: String,
    pub reports: Vec<CheckReport>,
    /// The one assessment (`diagnosis::assess`), as the TUI and the exports make it.
    pub assessment: Assessment,
    pub health: Health,
}

pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let site = match SiteUrl::parse(&args.url) {
        Ok(site) => site,
        Err(reason) => {
            super::stderr(&format!("error: {reason}"));
            return Ok(ExitCode::from(2));
        }
    };
    let incident = incident(&site, args);
    if !args.no_local && !incident.local_stack && !args.json {
        super::stderr(
            "no web server, runtime or database runs on this machine: looking from outside only",
        );
    }
    if !args.json && std::io::stderr().is_terminal() {
        super::stderr(&format!("checking {} …", site.shown()));
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let mut plan = registry::plan(&incident);
    if args.follow_internal_redirects {
        plan = plan.into_iter().map(follow_internal).collect();
    }
    let reports =
        runtime.block_on(engine::run_all(plan, Limits::default(), engine::real_runner(), |_| {}));
    // Every check has ended or timed out; a blocking read still stuck in the kernel (a FIFO, a
    // hung NFS mount) must not hold the exit, as dropping the runtime would.
    runtime.shutdown_timeout(SHUTDOWN);
    let outcome = CheckRun::new(&site, reports)?;
    let text = if args.json { to_json(&outcome) } else { to_text(&outcome, colour()) };
    super::stdout(&text)?;
    Ok(ExitCode::from(outcome.health.code()))
}

/// The probe's request with redirects to internal addresses allowed.
fn follow_internal(request: crate::contract::CheckRequest) -> crate::contract::CheckRequest {
    if request.check == crate::checks::http::SPEC.id {
        request.with(crate::checks::http::FOLLOW_INTERNAL, "yes")
    } else {
        request
    }
}

/// What the command line says of the incident. The checks of this machine join the outside
/// ones unless `--no-local` is given, when a web server, runtime or database runs here;
/// discovery reads /proc and the configs once more than the checks themselves will (it takes
/// milliseconds), and finds the site's root in the config that serves the URL.
fn incident(site: &SiteUrl, args: &CheckArgs) -> Incident {
    let mut incident = Incident {
        url: site.to_string(),
        host: site.host().to_owned(),
        https: site.is_https(),
        count: Some(args.count),
        origin: args.origin.clone(),
        since: Some(args.since.clone()),
        site_root: args.site_root.clone(),
        local_stack: false,
    };
    if args.no_local {
        return incident;
    }
    let system = System::from_env();
    if let Some(stack) = stack::discover(&system).ok().filter(|s| !s.services.is_empty()) {
        incident.local_stack = true;
        if incident.site_root.is_none() {
            incident.site_root = proxy::site_root_for(&system, &stack, site);
        }
    }
    incident
}

fn colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

impl CheckRun {
    pub fn new(site: &SiteUrl, reports: Vec<CheckReport>) -> anyhow::Result<CheckRun> {
        let rules = Rules::builtin()
            .map_err(|e| anyhow::anyhow!("the built-in diagnosis rules are broken:\n{e}"))?;
        let refs: Vec<&CheckReport> = reports.iter().collect();
        let assessment = diagnosis::assess(&rules, Some(site), &refs);
        let health = health(&reports, &assessment);
        Ok(CheckRun { url: site.shown(), reports, assessment, health })
    }

    fn report(&self, check: &str) -> Option<&CheckReport> {
        self.reports.iter().find(|r| r.check == check)
    }
}

/// An error confirmed: a probe failed, or the site's logs show errors of the last minutes.
fn health(reports: &[CheckReport], assessment: &Assessment) -> Health {
    let probe = reports.iter().find(|r| r.check == "http_probe");
    match probe.map(|r| &r.status) {
        None | Some(CheckStatus::CouldNotRun { .. } | CheckStatus::TimedOut { .. }) => {
            Health::CouldNotCheck
        }
        Some(_) if assessment.seen.is_some() => Health::Error,
        Some(_) if assessment.verdict.timing == Timing::Intermittent => Health::Error,
        Some(_) => Health::Healthy,
    }
}

pub use json::to_json;
pub use text::to_text;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_that_could_not_run_means_could_not_check() {
        let report = CheckReport::could_not_run("http_probe", "bad", None);
        let rules = Rules::builtin().unwrap();
        let assessment = diagnosis::assess(&rules, None, &[&report]);
        assert_eq!(health(std::slice::from_ref(&report), &assessment), Health::CouldNotCheck);
        assert_eq!(health(&[], &assessment), Health::CouldNotCheck);
    }
}
