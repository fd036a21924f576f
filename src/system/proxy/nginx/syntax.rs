//! nginx's syntax: a tokenizer (words, quotes, `${var}`, `;`, blocks, comments) and a parser
//! into [`Directive`]s with `include` expanded where it stands (globs sorted, relative to the
//! main file's directory, as nginx does). Nesting is bounded: deeper blocks are skipped without
//! recursion, so no config can exhaust the stack.

use std::path::Path;

use super::super::source::Sources;
use crate::contract::evidence::web::Location;

/// Deepest block nesting read (`http` → `server` → `location` → `if` is four). Deeper blocks are
/// skipped with a problem, so a hostile config cannot exhaust the stack of the parser or the walk.
pub const MAX_BLOCK_DEPTH: usize = 32;

/// One directive with its arguments, its place and, for a block, its children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    pub name: String,
    pub args: Vec<String>,
    pub at: Location,
    pub block: Option<Vec<Directive>>,
}

impl Directive {
    pub(super) fn children(&self) -> &[Directive] {
        self.block.as_deref().unwrap_or_default()
    }

    pub(super) fn arg(&self, i: usize) -> &str {
        self.args.get(i).map_or("", String::as_str)
    }

    /// The directive as written, on one line.
    pub fn text(&self) -> String {
        std::iter::once(self.name.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The directives of one file, includes spliced in, read at block depth `depth`.
pub(super) fn parse_file(
    sources: &mut Sources<'_>,
    path: &Path,
    conf_dir: &Path,
    depth: usize,
) -> Vec<Directive> {
    let Some(text) = sources.enter(path) else { return Vec::new() };
    let tokens = tokenize(&text);
    let mut pos = 0;
    let tree = parse_block(sources, &tokens, &mut pos, (path, conf_dir), depth);
    sources.leave();
    tree
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Word,
    Semicolon,
    Open,
    Close,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    text: String,
    line: u32,
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        let start = line;
        let punct = |kind| Token { kind, text: String::new(), line: start };
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while chars.peek().is_some_and(|c| *c != '\n') {
                    chars.next();
                }
            }
            ';' | '{' | '}' => {
                chars.next();
                tokens.push(punct(match c {
                    ';' => Kind::Semicolon,
                    '{' => Kind::Open,
                    _ => Kind::Close,
                }));
            }
            '"' | '\'' => {
                chars.next();
                let mut word = String::new();
                while let Some(ch) = chars.next() {
                    match ch {
                        '\\' => word.extend(chars.next()),
                        ch if ch == c => break,
                        '\n' => {
                            line += 1;
                            word.push(ch);
                        }
                        ch => word.push(ch),
                    }
                }
                tokens.push(Token { kind: Kind::Word, text: word, line: start });
            }
            _ => tokens.push(Token { kind: Kind::Word, text: bare_word(&mut chars), line: start }),
        }
    }
    tokens
}

/// A word up to whitespace or `;{}`; `${var}` stays in the word.
fn bare_word(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut word = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || matches!(c, ';' | '{' | '}') {
            break;
        }
        chars.next();
        word.push(c);
        if c == '\\' {
            word.extend(chars.next());
        } else if c == '$' && chars.peek() == Some(&'{') {
            for v in chars.by_ref() {
                word.push(v);
                if v == '}' {
                    break;
                }
            }
        }
    }
    word
}

/// The directives up to the `}` that closes the block (or the end). `depth` counts the blocks
/// around this one; past [`MAX_BLOCK_DEPTH`] the inner block is skipped, not parsed.
fn parse_block(
    sources: &mut Sources<'_>,
    tokens: &[Token],
    pos: &mut usize,
    (file, conf_dir): (&Path, &Path),
    depth: usize,
) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut words: Vec<&Token> = Vec::new();
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        match token.kind {
            Kind::Word => words.push(token),
            Kind::Semicolon => {
                if let Some(d) = directive(&words, file, None) {
                    if d.name == "include" {
                        for path in sources.expand(d.arg(0), conf_dir) {
                            out.extend(parse_file(sources, &path, conf_dir, depth));
                        }
                    } else {
                        out.push(d);
                    }
                }
                words.clear();
            }
            Kind::Open => {
                let line = words.first().map_or(token.line, |w| w.line);
                let block = if depth < MAX_BLOCK_DEPTH {
                    parse_block(sources, tokens, pos, (file, conf_dir), depth + 1)
                } else {
                    skip_block(tokens, pos);
                    sources.problems.push(format!(
                        "{}:{line}: blocks nested more than {MAX_BLOCK_DEPTH} deep; the inner blocks were not read",
                        file.display()
                    ));
                    Vec::new()
                };
                match directive(&words, file, Some(block)) {
                    Some(d) => out.push(d),
                    None => sources
                        .problems
                        .push(format!("{}:{line}: a block without a name", file.display())),
                }
                words.clear();
            }
            Kind::Close => break,
        }
    }
    out
}

/// Moves past the `}` that closes the block just opened, however deep it nests, without
/// recursion.
fn skip_block(tokens: &[Token], pos: &mut usize) {
    let mut open = 1_usize;
    while let Some(token) = tokens.get(*pos) {
        *pos += 1;
        match token.kind {
            Kind::Open => open += 1,
            Kind::Close if open == 1 => return,
            Kind::Close => open -= 1,
            _ => {}
        }
    }
}

fn directive(words: &[&Token], file: &Path, block: Option<Vec<Directive>>) -> Option<Directive> {
    let (first, rest) = words.split_first()?;
    Some(Directive {
        name: first.text.clone(),
        args: rest.iter().map(|t| t.text.clone()).collect(),
        at: Location::new(file, first.line),
        block,
    })
}
