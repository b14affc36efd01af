//! [`CrlDistributionPoints`]: the [`RevocationChecker`] that fetches the CRLs the
//! certificates name, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::cache::{Cache, Fetch, Lookup, Timing};
use super::shown;
use crate::BoxFuture;
use crate::der_reader;
use crate::error::{ConfigError, Error, ErrorKind, Result};
use crate::http_get::{self, HttpUrl};
use crate::time::Timestamp;
use crate::trust::Crl;
use crate::trust::crl::CrlSignature;
use crate::verify::{
    Algorithms, RevocationChecker, RevocationDepth, UnknownStatus, VerifiedChain, Verifier,
};

/// The most distribution point URIs of one certificate that are read and tried.
const MAX_POINTS: usize = 4;

/// A [`RevocationChecker`] that fetches the CRL named by each certificate's CRL
/// distribution points extension, caches it per URL and refreshes it ahead of its
/// `nextUpdate`.
///
/// For each certificate it checks (the client certificate, or with
/// [`RevocationDepth::Chain`] every certificate below the anchor) it tries the
/// certificate's `http://` full-name distribution points in order (distribution points
/// with reasons or a cRLIssuer, and other schemes, are skipped) until one gives a usable
/// CRL, which must be issued by the certificate's issuer and cover it (its issuing
/// distribution point scope included), be signed by the issuer's key in the verified
/// path (with the [`Verifier`]'s algorithms; an intermediate issuer must have cRLSign),
/// and be fresh at the verification time within the [clock
/// allowance](CrlDistributionPointsBuilder::clock_allowance_secs). A listed serial is
/// refused with `revoked`. No distribution point, a fetch that fails (server down,
/// timeout, error status, redirect, oversized or malformed answer) or a CRL that fails a
/// check follow the [unknown-status policy](CrlDistributionPointsBuilder::unknown_status)
/// (refused by default, with `revocation_unknown`); a CRL past its `nextUpdate` with no
/// newer one obtainable gives `revocation_stale`.
///
/// **Cache.** Per URL, the last good CRL is kept until it is replaced (so while fresh it
/// serves every certificate that names the URL: a map look-up and a set look-up per
/// request), and fetched again in the last tenth of its `thisUpdate`..`nextUpdate`
/// window or after the [refresh interval](CrlDistributionPointsBuilder::refresh_interval),
/// in the background while it keeps serving. Concurrent requests share one fetch per
/// URL. A failed fetch is remembered for the [failure
/// TTL](CrlDistributionPointsBuilder::failure_ttl_secs), so a dead URL is not asked
/// again by every request; the last good CRL keeps serving until its `nextUpdate`. A
/// fetched CRL replaces the held one only if it is signed by the issuer and its CRL
/// number is not lower (a replayed older CRL never rolls the cache back).
///
/// A pinned certificate has no issuer: its status is unknown.
///
/// ```
/// # #[cfg(all(feature = "ring", feature = "testkit"))] {
/// use certauth::crldp::CrlDistributionPoints;
/// use certauth::{RING_ALGORITHMS, RevocationDepth, TrustStore, UnknownStatus, Verifier};
/// # let root = certauth::testkit::pki::Ca::root("Root");
/// # let store = TrustStore::builder().add_der(root.der())?.build()?;
/// let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
/// let crls = CrlDistributionPoints::builder(&verifier)
///     .depth(RevocationDepth::Chain)
///     .unknown_status(UnknownStatus::Deny)
///     .build()?;
/// assert_eq!(crls.cached(), 0);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CrlDistributionPoints {
    inner: Arc<Inner>,
}

struct Inner {
    algorithms: Algorithms,
    depth: RevocationDepth,
    unknown: UnknownStatus,
    allowance: i64,
    timeout: Duration,
    max_bytes: usize,
    cache: Arc<Cache>,
}

impl fmt::Debug for CrlDistributionPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &*self.inner;
        f.debug_struct("CrlDistributionPoints")
            .field("depth", &i.depth)
            .field("unknown_status", &i.unknown)
            .field("clock_allowance_secs", &i.allowance)
            .field("timeout", &i.timeout)
            .field("max_crl_bytes", &i.max_bytes)
            .field("cache", &i.cache)
            .finish()
    }
}

/// The facts about one certificate that deciding on a CRL needs, borrowed from the
/// verified chain.
struct Subject<'a> {
    cert: &'a [u8],
    is_leaf: bool,
    /// The issuer `Name`'s content, as webpki compares it with a CRL's.
    issuer_name: &'a [u8],
    /// The issuer's `SubjectPublicKeyInfo` content.
    issuer_spki: &'a [u8],
    /// The issuer's certificate, when it is an intermediate (an anchor's key usage is
    /// not checked, as for configured CRLs).
    issuer_cert: Option<&'a [u8]>,
    serial: &'a [u8],
}

impl CrlDistributionPoints {
    /// A builder checking signatures with `verifier`'s algorithms, starting from the
    /// defaults listed on [`CrlDistributionPointsBuilder`].
    pub fn builder(verifier: &Verifier) -> CrlDistributionPointsBuilder {
        CrlDistributionPointsBuilder {
            algorithms: verifier.algorithms(),
            depth: RevocationDepth::Leaf,
            unknown: UnknownStatus::Deny,
            allowance: 300,
            refresh: Duration::from_secs(3600),
            failure_ttl: 30,
            timeout: Duration::from_secs(10),
            max_bytes: 16 << 20,
            cache_entries: 64,
            max_fetches: 8,
        }
    }

    /// How many distribution point URLs are held (with their last good CRL or their
    /// last failure).
    pub fn cached(&self) -> usize {
        self.inner.cache.len()
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
        let role = if i == 0 { "the client certificate" } else { "an intermediate" };
        let unknown = |m: &str| Error::new(ErrorKind::RevocationUnknown, format!("{role}: {m}"));
        let certs = chain.certificates();
        let Some(cert) = certs.get(i) else { return Ok(()) };
        let Some(issuer_spki) = chain.issuer_spki(i) else {
            return self.verdict(unknown("a pinned certificate has no issuer to publish its crl"));
        };
        let (Ok(names), Ok(serial)) = (der_reader::names_of(cert), der_reader::serial_of(cert))
        else {
            return self.verdict(unknown("crl distribution points: cannot read the certificate"));
        };
        let subject = Subject {
            cert,
            is_leaf: i == 0,
            issuer_name: names.issuer,
            issuer_spki,
            issuer_cert: certs.get(i + 1).map(|c| &c[..]),
            serial,
        };
        let mut uris: [&[u8]; MAX_POINTS] = [&[]; MAX_POINTS];
        let Ok(n) = der_reader::crl_distribution_uris(cert, &mut uris) else {
            return self.verdict(unknown("its crl distribution points extension is malformed"));
        };
        let mut failure: Option<Error> = None;
        for uri in &uris[..n] {
            let Some(url) = std::str::from_utf8(uri).ok().filter(|u| is_http(u)) else {
                continue;
            };
            let at = |e: Error| {
                Error::new(e.kind(), format!("{role}: crl from {}: {}", shown(url), e.message()))
            };
            let decided = match self.crl_at(url, &subject, now).await {
                Ok(crl) => self.decide(&crl, &subject),
                Err(e) => Err(e),
            };
            match decided {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Revoked => return Err(at(e)),
                // A stale CRL is the answer when no distribution point gives a fresh one.
                Err(e) => {
                    if failure.as_ref().is_none_or(|f| {
                        f.kind() != ErrorKind::RevocationStale
                            && e.kind() == ErrorKind::RevocationStale
                    }) {
                        failure = Some(at(e));
                    }
                }
            }
        }
        self.verdict(
            failure.unwrap_or_else(|| unknown("it names no http:// crl distribution point")),
        )
    }

    /// The unknown-status policy applied to a failure.
    fn verdict(&self, e: Error) -> Result<()> {
        match self.inner.unknown {
            UnknownStatus::Allow if e.kind() != ErrorKind::Revoked => Ok(()),
            _ => Err(e),
        }
    }

    /// A CRL from `url` fresh at `now`: the cached one (fetching a newer one in the
    /// background when due), or one fetched now.
    async fn crl_at(&self, url: &str, subject: &Subject<'_>, now: Timestamp) -> Result<Arc<Crl>> {
        let inner = &*self.inner;
        match inner.cache.lookup(url, now) {
            Lookup::Fresh { crl, refresh } => {
                if refresh {
                    // Nobody waits: the thread updates the cache when it is done.
                    drop(inner.cache.fetch(url, now, || self.fetch_work(url, subject)));
                }
                Ok(crl)
            }
            Lookup::Quiet(e) => Err(e),
            Lookup::Fetch => match inner.cache.fetch(url, now, || self.fetch_work(url, subject)) {
                Some(landing) => landing.await.usable(now, inner.allowance).cloned(),
                None => Err(Error::new(
                    ErrorKind::RevocationUnknown,
                    format!(
                        "not fetched: {} crl fetches are under way already",
                        inner.cache.fetching()
                    ),
                )),
            },
        }
    }

    /// The work of one fetch, run on its own thread: GET, parse, and check that the CRL
    /// is issued and signed by the issuer of the certificate that asked for it, so that
    /// nothing else is ever cached for the URL.
    fn fetch_work(&self, url: &str, subject: &Subject<'_>) -> Fetch {
        let inner = &*self.inner;
        let (algorithms, max, timeout) = (inner.algorithms, inner.max_bytes, inner.timeout);
        let url = url.to_owned();
        let issuer_name = subject.issuer_name.to_vec();
        let issuer_spki = subject.issuer_spki.to_vec();
        Box::new(move || {
            let unknown = |m: &str| Error::new(ErrorKind::RevocationUnknown, m.to_owned());
            let parsed = HttpUrl::parse(&url).map_err(|e| unknown(e.message()))?;
            let bytes = http_get::get(&parsed, http_get::ACCEPT_CRL, max, timeout)
                .map_err(|e| unknown(e.message()))?;
            let mut crls = Crl::parse_any(&bytes).map_err(|e| unknown(e.message()))?;
            let (Some(crl), true) = (crls.pop(), crls.is_empty()) else {
                return Err(unknown("the answer holds more than one crl"));
            };
            if crl.issuer_raw() != issuer_name {
                return Err(unknown(&format!(
                    "the crl is issued by {}, not by the certificate's issuer",
                    crl.issuer()
                )));
            }
            match crl.signature_under(algorithms, &issuer_spki) {
                CrlSignature::Valid => Ok(crl),
                CrlSignature::Invalid => Err(unknown(&format!(
                    "the signature of crl {} does not verify under the issuer's key",
                    crl.number_hex()
                ))),
                CrlSignature::Unsupported => Err(unknown(&format!(
                    "crl {} has a signature algorithm not supported for the issuer's key",
                    crl.number_hex()
                ))),
            }
        })
    }

    /// The status `crl` gives the certificate: it must cover it and be signed by its
    /// issuer (as every certificate naming the URL gets the cached CRL, whoever fetched
    /// it); a listed serial is revoked. Freshness was checked by the cache look-up.
    fn decide(&self, crl: &Crl, s: &Subject<'_>) -> Result<()> {
        let unknown = |m: String| Error::new(ErrorKind::RevocationUnknown, m);
        if !crl.covers(s.issuer_name, s.cert, s.is_leaf) {
            return Err(unknown(format!(
                "crl {} of {} does not cover the certificate (issuer or scope)",
                crl.number_hex(),
                crl.issuer()
            )));
        }
        if crl.signature_under(self.inner.algorithms, s.issuer_spki) != CrlSignature::Valid {
            return Err(unknown(format!(
                "the signature of crl {} of {} does not verify under the issuer's key",
                crl.number_hex(),
                crl.issuer()
            )));
        }
        if let Some(issuer) = s.issuer_cert {
            let can_sign = match der_reader::key_usage_of(issuer) {
                Ok(None) => true,
                Ok(Some(bits)) => crate::cert::KeyUsage::from_bits(bits).crl_sign(),
                Err(_) => false,
            };
            if !can_sign {
                return Err(unknown(format!(
                    "the issuer of crl {} lacks the crlSign key usage",
                    crl.number_hex()
                )));
            }
        }
        if crl.lists(s.serial) {
            return Err(Error::new(
                ErrorKind::Revoked,
                format!(
                    "serial {} is revoked by crl {} of {}",
                    crate::hex::encode(s.serial, None),
                    crl.number_hex(),
                    crl.issuer()
                ),
            ));
        }
        Ok(())
    }
}

/// Whether `url` has the `http` scheme (any case).
fn is_http(url: &str) -> bool {
    url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

impl RevocationChecker for CrlDistributionPoints {
    fn check<'a>(&'a self, chain: &'a VerifiedChain, now: Timestamp) -> BoxFuture<'a, Result<()>> {
        Box::pin(self.check_chain(chain, now))
    }
}

/// Configures a [`CrlDistributionPoints`], from [`CrlDistributionPoints::builder`].
///
/// | setting | default | why |
/// |---|---|---|
/// | [depth](Self::depth) | [`RevocationDepth::Leaf`] | the client certificate's CRL is the one that changes often |
/// | [unknown status](Self::unknown_status) | [`UnknownStatus::Deny`] | fail closed: a blocked CRL must not let a revoked client in |
/// | [clock allowance](Self::clock_allowance_secs) | 300 s | CAs' and servers' clocks differ |
/// | [refresh interval](Self::refresh_interval) | 1 hour | a revocation published before `nextUpdate` takes effect within it |
/// | [failure memory](Self::failure_ttl_secs) | 30 s | a dead URL is not asked by every request |
/// | [timeout](Self::timeout) | 10 s | as for a configured CRL URL |
/// | [CRL bound](Self::max_crl_bytes) | 16 MiB | as for a configured CRL URL |
/// | [cache bound](Self::cache_entries) | 64 URLs | one per issuing CA or partition |
/// | [fetch bound](Self::max_concurrent_fetches) | 8 threads | fetches are rare; a burst must not spawn without bound |
pub struct CrlDistributionPointsBuilder {
    algorithms: Algorithms,
    depth: RevocationDepth,
    unknown: UnknownStatus,
    allowance: u32,
    refresh: Duration,
    failure_ttl: u32,
    timeout: Duration,
    max_bytes: usize,
    cache_entries: usize,
    max_fetches: usize,
}

impl fmt::Debug for CrlDistributionPointsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlDistributionPointsBuilder")
            .field("depth", &self.depth)
            .field("unknown_status", &self.unknown)
            .field("clock_allowance_secs", &self.allowance)
            .field("refresh_interval", &self.refresh)
            .field("failure_ttl_secs", &self.failure_ttl)
            .field("timeout", &self.timeout)
            .field("max_crl_bytes", &self.max_bytes)
            .field("cache_entries", &self.cache_entries)
            .field("max_concurrent_fetches", &self.max_fetches)
            .finish_non_exhaustive()
    }
}

impl CrlDistributionPointsBuilder {
    /// Which certificates are checked: the client certificate only (default), or every
    /// certificate below the anchor ([`RevocationDepth::Chain`]; each intermediate's CRL
    /// is fetched from its own distribution points).
    #[must_use]
    pub fn depth(mut self, depth: RevocationDepth) -> Self {
        self.depth = depth;
        self
    }

    /// What no distribution point, a failed fetch or a CRL that fails a check mean.
    /// Default [`UnknownStatus::Deny`]: refused with `revocation_unknown`
    /// (`revocation_stale` for a CRL past its `nextUpdate`). [`UnknownStatus::Allow`]
    /// accepts the certificate then (soft fail: whoever can block the CRL's URL keeps a
    /// revoked certificate working); a listed serial is refused under either.
    #[must_use]
    pub fn unknown_status(mut self, policy: UnknownStatus) -> Self {
        self.unknown = policy;
        self
    }

    /// The allowance, in seconds, for clocks: a CRL is fresh from `thisUpdate` minus
    /// this to `nextUpdate` plus this. Default 300.
    #[must_use]
    pub fn clock_allowance_secs(mut self, secs: u32) -> Self {
        self.allowance = secs;
        self
    }

    /// The longest a URL's CRL is kept before it is fetched again (in the background,
    /// the held one serving meanwhile); it is also fetched again in the last tenth of its
    /// `thisUpdate`..`nextUpdate` window. Default 1 hour. `build` refuses less than a
    /// second.
    ///
    /// ```
    /// # #[cfg(all(feature = "ring", feature = "testkit"))] {
    /// # use certauth::{RING_ALGORITHMS, TrustStore, Verifier};
    /// # let root = certauth::testkit::pki::Ca::root("Root");
    /// # let store = TrustStore::builder().add_der(root.der())?.build()?;
    /// # let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
    /// use std::time::Duration;
    /// use certauth::crldp::CrlDistributionPoints;
    /// let crls = CrlDistributionPoints::builder(&verifier)
    ///     .refresh_interval(Duration::from_secs(15 * 60))
    ///     .build()?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh = interval;
        self
    }

    /// How long, in seconds of verification time, a failed fetch of a URL is remembered:
    /// no new fetch of that URL starts before, and requests get the remembered answer at
    /// once (the last good CRL while it is fresh, else the failure). 0 remembers
    /// nothing. Default 30.
    #[must_use]
    pub fn failure_ttl_secs(mut self, secs: u32) -> Self {
        self.failure_ttl = secs;
        self
    }

    /// How long one fetch may take, from connecting to the last byte (name resolution
    /// is the system resolver's). Default 10 s. `build` refuses zero.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest CRL body accepted. Default 16 MiB.
    #[must_use]
    pub fn max_crl_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// How many URLs are held, each with its last good CRL; when full, a URL without a
    /// CRL or the one whose CRL is due soonest (among a sample) makes room. 0 holds
    /// nothing (every request fetches). Default 64.
    #[must_use]
    pub fn cache_entries(mut self, entries: usize) -> Self {
        self.cache_entries = entries;
        self
    }

    /// How many fetches, each on a thread of its own, run at once; a request that needs
    /// one more gets `revocation_unknown` at once (not remembered). Default 8. `build`
    /// refuses zero.
    #[must_use]
    pub fn max_concurrent_fetches(mut self, fetches: usize) -> Self {
        self.max_fetches = fetches;
        self
    }

    /// The checker; refuses a zero timeout, a refresh interval under a second and no
    /// fetch threads.
    pub fn build(self) -> std::result::Result<CrlDistributionPoints, ConfigError> {
        let invalid = |what: &str, why: &'static str| ConfigError::Invalid {
            what: what.to_owned(),
            error: Error::new(ErrorKind::MalformedInput, why),
        };
        if self.timeout.is_zero() {
            return Err(invalid("crl fetch timeout", "must be more than zero"));
        }
        if self.refresh.as_secs() == 0 {
            return Err(invalid("crl refresh interval", "must be at least a second"));
        }
        if self.max_fetches == 0 {
            return Err(invalid("concurrent crl fetches", "must be at least one"));
        }
        let timing = Timing {
            failure_ttl: i64::from(self.failure_ttl),
            max_interval: i64::try_from(self.refresh.as_secs()).unwrap_or(i64::MAX),
            allowance: i64::from(self.allowance),
        };
        Ok(CrlDistributionPoints {
            inner: Arc::new(Inner {
                algorithms: self.algorithms,
                depth: self.depth,
                unknown: self.unknown,
                allowance: i64::from(self.allowance),
                timeout: self.timeout,
                max_bytes: self.max_bytes,
                cache: Arc::new(Cache::new(self.cache_entries, self.max_fetches, timing)),
            }),
        })
    }
}
