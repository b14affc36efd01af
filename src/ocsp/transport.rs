//! How a request reaches a responder: the [`OcspTransport`] trait and its default
//! implementation on hyper's HTTP/1.1 client, [`HttpTransport`].

use std::fmt;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};

use crate::BoxFuture;
use crate::error::{Error, ErrorKind, Result};

/// Sends a DER `OCSPRequest` to a responder and returns the body of its answer: the
/// HTTP client of an [`OcspChecker`](super::OcspChecker), replaceable with
/// [`OcspCheckerBuilder::transport`](super::OcspCheckerBuilder::transport) (a proxy, a
/// client with your own connection pool, a test double).
///
/// The checker bounds every call: it drops the future after its timeout and refuses a
/// body longer than `max_response_bytes`, so an implementation cannot hang a request or
/// hand it an unbounded body; stopping early at the bound saves the reading. Any `Err`
/// counts as "responder unavailable" (the checker's unknown-status policy); keep its
/// message short and free of response bytes.
///
/// ```
/// use certauth::ocsp::OcspTransport;
/// use certauth::{BoxFuture, Error, ErrorKind, Result};
///
/// /// Answers every request with one prepared response (a test double).
/// #[derive(Debug)]
/// struct Canned(Vec<u8>);
///
/// impl OcspTransport for Canned {
///     fn post<'a>(
///         &'a self,
///         _url: &'a str,
///         _request: &'a [u8],
///         max_response_bytes: usize,
///     ) -> BoxFuture<'a, Result<Vec<u8>>> {
///         Box::pin(async move {
///             if self.0.len() > max_response_bytes {
///                 return Err(Error::new(ErrorKind::InputTooLarge, "response too large"));
///             }
///             Ok(self.0.clone())
///         })
///     }
/// }
/// ```
pub trait OcspTransport: Send + Sync + fmt::Debug {
    /// POSTs `request` (`Content-Type: application/ocsp-request`) to `url`, an
    /// `http://` URL, and returns the body of a `200` answer, at most
    /// `max_response_bytes` long.
    fn post<'a>(
        &'a self,
        url: &'a str,
        request: &'a [u8],
        max_response_bytes: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>>>;
}

/// The default [`OcspTransport`]: one HTTP/1.1 POST per request on a fresh connection,
/// with hyper's client on tokio. `http://` only (OCSP responses are signed; RFC 6960
/// A.1), no redirects (a `3xx` is an error like any status but `200`), no proxy; the
/// status line and headers are read within 16 KiB and the body up to the bound, no
/// further. Needs a tokio runtime (the checker runs inside the server's); outside one,
/// every call fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpTransport {
    _private: (),
}

impl HttpTransport {
    /// The transport.
    pub fn new() -> Self {
        Self::default()
    }
}

impl OcspTransport for HttpTransport {
    fn post<'a>(
        &'a self,
        url: &'a str,
        request: &'a [u8],
        max_response_bytes: usize,
    ) -> BoxFuture<'a, Result<Vec<u8>>> {
        Box::pin(post(url, request, max_response_bytes))
    }
}

fn failed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::RevocationUnknown, message.into())
}

/// Aborts the connection task when the exchange ends or is dropped (a timeout).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The byte bound of the read buffer, which holds the status line and headers.
const MAX_HEAD: usize = 16 * 1024;

async fn post(url: &str, request: &[u8], max: usize) -> Result<Vec<u8>> {
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(failed("the http transport needs a tokio runtime"));
    }
    let uri: http::Uri = url.parse().map_err(|_| failed("responder url is not a valid url"))?;
    if uri.scheme_str().is_none_or(|s| !s.eq_ignore_ascii_case("http")) {
        return Err(failed("responder url is not http://"));
    }
    let authority = uri.authority().ok_or_else(|| failed("responder url has no host"))?;
    if authority.as_str().contains('@') {
        return Err(failed("responder url has user information"));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']');
    let port = authority.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| failed(format!("cannot connect: {e}")))?;
    // The status line and headers are read within this buffer, so they are bounded too.
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(MAX_HEAD)
        .handshake::<_, Full<Bytes>>(hyper_util::rt::TokioIo::new(stream))
        .await
        .map_err(|e| failed(format!("http handshake failed: {e}")))?;
    let _connection = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let post = http::Request::post(target)
        .header(http::header::HOST, authority.as_str())
        .header(http::header::CONTENT_TYPE, "application/ocsp-request")
        .header(http::header::ACCEPT, "application/ocsp-response")
        .header(http::header::USER_AGENT, "certauth")
        .body(Full::new(Bytes::copy_from_slice(request)))
        .map_err(|_| failed("cannot build the http request"))?;
    let response = sender
        .send_request(post)
        .await
        .map_err(|e| failed(format!("http exchange failed: {e}")))?;
    if response.status() != http::StatusCode::OK {
        return Err(failed(format!("responder answered http {}", response.status().as_u16())));
    }
    let announced = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = announced
        && len > max as u64
    {
        return Err(Error::new(
            ErrorKind::InputTooLarge,
            format!("ocsp response of {len} bytes is over the limit of {max}"),
        ));
    }
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| failed(format!("reading the response failed: {e}")))?;
        if let Some(data) = frame.data_ref() {
            if out.len() + data.len() > max {
                return Err(Error::new(
                    ErrorKind::InputTooLarge,
                    format!("ocsp response is over the limit of {max} bytes"),
                ));
            }
            out.extend_from_slice(data);
        }
    }
    Ok(out)
}
