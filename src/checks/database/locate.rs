//! Where the app's database is when the app's own files do not say, and what this machine says
//! about it: the `env[…]` lines of the PHP-FPM pools, the `Environment=`/`EnvironmentFile=` of
//! the app runtimes' systemd units (only the variables that locate a database are ever kept),
//! and — for a local database that does not answer — whether its server is installed here but
//! stopped, or runs but listens elsewhere.

use std::path::Path;

use super::config::{self, DbAddress, Kind, Server};
use crate::contract::evidence::stack::{Endpoint, Role, Stack};
use crate::contract::evidence::web::Setting;
use crate::system::proxy::phpfpm;
use crate::system::{System, units};

/// The database the PHP-FPM pools (of `fpm_config`, else the running or installed PHP-FPM) or
/// the runtimes' units point at, with where that was read.
pub fn from_environment(
    system: &System,
    stack: Option<&Stack>,
    fpm_config: Option<&Path>,
) -> Option<Server> {
    let configs = match (fpm_config, stack) {
        (Some(path), _) => vec![phpfpm::read(system, path)],
        (None, Some(stack)) => phpfpm::read_stack(system, stack),
        (None, None) => Vec::new(),
    };
    for pool in configs.iter().flat_map(|c| &c.pools) {
        if let Some(server) = from_settings(&pool.env, &format!("php-fpm pool {}", pool.name)) {
            return Some(server);
        }
    }
    let stack = stack?;
    for service in stack.of_role(Role::Runtime) {
        let Some(unit) = service.unit.as_ref().and_then(|u| units::read(system, &u.name)) else {
            continue;
        };
        if let Some(server) =
            from_settings(&unit.env, &format!("{} unit {}", service.id, unit.name))
        {
            return Some(server);
        }
    }
    None
}

/// A database from environment variables (`DATABASE_URL`, else `DB_HOST`/`DB_PORT`/…, libpq's
/// `PGHOST`/`PGPORT`, `MYSQL_HOST`), named with the first variable's place.
pub fn from_settings(env: &[Setting], owner: &str) -> Option<Server> {
    let get = |name: &str| env.iter().rev().find(|s| s.name == name);
    let first = get("DATABASE_URL")
        .or_else(|| get("DB_HOST"))
        .or_else(|| get("DATABASE_HOST"))
        .or_else(|| get("PGHOST"))
        .or_else(|| get("MYSQL_HOST"))?;
    let mut text = String::new();
    for setting in env {
        let name = match setting.name.as_str() {
            "DATABASE_HOST" | "PGHOST" | "MYSQL_HOST" => "DB_HOST",
            "DATABASE_PORT" | "PGPORT" | "MYSQL_PORT" => "DB_PORT",
            other => other,
        };
        text.push_str(&format!("{name}={}\n", setting.value));
    }
    if get("PGHOST").is_some() && get("DB_CONNECTION").is_none() {
        text.push_str("DB_CONNECTION=pgsql\n");
    }
    let mut server = config::dot_env(&text).ok()?;
    server.source = format!("{owner} env[{}] ({})", first.name, first.at);
    Some(server)
}

/// For a local database that did not answer: its server installed here but not running, or
/// running but listening elsewhere. `None` when it is not local or nothing here says more.
pub fn local_server(stack: &Stack, server: &Server) -> Option<String> {
    let local = match &server.address {
        DbAddress::Unix(_) => true,
        DbAddress::Tcp { host, .. } => matches!(host.as_str(), "127.0.0.1" | "::1" | "localhost"),
    };
    let id = match server.kind {
        Kind::Postgres => "postgresql",
        Kind::Mysql => "mysql",
        Kind::Unknown => return None,
    };
    if !local {
        return None;
    }
    let running: Vec<_> = stack.services.iter().filter(|s| s.id == id).collect();
    if running.is_empty() {
        return stack
            .not_running
            .iter()
            .any(|n| n == id)
            .then(|| format!("{id} is installed here but not running"));
    }
    let listens: Vec<String> = running
        .iter()
        .flat_map(|s| s.listening.iter())
        .filter(|l| matches!(l.endpoint, Endpoint::Tcp(..) | Endpoint::Unix(_)))
        .map(|l| l.address.clone())
        .collect();
    let here = server.address.to_string();
    let pids: Vec<String> = running.iter().map(|s| s.master.to_string()).collect();
    if listens.iter().any(|l| here.ends_with(l.as_str()) || l.ends_with(&here)) {
        return None;
    }
    Some(format!(
        "{id} runs here (pid {}) but listens at {}, not at {here}",
        pids.join(", "),
        if listens.is_empty() {
            "addresses triage could not see".to_owned()
        } else {
            listens.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::evidence::web::Location;

    #[test]
    fn pool_environment_locates_the_database() {
        let at = Location::new(Path::new("/etc/php/8.2/fpm/pool.d/www.conf"), 12);
        let set = |name: &str, value: &str| Setting {
            name: name.into(),
            value: value.into(),
            at: at.clone(),
        };
        let server = from_settings(
            &[set("DATABASE_URL", "postgres://127.0.0.1:15499/appdb")],
            "php-fpm pool www",
        )
        .unwrap();
        assert_eq!(server.address.to_string(), "127.0.0.1:15499");
        assert_eq!(server.kind, Kind::Postgres);
        assert_eq!(
            server.source,
            "php-fpm pool www env[DATABASE_URL] (/etc/php/8.2/fpm/pool.d/www.conf:12)"
        );
        let server = from_settings(
            &[set("PGHOST", "db"), set("PGPORT", "6432")],
            "gunicorn unit app.service",
        )
        .unwrap();
        assert_eq!(
            (server.address.to_string(), server.kind),
            ("db:6432".to_owned(), Kind::Postgres)
        );
        assert_eq!(from_settings(&[set("DB_PORT", "3306")], "x"), None);
    }
}
