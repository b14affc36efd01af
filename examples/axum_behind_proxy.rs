//! A reference axum server behind a TLS-terminating proxy that forwards the client
//! certificate in a header. Only the listed proxies may send it.
//!
//! ```text
//! cargo run --example axum_behind_proxy --features axum,rustls,ring -- \
//!     --listen 127.0.0.1:8080 --trust ca.pem \
//!     --header x-ssl-client-cert --format nginx-escaped --trusted-proxy 127.0.0.1/32 \
//!     [--crl ca.crl | --crl http://pki.example/ca.crl]... [--ocsp | --ocsp-url URL] [--registry clients.json | --registry-url postgres://...] [--client-id-header x-client-id] \
//!     [--verify-header x-ssl-client-verify=SUCCESS]
//! ```
//!
//! Proxy-to-backend mTLS: with `--cert` and `--key` the server speaks HTTPS; with
//! `--proxy-trust CA.pem` it also requires a client certificate from the proxy, and
//! `--trusted-proxy-identity cn:edge-proxy` (or `dns:`, `uri:`, `spiffe:`; repeatable)
//! trusts a proxy by that certificate instead of (or besides) its address.
//!
//! Operations: `GET /healthz` (the health report as JSON: 200 when healthy, 503
//! otherwise), `--watch` (reload the trust, CRL and registry files when they change),
//! `--metrics` (Prometheus metrics at `GET /metrics`; build with feature `metrics`),
//! `--ocsp` / `--ocsp-url URL` (ask the client certificate's OCSP responder, or this
//! one, on each request, answers cached; build with feature `ocsp`).
//!
//! `GET /whoami` answers `{"subject", "x5t#S256", "spiffe_id", "client_id", "source"}`;
//! a refused request gets its status and `{"error":"<kind>"}` (a certificate header from a
//! peer that is not a trusted proxy: 400 `untrusted_source`), logged at target
//! `certauth::auth` on standard error (`RUST_LOG`, `info` by default). Prints
//! `listening on ADDR` once ready. Recipes for nginx, HAProxy and Apache are in the README.

#[path = "support/config.rs"]
mod config;
#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use certauth::RING_ALGORITHMS;
use certauth::http::{HeaderSource, ProxyIdentity, TrustedProxies};
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{CertificateDer, PrivateKeyDer};
use certauth::{Authenticator, HeaderFormat, TrustStore, Verifier};
use certauth::{IdentityRule, SpiffeMatch, ValueMatch};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "certauth reference server: behind a TLS-terminating proxy")]
struct Args {
    #[command(flatten)]
    common: config::Common,
    /// The header the proxy forwards the certificate in.
    #[arg(long)]
    header: String,
    /// Its format (see `certauth inspect --help` for the names), e.g. nginx-escaped,
    /// rfc9440, xfcc, haproxy-der, apache.
    #[arg(long)]
    format: HeaderFormat,
    /// An RFC 9440 Client-Cert-Chain header to read intermediates from (rfc9440 only).
    #[arg(long)]
    chain_header: Option<String>,
    /// A proxy allowed to send the header (CIDR or address); repeatable. At least one
    /// of these or of --trusted-proxy-identity.
    #[arg(long = "trusted-proxy", required_unless_present = "proxy_identities")]
    trusted_proxies: Vec<String>,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// CA bundle (PEM) of the proxies' client certificates: the proxy must present one.
    #[arg(long, requires = "cert")]
    proxy_trust: Option<PathBuf>,
    /// A proxy trusted by its mTLS certificate: cn:NAME, dns:NAME, uri:URI or spiffe:ID;
    /// repeatable (any one matches). Needs --proxy-trust.
    #[arg(long = "trusted-proxy-identity", requires = "proxy_trust", value_parser = parse_identity)]
    proxy_identities: Vec<IdentityRule>,
    /// NAME=VALUE: the proxy's own verdict that must come with the certificate, e.g.
    /// `x-ssl-client-verify=SUCCESS` for nginx's `$ssl_client_verify`.
    #[arg(long, value_parser = parse_verify_header)]
    verify_header: Option<(String, String)>,
}

fn parse_identity(s: &str) -> Result<IdentityRule, String> {
    let exact = |v: &str| ValueMatch::exact(v);
    match s.split_once(':') {
        Some(("cn", v)) => Ok(IdentityRule::subject("CN", exact(v))),
        Some(("dns", v)) => Ok(IdentityRule::DnsSan(exact(v))),
        Some(("uri", v)) => Ok(IdentityRule::UriSan(exact(v))),
        Some(("spiffe", v)) => Ok(IdentityRule::Spiffe(SpiffeMatch::Exact(v.to_owned()))),
        _ => Err(format!("expected cn:, dns:, uri: or spiffe: and a value, got {s:?}")),
    }
}

fn parse_verify_header(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing();
    let args = Args::parse();
    let built = args.common.build()?;
    let auth = built.auth;
    let mut source = HeaderSource::builder(&args.header, args.format);
    if !args.trusted_proxies.is_empty() {
        source = source.trusted_proxies(TrustedProxies::parse(&args.trusted_proxies)?);
    }
    let proxy_verifier = match &args.proxy_trust {
        Some(path) => Some(
            Verifier::builder(TrustStore::builder().add_file(path)?.build()?, RING_ALGORITHMS)
                .build()?,
        ),
        None => None,
    };
    if let (Some(verifier), false) = (&proxy_verifier, args.proxy_identities.is_empty()) {
        let rule = IdentityRule::Any(args.proxy_identities.clone());
        source = source.trusted_proxy_identity(ProxyIdentity::new(verifier.clone(), rule)?);
    }
    if let Some(chain) = &args.chain_header {
        source = source.chain_header(chain);
    }
    if let Some((name, value)) = &args.verify_header {
        source = source.require_verification_header(name, value);
    }
    let layer = args.common.layer(auth)?.forwarded(source.build()?);
    let app = Router::new().route("/whoami", get(support::whoami)).layer(layer).merge(built.ops);
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => Some(Arc::new(server_tls(cert, key, proxy_verifier)?)),
        _ => None,
    };
    let listener = tokio::net::TcpListener::bind(&args.common.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    support::serve(listener, app, tls).await;
    Ok(())
}

/// HTTPS for the proxy's connections; with a proxy verifier, the proxy must present a
/// certificate that it accepts (the handshake fails otherwise).
fn server_tls(
    cert: &PathBuf,
    key: &PathBuf,
    proxy_verifier: Option<Verifier>,
) -> Result<rustls::ServerConfig, Box<dyn std::error::Error>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_file_iter(cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match proxy_verifier {
        Some(verifier) => {
            let proxies = Authenticator::builder(verifier).build()?;
            builder.with_client_cert_verifier(Arc::new(certauth::rustls::MtlsClientVerifier::new(
                proxies, provider,
            )))
        }
        None => builder.with_no_client_auth(),
    };
    Ok(builder.with_single_cert(certs, key)?)
}
