//! The password argument of connect calls as stack traces print them:
//! `PDO->__construct('mysql:host=db', 'root', 'PW', Array)`,
//! `mysqli_real_connect(Object(mysqli), 'localhost', 'wp', 'PW', …)`, `ldap_bind(…)`,
//! `pymysql.connect('db', 'root', 'PW')`, `Redis->auth('PW')`. The function, the host and the
//! user stay. Keyword arguments (`password='…'`, `{ password: '…' }`) are `pairs`' work.

use std::borrow::Cow;
use std::ops::Range;

use super::compiled::Compiled;
use super::gate::Pattern;

use super::names;

/// A function or method name (`new X`, `A\B->c`, `A::b`, `a.b.c`) and its opening parenthesis.
pub(super) static CALL: Pattern = Pattern::new(&super::gates::CALL, || {
    super::source(
        r"(?P<name>(?:new[ \t]+)?[A-Za-z_\\][A-Za-z0-9_\\]*(?:(?:->|::|\.)[A-Za-z_][A-Za-z0-9_]*)*)[ \t]*\(",
    )
});

/// Calls whose password is a positional argument: the name's end, lower case, and the index.
const PASSWORD_ARGUMENT: &[(&str, usize)] = &[
    ("mysqli_real_connect", 3),
    ("mysqli_connect", 2),
    ("mysql_connect", 2),
    ("mysql_pconnect", 2),
    ("mysqli->__construct", 2),
    ("mysqli::__construct", 2),
    ("new mysqli", 2),
    ("mysqli->real_connect", 2),
    ("mysqli->connect", 2),
    ("ldap_bind", 2),
    ("ftp_login", 2),
    ("ssh2_auth_password", 2),
    ("imap_open", 2),
    ("oci_connect", 1),
    ("oci_pconnect", 1),
    ("oci_new_connect", 1),
    ("pymysql.connect", 2),
    ("mysqldb.connect", 2),
    ("mysql.connector.connect", 2),
    ("->auth", 0),
    ("->login", 1),
    (".login", 1),
];

/// PDO driver prefixes: a call whose first argument is such a DSN takes (dsn, user, password).
const PDO_DRIVERS: &[&str] =
    &["mysql", "pgsql", "sqlsrv", "odbc", "dblib", "oci", "firebird", "ibm", "informix", "cubrid"];

/// Arguments are read this far at most; a longer call is not a trace line.
const MAX_ARGUMENTS: usize = 4096;

pub(super) fn apply<'a>(text: Cow<'a, str>, re: &Compiled) -> Cow<'a, str> {
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(caps) = re.captures_at(&text, at) {
        let (Some(whole), Some(name)) = (caps.get(0), caps.name("name")) else { break };
        at = whole.end();
        let Some(index) = password_index(name.as_str(), &text[at..]) else { continue };
        let (arguments, end) = arguments(&text, at);
        let secret = arguments.get(index).and_then(|a| quoted_inner(&text, a.clone()));
        spans.extend(secret.filter(|s| !names::is_placeholder(&text[s.clone()])));
        at = end.max(at);
    }
    super::masked(text, &spans)
}

/// Which argument is the password, by the function's name or by a DSN first argument.
fn password_index(name: &str, after: &str) -> Option<usize> {
    let name = name.to_ascii_lowercase();
    let by_name = PASSWORD_ARGUMENT.iter().find(|(end, _)| {
        name.strip_suffix(end).is_some_and(|before| {
            before.is_empty()
                || end.starts_with(['-', '.', ':'])
                || before.ends_with(['\\', '>', '.', ':', ' '])
        })
    });
    by_name.map(|&(_, index)| index).or_else(|| starts_with_dsn(after).then_some(2))
}

fn starts_with_dsn(arguments: &str) -> bool {
    let first = arguments.trim_start();
    let Some(dsn) = first.strip_prefix(['\'', '"']) else { return false };
    PDO_DRIVERS.iter().any(|d| {
        dsn.get(..d.len()).is_some_and(|p| p.eq_ignore_ascii_case(d))
            && dsn[d.len()..].starts_with(':')
    })
}

/// The spans of the arguments after `(` at `start`, split at top-level commas, up to the
/// closing `)`, the end of the line or [`MAX_ARGUMENTS`]; and where reading stopped.
fn arguments(text: &str, start: usize) -> (Vec<Range<usize>>, usize) {
    let bytes = text.as_bytes();
    let limit = (start + MAX_ARGUMENTS).min(bytes.len());
    let (mut spans, mut from, mut depth, mut quote) = (Vec::new(), start, 0usize, None);
    let mut i = start;
    while i < limit {
        let b = bytes[i];
        match (quote, b) {
            (Some(_), b'\\') => i += 1,
            (Some(q), _) if b == q => quote = None,
            (Some(_), b'\n') | (None, b'\n' | b'\r') => break,
            (None, b'\'' | b'"') => quote = Some(b),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') if depth == 0 => break,
            (None, b')' | b']' | b'}') => depth -= 1,
            (None, b',') if depth == 0 => {
                spans.push(trimmed(text, from..i));
                from = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let end = super::floor_boundary(text, i);
    spans.push(trimmed(text, from..end.max(from)));
    (spans, end)
}

fn trimmed(text: &str, span: Range<usize>) -> Range<usize> {
    let s = &text[span.clone()];
    let start = span.start + (s.len() - s.trim_start().len());
    start..start + s.trim().len()
}

/// Inside the quotes of a quoted argument (to its end if the trace cut the quote off).
fn quoted_inner(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let arg = &text[span.clone()];
    let quote = arg.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let end = if arg.len() > 1 && arg.ends_with(quote) { span.end - 1 } else { span.end };
    Some(span.start + 1..end)
}

#[cfg(test)]
mod tests {
    use super::super::text;

    #[test]
    fn the_password_argument_goes_and_the_call_stays() {
        let cases = [
            (
                "#0 x.php(70): PDO->__construct('mysql:host=db;dbname=shop', 'root', 'pw', Array)",
                "#0 x.php(70): PDO->__construct('mysql:host=db;dbname=shop', 'root', '[redacted]', Array)",
            ),
            (
                "mysqli_real_connect(Object(mysqli), 'localhost', 'wp', 'p,w', 'wp', 3306, NULL, 0)",
                "mysqli_real_connect(Object(mysqli), 'localhost', 'wp', '[redacted]', 'wp', 3306, NULL, 0)",
            ),
            (
                "mysqli->__construct('db', 'app', 'p;w', 'app')",
                "mysqli->__construct('db', 'app', '[redacted]', 'app')",
            ),
            ("Redis->auth('pw')", "Redis->auth('[redacted]')"),
            (
                "PDO->__construct('mysql:host=db', 'root', Object(SensitiveParameterValue))",
                "PDO->__construct('mysql:host=db', 'root', Object(SensitiveParameterValue))",
            ),
            ("strlen('mysql', 'a', 'b')", "strlen('mysql', 'a', 'b')"),
        ];
        for (input, expected) in cases {
            assert_eq!(text(input), expected, "{input}");
        }
    }
}
