//! Where a value was written: [`Pos`], and [`At`] to carry it beside a deserialised value, so
//! every loader can point at the offending line.

use serde::{Deserialize, Deserializer};

/// Where a value sits in the source: 1-based line and column, and its byte range when known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
    pub byte_offset: Option<usize>,
    pub byte_len: Option<usize>,
}

/// A value and where it was written.
#[derive(Debug, Clone)]
pub struct At<T> {
    pub value: T,
    pub pos: Pos,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let loc = spanned.referenced;
        let span = loc.span();
        let pos = Pos {
            line: u32::try_from(loc.line()).unwrap_or(0),
            column: u32::try_from(loc.column()).unwrap_or(0),
            byte_offset: span.byte_offset().and_then(|o| usize::try_from(o).ok()),
            byte_len: span.byte_len().and_then(|l| usize::try_from(l).ok()),
        };
        Ok(At { value: spanned.value, pos })
    }
}

/// A text field with its position.
pub type Text = At<String>;
