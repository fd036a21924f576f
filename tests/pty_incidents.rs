//! Three incidents walked in the real binary, in a pseudo-terminal, against real servers on
//! loopback, with the built-in runbook and the answers the evidence suggests only: nginx shut
//! out of PHP-FPM's socket, an app whose PostgreSQL is stopped, and an upstream that refuses
//! connections. Each walk reaches its fix card before Monitor; the test then repairs the fault
//! as the card says, the re-run checks suggest that the change was made, Monitor watches a short
//! window and sees the recovery, and the walk ends resolved. The note's first screen is golden,
//! and no copied or exported command holds a `{{placeholder}}`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use support::pty::{ENTER, ESC, TAB, Tui, entries_of, session_file, triage};
use support::servers::Postgres;
use support::{Nginx, PhpFpm, free_port};

/// Monitor's window in these walks: three rounds of probes, 10 s apart.
const WINDOW: &str = "20s";

/// On the step titled `step`, waits for the answer the evidence suggests (its label ends in
/// `label`) and the checks to finish, then confirms it.
fn confirm(tui: &mut Tui, step: &str, label: &str) {
    let pane = format!("╭ {step}");
    tui.wait_for_within(&pane, Duration::from_secs(40));
    tui.wait_for_within(label, Duration::from_secs(40));
    tui.wait_gone("still running");
    let screen = tui.screen();
    assert!(screen.contains(&pane) && screen.contains(label), "{label:?}:\n{screen}");
    tui.press(ENTER);
    tui.wait_gone(&pane);
}

/// Copies the card's first command; a value it lacks is asked for (and given) first.
fn copy_first_command(tui: &mut Tui, value: &str) {
    tui.press("j");
    tui.press("c");
    while tui.wait_for_any(&["Command copied", "A value the command needs"]).0 == 1 {
        tui.paste(value);
        tui.press(ENTER);
        std::thread::sleep(Duration::from_millis(200));
    }
    tui.press(ESC);
    tui.wait_gone("Command copied");
}

/// On a fix step: the card is open, first; a command of it is copied; after the repair `r`
/// checks again and the suggested "the change is made" is confirmed.
fn repaired(tui: &mut Tui, card: &str, repair: impl FnOnce()) {
    tui.wait_for(card);
    let screen = tui.wait_for("Question — Tab to answer");
    assert!(
        screen.contains(&format!("▸ ▾ {}", &card[..20])),
        "the card opens first, in full:\n{screen}"
    );
    assert!(screen.contains("Question — Tab to answer"), "the card has the height:\n{screen}");
    copy_first_command(tui, "shop");
    repair();
    tui.press("r");
    tui.press(TAB);
    tui.wait_for_within("★ suggested", Duration::from_secs(30));
    tui.wait_gone("still running");
    tui.press(ENTER);
}

/// Monitor over its window, resolved; the questions for the note answered; exported; quit.
fn monitored_and_resolved(tui: &mut Tui, answers: &[&str]) {
    tui.wait_for("Monitor after recovery");
    tui.wait_for("5xx rate 0%");
    tui.wait_for_within("stayed clean ★ suggested", Duration::from_secs(60));
    confirm(tui, "Monitor after recovery", "stayed clean ★ suggested");
    tui.wait_for("The end: Resolved");
    let screen = tui.wait_for("For the note: question 1 of ");
    let total: usize =
        regex::Regex::new(r"question 1 of (\d+)").unwrap().captures(&screen).unwrap()[1]
            .parse()
            .unwrap();
    for n in 1..=total {
        tui.wait_for(&format!("question {n} of {total}"));
        tui.paste(answers.get(n - 1).copied().unwrap_or("not known"));
        tui.press(ENTER);
    }
    tui.wait_gone("For the note: question");
    tui.press("e");
    tui.wait_for("The incident note (markdown) is written to");
    tui.press(ESC);
    tui.wait_gone("is written to");
    tui.quit();
}

/// The note's first screen (the incident, what to send, the answers, monitoring) with the
/// times, ports, pids and temporary paths of this run replaced.
fn first_screen(note: &str) -> String {
    let head = note.split("\n---\n").next().unwrap();
    let mut text = head.to_owned();
    for (pattern, with) in [
        (
            r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[(\w+)\] \d+#\d+: \*\d+",
            "[date] [$1] [pid]#[tid]: *[n]",
        ),
        (r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} \+00:00", "[time]"),
        (r"\b\d{2}:\d{2}:\d{2}\b", "[clock]"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[port]"),
        (r"/tmp/(triage-test-|\.tmp)\w+", "[dir]"),
        (r"\d{8}-\d{6}-[0-9a-f]{4}", "[session]"),
        (r"\d+ probes? every 10 s", "[n] probes every 10 s"),
        (r"(\d+) of \d+ probes failed over \d+s", "$1 of [n] probes failed over [time]"),
        (r"\[clock\] [.x]+ \[clock\]", "[clock] [chart] [clock]"),
        (r"php\d+\.\d+-fpm", "php[version]-fpm"),
        (r"nginx/[\d.]+", "nginx/[version]"),
    ] {
        text = regex::Regex::new(pattern).unwrap().replace_all(&text, with).into_owned();
    }
    text
}

/// The export and every copy: no `{{` survives in a command; the note's first screen.
fn the_note(data: &Path) -> String {
    let (path, session) = session_file(data);
    let typed = serde_json::from_value::<triage::session::Session>(session.clone());
    assert!(typed.is_ok(), "the session file reads back: {typed:?}");
    let copied = entries_of(&session, "copied");
    assert!(!copied.is_empty(), "a command of the card was copied");
    for copied in copied {
        let text = copied["text"].as_str().unwrap();
        assert!(!text.contains("{{") && !text.contains('‹'), "copied with a gap: {text}");
    }
    let note = std::fs::read_to_string(path.with_extension("md")).unwrap();
    assert!(!note.contains("{{"), "a placeholder in the note:\n{note}");
    let json = triage(data, &["export", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json.stderr)));
    assert_eq!(doc["version"], 2);
    assert!(!String::from_utf8_lossy(&json.stdout).contains("{{"));
    note
}

fn php_site(root: &Path, socket: &Path) -> String {
    format!(
        "root {};\n        location ~ \\.php$ {{\n            include /etc/nginx/fastcgi_params;\n            fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n            fastcgi_pass unix:{};\n        }}",
        root.display(),
        socket.display()
    )
}

#[test]
fn a_php_fpm_socket_nginx_may_not_open_reaches_its_card_then_resolves() {
    // As root the pool's socket is root's, 0600, while nginx's workers are nobody; as another
    // user, mode 0000 keeps even its owner out.
    let listen = if support::is_root() {
        "listen.owner = root\nlisten.group = root\nlisten.mode = 0600\n"
    } else {
        "listen.mode = 0000\n"
    };
    let Some(fpm) = PhpFpm::start_with(listen) else { return };
    let www = support::open_dir();
    std::fs::write(www.path().join("index.php"), "<?php echo \"shop ok\\n\";\n").unwrap();
    let Some(nginx) = Nginx::start(&php_site(www.path(), &fpm.socket)) else { return };
    let url = format!("http://127.0.0.1:{}/index.php", nginx.port);
    let data = tempfile::tempdir().unwrap();
    let pids = [nginx.pid, fpm.pid];
    let mut tui = Tui::start_viewing(data.path(), &["--monitor", WINDOW, &url], &pids);
    confirm(&mut tui, "Confirm the public error", "here too ★ suggested");
    confirm(&mut tui, "Identify the layer", "Our own nginx, Apache or reverse proxy ★");
    confirm(&mut tui, "Read the web server's error log", "and mode ★ suggested");
    repaired(&mut tui, "Let the web server open the PHP-FPM socket", || {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::Permissions::from_mode(0o666);
        std::fs::set_permissions(&fpm.socket, mode).unwrap();
    });
    monitored_and_resolved(
        &mut tui,
        &["none shown on nginx's page", "Alert on 502s; keep the pool's listen.mode"],
    );
    let note = the_note(data.path());
    assert!(note.starts_with("# HTTP 502 Bad Gateway on "), "{note}");
    insta::assert_snapshot!("socket_permission", first_screen(&note));
}

#[test]
fn an_app_whose_postgresql_is_stopped_reaches_the_postgresql_card_then_resolves() {
    let Some(mut pg) = Postgres::start() else { return };
    let Some(fpm) = PhpFpm::start() else { return };
    let www = support::open_dir();
    let app = "<?php\n$env = (string) @file_get_contents(__DIR__ . '/.env');\npreg_match('~^DATABASE_URL=postgres://[^@]*@([^:/]+):(\\d+)~m', $env, $m);\n$db = @fsockopen($m[1], (int) $m[2], $errno, $errstr, 2);\nif (!$db) {\n    http_response_code(503);\n    echo \"<h1>Sorry</h1><p>The shop cannot reach its database.</p>\";\n    exit;\n}\necho \"shop ok\\n\";\n";
    std::fs::write(www.path().join("index.php"), app).unwrap();
    let env = format!("DATABASE_URL=postgres://postgres@127.0.0.1:{}/postgres\n", pg.port);
    std::fs::write(www.path().join(".env"), env).unwrap();
    let Some(nginx) = Nginx::start(&php_site(www.path(), &fpm.socket)) else { return };
    pg.stop();
    let url = format!("http://127.0.0.1:{}/index.php", nginx.port);
    let data = tempfile::tempdir().unwrap();
    let pids = [nginx.pid, fpm.pid];
    let mut tui = Tui::start_viewing(data.path(), &["--monitor", WINDOW, &url], &pids);
    confirm(&mut tui, "Confirm the public error", "here too ★ suggested");
    confirm(&mut tui, "Identify the layer", "★ suggested");
    confirm(&mut tui, "Check the app runtime", "cannot reach its database ★");
    confirm(&mut tui, "Check the database", "after reading its log ★");
    repaired(&mut tui, "Start PostgreSQL after reading why it stopped", || pg.start_again());
    monitored_and_resolved(
        &mut tui,
        &[
            "none on the error page",
            "the shop: cannot reach its database",
            "Alert when PostgreSQL stops",
        ],
    );
    let note = the_note(data.path());
    assert!(note.starts_with("# HTTP 503 Service Unavailable on "), "{note}");
    assert!(note.contains("Start PostgreSQL after reading why it stopped"), "{note}");
    insta::assert_snapshot!("postgresql_stopped", first_screen(&note));
}

/// A tiny app on `port` that answers every request with 200, for the repair.
fn start_app(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nshop ok\n",
            );
        }
    });
}

#[test]
fn an_upstream_that_refuses_reaches_its_card_is_repaired_and_monitored_to_resolved() {
    let port = free_port();
    let site = format!("location / {{ proxy_pass http://127.0.0.1:{port}; }}");
    let Some(nginx) = Nginx::start(&site) else { return };
    let url = format!("http://127.0.0.1:{}/", nginx.port);
    let data = tempfile::tempdir().unwrap();
    let mut tui = Tui::start_viewing(data.path(), &["--monitor", WINDOW, &url], &[nginx.pid]);
    confirm(&mut tui, "Confirm the public error", "here too ★ suggested");
    confirm(&mut tui, "Identify the layer", "Our own nginx, Apache or reverse proxy ★");
    confirm(&mut tui, "Read the web server's error log", "the runtime is down ★ suggested");
    confirm(&mut tui, "Check the app runtime", "sends requests) ★ suggested");
    repaired(&mut tui, "Restart the Node or Python app", || start_app(port));
    monitored_and_resolved(&mut tui, &["none: nginx's own page", "Start the app's unit on boot"]);
    let note = the_note(data.path());
    assert!(note.starts_with("# HTTP 502 Bad Gateway on "), "{note}");
    assert!(note.contains("recovered at"), "{note}");
    // Where systemd lists stopped units of the stack (a CI machine), the diagnosis calls this
    // runtime_down; in a container without systemd, upstream_refused. Both name the same hop.
    let cause = regex::Regex::new(r"- \*\*Cause:\*\* .*\n").unwrap();
    let line = cause.find(&note).unwrap().as_str().to_owned();
    assert!(line.contains("runtime\\_down") || line.contains("upstream\\_refused"), "{line}");
    assert!(
        line.contains("nothing listens at 127.0.0.1:")
            || line.contains("Nothing listens at 127.0.0.1:"),
        "{line}"
    );
    let note = cause.replace(
        &note,
        "- **Cause:** [nothing listens at the upstream: runtime_down or upstream_refused]\n",
    );
    insta::assert_snapshot!("upstream_refused", first_screen(&note));
}
