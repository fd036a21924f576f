//! `{{name}}` placeholders in runbook texts: finding them and rendering them. Values put into
//! commands are always shell-quoted; this module must never put a value into a command raw.
//!
//! A placeholder is `{{`, optional spaces, an input name (`[a-z_][a-z0-9_]*`), optional spaces,
//! `}}`. Anything else between braces (`{{.State.Status}}` in a docker format string) is text.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

/// One placeholder occurrence: the input name and the byte range of the whole `{{…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    pub name: &'a str,
    pub range: Range<usize>,
}

/// Every placeholder in `text`, in order, with positions.
pub fn scan(text: &str) -> Vec<Placeholder<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find("{{").map(|i| i + from) {
        let Some(close) = text[open + 2..].find("}}").map(|i| i + open + 2) else {
            break;
        };
        let name = text[open + 2..close].trim_matches([' ', '\t']);
        if is_name(name) {
            found.push(Placeholder { name, range: open..close + 2 });
            from = close + 2;
        } else {
            from = open + 1;
        }
    }
    found
}

/// The input names used in `text`, in order (repeats included).
pub fn placeholders(text: &str) -> Vec<&str> {
    scan(text).into_iter().map(|p| p.name).collect()
}

/// Whether `name` is a valid input name: `[a-z_][a-z0-9_]*`.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Renders prose: each known placeholder becomes its value; unknown ones stay visible.
pub fn render_text(text: &str, vars: &BTreeMap<String, String>) -> String {
    render(text, |name| vars.get(name).map(|v| Cow::Borrowed(v.as_str())))
}

/// Renders a shell command: each known placeholder becomes its value, shell-quoted, so that
/// the shell sees exactly one word whatever the value holds. NUL bytes (which no shell word can
/// carry) are replaced by U+FFFD before quoting. Unknown placeholders stay visible.
pub fn render_command(text: &str, vars: &BTreeMap<String, String>) -> String {
    render(text, |name| vars.get(name).map(|v| Cow::Owned(quote(v))))
}

/// One value as a single shell word.
pub fn quote(value: &str) -> String {
    let clean: Cow<'_, str> = if value.contains('\0') {
        Cow::Owned(value.replace('\0', "\u{fffd}"))
    } else {
        Cow::Borrowed(value)
    };
    match shlex::try_quote(&clean) {
        Ok(quoted) => quoted.into_owned(),
        // Unreachable after the NUL replacement; an empty word is still safe.
        Err(_) => "''".to_owned(),
    }
}

fn render<'v>(text: &str, mut value: impl FnMut(&str) -> Option<Cow<'v, str>>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for p in scan(text) {
        out.push_str(&text[last..p.range.start]);
        match value(p.name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&text[p.range.clone()]),
        }
        last = p.range.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Whether byte offset `at` of a shell command lies inside single or double quotes. A
/// placeholder there would be quoted twice, which changes its meaning, so the validator refuses it.
pub fn inside_quotes(command: &str, at: usize) -> bool {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in command.char_indices() {
        if i >= at {
            break;
        }
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some('\''), '\'') | (Some('"'), '"') => quote = None,
            (Some('"') | None, '\\') => escaped = true,
            (None, '\'' | '"') => quote = Some(c),
            _ => {}
        }
    }
    quote.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn finds_names_and_ignores_other_brace_text() {
        let text = "curl {{url}} && docker inspect -f '{{.State.Status}}' {{ app }} {{Bad}} {{";
        assert_eq!(placeholders(text), vec!["url", "app"]);
    }

    #[test]
    fn prose_keeps_unknown_names_visible() {
        let out = render_text("Open {{url}} on {{host}}.", &vars(&[("url", "https://x.test/")]));
        assert_eq!(out, "Open https://x.test/ on {{host}}.");
    }

    #[test]
    fn hostile_values_stay_one_shell_word() {
        let hostile = [
            "; rm -rf /",
            "$(id)",
            "`id`",
            "a'b\"c",
            "line1\nline2",
            "",
            "it's $HOME",
            "-n",
            "*",
            "\\",
        ];
        for value in hostile {
            let cmd = render_command("echo {{v}} end", &vars(&[("v", value)]));
            let words = shlex::split(&cmd).unwrap();
            assert_eq!(words, vec!["echo", value, "end"], "{cmd}");
        }
    }

    #[test]
    fn nul_bytes_never_reach_the_command() {
        let cmd = render_command("echo {{v}}", &vars(&[("v", "a\0b")]));
        assert!(!cmd.contains('\0'));
        assert_eq!(shlex::split(&cmd).unwrap(), vec!["echo", "a\u{fffd}b"]);
    }

    #[test]
    fn placeholder_glued_to_text_stays_one_word() {
        let cmd = render_command("curl https://{{host}}/health", &vars(&[("host", "a b")]));
        assert_eq!(shlex::split(&cmd).unwrap(), vec!["curl", "https://a b/health"]);
    }

    #[test]
    fn quote_context_is_tracked() {
        let cmd = r#"echo '{{a}}' "x {{b}}" \'{{c}} {{d}}"#;
        let at: Vec<bool> = scan(cmd).iter().map(|p| inside_quotes(cmd, p.range.start)).collect();
        assert_eq!(at, vec![true, true, false, false]);
    }
}
