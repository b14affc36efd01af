//! Feature `http`: forwarded client certificates from an [`http::HeaderMap`], read only
//! when the request came from a trusted proxy; and the response to a refused request
//! ([`ErrorResponse`], with the status of each [`ErrorKind`] from [`status_for`]).
//!
//! Nothing here reads the clock: a function that verifies a proxy's certificate takes the
//! time as `now`.
//!
//! ```
//! use std::net::IpAddr;
//! use certauth::http::{HeaderSource, TrustedProxies};
//! use certauth::HeaderFormat;
//!
//! let source = HeaderSource::builder("x-forwarded-client-cert", HeaderFormat::Xfcc)
//!     .trusted_proxies(TrustedProxies::parse(["10.0.0.0/8", "::1"])?)
//!     .build()?;
//!
//! let mut headers = http::HeaderMap::new();
//! headers.insert("x-forwarded-client-cert", "By=spiffe://x;Hash=00".parse()?);
//! // From a peer that is not a trusted proxy, the header is a spoofing attempt.
//! let peer: IpAddr = "192.0.2.7".parse()?;
//! let err = source.extract(&headers, peer).unwrap_err();
//! assert_eq!(err.kind(), certauth::ErrorKind::UntrustedSource);
//! assert_eq!(certauth::http::status_for(err.kind()), http::StatusCode::BAD_REQUEST);
//! // No header at all: no forwarded certificate, whoever the peer is.
//! assert!(source.extract(&http::HeaderMap::new(), peer)?.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::authenticator::TRACING_TARGET;
use crate::error::{ConfigError, Error, ErrorKind, Result};
use crate::input::{
    Expect, HeaderFormat, Limits, MAX_XFCC_ELEMENTS, PresentedChain, decode_client_cert_and_chain,
    decode_header_lines_with,
};
use crate::time::Timestamp;

mod peer;

pub use peer::{ConnectionMemo, Peer, ProxyIdentity};

/// One IP network: an address and a prefix length.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        self.addr.is_ipv4() == ip.is_ipv4() && prefix_eq(bits(self.addr), bits(ip), self.prefix)
    }
}

/// The top `prefix` bits set (IPv4 addresses are compared in the top 32 bits).
fn mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    a & mask(prefix) == b & mask(prefix)
}

fn bits(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
        IpAddr::V6(a) => u128::from(a),
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl FromStr for Cidr {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let entry = || s.to_owned();
        let addr: IpAddr =
            addr.parse().map_err(|_| ConfigError::TrustedProxyNotAnAddress { entry: entry() })?;
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| ConfigError::TrustedProxyInvalidPrefix { entry: entry() })?,
        };
        // `10.1.2.3/8` is almost always a typo for a host or for `10.0.0.0/8`.
        if bits(addr) & !mask(prefix) != 0 {
            return Err(ConfigError::TrustedProxyBitsBeyondPrefix { entry: entry() });
        }
        Ok(Cidr { addr, prefix })
    }
}

/// The set of peers (proxies) allowed to send forwarded certificate headers: IP addresses
/// and CIDR ranges, IPv4 and IPv6. IPv4-mapped IPv6 peers (`::ffff:10.0.0.1`) match the
/// IPv4 entries.
///
/// ```
/// use certauth::http::TrustedProxies;
/// let proxies = TrustedProxies::parse(["10.0.0.0/8", "192.0.2.1", "fd00::/8"])?;
/// assert!(proxies.contains("10.20.30.40".parse()?));
/// assert!(proxies.contains("::ffff:10.0.0.1".parse()?));
/// assert!(!proxies.contains("192.0.2.2".parse()?));
/// assert!(TrustedProxies::parse(["10.0.0.1/8"]).is_err()); // host bits set: a typo
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
}

impl TrustedProxies {
    /// An empty set (trusts no one; a [`HeaderSource`] refuses to build with it).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses addresses (`192.0.2.1`, `::1`) and CIDR ranges (`10.0.0.0/8`, `fd00::/8`).
    /// A range whose address has bits set beyond the prefix is refused as a likely typo.
    pub fn parse<I, S>(entries: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        entries.into_iter().try_fold(Self::new(), |set, e| set.with(e.as_ref()))
    }

    /// Adds one address or CIDR range.
    pub fn with(mut self, entry: &str) -> Result<Self, ConfigError> {
        self.networks.push(entry.parse()?);
        Ok(self)
    }

    /// True if `peer` is in the set.
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.networks.iter().any(|n| n.contains(peer))
    }

    /// True if the set has no entries.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.networks.len()
    }

    /// The address family every one of whose addresses the set contains (`0.0.0.0/0`,
    /// `::/0`, or ranges that add up to it), if any.
    fn covers_a_whole_family(&self) -> Option<&'static str> {
        let ranges = |v4: bool| -> Vec<(u128, u128)> {
            self.networks
                .iter()
                .filter(|n| n.addr.is_ipv4() == v4)
                .map(|n| {
                    let first = bits(n.addr) & mask(n.prefix);
                    let last = first | !mask(n.prefix);
                    // IPv4 networks sit in the top 32 bits: count in IPv4 addresses.
                    if v4 { (first >> 96, last >> 96) } else { (first, last) }
                })
                .collect()
        };
        let covers = |mut ranges: Vec<(u128, u128)>, max: u128| {
            ranges.sort_unstable();
            let mut next = 0u128; // the lowest address not yet covered
            for (first, last) in ranges {
                if first > next {
                    return false;
                }
                if last >= max {
                    return true;
                }
                next = next.max(last + 1);
            }
            false
        };
        if covers(ranges(true), u128::from(u32::MAX)) {
            Some("IPv4")
        } else if covers(ranges(false), u128::MAX) {
            Some("IPv6")
        } else {
            None
        }
    }
}

impl fmt::Debug for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.networks.iter().map(ToString::to_string)).finish()
    }
}

/// Where a forwarded client certificate is read from: exactly one header name, one
/// [`HeaderFormat`], and the proxies allowed to send it (by address, by the certificate
/// they present on an mTLS connection to this service, or both). Build with
/// [`HeaderSource::builder`].
#[derive(Clone, Debug)]
pub struct HeaderSource {
    /// Tells this source's decisions in a [`ConnectionMemo`] from another source's.
    id: u64,
    header: HeaderName,
    chain_header: Option<HeaderName>,
    format: HeaderFormat,
    proxies: TrustedProxies,
    identities: Vec<ProxyIdentity>,
    verification: Option<VerificationSignal>,
    limits: Limits,
    expect: Expect,
    direct_clients_at_proxy_addresses: bool,
}

/// A header the trusted proxy sets to its own verdict on the client certificate.
#[derive(Clone, Debug)]
struct VerificationSignal {
    header: HeaderName,
    expected: HeaderValue,
}

/// Builder for [`HeaderSource`]; `build` refuses nonsense.
#[derive(Clone, Debug)]
#[must_use]
pub struct HeaderSourceBuilder {
    header: String,
    chain_header: Option<String>,
    format: HeaderFormat,
    proxies: TrustedProxies,
    identities: Vec<ProxyIdentity>,
    verification: Option<(String, String)>,
    limits: Limits,
    xfcc_elements: Option<usize>,
    allow_auto: bool,
    direct_clients_at_proxy_addresses: bool,
    every_address: bool,
}

impl HeaderSource {
    /// Starts a source reading `header_name` (case-insensitive) in `format`.
    pub fn builder(header_name: &str, format: HeaderFormat) -> HeaderSourceBuilder {
        HeaderSourceBuilder {
            header: header_name.to_owned(),
            chain_header: None,
            format,
            proxies: TrustedProxies::new(),
            identities: Vec::new(),
            verification: None,
            limits: Limits::default(),
            xfcc_elements: None,
            allow_auto: false,
            direct_clients_at_proxy_addresses: false,
            every_address: false,
        }
    }

    /// The configured header name (lowercase).
    pub fn header_name(&self) -> &str {
        self.header.as_str()
    }

    /// The configured format.
    pub fn format(&self) -> HeaderFormat {
        self.format
    }

    /// The input bounds the header is decoded with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The number of XFCC elements every value must hold (1 unless
    /// [`HeaderSourceBuilder::xfcc_elements`] says otherwise).
    pub fn xfcc_elements(&self) -> usize {
        self.expect.xfcc_elements
    }

    /// The proxies allowed to send the header, by address.
    pub fn trusted_proxies(&self) -> &TrustedProxies {
        &self.proxies
    }

    /// The proxies allowed to send the header, by the certificate of their mTLS connection.
    pub fn trusted_proxy_identities(&self) -> &[ProxyIdentity] {
        &self.identities
    }

    /// Whether an RFC 9440 `Client-Cert-Chain` header is read too.
    pub fn has_chain_header(&self) -> bool {
        self.chain_header.is_some()
    }

    /// Whether the request carries the certificate header (or the chain header).
    pub fn is_present(&self, headers: &HeaderMap) -> bool {
        headers.contains_key(&self.header)
            || self.chain_header.as_ref().is_some_and(|h| headers.contains_key(h))
    }

    /// Reads the forwarded certificate of a request whose TCP peer is `peer`
    /// (`SocketAddr::ip()` of the connection, never an `X-Forwarded-For` value), trusting
    /// proxies by address only. [`extract_from`](Self::extract_from) also recognises
    /// proxies by their mTLS certificate.
    ///
    /// - header absent: `Ok(None)` (whoever the peer is);
    /// - header present and `peer` not a trusted proxy: `untrusted_source`, without reading
    ///   the value: a spoofing attempt must be visible, not ignored;
    /// - several field lines of a single-valued format: `duplicate_header`;
    /// - a required verification signal missing or not the expected value:
    ///   `proxy_verification_failed`;
    /// - otherwise the decoded chain, or the decoder's error ([`decode_header`](crate::decode_header)).
    ///
    /// No certificate is verified here, so no time is needed: the clock is never read.
    pub fn extract(&self, headers: &HeaderMap, peer: IpAddr) -> Result<Option<PresentedChain>> {
        if !self.admit_when(headers, || self.check_address(headers, peer))? {
            return Ok(None);
        }
        self.decode(headers).map(Some)
    }

    /// [`extract`](Self::extract) for a [`Peer`] that may have presented a TLS
    /// certificate; `now` is the time its certificate is verified at.
    pub fn extract_from(
        &self,
        headers: &HeaderMap,
        peer: &Peer<'_>,
        now: Timestamp,
    ) -> Result<Option<PresentedChain>> {
        if !self.admit(headers, peer, now)? {
            return Ok(None);
        }
        self.decode(headers).map(Some)
    }

    /// Decides whether the request's certificate header may be read, without decoding it
    /// (unless the verification signal fails, see below):
    ///
    /// - `Ok(false)`: the request carries no certificate header;
    /// - `Ok(true)`: it does, from a trusted proxy (by address, or by a certificate that
    ///   one of the [`ProxyIdentity`]s accepts at `now`), with the required verification
    ///   signal;
    /// - `untrusted_source`: it does, from any other peer;
    /// - `proxy_verification_failed`: the proxy's verification signal is missing, repeated
    ///   or not the expected value, and the header holds a certificate (when the header
    ///   holds a "no certificate" sentinel or is malformed, that error is returned
    ///   instead).
    pub fn admit(&self, headers: &HeaderMap, peer: &Peer<'_>, now: Timestamp) -> Result<bool> {
        self.admit_when(headers, || self.check_trusted(headers, peer, now))
    }

    /// [`admit`](Self::admit), with `trusted` deciding whether the peer may send the header.
    fn admit_when(
        &self,
        headers: &HeaderMap,
        trusted: impl FnOnce() -> Result<()>,
    ) -> Result<bool> {
        if !self.is_present(headers) {
            return Ok(false);
        }
        trusted()?;
        if let Some(signal) = &self.verification
            && let Err(failed) = signal.check(headers)
        {
            // A certificate-less or malformed value says more than the proxy's verdict.
            self.decode(headers)?;
            return Err(failed);
        }
        Ok(true)
    }

    /// `untrusted_source` when a configured header is present and `peer` is not a
    /// trusted proxy by address; `Ok` otherwise (including when no header is present).
    /// Checks the address only: see [`admit`](Self::admit) for the whole check.
    pub fn check_peer(&self, headers: &HeaderMap, peer: IpAddr) -> Result<()> {
        if self.is_present(headers) {
            self.check_address(headers, peer)?;
        }
        Ok(())
    }

    /// True if `peer` presented a TLS certificate and is a trusted proxy: by a certificate
    /// one of the [`ProxyIdentity`]s accepts at `now`, or by its address (unless
    /// [`HeaderSourceBuilder::allow_direct_clients_at_proxy_addresses`]). The connection is
    /// then a proxy's, and its certificate must never be taken for a client's, even on a
    /// request without a forwarded header.
    pub fn is_proxy_connection(&self, peer: &Peer<'_>, now: Timestamp) -> bool {
        peer.tls_certificates.is_some()
            && ((self.proxies.contains(peer.addr) && !self.direct_clients_at_proxy_addresses)
                || self.proxy_identity(peer, now).is_ok())
    }

    /// Whether one of the [`ProxyIdentity`]s accepts the peer's TLS certificates at `now`;
    /// if not, the last one's reason (`None`: no certificates or no identities). Decided
    /// once per connection when the peer carries its connection's memo.
    fn proxy_identity(&self, peer: &Peer<'_>, now: Timestamp) -> Result<(), Option<ErrorKind>> {
        let Some(certs) = peer.tls_certificates else { return Err(None) };
        if self.identities.is_empty() {
            return Err(None);
        }
        let decide = || {
            let mut last = None;
            for proxy in &self.identities {
                match proxy.check(certs, now) {
                    Ok(identity) => return Ok(identity.chain().expires()),
                    Err(e) => last = Some(e.kind()),
                }
            }
            Err(last)
        };
        match peer.memo() {
            Some(memo) => {
                let generations: Vec<u64> =
                    self.identities.iter().map(ProxyIdentity::generation).collect();
                memo.decide(self.id, certs, &generations, now, decide)
            }
            None => decide().map(drop),
        }
    }

    /// `Ok` if `peer` is a trusted proxy by address or by a certificate one of the
    /// [`ProxyIdentity`]s accepts at `now`; `untrusted_source` otherwise.
    fn check_trusted(&self, headers: &HeaderMap, peer: &Peer<'_>, now: Timestamp) -> Result<()> {
        if self.proxies.contains(peer.addr) {
            return Ok(());
        }
        match self.proxy_identity(peer, now) {
            Ok(()) => Ok(()),
            Err(Some(kind)) => Err(self.untrusted(
                headers,
                peer.addr,
                &format!(" and its certificate is no trusted proxy's ({kind})"),
            )),
            Err(None) => Err(self.untrusted(headers, peer.addr, "")),
        }
    }

    /// `Ok` if `peer` is a trusted proxy by address; `untrusted_source` otherwise.
    fn check_address(&self, headers: &HeaderMap, peer: IpAddr) -> Result<()> {
        if self.proxies.contains(peer) { Ok(()) } else { Err(self.untrusted(headers, peer, "")) }
    }

    fn untrusted(&self, headers: &HeaderMap, peer: IpAddr, why: &str) -> Error {
        let name = if headers.contains_key(&self.header) {
            self.header.as_str()
        } else {
            self.chain_header.as_ref().map_or("", HeaderName::as_str)
        };
        Error::new(
            ErrorKind::UntrustedSource,
            format!("header {name} from {peer}, which is not a trusted proxy{why}"),
        )
    }

    /// The one value of the header when that value alone is the credential (one line,
    /// no chain header): the authenticator can then cache by the raw value.
    #[cfg(feature = "tower")]
    pub(crate) fn single_value<'h>(&self, headers: &'h HeaderMap) -> Option<&'h [u8]> {
        if self.chain_header.is_some() {
            return None;
        }
        let mut values = headers.get_all(&self.header).iter();
        match (values.next(), values.next()) {
            (Some(one), None) => Some(one.as_bytes()),
            _ => None,
        }
    }

    /// Decodes one raw value of the header as [`decode`](Self::decode) would.
    pub(crate) fn decode_value(&self, value: &[u8]) -> Result<PresentedChain> {
        decode_header_lines_with(
            &[value],
            self.format,
            self.header.as_str(),
            &self.limits,
            self.expect,
        )
    }

    /// Tells this source from every other one built in this process.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Decodes the header (and chain header) with this source's format, limits and XFCC
    /// element count, without checking who sent it.
    pub(crate) fn decode(&self, headers: &HeaderMap) -> Result<PresentedChain> {
        let lines: Vec<&[u8]> =
            headers.get_all(&self.header).iter().map(|v| v.as_bytes()).collect();
        match &self.chain_header {
            Some(chain) => {
                let chain_lines: Vec<&[u8]> =
                    headers.get_all(chain).iter().map(|v| v.as_bytes()).collect();
                decode_client_cert_and_chain(
                    &lines,
                    &chain_lines,
                    self.header.as_str(),
                    &self.limits,
                )
            }
            None => decode_header_lines_with(
                &lines,
                self.format,
                self.header.as_str(),
                &self.limits,
                self.expect,
            ),
        }
    }
}

impl VerificationSignal {
    fn check(&self, headers: &HeaderMap) -> Result<()> {
        let name = self.header.as_str();
        let failed = |why: String| Err(Error::new(ErrorKind::ProxyVerificationFailed, why));
        let mut values = headers.get_all(&self.header).iter();
        match (values.next(), values.next()) {
            (Some(v), None) if v == self.expected => Ok(()),
            (None, _) => failed(format!("the trusted proxy sent no {name} header")),
            (Some(_), Some(_)) => failed(format!("the trusted proxy sent {name} more than once")),
            (Some(v), None) => {
                // The proxy's verdict (e.g. `FAILED:certificate has expired`) is short text
                // from a trusted hop; anything else is only measured.
                let shown = match v.to_str() {
                    Ok(text) if text.len() <= 80 => format!("{text:?}"),
                    _ => format!("a {}-byte value", v.len()),
                };
                failed(format!("{name} from the trusted proxy is {shown}, not {:?}", self.expected))
            }
        }
    }
}

impl HeaderSourceBuilder {
    /// Sets the proxies allowed to send the header, by address. A source needs this or
    /// [`trusted_proxy_identity`](Self::trusted_proxy_identity).
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = proxies;
        self
    }

    /// Also trusts a peer whose mTLS certificate `identity` accepts (repeatable; a peer
    /// matching any one is trusted). For proxy-to-backend mTLS: the proxy connects to
    /// this service with its own client certificate and forwards the client's in the
    /// header.
    pub fn trusted_proxy_identity(mut self, identity: ProxyIdentity) -> Self {
        self.identities.push(identity);
        self
    }

    /// Requires the trusted proxy's own verdict beside the certificate: the header
    /// `header_name` must arrive exactly once with exactly `value` (nginx:
    /// `proxy_set_header X-SSL-Client-Verify $ssl_client_verify;` and `SUCCESS`; Apache:
    /// `SSL_CLIENT_VERIFY`), else `proxy_verification_failed`. certauth verifies the chain
    /// itself regardless; this only adds the proxy's opinion.
    pub fn require_verification_header(mut self, header_name: &str, value: &str) -> Self {
        self.verification = Some((header_name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the bounds the header is decoded with: its length, and the certificates in it
    /// ([`Limits::max_header_value`], [`Limits::max_chain_len`]). They apply wherever this
    /// source reads the header, the tower layer included, whatever the authenticator's
    /// own limits are. Default [`Limits::default`] (16 KiB, 16 certificates).
    ///
    /// ```
    /// use certauth::http::{HeaderSource, TrustedProxies};
    /// use certauth::{HeaderFormat, Limits};
    /// // nginx forwards the leaf only: a few KiB and one certificate are plenty.
    /// let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::NginxEscaped)
    ///     .trusted_proxies(TrustedProxies::parse(["10.0.0.1"])?)
    ///     .limits(Limits::default().with_max_header_value(4096).with_max_chain_len(1))
    ///     .build()?;
    /// assert_eq!(source.limits().max_chain_len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The number of elements every `x-forwarded-client-cert` value must hold: one per
    /// Envoy between the client and this service that sets or appends the header. Only
    /// for [`HeaderFormat::Xfcc`].
    ///
    /// The certificate is read from the **first** element, which the outermost proxy
    /// wrote about the client; each later element is a proxy further in describing the
    /// proxy before it, and is only checked to be well formed. A value with any other
    /// number of elements is refused with `malformed_input`.
    ///
    /// Default: 1, what Envoy's `forward_client_cert_details: SANITIZE_SET` sends.
    /// At most 32.
    ///
    /// Why a stated number: Envoy writes the client certificate's `URI` and `DNS` SANs
    /// unquoted, so a SAN such as `https://x/,Cert="..."` makes one more element. With the
    /// count fixed, such a value is refused instead of read from the wrong element; with
    /// `APPEND_FORWARD` the count also refuses elements a client sent itself. State the
    /// count the deployment has: for a client, then an edge Envoy with `SANITIZE_SET`,
    /// then a sidecar Envoy with `APPEND_FORWARD`, then this service, it is 2.
    ///
    /// ```
    /// use certauth::http::{HeaderSource, TrustedProxies};
    /// use certauth::HeaderFormat;
    /// let source = HeaderSource::builder("x-forwarded-client-cert", HeaderFormat::Xfcc)
    ///     .trusted_proxies(TrustedProxies::parse(["10.0.0.0/8"])?)
    ///     .xfcc_elements(2) // edge Envoy (SANITIZE_SET), then a sidecar (APPEND_FORWARD)
    ///     .build()?;
    /// assert_eq!(source.xfcc_elements(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn xfcc_elements(mut self, elements: usize) -> Self {
        self.xfcc_elements = Some(elements);
        self
    }

    /// Also reads an RFC 9440 `Client-Cert-Chain` header (e.g. `client-cert-chain`, or the
    /// header carrying GCP's `{client_cert_chain}`) and appends its certificates to the
    /// leaf. Only for the formats [`HeaderFormat::Rfc9440`] and [`HeaderFormat::Gcp`].
    ///
    /// Default: not read; the leaf alone is verified, with intermediates from the trust
    /// store's pool.
    ///
    /// **The proxy must set or delete this header on every request**, as it does the
    /// certificate header. A proxy that forwards the leaf but passes a client's own
    /// `Client-Cert-Chain` through unchanged lets the client choose the intermediates
    /// path building starts from (certificates named like the real issuer, for example),
    /// which can turn a valid certificate's request into a slow failure. If the proxy
    /// cannot guarantee that, do not configure a chain header and put the intermediates
    /// into the trust store instead.
    ///
    /// Why read it at all: with proxies that forward the chain the client sent (Cloudflare,
    /// Google Cloud load balancers), intermediates need not be configured on the service.
    ///
    /// ```
    /// use certauth::http::{HeaderSource, TrustedProxies};
    /// use certauth::HeaderFormat;
    /// // The proxy sets both headers on every request, replacing any a client sent.
    /// let source = HeaderSource::builder("client-cert", HeaderFormat::Rfc9440)
    ///     .chain_header("client-cert-chain")
    ///     .trusted_proxies(TrustedProxies::parse(["10.0.0.5"])?)
    ///     .build()?;
    /// assert!(source.has_chain_header());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chain_header(mut self, header_name: &str) -> Self {
        self.chain_header = Some(header_name.to_owned());
        self
    }

    /// Allows trusted proxies that cover every IPv4 or every IPv6 address (`0.0.0.0/0`,
    /// `::/0`, or ranges that add up to one of them), and logs a warning (target
    /// `certauth::auth`) when the source is built.
    ///
    /// Default: off; `build` refuses such a set with [`ConfigError::EveryAddressTrusted`].
    ///
    /// Why: every peer could then send the forwarded header and be read as any client it
    /// names. Safe only where the network itself guarantees that nothing but the proxy
    /// reaches this service (a sidecar on the loopback interface, a network policy), and
    /// then a narrower range says so just as well.
    ///
    /// ```
    /// use certauth::http::{HeaderSource, TrustedProxies};
    /// use certauth::HeaderFormat;
    /// let everyone = TrustedProxies::parse(["0.0.0.0/0"])?;
    /// let source = HeaderSource::builder("x-forwarded-client-cert", HeaderFormat::Xfcc)
    ///     .trusted_proxies(everyone.clone());
    /// assert!(source.clone().build().is_err());
    /// // Only the proxy can reach this service (enforced by the network):
    /// assert!(source.allow_every_address_as_trusted_proxy().build().is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_every_address_as_trusted_proxy(mut self) -> Self {
        self.every_address = true;
        self
    }

    /// Authenticates a TLS client certificate presented from a trusted proxy *address*
    /// on a request without a forwarded header, as a direct client's.
    ///
    /// Default: off. A TLS connection from a trusted proxy address is the proxy's: a
    /// request on it without the header has no client certificate (`no_certificate`, or
    /// no client on an optional layer), whatever certificate the connection presented. A
    /// certificate a [`ProxyIdentity`] accepts is a proxy's with or without this.
    ///
    /// Why off: a proxy that presents its own certificate to this service (proxy-to-backend
    /// mTLS) forwards a request from a client without a certificate with no header at all.
    /// Authenticating the proxy's certificate then would give every such client the
    /// proxy's identity, if the registry knows it or unregistered certificates are
    /// accepted. Turn it on only when direct mTLS clients share the trusted address range
    /// and no proxy there presents a certificate this service accepts for clients.
    ///
    /// ```
    /// use certauth::http::{HeaderSource, TrustedProxies};
    /// use certauth::HeaderFormat;
    /// // 10.1.0.0/16 holds the proxies and, behind no proxy, batch jobs with certificates.
    /// let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::NginxEscaped)
    ///     .trusted_proxies(TrustedProxies::parse(["10.1.0.0/16"])?)
    ///     .allow_direct_clients_at_proxy_addresses()
    ///     .build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn allow_direct_clients_at_proxy_addresses(mut self) -> Self {
        self.direct_clients_at_proxy_addresses = true;
        self
    }

    /// Allows [`HeaderFormat::Auto`]. Without this, `build` refuses it: with detection the
    /// client, not the operator, decides how the value is read. Use it only where one
    /// trusted proxy always sets the header.
    pub fn allow_auto_detection(mut self) -> Self {
        self.allow_auto = true;
        self
    }

    /// Builds the source. Refuses: no trusted proxy by address or identity
    /// ([`ConfigError::NoTrustedProxies`]), trusted proxies that include every IPv4 or
    /// IPv6 address without
    /// [`allow_every_address_as_trusted_proxy`](Self::allow_every_address_as_trusted_proxy),
    /// an invalid header name or verification value,
    /// [`HeaderFormat::Auto`] without [`allow_auto_detection`](Self::allow_auto_detection),
    /// a chain header for a format other than `rfc9440` / `gcp`, and an XFCC element
    /// count for a format other than `xfcc` or outside 1 to 32.
    pub fn build(self) -> Result<HeaderSource, ConfigError> {
        if self.proxies.is_empty() && self.identities.is_empty() {
            return Err(ConfigError::NoTrustedProxies);
        }
        if let Some(family) = self.proxies.covers_a_whole_family() {
            if !self.every_address {
                return Err(ConfigError::EveryAddressTrusted { family });
            }
            tracing::warn!(
                target: TRACING_TARGET,
                header = self.header.as_str(),
                proxies = ?self.proxies,
                "trusted proxies include every {family} address: any peer may send the forwarded certificate header"
            );
        }
        if self.format == HeaderFormat::Auto && !self.allow_auto {
            return Err(ConfigError::AutoDetectionNotAllowed);
        }
        let name = |n: &str| {
            HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| ConfigError::InvalidHeaderName { name: n.to_owned() })
        };
        let chain_header = match &self.chain_header {
            None => None,
            Some(_) if !matches!(self.format, HeaderFormat::Rfc9440 | HeaderFormat::Gcp) => {
                return Err(ConfigError::ChainHeaderUnsupported { format: self.format.name() });
            }
            Some(c) => Some(name(c)?),
        };
        let xfcc_elements = match self.xfcc_elements {
            None => Expect::DEFAULT.xfcc_elements,
            Some(_) if self.format != HeaderFormat::Xfcc => {
                return Err(ConfigError::XfccElementsUnsupported { format: self.format.name() });
            }
            Some(n) if n == 0 || n > MAX_XFCC_ELEMENTS => {
                return Err(ConfigError::XfccElementsOutOfRange {
                    requested: n,
                    max: MAX_XFCC_ELEMENTS,
                });
            }
            Some(n) => n,
        };
        let verification = match &self.verification {
            None => None,
            Some((header, value)) => Some(VerificationSignal {
                header: name(header)?,
                expected: HeaderValue::from_str(value)
                    .map_err(|_| ConfigError::InvalidHeaderValue { value: value.clone() })?,
            }),
        };
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        Ok(HeaderSource {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            header: name(&self.header)?,
            chain_header,
            format: self.format,
            proxies: self.proxies,
            identities: self.identities,
            verification,
            limits: self.limits,
            expect: Expect { xfcc_elements },
            direct_clients_at_proxy_addresses: self.direct_clients_at_proxy_addresses,
        })
    }
}

/// The HTTP status to answer a request that failed with `kind`:
///
/// | status | kinds |
/// |---|---|
/// | 400 Bad Request | malformed header or chain: `malformed_input`, `input_too_large`, `private_key_supplied`, `duplicate_header`, `digest_mismatch`; and `untrusted_source` (the request carries a certificate header it must not carry, as RFC 9440 2.4 lets a proxy answer) |
/// | 401 Unauthorized | missing or unverifiable certificate: `no_certificate`, every verification failure, `proxy_verification_failed`, `binding_mismatch` |
/// | 403 Forbidden | verified but not allowed: `identity_mismatch`, `unknown_client`, `client_suspended`, and `not_permitted` (authenticated, but a route's policy does not let the client in) |
/// | 500 Internal Server Error | `missing_connection_info`: the server gave the request no peer address, so no forwarded header can be trusted (a setup mistake the client cannot fix, never answered like a spoof) |
/// | 503 Service Unavailable | `registry_unavailable`, `overloaded` (too many uncached verifications waiting) |
///
/// ```
/// use certauth::{http::status_for, ErrorKind};
/// assert_eq!(status_for(ErrorKind::NoCertificate), http::StatusCode::UNAUTHORIZED);
/// assert_eq!(status_for(ErrorKind::UnknownClient), http::StatusCode::FORBIDDEN);
/// ```
pub fn status_for(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::MalformedInput
        | ErrorKind::InputTooLarge
        | ErrorKind::PrivateKeySupplied
        | ErrorKind::DuplicateHeader
        | ErrorKind::DigestMismatch
        | ErrorKind::UntrustedSource => StatusCode::BAD_REQUEST,
        ErrorKind::NoCertificate
        | ErrorKind::UnknownIssuer
        | ErrorKind::Expired
        | ErrorKind::NotYetValid
        | ErrorKind::Revoked
        | ErrorKind::RevocationUnknown
        | ErrorKind::RevocationStale
        | ErrorKind::WrongUsage
        | ErrorKind::WeakKey
        | ErrorKind::UnsupportedAlgorithm
        | ErrorKind::BadSignature
        | ErrorKind::ChainTooLong
        | ErrorKind::NameConstraintViolation
        | ErrorKind::InvalidCertificate
        | ErrorKind::ProxyVerificationFailed
        | ErrorKind::BindingMismatch => StatusCode::UNAUTHORIZED,
        ErrorKind::IdentityMismatch
        | ErrorKind::UnknownClient
        | ErrorKind::ClientSuspended
        | ErrorKind::NotPermitted => StatusCode::FORBIDDEN,
        ErrorKind::MissingConnectionInfo => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorKind::RegistryUnavailable | ErrorKind::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The answer to a request that authentication refused: the one response contract of
/// the tower layer, the axum extractor and any hand-written middleware.
///
/// - status: [`status_for`] the kind;
/// - `content-type: application/json`;
/// - for `binding_mismatch` also `www-authenticate: Bearer error="invalid_token"`
///   (RFC 6750 3.1, as RFC 8705 3 asks of a resource server);
/// - the body, exactly `{"error":"<kind>"}`: compact JSON (no spaces, no newline) with
///   one field, `error`, whose value is the kind's stable name ([`ErrorKind::as_str`],
///   lowercase ASCII letters and `_`, so never escaped), e.g.
///   `{"error":"unknown_issuer"}`.
///
/// The error's message is never in the response: it may name the client's certificate,
/// header or peer, and goes to logs (`tracing`) instead.
///
/// ```
/// use certauth::http::ErrorResponse;
/// use certauth::ErrorKind;
///
/// let refused = ErrorResponse::new(ErrorKind::UnknownIssuer);
/// assert_eq!(refused.status(), http::StatusCode::UNAUTHORIZED);
/// assert_eq!(refused.body_json(), r#"{"error":"unknown_issuer"}"#);
///
/// let response: http::Response<String> = ErrorResponse::new(ErrorKind::BindingMismatch).into_response();
/// assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
/// assert_eq!(response.headers()["content-type"], "application/json");
/// assert_eq!(response.headers()["www-authenticate"], r#"Bearer error="invalid_token""#);
/// assert_eq!(response.body(), r#"{"error":"binding_mismatch"}"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ErrorResponse {
    kind: ErrorKind,
}

impl ErrorResponse {
    /// The response for a request refused with `kind` (an [`Error::kind`]).
    pub const fn new(kind: ErrorKind) -> Self {
        Self { kind }
    }

    /// The kind the request was refused with.
    pub const fn kind(self) -> ErrorKind {
        self.kind
    }

    /// The status: [`status_for`] the kind.
    pub fn status(self) -> StatusCode {
        status_for(self.kind)
    }

    /// The body: `{"error":"<kind>"}`.
    pub fn body_json(self) -> String {
        format!("{{\"error\":\"{}\"}}", self.kind.as_str())
    }

    /// The whole response: status, headers and body.
    pub fn into_response<B: From<String>>(self) -> Response<B> {
        let mut response = Response::new(B::from(self.body_json()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if self.kind == ErrorKind::BindingMismatch {
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_matching() {
        let p = TrustedProxies::parse(["10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "0.0.0.0/0"])
            .unwrap();
        assert!(p.contains("10.255.0.1".parse().unwrap()));
        assert!(p.contains("2001:db8::1".parse().unwrap()));
        assert!(!p.contains("2001:db9::1".parse().unwrap()));
        let p = TrustedProxies::parse(["::1/128", "172.16.0.0/12"]).unwrap();
        assert!(p.contains("::1".parse().unwrap()));
        assert!(p.contains("172.31.255.255".parse().unwrap()));
        assert!(!p.contains("172.32.0.0".parse().unwrap()));
        assert!(!p.contains("127.0.0.1".parse().unwrap()));
        let entry = |s: &str| s.to_owned();
        for (bad, why) in [
            ("10.0.0.0/33", ConfigError::TrustedProxyInvalidPrefix { entry: entry("10.0.0.0/33") }),
            ("::/129", ConfigError::TrustedProxyInvalidPrefix { entry: entry("::/129") }),
            ("10.0.0.0/", ConfigError::TrustedProxyInvalidPrefix { entry: entry("10.0.0.0/") }),
            ("10.0.0.0/-1", ConfigError::TrustedProxyInvalidPrefix { entry: entry("10.0.0.0/-1") }),
            (
                "10.0.0.1/8",
                ConfigError::TrustedProxyBitsBeyondPrefix { entry: entry("10.0.0.1/8") },
            ),
            ("nope", ConfigError::TrustedProxyNotAnAddress { entry: entry("nope") }),
            ("nope/8", ConfigError::TrustedProxyNotAnAddress { entry: entry("nope/8") }),
        ] {
            assert_eq!(TrustedProxies::parse([bad]), Err(why), "{bad}");
        }
        assert_eq!(
            TrustedProxies::parse(["10.1.2.3/8"]).unwrap_err().to_string(),
            r#"trusted proxy "10.1.2.3/8" has address bits set beyond the prefix"#
        );
    }

    #[test]
    fn sets_covering_a_whole_family() {
        let covers =
            |entries: &[&str]| TrustedProxies::parse(entries).unwrap().covers_a_whole_family();
        assert_eq!(covers(&["0.0.0.0/0"]), Some("IPv4"));
        assert_eq!(covers(&["::/0"]), Some("IPv6"));
        assert_eq!(covers(&["10.0.0.0/8", "128.0.0.0/1", "0.0.0.0/1"]), Some("IPv4"));
        assert_eq!(covers(&["::/1", "8000::/1"]), Some("IPv6"));
        assert_eq!(covers(&["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"]), Some("IPv4"));
        for partial in [
            &["0.0.0.0/1"][..],
            &["0.0.0.0/1", "192.0.0.0/2"],
            &["128.0.0.0/1", "::/1"],
            &["255.255.255.255", "0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/3", "224.0.0.0/4"],
            &["8000::/1", "::/2"],
            &[],
        ] {
            assert_eq!(covers(partial), None, "{partial:?}");
        }
    }

    /// Every refusal is `{"error":"<kind>"}` with the kind's status, as JSON parses it:
    /// one field, nothing else, whatever the kind.
    #[test]
    fn every_kind_has_one_response_shape() {
        for kind in ErrorKind::ALL {
            let refused = ErrorResponse::new(*kind);
            let response: Response<String> = refused.into_response();
            assert_eq!(response.status(), status_for(*kind), "{kind}");
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json", "{kind}");
            assert_eq!(
                response.headers().contains_key(WWW_AUTHENTICATE),
                *kind == ErrorKind::BindingMismatch,
                "{kind}"
            );
            assert_eq!(response.body(), &refused.body_json());
            assert_eq!(response.body(), &format!(r#"{{"error":"{kind}"}}"#));
            let json: serde_json::Value = serde_json::from_str(response.body()).unwrap();
            assert_eq!(json, serde_json::json!({ "error": kind.as_str() }), "{kind}");
        }
    }

    /// A request the server gave no peer address is the server's mistake: 500, never
    /// the 400 of a spoofed header, so the two are told apart by status alone.
    #[test]
    fn missing_connection_info_is_a_server_error_unlike_a_spoof() {
        assert_eq!(status_for(ErrorKind::MissingConnectionInfo), StatusCode::INTERNAL_SERVER_ERROR);
        assert_ne!(
            status_for(ErrorKind::MissingConnectionInfo),
            status_for(ErrorKind::UntrustedSource)
        );
        assert_eq!(
            ErrorResponse::new(ErrorKind::MissingConnectionInfo).body_json(),
            r#"{"error":"missing_connection_info"}"#
        );
    }

    /// A route's policy refusing an authenticated client: 403 `not_permitted`, apart
    /// from the 401 of a client that could not be authenticated.
    #[test]
    fn not_permitted_is_forbidden() {
        assert_eq!(status_for(ErrorKind::NotPermitted), StatusCode::FORBIDDEN);
        assert_eq!(
            ErrorResponse::new(ErrorKind::NotPermitted).body_json(),
            r#"{"error":"not_permitted"}"#
        );
        assert_eq!(ErrorKind::from_name("not_permitted"), Some(ErrorKind::NotPermitted));
    }

    #[test]
    fn every_kind_has_a_status() {
        for kind in ErrorKind::ALL {
            let s = status_for(*kind);
            assert!(s.is_client_error() || s.is_server_error(), "{kind}");
            if kind.is_input_error() {
                assert_eq!(s, StatusCode::BAD_REQUEST, "{kind}");
            }
        }
    }
}
