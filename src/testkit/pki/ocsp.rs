//! OCSP responses signed by a [`Ca`] or by a responder it delegated to (feature `ocsp`).

use der::asn1::{BitString, GeneralizedTime, Null, OctetString};
use der::{Decode as _, Encode as _};
use rcgen::{KeyPair, SigningKey as _};
use sha1::Digest as _;
use spki::AlgorithmIdentifierOwned;

use super::{Ca, DEFAULT_NOT_AFTER, DEFAULT_NOT_BEFORE, KeyType, Leaf};
use crate::Timestamp;
use crate::ocsp::asn1::{
    BasicOcspResponse, CertId, CertStatus, ID_PKIX_OCSP_BASIC, ID_PKIX_OCSP_NONCE, ID_SHA_1,
    ID_SHA_256, OcspResponse as Envelope, OcspResponseStatus, ResponderId, ResponseBytes,
    ResponseData, RevokedInfo, SingleResponse, Version,
};

/// Builder for an [`OcspResponse`] about one certificate, from [`Ca::ocsp_response`].
///
/// Defaults: status `good`, `thisUpdate` and `producedAt` [`DEFAULT_NOT_BEFORE`],
/// `nextUpdate` [`DEFAULT_NOT_AFTER`], the `CertID` with SHA-1 naming the certificate
/// as issued by this CA, signed by the CA's own key (responder ID by key hash), no
/// certificates, no nonce.
///
/// ```
/// use certauth::testkit::pki::Ca;
/// use certauth::Timestamp;
/// let ca = Ca::root("Root");
/// let leaf = ca.leaf("client").build();
/// let good = ca.ocsp_response(leaf.der()).build();
/// let revoked = ca.ocsp_response(leaf.der()).revoked(Timestamp::from_unix_secs(1_700_000_000)).build();
/// assert_ne!(good.der(), revoked.der());
/// ```
pub struct OcspResponseBuilder<'a> {
    ca: &'a Ca,
    cert: Vec<u8>,
    status: CertStatus,
    this_update: Timestamp,
    next_update: Option<Timestamp>,
    sha256: bool,
    serial: Option<Vec<u8>>,
    signer: Signer<'a>,
    certs: Vec<Vec<u8>>,
    nonce: Option<Vec<u8>>,
    error_status: Option<OcspResponseStatus>,
}

enum Signer<'a> {
    Ca(&'a Ca),
    Responder(&'a Leaf),
}

impl std::fmt::Debug for OcspResponseBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspResponseBuilder")
            .field("ca", &self.ca.name())
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<'a> OcspResponseBuilder<'a> {
    pub(super) fn new(ca: &'a Ca, cert: &[u8]) -> Self {
        Self {
            ca,
            cert: cert.to_vec(),
            status: CertStatus::Good(Null),
            this_update: DEFAULT_NOT_BEFORE,
            next_update: Some(DEFAULT_NOT_AFTER),
            sha256: false,
            serial: None,
            signer: Signer::Ca(ca),
            certs: Vec::new(),
            nonce: None,
            error_status: None,
        }
    }

    /// Status `revoked` since `at`.
    #[must_use]
    pub fn revoked(mut self, at: Timestamp) -> Self {
        self.status =
            CertStatus::Revoked(RevokedInfo { revocation_time: time(at), revocation_reason: None });
        self
    }

    /// Status `unknown`.
    #[must_use]
    pub fn unknown(mut self) -> Self {
        self.status = CertStatus::Unknown(Null);
        self
    }

    /// `thisUpdate` (and `producedAt`).
    #[must_use]
    pub fn this_update(mut self, t: Timestamp) -> Self {
        self.this_update = t;
        self
    }

    /// `nextUpdate`; `None` leaves it out.
    #[must_use]
    pub fn next_update(mut self, t: Option<Timestamp>) -> Self {
        self.next_update = t;
        self
    }

    /// Names the certificate with SHA-256 hashes instead of SHA-1.
    #[must_use]
    pub fn sha256(mut self) -> Self {
        self.sha256 = true;
        self
    }

    /// Puts this serial (big-endian magnitude bytes) into the `CertID` instead of the
    /// certificate's: a response about another certificate.
    #[must_use]
    pub fn serial(mut self, serial: &[u8]) -> Self {
        self.serial = Some(serial.to_vec());
        self
    }

    /// Signs with `other`'s key instead of the issuer's (a forged response).
    #[must_use]
    pub fn signed_by_ca(mut self, other: &'a Ca) -> Self {
        self.signer = Signer::Ca(other);
        self
    }

    /// Signs with a delegated responder's key and carries its certificate: a leaf
    /// issued for id-kp-OCSPSigning (`.eku(&["1.3.6.1.5.5.7.3.9"])`) with an EC or
    /// Ed25519 key.
    ///
    /// # Panics
    /// In [`build`](Self::build), if the responder has no private key.
    #[must_use]
    pub fn signed_by_responder(mut self, responder: &'a Leaf) -> Self {
        self.signer = Signer::Responder(responder);
        self.certs.push(responder.der().to_vec());
        self
    }

    /// Carries one more certificate (DER) in the response.
    #[must_use]
    pub fn certificate(mut self, der: &[u8]) -> Self {
        self.certs.push(der.to_vec());
        self
    }

    /// Puts a nonce extension into the response.
    #[must_use]
    pub fn nonce(mut self, nonce: &[u8]) -> Self {
        self.nonce = Some(nonce.to_vec());
        self
    }

    /// An unsuccessful response with this `OCSPResponseStatus` (1 malformedRequest, 2
    /// internalError, 3 tryLater, 5 sigRequired, 6 unauthorized) and no body.
    ///
    /// # Panics
    /// In [`build`](Self::build), on another value.
    #[must_use]
    pub fn error_status(mut self, status: u8) -> Self {
        self.error_status = Some(match status {
            1 => OcspResponseStatus::MalformedRequest,
            2 => OcspResponseStatus::InternalError,
            3 => OcspResponseStatus::TryLater,
            5 => OcspResponseStatus::SigRequired,
            6 => OcspResponseStatus::Unauthorized,
            other => panic!("testkit: {other} is not an unsuccessful ocsp response status"),
        });
        self
    }

    /// Builds and signs the response.
    ///
    /// # Panics
    /// If the signer cannot sign.
    pub fn build(self) -> OcspResponse {
        if let Some(status) = self.error_status {
            let der = Envelope { response_status: status, response_bytes: None }.to_der();
            return OcspResponse { der: der.unwrap_or_else(|e| panic!("testkit: ocsp: {e}")) };
        }
        let fail = |e: &dyn std::fmt::Display| -> ! { panic!("testkit: ocsp response: {e}") };
        let cert = x509_cert::Certificate::from_der(&self.cert).unwrap_or_else(|e| fail(&e));
        let issuer_name = cert.tbs_certificate().issuer().to_der().unwrap_or_else(|e| fail(&e));
        let ca_cert = x509_cert::Certificate::from_der(self.ca.der()).unwrap_or_else(|e| fail(&e));
        let issuer_key =
            ca_cert.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes();
        let (oid, name_hash, key_hash) = if self.sha256 {
            (
                ID_SHA_256,
                sha2::Sha256::digest(&issuer_name).to_vec(),
                sha2::Sha256::digest(issuer_key).to_vec(),
            )
        } else {
            (
                ID_SHA_1,
                sha1::Sha1::digest(&issuer_name).to_vec(),
                sha1::Sha1::digest(issuer_key).to_vec(),
            )
        };
        let serial = match &self.serial {
            Some(s) => x509_cert::serial_number::SerialNumber::new(s).unwrap_or_else(|e| fail(&e)),
            None => cert.tbs_certificate().serial_number().clone(),
        };
        let cert_id = CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: Some(der::asn1::Any::from(Null)),
            },
            issuer_name_hash: OctetString::new(name_hash).unwrap_or_else(|e| fail(&e)),
            issuer_key_hash: OctetString::new(key_hash).unwrap_or_else(|e| fail(&e)),
            serial_number: serial,
        };
        let (key, key_type, signer_der): (&KeyPair, KeyType, &[u8]) = match self.signer {
            Signer::Ca(ca) => (&ca.key, ca.key_type, ca.der()),
            Signer::Responder(leaf) => match &leaf.key {
                Some(key) => (key, leaf.key_type, leaf.der()),
                None => fail(&"the responder has no private key"),
            },
        };
        let signer = x509_cert::Certificate::from_der(signer_der).unwrap_or_else(|e| fail(&e));
        let signer_key =
            signer.tbs_certificate().subject_public_key_info().subject_public_key.raw_bytes();
        let response_extensions = self.nonce.as_ref().map(|nonce| {
            let value = OctetString::new(nonce.clone()).and_then(|o| o.to_der());
            vec![x509_cert::ext::Extension {
                extn_id: ID_PKIX_OCSP_NONCE,
                critical: false,
                extn_value: value.and_then(OctetString::new).unwrap_or_else(|e| fail(&e)),
            }]
        });
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(
                OctetString::new(sha1::Sha1::digest(signer_key).to_vec())
                    .unwrap_or_else(|e| fail(&e)),
            ),
            produced_at: time(self.this_update),
            responses: vec![SingleResponse {
                cert_id,
                cert_status: self.status,
                this_update: time(self.this_update),
                next_update: self.next_update.map(time),
                single_extensions: None,
            }],
            response_extensions,
        };
        let tbs = data.to_der().unwrap_or_else(|e| fail(&e));
        let signature = key.sign(&tbs).unwrap_or_else(|e| fail(&e));
        let certs = (!self.certs.is_empty()).then(|| {
            self.certs
                .iter()
                .map(|der| x509_cert::Certificate::from_der(der).unwrap_or_else(|e| fail(&e)))
                .collect()
        });
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: signature_algorithm(key_type),
            signature: BitString::from_bytes(&signature).unwrap_or_else(|e| fail(&e)),
            certs,
        };
        let body = basic.to_der().unwrap_or_else(|e| fail(&e));
        let envelope = Envelope {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: ID_PKIX_OCSP_BASIC,
                response: OctetString::new(body).unwrap_or_else(|e| fail(&e)),
            }),
        };
        OcspResponse { der: envelope.to_der().unwrap_or_else(|e| fail(&e)) }
    }
}

/// The AlgorithmIdentifier of the signatures a key of this type makes.
fn signature_algorithm(key: KeyType) -> AlgorithmIdentifierOwned {
    let oid = match key {
        KeyType::EcdsaP256 => const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
        KeyType::EcdsaP384 => const_oid::db::rfc5912::ECDSA_WITH_SHA_384,
        KeyType::Ed25519 => const_oid::db::rfc8410::ID_ED_25519,
        other => panic!("testkit: a {other:?} key cannot sign here"),
    };
    AlgorithmIdentifierOwned { oid, parameters: None }
}

fn time(t: Timestamp) -> GeneralizedTime {
    let secs = u64::try_from(t.as_unix_secs()).unwrap_or(0);
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|e| panic!("testkit: ocsp time: {e}"))
}

/// A DER `OCSPResponse`, from [`OcspResponseBuilder::build`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OcspResponse {
    der: Vec<u8>,
}

impl OcspResponse {
    /// The DER bytes, as a responder sends them.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}

impl Ca {
    /// A builder for an OCSP response about `cert` (DER), a certificate this CA issued.
    /// See [`OcspResponseBuilder`] for the defaults.
    pub fn ocsp_response(&self, cert: &[u8]) -> OcspResponseBuilder<'_> {
        OcspResponseBuilder::new(self, cert)
    }
}
