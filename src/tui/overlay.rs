//! The boxes that open over the walk screen (help, outline and search, the note and answer
//! editor, copied text, a fix card's outcome, the questions for the note, the values a command
//! lacks, quit) and what keys do inside them.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::runbook::model::{Runbook, SupportItem};
use crate::sanitize;
use crate::session::FixOutcome;
use crate::tui::app::{App, Effect, clamp_step};

#[derive(Debug)]
pub enum Overlay {
    Help {
        scroll: u16,
    },
    Outline(Outline),
    Editor(Box<Editor>),
    /// Text to read or copy by hand: what was just copied, or where the export went.
    Text {
        title: String,
        intro: String,
        text: String,
        scroll: u16,
    },
    FixOutcome {
        fix: usize,
    },
    /// The runbook's questions for the note, one after the other.
    Ask(Box<Asking>),
    /// The values a command lacks, asked before it is copied.
    Fill(Box<Filling>),
    ConfirmQuit,
}

/// One question for the note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// What it is recorded under, so it is asked once.
    pub key: String,
    pub prompt: String,
    /// The support item the answer fills.
    pub item: Option<SupportItem>,
}

/// The questions still to ask, the first one open in an editor.
#[derive(Debug)]
pub struct Asking {
    pub queue: Vec<Ask>,
    /// How many there were, for "question 2 of 3".
    pub total: usize,
    pub editor: Editor,
}

impl Asking {
    pub fn new(queue: Vec<Ask>, total: usize) -> Asking {
        Asking { queue, total, editor: Editor::new(Purpose::Answer) }
    }

    /// Which question of how many is open.
    pub fn position(&self) -> (usize, usize) {
        (self.total - self.queue.len() + 1, self.total)
    }
}

/// A command's missing values, asked one after the other before it is copied.
#[derive(Debug)]
pub struct Filling {
    pub template: String,
    /// (input name, prompt) still to ask, and the values given so far.
    pub missing: Vec<(String, String)>,
    pub given: Vec<(String, String)>,
    pub editor: Editor,
}

impl Filling {
    pub fn new(template: String, missing: Vec<(String, String)>) -> Filling {
        Filling { template, missing, given: Vec::new(), editor: Editor::new(Purpose::Answer) }
    }
}

/// Every step of the runbook, filtered by what is typed (titles and ids).
#[derive(Debug, Clone, Default)]
pub struct Outline {
    pub query: String,
    pub cursor: usize,
}

impl Outline {
    /// The ids of the steps whose titles hold the query (any case), in file order.
    pub fn matches(&self, runbook: &Runbook) -> Vec<String> {
        let query = self.query.to_lowercase();
        runbook
            .steps
            .iter()
            .filter(|s| s.title.to_lowercase().contains(&query) || s.id.contains(&query))
            .map(|s| s.id.clone())
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Note,
    Answer,
}

/// A multi-line text box for a note or a typed answer.
#[derive(Debug)]
pub struct Editor {
    pub purpose: Purpose,
    pub area: TextArea<'static>,
}

impl Editor {
    pub fn new(purpose: Purpose) -> Editor {
        let mut area = TextArea::default();
        area.set_placeholder_text(match purpose {
            Purpose::Note => "What you saw, did or decided…",
            Purpose::Answer => "Type or paste your answer…",
        });
        Editor { purpose, area }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n").trim_end().to_owned()
    }
}

impl Overlay {
    pub fn copied(title: &str, text: &str) -> Overlay {
        let intro = "Sent to your clipboard through the terminal (OSC 52). If it did not arrive, select the text below with the mouse:";
        Overlay::text(title, intro, text)
    }

    pub fn text(title: &str, intro: &str, text: &str) -> Overlay {
        Overlay::Text {
            title: title.to_owned(),
            intro: intro.to_owned(),
            text: text.to_owned(),
            scroll: 0,
        }
    }

    /// Bracketed paste goes into the editor or the search, escape sequences removed.
    pub fn paste(&mut self, text: &str) {
        match self {
            Overlay::Editor(editor) => {
                editor.area.insert_str(sanitize::terminal_text(text, true));
            }
            Overlay::Outline(outline) => {
                outline.query.push_str(&sanitize::line(text));
                outline.cursor = 0;
            }
            Overlay::Ask(asking) => {
                asking.editor.area.insert_str(sanitize::line(text));
            }
            Overlay::Fill(filling) => {
                filling.editor.area.insert_str(sanitize::line(text));
            }
            _ => {}
        }
    }
}

fn ctrl(key: &KeyEvent, c: char) -> bool {
    key.code == KeyCode::Char(c) && key.modifiers.contains(KeyModifiers::CONTROL)
}

impl App {
    pub(crate) fn overlay_key(&mut self, key: KeyEvent, fx: &mut Vec<Effect>) {
        let Some(mut overlay) = self.overlay.take() else { return };
        let limit = crate::tui::draw::scroll_limit(self, &overlay);
        let keep = match &mut overlay {
            Overlay::Help { scroll } | Overlay::Text { scroll, .. } => {
                let keep = scroll_key(key, scroll);
                *scroll = (*scroll).min(limit);
                keep
            }
            Overlay::Outline(outline) => self.outline_key(key, outline, fx),
            Overlay::Editor(editor) => self.editor_key(key, editor, fx),
            Overlay::FixOutcome { fix } => self.fix_outcome_key(key, *fix, fx),
            Overlay::Ask(asking) => self.ask_key(key, asking, fx),
            Overlay::Fill(filling) => self.fill_key(key, filling, fx),
            Overlay::ConfirmQuit => quit_key(key, fx),
        };
        if keep {
            self.overlay = Some(overlay);
        }
    }

    /// Typing filters, the arrows select, Enter goes there, Esc closes.
    fn outline_key(&mut self, key: KeyEvent, outline: &mut Outline, fx: &mut Vec<Effect>) -> bool {
        let count = outline.matches(&self.runbook).len();
        match key.code {
            KeyCode::Esc => return false,
            KeyCode::Enter => {
                if let Some(id) = outline.matches(&self.runbook).get(outline.cursor) {
                    self.jump(&id.clone(), fx);
                }
                return false;
            }
            KeyCode::Up => outline.cursor = clamp_step(outline.cursor, -1, count),
            KeyCode::Down => outline.cursor = clamp_step(outline.cursor, 1, count),
            KeyCode::PageUp => outline.cursor = clamp_step(outline.cursor, -10, count),
            KeyCode::PageDown => outline.cursor = clamp_step(outline.cursor, 10, count),
            KeyCode::Backspace => {
                outline.query.pop();
                outline.cursor = 0;
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                outline.query.clear();
                outline.cursor = 0;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                outline.query.push(c);
                outline.cursor = 0;
            }
            _ => {}
        }
        true
    }

    /// Enter saves this answer and opens the next question, Tab skips it, Esc stops asking.
    fn ask_key(&mut self, key: KeyEvent, asking: &mut Asking, fx: &mut Vec<Effect>) -> bool {
        match key.code {
            KeyCode::Esc => {
                self.say("the open questions stay open: a asks them again");
                return false;
            }
            KeyCode::Enter | KeyCode::Tab if key.modifiers.is_empty() => {
                let ask = asking.queue.remove(0);
                if key.code == KeyCode::Enter {
                    self.record_ask(&ask, asking.editor.text(), fx);
                }
                asking.editor = Editor::new(Purpose::Answer);
                return !asking.queue.is_empty();
            }
            _ => {
                asking.editor.area.input(key);
            }
        }
        true
    }

    /// Enter takes a value and asks the next; after the last, the command is copied.
    fn fill_key(&mut self, key: KeyEvent, filling: &mut Filling, fx: &mut Vec<Effect>) -> bool {
        match key.code {
            KeyCode::Esc => {
                self.say("not copied: the command still lacks a value");
                false
            }
            KeyCode::Enter if key.modifiers.is_empty() => {
                let value = filling.editor.text();
                if value.trim().is_empty() {
                    self.say("type the value, or Esc to leave the command uncopied");
                    return true;
                }
                let (name, _) = filling.missing.remove(0);
                filling.given.push((name, value.trim().to_owned()));
                filling.editor = Editor::new(Purpose::Answer);
                if filling.missing.is_empty() {
                    let given = std::mem::take(&mut filling.given);
                    self.filled_in(&filling.template.clone(), given, fx);
                    return false;
                }
                true
            }
            _ => {
                filling.editor.area.input(key);
                true
            }
        }
    }

    fn editor_key(&mut self, key: KeyEvent, editor: &mut Editor, fx: &mut Vec<Effect>) -> bool {
        let submit = ctrl(&key, 's')
            || (editor.purpose == Purpose::Answer
                && key.code == KeyCode::Enter
                && key.modifiers.is_empty());
        if key.code == KeyCode::Esc {
            self.say("not saved");
            return false;
        }
        if submit {
            let text = editor.text();
            match editor.purpose {
                Purpose::Note => self.add_note(text, fx),
                Purpose::Answer => self.answer_text(text, fx),
            }
            return false;
        }
        editor.area.input(key);
        true
    }

    fn fix_outcome_key(&mut self, key: KeyEvent, fix: usize, fx: &mut Vec<Effect>) -> bool {
        let outcome = match key.code {
            KeyCode::Char('w') => FixOutcome::Worked,
            KeyCode::Char('d') => FixOutcome::DidNotWork,
            KeyCode::Char('p') => FixOutcome::Partly,
            KeyCode::Esc | KeyCode::Char('q') => return false,
            _ => return true,
        };
        self.record_fix(fix, outcome, fx);
        false
    }
}

/// The quit question: y quits, e exports first, n stays.
fn quit_key(key: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    match key.code {
        KeyCode::Char('y' | 'q') | KeyCode::Enter => fx.push(Effect::Quit),
        KeyCode::Char('e') => fx.extend([Effect::Export, Effect::Quit]),
        KeyCode::Char('n') | KeyCode::Esc => {}
        _ => return true,
    }
    false
}

/// Keys of a read-only box: scroll, close.
fn scroll_key(key: KeyEvent, scroll: &mut u16) -> bool {
    match key.code {
        KeyCode::Down | KeyCode::Char('j') => *scroll = scroll.saturating_add(1),
        KeyCode::Up | KeyCode::Char('k') => *scroll = scroll.saturating_sub(1),
        KeyCode::PageDown | KeyCode::Char(' ') => *scroll = scroll.saturating_add(10),
        KeyCode::PageUp => *scroll = scroll.saturating_sub(10),
        _ => return false,
    }
    true
}
