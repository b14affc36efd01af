//! Key material: the subject key types, fresh key pairs and the fixed public keys.

use rcgen::{KeyPair, PublicKeyData, SignatureAlgorithm};
use rustls_pki_types::PrivatePkcs8KeyDer;

/// A key algorithm and size for a certificate's subject key.
///
/// Default: [`KeyType::EcdsaP256`].
///
/// ECDSA P-256 / P-384 and Ed25519 keys are generated fresh (ring) and can sign: they can
/// be used for CAs, and [`Leaf::key_pem`] returns them for TLS clients. ring cannot
/// generate RSA keys and nothing here knows P-192, so [`KeyType::Rsa1024`],
/// [`KeyType::Rsa2048`], [`KeyType::Rsa4096`] and [`KeyType::EcdsaP192`] are fixed
/// *public* keys checked in under `src/testkit/keys/` (their private keys were thrown
/// away): enough for a leaf, which never signs during verification, but not for a CA, a
/// self-signed certificate or a TLS handshake.
///
/// [`Leaf::key_pem`]: super::Leaf::key_pem
///
/// ```
/// use certauth::testkit::pki::{Ca, KeyType};
/// let leaf = Ca::root("Root").leaf("weak").key(KeyType::Rsa1024).build();
/// let cert = certauth::Certificate::from_der(leaf.der())?;
/// assert_eq!((cert.key().type_name(), cert.key().bits()), ("rsa", Some(1024)));
/// # Ok::<(), certauth::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256, signing with SHA-256. The default.
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384, signing with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// A fixed RSA-1024 public key (too weak for certauth's default key policy).
    Rsa1024,
    /// A fixed RSA-2048 public key.
    Rsa2048,
    /// A fixed RSA-4096 public key.
    Rsa4096,
    /// A fixed ECDSA P-192 public key (too weak for certauth's default key policy).
    /// rcgen cannot encode this curve, so the certificate is issued for a P-256 key and
    /// its SubjectPublicKeyInfo replaced before the issuer signs it.
    EcdsaP192,
}

impl KeyType {
    /// Whether a private key is generated for this type (so it can sign and
    /// [`Leaf::key_pem`] returns it). False for the fixed public keys.
    ///
    /// [`Leaf::key_pem`]: super::Leaf::key_pem
    pub fn has_private_key(self) -> bool {
        self.algorithm().is_some()
    }

    pub(super) fn algorithm(self) -> Option<&'static SignatureAlgorithm> {
        match self {
            Self::EcdsaP256 => Some(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcdsaP384 => Some(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Ed25519 => Some(&rcgen::PKCS_ED25519),
            Self::Rsa1024 | Self::Rsa2048 | Self::Rsa4096 | Self::EcdsaP192 => None,
        }
    }

    /// The checked-in SubjectPublicKeyInfo DER of a public-only key type.
    pub(super) fn fixed_spki(self) -> Option<&'static [u8]> {
        match self {
            Self::Rsa1024 => Some(include_bytes!("../keys/rsa1024.der")),
            Self::Rsa2048 => Some(include_bytes!("../keys/rsa2048.der")),
            Self::Rsa4096 => Some(include_bytes!("../keys/rsa4096.der")),
            Self::EcdsaP192 => Some(include_bytes!("../keys/p192.der")),
            Self::EcdsaP256 | Self::EcdsaP384 | Self::Ed25519 => None,
        }
    }

    pub(super) fn generate(self, what: &str) -> KeyPair {
        let alg = self.algorithm().unwrap_or_else(|| {
            panic!("testkit: {what} needs a private key, and {self:?} has none here (use an EC or Ed25519 key)")
        });
        KeyPair::generate_for(alg).unwrap_or_else(|e| panic!("testkit: key generation: {e}"))
    }
}

/// A second key pair with the same private key as `key`, for a certificate that reuses
/// another's key (a renewal, a second self-signed certificate).
pub(super) fn copy_key(key: &KeyPair) -> KeyPair {
    let pkcs8 = PrivatePkcs8KeyDer::from(key.serialize_der());
    KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, key.algorithm())
        .unwrap_or_else(|e| panic!("testkit: copying a key: {e}"))
}

/// An RSA public key without its private key, as rcgen's [`PublicKeyData`].
pub(super) struct RsaPublicKey {
    pub(super) key: Vec<u8>,
}

impl PublicKeyData for RsaPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.key
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        // Only its SubjectPublicKeyInfo algorithm identifier (rsaEncryption) is used.
        &rcgen::PKCS_RSA_SHA256
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{Curve, PublicKeyInfo};
    use crate::testkit::pki::{Ca, self_signed};

    #[test]
    fn key_types_and_sizes() {
        let ca = Ca::root("Root");
        for (key, want, private) in [
            (KeyType::EcdsaP256, PublicKeyInfo::Ec { curve: Curve::P256 }, true),
            (KeyType::EcdsaP384, PublicKeyInfo::Ec { curve: Curve::P384 }, true),
            (KeyType::Ed25519, PublicKeyInfo::Ed25519, true),
            (KeyType::Rsa1024, PublicKeyInfo::Rsa { bits: 1024 }, false),
            (KeyType::Rsa2048, PublicKeyInfo::Rsa { bits: 2048 }, false),
            (KeyType::Rsa4096, PublicKeyInfo::Rsa { bits: 4096 }, false),
            (KeyType::EcdsaP192, PublicKeyInfo::Ec { curve: Curve::P192 }, false),
        ] {
            let leaf = ca.leaf("k").key(key).dns("k.example.org").build();
            let c = leaf.certificate();
            assert_eq!(c.key(), &want, "{key:?}");
            assert_eq!(leaf.key_pem().is_some(), private, "{key:?}");
            assert_eq!(key.has_private_key(), private);
            // The issuer's key signs, whatever the subject key.
            assert_eq!(c.signature_algorithm().name(), "ecdsa-with-SHA256", "{key:?}");
            assert_eq!(c.sans().dns(), ["k.example.org"], "{key:?}");
            if let Some(pem) = leaf.key_pem() {
                assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            }
        }
        assert_eq!(KeyType::default(), KeyType::EcdsaP256);
        let ed_ca = Ca::builder("Ed Root").key(KeyType::Ed25519).build();
        let c = ed_ca.leaf("x").build().certificate();
        assert_eq!(c.signature_algorithm().name(), "ed25519");
        let p384 = Ca::builder("P-384 Root").key(KeyType::EcdsaP384).build();
        assert_eq!(
            p384.leaf("x").build().certificate().signature_algorithm().name(),
            "ecdsa-with-SHA384"
        );
    }

    #[test]
    #[should_panic(expected = "needs a private key")]
    fn rsa_ca_panics() {
        let _ = Ca::builder("RSA Root").key(KeyType::Rsa2048).build();
    }

    #[test]
    #[should_panic(expected = "needs a private key")]
    fn self_signed_rsa_panics() {
        let _ = self_signed("x").key(KeyType::Rsa2048).build();
    }
}
