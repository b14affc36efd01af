//! [`OcspChecker`]: the [`RevocationChecker`] that asks OCSP responders, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::cache::{Cache, Entry, Key, Outcome};
use super::request::{CertIdHash, Subject, encode, fresh_nonce, is_http, shown};
use super::response::{self, Freshness, Status};
use super::transport::{HttpTransport, OcspTransport};
use crate::BoxFuture;
use crate::error::{ConfigError, Error, ErrorKind, Result};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::{
    Algorithms, RevocationChecker, RevocationDepth, UnknownStatus, VerifiedChain, Verifier,
};

/// A [`RevocationChecker`] asking the certificate's OCSP responder (RFC 6960), with a
/// cache of the answers.
///
/// For each certificate it checks (the client certificate, or with
/// [`RevocationDepth::Chain`] every certificate below the anchor) it posts a request to
/// the responder the certificate's authority information access names (`http://` only)
/// or to the one configured, and accepts the answer only when it is a successful basic
/// response about that certificate (its `CertID`: issuer name and key hashes, serial),
/// signed by the issuer's key or by a responder certificate that the issuer issued (its
/// signature checked), that has id-kp-OCSPSigning and is valid at the verification time,
/// and fresh at that time. `good` accepts, `revoked` refuses with `revoked`; `unknown`,
/// a responder that is down, slow, or answers an error, garbage, a bad signature or a
/// stale response follow the [unknown-status policy](OcspCheckerBuilder::unknown_status)
/// (refused by default, with `revocation_unknown`, or `revocation_stale` for a stale
/// response). Signatures are verified with the [`Verifier`]'s algorithms.
///
/// Answers are cached per certificate until the response's `nextUpdate` (plus the
/// allowance), so a certificate already checked costs a map look-up; concurrent requests
/// for one certificate share one fetch. A failure is remembered for
/// [`failure_ttl_secs`](OcspCheckerBuilder::failure_ttl_secs) (10 s by default), so a
/// responder that is down is not asked again by every request and does not make every
/// request wait for the timeout; it is never remembered as `good`.
///
/// A pinned certificate has no issuer to ask about it: its status is unknown. Runs in
/// a tokio runtime (the server's), which the timeout and the default transport use.
///
/// ```no_run
/// # #[cfg(feature = "ring")] {
/// use std::sync::Arc;
/// use certauth::ocsp::OcspChecker;
/// use certauth::{Authenticator, RING_ALGORITHMS, TrustStore, Verifier};
///
/// let store = TrustStore::builder().add_file("/etc/certauth/client-ca.pem")?.build()?;
/// let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
/// let ocsp = OcspChecker::builder(&verifier).build()?;
/// let auth = Authenticator::builder(verifier).revocation_checker(Arc::new(ocsp)).build()?;
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OcspChecker {
    inner: Arc<Inner>,
}

struct Inner {
    algorithms: Algorithms,
    transport: Arc<dyn OcspTransport>,
    responder: Option<String>,
    depth: RevocationDepth,
    unknown: UnknownStatus,
    freshness: Freshness,
    failure_ttl: i64,
    nonce: bool,
    hash: CertIdHash,
    timeout: Duration,
    max_response: usize,
    cache: Cache,
    /// What the last exchange with a responder gave, for health reports.
    last: std::sync::Mutex<OcspStatus>,
}

/// What an [`OcspChecker`] has seen lately, for a readiness or health report
/// ([`HealthReport::with_ocsp`](crate::health::HealthReport::with_ocsp)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OcspStatus {
    /// How many certificates' answers are cached.
    pub cached: usize,
    /// The verification time of the last request a responder answered with a response
    /// that passed every check (good, revoked or unknown).
    pub last_answer_at: Option<Timestamp>,
    /// The verification time and message of the last failed exchange (responder down,
    /// slow, an error answer, a response that failed a check, no responder named).
    pub last_failure: Option<(Timestamp, String)>,
}

impl fmt::Debug for OcspChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("OcspChecker")
            .field("responder", &i.responder.as_deref().map(shown))
            .field("transport", &i.transport)
            .field("depth", &i.depth)
            .field("unknown_status", &i.unknown)
            .field("freshness", &i.freshness)
            .field("failure_ttl_secs", &i.failure_ttl)
            .field("nonce", &i.nonce)
            .field("cert_id_hash", &i.hash)
            .field("timeout", &i.timeout)
            .field("max_response_bytes", &i.max_response)
            .field("cache", &i.cache)
            .finish()
    }
}

impl OcspChecker {
    /// A builder checking signatures with `verifier`'s algorithms, starting from the
    /// defaults listed on [`OcspCheckerBuilder`].
    pub fn builder(verifier: &Verifier) -> OcspCheckerBuilder {
        OcspCheckerBuilder {
            algorithms: verifier.algorithms(),
            transport: None,
            responder: None,
            depth: RevocationDepth::Leaf,
            unknown: UnknownStatus::Deny,
            allowance: 300,
            max_age: 3600,
            failure_ttl: 10,
            nonce: false,
            hash: CertIdHash::Sha1,
            timeout: Duration::from_secs(5),
            max_response: 64 * 1024,
            cache_entries: 10_000,
        }
    }

    /// How many certificates' answers are cached.
    pub fn cached(&self) -> usize {
        self.inner.cache.len()
    }

    /// The cache size and the last answer and failure seen (a copy).
    pub fn status(&self) -> OcspStatus {
        let last = self.inner.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        OcspStatus { cached: self.cached(), ..last.clone() }
    }

    fn record(&self, outcome: std::result::Result<(), &Error>, now: Timestamp) {
        let mut last = self.inner.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            Ok(()) => last.last_answer_at = Some(now),
            Err(e) => last.last_failure = Some((now, e.message().to_owned())),
        }
    }

    async fn check_chain(&self, chain: &VerifiedChain, now: Timestamp) -> Result<()> {
        let count = match self.inner.depth {
            RevocationDepth::Leaf => 1,
            RevocationDepth::Chain => chain.certificates().len(),
        };
        // From the certificate below the anchor down to the leaf, as CRLs are checked.
        for i in (0..count).rev() {
            self.check_one(chain, i, now).await?;
        }
        Ok(())
    }

    async fn check_one(&self, chain: &VerifiedChain, i: usize, now: Timestamp) -> Result<()> {
        let inner = &*self.inner;
        let role = if i == 0 { "the client certificate" } else { "an intermediate" };
        let in_role = |e: Error| Error::new(e.kind(), format!("{role}: {}", e.message()));
        let key: Key = match i {
            0 => *chain.thumbprint().as_bytes(),
            _ => match chain.certificates().get(i) {
                Some(der) => *Thumbprint::of(der).as_bytes(),
                None => return Ok(()),
            },
        };
        if let Some(verdict) = inner.cache.verdict(&key, now, inner.unknown) {
            return verdict.map_err(in_role);
        }
        let (Some(cert), Some(issuer_spki)) = (chain.certificates().get(i), chain.issuer_spki(i))
        else {
            let none = Error::new(
                ErrorKind::RevocationUnknown,
                "ocsp: a pinned certificate has no issuer to ask about it",
            );
            return Outcome::Unknown(none).verdict(inner.unknown).map_err(in_role);
        };
        let entry = inner.cache.fetch_once(key, now, self.fetch(cert, issuer_spki, now)).await;
        entry.outcome.verdict(inner.unknown).map_err(in_role)
    }

    /// Asks the responder about `cert` and turns the answer into a cache entry.
    async fn fetch(&self, cert: &[u8], issuer_spki: &[u8], now: Timestamp) -> Entry {
        let inner = &*self.inner;
        let failure = |e: Error| {
            tracing::warn!(target: "certauth::ocsp", error = %e, "ocsp check failed");
            self.record(Err(&e), now);
            Entry {
                outcome: Outcome::Unknown(e),
                from: now,
                // A failure held for no time is not cached.
                until: if inner.failure_ttl > 0 {
                    now.plus_secs(inner.failure_ttl)
                } else {
                    now.plus_secs(-1)
                },
            }
        };
        match self.ask(cert, issuer_spki, now).await {
            Err(e) => failure(e),
            Ok((answer, url)) => {
                self.record(Ok(()), now);
                let from = inner.freshness.fresh_from(&answer);
                let until = inner.freshness.fresh_until(&answer);
                let outcome = match answer.status {
                    Status::Good => Outcome::Good,
                    Status::Revoked { at } => Outcome::Revoked(Error::new(
                        ErrorKind::Revoked,
                        format!("ocsp: revoked at {} (responder {})", at.to_rfc3339(), shown(&url)),
                    )),
                    Status::Unknown => Outcome::Unknown(Error::new(
                        ErrorKind::RevocationUnknown,
                        format!("ocsp: responder {} does not know the certificate", shown(&url)),
                    )),
                };
                Entry { outcome, from, until }
            }
        }
    }

    async fn ask(
        &self,
        cert: &[u8],
        issuer_spki: &[u8],
        now: Timestamp,
    ) -> Result<(response::Answer, String)> {
        let inner = &*self.inner;
        let unknown = |m: String| Error::new(ErrorKind::RevocationUnknown, m);
        let subject =
            Subject::new(cert, issuer_spki).map_err(|e| unknown(e.message().to_owned()))?;
        let url = match (&inner.responder, subject.responders.first()) {
            (Some(url), _) | (None, Some(url)) => url.clone(),
            (None, None) => {
                return Err(unknown(
                    "ocsp: the certificate names no http:// ocsp responder".into(),
                ));
            }
        };
        let nonce = if inner.nonce { Some(fresh_nonce()?) } else { None };
        let request = encode(subject.cert_id(inner.hash)?, nonce.as_ref().map(|n| &n[..]))?;
        let at = shown(&url);
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(unknown("ocsp: no tokio runtime to ask the responder in".into()));
        }
        let body = tokio::time::timeout(
            inner.timeout,
            inner.transport.post(&url, &request, inner.max_response),
        )
        .await
        .map_err(|_| {
            unknown(format!("ocsp: responder {at} did not answer within {:?}", inner.timeout))
        })?
        .map_err(|e| unknown(format!("ocsp: responder {at}: {}", e.message())))?;
        let answer = response::check(
            &body,
            inner.max_response,
            &subject,
            inner.algorithms,
            now,
            inner.freshness,
            nonce.as_ref().map(|n| &n[..]),
        )
        .map_err(|e| {
            let kind = match e.kind() {
                ErrorKind::RevocationStale => ErrorKind::RevocationStale,
                _ => ErrorKind::RevocationUnknown,
            };
            let message = e.message().strip_prefix("ocsp: ").unwrap_or(e.message());
            Error::new(kind, format!("ocsp: responder {at}: {message}"))
        })?;
        Ok((answer, url))
    }
}

impl RevocationChecker for OcspChecker {
    fn check<'a>(&'a self, chain: &'a VerifiedChain, now: Timestamp) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.check_chain(chain, now))
    }
}

/// Configures an [`OcspChecker`], from [`OcspChecker::builder`].
///
/// | setting | default | why |
/// |---|---|---|
/// | [responder](Self::responder_url) | the certificate's AIA id-ad-ocsp (`http://`) | where the CA says to ask |
/// | [depth](Self::depth) | [`RevocationDepth::Leaf`] | one request per new client; intermediates change rarely and CRLs cover them well |
/// | [unknown status](Self::unknown_status) | [`UnknownStatus::Deny`] | fail closed, as the verifier's CRL policy can |
/// | [clock allowance](Self::clock_allowance_secs) | 300 s | responders' and servers' clocks differ |
/// | [maximum age](Self::max_age_secs) | 3,600 s, for responses without `nextUpdate` | such a response says nothing about later |
/// | [failure memory](Self::failure_ttl_secs) | 10 s | a responder that is down is not hammered, nor waited for by every request |
/// | [nonce](Self::nonce) | off | many responders serve cached responses and ignore nonces |
/// | [CertID hash](Self::cert_id_hash) | [`CertIdHash::Sha1`] | what RFC 5019 responders expect |
/// | [timeout](Self::timeout) | 5 s | a slow responder must not hold requests |
/// | [response bound](Self::max_response_bytes) | 64 KiB | a response is a few KiB |
/// | [cache bound](Self::cache_entries) | 10,000 certificates | a few hundred bytes each |
/// | [transport](Self::transport) | [`HttpTransport`] | |
pub struct OcspCheckerBuilder {
    algorithms: Algorithms,
    transport: Option<Arc<dyn OcspTransport>>,
    responder: Option<String>,
    depth: RevocationDepth,
    unknown: UnknownStatus,
    allowance: u32,
    max_age: u32,
    failure_ttl: u32,
    nonce: bool,
    hash: CertIdHash,
    timeout: Duration,
    max_response: usize,
    cache_entries: usize,
}

impl fmt::Debug for OcspCheckerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OcspCheckerBuilder")
            .field("responder", &self.responder.as_deref().map(shown))
            .field("depth", &self.depth)
            .field("unknown_status", &self.unknown)
            .finish_non_exhaustive()
    }
}

impl OcspCheckerBuilder {
    /// Ask this responder (an `http://` URL) about every certificate, whatever its
    /// authority information access says. Default: the certificate's own responder.
    /// `build` refuses another scheme.
    ///
    /// ```
    /// # #[cfg(all(feature = "ring", feature = "testkit"))] {
    /// # use certauth::{RING_ALGORITHMS, TrustStore, Verifier};
    /// # let root = certauth::testkit::pki::Ca::root("Root");
    /// # let store = TrustStore::builder().add_der(root.der())?.build()?;
    /// # let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
    /// use certauth::ocsp::OcspChecker;
    /// let ocsp = OcspChecker::builder(&verifier).responder_url("http://ocsp.example.test/").build()?;
    /// assert!(OcspChecker::builder(&verifier).responder_url("https://ocsp.example.test/").build().is_err());
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn responder_url(mut self, url: impl Into<String>) -> Self {
        self.responder = Some(url.into());
        self
    }

    /// Which certificates are checked: the client certificate only (default), or every
    /// certificate below the anchor ([`RevocationDepth::Chain`], one more request per
    /// intermediate on a cache miss).
    #[must_use]
    pub fn depth(mut self, depth: RevocationDepth) -> Self {
        self.depth = depth;
        self
    }

    /// What `unknown`, an unreachable responder, an error answer or a response that
    /// fails a check mean. Default [`UnknownStatus::Deny`]: refused with
    /// `revocation_unknown` (`revocation_stale` for a stale response).
    /// [`UnknownStatus::Allow`] accepts the certificate then (soft fail: an attacker who
    /// can block the responder keeps a revoked certificate working); a signed `revoked`
    /// is refused under either.
    #[must_use]
    pub fn unknown_status(mut self, policy: UnknownStatus) -> Self {
        self.unknown = policy;
        self
    }

    /// The allowance, in seconds, for clocks: a response is fresh from `thisUpdate`
    /// minus this to `nextUpdate` plus this. Default 300.
    #[must_use]
    pub fn clock_allowance_secs(mut self, secs: u32) -> Self {
        self.allowance = secs;
        self
    }

    /// How long after its `thisUpdate` a response without `nextUpdate` stays fresh (and
    /// cached). Default 3,600 s.
    #[must_use]
    pub fn max_age_secs(mut self, secs: u32) -> Self {
        self.max_age = secs;
        self
    }

    /// How long a failure (responder down, error answer, bad response) is remembered
    /// for one certificate before the responder is asked again; 0 asks on every
    /// request. Default 10 s.
    #[must_use]
    pub fn failure_ttl_secs(mut self, secs: u32) -> Self {
        self.failure_ttl = secs;
        self
    }

    /// Send a random nonce with each request and refuse a response that does not echo
    /// it (a replayed response). Default off: responders that serve pre-signed
    /// responses (most public CAs, CDNs) ignore nonces, and `nextUpdate` already bounds
    /// a replay.
    #[must_use]
    pub fn nonce(mut self, on: bool) -> Self {
        self.nonce = on;
        self
    }

    /// The hash naming the certificate in requests. Default [`CertIdHash::Sha1`].
    #[must_use]
    pub fn cert_id_hash(mut self, hash: CertIdHash) -> Self {
        self.hash = hash;
        self
    }

    /// How long one exchange with a responder may take, connection included. Default 5 s.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted. Default 64 KiB.
    #[must_use]
    pub fn max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response = bytes;
        self
    }

    /// How many certificates' answers are cached; when full, an expired answer or the
    /// one expiring soonest (among a sample) makes room. 0 caches nothing. Default 10,000.
    #[must_use]
    pub fn cache_entries(mut self, entries: usize) -> Self {
        self.cache_entries = entries;
        self
    }

    /// The HTTP client. Default [`HttpTransport`].
    #[must_use]
    pub fn transport(mut self, transport: Arc<dyn OcspTransport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The checker; refuses a responder URL that is not `http://` and a zero timeout.
    pub fn build(self) -> std::result::Result<OcspChecker, ConfigError> {
        let invalid = |what: &str, why: &'static str| ConfigError::Invalid {
            what: what.to_owned(),
            error: Error::new(ErrorKind::MalformedInput, why),
        };
        if let Some(url) = &self.responder
            && (!is_http(url) || url.parse::<http::Uri>().is_err())
        {
            return Err(invalid(
                "ocsp responder url",
                "only http:// urls are asked (responses are signed)",
            ));
        }
        if self.timeout.is_zero() {
            return Err(invalid("ocsp timeout", "must be more than zero"));
        }
        Ok(OcspChecker {
            inner: Arc::new(Inner {
                algorithms: self.algorithms,
                transport: self.transport.unwrap_or_else(|| Arc::new(HttpTransport::new())),
                responder: self.responder,
                depth: self.depth,
                unknown: self.unknown,
                freshness: Freshness {
                    allowance: i64::from(self.allowance),
                    max_age: i64::from(self.max_age),
                },
                failure_ttl: i64::from(self.failure_ttl),
                nonce: self.nonce,
                hash: self.hash,
                timeout: self.timeout,
                max_response: self.max_response,
                cache: Cache::new(self.cache_entries),
                last: std::sync::Mutex::new(OcspStatus::default()),
            }),
        })
    }
}

#[cfg(all(test, feature = "testkit", feature = "ring"))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::testkit::pki::{Ca, Leaf};
    use crate::{RING_ALGORITHMS, TrustStore};

    fn now() -> Timestamp {
        Timestamp::from_utc(2026, 6, 1, 0, 0, 0).unwrap()
    }

    /// Answers with a prepared body (or an error), counting calls; optionally waits for
    /// a release first.
    #[derive(Debug, Default)]
    struct Canned {
        body: std::sync::Mutex<Option<Vec<u8>>>,
        calls: AtomicUsize,
        gate: Option<tokio::sync::Semaphore>,
        hang: bool,
    }

    impl Canned {
        fn answering(der: &[u8]) -> Arc<Self> {
            Arc::new(Self { body: std::sync::Mutex::new(Some(der.to_vec())), ..Self::default() })
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl OcspTransport for Canned {
        fn post<'a>(&'a self, _: &'a str, _: &'a [u8], _: usize) -> BoxFuture<'a, Result<Vec<u8>>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = &self.gate {
                    let _ = gate.acquire().await;
                }
                if self.hang {
                    std::future::pending::<()>().await;
                }
                self.body
                    .lock()
                    .unwrap()
                    .clone()
                    .ok_or_else(|| Error::new(ErrorKind::RevocationUnknown, "connection refused"))
            })
        }
    }

    fn setup(ca: &Ca, leaf: &Leaf) -> (Verifier, VerifiedChain) {
        let store =
            TrustStore::builder().add_der(ca.der()).unwrap().check_at(now()).build().unwrap();
        let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        let chain = verifier.verify(&leaf.presented(), now()).unwrap();
        (verifier, chain)
    }

    /// The status a health report shows: the last answer and the last failure, and
    /// the report says "failing" only while no answer has come since the failure.
    #[tokio::test]
    async fn status_tells_the_last_answer_and_failure() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").ocsp_responder("http://ocsp.example.test/?k=secret").build();
        let other = ca.leaf("other").ocsp_responder("http://ocsp.example.test/").build();
        let (verifier, chain) = setup(&ca, &leaf);
        let other_chain = verifier.verify(&other.presented(), now()).unwrap();
        let transport = Arc::new(Canned::default());
        let ocsp = OcspChecker::builder(&verifier).transport(transport.clone()).build().unwrap();
        let health = |o: &OcspChecker| {
            crate::health::HealthReport::new(&verifier.trust_store(), now(), 0).with_ocsp(o)
        };
        assert_eq!(ocsp.status(), OcspStatus::default());
        assert!(!health(&ocsp).ocsp.unwrap().failing);
        // The responder is down.
        assert!(ocsp.check(&chain, now()).await.is_err());
        let status = ocsp.status();
        assert_eq!(status.last_answer_at, None);
        let (at, why) = status.last_failure.unwrap();
        assert_eq!(at, now());
        assert!(why.contains("connection refused") && !why.contains("secret"), "{why}");
        let report = health(&ocsp);
        assert!(report.ocsp.as_ref().unwrap().failing && report.healthy, "reported, not judged");
        // It answers again.
        *transport.body.lock().unwrap() =
            Some(ca.ocsp_response(other.der()).build().der().to_vec());
        ocsp.check(&other_chain, now().plus_secs(1)).await.unwrap();
        let status = ocsp.status();
        assert_eq!((status.cached, status.last_answer_at), (2, Some(now().plus_secs(1))));
        let report = health(&ocsp);
        assert!(!report.ocsp.as_ref().unwrap().failing);
        assert!(report.to_json().contains("\"last_failure_at\""), "{}", report.to_json());
    }

    #[tokio::test]
    async fn cached_answer_costs_no_fetch_and_revocation_refuses() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").ocsp_responder("http://ocsp.example.test/").build();
        let (verifier, chain) = setup(&ca, &leaf);
        let transport = Canned::answering(ca.ocsp_response(leaf.der()).build().der());
        let ocsp = OcspChecker::builder(&verifier).transport(transport.clone()).build().unwrap();
        for _ in 0..3 {
            ocsp.check(&chain, now()).await.unwrap();
        }
        assert_eq!((transport.calls(), ocsp.cached()), (1, 1));
        // Past the cached answer's nextUpdate (and allowance), the responder is asked again.
        let later = crate::testkit::pki::DEFAULT_NOT_AFTER.plus_secs(301);
        let e = ocsp.check(&chain, later).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevocationStale, "{e}");
        assert_eq!(transport.calls(), 2);

        let revoked = Canned::answering(ca.ocsp_response(leaf.der()).revoked(now()).build().der());
        for policy in [UnknownStatus::Deny, UnknownStatus::Allow] {
            let ocsp = OcspChecker::builder(&verifier)
                .transport(revoked.clone())
                .unknown_status(policy)
                .build()
                .unwrap();
            let e = ocsp.check(&chain, now()).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Revoked);
            assert!(e.message().starts_with("the client certificate: ocsp: revoked at"), "{e}");
        }
    }

    /// Concurrent checks of one certificate share one fetch, even with nothing cached.
    #[tokio::test(flavor = "current_thread")]
    async fn concurrent_checks_share_one_fetch() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").ocsp_responder("http://ocsp.example.test/").build();
        let (verifier, chain) = setup(&ca, &leaf);
        let transport = Arc::new(Canned {
            body: std::sync::Mutex::new(Some(ca.ocsp_response(leaf.der()).build().der().to_vec())),
            gate: Some(tokio::sync::Semaphore::new(0)),
            ..Canned::default()
        });
        let ocsp = Arc::new(
            OcspChecker::builder(&verifier)
                .transport(transport.clone())
                .cache_entries(0)
                .build()
                .unwrap(),
        );
        let chain = Arc::new(chain);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (ocsp, chain) = (ocsp.clone(), chain.clone());
            tasks.spawn(async move { ocsp.check(&chain, now()).await });
        }
        // On this one thread, every task runs to its first wait before the gate opens.
        while transport.calls() == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        transport.gate.as_ref().unwrap().add_permits(16);
        while let Some(result) = tasks.join_next().await {
            result.unwrap().unwrap();
        }
        assert_eq!(transport.calls(), 1);
        assert_eq!(ocsp.cached(), 0);
    }

    /// A responder that never answers costs one timeout, then the remembered failure;
    /// the policy decides; an unreachable responder is never remembered as good.
    #[tokio::test]
    async fn down_or_silent_responder_follows_the_policy() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").ocsp_responder("http://ocsp.example.test/").build();
        let (verifier, chain) = setup(&ca, &leaf);
        let silent = Arc::new(Canned { hang: true, ..Canned::default() });
        let ocsp = OcspChecker::builder(&verifier)
            .transport(silent.clone())
            .timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let e = ocsp.check(&chain, now()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevocationUnknown);
        assert!(e.message().contains("did not answer within 50ms"), "{e}");
        // Remembered for the failure TTL: no second call, the same refusal.
        assert_eq!(ocsp.check(&chain, now().plus_secs(9)).await.unwrap_err(), e);
        assert_eq!(silent.calls(), 1);
        ocsp.check(&chain, now().plus_secs(11)).await.unwrap_err();
        assert_eq!(silent.calls(), 2);

        let down = Arc::new(Canned::default());
        let open = OcspChecker::builder(&verifier)
            .transport(down.clone())
            .unknown_status(UnknownStatus::Allow)
            .failure_ttl_secs(0)
            .build()
            .unwrap();
        open.check(&chain, now()).await.unwrap();
        open.check(&chain, now()).await.unwrap();
        assert_eq!((down.calls(), open.cached()), (2, 0));
    }

    #[tokio::test]
    async fn no_responder_pinned_and_unknown_follow_the_policy() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        let (verifier, chain) = setup(&ca, &leaf);
        let unknown = Canned::answering(ca.ocsp_response(leaf.der()).unknown().build().der());
        let ocsp = OcspChecker::builder(&verifier).transport(unknown.clone()).build().unwrap();
        let e = ocsp.check(&chain, now()).await.unwrap_err();
        assert!(e.message().contains("names no http:// ocsp responder"), "{e}");
        assert_eq!(unknown.calls(), 0);

        let ocsp = OcspChecker::builder(&verifier)
            .transport(unknown.clone())
            .responder_url("http://ocsp.example.test/ocsp?token=secret")
            .build()
            .unwrap();
        let e = ocsp.check(&chain, now()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevocationUnknown);
        assert!(e.message().contains("does not know the certificate"), "{e}");
        assert!(!e.message().contains("secret") && !format!("{ocsp:?}").contains("secret"), "{e}");

        let pinned_leaf = crate::testkit::pki::self_signed_client("pinned");
        let store =
            TrustStore::builder().pin_certificate(pinned_leaf.der()).unwrap().build().unwrap();
        let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        let pinned = verifier.verify(&pinned_leaf.presented(), now()).unwrap();
        let ocsp = OcspChecker::builder(&verifier).transport(unknown.clone()).build().unwrap();
        let e = ocsp.check(&pinned, now()).await.unwrap_err();
        assert!(e.message().contains("pinned"), "{e}");
        let open = OcspChecker::builder(&verifier)
            .transport(unknown)
            .unknown_status(UnknownStatus::Allow)
            .build()
            .unwrap();
        open.check(&pinned, now()).await.unwrap();
    }

    /// With the whole chain checked, a revoked intermediate is refused as such, asked
    /// about under its own issuer's key.
    #[tokio::test]
    async fn chain_depth_checks_intermediates() {
        let root = Ca::root("Root");
        let issuing = root.sub_ca("Issuing").serial(&[0x11, 0x22, 0x33]).build();
        let leaf = issuing.leaf("client").serial(&[0x55, 0x66, 0x77]).build();
        let store =
            TrustStore::builder().add_der(root.der()).unwrap().check_at(now()).build().unwrap();
        let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        let chain = verifier.verify(&leaf.presented(), now()).unwrap();

        /// Answers by what the request asks: the intermediate revoked, the leaf good.
        #[derive(Debug)]
        struct ByRequest(Vec<(Vec<u8>, Vec<u8>)>);
        impl OcspTransport for ByRequest {
            fn post<'a>(
                &'a self,
                _: &'a str,
                req: &'a [u8],
                _: usize,
            ) -> BoxFuture<'a, Result<Vec<u8>>> {
                let found = self
                    .0
                    .iter()
                    .find(|(serial, _)| req.windows(serial.len()).any(|w| w == serial.as_slice()));
                Box::pin(std::future::ready(Ok(found.map(|(_, r)| r.clone()).unwrap_or_default())))
            }
        }
        let issuing_cert = crate::Certificate::from_der(issuing.der()).unwrap();
        let transport = Arc::new(ByRequest(vec![
            (
                issuing_cert.serial_bytes().to_vec(),
                root.ocsp_response(issuing.der()).revoked(now()).build().der().to_vec(),
            ),
            (leaf.serial().to_vec(), issuing.ocsp_response(leaf.der()).build().der().to_vec()),
        ]));
        let leaf_only = OcspChecker::builder(&verifier)
            .transport(transport.clone())
            .responder_url("http://ocsp.example.test/")
            .build()
            .unwrap();
        leaf_only.check(&chain, now()).await.unwrap();
        let whole = OcspChecker::builder(&verifier)
            .transport(transport)
            .responder_url("http://ocsp.example.test/")
            .depth(RevocationDepth::Chain)
            .build()
            .unwrap();
        let e = whole.check(&chain, now()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Revoked);
        assert!(e.message().starts_with("an intermediate:"), "{e}");
    }

    #[test]
    fn builder_refuses_other_schemes_and_a_zero_timeout() {
        let ca = Ca::root("Root");
        let (verifier, _) = setup(&ca, &ca.leaf("client").build());
        for url in ["https://ocsp.example.test/", "ldap://x", "http://", "ocsp.example.test"] {
            assert!(OcspChecker::builder(&verifier).responder_url(url).build().is_err(), "{url}");
        }
        assert!(OcspChecker::builder(&verifier).timeout(Duration::ZERO).build().is_err());
        assert!(
            OcspChecker::builder(&verifier)
                .responder_url("HTTP://127.0.0.1:8080/ocsp")
                .build()
                .is_ok()
        );
    }
}
