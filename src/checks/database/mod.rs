//! The `database` check: is the app's database reachable? The address comes from the `address`
//! parameter, the app's own config under `site_root` (`wp-config.php`, `.env`), or the
//! environment the app runs with (the PHP-FPM pools' `env[…]`, the runtimes' systemd
//! `Environment=`); the check connects and lets the server say what it is, and for a local
//! database that does not answer says whether its server is installed here but stopped. It
//! never logs in, and never reads, prints, stores or exports a password.

pub mod config;
pub mod locate;
pub mod probe;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use self::config::{NotFound, Server};
use self::probe::Reply;
use crate::contract::evidence::database::DatabaseEvidence;
use crate::contract::evidence::stack::Stack;
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input, param,
};
use crate::facts::FactKind::{Bool, Text};
use crate::facts::Facts;
use crate::sanitize;
use crate::system::{System, stack};

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "database",
    title: "Connect to the database",
    scope: Scope::Local,
    applies: Applies::LocalStack,
    params: &[
        input("site_root", false, Input::SiteRoot, "where to look for wp-config.php or .env"),
        param("address", false, "host:port to connect to instead"),
        param(
            "fpm_config",
            false,
            "a php-fpm.conf whose pools' env[] locate the database, instead of the running PHP-FPM's",
        ),
    ],
    produces: &[
        fact("db.target", Text, "host:port or socket that was tried"),
        fact("db.reachable", Bool, "the server accepted the connection and greeted"),
        fact(
            "db.failure",
            Text,
            "why not: refused, timeout, socket_missing, socket_permission, too_many_connections, dns, not_a_database, …",
        ),
        fact("db.kind", Text, "mysql or postgresql"),
        fact("db.version", Text, "the server version from the MySQL/MariaDB greeting"),
        fact(
            "db.source",
            Text,
            "where the target came from: wp-config.php, .env, address, or a pool's env[] / a unit's Environment= with its file:line",
        ),
        fact(
            "db.local_server",
            Text,
            "for a local database that does not answer: its server installed here but not running, or listening elsewhere",
        ),
    ],
    timeout: Duration::from_secs(15),
};

pub async fn run(request: CheckRequest, _progress: Progress) -> CheckReport {
    run_on(System::from_env(), request).await
}

/// [`run`] on the given roots (a fixture tree in tests).
pub async fn run_on(system: System, request: CheckRequest) -> CheckReport {
    let stack = {
        let system = system.clone();
        tokio::task::spawn_blocking(move || stack::discover(&system).ok()).await.ok().flatten()
    };
    let target = match target(&system, &request, stack.as_ref()).await {
        Ok(target) => target,
        Err((reason, instead)) => return CheckReport::could_not_run(SPEC.id, reason, instead),
    };
    let started = Instant::now();
    let outcome = probe::probe(&target.address, target.kind).await;
    let local = match (&outcome.failure, &stack) {
        (Some(_), Some(stack)) => locate::local_server(stack, &target),
        _ => None,
    };
    report(&target, &outcome, started.elapsed().as_millis() as u64, local)
}

type NoTarget = (String, Option<String>);

/// The `address` parameter wins; then the app's config under `site_root`; then the environment
/// the app runs with (the pools' `env[]`, the units' `Environment=`).
async fn target(
    system: &System,
    request: &CheckRequest,
    stack: Option<&Stack>,
) -> Result<Server, NoTarget> {
    let given = |name| request.param(name).map(str::trim).filter(|s| !s.is_empty());
    if let Some(address) = given("address") {
        return config::parse_address(address).map_err(|e| (e, None));
    }
    let from_root = match given("site_root") {
        Some(root) => Some(site_root_target(PathBuf::from(root)).await),
        None => None,
    };
    if let Some(Ok(target)) = from_root {
        return Ok(target);
    }
    let fpm = given("fpm_config").map(PathBuf::from);
    let (system, stack) = (system.clone(), stack.cloned());
    let found = tokio::task::spawn_blocking(move || {
        locate::from_environment(&system, stack.as_ref(), fpm.as_deref())
    })
    .await
    .ok()
    .flatten();
    match (found, from_root) {
        (Some(target), _) => Ok(target),
        (None, Some(Err(why))) => Err(why),
        (None, _) => Err((
            "no database to check: give the site's root (with wp-config.php or .env) or the database's address; no PHP-FPM pool env[] or unit Environment= names one".to_owned(),
            None,
        )),
    }
}

/// The database the app's config under `root` names.
async fn site_root_target(root: PathBuf) -> Result<Server, NoTarget> {
    let shown = sanitize::line(&root.display().to_string()).into_owned();
    let found = tokio::task::spawn_blocking(move || config::from_site_root(&root)).await;
    match found {
        Ok(Ok(target)) => Ok(target),
        Ok(Err(NotFound::NoConfig)) => {
            Err((format!("found neither wp-config.php nor .env in {shown}"), None))
        }
        Ok(Err(NotFound::NoServer(why))) => Err((why, None)),
        Ok(Err(NotFound::Unreadable(why))) => {
            // Root can read it; the command shows the findings, never the file.
            let instead = why.contains("permission denied").then(|| "sudo triage".to_owned());
            Err((sanitize::line(&why).into_owned(), instead))
        }
        Err(e) => Err((format!("reading the site's config failed: {e}"), None)),
    }
}

fn report(target: &Server, outcome: &Reply, elapsed_ms: u64, local: Option<String>) -> CheckReport {
    let evidence = DatabaseEvidence {
        local_server: local,
        target: sanitize::line(&target.address.to_string()).into_owned(),
        kind: outcome.kind.id().to_owned(),
        source: target.source.clone(),
        reachable: outcome.failure.is_none(),
        failure: outcome.failure.map(|f| f.id().to_owned()),
        version: outcome.version.clone(),
        server_error: outcome.server_error.clone(),
        elapsed_ms,
    };
    let (status, summary) = verdict(&evidence);
    CheckReport::new(SPEC.id, status, summary)
        .with_facts(facts(&evidence))
        .with_details(details(&evidence))
        .with_evidence(Evidence::Database(Box::new(evidence)))
}

fn verdict(e: &DatabaseEvidence) -> (CheckStatus, String) {
    let what = match e.kind.as_str() {
        "mysql" => "MySQL/MariaDB",
        "postgresql" => "PostgreSQL",
        _ => "The database",
    };
    let Some(failure) = &e.failure else {
        let version = e.version.as_ref().map(|v| format!(" ({v})")).unwrap_or_default();
        return (
            CheckStatus::Passed,
            format!("{what} at {} accepts connections{version}.", e.target),
        );
    };
    let why = match failure.as_str() {
        "refused" => "refuses connections: nothing listens there".to_owned(),
        "timeout" => format!("does not answer within {} s", probe::STEP.as_secs()),
        "socket_missing" => {
            "has no socket there: the server is down or listens elsewhere".to_owned()
        }
        "socket_permission" => "may not be opened by this user (socket permissions)".to_owned(),
        "dns" => "cannot be resolved".to_owned(),
        "too_many_connections" => {
            "refuses new connections: it is at max_connections (1040)".to_owned()
        }
        "not_a_database" => {
            "accepted the connection but did not answer as a database does".to_owned()
        }
        _ => e
            .server_error
            .as_ref()
            .map_or_else(|| "fails".to_owned(), |s| format!("answers with an error: {s}")),
    };
    (CheckStatus::Failed, format!("{what} at {} {why}.", e.target))
}

fn facts(e: &DatabaseEvidence) -> Facts {
    let mut facts = Facts::new();
    facts.set("db.target", e.target.as_str());
    facts.set("db.reachable", e.reachable);
    facts.set("db.kind", e.kind.as_str());
    facts.set("db.source", e.source.as_str());
    if let Some(failure) = &e.failure {
        facts.set("db.failure", failure.as_str());
    }
    if let Some(version) = &e.version {
        facts.set("db.version", version.as_str());
    }
    if let Some(local) = &e.local_server {
        facts.set("db.local_server", local.as_str());
    }
    facts
}

fn details(e: &DatabaseEvidence) -> Vec<String> {
    let mut out = vec![format!("target {} ({}, from {})", e.target, e.kind, e.source)];
    if let Some(error) = &e.server_error {
        out.push(format!("server said: {error}"));
    }
    out.push(format!("answered in {} ms", e.elapsed_ms));
    if let Some(local) = &e.local_server {
        out.push(format!("on this machine: {local}"));
    }
    if e.failure.as_deref() == Some("socket_permission") && !is_root() {
        out.push(
            "this user may not open the socket; run `sudo triage` to try as root (the web \
             server's user may still be allowed)"
                .to_owned(),
        );
    }
    out
}

/// Whether this process runs as root: `/proc/self` belongs to the process's effective user.
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}
