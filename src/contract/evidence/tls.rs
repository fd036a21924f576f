//! What the `tls` check found: the certificate and what is wrong with it.

use serde::{Deserialize, Serialize};

/// What a certificate says and whether it holds for the host it was asked for.
#[allow(clippy::struct_excessive_bools, reason = "independent findings, each its own fact")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses it covers (subject alternative names, else the CN).
    pub names: Vec<String>,
    /// Expiry, RFC 3339.
    pub not_after: String,
    /// Days until expiry; negative once expired.
    pub days_left: i64,
    pub expired: bool,
    pub self_signed: bool,
    /// The names cover the host the client asked for.
    pub name_matches: bool,
    /// The system trust store accepts the chain for this host.
    pub verified: bool,
    /// Why it does not verify, in words (`expired`, `self-signed`, …).
    pub problem: Option<String>,
}

impl Certificate {
    /// The short id of what is wrong: expired, self_signed, name_mismatch, untrusted.
    pub fn problem_kind(&self) -> Option<&'static str> {
        if self.verified {
            None
        } else if self.expired {
            Some("expired")
        } else if self.self_signed {
            Some("self_signed")
        } else if !self.name_matches {
            Some("name_mismatch")
        } else {
            Some("untrusted")
        }
    }

    /// One line for people: `issuer, expires in 41 days, covers a.test, b.test`.
    pub fn describe(&self) -> String {
        let expiry = if self.expired {
            format!("expired {} days ago", -self.days_left)
        } else {
            format!("expires in {} days", self.days_left)
        };
        let verdict = match self.problem_kind() {
            None => "valid".to_owned(),
            Some(kind) => format!("INVALID ({})", kind.replace('_', " ")),
        };
        format!(
            "{verdict}; issuer {}; {expiry}; names {}",
            self.issuer,
            crate::text::list(&self.names, 4)
        )
    }
}
