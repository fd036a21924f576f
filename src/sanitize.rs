//! Makes text from outside (headers, bodies, log lines, YAML) safe to show on a terminal or to
//! paste into markdown. Nothing that came from outside may reach the screen without passing here.

use std::borrow::Cow;

/// Strips terminal control and escape sequences and replaces other control characters.
///
/// ESC-introduced sequences (CSI, OSC, DCS, …) are removed whole so that what is left is the
/// visible text; other C0/C1 controls (except tab, which becomes a space) become `�`. Newlines
/// are kept only when `keep_newlines` is set, for multi-line bodies.
pub fn terminal_text(input: &str, keep_newlines: bool) -> Cow<'_, str> {
    if !input.chars().any(|c| is_unsafe(c, keep_newlines)) {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI and OSC/DCS/SOS/PM/APC introducers carry a payload just like ESC [ and ESC ].
            '\u{9b}' => skip_csi(&mut chars),
            '\u{90}' | '\u{98}' | '\u{9d}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => out.push(' '),
            '\n' if keep_newlines => out.push('\n'),
            '\r' if keep_newlines && chars.peek() == Some(&'\n') => {}
            c if is_unsafe(c, keep_newlines) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// One line of outside text for a terminal cell: no newlines, no escapes.
pub fn line(input: &str) -> Cow<'_, str> {
    terminal_text(input, false)
}

/// Decodes bytes from outside as UTF-8 (lossily) and sanitises them.
pub fn bytes(input: &[u8], keep_newlines: bool) -> String {
    terminal_text(&String::from_utf8_lossy(input), keep_newlines).into_owned()
}

fn is_unsafe(c: char, keep_newlines: bool) -> bool {
    match c {
        '\n' => !keep_newlines,
        '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => true,
        c => c.is_control(),
    }
}

/// The sequence an ESC introduces; like every sequence, it ends before a line end.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next_if(|c| !is_line_end(*c)) {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        // Two-byte sequences such as ESC c (reset) or ESC ( B (charset) end within a char or two.
        Some('(' | ')' | '*' | '+' | '#' | '%') => {
            chars.next_if(|c| !is_line_end(*c));
        }
        _ => {}
    }
}

fn is_line_end(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// A CSI sequence is parameter and intermediate bytes (` `..=`?`) up to a final byte in
/// `@`..=`~`. Any other character ends it unfinished and is kept as text: a sequence never
/// swallows a line end and what follows it (the start of the next line, where a redaction
/// looks for `password=`).
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(&c) = chars.peek() {
        if !(' '..='~').contains(&c) {
            return;
        }
        chars.next();
        if ('@'..='~').contains(&c) {
            return;
        }
    }
}

/// OSC, DCS and friends end at BEL, ST (ESC \\) or C1 ST; a line end ends them unfinished and
/// is kept, for the same reason as in [`skip_csi`].
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| !is_line_end(*c)) {
        let Some(c) = chars.next() else { return };
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// Escapes text for inline use in GitHub-flavoured markdown, after sanitising it.
pub fn markdown_inline(input: &str) -> String {
    let clean = line(input);
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '!' | '~' | '{' | '}'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Puts outside text in a fenced code block that its content cannot close.
pub fn markdown_code_block(input: &str, info: &str) -> String {
    let clean = terminal_text(input, true);
    let longest = longest_run(&clean, '`');
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{info}\n{}\n{fence}\n", clean.trim_end_matches('\n'))
}

/// Puts outside text in an inline code span that its content cannot close.
pub fn markdown_code_span(input: &str) -> String {
    let clean = line(input);
    let ticks = "`".repeat(longest_run(&clean, '`') + 1);
    let pad = if clean.starts_with('`') || clean.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{clean}{pad}{ticks}")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sequence_swallows_a_line_end_or_the_next_line() {
        for input in [
            "a\u{1b}[0\npassword=x",
            "a\u{1b}]0;title\npassword=x",
            "a\u{1b}(\npassword=x",
            "a\u{1b}\npassword=x",
            "a\u{9b}12\npassword=x",
        ] {
            assert_eq!(terminal_text(input, true), "a\npassword=x", "{input:?}");
        }
        assert_eq!(terminal_text("a\u{1b}[0\u{1b}[31mb", false), "ab");
    }

    #[test]
    fn strips_csi_osc_and_c1_sequences() {
        let hostile = "ok\u{1b}[2J\u{1b}]52;c;ZXZpbA==\u{7}\u{9b}31mred\u{1b}]0;title\u{1b}\\!";
        assert_eq!(line(hostile), "okred!");
    }

    #[test]
    fn replaces_other_controls_and_bidi_overrides() {
        assert_eq!(line("a\u{0}b\u{8}c\u{202e}d"), "a\u{fffd}b\u{fffd}c\u{fffd}d");
        assert_eq!(line("tab\there"), "tab here");
        assert_eq!(line("two\nlines"), "two\u{fffd}lines");
        assert_eq!(terminal_text("two\r\nlines", true), "two\nlines");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(line("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_escapes_cannot_break_out() {
        assert_eq!(markdown_inline("a|b *c* <img>"), "a\\|b \\*c\\* \\<img\\>");
        assert_eq!(markdown_code_span("x ``` y"), "````x ``` y````");
        assert!(markdown_code_block("```\nrm -rf\n```", "").starts_with("````\n"));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(bytes(b"ok\xff\x1b[1m!", false), "ok\u{fffd}!");
    }
}
