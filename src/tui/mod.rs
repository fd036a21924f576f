//! The terminal UI over a runbook: the application state and its `update` (pure, synchronous,
//! testable without a terminal), the key map, the drawing (a pure function of the state), and the
//! thin async shell that owns the terminal, the clock, the check engine and the disk.

mod answer;
pub mod app;
pub mod clipboard;
pub mod draw;
pub mod form;
pub mod keys;
mod overlay;
pub mod shell;
pub mod terminal;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fix;
mod values;
mod walk;

pub use app::{App, Effect, Msg};
