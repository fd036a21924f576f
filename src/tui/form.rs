//! The inputs form that opens a walk: one field per runbook input, the URL prefilled from the
//! command line, each value checked with a reason a person can act on before the walk starts.

use std::collections::BTreeMap;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::runbook::model::{Input, InputKind, Runbook};
use crate::sanitize;
use crate::site::SiteUrl;
use crate::tui::app::{clamp_step, wrap_step};

/// Longest value a field takes; a URL or a path fits with room to spare.
const MAX_VALUE: usize = 2048;

#[derive(Debug, Clone)]
pub struct Field {
    pub input: Input,
    pub value: String,
    pub error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Form {
    pub fields: Vec<Field>,
    pub cursor: usize,
    /// Opened from the walk (`i`) to change the inputs; Esc goes back to the walk.
    pub editing: bool,
}

/// What a key on the form led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormAction {
    Stay,
    Quit,
    /// Every field is valid: these are the inputs (a blank optional one is `""`).
    Submit(BTreeMap<String, String>),
}

impl Form {
    /// A field per input; the first URL input takes `url`, the others their defaults.
    pub fn new(runbook: &Runbook, url: &str) -> Form {
        let url_field = runbook.inputs.iter().position(|i| i.kind == InputKind::Url);
        let fields = runbook
            .inputs
            .iter()
            .enumerate()
            .map(|(n, input)| {
                let value = match (&input.kind, &input.default) {
                    _ if Some(n) == url_field && !url.is_empty() => url.to_owned(),
                    (_, Some(default)) => default.clone(),
                    (InputKind::Choice(options), None) if input.required => {
                        options.first().cloned().unwrap_or_default()
                    }
                    _ => String::new(),
                };
                Field { input: input.clone(), value, error: None }
            })
            .collect();
        Form { fields, cursor: 0, editing: false }
    }

    /// The form over the inputs as they are now, to change them during the walk.
    pub fn editing(runbook: &Runbook, url: &str, values: &BTreeMap<String, String>) -> Form {
        let mut form = Form::new(runbook, url);
        for field in &mut form.fields {
            if let Some(value) = values.get(&field.input.name) {
                field.value.clone_from(value);
            }
        }
        form.editing = true;
        form
    }

    /// Values given on the command line (`--set`, `--monitor`), over the defaults.
    pub fn preset(&mut self, values: &[(String, String)]) {
        for (name, value) in values {
            if let Some(field) = self.fields.iter_mut().find(|f| &f.input.name == name) {
                field.value.clone_from(value);
            }
        }
    }

    /// The values, when every field is valid as it stands (nothing typed yet); otherwise the
    /// form stays, its errors shown.
    pub fn submit_if_ready(&mut self) -> FormAction {
        let ready = self.fields.iter().all(|f| check(&f.input, f.value.trim()).is_ok());
        if ready { self.submit() } else { FormAction::Stay }
    }

    pub fn key(&mut self, key: KeyEvent) -> FormAction {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return FormAction::Quit,
            KeyCode::Char('s') if ctrl => return self.submit(),
            KeyCode::Enter if self.cursor + 1 >= self.fields.len() => return self.submit(),
            KeyCode::Enter | KeyCode::Tab | KeyCode::Down => self.move_by(1),
            KeyCode::BackTab | KeyCode::Up => self.move_by(-1),
            KeyCode::Left => self.cycle(false),
            KeyCode::Right => self.cycle(true),
            KeyCode::Char('u') if ctrl => self.edit(String::clear),
            KeyCode::Backspace => self.edit(|v| {
                v.pop();
            }),
            KeyCode::Char(c) if !ctrl => self.type_char(c),
            _ => {}
        }
        FormAction::Stay
    }

    pub fn paste(&mut self, text: &str) {
        let clean = sanitize::line(text.trim_matches(['\r', '\n'])).into_owned();
        self.edit(|v| v.push_str(&clean));
    }

    fn move_by(&mut self, by: isize) {
        self.cursor = clamp_step(self.cursor, by, self.fields.len());
    }

    fn field(&mut self) -> Option<&mut Field> {
        self.fields.get_mut(self.cursor)
    }

    fn type_char(&mut self, c: char) {
        if !c.is_control() {
            self.edit(|v| v.push(c));
        }
    }

    /// Edits a free-text field; choice fields change with ← →.
    fn edit(&mut self, change: impl FnOnce(&mut String)) {
        let Some(field) = self.field() else { return };
        if matches!(field.input.kind, InputKind::Choice(_)) {
            return;
        }
        change(&mut field.value);
        field.value.truncate(MAX_VALUE);
        field.error = None;
    }

    fn cycle(&mut self, forward: bool) {
        let Some(field) = self.field() else { return };
        let InputKind::Choice(options) = &field.input.kind else { return };
        let mut choices: Vec<&str> = options.iter().map(String::as_str).collect();
        if !field.input.required {
            choices.insert(0, "");
        }
        let at = choices.iter().position(|o| *o == field.value).unwrap_or(0);
        let next = wrap_step(at, forward, choices.len());
        field.value = choices.get(next).copied().unwrap_or_default().to_owned();
        field.error = None;
    }

    /// Checks every field; on the first error the cursor goes there.
    fn submit(&mut self) -> FormAction {
        let mut first_error = None;
        for (n, field) in self.fields.iter_mut().enumerate() {
            field.value = normalised(&field.input, field.value.trim());
            field.error = check(&field.input, &field.value).err();
            if field.error.is_some() && first_error.is_none() {
                first_error = Some(n);
            }
        }
        if let Some(n) = first_error {
            self.cursor = n;
            return FormAction::Stay;
        }
        FormAction::Submit(
            self.fields.iter().map(|f| (f.input.name.clone(), f.value.clone())).collect(),
        )
    }
}

/// A URL as `SiteUrl` writes it (`shop.example.com` → `https://shop.example.com/`); any other
/// value, or a URL that does not parse (its error is shown), as typed.
fn normalised(input: &Input, value: &str) -> String {
    match (&input.kind, SiteUrl::parse(value)) {
        (InputKind::Url, Ok(url)) => url.to_string(),
        _ => value.to_owned(),
    }
}

/// Whether a value fits its input, with a reason when it does not.
pub fn check(input: &Input, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return if input.required {
            Err("required: this step needs a value".to_owned())
        } else {
            Ok(())
        };
    }
    if value.chars().any(char::is_control) {
        return Err("control characters are not allowed".to_owned());
    }
    match &input.kind {
        InputKind::Url => check_url(value),
        InputKind::Host => check_host(value),
        InputKind::Path if !value.starts_with('/') => {
            Err(format!("an absolute path starts with `/` (e.g. /var/www/html), not `{value}`"))
        }
        InputKind::Choice(options) if !options.iter().any(|o| o == value) => {
            Err(format!("one of: {}", options.join(", ")))
        }
        _ => Ok(()),
    }
}

/// The one rule for a site URL, the same as `triage check`'s: a bare host means https.
fn check_url(value: &str) -> Result<(), String> {
    SiteUrl::parse(value).map(|_| ()).map_err(|e| e.to_string())
}

fn check_host(value: &str) -> Result<(), String> {
    if value.contains("://") || value.contains('/') {
        return Err("a host name or IP, optionally with :port — not a URL or path".to_owned());
    }
    let (host, port) = match value.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => (h, Some(p)),
        _ => (value, None),
    };
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!("`{port}` is not a port (1-65535)"));
    }
    let ok = host.chars().all(|c| c.is_ascii_alphanumeric() || "-.[]:_".contains(c));
    if host.is_empty() || !ok {
        return Err(format!("`{host}` is not a host name or IP address"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(kind: InputKind, required: bool) -> Input {
        Input {
            name: "x".into(),
            prompt: "X".into(),
            kind,
            default: None,
            required,
            help: None,
            from: None,
        }
    }

    #[test]
    fn values_are_checked_with_a_reason() {
        let url = input(InputKind::Url, true);
        assert!(check(&url, "https://shop.example.com/").is_ok());
        assert_eq!(check(&url, "").unwrap_err(), "required: this step needs a value");
        // The one rule `triage check` uses too: a bare host means https.
        assert!(check(&url, "shop.example.com").is_ok());
        assert_eq!(normalised(&url, "shop.example.com"), "https://shop.example.com/");
        assert!(check(&url, "ftp://x.test/").unwrap_err().contains("not an http or https URL"));
        let host = input(InputKind::Host, false);
        assert!(check(&host, "").is_ok());
        assert!(check(&host, "10.0.0.5:8080").is_ok());
        assert!(check(&host, "[::1]:443").is_ok());
        assert!(check(&host, "a.test:99999").unwrap_err().contains("not a port"));
        assert!(check(&host, "https://a.test").is_err());
        assert!(check(&input(InputKind::Path, true), "var/www").unwrap_err().contains("absolute"));
        let choice = input(InputKind::Choice(vec!["nginx".into(), "apache".into()]), true);
        assert_eq!(check(&choice, "iis").unwrap_err(), "one of: nginx, apache");
    }
}
