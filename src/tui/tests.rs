//! Transition tests: `update` with scripted keys, check events and times → state and effects.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::contract::{CheckEvent, CheckReport, CheckRequest, CheckStatus, RunId};
use crate::diagnosis::Rules;
use crate::facts::Facts;
use crate::runbook::load;
use crate::runbook::model::{Runbook, SupportItem};
use crate::session::{Agreement, Event, FixOutcome, Position, Session, Stamp, Via};
use crate::tui::app::{App, Effect, Mode, Msg, Pane, RunState};
use crate::tui::overlay::Overlay;

fn runbook() -> Runbook {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/walk/checkout.yaml");
    load::load_file(std::path::Path::new(path)).unwrap().runbook
}

fn at(secs: i64) -> Stamp {
    Stamp::from_secs(1_764_578_561 + secs, 1)
}

fn fresh(url: &str) -> App {
    let rb = runbook();
    let session = Session::new("t-1".into(), &rb, url.into(), "Europe/Berlin".into(), at(0));
    App::new(rb, Rules::builtin().unwrap(), session, at(0))
}

fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.update(at(5), Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn ctrl(app: &mut App, c: char) -> Vec<Effect> {
    app.update(at(5), Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

fn chars(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn started(fx: &[Effect]) -> Vec<(RunId, CheckRequest)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::StartCheck { run, request } => Some((*run, request.clone())),
            _ => None,
        })
        .collect()
}

/// Through the inputs form onto the first step; returns the effects of the submit.
fn walking() -> (App, Vec<Effect>) {
    let mut app = fresh("https://shop.test/checkout");
    for _ in 0..4 {
        press(&mut app, KeyCode::Enter);
    }
    let fx = press(&mut app, KeyCode::Enter);
    (app, fx)
}

fn finish(app: &mut App, run: RunId, check: &str, facts: Facts) -> Vec<Effect> {
    let report =
        CheckReport::new(check, CheckStatus::Failed, "502 from cloudflare").with_facts(facts);
    app.update(at(7), Msg::Check(CheckEvent::Finished { run, report }))
}

fn cdn_facts() -> Facts {
    [("http.status", crate::facts::FactValue::Int(502)), ("responder.vendor", "cloudflare".into())]
        .into_iter()
        .collect()
}

fn events(app: &App) -> Vec<&Event> {
    app.session().entries.iter().map(|e| &e.event).collect()
}

#[test]
fn the_form_refuses_a_bad_url_with_a_reason_and_starts_on_a_good_one() {
    let mut app = fresh("ftp://shop.test");
    for _ in 0..5 {
        press(&mut app, KeyCode::Enter);
    }
    let Mode::Form(form) = &app.mode else { panic!("still on the form") };
    assert_eq!(form.cursor, 0, "back to the field in error");
    assert!(form.fields[0].error.as_deref().unwrap().contains("not an http or https URL"));
    assert!(app.session().entries.is_empty(), "nothing recorded yet");
    ctrl(&mut app, 'u');
    chars(&mut app, "shop.test");
    let fx = ctrl(&mut app, 's');
    assert!(matches!(app.mode, Mode::Walk));
    let Event::InputsSet { values } = &app.session().entries[0].event else { panic!() };
    assert_eq!(app.session().url, "https://shop.test/", "one rule: a bare host means https");
    assert!(!values.contains_key("url"), "the URL has one copy: the session's");
    assert_eq!(values["stack"], "nginx");
    assert_eq!(values["site_root"], "/var/www/html");
    assert!(fx.contains(&Effect::Save));
    let runs = started(&fx);
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].1.param("url"), Some("https://shop.test/"));
    assert_eq!(runs[0].1.param("count"), Some("5"));
}

#[test]
fn check_events_fold_in_and_the_evidence_preselects_a_suggestion() {
    let (mut app, fx) = walking();
    let (run, _) = started(&fx)[0].clone();
    app.update(at(6), Msg::Check(CheckEvent::Started { run }));
    assert_eq!(app.runs[0].state, RunState::Running { progress: None });
    app.update(at(6), Msg::Check(CheckEvent::Progress { run, message: "probe 2 of 5".into() }));
    assert!(app.is_animating());
    let fx = finish(&mut app, run, "http_probe", cdn_facts());
    assert_eq!(fx, vec![Effect::Save]);
    assert!(!app.is_animating());
    let suggestion = app.suggestion.clone().unwrap();
    assert_eq!(suggestion.choice, 0);
    assert_eq!(suggestion.reason, "The error page comes from the CDN.");
    assert_eq!(app.view.choice, 0, "pre-selected");
    assert!(
        matches!(events(&app).last(), Some(Event::CheckFinished { step, .. }) if step == "public-error")
    );
}

#[test]
fn confirming_and_overriding_the_suggestion_are_both_recorded() {
    let (mut app, fx) = walking();
    finish(&mut app, started(&fx)[0].0, "http_probe", cdn_facts());
    press(&mut app, KeyCode::Enter);
    let Some(Event::Answered { agreement, suggested, .. }) = app
        .session()
        .entries
        .iter()
        .rev()
        .map(|e| &e.event)
        .find(|e| matches!(e, Event::Answered { .. }))
    else {
        panic!()
    };
    assert_eq!(*agreement, Agreement::Confirmed);
    assert_eq!(suggested.as_ref().unwrap().choice, "cdn-error");
    assert_eq!(app.session().position(), Position::Step("origin-logs".into()));

    let (mut app, fx) = walking();
    finish(&mut app, started(&fx)[0].0, "http_probe", cdn_facts());
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let answered: Vec<_> =
        events(&app).into_iter().filter(|e| matches!(e, Event::Answered { .. })).collect();
    assert!(
        matches!(answered[0], Event::Answered { agreement: Agreement::Overrode, choice: Some(c), .. } if c == "fine")
    );
    assert!(app.session().is_closed());
}

#[test]
fn a_later_suggestion_does_not_move_a_cursor_the_user_moved() {
    let (mut app, fx) = walking();
    press(&mut app, KeyCode::Down);
    finish(&mut app, started(&fx)[0].0, "http_probe", cdn_facts());
    assert_eq!(app.view.choice, 1);
    assert_eq!(app.suggestion.as_ref().map(|s| s.choice), Some(0));
}

#[test]
fn events_of_superseded_runs_are_ignored() {
    let (mut app, fx) = walking();
    let (old, _) = started(&fx)[0].clone();
    let fx = press(&mut app, KeyCode::Char('r'));
    assert!(fx.contains(&Effect::CancelCheck(old)));
    let (new, _) = started(&fx)[0].clone();
    assert_ne!(old, new);
    let fx = finish(&mut app, old, "http_probe", cdn_facts());
    assert!(fx.is_empty(), "a late result of the old run changes nothing");
    assert!(app.suggestion.is_none());
    assert!(!events(&app).iter().any(|e| matches!(e, Event::CheckFinished { .. })));
    finish(&mut app, new, "http_probe", cdn_facts());
    assert!(app.suggestion.is_some());
}

#[test]
fn going_back_and_answering_differently_records_both_answers() {
    let (mut app, _) = walking();
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.session().position(), Position::Step("origin-logs".into()));
    let fx = press(&mut app, KeyCode::Char('b'));
    assert!(
        matches!(events(&app).last(), Some(Event::StepEntered { step, via: Via::Back, .. }) if step == "public-error")
    );
    assert_eq!(started(&fx).len(), 1, "the step's checks run again, with a fresh id");
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Enter);
    let answers: Vec<_> = events(&app)
        .into_iter()
        .filter_map(|e| match e {
            Event::Answered { choice, .. } => choice.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(answers, vec!["cdn-error".to_owned(), "origin-error".to_owned()]);
    let path: Vec<_> = app.session().path().into_iter().map(|v| v.answer).collect();
    assert_eq!(path.len(), 2);
    assert_eq!(path[0].as_deref(), Some("An error from the site itself | #1"));
}

#[test]
fn a_note_is_multi_line_takes_a_paste_and_is_saved_on_ctrl_s() {
    let (mut app, _) = walking();
    press(&mut app, KeyCode::Char('n'));
    assert!(matches!(app.overlay, Some(Overlay::Editor(_))));
    chars(&mut app, "first");
    press(&mut app, KeyCode::Enter);
    app.update(at(6), Msg::Paste("pasted \u{1b}[31mline".into()));
    let fx = ctrl(&mut app, 's');
    assert_eq!(fx, vec![Effect::Save]);
    assert!(app.overlay.is_none());
    let Some(Event::Noted { step, text }) = events(&app).last().copied() else { panic!() };
    assert_eq!(step.as_deref(), Some("public-error"));
    assert_eq!(text, "first\npasted line");
    press(&mut app, KeyCode::Char('n'));
    assert!(press(&mut app, KeyCode::Esc).is_empty(), "Esc saves nothing");
}

#[test]
fn copying_a_command_sends_it_and_shows_it() {
    let (mut app, _) = walking();
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.focus, Pane::Details);
    let fx = press(&mut app, KeyCode::Char('c'));
    let expected = "curl -sS -o /dev/null -D - https://shop.test/checkout";
    assert!(fx.contains(&Effect::Copy(expected.to_owned())), "{fx:?}");
    assert!(matches!(&app.overlay, Some(Overlay::Text { text, .. }) if text == expected));
    assert!(matches!(events(&app).last(), Some(Event::Copied { text, .. }) if text == expected));
    press(&mut app, KeyCode::Esc);
    let fx = press(&mut app, KeyCode::Char('s'));
    let Some(Effect::Copy(summary)) = fx.first() else { panic!("{fx:?}") };
    assert!(summary.contains("- Affected URL: https://shop.test/checkout"), "{summary}");
    assert!(summary.contains("- Request IDs: not collected"), "{summary}");
}

/// Onto the step with the fix card, through a typed answer.
fn at_origin_logs() -> App {
    let (mut app, _) = walking();
    press(&mut app, KeyCode::Enter);
    app
}

#[test]
fn a_fix_card_expands_and_is_marked_tried() {
    let mut app = at_origin_logs();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert!(app.view.expanded.contains(&0));
    press(&mut app, KeyCode::Char('t'));
    assert!(matches!(app.overlay, Some(Overlay::FixOutcome { fix: 0 })));
    let fx = press(&mut app, KeyCode::Char('p'));
    assert_eq!(fx, vec![Effect::Save]);
    let Some(Event::FixTried { fix, outcome, verify, .. }) = events(&app).last().copied() else {
        panic!()
    };
    assert_eq!((fix.as_str(), *outcome), ("start-php-fpm", FixOutcome::Partly));
    assert_eq!(verify, "curl -sSI https://shop.test/checkout shows 200.");
    assert_eq!(app.session().fix_outcome("origin-logs", "start-php-fpm"), Some(FixOutcome::Partly));
}

#[test]
fn a_text_answer_fills_the_support_items_no_check_filled() {
    let mut app = at_origin_logs();
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.overlay, Some(Overlay::Editor(_))));
    app.update(at(8), Msg::Paste("connect() to unix:/run/php/php-fpm.sock failed".into()));
    press(&mut app, KeyCode::Enter);
    let answered = events(&app)
        .into_iter()
        .find(|e| matches!(e, Event::Answered { choice: None, .. }))
        .unwrap();
    let Event::Answered { fills, answer, .. } = answered else { panic!() };
    assert_eq!(fills, &vec![SupportItem::FirstLogLine]);
    assert!(answer.starts_with("connect()"));
    assert_eq!(app.session().position(), Position::Step("restart-check".into()));
}

#[test]
fn the_outline_and_the_search_jump_to_any_step() {
    let (mut app, _) = walking();
    press(&mut app, KeyCode::Char('/'));
    chars(&mut app, "database");
    press(&mut app, KeyCode::Enter);
    assert!(
        matches!(events(&app).last(), Some(Event::StepEntered { step, via: Via::Jump, .. }) if step == "database")
    );
    // The outline takes typing at once, whether it was opened with `o` or `/`.
    press(&mut app, KeyCode::Char('o'));
    chars(&mut app, "error log");
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.session().position(), Position::Step("origin-logs".into()));
}

#[test]
fn quitting_asks_first_and_ctrl_c_quits_at_once() {
    let (mut app, _) = walking();
    assert!(press(&mut app, KeyCode::Char('q')).is_empty());
    assert!(matches!(app.overlay, Some(Overlay::ConfirmQuit)));
    assert!(press(&mut app, KeyCode::Char('n')).is_empty());
    press(&mut app, KeyCode::Char('q'));
    assert_eq!(press(&mut app, KeyCode::Char('e')), vec![Effect::Export, Effect::Quit]);
    assert_eq!(ctrl(&mut app, 'c'), vec![Effect::Quit]);
    let fx = app.update(at(9), Msg::Exported(Ok("/tmp/x.md".into())));
    assert_eq!(fx, vec![Effect::Save]);
    assert_eq!(app.status.as_deref(), Some("exported to /tmp/x.md"));
}

#[test]
fn resume_shows_recorded_results_and_starts_only_missing_checks() {
    let mut app = at_origin_logs();
    let fx: Vec<_> = started(&press(&mut app, KeyCode::Char('r')));
    let logs = fx.iter().find(|(_, r)| r.check == "logs").unwrap().0;
    finish(&mut app, logs, "logs", Facts::new());
    let saved = app.session().clone();
    let (resumed, fx) = App::resume(runbook(), Rules::builtin().unwrap(), saved, at(100)).unwrap();
    assert!(matches!(resumed.session().entries.last().map(|e| &e.event), Some(Event::Resumed)));
    assert_eq!(resumed.session().position(), Position::Step("origin-logs".into()));
    let again = started(&fx);
    assert_eq!(again.len(), 1, "only the check without a result runs again");
    assert_eq!(again[0].1.check, "upstreams");
    assert!(again[0].0 > logs, "fresh run ids");
    assert!(
        resumed
            .runs
            .iter()
            .any(|r| r.request.check == "logs" && matches!(r.state, RunState::Finished(_)))
    );
}

#[test]
fn the_offer_resumes_or_starts_fresh() {
    let (app, _) = walking();
    let existing = app.session().clone();
    let rb = runbook();
    let fresh =
        Session::new("t-2".into(), &rb, "https://shop.test/checkout".into(), "UTC".into(), at(50));
    let mut offer = App::with_offer(
        rb.clone(),
        Rules::builtin().unwrap(),
        fresh.clone(),
        existing.clone(),
        at(50),
    );
    press(&mut offer, KeyCode::Enter);
    assert_eq!(offer.session().id, "t-1", "Enter resumes, as the prompt says");
    assert!(matches!(offer.mode, Mode::Walk));
    let mut offer = App::with_offer(rb, Rules::builtin().unwrap(), fresh, existing, at(50));
    let fx = press(&mut offer, KeyCode::Char('f'));
    assert_eq!(offer.session().id, "t-2");
    assert!(matches!(offer.mode, Mode::Walk), "with the URL known, a fresh walk starts at once");
    assert_eq!(started(&fx).len(), 1);
}

#[test]
fn ticks_redraw_only_when_something_moves() {
    let (mut app, fx) = walking();
    app.take_dirty();
    let run = started(&fx)[0].0;
    app.update(at(5), Msg::Check(CheckEvent::Started { run }));
    app.take_dirty();
    app.update(at(5), Msg::Tick);
    assert!(app.take_dirty(), "the spinner turns while a check runs");
    finish(&mut app, run, "http_probe", Facts::new());
    app.take_dirty();
    app.update(at(7), Msg::Tick);
    assert!(!app.take_dirty(), "nothing moves, nothing is drawn");
    app.update(at(9), Msg::Tick);
    assert!(app.take_dirty(), "the header's clock moves on the walk screen");
    let existing = app.session().clone();
    let rb = runbook();
    let fresh = Session::new("t-2".into(), &rb, existing.url.clone(), "UTC".into(), at(50));
    let mut offer = App::with_offer(rb, Rules::builtin().unwrap(), fresh, existing, at(50));
    offer.take_dirty();
    offer.update(at(53), Msg::Tick);
    assert!(!offer.take_dirty(), "the offer shows no clock: nothing to draw");
}
