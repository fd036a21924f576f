//! OSC 52: asking the terminal to put text on the system clipboard, which works over SSH because
//! the escape travels with the output. Inside tmux (and GNU screen) the sequence is also wrapped
//! in a passthrough, since tmux passes a bare OSC 52 on only with `set-clipboard on`. Terminals
//! that refuse it ignore it, so the UI always shows the text for copying by hand too.

use base64::Engine as _;

/// Terminals cap what they accept; beyond this the text is left to copying by hand.
pub const MAX_BYTES: usize = 64 * 1024;

/// Where the program runs, as far as the clipboard escape cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multiplexer {
    None,
    Tmux,
    Screen,
}

impl Multiplexer {
    /// From `$TMUX` and `$STY`.
    pub fn detect() -> Multiplexer {
        if std::env::var_os("TMUX").is_some() {
            Multiplexer::Tmux
        } else if std::env::var_os("STY").is_some() {
            Multiplexer::Screen
        } else {
            Multiplexer::None
        }
    }
}

/// The bytes that set the clipboard to `text`, or `None` when it is too long to send.
pub fn osc52(text: &str, via: Multiplexer) -> Option<String> {
    if text.len() > MAX_BYTES {
        return None;
    }
    let payload = base64::engine::general_purpose::STANDARD.encode(text);
    let plain = format!("\x1b]52;c;{payload}\x07");
    Some(match via {
        Multiplexer::None => plain,
        // tmux: DCS passthrough with every ESC doubled; the bare form serves `set-clipboard on`.
        Multiplexer::Tmux => {
            format!("\x1bPtmux;{}\x1b\\{plain}", plain.replace('\x1b', "\x1b\x1b"))
        }
        Multiplexer::Screen => format!("\x1bP{plain}\x1b\\"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_text_in_base64() {
        assert_eq!(osc52("hi", Multiplexer::None).unwrap(), "\x1b]52;c;aGk=\x07");
        assert_eq!(
            osc52("hi", Multiplexer::Tmux).unwrap(),
            "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\\x1b]52;c;aGk=\x07"
        );
        assert!(osc52(&"x".repeat(MAX_BYTES + 1), Multiplexer::None).is_none());
    }
}
