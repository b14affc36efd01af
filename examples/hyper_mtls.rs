//! Plain hyper 1.x with tokio-rustls and a hand-written middleware calling certauth, for
//! services without tower.
//!
//! ```text
//! cargo run --example hyper_mtls --features rustls,http,ring -- \
//!     --listen 127.0.0.1:8443 --trust ca.pem --cert server.pem --key server.key
//! curl --cacert ca.pem --cert client.pem --key client.key https://localhost:8443/
//! ```
//!
//! The rustls verifier checks the chain during the handshake (a bad certificate never
//! gets to HTTP); each request then runs the Authenticator on the connection's
//! certificates (a cache hit) for rules, registry and binding, and answers with the
//! client's subject or the refusal as `certauth::http::ErrorResponse` makes it (status by
//! kind, body `{"error":"<kind>"}`).

use std::path::PathBuf;
use std::sync::Arc;

use certauth::RING_ALGORITHMS;
use certauth::http::ErrorResponse;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{CertificateDer, PrivateKeyDer};
use certauth::{AuthRequest, Authenticator, Credential, Timestamp, TrustStore, Verifier};
use clap::Parser;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

#[derive(Parser, Debug)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: String,
    /// Trust anchors (PEM).
    #[arg(long)]
    trust: PathBuf,
    /// Server certificate chain (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Server private key (PEM).
    #[arg(long)]
    key: PathBuf,
}

/// The middleware: authenticate, then answer (a real service would call its handler).
async fn handle(
    auth: Authenticator,
    peer_certs: Arc<[CertificateDer<'static>]>,
) -> hyper::Response<Full<Bytes>> {
    let request = AuthRequest::new(Credential::Tls(&peer_certs), Timestamp::now());
    match auth.authenticate(&request).await {
        Ok(client) => hyper::Response::new(Full::new(Bytes::from(format!(
            "hello, {}\n",
            client.identity().subject()
        )))),
        Err(e) => ErrorResponse::new(e.kind()).into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let store = TrustStore::builder().add_file(&args.trust)?.build()?;
    let auth =
        Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build()?).build()?;
    let tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(certauth::rustls::MtlsClientVerifier::new(
            auth.clone(),
            provider,
        )))
        .with_single_cert(
            CertificateDer::pem_file_iter(&args.cert)?.collect::<Result<Vec<_>, _>>()?,
            PrivateKeyDer::from_pem_file(&args.key)?,
        )?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let (acceptor, auth) = (acceptor.clone(), auth.clone());
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else { return };
            let Some(certs) = tls.get_ref().1.peer_certificates().map(|c| Arc::from(c.to_vec()))
            else {
                return;
            };
            let service = hyper::service::service_fn(move |_req| {
                let (auth, certs) = (auth.clone(), Arc::clone(&certs));
                async move { Ok::<_, std::convert::Infallible>(handle(auth, certs).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}
