//! The Caddyfile: a tokenizer for its syntax (words, `"…"` and `` `…` `` quotes, `#` comments,
//! `{`/`}` blocks, placeholders such as `{path}` kept inside words), `import` of snippets and
//! files spliced where they stand, and a walk over the site blocks that collects the common
//! directives — `reverse_proxy` (its upstreams, `to`, `transport http|fastcgi` and timeouts),
//! `php_fastcgi`, `root`, and `log { output file … }` — with file and line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::address;
use crate::contract::evidence::web::{
    Location, LogKind, LogPath, Protocol, ProxyConfig, Setting, Site, Upstream,
};
use crate::system::proxy::source::Sources;

/// One line of a Caddyfile with its block, if it opens one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub words: Vec<String>,
    pub at: Location,
    pub children: Option<Vec<Node>>,
}

impl Node {
    fn name(&self) -> &str {
        self.words.first().map_or("", String::as_str)
    }

    fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or_default()
    }

    fn children(&self) -> &[Node] {
        self.children.as_deref().unwrap_or_default()
    }

    fn text(&self) -> String {
        self.words.join(" ")
    }
}

/// Reads a Caddyfile (and what it imports) into `config`.
pub fn read(sources: &mut Sources<'_>, main: &Path, config: &mut ProxyConfig) {
    let mut snippets = HashMap::new();
    let nodes = parse_file(sources, main, &mut snippets);
    walk(&nodes, config);
}

/// The nodes of one file, imports spliced in.
fn parse_file(
    sources: &mut Sources<'_>,
    path: &Path,
    snippets: &mut HashMap<String, Vec<Node>>,
) -> Vec<Node> {
    let Some(text) = sources.enter(path) else { return Vec::new() };
    let tokens = tokenize(&text);
    let mut pos = 0;
    let raw = block(&tokens, &mut pos, path);
    let nodes = splice(sources, path, raw, snippets);
    sources.leave();
    nodes
}

/// Defines `(snippet)` blocks and replaces `import` lines by what they name.
fn splice(
    sources: &mut Sources<'_>,
    file: &Path,
    nodes: Vec<Node>,
    snippets: &mut HashMap<String, Vec<Node>>,
) -> Vec<Node> {
    let mut out = Vec::new();
    for mut node in nodes {
        if let Some(name) = node.name().strip_prefix('(').and_then(|n| n.strip_suffix(')')) {
            snippets.insert(name.to_owned(), node.children.clone().unwrap_or_default());
            continue;
        }
        if node.name() == "import" {
            let target = node.args().first().cloned().unwrap_or_default();
            if let Some(snippet) = snippets.get(&target) {
                out.extend(snippet.iter().cloned());
            } else {
                let dir = file.parent().unwrap_or(Path::new("/"));
                for path in sources.expand(&target, dir) {
                    out.extend(parse_file(sources, &path, snippets));
                }
            }
            continue;
        }
        if let Some(children) = node.children.take() {
            node.children = Some(splice(sources, file, children, snippets));
        }
        out.push(node);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Token {
    text: String,
    line: u32,
    /// `{` or `}` standing alone (not quoted, not a placeholder).
    brace: Option<char>,
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n as u32 + 1;
        for (word, quoted) in words(line) {
            let brace = match word.as_str() {
                "{" | "}" if !quoted => word.chars().next(),
                _ => None,
            };
            tokens.push(Token { text: word, line: line_no, brace });
        }
    }
    tokens
}

/// The words of one line; a `#` that starts a word starts a comment.
fn words(line: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            break;
        }
        if c == '"' || c == '`' {
            chars.next();
            let mut word = String::new();
            while let Some(ch) = chars.next() {
                match ch {
                    '\\' if c == '"' => word.extend(chars.next()),
                    ch if ch == c => break,
                    ch => word.push(ch),
                }
            }
            out.push((word, true));
            continue;
        }
        let mut word = String::new();
        while let Some(&ch) = chars.peek() {
            if ch.is_whitespace() {
                break;
            }
            word.push(ch);
            chars.next();
        }
        out.push((word, false));
    }
    out
}

/// Nodes up to the `}` that closes this block (or the end).
fn block(tokens: &[Token], pos: &mut usize, file: &Path) -> Vec<Node> {
    let mut nodes = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut line = 0;
    let flush = |words: &mut Vec<String>, line: u32, nodes: &mut Vec<Node>| {
        if !words.is_empty() {
            let at = Location::new(file, line);
            nodes.push(Node { words: std::mem::take(words), at, children: None });
        }
    };
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        match token.brace {
            Some('{') => {
                let at_line = if words.is_empty() { token.line } else { line };
                let children = block(tokens, pos, file);
                let at = Location::new(file, at_line);
                nodes.push(Node {
                    words: std::mem::take(&mut words),
                    at,
                    children: Some(children),
                });
            }
            Some(_) => {
                flush(&mut words, line, &mut nodes);
                return nodes;
            }
            None => {
                if token.line != line {
                    flush(&mut words, line, &mut nodes);
                    line = token.line;
                }
                words.push(token.text.clone());
            }
        }
    }
    flush(&mut words, line, &mut nodes);
    nodes
}

/// The top level: global options, then site blocks (or one site without braces).
fn walk(nodes: &[Node], config: &mut ProxyConfig) {
    let mut rest = nodes;
    if let Some(first) = nodes.first().filter(|n| n.words.is_empty()) {
        global_options(first.children(), config);
        rest = &nodes[1..];
    }
    let braced = rest.iter().any(|n| n.children.is_some());
    if braced {
        for node in rest.iter().filter(|n| n.children.is_some()) {
            site(node, node.children(), config);
        }
    } else if let Some((addresses, directives)) = rest.split_first() {
        site(addresses, directives, config);
    }
}

fn global_options(options: &[Node], config: &mut ProxyConfig) {
    for node in options.iter().filter(|n| n.name() == "log") {
        log(node, None, config);
    }
}

/// `a.example.com, http://127.0.0.1:8080 { … }`.
fn site(addresses: &Node, directives: &[Node], config: &mut ProxyConfig) {
    let mut site = Site { at: Some(addresses.at.clone()), ..Site::default() };
    for word in addresses.words.iter().flat_map(|w| w.split(',')).filter(|w| !w.is_empty()) {
        let (name, listen) = address::site_address(word);
        site.names.extend(name);
        site.listen.extend(listen);
    }
    site.listen.dedup();
    site.name = site.names.first().cloned().unwrap_or_else(|| addresses.text());
    let name = site.name.clone();
    directives_into(directives, &mut site, &name, config);
    config.sites.push(site);
}

fn directives_into(nodes: &[Node], site: &mut Site, name: &str, config: &mut ProxyConfig) {
    for node in nodes {
        match node.name() {
            "reverse_proxy" => site.targets.extend(reverse_proxy(node)),
            "php_fastcgi" => site.targets.extend(php_fastcgi(node)),
            "root" => site.root = node.args().last().cloned(),
            "log" => log(node, Some(name), config),
            _ if node.children.is_some() => directives_into(node.children(), site, name, config),
            _ => {}
        }
    }
}

/// `log [name] { output file PATH }`: a site's is its access log; the global one is the
/// default logger's (with `http.log.error`).
fn log(node: &Node, site: Option<&str>, config: &mut ProxyConfig) {
    for output in node.children().iter().filter(|n| n.name() == "output") {
        if output.args().first().map(String::as_str) != Some("file") {
            continue;
        }
        let Some(path) = output.args().get(1) else { continue };
        config.logs.push(LogPath {
            kind: LogKind::CaddyJson,
            path: PathBuf::from(path),
            at: Some(output.at.clone()),
            site: site.map(str::to_owned),
        });
    }
}

/// The arguments after an optional matcher (`*`, `/path…`, `@name`).
fn after_matcher(args: &[String]) -> &[String] {
    match args.first() {
        Some(a) if a == "*" || a.starts_with('/') || a.starts_with('@') => &args[1..],
        _ => args,
    }
}

/// `reverse_proxy [matcher] [upstreams…] { to …; transport http|fastcgi { … } }`.
fn reverse_proxy(node: &Node) -> Vec<Upstream> {
    let mut protocol = Protocol::Http;
    let mut settings = Vec::new();
    for transport in node.children().iter().filter(|n| n.name() == "transport") {
        if transport.args().first().map(String::as_str) == Some("fastcgi") {
            protocol = Protocol::FastCgi;
        }
        if transport.children().iter().any(|n| n.name() == "tls") {
            protocol = Protocol::Https;
        }
        settings.extend(timeouts(transport.children()));
    }
    let mut out = upstreams(node, after_matcher(node.args()), protocol, &settings, None);
    for to in node.children().iter().filter(|n| n.name() == "to") {
        out.extend(upstreams(node, to.args(), protocol, &settings, Some(&to.at)));
    }
    out
}

/// `php_fastcgi [matcher] upstreams… { dial_timeout …; read_timeout … }`.
fn php_fastcgi(node: &Node) -> Vec<Upstream> {
    let settings = timeouts(node.children());
    let mut out = upstreams(node, after_matcher(node.args()), Protocol::FastCgi, &settings, None);
    for to in node.children().iter().filter(|n| n.name() == "to") {
        out.extend(upstreams(node, to.args(), Protocol::FastCgi, &settings, Some(&to.at)));
    }
    out
}

fn timeouts(nodes: &[Node]) -> Vec<Setting> {
    nodes
        .iter()
        .filter(|n| n.name().ends_with("_timeout"))
        .map(|n| Setting { name: n.name().to_owned(), value: n.args().join(" "), at: n.at.clone() })
        .collect()
}

fn upstreams(
    node: &Node,
    args: &[String],
    protocol: Protocol,
    settings: &[Setting],
    member_at: Option<&Location>,
) -> Vec<Upstream> {
    args.iter()
        .filter_map(|arg| address::upstream(arg, protocol))
        .map(|(protocol, address)| Upstream {
            protocol,
            address,
            group: None,
            directive: node.text(),
            at: node.at.clone(),
            member_at: member_at.cloned(),
            standby: false,
            settings: settings.to_vec(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::evidence::web::ServerKind;
    use crate::system::System;

    fn parse(text: &str) -> ProxyConfig {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("Caddyfile");
        std::fs::write(&main, text).unwrap();
        std::fs::write(
            dir.path().join("api.caddy"),
            "api.example.com {\n\treverse_proxy unix//run/api.sock\n}\n",
        )
        .unwrap();
        let system = System::real();
        let mut sources = Sources::new(&system);
        let mut config = ProxyConfig::new(ServerKind::Caddy, &main);
        read(&mut sources, &main, &mut config);
        config
    }

    #[test]
    fn sites_upstreams_transports_timeouts_and_logs() {
        let config = parse(
            "{\n\tadmin off\n\tlog {\n\t\toutput file /var/log/caddy/caddy.log\n\t}\n}\n(common) {\n\tencode gzip\n}\nhttp://127.0.0.1:18300, shop.example.com {\n\timport common\n\tlog {\n\t\toutput file /var/log/caddy/shop.log\n\t}\n\thandle_path /api/* { # the API\n\t\treverse_proxy 127.0.0.1:19999 {\n\t\t\ttransport http {\n\t\t\t\tdial_timeout 2s\n\t\t\t\tresponse_header_timeout 30s\n\t\t\t}\n\t\t}\n\t}\n\troot * /srv/shop\n\tphp_fastcgi unix//run/php/php8.2-fpm.sock {\n\t\tread_timeout 60s\n\t}\n\treverse_proxy /old/* {path}.internal:80\n}\nimport api.caddy\n",
        );
        assert_eq!(config.sites.len(), 2);
        let shop = &config.sites[0];
        assert_eq!(shop.names, vec!["127.0.0.1", "shop.example.com"]);
        assert!(shop.listen.contains(&"127.0.0.1:18300".to_owned()), "{:?}", shop.listen);
        assert_eq!(shop.root.as_deref(), Some("/srv/shop"));
        let t: Vec<(String, Protocol, u32)> =
            shop.targets.iter().map(|t| (t.address.to_string(), t.protocol, t.at.line)).collect();
        assert_eq!(
            t,
            vec![
                ("127.0.0.1:19999".into(), Protocol::Http, 16),
                ("unix:/run/php/php8.2-fpm.sock".into(), Protocol::FastCgi, 24),
                ("{path}.internal:80".into(), Protocol::Http, 27),
            ]
        );
        let dial = &shop.targets[0].settings[0];
        assert_eq!(
            (dial.name.as_str(), dial.value.as_str(), dial.at.line),
            ("dial_timeout", "2s", 18)
        );
        assert_eq!(shop.targets[1].settings[0].name, "read_timeout");
        let logs: Vec<(&str, Option<&str>)> =
            config.logs.iter().map(|l| (l.path.to_str().unwrap(), l.site.as_deref())).collect();
        assert_eq!(
            logs,
            vec![
                ("/var/log/caddy/caddy.log", None),
                ("/var/log/caddy/shop.log", Some("127.0.0.1"))
            ]
        );
        assert_eq!(config.sites[1].targets[0].address.to_string(), "unix:/run/api.sock");
    }

    #[test]
    fn a_single_site_without_braces() {
        let config = parse(":8080\nreverse_proxy localhost:3000\n");
        assert_eq!(config.sites[0].listen, vec!["*:8080"]);
        assert_eq!(config.sites[0].targets[0].address.to_string(), "localhost:3000");
    }
}
