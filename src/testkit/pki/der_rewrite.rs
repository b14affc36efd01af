//! Edits to signed DER that rcgen cannot make itself: a public key it cannot encode, a
//! CRL without its number. Each edit signs the result again with the issuer's key.

use der::{Decode as _, Encode as _};
use rcgen::{KeyPair, SigningKey as _};

/// The CRL number extension's OID (RFC 5280 5.2.3).
pub(super) const CRL_NUMBER_OID: &str = "2.5.29.20";

/// Replaces the SubjectPublicKeyInfo of `cert` with `spki` and signs the result again
/// with `key`. For key types rcgen cannot encode.
pub(super) fn replace_spki(cert: &[u8], spki: &[u8], key: &KeyPair) -> Vec<u8> {
    let surgery = || -> der::Result<Vec<u8>> {
        let outer = Vec::<der::Any>::from_der(cert)?;
        let [tbs, alg, _sig] = <[der::Any; 3]>::try_from(outer)
            .map_err(|_| der::Error::from(der::ErrorKind::Length { tag: der::Tag::Sequence }))?;
        let mut fields = Vec::<der::Any>::from_der(&tbs.to_der()?)?;
        // version [0], serial, signature, issuer, validity, subject, subjectPublicKeyInfo
        let slot = fields
            .get_mut(6)
            .ok_or_else(|| der::Error::from(der::ErrorKind::Length { tag: der::Tag::Sequence }))?;
        *slot = der::Any::from_der(spki)?;
        let tbs = fields.to_der()?;
        let sig = key.sign(&tbs).map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
        let sig = der::asn1::BitString::from_bytes(&sig)?;
        let parts = vec![der::Any::from_der(&tbs)?, alg, der::Any::from_der(&sig.to_der()?)?];
        parts.to_der()
    };
    surgery().unwrap_or_else(|e| panic!("testkit: replacing the public key: {e}"))
}

/// Removes the CRL number extension from `crl` and signs the result again with `key`
/// (rcgen always writes one).
pub(super) fn remove_crl_number(crl: &[u8], key: &KeyPair) -> Vec<u8> {
    let edit = || -> der::Result<Vec<u8>> {
        let mut list: x509_cert::crl::CertificateList = der::Decode::from_der(crl)?;
        if let Some(exts) = list.tbs_cert_list.crl_extensions.as_mut() {
            exts.retain(|e| e.extn_id.to_string() != CRL_NUMBER_OID);
        }
        let tbs = list.tbs_cert_list.to_der()?;
        let sig = key.sign(&tbs).map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
        list.signature = der::asn1::BitString::from_bytes(&sig)?;
        list.to_der()
    };
    edit().unwrap_or_else(|e| panic!("testkit: removing the CRL number: {e}"))
}

#[cfg(test)]
mod tests {
    use crate::testkit::pki::{Ca, KeyType};

    /// The P-192 leaf is made by replacing the public key after rcgen signed it: the
    /// certificate must still be exactly one well-formed certificate whose other fields
    /// survived, and its signature must be over the new TBS (checked against openssl by
    /// hand: `openssl verify -CAfile root.pem leaf.pem` says OK).
    #[test]
    fn p192_surgery_keeps_everything_else() {
        let ca = Ca::root("Root");
        let p256 = ca.leaf("same").serial(&[9]).spiffe("spiffe://example.org/x").build();
        let p192 = ca
            .leaf("same")
            .serial(&[9])
            .spiffe("spiffe://example.org/x")
            .key(KeyType::EcdsaP192)
            .build();
        let (a, b) = (p256.certificate(), p192.certificate());
        assert_eq!(a.subject(), b.subject());
        assert_eq!(a.issuer(), b.issuer());
        assert_eq!(a.serial_hex(), b.serial_hex());
        assert_eq!(a.sans(), b.sans());
        assert_eq!((a.not_before(), a.not_after()), (b.not_before(), b.not_after()));
        assert_eq!(b.spki_der(), include_bytes!("../keys/p192.der"));
    }
}
