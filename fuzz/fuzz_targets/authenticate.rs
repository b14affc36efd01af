//! End to end: an arbitrary header map and peer address through the tower layer and the
//! Authenticator (forwarded header source, client-id header, token confirmation). Never
//! panics; an accepted request is always a client of the test PKI (the fuzzer cannot
//! forge a signature), a header from an untrusted peer is never accepted, and when the
//! proxy's verification signal is required, nothing is accepted without it.
#![no_main]
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use certauth::http::{HeaderSource, TrustedProxies};
use certauth::tower::{CertAuthLayer, ConnectionInfo};
use certauth::{Verifier, RING_ALGORITHMS};
use certauth::{AuthenticatedClient, Authenticator, HeaderFormat, Timestamp, TrustStore};
use libfuzzer_sys::fuzz_target;
use tower_layer::Layer as _;
use tower_service::Service as _;

static AUTH: LazyLock<Authenticator> = LazyLock::new(|| {
    let bundle = include_bytes!("../../tests/data/pki/ca-bundle.pem");
    let store = TrustStore::builder()
        .add_pem(bundle)
        .and_then(|b| b.check_at(Timestamp::from_unix_secs(1_800_000_000)).build())
        .expect("test pki");
    let registry = Arc::new(certauth::registry::MemoryRegistry::new());
    Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().expect("verifier"))
        .registry(registry)
        .unregistered(certauth::Unregistered::Anonymous)
        // On this thread: a panic in verification must reach the fuzzer, not be caught
        // by a verification thread.
        .verification_threads(0)
        .build()
        .expect("authenticator")
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let format = HeaderFormat::ALL[usize::from(selector) % HeaderFormat::ALL.len()];
    // Bit 6 of the selector requires the proxy's verdict `x-verify: SUCCESS`.
    let verdict_required = selector & 0x40 != 0;
    let mut builder = HeaderSource::builder("x-cert", format)
        .trusted_proxies(TrustedProxies::parse(["10.0.0.1/32"]).expect("cidr"))
        .allow_auto_detection();
    if verdict_required {
        builder = builder.require_verification_header("x-verify", "SUCCESS");
    }
    let Ok(source) = builder.build() else { return };
    // Lines "name: value" separated by LF make the header map; the top bit of the
    // selector picks a trusted or an untrusted peer.
    let trusted = selector & 0x80 != 0;
    let mut request = http::Request::get("/").body(String::new()).expect("request");
    for line in rest.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name), http::HeaderValue::from_bytes(value))
        else {
            continue;
        };
        request.headers_mut().append(name, value);
    }
    let peer = if trusted { Ipv4Addr::new(10, 0, 0, 1) } else { Ipv4Addr::new(10, 0, 0, 2) };
    request.extensions_mut().insert(ConnectionInfo::new(SocketAddr::new(IpAddr::V4(peer), 443)));
    let layer = CertAuthLayer::new(AUTH.clone())
        .forwarded(source)
        .optional()
        .client_id_header(http::HeaderName::from_static("x-client-id"))
        .token_confirmation(|h| h.get("x-cnf").map(|v| v.to_str().ok().map(str::to_owned)));
    let mut service = layer.layer(tower_service_fn(move |req: http::Request<String>| {
        let client = req.extensions().get::<AuthenticatedClient>().cloned();
        if let Some(c) = &client {
            assert!(trusted, "a header from an untrusted peer was accepted");
            if verdict_required {
                let verdicts: Vec<_> = req.headers().get_all("x-verify").iter().collect();
                assert_eq!(verdicts, ["SUCCESS"], "accepted without the proxy's verdict");
            }
            assert_eq!(
                c.identity().issuer().common_name(),
                Some("Example Test Intermediate CA"),
                "accepted a certificate from outside the test pki"
            );
        }
        std::future::ready(Ok::<_, std::convert::Infallible>(http::Response::new(String::new())))
    }));
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut fut = std::pin::pin!(service.call(request));
    loop {
        if let std::task::Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
            let response = r.expect("infallible");
            assert!(response.status().as_u16() < 500 || response.status().as_u16() == 503);
            break;
        }
    }
});

/// A minimal `tower::service_fn` (the fuzz crate avoids depending on tower itself).
fn tower_service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn(f)
}

#[derive(Clone)]
struct ServiceFn<F>(F);

impl<F, Fut, Req, Res, E> tower_service::Service<Req> for ServiceFn<F>
where
    F: FnMut(Req) -> Fut,
    Fut: std::future::Future<Output = Result<Res, E>>,
{
    type Response = Res;
    type Error = E;
    type Future = Fut;
    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), E>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: Req) -> Fut {
        (self.0)(req)
    }
}
