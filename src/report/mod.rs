//! Exports of a session: the markdown incident note (with "what to send support"), the JSON
//! document with the same data, and the support items both share. Everything here is a pure
//! function of a session; nothing from outside leaves unsanitised or unredacted.

pub mod json;
pub mod markdown;
pub mod support;

use crate::diagnosis::{self, Assessment, Rules};
use crate::session::Session;
use crate::site::SiteUrl;

/// What a session's evidence amounts to: the one assessment (`diagnosis::assess`) of the latest
/// report of each check it ran.
pub fn assess(session: &Session, rules: &Rules) -> Assessment {
    let url = SiteUrl::parse(&session.url).ok();
    diagnosis::assess(rules, url.as_ref(), &session.latest_reports())
}
