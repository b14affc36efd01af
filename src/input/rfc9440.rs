//! RFC 9440 `Client-Cert` and `Client-Cert-Chain`: RFC 8941 (RFC 9651) byte sequences.
//!
//! `Client-Cert` is one sf-binary item (`:` base64(DER) `:`, parameters allowed and
//! ignored); `Client-Cert-Chain` is an sf-list of them. The parser follows RFC 8941
//! section 4.2 for the parts that can occur here: list members separated by `,` with
//! optional SP/HTAB around it, byte sequences with standard base64 (padding optional,
//! non-zero pad bits tolerated), parameters whose values are any bare item. Inner lists
//! and other item types are refused: every member must be a certificate.
//!
//! The same encoding is used by Google Cloud load balancers (`{client_cert_leaf}`,
//! `{client_cert_chain}`) and Cloudflare's Transform Rule fields.
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use rustls_pki_types::CertificateDer;

use crate::error::{Error, Result};
use crate::input::{Limits, base64};

/// One list member: the base64 between the colons, and its offset in the value.
#[derive(Debug, Clone, Copy)]
struct Member<'a> {
    base64: &'a [u8],
    offset: usize,
}

/// A cursor over the header value.
struct Cursor<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip(&mut self, pred: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let start = self.pos;
        self.skip(pred);
        self.input.get(start..self.pos).unwrap_or_default()
    }

    fn error(&self, what: &str) -> Error {
        Error::malformed(format!("structured field: {what} at offset {}", self.pos))
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// `:` base64 `:`, then parameters. The characters between the colons are checked by
    /// the base64 decoder (standard alphabet and `=` only).
    fn member(&mut self) -> Result<Member<'a>> {
        let offset = self.pos;
        self.expect(b':', "expected a byte sequence (':')")?;
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let len =
            memchr::memchr(b':', rest).ok_or_else(|| self.error("unterminated byte sequence"))?;
        let base64 = rest.get(..len).unwrap_or_default();
        self.pos += len + 1;
        self.parameters()?;
        Ok(Member { base64, offset })
    }

    /// `*( ";" *SP key [ "=" bare-item ] )`, values ignored.
    fn parameters(&mut self) -> Result<()> {
        while self.peek() == Some(b';') {
            self.pos += 1;
            self.skip(|c| c == b' ');
            if !self.peek().is_some_and(|c| c.is_ascii_lowercase() || c == b'*') {
                return Err(self.error("invalid parameter key"));
            }
            self.skip(|c| {
                c.is_ascii_lowercase()
                    || c.is_ascii_digit()
                    || matches!(c, b'_' | b'-' | b'.' | b'*')
            });
            if self.peek() == Some(b'=') {
                self.pos += 1;
                self.bare_item()?;
            }
        }
        Ok(())
    }

    /// Any bare item (RFC 8941 4.2.3.1), skipped.
    fn bare_item(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => {
                self.pos += usize::from(self.peek() == Some(b'-'));
                let digits = self.take_while(|c| c.is_ascii_digit() || c == b'.');
                if digits.first().is_none_or(|c| !c.is_ascii_digit()) || digits.len() > 20 {
                    return Err(self.error("invalid number"));
                }
            }
            Some(b'"') => {
                self.pos += 1;
                loop {
                    match self.peek() {
                        Some(b'\\') => {
                            self.pos += 1;
                            if !matches!(self.peek(), Some(b'\\' | b'"')) {
                                return Err(self.error("invalid string escape"));
                            }
                            self.pos += 1;
                        }
                        Some(b'"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(0x20..=0x7e) => self.pos += 1,
                        _ => return Err(self.error("invalid string")),
                    }
                }
            }
            Some(b':') => {
                self.pos += 1;
                self.skip(is_base64_char);
                self.expect(b':', "invalid byte sequence")?;
            }
            Some(b'?') => {
                self.pos += 1;
                if !matches!(self.peek(), Some(b'0' | b'1')) {
                    return Err(self.error("invalid boolean"));
                }
                self.pos += 1;
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'*' => {
                self.skip(|c| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c));
            }
            _ => return Err(self.error("invalid parameter value")),
        }
        Ok(())
    }
}

fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')
}

fn is_ows(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Parses an sf-list of byte sequences. The value is already trimmed of SP/HTAB.
fn parse_list<'a>(value: &'a [u8], limits: &Limits) -> Result<Vec<Member<'a>>> {
    let mut cur = Cursor { input: value, pos: 0 };
    let mut members = Vec::new();
    while cur.peek().is_some() {
        limits.check_chain(members.len() + 1)?;
        members.push(cur.member()?);
        cur.skip(is_ows);
        if cur.peek().is_none() {
            break;
        }
        cur.expect(b',', "expected ',' between list members")?;
        cur.skip(is_ows);
        if cur.peek().is_none() {
            return Err(cur.error("trailing ','"));
        }
    }
    Ok(members)
}

fn decode_member(m: Member<'_>, n: usize) -> Result<CertificateDer<'static>> {
    if m.base64.is_empty() {
        return Err(Error::no_certificate(format!(
            "structured field: empty byte sequence (member {n})"
        )));
    }
    let der = base64::decode_at(m.base64, "byte sequence", m.offset + 1)
        .map_err(|e| Error::malformed(format!("{} (member {n})", e.message())))?;
    Ok(CertificateDer::from(der))
}

/// `Client-Cert`: exactly one byte sequence. `::` (HAProxy's value without a
/// certificate) is `no_certificate`; a list is malformed (the field is a singleton).
pub(crate) fn decode_item(value: &[u8]) -> Result<CertificateDer<'static>> {
    if value.is_empty() {
        return Err(Error::no_certificate("empty value"));
    }
    let mut cur = Cursor { input: value, pos: 0 };
    let member = cur.member()?;
    if cur.peek().is_some() {
        cur.skip(is_ows);
        if cur.peek() == Some(b',') {
            return Err(cur.error("a list where a single certificate is required"));
        }
        return Err(cur.error("unexpected text after the byte sequence"));
    }
    decode_member(member, 1)
}

/// `Client-Cert-Chain`: a list of byte sequences, in order. Empty list: `no_certificate`.
pub(crate) fn decode_list(value: &[u8], limits: &Limits) -> Result<Vec<CertificateDer<'static>>> {
    let members = parse_list(value, limits)?;
    if members.is_empty() {
        return Err(Error::no_certificate("empty value"));
    }
    let mut certs = Vec::with_capacity(members.len());
    for (i, m) in members.into_iter().enumerate() {
        let cert = decode_member(m, i + 1).map_err(|e| {
            // An empty member inside a list is damage, not "no certificate".
            if e.kind() == crate::ErrorKind::NoCertificate {
                Error::malformed(e.message().to_owned())
            } else {
                e
            }
        })?;
        certs.push(cert);
    }
    Ok(certs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn items_lists_and_parameters() {
        let l = Limits::default();
        assert_eq!(decode_item(b":MAA=:").unwrap().as_ref(), [0x30, 0x00]);
        assert_eq!(
            decode_item(b":MAA:;a=1;b;c=\"x\\\"y\";d=?1;e=:AA==:;f=tok/en").unwrap().as_ref(),
            [0x30, 0x00]
        );
        assert_eq!(decode_list(b":MAA=:,:MAA=:", &l).unwrap().len(), 2);
        assert_eq!(decode_list(b":MAA=: \t, \t:MAA=:;x", &l).unwrap().len(), 2);
    }

    #[test]
    fn refusals() {
        let l = Limits::default();
        let cases: &[(&[u8], ErrorKind)] = &[
            (b"::", ErrorKind::NoCertificate),
            (b"", ErrorKind::NoCertificate),
            (b":MAA=:, :MAA=:", ErrorKind::MalformedInput),
            (b":MA*A:", ErrorKind::MalformedInput),
            (b":MAA=", ErrorKind::MalformedInput),
            (b"MAA=", ErrorKind::MalformedInput),
            (b"(:MAA=:)", ErrorKind::MalformedInput),
            (b":MAA=:;K=1", ErrorKind::MalformedInput),
            (b":MAA=:;k=\"\x01\"", ErrorKind::MalformedInput),
            (b":MAA=: x", ErrorKind::MalformedInput),
            (b":-_:", ErrorKind::MalformedInput),
        ];
        for (v, kind) in cases {
            assert_eq!(decode_item(v).unwrap_err().kind(), *kind, "{}", String::from_utf8_lossy(v));
        }
        for v in [&b":MAA=:,"[..], b":MAA=:,,:MAA=:", b":MAA=:,::", b":MAA=: :MAA=:"] {
            assert_eq!(decode_list(v, &l).unwrap_err().kind(), ErrorKind::MalformedInput);
        }
        let many = vec![":MAA=:"; 17].join(",");
        assert_eq!(decode_list(many.as_bytes(), &l).unwrap_err().kind(), ErrorKind::InputTooLarge);
    }
}
