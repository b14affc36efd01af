//! Fetching a missing issuer certificate from the authority information access
//! extension's caIssuers URL (RFC 5280 4.2.2.1), off unless the verifier is built with
//! an [`IntermediateFetch`].
//!
//! When the names of a presented chain lead from the leaf, through the presented and
//! held intermediates, to a certificate whose issuer is neither a trust anchor's name nor
//! any of theirs, its caIssuers URL is fetched and the certificates served there that
//! carry the missing issuer's name are offered to path building as if the client had
//! presented them. They earn no trust of their own: the path must still reach an anchor,
//! each signature is webpki's to verify, and every rule a presented intermediate meets
//! applies to them.
//!
//! The URL comes from a certificate nobody has verified yet, so fetching is an SSRF
//! surface and is bounded every way: `http://` only (the issuer certificate is signed;
//! TLS adds nothing), no redirects, only hosts the operator allowed (with their port),
//! [`MAX_RESPONSE`] bytes, a whole-exchange timeout, at most a few fetches per
//! verification, and a bounded cache of results by URL: a success for
//! [`IntermediateFetch::cache_ttl`], a failure for [`IntermediateFetch::failure_ttl`], so
//! a failing URL is not asked again by every verification. Concurrent verifications that
//! need the same URL share one fetch. The cache's times are verification times.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use der::Decode as _;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
use x509_cert::ext::pkix::name::GeneralName;

use crate::der_reader::{CertNames, extension_of, names_of};
use crate::error::{ConfigError, Error, ErrorKind};
use crate::http_get::{self, HttpUrl};
use crate::input::{Format, Limits};
use crate::time::Timestamp;

/// The byte bound of one fetched response.
pub(crate) const MAX_RESPONSE: usize = 64 * 1024;
/// Most certificates read from one response.
const MAX_CERTS_PER_RESPONSE: usize = 4;
/// Most URLs whose result the cache keeps.
const MAX_CACHED_URLS: usize = 256;
/// Most caIssuers URLs read from one certificate.
const MAX_URLS_PER_CERT: usize = 4;
/// Most certificates followed by name from the leaf: webpki's bound on intermediates and
/// the anchor.
const MAX_NAME_STEPS: usize = 7;
/// The longest fetches per verification that [`IntermediateFetch::max_fetches`] allows.
const MAX_FETCHES: usize = 4;

/// DER content bytes of id-pe-authorityInfoAccess (1.3.6.1.5.5.7.1.1).
const AIA_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];

/// The `tracing` target of fetch events.
pub(crate) const TRACING_TARGET: &str = "certauth::fetch";

/// Opt-in: fetch an issuer certificate that a client did not present from the caIssuers
/// URL of its certificate, from the allowed hosts only. Given to
/// [`VerifierBuilder::fetch_missing_intermediates`](crate::VerifierBuilder::fetch_missing_intermediates).
///
/// Defaults: timeout 3 s, at most 2 fetches per verification, a fetched certificate kept
/// for 1 hour, a failed fetch remembered for 30 s. Responses are a DER certificate or
/// PEM certificates, at most 64 KiB; a PKCS#7 (`application/pkcs7-mime`) response is
/// refused.
///
/// ```
/// use std::time::Duration;
/// use certauth::IntermediateFetch;
/// let fetch = IntermediateFetch::from_hosts(["pki.example.com", "10.1.2.3:8080"])?
///     .timeout(Duration::from_secs(2));
/// assert!(IntermediateFetch::from_hosts(Vec::<&str>::new()).is_err());
/// assert!(IntermediateFetch::from_hosts(["http://pki.example.com/"]).is_err());
/// # Ok::<(), certauth::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct IntermediateFetch {
    hosts: Vec<(String, u16)>,
    timeout: Duration,
    max_fetches: usize,
    cache_ttl: Duration,
    failure_ttl: Duration,
}

impl fmt::Debug for IntermediateFetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self.hosts.iter().map(|(h, p)| format!("{h}:{p}")).collect();
        f.debug_struct("IntermediateFetch")
            .field("hosts", &hosts)
            .field("timeout", &self.timeout)
            .field("max_fetches", &self.max_fetches)
            .field("cache_ttl", &self.cache_ttl)
            .field("failure_ttl", &self.failure_ttl)
            .finish()
    }
}

impl IntermediateFetch {
    /// Fetching from these hosts only: each a host name or IP address (an IPv6 address in
    /// brackets), optionally with `:port`. Without a port only port 80 is allowed; with
    /// one, only that port. Names compare without regard to case; a name is allowed as
    /// written, and then resolved as the system resolves it.
    ///
    /// There is no "any host": the URL comes from a certificate nobody has verified yet.
    /// An empty list, or an entry with a scheme, a path, user information or an invalid
    /// port, is refused.
    pub fn from_hosts<I, S>(hosts: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut allowed = Vec::new();
        for host in hosts {
            let host = host.as_ref();
            let invalid = |why: &str| ConfigError::Invalid {
                what: format!("fetch host {}", printable(host)),
                error: Error::new(ErrorKind::MalformedInput, why.to_owned()),
            };
            if host.is_empty() || host.contains(['/', '?', '#', '@']) {
                return Err(invalid(
                    "a fetch host is a host name or address with an optional port",
                ));
            }
            let url =
                HttpUrl::parse(&format!("http://{host}/")).map_err(|e| invalid(e.message()))?;
            allowed.push((url.host().to_ascii_lowercase(), url.port()));
        }
        if allowed.is_empty() {
            return Err(ConfigError::Invalid {
                what: "fetch hosts".to_owned(),
                error: Error::new(
                    ErrorKind::MalformedInput,
                    "no host is allowed: name the hosts issuer certificates are fetched from",
                ),
            });
        }
        Ok(Self {
            hosts: allowed,
            timeout: Duration::from_secs(3),
            max_fetches: 2,
            cache_ttl: Duration::from_secs(3600),
            failure_ttl: Duration::from_secs(30),
        })
    }

    /// How long one fetch may take, connecting, sending and receiving together (name
    /// resolution aside). Default 3 s; at least 10 ms. The verification waits for it.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// Most fetches one verification makes: a fetched intermediate may itself lack its
    /// issuer. Default 2; between 1 and 4.
    #[must_use]
    pub fn max_fetches(mut self, n: usize) -> Self {
        self.max_fetches = n.clamp(1, MAX_FETCHES);
        self
    }

    /// How long the certificates fetched from a URL are used before it is fetched again.
    /// Default 1 hour. They earn no trust from the cache: every verification checks them.
    #[must_use]
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    /// How long a failed fetch is remembered, and the URL not asked again. Default 30 s;
    /// at least 1 s. A verification refused for it is not remembered longer.
    #[must_use]
    pub fn failure_ttl(mut self, ttl: Duration) -> Self {
        self.failure_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    fn allows(&self, url: &HttpUrl) -> bool {
        let host = url.host().to_ascii_lowercase();
        self.hosts.iter().any(|(h, p)| *h == host && *p == url.port())
    }

    fn failure_ttl_secs(&self) -> i64 {
        i64::try_from(self.failure_ttl.as_secs()).unwrap_or(i64::MAX).max(1)
    }

    fn cache_ttl_secs(&self) -> i64 {
        i64::try_from(self.cache_ttl.as_secs()).unwrap_or(i64::MAX)
    }
}

/// `s` shortened to 200 characters and stripped of control characters, for an error
/// message (a URL from a certificate is as long as the certificate lets it be).
fn printable(s: &str) -> String {
    s.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// A fetch result as the cache holds it.
#[derive(Clone)]
enum Cached {
    Certs { certs: Vec<CertificateDer<'static>>, from: Timestamp, until: Timestamp },
    Failed { error: Error, from: Timestamp, until: Timestamp },
}

impl Cached {
    fn holds_at(&self, now: Timestamp) -> bool {
        let (Self::Certs { from, until, .. } | Self::Failed { from, until, .. }) = self;
        *from <= now && now <= *until
    }
}

type Slot = Arc<Mutex<Option<Cached>>>;

/// The fetcher a verifier holds: the configuration and the cache of results by URL.
pub(crate) struct Fetcher {
    config: IntermediateFetch,
    slots: Mutex<HashMap<String, Slot>>,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.config, f)
    }
}

/// What fetching found for one verification: certificates to offer, and why it stopped
/// short, for the error message if the verification fails.
#[derive(Default)]
pub(crate) struct Completion {
    pub(crate) certs: Vec<CertificateDer<'static>>,
    pub(crate) note: Option<String>,
}

impl Fetcher {
    pub(crate) fn new(config: IntermediateFetch) -> Self {
        Self { config, slots: Mutex::new(HashMap::new()) }
    }

    /// Until when a verification refused at `now` may be remembered: a failed fetch is
    /// retried after [`IntermediateFetch::failure_ttl`], and the refusal must not outlive it.
    pub(crate) fn refusal_cured_at(&self, now: Timestamp) -> Timestamp {
        now.plus_secs(self.config.failure_ttl_secs())
    }

    /// Fetches the issuers missing from the name path of `leaf` over `presented` and
    /// `held` (and what was fetched), at most [`IntermediateFetch::max_fetches`] times.
    pub(crate) fn complete(
        &self,
        leaf: &[u8],
        presented: &[CertificateDer<'static>],
        held: &[CertificateDer<'static>],
        anchors: &[TrustAnchor<'_>],
        now: Timestamp,
    ) -> Completion {
        let mut done = Completion::default();
        for _ in 0..self.config.max_fetches {
            let Some(top) = missing_issuer_of(leaf, presented, held, &done.certs, anchors) else {
                break;
            };
            let Ok(top_names) = names_of(top) else { break };
            let missing = top_names.issuer.to_vec();
            let url = match self.url_of(top) {
                Ok(url) => url,
                Err(note) => {
                    done.note = Some(note);
                    break;
                }
            };
            match self.lookup(&url, now) {
                Ok(certs) => {
                    let before = done.certs.len();
                    for c in certs {
                        let issues = names_of(&c).is_ok_and(|n| n.subject == missing.as_slice());
                        let known = presented.contains(&c) || done.certs.contains(&c);
                        if issues && !known {
                            done.certs.push(c);
                        }
                    }
                    if done.certs.len() == before {
                        done.note = Some(format!(
                            "the certificate fetched from {} is not the missing issuer",
                            printable(url.as_str())
                        ));
                        break;
                    }
                    done.note = None;
                }
                Err(e) => {
                    done.note = Some(format!(
                        "fetching the issuer from {} failed: {}",
                        printable(url.as_str()),
                        e.message()
                    ));
                    break;
                }
            }
        }
        done
    }

    /// The first caIssuers URL of `cert` that may be fetched, or why there is none.
    fn url_of(&self, cert: &[u8]) -> Result<HttpUrl, String> {
        let urls = ca_issuers_of(cert);
        if urls.is_empty() {
            return Err("the certificate names no caIssuers url to fetch its issuer from".into());
        }
        let mut refused = None;
        for raw in urls {
            match HttpUrl::parse(&raw) {
                Ok(url) if self.config.allows(&url) => return Ok(url),
                Ok(url) => {
                    refused =
                        Some(format!("caIssuers host {} is not allowed", printable(url.host())));
                }
                Err(_) => {
                    refused.get_or_insert_with(|| "caIssuers url is not a plain http url".into());
                }
            }
        }
        Err(refused.unwrap_or_default())
    }

    /// The certificates at `url`, from the cache or fetched (once for concurrent callers).
    fn lookup(&self, url: &HttpUrl, now: Timestamp) -> Result<Vec<CertificateDer<'static>>, Error> {
        let slot = self.slot(url.as_str(), now);
        let mut held = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(cached) = held.as_ref().filter(|c| c.holds_at(now)) {
            return match cached {
                Cached::Certs { certs, .. } => Ok(certs.clone()),
                Cached::Failed { error, .. } => Err(error.clone()),
            };
        }
        let fetched = http_get::get(url, http_get::ACCEPT_CERT, MAX_RESPONSE, self.config.timeout)
            .and_then(|body| parse_response(&body));
        *held = Some(match &fetched {
            Ok(certs) => {
                tracing::debug!(target: TRACING_TARGET, url = url.as_str(), certificates = certs.len(), "fetched issuer certificates");
                Cached::Certs {
                    certs: certs.clone(),
                    from: now,
                    until: now.plus_secs(self.config.cache_ttl_secs()),
                }
            }
            Err(e) => {
                tracing::warn!(target: TRACING_TARGET, url = url.as_str(), error = %e, "cannot fetch an issuer certificate");
                Cached::Failed {
                    error: e.clone(),
                    from: now,
                    until: now.plus_secs(self.config.failure_ttl_secs()),
                }
            }
        });
        fetched
    }

    /// The cache slot of `url`, made room for when the cache is full.
    fn slot(&self, url: &str, now: Timestamp) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(url) {
            return Arc::clone(slot);
        }
        if slots.len() >= MAX_CACHED_URLS {
            // Outdated results go first; then about an eighth, in the map's random order.
            // A slot being fetched (locked) stays.
            let stale =
                |s: &Slot| s.try_lock().is_ok_and(|c| c.as_ref().is_none_or(|c| !c.holds_at(now)));
            slots.retain(|_, s| !stale(s));
            if slots.len() >= MAX_CACHED_URLS {
                let victims: Vec<String> = slots
                    .iter()
                    .filter(|(_, s)| s.try_lock().is_ok())
                    .map(|(k, _)| k.clone())
                    .take(MAX_CACHED_URLS / 8 + 1)
                    .collect();
                for v in victims {
                    slots.remove(&v);
                }
            }
        }
        Arc::clone(slots.entry(url.to_owned()).or_default())
    }
}

/// Follows issuer names from `leaf` through `presented`, `held` and `fetched`; returns
/// the last certificate reached when its issuer is missing (neither an anchor's name nor
/// the subject of any of them), `None` when the names reach an anchor, a self-issued
/// certificate or cannot be read.
fn missing_issuer_of<'a>(
    leaf: &'a [u8],
    presented: &'a [CertificateDer<'static>],
    held: &'a [CertificateDer<'static>],
    fetched: &'a [CertificateDer<'static>],
    anchors: &[TrustAnchor<'_>],
) -> Option<&'a [u8]> {
    let pool: Vec<(&[u8], CertNames<'_>)> = presented
        .iter()
        .chain(held)
        .chain(fetched)
        .filter_map(|c| names_of(c).ok().map(|n| (c.as_ref(), n)))
        .collect();
    let is_anchor_name = |name: &[u8]| anchors.iter().any(|a| a.subject.as_ref() == name);
    let mut last = leaf;
    let mut names = names_of(leaf).ok()?;
    let mut used: Vec<&[u8]> = vec![leaf];
    for _ in 0..MAX_NAME_STEPS {
        if is_anchor_name(names.issuer) || names.subject == names.issuer {
            return None;
        }
        let next = pool.iter().find(|(der, n)| n.subject == names.issuer && !used.contains(der));
        let Some((der, n)) = next else { return Some(last) };
        used.push(der);
        last = der;
        names = *n;
    }
    None
}

/// The caIssuers URIs of `cert`'s authority information access extension, at most
/// [`MAX_URLS_PER_CERT`]; none when it has no such extension or it cannot be read.
fn ca_issuers_of(cert: &[u8]) -> Vec<String> {
    let Ok(Some(value)) = extension_of(cert, AIA_OID) else { return Vec::new() };
    let Ok(aia) = AuthorityInfoAccessSyntax::from_der(value) else { return Vec::new() };
    aia.0
        .iter()
        .filter(|d| d.access_method == const_oid::db::rfc5280::ID_AD_CA_ISSUERS)
        .filter_map(|d| match &d.access_location {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.as_str().to_owned()),
            _ => None,
        })
        .take(MAX_URLS_PER_CERT)
        .collect()
}

/// The certificates of a caIssuers response: one DER certificate (RFC 5280 4.2.2.1),
/// or PEM certificates. A PKCS#7 certs-only bundle is refused.
fn parse_response(body: &[u8]) -> Result<Vec<CertificateDer<'static>>, Error> {
    let limits =
        Limits::default().with_max_bundle(MAX_RESPONSE).with_max_chain_len(MAX_CERTS_PER_RESPONSE);
    let text = crate::input::trim_ascii_ws(body);
    let pkcs7 = || {
        Error::new(
            ErrorKind::MalformedInput,
            "pkcs#7 responses are not supported: serve a der or pem certificate",
        )
    };
    let format = if body.first() == Some(&0x30) {
        // A certificate's first field is the TBS SEQUENCE; a PKCS#7 ContentInfo's is an OID.
        let inner = crate::der_reader::sequence_content(body).unwrap_or_default();
        if inner.first() == Some(&0x06) {
            return Err(pkcs7());
        }
        Format::Der
    } else if text.starts_with(b"-----BEGIN PKCS7-----") {
        return Err(pkcs7());
    } else if text.starts_with(b"-----BEGIN ") {
        Format::Pem
    } else {
        return Err(Error::new(
            ErrorKind::MalformedInput,
            "response is neither a der nor a pem certificate",
        ));
    };
    let (certs, _) = crate::input::decode(body, format, &limits)?;
    Ok(certs)
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::pki::Ca;

    #[test]
    fn hosts_are_parsed_with_their_port() {
        let f = IntermediateFetch::from_hosts(["PKI.example.com", "10.0.0.1:8080", "[::1]:81"])
            .unwrap();
        assert_eq!(
            f.hosts,
            [("pki.example.com".into(), 80), ("10.0.0.1".into(), 8080), ("[::1]".into(), 81)]
        );
        let allows = |u: &str| f.allows(&HttpUrl::parse(u).unwrap());
        assert!(allows("http://pki.Example.COM/ca.crt"));
        assert!(allows("http://pki.example.com:80/ca.crt"));
        assert!(!allows("http://pki.example.com:8080/ca.crt"));
        assert!(!allows("http://pki.example.com.evil.test/ca.crt"));
        assert!(!allows("http://10.0.0.1/ca.crt"));
        assert!(allows("http://10.0.0.1:8080/ca.crt"));
        assert!(allows("http://[::1]:81/"));
        for bad in [
            "",
            "http://pki.example.com",
            "pki.example.com/ca.crt",
            "user@pki.example.com",
            "pki.example.com:0",
            "pki.example.com:99999",
            "pki example",
            "pki.example.com?x",
        ] {
            assert!(IntermediateFetch::from_hosts([bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ca_issuers_urls_are_read_and_bounded() {
        let root = Ca::root("Root");
        let mut leaf = root.leaf("client");
        for i in 0..6 {
            leaf = leaf.ca_issuers_url(&format!("http://pki.example.test/{i}.crt"));
        }
        let leaf = leaf.build();
        let urls = ca_issuers_of(leaf.der());
        assert_eq!(urls.len(), MAX_URLS_PER_CERT);
        assert_eq!(urls[0], "http://pki.example.test/0.crt");
        assert!(ca_issuers_of(root.leaf("plain").build().der()).is_empty());
        assert!(ca_issuers_of(b"\x30\x03\x02\x01\x00").is_empty());
    }

    #[test]
    fn a_long_url_from_a_certificate_is_quoted_short() {
        let long = format!("http://{}.example/ca.crt", "a".repeat(2000));
        let leaf = Ca::root("Root").leaf("client").ca_issuers_url(&long).build();
        let fetcher = Fetcher::new(IntermediateFetch::from_hosts(["pki.example"]).unwrap());
        let note = fetcher.url_of(leaf.der()).unwrap_err();
        assert!(note.starts_with("caIssuers host aaa") && note.len() < 300, "{}", note.len());
    }

    #[test]
    fn responses_are_der_or_pem_certificates() {
        let ca = Ca::root("Root").intermediate("Issuing");
        assert_eq!(parse_response(ca.der()).unwrap(), [ca.der().clone()]);
        assert_eq!(parse_response(ca.pem().as_bytes()).unwrap(), [ca.der().clone()]);
        // ContentInfo { OID signedData, ... }
        let pkcs7 = b"\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02";
        assert!(parse_response(pkcs7).unwrap_err().message().contains("pkcs#7"));
        let pem7 = b"-----BEGIN PKCS7-----\nMAA=\n-----END PKCS7-----\n";
        assert!(parse_response(pem7).unwrap_err().message().contains("pkcs#7"));
        for garbage in [&b""[..], b"hello", b"\x30\x80", b"\x30", b"<html>not found</html>"] {
            let e = parse_response(garbage).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::MalformedInput | ErrorKind::NoCertificate | ErrorKind::InputTooLarge
                ),
                "{e}"
            );
        }
    }
}
