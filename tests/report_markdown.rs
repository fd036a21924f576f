//! Golden exports: a scripted walk through the fixture runbook, with secrets planted in the
//! inputs, headers, log lines, notes and answers, exported as markdown and JSON. The markdown is
//! a snapshot; no planted secret may appear in either export.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use triage::contract::{CheckEvent, CheckReport, CheckStatus};
use triage::diagnosis::Rules;
use triage::facts::Facts;
use triage::report::{json, markdown};
use triage::runbook::load;
use triage::session::{Session, Stamp};
use triage::tui::{App, Effect, Msg};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/walk/checkout.yaml");

const SECRETS: &[&str] = &[
    "SECRET-QUERY-TOKEN",
    "SECRET-COOKIE",
    "SECRET-BEARER",
    "SECRET-API-KEY",
    "SECRET-DB-PASSWORD",
    "SECRET-NOTE-PASSWORD",
    "SECRET-ANSWER-TOKEN",
];

struct Walk {
    app: App,
    clock: i64,
}

impl Walk {
    fn now(&mut self) -> Stamp {
        self.clock += 17;
        Stamp::from_secs(1_764_578_561 + self.clock, 1)
    }

    fn key(&mut self, code: KeyCode) -> Vec<Effect> {
        let now = self.now();
        self.app.update(now, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    fn ctrl(&mut self, c: char) {
        let now = self.now();
        self.app.update(now, Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)));
    }

    fn paste(&mut self, text: &str) {
        let now = self.now();
        self.app.update(now, Msg::Paste(text.to_owned()));
    }

    /// Finishes every check the effects started, each with the facts `results` gives it.
    fn finish(
        &mut self,
        fx: &[Effect],
        results: impl Fn(&str) -> (CheckStatus, String, Vec<String>, Facts),
    ) {
        for effect in fx {
            if let Effect::StartCheck { run, request } = effect {
                let (status, summary, details, facts) = results(&request.check);
                let report = CheckReport::new(&request.check, status, summary)
                    .with_details(details)
                    .with_facts(facts);
                let now = self.now();
                self.app.update(now, Msg::Check(CheckEvent::Finished { run: *run, report }));
            }
        }
    }
}

fn probe(check: &str) -> (CheckStatus, String, Vec<String>, Facts) {
    let mut facts = Facts::new();
    if check != "http_probe" {
        let mut logs = Facts::new();
        logs.set(
            "logs.first_line",
            "2025/12/01 09:41:02 [error] connect() failed (111: Connection refused) while connecting to upstream, request: \"GET /checkout?api_key=SECRET-API-KEY HTTP/1.1\", upstream: \"fastcgi://unix:/run/php/php8.2-fpm.sock\"",
        );
        return (
            CheckStatus::Failed,
            "1 matching line in /var/log/nginx/error.log".into(),
            vec![],
            logs,
        );
    }
    facts.set("http.status", 502_i64);
    facts.set("http.statuses", vec!["502".to_owned(); 3]);
    facts.set("http.error_probes", 3_i64);
    facts.set("responder.vendor", "cloudflare");
    facts.set("responder.code", "502");
    facts.set("http.server", "cloudflare");
    facts.set(
        "http.headers",
        vec![
            "server: cloudflare".to_owned(),
            "set-cookie: session=SECRET-COOKIE; Path=/; HttpOnly".to_owned(),
            "authorization: Bearer SECRET-BEARER-abcdef123456".to_owned(),
            "cf-ray: 8e1f2a3b4c5d6e7f-AMS".to_owned(),
            "x-note: a | pipe and `ticks`".to_owned(),
        ],
    );
    facts.set("http.request_ids", vec!["cf-ray: 8e1f2a3b4c5d6e7f-AMS".to_owned()]);
    let details = vec!["Cookie: sid=SECRET-COOKIE-2".to_owned(), "3 of 3 probes: 502".to_owned()];
    (CheckStatus::Failed, "3 of 3 probes returned 502 from Cloudflare".into(), details, facts)
}

/// public-error (confirm the suggestion, copy the command, a note) → origin-logs (a fix tried,
/// a pasted answer) → restart-check (overriding the suggestion) → resolved.
fn scripted() -> App {
    let runbook = load::load_file(std::path::Path::new(FIXTURE)).unwrap().runbook;
    let url = "https://shop.example.com/checkout?token=SECRET-QUERY-TOKEN&step=2";
    let start = Stamp::from_secs(1_764_578_561, 1);
    let session = Session::new(
        "20251201-084241-3fa9".into(),
        &runbook,
        url.into(),
        "Europe/Berlin".into(),
        start,
    );
    let mut walk =
        Walk { app: App::new(runbook, Rules::builtin().unwrap(), session, start), clock: 0 };
    for _ in 0..4 {
        walk.key(KeyCode::Enter);
    }
    let fx = walk.key(KeyCode::Enter);
    walk.finish(&fx, probe);
    walk.key(KeyCode::Tab);
    walk.key(KeyCode::Char('c'));
    walk.key(KeyCode::Esc);
    walk.key(KeyCode::Char('n'));
    walk.paste("Cloudflare 502 on every probe; logged in with password=SECRET-NOTE-PASSWORD\n| pipes *stars* <b>html</b> ```fence");
    walk.ctrl('s');
    walk.key(KeyCode::BackTab);
    let fx = walk.key(KeyCode::Enter);
    walk.finish(&fx, probe);
    walk.key(KeyCode::Tab);
    walk.key(KeyCode::Char('t'));
    walk.key(KeyCode::Char('w'));
    walk.key(KeyCode::BackTab);
    walk.key(KeyCode::Enter);
    walk.paste("connect() failed, see https://admin.example.com/?access_token=SECRET-ANSWER-TOKEN");
    walk.key(KeyCode::Enter);
    // The old probe still says 502, so the evidence suggests "still failing"; the user knows better.
    walk.key(KeyCode::Up);
    walk.key(KeyCode::Enter);
    walk.app
}

#[test]
fn the_markdown_note_is_golden_and_has_no_secret() {
    let app = scripted();
    assert!(app.session().is_closed(), "the walk reached its outcome");
    let note = markdown::render(app.session(), app.rules());
    for secret in SECRETS {
        assert!(!note.contains(secret), "{secret} leaked:\n{note}");
    }
    for label in [
        "Affected URL",
        "Timestamps (with timezone)",
        "Status seen",
        "Response headers",
        "Request IDs",
        "Recent changes",
        "CDN or origin branding",
        "First matching proxy or application log line",
    ] {
        assert!(note.contains(&format!("- **{label}:**")), "{label} missing");
    }
    assert!(note.contains("- **Recent changes:** _not collected_"));
    let order = [
        "# HTTP 502 Bad Gateway on ",
        "- **Cause:**",
        "- **Seen:** worst HTTP 502 Bad Gateway, made by cloudflare",
        "- **Tried:**",
        "- **Outcome:** resolved",
        "## What to send support",
        "## Timeline",
        "## Fixes tried",
        "## Notes",
        "## Commands copied",
    ];
    let at: Vec<usize> = order.iter().map(|h| note.find(h).unwrap()).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "sections out of order: {at:?}");
    insta::assert_snapshot!("incident_note", note);
}

#[test]
fn the_json_export_has_the_same_data_a_schema_and_no_secret() {
    let app = scripted();
    let text = json::render(app.session(), app.rules());
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} leaked");
    }
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["schema"], "triage.session-export");
    assert_eq!(doc["version"], 2);
    assert_eq!(doc["incident"]["status"], 502, "the incident, not the last probe");
    assert!(doc["incident"]["first_seen"].as_str().unwrap().ends_with("+01:00"));
    assert_eq!(doc["tried"][0]["outcome"], "worked");
    assert!(doc["path"].is_object(), "the path (or null once nothing names a hop)");
    assert_eq!(doc["support"].as_array().unwrap().len(), 8);
    assert_eq!(doc["session"]["closed"], true);
    assert_eq!(doc["session"]["time_zone"], "Europe/Berlin");
    let entries = doc["entries"].as_array().unwrap();
    assert_eq!(entries.len(), app.session().entries.len());
    let kinds: Vec<&str> = entries.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for kind in [
        "inputs_set",
        "step_entered",
        "answered",
        "noted",
        "fix_tried",
        "copied",
        "check_finished",
        "outcome_reached",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let answered = entries.iter().find(|e| e["type"] == "answered").unwrap();
    assert_eq!(answered["agreement"], "confirmed");
    assert!(answered["at"].as_str().unwrap().ends_with("+01:00"));
}
