//! Every screen of the walk-through, rendered into a `TestBackend` at 80x24 (the design size) and
//! 120x40, from the tests' own fixture runbook and scripted check results.

// Test helpers outside #[test] functions may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use triage::contract::{CheckEvent, CheckReport, CheckStatus, RunId};
use triage::diagnosis::Rules;
use triage::facts::{FactValue, Facts};
use triage::runbook::load;
use triage::session::{Session, Stamp};
use triage::tui::draw::{self, Theme};
use triage::tui::{App, Effect, Msg};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/walk/checkout.yaml");

fn at(secs: i64) -> Stamp {
    Stamp::from_secs(1_764_578_561 + secs, 1)
}

fn app() -> App {
    let runbook = load::load_file(std::path::Path::new(FIXTURE)).unwrap().runbook;
    let session = Session::new(
        "20251201-084241-3fa9".into(),
        &runbook,
        "https://shop.example.com/checkout".into(),
        "Europe/Berlin".into(),
        at(0),
    );
    App::new(runbook, Rules::builtin().unwrap(), session, at(0))
}

fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(at(95), Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn keys(app: &mut App, codes: &[KeyCode]) -> Vec<Effect> {
    codes.iter().flat_map(|c| key(app, *c)).collect()
}

fn runs(fx: &[Effect]) -> Vec<(RunId, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::StartCheck { run, request } => Some((*run, request.check.clone())),
            _ => None,
        })
        .collect()
}

fn screen(app: &App, width: u16, height: u16, theme: Theme) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw::render(app, frame, theme)).unwrap();
    terminal.backend().to_string()
}

/// Snapshots the screen at both sizes.
fn snap(name: &str, app: &App) {
    for (w, h) in [(80, 24), (120, 40)] {
        insta::assert_snapshot!(format!("{name}@{w}x{h}"), screen(app, w, h, Theme::default()));
    }
}

/// Snapshots the screen at tmux's usual 80x23 too.
fn snap3(name: &str, app: &mut App) {
    for (w, h) in [(80, 23), (80, 24), (120, 40)] {
        app.update(at(95), Msg::Resize(w, h));
        insta::assert_snapshot!(format!("{name}@{w}x{h}"), screen(app, w, h, Theme::default()));
    }
}

fn probe_facts() -> Facts {
    let mut facts = Facts::new();
    facts.set("http.status", 502_i64);
    facts.set("http.statuses", vec!["502".to_owned(); 5]);
    facts.set("http.error_probes", 5_i64);
    facts.set("responder.vendor", "cloudflare");
    facts.set("responder.code", "502");
    facts.set("http.request_ids", vec!["cf-ray: 8e1f2a3b4c5d6e7f-AMS".to_owned()]);
    facts
}

fn finish(
    app: &mut App,
    run: RunId,
    check: &str,
    status: CheckStatus,
    summary: &str,
    facts: Facts,
) {
    let report = CheckReport::new(check, status, summary).with_facts(facts).with_details(vec![
        "5 of 5 probes: 502 Bad Gateway".to_owned(),
        "server: cloudflare".to_owned(),
    ]);
    app.update(at(90), Msg::Check(CheckEvent::Finished { run, report }));
}

/// On the first step, the probe finished with a Cloudflare 502.
fn first_step_with_evidence() -> App {
    let mut app = app();
    let fx = keys(&mut app, &[KeyCode::Enter; 5]);
    let (run, _) = runs(&fx)[0].clone();
    finish(
        &mut app,
        run,
        "http_probe",
        CheckStatus::Failed,
        "5 of 5 probes returned 502 from Cloudflare",
        probe_facts(),
    );
    app
}

/// On the second step (a text question, causes, a fix card), its checks in flight.
fn second_step() -> (App, Vec<(RunId, String)>) {
    let mut app = first_step_with_evidence();
    let fx = key(&mut app, KeyCode::Enter);
    (app, runs(&fx))
}

/// On the fix step, reached through the typed log line and the "PHP-FPM is stopped" answer.
fn fix_step() -> App {
    let (mut app, started) = second_step();
    for (run, check) in &started {
        finish(&mut app, *run, check, CheckStatus::Failed, "1 matching line", Facts::new());
    }
    key(&mut app, KeyCode::Enter);
    app.update(at(96), Msg::Paste("connect() to unix:/run/php/php8.2-fpm.sock failed".into()));
    key(&mut app, KeyCode::Enter);
    keys(&mut app, &[KeyCode::Down, KeyCode::Down, KeyCode::Down]);
    let fx = key(&mut app, KeyCode::Enter);
    for (run, check) in runs(&fx) {
        finish(
            &mut app,
            run,
            &check,
            CheckStatus::Failed,
            "3 of 3 probes returned 502",
            probe_facts(),
        );
    }
    app
}

fn ok_probe(app: &mut App, run: RunId, secs: i64, status: i64) {
    let mut facts = Facts::new();
    facts.set("http.status", status);
    facts.set("http.statuses", vec![status.to_string()]);
    facts.set("http.error_probes", i64::from(status >= 500));
    let report =
        CheckReport::new("http_probe", CheckStatus::Passed, format!("{status} on every probe"))
            .with_facts(facts);
    app.update(at(secs), Msg::Check(CheckEvent::Finished { run, report }));
}

#[test]
fn the_fix_step_opens_its_card_at_full_height() {
    let mut app = fix_step();
    snap3("fix_step", &mut app);
}

#[test]
fn monitoring_draws_a_sparkline() {
    let mut app = fix_step();
    let fx = key(&mut app, KeyCode::Char('r'));
    ok_probe(&mut app, runs(&fx)[0].0, 100, 200);
    keys(&mut app, &[KeyCode::Tab]);
    let mut fx = app.update(at(101), Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    for (n, secs) in (101..=160).step_by(10).enumerate() {
        if let Some((run, _)) = runs(&fx).first().cloned() {
            ok_probe(&mut app, run, secs, if n == 3 { 502 } else { 200 });
        }
        fx = app.update(at(secs + 10), Msg::Tick);
    }
    snap3("monitor", &mut app);
}

#[test]
fn the_inputs_form() {
    let mut app = app();
    snap("form", &app);
    keys(&mut app, &[KeyCode::Down, KeyCode::Right]);
    snap("form_choice", &app);
}

#[test]
fn the_inputs_form_with_an_error() {
    let runbook = load::load_file(std::path::Path::new(FIXTURE)).unwrap().runbook;
    let session =
        Session::new("s".into(), &runbook, "ftp://shop.example.com".into(), "UTC".into(), at(0));
    let mut app = App::new(runbook, Rules::builtin().unwrap(), session, at(0));
    keys(&mut app, &[KeyCode::Enter; 5]);
    snap("form_error", &app);
}

#[test]
fn a_step_while_its_check_runs() {
    let mut app = app();
    let fx = keys(&mut app, &[KeyCode::Enter; 5]);
    let (run, _) = runs(&fx)[0].clone();
    app.update(at(91), Msg::Check(CheckEvent::Started { run }));
    app.update(at(92), Msg::Check(CheckEvent::Progress { run, message: "probe 3 of 5".into() }));
    snap("step_running", &app);
}

#[test]
fn a_step_with_a_suggestion() {
    snap("step_suggested", &first_step_with_evidence());
}

#[test]
fn a_step_whose_checks_could_not_run() {
    let mut app = app();
    let fx = keys(&mut app, &[KeyCode::Enter; 5]);
    let (run, _) = runs(&fx)[0].clone();
    let report = CheckReport::could_not_run(
        "http_probe",
        "the `http_probe` check is not available in this build",
        None,
    );
    app.update(at(90), Msg::Check(CheckEvent::Finished { run, report }));
    snap("step_could_not_run", &app);
}

#[test]
fn the_step_details_with_an_open_fix_card() {
    let (mut app, runs) = second_step();
    for (run, check) in &runs {
        let mut facts = Facts::new();
        facts.set(
            "logs.first_line",
            "connect() to unix:/run/php/php8.2-fpm.sock failed (2: No such file or directory)",
        );
        finish(&mut app, *run, check, CheckStatus::Failed, "1 matching line in error.log", facts);
    }
    keys(&mut app, &[KeyCode::Tab, KeyCode::Enter]);
    snap("step_fix_open", &app);
    keys(&mut app, &[KeyCode::Down]);
    snap("step_fix_command", &app);
}

#[test]
fn a_text_question() {
    let (app, _) = second_step();
    snap("text_question", &app);
}

#[test]
fn the_trail_focused() {
    let (mut app, _) = second_step();
    keys(&mut app, &[KeyCode::Left, KeyCode::Up]);
    snap("trail", &app);
}

#[test]
fn the_outcome() {
    let mut app = first_step_with_evidence();
    keys(&mut app, &[KeyCode::Down, KeyCode::Down, KeyCode::Enter]);
    snap("outcome", &app);
}

#[test]
fn the_overlays() {
    let mut app = first_step_with_evidence();
    key(&mut app, KeyCode::Char('?'));
    snap("help", &app);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('/'));
    for c in "re".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    snap("search", &app);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('n'));
    app.update(
        at(96),
        Msg::Paste("Cloudflare shows 502 on every probe.\nOrigin not yet checked.".into()),
    );
    snap("note", &app);
    key(&mut app, KeyCode::Esc);
    keys(&mut app, &[KeyCode::Tab, KeyCode::Char('c')]);
    snap("copied", &app);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('q'));
    snap("quit", &app);
}

#[test]
fn the_fix_outcome_question() {
    let (mut app, _) = second_step();
    keys(&mut app, &[KeyCode::Tab, KeyCode::Char('t')]);
    snap("fix_tried", &app);
}

#[test]
fn the_resume_offer() {
    let existing = first_step_with_evidence().session().clone();
    let runbook = load::load_file(std::path::Path::new(FIXTURE)).unwrap().runbook;
    let fresh = Session::new("new".into(), &runbook, existing.url.clone(), "UTC".into(), at(200));
    let mut app = App::with_offer(runbook, Rules::builtin().unwrap(), fresh, existing, at(200));
    snap3("offer", &mut app);
}

#[test]
fn a_smaller_terminal_gets_a_compact_layout_then_one_line() {
    let app = first_step_with_evidence();
    insta::assert_snapshot!("compact@60x20", screen(&app, 60, 20, Theme::default()));
    insta::assert_snapshot!("too_small@36x10", screen(&app, 36, 10, Theme::default()));
}

#[test]
fn quitting_before_anything_is_recorded_says_so() {
    let mut app = app();
    key(&mut app, KeyCode::Esc);
    snap("quit_unrecorded", &app);
}

#[test]
fn ascii_and_monochrome() {
    let theme = Theme { mono: true, ascii: true };
    let mut app = first_step_with_evidence();
    insta::assert_snapshot!("ascii@80x24", screen(&app, 80, 24, theme));
    keys(&mut app, &[KeyCode::Tab, KeyCode::Down]);
    let monochrome = screen(&app, 80, 24, theme);
    assert!(monochrome.contains("> $ curl"), "the selection is marked by a symbol:\n{monochrome}");
}

#[test]
fn hostile_text_never_reaches_the_screen() {
    let mut app = app();
    let fx = keys(&mut app, &[KeyCode::Enter; 5]);
    let (run, _) = runs(&fx)[0].clone();
    let mut facts = Facts::new();
    facts.set("http.server", FactValue::Text("evil\u{1b}]52;c;aGk=\u{7}".into()));
    finish(&mut app, run, "http_probe", CheckStatus::Warning, "odd \u{1b}[2J server", facts);
    let text = screen(&app, 80, 24, Theme::default());
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("odd  server") || text.contains("odd server"), "{text}");
}
