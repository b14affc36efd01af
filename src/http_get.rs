//! A minimal blocking HTTP/1.1 GET for fetching CRLs and issuer certificates: `http://`
//! only, one request per connection, no redirects, a whole-exchange deadline and a byte
//! bound on the body.
//! Every malformed, oversized, truncated or slow response is an [`Error`], never a panic.

use std::io::Write as _;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs as _};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};

/// The byte bound of the status line and headers together.
const MAX_HEAD: usize = 16 * 1024;
/// The byte bound of one chunk-size line or trailer line of a chunked body.
const MAX_CHUNK_LINE: usize = 1024;

/// The `Accept` header of a CRL fetch.
pub(crate) const ACCEPT_CRL: &str = "application/pkix-crl, application/x-pem-file, */*";
/// The `Accept` header of an issuer certificate fetch.
pub(crate) const ACCEPT_CERT: &str = "application/pkix-cert, application/x-pem-file, */*";

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::MalformedInput, message.into())
}

/// An `http://` URL split into what a request needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HttpUrl {
    /// The URL as given.
    text: String,
    /// The host as written in the URL (an IPv6 literal keeps its brackets).
    host: String,
    port: u16,
    /// Path and query, starting with `/`.
    target: String,
}

impl HttpUrl {
    /// Parses `url`: the scheme must be `http` (any case); no user information; a host,
    /// an optional port, an optional path and query. Anything else is refused.
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let refuse = |why: &str| Error::new(ErrorKind::MalformedInput, why.to_owned());
        if url.bytes().any(|b| b.is_ascii_control() || b == b' ' || !b.is_ascii()) {
            return Err(refuse("url has spaces, control or non-ascii characters"));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(refuse("not an http:// url"));
        };
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(refuse(
                "only http:// urls are fetched (crls are signed; no https, file or other schemes)",
            ));
        }
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        if authority.contains('@') {
            return Err(refuse("url has user information"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((addr, after)) = v6.split_once(']') else {
                return Err(refuse("url has an unclosed ipv6 literal"));
            };
            if addr.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(refuse("url has an invalid ipv6 literal"));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| refuse("url has an invalid port"))?),
            };
            (format!("[{addr}]"), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        if host.is_empty()
            || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b))
        {
            return Err(refuse("url has no valid host"));
        }
        let port = match port {
            None | Some("") => 80,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| refuse("url has an invalid port"))?,
            Some(_) => return Err(refuse("url has an invalid port")),
        };
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        Ok(Self { text: url.to_owned(), host, port, target })
    }

    /// The URL as given.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The host as written in the URL, an IPv6 literal in brackets.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The port, 80 when the URL names none.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    fn host_header(&self) -> String {
        if self.port == 80 { self.host.clone() } else { format!("{}:{}", self.host, self.port) }
    }

    fn addrs(&self) -> Result<Vec<SocketAddr>, Error> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        (host, self.port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|e| Error::new(ErrorKind::MalformedInput, format!("cannot resolve host: {e}")))
    }
}

/// Fetches `url` with one GET, asking for the media types in `accept`, and returns the body of a `200` response, at most `max`
/// bytes. The whole exchange (resolution aside, connect, send, receive) ends within
/// `timeout`. A redirect, any other status, a malformed or truncated response and a
/// body over `max` are errors.
pub(crate) fn get(
    url: &HttpUrl,
    accept: &str,
    max: usize,
    timeout: Duration,
) -> Result<Vec<u8>, Error> {
    let deadline = Instant::now() + timeout;
    let addrs = url.addrs()?;
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        let left = remaining(deadline)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        return Err(Error::new(
            ErrorKind::MalformedInput,
            match last {
                Some(e) => format!("cannot connect: {e}"),
                None => "host has no address".to_owned(),
            },
        ));
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: certauth\r\nAccept: {accept}\r\nConnection: close\r\n\r\n",
        url.target,
        url.host_header()
    );
    stream.set_write_timeout(Some(remaining(deadline)?)).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut conn = Conn { stream, buf: Vec::new(), pos: 0, deadline, eof: false };
    read_response(&mut conn, max)
}

fn remaining(deadline: Instant) -> Result<Duration, Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::new(ErrorKind::MalformedInput, "timed out"));
    }
    Ok(left)
}

fn io(e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            Error::new(ErrorKind::MalformedInput, "timed out")
        }
        _ => Error::new(ErrorKind::MalformedInput, format!("connection failed: {e}")),
    }
}

/// A byte source with a deadline: every read waits at most until the deadline.
struct Conn<R> {
    stream: R,
    buf: Vec<u8>,
    pos: usize,
    deadline: Instant,
    eof: bool,
}

trait Timed: std::io::Read {
    fn set_timeout(&mut self, left: Duration) -> std::io::Result<()>;
}

impl Timed for TcpStream {
    fn set_timeout(&mut self, left: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(left))
    }
}

impl<R: Timed> Conn<R> {
    /// Reads more bytes into the buffer; `false` at the end of the stream.
    fn fill(&mut self) -> Result<bool, Error> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let left = remaining(self.deadline)?;
        self.stream.set_timeout(left).map_err(io)?;
        let mut chunk = [0u8; 16 * 1024];
        let n = loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(true)
    }

    fn pending(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Reads up to and including the next `\r\n` (or `\n`), at most `max` bytes; returns
    /// the line without its end.
    fn line(&mut self, max: usize, what: &str) -> Result<Vec<u8>, Error> {
        loop {
            if let Some(i) = self.pending().iter().position(|&b| b == b'\n') {
                if i > max {
                    return Err(malformed(format!("{what} is too long")));
                }
                let mut line = self.pending()[..i].to_vec();
                self.pos += i + 1;
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            if self.pending().len() > max {
                return Err(malformed(format!("{what} is too long")));
            }
            if !self.fill()? {
                return Err(malformed(format!("response truncated in the {what}")));
            }
        }
    }

    /// Appends exactly `n` bytes to `out`.
    fn exact(&mut self, mut n: usize, out: &mut Vec<u8>) -> Result<(), Error> {
        while n > 0 {
            if self.pending().is_empty() && !self.fill()? {
                return Err(malformed("response body truncated"));
            }
            let take = n.min(self.pending().len());
            out.extend_from_slice(&self.pending()[..take]);
            self.pos += take;
            n -= take;
        }
        Ok(())
    }

    /// Appends everything up to the end of the stream to `out`, at most `max` bytes in all.
    fn until_end(&mut self, max: usize, out: &mut Vec<u8>) -> Result<(), Error> {
        loop {
            out.extend_from_slice(self.pending());
            self.pos = self.buf.len();
            if out.len() > max {
                return Err(too_large(max));
            }
            if !self.fill()? {
                return Ok(());
            }
        }
    }
}

fn too_large(max: usize) -> Error {
    Error::new(ErrorKind::InputTooLarge, format!("response body is larger than {max} bytes"))
}

fn read_response<R: Timed>(conn: &mut Conn<R>, max: usize) -> Result<Vec<u8>, Error> {
    let mut head = 0usize;
    let status = conn.line(MAX_HEAD, "status line")?;
    head += status.len();
    let status = std::str::from_utf8(&status).map_err(|_| malformed("invalid status line"))?;
    let mut parts = status.splitn(3, ' ');
    let (version, code) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") || code.len() != 3 {
        return Err(malformed("not an http/1.x response"));
    }
    let code: u16 = code.parse().map_err(|_| malformed("invalid status code"))?;
    if (300..400).contains(&code) {
        return Err(malformed(format!("redirect refused (status {code})")));
    }
    if code != 200 {
        return Err(malformed(format!("status {code}")));
    }
    let mut length: Option<usize> = None;
    let mut chunked = false;
    loop {
        let line = conn.line(MAX_HEAD - head.min(MAX_HEAD), "headers")?;
        head += line.len() + 2;
        if head > MAX_HEAD {
            return Err(malformed("headers are too long"));
        }
        if line.is_empty() {
            break;
        }
        let line = std::str::from_utf8(&line).map_err(|_| malformed("invalid header"))?;
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed("invalid header"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed("invalid content-length"));
            }
            // Too many digits for a usize is too large, not malformed.
            let n = value.parse::<usize>().unwrap_or(usize::MAX);
            if length.is_some_and(|l| l != n) {
                return Err(malformed("conflicting content-length headers"));
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("chunked") || chunked {
                return Err(malformed("unsupported transfer-encoding"));
            }
            chunked = true;
        }
    }
    let mut body = Vec::new();
    match (chunked, length) {
        (true, Some(_)) => {
            return Err(malformed("both content-length and transfer-encoding"));
        }
        (false, Some(n)) => {
            if n > max {
                return Err(too_large(max));
            }
            conn.exact(n, &mut body)?;
        }
        (false, None) => conn.until_end(max, &mut body)?,
        (true, None) => loop {
            let line = conn.line(MAX_CHUNK_LINE, "chunk size")?;
            let size = line.split(|&b| b == b';').next().unwrap_or(&[]);
            let size = std::str::from_utf8(size).map_err(|_| malformed("invalid chunk size"))?;
            let size = size.trim();
            if size.is_empty() || !size.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(malformed("invalid chunk size"));
            }
            let size = usize::from_str_radix(size, 16).unwrap_or(usize::MAX);
            if size == 0 {
                // Trailers, bounded, up to the empty line.
                let mut trailers = 0usize;
                loop {
                    let t = conn.line(MAX_CHUNK_LINE, "trailers")?;
                    trailers += t.len();
                    if t.is_empty() {
                        break;
                    }
                    if trailers > MAX_HEAD {
                        return Err(malformed("trailers are too long"));
                    }
                }
                break;
            }
            if size > max.saturating_sub(body.len()) {
                return Err(too_large(max));
            }
            conn.exact(size, &mut body)?;
            if !conn.line(1, "chunk end")?.is_empty() {
                return Err(malformed("invalid chunk end"));
            }
        },
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::net::TcpListener;
    use std::thread::JoinHandle;

    /// A server on 127.0.0.1 that answers one connection: it reads the request head,
    /// then writes `parts` with `pause` between them, then closes.
    fn serve(parts: Vec<Vec<u8>>, pause: Duration) -> (HttpUrl, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut b = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = s.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&b[..n]);
            }
            for part in parts {
                if s.write_all(&part).is_err() {
                    break;
                }
                let _ = s.flush();
                std::thread::sleep(pause);
            }
            String::from_utf8_lossy(&request).into_owned()
        });
        (HttpUrl::parse(&format!("http://127.0.0.1:{port}/ca.crl")).unwrap(), handle)
    }

    fn fetch(parts: &[&[u8]]) -> Result<Vec<u8>, Error> {
        let (url, server) = serve(parts.iter().map(|p| p.to_vec()).collect(), Duration::ZERO);
        let got = get(&url, ACCEPT_CRL, 64, Duration::from_secs(10));
        server.join().unwrap();
        got
    }

    fn message(r: Result<Vec<u8>, Error>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn a_content_length_body_is_returned_and_the_request_is_well_formed() {
        let (url, server) = serve(
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/pkix-crl\r\n\r\nhello".to_vec()],
            Duration::ZERO,
        );
        assert_eq!(get(&url, ACCEPT_CRL, 64, Duration::from_secs(10)).unwrap(), b"hello");
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /ca.crl HTTP/1.1\r\n"), "{request}");
        assert!(request.contains(&format!("\r\nHost: 127.0.0.1:{}\r\n", url.port)), "{request}");
        assert!(request.contains("\r\nConnection: close\r\n"), "{request}");
    }

    #[test]
    fn chunked_and_close_delimited_bodies_are_returned() {
        let chunked = fetch(&[
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"3;ext=1\r\nhel\r\n",
            b"2\r\nlo\r\n0\r\nX-Trailer: 1\r\n\r\n",
        ]);
        assert_eq!(chunked.unwrap(), b"hello");
        let closed = fetch(&[b"HTTP/1.0 200 OK\r\n\r\nhel", b"lo"]);
        assert_eq!(closed.unwrap(), b"hello");
    }

    #[test]
    fn an_oversized_body_is_refused_however_it_is_framed() {
        let big = vec![b'x'; 65];
        let mut framed = b"HTTP/1.1 200 OK\r\nContent-Length: 65\r\n\r\n".to_vec();
        framed.extend_from_slice(&big);
        assert!(message(fetch(&[&framed])).contains("larger than 64 bytes"));
        let huge = fetch(&[b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"]);
        assert_eq!(huge.unwrap_err().kind(), ErrorKind::InputTooLarge);
        let mut closed = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        closed.extend_from_slice(&big);
        assert_eq!(fetch(&[&closed]).unwrap_err().kind(), ErrorKind::InputTooLarge);
        let chunks = fetch(&[
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"20\r\n",
            &[b'x'; 32],
            b"\r\n21\r\n",
        ]);
        assert_eq!(chunks.unwrap_err().kind(), ErrorKind::InputTooLarge);
        let hex = fetch(&[
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffffff\r\n",
        ]);
        assert_eq!(hex.unwrap_err().kind(), ErrorKind::InputTooLarge);
        let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
        assert!(message(fetch(&[&head])).contains("too long"));
    }

    #[test]
    fn a_truncated_response_is_refused() {
        for parts in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"[..],
            b"HTTP/1.1 200 OK\r\nContent-Le",
            b"HTTP/1.1 200",
            b"",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        ] {
            let e = fetch(&[parts]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{e}");
            assert!(e.to_string().contains("truncated"), "{e}");
        }
    }

    #[test]
    fn a_redirect_and_any_status_but_200_are_refused() {
        let moved = fetch(&[
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/x\r\nContent-Length: 0\r\n\r\n",
        ]);
        assert!(message(moved).contains("redirect refused (status 302)"));
        assert!(
            message(fetch(&[b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"]))
                .contains("status 404")
        );
        assert!(message(fetch(&[b"HTTP/1.1 204 No Content\r\n\r\n"])).contains("status 204"));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for parts in [
            &b"garbage\r\n\r\n"[..],
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 2x0 OK\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\nab",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n0\r\n\r\n",
        ] {
            let e = fetch(&[parts]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{e}");
        }
    }

    #[test]
    fn a_slow_server_times_out() {
        // Headers, then one byte of a five-byte body every 300 ms: the one-second deadline
        // covers the whole exchange, not each read.
        let mut parts = vec![b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n".to_vec()];
        parts.extend((0..50).map(|_| b"x".to_vec()));
        let (url, server) = serve(parts, Duration::from_millis(300));
        let e = get(&url, ACCEPT_CRL, 64, Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().contains("timed out"), "{e}");
        server.join().unwrap();
    }

    #[test]
    fn a_closed_port_is_an_error() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = HttpUrl::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        assert!(
            message(get(&url, ACCEPT_CRL, 64, Duration::from_secs(5))).contains("cannot connect")
        );
    }

    #[test]
    fn only_plain_http_urls_parse() {
        let ok = HttpUrl::parse("HTTP://crl.example.test/ca.crl?x=1#frag").unwrap();
        assert_eq!(
            (ok.host.as_str(), ok.port, ok.target.as_str()),
            ("crl.example.test", 80, "/ca.crl?x=1")
        );
        assert_eq!(ok.host_header(), "crl.example.test");
        let v6 = HttpUrl::parse("http://[::1]:8080").unwrap();
        assert_eq!((v6.host.as_str(), v6.port, v6.target.as_str()), ("[::1]", 8080, "/"));
        assert_eq!(v6.host_header(), "[::1]:8080");
        for bad in [
            "https://crl.example.test/ca.crl",
            "file:///etc/ca.crl",
            "ftp://crl.example.test/ca.crl",
            "ldap://crl.example.test/cn=ca",
            "/etc/ca.crl",
            "http://",
            "http:///ca.crl",
            "http://user:pw@crl.example.test/",
            "http://crl.example.test:0/",
            "http://crl.example.test:65536/",
            "http://crl.example.test:8o/",
            "http://[::1/",
            "http://[nope]/",
            "http://crl example/",
            "http://crl.example.test/\r\nX: y",
            "http://crl.exämple.test/",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
