//! A reference axum server that terminates mTLS itself with certauth's rustls verifier.
//!
//! ```text
//! cargo run --example axum_mtls --features axum,rustls,ring -- \
//!     --listen 127.0.0.1:8443 --trust ca.pem --cert server.pem --key server.key \
//!     [--crl ca.crl]... [--registry clients.json] [--client-id-header x-client-id]
//! curl --cacert ca.pem --cert client.pem --key client.key https://localhost:8443/whoami
//! ```
//!
//! `GET /whoami` answers `{"subject", "x5t#S256", "spiffe_id", "client_id", "source"}`;
//! a refused request gets its status and `{"error":"<kind>"}`. A certificate that fails
//! verification fails the TLS handshake with the matching alert. Prints
//! `listening on ADDR` once ready.

#[path = "support/config.rs"]
mod config;
#[path = "support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{CertificateDer, PrivateKeyDer};
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
    let args = Args::parse();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let built = args.common.build()?;
    let auth = built.auth;
    let certs = CertificateDer::pem_file_iter(&args.cert)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(&args.key)?;
    let verifier = certauth::rustls::MtlsClientVerifier::new(auth.clone(), provider.clone());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(certs, key)?;
    let app = Router::new()
        .route("/whoami", get(support::whoami))
        .layer(args.common.layer(auth)?)
        .merge(built.ops);
    let listener = tokio::net::TcpListener::bind(&args.common.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    support::serve(listener, app, Some(Arc::new(tls))).await;
    Ok(())
}
