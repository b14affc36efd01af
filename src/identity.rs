//! Who the client is ([`ClientIdentity`]) and who may come in ([`IdentityRule`]).
//!
//! Rules look at parsed fields, never at a DN string: subject and issuer are matched
//! attribute by attribute, so a subject of `CN=evil,O=Example` cannot satisfy a rule
//! written for `O=Example` by string tricks, and a `,` inside a value is just a
//! character.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use subtle::ConstantTimeEq as _;

use crate::cert::{Certificate, DistinguishedName, SpiffeId, SubjectAltNames};
use crate::error::{Error, ErrorKind, Result};
use crate::input::Source;
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::VerifiedChain;

/// The verified client: facts from its leaf certificate and the chain that vouched for it.
///
/// Made only from a [`VerifiedChain`], so holding one means verification succeeded.
/// Cheap to clone.
#[derive(Clone)]
pub struct ClientIdentity {
    inner: Arc<Inner>,
}

struct Inner {
    chain: VerifiedChain,
    leaf: Certificate,
    spki_sha256: [u8; 32],
}

impl ClientIdentity {
    /// Parses the leaf of a verified chain into an identity.
    pub fn new(chain: VerifiedChain) -> Result<Self> {
        let leaf = chain.leaf()?.clone();
        let spki_sha256 = Thumbprint::of(leaf.spki_der()).as_bytes().to_owned();
        Ok(Self { inner: Arc::new(Inner { chain, leaf, spki_sha256 }) })
    }

    /// The parsed leaf certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.inner.leaf
    }

    /// Subject distinguished name.
    pub fn subject(&self) -> &DistinguishedName {
        self.inner.leaf.subject()
    }

    /// Issuer distinguished name.
    pub fn issuer(&self) -> &DistinguishedName {
        self.inner.leaf.issuer()
    }

    /// Serial number, lowercase hex without leading zero bytes.
    pub fn serial_hex(&self) -> &str {
        self.inner.leaf.serial_hex()
    }

    /// Subject alternative names.
    pub fn sans(&self) -> &SubjectAltNames {
        self.inner.leaf.sans()
    }

    /// The SPIFFE ID, when the leaf has exactly one `spiffe://` URI SAN.
    pub fn spiffe_id(&self) -> Option<&SpiffeId> {
        self.inner.leaf.spiffe_id()
    }

    /// SHA-256 of the leaf (RFC 8705 x5t#S256).
    pub fn thumbprint(&self) -> &Thumbprint {
        self.inner.chain.thumbprint()
    }

    /// SHA-256 of the leaf's SubjectPublicKeyInfo (an SPKI pin, as in HPKP / `pin-sha256`).
    pub fn spki_sha256(&self) -> &[u8; 32] {
        &self.inner.spki_sha256
    }

    /// Start of the leaf's validity.
    pub fn not_before(&self) -> Timestamp {
        self.inner.leaf.not_before()
    }

    /// End of the leaf's validity.
    pub fn not_after(&self) -> Timestamp {
        self.inner.leaf.not_after()
    }

    /// The verified chain.
    pub fn chain(&self) -> &VerifiedChain {
        &self.inner.chain
    }

    /// Where the certificate came from (TLS or a forwarded header).
    pub fn source(&self) -> &Source {
        self.inner.chain.source()
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("subject", &self.subject().to_rfc4514())
            .field("issuer", &self.issuer().to_rfc4514())
            .field("serial", &self.serial_hex())
            .field("spiffe_id", &self.spiffe_id().map(SpiffeId::as_str))
            .field("thumbprint", self.thumbprint())
            .field("source", self.source())
            .finish()
    }
}

/// How one string value is matched.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueMatch {
    /// Byte-for-byte equal.
    Exact(String),
    /// Equal ignoring ASCII case (DNS names, e-mail domains).
    IgnoreAsciiCase(String),
    /// Ends with this suffix, ignoring ASCII case: `.example.com` matches
    /// `a.example.com`, not `example.com` nor `badexample.com`.
    Suffix(String),
    /// Any of these values, exactly.
    OneOf(Vec<String>),
}

impl ValueMatch {
    /// [`ValueMatch::Exact`].
    pub fn exact(v: impl Into<String>) -> Self {
        Self::Exact(v.into())
    }

    /// Whether `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Self::Exact(want) => value == want,
            Self::IgnoreAsciiCase(want) => value.eq_ignore_ascii_case(want),
            Self::Suffix(suffix) => {
                value.len() > suffix.len()
                    && value
                        .get(value.len() - suffix.len()..)
                        .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
            }
            Self::OneOf(list) => list.iter().any(|w| w == value),
        }
    }
}

/// How a SPIFFE ID is matched.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpiffeMatch {
    /// The whole ID, e.g. `spiffe://example.org/ns/prod/sa/billing`.
    Exact(String),
    /// Any workload of a trust domain, e.g. `example.org`.
    TrustDomain(String),
    /// A trust domain and a path prefix ending at a segment boundary: `/ns/prod`
    /// matches `/ns/prod` and `/ns/prod/sa/x`, not `/ns/production`.
    PathPrefix {
        /// The trust domain.
        trust_domain: String,
        /// The path prefix, starting with `/`.
        prefix: String,
    },
}

impl SpiffeMatch {
    fn matches(&self, id: &SpiffeId) -> bool {
        match self {
            Self::Exact(want) => id.as_str() == want,
            Self::TrustDomain(td) => id.trust_domain() == td,
            Self::PathPrefix { trust_domain, prefix } => {
                let prefix = prefix.trim_end_matches('/');
                id.trust_domain() == trust_domain
                    && id
                        .path()
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
        }
    }
}

/// A rule over a [`ClientIdentity`]; combine with [`IdentityRule::All`],
/// [`IdentityRule::Any`] and [`IdentityRule::Not`].
///
/// Azure API Management's shape, "every top-level check and any one listed identity", is
/// `All(vec![checks..., Any(identities)])`:
///
/// ```
/// use certauth::{IdentityRule, SpiffeMatch, ValueMatch};
/// let rule = IdentityRule::All(vec![
///     IdentityRule::issuer("O", ValueMatch::exact("Example Corp")),
///     IdentityRule::Any(vec![
///         IdentityRule::subject("CN", ValueMatch::exact("billing")),
///         IdentityRule::Spiffe(SpiffeMatch::TrustDomain("example.org".into())),
///     ]),
/// ]);
/// assert!(format!("{rule:?}").contains("billing"));
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRule {
    /// Some value of a subject attribute (short name like `CN`, `O`, `OU`, or dotted
    /// OID) matches.
    Subject {
        /// Attribute short name or OID.
        attribute: String,
        /// The match.
        value: ValueMatch,
    },
    /// Some value of an issuer attribute matches.
    Issuer {
        /// Attribute short name or OID.
        attribute: String,
        /// The match.
        value: ValueMatch,
    },
    /// Some DNS SAN matches.
    DnsSan(ValueMatch),
    /// Some URI SAN matches.
    UriSan(ValueMatch),
    /// Some e-mail SAN matches.
    EmailSan(ValueMatch),
    /// Some IP SAN equals this address.
    IpSan(IpAddr),
    /// The SPIFFE ID matches.
    Spiffe(SpiffeMatch),
    /// The issuer (RFC 4514 form, exactly as [`DistinguishedName::to_rfc4514`] gives it)
    /// and serial (lowercase hex) are these: one certificate of one CA.
    IssuerAndSerial {
        /// Issuer in RFC 4514 form.
        issuer: String,
        /// Serial, lowercase hex without leading zeros.
        serial_hex: String,
    },
    /// The leaf's SHA-256 thumbprint is one of these (compared in constant time).
    Thumbprint(Vec<Thumbprint>),
    /// The SHA-256 of the leaf's SubjectPublicKeyInfo is one of these: survives
    /// re-issuance with the same key.
    SpkiSha256(Vec<[u8; 32]>),
    /// Every rule matches (an empty list matches).
    All(Vec<IdentityRule>),
    /// At least one rule matches (an empty list does not).
    Any(Vec<IdentityRule>),
    /// The rule does not match.
    Not(Box<IdentityRule>),
}

impl IdentityRule {
    /// [`IdentityRule::Subject`].
    pub fn subject(attribute: impl Into<String>, value: ValueMatch) -> Self {
        Self::Subject { attribute: attribute.into(), value }
    }

    /// [`IdentityRule::Issuer`].
    pub fn issuer(attribute: impl Into<String>, value: ValueMatch) -> Self {
        Self::Issuer { attribute: attribute.into(), value }
    }

    /// Whether the identity satisfies the rule.
    pub fn matches(&self, id: &ClientIdentity) -> bool {
        match self {
            Self::Subject { attribute, value } => {
                id.subject().values(attribute).any(|v| value.matches(v))
            }
            Self::Issuer { attribute, value } => {
                id.issuer().values(attribute).any(|v| value.matches(v))
            }
            Self::DnsSan(m) => id.sans().dns().iter().any(|v| m.matches(v)),
            Self::UriSan(m) => id.sans().uri().iter().any(|v| m.matches(v)),
            Self::EmailSan(m) => id.sans().email().iter().any(|v| m.matches(v)),
            Self::IpSan(ip) => id.sans().ip().contains(ip),
            Self::Spiffe(m) => id.spiffe_id().is_some_and(|s| m.matches(s)),
            Self::IssuerAndSerial { issuer, serial_hex } => {
                id.serial_hex() == serial_hex && id.issuer().to_rfc4514() == *issuer
            }
            Self::Thumbprint(pins) => pins.iter().any(|p| p == id.thumbprint()),
            Self::SpkiSha256(pins) => pins.iter().any(|p| bool::from(p.ct_eq(id.spki_sha256()))),
            Self::All(rules) => rules.iter().all(|r| r.matches(id)),
            Self::Any(rules) => rules.iter().any(|r| r.matches(id)),
            Self::Not(rule) => !rule.matches(id),
        }
    }

    /// `Err(identity_mismatch)` unless the identity satisfies the rule. The message names
    /// the subject, never the rule's pins.
    pub fn check(&self, id: &ClientIdentity) -> Result<()> {
        if self.matches(id) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::IdentityMismatch,
                format!("{} is not allowed by the identity rules", id.subject()),
            ))
        }
    }
}

impl fmt::Debug for IdentityRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Subject { attribute, value } => write!(f, "Subject({attribute} {value:?})"),
            Self::Issuer { attribute, value } => write!(f, "Issuer({attribute} {value:?})"),
            Self::DnsSan(m) => write!(f, "DnsSan({m:?})"),
            Self::UriSan(m) => write!(f, "UriSan({m:?})"),
            Self::EmailSan(m) => write!(f, "EmailSan({m:?})"),
            Self::IpSan(ip) => write!(f, "IpSan({ip})"),
            Self::Spiffe(m) => write!(f, "Spiffe({m:?})"),
            Self::IssuerAndSerial { issuer, serial_hex } => {
                write!(f, "IssuerAndSerial({issuer}, {serial_hex})")
            }
            Self::Thumbprint(p) => write!(f, "Thumbprint({} pins)", p.len()),
            Self::SpkiSha256(p) => write!(f, "SpkiSha256({} pins)", p.len()),
            Self::All(r) => f.debug_tuple("All").field(r).finish(),
            Self::Any(r) => f.debug_tuple("Any").field(r).finish(),
            Self::Not(r) => f.debug_tuple("Not").field(r).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_match_suffix_respects_label_boundaries_only_by_the_suffix_given() {
        let m = ValueMatch::Suffix(".example.com".into());
        assert!(m.matches("a.example.com"));
        assert!(m.matches("A.EXAMPLE.COM"));
        assert!(!m.matches("example.com"));
        assert!(!m.matches("badexample.com"));
        assert!(ValueMatch::OneOf(vec!["a".into(), "b".into()]).matches("b"));
        assert!(!ValueMatch::exact("a").matches("A"));
        assert!(ValueMatch::IgnoreAsciiCase("a".into()).matches("A"));
    }

    #[test]
    fn spiffe_prefix_stops_at_segments() {
        let id = SpiffeId::parse("spiffe://example.org/ns/prod/sa/billing").unwrap();
        let prefix = |p: &str| SpiffeMatch::PathPrefix {
            trust_domain: "example.org".into(),
            prefix: p.into(),
        };
        assert!(prefix("/ns/prod").matches(&id));
        assert!(prefix("/ns/prod/").matches(&id));
        assert!(!prefix("/ns/pro").matches(&id));
        assert!(SpiffeMatch::TrustDomain("example.org".into()).matches(&id));
        assert!(!SpiffeMatch::TrustDomain("example.com".into()).matches(&id));
        assert!(SpiffeMatch::Exact(id.as_str().into()).matches(&id));
    }
}
