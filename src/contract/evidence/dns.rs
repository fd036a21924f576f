//! What the `dns` check found: the answers and the CDN they point at.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// A CDN the DNS answers point at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdnMatch {
    pub vendor: String,
    pub name: String,
    pub evidence: String,
}

/// One lookup's answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answers {
    pub host: String,
    /// IPv4 first, then IPv6.
    pub addresses: Vec<IpAddr>,
    /// The CNAME chain, in the order the resolver followed it.
    pub cnames: Vec<String>,
    pub cdn: Option<CdnMatch>,
}
