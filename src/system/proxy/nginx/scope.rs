//! Which nginx settings govern an upstream: the `*_timeout`s of its module, `resolver` and
//! `resolver_timeout`, and the `set $var` its address uses, from the enclosing blocks inward
//! (a directive applies to its whole block, wherever it stands in it); and a variable address
//! expanded where `set` gives it a literal. Pure: it reads the parsed tree only.

use super::{Directive, setting};
use crate::contract::evidence::web::Setting;

/// The settings of a block that govern its upstreams, after the enclosing blocks' (`outer`):
/// the `*_timeout`s, `resolver` and `set $var` (a directive in a block applies to the whole
/// block, wherever it stands in it).
pub fn scoped(block: &[Directive], outer: &[Setting]) -> Vec<Setting> {
    let mut scope = outer.to_vec();
    for d in block {
        if d.name.ends_with("_timeout") || d.name == "resolver" || d.name == "set" {
            scope.push(setting(d));
        }
    }
    scope
}

/// The settings in scope that govern a `*_pass`: its module's timeouts (`proxy_*` for
/// `proxy_pass`), the resolver, and the `set`s of the variables its address uses.
pub fn governing(d: &Directive, scope: &[Setting]) -> Vec<Setting> {
    let prefix = format!("{}_", d.name.trim_end_matches("_pass"));
    let uses = |set: &Setting| {
        let var = set.value.split(' ').next().unwrap_or_default().trim_start_matches('$');
        !var.is_empty()
            && (d.arg(0).contains(&format!("${var}")) || d.arg(0).contains(&format!("${{{var}}}")))
    };
    scope
        .iter()
        .filter(|s| match s.name.as_str() {
            "resolver" | "resolver_timeout" => true,
            "set" => uses(s),
            name => name.starts_with(&prefix),
        })
        .cloned()
        .collect()
}

/// `http://$backend:8080` with `set $backend "app.internal";` in scope: the literal it is set
/// to (the innermost `set`); a variable set from another variable stays as it is.
pub fn expand_variables(text: &str, scope: &[Setting]) -> String {
    let mut out = text.to_owned();
    for set in scope.iter().rev().filter(|s| s.name == "set") {
        let Some((var, value)) = set.value.split_once(' ') else { continue };
        let (name, value) = (var.trim_start_matches('$'), value.trim());
        if value.contains('$') || name.is_empty() {
            continue;
        }
        out = out.replace(&format!("${{{name}}}"), value);
        let plain = format!("${name}");
        let mut expanded = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(&plain) {
            let after = &rest[at + plain.len()..];
            let continues = after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            expanded.push_str(&rest[..at]);
            expanded.push_str(if continues { &plain } else { value });
            rest = after;
        }
        expanded.push_str(rest);
        out = expanded;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::evidence::web::Location;
    use std::path::Path;

    #[test]
    fn variables_set_to_literals_expand() {
        let set = |value: &str| Setting {
            name: "set".into(),
            value: value.into(),
            at: Location::new(Path::new("/x"), 1),
        };
        let scope = [set("$b nope.invalid.test"), set("$port 8080"), set("$dyn $host")];
        assert_eq!(
            expand_variables("http://$b:$port/x", &scope),
            "http://nope.invalid.test:8080/x"
        );
        assert_eq!(expand_variables("http://${b}", &scope), "http://nope.invalid.test");
        assert_eq!(
            expand_variables("http://$backend", &scope),
            "http://$backend",
            "a longer name is another variable"
        );
        assert_eq!(
            expand_variables("http://$dyn", &scope),
            "http://$dyn",
            "set from a variable stays"
        );
    }
}
