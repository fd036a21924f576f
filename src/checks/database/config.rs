//! Where the app's database is, from its own configuration: `wp-config.php` (`DB_HOST`) and
//! `.env` (`DB_CONNECTION`, `DB_HOST`, `DB_PORT`, `DB_SOCKET`, `DATABASE_URL`). Only those keys
//! are ever looked at; a password is never parsed, kept, printed or returned — the text of the
//! file is dropped as soon as the address is out of it.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

/// Config files larger than this are not app configs.
const MAX_CONFIG: u64 = 1 << 20;

/// Where MySQL and MariaDB put their socket on Debian, Ubuntu and Red Hat, in that order.
pub const MYSQL_SOCKETS: &[&str] = &[
    "/run/mysqld/mysqld.sock",
    "/var/run/mysqld/mysqld.sock",
    "/var/lib/mysql/mysql.sock",
    "/tmp/mysql.sock",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mysql,
    Postgres,
    /// Unknown until the server speaks (MySQL greets first) or answers an SSLRequest.
    Unknown,
}

impl Kind {
    pub fn id(self) -> &'static str {
        match self {
            Kind::Mysql => "mysql",
            Kind::Postgres => "postgresql",
            Kind::Unknown => "unknown",
        }
    }

    fn from_port(port: u16) -> Kind {
        match port {
            3306 | 3307 => Kind::Mysql,
            5432 | 5433 => Kind::Postgres,
            _ => Kind::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbAddress {
    Tcp { host: String, port: u16 },
    Unix(PathBuf),
}

impl std::fmt::Display for DbAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbAddress::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            DbAddress::Tcp { host, port } => write!(f, "{host}:{port}"),
            DbAddress::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// What to connect to, and where that came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub address: DbAddress,
    pub kind: Kind,
    /// `wp-config.php`, `.env` or `address`.
    pub source: String,
}

/// The `address` parameter: `host:port`, `[::1]:5432`, `unix:/path` or `/path/to.sock`.
pub fn parse_address(text: &str) -> Result<Server, String> {
    let text = text.trim();
    let bad = || {
        format!(
            "`{}` is not an address; expected host:port or unix:/path/to.sock",
            crate::sanitize::line(text)
        )
    };
    let address =
        if let Some(path) = text.strip_prefix("unix:").or(text.starts_with('/').then_some(text)) {
            DbAddress::Unix(PathBuf::from(path))
        } else {
            let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
            let port: u16 = port.parse().map_err(|_| bad())?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(bad());
            }
            DbAddress::Tcp { host: host.to_owned(), port }
        };
    let kind = match &address {
        DbAddress::Tcp { port, .. } => Kind::from_port(*port),
        DbAddress::Unix(path) => socket_kind(path),
    };
    Ok(Server { address, kind, source: "address".to_owned() })
}

fn socket_kind(path: &Path) -> Kind {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if name.starts_with(".s.PGSQL.") {
        Kind::Postgres
    } else if name.contains("mysql") || name.contains("mariadb") {
        Kind::Mysql
    } else {
        Kind::Unknown
    }
}

/// Why no target was found under a site root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFound {
    NoConfig,
    /// The config names no database server (SQLite, or no DB_HOST).
    NoServer(String),
    Unreadable(String),
}

/// The database the app at `root` is configured to use.
pub fn from_site_root(root: &Path) -> Result<Server, NotFound> {
    let wp = root.join("wp-config.php");
    if wp.is_file() {
        let text = read_bounded(&wp)?;
        return wp_config(&text)
            .ok_or_else(|| NotFound::NoServer("wp-config.php defines no DB_HOST".to_owned()));
    }
    let env = root.join(".env");
    if env.is_file() {
        let text = read_bounded(&env)?;
        return dot_env(&text);
    }
    Err(NotFound::NoConfig)
}

fn read_bounded(path: &Path) -> Result<String, NotFound> {
    let unreadable = |e: std::io::Error| {
        let kind = if e.kind() == std::io::ErrorKind::PermissionDenied {
            "permission denied".to_owned()
        } else {
            e.to_string()
        };
        NotFound::Unreadable(format!("could not read {} ({kind})", path.display()))
    };
    let mut bytes = Vec::new();
    crate::file::open_regular(path)
        .map_err(unreadable)?
        .take(MAX_CONFIG)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

static WP_HOST: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?m)^\s*define\s*\(\s*['"]DB_HOST['"]\s*,\s*['"]([^'"]*)['"]\s*\)"#).ok()
});

/// `define( 'DB_HOST', 'localhost' )`: `localhost` (with no port) means MySQL's unix socket,
/// as PHP's mysqli reads it; `host:port` and `localhost:/path.sock` are honoured.
pub fn wp_config(text: &str) -> Option<Server> {
    let host = WP_HOST.as_ref()?.captures(text)?.get(1)?.as_str().trim().to_owned();
    Some(mysql_target(&host, None, None, "wp-config.php"))
}

fn mysql_target(host: &str, port: Option<u16>, socket: Option<&str>, source: &str) -> Server {
    let (name, rest) = host.split_once(':').map_or((host, None), |(h, r)| (h, Some(r)));
    let address = if let Some(path) =
        socket.filter(|s| !s.is_empty()).or(rest.filter(|r| r.starts_with('/')))
    {
        DbAddress::Unix(PathBuf::from(path))
    } else if name == "localhost" && rest.is_none() {
        let found =
            MYSQL_SOCKETS.iter().find(|p| Path::new(p).exists()).unwrap_or(&MYSQL_SOCKETS[0]);
        DbAddress::Unix(PathBuf::from(found))
    } else {
        let port = rest.and_then(|r| r.parse().ok()).or(port).unwrap_or(3306);
        let host = if name.is_empty() { "localhost" } else { name };
        DbAddress::Tcp { host: host.to_owned(), port }
    };
    Server { address, kind: Kind::Mysql, source: source.to_owned() }
}

/// The keys of a `.env` file that locate the database, and nothing else.
#[derive(Debug, Default)]
struct EnvKeys {
    connection: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    socket: Option<String>,
    url: Option<Server>,
}

/// Laravel's `DB_CONNECTION`/`DB_HOST`/`DB_PORT`/`DB_SOCKET`, or a `DATABASE_URL`.
pub fn dot_env(text: &str) -> Result<Server, NotFound> {
    let mut keys = EnvKeys::default();
    for line in text.lines() {
        let line = line.trim().trim_start_matches("export ").trim_start();
        let Some((key, value)) = line.split_once('=') else { continue };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        match key.trim() {
            "DB_CONNECTION" => keys.connection = Some(value.to_ascii_lowercase()),
            "DB_HOST" => keys.host = Some(value.to_owned()),
            "DB_PORT" => keys.port = value.parse().ok(),
            "DB_SOCKET" => keys.socket = Some(value.to_owned()),
            "DATABASE_URL" => keys.url = database_url(value),
            _ => {}
        }
    }
    if let Some(target) = keys.url {
        return Ok(target);
    }
    let connection = keys.connection.unwrap_or_else(|| "mysql".to_owned());
    match (connection.as_str(), keys.host) {
        ("sqlite", _) => {
            Err(NotFound::NoServer("the app uses SQLite: there is no database server".to_owned()))
        }
        ("pgsql" | "postgres" | "postgresql", Some(host)) => {
            let port = keys.port.unwrap_or(5432);
            Ok(Server {
                address: DbAddress::Tcp { host, port },
                kind: Kind::Postgres,
                source: ".env".to_owned(),
            })
        }
        (_, Some(host)) => Ok(mysql_target(&host, keys.port, keys.socket.as_deref(), ".env")),
        (_, None) => {
            Err(NotFound::NoServer(".env sets neither DB_HOST nor DATABASE_URL".to_owned()))
        }
    }
}

/// `postgres://user:secret@db:5432/app`: scheme, host and port only. The userinfo is never
/// copied out of the parsed URL.
fn database_url(value: &str) -> Option<Server> {
    let url = url::Url::parse(value).ok()?;
    let kind = match url.scheme() {
        "postgres" | "postgresql" | "pgsql" => Kind::Postgres,
        "mysql" | "mysql2" | "mariadb" => Kind::Mysql,
        _ => return None,
    };
    let default = if kind == Kind::Postgres { 5432 } else { 3306 };
    let socket =
        url.query_pairs().find(|(k, _)| k == "host" || k == "socket").map(|(_, v)| v.into_owned());
    let address = match (url.host_str().filter(|h| !h.is_empty()), socket) {
        (_, Some(path)) if path.starts_with('/') => {
            DbAddress::Unix(unix_path(kind, &path, url.port().unwrap_or(default)))
        }
        (Some(host), _) => DbAddress::Tcp {
            host: host.trim_matches(['[', ']']).to_owned(),
            port: url.port().unwrap_or(default),
        },
        (None, _) => return None,
    };
    Some(Server { address, kind, source: ".env DATABASE_URL".to_owned() })
}

/// libpq's `host=/var/run/postgresql` names the directory; the socket is `.s.PGSQL.<port>`.
fn unix_path(kind: Kind, path: &str, port: u16) -> PathBuf {
    let path = PathBuf::from(path);
    if kind == Kind::Postgres && path.is_dir() {
        path.join(format!(".s.PGSQL.{port}"))
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp(host: &str, port: u16) -> DbAddress {
        DbAddress::Tcp { host: host.to_owned(), port }
    }

    #[test]
    fn wordpress_hosts_read_as_php_reads_them() {
        let wp = |host: &str| {
            wp_config(&format!("<?php\ndefine( 'DB_NAME', 'shop' );\ndefine( 'DB_PASSWORD', 'hunter2' );\ndefine( 'DB_HOST', '{host}' );\n")).unwrap().address
        };
        assert_eq!(wp("127.0.0.1"), tcp("127.0.0.1", 3306));
        assert_eq!(wp("db.internal:3307"), tcp("db.internal", 3307));
        assert_eq!(
            wp("localhost:/var/run/mysqld/custom.sock"),
            DbAddress::Unix("/var/run/mysqld/custom.sock".into())
        );
        assert!(
            matches!(wp("localhost"), DbAddress::Unix(p) if p.to_string_lossy().contains("mysql"))
        );
        assert_eq!(wp_config("<?php // no database\n"), None);
    }

    #[test]
    fn dot_env_and_database_urls_give_host_and_port_only() {
        let env = "APP_KEY=base64:xyz\nDB_CONNECTION=pgsql\nDB_HOST=10.0.0.5\nDB_PORT=6432\nDB_PASSWORD=hunter2\n";
        let t = dot_env(env).unwrap();
        assert_eq!((t.address, t.kind), (tcp("10.0.0.5", 6432), Kind::Postgres));
        let t = dot_env("DATABASE_URL=\"postgres://app:hunter2@db:5433/shop?sslmode=require\"\n")
            .unwrap();
        assert_eq!((t.address.clone(), t.kind), (tcp("db", 5433), Kind::Postgres));
        assert!(!format!("{t:?}").contains("hunter2"));
        let t = dot_env("DATABASE_URL=mysql://root:pw@127.0.0.1/app\n").unwrap();
        assert_eq!(t.address, tcp("127.0.0.1", 3306));
        assert!(matches!(dot_env("DB_CONNECTION=sqlite\n"), Err(NotFound::NoServer(_))));
        assert!(matches!(dot_env("APP_NAME=x\n"), Err(NotFound::NoServer(_))));
    }

    #[test]
    fn addresses_parse() {
        assert_eq!(parse_address("127.0.0.1:3306").unwrap().kind, Kind::Mysql);
        assert_eq!(parse_address("[::1]:5432").unwrap().address, tcp("::1", 5432));
        assert_eq!(parse_address("[::1]:5432").unwrap().address.to_string(), "[::1]:5432");
        assert_eq!(
            parse_address("unix:/run/postgresql/.s.PGSQL.5432").unwrap().kind,
            Kind::Postgres
        );
        assert_eq!(parse_address("/run/mysqld/mysqld.sock").unwrap().kind, Kind::Mysql);
        for bad in ["db", "db:", ":3306", "db:99999"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }
}
