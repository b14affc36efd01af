//! Shared by the examples: serving an axum router over mTLS (tokio-rustls) or plain
//! HTTP with `certauth::tower::ConnectionInfo` in every request, the `/whoami` handler,
//! and small HTTP clients for the demo. Not part of certauth's API.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use certauth::AuthenticatedClient;
use certauth::pki_types::CertificateDer;
use certauth::tower::ConnectionInfo;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tower::ServiceExt as _;

/// Logs to standard error, filtered by `RUST_LOG` (`info` when unset): refused requests
/// and handshakes show up at target `certauth::auth`.
pub(crate) fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .init();
}

/// Resolves on Ctrl-C (SIGINT): the reference servers' graceful shutdown.
pub(crate) async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

/// `GET /whoami`: who the certificate says the client is.
pub(crate) async fn whoami(client: AuthenticatedClient) -> Json<serde_json::Value> {
    let id = client.identity();
    Json(serde_json::json!({
        "subject": id.subject().to_rfc4514(),
        "x5t#S256": id.thumbprint().to_x5t_s256(),
        "spiffe_id": id.spiffe_id().map(|s| s.as_str().to_owned()),
        "client_id": client.client_id(),
        "source": id.source().to_string(),
    }))
}

/// Serves `router` on `listener`, one task per connection, each request carrying the
/// connection's peer address (and, with `tls`, its client certificates).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let Ok((stream, peer)) = listener.accept().await else { continue };
        let router = router.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => {
                    // A refused client certificate ends here, with the TLS alert sent.
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let certs: Option<Arc<[CertificateDer<'static>]>> =
                        tls.get_ref().1.peer_certificates().map(|c| c.to_vec().into());
                    let info = match certs {
                        Some(certs) => ConnectionInfo::new(peer).with_tls_certificates(certs),
                        None => ConnectionInfo::new(peer),
                    };
                    serve_connection(TokioIo::new(tls), router, info).await;
                }
                None => {
                    let info = ConnectionInfo::new(peer);
                    serve_connection(TokioIo::new(stream), router, info).await;
                }
            }
        });
    }
}

async fn serve_connection<I>(io: I, router: Router, info: ConnectionInfo)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(info.clone());
            router.clone().oneshot(req.map(axum::body::Body::new))
        });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
}

/// A response: status and body text.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: String,
}

/// `GET path` with extra headers over an established stream.
pub(crate) async fn get<I>(io: I, path: &str, headers: &[(&str, &str)]) -> Result<Reply, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = hyper::Request::get(path).header("host", "localhost");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
    let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok(Reply { status, body: String::from_utf8_lossy(&body).into_owned() })
}

/// Plain HTTP from a chosen local address (a "proxy" on 127.0.0.2, a client on 127.0.0.1).
pub(crate) async fn get_plain(
    from: std::net::IpAddr,
    to: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket.bind(SocketAddr::new(from, 0)).map_err(|e| e.to_string())?;
    let stream = socket.connect(to).await.map_err(|e| e.to_string())?;
    get(TokioIo::new(stream), path, headers).await
}

/// HTTPS with a client certificate; a refused handshake comes back as `Err(alert)`.
/// Plain HTTP/1.1 by hand, so the TLS alert surfaces as the read error it is.
pub(crate) async fn get_mtls(
    config: Arc<rustls::ClientConfig>,
    to: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Reply, String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let stream = TcpStream::connect(to).await.map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = certauth::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut tls = connector.connect(name, stream).await.map_err(|e| e.to_string())?;
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    // TLS 1.3: the server judges the client certificate after the client's Finished, so
    // a refusal shows up on the first read (or already on the write).
    let mut response = Vec::new();
    let io = async {
        tls.write_all(request.as_bytes()).await?;
        tls.read_to_end(&mut response).await
    };
    io.await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    let status = text.get(9..12).and_then(|s| s.parse().ok()).ok_or("no http status")?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // The body may be chunked: keep the JSON object.
    let body = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if a < b => body[a..=b].to_owned(),
        _ => body.to_owned(),
    };
    Ok(Reply { status, body })
}
