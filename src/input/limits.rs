//! Bounds on untrusted input.

use crate::error::{Error, Result};

/// Bounds applied to every piece of untrusted input before it is decoded.
///
/// Every entry point that takes untrusted bytes checks these first, so that the work
/// done on hostile input is bounded by configuration, not by the attacker. Exceeding a
/// bound gives [`ErrorKind::InputTooLarge`](crate::ErrorKind::InputTooLarge).
///
/// | bound | default | why |
/// |---|---|---|
/// | [`max_bundle`](Limits::max_bundle) | 64 KiB | encoded input (PEM, DER, base64) and the DER bytes of any presented chain, TLS included: a bundle of a dozen RSA-4096 certificates fits |
/// | [`max_chain_len`](Limits::max_chain_len) | 16 | real client chains have 1 to 4 certificates |
/// | [`max_header_value`](Limits::max_header_value) | 16 KiB | an XFCC value with `Cert` and `Chain` for three RSA-4096 certificates fits; proxies cap lines at 8 to 16 KiB |
///
/// ```
/// use certauth::Limits;
/// let limits = Limits::default().with_max_bundle(8 * 1024).with_max_chain_len(4);
/// assert_eq!(limits.max_bundle(), 8192);
/// assert_eq!(limits.max_header_value(), 16 * 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    max_bundle: usize,
    max_chain_len: usize,
    max_header_value: usize,
}

impl Limits {
    /// The default bounds (see the table above).
    pub const DEFAULT: Self =
        Self { max_bundle: 64 * 1024, max_chain_len: 16, max_header_value: 16 * 1024 };

    /// Largest accepted input in bytes: a file or bundle (PEM, DER or base64), and the DER
    /// bytes of any presented chain, TLS included. Default 64 KiB.
    pub const fn max_bundle(&self) -> usize {
        self.max_bundle
    }

    /// Most certificates accepted in one presented chain, leaf included. Default 16.
    pub const fn max_chain_len(&self) -> usize {
        self.max_chain_len
    }

    /// Largest accepted forwarded-header value, in bytes; for a header sent as several
    /// field lines, the total of all lines. Checked before any decoding. Default 16 KiB.
    ///
    /// Why: leaf-only headers are 0.8 to 1.5 KB, an Envoy XFCC value with `Cert` and
    /// `Chain` for a two-certificate EC chain about 3 KB, three-certificate RSA-4096 chains
    /// exceed 8 KB; Cloudflare empties its RFC 9440 fields beyond 10 / 16 KiB.
    ///
    /// ```
    /// use certauth::{decode_header, HeaderFormat, Limits};
    /// let limits = Limits::default().with_max_header_value(8);
    /// let err = decode_header(b"MIIBIjANBgkq", HeaderFormat::Base64Der, "x-client-cert", &limits)
    ///     .unwrap_err();
    /// assert_eq!(err.kind(), certauth::ErrorKind::InputTooLarge);
    /// ```
    pub const fn max_header_value(&self) -> usize {
        self.max_header_value
    }

    /// Sets [`max_header_value`](Limits::max_header_value).
    #[must_use]
    pub const fn with_max_header_value(mut self, bytes: usize) -> Self {
        self.max_header_value = bytes;
        self
    }

    /// Sets [`max_bundle`](Limits::max_bundle).
    #[must_use]
    pub const fn with_max_bundle(mut self, bytes: usize) -> Self {
        self.max_bundle = bytes;
        self
    }

    /// Sets [`max_chain_len`](Limits::max_chain_len).
    #[must_use]
    pub const fn with_max_chain_len(mut self, certificates: usize) -> Self {
        self.max_chain_len = certificates;
        self
    }

    pub(crate) fn check_bundle(&self, len: usize) -> Result<()> {
        check("input", len, self.max_bundle)
    }

    pub(crate) fn check_header(&self, len: usize) -> Result<()> {
        check("header value length", len, self.max_header_value)
    }

    /// Called before pushing certificate number `count` (1-based) onto a chain.
    pub(crate) fn check_chain(&self, count: usize) -> Result<()> {
        check("chain length", count, self.max_chain_len)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn check(what: &str, size: usize, limit: usize) -> Result<()> {
    if size > limit { Err(Error::too_large(what, size, limit)) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn bounds_are_inclusive() {
        let l = Limits::default();
        assert!(l.check_chain(16).is_ok());
        assert_eq!(l.check_chain(17).unwrap_err().kind(), ErrorKind::InputTooLarge);
        assert!(l.check_bundle(64 * 1024).is_ok());
        assert!(l.check_bundle(64 * 1024 + 1).is_err());
    }
}
