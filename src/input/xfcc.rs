//! Envoy / Istio `x-forwarded-client-cert` (XFCC).
//!
//! Grammar (Envoy docs, `conn_manager_utility.cc`): elements separated by `,`, one per
//! proxy hop, appended at the end; an element is `key=value` pairs separated by `;`;
//! keys (`By`, `Hash`, `Cert`, `Chain`, `Subject`, `URI`, `DNS`) are case-insensitive;
//! a value containing `,`, `;` or `=` is double-quoted, with `"` escaped as `\"`.
//! `Cert` and `Chain` hold URL-encoded PEM (`Chain`: leaf and intermediates concatenated).
//!
//! Rules applied here:
//! - Only the **last** element is used: it is the one the nearest (trusted) proxy appended;
//!   earlier ones came from upstream hops or from the client. Every element must still
//!   parse, so that the split into elements is unambiguous.
//! - A pair without `=`, text after a closing quote, an unterminated quote, an empty
//!   element or pair, or a repeated `Cert`, `Chain` or `Hash` key is an error, never a guess.
//!   Unknown keys (e.g. the legacy `SAN`) are ignored.
//! - At most [`MAX_ELEMENTS`] elements and [`MAX_PAIRS`] pairs per element.
//! - `Cert` and `Chain` must be quoted, as Envoy writes them: Envoy writes `By`, `URI` and
//!   `DNS` unquoted, so a URI SAN such as `https://x/,Cert=...` would otherwise smuggle a
//!   certificate into a new last element.
//! - `Hash`, when present, must be the hex SHA-256 of the leaf: `digest_mismatch` otherwise.
//! - `Cert` and `Chain` both present: the chain must start with the `Cert` certificate.
//!   An element without either is `no_certificate`.
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use rustls_pki_types::CertificateDer;
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;

use crate::error::{Error, ErrorKind, Result};
use crate::input::{Limits, escaped_pem};

/// Most elements (proxy hops) accepted in one XFCC value.
pub(crate) const MAX_ELEMENTS: usize = 32;
/// Most `key=value` pairs accepted in one element.
pub(crate) const MAX_PAIRS: usize = 64;

/// Index of the quote that closes a quoted string whose content starts at `from`
/// (inside quotes `\` escapes the next byte), or `None` if it is not closed.
fn closing_quote(input: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', input.get(from..)?)?;
        match input.get(at) {
            Some(b'"') => return Some(at),
            _ => from = at + 2,
        }
    }
}

/// Splits `input` at `sep` outside double quotes, yielding `(offset, piece)`.
/// Quote balance is checked by the caller (an open quote runs to the end).
struct SplitQuoted<'a> {
    input: &'a [u8],
    pos: usize,
    sep: u8,
    done: bool,
}

impl<'a> Iterator for SplitQuoted<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let start = self.pos;
        let mut from = start;
        loop {
            let rest = self.input.get(from..).unwrap_or_default();
            match memchr::memchr2(self.sep, b'"', rest).map(|i| from + i) {
                Some(at) if self.input.get(at) == Some(&self.sep) => {
                    self.pos = at + 1;
                    return Some((start, self.input.get(start..at).unwrap_or_default()));
                }
                Some(at) => match closing_quote(self.input, at + 1) {
                    Some(close) => from = close + 1,
                    None => break,
                },
                None => break,
            }
        }
        self.done = true;
        Some((start, self.input.get(start..).unwrap_or_default()))
    }
}

fn split_quoted(input: &[u8], sep: u8) -> SplitQuoted<'_> {
    SplitQuoted { input, pos: 0, sep, done: false }
}

/// True if the quotes of `input` are balanced (with `\` escapes inside quotes).
fn quotes_balanced(input: &[u8]) -> bool {
    let mut from = 0;
    while let Some(open) = input.get(from..).and_then(|r| memchr::memchr(b'"', r)) {
        match closing_quote(input, from + open + 1) {
            Some(close) => from = close + 1,
            None => return false,
        }
    }
    true
}

/// A value, with quotes removed (quoted values may still contain `\"` escapes).
#[derive(Clone, Copy)]
struct Value<'a> {
    text: &'a [u8],
    offset: usize,
    quoted: bool,
}

/// The fields of one element that decoding uses.
#[derive(Default)]
struct Fields<'a> {
    cert: Option<Value<'a>>,
    chain: Option<Value<'a>>,
    hash: Option<Value<'a>>,
}

fn parse_element(element: &[u8], base: usize) -> Result<Fields<'_>> {
    if element.is_empty() {
        return Err(Error::malformed(format!("xfcc: empty element at offset {base}")));
    }
    let mut fields = Fields::default();
    for (n, (at, pair)) in split_quoted(element, b';').enumerate() {
        let offset = base + at;
        if n >= MAX_PAIRS {
            return Err(Error::too_large("xfcc pairs in one element", n + 1, MAX_PAIRS));
        }
        let eq = pair.iter().position(|&c| c == b'=').ok_or_else(|| {
            Error::malformed(format!("xfcc: pair without '=' at offset {offset}"))
        })?;
        let (key, raw) = pair.split_at_checked(eq).unwrap_or((pair, &[]));
        let raw = raw.get(1..).unwrap_or_default();
        if key.is_empty()
            || !key.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'))
        {
            return Err(Error::malformed(format!("xfcc: invalid key at offset {offset}")));
        }
        let value_offset = offset + eq + 1;
        let value = match raw {
            [b'"', inner @ .., b'"']
                if raw.len() >= 2 && quotes_balanced(raw) && closes_at_end(raw) =>
            {
                Value { text: inner, offset: value_offset + 1, quoted: true }
            }
            _ if raw.contains(&b'"') => {
                return Err(Error::malformed(format!(
                    "xfcc: misplaced quote in the value at offset {value_offset}"
                )));
            }
            _ => Value { text: raw, offset: value_offset, quoted: false },
        };
        let slot = if key.eq_ignore_ascii_case(b"cert") {
            &mut fields.cert
        } else if key.eq_ignore_ascii_case(b"chain") {
            &mut fields.chain
        } else if key.eq_ignore_ascii_case(b"hash") {
            &mut fields.hash
        } else {
            continue;
        };
        if slot.replace(value).is_some() {
            return Err(Error::malformed(format!(
                "xfcc: repeated key at offset {offset} makes the element ambiguous"
            )));
        }
    }
    Ok(fields)
}

/// True if the opening quote of `raw` (which starts with `"`) is closed by its last byte
/// and not before: `"a"b"` is refused.
fn closes_at_end(raw: &[u8]) -> bool {
    closing_quote(raw, 1).is_some_and(|close| close + 1 == raw.len())
}

fn decode_pem_value(v: Value<'_>, limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    // Envoy always quotes Cert and Chain. An unquoted one could come from an unquoted URI
    // or DNS value that contains `,Cert=` (Envoy does not quote those): refuse it.
    if !v.quoted {
        return Err(Error::malformed(format!(
            "xfcc: unquoted certificate value at offset {}",
            v.offset
        )));
    }
    if let Some(i) = memchr::memchr(b'\\', v.text) {
        return Err(Error::malformed(format!(
            "xfcc: escape character in a certificate value at offset {}",
            v.offset + i
        )));
    }
    let mut norm = Vec::new();
    escaped_pem::normalize(v.text, true, v.offset, &mut norm)?;
    escaped_pem::parse_compact(&norm, limits)
}

fn check_hash(hash: Value<'_>, leaf: &[u8]) -> Result<()> {
    let mut expected = [0u8; 32];
    let hex = hash.text;
    if hex.len() != 64 {
        return Err(Error::malformed(format!(
            "xfcc: Hash at offset {} is not 64 hex digits",
            hash.offset
        )));
    }
    for (out, pair) in expected.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        match pair {
            [hi, lo] => match (digit(*hi), digit(*lo)) {
                (Some(hi), Some(lo)) => *out = u8::try_from(hi * 16 + lo).unwrap_or_default(),
                _ => {
                    return Err(Error::malformed(format!(
                        "xfcc: Hash at offset {} is not hex",
                        hash.offset
                    )));
                }
            },
            _ => return Err(Error::malformed("xfcc: Hash is not hex")),
        }
    }
    let actual = sha2::Sha256::digest(leaf);
    if bool::from(actual.as_slice().ct_eq(&expected)) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::DigestMismatch,
            "xfcc: Hash does not match the SHA-256 of the certificate",
        ))
    }
}

/// Decodes the certificate (chain) of the last element of an XFCC value.
pub(crate) fn decode(value: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    if value.is_empty() {
        return Err(Error::no_certificate("header value is empty"));
    }
    if !quotes_balanced(value) {
        return Err(Error::malformed("xfcc: unterminated quoted value"));
    }
    let mut last = Fields::default();
    for (n, (at, element)) in split_quoted(value, b',').enumerate() {
        if n >= MAX_ELEMENTS {
            return Err(Error::too_large("xfcc elements", n + 1, MAX_ELEMENTS));
        }
        last = parse_element(element, at)?;
    }
    let certs = match (last.cert, last.chain) {
        (None, None) => {
            return Err(Error::no_certificate("xfcc: the last element has no Cert or Chain"));
        }
        (Some(cert), None) => {
            let certs = decode_pem_value(cert, limits)?;
            if certs.len() != 1 {
                return Err(Error::malformed(format!(
                    "xfcc: Cert at offset {} holds {} certificates, not one",
                    cert.offset,
                    certs.len()
                )));
            }
            certs
        }
        (cert, Some(chain)) => {
            let certs = decode_pem_value(chain, limits)?;
            if let Some(cert) = cert {
                let leaf = decode_pem_value(cert, limits)?;
                if leaf.len() != 1 || leaf.first() != certs.first() {
                    return Err(Error::malformed(
                        "xfcc: Cert and the first certificate of Chain differ",
                    ));
                }
            }
            certs
        }
    };
    if let (Some(hash), Some(leaf)) = (last.hash, certs.first()) {
        check_hash(hash, leaf)?;
    }
    Ok(certs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const LEAF_PEM: &str = include_str!("../../tests/data/pki/leaf-ec.pem");
    const LEAF_DER: &[u8] = include_bytes!("../../tests/data/pki/leaf-ec.der");

    fn escaped() -> String {
        LEAF_PEM
            .replace('\n', "%0A")
            .replace(' ', "%20")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    }

    fn hash() -> String {
        sha2::Sha256::digest(LEAF_DER).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn last_element_wins_and_hash_is_checked() {
        let l = Limits::default();
        let v = format!(
            "By=spiffe://a;Hash={};Cert=\"{}\";Subject=\"CN=x\\\"y\\, z\";URI=",
            hash(),
            escaped()
        );
        assert_eq!(decode(v.as_bytes(), &l).unwrap()[0].as_ref(), LEAF_DER);
        let upper = v.replace("Cert=", "cERT=").replace(&hash(), &hash().to_uppercase());
        assert_eq!(decode(upper.as_bytes(), &l).unwrap()[0].as_ref(), LEAF_DER);
        // A client-supplied first element is ignored; the last has no certificate.
        let two = format!("Cert=\"{}\",By=spiffe://proxy;Hash={}", escaped(), hash());
        assert_eq!(decode(two.as_bytes(), &l).unwrap_err().kind(), ErrorKind::NoCertificate);
        let wrong = v.replace(&hash(), &"0".repeat(64));
        assert_eq!(decode(wrong.as_bytes(), &l).unwrap_err().kind(), ErrorKind::DigestMismatch);
    }

    #[test]
    fn ambiguous_values_are_refused() {
        let l = Limits::default();
        let cert = format!("Cert=\"{}\"", escaped());
        for bad in [
            format!("{cert};URI=https://x/?a;b"),
            format!("{cert};Cert=\"{}\"", escaped()),
            format!("{cert},"),
            format!("{cert};;DNS=a"),
            format!("{cert};Subject=\"a\"b"),
            format!("{cert};Subject=\"a"),
            format!("{cert};Subject=a\"b\""),
            format!("{cert};=x"),
            format!("{cert};Hash=abc"),
        ] {
            let e = decode(bad.as_bytes(), &l).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{bad}");
            assert!(!e.message().contains("MII"), "{e}");
        }
        let many = vec!["By=x"; MAX_ELEMENTS + 1].join(",");
        assert_eq!(decode(many.as_bytes(), &l).unwrap_err().kind(), ErrorKind::InputTooLarge);
    }

    /// Regression: Envoy writes URI SANs unquoted, so a client certificate whose URI SAN is
    /// `https://x/,Cert=<escaped pem>` would split into a new last element carrying a
    /// certificate of the attacker's choice (public, e.g. another client's). Unquoted
    /// certificate values are refused.
    #[test]
    fn uri_san_cannot_smuggle_an_unquoted_cert_element() {
        let l = Limits::default();
        let v = format!("By=spiffe://gw;Hash={};URI=https://x/,Cert={}", "0".repeat(64), escaped());
        let e = decode(v.as_bytes(), &l).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedInput);
        assert!(e.message().contains("unquoted certificate value"), "{e}");
        // At the bound, the elements parse (and carry no certificate).
        let many = vec!["By=x"; MAX_ELEMENTS].join(",");
        assert_eq!(decode(many.as_bytes(), &l).unwrap_err().kind(), ErrorKind::NoCertificate);
    }
}
