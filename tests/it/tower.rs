//! The tower layer and the axum extractor: statuses, bodies, headers, optional routes,
//! report-only, spoofing, client-id header.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use certauth::RING_ALGORITHMS;
use certauth::http::{ErrorResponse, HeaderSource, ProxyIdentity, TrustedProxies};
use certauth::registry::{MemoryRegistry, RegisteredClient};
use certauth::testkit::pki::Ca;
use certauth::testkit::proxy::{Haproxy, Proxy as _, Traefik};
use certauth::tower::{CertAuthLayer, ConnectionInfo};
use certauth::{
    AuthenticatedClient, Authenticator, HeaderFormat, Limits, Timestamp, TrustStore, Verifier,
};
use certauth::{IdentityRule, SpiffeMatch};
use http::{Request, Response, StatusCode};
use rustls_pki_types::CertificateDer;
use tower::{Layer as _, ServiceExt as _};

struct Fixture {
    issuing: Ca,
    registry: Arc<MemoryRegistry>,
    /// The root and the issuing CA, PEM.
    trust: String,
}

impl Fixture {
    /// Another authenticator on the same trust store and registry.
    fn authenticator(&self, limits: Limits) -> Authenticator {
        let store = TrustStore::builder().add_pem(self.trust.as_bytes()).unwrap().build().unwrap();
        Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
            .registry(self.registry.clone())
            .limits(limits)
            .build()
            .unwrap()
    }
}

fn fixture() -> (Fixture, Authenticator) {
    let root = Ca::root("Tower Root");
    let issuing = root.intermediate("Tower Issuing");
    let trust = format!("{}{}", root.pem(), issuing.pem());
    let f = Fixture { issuing, registry: Arc::new(MemoryRegistry::new()), trust };
    let auth = f.authenticator(Limits::default());
    (f, auth)
}

fn source() -> HeaderSource {
    HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
        .trusted_proxies(TrustedProxies::parse(["10.0.0.1/32"]).unwrap())
        .build()
        .unwrap()
}

/// Calls `layer` around a handler that reports the client id it sees.
async fn call(
    layer: CertAuthLayer,
    peer: &str,
    headers: &[(&str, String)],
) -> (StatusCode, String, http::HeaderMap) {
    call_tls(layer, peer, None, headers).await
}

/// [`call`] on a TLS connection whose peer presented `tls_certificates`.
async fn call_tls(
    layer: CertAuthLayer,
    peer: &str,
    tls_certificates: Option<Vec<CertificateDer<'static>>>,
    headers: &[(&str, String)],
) -> (StatusCode, String, http::HeaderMap) {
    let peer: SocketAddr = format!("{peer}:5555").parse().unwrap();
    let info = match tls_certificates {
        Some(certs) => ConnectionInfo::new(peer).with_tls_certificates(certs),
        None => ConnectionInfo::new(peer),
    };
    call_on(layer, &info, headers).await
}

/// [`call`] as one more request on the connection `info`.
async fn call_on(
    layer: CertAuthLayer,
    info: &ConnectionInfo,
    headers: &[(&str, String)],
) -> (StatusCode, String, http::HeaderMap) {
    let inner = tower::service_fn(|req: Request<Body>| async move {
        let id = req
            .extensions()
            .get::<AuthenticatedClient>()
            .map_or_else(|| "anonymous".to_owned(), |c| c.client_id().unwrap_or("-").to_owned());
        Ok::<_, Infallible>(Response::new(Body::from(id)))
    });
    let mut req = Request::get("/").body(Body::empty()).unwrap();
    for (name, value) in headers {
        req.headers_mut()
            .insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    req.extensions_mut().insert(info.clone());
    let res = layer.layer(inner).oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned(), headers)
}

#[tokio::test]
async fn statuses_and_bodies() {
    let (f, auth) = fixture();
    let good = f.issuing.leaf("good").build();
    let stranger = Ca::root("Stranger").leaf("x").build();
    let unregistered = f.issuing.leaf("nobody").build();
    f.registry.add_client(RegisteredClient::new("good", "Good")).unwrap();
    f.registry.register_certificate("good", &good.certificate(), Timestamp::now(), None).unwrap();
    let layer = CertAuthLayer::new(auth).forwarded(source());
    let (name, value) = Haproxy.forward(&good);
    let h = |v: String| vec![(name, v)];

    let (status, body, _) = call(layer.clone(), "10.0.0.1", &h(value.clone())).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "good"));
    // The same header from someone else: 400 untrusted_source, never read.
    let (status, body, _) = call(layer.clone(), "10.0.0.2", &h(value.clone())).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, r#"{"error":"untrusted_source"}"#)
    );
    let (status, body, headers) = call(layer.clone(), "10.0.0.1", &h("!!!".into())).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::BAD_REQUEST, r#"{"error":"malformed_input"}"#)
    );
    assert_eq!(headers["content-type"], "application/json");
    let (status, body, _) = call(layer.clone(), "10.0.0.1", &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#)
    );
    // A proxy that forwards `-` for "no certificate" (nginx's empty variable).
    let (status, body, _) = call(layer.clone(), "10.0.0.1", &h("-".into())).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#)
    );
    let (status, body, _) = call(layer.clone(), "10.0.0.1", &h(Haproxy.forward(&stranger).1)).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"unknown_issuer"}"#)
    );
    let (status, body, _) =
        call(layer.clone(), "10.0.0.1", &h(Haproxy.forward(&unregistered).1)).await;
    assert_eq!((status, body.as_str()), (StatusCode::FORBIDDEN, r#"{"error":"unknown_client"}"#));

    // Optional: no certificate passes as anonymous; a bad one is still refused.
    let optional = layer.clone().optional();
    assert_eq!(call(optional.clone(), "10.0.0.1", &[]).await.1, "anonymous");
    assert_eq!(
        call(optional, "10.0.0.1", &h(Haproxy.forward(&stranger).1)).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Token binding failure: 401 with the RFC 6750 challenge.
    let bound = layer
        .clone()
        .token_confirmation(|h| h.get("x-cnf").map(|v| v.to_str().ok().map(str::to_owned)));
    let mut hs = h(value.clone());
    hs.push(("x-cnf", certauth::Thumbprint::of(b"other").to_x5t_s256()));
    let (status, body, headers) = call(bound.clone(), "10.0.0.1", &hs).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"binding_mismatch"}"#)
    );
    assert_eq!(headers["www-authenticate"], r#"Bearer error="invalid_token""#);
    hs[1].1 = good.thumbprint().to_x5t_s256();
    assert_eq!(call(bound, "10.0.0.1", &hs).await.0, StatusCode::OK);

    // Client-id header: the certificate must belong to the named client.
    let by_id = layer.client_id_header("x-client-id".parse().unwrap());
    let mut hs = h(value);
    hs.push(("x-client-id", "good".into()));
    assert_eq!(call(by_id.clone(), "10.0.0.1", &hs).await.0, StatusCode::OK);
    hs[1].1 = "someone-else".into();
    assert_eq!(call(by_id, "10.0.0.1", &hs).await.1, r#"{"error":"unknown_client"}"#);
}

#[tokio::test]
async fn report_only_lets_refused_requests_through_and_registry_outage_is_503() {
    let (f, _) = fixture();
    let root = Ca::root("RO Root");
    let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
    let ro = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
        .registry(f.registry.clone())
        .report_only()
        .build()
        .unwrap();
    let layer = CertAuthLayer::new(ro).forwarded(source());
    let stranger = f.issuing.leaf("x").build();
    let (status, body, _) =
        call(layer, "10.0.0.1", &[("x-ssl-client-cert", Haproxy.forward(&stranger).1)]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));

    // A registry that cannot answer: 503.
    #[derive(Debug)]
    struct Down;
    impl certauth::registry::Registry for Down {
        fn by_thumbprint<'a>(
            &'a self,
            _: &'a certauth::Thumbprint,
        ) -> certauth::BoxFuture<'a, certauth::Result<Option<certauth::registry::Registration>>>
        {
            Box::pin(async {
                Err(certauth::Error::new(certauth::ErrorKind::RegistryUnavailable, "database down"))
            })
        }
        fn by_client_id<'a>(
            &'a self,
            _: &'a str,
        ) -> certauth::BoxFuture<'a, certauth::Result<Option<RegisteredClient>>> {
            Box::pin(async { Ok(None) })
        }
    }
    let root = Ca::root("Down Root");
    let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
    let auth = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
        .registry(Arc::new(Down))
        .build()
        .unwrap();
    let leaf = root.leaf("c").build();
    let (status, body, _) = call(
        CertAuthLayer::new(auth).forwarded(source()),
        "10.0.0.1",
        &[("x-ssl-client-cert", Haproxy.forward(&leaf).1)],
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, r#"{"error":"registry_unavailable"}"#)
    );
}

#[test]
fn axum_rejection_contract() {
    use axum::extract::FromRequestParts as _;
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (mut parts, ()) = Request::get("/").body(()).unwrap().into_parts();
    let rejection =
        rt.block_on(AuthenticatedClient::from_request_parts(&mut parts, &())).unwrap_err();
    assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(rejection.body_text(), r#"{"error":"no_certificate"}"#);
    // The extractor answers as the layer does: `ErrorResponse`, headers and all.
    use axum::response::IntoResponse as _;
    let response = rejection.into_response();
    let expected: Response<Body> =
        ErrorResponse::new(certauth::ErrorKind::NoCertificate).into_response();
    assert_eq!(response.status(), expected.status());
    assert_eq!(response.headers(), expected.headers());
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = rt.block_on(axum::body::to_bytes(response.into_body(), 1 << 10)).unwrap();
    assert_eq!(&body[..], br#"{"error":"no_certificate"}"#);
}

/// Proxy-to-backend mTLS: the proxy is recognised by its certificate, not its address, and
/// the connection's certificate is never mistaken for the client's.
#[tokio::test]
async fn proxies_trusted_by_their_mtls_identity() {
    let (f, auth) = fixture();
    let client = f.issuing.leaf("client").build();
    f.registry.add_client(RegisteredClient::new("client", "Client")).unwrap();
    f.registry
        .register_certificate("client", &client.certificate(), Timestamp::now(), None)
        .unwrap();
    let mesh = Ca::root("Mesh Root");
    let envoy = mesh.leaf("envoy").spiffe("spiffe://mesh.test/ns/edge/sa/envoy").build();
    let other_workload = mesh.leaf("other").spiffe("spiffe://mesh.test/ns/apps/sa/billing").build();
    let impostor = Ca::root("Impostor Root")
        .leaf("envoy")
        .spiffe("spiffe://mesh.test/ns/edge/sa/envoy")
        .build();
    let mesh_store = TrustStore::builder().add_pem(mesh.pem().as_bytes()).unwrap().build().unwrap();
    let proxy = ProxyIdentity::new(
        Verifier::builder(mesh_store, RING_ALGORITHMS).build().unwrap(),
        IdentityRule::Spiffe(SpiffeMatch::Exact("spiffe://mesh.test/ns/edge/sa/envoy".into())),
    )
    .unwrap();
    // No address is trusted: only the identity.
    let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
        .trusted_proxy_identity(proxy)
        .build()
        .unwrap();
    let layer = CertAuthLayer::new(auth).forwarded(source);
    let forwarded = vec![Haproxy.forward(&client)];
    let untrusted = (StatusCode::BAD_REQUEST, r#"{"error":"untrusted_source"}"#.to_owned());

    let got = call_tls(layer.clone(), "10.9.9.9", Some(envoy.chain()), &forwarded).await;
    assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "client"));
    // A valid mesh certificate of the wrong workload, one from another CA with the right
    // SPIFFE ID, and no certificate at all: not the proxy.
    for tls in [Some(other_workload.chain()), Some(impostor.chain()), None] {
        let got = call_tls(layer.clone(), "10.9.9.9", tls, &forwarded).await;
        assert_eq!((got.0, got.1), untrusted);
    }
    // The proxy forwarding a request without a client certificate: its own certificate is
    // never taken for the client's.
    let got = call_tls(layer.clone(), "10.9.9.9", Some(envoy.chain()), &[]).await;
    assert_eq!(
        (got.0, got.1.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#)
    );
    // Another mesh workload connecting directly is a client like any other (here of a CA
    // this service does not trust for clients).
    let got = call_tls(layer.clone(), "10.9.9.9", Some(other_workload.chain()), &[]).await;
    assert_eq!(
        (got.0, got.1.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"unknown_issuer"}"#)
    );
}

/// A client with a valid certificate of its own that also sends a forged header is
/// refused: the spoofing attempt is visible, not ignored.
#[tokio::test]
async fn forged_header_on_a_direct_mtls_connection_is_refused() {
    let (f, auth) = fixture();
    let client = f.issuing.leaf("client").build();
    let victim = f.issuing.leaf("victim").build();
    for (id, leaf) in [("client", &client), ("victim", &victim)] {
        f.registry.add_client(RegisteredClient::new(id, id)).unwrap();
        f.registry.register_certificate(id, &leaf.certificate(), Timestamp::now(), None).unwrap();
    }
    let layer = CertAuthLayer::new(auth).forwarded(source());
    let got = call_tls(layer.clone(), "192.0.2.5", Some(client.chain()), &[]).await;
    assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "client"));
    let forged = vec![Haproxy.forward(&victim)];
    let got = call_tls(layer.clone(), "192.0.2.5", Some(client.chain()), &forged).await;
    assert_eq!(
        (got.0, got.1.as_str()),
        (StatusCode::BAD_REQUEST, r#"{"error":"untrusted_source"}"#)
    );
    // From the trusted proxy's address the header is the client's, whatever the proxy's
    // own TLS certificate is.
    let got = call_tls(layer, "10.0.0.1", Some(client.chain()), &forged).await;
    assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "victim"));
}

/// `require_verification_header`: the proxy's own verdict must be there and say SUCCESS.
#[tokio::test]
async fn proxy_verification_signal() {
    let (f, auth) = fixture();
    let client = f.issuing.leaf("client").build();
    f.registry.add_client(RegisteredClient::new("client", "Client")).unwrap();
    f.registry
        .register_certificate("client", &client.certificate(), Timestamp::now(), None)
        .unwrap();
    let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
        .trusted_proxies(TrustedProxies::parse(["10.0.0.1"]).unwrap())
        .require_verification_header("x-ssl-client-verify", "SUCCESS")
        .build()
        .unwrap();
    let layer = CertAuthLayer::new(auth).forwarded(source);
    let cert = Haproxy.forward(&client);
    let verify = |v: &str| ("x-ssl-client-verify", v.to_owned());
    let failed = (StatusCode::UNAUTHORIZED, r#"{"error":"proxy_verification_failed"}"#.to_owned());

    let got = call(layer.clone(), "10.0.0.1", &[cert.clone(), verify("SUCCESS")]).await;
    assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "client"));
    for headers in [
        vec![cert.clone()],
        vec![cert.clone(), verify("FAILED:certificate has expired")],
        vec![cert.clone(), verify("success")],
        vec![cert.clone(), verify("NONE")],
    ] {
        let got = call(layer.clone(), "10.0.0.1", &headers).await;
        assert_eq!((got.0, got.1), failed, "{:?}", headers.get(1));
    }
    // A "no certificate" sentinel says more than the proxy's NONE; trust still comes first.
    let got = call(layer.clone(), "10.0.0.1", &[(cert.0, String::new()), verify("NONE")]).await;
    assert_eq!(
        (got.0, got.1.as_str()),
        (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#)
    );
    let got = call(layer, "10.0.0.2", &[cert, verify("SUCCESS")]).await;
    assert_eq!(
        (got.0, got.1.as_str()),
        (StatusCode::BAD_REQUEST, r#"{"error":"untrusted_source"}"#)
    );
}

/// Regression: the header source's limits apply to its header on every path through the
/// layer (one header line included), whatever the authenticator's limits are.
#[tokio::test]
async fn header_source_limits_always_apply() {
    let (f, auth) = fixture();
    let client = f.issuing.leaf("client").build();
    f.registry.add_client(RegisteredClient::new("client", "Client")).unwrap();
    f.registry
        .register_certificate("client", &client.certificate(), Timestamp::now(), None)
        .unwrap();
    let strict = |limits: Limits, name: &str, format: HeaderFormat| {
        HeaderSource::builder(name, format)
            .trusted_proxies(TrustedProxies::parse(["10.0.0.1/32"]).unwrap())
            .limits(limits)
            .build()
            .unwrap()
    };
    let too_large = (StatusCode::BAD_REQUEST, r#"{"error":"input_too_large"}"#.to_owned());
    // The leaf alone, as one line, longer than the source allows.
    let (name, value) = Haproxy.forward(&client);
    let short = Limits::default().with_max_header_value(value.len() - 1);
    let short = strict(short, name, HeaderFormat::HaproxyDer);
    let layer = CertAuthLayer::new(auth.clone()).forwarded(short);
    for _ in 0..2 {
        let got = call(layer.clone(), "10.0.0.1", &[(name, value.clone())]).await;
        assert_eq!((got.0, got.1), too_large);
    }
    // Leaf and intermediate, more certificates than the source allows.
    let (name, value) = Traefik.forward(&client);
    let one = strict(Limits::default().with_max_chain_len(1), name, HeaderFormat::Traefik);
    let got =
        call(CertAuthLayer::new(auth.clone()).forwarded(one), "10.0.0.1", &[(name, value.clone())])
            .await;
    assert_eq!((got.0, got.1), too_large);
    // The same headers with the source's default limits pass, first and cached.
    let default = strict(Limits::default(), name, HeaderFormat::Traefik);
    let layer = CertAuthLayer::new(auth.clone()).forwarded(default);
    for _ in 0..2 {
        let got = call(layer.clone(), "10.0.0.1", &[(name, value.clone())]).await;
        assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "client"));
    }
    // The authenticator's own (stricter) limits are for the connection's certificates;
    // the header is the source's to bound.
    let tight = f.authenticator(Limits::default().with_max_header_value(100).with_max_chain_len(1));
    let layer =
        CertAuthLayer::new(tight).forwarded(strict(Limits::default(), name, HeaderFormat::Traefik));
    let got = call(layer, "10.0.0.1", &[(name, value)]).await;
    assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "client"));
}

/// Regression: a proxy trusted by its address that presents its own TLS certificate to
/// the service forwards a request from a client without a certificate with no header.
/// That request has no client certificate (it must not be authenticated with the
/// proxy's), unless the source opts in to direct clients at proxy addresses.
#[tokio::test]
async fn a_proxy_trusted_by_address_is_never_authenticated_as_a_client() {
    let (f, auth) = fixture();
    // The proxy's certificate is one this service would accept from a client.
    let proxy_cert = f.issuing.leaf("nginx-proxy").build();
    f.registry.add_client(RegisteredClient::new("proxy", "Proxy")).unwrap();
    f.registry
        .register_certificate("proxy", &proxy_cert.certificate(), Timestamp::now(), None)
        .unwrap();
    let layer = CertAuthLayer::new(auth.clone()).forwarded(source());
    let none = (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#.to_owned());
    let got = call_tls(layer.clone(), "10.0.0.1", Some(proxy_cert.chain()), &[]).await;
    assert_eq!((got.0, got.1), none);
    assert_eq!(
        call_tls(layer.optional(), "10.0.0.1", Some(proxy_cert.chain()), &[]).await.1,
        "anonymous"
    );
    // The same certificate from any other address is a direct client.
    let got = call_tls(layer_for(&auth, source()), "10.0.0.2", Some(proxy_cert.chain()), &[]).await;
    assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "proxy"));
    // Opted in: a direct client at a proxy address.
    let direct = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
        .trusted_proxies(TrustedProxies::parse(["10.0.0.1/32"]).unwrap())
        .allow_direct_clients_at_proxy_addresses()
        .build()
        .unwrap();
    let got = call_tls(layer_for(&auth, direct), "10.0.0.1", Some(proxy_cert.chain()), &[]).await;
    assert_eq!((got.0, got.1.as_str()), (StatusCode::OK, "proxy"));
}

fn layer_for(auth: &Authenticator, source: HeaderSource) -> CertAuthLayer {
    CertAuthLayer::new(auth.clone()).forwarded(source)
}

/// Counts, per thread, the `tracing` events of certauth that carry a given field.
mod trace {
    use std::collections::HashMap;
    use std::sync::{Mutex, Once};
    use std::thread::{self, ThreadId};

    use tracing::span::{Attributes, Id, Record};
    use tracing::subscriber::Interest;
    use tracing::{Event, Metadata, Subscriber};

    static COUNTS: Mutex<Option<HashMap<(ThreadId, &'static str), usize>>> = Mutex::new(None);

    struct Counter;

    impl Subscriber for Counter {
        fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
            if self.enabled(metadata) { Interest::always() } else { Interest::never() }
        }
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target().starts_with("certauth")
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            let mut counts = COUNTS.lock().unwrap();
            let counts = counts.get_or_insert_with(HashMap::new);
            for field in event.metadata().fields() {
                *counts.entry((thread::current().id(), field.name())).or_default() += 1;
            }
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// How many certauth events with the field `field` this thread has emitted.
    pub(super) fn count(field: &'static str) -> usize {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            tracing::dispatcher::set_global_default(tracing::Dispatch::new(Counter))
                .expect("no other global subscriber in the test binary");
        });
        let counts = COUNTS.lock().unwrap();
        counts.as_ref().and_then(|c| c.get(&(thread::current().id(), field))).copied().unwrap_or(0)
    }
}

/// Regression: with a `ProxyIdentity` configured, whether a connection is a proxy's is
/// decided once per connection. The proxy verifier runs once on a client's chain (it
/// fails, so no verification cache helps), not once per request.
#[tokio::test]
async fn a_proxy_identity_is_decided_once_per_connection() {
    let (f, auth) = fixture();
    let client = f.issuing.leaf("client").build();
    f.registry.add_client(RegisteredClient::new("client", "Client")).unwrap();
    f.registry
        .register_certificate("client", &client.certificate(), Timestamp::now(), None)
        .unwrap();
    let mesh = Ca::root("Memo Mesh Root");
    let envoy = mesh.leaf("envoy").spiffe("spiffe://mesh.test/envoy").build();
    let mesh_store = TrustStore::builder().add_pem(mesh.pem().as_bytes()).unwrap().build().unwrap();
    let proxy = ProxyIdentity::new(
        Verifier::builder(mesh_store, RING_ALGORITHMS).build().unwrap(),
        IdentityRule::Spiffe(SpiffeMatch::Exact("spiffe://mesh.test/envoy".into())),
    )
    .unwrap();
    let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
        .trusted_proxy_identity(proxy)
        .build()
        .unwrap();
    let layer = CertAuthLayer::new(auth).forwarded(source.clone());
    let checks = || trace::count("proxy_identity");
    let ok = (StatusCode::OK, "client");

    // A client's own connection: its chain is no proxy's, decided on the first request.
    let direct = ConnectionInfo::new("192.0.2.9:40000".parse().unwrap())
        .with_tls_certificates(client.chain());
    let before = checks();
    for _ in 0..5 {
        let got = call_on(layer.clone(), &direct, &[]).await;
        assert_eq!((got.0, got.1.as_str()), ok);
    }
    assert_eq!(checks() - before, 1, "one proxy verification for five requests");

    // The proxy's connection, forwarding the client's certificate: also once.
    let via_proxy =
        ConnectionInfo::new("10.9.9.9:40000".parse().unwrap()).with_tls_certificates(envoy.chain());
    let forwarded = vec![Haproxy.forward(&client)];
    let before = checks();
    for _ in 0..5 {
        let got = call_on(layer.clone(), &via_proxy, &forwarded).await;
        assert_eq!((got.0, got.1.as_str()), ok);
    }
    let got = call_on(layer.clone(), &via_proxy, &[]).await;
    assert_eq!(got.0, StatusCode::UNAUTHORIZED, "the proxy's own certificate is no client's");
    assert_eq!(checks() - before, 1);

    // A new connection is decided anew; so is one whose certificates were swapped.
    let before = checks();
    let again = ConnectionInfo::new("192.0.2.9:40001".parse().unwrap())
        .with_tls_certificates(client.chain());
    assert_eq!(call_on(layer.clone(), &again, &[]).await.0, StatusCode::OK);
    let mut swapped = again.clone();
    swapped.tls_certificates = Some(envoy.chain().into());
    assert_eq!(call_on(layer.clone(), &swapped, &forwarded).await.0, StatusCode::OK);
    assert_eq!(checks() - before, 2);

    // Without a connection's memo, `HeaderSource` checks on every call.
    let before = checks();
    let peer = certauth::http::Peer::new("192.0.2.9".parse().unwrap());
    let certs = client.chain();
    for _ in 0..3 {
        let at = Timestamp::from_utc(2030, 1, 1, 0, 0, 0).unwrap();
        assert!(!source.is_proxy_connection(&peer.with_tls_certificates(&certs), at));
    }
    assert_eq!(checks() - before, 3);
}

/// Trusted proxies that include every address: refused at build (see
/// `headers::http_source`), and with the opt-in, built with a warning.
#[test]
fn every_address_as_a_trusted_proxy_is_logged() {
    let before = trace::count("proxies");
    let everyone = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
        .trusted_proxies(TrustedProxies::parse(["::/0"]).unwrap())
        .allow_every_address_as_trusted_proxy()
        .build()
        .unwrap();
    assert_eq!(trace::count("proxies") - before, 1);
    assert!(everyone.trusted_proxies().contains("2001:db8::1".parse().unwrap()));
    let before = trace::count("proxies");
    let _ = source();
    assert_eq!(trace::count("proxies") - before, 0);
}

/// Sends one HTTP/1.1 GET with `headers` to `addr` and returns the status and body.
async fn http_get(addr: SocketAddr, headers: &[(&str, String)]) -> (StatusCode, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = "GET / HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n".to_owned();
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok()).unwrap();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body).to_owned();
    (StatusCode::from_u16(status).unwrap(), body)
}

/// A router answering with the authenticated client's id, behind a layer trusting the
/// proxy at 127.0.0.1, and a certificate registered to client `svc` forwarded in its
/// header.
fn loopback_app() -> (axum::Router, Vec<(&'static str, String)>) {
    let (f, auth) = fixture();
    let client = f.issuing.leaf("svc").build();
    f.registry.add_client(RegisteredClient::new("svc", "Service")).unwrap();
    f.registry.register_certificate("svc", &client.certificate(), Timestamp::now(), None).unwrap();
    let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
        .trusted_proxies(TrustedProxies::parse(["127.0.0.1"]).unwrap())
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|c: AuthenticatedClient| async move {
                c.client_id().unwrap_or("-").to_owned()
            }),
        )
        .layer(CertAuthLayer::new(auth).forwarded(source));
    (app, vec![Haproxy.forward(&client)])
}

/// Regression: axum's own server with `into_make_service_with_connect_info` gives the
/// layer the peer address through `ConnectInfo<SocketAddr>`: the trusted proxy's header
/// is accepted, without any `ConnectionInfo`.
#[tokio::test]
async fn axum_serve_with_connect_info_trusts_the_proxy_by_address() {
    let (app, forwarded) = loopback_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });
    assert_eq!(http_get(addr, &forwarded).await, (StatusCode::OK, "svc".to_owned()));
    assert_eq!(
        http_get(addr, &[]).await,
        (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#.to_owned())
    );
    server.abort();
}

/// Regression: plain `axum::serve(listener, app)` gives no peer address. A forwarded
/// header is then a setup mistake, answered 500 `missing_connection_info` (never the 400
/// `untrusted_source` of a spoof) and logged at warn once per layer, not per request.
#[tokio::test]
async fn axum_serve_without_connect_info_is_a_configuration_error_logged_once() {
    let (app, forwarded) = loopback_app();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let before = trace::count("fix");
    let expected =
        (StatusCode::INTERNAL_SERVER_ERROR, r#"{"error":"missing_connection_info"}"#.to_owned());
    for _ in 0..3 {
        assert_eq!(http_get(addr, &forwarded).await, expected);
    }
    assert_eq!(trace::count("fix") - before, 1, "one warning for three requests");
    assert_ne!(
        certauth::http::status_for(certauth::ErrorKind::MissingConnectionInfo),
        certauth::http::status_for(certauth::ErrorKind::UntrustedSource)
    );
    // Without the header the request simply has no certificate.
    assert_eq!(
        http_get(addr, &[]).await,
        (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#.to_owned())
    );
    server.abort();
}

/// `ConnectionInfo` wins over axum's `ConnectInfo`: a server that knows the TLS
/// connection is never overridden by the address axum records.
#[tokio::test]
async fn connection_info_takes_precedence_over_connect_info() {
    let (f, auth) = fixture();
    let good = f.issuing.leaf("good").build();
    f.registry.add_client(RegisteredClient::new("good", "Good")).unwrap();
    f.registry.register_certificate("good", &good.certificate(), Timestamp::now(), None).unwrap();
    let layer = CertAuthLayer::new(auth).forwarded(source());
    let send = |info: Option<ConnectionInfo>, axum_peer: &str| {
        let mut req = Request::get("/").body(Body::empty()).unwrap();
        let (name, value) = Haproxy.forward(&good);
        req.headers_mut().insert(name, value.parse().unwrap());
        if let Some(info) = info {
            req.extensions_mut().insert(info);
        }
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(axum_peer.parse::<SocketAddr>().unwrap()));
        let inner = tower::service_fn(|_: Request<Body>| async {
            Ok::<_, Infallible>(Response::new(Body::empty()))
        });
        layer.clone().layer(inner).oneshot(req)
    };
    // axum says the trusted proxy, the server's own record says a stranger: refused.
    let stranger = ConnectionInfo::new("192.0.2.7:1".parse().unwrap());
    assert_eq!(send(Some(stranger), "10.0.0.1:1").await.unwrap().status(), StatusCode::BAD_REQUEST);
    // And the other way round: accepted, the server's record decides.
    let proxy = ConnectionInfo::new("10.0.0.1:1".parse().unwrap());
    assert_eq!(send(Some(proxy), "192.0.2.7:1").await.unwrap().status(), StatusCode::OK);
    // ConnectInfo alone: its address decides.
    assert_eq!(send(None, "192.0.2.7:1").await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(send(None, "10.0.0.1:1").await.unwrap().status(), StatusCode::OK);
}

/// Regression: nginx forwards `-` (what it logs for an empty variable) when the client
/// sent no certificate. In every header format, from the trusted proxy, that is 401
/// `no_certificate`, never 400 `malformed_input`: also with the proxy's verification
/// header saying `NONE`, and again on a repeated request (the cached path).
#[tokio::test]
async fn a_forwarded_dash_is_no_certificate_in_every_format() {
    let (_, auth) = fixture();
    let no_certificate = (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#);
    for format in HeaderFormat::ALL {
        let name = format.default_header_name().unwrap_or("x-client-cert");
        let builder = || {
            let b = HeaderSource::builder(name, *format)
                .trusted_proxies(TrustedProxies::parse(["10.0.0.1"]).unwrap());
            if *format == HeaderFormat::Auto { b.allow_auto_detection() } else { b }
        };
        let plain = CertAuthLayer::new(auth.clone()).forwarded(builder().build().unwrap());
        let verified = CertAuthLayer::new(auth.clone()).forwarded(
            builder()
                .require_verification_header("x-ssl-client-verify", "SUCCESS")
                .build()
                .unwrap(),
        );
        for value in ["-", " - "] {
            for _ in 0..2 {
                let got = call(plain.clone(), "10.0.0.1", &[(name, value.to_owned())]).await;
                assert_eq!((got.0, got.1.as_str()), no_certificate, "{format} {value:?}");
                let headers = [(name, value.to_owned()), ("x-ssl-client-verify", "NONE".into())];
                let got = call(verified.clone(), "10.0.0.1", &headers).await;
                assert_eq!((got.0, got.1.as_str()), no_certificate, "{format} {value:?}");
            }
        }
    }
}
