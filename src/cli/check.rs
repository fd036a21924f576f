//! `triage check URL`: every automatic check that applies, run at once without a terminal UI,
//! then the evidence and the verdict in a few lines — or one JSON object (docs/check-json.md).
//! Exit 0 healthy, 1 error confirmed, 2 could not check. Everything printed is sanitised, and
//! everything in the JSON is redacted as well.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;
use serde_json::{Value, json};

use crate::checks::registry::{self, Incident};
use crate::contract::evidence::http::{Probe, Timings};
use crate::contract::evidence::origin::Side;
use crate::contract::{CheckReport, CheckStatus, Evidence};
use crate::diagnosis::{Diagnosis, Rules, diagnose};
use crate::engine::{self, Limits};
use crate::facts::{FactValue, Facts};
use crate::site::SiteUrl;
use crate::system::{System, proxy, stack};
use crate::text::wrap;
use crate::{redact, sanitize};

/// How long the runtime waits for blocking work left behind once the checks have reported.
pub const SHUTDOWN: std::time::Duration = std::time::Duration::from_millis(500);

/// The version of the `--json` schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

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
    pub facts: Facts,
    pub diagnosis: Diagnosis,
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
    let outcome = CheckRun::new(site.shown(), reports)?;
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
    pub fn new(url: String, reports: Vec<CheckReport>) -> anyhow::Result<CheckRun> {
        let mut facts = Facts::new();
        for report in &reports {
            facts.merge(&report.facts);
        }
        let rules = Rules::builtin()
            .map_err(|e| anyhow::anyhow!("the built-in diagnosis rules are broken:\n{e}"))?;
        let diagnosis = diagnose(&rules, &facts);
        let health = health(&reports, &facts);
        Ok(CheckRun { url, reports, facts, diagnosis, health })
    }

    fn report(&self, check: &str) -> Option<&CheckReport> {
        self.reports.iter().find(|r| r.check == check)
    }
}

fn health(reports: &[CheckReport], facts: &Facts) -> Health {
    let probe = reports.iter().find(|r| r.check == "http_probe");
    match probe.map(|r| &r.status) {
        None | Some(CheckStatus::CouldNotRun { .. } | CheckStatus::TimedOut { .. }) => {
            Health::CouldNotCheck
        }
        Some(_) => {
            let errors = facts.get("http.error_probes").and_then(FactValue::as_int).unwrap_or(0);
            let status = facts.get("http.status").and_then(FactValue::as_int).unwrap_or(0);
            if errors > 0 || status >= 400 { Health::Error } else { Health::Healthy }
        }
    }
}

struct Paint(bool);

impl Paint {
    fn paint(&self, text: &str, code: &str) -> String {
        if self.0 { format!("\u{1b}[{code}m{text}\u{1b}[0m") } else { text.to_owned() }
    }
}

/// The text for a terminal or a log: a headline, each check's summary (with the evidence
/// lines of the probe, the comparison and any check that failed), then the verdict.
pub fn to_text(outcome: &CheckRun, colour: bool) -> String {
    let paint = Paint(colour);
    let clean = |s: &str| sanitize::line(&redact::text(s)).into_owned();
    let mut out = format!("{}\n", paint.paint(&clean(&outcome.url), "1"));
    for report in &outcome.reports {
        let (mark, code) = match report.status {
            CheckStatus::Passed => ("ok", "32"),
            CheckStatus::Warning => ("!!", "33"),
            CheckStatus::Failed => ("XX", "31"),
            CheckStatus::CouldNotRun { .. } | CheckStatus::TimedOut { .. } => ("??", "2"),
        };
        let title =
            crate::checks::registry::spec(&report.check).map_or(report.check.as_str(), |s| s.title);
        let line = wrap(&format!("{title}: {}", clean(&report.summary)), 76, "    ");
        out.push_str(&format!(" {} {line}\n", paint.paint(mark, code)));
        let full = matches!(report.check.as_str(), "http_probe" | "origin")
            || report.status == CheckStatus::Failed;
        if full {
            for line in &report.details {
                out.push_str(&format!("    {}\n", detail_line(&clean(line))));
            }
        }
    }
    out.push_str(&verdict_text(outcome, &paint, &clean));
    out
}

fn verdict_text(outcome: &CheckRun, paint: &Paint, clean: &dyn Fn(&str) -> String) -> String {
    let v = &outcome.diagnosis.verdict;
    let layer = v.layer.map_or("no single layer".to_owned(), |l| l.label().to_owned());
    let code = match outcome.health {
        Health::Healthy => "32;1",
        Health::Error => "31;1",
        Health::CouldNotCheck => "33;1",
    };
    let head = format!("verdict: {} at {layer} ({} confidence)", v.cause, v.confidence.label());
    let mut out =
        format!("{}\n  {}\n", paint.paint(&head, code), wrap(&clean(&v.summary), 78, "  "));
    if let Some(step) = &v.step {
        out.push_str(&format!("  next: the runbook step `{step}`\n"));
    }
    // Findings that say something the verdict does not: other causes and observations.
    let others: Vec<&str> = outcome
        .diagnosis
        .findings
        .iter()
        .filter(|f| f.cause.as_ref() != Some(&v.cause))
        .map(|f| f.summary.as_str())
        .collect();
    for summary in others.iter().take(5) {
        out.push_str(&format!("  also: {}\n", wrap(&clean(summary), 72, "        ")));
    }
    out
}

/// An evidence line under its check: kept as it is when it fits (its spacing may align a table),
/// else wrapped with a hanging indent so the output stays within 80 columns.
fn detail_line(line: &str) -> String {
    if line.chars().count() <= 76 {
        return line.to_owned();
    }
    wrap(&line.split_whitespace().collect::<Vec<_>>().join(" "), 76, "      ")
}

/// The `--json` document (docs/check-json.md), every string sanitised and redacted.
pub fn to_json(outcome: &CheckRun) -> String {
    let mut value = json_value(outcome);
    clean_strings(&mut value);
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".to_owned());
    text.push('\n');
    text
}

fn json_value(outcome: &CheckRun) -> Value {
    let http = outcome.report("http_probe").and_then(|r| match &r.evidence {
        Evidence::Http(e) => Some(e.as_ref()),
        _ => None,
    });
    let rep = http.and_then(|e| e.representative());
    let fp = http.and_then(|e| e.fingerprint.as_ref());
    json!({
        "schema_version": SCHEMA_VERSION,
        "triage_version": env!("CARGO_PKG_VERSION"),
        "url": outcome.url,
        "final_url": rep.map(|p| p.final_url.clone()),
        "status": outcome.facts.get("http.status").and_then(FactValue::as_int),
        "health": match outcome.health { Health::Healthy => "healthy", Health::Error => "error", Health::CouldNotCheck => "could_not_check" },
        "exit_code": outcome.health.code(),
        "probes": http.map(|e| e.probes.iter().map(probe_json).collect::<Vec<_>>()).unwrap_or_default(),
        "timings_ms": rep.map(|p| timings_json(&p.timings)),
        "redirects": rep.map(|p| p.redirects.clone()).unwrap_or_default(),
        "headers": rep.map(|p| p.headers.iter().map(|(n, v)| json!({"name": n, "value": v})).collect::<Vec<_>>()).unwrap_or_default(),
        "body_excerpt": rep.map(|p| p.body_excerpt.clone()),
        "generated_by": fp.map(|f| json!({
            "layer": f.layer,
            "vendor": f.vendor,
            "vendor_name": f.vendor_name,
            "generated": f.generated,
            "code": f.code,
            "meaning": f.meaning,
            "cause": f.cause,
            "confidence": f.confidence,
            "evidence": f.evidence,
        })),
        "path": fp.map(|f| f.path.clone()).unwrap_or_default(),
        "cdn": fp.and_then(|f| f.cdn.clone()),
        "maintenance": fp.is_some_and(|f| f.maintenance),
        "retry_after": fp.and_then(|f| f.retry_after.clone()),
        "request_ids": fp.map(|f| f.request_ids.clone()).unwrap_or_default(),
        "dns": evidence_of(outcome, "dns"),
        "tls": evidence_of(outcome, "tls"),
        "origin": origin_json(outcome),
        "checks": outcome.reports.iter().map(check_json).collect::<Vec<_>>(),
        "findings": outcome.diagnosis.findings.iter().map(|f| json!({
            "id": f.id, "layer": f.layer, "cause": f.cause, "severity": f.severity,
            "confidence": f.confidence, "summary": f.summary, "evidence": f.evidence, "step": f.step,
        })).collect::<Vec<_>>(),
        "verdict": {
            "layer": outcome.diagnosis.verdict.layer,
            "cause": outcome.diagnosis.verdict.cause,
            "confidence": outcome.diagnosis.verdict.confidence,
            "summary": outcome.diagnosis.verdict.summary,
            "reasons": outcome.diagnosis.verdict.reasons,
            "step": outcome.diagnosis.verdict.step,
        },
    })
}

fn probe_json(p: &Probe) -> Value {
    json!({
        "status": p.status,
        "failure": p.failure,
        "version": p.version,
        "remote_addr": p.remote_addr,
        "timings_ms": timings_json(&p.timings),
        "redirects": p.redirects.len(),
    })
}

fn timings_json(t: &Timings) -> Value {
    json!({ "dns": t.dns_ms, "connect": t.connect_ms, "tls": t.tls_ms, "ttfb": t.ttfb_ms, "total": t.total_ms })
}

fn evidence_of(outcome: &CheckRun, check: &str) -> Value {
    match outcome.report(check).map(|r| &r.evidence) {
        Some(Evidence::Dns(answers)) => serde_json::to_value(answers).unwrap_or(Value::Null),
        Some(Evidence::Tls(cert)) => serde_json::to_value(cert).unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn origin_json(outcome: &CheckRun) -> Value {
    let Some(Evidence::Origin(c)) = outcome.report("origin").map(|r| &r.evidence) else {
        return Value::Null;
    };
    let side = |s: &Side| {
        json!({
            "status": s.probe.status,
            "failure": s.probe.failure,
            "answered_by": s.answered_by(),
            "generated_by": s.fingerprint.as_ref().map(|f| json!({
                "layer": f.layer, "vendor": f.vendor, "generated": f.generated, "code": f.code,
            })),
            "timings_ms": timings_json(&s.probe.timings),
            "certificate": s.probe.certificate,
        })
    };
    json!({
        "address": c.address,
        "edge": side(&c.edge),
        "origin": side(&c.origin),
        "matches_edge": c.edge.probe.status.is_some() && c.edge.probe.status == c.origin.probe.status,
    })
}

fn check_json(r: &CheckReport) -> Value {
    let reason = match &r.status {
        CheckStatus::CouldNotRun { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    json!({
        "check": r.check,
        "status": r.status.label().replace(' ', "_"),
        "summary": r.summary,
        "reason": reason,
        "details": r.details,
        "facts": r.facts,
        "elapsed_ms": r.elapsed_ms,
    })
}

/// Every string in the document, sanitised (newlines kept) and with secrets redacted.
fn clean_strings(value: &mut Value) {
    match value {
        Value::String(s) => {
            let clean = sanitize::terminal_text(&redact::text(s), true).into_owned();
            *s = clean;
        }
        Value::Array(items) => items.iter_mut().for_each(clean_strings),
        Value::Object(map) => map.values_mut().for_each(clean_strings),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cleaned_everywhere() {
        let mut v = json!({"a": ["x\u{1b}[2Jy", {"b": "https://x.test/?token=abc"}]});
        clean_strings(&mut v);
        assert_eq!(v, json!({"a": ["xy", {"b": "https://x.test/?token=[redacted]"}]}));
    }

    #[test]
    fn a_probe_that_could_not_run_means_could_not_check() {
        let report = CheckReport::could_not_run("http_probe", "bad", None);
        assert_eq!(health(&[report], &Facts::new()), Health::CouldNotCheck);
        assert_eq!(health(&[], &Facts::new()), Health::CouldNotCheck);
    }
}
