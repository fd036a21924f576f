//! The `security` check: what on this machine may silently stop the web server's connections —
//! SELinux (its mode from `/sys/fs/selinux/enforce`, as `getenforce` reads it; the
//! `httpd_can_network_connect` boolean; the AVC denials of the window from `ausearch -m avc`
//! where it runs as root, else from the audit log) and the firewall's connection-tracking table
//! (`nf_conntrack_count` against `nf_conntrack_max`). Read-only: it never changes a boolean,
//! a label or a rule; the fix is shown for the user to run.

use std::path::Path;
use std::time::Duration;

use crate::contract::evidence::security::{Denial, SecurityEvidence};
use crate::contract::evidence::stack::Unseen;
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input,
};
use crate::facts::FactKind::{Bool, Int, List, Text};
use crate::facts::Facts;
use crate::sanitize;
use crate::system::{self, System};

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "security",
    title: "Look for SELinux denials and a full connection table",
    scope: Scope::Local,
    applies: Applies::LocalStack,
    params: &[input("since", false, Input::Since, "window for the AVC denials (default 30m)")],
    produces: &[
        fact("security.selinux", Text, "SELinux's mode: enforcing, permissive, disabled or absent"),
        fact(
            "security.httpd_can_network_connect",
            Bool,
            "whether SELinux lets the web server open TCP connections (off blocks proxy_pass to most ports)",
        ),
        fact("security.denials", List, "AVC denials of the window: process, permission, target"),
        fact(
            "security.blocks_proxy",
            Bool,
            "SELinux enforces and denied a web server's or runtime's connect in the window",
        ),
        fact("security.conntrack", Text, "nf_conntrack entries in use of the table's size"),
        fact("security.conntrack_used_pct", Int, "how full the connection-tracking table is, in %"),
        fact("security.unseen", List, "what could not be read without privileges"),
    ],
    timeout: Duration::from_secs(15),
};

/// The processes whose denied connects break a site.
const WEB_PROCESSES: &[&str] = &[
    "nginx",
    "httpd",
    "apache2",
    "haproxy",
    "varnishd",
    "caddy",
    "traefik",
    "envoy",
    "php-fpm",
    "php-fpm8.2",
    "gunicorn",
    "uwsgi",
    "node",
    "python3",
    "puma",
    "ruby",
];
/// The most of the audit log read (its end).
const AUDIT_TAIL: u64 = 32 << 20;
/// Most denials kept.
const MAX_DENIALS: usize = 50;

pub async fn run(request: CheckRequest, _progress: Progress) -> CheckReport {
    let since = request.param("since").unwrap_or("30m").to_owned();
    let minutes = match crate::checks::logs::parse_since(&since) {
        Ok(m) => m.unwrap_or(24 * 60),
        Err(reason) => return CheckReport::could_not_run(SPEC.id, reason, None),
    };
    let system = System::from_env();
    let now = jiff::Timestamp::now().as_second();
    let cutoff = now - i64::try_from(minutes).unwrap_or(i64::MAX / 60).saturating_mul(60);
    match tokio::task::spawn_blocking(move || examine(&system, cutoff)).await {
        Ok(evidence) => report(evidence),
        Err(_) => {
            CheckReport::could_not_run(SPEC.id, "reading the machine stopped unexpectedly", None)
        }
    }
}

/// Everything the check reads, from `system` (a fixture tree in tests); denials since `cutoff`.
pub fn examine(system: &System, cutoff: i64) -> SecurityEvidence {
    let mut evidence =
        SecurityEvidence { selinux: selinux_mode(system), ..SecurityEvidence::default() };
    if matches!(evidence.selinux.as_str(), "enforcing" | "permissive") {
        evidence.httpd_can_network_connect = boolean(system, "httpd_can_network_connect");
        denials(system, cutoff, &mut evidence);
    }
    evidence.conntrack = conntrack(system);
    evidence
}

/// `getenforce`'s answer, from the file it reads.
fn selinux_mode(system: &System) -> String {
    match system.read(Path::new("/sys/fs/selinux/enforce")) {
        Ok(text) if text.trim() == "1" => "enforcing".to_owned(),
        Ok(_) => "permissive".to_owned(),
        Err(_) => match system.read(Path::new("/etc/selinux/config")) {
            Ok(text) if text.lines().any(|l| l.trim().eq_ignore_ascii_case("SELINUX=disabled")) => {
                "disabled".to_owned()
            }
            _ => "absent".to_owned(),
        },
    }
}

/// A boolean's current value: `/sys/fs/selinux/booleans/NAME` holds "current pending".
fn boolean(system: &System, name: &str) -> Option<bool> {
    let text = system.read(&Path::new("/sys/fs/selinux/booleans").join(name)).ok()?;
    Some(text.split_whitespace().next()? == "1")
}

/// The AVC denials since `cutoff`: `ausearch` on the machine itself as root, else the audit log.
fn denials(system: &System, cutoff: i64, evidence: &mut SecurityEvidence) {
    if system.is_real_root() && system::current_uid() == 0 {
        // `recent` is ausearch's last 10 minutes; a longer window reads from yesterday's
        // midnight and the records are cut at the window by their own time stamps.
        let now = jiff::Timestamp::now().as_second();
        let from = if now - cutoff <= 600 { "recent" } else { "yesterday" };
        let args = ["-m", "avc", "--input-logs", "-ts", from];
        if let Ok(out) = system::run_bounded("ausearch", &args, Duration::from_secs(10), 8 << 20) {
            evidence.denials = parse_denials(&out, cutoff);
            evidence.denials_from = Some(format!("ausearch {}", args.join(" ")));
            return;
        }
    }
    let log = Path::new("/var/log/audit/audit.log");
    match read_tail(&system.path(log)) {
        Ok(text) => {
            evidence.denials = parse_denials(&text, cutoff);
            evidence.denials_from = Some(log.display().to_string());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => evidence.unseen.push(Unseen::new(
            format!("{} ({})", log.display(), system::io_reason(&e)),
            "sudo ausearch -m avc -ts recent",
        )),
    }
}

fn read_tail(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(AUDIT_TAIL)))?;
    let mut bytes = Vec::new();
    file.take(AUDIT_TAIL).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `type=AVC msg=audit(1796110222.123:456): avc:  denied  { name_connect } for  pid=1234
/// comm="nginx" dest=8080 scontext=… tcontext=… tclass=tcp_socket permissive=0`.
pub fn parse_denials(text: &str, cutoff: i64) -> Vec<Denial> {
    let mut out: Vec<Denial> =
        text.lines().filter_map(denial).filter(|d| d.time >= cutoff).collect();
    let skip = out.len().saturating_sub(MAX_DENIALS);
    out.drain(..skip);
    out
}

fn denial(line: &str) -> Option<Denial> {
    let rest = line.split_once("avc:")?.1.trim_start();
    let rest = rest.strip_prefix("denied")?.trim_start();
    let permission = rest.strip_prefix('{')?.split('}').next()?.trim().to_owned();
    let stamp = line.split_once("audit(")?.1.split([':', ')']).next()?;
    let time = stamp.split('.').next()?.parse().ok()?;
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{name}=")))
            .map(|v| v.trim_matches('"').to_owned())
    };
    let target = field("dest")
        .map(|d| format!("dest={d}"))
        .or_else(|| field("path").map(|p| format!("path={p}")));
    Some(Denial {
        time,
        permission,
        comm: field("comm").unwrap_or_default(),
        tclass: field("tclass").unwrap_or_default(),
        target,
        scontext: field("scontext").unwrap_or_default(),
        permissive: field("permissive").as_deref() == Some("1"),
        line: sanitize::line(line).chars().take(500).collect(),
    })
}

/// Entries in use and the table's size, where netfilter's conntrack is loaded.
fn conntrack(system: &System) -> Option<(u64, u64)> {
    let read = |name: &str| -> Option<u64> {
        system.read_proc(&format!("sys/net/netfilter/{name}")).ok()?.trim().parse().ok()
    };
    Some((read("nf_conntrack_count")?, read("nf_conntrack_max")?))
}

fn blocks_proxy(e: &SecurityEvidence) -> bool {
    e.selinux == "enforcing"
        && e.denials.iter().any(|d| {
            !d.permissive
                && matches!(d.permission.as_str(), "name_connect" | "connectto")
                && (WEB_PROCESSES.contains(&d.comm.as_str())
                    || d.comm.starts_with("php-fpm")
                    || d.scontext.contains(":httpd_t:"))
        })
}

pub fn report(evidence: SecurityEvidence) -> CheckReport {
    let mut facts = Facts::new();
    facts.set("security.selinux", evidence.selinux.as_str());
    if let Some(on) = evidence.httpd_can_network_connect {
        facts.set("security.httpd_can_network_connect", on);
    }
    let denials: Vec<String> = evidence.denials.iter().rev().take(20).map(denial_words).collect();
    facts.set("security.denials", denials);
    let blocks = blocks_proxy(&evidence);
    facts.set("security.blocks_proxy", blocks);
    let pct = evidence.conntrack.filter(|(_, max)| *max > 0).map(|(used, max)| used * 100 / max);
    if let (Some((used, max)), Some(pct)) = (evidence.conntrack, pct) {
        facts.set("security.conntrack", format!("{used} of {max} ({pct}%)"));
        facts.set("security.conntrack_used_pct", i64::try_from(pct).unwrap_or(i64::MAX));
    }
    facts
        .set("security.unseen", evidence.unseen.iter().map(|u| u.what.clone()).collect::<Vec<_>>());
    let (status, summary) = verdict(&evidence, blocks, pct);
    CheckReport::new(SPEC.id, status, summary)
        .with_details(details(&evidence))
        .with_facts(facts)
        .with_evidence(Evidence::Security(Box::new(evidence)))
}

fn denial_words(d: &Denial) -> String {
    let target = d.target.as_deref().map(|t| format!(" {t}")).unwrap_or_default();
    let mode = if d.permissive { " (permissive: logged, not blocked)" } else { "" };
    format!("{} {} {}{target}{mode}", d.comm, d.permission, d.tclass)
}

fn verdict(e: &SecurityEvidence, blocks: bool, pct: Option<u64>) -> (CheckStatus, String) {
    if blocks {
        let boolean = match e.httpd_can_network_connect {
            Some(false) => {
                "; httpd_can_network_connect is off (`sudo setsebool -P httpd_can_network_connect 1`)"
            }
            _ => "",
        };
        return (
            CheckStatus::Failed,
            format!("SELinux denies the web server's connections{boolean}."),
        );
    }
    if pct.is_some_and(|p| p >= 95) {
        return (
            CheckStatus::Failed,
            "The connection-tracking table is full: new connections are dropped.".to_owned(),
        );
    }
    let selinux = match e.selinux.as_str() {
        "absent" => "no SELinux on this machine".to_owned(),
        mode => format!(
            "SELinux {mode}, {} in the window",
            crate::text::count(e.denials.len(), "denial", "denials")
        ),
    };
    let status = if e.unseen.is_empty() { CheckStatus::Passed } else { CheckStatus::Warning };
    (status, format!("{selinux}; nothing blocks the web server's connections."))
}

fn details(e: &SecurityEvidence) -> Vec<String> {
    let mut out = vec![format!("SELinux: {}", e.selinux)];
    if let Some(on) = e.httpd_can_network_connect {
        out.push(format!("httpd_can_network_connect: {}", if on { "on" } else { "off" }));
    }
    if let Some(from) = &e.denials_from {
        out.push(format!("AVC denials from {from}: {}", e.denials.len()));
    }
    out.extend(e.denials.iter().rev().take(5).map(|d| format!("  {}", d.line)));
    if let Some((used, max)) = e.conntrack {
        out.push(format!("nf_conntrack: {used} of {max} entries"));
    }
    out.extend(e.unseen.iter().map(Unseen::line));
    out.into_iter().map(|l| sanitize::line(&l).into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVC: &str = "type=AVC msg=audit(1796110222.123:456): avc:  denied  { name_connect } for  pid=1234 comm=\"nginx\" dest=8080 scontext=system_u:system_r:httpd_t:s0 tcontext=system_u:object_r:http_cache_port_t:s0 tclass=tcp_socket permissive=0";

    #[test]
    fn an_enforcing_selinux_that_denies_nginx_blocks_the_proxy() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let p = root.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("sys/fs/selinux/enforce", "1");
        write("sys/fs/selinux/booleans/httpd_can_network_connect", "0 0");
        write(
            "var/log/audit/audit.log",
            &format!("{}\n{AVC}\n", AVC.replace("1796110222", "1796100000")),
        );
        write("proc/sys/net/netfilter/nf_conntrack_count", "262000\n");
        write("proc/sys/net/netfilter/nf_conntrack_max", "262144\n");
        let evidence = examine(&System::fixture(root.path()), 1_796_110_000);
        assert_eq!(evidence.denials.len(), 1, "only the window's");
        let d = &evidence.denials[0];
        assert_eq!(
            (d.comm.as_str(), d.permission.as_str(), d.target.as_deref()),
            ("nginx", "name_connect", Some("dest=8080"))
        );
        let report = report(evidence);
        assert_eq!(crate::checks::registry::contract_breaches(&report), Vec::<String>::new());
        assert_eq!(report.status, CheckStatus::Failed);
        assert!(
            report.summary.contains("setsebool -P httpd_can_network_connect 1"),
            "{}",
            report.summary
        );
        assert_eq!(
            report.facts.get("security.blocks_proxy"),
            Some(&crate::facts::FactValue::Bool(true))
        );
        assert_eq!(
            report.facts.get("security.conntrack_used_pct"),
            Some(&crate::facts::FactValue::Int(99))
        );
    }

    #[test]
    fn no_selinux_is_said_plainly() {
        let root = tempfile::tempdir().unwrap();
        let report = report(examine(&System::fixture(root.path()), 0));
        assert_eq!(report.status, CheckStatus::Passed);
        assert!(report.summary.starts_with("no SELinux on this machine"), "{}", report.summary);
    }
}
