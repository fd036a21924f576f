//! Loopback servers for the outside tests: plain responses, hostile behaviours and TLS with
//! self-signed or expired certificates. Every server is a task of the test's own runtime, bound
//! to 127.0.0.1 on a free port, and ends with the test.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Accepts connections on a free loopback port and runs `handler` on each.
pub async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handler(stream));
        }
    });
    addr
}

/// Reads a request's head (up to the blank line, at most 64 KiB) and returns it.
pub async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
        match stream.read(&mut byte).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&byte[..n]),
        }
    }
    head
}

/// A complete HTTP/1.1 response with Content-Length and `Connection: close`.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Whatever\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

/// Writes `bytes` after reading the request, then closes.
pub async fn reply<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, bytes: Vec<u8>) {
    read_head(&mut stream).await;
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}

/// A server that answers every request with the same bytes.
pub async fn fixed(bytes: Vec<u8>) -> SocketAddr {
    let bytes = Arc::new(bytes);
    serve(move |stream| {
        let bytes = Arc::clone(&bytes);
        async move { reply(stream, bytes.to_vec()).await }
    })
    .await
}

/// A port where nothing listens (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// Which certificate a TLS server presents.
#[derive(Debug, Clone, Copy)]
pub enum Cert {
    SelfSigned,
    Expired,
}

/// A TLS acceptor for 127.0.0.1 with a fresh self-signed certificate (expired if asked).
pub fn acceptor(kind: Cert) -> tokio_rustls::TlsAcceptor {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    if let Cert::Expired = kind {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    let cert = params.self_signed(&key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], der)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// An https server on 127.0.0.1 answering every request with `bytes`.
pub async fn tls_fixed(kind: Cert, bytes: Vec<u8>) -> SocketAddr {
    let acceptor = acceptor(kind);
    let bytes = Arc::new(bytes);
    serve(move |stream| {
        let (acceptor, bytes) = (acceptor.clone(), Arc::clone(&bytes));
        async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                reply(tls, bytes.to_vec()).await;
            }
        }
    })
    .await
}

/// An https server on 127.0.0.1 whose certificate is signed by a fresh CA; returns its address
/// and the CA in PEM, for `SSL_CERT_FILE`.
pub async fn tls_trusted(bytes: Vec<u8>) -> (SocketAddr, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "triage test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = leaf.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone(), ca_cert.der().clone()], der)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let bytes = Arc::new(bytes);
    let addr = serve(move |stream| {
        let (acceptor, bytes) = (acceptor.clone(), Arc::clone(&bytes));
        async move {
            if let Ok(tls) = acceptor.accept(stream).await {
                reply(tls, bytes.to_vec()).await;
            }
        }
    })
    .await;
    (addr, ca_cert.pem())
}
