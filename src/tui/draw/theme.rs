//! Colours, symbols and borders. Monochrome (`NO_COLOR`, `TERM=dumb`) keeps every meaning: the
//! selection is always marked by a symbol as well as by style, never by colour alone; `--ascii`
//! swaps box drawing and symbols for plain ASCII.

use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::border;

/// How to draw: chosen once from the environment and the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Theme {
    pub mono: bool,
    pub ascii: bool,
}

const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// Punctuation and arrows the screen's own texts use, with their ASCII stand-ins. Text from
/// the runbook or the site in other scripts is left as it is.
const ASCII_FOR: &[(&str, &str)] = &[
    ("—", "-"),
    ("–", "-"),
    ("·", "-"),
    ("…", "~"),
    ("“", "\""),
    ("”", "\""),
    ("’", "'"),
    ("↑", "^"),
    ("↓", "v"),
    ("←", "<"),
    ("→", ">"),
    ("⏎", "<"),
    ("★", "*"),
    ("•", "*"),
    ("▸", ">"),
    ("▾", "v"),
    ("◂", "<"),
];

/// Replaces the screen's Unicode punctuation with ASCII, cell by cell, for `--ascii`.
pub fn asciify(buffer: &mut ratatui::buffer::Buffer) {
    for cell in &mut buffer.content {
        if let Some((_, ascii)) = ASCII_FOR.iter().find(|(u, _)| *u == cell.symbol()) {
            cell.set_symbol(ascii);
        }
    }
}

/// The symbols the screen uses, in Unicode or ASCII.
#[derive(Debug, Clone, Copy)]
pub struct Glyphs {
    pub cursor: &'static str,
    pub done: &'static str,
    pub failed: &'static str,
    pub warning: &'static str,
    pub skipped: &'static str,
    pub queued: &'static str,
    pub suggested: &'static str,
    pub bullet: &'static str,
    pub arrow: &'static str,
    pub radio_on: &'static str,
    pub radio_off: &'static str,
    pub box_empty: &'static str,
    pub open: &'static str,
    pub closed: &'static str,
    pub left: &'static str,
    pub spark_ok: &'static str,
    pub spark_bad: &'static str,
    pub spinner: &'static [&'static str],
}

const UNICODE: Glyphs = Glyphs {
    cursor: "▸",
    done: "✓",
    failed: "✗",
    warning: "!",
    skipped: "–",
    queued: "·",
    suggested: "★",
    bullet: "•",
    arrow: "→",
    radio_on: "(•)",
    radio_off: "( )",
    box_empty: "☐",
    open: "▾",
    closed: "▸",
    left: "◂",
    spark_ok: "▁",
    spark_bad: "█",
    spinner: &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"],
};

const ASCII: Glyphs = Glyphs {
    cursor: ">",
    done: "+",
    failed: "x",
    warning: "!",
    skipped: "-",
    queued: ".",
    suggested: "*",
    bullet: "*",
    arrow: "->",
    radio_on: "(*)",
    radio_off: "( )",
    box_empty: "[ ]",
    open: "v",
    closed: ">",
    left: "<",
    spark_ok: ".",
    spark_bad: "X",
    spinner: &["|", "/", "-", "\\"],
};

impl Theme {
    /// Monochrome when `NO_COLOR` is set (to anything) or `TERM` is `dumb`.
    pub fn from_env(ascii: bool) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        Theme { mono: no_color || dumb, ascii }
    }

    pub fn glyphs(self) -> &'static Glyphs {
        if self.ascii { &ASCII } else { &UNICODE }
    }

    /// A key's name as the footer shows it; `--ascii` spells out the arrows and Enter.
    pub fn key_name(self, key: &str) -> String {
        if !self.ascii {
            return key.to_owned();
        }
        key.replace('⏎', "Enter").replace("↑↓", "up/dn").replace("←→", "lt/rt")
    }

    pub fn border(self) -> border::Set<'static> {
        if self.ascii { ASCII_BORDER } else { border::ROUNDED }
    }

    fn color(self, color: Color) -> Style {
        if self.mono { Style::new() } else { Style::new().fg(color) }
    }

    pub fn heading(self) -> Style {
        self.color(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn title(self) -> Style {
        self.color(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        if self.mono { Style::new() } else { Style::new().fg(Color::DarkGray) }
    }

    pub fn ok(self) -> Style {
        self.color(Color::Green)
    }

    pub fn warn(self) -> Style {
        self.color(Color::Yellow)
    }

    pub fn bad(self) -> Style {
        self.color(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn key(self) -> Style {
        self.color(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn command(self) -> Style {
        self.color(Color::LightGreen)
    }

    pub fn suggested(self) -> Style {
        self.color(Color::Magenta).add_modifier(Modifier::BOLD)
    }

    /// The selected line: reversed when its pane has the focus, bold otherwise.
    pub fn selected(self, focused: bool) -> Style {
        match (focused, self.mono) {
            (true, true) => Style::new().add_modifier(Modifier::REVERSED),
            (true, false) => {
                Style::new().bg(Color::Blue).fg(Color::White).add_modifier(Modifier::BOLD)
            }
            (false, _) => Style::new().add_modifier(Modifier::BOLD),
        }
    }

    pub fn frame(self, focused: bool) -> Style {
        match (focused, self.mono) {
            (true, false) => Style::new().fg(Color::Cyan),
            (true, true) => Style::new().add_modifier(Modifier::BOLD),
            (false, _) => self.dim(),
        }
    }

    pub fn header(self) -> Style {
        if self.mono {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().bg(Color::Blue).fg(Color::White)
        }
    }
}
