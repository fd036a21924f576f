//! What the `security` check found: SELinux's mode, the web server's network boolean, the AVC
//! denials of the incident window, and the kernel's connection-tracking table.

use serde::{Deserialize, Serialize};

use super::stack::Unseen;

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEvidence {
    /// `enforcing`, `permissive`, `disabled` or `absent` (no SELinux on this kernel).
    pub selinux: String,
    /// `httpd_can_network_connect` (the web server may open TCP connections), where SELinux runs.
    pub httpd_can_network_connect: Option<bool>,
    /// The AVC denials of the window, newest last.
    pub denials: Vec<Denial>,
    /// Where the denials were read from: `ausearch -m avc -ts recent` or an audit log.
    pub denials_from: Option<String>,
    /// nf_conntrack entries in use and the table's size.
    pub conntrack: Option<(u64, u64)>,
    pub unseen: Vec<Unseen>,
}

/// One `avc: denied` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Denial {
    /// Unix seconds.
    pub time: i64,
    pub permission: String,
    pub comm: String,
    pub tclass: String,
    /// `dest=8080` for a TCP connect, `path=…` for a socket.
    pub target: Option<String>,
    pub scontext: String,
    pub permissive: bool,
    /// The record as written, sanitised.
    pub line: String,
}
