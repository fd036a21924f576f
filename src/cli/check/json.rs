//! `triage check --json` (docs/check-json.md): the probes, who answered, each check, the request
//! path with each hop's state, the findings and the verdict — every string sanitised and
//! redacted.

use serde_json::{Value, json};

use super::{CheckRun, Health, SCHEMA_VERSION};
use crate::contract::evidence::http::{Probe, Timings};
use crate::contract::evidence::origin::Side;
use crate::contract::{CheckReport, CheckStatus, Evidence};
use crate::facts::FactValue;
use crate::{redact, sanitize};

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
        "status": outcome.assessment.facts.get("http.status").and_then(FactValue::as_int),
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
        "vendors_seen": fp.map(|f| f.path.clone()).unwrap_or_default(),
        "cdn": fp.and_then(|f| f.cdn.clone()),
        "maintenance": fp.is_some_and(|f| f.maintenance),
        "retry_after": fp.and_then(|f| f.retry_after.clone()),
        "request_ids": fp.map(|f| f.request_ids.clone()).unwrap_or_default(),
        "dns": evidence_of(outcome, "dns"),
        "tls": evidence_of(outcome, "tls"),
        "origin": origin_json(outcome),
        "checks": outcome.reports.iter().map(check_json).collect::<Vec<_>>(),
        "seen": outcome.assessment.seen,
        "path": outcome.assessment.path,
        "chain": outcome.assessment.chain(),
        "findings": outcome.assessment.findings,
        "verdict": outcome.assessment.verdict,
        "elsewhere": outcome.assessment.elsewhere,
        "timeline": outcome.assessment.timeline,
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
}
