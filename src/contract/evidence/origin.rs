//! What the `origin` check found: the edge and the origin side by side.

use serde::{Deserialize, Serialize};

use super::http::{Fingerprint, Probe};

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    pub probe: Probe,
    pub fingerprint: Option<Fingerprint>,
}

impl Side {
    /// Who answered: the vendor that made the page, else the innermost server the headers show.
    pub fn answered_by(&self) -> Option<String> {
        let fp = self.fingerprint.as_ref()?;
        fp.vendor.clone().or_else(|| fp.path.last().map(|h| h.vendor.clone()))
    }
}

/// The edge and the origin, for exports and `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// The origin address used.
    pub address: String,
    pub edge: Side,
    pub origin: Side,
}
