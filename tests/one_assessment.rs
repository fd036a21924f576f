//! One assessment: the same check reports, fed to `triage check` and to the TUI (through a
//! session, as the walk records them), give the same verdict, path and timeline, and the
//! exported note states it. The reports come from the real checks against a real nginx whose
//! PHP-FPM socket is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use triage::checks::registry::{self, Incident};
use triage::cli::check::CheckRun;
use triage::contract::{CheckReport, RunId};
use triage::diagnosis::Rules;
use triage::engine::{self, Limits};
use triage::report::markdown;
use triage::session::{Event, Session, Stamp};
use triage::site::SiteUrl;
use triage::tui::App;

use support::Nginx;

fn at(seconds: i64) -> Stamp {
    Stamp::from_secs(1_796_110_800 + seconds, 0)
}

/// Set in the copy of this test that runs the checks (see below).
const URL_VAR: &str = "ONE_ASSESSMENT_URL";

/// The checks run in this process and read `TRIAGE_PROC_ROOT` to see only the test's nginx, not
/// the machine's servers; a test may not set a variable for its whole process, so it runs itself
/// again with the variable set.
#[test]
fn triage_check_and_the_tui_give_the_same_verdict_on_the_same_reports() {
    if let Ok(url) = std::env::var(URL_VAR) {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
        runtime.unwrap().block_on(same_verdict(&url));
        return;
    }
    let Some(nginx) = Nginx::start(
        "        location / {\n            fastcgi_pass unix:{prefix}/php8.2-fpm.sock;\n        }",
    ) else {
        return;
    };
    let view = support::View::of(&[nginx.pid]);
    let mut itself = std::process::Command::new(std::env::current_exe().unwrap());
    itself
        .args(["--exact", "triage_check_and_the_tui_give_the_same_verdict_on_the_same_reports"])
        .args(["--nocapture", "--test-threads", "1"])
        .env(URL_VAR, nginx.url());
    let out = view.apply(&mut itself).output().unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && said.contains("1 passed"), "{said}");
}

async fn same_verdict(url: &str) {
    let site = SiteUrl::parse(url).unwrap();
    let incident = Incident {
        url: site.to_string(),
        host: site.host().to_owned(),
        count: Some(2),
        since: Some("10m".to_owned()),
        local_stack: true,
        ..Incident::default()
    };
    let requests = registry::plan(&incident);
    let reports =
        engine::run_all(requests.clone(), Limits::default(), engine::real_runner(), |_| {}).await;

    let check = CheckRun::new(&site, reports.clone()).unwrap();
    let rules = Rules::builtin().unwrap();
    let runbook = triage::runbook::builtin::find("http-5xx").unwrap().unwrap().runbook;
    let mut session = Session::new("s".into(), &runbook, site.to_string(), "UTC".into(), at(0));
    for (i, (request, report)) in requests.into_iter().zip(reports).enumerate() {
        record(&mut session, i, request, report);
    }
    let app = App::new(runbook, rules.clone(), session.clone(), at(60));

    let (ours, theirs) = (&check.assessment, &app.assessment().now);
    assert_eq!(ours.verdict, theirs.verdict, "the same verdict");
    assert_eq!(ours.path, theirs.path, "the same path");
    assert_eq!(ours.timeline, theirs.timeline, "the same timeline");
    assert_eq!(ours.verdict.cause, "upstream_socket_missing", "{:#?}", ours.verdict);
    let note = markdown::render(&session, &rules);
    assert!(note.contains(r"(upstream\_socket\_missing;"), "the note states it:\n{note}");
    assert!(note.contains("**Path:**"), "and the path:\n{note}");
}

fn record(
    session: &mut Session,
    i: usize,
    request: triage::contract::CheckRequest,
    report: CheckReport,
) {
    let event =
        Event::CheckFinished { step: "confirm".to_owned(), run: RunId(i as u64), request, report };
    session.record(at(i64::try_from(i).unwrap() + 1), event);
}
