//! The shortcuts `setup::behind_proxy` and `setup::terminate_mtls`, from files on disk.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{PrivateKeyDer, ServerName};
use certauth::registry::{MemoryRegistry, RegisteredClient};
use certauth::setup::{Files, behind_proxy, terminate_mtls};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::testkit::proxy::{Nginx, Proxy as _};
use certauth::tower::ConnectionInfo;
use certauth::{AuthenticatedClient, HeaderFormat, Timestamp};
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tower::ServiceExt as _;

/// A directory with `ca.pem`, `clients.json` (client `alice`), and a server certificate.
struct Deployment {
    dir: PathBuf,
    root: Ca,
    alice: Leaf,
    bob: Leaf,
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn deployment(name: &str) -> Deployment {
    let dir = std::env::temp_dir().join(format!("certauth-setup-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let root = Ca::root("Setup Root");
    let alice = root.leaf("alice").build();
    let bob = root.leaf("bob").build();
    let server = root.leaf("localhost").dns("localhost").eku_server_auth_only().build();
    std::fs::write(dir.join("ca.pem"), root.pem()).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server.key_pem().unwrap()).unwrap();
    let registry = MemoryRegistry::new();
    registry.add_client(RegisteredClient::new("alice", "Alice")).unwrap();
    registry.register_certificate("alice", &alice.certificate(), Timestamp::now(), None).unwrap();
    registry.save_file(dir.join("clients.json")).unwrap();
    Deployment { dir, root, alice, bob }
}

fn whoami() -> Router {
    Router::new().route(
        "/whoami",
        get(|c: AuthenticatedClient| async move { c.client_id().unwrap_or("-").to_owned() }),
    )
}

/// Behind nginx: the forwarded certificate of a registered client from the proxy's
/// address is accepted; from anyone else it is refused; an unregistered certificate is
/// 403 (the registry file was read).
#[tokio::test]
async fn behind_proxy_reads_the_files_and_trusts_only_the_proxy() {
    let d = deployment("proxy");
    let files = Files::new(d.dir.join("ca.pem")).registry(d.dir.join("clients.json"));
    let layer =
        behind_proxy(&files, "x-ssl-client-cert", HeaderFormat::NginxEscaped, &["10.0.0.5"])
            .unwrap();
    let app = whoami().layer(layer);
    let send = |leaf: &Leaf, from: &str| {
        let (_, value) = Nginx.forward(leaf);
        let mut req = Request::get("/whoami").body(Body::empty()).unwrap();
        req.headers_mut().insert("x-ssl-client-cert", value.parse().unwrap());
        req.extensions_mut().insert(axum::extract::ConnectInfo(
            format!("{from}:1234").parse::<SocketAddr>().unwrap(),
        ));
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await.unwrap();
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
            (status, String::from_utf8_lossy(&body).into_owned())
        }
    };
    assert_eq!(send(&d.alice, "10.0.0.5").await, (StatusCode::OK, "alice".to_owned()));
    assert_eq!(send(&d.alice, "10.0.0.6").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(send(&d.bob, "10.0.0.5").await.0, StatusCode::FORBIDDEN);

    // Without a registry every verified certificate is accepted, without a client id.
    let open = behind_proxy(
        &Files::new(d.dir.join("ca.pem")),
        "x-ssl-client-cert",
        HeaderFormat::NginxEscaped,
        &["10.0.0.5"],
    )
    .unwrap();
    let (_, value) = Nginx.forward(&d.bob);
    let mut req = Request::get("/whoami").body(Body::empty()).unwrap();
    req.headers_mut().insert("x-ssl-client-cert", value.parse().unwrap());
    req.extensions_mut().insert(ConnectionInfo::new("10.0.0.5:1".parse().unwrap()));
    let res = whoami().layer(open).oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

/// Misconfigurations are typed errors naming what could not be used, never a panic or a
/// layer that accepts everyone.
#[test]
fn behind_proxy_refuses_a_broken_setup() {
    let d = deployment("broken");
    let ca = d.dir.join("ca.pem");
    let fmt = HeaderFormat::NginxEscaped;
    let err = |files: &Files, proxies: &[&str]| {
        behind_proxy(files, "x-ssl-client-cert", fmt, proxies).unwrap_err().to_string()
    };
    let missing = err(&Files::new(d.dir.join("nope.pem")), &["10.0.0.5"]);
    assert!(missing.contains("nope.pem"), "{missing}");
    let bad_registry = d.dir.join("bad.json");
    std::fs::write(&bad_registry, "{not json").unwrap();
    let registry = err(&Files::new(&ca).registry(&bad_registry), &["10.0.0.5"]);
    assert!(registry.contains("bad.json"), "{registry}");
    let no_proxy = err(&Files::new(&ca), &[]);
    assert!(no_proxy.contains("prox"), "{no_proxy}");
    assert!(err(&Files::new(&ca), &["0.0.0.0/0"]).contains("every IPv4"));
    assert!(err(&Files::new(&ca), &["nginx"]).contains("not an ip address"));
}

/// Terminating mTLS: the listener and the layer from files; a registered client gets
/// 200 with its id, and the listener is a real TLS listener.
#[tokio::test]
async fn terminate_mtls_serves_a_registered_client() {
    let d = deployment("mtls");
    let files = Files::new(d.dir.join("ca.pem")).registry(d.dir.join("clients.json"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (listener, layer) = terminate_mtls(
        &files,
        "127.0.0.1:0",
        d.dir.join("server.pem"),
        d.dir.join("server.key"),
        provider.clone(),
    )
    .await
    .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = whoami().layer(layer);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>()).await
    });
    let get = |leaf: &Leaf| {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(d.root.der().clone()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(leaf.key_pem().unwrap().as_bytes()).unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(leaf.chain(), key)
            .unwrap();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
                .connect(ServerName::try_from("localhost").unwrap(), tcp)
                .await
                .map_err(|e| e.to_string())?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let req = http::Request::get("/whoami")
                .header("host", "localhost")
                .body(Empty::<Bytes>::new())
                .unwrap();
            let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
            let status = res.status();
            let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok::<_, String>((status, String::from_utf8_lossy(&body).into_owned()))
        }
    };
    assert_eq!(get(&d.alice).await.unwrap(), (StatusCode::OK, "alice".to_owned()));
    // Bob's certificate is valid but not registered: 403 unknown_client.
    assert_eq!(
        get(&d.bob).await.unwrap(),
        (StatusCode::FORBIDDEN, r#"{"error":"unknown_client"}"#.to_owned())
    );

    // A key file that holds no key: a typed error naming the file.
    let no_key = d.dir.join("empty.key");
    std::fs::write(&no_key, "").unwrap();
    let e = terminate_mtls(&files, "127.0.0.1:0", d.dir.join("server.pem"), &no_key, provider)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("empty.key"), "{e}");
}
