//! PEM: strict RFC 7468 bundles, and the lenient forms proxies and gateways send.
//!
//! Both modes return the certificates in input order, skip blocks with other labels
//! (CRLs, public keys, parameters) and refuse input that carries a private key, without
//! ever echoing it.

use rustls_pki_types::CertificateDer;

use crate::error::{Error, ErrorKind, Result};
use crate::input::{Limits, base64};

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";
const CERTIFICATE: &[u8] = b"CERTIFICATE";

/// Strict RFC 7468 parsing of a PEM bundle (the textual encoding of section 3: lines of
/// at most 64 base64 characters, LF or CRLF line ends). Text between blocks is ignored,
/// as RFC 7468 section 5.2 allows.
///
/// Errors: `private_key_supplied` if any block is a private key (checked before anything
/// is decoded), `malformed_input` for a block that is not strict PEM, `no_certificate` if
/// there is no `CERTIFICATE` block, `input_too_large` beyond [`Limits::max_chain_len`]
/// certificates. The caller bounds the input size.
pub fn parse_strict(input: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    let certs = decode_strict_labelled(input, CERTIFICATE, |n| limits.check_chain(n))?;
    if certs.is_empty() {
        return Err(Error::no_certificate("no certificate block in the pem input"));
    }
    Ok(certs.into_iter().map(CertificateDer::from).collect())
}

/// The DER of every strict RFC 7468 block labelled `label` (e.g. `b"X509 CRL"`), in
/// input order; blocks with other labels are skipped, text between blocks is ignored.
/// `check_count(n)` runs before the `n`th such block is decoded and bounds their number.
///
/// Errors as for [`parse_strict`], except that input without a block of this label gives
/// an empty list, and input with no PEM block at all is `no_certificate`.
pub(crate) fn decode_strict_labelled(
    input: &[u8],
    label: &[u8],
    mut check_count: impl FnMut(usize) -> Result<()>,
) -> Result<Vec<Vec<u8>>> {
    let blocks = blocks(input)?;
    refuse_private_keys(&blocks)?;
    let mut out = Vec::new();
    for block in blocks.iter().filter(|b| b.label == label) {
        check_count(out.len() + 1)?;
        let (_, der) = pem_rfc7468::decode_vec(block.whole).map_err(|e| {
            Error::malformed(format!("pem block at offset {}: {}", block.start, describe(e)))
        })?;
        out.push(der);
    }
    Ok(out)
}

/// Lenient PEM, for what proxies and gateways really send: the armour lines must be
/// there, but between and around them any amount of SP, HTAB, CR and LF is accepted,
/// including none at all. This covers the one-line form (IBM API Connect, HAProxy
/// recipes: `-----BEGIN CERTIFICATE-----MIIC...-----END CERTIFICATE-----`), lines joined
/// by spaces (Apache), LF + TAB folding (nginx `$ssl_client_cert`), CRLF and LF.
///
/// Anything other than whitespace outside the blocks is refused: a header value has no
/// room for explanatory text. Errors as for [`parse_strict`].
pub fn parse_lenient(input: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    let blocks = blocks(input)?;
    refuse_private_keys(&blocks)?;
    let mut outside = 0;
    let mut certs = Vec::new();
    for block in &blocks {
        if let Some(i) = input.get(outside..block.start).and_then(first_non_ws) {
            return Err(Error::malformed(format!(
                "unexpected text outside pem blocks at offset {}",
                outside + i
            )));
        }
        outside = block.start + block.whole.len();
        if block.label != CERTIFICATE {
            continue;
        }
        limits.check_chain(certs.len() + 1)?;
        certs.push(CertificateDer::from(base64::decode_skipping_ws(
            block.body,
            "pem certificate body",
            block.body_start,
        )?));
    }
    if let Some(i) = input.get(outside..).and_then(first_non_ws) {
        return Err(Error::malformed(format!(
            "unexpected text outside pem blocks at offset {}",
            outside + i
        )));
    }
    if certs.is_empty() {
        return Err(Error::no_certificate("no certificate block in the pem input"));
    }
    Ok(certs)
}

/// True if `input` contains a PEM pre-encapsulation boundary.
pub(crate) fn contains_armour(input: &[u8]) -> bool {
    find(input, BEGIN, 0).is_some()
}

/// One `-----BEGIN L----- ... -----END L-----` block, located in the input.
struct Block<'a> {
    label: &'a [u8],
    /// From the first `-` of BEGIN through the last `-` of END, plus one line ending.
    whole: &'a [u8],
    start: usize,
    /// Between the BEGIN and END lines.
    body: &'a [u8],
    body_start: usize,
}

/// Finds every block. Linear in the input: each byte is scanned a bounded number of times.
fn blocks(input: &[u8]) -> Result<Vec<Block<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(start) = find(input, BEGIN, pos) {
        let label_start = start + BEGIN.len();
        let label_end = find(input, DASHES, label_start)
            .ok_or_else(|| Error::malformed(format!("unterminated pem label at offset {start}")))?;
        let label = input.get(label_start..label_end).unwrap_or_default();
        if label.is_empty() || label.len() > 64 || !label.iter().all(|c| is_label_char(*c)) {
            return Err(Error::malformed(format!("invalid pem label at offset {start}")));
        }
        let body_start = label_end + DASHES.len();
        let end = find(input, END, body_start).ok_or_else(|| {
            Error::malformed(format!("pem block at offset {start} has no end line"))
        })?;
        let end_label_start = end + END.len();
        let end_label = input.get(end_label_start..end_label_start + label.len());
        let closing = end_label_start + label.len();
        if end_label != Some(label) || input.get(closing..closing + DASHES.len()) != Some(DASHES) {
            return Err(Error::malformed(format!(
                "pem block at offset {start} ends with a different label"
            )));
        }
        let mut stop = closing + DASHES.len();
        // Keep one line ending with the block: strict decoding expects the final EOL.
        for eol in [&b"\r\n"[..], b"\n", b"\r"] {
            if input.get(stop..stop + eol.len()) == Some(eol) {
                stop += eol.len();
                break;
            }
        }
        out.push(Block {
            label,
            whole: input.get(start..stop).unwrap_or_default(),
            start,
            body: input.get(body_start..end).unwrap_or_default(),
            body_start,
        });
        pos = stop;
    }
    if out.is_empty() {
        if let Some(at) = find(input, END, 0) {
            return Err(Error::malformed(format!("pem end line at offset {at} without a begin")));
        }
        return Err(Error::new(ErrorKind::NoCertificate, "no pem block in the input"));
    }
    Ok(out)
}

fn refuse_private_keys(blocks: &[Block<'_>]) -> Result<()> {
    if let Some(block) = blocks.iter().find(|b| find(b.label, b"PRIVATE KEY", 0).is_some()) {
        // Say where, never what.
        return Err(Error::new(
            ErrorKind::PrivateKeySupplied,
            format!(
                "the input contains a private key (pem block at offset {}); \
                 only certificates are accepted, and the key should be treated as exposed",
                block.start
            ),
        ));
    }
    Ok(())
}

/// RFC 7468 labels are printable ASCII without `-` at the ends; be a bit wider (spaces
/// inside) and refuse anything else.
fn is_label_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b' ' | b'-' | b'_' | b'.' | b'#' | b'/')
}

fn first_non_ws(b: &[u8]) -> Option<usize> {
    b.iter().position(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Position of `needle` in `haystack` at or after `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let rest = haystack.get(from..)?;
    rest.windows(needle.len()).position(|w| w == needle).map(|i| i + from)
}

fn describe(e: pem_rfc7468::Error) -> &'static str {
    use pem_rfc7468::Error::*;
    match e {
        Base64(_) => "invalid base64",
        CharacterEncoding => "invalid character encoding",
        EncapsulatedText => "invalid line structure (not strict rfc 7468)",
        HeaderDisallowed => "pem headers are not allowed",
        Label => "invalid label",
        Length => "invalid length",
        Preamble => "invalid preamble",
        PreEncapsulationBoundary => "invalid begin line",
        PostEncapsulationBoundary => "invalid end line",
        UnexpectedTypeLabel { .. } => "unexpected label",
        _ => "invalid pem",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEAF_PEM: &str = include_str!("../../tests/data/pki/leaf-ec.pem");
    const LEAF_DER: &[u8] = include_bytes!("../../tests/data/pki/leaf-ec.der");

    #[test]
    fn strict_reads_a_bundle_in_order_and_skips_other_labels() {
        let chain = include_str!("../../tests/data/pki/leaf-ec-chain.pem");
        let input = format!(
            "explanatory text\n-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n{chain}"
        );
        let certs = parse_strict(input.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(certs.len(), 2);
        assert_eq!(certs[0].as_ref(), LEAF_DER);
    }

    #[test]
    fn strict_refuses_one_line_pem_and_lenient_takes_it() {
        let one_line: String = LEAF_PEM.lines().collect();
        let e = parse_strict(one_line.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedInput);
        let certs = parse_lenient(one_line.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(certs[0].as_ref(), LEAF_DER);
    }

    #[test]
    fn keys_are_refused_without_echo() {
        let key = include_str!("../../tests/data/pki/leaf-ec.key");
        let input = format!("{LEAF_PEM}{key}");
        for parse in [parse_strict, parse_lenient] {
            let e = parse(input.as_bytes(), &Limits::default()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::PrivateKeySupplied);
            let body_line = key.lines().nth(1).unwrap();
            assert!(!e.message().contains(&body_line[..16]), "{e}");
        }
    }

    #[test]
    fn lenient_refuses_text_outside_blocks() {
        let input = format!("garbage{LEAF_PEM}");
        let e = parse_lenient(input.as_bytes(), &Limits::default()).unwrap_err();
        assert_eq!(e.message(), "unexpected text outside pem blocks at offset 0");
    }
}
