//! Caddy's config: a Caddyfile (read by triage's own parser, which knows the lines) or the
//! native JSON. Where the `caddy` binary is installed, `caddy adapt` — which only reads and
//! prints — turns the Caddyfile into JSON too, and any upstream or log the adapter found that
//! triage's reading missed (a directive it does not know, a plugin) is added, without a line.

pub mod address;
pub mod caddyfile;
pub mod json;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use self::json::JsonUpstream;
use super::source::Sources;
use crate::contract::evidence::web::{
    Location, LogPath, ProxyConfig, ServerKind, Setting, Site, Upstream,
};
use crate::system::{self, System};

/// How long `caddy adapt` may take, and the most it may print.
const ADAPT_LIMIT: Duration = Duration::from_secs(10);
const ADAPT_BYTES: u64 = 16 << 20;

/// Reads a Caddyfile or a JSON config.
pub fn read(system: &System, main: &Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(ServerKind::Caddy, main);
    let mut sources = Sources::new(system);
    if is_json(main) {
        if let Some(text) = sources.enter(main) {
            match serde_json::from_str::<Value>(&text) {
                Ok(value) => from_json(&mut config, &value, &Lines::new(main, &text)),
                Err(e) => config.problems.push(format!("{}: not JSON: {e}", main.display())),
            }
            sources.leave();
        }
    } else {
        caddyfile::read(&mut sources, main, &mut config);
        if system.is_real_root() && !sources.files.is_empty() {
            cross_check(&mut config, main);
        }
    }
    config.files = sources.files;
    config.unreadable = sources.unreadable;
    config.problems.extend(sources.problems);
    config
}

fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
}

/// Where a JSON value was written: the first line that holds it (JSON has no positions).
struct Lines<'a> {
    file: &'a Path,
    text: &'a str,
}

impl<'a> Lines<'a> {
    fn new(file: &'a Path, text: &'a str) -> Self {
        Lines { file, text }
    }

    fn of(&self, needle: &str) -> Location {
        let line = self.text.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1);
        Location::new(self.file, line as u32)
    }
}

/// Sites (one per server and host list), upstreams and log files from a JSON config.
fn from_json(config: &mut ProxyConfig, value: &Value, lines: &Lines<'_>) {
    for found in json::upstreams(value) {
        let at = lines.of(&format!("\"{}\"", found.dial));
        let settings = found
            .timeouts
            .iter()
            .map(|(name, v)| Setting {
                name: name.clone(),
                value: v.clone(),
                at: lines.of(&format!("\"{name}\"")),
            })
            .collect();
        let upstream = to_upstream(&found, at, settings);
        site_for(config, &found).targets.push(upstream);
    }
    for (name, path, kind) in json::log_files(value) {
        let at = Some(lines.of(&format!("\"{}\"", path.display())));
        let site = (name != "default").then_some(name);
        config.logs.push(LogPath { kind, path, at, site });
    }
}

fn to_upstream(found: &JsonUpstream, at: Location, settings: Vec<Setting>) -> Upstream {
    Upstream {
        protocol: found.protocol,
        address: found.address.clone(),
        group: None,
        directive: format!("reverse_proxy {}", found.dial),
        at,
        member_at: None,
        standby: false,
        settings,
    }
}

/// The site of a server and host list, made on first use.
fn site_for<'a>(config: &'a mut ProxyConfig, found: &JsonUpstream) -> &'a mut Site {
    let name = found.hosts.first().cloned().unwrap_or_else(|| found.server.clone());
    if let Some(i) = config.sites.iter().position(|s| s.name == name) {
        return &mut config.sites[i];
    }
    config.sites.push(Site {
        name,
        names: found.hosts.clone(),
        listen: found
            .listen
            .iter()
            .map(|l| if l.starts_with(':') { format!("*{l}") } else { l.clone() })
            .collect(),
        ..Site::default()
    });
    let last = config.sites.len() - 1;
    &mut config.sites[last]
}

/// Runs `caddy adapt` on the Caddyfile and adds what only the adapter found. Where there is
/// no `caddy` binary, triage's own reading stands alone.
fn cross_check(config: &mut ProxyConfig, main: &Path) {
    let Some(binary) = caddy_binary() else { return };
    let main_text = main.to_string_lossy();
    let args = ["adapt", "--config", main_text.as_ref(), "--adapter", "caddyfile"];
    let output =
        match system::run_bounded(&binary.to_string_lossy(), &args, ADAPT_LIMIT, ADAPT_BYTES) {
            Ok(output) => output,
            Err(reason) => {
                config
                    .problems
                    .push(format!("`caddy adapt` could not check this reading: {reason}"));
                return;
            }
        };
    let Ok(value) = serde_json::from_str::<Value>(&output) else {
        config
            .problems
            .push("`caddy adapt` printed no JSON; triage's own reading stands".to_owned());
        return;
    };
    let known = |u: &JsonUpstream| {
        config.sites.iter().flat_map(|s| &s.targets).any(|t| t.address == u.address)
    };
    let missed: Vec<JsonUpstream> =
        json::upstreams(&value).into_iter().filter(|u| !known(u)).collect();
    for found in missed {
        config.problems.push(format!(
            "`caddy adapt` found the upstream {} that triage's reading of the Caddyfile missed",
            found.dial
        ));
        let upstream = to_upstream(&found, Location::new(main, 1), Vec::new());
        site_for(config, &found).targets.push(upstream);
    }
}

/// `caddy` on the usual paths.
fn caddy_binary() -> Option<PathBuf> {
    ["/usr/bin/caddy", "/usr/local/bin/caddy"].iter().map(PathBuf::from).find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_config_gives_lines_by_its_text() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("caddy.json");
        std::fs::write(&main, "{\n  \"apps\": {\"http\": {\"servers\": {\"srv0\": {\n    \"listen\": [\":8080\"],\n    \"routes\": [{\"handle\": [{\"handler\": \"reverse_proxy\",\n      \"upstreams\": [{\"dial\": \"127.0.0.1:9000\"}]}]}]\n  }}}}\n}\n").unwrap();
        let config = read(&System::real(), &main);
        let site = &config.sites[0];
        assert_eq!(site.listen, vec!["*:8080"]);
        assert_eq!(site.targets[0].address.to_string(), "127.0.0.1:9000");
        assert_eq!(site.targets[0].at.line, 5);
    }
}
