//! `name = value` pairs wherever they appear: JSON and YAML keys (quoted or not, JSON escaped
//! inside a string too), env files, ini, PHP/Python/Ruby/JS literals, `define('NAME', 'v')`,
//! `"NAME=value"` (systemd), libpq and ADO/ODBC connection strings, `--flag value`. The value
//! goes when the name says it is a secret; the name, quotes and separator stay.
//!
//! A candidate is found by a regex on the name and separator only; the value is read by hand,
//! because how far it reaches depends on what opened it (a quote, a brace, the start of a
//! line). A candidate that turns out not to be a secret resumes the search at its value, so a
//! secret pair inside it (`msg="bad password=x"`) is still found.

use std::borrow::Cow;
use std::ops::Range;

use super::compiled::{Captures, Compiled};
use super::gate::Pattern;

use super::names;

/// A name holding one of the words `names` knows (the regex only narrows the search; `names`
/// decides), optional quotes around it, an optional `]` (`env[NAME]`), then a separator.
pub(super) static CANDIDATE: Pattern = Pattern::without_prefilter(&super::gates::CANDIDATE, || {
    super::source(concat!(
        r#"(?P<open>\\?["'`])?"#,
        r"(?P<name>[A-Za-z0-9_.\-]*",
        r"(?i:pass|pw|secret|token|cred|salt|key|auth|sess|logged|sig|jwt|sid|code|nonce|hash|otp|private|csrf|xsrf|ticket)",
        r"[A-Za-z0-9_.\-]*)",
        r#"(?P<close>\\?["'`])?\]?"#,
        r"(?P<sep>[ \t]*(?:=>|:=|[:=]|,)[ \t]*|[ \t]+)",
    ))
});

/// Scanning for where a value ends stops here: a value running on longer is masked to its
/// end anyway (`names::looks_random`), and lookahead never re-reads more than this.
const LOOKAHEAD: usize = 512;

pub(super) fn apply<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    let spans = spans(&text, re);
    super::masked(text, &spans)
}

fn spans(text: &str, re: &Compiled) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut lines = LineStart::default();
    let mut at = 0;
    while let Some(caps) = re.captures_at(text, at) {
        let Some(whole) = caps.get(0) else { break };
        let line_start = lines.at_line_start(text, whole.start());
        let (secret, resume) = judge(text, &caps, line_start);
        spans.extend(secret);
        at = resume;
    }
    spans
}

/// The secret a candidate holds, if any, and where the search goes on: after a masked value,
/// or at the value of a candidate that was not a secret.
fn judge(text: &str, caps: &Captures, line_start: bool) -> (Option<Range<usize>>, usize) {
    let (Some(whole), Some(name)) = (caps.get(0), caps.name("name")) else {
        return (None, text.len());
    };
    let name = unescaped(text, name.start(), name.as_str());
    // A plain name's value is not even read, so nothing is read twice but a short value.
    if names::kind(name) == names::Kind::Plain {
        return (None, whole.end());
    }
    let Some(value) = Pair::of(caps, name, line_start).and_then(|p| p.value(text, whole.end()))
    else {
        return (None, whole.end());
    };
    let shown = &text[value.inner.clone()];
    if shown.contains(super::MASK) {
        // Masked already; a short value is still searched for pairs inside it.
        (None, if shown.len() > LOOKAHEAD { value.end } else { whole.end() })
    } else if names::is_secret_value(name, shown) {
        (Some(value.inner), value.end)
    } else {
        (None, whole.end())
    }
}

/// The name without the letter of a written escape before it: in a log line that prints
/// `\npass=x`, the name is `pass`, not `npass`.
fn unescaped<'t>(text: &str, start: usize, name: &'t str) -> &'t str {
    let escaped = text[..start].ends_with('\\') && name.starts_with(['n', 'r', 't']);
    if escaped { &name[1..] } else { name }
}

/// Where the line that `start` is on ends: a line break, a written `\n`, or the U+FFFD that
/// sanitising put in place of a line break.
fn line_end(text: &str, start: usize) -> usize {
    let rest = &text[start..];
    let real = rest.find(['\r', '\n', '\u{fffd}']).unwrap_or(rest.len());
    let written = rest[..real].find("\\n").unwrap_or(real);
    start + real.min(written)
}

/// How the name is tied to its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// `=` or `:=`; `spaced` when blanks surround it (ini: the value may hold spaces).
    Assign { spaced: bool },
    /// `:` (YAML, JSON, JS, headers).
    Colon,
    /// `=>` (PHP, Ruby).
    Arrow,
    /// `'NAME', 'value'` (PHP `define`, `env`).
    Comma,
    /// `--flag value`.
    Blank,
}

/// A candidate pair, before its value is read.
#[derive(Debug)]
struct Pair {
    sep: Sep,
    /// The key was quoted (`"password":`): its value is a token, never the rest of the line.
    quoted_key: bool,
    /// `"NAME=value"`: the quote that opened before the name closes the value.
    encloses: Option<char>,
    line_start: bool,
}

/// Where the secret is (inside any quotes) and where the value ends.
#[derive(Debug)]
struct Value {
    inner: Range<usize>,
    end: usize,
}

impl Pair {
    fn of(caps: &Captures, name: &str, line_start: bool) -> Option<Pair> {
        let raw = caps.name("sep")?.as_str();
        let sep = match raw.trim() {
            "=" | ":=" => Sep::Assign { spaced: raw.starts_with([' ', '\t']) },
            ":" => Sep::Colon,
            "=>" => Sep::Arrow,
            "," => Sep::Comma,
            _ => Sep::Blank,
        };
        let open = caps.name("open").map(|m| m.as_str());
        let closed = caps.name("close").is_some();
        let valid = match sep {
            Sep::Comma => open.is_some() && closed,
            Sep::Blank => name.starts_with('-') && open.is_none(),
            _ => true,
        };
        let encloses = match (open, closed, sep) {
            (Some(q), false, Sep::Assign { .. }) => q.chars().last(),
            _ => None,
        };
        valid.then_some(Pair { sep, quoted_key: open.is_some(), encloses, line_start })
    }

    /// The value that starts at `start`, or `None` when there is none worth reading (a nested
    /// object, a function call, nothing on the line).
    fn value(&self, text: &str, start: usize) -> Option<Value> {
        if let Some(quote) = self.encloses {
            return Some(until_quote(text, start, quote));
        }
        let rest = &text[start..];
        let value = match rest.chars().next()? {
            '\\' if rest.starts_with("\\\"") => escaped_quoted(text, start),
            // `["NAME", "value": …]` is a list and a key, not `define('NAME', 'value')`.
            _ if self.sep == Sep::Comma && is_key(text, start) => return None,
            q @ ('"' | '\'' | '`') => quoted(text, start, q),
            _ if self.sep == Sep::Comma => return None,
            '{' if matches!(self.sep, Sep::Assign { .. }) => braced(text, start),
            '{' | '[' | '\r' | '\n' => return None,
            _ if self.rest_of_line() => rest_of_line(text, start),
            _ => self.token(text, start)?,
        };
        (!value.inner.is_empty()).then_some(value)
    }

    /// YAML `password: a b c` and ini `password = a b c` at the start of a line: the value is
    /// the whole rest of it.
    fn rest_of_line(&self) -> bool {
        self.line_start
            && !self.quoted_key
            && matches!(self.sep, Sep::Colon | Sep::Arrow | Sep::Assign { spaced: true })
    }

    /// An unquoted value in running text: up to a blank or a delimiter, and for `NAME=a b;`
    /// (ADO, ODBC) on to the `;` when nothing between looks like another pair.
    fn token(&self, text: &str, start: usize) -> Option<Value> {
        let end = token_end(text, start);
        if text[end..].starts_with('(') {
            return None;
        }
        let end = match self.sep {
            Sep::Assign { .. } => list_item_end(text, end).unwrap_or(end),
            _ => end,
        };
        Some(Value { inner: start..end, end })
    }
}

/// Whether the quoted string at `start` is followed by `:`, as a key is.
fn is_key(text: &str, start: usize) -> bool {
    let Some(quote) = text[start..].chars().next() else { return false };
    let value = quoted(text, start, quote);
    text[value.end..].trim_start_matches([' ', '\t']).starts_with(':')
}

fn token_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = start;
    while let Some(&b) = bytes.get(i) {
        let stop = match b {
            b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\'' | b'`' | b'<' | b'>' | b';' | b'&'
            | b'(' | b')' | b'{' | b'}' => true,
            b',' => bytes.get(i + 1).is_none_or(u8::is_ascii_whitespace),
            b'\\' => matches!(bytes.get(i + 1), Some(b'"' | b'\'' | b'n' | b'r' | b't')),
            // U+FFFD stands where sanitising replaced a control character, a line break mostly.
            0xEF => text[i..].starts_with('\u{fffd}'),
            _ => false,
        };
        if stop {
            break;
        }
        i += 1;
    }
    i
}

/// `Password=a b c;` — the end before the `;`, when the blanks after the token lead there
/// without another `=`, quote or line break.
fn list_item_end(text: &str, token_end: usize) -> Option<usize> {
    let rest = &text[token_end..];
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let window = &rest[..super::floor_boundary(rest, LOOKAHEAD)];
    let semicolon = window.find([';', '=', '"', '\'', '&', '\r', '\n'])?;
    (window.as_bytes()[semicolon] == b';').then(|| token_end + window[..semicolon].trim_end().len())
}

/// The rest of the line, trailing blanks aside — unless it reads as more `name=value` pairs
/// (a log line), then only the first token.
fn rest_of_line(text: &str, start: usize) -> Value {
    let line = &text[start..line_end(text, start)];
    let more_pairs = line.split_whitespace().skip(1).any(|w| {
        w.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        })
    });
    let end = if more_pairs { token_end(text, start) } else { start + line.trim_end().len() };
    Value { inner: start..end, end }
}

/// A quoted value: up to the matching unescaped quote, or to the end of the line when the
/// quote never closes (a line cut short still loses its secret). Lines end as [`line_end`]
/// says, at a written `\n` too, and a backslash never escapes a line's end: otherwise the next
/// line's `password='…` would be read as this value's rest, and its secret left after it.
fn quoted(text: &str, start: usize, quote: char) -> Value {
    let bytes = text.as_bytes();
    let line_end = |i: usize| {
        let rest = bytes.get(i..).unwrap_or_default();
        let ends: [&[u8]; 4] = [b"\r", b"\n", b"\\n", "\u{fffd}".as_bytes()];
        ends.iter().any(|end| rest.starts_with(end))
    };
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            _ if line_end(i) => return Value { inner: start + 1..i, end: i },
            b'\\' if !line_end(i + 1) => i += 2,
            _ if char::from(b) == quote => return Value { inner: start + 1..i, end: i + 1 },
            _ => i += 1,
        }
    }
    let end = text.len().min(i);
    Value { inner: start + 1..end, end }
}

/// `\"value\"`, JSON inside a JSON string.
fn escaped_quoted(text: &str, start: usize) -> Value {
    let from = start + 2;
    let close = text[from..].find("\\\"").map_or(text.len(), |i| from + i);
    let end = line_end(&text[..close], from);
    Value { inner: from..end, end: if end == close { (close + 2).min(text.len()) } else { end } }
}

/// ODBC's `Pwd={a;b}`.
fn braced(text: &str, start: usize) -> Value {
    enclosed(text, start + 1, '}')
}

/// `"NAME=value with blanks"`: up to the quote that opened before the name.
fn until_quote(text: &str, start: usize, quote: char) -> Value {
    enclosed(text, start, quote)
}

/// From `from` to `close` (not included), or to the end of the line when `close` is missing.
fn enclosed(text: &str, from: usize, close: char) -> Value {
    let at = text[from..].find(close).map_or(text.len(), |i| from + i);
    let end = line_end(&text[..at], from);
    Value {
        inner: from..end,
        end: if end == at { (at + close.len_utf8()).min(text.len()) } else { end },
    }
}

/// Whether a position is the first thing on its line (after indentation, `export `, `- `,
/// `ENV ` or `env[`), tracked forward so every byte is looked at once.
#[derive(Debug, Default)]
struct LineStart {
    scanned: usize,
    begin: usize,
}

impl LineStart {
    fn at_line_start(&mut self, text: &str, at: usize) -> bool {
        let scanned = &text[self.scanned..at];
        let real = scanned
            .rfind(['\n', '\u{fffd}'])
            .map(|i| i + scanned[i..].chars().next().map_or(1, char::len_utf8));
        let written = scanned.rfind("\\n").map(|i| i + 2);
        if let Some(after) = real.max(written) {
            self.begin = self.scanned + after;
        }
        self.scanned = at;
        // Indentation and a keyword are short; a long prefix is running text.
        if at - self.begin > 64 {
            return false;
        }
        let prefix = text[self.begin..at].trim_start();
        let prefix = ["export ", "ENV ", "ARG ", "set ", "setenv ", "- "]
            .iter()
            .find_map(|p| prefix.strip_prefix(p))
            .map_or(prefix, str::trim_start);
        prefix.is_empty()
            || prefix
                .strip_suffix('[')
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    }
}

#[cfg(test)]
mod tests {
    use super::super::text;

    #[test]
    fn values_end_where_their_opening_says() {
        let cases = [
            (
                r#"{"password": "a b, c;d", "user": "x"}"#,
                r#"{"password": "[redacted]", "user": "x"}"#,
            ),
            ("password = a b, c;d", "password = [redacted]"),
            ("  token: abc def\nnext: 1", "  token: [redacted]\nnext: 1"),
            ("DB_PASSWORD='x y' make", "DB_PASSWORD='[redacted]' make"),
            ("run --password 'x y' --verbose", "run --password '[redacted]' --verbose"),
            ("Uid=sa;Password=a b c;Encrypt=True", "Uid=sa;Password=[redacted];Encrypt=True"),
            ("Pwd={a;b c};Server=x", "Pwd={[redacted]};Server=x"),
            (r#"Environment="DB_PASS=a b" "X=1""#, r#"Environment="DB_PASS=[redacted]" "X=1""#),
            ("define('DB_PASSWORD', 'a, b');", "define('DB_PASSWORD', '[redacted]');"),
            (r#"{\"password\":\"a b\"}"#, r#"{\"password\":\"[redacted]\"}"#),
            ("user=bob password=hunter2 host=db", "user=bob password=[redacted] host=db"),
            ("'password' => env('DB_PASS', 'x'),", "'password' => env('DB_PASS', '[redacted]'),"),
            (
                r#"msg="login with password=x1 failed""#,
                r#"msg="login with password=[redacted] failed""#,
            ),
            // A backslash at a line's end escapes nothing (found by fuzzing sanitize_redact).
            ("sessid='a#\\\nDB_PASSWORD='hunter2'", "sessid='[redacted]\nDB_PASSWORD='[redacted]'"),
            (
                "sessid='a#\\\u{fffd}DB_PASSWORD='hunter2'",
                "sessid='[redacted]\u{fffd}DB_PASSWORD='[redacted]'",
            ),
            // A quote left open ends with its line, written or not.
            (r"sessid='a#\nDB_PASSWORD='hunter2'", r"sessid='[redacted]\nDB_PASSWORD='[redacted]'"),
            (
                r"sessid='a#\\nDB_PASSWORD='hunter2'",
                r"sessid='[redacted]\nDB_PASSWORD='[redacted]'",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(text(input), expected, "{input}");
        }
    }

    #[test]
    fn prose_and_evidence_stay() {
        for line in [
            "FATAL:  password authentication failed for user \"shop\"",
            "cache key=user:42 code=502 exit code: 1 token expired",
            "auth_basic \"Restricted\"; keyboard: us",
            "{\"code\": 502, \"key\": \"cache:user:42\", \"password\": null}",
        ] {
            assert_eq!(text(line), line);
        }
    }
}
