//! The facts of one hop: the same keys the checks report (`upstream.refused`, `logs.causes`,
//! `stack.units_down`…), but holding only what belongs to that hop — its own upstream's probe,
//! the log lines attributed to it, its own service. The rules then run on each hop apart, so
//! another site's failing upstream or log lines can never become this incident's finding.

use crate::checks::{stack, upstreams};
use crate::contract::evidence::logs::LineGroup;
use crate::contract::evidence::stack::Stack;
use crate::contract::evidence::upstreams::Upstreams;
use crate::facts::Facts;

use super::path::{Hop, Role};

/// The most log lines' signatures or causes a hop's facts list.
const MAX_LIST: usize = 20;

/// What one run gathered, for scoping.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gathered<'g> {
    pub upstreams: Option<&'g Upstreams>,
    pub stack: Option<&'g Stack>,
    /// The database check's facts (`db.*`), for the database hop.
    pub database: Option<&'g Facts>,
}

/// The facts of hop `hop`, with the log groups that belong to it.
pub fn hop_facts(hop: &Hop, gathered: &Gathered<'_>, groups: &[&LineGroup]) -> Facts {
    let mut facts = Facts::new();
    if let Some(upstreams) = gathered.upstreams {
        facts.merge(&upstream_facts(hop, upstreams));
    }
    if let (Some(stack), Some(service)) = (gathered.stack, hop.key.service.as_deref()) {
        facts.merge(&service_facts(stack, service));
    }
    if let Some(db) = gathered.database.filter(|_| hop.role == Role::Database) {
        facts.merge(db);
    }
    facts.merge(&log_facts(groups));
    facts
}

/// The upstreams check's facts for this hop's own upstream only, and for a proxy hop its own
/// site's maintenance rules.
fn upstream_facts(hop: &Hop, upstreams: &Upstreams) -> Facts {
    let results =
        hop.key.result.and_then(|i| upstreams.results.get(i)).cloned().into_iter().collect();
    let configs = hop
        .key
        .config
        .and_then(|(c, s)| {
            let config = upstreams.configs.get(c)?;
            let mut only = config.clone();
            only.sites = config.sites.get(s).cloned().into_iter().collect();
            Some(only)
        })
        .into_iter()
        .collect();
    let scoped =
        Upstreams { configs, fpm: Vec::new(), results, unseen: Vec::new(), notes: Vec::new() };
    let mut facts = upstreams::report::facts(&scoped);
    if scoped.results.is_empty() {
        // No probe of this hop: an empty list would read as "nothing wrong".
        for key in ["upstream.targets", "upstream.healthy"] {
            facts.remove(key);
        }
    }
    facts
}

/// The stack check's facts for one service: whether it runs, its units.
fn service_facts(stack: &Stack, service: &str) -> Facts {
    let only = Stack {
        services: stack.services.iter().filter(|s| s.id == service).cloned().collect(),
        not_running: stack.not_running.iter().filter(|s| *s == service).cloned().collect(),
        systemd: scoped_units(stack, service),
        unattributed: Vec::new(),
        unseen: Vec::new(),
    };
    let mut facts = stack::facts(&only);
    facts.remove("stack.web_servers");
    facts.remove("stack.databases");
    facts
}

fn scoped_units(stack: &Stack, service: &str) -> crate::contract::evidence::stack::Systemd {
    use crate::contract::evidence::stack::Systemd;
    let spec = crate::knowledge::services::table().get(service);
    match &stack.systemd {
        Systemd::Running { units } => Systemd::Running {
            units: units
                .iter()
                .filter(|u| spec.is_some_and(|s| s.matches_unit(&u.name)))
                .cloned()
                .collect(),
        },
        skipped @ Systemd::Skipped { .. } => skipped.clone(),
    }
}

/// The logs check's facts, from the line groups that belong to this hop only: causes first,
/// busiest first.
pub fn log_facts(groups: &[&LineGroup]) -> Facts {
    let mut facts = Facts::new();
    if groups.is_empty() {
        return facts;
    }
    let mut ranked: Vec<&&LineGroup> = groups.iter().collect();
    ranked.sort_by_key(|g| (g.cause.is_none(), std::cmp::Reverse(g.count)));
    let mut signatures: Vec<String> = Vec::new();
    let mut causes: Vec<String> = Vec::new();
    for group in &ranked {
        push_once(&mut signatures, &group.signature);
        if let Some(cause) = &group.cause {
            push_once(&mut causes, cause);
        }
    }
    signatures.truncate(MAX_LIST);
    causes.truncate(MAX_LIST);
    facts.set("logs.signatures", signatures);
    facts.set("logs.causes", causes);
    let lines: u64 = groups.iter().map(|g| g.count).sum();
    facts.set("logs.matches", i64::try_from(lines).unwrap_or(i64::MAX));
    if let Some(first) = ranked.first() {
        facts.set("logs.first_line", first.line.clone());
    }
    facts
}

fn push_once(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|i| i == item) {
        list.push(item.to_owned());
    }
}
