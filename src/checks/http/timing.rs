//! Measuring the phases of one HTTP request made by reqwest, which exposes none of them.
//!
//! Each probe hop builds its own client (no connection pool) around one [`Clock`], which three
//! hooks mark on that client's only connection:
//! - a DNS resolver ([`TimingResolver`]) marks the lookup's start and end;
//! - a connector layer ([`TimingLayer`]) marks when connecting starts and when the connection
//!   (TCP, and TLS for https) is ready to carry the request;
//! - the rustls client-certificate resolver ([`HandshakeStart`]) marks the instant rustls builds
//!   its ClientHello, which it does as soon as the TCP connection is up — so TCP connect and TLS
//!   are told apart on the same connection, without a second measuring connection.
//!
//! The probe itself marks when the response headers arrive and when it stops reading the body.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::checks::dns;
use crate::contract::evidence::http::Timings;

/// The instants of one request, as far as it got.
#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    dns_start: Option<Instant>,
    dns_end: Option<Instant>,
    connect_start: Option<Instant>,
    tls_start: Option<Instant>,
    connected: Option<Instant>,
}

/// Shared by the hooks of one client.
#[derive(Debug, Clone, Default)]
pub struct Clock(Arc<Mutex<Marks>>);

impl Clock {
    fn mark(&self, f: impl FnOnce(&mut Marks)) {
        if let Ok(mut marks) = self.0.lock() {
            f(&mut marks);
        }
    }

    fn marks(&self) -> Marks {
        self.0.lock().map(|m| *m).unwrap_or_default()
    }

    /// Whether a connection was established (to tell a connect timeout from a response timeout).
    pub fn connected(&self) -> bool {
        self.marks().connected.is_some()
    }

    /// The phases, given when the request started, when its headers arrived and when it ended.
    pub fn timings(&self, start: Instant, headers: Option<Instant>, end: Instant) -> Timings {
        let m = self.marks();
        let span = |a: Option<Instant>, b: Option<Instant>| Some(millis(b?.duration_since(a?)));
        let tcp_from = m.dns_end.or(m.connect_start);
        Timings {
            dns_ms: span(m.dns_start, m.dns_end),
            connect_ms: span(tcp_from, m.tls_start.or(m.connected)),
            tls_ms: span(m.tls_start, m.connected),
            ttfb_ms: span(Some(start), headers),
            total_ms: Some(millis(end.duration_since(start))),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A resolver that times its lookups and can pin one host to an address (`curl --resolve`).
#[derive(Debug, Clone)]
pub struct TimingResolver {
    pub clock: Clock,
    pub pin: Option<(String, IpAddr)>,
    pub timeout: Duration,
}

impl reqwest::dns::Resolve for TimingResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            this.clock.mark(|m| m.dns_start = Some(Instant::now()));
            let pinned = this.pin.as_ref().filter(|(h, _)| h.eq_ignore_ascii_case(&host));
            let result = match pinned {
                Some((_, ip)) => Ok(vec![*ip]),
                None => dns::lookup(&host, this.timeout).await.map(|a| a.addresses),
            };
            this.clock.mark(|m| m.dns_end = Some(Instant::now()));
            let addrs =
                result.map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            let addrs: reqwest::dns::Addrs =
                Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Marks when connecting starts and when the connection is ready.
#[derive(Debug, Clone)]
pub struct TimingLayer(pub Clock);

impl<S> tower_layer::Layer<S> for TimingLayer {
    type Service = Timed<S>;

    fn layer(&self, inner: S) -> Timed<S> {
        Timed { inner, clock: self.0.clone() }
    }
}

/// The connector wrapped by [`TimingLayer`].
#[derive(Debug, Clone)]
pub struct Timed<S> {
    inner: S,
    clock: Clock,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R> tower_service::Service<R> for Timed<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        self.clock.mark(|m| {
            m.connect_start.get_or_insert_with(Instant::now);
        });
        let clock = self.clock.clone();
        let connecting = self.inner.call(request);
        Box::pin(async move {
            let result = connecting.await;
            if result.is_ok() {
                clock.mark(|m| m.connected = Some(Instant::now()));
            }
            result
        })
    }
}

/// Offers no client certificate; rustls asks it whether it has any as it builds the
/// ClientHello, which is the moment the TLS handshake starts.
#[derive(Debug)]
pub struct HandshakeStart(pub Clock);

impl rustls::client::ResolvesClientCert for HandshakeStart {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[rustls::SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        None
    }

    fn has_certs(&self) -> bool {
        self.0.mark(|m| {
            m.tls_start.get_or_insert_with(Instant::now);
        });
        false
    }
}
