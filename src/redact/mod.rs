//! Removes secrets from text that leaves the machine; imports nothing from the rest of triage.
//!
//! What is masked, by structure: the values of secret-named keys in JSON, YAML, env files, ini,
//! PHP/Python/Ruby/JS literals and `--flags` (`names` says which names: `password`, `apiKey`,
//! `SecretAccessKey`, `DB_PASS`, and `key`/`code`/`session` only when the value looks random);
//! query parameters; `Authorization`, cookie and API-key headers, also inside config lines and
//! command lines (`curl -u`, `mysql -p`, `redis-cli -a`); cookie strings after cookie-ish words;
//! URL passwords, whatever characters they hold; DSNs (PDO, libpq, ADO/ODBC); and the password
//! argument of connect calls in PHP/Python/Node stack traces. By shape: vendor tokens (Stripe,
//! GitHub, GitLab, AWS key ids, Slack, Google, SendGrid, npm, …), JWTs, Laravel `base64:` keys,
//! webhook URLs and PEM private keys.
//!
//! Redaction keeps the shape (names, hosts, paths, function names, a token's vendor prefix) and
//! drops only values, so a note still says which cookie or which key was involved. It never
//! panics, runs in time linear in the input (each pass is one regex scan or one forward walk
//! that re-reads at most a short value), and is idempotent: the passes repeat until nothing
//! changes. Should a pattern fail to compile or the passes not settle, [`text`] fails closed
//! and returns only [`MASK`]. `tests/redaction_corpus.rs` holds the planted-secret corpus.
//!
//! Where it applies (docs/redaction.md): checks redact what they collect from outside the
//! process (response headers and bodies, log lines, command lines, change logs) as they
//! collect it, so the screen shows that masked too; everything that leaves the process —
//! `triage check`, `logs`, `stack`, `sessions`, the markdown and JSON exports, the support
//! summary copied to the clipboard — is redacted on the way out. What the person typed (the
//! URL, notes, answers) and the machine's own configs are shown on their own screen as they
//! are, and redacted wherever they are copied or exported.

mod calls;
mod compiled;
mod forms;
mod gate;
#[rustfmt::skip]
mod gates;
mod names;
mod pairs;
mod shapes;
mod urls;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use serde_json::Value;

use compiled::Compiled;
use gate::{Pattern, Screen};

pub use names::is_secret_name;

/// What a secret becomes.
pub const MASK: &str = "[redacted]";

/// One pass over the text: a pattern, named as its gate is in `gates.rs`, and what is masked
/// where it matches.
struct Pass {
    name: &'static str,
    pattern: &'static Pattern,
    mask: for<'a> fn(Cow<'a, str>, &Compiled) -> Cow<'a, str>,
}

const fn pass(
    name: &'static str,
    pattern: &'static Pattern,
    mask: for<'a> fn(Cow<'a, str>, &Compiled) -> Cow<'a, str>,
) -> Pass {
    Pass { name, pattern, mask }
}

/// In order: the passes that understand structure first, so a value they mask is not cut in
/// two by a broader pattern, then the shapes that need no context.
static PASSES: [Pass; 11] = [
    pass("PRIVATE_KEY", &shapes::PRIVATE_KEY, shapes::private_keys),
    pass("CALL", &calls::CALL, calls::apply),
    pass("AUTHORIZATION", &forms::AUTHORIZATION, forms::authorization),
    pass("COOKIES", &forms::COOKIES, forms::cookies),
    pass("USERINFO", &urls::USERINFO, urls::userinfo),
    pass("CANDIDATE", &pairs::CANDIDATE, pairs::apply),
    pass("DIRECTIVES", &forms::DIRECTIVES, forms::directives),
    pass("COMMANDS", &forms::COMMANDS, forms::commands),
    pass("QUERY", &urls::QUERY, urls::queries),
    pass("SCHEMES", &shapes::SCHEMES, shapes::schemes),
    pass("TOKENS", &shapes::TOKENS, shapes::tokens),
];

/// Every pass's gate in one searcher.
fn screen() -> &'static Screen {
    static SCREEN: OnceLock<Screen> = OnceLock::new();
    SCREEN.get_or_init(|| Screen::new(&PASSES.each_ref().map(|p| p.pattern.gate())))
}

/// Free text (log lines, notes, bodies, command lines, configs) with its secrets masked.
pub fn text(input: &str) -> Cow<'_, str> {
    // Masking one secret can uncover another (a token that hid a `name=`): the passes run
    // again until nothing changes, which makes the result idempotent. Two rounds are the rule;
    // text that keeps changing is pathological and fails closed.
    const ROUNDS: usize = 4;
    let mut out = Cow::Borrowed(input);
    for _ in 0..ROUNDS {
        match round(&out) {
            Round::Changed(changed) => out = Cow::Owned(changed),
            Round::Unchanged => return out,
            Round::Broken => break,
        }
    }
    Cow::Borrowed(MASK)
}

/// What one run of every pass did.
enum Round {
    Unchanged,
    Changed(String),
    /// A pattern did not compile.
    Broken,
}

/// Runs each pass whose pattern `input` may match. Which ones may is read once, before the
/// first: masking only takes text away and writes [`MASK`], which holds no gate's string and
/// cannot complete one (`tests::the_mask_opens_no_gate`), so a pass the input's gates sent away
/// would find nothing after the others either.
fn round(input: &str) -> Round {
    let may_match = screen().may_match(input);
    let mut out = Cow::Borrowed(input);
    for (index, pass) in PASSES.iter().enumerate() {
        if !may_match.get(index) {
            continue;
        }
        let Some(regex) = pass.pattern.regex() else { return Round::Broken };
        out = (pass.mask)(out, regex);
    }
    match out {
        Cow::Owned(changed) if changed != input => Round::Changed(changed),
        _ => Round::Unchanged,
    }
}

/// A URL with its password, secret query values and token-shaped parts masked. Text that is
/// not a URL is redacted as text.
pub fn url(input: &str) -> Cow<'_, str> {
    text(input)
}

/// A header value fit for export. Cookies keep their names (`sid=[redacted]; Path=/`) so the
/// note still shows which cookies were set; `Authorization` keeps its scheme; other secret
/// headers lose their whole value; any other value is redacted as text.
pub fn header<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "set-cookie" | "cookie" => forms::cookie_header(value),
        "authorization" | "proxy-authorization" => Cow::Owned(match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {MASK}"),
            None => MASK.to_owned(),
        }),
        _ if is_secret_name(&lower) && !names::is_placeholder(value) => Cow::Borrowed(MASK),
        _ => text(value),
    }
}

/// `name: value` with the value redacted, for header lists stored as one string each. A line
/// that is not a header (`https://…`, prose) is redacted as text.
pub fn header_line(line: &str) -> Cow<'_, str> {
    let parts = line.split_once(':').filter(|(name, value)| {
        !value.starts_with("//")
            && !name.is_empty()
            && name.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    let Some((name, value)) = parts else { return text(line) };
    let value_at = line.len() - value.trim_start().len();
    let value = &line[value_at..];
    match header(name.trim(), value) {
        redacted if redacted == value => Cow::Borrowed(line),
        redacted => Cow::Owned(format!("{}{redacted}", &line[..value_at])),
    }
}

/// A JSON document redacted in place: values under secret-named keys are masked (a string or
/// number becomes [`MASK`]), every other string is redacted as text.
pub fn json_value(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(redacted) = text(s) {
                *s = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(json_value),
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let secret = match item {
                    Value::String(s) => names::is_secret_value(key, s),
                    Value::Number(n) => names::is_secret_value(key, &n.to_string()),
                    _ => false,
                };
                if secret {
                    *item = Value::String(MASK.to_owned());
                } else {
                    json_value(item);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Where a word starts: an ASCII word boundary, or just after a written `\n`, `\r` or `\t`
/// (a log line that escapes its line breaks).
const BOUNDARY: &str = r"(?:(?-u:\b)|\\[nrt])";

/// One of this module's own patterns, compiled by [`gate::Pattern`] on first need; a failure
/// to compile is caught by the tests and, in production, makes [`text`] fail closed.
fn source(pattern: &str) -> String {
    pattern.to_owned()
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// `text` with each span (in order, not overlapping) replaced by [`MASK`].
fn masked<'a>(text: Cow<'a, str>, spans: &[Range<usize>]) -> Cow<'a, str> {
    if spans.is_empty() {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for span in spans.iter().filter(|s| !s.is_empty()) {
        if span.start < copied {
            continue;
        }
        out.push_str(&text[copied..span.start]);
        out.push_str(MASK);
        copied = span.end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Masks, in every match of `re` that `is_secret` accepts, the groups named `s…`.
fn mask_groups<'a>(
    text: Cow<'a, str>,
    re: &Compiled,
    is_secret: impl Fn(&compiled::Captures) -> bool,
) -> Cow<'a, str> {
    let mut spans = Vec::new();
    for caps in re.captures_iter(&text).filter(|c| is_secret(c)) {
        let found = re.secret_groups().iter().filter_map(|&i| caps.get(i));
        spans.extend(found.filter(|m| !m.as_str().contains(MASK)).map(|m| m.range()));
    }
    masked(text, &spans)
}

/// Every pattern, by the name its gate has in `gates.rs`, in the order the passes run.
#[cfg(test)]
fn patterns() -> [(&'static str, &'static Pattern); 11] {
    PASSES.each_ref().map(|p| (p.name, p.pattern))
}

/// Each pattern's name and source, in the order the passes run, for `benches/startup.rs`.
#[doc(hidden)]
pub fn pattern_sources() -> Vec<(&'static str, String)> {
    PASSES.iter().map(|p| (p.name, p.pattern.source())).collect()
}

/// Compiles the pattern called `name` afresh, as the redaction does on first need, for
/// `benches/startup.rs`; whether it compiled.
#[doc(hidden)]
pub fn compile_pattern(name: &str) -> bool {
    PASSES.iter().any(|p| p.name == name && p.pattern.compile().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every text of the planted-secret corpus, whole and line by line, and the fuzzers' seeds.
    fn texts() -> Vec<String> {
        let corpus = include_str!("../../tests/fixtures/secrets/corpus.yaml");
        let mut texts: Vec<String> = corpus.lines().map(str::to_owned).collect();
        // Beside characters beyond ASCII, as our own reports write them and as folding finds.
        let wider: Vec<String> = texts.iter().map(|line| format!("— {line} ×")).collect();
        let folded: Vec<String> =
            texts.iter().map(|line| line.replace('s', "ſ").replace('k', "\u{212a}")).collect();
        texts.extend(wider.into_iter().chain(folded));
        texts.push(corpus.to_owned());
        let seeds = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/sanitize_redact");
        for entry in std::fs::read_dir(seeds).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            texts.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        texts
    }

    /// `gates.rs` is what the patterns' syntax trees say; `TRIAGE_BLESS=1 cargo test --lib
    /// gates` writes it after a pattern changed.
    #[test]
    fn the_gates_are_read_from_the_patterns() {
        let file = gate::required::gates_file(&patterns());
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/redact/gates.rs");
        if std::env::var_os("TRIAGE_BLESS").is_some() {
            std::fs::write(path, &file).unwrap();
        }
        let stale = "src/redact/gates.rs is stale: run TRIAGE_BLESS=1 cargo test --lib gates";
        assert!(std::fs::read_to_string(path).unwrap() == file, "{stale}");
        for (name, pattern) in patterns() {
            let holds = gate::required::holds(&pattern.source()).unwrap_or_default();
            let beyond = gate::required::beyond_ascii(&pattern.source());
            let gate = pattern.gate();
            assert!(gate.holds == holds && gate.beyond_ascii == beyond, "{name}: another's gate");
        }
    }

    #[test]
    fn a_pattern_is_skipped_only_on_text_it_cannot_match() {
        let patterns = patterns().map(|(_, p)| p);
        assert_eq!(patterns.len(), PASSES.len());
        let gated = patterns.iter().filter(|p| !p.gate().holds.is_empty()).count();
        assert!(gated >= 9, "only {gated} of the patterns have a gate");
        let texts = texts();
        for (i, pattern) in patterns.iter().enumerate() {
            assert_eq!(pattern.skips_a_match(&texts), None, "pattern {i}");
        }
        // What a short command prints compiles nothing.
        let plain = "read /tmp/triage-bench/empty.log: empty, no line in the window";
        let may_match = screen().may_match(plain);
        let run: Vec<usize> = (0..patterns.len()).filter(|&i| may_match.get(i)).collect();
        assert!(run.is_empty(), "{plain}: patterns {run:?} would run");
    }

    /// What `round` relies on to read the gates once: masking cannot make a text hold a gate's
    /// string. The mask holds none, and every string that runs into it would hold a bracket.
    #[test]
    fn the_mask_opens_no_gate() {
        for (name, pattern) in patterns() {
            for held in pattern.gate().holds.iter().flat_map(|set| set.iter()) {
                assert!(!MASK.contains(held) && !held.contains(['[', ']']), "{name}: {held}");
            }
        }
        assert!(MASK.starts_with('[') && MASK.ends_with(']') && MASK.is_ascii());
    }

    /// The way `compiled.rs` builds a pattern finds what `regex::Regex` finds: every match of
    /// every pattern in every text, and each group's span in it.
    #[test]
    fn both_builds_capture_the_same() {
        let texts = texts();
        for (name, pattern) in patterns() {
            let reference = regex::Regex::new(&pattern.source()).unwrap();
            let ours = pattern.compile().unwrap();
            let names: Vec<Option<&str>> = reference.capture_names().collect();
            assert_eq!(ours.capture_names().collect::<Vec<_>>(), names, "{name}");
            for text in &texts {
                let expected: Vec<Vec<Option<Range<usize>>>> = reference
                    .captures_iter(text)
                    .map(|c| (0..names.len()).map(|i| c.get(i).map(|m| m.range())).collect())
                    .collect();
                let found: Vec<Vec<Option<Range<usize>>>> = ours
                    .captures_iter(text)
                    .map(|c| (0..names.len()).map(|i| c.get(i).map(|m| m.range())).collect())
                    .collect();
                assert_eq!(found, expected, "{name} in {text:?}");
            }
        }
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(text("password=hunter2"), "password=[redacted]");
    }

    #[test]
    fn secret_headers_lose_their_values() {
        assert_eq!(header("Authorization", "Bearer eyJhbGciOi.x.y"), "Bearer [redacted]");
        assert_eq!(header("Cookie", "sid=abc; theme=dark"), "sid=[redacted]; theme=[redacted]");
        assert_eq!(
            header("set-cookie", "session=s3cr3t; Path=/; HttpOnly"),
            "session=[redacted]; Path=/; HttpOnly"
        );
        assert_eq!(header("X-Api-Key", "k-123"), MASK);
        assert_eq!(header("access-control-allow-credentials", "true"), "true");
        assert_eq!(header("cf-ray", "8a1b2c3d4e5f-AMS"), "8a1b2c3d4e5f-AMS");
        assert_eq!(header("x-debug", "db password=hunter2"), "db password=[redacted]");
        assert_eq!(header_line("Set-Cookie: a=b"), "Set-Cookie: a=[redacted]");
        assert!(matches!(header_line("server: nginx"), Cow::Borrowed(_)));
    }

    #[test]
    fn urls_keep_their_shape_and_lose_their_secrets() {
        assert_eq!(
            url("https://shop.test/cart?id=7&token=abc123&utm_source=x#top"),
            "https://shop.test/cart?id=7&token=[redacted]&utm_source=x#top"
        );
        assert_eq!(
            url("mysql://app:hunter2@db.internal:3306/shop"),
            "mysql://app:[redacted]@db.internal:3306/shop"
        );
        assert_eq!(
            url("https://x.test/?X-Amz-Signature=f00&page=2"),
            "https://x.test/?X-Amz-Signature=[redacted]&page=2"
        );
        assert!(matches!(url("https://x.test/a?page=2"), Cow::Borrowed(_)));
    }

    #[test]
    fn free_text_loses_tokens_and_passwords() {
        let line = r#"GET /api?key=abc HTTP/1.1 via postgres://u:pw@10.0.0.5/db Authorization: Bearer abcdefghijkl DB_PASSWORD="hunter2" define('DB_PASSWORD', 'hunter2');"#;
        let out = text(line);
        for secret in ["abc HTTP", "pw@", "abcdefghijkl", "hunter2"] {
            assert!(!out.contains(secret), "{secret} survived in {out}");
        }
        assert!(out.contains("10.0.0.5/db"), "{out}");
        assert!(out.contains("DB_PASSWORD=\"[redacted]"), "{out}");
        assert!(matches!(text("upstream timed out (110) while reading"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_documents_are_redacted_by_key() {
        let mut doc = serde_json::json!({
            "user": "app", "password": "x y", "pin": 1234, "apiKey": 99,
            "nested": [{"Token": "t0k3n"}, "see password=hunter2"],
            "code": 502, "session": {"id": "20261201-084241-3fa9"},
        });
        json_value(&mut doc);
        assert_eq!(doc["password"], MASK);
        assert_eq!(doc["apiKey"], MASK);
        assert_eq!(doc["nested"][0]["Token"], MASK);
        assert_eq!(doc["nested"][1], "see password=[redacted]");
        assert_eq!(doc["user"], "app");
        assert_eq!(doc["pin"], 1234);
        assert_eq!(doc["code"], 502);
        assert_eq!(doc["session"]["id"], "20261201-084241-3fa9");
    }
}
