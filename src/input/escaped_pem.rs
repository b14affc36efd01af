//! PEM as proxies put it into one header line: URL-escaped (nginx
//! `$ssl_client_escaped_cert`, Envoy XFCC `Cert`/`Chain`, AWS ALB, CloudFront, Azure
//! Application Gateway, Kong, old Traefik), folded with LF + TAB (nginx `$ssl_client_cert`),
//! joined with spaces (Apache) or without any separator (HAProxy and IBM one-line recipes).
//!
//! All of them reduce to one shape once every SP, HTAB, CR and LF is dropped (and, for the
//! escaped forms, every `%XX` decoded): `-----BEGINCERTIFICATE-----<base64>-----ENDCERTIFICATE-----`,
//! repeated for a chain. [`normalize`] produces that shape in one pass and [`parse_compact`]
//! reads it, so the per-request cost is one copy plus the base64 decode.
//!
//! Percent-decoding is strict: only `%XX` is decoded and `+` stays `+` (AWS leaves `+`
//! unescaped in the base64; form-decoding it into a space would corrupt the certificate).
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use rustls_pki_types::CertificateDer;

use crate::error::{Error, ErrorKind, Result};
use crate::input::{Limits, base64};

const BEGIN: &[u8] = b"-----BEGIN";
const BEGIN_CERT: &[u8] = b"-----BEGINCERTIFICATE-----";
const END_CERT: &[u8] = b"-----ENDCERTIFICATE-----";

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Appends `input` to `out` without whitespace, decoding `%XX` when `percent` is set
/// (decoded whitespace is dropped too). A `%` not followed by two hex digits is an error;
/// `base` is the offset of `input` in the header value, for the message.
///
/// Raw CR never reaches this function (header values with CR are refused first), and raw LF
/// only in the plain (folded) form; a stray one is left in and fails the base64 decode.
pub(crate) fn normalize(input: &[u8], percent: bool, base: usize, out: &mut Vec<u8>) -> Result<()> {
    // Bytes that end a run that can be copied as is: whitespace, and `%` when decoding.
    let next_special = |r: &[u8]| {
        if percent {
            memchr::memchr3(b'%', b' ', b'\t', r)
        } else {
            memchr::memchr3(b' ', b'\t', b'\n', r)
        }
    };
    out.reserve(input.len());
    let mut rest = input;
    loop {
        let Some(at) = next_special(rest) else {
            out.extend_from_slice(rest);
            return Ok(());
        };
        let (run, tail) = rest.split_at_checked(at).unwrap_or((rest, &[]));
        out.extend_from_slice(run);
        match tail {
            [b'%', hi, lo, after @ ..] if percent => {
                let (Some(hi), Some(lo)) = (crate::hex::digit(*hi), crate::hex::digit(*lo)) else {
                    return Err(bad_escape(input, tail, base));
                };
                let byte = (hi << 4) | lo;
                if !is_ws(byte) {
                    out.push(byte);
                }
                rest = after;
            }
            [b'%', ..] if percent => return Err(bad_escape(input, tail, base)),
            [_, after @ ..] => rest = after,
            [] => return Ok(()),
        }
    }
}

fn bad_escape(input: &[u8], tail: &[u8], base: usize) -> Error {
    Error::malformed(format!(
        "invalid percent escape at offset {}",
        base + input.len() - tail.len()
    ))
}

/// Reads normalized PEM (see the module docs): one or more certificate blocks and nothing
/// else. An empty block alone (`-----BEGIN CERTIFICATE----------END CERTIFICATE-----`,
/// HAProxy's recipe without a certificate) is `no_certificate`; a private key block is
/// `private_key_supplied`; anything else that is not a certificate block is malformed.
pub(crate) fn parse_compact(norm: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    if norm.is_empty() {
        return Err(Error::no_certificate("empty value"));
    }
    let mut certs = Vec::new();
    let mut rest = norm;
    while !rest.is_empty() {
        let n = certs.len() + 1;
        let Some(body_and_rest) = rest.strip_prefix(BEGIN_CERT) else {
            return Err(not_a_certificate_block(rest, n));
        };
        // memchr: the body is scanned in full, so a byte-at-a-time search costs a large
        // share of an nginx-escaped decode (BENCHMARKS.md).
        let end = memchr::memchr(b'-', body_and_rest)
            .ok_or_else(|| Error::malformed(format!("pem certificate {n} has no end line")))?;
        let (body, after) = body_and_rest.split_at_checked(end).unwrap_or((body_and_rest, &[]));
        rest = after.strip_prefix(END_CERT).ok_or_else(|| {
            Error::malformed(format!("pem certificate {n} does not end with an end line"))
        })?;
        if body.is_empty() {
            if certs.is_empty() && rest.is_empty() {
                return Err(Error::no_certificate("empty pem certificate block"));
            }
            return Err(Error::malformed(format!("pem certificate {n} is empty")));
        }
        limits.check_chain(n)?;
        let der = base64::decode(body, "pem certificate body")?;
        certs.push(CertificateDer::from(der));
    }
    Ok(certs)
}

fn not_a_certificate_block(rest: &[u8], n: usize) -> Error {
    if let Some(label) = rest.strip_prefix(BEGIN) {
        let label = label.split(|&b| b == b'-').next().unwrap_or_default();
        if label.windows(10).any(|w| w == b"PRIVATEKEY") {
            return Error::new(
                ErrorKind::PrivateKeySupplied,
                "the header contains a private key; only certificates are accepted, \
                 and the key should be treated as exposed",
            );
        }
        return Error::malformed(format!("pem block {n} is not a certificate"));
    }
    Error::malformed(format!("expected pem certificate {n} (a begin line)"))
}

/// URL-escaped PEM (one certificate or a chain) to DER certificates.
pub(crate) fn decode_escaped(
    value: &[u8],
    limits: &Limits,
) -> Result<Vec<CertificateDer<'static>>> {
    let mut norm = Vec::new();
    normalize(value, true, 0, &mut norm)?;
    parse_compact(&norm, limits)
}

/// PEM with any whitespace or none (folded, space-joined, one line) to DER certificates.
pub(crate) fn decode_plain(value: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    let mut norm = Vec::new();
    normalize(value, false, 0, &mut norm)?;
    parse_compact(&norm, limits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const LEAF_PEM: &str = include_str!("../../tests/data/pki/leaf-ec.pem");
    const LEAF_DER: &[u8] = include_bytes!("../../tests/data/pki/leaf-ec.der");
    const CHAIN_PEM: &str = include_str!("../../tests/data/pki/leaf-ec-chain.pem");

    fn escape(pem: &str) -> String {
        pem.replace('\n', "%0A")
            .replace(' ', "%20")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    }

    #[test]
    fn escaped_leaf_and_chain() {
        let l = Limits::default();
        assert_eq!(decode_escaped(escape(LEAF_PEM).as_bytes(), &l).unwrap()[0].as_ref(), LEAF_DER);
        assert_eq!(decode_escaped(escape(CHAIN_PEM).as_bytes(), &l).unwrap().len(), 2);
        // `+` stays `+` (AWS ALB leaves `+=/` unescaped), lowercase hex is accepted.
        let alb = escape(LEAF_PEM).replace("%2B", "+").replace("%3D", "=").replace("%2F", "%2f");
        assert_eq!(decode_escaped(alb.as_bytes(), &l).unwrap()[0].as_ref(), LEAF_DER);
    }

    #[test]
    fn folded_spaced_and_one_line() {
        let l = Limits::default();
        let folded = LEAF_PEM.trim_end().replace('\n', "\n\t");
        let spaced = LEAF_PEM.replace('\n', " ");
        let one_line = format!(
            "-----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----",
            LEAF_PEM.lines().filter(|l| !l.starts_with("-----")).collect::<String>()
        );
        for v in [folded, spaced, one_line] {
            assert_eq!(decode_plain(v.as_bytes(), &l).unwrap()[0].as_ref(), LEAF_DER, "{v}");
        }
    }

    #[test]
    fn bad_escapes_name_offsets() {
        let e = decode_escaped(b"-----BEGIN%2", &Limits::default()).unwrap_err();
        assert_eq!(e.message(), "invalid percent escape at offset 10");
        let e = decode_escaped(b"%zz", &Limits::default()).unwrap_err();
        assert_eq!(e.message(), "invalid percent escape at offset 0");
    }

    #[test]
    fn sentinels_keys_and_junk() {
        let l = Limits::default();
        let empty = b"-----BEGIN CERTIFICATE----------END CERTIFICATE-----";
        assert_eq!(decode_plain(empty, &l).unwrap_err().kind(), ErrorKind::NoCertificate);
        let key = b"-----BEGIN PRIVATE KEY-----MC4CAQA-----END PRIVATE KEY-----";
        assert_eq!(decode_plain(key, &l).unwrap_err().kind(), ErrorKind::PrivateKeySupplied);
        for junk in [
            &b"x-----BEGIN CERTIFICATE-----"[..],
            b"-----BEGIN CERTIFICATE-----AAAA",
            b"-----BEGIN CRL-----AA-----END CRL-----",
        ] {
            assert_eq!(decode_plain(junk, &l).unwrap_err().kind(), ErrorKind::MalformedInput);
        }
    }
}
