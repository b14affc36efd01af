//! What certauth checks beyond a valid signature path: extended key usage and key strength.
//!
//! webpki never looks at the end-entity key, and its client-auth EKU check accepts a leaf
//! with no EKU extension at all. Both are decided here, before the signatures are checked,
//! so a weak or mis-purposed certificate fails fast and with its own error kind.

use std::fmt;

use crate::cert::{Curve, KeyUsage, PublicKeyInfo};
use crate::der_reader;
use crate::error::{Error, ErrorKind, Result};

/// Which extended key usage (EKU) the leaf must carry.
///
/// Default: [`ExtendedKeyUsagePolicy::RequireClientAuth`]. Intermediates are held to the
/// RFC 5280 rule in every mode: if an intermediate has an EKU extension, it must list the
/// same purpose.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ExtendedKeyUsagePolicy {
    /// The leaf must have an EKU extension that lists clientAuth (1.3.6.1.5.5.7.3.2).
    /// Why the default: a certificate issued for a server, or for e-mail, should not log a
    /// client in, and a leaf with no EKU at all is valid for every purpose.
    #[default]
    RequireClientAuth,
    /// Legacy PKIs: a leaf without an EKU extension is accepted; one that has an EKU
    /// extension must still list clientAuth.
    AllowMissingClientAuth,
    /// The leaf must list this purpose instead (DER content bytes of the OID), for
    /// example code signing. Build it with [`ExtendedKeyUsagePolicy::require_oid`].
    Require(Vec<u8>),
    /// RFC 5280's rule for another purpose: a leaf without an EKU extension is valid for
    /// every purpose; one with the extension must list this OID (DER content bytes).
    /// [`ExtendedKeyUsagePolicy::server_auth`] is this rule for serverAuth.
    RequireIfPresent(Vec<u8>),
}

/// DER content bytes of id-kp-clientAuth.
pub(crate) const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
/// DER content bytes of id-kp-serverAuth.
pub(crate) const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
/// DER content bytes of id-ce-extKeyUsage (2.5.29.37).
const EKU_EXTENSION: &[u8] = &[0x55, 0x1d, 0x25];

impl ExtendedKeyUsagePolicy {
    /// Require the purpose with this dotted OID, e.g. `"1.3.6.1.5.5.7.3.1"` (serverAuth).
    ///
    /// ```
    /// use certauth::ExtendedKeyUsagePolicy;
    /// let server = ExtendedKeyUsagePolicy::require_oid("1.3.6.1.5.5.7.3.1")?;
    /// assert_eq!(format!("{server:?}"), "Require(serverAuth)");
    /// # Ok::<(), certauth::ConfigError>(())
    /// ```
    pub fn require_oid(dotted: &str) -> Result<Self, crate::ConfigError> {
        let oid = const_oid::ObjectIdentifier::new(dotted)
            .map_err(|_| crate::ConfigError::InvalidOid { oid: dotted.to_owned() })?;
        Ok(Self::Require(oid.as_bytes().to_vec()))
    }

    /// serverAuth if the leaf has an EKU extension, as browsers and webpki check server
    /// certificates: for a verifier that tests server certificates.
    pub fn server_auth() -> Self {
        Self::RequireIfPresent(SERVER_AUTH.to_vec())
    }

    /// The OID (content bytes) that must be present.
    pub(crate) fn oid(&self) -> &[u8] {
        match self {
            Self::RequireClientAuth | Self::AllowMissingClientAuth => CLIENT_AUTH,
            Self::Require(oid) | Self::RequireIfPresent(oid) => oid,
        }
    }

    /// Checks the leaf's own EKU extension; the path rule is applied by webpki. Also
    /// refuses a leaf whose key usage claims keyCertSign (RFC 5280 4.2.1.3: only CAs).
    pub(crate) fn check_leaf(&self, leaf_der: &[u8]) -> Result<()> {
        let malformed = |_| Error::new(ErrorKind::InvalidCertificate, "malformed leaf extensions");
        let ku = der_reader::key_usage_of(leaf_der).map_err(malformed)?.map(KeyUsage::from_bits);
        // A leaf reaching here is not a CA (webpki refuses CAs as end entities).
        if ku.is_some_and(|ku| ku.key_cert_sign()) {
            return Err(Error::new(
                ErrorKind::InvalidCertificate,
                "leaf key usage asserts keyCertSign but it is not a ca",
            ));
        }
        let purpose = self.name();
        match der_reader::extension_of(leaf_der, EKU_EXTENSION).map_err(malformed)? {
            None if matches!(self, Self::AllowMissingClientAuth | Self::RequireIfPresent(_)) => {
                Ok(())
            }
            None => Err(Error::new(
                ErrorKind::WrongUsage,
                format!("leaf has no extended key usage extension; {purpose} is required"),
            )),
            Some(list) => {
                if der_reader::oid_list_contains(list, self.oid()).map_err(malformed)? {
                    Ok(())
                } else {
                    Err(Error::new(
                        ErrorKind::WrongUsage,
                        format!("leaf extended key usage does not include {purpose}"),
                    ))
                }
            }
        }
    }

    fn name(&self) -> String {
        match self.oid() {
            CLIENT_AUTH => "clientAuth".to_owned(),
            SERVER_AUTH => "serverAuth".to_owned(),
            other => const_oid::ObjectIdentifier::from_bytes(other)
                .map_or_else(|_| "the required purpose".to_owned(), |o| o.to_string()),
        }
    }
}

impl fmt::Debug for ExtendedKeyUsagePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RequireClientAuth => f.write_str("RequireClientAuth"),
            Self::AllowMissingClientAuth => f.write_str("AllowMissingClientAuth"),
            Self::Require(_) => write!(f, "Require({})", self.name()),
            Self::RequireIfPresent(_) => write!(f, "RequireIfPresent({})", self.name()),
        }
    }
}

/// webpki's path-wide EKU rule: each certificate that has an EKU extension lists the purpose.
pub(crate) struct PathEku<'a>(pub(crate) &'a [u8]);

impl webpki::ExtendedKeyUsageValidator for PathEku<'_> {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let wanted = webpki::KeyPurposeId::new(self.0);
        let mut empty = true;
        for id in iter {
            empty = false;
            if id? == wanted {
                return Ok(());
            }
        }
        if empty {
            Ok(())
        } else {
            #[allow(deprecated)] // the context variant carries webpki's own KeyUsage type
            Err(webpki::Error::RequiredEkuNotFound)
        }
    }
}

/// Minimum strength of the leaf's public key. webpki checks the keys that sign (the
/// issuers') through the signature algorithms it supports, but never the leaf's.
///
/// | setting | default | why |
/// |---|---|---|
/// | [`min_rsa_bits`](KeyPolicy::min_rsa_bits) | 2048 | NIST SP 800-131A; 1024-bit RSA is factorable by well-funded attackers |
/// | RSA size a multiple of 8 | always | odd sizes come from broken key generators |
/// | EC curves | P-256, P-384, P-521 | the curves TLS stacks implement; P-192 and P-224 are too weak |
/// | Ed25519 | allowed | |
/// | Ed448 | refused unless [`allow_ed448`](KeyPolicy::allow_ed448) | rustls providers cannot verify its signatures |
/// | DSA and other algorithms | refused | deprecated or unknown |
///
/// ```
/// use certauth::KeyPolicy;
/// use certauth::PublicKeyInfo;
/// let policy = KeyPolicy::default();
/// let err = policy.check(&PublicKeyInfo::Rsa { bits: 1024 }).unwrap_err();
/// assert_eq!(err.kind(), certauth::ErrorKind::WeakKey);
/// assert!(err.message().contains("1024"));
/// assert!(KeyPolicy::default().with_min_rsa_bits(3072).check(&PublicKeyInfo::Rsa { bits: 2048 }).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    min_rsa_bits: u32,
    min_ec_bits: u32,
    ed25519: bool,
    ed448: bool,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self { min_rsa_bits: 2048, min_ec_bits: 256, ed25519: true, ed448: false }
    }
}

impl KeyPolicy {
    /// Smallest accepted RSA modulus, in bits. Default 2048.
    pub fn min_rsa_bits(&self) -> u32 {
        self.min_rsa_bits
    }

    /// Sets [`min_rsa_bits`](KeyPolicy::min_rsa_bits). Values below 2048 are allowed
    /// (for a legacy PKI being migrated) but should be temporary.
    #[must_use]
    pub fn with_min_rsa_bits(mut self, bits: u32) -> Self {
        self.min_rsa_bits = bits;
        self
    }

    /// Smallest accepted curve among P-256, P-384 and P-521, in bits. Default 256.
    #[must_use]
    pub fn with_min_ec_bits(mut self, bits: u32) -> Self {
        self.min_ec_bits = bits;
        self
    }

    /// Accept Ed448 leaf keys (off by default).
    #[must_use]
    pub fn allow_ed448(mut self) -> Self {
        self.ed448 = true;
        self
    }

    /// Refuse Ed25519 leaf keys (accepted by default).
    #[must_use]
    pub fn deny_ed25519(mut self) -> Self {
        self.ed25519 = false;
        self
    }

    /// Checks one public key; `weak_key` with the algorithm and size when it falls short.
    pub fn check(&self, key: &PublicKeyInfo) -> Result<()> {
        let weak = |msg: String| Err(Error::new(ErrorKind::WeakKey, msg));
        match key {
            PublicKeyInfo::Rsa { bits } if *bits < self.min_rsa_bits => {
                weak(format!("rsa key of {bits} bits; at least {} required", self.min_rsa_bits))
            }
            PublicKeyInfo::Rsa { bits } if bits % 8 != 0 => {
                weak(format!("rsa key of {bits} bits is not a whole number of bytes"))
            }
            PublicKeyInfo::Rsa { .. } => Ok(()),
            PublicKeyInfo::Ec { curve: curve @ (Curve::P256 | Curve::P384 | Curve::P521) } => {
                match curve.bits() {
                    Some(bits) if bits >= self.min_ec_bits => Ok(()),
                    _ => weak(format!(
                        "ec key on {}; at least {} bits required",
                        curve.name(),
                        self.min_ec_bits
                    )),
                }
            }
            PublicKeyInfo::Ec { curve } => weak(format!(
                "ec key on {}; only P-256, P-384 and P-521 are accepted",
                curve.name()
            )),
            PublicKeyInfo::Ed25519 if self.ed25519 => Ok(()),
            PublicKeyInfo::Ed448 if self.ed448 => Ok(()),
            PublicKeyInfo::Ed25519 | PublicKeyInfo::Ed448 => Err(Error::new(
                ErrorKind::UnsupportedAlgorithm,
                format!("{} keys are not allowed by the key policy", key.type_name()),
            )),
            PublicKeyInfo::Dsa { bits } => weak(format!("dsa key of {bits} bits; dsa is refused")),
            PublicKeyInfo::Other { oid } => Err(Error::new(
                ErrorKind::UnsupportedAlgorithm,
                format!("public key algorithm {oid} is not supported"),
            )),
        }
    }

    /// Checks the key of a DER certificate, reading only its SubjectPublicKeyInfo.
    pub(crate) fn check_certificate(&self, der: &[u8]) -> Result<()> {
        let spki = der_reader::spki_of(der).map_err(|_| {
            Error::new(ErrorKind::InvalidCertificate, "malformed certificate structure")
        })?;
        let key = PublicKeyInfo::from_spki_der(spki)
            .map_err(|e| Error::new(ErrorKind::InvalidCertificate, e.message().to_owned()))?;
        self.check(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_policy_defaults() {
        let p = KeyPolicy::default();
        for ok in [
            PublicKeyInfo::Rsa { bits: 2048 },
            PublicKeyInfo::Rsa { bits: 4096 },
            PublicKeyInfo::Ec { curve: Curve::P256 },
            PublicKeyInfo::Ec { curve: Curve::P521 },
            PublicKeyInfo::Ed25519,
        ] {
            assert!(p.check(&ok).is_ok(), "{ok:?}");
        }
        for (weak, kind) in [
            (PublicKeyInfo::Rsa { bits: 1024 }, ErrorKind::WeakKey),
            (PublicKeyInfo::Rsa { bits: 2047 }, ErrorKind::WeakKey),
            (PublicKeyInfo::Rsa { bits: 2052 }, ErrorKind::WeakKey),
            (PublicKeyInfo::Ec { curve: Curve::P192 }, ErrorKind::WeakKey),
            (PublicKeyInfo::Ec { curve: Curve::P224 }, ErrorKind::WeakKey),
            (PublicKeyInfo::Dsa { bits: 2048 }, ErrorKind::WeakKey),
            (PublicKeyInfo::Ed448, ErrorKind::UnsupportedAlgorithm),
            (PublicKeyInfo::Other { oid: "1.2.3".into() }, ErrorKind::UnsupportedAlgorithm),
        ] {
            assert_eq!(p.check(&weak).unwrap_err().kind(), kind, "{weak:?}");
        }
        assert!(p.clone().allow_ed448().check(&PublicKeyInfo::Ed448).is_ok());
        assert!(p.with_min_ec_bits(384).check(&PublicKeyInfo::Ec { curve: Curve::P256 }).is_err());
    }

    #[test]
    fn eku_names() {
        assert_eq!(
            format!("{:?}", ExtendedKeyUsagePolicy::server_auth()),
            "RequireIfPresent(serverAuth)"
        );
        assert_eq!(
            format!("{:?}", ExtendedKeyUsagePolicy::require_oid("1.2.3.4").unwrap()),
            "Require(1.2.3.4)"
        );
        assert_eq!(
            ExtendedKeyUsagePolicy::require_oid("nope"),
            Err(crate::ConfigError::InvalidOid { oid: "nope".into() })
        );
    }
}
