//! Client-certificate (X.509, mutual TLS) authentication for HTTP services.
//!
//! certauth turns the certificate a client presents into a verified identity and the
//! application it is registered to, whether the service terminates mTLS itself (rustls,
//! hyper, axum) or sits behind a TLS-terminating proxy that forwards the certificate in a
//! header (nginx, Envoy, HAProxy, Apache, Traefik, cloud load balancers).
//!
//! # The pipeline
//!
//! ```text
//! bytes, PEM file, HTTP header, rustls peer certificates
//!   └─ parse / decode_header / http::HeaderSource ─► PresentedChain   untrusted
//!        └─ Verifier::verify(&chain, now)  ─► VerifiedChain     proof that verification ran
//!             └─ ClientIdentity::new       ─► ClientIdentity    subject, SANs, SPIFFE ID, x5t#S256
//!                  └─ Registry             ─► RegisteredClient  client id, status, metadata
//!                       = AuthenticatedClient                   what a handler receives
//! ```
//!
//! - [`PresentedChain`]: the leaf and intermediates exactly as presented, and where they
//!   came from ([`Source`]). Nothing about it is trusted yet. Made by [`parse`]
//!   (files and bytes, by [`Format`]) and [`decode_header`] (forwarded headers, by
//!   [`HeaderFormat`]), always within [`Limits`].
//! - [`Verifier::verify`] builds a path to a [`TrustStore`] anchor with rustls-webpki and
//!   adds what webpki leaves to its caller (the leaf's EKU, key strength, chain depth, CRL
//!   freshness; see [`Verifier`]). Only a successful verification makes a
//!   [`VerifiedChain`], so anything that takes one knows the check ran.
//! - [`ClientIdentity`] reads who the client is from a [`VerifiedChain`];
//!   [`IdentityRule`]s decide who may come in.
//! - A [`registry::Registry`] maps the identity to a [`registry::RegisteredClient`]
//!   ([`registry::MemoryRegistry`] is the embedded one).
//! - [`Authenticator`] runs all of it, with a verification cache in front, and returns an
//!   [`AuthenticatedClient`] or an [`Error`] whose [`ErrorKind`] says what went wrong.
//!   Revocation beyond the trust store's CRLs runs after verification, on every request:
//!   a [`RevocationChecker`] such as `ocsp::OcspChecker` (feature `ocsp`) or
//!   [`crldp::CrlDistributionPoints`] (CRLs the certificates name).
//! - Per route, an [`authorize::Policy`] decides which authenticated clients may use it
//!   (client ids, an identity rule, registry metadata such as a scope); refused:
//!   `not_permitted` (403).
//!
//! Time is an argument ([`Timestamp`]): verification, the cache and the registry decide
//! at the time they are given, so a test pins a fixed time and a server passes
//! [`Timestamp::now`] (the tower layer and the rustls verifier do that for you). The
//! integrations are thin adapters around the [`Authenticator`]: [`rustls`] (a client
//! certificate verifier for the handshake), [`http`] (forwarded headers from trusted
//! proxies only, and the status code of each error kind), [`tower`] (a layer for every
//! request) and [`axum`] (the extractor).
//!
//! # Examples
//!
//! Verify a client chain against a trust store, then read who the client is:
//!
//! ```
//! # #[cfg(feature = "ring")]
//! # mod example {
//! use certauth::{ClientIdentity, ErrorKind, Format, Limits, RING_ALGORITHMS};
//! use certauth::{Timestamp, TrustStore, Verifier};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // A fixed time keeps the example reproducible; a server passes `Timestamp::now()`.
//!     let now = Timestamp::parse_rfc3339("2027-01-01T00:00:00Z")?;
//!     let store = TrustStore::builder()
//!         .add_pem(&std::fs::read("tests/data/pki/root.pem")?)?
//!         .check_at(now)
//!         .build()?;
//!     let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
//!
//!     let pem = std::fs::read("tests/data/pki/leaf-ec-chain.pem")?;
//!     let chain = certauth::parse(&pem, Format::Pem, &Limits::default())?;
//!     let client = ClientIdentity::new(verifier.verify(&chain, now)?)?;
//!     assert_eq!(client.subject().common_name(), Some("client.example.test"));
//!     println!("x5t#S256 = {}", client.thumbprint());
//!
//!     // The same chain after it expired: a typed error with a stable kind.
//!     let later = Timestamp::parse_rfc3339("2040-01-01T00:00:00Z")?;
//!     let err = verifier.verify(&chain, later).unwrap_err();
//!     assert_eq!(err.kind(), ErrorKind::Expired);
//!     Ok(())
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! Behind a proxy: an axum service whose requests are authenticated by the certificate
//! nginx forwards, read only when the request comes from nginx's address (features
//! `axum` and `ring`):
//!
//! ```no_run
//! # #[cfg(all(feature = "axum", feature = "ring"))]
//! # mod example {
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//!
//! use axum::{Router, routing::get};
//! use certauth::http::{HeaderSource, TrustedProxies};
//! use certauth::registry::MemoryRegistry;
//! use certauth::tower::CertAuthLayer;
//! use certauth::RING_ALGORITHMS;
//! use certauth::{AuthenticatedClient, Authenticator, HeaderFormat, Timestamp, TrustStore, Verifier};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let store = TrustStore::builder().add_file("/etc/certauth/client-ca.pem")?.build()?;
//!     let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
//!     let registry = Arc::new(MemoryRegistry::new());
//!     registry.load_file("/etc/certauth/clients.json", Timestamp::now())?;
//!     let auth = Authenticator::builder(verifier).registry(registry).build()?;
//!
//!     // nginx sends `proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;`.
//!     let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::NginxEscaped)
//!         .trusted_proxies(TrustedProxies::parse(["10.0.0.5/32"])?)
//!         .build()?;
//!
//!     let app = Router::new()
//!         .route("/whoami", get(whoami))
//!         .layer(CertAuthLayer::new(auth).forwarded(source));
//!     let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//!     // The layer reads each request's TCP peer from axum's ConnectInfo<SocketAddr>.
//!     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//!     Ok(())
//! }
//!
//! async fn whoami(client: AuthenticatedClient) -> String {
//!     format!("{} ({:?})", client.identity().subject(), client.client_id())
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! A request from anyone but `10.0.0.5` that carries the header is refused with 400
//! `untrusted_source`; one without a certificate gets 401 `no_certificate`. Served
//! without connect info (`axum::serve(listener, app)`), a request carrying the header
//! has no peer address and gets 500 `missing_connection_info`, with a warning in the log.
//! axum's `ConnectInfo` is enough for proxies trusted by address; a proxy trusted by the certificate it presents on its own
//! mTLS connection ([`http::ProxyIdentity`]) needs a
//! [`ConnectionInfo`](crate::tower::ConnectionInfo) per connection, so that its
//! certificate is verified once per connection: see `examples/axum_behind_proxy.rs`. A
//! service that terminates mTLS itself serves on `axum::MtlsListener` (feature
//! `axum-tls`), which runs the [`rustls`] verifier in the handshake:
//! `examples/axum_mtls.rs`. `setup::behind_proxy` and `setup::terminate_mtls` build either
//! deployment from files in one call, and `authorize::Policy` restricts a route to some
//! clients (the README shows all three). The README has proxy configurations (nginx, HAProxy and Apache
//! tested end to end; Envoy), and `docs/header-formats.md` in the repository describes
//! every supported header.
//!
//! # Features
//!
//! No feature is on by default. Features only add API; they never change behaviour and
//! are never mutually exclusive.
//!
//! | feature | adds |
//! |---|---|
//! | `ring`, `aws-lc-rs` | [`RING_ALGORITHMS`], [`AWS_LC_RS_ALGORITHMS`]: the signature algorithms of that crypto provider (without either, pass your provider's) |
//! | `rustls` | [`rustls`]: a rustls client certificate verifier applying certauth's policy in the handshake (rustls without a provider; bring yours) |
//! | `http` | [`http`]: [`http::HeaderSource`], [`http::TrustedProxies`], [`http::ProxyIdentity`], [`http::status_for`] |
//! | `tower` | [`tower`]: [`tower::CertAuthLayer`] (implies `http`) |
//! | `axum` | [`AuthenticatedClient`] and `Option<AuthenticatedClient>` as axum extractors, and [`tower::CertAuthLayer`] reading the peer address from axum's `ConnectInfo<SocketAddr>` when a request has no [`tower::ConnectionInfo`] (implies `tower`; depends on `axum-core`, and on `axum` without default features but with `tokio`, where `ConnectInfo` lives) |
//! | `axum-tls` | [`axum::MtlsListener`]: terminates mTLS for `axum::serve` with the [`rustls`] verifier, handshakes off the accept loop, HTTP/1.1 and HTTP/2 (implies `axum` and `rustls`; adds `tokio-rustls` without a crypto provider, and axum's `http1` and `http2`) |
//! | `pkcs12` | [`TrustStoreBuilder::add_pkcs12`]: PKCS#12 trust bundles |
//! | `ocsp` | [`ocsp`]: [`ocsp::OcspChecker`], OCSP as a [`RevocationChecker`] with a bounded answer cache, over [`ocsp::HttpTransport`] (hyper's HTTP/1.1 client on tokio) or your [`ocsp::OcspTransport`] |
//! | `metrics` | [`metrics`]: counters and histograms through the `metrics` facade (bring your exporter) |
//! | `testkit` | [`testkit`]: a throwaway PKI and proxy header encoders for your tests |
//! | `cli` | the `certauth` operator tool (inspect, thumbprint, verify, registry files) |
//!
//! # Untrusted input
//!
//! Every byte of a certificate, bundle, CRL, registry file or header is untrusted.
//!
//! **Never panics.** These calls return a value or a typed [`Error`] whose [`ErrorKind`]
//! is stable (`malformed_input`, `input_too_large`, `no_certificate`,
//! `private_key_supplied`, ...), whatever the input: [`parse`],
//! [`der::split_concatenated`], [`pem::parse_strict`],
//! [`pem::parse_lenient`], [`decode_header`],
//! [`decode_header_lines`], [`decode_client_cert_and_chain`],
//! [`Certificate::from_der`], [`Thumbprint::parse`], [`Crl::parse_any`],
//! [`Verifier::verify`], [`check_token_binding`],
//! [`registry::file::RegistryFile::from_json`], [`Authenticator::authenticate`], and with
//! feature `http` [`http::HeaderSource::extract`], [`http::HeaderSource::extract_from`],
//! [`http::HeaderSource::admit`] and [`http::ProxyIdentity::check`] on a peer's
//! certificates. Each is fuzzed (`fuzz/README.md` in the repository).
//!
//! **Bounds** ([`Limits`] and the builders; exceeding one gives `input_too_large`):
//!
//! | input | default bound |
//! |---|---|
//! | a file or bundle (PEM, DER, base64), and the DER bytes of any presented chain, TLS included | 64 KiB |
//! | one forwarded-header value (all its field lines together) | 16 KiB |
//! | certificates in one chain | 16 |
//! | XFCC elements | the configured count (1 by default, at most 32) |
//! | a registry file | 64 MiB |
//! | a trust-store file | 16 MiB and 4,096 certificates |
//! | an OCSP response ([`ocsp::OcspCheckerBuilder`]) | 64 KiB, 5 s for the whole exchange |
//! | a CRL fetched from an `http://` URL ([`reload::TrustFiles::crl_url`]) | 16 MiB of body, 16 KiB of headers, 10 s for the whole exchange |
//! | a CRL fetched from a certificate's CRL distribution point (opt-in: [`crldp::CrlDistributionPoints`]) | 16 MiB of body, 16 KiB of headers, 10 s for the whole exchange, 64 URLs cached, 8 fetches at once, 4 distribution points per certificate |
//! | an issuer certificate fetched from a caIssuers URL (opt-in, allowed hosts only: [`VerifierBuilder::fetch_missing_intermediates`]) | 64 KiB of body, 3 s, 2 fetches per verification, 256 URLs cached |
//!
//! Every file a path names is read up to its bound and no further.
//!
//! **Bounded work.** Decoding is linear in the input. Before rustls-webpki builds a
//! path, certauth offers it only the presented certificates on the four shortest name
//! paths from the leaf to an anchor (a search over names, no signatures): duplicates,
//! certificates named like an anchor, rings of names and crowds of same-name certificates
//! never reach it, so a crafted chain costs a small multiple of a genuine one on every
//! entry point, TLS handshakes included. A refused chain sent again within 10 seconds is
//! refused from a bounded memory without verifying
//! ([`CacheConfig::failure_ttl_secs`]).
//!
//! **No request starves another.** [`Authenticator::authenticate`] verifies cache misses
//! on certauth's own threads (half the cores by default), not on the async runtime's
//! workers, so cached requests are answered while new or crafted chains are verified;
//! when more than a bounded queue wait, the next is refused at once with `overloaded`
//! (503) ([`AuthenticatorBuilder::verification_threads`]).
//!
//! **The cache cannot be poisoned.** It holds at most 10,000 entries and 64 MiB by default
//! ([`CacheConfig`]), only successes, one entry per leaf and source, keyed by the
//! exact presented bytes; a hit is accepted only when a full verification at that time
//! would accept. A flood of distinct garbage cannot fill it.
//!
//! **Nothing secret is echoed.** A private key in the input is refused
//! (`private_key_supplied`) and never repeated. Error messages carry offsets, labels,
//! sizes, times and names, never a whole certificate, key or header value, so they are
//! safe to log. Security decisions use SHA-256 only, and thumbprints compare in constant
//! time.
//!
//! `SECURITY.md` in the repository lists each promise with the tests that hold it.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

// The verification pipeline's modules are private: their items have one path each, at
// the crate root. Public modules are the optional integrations and the areas with a
// vocabulary of their own (registry, reload, health, test kit).
mod authenticator;
pub mod authorize;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod binding;
mod cache;
mod cert;
pub mod crldp;
mod der_reader;
mod error;
pub mod health;
mod hex;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
mod http_get;
mod identity;
mod input;
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub mod metrics;
#[cfg(feature = "ocsp")]
#[cfg_attr(docsrs, doc(cfg(feature = "ocsp")))]
pub mod ocsp;
pub mod registry;
pub mod reload;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub mod rustls;
#[cfg(all(feature = "tower", any(feature = "ring", feature = "axum-tls")))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "tower", any(feature = "ring", feature = "axum-tls")))))]
pub mod setup;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
mod thumbprint;
mod time;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
mod trust;
mod verify;

pub use authenticator::{
    AuthEvent, AuthRequest, AuthenticatedClient, Authenticator, AuthenticatorBuilder, CheckOutcome,
    Credential, DecisionTrace, TRACING_TARGET, TraceStep, Unregistered,
};
pub use binding::{BindingFailure, BindingMode, Confirmation, check_token_binding};
pub use cache::CacheConfig;
pub use cert::{
    Attribute, CLIENT_AUTH_OID, Certificate, Curve, DistinguishedName, ExtendedKeyUsage, KeyUsage,
    PublicKeyInfo, RelativeDistinguishedName, SERVER_AUTH_OID, SignatureAlgorithm, SpiffeId,
    SubjectAltNames,
};
pub use error::{ConfigError, Error, ErrorKind, Result, TrustProblem};
pub use identity::{ClientIdentity, IdentityRule, SpiffeMatch, ValueMatch};
pub use input::{
    Format, HeaderFormat, Limits, PresentedChain, Source, decode_client_cert_and_chain,
    decode_header, decode_header_lines, der, parse, pem,
};
pub use thumbprint::Thumbprint;
pub use time::Timestamp;
pub use trust::{Crl, TrustStore, TrustStoreBuilder};
#[cfg(feature = "aws-lc-rs")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-lc-rs")))]
pub use verify::AWS_LC_RS_ALGORITHMS;
#[cfg(feature = "ring")]
#[cfg_attr(docsrs, doc(cfg(feature = "ring")))]
pub use verify::RING_ALGORITHMS;
pub use verify::{
    Algorithms, ExtendedKeyUsagePolicy, IntermediateFetch, KeyPolicy, RevocationChecker,
    RevocationDepth, RevocationPolicy, RevokedSerials, TrustedBy, UnknownStatus, VerifiedChain,
    Verifier, VerifierBuilder,
};

/// A boxed, sendable future: what the asynchronous extension points return
/// ([`registry::Registry`]'s look-ups, [`RevocationChecker::check`]), so that
/// they can be called through `dyn`.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The `rustls-pki-types` crate, whose certificate and time types appear in certauth's API.
pub use rustls_pki_types as pki_types;

/// The README's code examples, compiled and run as doc tests, exactly as a reader would
/// paste them: complete programs without hidden lines, so they need the features they
/// name (`cargo test --all-features --doc`).
#[cfg(all(doctest, feature = "axum-tls", feature = "ring"))]
#[doc(test(attr(deny(warnings))))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
