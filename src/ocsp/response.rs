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
        return Err(unknown(format!("responder answered {}", response.response_status.name())));
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
        let issued_by_issuer =
            cert.tbs_certificate().issuer().to_der().is_ok_and(|name| name == subject.issuer_name)
                && crate::der_reader::signed_parts(&der).is_ok_and(|p| {
                    verify_signed(algorithms, &p, &subject.issuer_spki) == CrlSignature::Valid
                });
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
            Ok((not_before, not_after)) if not_before <= now && now <= not_after => {
                return Ok(true);
            }
            _ => {
                why = "response is signed by a responder certificate not valid at the verification time"
            }
        }
    }
    Err(unknown(why))
}

#[cfg(all(test, feature = "testkit", feature = "ring"))]
mod tests {
    use super::*;
    use crate::testkit::pki::{Ca, Leaf};

    const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";
    const MAX: usize = 64 * 1024;
    const FRESH: Freshness = Freshness { allowance: 300, max_age: 3600 };

    fn now() -> Timestamp {
        Timestamp::from_utc(2026, 6, 1, 0, 0, 0).unwrap()
    }

    fn subject(ca: &Ca, leaf: &Leaf) -> Subject {
        let spki = crate::der_reader::spki_of(ca.der()).unwrap();
        let spki = crate::der_reader::content_of(spki, 0x30).unwrap();
        Subject::new(leaf.der(), spki).unwrap()
    }

    fn run(ca: &Ca, leaf: &Leaf, der: &[u8]) -> Result<Answer> {
        check(der, MAX, &subject(ca, leaf), crate::RING_ALGORITHMS, now(), FRESH, None)
    }

    fn refused(result: Result<Answer>, kind: ErrorKind, says: &str) {
        let e = result.unwrap_err();
        assert_eq!(e.kind(), kind, "{e}");
        assert!(e.message().contains(says), "{says:?} not in {e}");
    }

    #[test]
    fn good_revoked_unknown_signed_by_the_issuer() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        let good = run(&ca, &leaf, ca.ocsp_response(leaf.der()).build().der()).unwrap();
        assert_eq!((good.status, good.delegated), (Status::Good, false));
        assert_eq!(good.next_update, Some(crate::testkit::pki::DEFAULT_NOT_AFTER));
        let at = Timestamp::from_utc(2025, 1, 1, 0, 0, 0).unwrap();
        let revoked = run(&ca, &leaf, ca.ocsp_response(leaf.der()).revoked(at).build().der());
        assert_eq!(revoked.unwrap().status, Status::Revoked { at });
        let unknown = run(&ca, &leaf, ca.ocsp_response(leaf.der()).unknown().build().der());
        assert_eq!(unknown.unwrap().status, Status::Unknown);
        // A CertID with SHA-256 names the certificate as well.
        let sha256 = run(&ca, &leaf, ca.ocsp_response(leaf.der()).sha256().build().der());
        assert_eq!(sha256.unwrap().status, Status::Good);
    }

    /// A response signed by any key but the issuer's (or its delegate's) is refused,
    /// whatever it says.
    #[test]
    fn response_signed_by_the_wrong_key_is_refused() {
        let ca = Ca::root("Root");
        let impostor = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        for response in [
            ca.ocsp_response(leaf.der()).signed_by_ca(&impostor).build(),
            ca.ocsp_response(leaf.der()).signed_by_ca(&impostor).revoked(now()).build(),
        ] {
            refused(
                run(&ca, &leaf, response.der()),
                ErrorKind::RevocationUnknown,
                "does not verify",
            );
        }
        // One bit flipped in the signed data.
        let mut der = ca.ocsp_response(leaf.der()).build().der().to_vec();
        let at = der.len() / 2;
        der[at] ^= 0x01;
        assert!(run(&ca, &leaf, &der).is_err());
    }

    #[test]
    fn response_about_another_certificate_is_refused() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        let other = ca.leaf("other").build();
        for response in [
            ca.ocsp_response(leaf.der()).serial(&[0x7f, 0x01]).build(),
            ca.ocsp_response(other.der()).build(),
        ] {
            refused(run(&ca, &leaf, response.der()), ErrorKind::RevocationUnknown, "no status");
        }
        // The same serial under another issuer.
        let elsewhere = Ca::root("Elsewhere");
        let twin = elsewhere.leaf("client").serial(leaf.serial()).build();
        let response = elsewhere.ocsp_response(twin.der()).build();
        refused(run(&ca, &leaf, response.der()), ErrorKind::RevocationUnknown, "no status");
    }

    #[test]
    fn freshness_with_the_allowance() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        let response = |this: i64, next: Option<i64>| {
            ca.ocsp_response(leaf.der())
                .this_update(now().plus_secs(this))
                .next_update(next.map(|n| now().plus_secs(n)))
                .build()
        };
        // Past nextUpdate by more than the allowance: stale; within it: fresh.
        refused(
            run(&ca, &leaf, response(-7200, Some(-301)).der()),
            ErrorKind::RevocationStale,
            "past its next update",
        );
        assert!(run(&ca, &leaf, response(-7200, Some(-300)).der()).is_ok());
        // thisUpdate in the future beyond the allowance: stale; within it: fresh.
        refused(
            run(&ca, &leaf, response(301, Some(7200)).der()),
            ErrorKind::RevocationStale,
            "after the verification time",
        );
        assert!(run(&ca, &leaf, response(300, Some(7200)).der()).is_ok());
        // No nextUpdate: fresh for the maximum age (plus the allowance).
        assert!(run(&ca, &leaf, response(-3900, None).der()).is_ok());
        refused(
            run(&ca, &leaf, response(-3901, None).der()),
            ErrorKind::RevocationStale,
            "without next update",
        );
        // nextUpdate before thisUpdate.
        refused(
            run(&ca, &leaf, response(0, Some(-1)).der()),
            ErrorKind::RevocationUnknown,
            "before its this update",
        );
        // A stale response that says revoked still revokes.
        let stale_revoked = ca
            .ocsp_response(leaf.der())
            .revoked(now().plus_secs(-90_000))
            .this_update(now().plus_secs(-86_400))
            .next_update(Some(now().plus_secs(-3600)))
            .build();
        assert!(matches!(
            run(&ca, &leaf, stale_revoked.der()).unwrap().status,
            Status::Revoked { .. }
        ));
    }

    #[test]
    fn delegated_responder_needs_the_issuer_the_eku_and_validity() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        let responder = ca.leaf("OCSP Responder").eku(&[OCSP_SIGNING]).build();
        let answer = run(
            &ca,
            &leaf,
            ca.ocsp_response(leaf.der()).signed_by_responder(&responder).build().der(),
        );
        assert_eq!(
            answer.unwrap(),
            Answer {
                status: Status::Good,
                this_update: crate::testkit::pki::DEFAULT_NOT_BEFORE,
                next_update: Some(crate::testkit::pki::DEFAULT_NOT_AFTER),
                delegated: true
            }
        );

        let no_eku = ca.leaf("Not A Responder").build();
        let r = ca.ocsp_response(leaf.der()).signed_by_responder(&no_eku).revoked(now()).build();
        refused(
            run(&ca, &leaf, r.der()),
            ErrorKind::RevocationUnknown,
            "without id-kp-OCSPSigning",
        );

        // A responder of another CA with the same name as the issuer.
        let other = Ca::root("Root");
        let foreign = other.leaf("OCSP Responder").eku(&[OCSP_SIGNING]).build();
        let r = ca.ocsp_response(leaf.der()).signed_by_responder(&foreign).build();
        refused(run(&ca, &leaf, r.der()), ErrorKind::RevocationUnknown, "did not issue");

        let expired = ca
            .leaf("Old Responder")
            .eku(&[OCSP_SIGNING])
            .valid(
                Timestamp::from_utc(2020, 1, 1, 0, 0, 0).unwrap(),
                Timestamp::from_utc(2021, 1, 1, 0, 0, 0).unwrap(),
            )
            .build();
        let r = ca.ocsp_response(leaf.der()).signed_by_responder(&expired).build();
        refused(run(&ca, &leaf, r.der()), ErrorKind::RevocationUnknown, "not valid at");

        // A delegate of the issuer's issuer is no delegate of the issuer.
        let intermediate = ca.intermediate("Issuing");
        let below = intermediate.leaf("client").build();
        let root_responder = ca.leaf("Root Responder").eku(&[OCSP_SIGNING]).build();
        let r =
            intermediate.ocsp_response(below.der()).signed_by_responder(&root_responder).build();
        refused(run(&intermediate, &below, r.der()), ErrorKind::RevocationUnknown, "did not issue");
    }

    #[test]
    fn nonce_must_be_echoed_when_sent() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        let s = subject(&ca, &leaf);
        let go = |der: &[u8], nonce: &[u8]| {
            check(der, MAX, &s, crate::RING_ALGORITHMS, now(), FRESH, Some(nonce))
        };
        let echoed = ca.ocsp_response(leaf.der()).nonce(b"sixteen byte val").build();
        assert!(go(echoed.der(), b"sixteen byte val").is_ok());
        refused(
            go(echoed.der(), b"another nonce!!!"),
            ErrorKind::RevocationUnknown,
            "does not match",
        );
        let none = ca.ocsp_response(leaf.der()).build();
        refused(go(none.der(), b"sixteen byte val"), ErrorKind::RevocationUnknown, "no nonce");
        // Unasked, a nonce in the response is ignored.
        assert!(run(&ca, &leaf, echoed.der()).is_ok());
    }

    /// Error answers, truncated, padded, oversized and garbage input: typed errors, never
    /// a panic, and no response bytes in the message.
    #[test]
    fn malformed_responses_are_typed_errors() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client").build();
        for (status, name) in [
            (1, "malformedRequest"),
            (2, "internalError"),
            (3, "tryLater"),
            (5, "sigRequired"),
            (6, "unauthorized"),
        ] {
            let r = ca.ocsp_response(leaf.der()).error_status(status).build();
            refused(run(&ca, &leaf, r.der()), ErrorKind::RevocationUnknown, name);
        }
        let good = ca.ocsp_response(leaf.der()).build();
        let der = good.der();
        for len in 0..der.len() {
            let e = run(&ca, &leaf, &der[..len]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "prefix of {len}: {e}");
        }
        let mut padded = der.to_vec();
        padded.push(0);
        assert_eq!(run(&ca, &leaf, &padded).unwrap_err().kind(), ErrorKind::MalformedInput);
        let e = check(
            der,
            der.len() - 1,
            &subject(&ca, &leaf),
            crate::RING_ALGORITHMS,
            now(),
            FRESH,
            None,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
        for garbage in [
            &b"<html>not ocsp</html>"[..],
            &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x30, 0x03, 0x0a, 0x01, 0x00],
        ] {
            let e = run(&ca, &leaf, garbage).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{e}");
            assert!(!e.message().contains("html"), "{e}");
        }
        // Every single-byte corruption of a good response is refused or still good; it
        // never panics and never turns into a revocation.
        for i in 0..der.len() {
            let mut bad = der.to_vec();
            bad[i] ^= 0x80;
            if let Ok(answer) = run(&ca, &leaf, &bad) {
                assert_eq!(answer.status, Status::Good, "byte {i}");
            }
        }
    }
}
