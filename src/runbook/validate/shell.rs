//! Where a command's text is parsed by a second shell: the body of a heredoc, the script of
//! `sh -c` (and bash, dash, zsh, ksh, `su -c`), the remote command of `ssh`, the arguments of
//! `eval`. A placeholder's shell quoting holds for the first shell only, so a value put there
//! could run as code (`$(touch /tmp/x)`); the validator refuses placeholders in these places.
//! A small lexer of shell words with their byte ranges, enough for runbook commands; it never
//! runs anything.

use std::ops::Range;

/// Why text in a command is parsed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Reparse {
    Heredoc,
    /// The script of `<shell> -c`.
    Script(&'static str),
    SshRemote,
    Eval,
}

impl Reparse {
    /// The rule's message for placeholder `shown`.
    pub(super) fn message(self, shown: &str) -> String {
        match self {
            Reparse::Heredoc => format!(
                "`{shown}` is inside a heredoc, where shell quoting does not apply (a `$(…)` in the value would run); pass the value as an argument outside the heredoc"
            ),
            Reparse::Script(shell) => format!(
                "`{shown}` is in the script of `{shell} -c`, which that shell parses again, so its quoting does not hold; pass the value as an argument after the script: `{shell} -c '… \"$1\"' {shell} {shown}`"
            ),
            Reparse::SshRemote => format!(
                "`{shown}` is in the remote command of `ssh`, which the remote shell parses again, so its quoting does not hold; show a command to run on that host instead"
            ),
            Reparse::Eval => format!(
                "`{shown}` is in the arguments of `eval`, which parses them again, so its quoting does not hold"
            ),
        }
    }
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"];
/// ssh options that take an argument.
const SSH_ARGS: &str = "bcDEeFIiJLlmOopQRSWw";

/// Text that a second shell parses: where, and why.
type Reparsed = Vec<(Range<usize>, Reparse)>;

/// The byte ranges of `run` that a second shell parses, with why.
pub(super) fn reparsed(run: &str) -> Reparsed {
    let (commands, mut found) = lex(run);
    for words in &commands {
        found.extend(in_command(words));
    }
    found
}

/// One shell word: its text without quotes, and where it was written.
struct Word {
    text: String,
    range: Range<usize>,
}

/// The simple commands of `run` as words, and the heredoc bodies.
fn lex(run: &str) -> (Vec<Vec<Word>>, Reparsed) {
    let mut lexer =
        Lexer { run, commands: vec![Vec::new()], heredocs: Vec::new(), bodies: Vec::new() };
    lexer.all();
    (lexer.commands, lexer.bodies)
}

struct Lexer<'a> {
    run: &'a str,
    commands: Vec<Vec<Word>>,
    /// Heredocs opened on the current line: (delimiter, `<<-`).
    heredocs: Vec<(String, bool)>,
    bodies: Reparsed,
}

impl Lexer<'_> {
    fn all(&mut self) {
        let bytes = self.run.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => {
                    self.end_command();
                    i = self.heredoc_bodies(i + 1);
                }
                b';' | b'|' | b'&' | b'(' | b')' => {
                    self.end_command();
                    i += 1;
                }
                // A here-string (`<<<`) is one ordinary word after it.
                b'<' if bytes[i..].starts_with(b"<<<") => i += 3,
                b'<' if bytes[i..].starts_with(b"<<") => i = self.heredoc_start(i + 2),
                b' ' | b'\t' | b'\r' | b'<' | b'>' => i += 1,
                _ => i = self.word(i),
            }
        }
    }

    fn end_command(&mut self) {
        if self.commands.last().is_some_and(|c| !c.is_empty()) {
            self.commands.push(Vec::new());
        }
    }

    /// A word from `start`: quotes and backslashes removed from its text. Returns its end.
    fn word(&mut self, start: usize) -> usize {
        let (text, end) = read_word(self.run, start);
        if let Some(command) = self.commands.last_mut() {
            command.push(Word { text, range: start..end });
        }
        // Every word holds at least one character, so the lexer always moves on.
        end.max(start + 1)
    }

    /// `<<[-]DELIM` (DELIM possibly quoted); the body begins after the line ends.
    fn heredoc_start(&mut self, mut i: usize) -> usize {
        let bytes = self.run.as_bytes();
        let strip_tabs = bytes.get(i) == Some(&b'-');
        if strip_tabs {
            i += 1;
        }
        while matches!(bytes.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let (delimiter, end) = read_word(self.run, i);
        if !delimiter.is_empty() {
            self.heredocs.push((delimiter, strip_tabs));
        }
        end
    }

    /// The bodies of the heredocs opened on the line that just ended, from `start`; returns
    /// where the text goes on after their delimiters.
    fn heredoc_bodies(&mut self, mut start: usize) -> usize {
        for (delimiter, strip_tabs) in std::mem::take(&mut self.heredocs) {
            let mut at = start;
            let end = loop {
                let line_end = self.run[at..].find('\n').map_or(self.run.len(), |n| at + n);
                let line = &self.run[at..line_end];
                let line = if strip_tabs { line.trim_start_matches('\t') } else { line };
                if line == delimiter || line_end >= self.run.len() {
                    let body_end = if line == delimiter { at } else { line_end };
                    self.bodies.push((start..body_end, Reparse::Heredoc));
                    break (line_end + 1).min(self.run.len());
                }
                at = line_end + 1;
            };
            start = end;
        }
        start
    }
}

/// The word starting at `start` (quotes removed) and the byte after it.
fn read_word(run: &str, start: usize) -> (String, usize) {
    let mut text = String::new();
    let mut quote: Option<char> = None;
    let mut chars = run[start..].char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        match (quote, c) {
            (None, ' ' | '\t' | '\r' | '\n' | ';' | '|' | '&' | '(' | ')' | '<' | '>') => {
                return (text, start + offset);
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None | Some('"'), '\\') => text.extend(chars.next().map(|(_, n)| n)),
            (_, c) => text.push(c),
        }
    }
    (text, run.len())
}

/// The reparsed words of one simple command: wherever a shell with `-c`, `su -c`, `ssh` or
/// `eval` appears in it (after `sudo`, `timeout`, `xargs`, `find -exec`, `docker exec` …).
fn in_command(words: &[Word]) -> Reparsed {
    let mut found = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let name = word.text.rsplit('/').next().unwrap_or_default();
        let rest = &words[i + 1..];
        if let Some(shell) = SHELLS.iter().find(|s| **s == name) {
            found.extend(script(rest).map(|w| (w.range.clone(), Reparse::Script(shell))));
        } else if name == "su" {
            found.extend(script(rest).map(|w| (w.range.clone(), Reparse::Script("su"))));
        } else if name == "ssh" {
            if let Some(host) = ssh_host(rest) {
                let remote = rest[host + 1..].iter().map(|w| w.range.clone());
                found.extend(remote.map(|r| (r, Reparse::SshRemote)));
            }
        } else if name == "eval" {
            found.extend(rest.iter().map(|w| (w.range.clone(), Reparse::Eval)));
        }
    }
    found
}

/// The word after a `-c` option (alone or in a cluster such as `-ec`), or `--command`.
fn script(words: &[Word]) -> Option<&Word> {
    let mut iter = words.iter();
    while let Some(w) = iter.next() {
        let t = w.text.as_str();
        let cluster = t.starts_with('-') && !t.starts_with("--") && t.contains('c');
        if t == "--command" || cluster {
            return iter.find(|w| !w.text.starts_with('-') || w.text == "-");
        }
        if t.starts_with("--command=") {
            return Some(w);
        }
        if t == "-o" || t == "+o" {
            iter.next();
        }
    }
    None
}

/// The index of ssh's destination among its arguments: the first word that is not an option
/// or an option's argument.
fn ssh_host(words: &[Word]) -> Option<usize> {
    let mut i = 0;
    while let Some(w) = words.get(i) {
        let t = w.text.as_str();
        if t == "--" {
            return (i + 1 < words.len()).then_some(i + 1);
        }
        match t.strip_prefix('-') {
            Some(flags) if !flags.is_empty() => {
                // The last option of a cluster takes the next word when it takes an argument.
                let takes = flags.char_indices().find(|(_, c)| SSH_ARGS.contains(*c));
                if takes.is_some_and(|(at, _)| at + 1 == flags.len()) {
                    i += 1;
                }
            }
            _ => return Some(i),
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reparsed texts of `run`, with their kind.
    fn parts(run: &str) -> Vec<(&str, Reparse)> {
        reparsed(run).into_iter().map(|(r, k)| (&run[r], k)).collect()
    }

    #[test]
    fn shells_with_c_su_ssh_and_eval() {
        assert_eq!(parts("sh -c {{x}}"), vec![("{{x}}", Reparse::Script("sh"))]);
        assert_eq!(
            parts("sudo -u www-data /bin/bash -ec 'grep {{x}} f' bash {{y}}"),
            vec![("'grep {{x}} f'", Reparse::Script("bash"))],
            "the positional argument after the script is safe"
        );
        assert_eq!(parts("bash -o pipefail -c {{x}}"), vec![("{{x}}", Reparse::Script("bash"))]);
        assert_eq!(parts("su - deploy -c {{x}}"), vec![("{{x}}", Reparse::Script("su"))]);
        assert_eq!(
            parts("ssh -p 2222 -i key {{host}} uptime {{x}}; ls {{y}}"),
            vec![("uptime", Reparse::SshRemote), ("{{x}}", Reparse::SshRemote)]
        );
        assert_eq!(parts("ssh -tt web1 sudo tail {{log}}").len(), 3);
        assert_eq!(
            parts("eval echo {{x}}"),
            vec![("echo", Reparse::Eval), ("{{x}}", Reparse::Eval)]
        );
        assert!(parts("curl -sS {{url}} | sh").is_empty(), "a pipe into sh reads stdin, not args");
        assert!(parts("tail -n 50 {{log}} && ssh-keygen -l -f {{key}}").is_empty());
    }

    #[test]
    fn heredoc_bodies() {
        let run = "mysql <<'SQL'\nSELECT '{{x}}';\nSQL\necho {{y}}";
        assert_eq!(parts(run), vec![("SELECT '{{x}}';\n", Reparse::Heredoc)]);
        let tabs = "cat <<-EOF > f\n\t{{x}}\n\tEOF\n";
        assert_eq!(parts(tabs), vec![("\t{{x}}\n", Reparse::Heredoc)]);
        assert!(parts("echo a << b").is_empty(), "no body on the same line");
        assert!(parts("cat <<< {{x}}").is_empty(), "a here-string is one quoted word");
    }
}
