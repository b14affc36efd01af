//! Certificate thumbprints: the SHA-256 of a certificate's DER.
//!
//! A [`Thumbprint`] prints as RFC 8705's `x5t#S256` (base64url, no padding) or as hex,
//! parses back from either, and compares in constant time. Binding tokens to verified
//! certificates is [`check_token_binding`](crate::check_token_binding)'s job.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, Result};

/// SHA-256 of a certificate's DER encoding: the `x5t#S256` of RFC 8705 section 3.1.
///
/// Equality is constant-time, so comparing a presented thumbprint with a pinned one does
/// not leak how many leading bytes matched.
///
/// ```
/// use certauth::Thumbprint;
/// let t = Thumbprint::of(b"not really a certificate");
/// let text = t.to_x5t_s256();
/// assert_eq!(text.len(), 43);
/// assert_eq!(text.parse::<Thumbprint>().unwrap(), t);
/// assert_eq!(Thumbprint::parse(&t.to_hex()).unwrap(), t);
/// assert_eq!(Thumbprint::parse(&t.to_hex_colons()).unwrap(), t);
/// ```
#[derive(Clone, Copy, Eq)]
pub struct Thumbprint([u8; 32]);

impl Thumbprint {
    /// The SHA-256 of `der` (the certificate's complete DER encoding).
    pub fn of(der: &[u8]) -> Self {
        Self(Sha256::digest(der).into())
    }

    /// Wraps a SHA-256 digest computed elsewhere.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// RFC 8705 `x5t#S256`: base64url without padding (43 characters).
    pub fn to_x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Lowercase hex (64 characters), as Envoy's XFCC `Hash` and Caddy print it.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0, None)
    }

    /// Uppercase colon-separated hex (`AB:CD:...`), as `openssl x509 -fingerprint` prints.
    pub fn to_hex_colons(&self) -> String {
        crate::hex::encode(&self.0, Some(':')).to_ascii_uppercase()
    }

    /// Parses `x5t#S256` (base64url, padding optional) or hex (64 digits, any case,
    /// optionally separated by `:`). Errors are `malformed_input`.
    pub fn parse(s: &str) -> Result<Self> {
        parse_digest(s).map(Self).map_err(|why| Error::malformed(format!("thumbprint: {why}")))
    }
}

impl PartialEq for Thumbprint {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::hash::Hash for Thumbprint {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl FromStr for Thumbprint {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// Displays as `x5t#S256`.
impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_x5t_s256())
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({})", self.to_x5t_s256())
    }
}

fn parse_digest(s: &str) -> std::result::Result<[u8; 32], &'static str> {
    let s = s.trim();
    let hexdigits: String = s.chars().filter(|&c| c != ':').collect();
    let digest = crate::hex::decode_sha256(hexdigits.as_bytes());
    if let Some(out) = digest
        && (s.len() == 64 || s.len() == 95)
    {
        if s.len() == 95 && !s.bytes().skip(2).step_by(3).all(|b| b == b':') {
            return Err("misplaced ':' in hex");
        }
        return Ok(out);
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| "neither base64url x5t#S256 nor 64 hex digits")?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| "not a sha-256 digest (wrong length)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const LEAF: &[u8] = include_bytes!("../tests/data/pki/leaf-ec.der");

    #[test]
    fn formats_and_parses() {
        let t = Thumbprint::of(LEAF);
        let hex = t.to_hex();
        assert_eq!(hex.len(), 64);
        assert_eq!(t.to_hex_colons().len(), 95);
        for text in [t.to_x5t_s256(), format!("{}=", t.to_x5t_s256()), hex.to_uppercase()] {
            assert_eq!(Thumbprint::parse(&text).unwrap(), t, "{text}");
        }
        assert_eq!(Thumbprint::parse(&t.to_hex_colons()).unwrap(), t);
    }

    #[test]
    fn parse_refuses_everything_else() {
        let t = Thumbprint::of(LEAF);
        let mut misplaced = t.to_hex_colons();
        misplaced.replace_range(2..4, "A:");
        for bad in [
            String::new(),
            "zz".repeat(32),
            t.to_hex()[..62].to_string(),
            misplaced,
            base64::engine::general_purpose::STANDARD.encode([0xfb; 32]), // '+' and '/'
            URL_SAFE_NO_PAD.encode([1u8; 20]),
        ] {
            let e = Thumbprint::parse(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{bad}");
        }
    }

    /// Cross-check against openssl:
    /// `openssl x509 -in leaf-ec.pem -outform DER | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='`
    #[test]
    fn matches_openssl() {
        let openssl = std::process::Command::new("sh")
            .arg("-c")
            .arg(
                "openssl x509 -in tests/data/pki/leaf-ec.pem -outform DER \
                 | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='",
            )
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
        let Ok(out) = openssl else {
            panic!("openssl is required for this cross-check (apt-get install openssl)");
        };
        assert!(out.status.success(), "openssl failed");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), Thumbprint::of(LEAF).to_x5t_s256());
    }
}
