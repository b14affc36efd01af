//! Forwarded client-certificate headers: [`HeaderFormat`] and the entry points
//! [`decode_header`], [`decode_header_lines`] and [`decode_client_cert_and_chain`].
//!
//! Every entry point applies the same steps before any format-specific decoding:
//! 1. the value length against [`Limits::max_header_value`] (`input_too_large`);
//! 2. CR, LF and NUL are refused (`malformed_input`), except the LF + SP/HTAB folding of
//!    [`HeaderFormat::NginxFolded`]; no correct producer emits them otherwise;
//! 3. SP/HTAB around the value are trimmed; for the text formats (all but the structured
//!    `rfc9440`, `rfc9440-chain`, `gcp` and `xfcc`) one pair of surrounding `"` is removed
//!    (old HAProxy `+Q`);
//! 4. "no certificate" sentinels give `no_certificate`: the empty value, `""`, `(null)`
//!    (Apache), `-` (what nginx logs and some setups forward for an empty variable), `::`
//!    (an empty RFC 8941 byte sequence, HAProxy's recipe), the empty
//!    one-line PEM `-----BEGIN CERTIFICATE----------END CERTIFICATE-----` (HAProxy) and
//!    an unreplaced Caddy placeholder `{http.request.tls.client.…}`.
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::fmt;
use std::str::FromStr;

use rustls_pki_types::CertificateDer;

use crate::error::{Error, ErrorKind, Result};
use crate::input::{
    Format, Limits, PresentedChain, Source, base64, escaped_pem, rfc9440, traefik, xfcc,
};

/// How a proxy encodes the client certificate in a forwarded header.
///
/// Configure exactly one format per header source: auto-detection
/// ([`HeaderFormat::Auto`]) is for the operator tool and an explicit opt-in, never a
/// server default, because a header name the proxy does not overwrite lets the client
/// choose what is read. The names ([`HeaderFormat::name`]) are stable and are the values
/// of the operator tool's `--format`; `docs/header-formats.md` in the repository gives
/// the sources of every encoding.
///
/// ```
/// use certauth::HeaderFormat;
/// let f: HeaderFormat = "xfcc".parse()?;
/// assert_eq!(f, HeaderFormat::Xfcc);
/// assert_eq!(f.default_header_name(), Some("x-forwarded-client-cert"));
/// # Ok::<(), certauth::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HeaderFormat {
    /// RFC 9440 `Client-Cert`: one RFC 8941 byte sequence `:base64(DER):`. A singleton:
    /// a list or two field lines are refused. `::` means no certificate.
    Rfc9440,
    /// RFC 9440 `Client-Cert-Chain`: an RFC 8941 list of byte sequences in TLS order,
    /// usually without the leaf; several field lines are joined with `,`. Decoded alone
    /// it yields the listed certificates; see [`decode_client_cert_and_chain`] to combine
    /// it with `Client-Cert`.
    Rfc9440Chain,
    /// Envoy / Istio `x-forwarded-client-cert`: the certificate (or `Chain`) of the first
    /// element, with its `Hash` checked. Several field lines are joined with `,`. The value
    /// must hold exactly one element (Envoy's `SANITIZE_SET`); an `http::HeaderSource` can
    /// expect more (`HeaderSourceBuilder::xfcc_elements`). Keys must come in Envoy's order, so that a
    /// client's unquoted `URI` or `DNS` SAN can never add a certificate.
    Xfcc,
    /// nginx `$ssl_client_escaped_cert`: URL-encoded PEM (also Kubernetes ingress-nginx
    /// `ssl-client-cert`, Kong, Azure Application Gateway `{var_client_certificate}`).
    NginxEscaped,
    /// nginx `$ssl_client_cert` (deprecated): PEM whose line breaks are folded as LF + TAB,
    /// or the same with the folds replaced by spaces by the receiving HTTP library.
    NginxFolded,
    /// Apache `%{SSL_CLIENT_CERT}s`: PEM with every line break replaced by a space;
    /// `(null)` means no certificate.
    Apache,
    /// HAProxy `%[ssl_c_der,base64]` (one certificate) or `%[ssl_c_chain_der,base64]`
    /// (several DER certificates concatenated before base64).
    HaproxyDer,
    /// One-line PEM without line breaks (IBM API Connect `X-Client-Certificate`, HAProxy's
    /// PEM recipe); any whitespace inside is tolerated.
    PemOneline,
    /// AWS Application Load Balancer `X-Amzn-Mtls-Clientcert` (passthrough: the whole
    /// chain) and `X-Amzn-Mtls-Clientcert-Leaf` (verify mode): URL-encoded PEM where `+`,
    /// `=` and `/` may be left unescaped (`+` stays `+`).
    AwsAlb,
    /// AWS CloudFront viewer mTLS `CloudFront-Viewer-Cert-Pem`: URL-encoded PEM leaf.
    Cloudfront,
    /// Traefik `X-Forwarded-Tls-Client-Cert`: base64 DER certificates separated by `,`,
    /// leaf first; before Traefik 2.9.4 each one URL-escaped.
    Traefik,
    /// Azure App Service `X-ARR-ClientCert`: base64 DER of the leaf.
    AzureArr,
    /// ASP.NET Core `CertificateForwarding` (`X-Client-Cert`): base64 DER.
    Aspnet,
    /// Cloudflare API Shield `Cf-Client-Cert-Der-Base64` (base64 DER); a value that starts
    /// with `:` is read as the RFC 9440 `Client-Cert` Transform Rule field instead.
    Cloudflare,
    /// Google Cloud Application Load Balancer `{client_cert_leaf}` custom header: an RFC 9440
    /// byte sequence. Its `{client_cert_chain}` header is [`HeaderFormat::Rfc9440Chain`].
    Gcp,
    /// Caddy `{http.request.tls.client.certificate_der_base64}`: base64 DER; the literal,
    /// unreplaced placeholder means no certificate.
    Caddy,
    /// Base64 of one DER certificate or several concatenated (F5 iRules and anything else).
    Base64Der,
    /// Detect the encoding (in the order of `docs/header-formats.md` §13): RFC 9440
    /// byte sequences, XFCC, PEM (escaped or not), Traefik lists, base64 DER. For the
    /// operator tool and an explicit opt-in only.
    Auto,
}

impl HeaderFormat {
    /// Every format, in the order the operator tool lists them.
    pub const ALL: &'static [HeaderFormat] = &[
        Self::Rfc9440,
        Self::Rfc9440Chain,
        Self::Xfcc,
        Self::NginxEscaped,
        Self::NginxFolded,
        Self::Apache,
        Self::HaproxyDer,
        Self::PemOneline,
        Self::AwsAlb,
        Self::Cloudfront,
        Self::Traefik,
        Self::AzureArr,
        Self::Aspnet,
        Self::Cloudflare,
        Self::Gcp,
        Self::Caddy,
        Self::Base64Der,
        Self::Auto,
    ];

    /// The stable name of this format, e.g. `"nginx-escaped"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Rfc9440 => "rfc9440",
            Self::Rfc9440Chain => "rfc9440-chain",
            Self::Xfcc => "xfcc",
            Self::NginxEscaped => "nginx-escaped",
            Self::NginxFolded => "nginx-folded",
            Self::Apache => "apache",
            Self::HaproxyDer => "haproxy-der",
            Self::PemOneline => "pem-oneline",
            Self::AwsAlb => "aws-alb",
            Self::Cloudfront => "cloudfront",
            Self::Traefik => "traefik",
            Self::AzureArr => "azure-arr",
            Self::Aspnet => "aspnet",
            Self::Cloudflare => "cloudflare",
            Self::Gcp => "gcp",
            Self::Caddy => "caddy",
            Self::Base64Der => "base64-der",
            Self::Auto => "auto",
        }
    }

    /// The (lowercase) header name the producer uses by default, or the most common one
    /// where the operator names it; `None` for [`HeaderFormat::Auto`].
    pub const fn default_header_name(self) -> Option<&'static str> {
        Some(match self {
            Self::Rfc9440 => "client-cert",
            Self::Rfc9440Chain => "client-cert-chain",
            Self::Xfcc => "x-forwarded-client-cert",
            Self::NginxEscaped => "ssl-client-cert",
            Self::NginxFolded | Self::HaproxyDer => "x-ssl-client-cert",
            Self::Apache => "x-ssl-cert",
            Self::PemOneline => "x-client-certificate",
            Self::AwsAlb => "x-amzn-mtls-clientcert",
            Self::Cloudfront => "cloudfront-viewer-cert-pem",
            Self::Traefik => "x-forwarded-tls-client-cert",
            Self::AzureArr => "x-arr-clientcert",
            Self::Aspnet | Self::Caddy | Self::Base64Der => "x-client-cert",
            Self::Cloudflare => "cf-client-cert-der-base64",
            Self::Gcp => "x-client-cert-leaf",
            Self::Auto => return None,
        })
    }

    /// True if the header is list-valued, so that several field lines are joined with `,`
    /// (RFC 9110 5.3): `rfc9440-chain` and `xfcc`. For every other format a second field
    /// line is refused with `duplicate_header`: a forged line and the proxy's line must
    /// not merge.
    pub const fn allows_multiple_lines(self) -> bool {
        matches!(self, Self::Rfc9440Chain | Self::Xfcc)
    }

    /// The certificate encoding inside the header, as reported by [`PresentedChain::format`]
    /// (`Auto` is never reported: a decoded chain carries the detected format).
    const fn inner_format(self) -> Format {
        match self {
            Self::Xfcc
            | Self::NginxEscaped
            | Self::NginxFolded
            | Self::Apache
            | Self::PemOneline
            | Self::AwsAlb
            | Self::Cloudfront => Format::PemLenient,
            Self::Auto => Format::Auto,
            _ => Format::Base64Der,
        }
    }

    /// Structured formats keep their quotes (a quoted value is a different item type).
    const fn strips_quotes(self) -> bool {
        !matches!(self, Self::Rfc9440 | Self::Rfc9440Chain | Self::Gcp | Self::Xfcc)
    }
}

impl fmt::Display for HeaderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for HeaderFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL.iter().copied().find(|f| f.name().eq_ignore_ascii_case(s)).ok_or_else(|| {
            Error::malformed(format!(
                "unknown header format name (known: {})",
                Self::ALL.iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
            ))
        })
    }
}

/// Decodes one forwarded-header value into a [`PresentedChain`] tagged with
/// [`Source::Header`] (the lowercase `header_name`) and `format`
/// ([`PresentedChain::header_format`]; for [`HeaderFormat::Auto`] the detected format).
///
/// Bounded by [`Limits::max_header_value`] (checked first) and [`Limits::max_chain_len`];
/// linear in the value; never panics. Errors: `input_too_large`, `malformed_input` (also
/// for CR, LF or NUL in the value), `no_certificate` for the sentinels listed in the
/// module docs, `private_key_supplied`, `digest_mismatch` (XFCC `Hash`). Messages name
/// the header and offsets, never the value.
///
/// The caller is responsible for the trust boundary: only read such a header when the
/// request came from a trusted proxy (see the `http` feature).
///
/// ```
/// use certauth::{decode_header, HeaderFormat, Limits};
/// let value = std::fs::read("tests/data/headers/rfc9440-client-cert-ec.txt")?;
/// let chain = decode_header(&value, HeaderFormat::Rfc9440, "Client-Cert", &Limits::default())?;
/// assert_eq!(chain.source().to_string(), "header:client-cert");
/// assert_eq!(chain.header_format(), Some(HeaderFormat::Rfc9440));
///
/// let err = decode_header(b"(null)", HeaderFormat::Apache, "x-ssl-cert", &Limits::default());
/// assert_eq!(err.unwrap_err().kind(), certauth::ErrorKind::NoCertificate);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_header(
    value: &[u8],
    format: HeaderFormat,
    header_name: &str,
    limits: &Limits,
) -> Result<PresentedChain> {
    decode_header_with(value, format, header_name, limits, Expect::DEFAULT)
}

/// What a configuration expects of a value beyond its format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expect {
    /// The number of XFCC elements (proxy hops that set or append the header).
    pub(crate) xfcc_elements: usize,
}

impl Expect {
    /// What [`decode_header`] expects: one XFCC element.
    pub(crate) const DEFAULT: Self = Self { xfcc_elements: 1 };
}

fn decode_header_with(
    value: &[u8],
    format: HeaderFormat,
    header_name: &str,
    limits: &Limits,
    expect: Expect,
) -> Result<PresentedChain> {
    let (certs, detected) =
        decode_value(value, format, limits, expect).map_err(|e| in_header(e, header_name))?;
    finish(certs, detected, header_name, limits)
}

/// Like [`decode_header`], for a header that arrived as several field lines (in order).
///
/// For list-valued formats ([`HeaderFormat::allows_multiple_lines`]: `rfc9440-chain`,
/// `xfcc`) the lines are joined with `,`, as HTTP defines; the bound applies to the joined
/// value. For every other format more than one line is `duplicate_header`. No line at
/// all is `no_certificate`.
///
/// ```
/// use certauth::{decode_header_lines, HeaderFormat, Limits};
/// let v = std::fs::read("tests/data/headers/rfc9440-client-cert-ec.txt")?;
/// let err = decode_header_lines(&[&v, &v], HeaderFormat::Rfc9440, "client-cert", &Limits::default());
/// assert_eq!(err.unwrap_err().kind(), certauth::ErrorKind::DuplicateHeader);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_header_lines(
    lines: &[&[u8]],
    format: HeaderFormat,
    header_name: &str,
    limits: &Limits,
) -> Result<PresentedChain> {
    decode_header_lines_with(lines, format, header_name, limits, Expect::DEFAULT)
}

/// [`decode_header_lines`] with what a configuration expects beyond the format.
pub(crate) fn decode_header_lines_with(
    lines: &[&[u8]],
    format: HeaderFormat,
    header_name: &str,
    limits: &Limits,
    expect: Expect,
) -> Result<PresentedChain> {
    match lines {
        [] => Err(Error::no_certificate(format!("header {header_name} is absent"))),
        [one] => decode_header_with(one, format, header_name, limits, expect),
        _ if !format.allows_multiple_lines() => Err(duplicate(lines.len(), header_name)),
        _ => {
            let total = lines.iter().map(|l| l.len()).sum::<usize>() + lines.len() - 1;
            check_length(total, limits).map_err(|e| in_header(e, header_name))?;
            let joined = lines.join(&b","[..]);
            decode_header_with(&joined, format, header_name, limits, expect)
        }
    }
}

/// Decodes RFC 9440 `Client-Cert` (exactly one field line) together with
/// `Client-Cert-Chain` (any number of field lines, possibly none) into one chain: the leaf,
/// then the listed certificates. A chain that repeats the leaf first is tolerated (the
/// copy is dropped). Each header is bounded by [`Limits::max_header_value`]; the whole
/// chain by [`Limits::max_chain_len`]. Tagged with the `Client-Cert` header name.
///
/// Only read `Client-Cert-Chain` from a proxy that sets or deletes it on every request:
/// passed through from a client, it lets the client choose the intermediates that path
/// building starts from.
///
/// ```
/// use certauth::{decode_client_cert_and_chain, Limits};
/// let leaf = std::fs::read("tests/data/headers/rfc9440-client-cert-ec.txt")?;
/// let chain = std::fs::read("tests/data/headers/rfc9440-client-cert-chain-ec.txt")?;
/// let c = decode_client_cert_and_chain(&[&leaf], &[&chain], "client-cert", &Limits::default())?;
/// assert_eq!(c.certificates().len(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decode_client_cert_and_chain(
    client_cert: &[&[u8]],
    client_cert_chain: &[&[u8]],
    header_name: &str,
    limits: &Limits,
) -> Result<PresentedChain> {
    let leaf = decode_header_lines(client_cert, HeaderFormat::Rfc9440, header_name, limits)?;
    if client_cert_chain.is_empty() {
        return Ok(leaf);
    }
    let chain_name = "client-cert-chain";
    let rest = match decode_header_lines(
        client_cert_chain,
        HeaderFormat::Rfc9440Chain,
        chain_name,
        limits,
    ) {
        Ok(rest) => rest.into_certificates(),
        // Cloudflare sends an empty field when there are no intermediates.
        Err(e) if e.kind() == ErrorKind::NoCertificate => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut certs = leaf.into_certificates();
    let skip = usize::from(rest.first() == certs.first());
    certs.extend(rest.into_iter().skip(skip));
    finish(certs, HeaderFormat::Rfc9440, header_name, limits)
}

fn finish(
    certs: Vec<CertificateDer<'static>>,
    format: HeaderFormat,
    header_name: &str,
    limits: &Limits,
) -> Result<PresentedChain> {
    let source = Source::Header(header_name.to_ascii_lowercase());
    PresentedChain::new(certs, source, format.inner_format(), limits)
        .map(|c| c.with_header_format(format))
        .map_err(|e| in_header(e, header_name))
}

/// `e` with the header's name in front (`header x-ssl-client-cert: ...`; `header: ...`
/// for an empty name).
fn in_header(e: Error, header_name: &str) -> Error {
    let message = if header_name.is_empty() {
        format!("header: {}", e.message())
    } else {
        format!("header {header_name}: {}", e.message())
    };
    Error::new(e.kind(), message)
}

/// [`Limits::max_header_value`], in words that read well after [`in_header`].
fn check_length(len: usize, limits: &Limits) -> Result<()> {
    limits
        .check_header(len)
        .map_err(|_| Error::too_large("value length", len, limits.max_header_value()))
}

fn duplicate(lines: usize, header_name: &str) -> Error {
    Error::new(
        ErrorKind::DuplicateHeader,
        format!("header {header_name}: {lines} field lines for a single-valued header"),
    )
}

/// Steps 1 to 4 of the module docs, then the format's decoder. Returns the certificates
/// and the format actually decoded (the detected one for `Auto`).
pub(crate) fn decode_value(
    value: &[u8],
    format: HeaderFormat,
    limits: &Limits,
    expect: Expect,
) -> Result<(Vec<CertificateDer<'static>>, HeaderFormat)> {
    check_length(value.len(), limits)?;
    check_controls(value, format == HeaderFormat::NginxFolded)?;
    let mut v = value.trim_ascii();
    if let (true, [b'"', inner @ .., b'"']) = (format.strips_quotes(), v) {
        v = inner.trim_ascii();
    }
    if let Some(what) = sentinel(v) {
        return Err(Error::no_certificate(what));
    }
    let certs = match format {
        HeaderFormat::Rfc9440 | HeaderFormat::Gcp => vec![rfc9440::decode_item(v)?],
        HeaderFormat::Rfc9440Chain => rfc9440::decode_list(v, limits)?,
        HeaderFormat::Xfcc => xfcc::decode(v, limits, expect.xfcc_elements)?,
        HeaderFormat::NginxEscaped | HeaderFormat::AwsAlb | HeaderFormat::Cloudfront => {
            escaped_pem::decode_escaped(v, limits)?
        }
        HeaderFormat::NginxFolded | HeaderFormat::Apache | HeaderFormat::PemOneline => {
            escaped_pem::decode_plain(v, limits)?
        }
        HeaderFormat::Traefik => traefik::decode(v, limits)?,
        HeaderFormat::Cloudflare if v.first() == Some(&b':') => vec![rfc9440::decode_item(v)?],
        HeaderFormat::HaproxyDer
        | HeaderFormat::AzureArr
        | HeaderFormat::Aspnet
        | HeaderFormat::Cloudflare
        | HeaderFormat::Caddy
        | HeaderFormat::Base64Der => base64::decode_der_chain(v, limits)?,
        HeaderFormat::Auto => return detect(v, limits),
    };
    Ok((certs, format))
}

/// The detection order of `docs/header-formats.md` §13, on a trimmed value that is not a
/// sentinel.
fn detect(v: &[u8], limits: &Limits) -> Result<(Vec<CertificateDer<'static>>, HeaderFormat)> {
    if v.first() == Some(&b':') {
        let certs = rfc9440::decode_list(v, limits)?;
        let f = if certs.len() == 1 { HeaderFormat::Rfc9440 } else { HeaderFormat::Rfc9440Chain };
        return Ok((certs, f));
    }
    if looks_like_xfcc(v) {
        return Ok((xfcc::decode(v, limits, Expect::DEFAULT.xfcc_elements)?, HeaderFormat::Xfcc));
    }
    if contains(v, b"-----BEGIN%") {
        return Ok((escaped_pem::decode_escaped(v, limits)?, HeaderFormat::NginxEscaped));
    }
    if contains(v, b"-----BEGIN") {
        return Ok((escaped_pem::decode_plain(v, limits)?, HeaderFormat::PemOneline));
    }
    if memchr::memchr2(b',', b'%', v).is_some() {
        return Ok((traefik::decode(v, limits)?, HeaderFormat::Traefik));
    }
    Ok((base64::decode_der_chain(v, limits)?, HeaderFormat::Base64Der))
}

fn looks_like_xfcc(v: &[u8]) -> bool {
    let Some(eq) = v.iter().take(8).position(|&c| c == b'=') else {
        return false;
    };
    let key = v.get(..eq).unwrap_or_default();
    ["by", "hash", "cert", "chain", "subject", "uri", "dns"]
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k.as_bytes()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// CR, LF and NUL are refused; with `folded`, an LF followed by SP or HTAB is allowed.
fn check_controls(value: &[u8], folded: bool) -> Result<()> {
    for at in memchr::memchr3_iter(b'\r', b'\n', 0, value) {
        let fold = folded
            && value.get(at) == Some(&b'\n')
            && matches!(value.get(at + 1), Some(b'\t' | b' '));
        if !fold {
            let what = match value.get(at) {
                Some(b'\r') => "carriage return",
                Some(b'\n') => "line feed",
                _ => "nul byte",
            };
            return Err(Error::malformed(format!("{what} in the value at offset {at}")));
        }
    }
    Ok(())
}

/// The "no certificate" sentinel `v` (trimmed, unquoted) is, if any.
fn sentinel(v: &[u8]) -> Option<&'static str> {
    const EMPTY_PEM: &[u8] = b"-----BEGINCERTIFICATE----------ENDCERTIFICATE-----";
    const CADDY: &[u8] = b"{http.request.tls.client.";
    match v {
        b"" | b"\"\"" => Some("empty value"),
        b"(null)" => Some("value (null): no certificate"),
        b"-" => Some("value -: no certificate"),
        b"::" => Some("empty byte sequence: no certificate"),
        _ if v.starts_with(CADDY) && v.ends_with(b"}") => {
            Some("unreplaced caddy placeholder: no certificate")
        }
        _ if v.len() < 2 * EMPTY_PEM.len()
            && v.iter()
                .copied()
                .filter(|c| !c.is_ascii_whitespace())
                .eq(EMPTY_PEM.iter().copied()) =>
        {
            Some("empty pem block: no certificate")
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const LEAF_B64: &[u8] =
        include_bytes!("../../tests/data/headers/azure-app-service-x-arr-clientcert-ec.txt");

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for f in HeaderFormat::ALL {
            assert!(seen.insert(f.name()));
            assert_eq!(f.name().parse::<HeaderFormat>().unwrap(), *f);
            assert_eq!(f.to_string(), f.name());
            assert_eq!(f.default_header_name().is_none(), *f == HeaderFormat::Auto);
        }
        assert!("nope".parse::<HeaderFormat>().is_err());
    }

    #[test]
    fn sentinels_are_no_certificate() {
        let l = Limits::default();
        for v in [
            &b""[..],
            b"  ",
            b"\"\"",
            b"(null)",
            b"::",
            b"-----BEGIN CERTIFICATE----------END CERTIFICATE-----",
            b"-----BEGIN CERTIFICATE----- -----END CERTIFICATE-----",
            b"{http.request.tls.client.certificate_der_base64}",
            b"-",
            b" - ",
        ] {
            for f in HeaderFormat::ALL {
                let e = decode_value(v, *f, &l, Expect::DEFAULT).unwrap_err();
                assert_eq!(
                    e.kind(),
                    ErrorKind::NoCertificate,
                    "{f} {}",
                    String::from_utf8_lossy(v)
                );
            }
        }
    }

    #[test]
    fn controls_are_refused_except_nginx_folds() {
        let l = Limits::default();
        for v in [&b"MII\r\nB"[..], b"MII\nB", b"MII\0B", b"MII\n"] {
            for f in HeaderFormat::ALL {
                let e = decode_value(v, *f, &l, Expect::DEFAULT).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::MalformedInput, "{f}");
                assert!(e.message().contains("in the value at offset 3"), "{e}");
            }
        }
        assert!(check_controls(b"a\n\tb\n c", true).is_ok());
        assert!(check_controls(b"a\nb", true).is_err());
        assert!(check_controls(b"a\r\n\tb", true).is_err());
    }

    /// Messages name the header once: `header x: ...`, never `header x: header ...`.
    #[test]
    fn messages_name_the_header_once() {
        let l = Limits::default().with_max_header_value(10);
        let cases: [(&[&[u8]], HeaderFormat); 6] = [
            (&[b""], HeaderFormat::Apache),
            (&[b"-"], HeaderFormat::NginxEscaped),
            (&[b"(null)"], HeaderFormat::Apache),
            (&[b"MII\nB"], HeaderFormat::Base64Der),
            (&[b"MIIMIIMIIMII"], HeaderFormat::Base64Der),
            (&[b"MIIMII", b"MIIMII"], HeaderFormat::Xfcc),
        ];
        for (lines, format) in cases {
            for name in ["x-ssl-client-cert", "header"] {
                let e = decode_header_lines(lines, format, name, &l).unwrap_err();
                let message = e.message();
                assert!(message.starts_with(&format!("header {name}: ")), "{message}");
                assert!(!message.contains("header header") || name == "header", "{message}");
                assert_eq!(message.matches("header").count(), 1 + usize::from(name == "header"));
            }
        }
        let e = decode_header_lines(&[], HeaderFormat::Apache, "x-ssl-cert", &l).unwrap_err();
        assert_eq!(e.message(), "header x-ssl-cert is absent");
        let e = decode_header(b"-", HeaderFormat::NginxEscaped, "", &l).unwrap_err();
        assert_eq!(
            (e.kind(), e.message()),
            (ErrorKind::NoCertificate, "header: value -: no certificate")
        );
        let e = decode_header(b"MIIMIIMIIMII", HeaderFormat::Base64Der, "x", &l).unwrap_err();
        assert_eq!(e.message(), "header x: value length is 12, more than the limit of 10");
    }

    #[test]
    fn size_is_checked_first() {
        let l = Limits::default().with_max_header_value(10);
        let e = decode_value(&[0u8; 11], HeaderFormat::Base64Der, &l, Expect::DEFAULT).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
        let e =
            decode_header_lines(&[b"aaaaa", b"aaaaa"], HeaderFormat::Xfcc, "x", &l).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
    }

    #[test]
    fn quotes_are_stripped_for_text_formats_only() {
        let l = Limits::default();
        let quoted = [&b"\""[..], LEAF_B64, b"\""].concat();
        assert!(decode_value(&quoted, HeaderFormat::HaproxyDer, &l, Expect::DEFAULT).is_ok());
        let e = decode_value(&quoted, HeaderFormat::Rfc9440, &l, Expect::DEFAULT).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedInput);
    }
}
