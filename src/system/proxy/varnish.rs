//! Varnish: the VCL's backends (`.host`/`.port` or `.path`, their `.connect_timeout`,
//! `.first_byte_timeout` and `.between_bytes_timeout`, `.max_connections`, `.probe`), the
//! directors they are added to, and `include`d files — each with file and line — plus what
//! varnishd's command line says: `-b HOST:PORT` (one backend, no VCL), `-a` listen addresses
//! and `-p` parameters (the timeouts every backend inherits). It reads; it never compiles VCL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::source::Sources;
use crate::contract::evidence::web::{
    Address, Location, Protocol, ProxyConfig, ServerKind, Setting, Site, Upstream,
};
use crate::system::System;

/// Where Debian keeps VCL; relative includes are looked up here after the including file's
/// directory (varnishd's `vcl_path`).
pub const VCL_DIR: &str = "/etc/varnish";

/// The `-p` parameters that bound a backend fetch.
const TIMEOUT_PARAMS: &[&str] = &["connect_timeout", "first_byte_timeout", "between_bytes_timeout"];

/// Reads a VCL file (and its includes); `args` is varnishd's command line, when it runs.
/// With `-b` on the command line there is no VCL: its one backend is named `default`.
pub fn read(system: &System, main: &Path, args: &[String], cmdline: &Path) -> ProxyConfig {
    let mut config = ProxyConfig::new(ServerKind::Varnish, main);
    let params = command_line(&mut config, args, cmdline);
    let mut site = Site {
        name: "varnish".to_owned(),
        listen: flag_values(args, "-a").map(|a| listen_address(&a)).collect(),
        at: None,
        ..Site::default()
    };
    if let Some(backend) = flag_values(args, "-b").next() {
        let at = Location::new(cmdline, 1);
        site.targets.extend(command_line_backend(&backend, &at, &params));
    } else {
        let mut sources = Sources::new(system);
        let mut parser = Parser::default();
        parse_file(&mut sources, main, &mut parser);
        site.at = Some(Location::new(main, 1));
        site.targets = parser.upstreams(&params);
        config.files = sources.files;
        config.unreadable = sources.unreadable;
        config.problems.extend(sources.problems);
    }
    config.sites.push(site);
    config
}

/// `-p name=value` timeouts (kept as server-wide settings) and `-j unix,user=NAME`.
fn command_line(config: &mut ProxyConfig, args: &[String], cmdline: &Path) -> Vec<Setting> {
    let at = Location::new(cmdline, 1);
    let params: Vec<Setting> = flag_values(args, "-p")
        .filter_map(|p| {
            let (name, value) = p.split_once('=')?;
            TIMEOUT_PARAMS.contains(&name).then(|| Setting {
                name: name.to_owned(),
                value: value.to_owned(),
                at: at.clone(),
            })
        })
        .collect();
    config.settings.extend(params.iter().cloned());
    config.user = flag_values(args, "-j")
        .find_map(|j| j.split(',').find_map(|p| p.strip_prefix("user=").map(str::to_owned)));
    params
}

/// Every value of a flag: `-a :80`, `-a:80` is not varnishd's syntax.
fn flag_values<'a>(args: &'a [String], flag: &'a str) -> impl Iterator<Item = String> + 'a {
    args.windows(2).filter(move |w| w[0] == flag).map(|w| w[1].clone())
}

/// `-a http=:6081,HTTP` or `-a 127.0.0.1:6081`: the address part.
fn listen_address(arg: &str) -> String {
    let first = arg.split(',').next().unwrap_or_default();
    let address = match first.split_once('=') {
        Some((_, address)) => address,
        None => first,
    };
    if address.starts_with(':') { format!("*{address}") } else { address.to_owned() }
}

fn command_line_backend(arg: &str, at: &Location, params: &[Setting]) -> Option<Upstream> {
    let address = if arg.starts_with('/') {
        Address::Unix { path: PathBuf::from(arg) }
    } else {
        let (host, port) = super::split_host_port(arg, Some(80))?;
        Address::Tcp { host, port }
    };
    Some(Upstream {
        protocol: Protocol::Http,
        address,
        group: None,
        directive: format!("varnishd -b {arg}"),
        at: at.clone(),
        member_at: None,
        standby: false,
        settings: params.to_vec(),
    })
}

/// One `backend NAME { … }` as written.
#[derive(Debug, Default)]
struct Backend {
    name: String,
    at: Option<Location>,
    fields: Vec<Setting>,
}

impl Backend {
    fn field(&self, name: &str) -> Option<&Setting> {
        self.fields.iter().rev().find(|f| f.name == name)
    }

    fn address(&self) -> Option<(Address, Location)> {
        if let Some(path) = self.field(".path") {
            return Some((Address::Unix { path: PathBuf::from(&path.value) }, path.at.clone()));
        }
        let host = self.field(".host")?;
        let port = self.field(".port").map_or(Some(80), |p| p.value.parse().ok())?;
        let address = match super::split_host_port(&host.value, Some(port)) {
            Some((h, p)) if host.value.contains(':') && !host.value.contains("::") => {
                Address::Tcp { host: h, port: p }
            }
            _ => Address::Tcp { host: host.value.clone(), port },
        };
        Some((address, host.at.clone()))
    }
}

/// What the VCL files declare.
#[derive(Debug, Default)]
struct Parser {
    backends: Vec<Backend>,
    /// Director name → the backends added to it.
    directors: HashMap<String, Vec<String>>,
}

impl Parser {
    fn upstreams(&self, params: &[Setting]) -> Vec<Upstream> {
        self.backends.iter().filter_map(|b| self.upstream(b, params)).collect()
    }

    fn upstream(&self, backend: &Backend, params: &[Setting]) -> Option<Upstream> {
        let (address, member_at) = backend.address()?;
        let at = backend.at.clone()?;
        let group = self
            .directors
            .iter()
            .find(|(_, members)| members.contains(&backend.name))
            .map(|(name, _)| name.clone());
        let mut settings = params.to_vec();
        settings.extend(
            backend
                .fields
                .iter()
                .filter(|f| f.name.ends_with("_timeout") || f.name == ".probe")
                .cloned(),
        );
        let fields: Vec<String> = backend
            .fields
            .iter()
            .filter(|f| matches!(f.name.as_str(), ".host" | ".port" | ".path"))
            .map(|f| format!("{} = \"{}\";", f.name, f.value))
            .collect();
        Some(Upstream {
            protocol: Protocol::Http,
            address,
            group,
            directive: format!("backend {} {{ {} }}", backend.name, fields.join(" ")),
            at,
            member_at: Some(member_at),
            standby: false,
            settings,
        })
    }
}

fn parse_file(sources: &mut Sources<'_>, path: &Path, parser: &mut Parser) {
    let Some(text) = sources.enter(path) else { return };
    let tokens = tokenize(&text);
    let mut i = 0;
    while i < tokens.len() {
        i = statement(sources, path, &tokens, i, parser);
    }
    sources.leave();
}

/// One top-level statement starting at `i`; returns where the next one starts.
fn statement(
    sources: &mut Sources<'_>,
    file: &Path,
    tokens: &[Token],
    i: usize,
    parser: &mut Parser,
) -> usize {
    let word = tokens[i].text.as_str();
    match word {
        "include" => {
            if let Some(target) = tokens.get(i + 1).filter(|t| t.quoted) {
                for path in include_paths(sources, file, &target.text) {
                    parse_file(sources, &path, parser);
                }
            }
            skip_past(tokens, i, ";")
        }
        "backend" => {
            let (backend, next) = backend(file, tokens, i);
            parser.backends.push(backend);
            next
        }
        "sub" => {
            let end = block_end(tokens, i);
            directors(&tokens[i..end], parser);
            end
        }
        _ if tokens[i].text == "{" => block_end(tokens, i),
        _ => i + 1,
    }
}

/// `include "x.vcl";`: relative to the including file's directory, else [`VCL_DIR`].
fn include_paths(sources: &mut Sources<'_>, file: &Path, target: &str) -> Vec<PathBuf> {
    let dir = file.parent().unwrap_or(Path::new("/"));
    let here = sources.expand(target, dir);
    if Path::new(target).is_absolute() || here.iter().any(|p| sources.system().path(p).exists()) {
        return here;
    }
    sources.expand(target, Path::new(VCL_DIR))
}

/// `backend NAME { .field = value; .probe = { … } }`.
fn backend(file: &Path, tokens: &[Token], i: usize) -> (Backend, usize) {
    let mut backend = Backend {
        name: tokens.get(i + 1).map(|t| t.text.clone()).unwrap_or_default(),
        at: Some(Location::new(file, tokens[i].line)),
        fields: Vec::new(),
    };
    let end = block_end(tokens, i);
    let mut j = i + 2;
    while j < end {
        let token = &tokens[j];
        if token.text.starts_with('.') && tokens.get(j + 1).is_some_and(|t| t.text == "=") {
            let value = tokens.get(j + 2).map(|t| t.text.clone()).unwrap_or_default();
            let at = Location::new(file, token.line);
            let value = if value == "{" { "(inline probe)".to_owned() } else { value };
            backend.fields.push(Setting { name: token.text.clone(), value, at });
            j = if tokens.get(j + 2).is_some_and(|t| t.text == "{") {
                block_end(tokens, j + 2)
            } else {
                j + 3
            };
        } else {
            j += 1;
        }
    }
    (backend, end)
}

/// `vdir.add_backend(web1);` in a `sub` (after `new vdir = directors.round_robin();`).
fn directors(tokens: &[Token], parser: &mut Parser) {
    for (j, token) in tokens.iter().enumerate() {
        let next = |k: usize| tokens.get(j + k).map_or("", |t| t.text.as_str());
        if let Some(director) = token.text.strip_suffix(".add_backend")
            && next(1) == "("
        {
            let member = next(2).to_owned();
            parser.directors.entry(director.to_owned()).or_default().push(member);
        }
    }
}

/// The index just past the `}` that closes the first `{` at or after `i`.
fn block_end(tokens: &[Token], i: usize) -> usize {
    let mut depth = 0;
    for (j, token) in tokens.iter().enumerate().skip(i) {
        if token.quoted {
            continue;
        }
        match token.text.as_str() {
            "{" => depth += 1,
            "}" if depth <= 1 => return j + 1,
            "}" => depth -= 1,
            _ => {}
        }
    }
    tokens.len()
}

fn skip_past(tokens: &[Token], i: usize, text: &str) -> usize {
    tokens
        .iter()
        .skip(i)
        .position(|t| t.text == text && !t.quoted)
        .map_or(tokens.len(), |p| i + p + 1)
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    line: u32,
    /// A string literal (`"…"` or `{"…"}`), never punctuation.
    quoted: bool,
}

/// VCL's tokens: words (`.host`, `directors.round_robin`, `1.5s`), strings, and the
/// punctuation `{ } ( ) ; = ,`; comments (`#`, `//`, `/* */`) dropped.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let (mut i, mut line) = (0, 1_u32);
    while i < chars.len() {
        let c = chars[i];
        let start = line;
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => i = skip_line(&chars, i),
            '/' if chars.get(i + 1) == Some(&'/') => i = skip_line(&chars, i),
            '/' if chars.get(i + 1) == Some(&'*') => {
                let (end, lines) = find(&chars, i + 2, &['*', '/']);
                line += lines;
                i = end;
            }
            '"' => {
                let (end, lines) = find(&chars, i + 1, &['"']);
                tokens.push(quoted(&chars[i + 1..end.min(chars.len())], start));
                line += lines;
                i = end;
            }
            '{' if chars.get(i + 1) == Some(&'"') => {
                let (end, lines) = find(&chars, i + 2, &['"', '}']);
                // Unterminated, the string runs to the end of the file.
                let close = if end < chars.len() { end - 1 } else { chars.len() };
                tokens.push(quoted(&chars[i + 2..close], start));
                line += lines;
                i = end;
            }
            '{' | '}' | '(' | ')' | ';' | '=' | ',' => {
                tokens.push(Token { text: c.to_string(), line, quoted: false });
            }
            _ => {
                let end = chars[i..]
                    .iter()
                    .position(|c| c.is_whitespace() || "{}();=,\"#".contains(*c))
                    .map_or(chars.len(), |p| i + p);
                tokens.push(Token { text: chars[i..end].iter().collect(), line, quoted: false });
                i = end - 1;
            }
        }
        i += 1;
    }
    tokens
}

fn quoted(chars: &[char], line: u32) -> Token {
    Token { text: chars.iter().collect(), line, quoted: true }
}

fn skip_line(chars: &[char], i: usize) -> usize {
    chars[i..].iter().position(|c| *c == '\n').map_or(chars.len(), |p| i + p - 1)
}

/// The index of the last char of `end` searched from `from`, and the newlines passed.
fn find(chars: &[char], from: usize, end: &[char]) -> (usize, u32) {
    let mut lines = 0;
    let mut j = from;
    while j + end.len() <= chars.len() {
        if chars[j..j + end.len()] == *end {
            return (j + end.len() - 1, lines);
        }
        if chars[j] == '\n' {
            lines += 1;
        }
        j += 1;
    }
    (chars.len(), lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, args: &[&str]) -> ProxyConfig {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("default.vcl");
        std::fs::write(&main, text).unwrap();
        std::fs::write(dir.path().join("more.vcl"), "backend api { .path = \"/run/api.sock\"; }\n")
            .unwrap();
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        read(&System::real(), &main, &args, Path::new("/proc/1/cmdline"))
    }

    #[test]
    fn backends_timeouts_probes_directors_and_includes() {
        let config = parse(
            "vcl 4.1;\n# a comment with backend in it\ninclude \"more.vcl\";\nprobe hc { .url = \"/\"; .interval = 1s; }\nbackend dead {\n  .host = \"127.0.0.1\";\n  .port = \"19999\";\n  .connect_timeout = 1s;\n  .probe = hc;\n}\nbackend slow { .host = \"127.0.0.1\"; .port = \"18091\"; .first_byte_timeout = 1.5s; .probe = { .url = \"/h\"; } }\n/* backend gone { .host = \"x\"; } */\nsub vcl_init {\n  new pool = directors.round_robin();\n  pool.add_backend(slow);\n}\n",
            &["-a", "127.0.0.1:6081", "-p", "first_byte_timeout=120"],
        );
        let site = &config.sites[0];
        assert_eq!(site.listen, vec!["127.0.0.1:6081"]);
        let t: Vec<(String, u32, Option<u32>)> = site
            .targets
            .iter()
            .map(|t| (t.address.to_string(), t.at.line, t.member_at.as_ref().map(|m| m.line)))
            .collect();
        assert_eq!(
            t,
            vec![
                ("unix:/run/api.sock".into(), 1, Some(1)),
                ("127.0.0.1:19999".into(), 5, Some(6)),
                ("127.0.0.1:18091".into(), 11, Some(11)),
            ]
        );
        let dead = &site.targets[1];
        assert_eq!(dead.directive, "backend dead { .host = \"127.0.0.1\"; .port = \"19999\"; }");
        let names: Vec<&str> = dead.settings.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["first_byte_timeout", ".connect_timeout", ".probe"]);
        assert_eq!(dead.settings[1].at.line, 8);
        let slow = &site.targets[2];
        assert_eq!(slow.group.as_deref(), Some("pool"));
        assert!(slow.settings.iter().any(|s| s.name == ".first_byte_timeout" && s.value == "1.5s"));
        assert_eq!(config.files.len(), 2);
        assert_eq!(config.setting("first_byte_timeout").unwrap().value, "120");
    }

    #[test]
    fn a_command_line_backend_needs_no_vcl() {
        let config = parse("", &["-a", ":80", "-b", "127.0.0.1:8080", "-j", "unix,user=vcache"]);
        let t = &config.sites[0].targets[0];
        assert_eq!(t.address.to_string(), "127.0.0.1:8080");
        assert_eq!(t.at.to_string(), "/proc/1/cmdline:1");
        assert_eq!(config.sites[0].listen, vec!["*:80"]);
        assert_eq!(config.user.as_deref(), Some("vcache"));
    }

    #[test]
    fn an_unterminated_long_string_runs_to_the_end_of_the_file() {
        // Found by fuzzing: `{"` as the file's last two characters panicked.
        assert_eq!(tokenize("x {\"").last().map(|t| t.text.as_str()), Some(""));
        let tokens = tokenize("x {\"abc");
        assert_eq!(tokens.last().map(|t| (t.text.as_str(), t.quoted)), Some(("abc", true)));
        assert_eq!(tokenize("{\"a\"}").last().map(|t| t.text.as_str()), Some("a"));
    }
}
