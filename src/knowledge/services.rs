//! The table of services triage recognises (`assets/stack.yaml`), loaded through the strict YAML
//! loader and checked. It only describes services; finding them in `/proc` is `stack::discover`.

use serde::Deserialize;

use crate::contract::evidence::stack::Role;
use crate::yaml::{self, SourceError};

/// One service as the table describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    pub id: String,
    pub role: Role,
    pub names: Vec<String>,
    #[serde(default)]
    pub prefixes: Vec<String>,
    #[serde(default)]
    pub config_flags: Vec<String>,
    #[serde(default)]
    pub config_arg: bool,
    #[serde(default)]
    pub default_configs: Vec<String>,
    #[serde(default)]
    pub units: Vec<String>,
    #[serde(default)]
    pub binaries: Vec<String>,
}

impl ServiceSpec {
    /// Whether a process name (comm, argv[0]'s file name or a script's name) is this service's.
    pub fn matches_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name) || self.prefixes.iter().any(|p| name.starts_with(p))
    }

    /// Whether a systemd unit name is one of this service's units.
    pub fn matches_unit(&self, unit: &str) -> bool {
        self.units.iter().any(|pattern| {
            glob::Pattern::new(pattern).is_ok_and(|p| p.matches(unit)) || pattern == unit
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    services: Vec<ServiceSpec>,
}

const BUILTIN: &str = include_str!("../../assets/stack.yaml");

/// The built-in table.
pub fn builtin() -> Result<Vec<ServiceSpec>, SourceError> {
    load_str("builtin:assets/stack.yaml", BUILTIN)
}

/// Loads and checks a table: ids unique, every service with a name, every glob valid.
pub fn load_str(origin: &str, text: &str) -> Result<Vec<ServiceSpec>, SourceError> {
    let raw: RawTable = yaml::from_str(origin, text)?;
    let mut seen = std::collections::HashSet::new();
    for spec in &raw.services {
        let problem = if !seen.insert(spec.id.as_str()) {
            Some(format!("service `{}` is listed twice", spec.id))
        } else if spec.names.is_empty() && spec.prefixes.is_empty() {
            Some(format!("service `{}` needs at least one of `names` or `prefixes`", spec.id))
        } else {
            bad_glob(spec).map(|g| format!("service `{}`: `{g}` is not a valid glob", spec.id))
        };
        if let Some(message) = problem {
            return Err(SourceError::whole_file(origin, message));
        }
    }
    Ok(raw.services)
}

fn bad_glob(spec: &ServiceSpec) -> Option<&str> {
    spec.default_configs
        .iter()
        .chain(&spec.units)
        .chain(&spec.binaries)
        .find(|g| glob::Pattern::new(g).is_err())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_table_loads_and_names_the_stack() {
        let table = builtin().unwrap();
        for id in
            ["nginx", "apache", "haproxy", "php-fpm", "gunicorn", "mysql", "postgresql", "redis"]
        {
            assert!(table.iter().any(|s| s.id == id), "{id} missing");
        }
        let fpm = table.iter().find(|s| s.id == "php-fpm").unwrap();
        assert!(fpm.matches_name("php-fpm8.2") && fpm.matches_unit("php8.2-fpm.service"));
    }

    #[test]
    fn mistakes_are_named() {
        let twice = "services:\n  - { id: a, role: runtime, names: [a] }\n  - { id: a, role: runtime, names: [b] }\n";
        assert!(load_str("t.yaml", twice).unwrap_err().to_string().contains("listed twice"));
        let unknown = "services:\n  - { id: a, role: runtime, names: [a], colour: red }\n";
        assert!(load_str("t.yaml", unknown).unwrap_err().to_string().starts_with("t.yaml:2:"));
    }
}
