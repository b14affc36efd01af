//! Feature `tower`: a [`Layer`] that authenticates every request and puts the
//! [`AuthenticatedClient`] into the request extensions.
//!
//! The certificate comes from the connection ([`ConnectionInfo::tls_certificates`], set
//! by the server after a rustls handshake) or, when a [`HeaderSource`] is configured,
//! from a forwarded header sent by a trusted proxy ([`ConnectionInfo::peer`] is the TCP
//! peer). The server inserts one [`ConnectionInfo`] per connection into each request.
//! With feature `axum`, a request without [`ConnectionInfo`] takes its peer address from
//! axum's [`ConnectInfo<SocketAddr>`](https://docs.rs/axum/0.8/axum/extract/struct.ConnectInfo.html),
//! which `axum::serve` inserts when the router is served with
//! `into_make_service_with_connect_info::<SocketAddr>()`:
//!
//! ```ignore
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! ```
//!
//! With feature `axum-tls`, [`MtlsListener`](crate::axum::MtlsListener) terminates TLS for
//! `axum::serve`, and `into_make_service_with_connect_info::<ConnectionInfo>()` gives
//! every request its connection's [`ConnectionInfo`] (peer address and client
//! certificates) as axum's `ConnectInfo<ConnectionInfo>`, which the layer reads as it
//! reads an inserted [`ConnectionInfo`]:
//!
//! ```ignore
//! axum::serve(mtls_listener, app.into_make_service_with_connect_info::<ConnectionInfo>()).await?;
//! ```
//!
//! Two requests show a server whose setup is incomplete, and the mistake is the server's,
//! not the client's: a request that carries the configured forwarded header but no peer
//! address at all (plain `axum::serve(listener, app)`, or a server that inserts nothing),
//! which cannot be trusted; and, on a layer without a forwarded header source (TLS
//! certificates only), a request with no connection information at all, which can never
//! carry a certificate. Both are answered 500 `missing_connection_info` (never the 400
//! `untrusted_source` of a spoof or the 401 `no_certificate` of a client that sent
//! none, also on an [`optional`](CertAuthLayer::optional) layer), and the first such
//! request of each layer is logged at warn at [`TRACING_TARGET`] with what to change.
//!
//! When the request carries the configured header, the header decides: from a trusted
//! proxy (by address, or by its mTLS certificate through
//! [`ProxyIdentity`](crate::http::ProxyIdentity)) it is the client's certificate, and the
//! connection's own certificate is the proxy's; from anyone else it is refused with
//! `untrusted_source`, even if the connection also carries a valid client certificate.
//! A TLS connection from a trusted proxy (by its certificate, or by its address unless
//! [`allow_direct_clients_at_proxy_addresses`](crate::http::HeaderSourceBuilder::allow_direct_clients_at_proxy_addresses))
//! is a proxy's: without a forwarded header its request has no client certificate, and
//! the proxy's own certificate is never authenticated as a client's.
//!
//! A forwarded header is decoded by its [`HeaderSource`], with the source's
//! [`Limits`](crate::Limits) and XFCC element count; the authenticator's limits apply to
//! the connection's own certificates.
//!
//! Per route, [`AuthorizeLayer`] admits only the authenticated clients an
//! [`authorize::Policy`](crate::authorize::Policy) allows (client ids, an identity rule,
//! registry metadata such as a scope), and answers the others 403 `not_permitted`.
//!
//! A refused request is answered with [`ErrorResponse`]: 400 (malformed header, untrusted
//! source), 401 (no or unverifiable certificate; RFC 8705 binding failures add
//! `WWW-Authenticate: Bearer error="invalid_token"`), 403 (valid but not allowed), 503
//! (registry unavailable), with the body `{"error":"<kind>"}`. Details go to `tracing` at
//! [`TRACING_TARGET`], never to the client.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use ::http::header::HeaderValue;
use ::http::{HeaderMap, HeaderName, Request, Response};
use rustls_pki_types::CertificateDer;
use tower_layer::Layer;
use tower_service::Service;

use crate::authenticator::{
    AuthRequest, AuthenticatedClient, Authenticator, Credential, TRACING_TARGET,
};
use crate::authorize::Policy;
use crate::error::{Error, ErrorKind};
use crate::http::{ConnectionMemo, ErrorResponse, HeaderSource, Peer};
use crate::time::Timestamp;

/// What the server knows about the connection a request arrived on. Make one per
/// connection when it is accepted and insert a clone into each of its requests'
/// extensions (hyper: in the service closure): the clones share the connection's
/// [`ConnectionMemo`], so whether its peer is a trusted proxy is decided once per
/// connection.
///
/// ```
/// use certauth::tower::ConnectionInfo;
/// # let certificates: Vec<certauth::pki_types::CertificateDer<'static>> = Vec::new();
/// let info = ConnectionInfo::new("10.0.0.7:50000".parse()?).with_tls_certificates(certificates);
/// // for each request: request.extensions_mut().insert(info.clone());
/// assert_eq!(info.peer.port(), 50000);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    /// The TCP peer (the proxy, behind a proxy).
    pub peer: SocketAddr,
    /// The client certificates of the TLS connection this process terminated, leaf first.
    pub tls_certificates: Option<Arc<[CertificateDer<'static>]>>,
    memo: Arc<ConnectionMemo>,
}

impl ConnectionInfo {
    /// A connection from `peer`, without TLS client certificates.
    pub fn new(peer: SocketAddr) -> Self {
        Self { peer, tls_certificates: None, memo: Arc::default() }
    }

    /// The same connection, on which the peer presented `certificates` (leaf first).
    #[must_use]
    pub fn with_tls_certificates(
        mut self,
        certificates: impl Into<Arc<[CertificateDer<'static>]>>,
    ) -> Self {
        self.tls_certificates = Some(certificates.into());
        self
    }

    /// The connection's peer, with its certificates and memo, for
    /// [`HeaderSource`].
    pub fn as_peer(&self) -> Peer<'_> {
        let peer = Peer::new(self.peer.ip()).with_memo(&self.memo);
        match &self.tls_certificates {
            Some(certs) => peer.with_tls_certificates(certs),
            None => peer,
        }
    }
}

/// Extracts a token's `cnf.x5t#S256` from a request: `None` when the request has no
/// token, `Some(None)` for a token without confirmation. Runs after your token
/// validation has put what it needs into the headers or extensions.
pub type TokenConfirmation = Arc<dyn Fn(&HeaderMap) -> Option<Option<String>> + Send + Sync>;

/// The layer. Required by default; [`optional`](Self::optional) lets requests without a
/// certificate through without an [`AuthenticatedClient`].
#[derive(Clone)]
pub struct CertAuthLayer {
    config: Arc<Config>,
}

struct Config {
    authenticator: Authenticator,
    headers: Option<HeaderSource>,
    required: bool,
    client_id_header: Option<HeaderName>,
    token: Option<TokenConfirmation>,
    /// Whether a request without a peer address has been logged at warn.
    warned_no_peer: AtomicBool,
}

impl fmt::Debug for CertAuthLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAuthLayer")
            .field("headers", &self.config.headers)
            .field("required", &self.config.required)
            .field("client_id_header", &self.config.client_id_header)
            .finish_non_exhaustive()
    }
}

impl CertAuthLayer {
    /// A layer authenticating TLS client certificates only.
    pub fn new(authenticator: Authenticator) -> Self {
        Self {
            config: Arc::new(Config {
                authenticator,
                headers: None,
                required: true,
                client_id_header: None,
                token: None,
                warned_no_peer: AtomicBool::new(false),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            authenticator: self.config.authenticator.clone(),
            headers: self.config.headers.clone(),
            required: self.config.required,
            client_id_header: self.config.client_id_header.clone(),
            token: self.config.token.clone(),
            warned_no_peer: AtomicBool::new(false),
        };
        f(&mut config);
        self.config = Arc::new(config);
        self
    }

    /// Also accept certificates forwarded by trusted proxies in this header.
    #[must_use]
    pub fn forwarded(self, source: HeaderSource) -> Self {
        self.edit(|c| c.headers = Some(source))
    }

    /// Let requests without any certificate through (no extension inserted); a
    /// certificate that is presented must still be valid.
    #[must_use]
    pub fn optional(self) -> Self {
        self.edit(|c| c.required = false)
    }

    /// Read a client id from this header: the certificate must be registered to it.
    #[must_use]
    pub fn client_id_header(self, name: HeaderName) -> Self {
        self.edit(|c| c.client_id_header = Some(name))
    }

    /// How to find a token's confirmation for RFC 8705 binding.
    #[must_use]
    pub fn token_confirmation(
        self,
        f: impl Fn(&HeaderMap) -> Option<Option<String>> + Send + Sync + 'static,
    ) -> Self {
        self.edit(|c| c.token = Some(Arc::new(f)))
    }
}

impl<S> Layer<S> for CertAuthLayer {
    type Service = CertAuth<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CertAuth { inner, config: self.config.clone() }
    }
}

/// The service [`CertAuthLayer`] makes.
#[derive(Clone)]
pub struct CertAuth<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> fmt::Debug for CertAuth<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertAuth").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CertAuth<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<String> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready goes into the future (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        Box::pin(async move {
            // Only the head is looked at; the body need not be Sync.
            let (mut parts, body) = request.into_parts();
            if config.authenticator.is_report_only() {
                parts.extensions.insert(ReportOnly);
            }
            match authenticate(&config, &parts).await {
                Ok(Some(client)) => {
                    parts.extensions.insert(client);
                }
                Ok(None) => {}
                Err(e) if config.authenticator.is_report_only() => {
                    let (source, peer) = refusal_context(&config, &parts);
                    tracing::warn!(target: TRACING_TARGET, kind = %e.kind(), source, peer, message = e.message(), "report-only: request let through");
                }
                Err(e) => {
                    let (source, peer) = refusal_context(&config, &parts);
                    tracing::info!(target: TRACING_TARGET, kind = %e.kind(), source, peer, message = e.message(), "request refused");
                    return Ok(ErrorResponse::new(e.kind()).into_response());
                }
            }
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}

async fn authenticate(
    config: &Config,
    request: &::http::request::Parts,
) -> Result<Option<AuthenticatedClient>, Error> {
    let now = Timestamp::now();
    let connection = request
        .extensions
        .get::<ConnectionInfo>()
        .or_else(|| connection_connect_info(&request.extensions));
    let headers = &request.headers;
    let client_id = match &config.client_id_header {
        Some(name) => match headers.get(name).map(HeaderValue::to_str) {
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                return Err(Error::new(
                    ErrorKind::MalformedInput,
                    format!("header {name} is not text"),
                ));
            }
            None => None,
        },
        None => None,
    };
    let token = config.token.as_ref().and_then(|f| f(headers));
    fn finish<'a>(
        req: AuthRequest<'a>,
        client_id: Option<&'a str>,
        token: &'a Option<Option<String>>,
    ) -> AuthRequest<'a> {
        let req = match client_id {
            Some(id) => req.client_id(id),
            None => req,
        };
        match token {
            Some(cnf) => req.token_confirmation(cnf.as_deref()),
            None => req,
        }
    }

    // A forwarded header, when present, decides: it is either from a trusted proxy (whose
    // own TLS certificate, if any, is the proxy's and not the client's) or a spoofing
    // attempt, refused even when the connection carries a valid client certificate.
    if let Some(source) = config.headers.as_ref().filter(|s| s.is_present(headers)) {
        let peer = match connection {
            Some(connection) => connection.as_peer(),
            None => match connect_info(&request.extensions) {
                Some(addr) => Peer::new(addr.ip()),
                // Without the TCP peer there is no way to tell a proxy from a client.
                None => return Err(missing_connection_info(config, NO_PEER_FORWARDED)),
            },
        };
        source.admit(headers, &peer, now)?;
        // Decoded as the source decodes, with its limits and expectations, never the
        // authenticator's. One value is cached by its raw bytes (a repeat skips decoding);
        // several lines or a chain header are decoded first.
        if let Some(value) = source.single_value(headers) {
            let credential = Credential::Forwarded { source, value };
            let req = finish(AuthRequest::new(credential, now), client_id, &token);
            return config.authenticator.authenticate(&req).await.map(Some);
        }
        let chain = source.decode(headers)?;
        let req = finish(AuthRequest::new(Credential::Chain(&chain), now), client_id, &token);
        return config.authenticator.authenticate(&req).await.map(Some);
    }
    // A layer that reads TLS certificates only, on a request that says nothing about its
    // connection: no certificate can ever be seen, whatever the client does.
    if config.headers.is_none()
        && connection.is_none()
        && connect_info(&request.extensions).is_none()
    {
        return Err(missing_connection_info(config, NO_CONNECTION_TLS));
    }
    if let Some(connection) = connection
        && let Some(certs) = &connection.tls_certificates
    {
        // A trusted proxy's own certificate, on a request it forwarded without one.
        let peer = connection.as_peer();
        if config.headers.as_ref().is_some_and(|s| s.is_proxy_connection(&peer, now)) {
            return missing(config);
        }
        let req = finish(AuthRequest::new(Credential::Tls(certs), now), client_id, &token);
        return config.authenticator.authenticate(&req).await.map(Some);
    }
    missing(config)
}

/// The peer address axum's `serve` puts into a request served with
/// `into_make_service_with_connect_info::<SocketAddr>()` (or `::<ConnectionInfo>()`).
#[cfg(feature = "axum")]
fn connect_info(extensions: &::http::Extensions) -> Option<SocketAddr> {
    extensions
        .get::<::axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
        .or_else(|| connection_connect_info(extensions).map(|info| info.peer))
}

/// For the log line of a refusal: where the certificate came from (`header`, `tls` or
/// `none`) and the TCP peer's address (`unknown` without connection information).
fn refusal_context(config: &Config, request: &::http::request::Parts) -> (&'static str, String) {
    let connection = request.extensions.get::<ConnectionInfo>();
    let source = if config.headers.as_ref().is_some_and(|s| s.is_present(&request.headers)) {
        "header"
    } else if connection.is_some_and(|c| c.tls_certificates.is_some()) {
        "tls"
    } else {
        "none"
    };
    let peer = connection
        .map(|c| c.peer)
        .or_else(|| connect_info(&request.extensions))
        .map_or_else(|| "unknown".to_owned(), |a| a.to_string());
    (source, peer)
}

/// Without feature `axum`, only [`ConnectionInfo`] gives the peer address.
#[cfg(not(feature = "axum"))]
fn connect_info(_: &::http::Extensions) -> Option<SocketAddr> {
    None
}

/// The [`ConnectionInfo`] axum's `serve` puts into a request served with
/// `into_make_service_with_connect_info::<ConnectionInfo>()` (on
/// [`MtlsListener`](crate::axum::MtlsListener), with feature `axum-tls`).
#[cfg(feature = "axum")]
fn connection_connect_info(extensions: &::http::Extensions) -> Option<&ConnectionInfo> {
    extensions.get::<::axum::extract::ConnectInfo<ConnectionInfo>>().map(|info| &info.0)
}

#[cfg(not(feature = "axum"))]
fn connection_connect_info(_: &::http::Extensions) -> Option<&ConnectionInfo> {
    None
}

/// What to change when a request has no peer address.
#[cfg(feature = "axum")]
const NO_PEER_FIX: &str = "serve the router with \
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()), or insert \
    certauth::tower::ConnectionInfo into each request";
#[cfg(not(feature = "axum"))]
const NO_PEER_FIX: &str = "insert certauth::tower::ConnectionInfo into each request (with \
    axum::serve, enable certauth's feature axum to read ConnectInfo<SocketAddr>)";

/// What to change when a TLS-only layer's request says nothing about its connection.
#[cfg(feature = "axum")]
const NO_CONNECTION_FIX: &str = "serve the router on certauth::axum::MtlsListener with \
    axum::serve(listener, app.into_make_service_with_connect_info::<certauth::tower::ConnectionInfo>()), \
    or insert certauth::tower::ConnectionInfo with the TLS certificates into each request";
#[cfg(not(feature = "axum"))]
const NO_CONNECTION_FIX: &str = "insert certauth::tower::ConnectionInfo with the TLS \
    certificates into each request";

/// Which setup mistake a request without connection information shows.
struct Missing {
    warning: &'static str,
    fix: &'static str,
    message: &'static str,
}

/// A forwarded header on a request without a peer address.
const NO_PEER_FORWARDED: Missing = Missing {
    warning: "forwarded certificate header on a request without a peer address: no proxy \
        can be trusted until the server provides it",
    fix: NO_PEER_FIX,
    message: "forwarded certificate header on a request without a peer address (no \
        ConnectionInfo or ConnectInfo<SocketAddr>)",
};

/// A layer without a forwarded header source, on a request without connection
/// information: no TLS certificate can reach it.
const NO_CONNECTION_TLS: Missing = Missing {
    warning: "request without connection information: the layer reads TLS client \
        certificates only, and none can reach it until the server provides them",
    fix: NO_CONNECTION_FIX,
    message: "request without connection information (no ConnectionInfo or ConnectInfo)",
};

/// A request the server gave no connection information the layer needs: the server's
/// setup is incomplete. Logged at warn once per layer; every such request gets the error.
fn missing_connection_info(config: &Config, missing: Missing) -> Error {
    if !config.warned_no_peer.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            target: TRACING_TARGET,
            kind = %ErrorKind::MissingConnectionInfo,
            fix = missing.fix,
            "{}",
            missing.warning,
        );
    }
    Error::new(ErrorKind::MissingConnectionInfo, missing.message)
}

fn missing(config: &Config) -> Result<Option<AuthenticatedClient>, Error> {
    if config.required {
        Err(Error::new(ErrorKind::NoCertificate, "no client certificate"))
    } else {
        Ok(None)
    }
}

/// A per-route [`Policy`]: lets through requests whose [`AuthenticatedClient`] the policy
/// allows, and answers the others with 403 `not_permitted`, or 401 `no_certificate` when
/// the request has no authenticated client (behind an optional [`CertAuthLayer`], or
/// without one). Put it inside [`CertAuthLayer`], which authenticates first: with axum,
/// `route_layer` on the route and `layer(CertAuthLayer)` on the router.
///
/// Behind a [`CertAuthLayer`] whose authenticator is in report-only mode
/// ([`AuthenticatorBuilder::report_only`](crate::AuthenticatorBuilder::report_only)), a
/// refusal is logged at warn and the request let through, as authentication's are.
///
/// ```ignore
/// let app = Router::new()
///     .route("/orders", get(list_orders)
///         .route_layer(AuthorizeLayer::new(Policy::metadata_contains("scope", "orders:read"))))
///     .route("/admin", post(admin)
///         .route_layer(AuthorizeLayer::new(Policy::client_ids(["ops-console"]))))
///     .layer(CertAuthLayer::new(authenticator));
/// ```
///
/// A refusal is logged at info at [`TRACING_TARGET`] with its kind and the client.
#[derive(Clone, Debug)]
pub struct AuthorizeLayer {
    policy: Arc<Policy>,
}

impl AuthorizeLayer {
    /// A layer applying `policy`.
    pub fn new(policy: Policy) -> Self {
        Self { policy: Arc::new(policy) }
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize { inner, policy: self.policy.clone() }
    }
}

/// Set by [`CertAuth`] on every request when its authenticator is in report-only mode,
/// so that [`Authorize`] reports instead of refusing too. Private: only the layer sets it.
#[derive(Clone, Copy, Debug)]
struct ReportOnly;

/// The service [`AuthorizeLayer`] makes.
#[derive(Clone, Debug)]
pub struct Authorize<S> {
    inner: S,
    policy: Arc<Policy>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Authorize<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: From<String> + Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let verdict = match request.extensions().get::<AuthenticatedClient>() {
            Some(client) => self.policy.check(client),
            None => Err(Error::new(ErrorKind::NoCertificate, "no authenticated client")),
        };
        match verdict {
            Ok(()) => Box::pin(self.inner.call(request)),
            Err(e) if request.extensions().get::<ReportOnly>().is_some() => {
                tracing::warn!(target: TRACING_TARGET, kind = %e.kind(), message = e.message(), "report-only: the route's policy would refuse; request let through");
                Box::pin(self.inner.call(request))
            }
            Err(e) => {
                tracing::info!(target: TRACING_TARGET, kind = %e.kind(), message = e.message(), "request refused by the route's policy");
                let response = ErrorResponse::new(e.kind()).into_response();
                Box::pin(std::future::ready(Ok(response)))
            }
        }
    }
}
