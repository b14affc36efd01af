//! Untrusted input to [`PresentedChain`]: PEM, DER, base64 DER and forwarded headers.
//!
//! Files and bytes go through [`parse`] with a [`Format`]; forwarded client-certificate
//! headers through [`decode_header`] (or [`decode_header_lines`],
//! [`decode_client_cert_and_chain`]) with a [`HeaderFormat`].
//!
//! Every decoder here checks [`Limits`] before doing work, returns a typed [`Error`] for
//! anything it cannot decode, and never panics. Decoding time is linear in the input.

use std::fmt;
use std::str::FromStr;

use rustls_pki_types::CertificateDer;

use crate::error::{Error, Result};

pub(crate) mod base64;
pub mod der;
mod escaped_pem;
mod header;
mod limits;
pub mod pem;
mod rfc9440;
mod traefik;
mod xfcc;

#[cfg(feature = "http")]
pub(crate) use header::{Expect, decode_header_lines_with};
pub use header::{HeaderFormat, decode_client_cert_and_chain, decode_header, decode_header_lines};
pub use limits::Limits;
#[cfg(feature = "http")]
pub(crate) use xfcc::MAX_ELEMENTS as MAX_XFCC_ELEMENTS;

/// Where a presented chain came from. Carried along so that logs, decision traces and
/// identity rules can tell a TLS peer from a forwarded header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// The peer certificates of a TLS connection this process terminated.
    Tls,
    /// A forwarded header, by (lowercase) name.
    Header(String),
    /// A file or other bytes handed over by the application or the operator.
    Bytes,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tls => f.write_str("tls"),
            Self::Header(name) => write!(f, "header:{name}"),
            Self::Bytes => f.write_str("bytes"),
        }
    }
}

/// How a certificate (chain) is encoded. The names (see [`Format::name`]) are the values
/// of the operator tool's `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Detect the encoding from the content. For the operator tool and an explicit opt-in;
    /// never the default of a server configuration.
    Auto,
    /// Strict RFC 7468 PEM (bundles allowed; non-certificate blocks skipped; keys refused).
    Pem,
    /// Lenient PEM: armour with any whitespace or none between base64 characters.
    PemLenient,
    /// Raw DER: one certificate, or several concatenated.
    Der,
    /// Standard base64 of DER (padding optional); several concatenated DER certificates allowed.
    Base64Der,
}

impl Format {
    /// Every format, in the order the operator tool lists them.
    pub const ALL: &'static [Format] =
        &[Self::Auto, Self::Pem, Self::PemLenient, Self::Der, Self::Base64Der];

    /// The stable name of this format, e.g. `"base64-der"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Pem => "pem",
            Self::PemLenient => "pem-lenient",
            Self::Der => "der",
            Self::Base64Der => "base64-der",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.iter().copied().find(|f| f.name().eq_ignore_ascii_case(s)).ok_or_else(|| {
            Error::malformed(format!(
                "unknown format name (known: {})",
                Self::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

/// An untrusted certificate chain as the client presented it: the leaf first, then the
/// intermediates in the order they were sent, tagged with where it came from and how it
/// was encoded.
///
/// Nothing about it has been verified; pass it to a verifier for that. It always holds at
/// least one certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct PresentedChain {
    certs: Vec<CertificateDer<'static>>,
    source: Source,
    format: Format,
    header_format: Option<HeaderFormat>,
}

impl PresentedChain {
    /// Builds a chain from DER certificates, leaf first. Checks that there is at least
    /// one certificate and no more certificates or DER bytes than `limits` allow
    /// ([`Limits::max_chain_len`], [`Limits::max_bundle`]), whatever the source; the certificates themselves are
    /// checked by whoever parses or verifies them.
    pub fn new(
        certs: Vec<CertificateDer<'static>>,
        source: Source,
        format: Format,
        limits: &Limits,
    ) -> Result<Self> {
        if certs.is_empty() {
            return Err(Error::no_certificate("no certificate in the input"));
        }
        limits.check_chain(certs.len())?;
        limits.check_bundle(certs.iter().map(|c| c.len()).sum())?;
        Ok(Self { certs, source, format, header_format: None })
    }

    /// The end-entity (client) certificate.
    pub fn leaf(&self) -> &CertificateDer<'static> {
        // `new` refuses an empty chain.
        &self.certs[0]
    }

    /// The certificates sent after the leaf, in order.
    pub fn intermediates(&self) -> &[CertificateDer<'static>] {
        &self.certs[1..]
    }

    /// All certificates, leaf first.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// Where the chain came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The certificate encoding it was decoded from (for [`Format::Auto`], the detected
    /// one). For a forwarded header this is the encoding inside the header:
    /// [`Format::Base64Der`] for base64 and RFC 9440 forms, [`Format::PemLenient`] for PEM
    /// forms (escaped, folded, one-line, XFCC); [`header_format`](Self::header_format)
    /// tells the header framing.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The forwarded-header format it was decoded from ([`decode_header`] and friends;
    /// for [`HeaderFormat::Auto`], the detected one), or `None` for a chain that did not
    /// come from a header.
    pub fn header_format(&self) -> Option<HeaderFormat> {
        self.header_format
    }

    pub(crate) fn with_header_format(mut self, format: HeaderFormat) -> Self {
        self.header_format = Some(format);
        self
    }

    /// Consumes the chain, returning its certificates, leaf first.
    pub fn into_certificates(self) -> Vec<CertificateDer<'static>> {
        self.certs
    }
}

/// Shows the shape of the chain and the leaf's thumbprint, never certificate bytes.
impl fmt::Debug for PresentedChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedChain")
            .field("leaf", &crate::Thumbprint::of(self.leaf()))
            .field("certificates", &self.certs.len())
            .field("source", &self.source)
            .field("format", &self.format)
            .field("header_format", &self.header_format)
            .finish()
    }
}

/// Decodes `input` in `format` into a [`PresentedChain`] tagged with [`Source::Bytes`].
///
/// The input is bounded by [`Limits::max_bundle`] and the chain by
/// [`Limits::max_chain_len`].
///
/// ```
/// use certauth::{parse, Format, Limits};
/// let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
/// let err = parse(pem.as_bytes(), Format::Auto, &Limits::default()).unwrap_err();
/// assert_eq!(err.kind(), certauth::ErrorKind::PrivateKeySupplied);
/// ```
pub fn parse(input: &[u8], format: Format, limits: &Limits) -> Result<PresentedChain> {
    limits.check_bundle(input.len())?;
    let (certs, format) = decode(input, format, limits)?;
    PresentedChain::new(certs, Source::Bytes, format, limits)
}

/// Decodes without a source tag; shared by [`parse`] and the header extractors.
pub(crate) fn decode(
    input: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<(Vec<CertificateDer<'static>>, Format)> {
    let certs = match format {
        Format::Auto => return detect(input, limits),
        Format::Pem => pem::parse_strict(input, limits)?,
        Format::PemLenient => pem::parse_lenient(input, limits)?,
        Format::Der => der::split_concatenated(input, limits)?,
        Format::Base64Der => base64::decode_der_chain(input, limits)?,
    };
    Ok((certs, format))
}

/// Content detection: DER starts with a SEQUENCE tag; text with PEM armour is PEM
/// (strict if it parses strictly, else lenient); anything else is tried as base64 DER.
fn detect(input: &[u8], limits: &Limits) -> Result<(Vec<CertificateDer<'static>>, Format)> {
    let text = trim_ascii_ws(input);
    if text.is_empty() {
        return Err(Error::no_certificate("input is empty"));
    }
    if text.first() == Some(&0x30) && input.first() == Some(&0x30) {
        return Ok((der::split_concatenated(input, limits)?, Format::Der));
    }
    if pem::contains_armour(text) {
        return match pem::parse_strict(input, limits) {
            Ok(certs) => Ok((certs, Format::Pem)),
            Err(strict) if strict.kind() == crate::ErrorKind::MalformedInput => {
                Ok((pem::parse_lenient(input, limits)?, Format::PemLenient))
            }
            Err(other) => Err(other),
        };
    }
    Ok((base64::decode_der_chain(text, limits)?, Format::Base64Der))
}

pub(crate) fn trim_ascii_ws(b: &[u8]) -> &[u8] {
    let is_ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|c| !is_ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_ws(c)).map_or(start, |i| i + 1);
    b.get(start..end).unwrap_or_default()
}
