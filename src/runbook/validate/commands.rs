//! The rules on commands: one that looks as if it changes the system must say so, with its
//! risk and rollback.

use super::Report;
use crate::runbook::raw::{RawCommand, RawEffect};

pub(super) fn command(r: &mut Report, cmd: &RawCommand) {
    match cmd.effect.value {
        RawEffect::ChangesSystem => {
            if cmd.risk.is_none() {
                r.error(cmd.effect.pos, "this command changes the system but has no `risk`; expected low, medium or high");
            }
            if cmd.rollback.as_ref().is_none_or(|t| t.value.trim().is_empty()) {
                r.error(cmd.effect.pos, "this command changes the system but has no `rollback`; say how to undo it (or why nothing needs undoing)");
            }
        }
        RawEffect::ReadOnly => {
            let extra = cmd.risk.as_ref().map(|r| r.pos).or(cmd.rollback.as_ref().map(|t| t.pos));
            if let Some(pos) = extra {
                r.error(pos, "a read_only command takes no `risk` or `rollback`; set `effect: changes_system` if it changes anything");
            }
            if let Some(word) = looks_changing(&cmd.run.value) {
                r.warn(cmd.run.pos, format!(
                    "this command looks like it changes the system (`{word}`) but is marked read_only"
                ));
            }
        }
    }
}

/// The words that make a command look system-changing, if any. A heuristic for a warning only.
pub(super) fn looks_changing(run: &str) -> Option<String> {
    const ALWAYS: &[&str] = &[
        "rm", "mv", "kill", "pkill", "killall", "reboot", "shutdown", "chmod", "chown", "truncate",
        "tee", "dd", "mkfs", "crontab",
    ];
    const IPTABLES_CHANGES: &[&str] = &[
        "-A",
        "-D",
        "-I",
        "-R",
        "-F",
        "-X",
        "-P",
        "-N",
        "-Z",
        "-E",
        "--append",
        "--delete",
        "--insert",
        "--replace",
        "--flush",
        "--policy",
        "--new-chain",
        "--delete-chain",
    ];
    const WITH_VERB: &[(&str, &[&str])] = &[
        ("systemctl", &["restart", "reload", "stop", "start", "enable", "disable", "kill", "mask"]),
        ("service", &["restart", "reload", "stop", "start"]),
        ("apt", &["install", "remove", "purge", "upgrade"]),
        ("apt-get", &["install", "remove", "purge", "upgrade"]),
        ("dnf", &["install", "remove", "upgrade"]),
        ("yum", &["install", "remove", "update"]),
        ("nginx", &["-s"]),
        ("apachectl", &["restart", "graceful", "stop", "start"]),
        ("sed", &["-i"]),
        (
            "ufw",
            &[
                "allow", "deny", "reject", "limit", "enable", "disable", "reset", "delete",
                "insert", "reload", "route", "default",
            ],
        ),
        ("iptables", IPTABLES_CHANGES),
        ("ip6tables", IPTABLES_CHANGES),
        ("nft", &["add", "delete", "flush", "insert", "replace", "create", "destroy", "-f"]),
    ];
    for segment in run.split(['|', ';', '&', '\n']) {
        let words = shlex::split(segment).unwrap_or_default();
        let words: Vec<&str> =
            words.iter().map(String::as_str).skip_while(|w| *w == "sudo").collect();
        let Some(first) = words.first().copied() else { continue };
        if ALWAYS.contains(&first) {
            return Some(first.to_owned());
        }
        let verbs = WITH_VERB.iter().find(|(cmd, _)| *cmd == first).map(|(_, v)| *v);
        if let Some(verb) = verbs.and_then(|v| words.iter().skip(1).find(|w| v.contains(w))) {
            return Some(format!("{first} {verb}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::looks_changing;

    #[test]
    fn reading_the_firewall_is_not_changing_it() {
        for cmd in
            ["sudo ufw status verbose", "iptables -L -n", "sudo iptables -S", "nft list ruleset"]
        {
            assert_eq!(looks_changing(cmd), None, "{cmd}");
        }
        assert_eq!(looks_changing("sudo ufw allow from 127.0.0.1").as_deref(), Some("ufw allow"));
        assert_eq!(looks_changing("iptables -A INPUT -j DROP").as_deref(), Some("iptables -A"));
        assert_eq!(looks_changing("nft flush ruleset").as_deref(), Some("nft flush"));
        assert_eq!(looks_changing("systemctl status nginx"), None);
        assert_eq!(looks_changing("x | sudo tee /etc/f").as_deref(), Some("tee"));
    }
}
