//! What each automatic check is called, what parameters it takes and which facts it produces.
//! The runbook validator reads this to reject unknown check ids and conditions on facts that no
//! check produces; each check's tests assert that it only emits facts declared here.

use std::time::Duration;

use crate::evidence::FactKind;

/// One automatic check, as a runbook may call it.
#[derive(Debug, Clone, Copy)]
pub struct CheckSpec {
    pub id: &'static str,
    pub title: &'static str,
    /// Outside checks look at the site over the network; local ones read this machine.
    pub scope: Scope,
    pub params: &'static [ParamSpec],
    pub produces: &'static [FieldSpec],
    /// The longest a run may take before the engine stops it and reports a timeout.
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Outside,
    Local,
}

#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    pub name: &'static str,
    pub required: bool,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub key: &'static str,
    pub kind: FactKind,
    pub doc: &'static str,
}

const fn param(name: &'static str, required: bool, doc: &'static str) -> ParamSpec {
    ParamSpec { name, required, doc }
}

const fn fact(key: &'static str, kind: FactKind, doc: &'static str) -> FieldSpec {
    FieldSpec { key, kind, doc }
}

use FactKind::{Bool, Int, List, Text};

const HTTP_PROBE: CheckSpec = CheckSpec {
    id: "http_probe",
    title: "Probe the public URL",
    scope: Scope::Outside,
    params: &[
        param("url", true, "absolute http(s) URL"),
        param("count", false, "how many probes (default 5)"),
    ],
    produces: &[
        fact("http.status", Int, "the status seen most often; on a tie, the highest"),
        fact("http.statuses", List, "each probe's status, or its failure kind"),
        fact("http.error_probes", Int, "probes that returned 5xx or no response"),
        fact("http.intermittent", Bool, "some probes failed and some did not"),
        fact(
            "http.failure",
            Text,
            "why no response: dns, refused, unreachable, timeout, tls, reset, invalid_response, redirect_loop, too_many_redirects",
        ),
        fact("http.remote_addr", Text, "the address (IP:port) the response came from"),
        fact("http.version", Text, "HTTP/1.1, HTTP/2"),
        fact("http.server", Text, "the Server header"),
        fact(
            "http.headers",
            List,
            "the first 20 response headers as `name: value` (all are in the evidence)",
        ),
        fact("http.final_url", Text, "the URL after redirects"),
        fact("http.redirects", Int, "redirect hops followed"),
        fact("http.retry_after", Text, "the Retry-After header"),
        fact("http.request_ids", List, "request ids as `header: value` (cf-ray, x-amz-cf-id, …)"),
        fact("http.ttfb_ms", Int, "time to first byte of the last probe"),
        fact("http.total_ms", Int, "total time of the last probe"),
        fact(
            "responder.vendor",
            Text,
            "who generated the response (of the first failing probe, else the first): cloudflare, cloudfront, nginx, …; absent when the application did",
        ),
        fact("responder.name", Text, "the responder's name for people: Cloudflare, nginx, …"),
        fact("responder.layer", Text, "the layer that generated the response"),
        fact(
            "responder.generated",
            Bool,
            "an intermediary (CDN, load balancer, proxy, web server) made the page itself; false when it is the application's page passed through",
        ),
        fact(
            "responder.code",
            Text,
            "the vendor's own error code: 521, H10, no_healthy_upstream, …",
        ),
        fact("responder.maintenance", Bool, "the response is a maintenance page"),
        fact("responder.cdn", Text, "a CDN seen anywhere in the response path"),
        fact(
            "responder.cause",
            Text,
            "the cause id the responder's own error page points at (fingerprints.yaml)",
        ),
        fact("responder.path", List, "every vendor the headers show, outside in"),
        fact(
            "responder.evidence",
            List,
            "the quoted headers and body text that name the responder",
        ),
    ],
    timeout: Duration::from_secs(60),
};

const DNS: CheckSpec = CheckSpec {
    id: "dns",
    title: "Resolve the host",
    scope: Scope::Outside,
    params: &[param("host", true, "host name, or a URL whose host to resolve")],
    produces: &[
        fact("dns.resolves", Bool, "the name has A or AAAA records"),
        fact("dns.addresses", List, "A and AAAA answers"),
        fact("dns.cnames", List, "the CNAME chain"),
        fact("dns.cdn", Text, "the CDN the answers point at, if known"),
    ],
    timeout: Duration::from_secs(10),
};

const TLS: CheckSpec = CheckSpec {
    id: "tls",
    title: "Inspect the TLS certificate",
    scope: Scope::Outside,
    params: &[
        param("url", true, "https URL"),
        param("address", false, "connect here instead of the URL's host (IP[:PORT])"),
    ],
    produces: &[
        fact("tls.valid", Bool, "the chain verifies for the host name"),
        fact("tls.expired", Bool, "the certificate has expired"),
        fact("tls.self_signed", Bool, "the certificate is self-signed"),
        fact("tls.name_mismatch", Bool, "the certificate does not cover the host name"),
        fact("tls.days_left", Int, "days until expiry (negative when expired)"),
        fact("tls.issuer", Text, "the issuer"),
        fact("tls.failure", Text, "why no certificate was seen: dns, refused, timeout, handshake"),
    ],
    timeout: Duration::from_secs(15),
};

const ORIGIN: CheckSpec = CheckSpec {
    id: "origin",
    title: "Compare the edge with the origin",
    scope: Scope::Outside,
    params: &[
        param("url", true, "the public URL"),
        param("origin", true, "origin address, IP[:PORT] or host[:PORT]"),
    ],
    produces: &[
        fact("origin.reachable", Bool, "the origin answered over HTTP"),
        fact("origin.status", Int, "the origin's status for the same request"),
        fact(
            "origin.failure",
            Text,
            "why the origin did not answer: refused, timeout, tls, reset, …",
        ),
        fact("origin.vendor", Text, "who answered at the origin"),
        fact("origin.tls_valid", Bool, "the origin's certificate verifies for the public host"),
        fact("origin.matches_edge", Bool, "edge and origin return the same status"),
        fact(
            "origin.tls_problem",
            Text,
            "what is wrong with the origin's certificate: expired, self_signed, name_mismatch, untrusted",
        ),
        fact("origin.ttfb_ms", Int, "time to first byte straight from the origin"),
    ],
    timeout: Duration::from_secs(45),
};

const STACK: CheckSpec = CheckSpec {
    id: "stack",
    title: "Discover the local web stack",
    scope: Scope::Local,
    params: &[],
    produces: &[
        fact(
            "stack.web_servers",
            List,
            "running web servers and proxies: nginx, apache, haproxy, …",
        ),
        fact("stack.runtimes", List, "running app runtimes: php-fpm, node, gunicorn, …"),
        fact("stack.databases", List, "running databases: mysql, postgresql, redis"),
        fact("stack.units_down", List, "systemd units of the stack that are inactive or failed"),
        fact(
            "stack.not_running",
            List,
            "services whose daemon is installed but that have no process: php-fpm, mysql, …",
        ),
        fact("stack.listening", List, "listening sockets of the stack as `service address`"),
        fact(
            "stack.unseen",
            List,
            "what could not be seen without privileges (`sudo triage stack` shows it)",
        ),
    ],
    timeout: Duration::from_secs(15),
};

const UPSTREAMS: CheckSpec = CheckSpec {
    id: "upstreams",
    title: "Check the proxy's upstreams",
    scope: Scope::Local,
    params: &[
        param("config", false, "a proxy config file to read instead of the running servers'"),
        param("url", false, "check only the sites that serve this URL's host and port"),
    ],
    produces: &[
        fact("upstream.targets", List, "upstream targets from the proxy configs"),
        fact("upstream.refused", List, "targets where nothing listens"),
        fact("upstream.socket_missing", List, "unix sockets that do not exist"),
        fact("upstream.socket_permission", List, "sockets the web server user cannot open"),
        fact("upstream.slow", List, "targets slower than the proxy's timeout allows"),
        fact("upstream.healthy", Int, "targets that answered"),
        fact("upstream.no_answer", List, "targets that accepted the connection but did not answer"),
        fact(
            "upstream.closed",
            List,
            "targets that closed or reset the connection without answering",
        ),
        fact("upstream.erroring", List, "targets that answered with a server error (HTTP 5xx)"),
        fact(
            "upstream.misconfigured",
            List,
            "targets the config points at wrongly: wrong protocol, unresolvable host, not a socket",
        ),
        fact(
            "upstream.elsewhere",
            List,
            "targets whose runtime runs but listens at another address",
        ),
        fact(
            "upstream.runtimes_down",
            List,
            "runtimes that refused or missing targets imply (FastCGI: php-fpm, …): none listens there",
        ),
        fact("upstream.problem", Text, "the first bad target's directive and what is wrong"),
        fact("upstream.problem_at", Text, "the config file and line of the first bad target"),
        fact(
            "upstream.maintenance",
            List,
            "maintenance rules (return 503, flag files) that are on",
        ),
        fact("upstream.configs", List, "the proxy config files read"),
        fact("upstream.unseen", List, "what could not be seen without privileges"),
    ],
    timeout: Duration::from_secs(30),
};

const LOGS: CheckSpec = CheckSpec {
    id: "logs",
    title: "Scan the logs of the incident window",
    scope: Scope::Local,
    params: &[
        param("since", false, "window, e.g. 30m, 2h, 1d or all (default 30m)"),
        param("files", false, "comma-separated logs to read instead of the discovered ones"),
        param("config_logs", false, "comma-separated logs the proxy configs name, read first"),
        param("url", false, "the site under investigation: lines naming its host come first"),
    ],
    produces: &[
        fact("logs.signatures", List, "ids of the signatures that matched, causes first, by count"),
        fact("logs.causes", List, "cause ids of the signatures that matched, in the same order"),
        fact("logs.matches", Int, "matching lines in the window"),
        fact(
            "logs.first_line",
            Text,
            "the first line of the top signature (the site's own when `url` names one), sanitised and redacted",
        ),
        fact("logs.unreadable", List, "logs that exist but could not be read"),
        fact("logs.files", List, "logs that were read (the journal as `systemd journal`)"),
        fact("logs.upstreams", List, "upstream addresses named by the matching nginx lines"),
        fact(
            "logs.journal",
            Text,
            "the systemd journal: read, partial (own messages) or unavailable",
        ),
    ],
    timeout: Duration::from_secs(60),
};

const RESOURCES: CheckSpec = CheckSpec {
    id: "resources",
    title: "Check host resources and limits",
    scope: Scope::Local,
    params: &[
        param("paths", false, "comma-separated paths whose mounts to check"),
        param("since", false, "window for OOM kills, e.g. 30m (default 30m)"),
    ],
    produces: &[
        fact("host.load_pct", Int, "1-minute load as a percentage of the cores"),
        fact("host.memory_used_pct", Int, "memory in use, without reclaimable cache"),
        fact("host.swap_used_pct", Int, "swap in use"),
        fact("host.oom_kills", Int, "OOM kills in the window"),
        fact("host.disks_full", List, "mounts at 95% or more of space or inodes"),
        fact("host.fd_used_pct", Int, "open files against the system limit"),
        fact("host.workers_exhausted", List, "worker pools at their limit: php-fpm, nginx, apache"),
        fact("host.lve_limits_hit", List, "CloudLinux LVE limits reached"),
        fact("host.cores", Int, "CPU cores"),
        fact("host.oom_kills_since_boot", Int, "OOM kills since boot (/proc/vmstat)"),
        fact(
            "host.fd_limits_hit",
            List,
            "stack processes at 90% or more of their open-files limit",
        ),
        fact("host.tasks_used_pct", Int, "tasks (threads) against the kernel's limit"),
        fact("host.unseen", List, "what could not be seen without privileges"),
    ],
    timeout: Duration::from_secs(15),
};

const DATABASE: CheckSpec = CheckSpec {
    id: "database",
    title: "Connect to the database",
    scope: Scope::Local,
    params: &[
        param("site_root", false, "where to look for wp-config.php or .env"),
        param("address", false, "host:port to connect to instead"),
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
        fact("db.source", Text, "where the target came from: wp-config.php, .env, address"),
    ],
    timeout: Duration::from_secs(15),
};

const RECENT_CHANGES: CheckSpec = CheckSpec {
    id: "recent_changes",
    title: "List recent changes",
    scope: Scope::Local,
    params: &[
        param("site_root", false, "the site's directory (git checkout or app files)"),
        param("hours", false, "how far back (default 24)"),
    ],
    produces: &[
        fact("changes.count", Int, "changes found in the window"),
        fact("changes.newest_minutes", Int, "minutes since the newest change"),
        fact("changes.kinds", List, "kinds found: package, config, restart, deploy"),
        fact(
            "changes.recent",
            List,
            "the newest changes as `time kind what`, newest first, at most 10",
        ),
    ],
    timeout: Duration::from_secs(30),
};

const CATALOG: &[CheckSpec] =
    &[HTTP_PROBE, DNS, TLS, ORIGIN, STACK, UPSTREAMS, LOGS, RESOURCES, DATABASE, RECENT_CHANGES];

/// Facts the diagnosis produces from all the evidence, whatever checks ran.
pub const DIAGNOSIS_FIELDS: &[FieldSpec] = &[
    fact("verdict.layer", Text, "the layer that best explains the error"),
    fact("verdict.cause", Text, "the cause id that best explains the error"),
    fact("verdict.confidence", Text, "high, medium or low"),
    fact("findings", List, "ids of every finding"),
];

/// Every check a runbook can call.
pub fn catalog() -> &'static [CheckSpec] {
    CATALOG
}

/// The check with this id.
pub fn spec(id: &str) -> Option<&'static CheckSpec> {
    CATALOG.iter().find(|c| c.id == id)
}

/// Most items a list fact may hold: facts stay small, the evidence holds the rest.
pub const MAX_LIST_ITEMS: usize = 20;

/// How a report breaks its check's contract with the catalog: facts it does not declare, facts
/// of another kind than declared, lists longer than [`MAX_LIST_ITEMS`]. Every check's tests
/// assert this is empty.
pub fn contract_breaches(report: &crate::checks::CheckReport) -> Vec<String> {
    let Some(spec) = spec(&report.check) else {
        return vec![format!("`{}` is not a check in the catalog", report.check)];
    };
    let mut breaches = Vec::new();
    for (key, value) in report.facts.iter() {
        match spec.produces.iter().find(|f| f.key == key) {
            None => breaches.push(format!("`{}` emits the undeclared fact `{key}`", spec.id)),
            Some(f) if f.kind != value.kind() => breaches.push(format!(
                "`{}` emits `{key}` as {:?}; the catalog declares {:?}",
                spec.id,
                value.kind(),
                f.kind
            )),
            Some(_) => {}
        }
        if let crate::evidence::FactValue::List(items) = value
            && items.len() > MAX_LIST_ITEMS
        {
            breaches.push(format!("`{}` emits `{key}` with {} items", spec.id, items.len()));
        }
    }
    breaches
}

/// The declaration of a fact key, from any check or from the diagnosis.
pub fn field(key: &str) -> Option<&'static FieldSpec> {
    CATALOG.iter().flat_map(|c| c.produces.iter()).chain(DIAGNOSIS_FIELDS).find(|f| f.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn breaches_of_the_contract_are_named() {
        use crate::checks::{CheckReport, CheckStatus};
        let mut facts = crate::evidence::Facts::new();
        facts.set("http.status", 502_i64);
        facts.set("http.stauts", 502_i64);
        facts.set("http.server", 1_i64);
        facts.set("http.statuses", vec!["502".to_owned(); 21]);
        let report = CheckReport::new("http_probe", CheckStatus::Failed, "x").with_facts(facts);
        assert_eq!(
            contract_breaches(&report),
            vec![
                "`http_probe` emits `http.server` as Int; the catalog declares Text",
                "`http_probe` emits `http.statuses` with 21 items",
                "`http_probe` emits the undeclared fact `http.stauts`",
            ]
        );
    }

    #[test]
    fn ids_and_fields_are_unique() {
        let mut ids = HashSet::new();
        let mut keys = HashSet::new();
        for spec in CATALOG {
            assert!(ids.insert(spec.id), "duplicate check id {}", spec.id);
            for f in spec.produces {
                assert!(keys.insert(f.key), "field {} declared twice", f.key);
            }
        }
        for f in DIAGNOSIS_FIELDS {
            assert!(keys.insert(f.key), "field {} declared twice", f.key);
        }
    }
}
