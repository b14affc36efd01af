//! Revocation policy: which certificates of a path the trust store's CRLs must cover,
//! what an unknown or stale status means, and the [`RevocationChecker`] trait for
//! asynchronous checks (OCSP, a database of revoked serials) with [`RevokedSerials`], one
//! held in memory.
//!
//! The CRLs themselves are parsed and held by the trust store
//! ([`Crl`](crate::trust::Crl)).

use std::fmt;

use crate::BoxFuture;
use crate::error::{Error, ErrorKind, Result};
use crate::time::Timestamp;
use crate::verify::VerifiedChain;

/// Which certificates of a path are checked against the CRLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationDepth {
    /// Only the client certificate. Use when you hold the CRL of the issuing CA only.
    Leaf,
    /// Every certificate below the trust anchor. Needs a CRL for every CA in the path
    /// unless unknown status is allowed.
    Chain,
}

/// What a certificate with no covering CRL means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnknownStatus {
    /// Reject with `revocation_unknown` (fail closed).
    Deny,
    /// Accept: only the CRLs that exist are enforced (fail open for the rest).
    Allow,
}

/// How certauth uses CRLs. There is no default: depth and unknown status are choices a
/// deployment must make, because the safe answer depends on which CRLs it holds
/// (webpki's own default, whole chain and deny, fails every client when only the issuing
/// CA's CRL is configured).
///
/// | setting | default | why |
/// |---|---|---|
/// | depth | none, required | see above |
/// | unknown status | none, required | see above |
/// | stale CRL | hard failure (`revocation_stale`) | an old CRL may miss recent revocations |
/// | maximum age | none (only `nextUpdate`) | set it when your CA publishes CRLs on a known schedule |
///
/// ```
/// use certauth::{RevocationDepth, RevocationPolicy, UnknownStatus};
/// let policy = RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny)
///     .with_max_age_secs(2 * 24 * 3600);
/// assert_eq!(policy.max_age_secs(), Some(172_800));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevocationPolicy {
    depth: RevocationDepth,
    unknown: UnknownStatus,
    stale_is_soft: bool,
    max_age: Option<i64>,
}

impl RevocationPolicy {
    /// A policy with the given depth and unknown-status rule, stale CRLs failing hard.
    pub fn new(depth: RevocationDepth, unknown: UnknownStatus) -> Self {
        Self { depth, unknown, stale_is_soft: false, max_age: None }
    }

    /// Refuse CRLs issued more than `secs` seconds before the verification time.
    #[must_use]
    pub fn with_max_age_secs(mut self, secs: i64) -> Self {
        self.max_age = Some(secs);
        self
    }

    /// Accept certificates checked against a stale CRL, recording the staleness as a
    /// warning on the [`VerifiedChain`] instead of failing. A revoked certificate on a
    /// stale CRL is still refused. Weakens revocation; prefer fixing CRL distribution.
    #[must_use]
    pub fn soft_fail_stale_crls(mut self) -> Self {
        self.stale_is_soft = true;
        self
    }

    /// The depth.
    pub fn depth(&self) -> RevocationDepth {
        self.depth
    }

    /// The unknown-status rule.
    pub fn unknown_status(&self) -> UnknownStatus {
        self.unknown
    }

    /// The maximum CRL age, if set.
    pub fn max_age_secs(&self) -> Option<i64> {
        self.max_age
    }

    /// Whether a stale CRL is only a warning.
    pub fn stale_is_soft(&self) -> bool {
        self.stale_is_soft
    }

    pub(crate) fn webpki_options<'a>(
        &self,
        crls: &'a [&'a webpki::CertRevocationList<'a>],
    ) -> Option<webpki::RevocationOptions<'a>> {
        let builder = webpki::RevocationOptionsBuilder::new(crls).ok()?;
        Some(
            builder
                .with_depth(match self.depth {
                    RevocationDepth::Leaf => webpki::RevocationCheckDepth::EndEntity,
                    RevocationDepth::Chain => webpki::RevocationCheckDepth::Chain,
                })
                .with_status_policy(match self.unknown {
                    UnknownStatus::Deny => webpki::UnknownStatusPolicy::Deny,
                    UnknownStatus::Allow => webpki::UnknownStatusPolicy::Allow,
                })
                // Freshness is certauth's (nextUpdate, maximum age, soft or hard).
                .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
                .build(),
        )
    }
}

/// An asynchronous revocation check: OCSP, a database of revoked serials, a deny-list
/// service.
///
/// [`Authenticator::authenticate`](crate::Authenticator::authenticate) calls it on every
/// request, after the chain is verified, whether the verification came from the cache or
/// was just made; so a revocation it learns takes effect on the next request. It does not
/// run inside [`Verifier::verify`](crate::Verifier::verify), nor in
/// [`Authenticator::verify_credential`](crate::Authenticator::verify_credential), which is
/// what the rustls verifier calls during the TLS handshake: a handshake succeeds for a
/// certificate it would refuse, and the request on that connection is refused.
///
/// Return `Err` with kind `revoked`, `revocation_unknown` or `revocation_stale`; anything
/// else is reported as given.
///
/// ```
/// use certauth::RevocationChecker;
/// use certauth::{BoxFuture, Error, ErrorKind, Result, Timestamp, VerifiedChain};
///
/// /// Refuses every certificate issued before a compromise.
/// #[derive(Debug)]
/// struct IssuedAfter(Timestamp);
///
/// impl RevocationChecker for IssuedAfter {
///     fn check<'a>(
///         &'a self,
///         chain: &'a VerifiedChain,
///         _now: Timestamp,
///     ) -> BoxFuture<'a, Result<()>> {
///         Box::pin(async move {
///             if chain.leaf()?.not_before() < self.0 {
///                 return Err(Error::new(ErrorKind::Revoked, "issued before the key compromise"));
///             }
///             Ok(())
///         })
///     }
/// }
/// ```
pub trait RevocationChecker: Send + Sync + fmt::Debug {
    /// Checks a verified chain at time `now`.
    fn check<'a>(&'a self, chain: &'a VerifiedChain, now: Timestamp) -> BoxFuture<'a, Result<()>>;
}

/// A [`RevocationChecker`] over a set of revoked (issuer, serial) pairs held in memory,
/// updated at run time without blocking checks. Use it to mirror a revocation database.
#[derive(Debug, Default)]
pub struct RevokedSerials {
    set: papaya::HashSet<(Vec<u8>, Vec<u8>)>,
}

impl RevokedSerials {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the certificate with this issuer and serial as revoked.
    pub fn revoke(&self, certificate: &crate::Certificate) {
        self.set
            .pin()
            .insert((certificate.issuer().der().to_vec(), certificate.serial_bytes().to_vec()));
    }

    /// Removes a revocation (e.g. one recorded by mistake).
    pub fn unrevoke(&self, certificate: &crate::Certificate) -> bool {
        self.set
            .pin()
            .remove(&(certificate.issuer().der().to_vec(), certificate.serial_bytes().to_vec()))
    }

    /// How many revocations are held.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

impl RevocationChecker for RevokedSerials {
    fn check<'a>(&'a self, chain: &'a VerifiedChain, _now: Timestamp) -> BoxFuture<'a, Result<()>> {
        let result = chain.leaf().and_then(|leaf| {
            let key = (leaf.issuer().der().to_vec(), leaf.serial_bytes().to_vec());
            if self.set.pin().contains(&key) {
                Err(Error::new(
                    ErrorKind::Revoked,
                    format!("certificate serial {} is revoked", leaf.serial_hex()),
                ))
            } else {
                Ok(())
            }
        });
        Box::pin(std::future::ready(result))
    }
}
