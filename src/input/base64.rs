//! Standard-alphabet base64, as every proxy that forwards DER uses it.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use rustls_pki_types::CertificateDer;

use crate::error::{Error, Result};
use crate::input::{Limits, der, trim_ascii_ws};

/// Standard alphabet; padding optional and non-zero pad bits tolerated, as RFC 8941
/// asks of byte-sequence parsers. The DER parse that follows catches any real damage.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Decodes standard base64 with optional padding. `what` names the input in errors.
pub(crate) fn decode(input: &[u8], what: &str) -> Result<Vec<u8>> {
    LENIENT.decode(input).map_err(|e| describe(e, what, 0))
}

/// As [`decode`], with offsets in messages shifted by `base` (the input's position).
pub(crate) fn decode_at(input: &[u8], what: &str, base: usize) -> Result<Vec<u8>> {
    LENIENT.decode(input).map_err(|e| describe(e, what, base))
}

/// Decodes base64 interrupted by whitespace (SP, HTAB, CR, LF), as folded or joined PEM
/// bodies are. `base` is the offset of `input` in the caller's input, for messages.
pub(crate) fn decode_skipping_ws(input: &[u8], what: &str, base: usize) -> Result<Vec<u8>> {
    if !input.iter().any(|c| matches!(c, b' ' | b'\t' | b'\r' | b'\n')) {
        return LENIENT.decode(input).map_err(|e| describe(e, what, base));
    }
    let compact: Vec<u8> =
        input.iter().copied().filter(|c| !matches!(c, b' ' | b'\t' | b'\r' | b'\n')).collect();
    LENIENT.decode(&compact).map_err(|e| describe(e, what, base))
}

/// Base64 of one DER certificate or of several concatenated (HAProxy `ssl_c_chain_der`,
/// F5 iRules, Azure, ASP.NET Core, Caddy, ...). Surrounding whitespace is ignored.
pub(crate) fn decode_der_chain(
    input: &[u8],
    limits: &Limits,
) -> Result<Vec<CertificateDer<'static>>> {
    let text = trim_ascii_ws(input);
    if text.is_empty() {
        return Err(Error::no_certificate("input is empty"));
    }
    let bytes = decode(text, "base64 certificate")?;
    der::split_owned(bytes, limits)
}

fn describe(e: base64::DecodeError, what: &str, base: usize) -> Error {
    use base64::DecodeError::*;
    // Offsets only: the offending byte is attacker-chosen and may be anything.
    Error::malformed(match e {
        InvalidByte(at, _) => format!("{what}: invalid base64 character at offset {}", base + at),
        InvalidLength(len) => format!("{what}: invalid base64 length {len}"),
        InvalidLastSymbol(at, _) => {
            format!("{what}: invalid last base64 symbol at offset {}", base + at)
        }
        InvalidPadding => format!("{what}: invalid base64 padding"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_optional() {
        assert_eq!(decode(b"YWI=", "x").unwrap(), b"ab");
        assert_eq!(decode(b"YWI", "x").unwrap(), b"ab");
        assert_eq!(decode_skipping_ws(b"Y W\r\n\tI", "x", 0).unwrap(), b"ab");
    }

    #[test]
    fn errors_name_offsets_not_bytes() {
        let e = decode_skipping_ws(b"YW*I", "pem body", 10).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::MalformedInput);
        assert_eq!(e.message(), "pem body: invalid base64 character at offset 12");
        // URL-safe characters are not standard base64.
        assert!(decode(b"YW-_", "x").is_err());
    }
}
