//! Errors: one [`Error`] type carrying a stable [`ErrorKind`] and a short message.
//!
//! The kind is what programs match on (and what the HTTP integration maps to a status
//! code); the message is for people and logs. Messages are short, lowercase, and carry
//! context such as offsets, labels, sizes, times and names. They never contain a whole
//! certificate, key or header value: everything here may end up in a log line.

use std::borrow::Cow;
use std::fmt;

/// The category of an [`Error`].
///
/// The set of kinds and their [`as_str`](ErrorKind::as_str) names are stable: scripts and
/// dashboards depend on them. New kinds may be added in minor releases, hence
/// `#[non_exhaustive]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input could not be decoded (bad base64, bad PEM armour, bad DER, bad header grammar).
    MalformedInput,
    /// The input exceeds a configured bound (bytes, certificates, elements).
    InputTooLarge,
    /// The input holds no certificate, or a "no certificate" sentinel a proxy sends.
    NoCertificate,
    /// The input holds a private key. Keys are never accepted, and never echoed.
    PrivateKeySupplied,
    /// A forwarded certificate header arrived from a peer that is not a trusted proxy.
    UntrustedSource,
    /// A single-valued header field arrived more than once.
    DuplicateHeader,
    /// The trusted proxy's own verification signal (e.g. nginx `$ssl_client_verify`) is
    /// missing or does not say the client certificate passed.
    ProxyVerificationFailed,
    /// A digest sent beside the certificate (XFCC `Hash`) does not match it.
    DigestMismatch,
    /// The chain does not lead to a configured trust anchor.
    UnknownIssuer,
    /// A certificate of the chain has expired at the verification time.
    Expired,
    /// A certificate of the chain is not yet valid at the verification time.
    NotYetValid,
    /// A certificate of the chain is revoked.
    Revoked,
    /// No revocation information covers a certificate and policy denies unknown status.
    RevocationUnknown,
    /// The revocation information is too old (past `nextUpdate` or older than the maximum age).
    RevocationStale,
    /// The leaf lacks the required extended key usage, or a key usage forbids this use.
    WrongUsage,
    /// A key is weaker than the configured key policy allows.
    WeakKey,
    /// A signature or key algorithm is not supported or not allowed.
    UnsupportedAlgorithm,
    /// A signature in the chain does not verify.
    BadSignature,
    /// The chain is longer than the configured maximum depth.
    ChainTooLong,
    /// A name constraint of an issuer excludes the certificate.
    NameConstraintViolation,
    /// A certificate is structurally invalid for its role (e.g. an issuer that is not a CA).
    InvalidCertificate,
    /// The verified identity does not satisfy the configured identity rules.
    IdentityMismatch,
    /// An RFC 8705 certificate-bound token does not match the certificate.
    BindingMismatch,
    /// The certificate is valid but not registered to any client.
    UnknownClient,
    /// The client the certificate belongs to is suspended, or the certificate is retired.
    ClientSuspended,
    /// The client registry could not be reached or failed.
    RegistryUnavailable,
    /// Too many uncached verifications are waiting; the request was refused at once
    /// rather than queued without bound. Retrying later may succeed.
    Overloaded,
    /// The server gave a request that carries a forwarded certificate header no peer
    /// address (neither the tower layer's `ConnectionInfo` nor axum's
    /// `ConnectInfo<SocketAddr>`), so a trusted proxy cannot be told from anyone else: a
    /// mistake in the server's setup, not in the request.
    MissingConnectionInfo,
    /// The client is authenticated, but a route's policy
    /// ([`authorize::Policy`](crate::authorize::Policy)) does not let it in: not one of
    /// the route's client ids, identity rule or registry metadata.
    NotPermitted,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [ErrorKind] = &[
        Self::MalformedInput,
        Self::InputTooLarge,
        Self::NoCertificate,
        Self::PrivateKeySupplied,
        Self::UntrustedSource,
        Self::DuplicateHeader,
        Self::ProxyVerificationFailed,
        Self::DigestMismatch,
        Self::UnknownIssuer,
        Self::Expired,
        Self::NotYetValid,
        Self::Revoked,
        Self::RevocationUnknown,
        Self::RevocationStale,
        Self::WrongUsage,
        Self::WeakKey,
        Self::UnsupportedAlgorithm,
        Self::BadSignature,
        Self::ChainTooLong,
        Self::NameConstraintViolation,
        Self::InvalidCertificate,
        Self::IdentityMismatch,
        Self::BindingMismatch,
        Self::UnknownClient,
        Self::ClientSuspended,
        Self::RegistryUnavailable,
        Self::Overloaded,
        Self::MissingConnectionInfo,
        Self::NotPermitted,
    ];

    /// The stable snake_case name of this kind, e.g. `"malformed_input"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MalformedInput => "malformed_input",
            Self::InputTooLarge => "input_too_large",
            Self::NoCertificate => "no_certificate",
            Self::PrivateKeySupplied => "private_key_supplied",
            Self::UntrustedSource => "untrusted_source",
            Self::DuplicateHeader => "duplicate_header",
            Self::ProxyVerificationFailed => "proxy_verification_failed",
            Self::DigestMismatch => "digest_mismatch",
            Self::UnknownIssuer => "unknown_issuer",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::Revoked => "revoked",
            Self::RevocationUnknown => "revocation_unknown",
            Self::RevocationStale => "revocation_stale",
            Self::WrongUsage => "wrong_usage",
            Self::WeakKey => "weak_key",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::BadSignature => "bad_signature",
            Self::ChainTooLong => "chain_too_long",
            Self::NameConstraintViolation => "name_constraint_violation",
            Self::InvalidCertificate => "invalid_certificate",
            Self::IdentityMismatch => "identity_mismatch",
            Self::BindingMismatch => "binding_mismatch",
            Self::UnknownClient => "unknown_client",
            Self::ClientSuspended => "client_suspended",
            Self::RegistryUnavailable => "registry_unavailable",
            Self::Overloaded => "overloaded",
            Self::MissingConnectionInfo => "missing_connection_info",
            Self::NotPermitted => "not_permitted",
        }
    }

    /// Parses a name produced by [`as_str`](ErrorKind::as_str).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// True for kinds caused by the shape of the input rather than by what it proves
    /// (the HTTP integration answers these with 400).
    pub const fn is_input_error(self) -> bool {
        matches!(
            self,
            Self::MalformedInput
                | Self::InputTooLarge
                | Self::PrivateKeySupplied
                | Self::DuplicateHeader
                | Self::DigestMismatch
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned by every fallible certauth operation on untrusted input.
///
/// Match on [`kind`](Error::kind); show [`Display`](fmt::Display) (the message) to people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Cow<'static, str>,
}

impl Error {
    /// An error of `kind` with a message. Keep messages short and lowercase; never put a
    /// certificate, key or header value into one.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self { kind, message: message.into() }
    }

    /// The stable category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (without the kind).
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn malformed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::MalformedInput, message)
    }

    pub(crate) fn too_large(what: &str, size: usize, limit: usize) -> Self {
        Self::new(
            ErrorKind::InputTooLarge,
            format!("{what} is {size}, more than the limit of {limit}"),
        )
    }

    pub(crate) fn no_certificate(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NoCertificate, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// A configuration that a builder refuses to build.
///
/// Configuration problems are reported when the configuration is built, never on the
/// first request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No trust anchor was configured.
    #[error("the trust store has no trust anchors")]
    NoTrustAnchors,
    /// A configured file or value could not be used.
    #[error("{what}: {error}")]
    Invalid {
        /// What was being configured (a file name, a setting).
        what: String,
        /// Why it was refused.
        error: Error,
    },
    /// An entry of [`TrustedProxies`](crate::http::TrustedProxies) is neither an IP
    /// address (`192.0.2.1`, `::1`) nor an address with a prefix length (`10.0.0.0/8`).
    #[error("trusted proxy {entry:?} is not an ip address")]
    TrustedProxyNotAnAddress {
        /// The entry as given.
        entry: String,
    },
    /// An entry of [`TrustedProxies`](crate::http::TrustedProxies) has a prefix length
    /// that is not a number from 0 to 32 (IPv4) or to 128 (IPv6).
    #[error("trusted proxy {entry:?} has an invalid prefix length")]
    TrustedProxyInvalidPrefix {
        /// The entry as given.
        entry: String,
    },
    /// An entry of [`TrustedProxies`](crate::http::TrustedProxies) has address bits set
    /// beyond its prefix (`10.1.2.3/8`): almost always a typo for a host (`10.1.2.3`) or
    /// for a network (`10.0.0.0/8`).
    #[error("trusted proxy {entry:?} has address bits set beyond the prefix")]
    TrustedProxyBitsBeyondPrefix {
        /// The entry as given.
        entry: String,
    },
    /// A forwarded-header source's trusted proxies include every IPv4 or every IPv6
    /// address, without
    /// [`allow_every_address_as_trusted_proxy`](crate::http::HeaderSourceBuilder::allow_every_address_as_trusted_proxy).
    #[error(
        "trusted proxies include every {family} address; list the proxies or opt in with \
         allow_every_address_as_trusted_proxy()"
    )]
    EveryAddressTrusted {
        /// `"IPv4"` or `"IPv6"`.
        family: &'static str,
    },
    /// A forwarded-header source has the format `auto` without
    /// [`allow_auto_detection`](crate::http::HeaderSourceBuilder::allow_auto_detection).
    #[error("header format auto needs allow_auto_detection(); configure the proxy's format")]
    AutoDetectionNotAllowed,
    /// A configured header name is not a valid HTTP header name.
    #[error("invalid header name {name:?}")]
    InvalidHeaderName {
        /// The name as given.
        name: String,
    },
    /// The value a trusted proxy's verification header must have is not a valid HTTP
    /// header value.
    #[error("invalid verification header value {value:?}")]
    InvalidHeaderValue {
        /// The value as given.
        value: String,
    },
    /// A chain header was configured for a format other than `rfc9440` and `gcp`.
    #[error("a chain header needs format rfc9440 or gcp, not {format}")]
    ChainHeaderUnsupported {
        /// The configured format's name.
        format: &'static str,
    },
    /// An XFCC element count was configured for a format other than `xfcc`.
    #[error("an xfcc element count needs format xfcc, not {format}")]
    XfccElementsUnsupported {
        /// The configured format's name.
        format: &'static str,
    },
    /// The XFCC element count is 0 or above the maximum.
    #[error("xfcc element count {requested}: must be 1 to {max}")]
    XfccElementsOutOfRange {
        /// The count configured.
        requested: usize,
        /// The largest count allowed.
        max: usize,
    },
    /// A verifier was given no signature verification algorithms: pass the crypto
    /// provider's (with feature `ring`, [`RING_ALGORITHMS`](crate::verify::RING_ALGORITHMS)).
    #[error("no signature verification algorithms; pass the crypto provider's")]
    NoSignatureAlgorithms,
    /// A verifier's maximum number of intermediates is above webpki's own bound.
    #[error("max_intermediates {requested} is above webpki's bound of {max}")]
    MaxIntermediatesTooLarge {
        /// The number configured.
        requested: usize,
        /// The largest number allowed.
        max: usize,
    },
    /// The trust store holds CRLs but the verifier has no revocation policy: the CRLs
    /// would never be checked. Choose one with
    /// [`VerifierBuilder::revocation`](crate::verify::VerifierBuilder::revocation).
    #[error("the trust store has crls but the verifier has no revocation policy")]
    CrlsWithoutRevocationPolicy,
    /// The revocation policy denies unknown status but the trust store holds no CRLs:
    /// every client would be refused.
    #[error("the revocation policy denies unknown status but the trust store has no crls")]
    DenyUnknownWithoutCrls,
    /// An authenticator rejects unregistered clients but has no registry: every client
    /// would be refused.
    #[error("rejecting unregistered clients needs a registry")]
    RejectUnregisteredWithoutRegistry,
    /// An object identifier is not in dotted form (`1.3.6.1.5.5.7.3.2`).
    #[error("{oid:?} is not a dotted object identifier")]
    InvalidOid {
        /// The identifier as given.
        oid: String,
    },
    /// Problems found while building a trust store (see
    /// [`TrustStoreBuilder::warn_on_problems`](crate::trust::TrustStoreBuilder::warn_on_problems)).
    #[error("trust store: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Trust(Vec<TrustProblem>),
    /// A forwarded-header source was configured without any trusted proxy.
    #[error("a forwarded-header source needs at least one trusted proxy")]
    NoTrustedProxies,
}

/// A problem found while building a [`TrustStore`](crate::trust::TrustStore). By default every problem is an
/// error; [`TrustStoreBuilder::warn_on_problems`](crate::trust::TrustStoreBuilder::warn_on_problems)
/// turns them into warnings that [`TrustStore::warnings`](crate::trust::TrustStore::warnings)
/// reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustProblem {
    /// An anchor is expired at the check time.
    AnchorExpired {
        /// The anchor's subject.
        subject: String,
        /// Its notAfter, RFC 3339.
        not_after: String,
    },
    /// An anchor is not yet valid at the check time.
    AnchorNotYetValid {
        /// The anchor's subject.
        subject: String,
        /// Its notBefore, RFC 3339.
        not_before: String,
    },
    /// A certificate given as an anchor is not a CA (no basicConstraints cA).
    AnchorNotCa {
        /// The certificate's subject.
        subject: String,
    },
    /// The same certificate was added twice.
    Duplicate {
        /// The certificate's subject.
        subject: String,
    },
    /// A CRL's issuer is neither an anchor nor a held intermediate: the CRL of an
    /// intermediate that clients present. Always a warning, never an error: the CRL is
    /// kept, and its signature is checked against the issuer found in each verified path
    /// (a CRL no path's issuer signed leaves the status unknown, it never passes).
    CrlWithoutIssuer {
        /// The CRL's issuer.
        issuer: String,
    },
    /// A CRL's issuer has a key usage extension without cRLSign.
    CrlIssuerCannotSign {
        /// The CRL's issuer.
        issuer: String,
    },
    /// The same CRL was added twice.
    DuplicateCrl {
        /// The CRL's issuer.
        issuer: String,
        /// Its CRL number, hex.
        number: String,
    },
    /// Two different CRLs of one issuer and scope carry the same CRL number, so neither
    /// can be said to be the newest. Always refused, even with
    /// [`TrustStoreBuilder::warn_on_problems`](crate::trust::TrustStoreBuilder::warn_on_problems).
    CrlNumberConflict {
        /// The CRLs' issuer.
        issuer: String,
        /// The CRL number they share, hex.
        number: String,
    },
    /// A certificate in a bundle is not a CA and was skipped (e.g. the leaf of a chain file).
    SkippedNonCa {
        /// The certificate's subject.
        subject: String,
    },
}

impl fmt::Display for TrustProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AnchorExpired { subject, not_after } => {
                write!(f, "anchor {subject} expired at {not_after}")
            }
            Self::AnchorNotYetValid { subject, not_before } => {
                write!(f, "anchor {subject} is not valid before {not_before}")
            }
            Self::AnchorNotCa { subject } => write!(f, "anchor {subject} is not a ca certificate"),
            Self::Duplicate { subject } => write!(f, "certificate {subject} was added twice"),
            Self::CrlWithoutIssuer { issuer } => {
                write!(
                    f,
                    "crl of {issuer} matches no anchor or intermediate; it is checked against \
                     the issuer in each client's chain"
                )
            }
            Self::CrlIssuerCannotSign { issuer } => {
                write!(f, "crl issuer {issuer} lacks the crlSign key usage")
            }
            Self::DuplicateCrl { issuer, number } => {
                write!(f, "crl {number} of {issuer} was added twice")
            }
            Self::CrlNumberConflict { issuer, number } => {
                write!(f, "two different crls of {issuer} have the crl number {number}")
            }
            Self::SkippedNonCa { subject } => {
                write!(f, "skipped {subject}: not a ca certificate")
            }
        }
    }
}

/// Shorthand for results with certauth's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for kind in ErrorKind::ALL {
            let name = kind.as_str();
            assert!(seen.insert(name), "duplicate name {name}");
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{name}");
            assert_eq!(ErrorKind::from_name(name), Some(*kind));
            assert_eq!(kind.to_string(), name);
        }
        assert_eq!(ErrorKind::from_name("nope"), None);
    }

    #[test]
    fn display_is_the_message() {
        let e = Error::too_large("header value", 20_000, 16_384);
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
        assert_eq!(e.to_string(), "header value is 20000, more than the limit of 16384");
    }
}
