//! `certauth::axum::MtlsListener` under `axum::serve`: real TLS on loopback, HTTP/1.1 and
//! HTTP/2, refused handshakes, silent clients, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use certauth::AuthenticatedClient;
use certauth::RING_ALGORITHMS;
use certauth::axum::MtlsListener;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{PrivateKeyDer, ServerName};
use certauth::registry::{MemoryRegistry, RegisteredClient};
use certauth::rustls::MtlsClientVerifier;
use certauth::testkit::pki::{Ca, Leaf};
use certauth::tower::{CertAuthLayer, ConnectionInfo};
use certauth::{Authenticator, Timestamp, TrustStore, Verifier};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::common::trace;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A CA, a server certificate for `localhost` and a client `alice` registered to client
/// id `alice`; the router answers `/whoami` with the client id and `/slow` when told.
struct Setup {
    root: Ca,
    alice: Leaf,
    tls: Arc<rustls::ServerConfig>,
    auth: Authenticator,
}

fn setup() -> Setup {
    let root = Ca::root("Listener Root");
    let server = root.leaf("localhost").dns("localhost").eku_server_auth_only().build();
    let alice = root.leaf("alice").build();
    let registry = Arc::new(MemoryRegistry::new());
    registry.add_client(RegisteredClient::new("alice", "Alice")).unwrap();
    registry.register_certificate("alice", &alice.certificate(), Timestamp::now(), None).unwrap();
    let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
    let auth = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
        .registry(registry)
        .build()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(server.key_pem().unwrap().as_bytes()).unwrap();
    let tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(Arc::new(MtlsClientVerifier::new(auth.clone(), provider())))
        .with_single_cert(server.chain(), key)
        .unwrap();
    Setup { root, alice, tls: Arc::new(tls), auth }
}

fn app(auth: &Authenticator) -> Router {
    Router::new()
        .route(
            "/whoami",
            get(|c: AuthenticatedClient| async move {
                format!("{} {}", c.client_id().unwrap_or("-"), c.identity().thumbprint())
            }),
        )
        .layer(CertAuthLayer::new(auth.clone()))
}

/// Serves `app` on `listener` in a task; returns the address.
fn serve(listener: MtlsListener, app: Router) -> SocketAddr {
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>()).await
    });
    addr
}

fn client_config(root: &Ca, client: &Leaf, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.der().clone()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(client.key_pem().unwrap().as_bytes()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(client.chain(), key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// Connects over TCP; returns the stream and its local address (the server's peer).
async fn connect(addr: SocketAddr) -> (TcpStream, SocketAddr) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let local = tcp.local_addr().unwrap();
    (tcp, local)
}

async fn tls(
    tcp: TcpStream,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<TlsStream<TcpStream>> {
    let connector = tokio_rustls::TlsConnector::from(config);
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await
}

/// `GET path` over HTTP/1.1 or, when the server chose it by ALPN, HTTP/2; returns the
/// protocol version, status and body, or the error (a refused certificate's alert).
async fn get_over(
    stream: TlsStream<TcpStream>,
    path: &str,
) -> Result<(http::Version, u16, String), String> {
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    let io = TokioIo::new(stream);
    let req = http::Request::get(format!("https://localhost{path}"))
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let res = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        sender.send_request(req).await.map_err(|e| e.to_string())?
    } else {
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        sender.send_request(req).await.map_err(|e| e.to_string())?
    };
    let version = res.version();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((version, status, String::from_utf8_lossy(&body).into_owned()))
}

/// A full request as `client`: TCP, TLS, `GET path`.
async fn request(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    path: &str,
) -> Result<(http::Version, u16, String), String> {
    let (tcp, _) = connect(addr).await;
    let stream = tls(tcp, config).await.map_err(|e| e.to_string())?;
    get_over(stream, path).await
}

/// A valid client gets 200 and its identity over HTTP/1.1 and over HTTP/2 (by ALPN),
/// through the layer and the extractor with no glue but the connect-info type.
#[tokio::test]
async fn mtls_listener_serves_a_valid_client_over_http1_and_http2() {
    let s = setup();
    let listener = MtlsListener::bind("127.0.0.1:0", s.tls.clone()).await.unwrap();
    let addr = serve(listener, app(&s.auth));
    let expected = format!("alice {}", certauth::Thumbprint::of(s.alice.der()));

    let h1 = client_config(&s.root, &s.alice, &[b"http/1.1"]);
    assert_eq!(
        request(addr, h1, "/whoami").await.unwrap(),
        (http::Version::HTTP_11, 200, expected.clone())
    );
    let h2 = client_config(&s.root, &s.alice, &[b"h2", b"http/1.1"]);
    assert_eq!(request(addr, h2, "/whoami").await.unwrap(), (http::Version::HTTP_2, 200, expected));
    // No ALPN at all: HTTP/1.1.
    let none = client_config(&s.root, &s.alice, &[]);
    assert_eq!(request(addr, none, "/whoami").await.unwrap().1, 200);
}

/// A client of an unknown CA fails the handshake; the refusal is logged at target
/// `certauth::auth` with its kind and the peer address (and nothing else), and the
/// listener keeps serving.
#[tokio::test]
async fn mtls_listener_logs_a_refused_handshake_and_keeps_accepting() {
    let s = setup();
    let listener = MtlsListener::bind("127.0.0.1:0", s.tls.clone()).await.unwrap();
    let addr = serve(listener, app(&s.auth));
    let stranger = Ca::root("Stranger Root").leaf("mallory").build();
    let before = trace::events().len();

    let (tcp, mallory_addr) = connect(addr).await;
    let config = client_config(&s.root, &stranger, &[]);
    // TLS 1.3: the server judges the certificate after the client's Finished, so the
    // alert arrives on the first read.
    if let Ok(stream) = tls(tcp, config).await {
        get_over(stream, "/whoami").await.expect_err("an unknown CA is refused");
    }

    // The loop is still accepting.
    let good = client_config(&s.root, &s.alice, &[]);
    assert_eq!(request(addr, good, "/whoami").await.unwrap().1, 200);

    let events = trace::events();
    let refusals: Vec<_> = events[before..]
        .iter()
        .filter(|e| e.field("message") == Some("tls handshake refused"))
        .collect();
    assert_eq!(refusals.len(), 1, "{events:?}");
    let refusal = refusals[0];
    assert_eq!(refusal.level, tracing::Level::INFO);
    assert_eq!(refusal.field("kind"), Some("unknown_issuer"));
    assert_eq!(refusal.field("peer"), Some(mallory_addr.to_string().as_str()));
    let names: Vec<_> = refusal.fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["message", "kind", "peer"], "no certificate bytes, nothing else");
}

/// A client with no certificate at all is refused in the handshake with kind
/// `no_certificate`.
#[tokio::test]
async fn mtls_listener_logs_a_missing_client_certificate() {
    let s = setup();
    let listener = MtlsListener::bind("127.0.0.1:0", s.tls.clone()).await.unwrap();
    let addr = serve(listener, app(&s.auth));
    let before = trace::events().len();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(s.root.der().clone()).unwrap();
    let anonymous = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    assert!(request(addr, anonymous, "/whoami").await.is_err());
    let good = client_config(&s.root, &s.alice, &[]);
    assert_eq!(request(addr, good, "/whoami").await.unwrap().1, 200);
    let kinds: Vec<_> = trace::events()[before..]
        .iter()
        .filter_map(|e| e.field("kind").map(str::to_owned))
        .collect();
    assert_eq!(kinds, ["no_certificate"]);
}

/// Regression guard for a handshake on the accept loop: a client that connects and sends
/// nothing holds no one up. With a one-hour handshake timeout, a valid client is served
/// while the silent connection is still open.
#[tokio::test]
async fn a_silent_client_does_not_block_another() {
    let s = setup();
    let listener = MtlsListener::bind("127.0.0.1:0", s.tls.clone())
        .await
        .unwrap()
        .handshake_timeout(Duration::from_secs(3600));
    let addr = serve(listener, app(&s.auth));
    let (silent, _) = connect(addr).await;
    let (silent_too, _) = connect(addr).await;

    let good = client_config(&s.root, &s.alice, &[]);
    // A guard against hanging forever, not a measurement: a loop that handshakes in turn
    // never gets here.
    let served = tokio::time::timeout(Duration::from_secs(60), request(addr, good, "/whoami"))
        .await
        .expect("a silent client blocked the accept loop");
    assert_eq!(served.unwrap().1, 200);
    // Both silent connections are still open: the server has neither answered nor closed.
    let mut buf = [0u8; 1];
    for silent in [&silent, &silent_too] {
        match silent.try_read(&mut buf) {
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock),
            Ok(n) => panic!("silent connection got {n} bytes or was closed"),
        }
    }
}

/// A handshake that takes longer than the timeout is dropped (the connection closes),
/// logged at debug with its reason, and the listener goes on. With room for a single
/// pending handshake, the next client waits for the timeout and is then served.
#[tokio::test]
async fn a_handshake_past_its_timeout_is_dropped() {
    let s = setup();
    let listener = MtlsListener::bind("127.0.0.1:0", s.tls.clone())
        .await
        .unwrap()
        .handshake_timeout(Duration::from_millis(100))
        .max_pending_handshakes(1);
    let addr = serve(listener, app(&s.auth));
    let before = trace::events().len();
    let (mut silent, silent_addr) = connect(addr).await;
    let good = client_config(&s.root, &s.alice, &[]);
    assert_eq!(request(addr, good, "/whoami").await.unwrap().1, 200);
    let mut buf = Vec::new();
    // Closed by the server: end of stream (or a reset), never data.
    if let Ok(n) = silent.read_to_end(&mut buf).await {
        assert_eq!(n, 0);
    }
    let timeouts: Vec<_> = trace::events()[before..]
        .iter()
        .filter(|e| e.field("reason") == Some("handshake timeout"))
        .cloned()
        .collect();
    assert_eq!(timeouts.len(), 1, "{timeouts:?}");
    assert_eq!(timeouts[0].level, tracing::Level::DEBUG);
    assert_eq!(timeouts[0].field("peer"), Some(silent_addr.to_string().as_str()));
}

/// Graceful shutdown as axum does it: on the signal no new connection is accepted, the
/// request in flight is answered, then `serve` returns.
#[tokio::test]
async fn graceful_shutdown_finishes_the_request_in_flight() {
    let s = setup();
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel::<()>();
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let gates = Arc::new(std::sync::Mutex::new((Some(entered_tx), Some(release_rx))));
    let app = Router::new()
        .route(
            "/slow",
            get(move |c: AuthenticatedClient| {
                let gates = gates.clone();
                async move {
                    let (entered, release) = {
                        let mut g = gates.lock().unwrap();
                        (g.0.take(), g.1.take())
                    };
                    if let (Some(entered), Some(release)) = (entered, release) {
                        let _ = entered.send(());
                        let _ = release.await;
                    }
                    c.client_id().unwrap_or("-").to_owned()
                }
            }),
        )
        .layer(CertAuthLayer::new(s.auth.clone()));
    let listener = MtlsListener::bind("127.0.0.1:0", s.tls.clone()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>())
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
    });
    let config = client_config(&s.root, &s.alice, &[]);
    let in_flight = tokio::spawn(request(addr, config.clone(), "/slow"));
    entered_rx.await.unwrap();
    stop_tx.send(()).unwrap();
    // The server is draining: it cannot finish while the request waits.
    tokio::task::yield_now().await;
    assert!(!server.is_finished());
    release_tx.send(()).unwrap();
    assert_eq!(in_flight.await.unwrap().unwrap().2, "alice");
    server.await.unwrap().unwrap();
    // The listener is gone: no new connection.
    assert!(TcpStream::connect(addr).await.is_err());
}

/// Regression: served without connect info (`axum::serve(listener, app)`), no request
/// carries its connection's certificates, so a TLS-only layer can never authenticate
/// anyone. That is answered 500 `missing_connection_info` (not the 401 `no_certificate`
/// of a client that sent none) and logged at warn once, with the fix.
#[tokio::test]
async fn served_without_connect_info_is_a_configuration_error() {
    let s = setup();
    let listener = MtlsListener::bind("127.0.0.1:0", s.tls.clone()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app(&s.auth);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let before = trace::count("fix");
    let config = client_config(&s.root, &s.alice, &[]);
    for _ in 0..2 {
        let (_, status, body) = request(addr, config.clone(), "/whoami").await.unwrap();
        assert_eq!((status, body.as_str()), (500, r#"{"error":"missing_connection_info"}"#));
    }
    assert_eq!(trace::count("fix") - before, 1, "one warning for two requests");
    let warning = trace::events().into_iter().rev().find(|e| e.field("fix").is_some()).unwrap();
    assert_eq!(warning.level, tracing::Level::WARN);
    assert!(warning.field("fix").unwrap().contains("ConnectionInfo"));
}
