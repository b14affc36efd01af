//! Reading and checking a response (RFC 6960 3.2 and 4.2): a successful
//! `id-pkix-ocsp-basic` response, the `SingleResponse` for the certificate asked about,
//! signed by its issuer or by a responder the issuer delegated to, fresh at the time
//! given.

use der::{Decode as _, Encode as _};

use super::asn1::{
    BasicOcspResponse, CertStatus, ID_KP_OCSP_SIGNING, ID_PKIX_OCSP_BASIC, OcspResponse,
    OcspResponseStatus,
};
use super::request::{Subject, nonce_of};
use crate::error::{Error, ErrorKind, Result};
use crate::time::Timestamp;
use crate::trust::crl::{CrlSignature, verify_signed};
use crate::verify::Algorithms;

/// How many certificates of a response are tried as a delegated responder.
const MAX_RESPONDER_CERTS: usize = 4;

/// DER content bytes of id-ce-extKeyUsage (2.5.29.37).
const EKU_OID: &[u8] = &[0x55, 0x1d, 0x25];

/// A certificate's status, as a response that passed every check states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Good,
    Revoked { at: Timestamp },
    Unknown,
}

/// A checked answer for one certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: Status,
    pub(crate) this_update: Timestamp,
    pub(crate) next_update: Option<Timestamp>,
    /// Signed by a delegated responder rather than by the issuer's own key.
    pub(crate) delegated: bool,
}

/// The freshness rules: an allowance for clocks on both sides of `thisUpdate` and
/// `nextUpdate`, and the age after which a response without `nextUpdate` is stale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Freshness {
    pub(crate) allowance: i64,
    pub(crate) max_age: i64,
}

impl Freshness {
    /// The last time at which `answer` is fresh.
    pub(crate) fn fresh_until(&self, answer: &Answer) -> Timestamp {
        match answer.next_update {
            Some(next) => next.plus_secs(self.allowance),
            None => answer.this_update.plus_secs(self.max_age.saturating_add(self.allowance)),
        }
    }

    /// The first time at which `answer` is fresh.
    pub(crate) fn fresh_from(&self, answer: &Answer) -> Timestamp {
        answer.this_update.plus_secs(-self.allowance)
    }

    fn check(&self, answer: &Answer, now: Timestamp) -> Result<()> {
        let stale = |m: String| Err(Error::new(ErrorKind::RevocationStale, m));
        if now < self.fresh_from(answer) {
            return stale(format!(
                "ocsp: response's this update {} is after the verification time {}",
                answer.this_update.to_rfc3339(),
                now.to_rfc3339()
            ));
        }
        if now > self.fresh_until(answer) {
            return stale(match answer.next_update {
                Some(next) => format!(
                    "ocsp: response is past its next update {} at {}",
                    next.to_rfc3339(),
                    now.to_rfc3339()
                ),
                None => format!(
                    "ocsp: response without next update was issued {}, more than {} s before {}",
                    answer.this_update.to_rfc3339(),
                    self.max_age,
                    now.to_rfc3339()
                ),
            });
        }
        Ok(())
    }
}

fn unknown(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::RevocationUnknown, format!("ocsp: {}", message.into()))
}

/// A response split into what is checked: the parsed basic response and its signed parts.
pub(crate) struct Parsed<'a> {
    pub(crate) basic: BasicOcspResponse,
    pub(crate) signed: crate::der_reader::SignedParts<'a>,
}

/// Reads `der` as a successful basic OCSP response of at most `max` bytes. Errors are
/// typed: `input_too_large` over the bound, `malformed_input` for anything that is not
/// a DER response, `revocation_unknown` for a well-formed refusal (`tryLater`, ...) or a
/// response type other than basic.
pub(crate) fn parse(der: &[u8], max: usize) -> Result<Parsed<'_>> {
    if der.len() > max {
        return Err(Error::too_large("ocsp response", der.len(), max));
    }
    let response = OcspResponse::from_der(der)
        .map_err(|_| Error::malformed("ocsp: response is not a der ocsp response"))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(unknown(format!(
            "responder answered {}",
            response.response_status.name()
        )));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| Error::malformed("ocsp: successful response without a body"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(unknown("response type is not id-pkix-ocsp-basic"));
    }
    // The signed parts are read from the very bytes received, not from a re-encoding.
    // The body is the last field of the response, which the decoder read to the end.
    let raw = der
        .len()
        .checked_sub(bytes.response.as_bytes().len())
        .and_then(|start| der.get(start..))
        .filter(|raw| *raw == bytes.response.as_bytes())
        .ok_or_else(|| Error::malformed("ocsp: response body cannot be located"))?;
    let signed = crate::der_reader::signed_parts_with_certs(raw)
        .map_err(|why| Error::malformed(format!("ocsp: basic response {why}")))?;
    let basic = BasicOcspResponse::from_der(raw)
        .map_err(|_| Error::malformed("ocsp: basic response is not valid der"))?;
    Ok(Parsed { basic, signed })
}

/// Checks a response to a request about `subject` at `now`: parsed within `max`
/// bytes, a `SingleResponse` for the certificate, signed by the issuer or a delegated
/// responder, carrying `nonce` when one was sent, and (unless it says revoked) fresh.
///
/// Every refusal is `revocation_unknown` except staleness (`revocation_stale`) and the
/// parse errors of [`parse`]. A revoked status with a valid signature is returned even
/// when stale: revocation is final.
pub(crate) fn check(
    der: &[u8],
    max: usize,
    subject: &Subject,
    algorithms: Algorithms,
    now: Timestamp,
    freshness: Freshness,
    nonce: Option<&[u8]>,
) -> Result<Answer> {
    let Parsed { basic, signed } = parse(der, max)?;
    let data = &basic.tbs_response_data;
    let single = data
        .responses
        .iter()
        .find(|r| subject.matches(&r.cert_id))
        .ok_or_else(|| unknown("response has no status for the certificate asked about"))?;
    let delegated = check_signer(&basic, &signed, subject, algorithms, now)?;
    if let Some(sent) = nonce {
        match nonce_of(data.response_extensions.as_ref()) {
            Some(got) if got == sent => {}
            Some(_) => return Err(unknown("response nonce does not match the request's")),
            None => return Err(unknown("response has no nonce")),
        }
    }
    let time = |t: &der::asn1::GeneralizedTime| {
        Timestamp::from_unix_secs(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX))
    };
    let status = match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(info) => Status::Revoked { at: time(&info.revocation_time) },
        CertStatus::Unknown(_) => Status::Unknown,
    };
    let answer = Answer {
        status,
        this_update: time(&single.this_update),
        next_update: single.next_update.as_ref().map(time),
        delegated,
    };
    if let Some(next) = answer.next_update
        && next < answer.this_update
    {
        return Err(unknown("response's next update is before its this update"));
    }
    if !matches!(answer.status, Status::Revoked { .. }) {
        freshness.check(&answer, now)?;
    }
    Ok(answer)
}

/// Who signed: `Ok(false)` the issuer's own key, `Ok(true)` a delegated responder
/// certificate carried in the response, issued (its signature checked) by the issuer,
/// with id-kp-OCSPSigning, valid at `now`.
fn check_signer(
    basic: &BasicOcspResponse,
    signed: &crate::der_reader::SignedParts<'_>,
    subject: &Subject,
    algorithms: Algorithms,
    now: Timestamp,
) -> Result<bool> {
    match verify_signed(algorithms, signed, &subject.issuer_spki) {
        CrlSignature::Valid => return Ok(false),
        CrlSignature::Invalid | CrlSignature::Unsupported => {}
    }
    let mut why = "response signature does not verify under the issuer's key, and no \
                   delegated responder certificate signed it";
    for cert in basic.certs.iter().flatten().take(MAX_RESPONDER_CERTS) {
        let Ok(der) = cert.to_der() else { continue };
        let issued_by_issuer = cert
            .tbs_certificate()
            .issuer()
            .to_der()
            .is_ok_and(|name| name == subject.issuer_name)
            && crate::der_reader::signed_parts(&der)
                .is_ok_and(|p| verify_signed(algorithms, &p, &subject.issuer_spki) == CrlSignature::Valid);
        let Some(spki) = crate::der_reader::spki_of(&der)
            .and_then(|s| crate::der_reader::content_of(s, 0x30))
            .ok()
        else {
            continue;
        };
        if verify_signed(algorithms, signed, spki) != CrlSignature::Valid {
            continue;
        }
        // This certificate's key signed the response: is it allowed to?
        if !issued_by_issuer {
            why = "response is signed by a responder certificate the issuer did not issue";
            continue;
        }
        let ocsp_signing = matches!(
            crate::der_reader::extension_of(&der, EKU_OID),
            Ok(Some(eku)) if crate::der_reader::oid_list_contains(eku, ID_KP_OCSP_SIGNING.as_bytes()) == Ok(true)
        );
        if !ocsp_signing {
            why = "response is signed by a responder certificate without id-kp-OCSPSigning";
            continue;
        }
        match crate::der_reader::validity_of(&der) {
            Ok((not_before, not_after)) if not_before <= now && now <= not_after => return Ok(true),
            _ => why = "response is signed by a responder certificate not valid at the verification time",
        }
    }
    Err(unknown(why))
}
