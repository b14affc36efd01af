//! Envoy / Istio `x-forwarded-client-cert` (XFCC).
//!
//! What Envoy writes (`mutateXfccRequestHeader` in `conn_manager_utility.cc`, with the
//! detail order fixed by the connection manager's configuration): one element per proxy
//! that sets or appends the header, elements separated by `,`; an element is `key=value`
//! pairs separated by `;`, always in this order: `By` (once per URI SAN of the proxy's own
//! certificate), `Hash` (hex SHA-256 of the client's leaf), then the configured details
//! `Cert` and `Chain` (quoted, URL-encoded PEM), `Subject` (quoted, RFC 2253 with `"` and
//! `\` backslash-escaped), `URI` (once per URI SAN, **unquoted and unescaped**) and `DNS`
//! (once per DNS SAN, unquoted and unescaped).
//!
//! Since `URI` and `DNS` are the client certificate's SANs written raw, a client chooses
//! text that lands in the value after its own `Subject`: a SAN such as
//! `https://x/,Cert="<PEM of another client>"` adds an element, and `https://x/;Cert=..`
//! adds a pair. The rules below make sure such text can never change which certificate
//! is decoded:
//!
//! - The number of elements is configured, not inferred: exactly `elements` (one by
//!   default: Envoy's `SANITIZE_SET`), else `malformed_input`.
//! - The certificate comes from the **first** element, written by the outermost proxy
//!   about the client; any later ones describe the proxies in between (each proxy
//!   describes its own downstream peer). Every element must still parse, so that the
//!   split into elements is unambiguous.
//! - Keys come in Envoy's order (`By`, `Hash`, `Cert`, `Chain`, `Subject`, `URI`, `DNS`,
//!   then unknown keys such as the legacy `SAN`), and only `By`, `URI`, `DNS` and unknown
//!   keys repeat: so `Hash`, `Cert` and `Chain` always come before the first byte the
//!   client chose, and one after a `Subject`, `URI` or `DNS` is refused. Keys are
//!   case-insensitive.
//! - A pair without `=`, text after a closing quote, an unterminated quote, an empty
//!   element or pair, or a misplaced quote is an error, never a guess.
//! - `Cert` and `Chain` must be quoted, as Envoy writes them, and hold certificates only.
//! - `Hash`, when present, must be the hex SHA-256 of the leaf: `digest_mismatch`
//!   otherwise. `Cert` and `Chain` both present: the chain must start with the `Cert`
//!   certificate. An element without either is `no_certificate`.
//! - At most [`MAX_PAIRS`] pairs per element and [`MAX_ELEMENTS`] elements
//!   (`input_too_large`); the configured element count is at most [`MAX_ELEMENTS`].
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use rustls_pki_types::CertificateDer;
use sha2::Digest as _;
use subtle::ConstantTimeEq as _;

use crate::error::{Error, ErrorKind, Result};
use crate::input::{Limits, escaped_pem};

/// Most elements (proxy hops) a configuration may expect in one XFCC value.
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

/// The keys of an element, in the order Envoy writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    By,
    Hash,
    Cert,
    Chain,
    Subject,
    Uri,
    Dns,
    /// Any other key (the legacy `SAN`, or a key a newer Envoy might add): ignored,
    /// accepted only after every known one.
    Other,
}

impl Key {
    fn of(key: &[u8]) -> Self {
        const KNOWN: [(&[u8], Key); 7] = [
            (b"by", Key::By),
            (b"hash", Key::Hash),
            (b"cert", Key::Cert),
            (b"chain", Key::Chain),
            (b"subject", Key::Subject),
            (b"uri", Key::Uri),
            (b"dns", Key::Dns),
        ];
        KNOWN.iter().find(|(name, _)| key.eq_ignore_ascii_case(name)).map_or(Key::Other, |k| k.1)
    }

    const fn name(self) -> &'static str {
        match self {
            Self::By => "By",
            Self::Hash => "Hash",
            Self::Cert => "Cert",
            Self::Chain => "Chain",
            Self::Subject => "Subject",
            Self::Uri => "URI",
            Self::Dns => "DNS",
            Self::Other => "an unknown key",
        }
    }

    /// Envoy writes `By` once per URI SAN of its own certificate, `URI` and `DNS` once per
    /// SAN of the client's; every other known key at most once.
    const fn repeats(self) -> bool {
        matches!(self, Self::By | Self::Uri | Self::Dns | Self::Other)
    }
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
    let mut previous: Option<Key> = None;
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
        let key = Key::of(key);
        match previous {
            Some(before) if key < before => {
                return Err(Error::malformed(format!(
                    "xfcc: {} after {} at offset {offset}, out of envoy's order",
                    key.name(),
                    before.name()
                )));
            }
            Some(before) if key == before && !key.repeats() => {
                return Err(Error::malformed(format!(
                    "xfcc: repeated {} at offset {offset} makes the element ambiguous",
                    key.name()
                )));
            }
            _ => previous = Some(key),
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
        match key {
            Key::Cert => fields.cert = Some(value),
            Key::Chain => fields.chain = Some(value),
            Key::Hash => fields.hash = Some(value),
            _ => {}
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
    // Envoy always quotes Cert and Chain: an unquoted one is not what Envoy wrote.
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
    if hash.text.len() != 64 {
        return Err(Error::malformed(format!(
            "xfcc: Hash at offset {} is not 64 hex digits",
            hash.offset
        )));
    }
    let Some(expected) = crate::hex::decode_sha256(hash.text) else {
        return Err(Error::malformed(format!("xfcc: Hash at offset {} is not hex", hash.offset)));
    };
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

/// Decodes the certificate (chain) of the first element of an XFCC value that must hold
/// exactly `elements` elements.
pub(crate) fn decode(
    value: &[u8],
    limits: &Limits,
    elements: usize,
) -> Result<Vec<CertificateDer<'static>>> {
    if value.is_empty() {
        return Err(Error::no_certificate("empty value"));
    }
    if !quotes_balanced(value) {
        return Err(Error::malformed("xfcc: unterminated quoted value"));
    }
    let mut first = None;
    let mut count = 0;
    for (n, (at, element)) in split_quoted(value, b',').enumerate() {
        if n >= MAX_ELEMENTS {
            return Err(Error::too_large("xfcc elements", n + 1, MAX_ELEMENTS));
        }
        count = n + 1;
        if n >= elements {
            continue; // counted for the message; the value is refused below
        }
        let fields = parse_element(element, at)?;
        if n == 0 {
            first = Some(fields);
        }
    }
    let first = match first {
        Some(first) if count == elements => first,
        _ => return Err(element_count(count, elements)),
    };
    let certs = match (first.cert, first.chain) {
        (None, None) => {
            return Err(Error::no_certificate("xfcc: the first element has no Cert or Chain"));
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
    if let (Some(hash), Some(leaf)) = (first.hash, certs.first()) {
        check_hash(hash, leaf)?;
    }
    Ok(certs)
}

/// The value holds `found` elements, not the `expected` the configuration states.
fn element_count(found: usize, expected: usize) -> Error {
    Error::malformed(format!(
        "xfcc: {found} elements, {expected} configured (one per proxy that sets or appends it)"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const LEAF_PEM: &str = include_str!("../../tests/data/pki/leaf-ec.pem");
    const LEAF_DER: &[u8] = include_bytes!("../../tests/data/pki/leaf-ec.der");
    const RSA_PEM: &str = include_str!("../../tests/data/pki/leaf-rsa.pem");
    const RSA_DER: &[u8] = include_bytes!("../../tests/data/pki/leaf-rsa.der");

    fn escape(pem: &str) -> String {
        pem.replace('\n', "%0A")
            .replace(' ', "%20")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    }

    fn hex(der: &[u8]) -> String {
        sha2::Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect()
    }

    fn one(v: &str) -> Result<Vec<CertificateDer<'static>>> {
        decode(v.as_bytes(), &Limits::default(), 1)
    }

    #[test]
    fn envoy_element_decodes_and_hash_is_checked() {
        let v = format!(
            "By=spiffe://a;Hash={};Cert=\"{}\";Subject=\"CN=x\\\"y\\, z\";URI=",
            hex(LEAF_DER),
            escape(LEAF_PEM)
        );
        assert_eq!(one(&v).unwrap()[0].as_ref(), LEAF_DER);
        let upper =
            v.replace("Cert=", "cERT=").replace(&hex(LEAF_DER), &hex(LEAF_DER).to_uppercase());
        assert_eq!(one(&upper).unwrap()[0].as_ref(), LEAF_DER);
        let wrong = v.replace(&hex(LEAF_DER), &"0".repeat(64));
        assert_eq!(one(&wrong).unwrap_err().kind(), ErrorKind::DigestMismatch);
        let bare = format!("By=spiffe://proxy;Hash={}", hex(LEAF_DER));
        assert_eq!(one(&bare).unwrap_err().kind(), ErrorKind::NoCertificate);
    }

    #[test]
    fn ambiguous_values_are_refused() {
        let cert = format!("Cert=\"{}\"", escape(LEAF_PEM));
        for bad in [
            format!("{cert};URI=https://x/?a;b"),
            format!("{cert};Cert=\"{}\"", escape(LEAF_PEM)),
            format!("{cert},"),
            format!("{cert};;DNS=a"),
            format!("{cert};Subject=\"a\"b"),
            format!("{cert};Subject=\"a"),
            format!("{cert};Subject=a\"b\""),
            format!("{cert};=x"),
            format!("{cert};Hash=abc"),
            format!("Cert={}", escape(LEAF_PEM)),
            format!("{cert};Subject=\"a\";Subject=\"b\""),
        ] {
            let e = one(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{bad}");
            assert!(!e.message().contains("MII"), "{e}");
        }
    }

    /// Keys in any order but Envoy's are refused, so that nothing after the client's
    /// `Subject`, `URI` or `DNS` (text the client chose) can be a certificate or hash.
    #[test]
    fn keys_must_come_in_envoys_order() {
        let cert = format!("Cert=\"{}\"", escape(LEAF_PEM));
        let hash = format!("Hash={}", hex(LEAF_DER));
        let good = [
            format!(
                "By=a;By=b;{hash};{cert};Chain=\"{}\";Subject=\"\";URI=x;URI=y;DNS=d;DNS=e;SAN=z",
                escape(LEAF_PEM)
            ),
            format!("{cert};DNS=d"),
            format!("{hash};{cert}"),
        ];
        for v in &good {
            assert_eq!(one(v).unwrap()[0].as_ref(), LEAF_DER, "{v}");
        }
        for (bad, what) in [
            (format!("{cert};{hash}"), "Hash after Cert"),
            (format!("Subject=\"\";{cert}"), "Cert after Subject"),
            (format!("URI=x;{cert}"), "Cert after URI"),
            (format!("DNS=x;{cert}"), "Cert after DNS"),
            (format!("{cert};URI=x;{hash}"), "Hash after URI"),
            (format!("{cert};DNS=x;URI=y"), "URI after DNS"),
            (format!("{cert};SAN=x;URI=y"), "URI after an unknown key"),
            (format!("{hash};By=x;{cert}"), "By after Hash"),
            (format!("{hash};{hash};{cert}"), "repeated Hash"),
        ] {
            let e = one(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{bad}");
            assert!(e.message().contains(what.split(' ').next().unwrap()), "{what}: {e}");
        }
    }

    #[test]
    fn the_element_count_is_configured_not_inferred() {
        let l = Limits::default();
        let element = |pem: &str, der: &[u8]| {
            format!("By=spiffe://p;Hash={};Cert=\"{}\";Subject=\"\";URI=", hex(der), escape(pem))
        };
        let client = element(LEAF_PEM, LEAF_DER);
        let proxy = element(RSA_PEM, RSA_DER);
        let two = format!("{client},{proxy}");
        // Two elements: refused unless two are configured; then the first one counts.
        assert_eq!(decode(two.as_bytes(), &l, 1).unwrap_err().kind(), ErrorKind::MalformedInput);
        assert_eq!(decode(two.as_bytes(), &l, 2).unwrap()[0].as_ref(), LEAF_DER);
        let e = decode(client.as_bytes(), &l, 2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedInput);
        assert_eq!(
            e.message(),
            "xfcc: 1 elements, 2 configured (one per proxy that sets or appends it)"
        );
        let e = decode(two.as_bytes(), &l, 1).unwrap_err();
        assert!(e.message().starts_with("xfcc: 2 elements, 1 configured"), "{e}");
        // Every element must parse, the later ones too.
        let broken = format!("{client},{proxy};Hash=00");
        assert_eq!(decode(broken.as_bytes(), &l, 2).unwrap_err().kind(), ErrorKind::MalformedInput);
        // At the most elements a configuration may state.
        let many = vec![client.as_str(); MAX_ELEMENTS].join(",");
        assert_eq!(decode(many.as_bytes(), &l, MAX_ELEMENTS).unwrap()[0].as_ref(), LEAF_DER);
        let many = vec![client.as_str(); MAX_ELEMENTS + 1].join(",");
        let e = decode(many.as_bytes(), &l, 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
        let many = vec!["By=x"; MAX_PAIRS + 1].join(";");
        assert_eq!(decode(many.as_bytes(), &l, 1).unwrap_err().kind(), ErrorKind::InputTooLarge);
    }

    /// Regression: Envoy writes URI SANs unquoted, so a client certificate whose URI SAN is
    /// `https://x/,Cert="<escaped pem>"` splits the value into a new element carrying a
    /// certificate of the client's choice (public, e.g. another client's), and
    /// `https://x/;Cert="<escaped pem>"` adds a pair to Envoy's element.
    #[test]
    fn a_uri_san_cannot_smuggle_a_certificate() {
        let victim = format!("Cert=\"{}\"", escape(RSA_PEM));
        // Envoy configured with Hash and URI only: no certificate of its own to decode.
        for san in [format!("https://x/,{victim}"), format!("https://x/;{victim}")] {
            let v = format!("By=spiffe://gw;Hash={};URI={san}", hex(LEAF_DER));
            let e = one(&v).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{san}");
        }
        // Envoy configured with Cert too: the smuggled one follows the genuine one.
        for san in [
            format!("https://x/,By=spiffe://gw;{victim}"),
            format!("https://x/;{victim}"),
            format!("https://x/,{victim},By=y"),
        ] {
            let v = format!(
                "Hash={};Cert=\"{}\";Subject=\"CN=client\";URI={san}",
                hex(LEAF_DER),
                escape(LEAF_PEM)
            );
            let e = one(&v).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{san}");
        }
    }
}
