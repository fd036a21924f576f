//! What an upstreams run amounts to: the facts, the summary and the evidence lines, the first
//! bad target named with the config line that points at it.

use std::collections::BTreeMap;

use super::examine::expected_runtime;
use super::{SPEC, probe};
use crate::contract::evidence::stack::Unseen;
use crate::contract::evidence::upstreams::{UpstreamResult, UpstreamState, Upstreams};
use crate::contract::evidence::web::Address;
use crate::contract::{CheckReport, CheckStatus, Evidence};
use crate::facts::Facts;
use crate::sanitize;

/// Facts, details and the status for what was found.
pub fn report(upstreams: &Upstreams) -> CheckReport {
    let facts = facts(upstreams);
    let faults: Vec<&UpstreamResult> =
        upstreams.results.iter().filter(|r| r.outcome.is_fault() && !r.target.standby).collect();
    let counted: BTreeMap<&str, usize> =
        upstreams.results.iter().fold(BTreeMap::new(), |mut m, r| {
            *m.entry(r.outcome.label()).or_default() += 1;
            m
        });
    let tally: Vec<String> = counted.iter().map(|(label, n)| format!("{n} {label}")).collect();
    let summary = match faults.first() {
        Some(first) => format!(
            "{} {}: {} ({})",
            first.target.address,
            first.outcome.label(),
            first.target.directive,
            first.target.address_at()
        ),
        None if upstreams.results.is_empty() => {
            "the proxy configs name no upstream targets".to_owned()
        }
        None => format!("{} upstream targets: {}", upstreams.results.len(), tally.join(", ")),
    };
    let slow = upstreams.results.iter().any(|r| matches!(r.outcome, UpstreamState::Slow { .. }));
    let status = if !faults.is_empty() {
        CheckStatus::Failed
    } else if slow || !upstreams.unseen.is_empty() {
        CheckStatus::Warning
    } else {
        CheckStatus::Passed
    };
    CheckReport::new(SPEC.id, status, sanitize::line(&summary).into_owned())
        .with_details(details(upstreams))
        .with_facts(facts)
        .with_evidence(Evidence::Upstreams(Box::new(upstreams.clone())))
}

pub fn facts(u: &Upstreams) -> Facts {
    let mut facts = Facts::new();
    let live = || u.results.iter().filter(|r| !r.target.standby);
    let list = |f: &dyn Fn(&UpstreamResult) -> Option<String>| -> Vec<String> {
        live().filter_map(f).take(20).collect()
    };
    let addr = |r: &UpstreamResult| r.target.address.to_string();
    let path = |r: &UpstreamResult| match &r.target.address {
        Address::Unix { path } => path.to_string_lossy().into_owned(),
        other => other.to_string(),
    };
    facts.set("upstream.targets", u.results.iter().map(addr).take(20).collect::<Vec<_>>());
    facts.set(
        "upstream.refused",
        list(&|r| matches!(r.outcome, UpstreamState::Refused).then(|| addr(r))),
    );
    facts.set(
        "upstream.socket_missing",
        list(&|r| matches!(r.outcome, UpstreamState::SocketMissing { .. }).then(|| path(r))),
    );
    facts.set(
        "upstream.socket_permission",
        list(&|r| matches!(r.outcome, UpstreamState::Permission { .. }).then(|| path(r))),
    );
    facts.set(
        "upstream.slow",
        list(&|r| {
            matches!(r.outcome, UpstreamState::Slow { .. })
                .then(|| format!("{} ({} ms)", addr(r), r.ms.unwrap_or(0)))
        }),
    );
    failure_facts(u, &mut facts);
    summary_facts(u, &mut facts);
    facts
}

/// The targets that answered badly or not at all, each with what was wrong.
fn failure_facts(u: &Upstreams, facts: &mut Facts) {
    let live = || u.results.iter().filter(|r| !r.target.standby);
    let list = |f: &dyn Fn(&UpstreamResult) -> Option<String>| -> Vec<String> {
        live().filter_map(f).take(20).collect()
    };
    let addr = |r: &UpstreamResult| r.target.address.to_string();
    facts.set(
        "upstream.no_answer",
        list(&|r| {
            let answer_timeout =
                matches!(&r.outcome, UpstreamState::TimedOut { phase, .. } if phase == "answer");
            (matches!(r.outcome, UpstreamState::NoAnswer) || answer_timeout).then(|| addr(r))
        }),
    );
    facts.set(
        "upstream.timed_out",
        list(&|r| match &r.outcome {
            UpstreamState::TimedOut { phase, limit } => {
                Some(format!("{} ({phase} timed out after {limit})", addr(r)))
            }
            _ => None,
        }),
    );
    facts.set(
        "upstream.unresolved",
        list(&|r| match &r.outcome {
            UpstreamState::Unresolved { detail } => {
                Some(format!("{}: {detail} ({})", r.target.directive, r.target.address_at()))
            }
            _ => None,
        }),
    );
    facts.set(
        "upstream.tls_failed",
        list(&|r| match &r.outcome {
            UpstreamState::TlsFailed { detail } => {
                Some(format!("{}: {detail} ({})", r.target.directive, r.target.address_at()))
            }
            _ => None,
        }),
    );
    facts.set(
        "upstream.closed",
        list(&|r| matches!(r.outcome, UpstreamState::Closed { .. }).then(|| addr(r))),
    );
    facts.set(
        "upstream.erroring",
        list(&|r| match &r.outcome {
            UpstreamState::Erroring { answer } => Some(format!("{} ({answer})", addr(r))),
            _ => None,
        }),
    );
    facts.set(
        "upstream.misconfigured",
        list(&|r| match &r.outcome {
            UpstreamState::Misconfigured { detail } | UpstreamState::Unresolved { detail } => {
                Some(format!("{}: {detail} ({})", r.target.directive, r.target.address_at()))
            }
            UpstreamState::TlsFailed { detail } => Some(format!(
                "{}: the proxy speaks TLS to it, but it {detail} ({})",
                r.target.directive,
                r.target.address_at()
            )),
            _ => None,
        }),
    );
    facts.set(
        "upstream.elsewhere",
        list(&|r| match &r.outcome {
            UpstreamState::PointsElsewhere { runtime, listens } => Some(format!(
                "{} ({}), but {runtime} listens at {}",
                addr(r),
                r.target.address_at(),
                listens.join(", ")
            )),
            _ => None,
        }),
    );
}

/// The counts, the runtimes implied, the first problem and the configs.
pub(super) fn summary_facts(u: &Upstreams, facts: &mut Facts) {
    let live = || u.results.iter().filter(|r| !r.target.standby);
    let healthy = u
        .results
        .iter()
        .filter(|r| matches!(r.outcome, UpstreamState::Healthy { .. } | UpstreamState::Slow { .. }))
        .count();
    facts.set("upstream.healthy", i64::try_from(healthy).unwrap_or(i64::MAX));
    let mut down: Vec<String> = Vec::new();
    for r in live().filter(|r| {
        matches!(r.outcome, UpstreamState::Refused | UpstreamState::SocketMissing { .. })
    }) {
        if let Some(runtime) =
            expected_runtime(&r.target).filter(|rt| !down.iter().any(|d| d == rt))
        {
            down.push(runtime.to_owned());
        }
    }
    facts.set("upstream.runtimes_down", down);
    if let Some(first) = live().find(|r| r.outcome.is_fault()) {
        facts.set(
            "upstream.problem",
            format!("{}: {}", first.target.directive, first.outcome.label()),
        );
        facts.set("upstream.problem_at", first.target.address_at().to_string());
    }
    let maintenance: Vec<String> = u
        .configs
        .iter()
        .flat_map(|c| c.sites.iter())
        .flat_map(|s| s.maintenance.iter())
        .filter(|m| m.active)
        .map(|m| format!("{} ({})", m.rule, m.at))
        .take(20)
        .collect();
    facts.set("upstream.maintenance", maintenance);
    facts.set(
        "upstream.configs",
        u.configs.iter().map(|c| c.main.to_string_lossy().into_owned()).collect::<Vec<_>>(),
    );
    facts.set("upstream.pools", pool_facts(u));
    facts.set(
        "upstream.unseen",
        u.unseen.iter().map(|x| x.what.clone()).take(20).collect::<Vec<_>>(),
    );
}

/// The pools behind the targets: `pool www (www.conf:4): request_terminate_timeout = 1s
/// (www.conf:9), memory_limit = 16M (www.conf:11)`.
fn pool_facts(u: &Upstreams) -> Vec<String> {
    let used: Vec<&str> = u.results.iter().filter_map(|r| r.pool.as_deref()).collect();
    u.fpm
        .iter()
        .flat_map(|c| c.pools.iter())
        .filter_map(|pool| {
            let at = pool.at.as_ref()?;
            let label = format!("{} ({at})", pool.name);
            used.iter().any(|u| u.starts_with(&format!("{} (", pool.name))).then_some(())?;
            let limits: Vec<String> = pool
                .limits
                .iter()
                .map(|l| format!("{} = {} ({})", l.name, l.value, l.at))
                .collect();
            Some(format!(
                "pool {label}: {}",
                if limits.is_empty() {
                    "no request limits set".to_owned()
                } else {
                    limits.join(", ")
                }
            ))
        })
        .take(20)
        .collect()
}

/// One line per target, then the configs, the notes and what could not be seen.
pub fn details(u: &Upstreams) -> Vec<String> {
    let mut lines: Vec<String> = u.results.iter().map(result_line).collect();
    for config in &u.configs {
        let sites = crate::text::count(config.sites.len(), "site", "sites");
        lines.push(format!(
            "{} config {}: {} files read, {sites}",
            config.server.id(),
            config.main.display(),
            config.files.len()
        ));
        for m in config.sites.iter().flat_map(|s| s.maintenance.iter()) {
            let state = if m.active { "on" } else { "off" };
            let flag = m
                .flag_file
                .as_ref()
                .map_or_else(String::new, |f| format!(" when {} exists", f.display()));
            lines.push(format!("maintenance rule {state}: {}{flag} ({})", m.rule, m.at));
        }
    }
    lines.extend(u.notes.iter().cloned());
    lines.extend(u.unseen.iter().map(Unseen::line));
    lines.into_iter().map(|l| sanitize::line(&l).into_owned()).collect()
}

pub(super) fn result_line(r: &UpstreamResult) -> String {
    let standby = if r.target.standby { " (standby)" } else { "" };
    let mut line = format!(
        "{}{standby}: {} ({}, site {})",
        r.outcome.label(),
        r.target.directive,
        r.target.address_at(),
        r.site
    );
    let what = match &r.outcome {
        UpstreamState::Healthy { answer }
        | UpstreamState::Slow { answer }
        | UpstreamState::Erroring { answer } => {
            format!("{answer} in {} ms", r.ms.unwrap_or(0))
        }
        UpstreamState::Refused => format!("nothing listens at {}", r.target.address),
        UpstreamState::SocketMissing { dir_missing: true } => {
            format!("{} does not exist, nor does its directory", r.target.address)
        }
        UpstreamState::SocketMissing { dir_missing: false } => {
            format!("{} does not exist", r.target.address)
        }
        UpstreamState::Permission { detail }
        | UpstreamState::Closed { detail }
        | UpstreamState::Misconfigured { detail }
        | UpstreamState::Unresolved { detail } => detail.clone(),
        UpstreamState::NoAnswer => no_answer(r),
        UpstreamState::TimedOut { phase, limit } => {
            format!("the {phase} took longer than the proxy waits: {limit}")
        }
        UpstreamState::TlsFailed { detail } => {
            format!("the proxy speaks TLS to it, but it {detail}")
        }
        UpstreamState::PointsElsewhere { runtime, listens } => {
            format!("{runtime} runs but listens at {}", listens.join(", "))
        }
        UpstreamState::NotChecked { reason } => reason.clone(),
        UpstreamState::Unseen { reason, instead } => {
            format!("could not see {reason}: run `{instead}`")
        }
    };
    line.push_str(&format!(": {what}"));
    if let Some(pool) = &r.pool {
        line.push_str(&format!(" (PHP-FPM pool {pool})"));
    }
    if let Some(holder) = &r.held_by {
        line.push_str(&format!(" [{holder}]"));
    }
    if !r.also_at.is_empty() {
        let more: Vec<String> = r.also_at.iter().take(3).map(ToString::to_string).collect();
        line.push_str(&format!("; also at {}", more.join(", ")));
    }
    line
}

/// A target that did not answer in time, with how long the proxy itself waits.
fn no_answer(r: &UpstreamResult) -> String {
    let secs = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
    let waited = r.waited_ms.unwrap_or(probe::ANSWER_LIMIT.as_millis() as u64);
    match r.timeout_ms {
        Some(t) => format!(
            "accepted the connection but did not answer within {} (the proxy waits {})",
            secs(waited),
            secs(t)
        ),
        None => format!("accepted the connection but did not answer within {}", secs(waited)),
    }
}
