//! Running unprivileged next to a root-owned nginx: every check that cannot see something says
//! so and names the command that would. `triage stack` runs as `nobody` (runuser); the upstreams
//! and resources checks run on a thread whose credentials are dropped to `nobody` (on Linux a
//! thread's uid is its own, so the rest of the test process stays root).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use support::{Nginx, View};
use triage::checks::{resources, upstreams};
use triage::contract::{CheckReport, CheckRequest, Progress};
use triage::facts::FactValue;
use triage::system::System;

const NOBODY: u32 = 65534;

/// Root is needed to become `nobody`; without it the test has nothing to show.
fn root_or_skip(test: &str) -> bool {
    if support::is_root() {
        return true;
    }
    eprintln!("\n!!!!! SKIPPED {test}: dropping to `nobody` needs root !!!!!\n");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI runs as root; this skip is a failure there"
    );
    false
}

/// Runs `work` on a fresh thread whose uid, gid and groups are `nobody`'s.
fn as_nobody<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        rustix::thread::set_thread_groups(&[]).unwrap();
        rustix::thread::set_thread_gid(rustix::process::Gid::from_raw(NOBODY)).unwrap();
        rustix::thread::set_thread_uid(rustix::process::Uid::from_raw(NOBODY)).unwrap();
        assert_eq!(rustix::process::geteuid().as_raw(), NOBODY);
        work()
    })
    .join()
    .unwrap()
}

/// Runs `check` as `nobody` on the machine as `nginx` alone shows it (`support::View`).
fn run_check(
    nginx: &Nginx,
    request: CheckRequest,
    check: fn(System, CheckRequest) -> CheckReport,
) -> CheckReport {
    let view = View::of(&[nginx.pid]);
    let system = view.system();
    as_nobody(move || check(system, request))
}

fn unseen(report: &CheckReport, key: &str) -> Vec<String> {
    match report.facts.get(key) {
        Some(FactValue::List(items)) => items.clone(),
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn triage_stack_as_nobody_names_what_it_could_not_see_and_the_sudo_command() {
    if !root_or_skip("unprivileged triage stack") {
        return;
    }
    let Some(nginx) = Nginx::start("        return 204;") else { return };
    // Copy the binary where `nobody` may run it, whatever the checkout's permissions.
    let dir = support::open_dir();
    let binary = dir.path().join("triage");
    std::fs::copy(env!("CARGO_BIN_EXE_triage"), &binary).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let view = View::of(&[nginx.pid]);
    let out = view
        .apply(&mut Command::new("runuser"))
        .args(["-u", "nobody", "--"])
        .arg(&binary)
        .args(["stack", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let unseen = json["unseen"].as_array().unwrap();
    let nginx_pid = nginx.pid.to_string();
    let about_nginx = unseen
        .iter()
        .find(|u| {
            u["what"].as_str().is_some_and(|w| {
                w.starts_with("which sockets nginx holds") && w.contains(&nginx_pid)
            })
        })
        .unwrap_or_else(|| panic!("no word about nginx's sockets: {unseen:#?}"));
    assert!(about_nginx["what"].as_str().unwrap().contains("user root"));
    assert!(
        about_nginx["instead"].as_str().unwrap().contains("sudo triage stack"),
        "{about_nginx}"
    );

    let text = view
        .apply(&mut Command::new("runuser"))
        .args(["-u", "nobody", "--"])
        .arg(&binary)
        .arg("stack")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("could not see which sockets nginx holds")
            && text.contains("run `sudo triage stack`"),
        "{text}"
    );
}

#[test]
fn upstreams_as_nobody_name_the_config_it_could_not_read_and_the_command_that_would() {
    if !root_or_skip("unprivileged upstreams") {
        return;
    }
    let Some(nginx) =
        Nginx::start_with("    include {prefix}/private/*.conf;", "        return 204;")
    else {
        return;
    };
    let private = nginx.prefix.join("private");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::write(
        private.join("sites.conf"),
        "server { listen 127.0.0.1:1; location / { proxy_pass http://127.0.0.1:2; } }\n",
    )
    .unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let request = CheckRequest::new("upstreams").with("config", nginx.config.to_string_lossy());
    let report = run_check(&nginx, request, |system, request| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(upstreams::run_on(system, &request, Progress::none()))
    });
    let what = unseen(&report, "upstream.unseen");
    let sites = private.display().to_string();
    assert!(
        what.contains(&format!("{sites} (permission denied)")),
        "the include's directory cannot be listed: {what:?}"
    );
    let line = report
        .details
        .iter()
        .find(|d| d.contains(&sites))
        .unwrap_or_else(|| panic!("{:?}", report.details));
    assert!(line.contains("run `sudo nginx -T`"), "{line}");
    assert!(
        what.iter().any(|w| w.starts_with("which sockets nginx holds")),
        "the stack's blind spots come along: {what:?}"
    );
}

#[test]
fn resources_as_nobody_say_which_limits_they_could_not_read() {
    if !root_or_skip("unprivileged resources") {
        return;
    }
    let Some(nginx) = Nginx::start("        return 204;") else { return };
    let report = run_check(&nginx, CheckRequest::new("resources"), |system, _| {
        resources::report(&resources::measure(&system, &[], resources::DEFAULT_WINDOW))
    });
    let what = unseen(&report, "host.unseen");
    assert!(what.iter().any(|w| w.starts_with("the open files of nginx")), "{what:?}");
    // nginx marks its workers dumpable after dropping to `nobody`, so their sockets are visible.
    let lines = report.details.join("\n");
    assert!(lines.contains("run `sudo triage check`"), "{lines}");
    if std::fs::read_to_string("/proc/sys/kernel/dmesg_restrict").is_ok_and(|v| v.trim() == "1") {
        assert!(
            lines.contains("could not see the kernel log for OOM kills in the window")
                && lines.contains("sudo dmesg -T"),
            "{lines}"
        );
    }
}
