//! Asking an upstream whether it answers, the way its proxy would: an HTTP/1.0 `GET` of the
//! incident's path for HTTP upstreams (after a TLS handshake for HTTPS ones, as the proxy makes
//! it), a FastCGI `FCGI_GET_VALUES` record for FastCGI (PHP-FPM answers it without running any
//! PHP), a bare connect for the rest. Every step is bounded in time — never longer than the
//! proxy in front of it waits — and in bytes read. A host name from a variable is resolved with
//! the proxy's own resolver.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use super::resolve::{self, ProxyResolver};
use crate::checks::tls;
use crate::contract::evidence::web::{Address, Protocol};
use crate::sanitize;

/// The longest connect attempt: a proxy that waits longer would time out the same way.
pub const CONNECT_LIMIT: Duration = Duration::from_secs(2);
/// The longest wait for an answer when the proxy's own timeout is longer, or unknown.
pub const ANSWER_LIMIT: Duration = Duration::from_secs(20);
/// Added to the proxy's own timeout for the jitter between its clock and the probe's: an
/// upstream that answers after the proxy gave up is as good as silent to the site.
pub const MARGIN: Duration = Duration::from_millis(25);

/// How long one probe may take: no longer than the proxy waits, and never unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub connect: Duration,
    pub answer: Duration,
}

impl Limits {
    /// The limits for a proxy that waits `connect` and `answer` (when its config says).
    pub fn within(connect: Option<Duration>, answer: Option<Duration>) -> Limits {
        Limits {
            connect: connect.map_or(CONNECT_LIMIT, |c| (c + MARGIN).min(CONNECT_LIMIT)),
            answer: answer.map_or(ANSWER_LIMIT, |a| (a + MARGIN).min(ANSWER_LIMIT)),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits { connect: CONNECT_LIMIT, answer: ANSWER_LIMIT }
    }
}

/// What to ask: the Host header and path an HTTP upstream gets (the incident's own request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub host: String,
    pub path: String,
}
const MAX_ANSWER_BYTES: usize = 4096;

/// How a probe ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// It answered in the protocol expected: what it said, and how long it took.
    Answered {
        answer: String,
        ms: u64,
    },
    /// Nothing listens (TCP RST, or a unix socket with no listener).
    Refused,
    /// The unix socket is not there.
    Missing,
    /// We (not the web server) may not connect: running unprivileged.
    NoPermission,
    /// The host name does not resolve.
    Unresolved {
        detail: String,
    },
    /// The connection did not open in time (a firewall dropping, a host down).
    ConnectTimeout,
    /// Connected, but no answer in time.
    NoAnswer {
        after_ms: u64,
    },
    /// Connected, but the answer is not the protocol the proxy speaks.
    WrongProtocol {
        detail: String,
    },
    /// Connected, but the TLS handshake failed.
    TlsFailed {
        detail: String,
    },
    /// Connected, and it closed or reset without answering.
    Closed {
        detail: String,
    },
    Failed {
        detail: String,
    },
}

/// Probes `address` in `protocol`, asking an HTTP upstream for `ask`; a host name is resolved
/// with `resolver` (the proxy's own) when it has one.
pub async fn probe(
    protocol: Protocol,
    address: &Address,
    ask: &Ask,
    limits: Limits,
    resolver: Option<&ProxyResolver>,
) -> Contact {
    let started = Instant::now();
    match address {
        Address::Tcp { host: name, port } => {
            match connect_tcp(name, *port, limits.connect, resolver).await {
                Ok(stream) if protocol == Protocol::Https => {
                    tls_exchange(stream, name, ask, started, limits.answer).await
                }
                Ok(stream) => exchange(stream, protocol, ask, started, limits.answer).await,
                Err(probe) => probe,
            }
        }
        Address::Unix { path } => match connect_unix(path, limits.connect).await {
            Ok(stream) => exchange(stream, protocol, ask, started, limits.answer).await,
            Err(probe) => probe,
        },
        Address::Dynamic { text } => {
            Contact::Failed { detail: format!("{text} depends on a variable") }
        }
    }
}

async fn connect_tcp(
    host: &str,
    port: u16,
    limit: Duration,
    resolver: Option<&ProxyResolver>,
) -> Result<TcpStream, Contact> {
    let addrs = match resolver {
        Some(resolver) if host.parse::<std::net::IpAddr>().is_err() => {
            let ips = resolve::lookup(host, resolver, resolver.timeout.min(CONNECT_LIMIT))
                .await
                .map_err(|detail| Contact::Unresolved { detail })?;
            ips.into_iter().map(|ip| SocketAddr::new(ip, port)).collect()
        }
        _ => system_lookup(host, port).await?,
    };
    let Some(addr) = addrs.first() else {
        return Err(Contact::Unresolved { detail: format!("{host} has no address") });
    };
    match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(connect_error(&e)),
        Err(_) => Err(Contact::ConnectTimeout),
    }
}

/// The system's resolver, as a proxy that resolved the name at start-up used it.
async fn system_lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, Contact> {
    match tokio::time::timeout(CONNECT_LIMIT, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addrs)) => Ok(addrs.collect()),
        Ok(Err(e)) => Err(Contact::Unresolved { detail: format!("{host} does not resolve: {e}") }),
        Err(_) => Err(Contact::Unresolved {
            detail: format!("resolving {host} took more than {} s", CONNECT_LIMIT.as_secs()),
        }),
    }
}

async fn connect_unix(path: &Path, limit: Duration) -> Result<UnixStream, Contact> {
    match tokio::time::timeout(limit, UnixStream::connect(path)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(connect_error(&e)),
        Err(_) => Err(Contact::ConnectTimeout),
    }
}

fn connect_error(e: &io::Error) -> Contact {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Contact::Refused,
        io::ErrorKind::NotFound => Contact::Missing,
        io::ErrorKind::PermissionDenied => Contact::NoPermission,
        _ => Contact::Failed { detail: e.to_string() },
    }
}

/// The TLS handshake the proxy would make (any certificate accepted: this asks whether the
/// upstream speaks TLS, not whether its certificate is good), then the HTTP exchange.
async fn tls_exchange(
    stream: TcpStream,
    name: &str,
    ask: &Ask,
    started: Instant,
    limit: Duration,
) -> Contact {
    let config = match tls::client_config(&tls::Capture::default(), true, None) {
        Ok(mut config) => {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            config
        }
        Err(e) => return Contact::Failed { detail: e.to_string() },
    };
    let server_name = ServerName::try_from(name.to_owned())
        .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(limit, connector.connect(server_name, stream)).await {
        Err(_) => Contact::NoAnswer { after_ms: millis(started) },
        Ok(Err(e)) => Contact::TlsFailed { detail: tls_words(&e) },
        Ok(Ok(tls)) => exchange(tls, Protocol::Http, ask, started, limit).await,
    }
}

/// A failed handshake in words: a plain-HTTP port answers bytes that are no TLS record.
fn tls_words(error: &io::Error) -> String {
    let text = error.to_string();
    if text.contains("InvalidContentType") || text.contains("corrupt message") {
        "does not speak TLS: it answered with something that is not a TLS record (a plain-HTTP port; nginx logs `wrong version number`)".to_owned()
    } else if error.kind() == io::ErrorKind::UnexpectedEof
        || error.kind() == io::ErrorKind::ConnectionReset
    {
        "closed the connection during the TLS handshake".to_owned()
    } else {
        format!("the TLS handshake failed: {}", sanitize::line(&text))
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    protocol: Protocol,
    ask: &Ask,
    started: Instant,
    limit: Duration,
) -> Contact {
    let request = match protocol {
        Protocol::Http | Protocol::Https => http_request(ask),
        Protocol::FastCgi => get_values_request(),
        _ => {
            return Contact::Answered {
                answer: "accepted the connection".to_owned(),
                ms: millis(started),
            };
        }
    };
    let reply = tokio::time::timeout(limit, async {
        stream.write_all(&request).await?;
        read_some(&mut stream, protocol).await
    })
    .await;
    let ms = millis(started);
    match reply {
        Err(_) => Contact::NoAnswer { after_ms: ms },
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => {
            Contact::Closed { detail: "reset the connection without answering".to_owned() }
        }
        Ok(Err(e)) => Contact::Failed { detail: e.to_string() },
        Ok(Ok(bytes)) if bytes.is_empty() => {
            Contact::Closed { detail: "closed the connection without answering".to_owned() }
        }
        Ok(Ok(bytes)) => match protocol {
            Protocol::FastCgi => fastcgi_answer(&bytes, ms),
            _ => http_answer(&bytes, ms),
        },
    }
}

/// Reads until the answer's first line (HTTP) or first record (FastCGI) is in, or EOF.
async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    protocol: Protocol,
) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        buf.extend_from_slice(&chunk[..n]);
        let enough = match protocol {
            Protocol::FastCgi => {
                record_complete(&buf) || buf.starts_with(b"HTTP/") && buf.contains(&b'\n')
            }
            _ => buf.contains(&b'\n'),
        };
        if n == 0 || enough || buf.len() >= MAX_ANSWER_BYTES {
            return Ok(buf);
        }
    }
}

fn millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The agent an access log shows for it: `triage/…` like the public probe, so neither counts
/// as the incident's own traffic.
const USER_AGENT: &str =
    concat!("triage/", env!("CARGO_PKG_VERSION"), " (read-only upstream check)");

fn http_request(ask: &Ask) -> Vec<u8> {
    let path = if ask.path.starts_with('/') && !ask.path.contains(['\r', '\n', ' ']) {
        ask.path.as_str()
    } else {
        "/"
    };
    let host = ask.host.replace(['\r', '\n'], "");
    format!("GET {path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n").into_bytes()
}

fn http_answer(bytes: &[u8], ms: u64) -> Contact {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let line = sanitize::bytes(first, false);
    let line = line.trim_end();
    if line.starts_with("HTTP/") {
        return Contact::Answered { answer: line.to_owned(), ms };
    }
    if bytes.first() == Some(&1) {
        return Contact::WrongProtocol { detail: "answers in FastCGI, not HTTP".to_owned() };
    }
    Contact::WrongProtocol {
        detail: format!("answered something that is not HTTP: {}", truncate(line, 60)),
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

const FCGI_GET_VALUES: u8 = 9;
const FCGI_GET_VALUES_RESULT: u8 = 10;
const MANAGEMENT_NAMES: [&str; 3] = ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"];

/// An `FCGI_GET_VALUES` management record (request id 0) asking for the three standard values.
pub fn get_values_request() -> Vec<u8> {
    let mut body = Vec::new();
    for name in MANAGEMENT_NAMES {
        body.push(name.len() as u8);
        body.push(0);
        body.extend_from_slice(name.as_bytes());
    }
    let len = body.len() as u16;
    let mut record = vec![1, FCGI_GET_VALUES, 0, 0];
    record.extend_from_slice(&len.to_be_bytes());
    record.extend_from_slice(&[0, 0]);
    record.extend(body);
    record
}

/// A whole FastCGI record: 8 header bytes, then content and padding.
fn record_complete(buf: &[u8]) -> bool {
    buf.len() >= 8
        && buf.len() >= 8 + usize::from(u16::from_be_bytes([buf[4], buf[5]])) + usize::from(buf[6])
}

fn fastcgi_answer(bytes: &[u8], ms: u64) -> Contact {
    if bytes.starts_with(b"HTTP/") {
        return Contact::WrongProtocol { detail: "answers in HTTP, not FastCGI".to_owned() };
    }
    if bytes.len() < 8 || bytes[0] != 1 {
        return Contact::WrongProtocol {
            detail: "answered something that is not FastCGI".to_owned(),
        };
    }
    if bytes[1] != FCGI_GET_VALUES_RESULT {
        return Contact::Answered { answer: format!("FastCGI record type {}", bytes[1]), ms };
    }
    let len = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
    let values = name_values(bytes.get(8..8 + len).unwrap_or_default());
    let answer = if values.is_empty() {
        "FastCGI answered".to_owned()
    } else {
        format!("FastCGI answered {}", values.join(", "))
    };
    Contact::Answered { answer, ms }
}

/// FastCGI name-value pairs (lengths of 1 byte, or 4 with the high bit set).
fn name_values(mut body: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let length = |b: &mut &[u8]| -> Option<usize> {
        let first = *b.first()?;
        if first & 0x80 == 0 {
            *b = &b[1..];
            return Some(usize::from(first));
        }
        let four = b.get(..4)?;
        let n = u32::from_be_bytes([four[0] & 0x7f, four[1], four[2], four[3]]) as usize;
        *b = &b[4..];
        Some(n)
    };
    while let (Some(n), Some(v)) = (length(&mut body), length(&mut body)) {
        let (Some(name), Some(value)) = (body.get(..n), body.get(n..n + v)) else { break };
        out.push(format!("{}={}", sanitize::bytes(name, false), sanitize::bytes(value, false)));
        body = &body[n + v..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask() -> Ask {
        Ask { host: "x".to_owned(), path: "/".to_owned() }
    }

    #[test]
    fn get_values_records_are_well_formed() {
        let r = get_values_request();
        assert_eq!(&r[..4], &[1, 9, 0, 0]);
        assert_eq!(usize::from(u16::from_be_bytes([r[4], r[5]])), r.len() - 8);
        assert!(record_complete(&r));
        let mut reply = vec![1, 10, 0, 0, 0, 18, 0, 0];
        reply.extend_from_slice(&[14, 2]);
        reply.extend_from_slice(b"FCGI_MAX_CONNS50");
        assert_eq!(
            fastcgi_answer(&reply, 3),
            Contact::Answered { answer: "FastCGI answered FCGI_MAX_CONNS=50".into(), ms: 3 }
        );
        assert!(matches!(
            fastcgi_answer(b"HTTP/1.1 400 Bad Request\r\n", 1),
            Contact::WrongProtocol { .. }
        ));
        assert!(
            matches!(http_answer(&[1, 6, 0, 1], 1), Contact::WrongProtocol { detail } if detail.contains("FastCGI"))
        );
    }

    #[tokio::test]
    async fn tcp_probes_tell_refused_from_answered() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\n\r\n").await.unwrap();
        });
        let address = Address::Tcp { host: "127.0.0.1".into(), port };
        assert!(
            matches!(probe(Protocol::Http, &address, &ask(), Limits::default(), None).await, Contact::Answered { answer, .. } if answer == "HTTP/1.1 503 Service Unavailable")
        );
        server.await.unwrap();
        assert_eq!(
            probe(Protocol::Http, &address, &ask(), Limits::default(), None).await,
            Contact::Refused
        );
        let missing = Address::Unix { path: "/nonexistent/triage.sock".into() };
        assert_eq!(
            probe(Protocol::FastCgi, &missing, &ask(), Limits::default(), None).await,
            Contact::Missing
        );
    }

    #[tokio::test]
    async fn https_to_a_plain_http_port_fails_the_handshake_and_a_slow_answer_times_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n").await;
            }
        });
        let address = Address::Tcp { host: "127.0.0.1".into(), port };
        let contact = probe(Protocol::Https, &address, &ask(), Limits::default(), None).await;
        assert!(
            matches!(&contact, Contact::TlsFailed { detail } if detail.contains("does not speak TLS")),
            "{contact:?}"
        );
        let quiet = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let quiet_port = quiet.local_addr().unwrap().port();
        let _held = tokio::spawn(async move {
            let _kept = quiet.accept().await;
            std::future::pending::<()>().await;
        });
        let limits = Limits::within(None, Some(Duration::from_millis(300)));
        let address = Address::Tcp { host: "127.0.0.1".into(), port: quiet_port };
        let contact = probe(Protocol::Http, &address, &ask(), limits, None).await;
        assert!(
            matches!(contact, Contact::NoAnswer { after_ms } if (300..2000).contains(&after_ms)),
            "{contact:?}"
        );
    }
}
