//! A reference axum server that terminates mTLS itself: certauth's rustls verifier in
//! the handshake, `certauth::axum::MtlsListener` under `axum::serve`.
//!
//! ```text
//! cargo run --example axum_mtls --features axum-tls,ring -- \
//!     --listen 127.0.0.1:8443 --trust ca.pem --cert server.pem --key server.key \
//!     [--crl ca.crl | --crl http://pki.example/ca.crl]... [--ocsp | --ocsp-url URL] [--registry clients.json] [--client-id-header x-client-id]
//! curl --cacert ca.pem --cert client.pem --key client.key https://localhost:8443/whoami
//! ```
//!
//! `GET /whoami` answers `{"subject", "x5t#S256", "spiffe_id", "client_id", "source"}`;
//! a refused request gets its status and `{"error":"<kind>"}`. A certificate that fails
//! verification fails the TLS handshake with the matching alert, logged at target
//! `certauth::auth` on standard error (`RUST_LOG`, `info` by default). With `--ocsp`
//! (built with `--features axum-tls,ring,ocsp`) the responder is asked after the
//! handshake, per request: a revoked certificate completes the handshake and each of its
//! requests is refused with `{"error":"revoked"}`. Prints
//! `listening on ADDR` once ready; Ctrl-C shuts down gracefully.

#[path = "support/config.rs"]
mod config;
#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use certauth::axum::MtlsListener;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{CertificateDer, PrivateKeyDer};
use certauth::rustls::MtlsClientVerifier;
use certauth::tower::ConnectionInfo;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "certauth reference server: mTLS terminated here")]
struct Args {
    #[command(flatten)]
    common: config::Common,
    /// Server certificate chain (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Server private key (PEM).
    #[arg(long)]
    key: PathBuf,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing();
    let args = Args::parse();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let built = args.common.build()?;
    let certs = CertificateDer::pem_file_iter(&args.cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&args.key)?;
    let verifier = MtlsClientVerifier::new(built.auth.clone(), provider.clone());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(certs, key)?;
    let app = Router::new()
        .route("/whoami", get(support::whoami))
        .layer(args.common.layer(built.auth)?)
        .merge(built.ops);
    let listener = MtlsListener::bind(&args.common.listen, Arc::new(tls)).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>())
        .with_graceful_shutdown(support::ctrl_c())
        .await?;
    Ok(())
}
