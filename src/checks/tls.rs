//! The `tls` check and the certificate capture the HTTP probe shares: a rustls verifier that
//! records the chain the server sent and what the system's trust store says about it, so a probe
//! can report a bad certificate and, for the origin (`curl -k` style), still read the response.
//! It only inspects; it never trusts a certificate on the user's behalf outside a probe.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::checks::{dns, http};
use crate::contract::evidence::tls::Certificate;
use crate::contract::{
    Applies, CheckReport, CheckRequest, CheckSpec, CheckStatus, Evidence, Input, Progress, Scope,
    fact, input, param,
};
use crate::facts::FactKind::{Bool, Int, Text};
use crate::facts::Facts;
use crate::sanitize;
use crate::site::SiteUrl;
use crate::text::list;

/// What this check is called, what it takes and which facts it produces.
pub const SPEC: CheckSpec = CheckSpec {
    id: "tls",
    title: "Inspect the TLS certificate",
    scope: Scope::Outside,
    applies: Applies::Https,
    params: &[
        input("url", true, Input::Url, "https URL"),
        param("address", false, "connect here instead of the URL's host (IP[:PORT])"),
    ],
    produces: &[
        fact("tls.valid", Bool, "the chain verifies for the host name"),
        fact("tls.expired", Bool, "the certificate has expired"),
        fact("tls.self_signed", Bool, "the certificate is self-signed"),
        fact("tls.name_mismatch", Bool, "the certificate does not cover the host name"),
        fact("tls.days_left", Int, "days until expiry (negative when expired)"),
        fact("tls.issuer", Text, "the issuer"),
        fact("tls.failure", Text, "why no certificate was seen: dns, refused, timeout, handshake"),
    ],
    timeout: Duration::from_secs(15),
};

/// What the server's certificate looked like to one connection.
#[derive(Debug, Clone)]
struct Seen {
    chain: Vec<CertificateDer<'static>>,
    host: String,
    verdict: Result<(), rustls::Error>,
}

/// Shared between a connection's verifier and whoever reads the result after the handshake.
#[derive(Debug, Clone, Default)]
pub struct Capture(Arc<Mutex<Option<Seen>>>);

impl Capture {
    /// The certificate the server presented, parsed and judged, if the handshake got that far.
    pub fn certificate(&self) -> Option<Certificate> {
        let seen = self.0.lock().ok()?.clone()?;
        let leaf = seen.chain.first()?;
        Some(describe(leaf, &seen.host, &seen.verdict))
    }

    fn record(&self, seen: Seen) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(seen);
        }
    }
}

/// The crypto provider triage uses everywhere: ring, passed explicitly (no process default).
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system trust store's verifier, built once; `None` when the machine has no CA certificates.
fn system_verifier() -> Option<Arc<WebPkiServerVerifier>> {
    static VERIFIER: OnceLock<Option<Arc<WebPkiServerVerifier>>> = OnceLock::new();
    VERIFIER
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider()).build().ok()
        })
        .clone()
}

/// Verifies with the system store, records what it saw, and — when `accept_invalid` — lets the
/// handshake go on whatever the verdict, so the response behind a bad certificate can be read.
#[derive(Debug)]
struct CapturingVerifier {
    inner: Option<Arc<WebPkiServerVerifier>>,
    schemes: Vec<SignatureScheme>,
    provider: Arc<CryptoProvider>,
    capture: Capture,
    accept_invalid: bool,
}

const NO_ROOTS: &str =
    "no CA certificates found on this machine (install the ca-certificates package)";

impl ServerCertVerifier for CapturingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.inner {
            Some(inner) => inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                .map(|_| ()),
            None => Err(rustls::Error::General(NO_ROOTS.to_owned())),
        };
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(|c| c.clone().into_owned())
            .collect();
        let host = server_name.to_str().into_owned();
        self.capture.record(Seen { chain, host, verdict: verdict.clone() });
        match verdict {
            Err(_) if self.accept_invalid => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
            Ok(()) => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.schemes.clone()
    }
}

/// A rustls client config that records the server's certificate in `capture`. `hello` is told
/// when the handshake starts (the HTTP probe's phase clock); ALPN offers h2 and HTTP/1.1.
pub fn client_config(
    capture: &Capture,
    accept_invalid: bool,
    hello: Option<Arc<dyn rustls::client::ResolvesClientCert>>,
) -> Result<ClientConfig, rustls::Error> {
    let provider = provider();
    let verifier = CapturingVerifier {
        inner: system_verifier(),
        schemes: provider.signature_verification_algorithms.supported_schemes(),
        provider: Arc::clone(&provider),
        capture: capture.clone(),
        accept_invalid,
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier));
    let mut config = match hello {
        Some(resolver) => builder.with_client_cert_resolver(resolver),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// Parses the leaf and judges it for `host`, with the verifier's verdict.
fn describe(
    leaf: &CertificateDer<'_>,
    host: &str,
    verdict: &Result<(), rustls::Error>,
) -> Certificate {
    let now = jiff::Timestamp::now().as_second();
    let problem = verdict.as_ref().err().map(problem_words);
    let Ok((_, cert)) = X509Certificate::from_der(leaf.as_ref()) else {
        return Certificate {
            subject: "(unparsable certificate)".to_owned(),
            issuer: String::new(),
            names: Vec::new(),
            not_after: String::new(),
            days_left: 0,
            expired: false,
            self_signed: false,
            name_matches: false,
            verified: verdict.is_ok(),
            problem,
        };
    };
    let not_after = cert.validity().not_after.timestamp();
    let names = names(&cert);
    Certificate {
        subject: sanitize::line(&cert.subject().to_string()).into_owned(),
        issuer: sanitize::line(&cert.issuer().to_string()).into_owned(),
        name_matches: names.iter().any(|n| name_covers(n, host)),
        names,
        not_after: jiff::Timestamp::from_second(not_after)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        days_left: (not_after - now).div_euclid(86_400),
        expired: not_after < now,
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        verified: verdict.is_ok(),
        problem,
    }
}

fn names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(sanitize::line(d).into_owned()),
                GeneralName::IPAddress(ip) => ip_text(ip),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        let cn = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok());
        names.extend(cn.map(|cn| sanitize::line(cn).into_owned()));
    }
    names.truncate(50);
    names
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes).ok().map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}

/// Whether a certificate name (`shop.test`, `*.shop.test`, an IP) covers `host`.
pub fn name_covers(name: &str, host: &str) -> bool {
    let (name, host) = (name.to_ascii_lowercase(), host.to_ascii_lowercase());
    let host = host.trim_end_matches('.');
    match name.strip_prefix("*.") {
        Some(suffix) => {
            host.split_once('.').is_some_and(|(label, rest)| !label.is_empty() && rest == suffix)
        }
        None => name == host,
    }
}

pub(crate) fn problem_words(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(e) => match e {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the certificate is not valid yet".to_owned()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                "the certificate is for another name".to_owned()
            }
            CertificateError::UnknownIssuer => {
                "no trusted issuer: self-signed or an incomplete chain".to_owned()
            }
            CertificateError::Revoked => "the certificate is revoked".to_owned(),
            other => format!("invalid certificate: {other:?}"),
        },
        other => sanitize::line(&other.to_string()).into_owned(),
    }
}

/// Default limits of the `tls` check.
const CONNECT: Duration = Duration::from_secs(5);
const HANDSHAKE: Duration = Duration::from_secs(8);

/// The `tls` check: one handshake with the URL's host (or `address`), and its certificate.
pub async fn run(request: CheckRequest, _progress: Progress) -> CheckReport {
    let url = match SiteUrl::parse(request.param("url").unwrap_or_default()) {
        Ok(site) => site.url().clone(),
        Err(reason) => return CheckReport::could_not_run(SPEC.id, reason.to_string(), None),
    };
    if url.scheme() != "https" {
        return CheckReport::could_not_run(
            SPEC.id,
            "the URL is plain http: there is no certificate",
            None,
        );
    }
    let host = url.host_str().unwrap_or_default().trim_matches(['[', ']']).to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let address = request.param("address").filter(|a| !a.trim().is_empty());
    let target = match address {
        Some(a) => http::parse_address(a, port).await,
        None => dns::first_address(&host, port, CONNECT).await,
    };
    let target = match target {
        Ok(addr) => addr,
        Err(reason) => {
            let mut facts = Facts::new();
            facts.set("tls.failure", "dns");
            return CheckReport::new(SPEC.id, CheckStatus::Failed, reason).with_facts(facts);
        }
    };
    match handshake(target, &host).await {
        Ok(cert) => report(&host, target, &cert),
        Err((kind, message)) => {
            let mut facts = Facts::new();
            facts.set("tls.failure", kind);
            facts.set("tls.valid", false);
            let summary = format!("TLS with {target} failed: {message}");
            CheckReport::new(SPEC.id, CheckStatus::Failed, summary).with_facts(facts)
        }
    }
}

/// Connects to `addr` with SNI `host` and returns the certificate it presented.
pub async fn handshake(
    addr: SocketAddr,
    host: &str,
) -> Result<Certificate, (&'static str, String)> {
    let tcp = match tokio::time::timeout(CONNECT, tokio::net::TcpStream::connect(addr)).await {
        Err(_) => {
            return Err(("timeout", format!("no TCP connection within {}s", CONNECT.as_secs())));
        }
        Ok(Err(e)) => return Err((http::io_kind(&e), sanitize::line(&e.to_string()).into_owned())),
        Ok(Ok(tcp)) => tcp,
    };
    let capture = Capture::default();
    let config = client_config(&capture, true, None).map_err(|e| ("tls", e.to_string()))?;
    let name = ServerName::try_from(host.to_owned()).map_err(|e| ("tls", e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match tokio::time::timeout(HANDSHAKE, connector.connect(name, tcp)).await {
        Err(_) => Err(("timeout", format!("no TLS handshake within {}s", HANDSHAKE.as_secs()))),
        Ok(Err(e)) => Err(("handshake", sanitize::line(&e.to_string()).into_owned())),
        Ok(Ok(_stream)) => {
            capture.certificate().ok_or(("handshake", "the server sent no certificate".to_owned()))
        }
    }
}

fn report(host: &str, addr: SocketAddr, cert: &Certificate) -> CheckReport {
    let mut facts = Facts::new();
    facts.set("tls.valid", cert.verified);
    facts.set("tls.expired", cert.expired);
    facts.set("tls.self_signed", cert.self_signed);
    facts.set("tls.name_mismatch", !cert.name_matches);
    facts.set("tls.days_left", cert.days_left);
    facts.set("tls.issuer", cert.issuer.clone());
    let (status, summary) = match (&cert.problem, cert.days_left) {
        (Some(problem), _) => {
            (CheckStatus::Failed, format!("The certificate of {host} does not verify: {problem}."))
        }
        (None, days) if days < 14 => {
            (CheckStatus::Warning, format!("The certificate of {host} expires in {days} days."))
        }
        (None, days) => (
            CheckStatus::Passed,
            format!("The certificate of {host} is valid for {days} more days."),
        ),
    };
    let details = vec![
        format!("address  {addr}"),
        format!("subject  {}", cert.subject),
        format!("issuer   {}", cert.issuer),
        format!("names    {}", list(&cert.names, 6)),
        format!("expires  {} ({} days)", cert.not_after, cert.days_left),
    ];
    CheckReport::new(SPEC.id, status, summary)
        .with_facts(facts)
        .with_details(details)
        .with_evidence(Evidence::Tls(Box::new(cert.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(name_covers("*.shop.test", "www.shop.test"));
        assert!(!name_covers("*.shop.test", "a.b.shop.test"));
        assert!(!name_covers("*.shop.test", "shop.test"));
        assert!(name_covers("Shop.Test", "shop.test."));
        assert!(name_covers("127.0.0.1", "127.0.0.1"));
    }
}
