//! The values that fill the runbook's texts and commands: what the user set, else what the
//! checks found (an input's `from:` fact), else the input's default. A command whose value is
//! still missing shows the gap as `‹name›` and asks for it before it is copied; it is never
//! copied with a `{{placeholder}}`. Commands written for another OS family than the one found
//! are set aside.

use std::collections::BTreeMap;

use crate::facts::FactValue;
use crate::runbook::model::{Command, Family, Input};
use crate::runbook::template::{self, render_command, render_text};
use crate::tui::app::App;

impl App {
    /// Every input with a value, by name: set by the user, found by a check, or the default.
    /// Inputs without any are absent.
    pub fn vars(&self) -> BTreeMap<String, String> {
        self.runbook
            .inputs
            .iter()
            .filter_map(|i| self.value(i).map(|v| (i.name.clone(), v)))
            .collect()
    }

    /// One input's value. A value equal to the default counts as not set, so a finding wins
    /// over a default the user merely left in place.
    fn value(&self, input: &Input) -> Option<String> {
        if self.runbook.site_input() == Some(input.name.as_str()) {
            return Some(self.session.url.clone()).filter(|u| !u.is_empty());
        }
        let set = self.session.inputs().and_then(|s| s.get(&input.name)).filter(|v| !v.is_empty());
        let defaulted = set.is_none() || set == input.default.as_ref();
        let found =
            input.from.as_ref().and_then(|key| self.assessment.facts.get(key)).map(fact_text);
        match (set, found) {
            (Some(v), _) if !defaulted => Some(v.clone()),
            (_, Some(found)) if !found.is_empty() => Some(found),
            (Some(v), _) => Some(v.clone()),
            _ => input.default.clone().filter(|d| !d.is_empty()),
        }
    }

    /// Prose with every value filled in; a missing one shows as `‹name›`.
    pub fn text(&self, template: &str) -> String {
        mark_missing(&render_text(template, &self.vars()))
    }

    /// A command to show, values shell-quoted; a missing one shows as `‹name›`.
    pub fn command(&self, template: &str) -> String {
        mark_missing(&render_command(template, &self.vars()))
    }

    /// The inputs a command still needs, in order of appearance.
    pub fn missing(&self, template: &str) -> Vec<&Input> {
        let vars = self.vars();
        let mut out: Vec<&Input> = Vec::new();
        for name in template::placeholders(template) {
            let Some(input) = self.runbook.input(name) else { continue };
            if !vars.contains_key(name) && !out.iter().any(|i| i.name == name) {
                out.push(input);
            }
        }
        out
    }

    /// The OS family the checks found.
    pub fn family(&self) -> Option<Family> {
        self.assessment
            .facts
            .get("found.family")
            .and_then(FactValue::as_text)
            .and_then(Family::from_id)
    }

    /// Whether a command is for this machine: written for every family, or for the one found
    /// (every command counts while the family is not known).
    pub fn fits_family(&self, command: &Command) -> bool {
        match (command.family, self.family()) {
            (Some(wanted), Some(found)) => wanted == found,
            _ => true,
        }
    }
}

fn fact_text(value: &FactValue) -> String {
    match value {
        FactValue::Text(t) => t.clone(),
        other => other.to_string(),
    }
}

/// `{{name}}` left by the renderer (no value) as `‹name›`: visibly a gap, and nothing a shell
/// or a reader would take for a value.
pub fn mark_missing(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    let mut last = 0;
    for p in template::scan(rendered) {
        out.push_str(&rendered[last..p.range.start]);
        out.push_str(&format!("‹{}›", p.name));
        last = p.range.end;
    }
    out.push_str(&rendered[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::mark_missing;

    #[test]
    fn gaps_are_marked_and_other_braces_left_alone() {
        assert_eq!(
            mark_missing("systemctl restart php{{php_version}}-fpm {{.Names}}"),
            "systemctl restart php‹php_version›-fpm {{.Names}}"
        );
    }
}
