//! The key map: which key does what, in one table that the help overlay and the footer read
//! too, so what the screen promises is what the keys do. Arrows and vi keys both work.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for on the walk screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    NextPane,
    PrevPane,
    Activate,
    Back,
    Note,
    Copy,
    CopySummary,
    MarkTried,
    Outline,
    Search,
    /// Change the inputs (origin, site root, …) and run the step's checks again.
    Inputs,
    /// Answer the open questions for the note.
    Ask,
    Export,
    Rerun,
    Help,
    Quit,
}

/// The action for a key on the walk screen, if it has one.
pub fn walk_action(key: KeyEvent) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Char('u' | 'b') if ctrl => Action::PageUp,
        KeyCode::Char('d' | 'f') if ctrl => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Top,
        KeyCode::End | KeyCode::Char('G') => Action::Bottom,
        KeyCode::Tab | KeyCode::BackTab | KeyCode::Right | KeyCode::Char('l') => Action::NextPane,
        KeyCode::Left | KeyCode::Char('h') => Action::PrevPane,
        KeyCode::Enter | KeyCode::Char(' ') => Action::Activate,
        KeyCode::Backspace | KeyCode::Char('b') => Action::Back,
        KeyCode::Char('n') => Action::Note,
        KeyCode::Char('c' | 'y') => Action::Copy,
        KeyCode::Char('s' | 'S') => Action::CopySummary,
        KeyCode::Char('t') => Action::MarkTried,
        KeyCode::Char('o') => Action::Outline,
        KeyCode::Char('/') => Action::Search,
        KeyCode::Char('i') => Action::Inputs,
        KeyCode::Char('a') => Action::Ask,
        KeyCode::Char('e') => Action::Export,
        KeyCode::Char('r') => Action::Rerun,
        KeyCode::Char('?') | KeyCode::F(1) => Action::Help,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}

/// Every key of the walk screen, for the help overlay: (keys, what they do).
pub const HELP: &[(&str, &str)] = &[
    ("↑ ↓  k j", "move in the focused pane"),
    ("Tab  Shift-Tab", "switch between the question and the step"),
    ("← h", "the trail (the path so far); → l or Tab back"),
    ("Enter  Space", "choose the answer · expand a fix card · copy a command · go to a trail step"),
    ("b  Backspace", "back one step (both answers stay recorded)"),
    ("PgUp PgDn  ^u ^d", "scroll a page (one line stays in view)"),
    ("g G  Home End", "first / last"),
    ("n", "write a note on this step (multi-line; paste works)"),
    ("c  y", "copy the selected command (OSC 52; also shown to copy by hand)"),
    ("s", "copy the support summary"),
    ("t", "mark the selected fix card as tried: worked, did not, partly"),
    ("r", "run this step's checks again"),
    ("i", "change the inputs (origin, site root, versions…); the checks run again"),
    ("a", "answer the open questions for the note"),
    ("o  /", "outline: type to find a step, Enter goes there"),
    ("e", "export the markdown incident note"),
    ("?  F1", "this help"),
    ("q", "quit (asks first; the session is saved either way)"),
    ("Ctrl-C", "quit at once (the session is already saved)"),
];

/// The footer's short list for a pane: (key, label).
pub fn footer(
    pane: crate::tui::app::Pane,
    at_outcome: bool,
) -> &'static [(&'static str, &'static str)] {
    use crate::tui::app::Pane;
    if at_outcome {
        return &[
            ("e", "export"),
            ("a", "answer"),
            ("s", "copy summary"),
            ("b", "back"),
            ("n", "note"),
            ("?", "help"),
            ("q", "quit"),
        ];
    }
    match pane {
        Pane::Question => &[
            ("↑↓", "choose"),
            ("⏎", "confirm"),
            ("Tab", "step"),
            ("b", "back"),
            ("i", "inputs"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Pane::Details => &[
            ("↑↓", "select"),
            ("⏎", "open/copy"),
            ("c", "copy"),
            ("t", "tried"),
            ("Tab", "answer"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Pane::Trail => &[
            ("↑↓", "select"),
            ("⏎", "go back there"),
            ("o", "outline"),
            ("Tab", "question"),
            ("?", "help"),
            ("q", "quit"),
        ],
    }
}
