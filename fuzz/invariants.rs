//! What every fuzz target checks for one input, shared by the libFuzzer targets in
//! `fuzz_targets/` and by `tests/fuzz_seeds.rs`, which replays the seed corpora as ordinary
//! tests. Each function must not panic, hang or blow up for any input, and asserts what must
//! hold of its output.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use triage::knowledge::fingerprints::{self, Response};
use triage::knowledge::signatures::Signatures;
use triage::system::System;
use triage::system::proxy::{apache, caddy, envoy, haproxy, nginx, phpfpm, traefik, varnish};

/// Text the loaders and parsers see: input bytes, lossily decoded.
fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn no_escape(shown: &str) {
    assert!(!shown.contains('\u{1b}'), "an escape reached the output: {shown:?}");
}

/// The runbook loader: a result or problems that name the file, bounded in count and size.
pub fn runbook_loader(data: &[u8]) {
    use triage::runbook::{graph, load};
    match load::load_str("fuzz.yaml", &text(data)) {
        Ok(loaded) => {
            assert!(graph::mermaid(&loaded.runbook).starts_with("flowchart TD"));
        }
        Err(failure) => {
            let problems = failure.problems();
            assert!(!problems.is_empty());
            assert!(problems.len() <= triage::yaml::MAX_PROBLEMS + 1, "{}", problems.len());
            for p in problems {
                let shown = p.to_string();
                assert!(shown.contains("fuzz.yaml"), "{shown}");
                assert!(shown.len() < 4096, "a problem printed {} bytes", shown.len());
                no_escape(&shown);
            }
        }
    }
}

/// The error-page fingerprints: `status\nname: value\n…\n\nbody`, and the CDN matcher on the
/// header values taken as CNAMEs.
pub fn fingerprints(data: &[u8]) {
    let input = text(data);
    let (head, body) = input.split_once("\n\n").unwrap_or((&input, ""));
    // Sanitised first, as the probe hands it over (the table matches text, not bytes).
    let body = triage::sanitize::terminal_text(body, true);
    let mut lines = head.lines();
    let status = lines.next().and_then(|s| s.trim().parse().ok()).unwrap_or(502);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| {
            (
                triage::sanitize::line(n.trim()).to_ascii_lowercase(),
                triage::sanitize::line(v.trim()).into_owned(),
            )
        })
        .collect();
    let table = fingerprints::table();
    let fp = table.identify(&Response { status, headers: &headers, body: &body });
    for e in &fp.evidence {
        no_escape(e);
    }
    let cnames: Vec<String> = headers.iter().map(|(_, v)| v.clone()).collect();
    let addresses: Vec<std::net::IpAddr> =
        headers.iter().filter_map(|(_, v)| v.parse().ok()).collect();
    let _ = table.cdn_for(&cnames, &addresses);
}

thread_local! {
    /// One fixture root per thread, reused by every input (a directory per input would cost
    /// more than the parse it feeds); removed when the thread ends.
    static ROOT: tempfile::TempDir =
        tempfile::Builder::new().prefix("triage-fuzz-").tempdir().unwrap();
}

/// The fixture root holding `data` as the main config at `main`, so includes stay inside it.
fn config_root(main: &str, data: &[u8]) -> (System, PathBuf) {
    let system = ROOT.with(|root| System::fixture(root.path()));
    let main = PathBuf::from(main);
    let file = system.path(&main);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, data).unwrap();
    (system, main)
}

pub fn nginx_config(data: &[u8]) {
    let (system, main) = config_root("/etc/nginx/nginx.conf", data);
    let config = nginx::read(&system, &main, Some(Path::new("/usr/share/nginx")));
    assert!(config.files.len() <= 1000);
}

/// Expansion stays within the parser's budget: a log path is one expanded line, at most
/// `MAX_EXPANDED_LINE` bytes, so the paths together are at most that per line read. (A
/// multiple of the input's size was the first invariant here: twenty `ErrorLog` lines, each
/// `${v9}` of a few kilobytes, passed it honestly, well inside the budget.)
pub fn apache_config(data: &[u8]) {
    let (system, main) = config_root("/etc/apache2/apache2.conf", data);
    let config = apache::read(&system, &main);
    let limit = apache::MAX_EXPANDED_LINE;
    let lines: usize = config
        .files
        .iter()
        .filter_map(|f| std::fs::read(system.path(f)).ok())
        .map(|bytes| bytes.split(|&b| b == b'\n').count())
        .sum();
    let paths: usize = config.logs.iter().map(|l| l.path.as_os_str().len()).sum();
    assert!(config.logs.iter().all(|l| l.path.as_os_str().len() <= limit));
    assert!(paths <= lines.max(1) * limit, "{paths} bytes of paths from {lines} lines");
}

pub fn haproxy_config(data: &[u8]) {
    let (system, main) = config_root("/etc/haproxy/haproxy.cfg", data);
    let _ = haproxy::read(&system, &main);
}

pub fn phpfpm_config(data: &[u8]) {
    let (system, main) = config_root("/etc/php/8.2/fpm/php-fpm.conf", data);
    let _ = phpfpm::read(&system, &main);
}

/// The first line is varnishd's command line (`-a`, `-b`, `-p`, `-j`…), the rest the VCL.
pub fn varnish_config(data: &[u8]) {
    let text = text(data);
    let (line, vcl) = text.split_once('\n').unwrap_or((&text, ""));
    let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    let (system, main) = config_root("/etc/varnish/default.vcl", vcl.as_bytes());
    let config = varnish::read(&system, &main, &args, Path::new("/proc/1/cmdline"));
    assert!(config.files.len() <= 1000);
}

/// The first byte picks the format: a Caddyfile (even) or Caddy's JSON (odd).
pub fn caddy_config(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let main = if pick % 2 == 0 { "/etc/caddy/Caddyfile" } else { "/etc/caddy/caddy.json" };
    let (system, main) = config_root(main, rest);
    let config = caddy::read(&system, &main);
    assert!(config.files.len() <= 1000);
}

pub fn traefik_config(data: &[u8]) {
    let (system, main) = config_root("/etc/traefik/traefik.yml", data);
    let _ = traefik::read(&system, &main);
}

pub fn envoy_config(data: &[u8]) {
    let (system, main) = config_root("/etc/envoy/envoy.yaml", data);
    let _ = envoy::read(&system, &main);
}

static SIGNATURES: LazyLock<Signatures> = LazyLock::new(|| Signatures::builtin().unwrap());

/// Every signature's regex, in table order: the classifier's reference (a line counts for the
/// first signature whose regex matches it). Each on its own rather than as a `RegexSet`, whose
/// search for all matches at once fell back to the PikeVM: 84 % of each execution.
static EVERY_PATTERN: LazyLock<Vec<regex::bytes::Regex>> = LazyLock::new(|| {
    SIGNATURES.list.iter().map(|s| regex::bytes::Regex::new(&s.pattern).unwrap()).collect()
});

/// The log classifier on each line, as a scan calls it, and the timestamp and fields of each
/// line: the signature must be the first whose regex matches (the prefilter, the walks and the
/// search for earlier signatures only make it faster), the fields those each rule's regex
/// takes. (The scan's own reading, in 1 MiB blocks on one thread or 256 KiB chunks on every
/// core, is tested on multi-MB logs in tests/logs_check.rs and `checks::logs::split`; a fuzz
/// input of a few KB would only pay for the block each time.)
pub fn log_classifier(data: &[u8]) {
    let signatures = &*SIGNATURES;
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    for line in data.split(|&b| b == b'\n') {
        let class = signatures.classify(line);
        let first = EVERY_PATTERN.iter().position(|regex| regex.is_match(line));
        assert_eq!(class, first, "{:?}", String::from_utf8_lossy(line));
        if class.is_some() {
            let _ = BERLIN.with(|clock| triage::checks::logs::time::line_time(line, clock));
        }
        signatures.fields_in(line, &mut fast);
        signatures.fields_by_regex(line, &mut slow);
        assert_eq!(fast, slow, "{:?}", String::from_utf8_lossy(line));
    }
}

thread_local! {
    /// A present and a zone with DST, so folds and gaps are exercised; made once, as a scan does.
    static BERLIN: triage::checks::logs::time::Clock = triage::checks::logs::time::Clock::new(
        1_764_600_000,
        jiff::tz::TimeZone::get("Europe/Berlin").unwrap_or(jiff::tz::TimeZone::UTC),
    );
}

/// The timestamp reader.
pub fn log_time(data: &[u8]) {
    use triage::checks::logs::time::line_time;
    if let Some(t) = BERLIN.with(|clock| line_time(data, clock)) {
        assert!((-377_705_116_800..=253_402_300_799).contains(&t), "{t}");
    }
}

/// The secret every planted line carries.
pub const PLANTED: &str = "pLaNtEd5eCr3tVa1ue";

/// Lines that carry [`PLANTED`] in the formats redaction must catch.
pub const PLANTS: &[&str] = &[
    "password=pLaNtEd5eCr3tVa1ue",
    "DB_PASSWORD='pLaNtEd5eCr3tVa1ue'",
    "api_key: \"pLaNtEd5eCr3tVa1ue\"",
    "Authorization: Bearer pLaNtEd5eCr3tVa1ue",
    "GET /login?token=pLaNtEd5eCr3tVa1ue HTTP/1.1",
    "mysql://app:pLaNtEd5eCr3tVa1ue@db.internal/shop",
    "https://shop.example.com/cb?session=pLaNtEd5eCr3tVa1ue&x=1",
];

/// Sanitising then redacting outside text, as the probes and the log scan do: the output holds
/// no control character (newlines aside) and no planted secret, whatever surrounds it. The
/// first byte picks the planted line, the rest is split around it at the first `\n`.
pub fn sanitize_redact(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else { return };
    let plant = PLANTS[usize::from(pick) % PLANTS.len()];
    let rest = text(rest);
    let (before, after) = rest.split_once('\n').unwrap_or((&rest, ""));
    let input = format!("{before}\n{plant}\n{after}");
    let clean = triage::sanitize::terminal_text(&input, true);
    let out = triage::redact::text(&clean);
    for c in out.chars() {
        assert!(c == '\n' || !c.is_control(), "control character {c:?} in {out:?}");
    }
    // The fuzzer learns the secret's bytes and may write them itself, under no key at all, or
    // have sanitising write them (`pLaNt` ESC… `Ed5e…`: the escapes go, the halves meet). Only
    // a secret on the planted line, intact after sanitising, must be gone.
    let held: Vec<&str> = clean.lines().filter(|l| l.contains(PLANTED)).collect();
    let planted_only = held == [plant];
    assert!(!planted_only || !out.contains(PLANTED), "the planted secret survived: {out:?}");
    let line = triage::sanitize::line(&out);
    assert!(!line.chars().any(char::is_control), "{line:?}");
    let again = triage::redact::text(&out);
    assert_eq!(again, out, "redaction is not idempotent");
}
