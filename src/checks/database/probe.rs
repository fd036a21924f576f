//! Does the database answer? A connect (TCP or unix socket), then, for MySQL/MariaDB, the
//! greeting the server sends first (its version, or an error such as 1040 Too many
//! connections); for PostgreSQL an SSLRequest, which any PostgreSQL answers with one byte. It
//! never logs in, never sends a user name or a password, and bounds every step in time and
//! size.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::time::timeout;

use super::config::{DbAddress, Kind};

/// How long each step may take.
pub const STEP: Duration = Duration::from_secs(3);
/// How long a server of unknown kind gets to greet before it is sent an SSLRequest.
const GREETING_WAIT: Duration = Duration::from_millis(800);
/// The largest greeting read.
const MAX_PACKET: usize = 1024;
/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub kind: Kind,
    /// `None` when the server accepted and answered as a database does.
    pub failure: Option<DbFailure>,
    /// From the MySQL greeting.
    pub version: Option<String>,
    /// The server's own error text (MySQL error packet), sanitised.
    pub server_error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbFailure {
    Refused,
    Timeout,
    SocketMissing,
    SocketPermission,
    Dns,
    TooManyConnections,
    HostBlocked,
    HostNotAllowed,
    /// It accepted but did not answer as a database does.
    NotADatabase,
    /// Any other MySQL error at the greeting, or a network error.
    Other,
}

impl DbFailure {
    pub fn id(self) -> &'static str {
        match self {
            DbFailure::Refused => "refused",
            DbFailure::Timeout => "timeout",
            DbFailure::SocketMissing => "socket_missing",
            DbFailure::SocketPermission => "socket_permission",
            DbFailure::Dns => "dns",
            DbFailure::TooManyConnections => "too_many_connections",
            DbFailure::HostBlocked => "host_blocked",
            DbFailure::HostNotAllowed => "host_not_allowed",
            DbFailure::NotADatabase => "not_a_database",
            DbFailure::Other => "error",
        }
    }
}

/// Connects to `address` and asks it to say what it is.
pub async fn probe(address: &DbAddress, kind: Kind) -> Reply {
    let failed =
        |failure| Reply { kind, failure: Some(failure), version: None, server_error: None };
    match address {
        DbAddress::Tcp { host, port } => {
            let connect = TcpStream::connect((host.as_str(), *port));
            match timeout(STEP, connect).await {
                Ok(Ok(stream)) => speak(stream, kind).await,
                Ok(Err(e)) => failed(from_io(&e)),
                Err(_) => failed(DbFailure::Timeout),
            }
        }
        DbAddress::Unix(path) => match timeout(STEP, UnixStream::connect(path)).await {
            Ok(Ok(stream)) => speak(stream, kind).await,
            Ok(Err(e)) => failed(from_io(&e)),
            Err(_) => failed(DbFailure::Timeout),
        },
    }
}

fn from_io(error: &std::io::Error) -> DbFailure {
    use std::io::ErrorKind as K;
    match error.kind() {
        K::ConnectionRefused => DbFailure::Refused,
        K::NotFound => DbFailure::SocketMissing,
        K::PermissionDenied => DbFailure::SocketPermission,
        K::TimedOut => DbFailure::Timeout,
        _ if error.to_string().contains("failed to lookup address") => DbFailure::Dns,
        _ => DbFailure::Other,
    }
}

async fn speak<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, kind: Kind) -> Reply {
    let wait = if kind == Kind::Mysql { STEP } else { GREETING_WAIT };
    let mut buf = vec![0_u8; MAX_PACKET];
    let greeted = if kind == Kind::Postgres {
        Ok(Ok(0))
    } else {
        timeout(wait, read_packet(&mut stream, &mut buf)).await
    };
    match greeted {
        Ok(Ok(n)) if n > 0 => mysql_greeting(&buf[..n]),
        Ok(Ok(_)) if kind == Kind::Mysql => failed(kind, DbFailure::NotADatabase),
        Err(_) if kind == Kind::Mysql => failed(kind, DbFailure::Timeout),
        Ok(Err(_)) => failed(kind, DbFailure::NotADatabase),
        _ => ssl_request(&mut stream, kind).await,
    }
}

fn failed(kind: Kind, failure: DbFailure) -> Reply {
    Reply { kind, failure: Some(failure), version: None, server_error: None }
}

/// One MySQL packet: a 3-byte little-endian length, a sequence byte, the payload. Returns the
/// payload's length in `buf` (0 when the peer closed first).
async fn read_packet<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let mut header = [0_u8; 4];
    if stream.read_exact(&mut header).await.is_err() {
        return Ok(0);
    }
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    let len = len.min(buf.len());
    stream.read_exact(&mut buf[..len]).await?;
    Ok(len)
}

/// Protocol 10 greeting (`0x0a`, then the NUL-terminated version) or an error packet (`0xff`,
/// the error code, then the message). MySQL refuses with 1040 before the greeting when it is at
/// `max_connections`; MariaDB (10.11) greets and refuses only after a login, which this probe
/// never attempts — there, "Too many connections" shows in the app's logs instead.
fn mysql_greeting(payload: &[u8]) -> Reply {
    match payload.first() {
        Some(0x0a) => {
            let version = payload[1..].split(|&b| b == 0).next().unwrap_or_default();
            // MariaDB prefixes its version with `5.5.5-` for clients that predate 10.x.
            let version = version.strip_prefix(b"5.5.5-").unwrap_or(version);
            Reply {
                kind: Kind::Mysql,
                failure: None,
                version: Some(crate::sanitize::bytes(&version[..version.len().min(100)], false)),
                server_error: None,
            }
        }
        Some(0xff) if payload.len() >= 3 => {
            let code = u16::from_le_bytes([payload[1], payload[2]]);
            let mut message = &payload[3..];
            if message.first() == Some(&b'#') && message.len() >= 6 {
                message = &message[6..];
            }
            let failure = match code {
                1040 => DbFailure::TooManyConnections,
                1129 => DbFailure::HostBlocked,
                1130 => DbFailure::HostNotAllowed,
                _ => DbFailure::Other,
            };
            let text = crate::sanitize::bytes(&message[..message.len().min(300)], false);
            Reply {
                kind: Kind::Mysql,
                failure: Some(failure),
                version: None,
                server_error: Some(format!("{code}: {text}")),
            }
        }
        _ => failed(Kind::Unknown, DbFailure::NotADatabase),
    }
}

/// PostgreSQL answers an SSLRequest with `S` (TLS available) or `N` (not).
async fn ssl_request<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, kind: Kind) -> Reply {
    let mut answer = [0_u8; 1];
    let exchange = async {
        stream.write_all(&SSL_REQUEST).await?;
        stream.read_exact(&mut answer).await
    };
    match timeout(STEP, exchange).await {
        Ok(Ok(_)) if matches!(answer[0], b'S' | b'N') => {
            Reply { kind: Kind::Postgres, failure: None, version: None, server_error: None }
        }
        Ok(_) => failed(kind, DbFailure::NotADatabase),
        Err(_) => failed(kind, DbFailure::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greetings_and_error_packets_read() {
        let mut hello = vec![0x0a];
        hello.extend_from_slice(b"5.5.5-10.11.6-MariaDB-0+deb12u1\0\x05\0\0\0");
        let out = mysql_greeting(&hello);
        assert_eq!(
            (out.failure, out.version.as_deref()),
            (None, Some("10.11.6-MariaDB-0+deb12u1"))
        );
        let mut err = vec![0xff, 0x10, 0x04];
        err.extend_from_slice(b"Too many connections");
        let out = mysql_greeting(&err);
        assert_eq!(out.failure, Some(DbFailure::TooManyConnections));
        assert_eq!(out.server_error.as_deref(), Some("1040: Too many connections"));
        assert_eq!(mysql_greeting(b"HTTP/1.1 400").failure, Some(DbFailure::NotADatabase));
    }
}
