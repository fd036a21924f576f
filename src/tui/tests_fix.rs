//! Transition tests on the built-in runbook: the walk starts at once, an answer that names a
//! cause opens its fix card, the change made is recorded, monitoring repeats its checks over its
//! window, a command asks for the value it lacks, and the outcome asks the questions for the note.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::contract::{CheckEvent, CheckReport, CheckRequest, CheckStatus, RunId};
use crate::diagnosis::Rules;
use crate::facts::Facts;
use crate::runbook::model::Runbook;
use crate::session::{Event, FixOutcome, Position, Session, Stamp};
use crate::tui::app::{App, Effect, Mode, Msg, Pane};
use crate::tui::overlay::Overlay;
use crate::tui::walk::Item;

fn builtin() -> Runbook {
    crate::runbook::builtin::load_all().unwrap().into_iter().find(|r| r.id == "http-5xx").unwrap()
}

fn at(secs: i64) -> Stamp {
    Stamp::from_secs(1_764_578_561 + secs, 0)
}

fn start() -> (App, Vec<Effect>) {
    let rb = builtin();
    let session = Session::new("w-1".into(), &rb, "https://shop.test/".into(), "UTC".into(), at(0));
    let presets = [("monitor_for".to_owned(), "30s".to_owned())];
    App::start(rb, Rules::builtin().unwrap(), session, at(0), &presets)
}

fn key(app: &mut App, secs: i64, code: KeyCode) -> Vec<Effect> {
    app.update(at(secs), Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn started(fx: &[Effect]) -> Vec<(RunId, CheckRequest)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::StartCheck { run, request } => Some((*run, request.clone())),
            _ => None,
        })
        .collect()
}

/// Finishes every run in `fx` at `secs`, each with the facts `facts_for` gives its check.
fn finish_all(app: &mut App, secs: i64, fx: &[Effect], facts_for: impl Fn(&str) -> Facts) {
    for (run, request) in started(fx) {
        let report = CheckReport::new(&request.check, CheckStatus::Failed, "scripted")
            .with_facts(facts_for(&request.check));
        app.update(at(secs), Msg::Check(CheckEvent::Finished { run, report }));
    }
}

fn failing(check: &str) -> Facts {
    let mut f = Facts::new();
    match check {
        "http_probe" => {
            f.set("http.status", 502_i64);
            f.set("http.statuses", vec!["502".to_owned(); 3]);
            f.set("http.error_probes", 3_i64);
            f.set("responder.vendor", "nginx");
            f.set("responder.name", "nginx");
            f.set("responder.layer", "web_server");
            f.set("responder.generated", true);
        }
        "upstreams" => {
            f.set("upstream.socket_permission", vec!["/run/php/php8.3-fpm.sock".to_owned()]);
            f.set(
                "upstream.problem",
                "fastcgi_pass unix:/run/php/php8.3-fpm.sock: permission denied",
            );
            f.set("upstream.problem_at", "/etc/nginx/sites-enabled/shop:14");
        }
        _ => {}
    }
    f
}

fn healthy(check: &str) -> Facts {
    let mut f = Facts::new();
    if check == "http_probe" {
        f.set("http.status", 200_i64);
        f.set("http.statuses", vec!["200".to_owned(); 3]);
        f.set("http.error_probes", 0_i64);
    }
    f
}

/// Enter on the suggested answer; the effects of entering the next step.
fn confirm(app: &mut App, secs: i64) -> Vec<Effect> {
    assert!(app.suggestion.is_some(), "a suggestion at {:?}", app.session().position());
    app.focus = Pane::Question;
    key(app, secs, KeyCode::Enter)
}

/// From the start to the socket permission fix card, with the suggested answers only.
fn to_the_card() -> App {
    let (mut app, fx) = start();
    finish_all(&mut app, 1, &fx, failing);
    let fx = confirm(&mut app, 2);
    finish_all(&mut app, 3, &fx, failing);
    let fx = confirm(&mut app, 4);
    assert_eq!(app.session().position(), Position::Step("web-server-logs".into()));
    finish_all(&mut app, 5, &fx, failing);
    confirm(&mut app, 6);
    app
}

#[test]
fn a_url_starts_the_checks_at_once_and_the_inputs_are_one_key_away() {
    let (mut app, fx) = start();
    assert!(matches!(app.mode, Mode::Walk));
    assert_eq!(app.session().position(), Position::Step("confirm-public-error".into()));
    assert_eq!(started(&fx).len(), 4, "probe, DNS, TLS and the site's proxy config at once");
    key(&mut app, 1, KeyCode::Char('i'));
    assert!(matches!(&app.mode, Mode::Form(form) if form.editing));
    let entries = app.session().entries.len();
    key(&mut app, 1, KeyCode::Esc);
    assert!(matches!(app.mode, Mode::Walk), "Esc goes back to the walk");
    assert_eq!(app.session().entries.len(), entries, "nothing recorded");
    key(&mut app, 1, KeyCode::Char('i'));
    key(&mut app, 1, KeyCode::Down);
    for c in "203.0.113.7".chars() {
        key(&mut app, 1, KeyCode::Char(c));
    }
    let fx = app.update(at(2), Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
    assert_eq!(app.session().inputs().unwrap()["origin"], "203.0.113.7");
    assert_eq!(started(&fx).len(), 4, "the step's checks run again with the new inputs");
}

#[test]
fn a_cause_opens_its_card_at_full_height_and_the_change_made_is_recorded() {
    let mut app = to_the_card();
    assert_eq!(app.session().position(), Position::Step("fix-socket-permissions".into()));
    assert_eq!(app.focus, Pane::Details, "the card has the focus");
    assert_eq!(app.items().first(), Some(&Item::Fix(0)), "the card comes first");
    assert!(app.is_open(0), "and is open");
    assert!(app.suggestion.is_none(), "nothing suggests the change was made before it is");
    let fx = key(&mut app, 7, KeyCode::Char('r'));
    finish_all(&mut app, 8, &fx, healthy);
    assert_eq!(app.suggestion.as_ref().map(|s| s.choice), Some(0));
    let fx = confirm(&mut app, 9);
    let made = app.session().entries.iter().find_map(|e| match &e.event {
        Event::FixTried { fix, outcome, .. } => Some((fix.clone(), *outcome)),
        _ => None,
    });
    assert_eq!(made, Some(("fix-socket-permissions".to_owned(), FixOutcome::Made)));
    assert_eq!(app.session().position(), Position::Step("monitor".into()));
    assert!(
        app.session()
            .entries
            .iter()
            .any(|e| matches!(e.event, Event::Watching { every_secs: 10, for_secs: 30, .. }))
    );
    assert_eq!(started(&fx).len(), 2, "a probe and the log watch");
}

#[test]
fn monitoring_repeats_its_checks_over_the_window_then_suggests_resolved() {
    let mut app = to_the_card();
    let fx = key(&mut app, 7, KeyCode::Char('r'));
    finish_all(&mut app, 8, &fx, healthy);
    let mut fx = confirm(&mut app, 10);
    let mut rounds = 1;
    for secs in 11..=60 {
        finish_all(&mut app, secs, &fx, healthy);
        fx = app.update(at(secs), Msg::Tick);
        rounds += usize::from(!started(&fx).is_empty());
    }
    assert_eq!(rounds, 4, "rounds at 0, 10, 20 and 30 s of a 30 s window");
    let watch = app.assessment.watch.clone().unwrap();
    assert!(watch.done);
    assert_eq!((watch.probes.len(), watch.errors()), (12, 0));
    assert_eq!(app.suggestion.as_ref().map(|s| s.choice), Some(0), "resolved");
}

#[test]
fn a_command_asks_for_the_value_it_lacks_and_never_copies_a_placeholder() {
    let mut app = to_the_card();
    let items = app.items();
    let at_gap = items
        .iter()
        .position(|item| {
            let Item::FixCommand(f, c) = item else { return false };
            let step = app.current_step().unwrap();
            !app.missing(&step.fixes[*f].commands[*c].run).is_empty()
        })
        .expect("a command that lacks a value");
    app.view.item = at_gap;
    key(&mut app, 11, KeyCode::Char('c'));
    let mut fx = Vec::new();
    while let Some(Overlay::Fill(filling)) = &app.overlay {
        let value = if filling.missing[0].0 == "php_version" { "8.3" } else { "php8.3-fpm" };
        for c in value.chars() {
            key(&mut app, 12, KeyCode::Char(c));
        }
        fx = key(&mut app, 12, KeyCode::Enter);
    }
    let copied: Vec<&String> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Copy(text) => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(copied.len(), 1, "{fx:?}");
    assert!(!copied[0].contains("{{") && !copied[0].contains('‹'), "{}", copied[0]);
    assert!(copied[0].contains("8.3"), "{}", copied[0]);
}

#[test]
fn the_outcome_asks_the_questions_for_the_note() {
    let mut app = to_the_card();
    let fx = key(&mut app, 7, KeyCode::Char('r'));
    finish_all(&mut app, 8, &fx, healthy);
    let mut fx = confirm(&mut app, 10);
    for secs in 11..=45 {
        finish_all(&mut app, secs, &fx, healthy);
        fx = app.update(at(secs), Msg::Tick);
    }
    confirm(&mut app, 46);
    assert_eq!(app.session().position(), Position::Outcome("resolved".into()));
    let Some(Overlay::Ask(asking)) = &app.overlay else { panic!("no questions asked") };
    let last = asking.queue.last().unwrap().key.clone();
    assert_eq!(last, "send:resolved:3", "the outcome's own question comes last");
    while matches!(app.overlay, Some(Overlay::Ask(_))) {
        for c in "an answer".chars() {
            key(&mut app, 47, KeyCode::Char(c));
        }
        key(&mut app, 47, KeyCode::Enter);
    }
    assert!(app.session().asked(&last).is_some());
    assert!(app.open_asks().is_empty());
}

#[test]
fn page_down_moves_a_pane_less_one_line() {
    let mut app = to_the_card();
    app.update(at(7), Msg::Resize(80, 24));
    let height = crate::tui::draw::pane_height(&app, Pane::Details);
    key(&mut app, 7, KeyCode::PageDown);
    assert_eq!(usize::from(app.view.scroll), height - 1);
}

#[test]
fn no_command_of_the_runbook_is_ever_shown_or_copied_with_a_placeholder() {
    let (mut app, _) = start();
    let rb = builtin();
    let templates: Vec<String> = rb
        .steps
        .iter()
        .flat_map(|s| s.commands.iter().chain(s.fixes.iter().flat_map(|f| &f.commands)))
        .flat_map(|c| {
            let rollback = match &c.effect {
                crate::runbook::model::Effect::ChangesSystem { rollback, .. } => {
                    Some(rollback.clone())
                }
                crate::runbook::model::Effect::ReadOnly => None,
            };
            std::iter::once(c.run.clone()).chain(rollback)
        })
        .collect();
    assert!(templates.len() > 100, "{}", templates.len());
    // Nothing found yet: every gap is marked, and the copy asks for exactly those.
    for t in &templates {
        let shown = app.command(t);
        assert!(!shown.contains("{{"), "{t} → {shown}");
        assert_eq!(shown.contains('‹'), !app.missing(t).is_empty(), "{t} → {shown}");
    }
    // Every input set (as `i` or the copy's questions would): every command is complete.
    let values = rb.inputs.iter().map(|i| (i.name.clone(), format!("/x/{}", i.name))).collect();
    app.record(Event::InputsSet { values }, &mut Vec::new());
    for t in &templates {
        let shown = app.command(t);
        assert!(!shown.contains("{{") && !shown.contains('‹'), "{t} → {shown}");
    }
}
