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
use crate::trust::Crl;
use crate::trust::crl::CrlSignature;
use crate::verify::path::Refusal;
use crate::verify::{Algorithms, VerifiedChain};

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
}

/// Checks a candidate path that webpki built (signatures verified, revocation off)
/// against `crls` under `policy`, with webpki's rules: for each certificate the depth
/// covers, from the top of the path down, the first CRL that [`covers`](Crl::covers) it decides; that CRL must be signed
/// by the key of the certificate's issuer in this path, and that issuer, when an
/// intermediate with a key usage extension, must assert cRLSign. A CRL whose signature
/// does not verify under that key neither revokes nor clears: the status is unknown,
/// whatever the unknown-status rule. Freshness is checked by the caller, on the
/// accepted path.
///
/// The errors stand for the webpki errors they replace while webpki ranks the failures
/// of all candidate paths.
pub(crate) fn check_path(
    policy: &RevocationPolicy,
    crls: &[Crl],
    algorithms: Algorithms,
    path: &webpki::VerifiedPath<'_>,
) -> std::result::Result<(), Refusal> {
    let leaf: &webpki::Cert<'_> = path.end_entity();
    let intermediates: Vec<&webpki::Cert<'_>> = path.intermediate_certificates().collect();
    let checked = match policy.depth {
        RevocationDepth::Leaf => 1,
        RevocationDepth::Chain => 1 + intermediates.len(),
    };
    // From the certificate below the anchor down to the leaf, as webpki checks them, so
    // that a revoked intermediate is reported as revoked before its leaf's unknown status.
    for i in (0..checked).rev() {
        let cert = if i == 0 { leaf } else { intermediates[i - 1] };
        let role = if i == 0 { "the client certificate" } else { "an intermediate" };
        let refuse = |ranked_as: webpki::Error, kind: ErrorKind, message: String| Refusal {
            ranked_as,
            error: Error::new(kind, format!("{role}: {message}")),
        };
        let der = cert.der();
        let Some(crl) = crls.iter().find(|c| c.covers(cert.issuer(), &der, i == 0)) else {
            match policy.unknown {
                UnknownStatus::Allow => continue,
                UnknownStatus::Deny => {
                    return Err(refuse(
                        webpki::Error::UnknownRevocationStatus,
                        ErrorKind::RevocationUnknown,
                        "no crl covers it".into(),
                    ));
                }
            }
        };
        // The issuer in this path: the next intermediate, or the anchor.
        let issuer_der = intermediates.get(i).map(|c| c.der());
        let issuer_spki: &[u8] = match &issuer_der {
            Some(der) => crate::der_reader::spki_of(der)
                .and_then(|spki| crate::der_reader::content_of(spki, 0x30))
                .unwrap_or_default(),
            None => path.anchor().subject_public_key_info.as_ref(),
        };
        match crl.signature_under(algorithms, issuer_spki) {
            CrlSignature::Valid => {}
            CrlSignature::Invalid => {
                return Err(refuse(
                    webpki::Error::InvalidCrlSignatureForPublicKey,
                    ErrorKind::RevocationUnknown,
                    format!(
                        "the signature of crl {} of {} does not verify under its issuer's key",
                        crl.number_hex(),
                        crl.issuer()
                    ),
                ));
            }
            CrlSignature::Unsupported => {
                #[allow(deprecated)]
                let ranked_as = webpki::Error::UnsupportedCrlSignatureAlgorithmForPublicKey;
                return Err(refuse(
                    ranked_as,
                    ErrorKind::RevocationUnknown,
                    format!(
                        "crl {} of {} has a signature algorithm not supported for its \
                         issuer's key",
                        crl.number_hex(),
                        crl.issuer()
                    ),
                ));
            }
        }
        // Trust anchors are trusted as configured: their key usage is not checked.
        if let Some(issuer) = &issuer_der {
            let can_sign = match crate::der_reader::key_usage_of(issuer) {
                Ok(None) => true,
                Ok(Some(bits)) => crate::cert::KeyUsage::from_bits(bits).crl_sign(),
                Err(_) => false,
            };
            if !can_sign {
                return Err(refuse(
                    webpki::Error::IssuerNotCrlSigner,
                    ErrorKind::RevocationUnknown,
                    format!("the issuer of crl {} lacks the crlSign key usage", crl.number_hex()),
                ));
            }
        }
        if crl.lists(cert.serial()) {
            return Err(refuse(
                webpki::Error::CertRevoked,
                ErrorKind::Revoked,
                format!(
                    "serial {} is revoked by crl {} of {}",
                    crate::hex::encode(cert.serial(), None),
                    crl.number_hex(),
                    crl.issuer()
                ),
            ));
        }
    }
    Ok(())
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
