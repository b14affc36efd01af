//! The crate's one DER reader: TLV framing under DER's rules, and the few certificate
//! fields the hot paths read without a full parse.
//!
//! Framing is the `der` crate's: a definite length of at most four bytes in its minimal
//! form (X.690 10.1), so an indefinite or non-minimal length is refused everywhere. Every
//! function here returns a short reason for the caller's typed error on input it cannot
//! read, and never panics.

use der::{Decode as _, Header, Reader as _, SliceReader};

use crate::error::{Error, ErrorKind, Result};
use crate::time::Timestamp;

/// Why a DER structure could not be read: a short predicate such as `"is truncated"`,
/// for a message like `"certificate der is truncated"`.
pub(crate) type Reason = &'static str;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
/// `[0] EXPLICIT Version` of a TBSCertificate.
const VERSION: u8 = 0xa0;
/// `[3] EXPLICIT Extensions` of a TBSCertificate.
const EXTENSIONS: u8 = 0xa3;

/// One TLV: its first tag byte, its whole encoding and its content.
#[derive(Clone, Copy, Debug)]
struct Tlv<'a> {
    tag: u8,
    whole: &'a [u8],
    content: &'a [u8],
}

/// Reads the TLV at the start of `input`, returning it and the bytes after it.
fn read(input: &[u8]) -> std::result::Result<(Tlv<'_>, &[u8]), Reason> {
    let &tag = input.first().ok_or("is empty")?;
    let mut reader = SliceReader::new(input).map_err(|_| "is too long")?;
    let header = Header::decode(&mut reader).map_err(|e| reason(input, &e))?;
    let content = reader.read_slice(header.length()).map_err(|e| reason(input, &e))?;
    let end = usize::try_from(reader.position()).map_err(|_| "is too long")?;
    let (whole, rest) = input.split_at_checked(end).ok_or("is truncated")?;
    Ok((Tlv { tag, whole, content }, rest))
}

/// A reason for a `der` error at the start of `input`.
fn reason(input: &[u8], e: &der::Error) -> Reason {
    match e.kind() {
        // A length past the end of the input, or past the largest input `der` can hold.
        der::ErrorKind::Incomplete { .. } | der::ErrorKind::Overflow => "is truncated",
        der::ErrorKind::IndefiniteLength => "has an unsupported length encoding",
        der::ErrorKind::Length { .. } | der::ErrorKind::Overlength => {
            // The length octet after a one-byte tag: 0x85 and above announce more than four
            // length bytes, which no input within certauth's limits needs.
            match input.get(1) {
                Some(&first) if first > 0x84 => "has an unsupported length encoding",
                _ => "has a non-minimal length",
            }
        }
        der::ErrorKind::TagUnknown { .. } | der::ErrorKind::TagNumberInvalid => {
            "has an invalid tag"
        }
        _ => "is malformed",
    }
}

/// The content of the TLV at the start of `input` if its tag is `tag`; bytes after it
/// are ignored.
pub(crate) fn content_of(input: &[u8], tag: u8) -> std::result::Result<&[u8], Reason> {
    let (tlv, _) = read(input)?;
    if tlv.tag != tag {
        return Err("has an unexpected tag");
    }
    Ok(tlv.content)
}

/// Total encoded length (header + content) of the DER `SEQUENCE` at the start of `b`.
pub(crate) fn sequence_len(b: &[u8]) -> std::result::Result<usize, Reason> {
    match b.first() {
        Some(&SEQUENCE) => {}
        Some(_) => return Err("does not start with a sequence"),
        None => return Err("is empty"),
    }
    Ok(read(b)?.0.whole.len())
}

/// A cursor over consecutive TLVs.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn next(&mut self) -> std::result::Result<Tlv<'a>, Reason> {
        let (tlv, rest) = read(self.rest)?;
        self.rest = rest;
        Ok(tlv)
    }

    /// The next TLV's content, which must have tag `tag`.
    fn expect(&mut self, tag: u8) -> std::result::Result<&'a [u8], Reason> {
        let tlv = self.next()?;
        if tlv.tag != tag {
            return Err("has an unexpected tag");
        }
        Ok(tlv.content)
    }

    fn skip(&mut self, n: usize) -> std::result::Result<(), Reason> {
        for _ in 0..n {
            self.next()?;
        }
        Ok(())
    }

    fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }
}

/// The fields of a certificate's TBSCertificate after the optional version: serial,
/// signature algorithm, issuer, validity, subject, subject public key info, then the
/// optional unique identifiers and extensions.
fn tbs_fields(cert_der: &[u8]) -> std::result::Result<Fields<'_>, Reason> {
    let cert = content_of(cert_der, SEQUENCE)?;
    let mut tbs = Fields { rest: content_of(cert, SEQUENCE)? };
    if tbs.peek_tag() == Some(VERSION) {
        tbs.skip(1)?;
    }
    Ok(tbs)
}

/// The DER `SubjectPublicKeyInfo` of a certificate, found by walking the TBS fields
/// without parsing the rest: the verifier's key policy needs only this, on every request.
pub(crate) fn spki_of(cert_der: &[u8]) -> std::result::Result<&[u8], Reason> {
    let mut tbs = tbs_fields(cert_der)?;
    // serial, signature algorithm, issuer, validity, subject
    tbs.skip(5)?;
    let spki = tbs.next()?;
    if spki.tag != SEQUENCE {
        return Err("has an unexpected tag");
    }
    Ok(spki.whole)
}

/// What [`names_of`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CertNames<'a> {
    /// The issuer `Name`'s content, as webpki compares names.
    pub(crate) issuer: &'a [u8],
    /// The subject `Name`'s content.
    pub(crate) subject: &'a [u8],
    /// The whole DER `SubjectPublicKeyInfo`.
    pub(crate) spki: &'a [u8],
}

/// The raw issuer and subject names (the contents of each `Name` SEQUENCE, as webpki
/// compares them) and the DER `SubjectPublicKeyInfo` of a certificate, read by walking
/// the TBS fields without parsing the rest: path-candidate selection needs only these.
pub(crate) fn names_of(cert_der: &[u8]) -> std::result::Result<CertNames<'_>, Reason> {
    let mut tbs = tbs_fields(cert_der)?;
    tbs.skip(2)?; // serial, signature algorithm
    let issuer = tbs.expect(SEQUENCE)?;
    tbs.skip(1)?; // validity
    let subject = tbs.expect(SEQUENCE)?;
    let spki = tbs.next()?;
    if spki.tag != SEQUENCE {
        return Err("has an unexpected tag");
    }
    Ok(CertNames { issuer, subject, spki: spki.whole })
}

/// notBefore and notAfter of a DER certificate, read without parsing the rest.
pub(crate) fn validity_of(cert_der: &[u8]) -> std::result::Result<(Timestamp, Timestamp), Reason> {
    let mut tbs = tbs_fields(cert_der)?;
    tbs.skip(3)?; // serial, signature algorithm, issuer
    let validity = tbs.next()?;
    let v = x509_cert::time::Validity::<x509_cert::certificate::Rfc5280>::from_der(validity.whole)
        .map_err(|_| "has an invalid validity")?;
    let ts = |t: &x509_cert::time::Time| {
        Timestamp::from_unix_secs(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX))
    };
    Ok((ts(&v.not_before), ts(&v.not_after)))
}

/// notBefore and notAfter of a DER certificate, as [`validity_of`] reads them; a
/// certificate whose validity cannot be read is `invalid_certificate`, never left out of
/// a computation such as a verified chain's window.
pub(crate) fn checked_validity_of(cert_der: &[u8]) -> Result<(Timestamp, Timestamp)> {
    validity_of(cert_der).map_err(|_| {
        Error::new(ErrorKind::InvalidCertificate, "the validity of a certificate cannot be read")
    })
}

/// The value (the OCTET STRING's content) of the extension `oid` (DER-encoded OID
/// content bytes) of a certificate, found without parsing the rest: `Ok(None)` when the
/// certificate does not have it, `Err` when the TBS structure cannot be walked.
pub(crate) fn extension_of<'a>(
    cert_der: &'a [u8],
    oid: &[u8],
) -> std::result::Result<Option<&'a [u8]>, Reason> {
    let mut tbs = tbs_fields(cert_der)?;
    // serial, signature algorithm, issuer, validity, subject, subject public key info
    tbs.skip(6)?;
    while !tbs.is_empty() {
        let field = tbs.next()?;
        if field.tag != EXTENSIONS {
            continue; // issuerUniqueID, subjectUniqueID
        }
        let mut exts = Fields { rest: content_of(field.content, SEQUENCE)? };
        while !exts.is_empty() {
            let mut ext = Fields { rest: exts.expect(SEQUENCE)? };
            let ext_oid = ext.expect(OID)?;
            if ext.peek_tag() == Some(BOOLEAN) {
                ext.skip(1)?; // critical
            }
            if ext_oid == oid {
                return ext.expect(OCTET_STRING).map(Some);
            }
        }
        return Ok(None);
    }
    Ok(None)
}

/// The three parts of a signed DER structure (a certificate or a CRL): the whole
/// to-be-signed TLV (what the signature covers), the content of the signature's
/// AlgorithmIdentifier, and the signature bits (a BIT STRING with no unused bits).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SignedParts<'a> {
    pub(crate) tbs: &'a [u8],
    pub(crate) algorithm: &'a [u8],
    pub(crate) signature: &'a [u8],
}

/// Splits a signed DER structure into its [`SignedParts`].
pub(crate) fn signed_parts(der: &[u8]) -> std::result::Result<SignedParts<'_>, Reason> {
    split_signed(der, false)
}

/// Splits a signed DER structure that may end with a `[0] EXPLICIT` list of certificates
/// (an OCSP `BasicOCSPResponse`) into its [`SignedParts`]; the certificates are left to
/// the caller's parser.
#[cfg_attr(not(feature = "ocsp"), allow(dead_code))]
pub(crate) fn signed_parts_with_certs(der: &[u8]) -> std::result::Result<SignedParts<'_>, Reason> {
    split_signed(der, true)
}

/// `SEQUENCE { tbs SEQUENCE, algorithm SEQUENCE, signature BIT STRING [, certs [0]] }`,
/// the trailing `[0]` allowed only when `certs` says so.
fn split_signed(der: &[u8], certs: bool) -> std::result::Result<SignedParts<'_>, Reason> {
    let mut fields = Fields { rest: content_of(der, SEQUENCE)? };
    let tbs = fields.next()?;
    if tbs.tag != SEQUENCE {
        return Err("has an unexpected tag");
    }
    let algorithm = fields.expect(SEQUENCE)?;
    let signature = no_unused_bits(fields.expect(BIT_STRING)?)?;
    if certs && !fields.is_empty() {
        fields.expect(0xa0)?;
    }
    if !fields.is_empty() {
        return Err("has trailing data");
    }
    Ok(SignedParts { tbs: tbs.whole, algorithm, signature })
}

/// The content of a `SubjectPublicKeyInfo` (without its SEQUENCE header, as webpki
/// takes it) split into the AlgorithmIdentifier's content and the key bits.
pub(crate) fn spki_parts(spki_content: &[u8]) -> std::result::Result<(&[u8], &[u8]), Reason> {
    let mut fields = Fields { rest: spki_content };
    let algorithm = fields.expect(SEQUENCE)?;
    let key = no_unused_bits(fields.expect(BIT_STRING)?)?;
    if !fields.is_empty() {
        return Err("has trailing data");
    }
    Ok((algorithm, key))
}

/// The bits of a BIT STRING's content whose unused-bits count is zero.
fn no_unused_bits(bits: &[u8]) -> std::result::Result<&[u8], Reason> {
    match bits.split_first() {
        Some((0, bits)) => Ok(bits),
        _ => Err("has an invalid bit string"),
    }
}

/// DER content bytes of id-ce-keyUsage (2.5.29.15).
const KEY_USAGE_OID: &[u8] = &[0x55, 0x1d, 0x0f];

/// The key usage bits of a DER certificate (bit 0 is digitalSignature), read without
/// parsing the rest: `Ok(None)` when the certificate has no key usage extension, `Err`
/// when it or the TBS structure cannot be read.
pub(crate) fn key_usage_of(cert_der: &[u8]) -> std::result::Result<Option<u16>, Reason> {
    let Some(value) = extension_of(cert_der, KEY_USAGE_OID)? else { return Ok(None) };
    let mut fields = Fields { rest: value };
    let bits = fields.expect(BIT_STRING)?;
    if !fields.is_empty() {
        return Err("has trailing data");
    }
    let (&unused, bytes) = bits.split_first().ok_or("has an empty bit string")?;
    if unused > 7 || (bytes.is_empty() && unused != 0) {
        return Err("has an invalid bit string");
    }
    // Bit 0 (digitalSignature) is the most significant bit of the first byte.
    Ok(Some(
        (0..9u16)
            .filter(|i| bytes.get(usize::from(i / 8)).is_some_and(|b| b & (0x80 >> (i % 8)) != 0))
            .fold(0u16, |acc, i| acc | (1 << i)),
    ))
}

/// Whether a DER `SEQUENCE OF OBJECT IDENTIFIER` (an EKU extension value) lists `oid`.
pub(crate) fn oid_list_contains(seq: &[u8], oid: &[u8]) -> std::result::Result<bool, Reason> {
    let mut items = Fields { rest: content_of(seq, SEQUENCE)? };
    while !items.is_empty() {
        if items.expect(OID)? == oid {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The content of the first INTEGER of `input`: an RSA public key's modulus (after its
/// SEQUENCE is opened) or a DSA key's prime `p`.
pub(crate) fn first_integer(input: &[u8]) -> std::result::Result<&[u8], Reason> {
    content_of(input, INTEGER)
}

/// The content of the SEQUENCE at the start of `input`.
pub(crate) fn sequence_content(input: &[u8]) -> std::result::Result<&[u8], Reason> {
    content_of(input, SEQUENCE)
}

/// The serial number of a DER certificate: the INTEGER's content bytes as encoded, which
/// is how webpki compares it with a CRL entry.
pub(crate) fn serial_of(cert_der: &[u8]) -> std::result::Result<&[u8], Reason> {
    tbs_fields(cert_der)?.expect(INTEGER)
}

/// DER content bytes of id-ce-cRLDistributionPoints (2.5.29.31).
const CRL_DISTRIBUTION_POINTS_OID: &[u8] = &[0x55, 0x1d, 0x1f];

/// The uniformResourceIdentifier full names of a certificate's CRL distribution points,
/// in order, into `out` (those past its length are left out), skipping distribution
/// points with reasons or a cRLIssuer (a partitioned or indirect CRL) and names relative
/// to an issuer: how many were written. `Ok(0)` when the certificate has no such
/// extension; `Err` when the certificate or the extension cannot be read. Borrows, never
/// allocates.
pub(crate) fn crl_distribution_uris<'a>(
    cert_der: &'a [u8],
    out: &mut [&'a [u8]],
) -> std::result::Result<usize, Reason> {
    let Some(value) = extension_of(cert_der, CRL_DISTRIBUTION_POINTS_OID)? else { return Ok(0) };
    let mut points = Fields { rest: content_of(value, SEQUENCE)? };
    let mut n = 0;
    while !points.is_empty() {
        let mut point = Fields { rest: points.expect(SEQUENCE)? };
        let (mut name, mut restricted) = (None, false);
        while !point.is_empty() {
            let field = point.next()?;
            match field.tag {
                // distributionPoint [0], explicit (it wraps a CHOICE)
                0xa0 => name = Some(field.content),
                // reasons [1] (a BIT STRING), cRLIssuer [2]
                0x81 | 0xa1 | 0xa2 => restricted = true,
                _ => return Err("has an unexpected tag"),
            }
        }
        let Some(name) = name.filter(|_| !restricted) else { continue };
        // fullName [0] GeneralNames; nameRelativeToCRLIssuer [1] is skipped.
        let (choice, _) = read(name)?;
        if choice.tag != 0xa0 {
            continue;
        }
        let mut names = Fields { rest: choice.content };
        while !names.is_empty() {
            let general = names.next()?;
            // uniformResourceIdentifier [6] IA5String
            if general.tag == 0x86
                && let Some(slot) = out.get_mut(n)
            {
                *slot = general.content;
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::Certificate;

    const LEAF_EC: &[u8] = include_bytes!("../tests/data/pki/leaf-ec.der");
    const LEAF_RSA: &[u8] = include_bytes!("../tests/data/pki/leaf-rsa.der");
    const INTERMEDIATE: &[u8] = include_bytes!("../tests/data/pki/intermediate.der");
    const ROOT: &[u8] = include_bytes!("../tests/data/pki/root.der");
    const ALL: [&[u8]; 4] = [LEAF_EC, LEAF_RSA, INTERMEDIATE, ROOT];

    /// EKU: 2.5.29.37; clientAuth 1.3.6.1.5.5.7.3.2.
    const EKU_OID: [u8; 3] = [0x55, 0x1d, 0x25];
    const CLIENT_AUTH: [u8; 8] = [0x2b, 6, 1, 5, 5, 7, 3, 2];

    #[test]
    fn walks_match_the_full_parse() {
        for der in ALL {
            let full = Certificate::from_der(der).unwrap();
            let spki = spki_of(der).unwrap();
            assert_eq!(spki, full.spki_der());
            assert_eq!(validity_of(der), Ok((full.not_before(), full.not_after())));
            assert_eq!(checked_validity_of(der).unwrap(), (full.not_before(), full.not_after()));
            assert_eq!(key_usage_of(der).map(|k| k.map(|b| b & (1 << 5) != 0)), {
                Ok(full.key_usage().map(|k| k.key_cert_sign()))
            });
            let names = names_of(der).unwrap();
            assert_eq!(names.spki, spki);
            assert_eq!(Ok(names.subject), sequence_content(full.subject().der()));
            assert_eq!(Ok(names.issuer), sequence_content(full.issuer().der()));
        }
        let eku = extension_of(LEAF_EC, &EKU_OID).unwrap().unwrap();
        assert_eq!(oid_list_contains(eku, &CLIENT_AUTH), Ok(true));
        assert_eq!(oid_list_contains(eku, &[0x2b, 6, 1, 5, 5, 7, 3, 1]), Ok(false));
        assert_eq!(extension_of(ROOT, &EKU_OID), Ok(None));
        assert!(key_usage_of(INTERMEDIATE).unwrap().is_some_and(|b| b & (1 << 5) != 0));
    }

    /// Every walk refuses every proper prefix of a certificate with a reason, and never
    /// reads a field past the end.
    #[test]
    fn each_walk_refuses_truncated_input() {
        for der in ALL {
            for end in 0..der.len() {
                let cut = &der[..end];
                assert!(spki_of(cut).is_err(), "spki_of at {end}");
                assert!(names_of(cut).is_err(), "names_of at {end}");
                assert!(validity_of(cut).is_err(), "validity_of at {end}");
                assert_eq!(
                    checked_validity_of(cut).unwrap_err().kind(),
                    ErrorKind::InvalidCertificate
                );
                assert!(extension_of(cut, &EKU_OID).is_err(), "extension_of at {end}");
                assert!(key_usage_of(cut).is_err(), "key_usage_of at {end}");
                assert!(sequence_len(cut).is_err(), "sequence_len at {end}");
            }
        }
        let eku = extension_of(LEAF_EC, &EKU_OID).unwrap().unwrap();
        for end in 0..eku.len() {
            assert!(oid_list_contains(&eku[..end], &[0xff]).is_err(), "oid list at {end}");
        }
        assert_eq!(first_integer(&[0x02, 0x03, 0x01]), Err("is truncated"));
        assert_eq!(sequence_content(&[]), Err("is empty"));
    }

    /// DER allows one encoding of each length; a longer one (BER) is refused by every
    /// reader, at the outer level and deep inside a certificate.
    #[test]
    fn non_minimal_lengths_are_refused() {
        for input in [&[0x30, 0x81, 0x05][..], &[0x30, 0x82, 0x00, 0x90], &[0x30, 0x81, 0x00]] {
            assert_eq!(sequence_len(input), Err("has a non-minimal length"), "{input:?}");
            assert_eq!(sequence_content(input), Err("has a non-minimal length"), "{input:?}");
        }
        assert_eq!(first_integer(&[0x02, 0x81, 0x01, 0x05]), Err("has a non-minimal length"));
        assert_eq!(sequence_len(&[0x30, 0x80, 0, 0]), Err("has an unsupported length encoding"));
        assert_eq!(
            sequence_len(&[0x30, 0x85, 1, 1, 1, 1, 1]),
            Err("has an unsupported length encoding")
        );

        // Re-encode the serial number's length (short form) in long form, fixing up the
        // lengths of the enclosing TBS and certificate.
        let reencoded = with_long_form_serial_length(LEAF_EC);
        assert_eq!(sequence_len(&reencoded), Ok(reencoded.len()));
        for result in [
            spki_of(&reencoded).map(|_| ()),
            names_of(&reencoded).map(|_| ()),
            validity_of(&reencoded).map(|_| ()),
            extension_of(&reencoded, &EKU_OID).map(|_| ()),
            key_usage_of(&reencoded).map(|_| ()),
        ] {
            assert_eq!(result, Err("has a non-minimal length"));
        }
        assert!(Certificate::from_der(&reencoded).is_err());
    }

    /// `cert` with its serial's one-byte length written as `0x81 len`; both outer lengths
    /// are long form already in the test certificates and grow by one.
    fn with_long_form_serial_length(cert: &[u8]) -> Vec<u8> {
        let (outer, tbs) = (&cert[..4], &cert[4..]);
        assert_eq!((outer[0], outer[1], tbs[0], tbs[1]), (0x30, 0x82, 0x30, 0x82));
        let mut tbs = tbs.to_vec();
        let version_len = usize::from(tbs[5]) + 2;
        let serial = 4 + version_len;
        assert_eq!(tbs[serial], 0x02);
        tbs.insert(serial + 1, 0x81);
        let tbs_len = u16::from_be_bytes([tbs[2], tbs[3]]) + 1;
        tbs[2..4].copy_from_slice(&tbs_len.to_be_bytes());
        let mut out = vec![0x30, 0x82];
        out.extend_from_slice(&(u16::from_be_bytes([outer[2], outer[3]]) + 1).to_be_bytes());
        out.extend_from_slice(&tbs);
        out
    }

    /// A certificate whose validity cannot be read has no notAfter to bound anything
    /// with: an error, not a value to skip.
    #[test]
    fn unreadable_validity_is_an_error() {
        let mut bad = LEAF_EC.to_vec();
        // The validity's notBefore UTCTime: seconds "99".
        let i = bad.windows(2).position(|w| w == [0x17, 0x0d]).unwrap();
        bad[i + 2 + 10..i + 2 + 12].copy_from_slice(b"99");
        assert_eq!(validity_of(&bad), Err("has an invalid validity"));
        for unreadable in [&bad[..], &LEAF_EC[..60], b""] {
            let e = checked_validity_of(unreadable).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidCertificate);
            assert!(e.message().contains("validity"), "{e}");
        }
    }
}
