//! Feature `axum-tls`: [`MtlsListener`], a TLS listener for `axum::serve`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use ::axum::extract::connect_info::Connected;
use ::axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::task::JoinSet;
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::authenticator::TRACING_TARGET;
use crate::error::ErrorKind;
use crate::tower::ConnectionInfo;

/// How long a client may take to complete its TLS handshake, by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many handshakes may be in progress at once, by default.
pub const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 1024;

/// A TCP listener that terminates TLS with rustls, for `axum::serve`.
///
/// Give it a `rustls::ServerConfig` whose client verifier is certauth's
/// [`MtlsClientVerifier`](crate::rustls::MtlsClientVerifier), and serve the router with
/// connect info of type [`ConnectionInfo`]: each request then carries the connection's
/// peer address and client certificates, which [`CertAuthLayer`](crate::tower::CertAuthLayer)
/// reads, so the [`AuthenticatedClient`](crate::AuthenticatedClient) extractor works
/// with no further glue.
///
/// ```no_run
/// # async fn demo(
/// #     authenticator: certauth::Authenticator,
/// #     tls: std::sync::Arc<rustls::ServerConfig>,
/// # ) -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::get};
/// use certauth::AuthenticatedClient;
/// use certauth::axum::MtlsListener;
/// use certauth::tower::{CertAuthLayer, ConnectionInfo};
///
/// let app = Router::new()
///     .route("/whoami", get(|c: AuthenticatedClient| async move { c.identity().subject().to_string() }))
///     .layer(CertAuthLayer::new(authenticator));
/// let listener = MtlsListener::bind("0.0.0.0:8443", tls).await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>()).await?;
/// # Ok(()) }
/// ```
///
/// **What it does with each connection.** Every accepted TCP connection's handshake runs
/// in its own task, so the accept loop never waits for a client: a client that connects
/// and sends nothing, or sends slowly, delays no one else. A handshake that takes longer
/// than the [handshake timeout](Self::handshake_timeout) (10 seconds by default) is
/// dropped, and at most [`max_pending_handshakes`](Self::max_pending_handshakes) (1,024
/// by default) run at once; past that, new connections wait in the kernel's backlog
/// until one finishes. A completed handshake is handed to `axum::serve`, which serves
/// HTTP/1.1 and HTTP/2 on it; when the `ServerConfig` names no ALPN protocols, the
/// listener offers `h2` and `http/1.1`.
///
/// **A refused handshake** never stops the accept loop. One refused for the client's
/// certificate is logged at info at target `certauth::auth` with its `kind` (the
/// [`ErrorKind`] name, e.g. `unknown_issuer`) and the `peer` address; any other failure
/// (a timeout, a protocol error, a closed connection) at debug with its `reason`.
/// Certificate bytes are never logged.
///
/// **Graceful shutdown** is axum's: `axum::serve(..).with_graceful_shutdown(signal)`
/// stops accepting, drops the listener (handshakes still in progress end with it) and
/// waits for the connections being served to finish.
pub struct MtlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    handshakes: JoinSet<(SocketAddr, Result<TlsStream<TcpStream>, Refusal>)>,
    timeout: Duration,
    max_pending: usize,
    /// After an accept error other than a dropped connection (e.g. too many open files),
    /// new connections wait a second; finished handshakes are still handed out.
    backoff: Option<Pin<Box<Sleep>>>,
}

impl fmt::Debug for MtlsListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsListener")
            .field("local_addr", &self.tcp.local_addr().ok())
            .field("pending_handshakes", &self.handshakes.len())
            .field("handshake_timeout", &self.timeout)
            .field("max_pending_handshakes", &self.max_pending)
            .finish_non_exhaustive()
    }
}

impl MtlsListener {
    /// A listener terminating TLS with `config` on the connections `tcp` accepts. When
    /// `config` names no ALPN protocols, `h2` and `http/1.1` are offered.
    pub fn new(tcp: TcpListener, config: Arc<::rustls::ServerConfig>) -> Self {
        let config = if config.alpn_protocols.is_empty() {
            let mut with_alpn = (*config).clone();
            with_alpn.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Arc::new(with_alpn)
        } else {
            config
        };
        Self {
            tcp,
            acceptor: TlsAcceptor::from(config),
            handshakes: JoinSet::new(),
            timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING_HANDSHAKES,
            backoff: None,
        }
    }

    /// Binds a TCP listener to `addr` and terminates TLS with `config` on it (see
    /// [`new`](Self::new)).
    pub async fn bind(
        addr: impl ToSocketAddrs,
        config: Arc<::rustls::ServerConfig>,
    ) -> io::Result<Self> {
        Ok(Self::new(TcpListener::bind(addr).await?, config))
    }

    /// The local address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// How long a client may take from its TCP connection to the end of its TLS
    /// handshake. Default: 10 seconds ([`DEFAULT_HANDSHAKE_TIMEOUT`]), long enough for a
    /// slow mobile client, short enough that idle connections do not pile up.
    ///
    /// ```no_run
    /// # async fn demo(tls: std::sync::Arc<rustls::ServerConfig>) -> std::io::Result<()> {
    /// let listener = certauth::axum::MtlsListener::bind("0.0.0.0:8443", tls)
    ///     .await?
    ///     .handshake_timeout(std::time::Duration::from_secs(5));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many handshakes may be in progress at once (at least one). Default: 1,024
    /// ([`DEFAULT_MAX_PENDING_HANDSHAKES`]), which bounds the memory and tasks a flood
    /// of silent connections can hold; past it, new connections wait in the kernel's
    /// backlog.
    ///
    /// ```no_run
    /// # async fn demo(tls: std::sync::Arc<rustls::ServerConfig>) -> std::io::Result<()> {
    /// let listener = certauth::axum::MtlsListener::bind("0.0.0.0:8443", tls)
    ///     .await?
    ///     .max_pending_handshakes(256);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn max_pending_handshakes(mut self, max: usize) -> Self {
        self.max_pending = max.max(1);
        self
    }

    /// Starts the handshake of a newly accepted connection in its own task.
    fn start(&mut self, stream: TcpStream, peer: SocketAddr) {
        let acceptor = self.acceptor.clone();
        let timeout = self.timeout;
        self.handshakes.spawn(async move {
            let accept = acceptor.accept(stream).into_fallible();
            let result = match tokio::time::timeout(timeout, accept).await {
                Ok(Ok(tls)) => Ok(tls),
                Ok(Err((e, tcp))) => {
                    linger(tcp).await;
                    Err(Refusal::Io(e))
                }
                Err(_) => Err(Refusal::Timeout),
            };
            (peer, result)
        });
    }
}

/// After a refused handshake (its alert already written): closes the sending side and
/// reads what the client still sends, briefly and boundedly, before the socket is
/// dropped. Dropping a socket with unread data makes the kernel answer with a reset,
/// which can reach the client before the alert does, so the client would see a broken
/// connection instead of the reason.
async fn linger(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    const MAX_DRAINED: usize = 64 * 1024;
    let drain = async {
        let _ = tcp.shutdown().await;
        let mut buf = [0u8; 4096];
        let mut drained = 0;
        while drained < MAX_DRAINED {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// Why a handshake did not complete.
enum Refusal {
    Io(io::Error),
    Timeout,
}

impl Refusal {
    /// The certauth error kind, when the client's certificate was refused.
    fn kind(&self) -> Option<ErrorKind> {
        match self {
            Self::Io(e) => e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<::rustls::Error>())
                .and_then(crate::rustls::error_kind_of),
            Self::Timeout => None,
        }
    }

    fn log(&self, peer: SocketAddr) {
        match self.kind() {
            Some(kind) => tracing::info!(
                target: TRACING_TARGET,
                kind = %kind,
                peer = %peer,
                "tls handshake refused",
            ),
            None => {
                let reason = match self {
                    Self::Io(e) => e.to_string(),
                    Self::Timeout => "handshake timeout".to_owned(),
                };
                tracing::debug!(target: TRACING_TARGET, reason, peer = %peer, "tls handshake failed");
            }
        }
    }
}

/// What woke the accept loop (a value on the stack for one turn of the loop, so the
/// size of the stream in it costs nothing).
#[allow(clippy::large_enum_variant)]
enum Event {
    Handshake(Result<(SocketAddr, Result<TlsStream<TcpStream>, Refusal>), tokio::task::JoinError>),
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    BackoffOver,
}

/// Whether an accept error concerns one connection only (retry at once).
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

impl Listener for MtlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    // Cancel-safe: `axum::serve` drops this future on a shutdown signal; an accepted
    // connection is already in `handshakes`, and neither wait loses anything when dropped.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let waiting = self.backoff.is_some();
            let can_accept = !waiting && self.handshakes.len() < self.max_pending;
            let Self { tcp, handshakes, backoff, .. } = &mut *self;
            let pending = !handshakes.is_empty();
            // Never all disabled: without room to accept, either a backoff or a
            // handshake is pending.
            let event = tokio::select! {
                Some(done) = handshakes.join_next(), if pending => Event::Handshake(done),
                accepted = TcpListener::accept(tcp), if can_accept => Event::Accepted(accepted),
                () = async {
                    if let Some(sleep) = backoff.as_mut() {
                        sleep.await;
                    }
                }, if waiting => Event::BackoffOver,
            };
            match event {
                Event::Handshake(Ok((peer, Ok(stream)))) => return (stream, peer),
                Event::Handshake(Ok((peer, Err(refusal)))) => refusal.log(peer),
                // A handshake task cannot panic short of a bug in rustls; its connection
                // is gone either way.
                Event::Handshake(Err(_)) => {}
                Event::Accepted(Ok((stream, peer))) => self.start(stream, peer),
                Event::Accepted(Err(e)) if is_connection_error(&e) => {}
                Event::Accepted(Err(e)) => {
                    tracing::error!(target: TRACING_TARGET, error = %e, "accept error");
                    self.backoff = Some(Box::pin(tokio::time::sleep(Duration::from_secs(1))));
                }
                Event::BackoffOver => self.backoff = None,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// `app.into_make_service_with_connect_info::<ConnectionInfo>()` on an [`MtlsListener`]
/// gives every request the connection's peer address and client certificates (leaf
/// first), which [`CertAuthLayer`](crate::tower::CertAuthLayer) reads from axum's
/// `ConnectInfo<ConnectionInfo>`.
impl Connected<IncomingStream<'_, MtlsListener>> for ConnectionInfo {
    fn connect_info(stream: IncomingStream<'_, MtlsListener>) -> Self {
        let info = ConnectionInfo::new(*stream.remote_addr());
        match stream.io().get_ref().1.peer_certificates() {
            Some(certs) if !certs.is_empty() => info.with_tls_certificates(certs.to_vec()),
            _ => info,
        }
    }
}
