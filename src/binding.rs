//! RFC 8705 certificate-bound access tokens: the `cnf.x5t#S256` of a token must be the
//! SHA-256 thumbprint of the client certificate of the same request.
//!
//! Every check takes a [`VerifiedChain`] (an `AuthenticatedClient` holds one): binding a
//! token to a certificate that was not verified would let anyone who copied the token
//! present any certificate with the right hash of a certificate they do not own. The
//! comparison is constant-time.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use crate::error::{Error, ErrorKind, Result};
use crate::verify::VerifiedChain;

/// A token's parsed `cnf.x5t#S256` confirmation: the SHA-256 thumbprint of the
/// certificate the token is bound to. It can only be compared with a verified chain.
///
/// ```
/// use certauth::{BindingFailure, Confirmation};
/// assert_eq!(Confirmation::parse("AAAA").unwrap_err(), BindingFailure::WrongLength(3));
/// assert_eq!(Confirmation::parse("not base64!").unwrap_err(), BindingFailure::Malformed);
/// let t = certauth::Thumbprint::of(b"certificate der").to_x5t_s256();
/// assert!(Confirmation::parse(&t).is_ok());
/// ```
#[derive(Clone, Copy)]
pub struct Confirmation([u8; 32]);

impl Confirmation {
    /// Parses an RFC 8705 `x5t#S256` value: base64url without padding (padding is
    /// tolerated, nothing else), decoding to 32 bytes.
    pub fn parse(cnf_x5t_s256: &str) -> std::result::Result<Self, BindingFailure> {
        let text = cnf_x5t_s256.trim_end_matches('=');
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| BindingFailure::Malformed)?;
        <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self)
            .map_err(|_| BindingFailure::WrongLength(bytes.len()))
    }

    /// Whether the token is bound to the leaf of `chain` (constant-time).
    pub fn matches(&self, chain: &VerifiedChain) -> bool {
        bool::from(self.0.ct_eq(chain.thumbprint().as_bytes()))
    }

    /// Why the token is not bound to the leaf of `chain`, or `None` when it is.
    pub fn failure(&self, chain: &VerifiedChain) -> Option<BindingFailure> {
        (!self.matches(chain)).then_some(BindingFailure::DifferentCertificate)
    }
}

impl fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Confirmation({})", URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// Why a token's certificate binding does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingFailure {
    /// The confirmation value is not base64url.
    Malformed,
    /// It decodes, but not to 32 bytes (so it is not a SHA-256 thumbprint).
    WrongLength(usize),
    /// It is a well-formed thumbprint of a different certificate.
    DifferentCertificate,
}

impl fmt::Display for BindingFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed => f.write_str("the token's x5t#S256 is not base64url"),
            Self::WrongLength(n) => {
                write!(f, "the token's x5t#S256 decodes to {n} bytes, not 32")
            }
            Self::DifferentCertificate => {
                f.write_str("the token is bound to a different certificate")
            }
        }
    }
}

/// Whether requests must carry certificate-bound tokens.
///
/// | mode | token without `cnf` | token with `cnf` |
/// |---|---|---|
/// | `Off` | accepted | not checked |
/// | `Optional` | accepted | must match |
/// | `Required` (default) | refused | must match |
///
/// `Required` is the default because a resource server that asks about binding at all
/// is protecting bound tokens; `Optional` is for migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BindingMode {
    /// No binding check.
    Off,
    /// Check tokens that carry a confirmation; accept tokens that do not.
    Optional,
    /// Every token must carry a confirmation matching the certificate.
    #[default]
    Required,
}

/// Checks a token's `cnf.x5t#S256` value (or its absence) against the verified chain.
///
/// ```
/// # fn demo(chain: &certauth::VerifiedChain) -> certauth::Result<()> {
/// use certauth::{check_token_binding, BindingMode};
/// let cnf = chain.thumbprint().to_x5t_s256();
/// check_token_binding(BindingMode::Required, Some(&cnf), chain)?;
/// assert!(check_token_binding(BindingMode::Required, None, chain).is_err());
/// assert!(check_token_binding(BindingMode::Optional, None, chain).is_ok());
/// # Ok(()) }
/// ```
pub fn check_token_binding(
    mode: BindingMode,
    cnf_x5t_s256: Option<&str>,
    chain: &VerifiedChain,
) -> Result<()> {
    match (mode, cnf_x5t_s256) {
        (BindingMode::Off, _) | (BindingMode::Optional, None) => Ok(()),
        (BindingMode::Required, None) => Err(Error::new(
            ErrorKind::BindingMismatch,
            "the token is not certificate-bound (no cnf x5t#S256)",
        )),
        (_, Some(cnf)) => match Confirmation::parse(cnf).map(|c| c.failure(chain)) {
            Ok(None) => Ok(()),
            Ok(Some(why)) | Err(why) => {
                Err(Error::new(ErrorKind::BindingMismatch, why.to_string()))
            }
        },
    }
}

#[cfg(all(test, feature = "testkit", feature = "ring"))]
mod tests {
    use super::*;
    use crate::testkit::pki::Ca;
    use crate::{Thumbprint, Timestamp, TrustStore, Verifier};

    fn verified() -> (VerifiedChain, Thumbprint) {
        let root = Ca::root("Binding Root");
        let leaf = root.leaf("client").build();
        let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
        let verifier = Verifier::builder(store, crate::verify::RING_ALGORITHMS).build().unwrap();
        let at = Timestamp::from_utc(2027, 1, 1, 0, 0, 0).unwrap();
        (verifier.verify(&leaf.presented(), at).unwrap(), leaf.thumbprint())
    }

    #[test]
    fn binding_says_why() {
        let (chain, thumbprint) = verified();
        let other = Thumbprint::of(b"other");
        let ok = Confirmation::parse(&thumbprint.to_x5t_s256()).unwrap();
        assert!(ok.matches(&chain));
        let padded = Confirmation::parse(&format!("{}=", thumbprint.to_x5t_s256())).unwrap();
        assert!(padded.matches(&chain));
        let wrong = Confirmation::parse(&other.to_x5t_s256()).unwrap();
        assert_eq!(wrong.failure(&chain), Some(BindingFailure::DifferentCertificate));
        assert_eq!(Confirmation::parse("!!").unwrap_err(), BindingFailure::Malformed);
        assert_eq!(
            Confirmation::parse(&thumbprint.to_hex()).unwrap_err(),
            BindingFailure::WrongLength(48)
        );
        let e = check_token_binding(BindingMode::Required, Some(&other.to_x5t_s256()), &chain)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BindingMismatch);
        assert_eq!(e.message(), "the token is bound to a different certificate");
        assert!(check_token_binding(BindingMode::Required, None, &chain).is_err());
        assert!(check_token_binding(BindingMode::Optional, None, &chain).is_ok());
        assert!(check_token_binding(BindingMode::Off, Some("junk"), &chain).is_ok());
    }
}
