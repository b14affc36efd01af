//! The RFC 6960 structures certauth reads and writes, on `der`'s derive.
//!
//! The shapes and names are those of RustCrypto's `x509-ocsp` crate (`OcspRequest`,
//! `TbsRequest`, `Request`, `CertId`, `OcspResponse`, `ResponseBytes`,
//! `BasicOcspResponse`, `ResponseData`, `ResponderId`, `SingleResponse`, `CertStatus`,
//! `RevokedInfo`; the nonce extension, an OCTET STRING inside the extension's value, is
//! written and read by `request.rs`), reusing x509-cert's `Certificate`, `Name` and `Extensions` and spki's
//! `AlgorithmIdentifierOwned`, so that moving to an `x509-ocsp` release built on `der`
//! 0.8 replaces this file and renames nothing else. Only what certauth needs is here
//! (no request signatures are produced, no builders); the types stay crate-private.

use der::asn1::{BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString};
use der::{Choice, Enumerated, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

/// `GeneralizedTime` as OCSP uses it (x509-ocsp wraps it in a newtype of this name).
pub(crate) type OcspGeneralizedTime = GeneralizedTime;

/// `Version ::= INTEGER { v1(0) }`.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Enumerated)]
#[repr(u8)]
pub(crate) enum Version {
    #[default]
    V1 = 0,
}

/// `OCSPRequest ::= SEQUENCE { tbsRequest, optionalSignature [0] EXPLICIT OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct OcspRequest {
    pub(crate) tbs_request: TbsRequest,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) optional_signature: Option<Signature>,
}

/// `TBSRequest`.
#[derive(Clone, Debug, Default, Eq, PartialEq, Sequence)]
pub(crate) struct TbsRequest {
    #[asn1(context_specific = "0", default = "Default::default", tag_mode = "EXPLICIT")]
    pub(crate) version: Version,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) requestor_name: Option<GeneralName>,
    pub(crate) request_list: Vec<Request>,
    #[asn1(context_specific = "2", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) request_extensions: Option<Extensions>,
}

/// `Signature` of a signed request (decoded, never produced).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Signature {
    pub(crate) signature_algorithm: AlgorithmIdentifierOwned,
    pub(crate) signature: BitString,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) certs: Option<Vec<Certificate>>,
}

/// `Request ::= SEQUENCE { reqCert CertID, singleRequestExtensions [0] EXPLICIT OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Request {
    pub(crate) req_cert: CertId,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) single_request_extensions: Option<Extensions>,
}

/// `CertID`: which certificate a request or a response is about.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct CertId {
    pub(crate) hash_algorithm: AlgorithmIdentifierOwned,
    pub(crate) issuer_name_hash: OctetString,
    pub(crate) issuer_key_hash: OctetString,
    pub(crate) serial_number: SerialNumber,
}

/// `OCSPResponse ::= SEQUENCE { responseStatus, responseBytes [0] EXPLICIT OPTIONAL }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct OcspResponse {
    pub(crate) response_status: OcspResponseStatus,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) response_bytes: Option<ResponseBytes>,
}

/// `OCSPResponseStatus`.
#[derive(Enumerated, Copy, Clone, Debug, Eq, PartialEq)]
#[repr(u32)]
pub(crate) enum OcspResponseStatus {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

impl OcspResponseStatus {
    /// RFC 6960's name of the status.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Successful => "successful",
            Self::MalformedRequest => "malformedRequest",
            Self::InternalError => "internalError",
            Self::TryLater => "tryLater",
            Self::SigRequired => "sigRequired",
            Self::Unauthorized => "unauthorized",
        }
    }
}

/// `ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct ResponseBytes {
    pub(crate) response_type: ObjectIdentifier,
    pub(crate) response: OctetString,
}

/// `BasicOCSPResponse`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct BasicOcspResponse {
    pub(crate) tbs_response_data: ResponseData,
    pub(crate) signature_algorithm: AlgorithmIdentifierOwned,
    pub(crate) signature: BitString,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) certs: Option<Vec<Certificate>>,
}

/// `ResponseData`: what the responder signs.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct ResponseData {
    #[asn1(context_specific = "0", default = "Default::default", tag_mode = "EXPLICIT")]
    pub(crate) version: Version,
    pub(crate) responder_id: ResponderId,
    pub(crate) produced_at: OcspGeneralizedTime,
    pub(crate) responses: Vec<SingleResponse>,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) response_extensions: Option<Extensions>,
}

/// `ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }`.
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub(crate) enum ResponderId {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    ByName(Name),
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(OctetString),
}

/// `SingleResponse`: the status of one certificate.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SingleResponse {
    pub(crate) cert_id: CertId,
    pub(crate) cert_status: CertStatus,
    pub(crate) this_update: OcspGeneralizedTime,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) next_update: Option<OcspGeneralizedTime>,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) single_extensions: Option<Extensions>,
}

/// `CertStatus ::= CHOICE { good [0] IMPLICIT NULL, revoked [1] IMPLICIT RevokedInfo,
/// unknown [2] IMPLICIT UnknownInfo }`.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Choice)]
pub(crate) enum CertStatus {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// `RevokedInfo ::= SEQUENCE { revocationTime, revocationReason [0] EXPLICIT OPTIONAL }`.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RevokedInfo {
    pub(crate) revocation_time: OcspGeneralizedTime,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    pub(crate) revocation_reason: Option<x509_cert::ext::pkix::CrlReason>,
}

/// `id-pkix-ocsp-basic`.
pub(crate) const ID_PKIX_OCSP_BASIC: ObjectIdentifier = const_oid::db::rfc6960::ID_PKIX_OCSP_BASIC;
/// `id-pkix-ocsp-nonce`.
pub(crate) const ID_PKIX_OCSP_NONCE: ObjectIdentifier = const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE;
/// `id-kp-OCSPSigning`.
pub(crate) const ID_KP_OCSP_SIGNING: ObjectIdentifier = const_oid::db::rfc5280::ID_KP_OCSP_SIGNING;
/// `id-ad-ocsp`.
pub(crate) const ID_AD_OCSP: ObjectIdentifier = const_oid::db::rfc5280::ID_AD_OCSP;
/// `id-sha1`.
pub(crate) const ID_SHA_1: ObjectIdentifier = const_oid::db::rfc5912::ID_SHA_1;
/// `id-sha256`.
pub(crate) const ID_SHA_256: ObjectIdentifier = const_oid::db::rfc5912::ID_SHA_256;
