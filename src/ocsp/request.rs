//! What a request is about: the certificate's `CertID` (RFC 6960 4.1.1), its responder,
//! and the DER `OCSPRequest` sent for it.

use der::asn1::{Any, OctetString};
use der::{Decode as _, Encode as _};
use sha1::Digest as _;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use super::asn1::{
    CertId, ID_AD_OCSP, ID_PKIX_OCSP_NONCE, ID_SHA_1, ID_SHA_256, OcspRequest, Request, TbsRequest,
};
use crate::error::{Error, ErrorKind, Result};

/// The hash algorithm of the `CertID` in a request.
///
/// Default: [`CertIdHash::Sha1`], what RFC 5019 responders (most public CAs' and
/// OpenSSL's `ocsp` client) expect. The hash only names the certificate in the request;
/// the response's signature is what is trusted, and a response naming the certificate
/// with either algorithm is accepted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertIdHash {
    /// SHA-1 (RFC 5019 profile; the default).
    #[default]
    Sha1,
    /// SHA-256.
    Sha256,
}

impl CertIdHash {
    fn oid(self) -> der::asn1::ObjectIdentifier {
        match self {
            Self::Sha1 => ID_SHA_1,
            Self::Sha256 => ID_SHA_256,
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    /// The hash an algorithm identifier names, if one of the two; parameters must be
    /// absent or NULL.
    pub(crate) fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Option<Self> {
        let params_ok = match &alg.parameters {
            None => true,
            Some(p) => der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty(),
        };
        if !params_ok {
            return None;
        }
        [Self::Sha1, Self::Sha256].into_iter().find(|h| h.oid() == alg.oid)
    }
}

/// One certificate to ask about, with what identifies it and its issuer.
#[derive(Clone, Debug)]
pub(crate) struct Subject {
    /// The serial number's INTEGER content bytes, as encoded.
    pub(crate) serial: Vec<u8>,
    /// The certificate's issuer `Name`, DER (tag and length included).
    pub(crate) issuer_name: Vec<u8>,
    /// The content of the issuer's SubjectPublicKeyInfo.
    pub(crate) issuer_spki: Vec<u8>,
    /// The `http://` OCSP responders of its authority information access, in order.
    pub(crate) responders: Vec<String>,
}

impl Subject {
    /// Reads what a request needs from a certificate (DER) whose issuer's key is
    /// `issuer_spki` (a SubjectPublicKeyInfo's content).
    pub(crate) fn new(cert_der: &[u8], issuer_spki: &[u8]) -> Result<Self> {
        let cert = x509_cert::Certificate::from_der(cert_der)
            .map_err(|_| Error::malformed("ocsp: the certificate cannot be read"))?;
        let tbs = cert.tbs_certificate();
        let issuer_name =
            tbs.issuer().to_der().map_err(|_| Error::malformed("ocsp: issuer name"))?;
        let mut responders = Vec::new();
        if let Ok(Some(value)) = crate::der_reader::extension_of(cert_der, AIA_OID)
            && let Ok(aia) = AuthorityInfoAccessSyntax::from_der(value)
        {
            for ad in aia.0 {
                if ad.access_method != ID_AD_OCSP {
                    continue;
                }
                if let GeneralName::UniformResourceIdentifier(uri) = ad.access_location {
                    let uri = uri.to_string();
                    if is_http(&uri) {
                        responders.push(uri);
                    }
                }
            }
        }
        crate::der_reader::spki_parts(issuer_spki)
            .map_err(|_| Error::malformed("ocsp: the issuer's key cannot be read"))?;
        Ok(Self {
            serial: tbs.serial_number().as_bytes().to_vec(),
            issuer_name,
            issuer_spki: issuer_spki.to_vec(),
            responders,
        })
    }

    /// The issuer key's bits (the subjectPublicKey BIT STRING's value).
    fn issuer_key(&self) -> &[u8] {
        crate::der_reader::spki_parts(&self.issuer_spki).map(|(_, key)| key).unwrap_or_default()
    }

    /// `issuerNameHash` and `issuerKeyHash` under `hash`.
    pub(crate) fn hashes(&self, hash: CertIdHash) -> (Vec<u8>, Vec<u8>) {
        (hash.digest(&self.issuer_name), hash.digest(self.issuer_key()))
    }

    /// The `CertID` naming this certificate with `hash`.
    pub(crate) fn cert_id(&self, hash: CertIdHash) -> Result<CertId> {
        let (name, key) = self.hashes(hash);
        let encoding = |_| Error::malformed("ocsp: cannot encode the certificate id");
        Ok(CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: hash.oid(),
                parameters: Some(Any::from(der::asn1::Null)),
            },
            issuer_name_hash: OctetString::new(name).map_err(encoding)?,
            issuer_key_hash: OctetString::new(key).map_err(encoding)?,
            serial_number: SerialNumber::new(&self.serial).map_err(encoding)?,
        })
    }

    /// Whether `id` names this certificate (SHA-1 or SHA-256, whatever the request used).
    pub(crate) fn matches(&self, id: &CertId) -> bool {
        let Some(hash) = CertIdHash::from_algorithm(&id.hash_algorithm) else { return false };
        if id.serial_number.as_bytes() != self.serial.as_slice() {
            return false;
        }
        let (name, key) = self.hashes(hash);
        id.issuer_name_hash.as_bytes() == name.as_slice()
            && id.issuer_key_hash.as_bytes() == key.as_slice()
    }
}

/// DER content bytes of id-pe-authorityInfoAccess (1.3.6.1.5.5.7.1.1).
const AIA_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01];

/// Whether `url` is an `http://` URL (scheme in any case).
pub(crate) fn is_http(url: &str) -> bool {
    url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")) && url.len() > 7
}

/// A URL for messages: without its query and fragment, which may carry tokens.
pub(crate) fn shown(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url.get(..end).unwrap_or_default()
}

/// The DER `OCSPRequest` for one certificate, with a nonce extension when given.
pub(crate) fn encode(id: CertId, nonce: Option<&[u8]>) -> Result<Vec<u8>> {
    let encoding = |_| Error::malformed("ocsp: cannot encode the request");
    let request_extensions = match nonce {
        None => None,
        Some(nonce) => {
            let value = OctetString::new(nonce).map_err(encoding)?.to_der().map_err(encoding)?;
            Some(vec![x509_cert::ext::Extension {
                extn_id: ID_PKIX_OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(value).map_err(encoding)?,
            }])
        }
    };
    let request = OcspRequest {
        tbs_request: TbsRequest {
            request_list: vec![Request { req_cert: id, single_request_extensions: None }],
            request_extensions,
            ..TbsRequest::default()
        },
        optional_signature: None,
    };
    request.to_der().map_err(encoding)
}

/// The nonce of a response's extensions: the value of the OCTET STRING inside the
/// extension, or the extension's raw value when a responder sent it unwrapped.
pub(crate) fn nonce_of(extensions: Option<&x509_cert::ext::Extensions>) -> Option<Vec<u8>> {
    let ext = extensions?.iter().find(|e| e.extn_id == ID_PKIX_OCSP_NONCE)?;
    let raw = ext.extn_value.as_bytes();
    Some(match OctetString::from_der(raw) {
        Ok(inner) => inner.as_bytes().to_vec(),
        Err(_) => raw.to_vec(),
    })
}

/// A fresh random nonce of 16 bytes (RFC 8954 asks for 1 to 32).
pub(crate) fn fresh_nonce() -> Result<[u8; 16]> {
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce)
        .map_err(|_| Error::new(ErrorKind::RevocationUnknown, "ocsp: no randomness for a nonce"))?;
    Ok(nonce)
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::pki::Ca;

    fn spki_content(der: &[u8]) -> Vec<u8> {
        let spki = crate::der_reader::spki_of(der).unwrap();
        crate::der_reader::content_of(spki, 0x30).unwrap().to_vec()
    }

    /// The CertID is RFC 6960's: hashes of the issuer's DER name and of its key's bits
    /// (not of the whole SubjectPublicKeyInfo), and the serial as encoded.
    #[test]
    fn cert_id_hashes_the_issuer_name_and_key_bits() {
        let ca = Ca::root("OCSP Root");
        let leaf = ca.leaf("client").serial(&[0x00, 0x91, 0x02]).build();
        let subject = Subject::new(leaf.der(), &spki_content(ca.der())).unwrap();
        let ca_cert = x509_cert::Certificate::from_der(ca.der()).unwrap();
        let name = ca_cert.tbs_certificate().subject().to_der().unwrap();
        let key =
            ca_cert.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes();
        for hash in [CertIdHash::Sha1, CertIdHash::Sha256] {
            let id = subject.cert_id(hash).unwrap();
            assert_eq!(id.issuer_name_hash.as_bytes(), hash.digest(&name).as_slice());
            assert_eq!(id.issuer_key_hash.as_bytes(), hash.digest(key).as_slice());
            assert_eq!(
                id.issuer_key_hash.as_bytes().len(),
                if hash == CertIdHash::Sha1 { 20 } else { 32 }
            );
            assert!(subject.matches(&id));
        }
        assert_eq!(
            subject.cert_id(CertIdHash::Sha1).unwrap().serial_number.as_bytes(),
            leaf.serial()
        );
        // Another serial, another issuer key: no match.
        let other = ca.leaf("other").build();
        let other = Subject::new(other.der(), &spki_content(ca.der())).unwrap();
        assert!(!subject.matches(&other.cert_id(CertIdHash::Sha1).unwrap()));
        let elsewhere = Ca::root("OCSP Root");
        let elsewhere = Subject::new(leaf.der(), &spki_content(elsewhere.der())).unwrap();
        assert!(!subject.matches(&elsewhere.cert_id(CertIdHash::Sha256).unwrap()));
    }

    /// A request is one `Request` in a v1 `TBSRequest`, unsigned; the nonce goes into a
    /// non-critical id-pkix-ocsp-nonce request extension wrapping an OCTET STRING.
    #[test]
    fn request_encoding_round_trips() {
        let ca = Ca::root("OCSP Root");
        let leaf = ca.leaf("client").build();
        let subject = Subject::new(leaf.der(), &spki_content(ca.der())).unwrap();
        let id = subject.cert_id(CertIdHash::Sha1).unwrap();
        let plain = encode(id.clone(), None).unwrap();
        let decoded = OcspRequest::from_der(&plain).unwrap();
        assert_eq!(decoded.tbs_request.request_list.len(), 1);
        assert_eq!(decoded.tbs_request.request_list[0].req_cert, id);
        assert!(decoded.tbs_request.request_extensions.is_none());
        assert!(decoded.optional_signature.is_none());
        // v1 is DEFAULT, so it is not encoded: SEQUENCE { SEQUENCE { SEQUENCE OF ...
        assert_eq!(&plain[..1], &[0x30]);

        let with_nonce = encode(id, Some(b"0123456789abcdef")).unwrap();
        let decoded = OcspRequest::from_der(&with_nonce).unwrap();
        let exts = decoded.tbs_request.request_extensions.as_ref();
        assert!(!exts.unwrap()[0].critical);
        assert_eq!(nonce_of(exts).as_deref(), Some(&b"0123456789abcdef"[..]));
    }

    /// Only http:// responders are taken from the AIA, and messages never show a query.
    #[test]
    fn responders_and_shown_urls() {
        assert!(is_http("http://ocsp.example.test") && is_http("HTTP://x"));
        assert!(
            !is_http("https://ocsp.example.test") && !is_http("http://") && !is_http("ldap://x")
        );
        assert_eq!(shown("http://h/p?token=secret#f"), "http://h/p");
        assert_eq!(shown("http://h/p"), "http://h/p");
    }
}
