//! The planted-secret corpus (`tests/fixtures/secrets/corpus.yaml`) against `redact::text` and
//! against every output that leaves the process: `check` and `check --json` (a loopback server
//! sends the secrets in its headers, body and redirect), `logs` and `logs --json` (a log file
//! holds them), the markdown and JSON exports and `triage sessions` (a saved session holds them
//! in its URL, notes, answers and check results). Every output must hold zero survivors, and
//! the shape around the secrets (names, hosts, paths, function names) must survive.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod outside_server;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use serde::Deserialize;
use triage::contract::{CheckReport, CheckRequest, CheckStatus, RunId};
use triage::facts::Facts;
use triage::redact;
use triage::session::{Agreement, Event, Session, Stamp, Store, Via};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/secrets/corpus.yaml");
const RUNBOOK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/walk/checkout.yaml");

/// How many secrets the corpus plants; the first test's name says it too.
const PLANTED: usize = 145;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    text: String,
    secrets: Vec<String>,
    #[serde(default)]
    keep: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(CORPUS).unwrap();
    let cases: Vec<Case> = triage::yaml::from_str(CORPUS, &text).unwrap();
    for case in &cases {
        for planted in case.secrets.iter().chain(&case.keep) {
            assert!(
                case.text.contains(planted.as_str()),
                "{}: `{planted}` is not in its text",
                case.name
            );
        }
    }
    cases
}

fn case<'a>(cases: &'a [Case], name: &str) -> &'a Case {
    cases.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no case `{name}`"))
}

/// What must not survive of a secret: the whole of it, each alphanumeric run of 4 to 7
/// characters, and every 8-character stretch of a longer run — so a secret cut short or masked
/// only in half still counts. Pieces that also occur in the corpus's non-secret text do not.
struct Needles {
    /// (case name, secret)
    secrets: Vec<(String, String)>,
    /// Every piece to look for, and the index of the secret it betrays.
    pieces: Vec<(usize, String)>,
    finder: aho_corasick::AhoCorasick,
}

/// How long a stretch of a secret's run has to be to betray it.
const STRETCH: usize = 8;

impl Needles {
    fn of(cases: &[Case]) -> Needles {
        Needles::from_secrets(
            cases
                .iter()
                .flat_map(|c| c.secrets.iter().map(|s| (c.name.clone(), s.clone())))
                .collect(),
            &shape(cases),
        )
    }

    fn from_secrets(secrets: Vec<(String, String)>, shape: &str) -> Needles {
        let mut pieces = Vec::new();
        for (i, (_, secret)) in secrets.iter().enumerate() {
            pieces.push((i, secret.clone()));
            for run in secret.split(|c: char| !c.is_ascii_alphanumeric()).filter(|r| r.len() >= 4) {
                let stretches = run.len().saturating_sub(STRETCH) + 1;
                let stretch = (0..stretches).map(|at| &run[at..(at + STRETCH).min(run.len())]);
                let kept = stretch.filter(|p| !shape.contains(p) && !redact::MASK.contains(p));
                pieces.extend(kept.map(|p| (i, p.to_owned())));
            }
        }
        let finder = aho_corasick::AhoCorasick::new(pieces.iter().map(|(_, p)| p)).unwrap();
        Needles { secrets, pieces, finder }
    }

    /// The secrets found in `output`, whole or in part, as `case: secret (found "needle")`.
    fn survivors(&self, output: &str) -> Vec<String> {
        let mut found: BTreeMap<usize, &str> = BTreeMap::new();
        for hit in self.finder.find_overlapping_iter(output) {
            let (secret, needle) = &self.pieces[hit.pattern().as_usize()];
            found.entry(*secret).or_insert(needle);
        }
        let survivor = |(i, needle): (usize, &str)| {
            let (case, secret) = &self.secrets[i];
            format!("{case}: `{secret}` (found `{needle}`)")
        };
        found.into_iter().map(survivor).collect()
    }

    fn of_case(&self, name: &str, cases: &[Case]) -> Needles {
        let own = self.secrets.iter().filter(|(c, _)| c == name).cloned().collect();
        Needles::from_secrets(own, &shape(cases))
    }
}

/// The corpus's text with every secret taken out.
fn shape(cases: &[Case]) -> String {
    let mut shape = cases.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("\n");
    for secret in cases.iter().flat_map(|c| &c.secrets) {
        shape = shape.replace(secret.as_str(), " ");
    }
    shape
}

/// Prints how many secrets `output` lost and returns what survived, named by the output.
fn survivors(what: &str, needles: &Needles, output: &str) -> Vec<String> {
    let survivors = needles.survivors(output);
    println!(
        "{what}: {} of {} planted secrets removed",
        needles.secrets.len() - survivors.len(),
        needles.secrets.len()
    );
    survivors.into_iter().map(|s| format!("{what}: {s}")).collect()
}

fn assert_none(survivors: &[String], outputs: &str) {
    assert!(
        survivors.is_empty(),
        "{} survived:\n{}\n--- outputs:\n{outputs}",
        survivors.len(),
        survivors.join("\n")
    );
}

#[test]
fn planted_secrets_145_of_145_removed() {
    let cases = corpus();
    let needles = Needles::of(&cases);
    assert_eq!(
        needles.secrets.len(),
        PLANTED,
        "the corpus changed: update PLANTED and this test's name"
    );
    let mut survivors = Vec::new();
    for case in &cases {
        let out = redact::text(&case.text);
        survivors.extend(
            needles
                .of_case(&case.name, &cases)
                .survivors(&out)
                .into_iter()
                .map(|s| format!("{s}\n    in: {out}")),
        );
    }
    println!("redact::text: {} of {PLANTED} planted secrets removed", PLANTED - survivors.len());
    assert!(survivors.is_empty(), "{} survived:\n{}", survivors.len(), survivors.join("\n"));
}

#[test]
fn redaction_is_idempotent() {
    for case in corpus() {
        let once = redact::text(&case.text).into_owned();
        let twice = redact::text(&once).into_owned();
        assert_eq!(once, twice, "{}: a second pass changed the text", case.name);
        let lines: Vec<String> = once.lines().map(|l| redact::text(l).into_owned()).collect();
        assert_eq!(lines.join("\n"), once, "{}: line by line differs", case.name);
    }
}

#[test]
fn the_shape_around_the_secrets_survives() {
    for case in corpus() {
        let out = redact::text(&case.text);
        for keep in &case.keep {
            assert!(out.contains(keep.as_str()), "{}: `{keep}` was lost:\n{out}", case.name);
        }
        if case.secrets.is_empty() {
            assert_eq!(out, case.text, "{}: has no secret, yet changed", case.name);
        }
    }
}

/// Pieces that redaction reacts to, for the property test below.
const FRAGMENTS: &[&str] = &[
    "password",
    "Token",
    "apiKey",
    "key",
    "code",
    "cookie",
    "Set-Cookie",
    "Authorization",
    "Bearer ",
    "Basic ",
    "=",
    ":",
    ": ",
    " = ",
    "=>",
    ",",
    ";",
    "&",
    "&amp;",
    "?",
    "#",
    "@",
    "/",
    "://",
    "https",
    "mysql",
    "u",
    "\"",
    "'",
    "`",
    "\\",
    "\\n",
    "\\\"",
    "\n",
    "\r\n",
    " ",
    "\t",
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "$",
    "-",
    "--",
    "-p",
    "-u ",
    "é",
    "\u{fffd}",
    "\u{1b}",
    "[redacted]",
    "abc123DEF456ghi789jkl",
    "s3cr3t",
    "null",
    "0",
    "42",
    "export ",
    "- ",
    "env[",
    "PDO->__construct(",
    "'mysql:host=db'",
    "mysqli_real_connect(",
    "Object(mysqli)",
    "define('DB_PASSWORD', ",
    "requirepass ",
    "<password>",
    "</password>",
    "key=\"a\" value=",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "ghp_",
    "sk_live_",
    "AKIA",
    "eyJhbGciOiJIUzI1",
    ".eyJzdWIiOiIxMjM0",
    "base64:",
    "xoxb-",
    "SG.",
    "curl ",
    "redis-cli -a ",
    "AUTH PLAIN ",
    "login x password ",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    /// Whatever the mix, redaction returns, and a second pass changes nothing.
    #[test]
    fn redaction_is_idempotent_on_any_mix(
        parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..48)
    ) {
        let input = parts.concat();
        let once = redact::text(&input).into_owned();
        let twice = redact::text(&once).into_owned();
        proptest::prop_assert_eq!(twice, once, "input: {:?}", input);
    }
}

// --- the real binary ---------------------------------------------------------------------------

fn triage(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(args)
        .env("TRIAGE_DATA_DIR", data)
        .env("TRIAGE_CONFIG_DIR", data.join("config"))
        .env("XDG_DATA_HOME", data)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.is_empty(),
        "triage {args:?} printed nothing: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A case as one line, the way a log or a header carries it.
fn one_line(text: &str) -> String {
    text.replace('\n', "\\n")
}

/// nginx messages of distinct log signatures: a report quotes the first line of each
/// signature, so one log holds at most one case per message.
const MESSAGES: &[&str] = &[
    "connect() failed (111: Connection refused) while connecting to upstream",
    "connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory) while connecting to upstream",
    "connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream",
    "connect() to unix:/run/php/php8.2-fpm.sock failed (11: Resource temporarily unavailable) while connecting to upstream",
    "connect() failed (113: No route to host) while connecting to upstream",
    "upstream timed out (110: Connection timed out) while connecting to upstream",
    "upstream timed out (110: Connection timed out) while reading response header from upstream",
    "upstream prematurely closed connection while reading response header from upstream",
    "recv() failed (104: Connection reset by peer) while reading response header from upstream",
    "upstream sent too big header while reading response header from upstream",
    "no live upstreams while connecting to upstream",
];

/// Runs `triage logs` (text and JSON) on logs holding `indexes`' cases, one per signature;
/// returns both outputs and the cases that did not reach the report.
fn logs_run(dir: &Path, cases: &[Case], indexes: &[usize]) -> (String, String, Vec<usize>) {
    let stamp = jiff::Zoned::now().checked_sub(jiff::SignedDuration::from_mins(2)).unwrap();
    let stamp = stamp.strftime("%Y/%m/%d %H:%M:%S").to_string();
    let mut lines = String::new();
    for (&i, message) in indexes.iter().zip(MESSAGES) {
        let text = one_line(&cases[i].text);
        lines.push_str(&format!(
            "{stamp} [error] 811#811: *{i} {message}, client: 203.0.113.7, marker: corpus-{i}-end, {text}\n"
        ));
    }
    let log = dir.join("error.log");
    std::fs::write(&log, lines).unwrap();
    let log = log.to_str().unwrap();
    let json = triage(dir, &["logs", "--json", "--since", "9999h", log]);
    let text = triage(dir, &["logs", "--since", "9999h", log]);
    let missing =
        indexes.iter().copied().filter(|i| !json.contains(&format!("corpus-{i}-end"))).collect();
    (json, text, missing)
}

#[test]
fn logs_and_logs_json_hold_no_planted_secret() {
    let cases = corpus();
    let needles = Needles::of(&cases);
    let dir = tempfile::tempdir().unwrap();
    let (mut json, mut text, mut missing) = (String::new(), String::new(), Vec::new());
    let all: Vec<usize> = (0..cases.len()).collect();
    for batch in all.chunks(MESSAGES.len()) {
        let (j, t, m) = logs_run(dir.path(), &cases, batch);
        json.push_str(&j);
        text.push_str(&t);
        missing.extend(m);
    }
    // A case that itself reads like another signature shares a message; it gets a log of its own.
    for i in missing {
        let (j, t, m) = logs_run(dir.path(), &cases, &[i]);
        assert!(m.is_empty(), "{}: the line is not in the report:\n{j}", cases[i].name);
        json.push_str(&j);
        text.push_str(&t);
    }
    let mut leaked = survivors("triage logs --json", &needles, &json);
    leaked.extend(survivors("triage logs", &needles, &text));
    assert_none(&leaked, &format!("{json}\n{text}"));
}

/// Headers one response carries (hyper takes 100 at most).
const HEADERS_PER_RESPONSE: usize = 40;

/// Cases packed into bodies that fit the 1 KiB excerpt a probe keeps, each case whole and each
/// body marked, so a test can tell that the excerpt reached the report.
fn bodies(cases: &[Case]) -> Vec<String> {
    const MARK: &str = "x-corpus-body\n";
    let mut out = vec![MARK.to_owned()];
    for case in cases {
        let text = format!("{}\n", case.text);
        assert!(MARK.len() + text.len() <= 1000, "{} is longer than a body excerpt", case.name);
        if out.last().unwrap().len() + text.len() > 1000 {
            out.push(MARK.to_owned());
        }
        out.last_mut().unwrap().push_str(&text);
    }
    out
}

/// A token that a probe's 1 KiB body excerpt would cut in two.
const CUT_TOKEN: &str = "CutT0kQz9Lm2Xw7Rp4Vb8Ns3Jd6Hf1Gk5";

fn cut_body() -> String {
    format!("{}ghp_{CUT_TOKEN}\n", ".".repeat(1005))
}

/// What the corpus server answers.
struct Routes {
    headers: Vec<Vec<(String, String)>>,
    bodies: Vec<String>,
    location: String,
}

impl Routes {
    /// `/headers/N`: 502 with cases as headers; `/body/N`: 502 with cases in the body;
    /// `/checkout`: a redirect to the `redirect location` case, which answers 502.
    fn answer(&self, path: &str) -> Vec<u8> {
        let number = |prefix: &str| path.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
        if let Some(n) = number("/headers/") {
            let headers: Vec<(&str, &str)> =
                self.headers[n].iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            outside_server::response(502, &headers, b"bad gateway")
        } else if let Some(n) = number("/body/") {
            outside_server::response(
                502,
                &[("content-type", "text/plain")],
                self.bodies[n].as_bytes(),
            )
        } else if path == "/cut" {
            outside_server::response(502, &[], cut_body().as_bytes())
        } else if path.starts_with("/checkout") {
            outside_server::response(302, &[("location", self.location.as_str())], b"")
        } else {
            outside_server::response(502, &[], b"bad gateway")
        }
    }
}

async fn corpus_server(cases: &[Case]) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt;
    let headers = cases
        .chunks(HEADERS_PER_RESPONSE)
        .map(|chunk| {
            let named = chunk.iter().enumerate();
            named.map(|(i, c)| (format!("x-corpus-{i}"), one_line(&c.text))).collect()
        })
        .collect();
    let location = case(cases, "redirect location").text.clone();
    let routes = Arc::new(Routes { headers, bodies: bodies(cases), location });
    outside_server::serve(move |mut stream| {
        let routes = Arc::clone(&routes);
        async move {
            let head = outside_server::read_head(&mut stream).await;
            let head = String::from_utf8_lossy(&head).into_owned();
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let _ = stream.write_all(&routes.answer(path)).await;
            let _ = stream.shutdown().await;
        }
    })
    .await
}

/// `triage check --no-local URL --count 1`, as text or JSON, off the runtime's threads.
async fn check(data: &Path, url: String, json: bool) -> String {
    let data = data.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut args = vec!["check", "--no-local", url.as_str(), "--count", "1"];
        if json {
            args.push("--json");
        }
        triage(&data, &args)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_check_json_hold_no_planted_secret() {
    let cases = corpus();
    let needles = Needles::of(&cases);
    let addr = corpus_server(&cases).await;
    let data = tempfile::tempdir().unwrap();
    let mut json = String::new();
    for n in 0..cases.len().div_ceil(HEADERS_PER_RESPONSE) {
        let out = check(data.path(), format!("http://{addr}/headers/{n}"), true).await;
        assert!(out.contains("x-corpus-0"), "the headers are not in the report:\n{out}");
        json.push_str(&out);
    }
    for n in 0..bodies(&cases).len() {
        let out = check(data.path(), format!("http://{addr}/body/{n}"), true).await;
        assert!(out.contains("x-corpus-body"), "the body is not in the report:\n{out}");
        json.push_str(&out);
    }
    let start = case(&cases, "check url").text.replace("127.0.0.1:8080", &addr.to_string());
    json.push_str(&check(data.path(), start.clone(), true).await);
    let text = check(data.path(), start, false).await;
    assert!(text.contains(&format!("{addr}/checkout?token=")), "{text}");
    let cut = check(data.path(), format!("http://{addr}/cut"), true).await;
    assert!(cut.contains("....ghp_"), "{cut}");
    let mut leaked = survivors("triage check --json", &needles, &json);
    leaked.extend(survivors("triage check", &needles, &text));
    let token = Needles::from_secrets(vec![("cut".into(), CUT_TOKEN.into())], "");
    leaked.extend(survivors("triage check --json, a token cut by the excerpt", &token, &cut));
    assert_none(&leaked, &format!("{json}\n{text}\n{cut}"));
}

/// A session that holds every case: in its URL, as a note and a text answer each, and in a
/// check result's details and facts.
fn planted_session(cases: &[Case]) -> Session {
    let runbook = triage::runbook::load::load_file(Path::new(RUNBOOK)).unwrap().runbook;
    let url = case(cases, "check url").text.clone();
    let at = |n: i64| Stamp::from_secs(1_764_578_561 + n, 1);
    let mut session =
        Session::new("20261201-084241-c0de".into(), &runbook, url.clone(), "UTC".into(), at(0));
    let step = runbook.start.clone();
    let values = BTreeMap::from([("url".to_owned(), url)]);
    session.record(at(1), Event::InputsSet { values });
    session.record(
        at(2),
        Event::StepEntered { step: step.clone(), title: "Confirm".into(), via: Via::Start },
    );
    for case in cases {
        session.record(at(3), Event::Noted { step: Some(step.clone()), text: case.text.clone() });
        let answer = case.text.clone();
        let agreement = Agreement::NoSuggestion;
        let (choice, suggested, fills) = (None, None, Vec::new());
        session.record(
            at(4),
            Event::Answered { step: step.clone(), choice, answer, suggested, agreement, fills },
        );
    }
    session.record(at(5), check_result(cases, step));
    session
}

/// A failed probe whose details and header facts are the cases, one line each.
fn check_result(cases: &[Case], step: String) -> Event {
    let lines: Vec<String> = cases.iter().map(|c| one_line(&c.text)).collect();
    let mut facts = Facts::new();
    facts.set("http.headers", lines.clone());
    facts.set("logs.first_line", lines[0].clone());
    let report = CheckReport::new("http_probe", CheckStatus::Failed, "502 from the origin")
        .with_details(lines)
        .with_facts(facts);
    Event::CheckFinished { step, run: RunId(1), request: CheckRequest::new("http_probe"), report }
}

#[test]
fn exports_and_sessions_hold_no_planted_secret() {
    let cases = corpus();
    let needles = Needles::of(&cases);
    let data = tempfile::tempdir().unwrap();
    let session = planted_session(&cases);
    Store::at(data.path().join("sessions")).unwrap().save(&session).unwrap();
    let markdown = triage(data.path(), &["export", &session.id, "--format", "md"]);
    assert!(markdown.contains("## Notes") && markdown.contains("PDO->__construct("), "{markdown}");
    let json = triage(data.path(), &["export", &session.id, "--format", "json"]);
    assert!(json.contains("\"noted\""), "{json}");
    let listing = triage(data.path(), &["sessions"]);
    assert!(
        listing.contains(&session.id) && listing.contains("127.0.0.1:8080/checkout"),
        "{listing}"
    );
    let mut leaked = survivors("triage export --format md", &needles, &markdown);
    leaked.extend(survivors("triage export --format json", &needles, &json));
    leaked.extend(survivors("triage sessions", &needles, &listing));
    assert_none(&leaked, &format!("{markdown}\n{json}\n{listing}"));
}
