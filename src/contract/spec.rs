//! A check's declaration: its id, title, parameters, the facts it produces and its time limit.
//! Every check declares one `SPEC` beside its code; the registry (`checks::registry`) lists them,
//! the runbook validator reads them to reject unknown check ids and conditions on facts no check
//! produces, and each check's tests assert it emits only the facts it declares.

use std::time::Duration;

use crate::contract::CheckReport;
use crate::facts::{FactKind, FactValue};

/// One automatic check, as a runbook may call it.
#[derive(Debug, Clone, Copy)]
pub struct CheckSpec {
    pub id: &'static str,
    pub title: &'static str,
    /// Outside checks look at the site over the network; local ones read this machine.
    pub scope: Scope,
    /// When `triage check` runs it for a site, without a runbook to say so.
    pub applies: Applies,
    pub params: &'static [ParamSpec],
    pub produces: &'static [FactSpec],
    /// The longest a run may take before the engine stops it and reports a timeout.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Outside,
    Local,
}

/// When a check applies to a site, for a front end that plans the checks itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applies {
    Always,
    /// Only for an https URL.
    Https,
    /// Only when the origin's own address is known.
    WithOrigin,
    /// Only when a web server, runtime or database runs on this machine.
    LocalStack,
}

#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub required: bool,
    pub doc: &'static str,
    /// What the incident supplies for it when the front end plans the run.
    pub from: Option<Input>,
}

/// What a front end knows about the incident, to fill a check's parameters from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The site's URL.
    Url,
    /// The URL's host.
    Host,
    /// How many probes.
    Count,
    /// The origin's own address.
    Origin,
    /// The incident window (`30m`).
    Since,
    /// The site's directory.
    SiteRoot,
}

#[derive(Debug, Clone, Copy)]
pub struct FactSpec {
    pub key: &'static str,
    pub kind: FactKind,
    pub doc: &'static str,
}

/// A parameter the incident does not fill.
pub const fn param(name: &'static str, required: bool, doc: &'static str) -> ParamSpec {
    ParamSpec { name, required, doc, from: None }
}

/// A parameter filled from what the incident supplies.
pub const fn input(
    name: &'static str,
    required: bool,
    from: Input,
    doc: &'static str,
) -> ParamSpec {
    ParamSpec { name, required, doc, from: Some(from) }
}

pub const fn fact(key: &'static str, kind: FactKind, doc: &'static str) -> FactSpec {
    FactSpec { key, kind, doc }
}

/// Facts the diagnosis produces from all the evidence, whatever checks ran.
pub const VERDICT_FACTS: &[FactSpec] = &[
    fact("verdict.layer", FactKind::Text, "the layer that best explains the error"),
    fact("verdict.cause", FactKind::Text, "the cause id that best explains the error"),
    fact("verdict.confidence", FactKind::Text, "high, medium or low"),
    fact("findings", FactKind::List, "ids of every finding"),
];

/// Facts the walk derives from everything recorded: what the checks found, in the form a
/// command needs (`found.*`), and what monitoring after a fix saw (`watch.*`).
pub const WALK_FACTS: &[FactSpec] = &[
    fact("found.family", FactKind::Text, "the Linux family: debian or rhel"),
    fact("found.php_version", FactKind::Text, "the PHP version of PHP-FPM: 8.2"),
    fact("found.php_unit", FactKind::Text, "PHP-FPM's systemd unit: php8.2-fpm, php-fpm"),
    fact(
        "found.pool_file",
        FactKind::Text,
        "the PHP-FPM pool file that defines the socket or port",
    ),
    fact("found.socket", FactKind::Text, "the unix socket the proxy sends requests to"),
    fact(
        "found.runtime",
        FactKind::Text,
        "the runtime the proxy's upstream implies: php-fpm for FastCGI or a PHP socket",
    ),
    fact("found.site_config", FactKind::Text, "the proxy config file of the site's upstream"),
    fact("found.site_config_line", FactKind::Text, "the line of that upstream directive"),
    fact("found.error_log", FactKind::Text, "the web server's error log for the site"),
    fact("found.access_log", FactKind::Text, "the web server's access log for the site"),
    fact(
        "found.web_server",
        FactKind::Text,
        "the web server's systemd unit: nginx, apache2, httpd",
    ),
    fact("found.web_user", FactKind::Text, "the user the web server's workers run as"),
    fact("found.site_root", FactKind::Text, "the site's document root from its config"),
    fact("found.database_unit", FactKind::Text, "the database's systemd unit"),
    fact("found.database_kind", FactKind::Text, "mysql or postgresql"),
    fact("watch.probes", FactKind::Int, "probes made while monitoring"),
    fact("watch.errors", FactKind::Int, "of those, 5xx answers or no answer"),
    fact(
        "watch.log_errors",
        FactKind::Int,
        "new error lines of the site in the logs since monitoring began",
    ),
    fact("watch.done", FactKind::Bool, "the monitoring window has passed"),
    fact("watch.minutes", FactKind::Int, "minutes watched so far"),
];

/// Most items a list fact may hold: facts stay small, the evidence holds the rest.
pub const MAX_LIST_ITEMS: usize = 20;

impl CheckSpec {
    /// How `report` breaks this declaration: facts it does not declare, facts of another kind
    /// than declared, lists longer than [`MAX_LIST_ITEMS`].
    pub fn breaches(&self, report: &CheckReport) -> Vec<String> {
        let mut breaches = Vec::new();
        for (key, value) in report.facts.iter() {
            match self.produces.iter().find(|f| f.key == key) {
                None => breaches.push(format!("`{}` emits the undeclared fact `{key}`", self.id)),
                Some(f) if f.kind != value.kind() => breaches.push(format!(
                    "`{}` emits `{key}` as {:?}; the catalog declares {:?}",
                    self.id,
                    value.kind(),
                    f.kind
                )),
                Some(_) => {}
            }
            if let FactValue::List(items) = value
                && items.len() > MAX_LIST_ITEMS
            {
                breaches.push(format!("`{}` emits `{key}` with {} items", self.id, items.len()));
            }
        }
        breaches
    }
}
