//! Shortcuts for the two common deployments, from files: behind a TLS-terminating proxy
//! ([`behind_proxy`], features `tower` and `ring`) and terminating mTLS in the service
//! ([`terminate_mtls`], feature `axum-tls`).
//!
//! Each reads the trust anchors and, when given, the registry file, and builds what the
//! builders would build with their defaults (the strict verification policy, a
//! registry that refuses unregistered certificates, the default cache and limits).
//! For anything else (CRLs, identity rules, a database registry, token binding,
//! proxies trusted by their certificate), use the builders they are made of:
//! [`TrustStore::builder`], [`Verifier::builder`], [`Authenticator::builder`],
//! [`HeaderSource::builder`](crate::http::HeaderSource::builder) and
//! [`CertAuthLayer`].
//!
//! Errors are [`ConfigError`]s naming the file or setting that could not be used.

use std::path::PathBuf;
use std::sync::Arc;

use crate::authenticator::Authenticator;
use crate::error::{ConfigError, Error, ErrorKind};
use crate::registry::MemoryRegistry;
use crate::time::Timestamp;
use crate::tower::CertAuthLayer;
use crate::trust::TrustStore;
use crate::verify::{Algorithms, Verifier};

/// The files both shortcuts read: the trust anchors (a PEM bundle, a DER file or a
/// directory of them: the roots and the intermediates your clients' certificates chain
/// to) and, optionally, a registry file (`MemoryRegistry::load_file`'s JSON, written by
/// `certauth registry`).
///
/// ```
/// let files = certauth::setup::Files::new("/etc/certauth/ca.pem")
///     .registry("/etc/certauth/clients.json");
/// # let _ = files;
/// ```
#[derive(Clone, Debug)]
pub struct Files {
    trust: PathBuf,
    registry: Option<PathBuf>,
}

impl Files {
    /// Trust the anchors in `trust` (a PEM bundle, a DER file or a directory). Without a
    /// [`registry`](Self::registry), every verified certificate is accepted and has no
    /// client id.
    pub fn new(trust: impl Into<PathBuf>) -> Self {
        Self { trust: trust.into(), registry: None }
    }

    /// Also load the clients of this registry file; a verified certificate that no
    /// client in it holds is refused (`unknown_client`, 403).
    #[must_use]
    pub fn registry(mut self, path: impl Into<PathBuf>) -> Self {
        self.registry = Some(path.into());
        self
    }

    /// The authenticator these files describe, verifying signatures with `algorithms`.
    fn authenticator(&self, algorithms: Algorithms) -> Result<Authenticator, ConfigError> {
        let store = if self.trust.is_dir() {
            TrustStore::builder().add_directory(&self.trust)?
        } else {
            TrustStore::builder().add_file(&self.trust)?
        }
        .build()?;
        let mut auth = Authenticator::builder(Verifier::builder(store, algorithms).build()?);
        if let Some(path) = &self.registry {
            let registry = Arc::new(MemoryRegistry::new());
            registry.load_file(path, Timestamp::now()).map_err(|e| ConfigError::Invalid {
                what: format!("registry file {}", path.display()),
                error: Error::new(ErrorKind::MalformedInput, e.to_string()),
            })?;
            auth = auth.registry(registry);
        }
        auth.build()
    }
}

/// Behind a TLS-terminating proxy: the layer that authenticates the certificate the
/// proxies at `trusted_proxies` (addresses or CIDR ranges) forward in `header`, in
/// `format`. Serve the router with `into_make_service_with_connect_info::<SocketAddr>()`
/// so that the layer knows each request's peer. Features `tower` and `ring`.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::net::SocketAddr;
/// use certauth::HeaderFormat;
/// use certauth::setup::{Files, behind_proxy};
///
/// let files = Files::new("/etc/certauth/ca.pem").registry("/etc/certauth/clients.json");
/// let layer = behind_proxy(&files, "x-ssl-client-cert", HeaderFormat::NginxEscaped, &["10.0.0.5"])?;
/// let app = axum::Router::new().layer(layer);
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "ring")]
#[cfg_attr(docsrs, doc(cfg(all(feature = "tower", feature = "ring"))))]
pub fn behind_proxy(
    files: &Files,
    header: &str,
    format: crate::input::HeaderFormat,
    trusted_proxies: &[&str],
) -> Result<CertAuthLayer, ConfigError> {
    use crate::http::{HeaderSource, TrustedProxies};
    let auth = files.authenticator(crate::verify::RING_ALGORITHMS)?;
    let source = HeaderSource::builder(header, format)
        .trusted_proxies(TrustedProxies::parse(trusted_proxies)?)
        .build()?;
    Ok(CertAuthLayer::new(auth).forwarded(source))
}

/// Terminating mTLS in the service: binds `listen`, and returns the listener (TLS with
/// the server certificate chain and key in the PEM files `server_chain` and
/// `server_key`, client certificates required and verified by certauth in the
/// handshake) and the layer that authenticates each request's connection. Signatures are
/// checked with `provider`'s algorithms. Serve the router with
/// `into_make_service_with_connect_info::<ConnectionInfo>()`. Feature `axum-tls`.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use certauth::setup::{Files, terminate_mtls};
/// use certauth::tower::ConnectionInfo;
///
/// let files = Files::new("/etc/certauth/ca.pem").registry("/etc/certauth/clients.json");
/// let provider = Arc::new(rustls::crypto::ring::default_provider());
/// let (listener, layer) =
///     terminate_mtls(&files, "0.0.0.0:8443", "/etc/certauth/server.pem", "/etc/certauth/server.key", provider)
///         .await?;
/// let app = axum::Router::new().layer(layer);
/// axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>()).await?;
/// # Ok(()) }
/// ```
#[cfg(feature = "axum-tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum-tls")))]
pub async fn terminate_mtls(
    files: &Files,
    listen: impl tokio::net::ToSocketAddrs,
    server_chain: impl AsRef<std::path::Path>,
    server_key: impl AsRef<std::path::Path>,
    provider: Arc<::rustls::crypto::CryptoProvider>,
) -> Result<(crate::axum::MtlsListener, CertAuthLayer), ConfigError> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};

    let invalid = |what: String, kind: ErrorKind, e: &dyn std::fmt::Display| ConfigError::Invalid {
        what,
        error: Error::new(kind, e.to_string()),
    };
    let (chain_path, key_path) = (server_chain.as_ref(), server_key.as_ref());
    let auth = files.authenticator(provider.signature_verification_algorithms.all)?;
    let chain = CertificateDer::pem_file_iter(chain_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            invalid(format!("server chain {}", chain_path.display()), ErrorKind::MalformedInput, &e)
        })?;
    if chain.is_empty() {
        return Err(invalid(
            format!("server chain {}", chain_path.display()),
            ErrorKind::NoCertificate,
            &"no certificate in the file",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        invalid(format!("server key {}", key_path.display()), ErrorKind::MalformedInput, &e)
    })?;
    let verifier = crate::rustls::MtlsClientVerifier::new(auth.clone(), provider.clone());
    let config = ::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid("tls versions".into(), ErrorKind::UnsupportedAlgorithm, &e))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(chain, key)
        .map_err(|e| {
            invalid(format!("server key {}", key_path.display()), ErrorKind::InvalidCertificate, &e)
        })?;
    let listener = crate::axum::MtlsListener::bind(listen, Arc::new(config))
        .await
        .map_err(|e| invalid("listen address".into(), ErrorKind::MalformedInput, &e))?;
    Ok((listener, CertAuthLayer::new(auth)))
}
