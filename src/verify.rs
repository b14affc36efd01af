//! The verifier: a [`PresentedChain`] and a time in, a [`VerifiedChain`] or a typed
//! [`Error`] out.
//!
//! Path building and signatures are rustls-webpki's; certauth adds what webpki leaves to
//! its caller: the leaf's own EKU, the leaf's key strength, a chain-depth bound, the
//! anchor's path length constraint, keyCertSign in the issuers' key usage, DNS name
//! constraints on a host-like subject common name, a symmetric clock-skew allowance, CRL
//! freshness, pinned self-signed certificates, and atomic trust-store rotation. The order
//! is cheapest first: the leaf checks run before any signature is verified, and the path
//! rules on each candidate path that webpki builds, so a candidate they refuse leaves
//! webpki free to find another.
//!
//! The CRL check is certauth's own, with webpki's rules (which CRL covers a certificate,
//! its issuer's key and cRLSign, the serial), run on each candidate path with webpki's
//! revocation turned off: each CRL's signature is verified once per issuer key and
//! remembered, and serials are looked up in a set built when the CRL was loaded, so a
//! CRL of 100,000 entries costs a verification a hash look-up, not a hash of the CRL.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwap;
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm};

use crate::cert::Certificate;
use crate::error::{ConfigError, Error, ErrorKind, Result};
use crate::input::{Format, PresentedChain, Source};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::trust::TrustStore;

mod aia;
mod candidates;
mod path;
mod policy;
mod revocation;

pub use aia::IntermediateFetch;
pub use policy::{ExtendedKeyUsagePolicy, KeyPolicy};
pub use revocation::{
    RevocationChecker, RevocationDepth, RevocationPolicy, RevokedSerials, UnknownStatus,
};

/// webpki refuses paths with more than six intermediates.
const WEBPKI_MAX_INTERMEDIATES: usize = 6;

/// The signature algorithms of the `ring` provider, for [`Verifier::builder`].
#[cfg(feature = "ring")]
#[cfg_attr(docsrs, doc(cfg(feature = "ring")))]
pub static RING_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::ring::ECDSA_P256_SHA256,
    webpki::ring::ECDSA_P256_SHA384,
    webpki::ring::ECDSA_P384_SHA256,
    webpki::ring::ECDSA_P384_SHA384,
    webpki::ring::ED25519,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512,
    webpki::ring::RSA_PKCS1_2048_8192_SHA256_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA384_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_2048_8192_SHA512_ABSENT_PARAMS,
    webpki::ring::RSA_PKCS1_3072_8192_SHA384,
    webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// The signature algorithms of the `aws-lc-rs` provider, for [`Verifier::builder`].
#[cfg(feature = "aws-lc-rs")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-lc-rs")))]
pub static AWS_LC_RS_ALGORITHMS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P521_SHA512,
    webpki::aws_lc_rs::ED25519,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA384,
    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA512,
    webpki::aws_lc_rs::RSA_PKCS1_3072_8192_SHA384,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
    webpki::aws_lc_rs::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
];

/// Signature algorithms, as a crypto provider supplies them (for rustls:
/// `provider.signature_verification_algorithms.all`).
pub type Algorithms = &'static [&'static dyn SignatureVerificationAlgorithm];

/// Verifies presented client chains against a [`TrustStore`] and a policy: a
/// [`PresentedChain`] and a time in, a [`VerifiedChain`] or a typed [`Error`] out.
///
/// Path building and signatures are rustls-webpki's; certauth adds what webpki leaves to
/// its caller: the leaf's own EKU, the leaf's key strength, a chain-depth bound, the
/// anchor's path length constraint, keyCertSign in the issuers' key usage, DNS name
/// constraints on a host-like subject common name, a symmetric clock-skew allowance, CRL
/// freshness, pinned self-signed certificates, and atomic trust-store rotation. The order
/// is cheapest first: the leaf checks run before any signature is verified, and the path
/// rules on each candidate path that webpki builds, so a candidate they refuse leaves
/// webpki free to find another. Before path building, only the presented certificates on
/// a few short name paths from the leaf to an anchor are offered (bounded work). Opted in
/// ([`VerifierBuilder::fetch_missing_intermediates`]), an issuer missing from those names
/// is fetched from its caIssuers URL and offered as a presented one.
///
/// Cheap to clone (one `Arc`); share one per configuration. The trust store can be
/// replaced while requests are being verified ([`replace_trust_store`](Self::replace_trust_store));
/// each verification uses one consistent store.
///
/// ```
/// # #[cfg(feature = "ring")] {
/// use certauth::{Format, Limits, RING_ALGORITHMS, Timestamp, TrustStore, Verifier};
/// let store = TrustStore::builder()
///     .add_pem(include_bytes!("../tests/data/pki/root.pem"))?
///     .check_at(Timestamp::parse_rfc3339("2027-01-01T00:00:00Z")?)
///     .build()?;
/// let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
/// let chain = certauth::parse(include_bytes!("../tests/data/pki/leaf-ec-chain.pem"), Format::Pem, &Limits::default())?;
/// let verified = verifier.verify(&chain, Timestamp::parse_rfc3339("2027-01-01T00:00:00Z")?)?;
/// assert_eq!(verified.leaf()?.subject().common_name(), Some("client.example.test"));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    store: ArcSwap<TrustStore>,
    algorithms: Algorithms,
    eku: ExtendedKeyUsagePolicy,
    keys: KeyPolicy,
    revocation: Option<RevocationPolicy>,
    max_intermediates: usize,
    skew: i64,
    fetch: Option<aia::Fetcher>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Verifier")
            .field("store", &**i.store.load())
            .field("algorithms", &i.algorithms.len())
            .field("eku", &i.eku)
            .field("keys", &i.keys)
            .field("revocation", &i.revocation)
            .field("max_intermediates", &i.max_intermediates)
            .field("clock_skew_secs", &i.skew)
            .field("fetch_missing_intermediates", &i.fetch)
            .finish()
    }
}

/// Configures a [`Verifier`]. Every setting has a secure default; see each method.
#[derive(Debug)]
pub struct VerifierBuilder {
    store: TrustStore,
    algorithms: Algorithms,
    eku: ExtendedKeyUsagePolicy,
    keys: KeyPolicy,
    revocation: Option<RevocationPolicy>,
    max_intermediates: usize,
    skew: i64,
    fetch: Option<IntermediateFetch>,
}

impl Verifier {
    /// Starts a builder over `store`, verifying signatures with `algorithms` (the crypto
    /// provider's; with the `ring` feature, [`RING_ALGORITHMS`]).
    pub fn builder(store: TrustStore, algorithms: Algorithms) -> VerifierBuilder {
        VerifierBuilder {
            store,
            algorithms,
            eku: ExtendedKeyUsagePolicy::default(),
            keys: KeyPolicy::default(),
            revocation: None,
            max_intermediates: 4,
            skew: 0,
            fetch: None,
        }
    }

    /// The current trust store.
    pub fn trust_store(&self) -> Arc<TrustStore> {
        self.inner.store.load_full()
    }

    /// Identifies the configuration that a verification result depends on: it changes
    /// whenever the trust store is replaced. Caches key on it.
    pub fn generation(&self) -> u64 {
        self.inner.store.load().generation()
    }

    /// The key policy.
    pub fn key_policy(&self) -> &KeyPolicy {
        &self.inner.keys
    }

    /// Replaces anchors, intermediates, CRLs and pins atomically. Verifications in
    /// flight finish with the store they started with; later ones use the new one.
    /// Refused (and the old store kept) if the new store does not fit the policy, e.g.
    /// it has CRLs but no revocation policy was configured.
    pub fn replace_trust_store(&self, store: TrustStore) -> Result<(), ConfigError> {
        check_store(&store, self.inner.revocation.as_ref())?;
        self.inner.store.store(Arc::new(store));
        Ok(())
    }

    /// The signature algorithms verifications use.
    pub(crate) fn algorithms(&self) -> Algorithms {
        self.inner.algorithms
    }

    /// Verifies `chain` at time `now`. See the module docs for what is checked.
    pub fn verify(&self, chain: &PresentedChain, now: Timestamp) -> Result<VerifiedChain> {
        let store = self.inner.store.load();
        let inner = &*self.inner;
        let leaf = chain.leaf();
        if store.pinned().next().is_some() && store.pinned_match(leaf) {
            return self.verify_pinned(chain, &store, now);
        }
        inner.eku.check_leaf(leaf)?;
        inner.keys.check_certificate(leaf)?;

        let ee = webpki::EndEntityCert::try_from(leaf).map_err(translate)?;
        let anchors = store.anchors_at(now, inner.skew);
        // Opted in: an issuer missing by name is fetched and offered as if presented.
        let fetched = match &inner.fetch {
            Some(fetcher) => fetcher.complete(
                leaf,
                chain.intermediates(),
                store.intermediates(),
                anchors.as_slice(),
                now,
            ),
            None => aia::Completion::default(),
        };
        let presented: std::borrow::Cow<'_, [CertificateDer<'static>]> = if fetched.certs.is_empty()
        {
            chain.intermediates().into()
        } else {
            chain.intermediates().iter().chain(&fetched.certs).cloned().collect()
        };
        // Only the presented certificates that could lie on a path are offered, so that
        // path building does bounded work whatever the client sends (see `candidates`).
        let intermediates: Vec<CertificateDer<'_>> = candidates::path_candidates(
            leaf,
            &presented,
            anchors.as_slice(),
            store.intermediates(),
            // One more than allowed, so a genuine path one too long is reported as too
            // long, not as having no issuer.
            inner.max_intermediates + 1,
        )
        .into_iter()
        .chain(store.intermediates())
        .map(|c| CertificateDer::from(c.as_ref()))
        .collect();
        let intermediates = intermediates.as_slice();
        let max = inner.max_intermediates;
        // Candidates refused by certauth's own path rules, with the webpki error each
        // stands for while webpki ranks the failures of all candidates.
        let refusals: RefCell<Vec<path::Refusal>> = RefCell::new(Vec::new());
        // The facts of the anchor certificate the accepted path holds through.
        let accepted = Cell::new(None);
        let path_rules = |path: &webpki::VerifiedPath<'_>| {
            // Self-issued intermediates (key rollover) do not count (RFC 5280 6.1.4 (l)).
            if path::counted_intermediates(path) > max {
                return Err(webpki::Error::MaximumPathDepthExceeded);
            }
            let checked = path::check(path, &anchors).and_then(|anchor| {
                // Revocation is certauth's own, over the candidate path webpki built:
                // the issuer of each certificate is known here, and each CRL's signature
                // is checked once per issuer key, not on every verification.
                match &inner.revocation {
                    Some(policy) => {
                        revocation::check_path(policy, store.crls(), inner.algorithms, path)
                            .map(|()| anchor)
                    }
                    None => Ok(anchor),
                }
            });
            match checked {
                Ok(anchor) => {
                    // webpki returns the first candidate that passes: this one.
                    accepted.set(Some(anchor));
                    Ok(())
                }
                Err(refusal) => {
                    let ranked_as = refusal.ranked_as.clone();
                    refusals.borrow_mut().push(refusal);
                    Err(ranked_as)
                }
            }
        };
        let attempt = |at: Timestamp| {
            refusals.borrow_mut().clear();
            accepted.set(None);
            ee.verify_for_usage(
                inner.algorithms,
                anchors.as_slice(),
                intermediates,
                at.to_unix_time(),
                policy::PathEku(inner.eku.oid()),
                None,
                Some(&path_rules),
            )
        };
        // webpki reports the most specific failure of all candidates; when one of
        // certauth's rules stands behind it, that rule's own error is reported.
        let reported = |e: webpki::Error| {
            let mut refusals = refusals.borrow_mut();
            match refusals.iter().position(|r| r.ranked_as == e) {
                Some(i) => refusals.swap_remove(i).error,
                None => translate(e),
            }
        };
        let path = match attempt(now) {
            Ok(path) => path,
            // The skew allowance: retry on the side that failed, so it applies to
            // notBefore and notAfter alike.
            Err(webpki::Error::CertExpired { .. }) if inner.skew > 0 => {
                attempt(now.plus_secs(-inner.skew)).map_err(reported)?
            }
            Err(webpki::Error::CertNotValidYet { .. }) if inner.skew > 0 => {
                attempt(now.plus_secs(inner.skew)).map_err(reported)?
            }
            Err(e) => {
                let e = anchors.explain(missing_issuer(reported(e), chain, &store));
                return Err(match fetched.note {
                    Some(note) if e.kind() == ErrorKind::UnknownIssuer => {
                        Error::new(e.kind(), format!("{}; {note}", e.message()))
                    }
                    _ => e,
                });
            }
        };

        let mut certs = Vec::with_capacity(1 + path.intermediate_certificates().count());
        certs.push(leaf.clone().into_owned());
        for c in path.intermediate_certificates() {
            // webpki bounds issuer keys only through its algorithms (RSA 2048..8192).
            inner.keys.check_certificate(&c.der()).map_err(|e| in_role(e, "an intermediate"))?;
            certs.push(c.der().into_owned());
        }
        // Found by identity among the anchors valid now, so a renewed anchor of the same
        // name never vouches for an expired one (see `path::check`).
        let anchor = accepted.get().ok_or_else(|| {
            Error::new(ErrorKind::UnknownIssuer, "path ends at an anchor the store does not hold")
        })?;
        // webpki treats anchors as timeless; certauth does not accept an expired root.
        check_validity(anchor.not_before, anchor.not_after, now, inner.skew)
            .map_err(|e| in_role(e, "the trust anchor"))?;
        inner.keys.check(&anchor.key).map_err(|e| in_role(e, "the trust anchor"))?;
        // The window in which this result holds: a cache may reuse it only inside it.
        let (mut valid_from, mut expires) = (anchor.not_before, anchor.not_after);
        for der in &certs {
            let (not_before, not_after) = crate::der_reader::checked_validity_of(der)?;
            valid_from = valid_from.max(not_before);
            expires = expires.min(not_after);
        }
        let mut warnings = Vec::new();
        if let Some(policy) = inner.revocation {
            let checked: Vec<&[u8]> = match policy.depth() {
                RevocationDepth::Leaf => vec![path.end_entity().issuer()],
                RevocationDepth::Chain => std::iter::once(path.end_entity().issuer())
                    .chain(path.intermediate_certificates().map(|c| c.issuer()))
                    .collect(),
            };
            for crl in store.crls().iter().filter(|c| checked.contains(&c.issuer_raw())) {
                valid_from = valid_from.max(crl.this_update());
                if let Some(next) = crl.next_update() {
                    expires = expires.min(next);
                }
                if let Some(max_age) = policy.max_age_secs() {
                    expires = expires.min(crl.this_update().plus_secs(max_age));
                }
                if let Err(stale) = crl.check_fresh(now, inner.skew, policy.max_age_secs()) {
                    if policy.stale_is_soft() {
                        warnings.push(stale.message().to_owned());
                    } else {
                        return Err(stale);
                    }
                }
            }
        }
        Ok(VerifiedChain {
            certs,
            trusted_by: TrustedBy::Anchor(anchor.subject.clone()),
            source: chain.source().clone(),
            format: chain.format(),
            verified_at: now,
            valid_from,
            expires,
            generation: store.generation(),
            warnings,
            anchor_spki: Some(path.anchor().subject_public_key_info.as_ref().into()),
            leaf: OnceLock::new(),
            thumbprint: OnceLock::new(),
        })
    }

    /// Whether a full verification of `chain` at `now` would offer every certificate of
    /// `path` after the leaf to path building (presented candidates or held).
    pub(crate) fn offers(
        &self,
        chain: &PresentedChain,
        path: &[CertificateDer<'static>],
        now: Timestamp,
    ) -> bool {
        let store = self.inner.store.load();
        let anchors = store.anchors_at(now, self.inner.skew);
        let offered = candidates::path_candidates(
            chain.leaf(),
            chain.intermediates(),
            anchors.as_slice(),
            store.intermediates(),
            self.inner.max_intermediates + 1,
        );
        path.iter().skip(1).all(|c| offered.contains(&c) || store.intermediates().contains(c))
    }

    /// The first time after `now` at which the store's anchors or CRLs change what a
    /// verification decides (an anchor's notBefore, a CRL's thisUpdate).
    pub(crate) fn next_change_after(&self, now: Timestamp) -> Option<Timestamp> {
        let store = self.inner.store.load();
        store
            .next_change_after(now.plus_secs(self.inner.skew))
            .map(|t| t.plus_secs(-self.inner.skew))
    }

    /// The first time after `now` at which a verification of `chain` could decide
    /// otherwise than at `now` for a reason of time alone: [`next_change_after`]
    /// (anchors, CRLs) or a presented certificate's notBefore or notAfter passing (a
    /// refusal for one reason may become `expired` or `not_yet_valid`). A remembered
    /// refusal of `chain` must not be answered from then on.
    ///
    /// [`next_change_after`]: Self::next_change_after
    pub(crate) fn next_change_for(
        &self,
        chain: &PresentedChain,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let skew = self.inner.skew;
        let presented = chain
            .certificates()
            .iter()
            .filter_map(|c| crate::der_reader::validity_of(c).ok())
            .flat_map(|(not_before, not_after)| {
                [not_before.plus_secs(-skew), not_after.plus_secs(1 - skew)]
            })
            .filter(|t| *t > now)
            .min();
        // A refusal for want of a fetched issuer lasts no longer than the failed fetch.
        let fetch = self.inner.fetch.as_ref().map(|f| f.refusal_cured_at(now));
        [self.next_change_after(now), presented, fetch].into_iter().flatten().min()
    }

    fn verify_pinned(
        &self,
        chain: &PresentedChain,
        store: &TrustStore,
        now: Timestamp,
    ) -> Result<VerifiedChain> {
        let inner = &*self.inner;
        let leaf = chain.leaf();
        inner.eku.check_leaf(leaf)?;
        inner.keys.check_certificate(leaf)?;
        let (not_before, not_after) = crate::der_reader::validity_of(leaf).map_err(|_| {
            Error::new(ErrorKind::InvalidCertificate, "malformed certificate validity")
        })?;
        check_validity(not_before, not_after, now, inner.skew)?;
        Ok(VerifiedChain {
            certs: vec![leaf.clone().into_owned()],
            trusted_by: TrustedBy::Pinned,
            source: chain.source().clone(),
            format: chain.format(),
            verified_at: now,
            valid_from: not_before,
            expires: not_after,
            generation: store.generation(),
            warnings: Vec::new(),
            anchor_spki: None,
            leaf: OnceLock::new(),
            thumbprint: OnceLock::new(),
        })
    }
}

/// Most certificates [`missing_issuer`] follows from the leaf: webpki's own bound on
/// intermediates, and the anchor.
const MAX_ISSUER_STEPS: usize = WEBPKI_MAX_INTERMEDIATES + 1;

/// Longest issuer name, in characters, that an error message quotes.
const MAX_QUOTED_NAME: usize = 200;

/// Adds to an `unknown_issuer` error the issuer that was not found: following issuer
/// names from the leaf through the presented and held certificates, the issuer of the
/// last certificate reached, with the chain's size and where the missing certificate
/// belongs. Left as it is when that issuer is a trust anchor's name (an anchor outside
/// its validity, which the usable anchors' `explain` reports). Runs on this
/// failure only, in at most [`MAX_ISSUER_STEPS`] passes over the certificates.
fn missing_issuer(e: Error, chain: &PresentedChain, store: &TrustStore) -> Error {
    use crate::der_reader::{CertNames, names_of};
    if e.kind() != ErrorKind::UnknownIssuer {
        return e;
    }
    let Ok(mut names) = names_of(chain.leaf()) else { return e };
    let mut last: &[u8] = chain.leaf();
    let pool: Vec<(&[u8], CertNames<'_>)> = chain
        .intermediates()
        .iter()
        .chain(store.intermediates())
        .filter_map(|c| names_of(c).ok().map(|n| (c.as_ref(), n)))
        .collect();
    let mut used: Vec<&[u8]> = vec![last];
    for _ in 0..MAX_ISSUER_STEPS {
        if names.subject == names.issuer {
            break; // self-issued: a root nobody configured
        }
        let next = pool.iter().find(|(der, n)| n.subject == names.issuer && !used.contains(der));
        let Some((der, n)) = next else { break };
        used.push(der);
        last = der;
        names = *n;
    }
    if store.anchors().iter().any(|a| a.subject.as_ref() == names.issuer) {
        return e;
    }
    let Ok(cert) = Certificate::from_der(last) else { return e };
    let mut issuer = cert.issuer().to_rfc4514();
    if let Some((cut, _)) = issuer.char_indices().nth(MAX_QUOTED_NAME) {
        issuer.truncate(cut);
        issuer.push_str("...");
    }
    let count = chain.certificates().len();
    let plural = if count == 1 { "" } else { "s" };
    let hint = if count == 1 {
        "proxies such as nginx forward only the leaf: add the intermediate to the trust \
         store's intermediate pool, or the issuing ca as a trust anchor"
    } else {
        "add it to the trust store: an intermediate to its pool, a root as a trust anchor"
    };
    Error::new(
        e.kind(),
        format!(
            "{}: issuer {issuer:?} not found (chain of {count} certificate{plural}); {hint}",
            e.message()
        ),
    )
}

/// Prefixes a policy error with the certificate's role in the path.
fn in_role(e: Error, role: &str) -> Error {
    Error::new(e.kind(), format!("{role}: {}", e.message()))
}

fn check_validity(
    not_before: Timestamp,
    not_after: Timestamp,
    now: Timestamp,
    skew: i64,
) -> Result<()> {
    if now.plus_secs(skew) < not_before {
        return Err(Error::new(
            ErrorKind::NotYetValid,
            format!(
                "certificate is not valid before {} (checked at {})",
                not_before.to_rfc3339(),
                now.to_rfc3339()
            ),
        ));
    }
    if now.plus_secs(-skew) > not_after {
        return Err(Error::new(
            ErrorKind::Expired,
            format!(
                "certificate expired at {} (checked at {})",
                not_after.to_rfc3339(),
                now.to_rfc3339()
            ),
        ));
    }
    Ok(())
}

fn check_store(
    store: &TrustStore,
    revocation: Option<&RevocationPolicy>,
) -> Result<(), ConfigError> {
    match revocation {
        None if !store.crls().is_empty() => Err(ConfigError::CrlsWithoutRevocationPolicy),
        Some(p) if store.crls().is_empty() && p.unknown_status() == UnknownStatus::Deny => {
            Err(ConfigError::DenyUnknownWithoutCrls)
        }
        _ => Ok(()),
    }
}

impl VerifierBuilder {
    /// Which EKU the leaf must carry. Default: clientAuth, present in the leaf.
    #[must_use]
    pub fn extended_key_usage(mut self, policy: ExtendedKeyUsagePolicy) -> Self {
        self.eku = policy;
        self
    }

    /// Minimum key strength of the leaf. Default: [`KeyPolicy::default`].
    #[must_use]
    pub fn key_policy(mut self, policy: KeyPolicy) -> Self {
        self.keys = policy;
        self
    }

    /// Check the trust store's CRLs with this policy. Default: none, and then a store
    /// with CRLs is refused (a CRL that is loaded but never checked is a silent hole).
    #[must_use]
    pub fn revocation(mut self, policy: RevocationPolicy) -> Self {
        self.revocation = Some(policy);
        self
    }

    /// Most intermediates between the leaf and the anchor, not counting self-issued ones
    /// (RFC 5280 6.1.4). Default 4, at most 6 (webpki's own bound). Real client PKIs use
    /// 0 to 2.
    #[must_use]
    pub fn max_intermediates(mut self, n: usize) -> Self {
        self.max_intermediates = n;
        self
    }

    /// Clock-skew allowance in seconds, applied to notBefore and notAfter alike and to
    /// CRL freshness. Default 0: the verification time is trusted as given.
    #[must_use]
    pub fn clock_skew_secs(mut self, secs: u32) -> Self {
        self.skew = i64::from(secs);
        self
    }

    /// Opt-in, off by default: when a client's chain lacks an issuer (its names lead to
    /// no trust anchor through the presented and held certificates), fetch the missing
    /// issuer's certificate from the caIssuers URL in the authority information access
    /// extension of the last certificate reached, from the hosts `fetch` allows only, and
    /// offer it to path building as a presented intermediate: it earns no trust of its
    /// own, the path must still reach an anchor and pass every check. Clients behind a
    /// proxy that forwards only the leaf then verify without the server holding their
    /// intermediates.
    ///
    /// Off by default because the URL comes from a certificate nobody has verified yet:
    /// fetching lets a client make the server send a request (to the allowed hosts only,
    /// `http://` only, bounded and cached as [`IntermediateFetch`] says).
    ///
    /// The fetch blocks the verifying thread for up to the fetch timeout (and at most
    /// [`IntermediateFetch::max_fetches`] times per verification) when the result is not
    /// cached. [`Authenticator::authenticate`](crate::Authenticator::authenticate) verifies
    /// on its own verification threads, so the async runtime is not blocked; a direct
    /// [`Verifier::verify`] and the rustls verifier (during the handshake) block their
    /// caller. A verification refused because a fetch failed is remembered by the
    /// authenticator's cache no longer than [`IntermediateFetch::failure_ttl`].
    ///
    /// ```
    /// # #[cfg(feature = "ring")] {
    /// use certauth::{IntermediateFetch, RING_ALGORITHMS, Timestamp, TrustStore, Verifier};
    /// let store = TrustStore::builder()
    ///     .add_pem(include_bytes!("../tests/data/pki/root.pem"))?
    ///     .check_at(Timestamp::parse_rfc3339("2027-01-01T00:00:00Z")?)
    ///     .build()?;
    /// let verifier = Verifier::builder(store, RING_ALGORITHMS)
    ///     .fetch_missing_intermediates(IntermediateFetch::from_hosts(["pki.example.com"])?)
    ///     .build()?;
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn fetch_missing_intermediates(mut self, fetch: IntermediateFetch) -> Self {
        self.fetch = Some(fetch);
        self
    }

    /// Checks the settings against each other and the store, and builds the verifier.
    pub fn build(self) -> Result<Verifier, ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::NoSignatureAlgorithms);
        }
        if self.max_intermediates > WEBPKI_MAX_INTERMEDIATES {
            return Err(ConfigError::MaxIntermediatesTooLarge {
                requested: self.max_intermediates,
                max: WEBPKI_MAX_INTERMEDIATES,
            });
        }
        check_store(&self.store, self.revocation.as_ref())?;
        Ok(Verifier {
            inner: Arc::new(Inner {
                store: ArcSwap::from_pointee(self.store),
                algorithms: self.algorithms,
                eku: self.eku,
                keys: self.keys,
                revocation: self.revocation,
                max_intermediates: self.max_intermediates,
                skew: self.skew,
                fetch: self.fetch.map(aia::Fetcher::new),
            }),
        })
    }
}

/// What a [`VerifiedChain`] was accepted by.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustedBy {
    /// A trust anchor, by subject (RFC 4514).
    Anchor(String),
    /// A pinned self-signed certificate.
    Pinned,
}

/// A chain that passed [`Verifier::verify`]: only a successful verification makes one.
///
/// Holds the leaf and the intermediates of the path that was verified (not those the
/// client sent but that were not needed), where the chain came from, and until when the
/// result may be reused ([`expires`](Self::expires)).
pub struct VerifiedChain {
    certs: Vec<CertificateDer<'static>>,
    trusted_by: TrustedBy,
    source: Source,
    format: Format,
    verified_at: Timestamp,
    valid_from: Timestamp,
    expires: Timestamp,
    generation: u64,
    warnings: Vec<String>,
    /// The content of the anchor's SubjectPublicKeyInfo (none for a pinned certificate):
    /// the key of the last certificate's issuer, for revocation checks that ask it.
    anchor_spki: Option<Box<[u8]>>,
    leaf: OnceLock<Result<Certificate>>,
    thumbprint: OnceLock<Thumbprint>,
}

impl VerifiedChain {
    /// The leaf (client) certificate's DER.
    pub fn leaf_der(&self) -> &CertificateDer<'static> {
        // `verify` always pushes the leaf first.
        &self.certs[0]
    }

    /// The parsed leaf, parsed on first use (verification itself does not need it).
    /// An error here means webpki accepted a certificate certauth's parser cannot read.
    pub fn leaf(&self) -> Result<&Certificate> {
        self.leaf
            .get_or_init(|| Certificate::from_der(self.leaf_der()))
            .as_ref()
            .map_err(|e| Error::new(ErrorKind::InvalidCertificate, e.message().to_owned()))
    }

    /// The leaf's SHA-256 thumbprint (RFC 8705 x5t#S256).
    pub fn thumbprint(&self) -> &Thumbprint {
        self.thumbprint.get_or_init(|| Thumbprint::of(self.leaf_der()))
    }

    /// Leaf first, then the intermediates of the verified path, up to the anchor (excluded).
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// What accepted the chain.
    pub fn trusted_by(&self) -> &TrustedBy {
        &self.trusted_by
    }

    /// Where the chain came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// How it was encoded.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The verification time.
    pub fn verified_at(&self) -> Timestamp {
        self.verified_at
    }

    /// The latest notBefore of the path and its anchor: the result must not be reused
    /// for a verification time before this.
    pub fn valid_from(&self) -> Timestamp {
        self.valid_from
    }

    /// The earliest of the notAfter of the path and its anchor, the nextUpdate of the
    /// CRLs consulted, and the end of their maximum age: the result must not be reused
    /// for a verification time after this.
    pub fn expires(&self) -> Timestamp {
        self.expires
    }

    /// The [`Verifier::generation`] the chain was verified under.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Soft failures accepted by policy (a stale CRL with
    /// [`RevocationPolicy::soft_fail_stale_crls`]).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The content of the SubjectPublicKeyInfo of the issuer of `certificates()[i]` in
    /// the verified path: the next certificate's, or the anchor's for the last one;
    /// `None` past the end, for a pinned certificate, or when a certificate cannot be read.
    pub(crate) fn issuer_spki(&self, i: usize) -> Option<&[u8]> {
        match self.certs.get(i + 1) {
            Some(issuer) => crate::der_reader::spki_of(issuer)
                .and_then(|spki| crate::der_reader::content_of(spki, 0x30))
                .ok(),
            None if i < self.certs.len() => self.anchor_spki.as_deref(),
            None => None,
        }
    }
}

impl fmt::Debug for VerifiedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedChain")
            .field("leaf", self.thumbprint())
            .field("certificates", &self.certs.len())
            .field("trusted_by", &self.trusted_by)
            .field("source", &self.source)
            .field("verified_at", &self.verified_at)
            .field("expires", &self.expires)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// Translates webpki's verdict into certauth's kinds, with the facts webpki gives.
fn translate(e: webpki::Error) -> Error {
    use webpki::Error as W;
    let (kind, message): (ErrorKind, String) = match &e {
        W::UnknownIssuer => (ErrorKind::UnknownIssuer, "no path to a trust anchor".into()),
        W::CertExpired { time, not_after } => (
            ErrorKind::Expired,
            format!(
                "certificate expired at {} (checked at {})",
                Timestamp::from(*not_after).to_rfc3339(),
                Timestamp::from(*time).to_rfc3339()
            ),
        ),
        W::CertNotValidYet { time, not_before } => (
            ErrorKind::NotYetValid,
            format!(
                "certificate is not valid before {} (checked at {})",
                Timestamp::from(*not_before).to_rfc3339(),
                Timestamp::from(*time).to_rfc3339()
            ),
        ),
        W::CertRevoked => (ErrorKind::Revoked, "certificate is revoked".into()),
        W::UnknownRevocationStatus => {
            (ErrorKind::RevocationUnknown, "no crl covers a certificate of the chain".into())
        }
        W::CrlExpired { next_update, .. } => (
            ErrorKind::RevocationStale,
            format!("crl is past its next update {}", Timestamp::from(*next_update).to_rfc3339()),
        ),
        W::IssuerNotCrlSigner => {
            (ErrorKind::RevocationUnknown, "crl issuer lacks the crlSign key usage".into())
        }
        W::InvalidCrlSignatureForPublicKey => {
            (ErrorKind::RevocationUnknown, "crl signature does not verify".into())
        }
        W::UnsupportedCrlSignatureAlgorithmContext(_)
        | W::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_)
        | W::UnsupportedCrlVersion
        | W::UnsupportedDeltaCrl
        | W::UnsupportedIndirectCrl
        | W::UnsupportedCrlIssuingDistributionPoint
        | W::UnsupportedRevocationReason
        | W::UnsupportedRevocationReasonsPartitioning
        | W::InvalidCrlNumber => {
            (ErrorKind::RevocationUnknown, format!("crl cannot be used ({e:?})"))
        }
        #[allow(deprecated)]
        W::RequiredEkuNotFound | W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => (
            ErrorKind::WrongUsage,
            "a certificate's extended key usage does not allow this purpose".into(),
        ),
        W::InvalidSignatureForPublicKey => {
            (ErrorKind::BadSignature, "a certificate signature does not verify".into())
        }
        W::UnsupportedSignatureAlgorithmContext(_)
        | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | W::SignatureAlgorithmMismatch => (
            ErrorKind::UnsupportedAlgorithm,
            "a signature algorithm of the chain is not supported".into(),
        ),
        W::MaximumPathDepthExceeded => {
            (ErrorKind::ChainTooLong, "the chain is longer than the maximum depth".into())
        }
        W::MaximumSignatureChecksExceeded | W::MaximumPathBuildCallsExceeded => {
            (ErrorKind::ChainTooLong, "path building exceeded its budget".into())
        }
        W::NameConstraintViolation
        | W::MaximumNameConstraintComparisonsExceeded
        | W::MalformedNameConstraint
        | W::InvalidNetworkMaskConstraint => (
            ErrorKind::NameConstraintViolation,
            "a name constraint of an issuer excludes the certificate".into(),
        ),
        W::CaUsedAsEndEntity => {
            (ErrorKind::InvalidCertificate, "a ca certificate was presented as the leaf".into())
        }
        W::EndEntityUsedAsCa => (
            ErrorKind::InvalidCertificate,
            "an end-entity certificate was used as an issuer".into(),
        ),
        W::PathLenConstraintViolated => {
            (ErrorKind::InvalidCertificate, "an issuer's path length constraint is exceeded".into())
        }
        other => (ErrorKind::InvalidCertificate, format!("invalid certificate ({other:?})")),
    };
    Error::new(kind, message)
}
