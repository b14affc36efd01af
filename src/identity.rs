//! Who the client is, and rules about who may come in.
//!
//! A [`ClientIdentity`] is made only from a [`VerifiedChain`], so every identity a rule
//! looks at belongs to a certificate that passed verification. [`IdentityRule`]s match
//! names attribute by attribute (never a regular expression over a DN string, which is
//! how `O=Evil, CN=Good` style injection gets in), SANs by type, SPIFFE IDs by trust
//! domain or path, and pins by thumbprint or SPKI hash; they combine with
//! [`IdentityRule::all`], [`IdentityRule::any`] and [`IdentityRule::not`].

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::cert::{Certificate, DistinguishedName, SpiffeId, SubjectAltNames};
use crate::error::{Error, ErrorKind, Result};
use crate::input::Source;
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::VerifiedChain;

/// The verified identity of a client: its leaf certificate's names, SANs, SPIFFE ID,
/// serial and thumbprint, the chain that proved them, and where the chain came from.
///
/// Cheap to clone (shared), so it can be cached and handed to every request.
#[derive(Clone, Debug)]
pub struct ClientIdentity {
    chain: Arc<VerifiedChain>,
}

impl ClientIdentity {
    /// The identity proved by `chain`.
    pub fn new(chain: VerifiedChain) -> Self {
        Self { chain: Arc::new(chain) }
    }

    /// The leaf certificate.
    pub fn certificate(&self) -> &Certificate {
        self.chain.leaf()
    }

    /// The subject distinguished name of the leaf.
    pub fn subject(&self) -> &DistinguishedName {
        self.certificate().subject()
    }

    /// The issuer distinguished name of the leaf.
    pub fn issuer(&self) -> &DistinguishedName {
        self.certificate().issuer()
    }

    /// The leaf's serial number, lowercase hex.
    pub fn serial_hex(&self) -> &str {
        self.certificate().serial_hex()
    }

    /// The leaf's subject alternative names.
    pub fn sans(&self) -> &SubjectAltNames {
        self.certificate().sans()
    }

    /// The leaf's SPIFFE ID, if it carries exactly one valid one.
    pub fn spiffe_id(&self) -> Option<&SpiffeId> {
        self.certificate().spiffe_id()
    }

    /// The leaf's SHA-256 thumbprint (RFC 8705 `x5t#S256`).
    pub fn thumbprint(&self) -> Thumbprint {
        self.certificate().thumbprint()
    }

    /// Start of the leaf's validity.
    pub fn not_before(&self) -> Timestamp {
        self.certificate().not_before()
    }

    /// End of the leaf's validity.
    pub fn not_after(&self) -> Timestamp {
        self.certificate().not_after()
    }

    /// The verified chain behind this identity.
    pub fn chain(&self) -> &VerifiedChain {
        &self.chain
    }

    /// Where the certificate came from (TLS or a forwarded header).
    pub fn source(&self) -> &Source {
        self.chain.source()
    }
}

/// How a single string value is matched. Exact matches are case-sensitive, except where
/// the rule documents otherwise (DNS names are compared ASCII case-insensitively).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValueMatch {
    /// Equal to this value.
    Exact(String),
    /// Equal to one of these values.
    OneOf(Vec<String>),
}

impl ValueMatch {
    fn matches(&self, value: &str, case_insensitive: bool) -> bool {
        let eq = |want: &String| {
            if case_insensitive { want.eq_ignore_ascii_case(value) } else { want == value }
        };
        match self {
            Self::Exact(want) => eq(want),
            Self::OneOf(wants) => wants.iter().any(eq),
        }
    }
}

impl fmt::Display for ValueMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(v) => write!(f, "{v:?}"),
            Self::OneOf(vs) => write!(f, "one of {vs:?}"),
        }
    }
}

/// A rule about the client's identity. Build rules with the constructor functions and
/// combine them; evaluate with [`IdentityRule::check`].
///
/// ```
/// use certauth::identity::IdentityRule;
/// // Azure API Management style: every top-level check, plus any listed identity.
/// let rule = IdentityRule::all([
///     IdentityRule::issuer_attribute("O", "Example Test PKI"),
///     IdentityRule::any([
///         IdentityRule::spiffe_path_prefix("example.test", "/ns/default/"),
///         IdentityRule::dns("batch.example.test"),
///     ]),
/// ]);
/// assert!(rule.to_string().starts_with("all("));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityRule {
    /// Some attribute of the subject named `attribute` (short name such as `CN`, `O`,
    /// `OU`, or a dotted OID) matches. With several values of that attribute (several
    /// `OU`s), one matching is enough. For `CN`, only the most specific CN counts.
    SubjectAttribute {
        /// Attribute short name or dotted OID.
        attribute: String,
        /// The value it must have.
        value: ValueMatch,
    },
    /// As `SubjectAttribute`, for the issuer of the leaf.
    IssuerAttribute {
        /// Attribute short name or dotted OID.
        attribute: String,
        /// The value it must have.
        value: ValueMatch,
    },
    /// A DNS SAN equal to the pattern (ASCII case-insensitive). A pattern `*.example.com`
    /// matches exactly one extra leftmost label.
    Dns(String),
    /// A URI SAN equal to this value.
    Uri(String),
    /// An e-mail SAN equal to this value (the domain part case-insensitive).
    Email(String),
    /// An IP SAN within this network (address and prefix length).
    IpNetwork(IpAddr, u8),
    /// The SPIFFE ID is exactly this.
    SpiffeId(SpiffeId),
    /// The SPIFFE ID is in this trust domain.
    SpiffeTrustDomain(String),
    /// The SPIFFE ID is in `trust_domain` and its path starts with `prefix` at a segment
    /// boundary (`/ns/prod` matches `/ns/prod` and `/ns/prod/x`, not `/ns/production`).
    SpiffePathPrefix {
        /// The trust domain.
        trust_domain: String,
        /// The path prefix, starting with `/`.
        prefix: String,
    },
    /// The leaf has this issuer (compared as DER) and this serial number (hex).
    IssuerSerial {
        /// The issuer distinguished name, as the issuing CA's certificate states it.
        issuer: DistinguishedName,
        /// The serial, lowercase hex as [`Certificate::serial_hex`] prints it.
        serial_hex: String,
    },
    /// The leaf's thumbprint is one of these.
    Thumbprint(Vec<Thumbprint>),
    /// The SHA-256 of the leaf's SubjectPublicKeyInfo is one of these (survives
    /// re-issuance with the same key).
    SpkiSha256(Vec<[u8; 32]>),
    /// Every rule holds (true when empty).
    All(Vec<IdentityRule>),
    /// At least one rule holds (false when empty).
    Any(Vec<IdentityRule>),
    /// The rule does not hold.
    Not(Box<IdentityRule>),
}

impl IdentityRule {
    /// Subject attribute `attribute` equals `value`.
    pub fn subject_attribute(attribute: impl Into<String>, value: impl Into<String>) -> Self {
        Self::SubjectAttribute {
            attribute: attribute.into(),
            value: ValueMatch::Exact(value.into()),
        }
    }

    /// Issuer attribute `attribute` equals `value`.
    pub fn issuer_attribute(attribute: impl Into<String>, value: impl Into<String>) -> Self {
        Self::IssuerAttribute { attribute: attribute.into(), value: ValueMatch::Exact(value.into()) }
    }

    /// A DNS SAN matches `pattern` (see [`IdentityRule::Dns`]).
    pub fn dns(pattern: impl Into<String>) -> Self {
        Self::Dns(pattern.into())
    }

    /// A URI SAN equals `uri`.
    pub fn uri(uri: impl Into<String>) -> Self {
        Self::Uri(uri.into())
    }

    /// An e-mail SAN equals `email`.
    pub fn email(email: impl Into<String>) -> Self {
        Self::Email(email.into())
    }

    /// An IP SAN lies in `network`/`prefix_len`. Errors if the prefix is too long.
    pub fn ip_network(network: IpAddr, prefix_len: u8) -> Result<Self> {
        let max = if network.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(Error::malformed(format!("prefix length {prefix_len} exceeds {max}")));
        }
        Ok(Self::IpNetwork(network, prefix_len))
    }

    /// The SPIFFE ID equals `id` (validated).
    pub fn spiffe_id(id: &str) -> Result<Self> {
        SpiffeId::parse(id).map(Self::SpiffeId)
    }

    /// The SPIFFE ID is in `trust_domain`.
    pub fn spiffe_trust_domain(trust_domain: impl Into<String>) -> Self {
        Self::SpiffeTrustDomain(trust_domain.into())
    }

    /// The SPIFFE ID is in `trust_domain` under path `prefix`.
    pub fn spiffe_path_prefix(trust_domain: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self::SpiffePathPrefix { trust_domain: trust_domain.into(), prefix: prefix.into() }
    }

    /// Issuer and serial of `certificate` (pins one certificate by its issuer's naming).
    pub fn issuer_serial_of(certificate: &Certificate) -> Self {
        Self::IssuerSerial {
            issuer: certificate.issuer().clone(),
            serial_hex: certificate.serial_hex().to_owned(),
        }
    }

    /// The leaf's thumbprint is one of `pins`.
    pub fn thumbprints(pins: impl IntoIterator<Item = Thumbprint>) -> Self {
        Self::Thumbprint(pins.into_iter().collect())
    }

    /// The leaf's SPKI SHA-256 is one of `pins`.
    pub fn spki_sha256(pins: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self::SpkiSha256(pins.into_iter().collect())
    }

    /// SHA-256 of a certificate's SubjectPublicKeyInfo, for [`IdentityRule::spki_sha256`].
    pub fn spki_sha256_of(certificate: &Certificate) -> [u8; 32] {
        Sha256::digest(certificate.spki_der()).into()
    }

    /// Every rule holds.
    pub fn all(rules: impl IntoIterator<Item = IdentityRule>) -> Self {
        Self::All(rules.into_iter().collect())
    }

    /// At least one rule holds.
    pub fn any(rules: impl IntoIterator<Item = IdentityRule>) -> Self {
        Self::Any(rules.into_iter().collect())
    }

    /// `rule` does not hold.
    #[allow(clippy::should_implement_trait)]
    pub fn not(rule: IdentityRule) -> Self {
        Self::Not(Box::new(rule))
    }

    /// Whether the rule holds for `identity`.
    pub fn matches(&self, identity: &ClientIdentity) -> bool {
        self.matches_certificate(identity.certificate())
    }

    /// `Ok` if the rule holds, else `identity_mismatch` naming the rule that failed (rule
    /// text only: the certificate's own values are not repeated).
    pub fn check(&self, identity: &ClientIdentity) -> Result<()> {
        if self.matches(identity) {
            return Ok(());
        }
        let failing = self.first_failing(identity.certificate()).unwrap_or(self);
        Err(Error::new(
            ErrorKind::IdentityMismatch,
            format!("client certificate does not satisfy the identity rule {failing}"),
        ))
    }

    /// The innermost rule that explains a failure of an `All`; the rule itself otherwise.
    fn first_failing(&self, cert: &Certificate) -> Option<&IdentityRule> {
        match self {
            Self::All(rules) => {
                let failed = rules.iter().find(|r| !r.matches_certificate(cert))?;
                failed.first_failing(cert).or(Some(failed))
            }
            _ => Some(self),
        }
    }

    pub(crate) fn matches_certificate(&self, cert: &Certificate) -> bool {
        match self {
            Self::SubjectAttribute { attribute, value } => attribute_matches(cert.subject(), attribute, value),
            Self::IssuerAttribute { attribute, value } => attribute_matches(cert.issuer(), attribute, value),
            Self::Dns(pattern) => cert.sans().dns().iter().any(|name| dns_matches(pattern, name)),
            Self::Uri(uri) => cert.sans().uri().iter().any(|u| u == uri),
            Self::Email(email) => cert.sans().email().iter().any(|e| email_eq(email, e)),
            Self::IpNetwork(net, len) => cert.sans().ip().iter().any(|ip| in_network(*ip, *net, *len)),
            Self::SpiffeId(id) => cert.spiffe_id() == Some(id),
            Self::SpiffeTrustDomain(td) => cert.spiffe_id().is_some_and(|id| id.trust_domain() == td),
            Self::SpiffePathPrefix { trust_domain, prefix } => cert.spiffe_id().is_some_and(|id| {
                id.trust_domain() == trust_domain && path_has_prefix(id.path(), prefix)
            }),
            Self::IssuerSerial { issuer, serial_hex } => {
                cert.issuer().der() == issuer.der() && cert.serial_hex().eq_ignore_ascii_case(serial_hex)
            }
            Self::Thumbprint(pins) => {
                let t = cert.thumbprint();
                // Constant-time per comparison; the pin list itself is not secret.
                pins.iter().fold(false, |hit, pin| hit | (*pin == t))
            }
            Self::SpkiSha256(pins) => {
                let spki = Thumbprint::from_bytes(Self::spki_sha256_of(cert));
                pins.iter().fold(false, |hit, pin| hit | (Thumbprint::from_bytes(*pin) == spki))
            }
            Self::All(rules) => rules.iter().all(|r| r.matches_certificate(cert)),
            Self::Any(rules) => rules.iter().any(|r| r.matches_certificate(cert)),
            Self::Not(rule) => !rule.matches_certificate(cert),
        }
    }
}

impl fmt::Display for IdentityRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, rules: &[IdentityRule]| {
            write!(f, "{name}(")?;
            for (i, r) in rules.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{r}")?;
            }
            f.write_str(")")
        };
        match self {
            Self::SubjectAttribute { attribute, value } => write!(f, "subject {attribute} = {value}"),
            Self::IssuerAttribute { attribute, value } => write!(f, "issuer {attribute} = {value}"),
            Self::Dns(p) => write!(f, "dns san {p:?}"),
            Self::Uri(u) => write!(f, "uri san {u:?}"),
            Self::Email(e) => write!(f, "email san {e:?}"),
            Self::IpNetwork(net, len) => write!(f, "ip san in {net}/{len}"),
            Self::SpiffeId(id) => write!(f, "spiffe id {id}"),
            Self::SpiffeTrustDomain(td) => write!(f, "spiffe trust domain {td:?}"),
            Self::SpiffePathPrefix { trust_domain, prefix } => {
                write!(f, "spiffe id under spiffe://{trust_domain}{prefix}")
            }
            Self::IssuerSerial { issuer, serial_hex } => write!(f, "issuer {issuer} serial {serial_hex}"),
            Self::Thumbprint(pins) => write!(f, "one of {} pinned certificates", pins.len()),
            Self::SpkiSha256(pins) => write!(f, "one of {} pinned public keys", pins.len()),
            Self::All(rules) => list(f, "all", rules),
            Self::Any(rules) => list(f, "any", rules),
            Self::Not(rule) => write!(f, "not({rule})"),
        }
    }
}

fn attribute_matches(name: &DistinguishedName, attribute: &str, want: &ValueMatch) -> bool {
    if attribute.eq_ignore_ascii_case("CN") || attribute == "2.5.4.3" {
        return name.common_name().is_some_and(|cn| want.matches(cn, false));
    }
    name.values(attribute).any(|v| want.matches(v, false))
}

/// RFC 6125-style: case-insensitive; `*.` matches exactly one leftmost label.
fn dns_matches(pattern: &str, name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    match pattern.strip_prefix("*.") {
        Some(suffix) => name.split_once('.').is_some_and(|(label, rest)| {
            !label.is_empty() && label != "*" && rest.eq_ignore_ascii_case(suffix)
        }),
        None => pattern.eq_ignore_ascii_case(name),
    }
}

fn email_eq(want: &str, got: &str) -> bool {
    match (want.rsplit_once('@'), got.rsplit_once('@')) {
        (Some((wl, wd)), Some((gl, gd))) => wl == gl && wd.eq_ignore_ascii_case(gd),
        _ => false,
    }
}

fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    let (ip, net, bits) = match (canonical(ip), canonical(net)) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let len = u32::from(len).min(bits);
    if len == 0 {
        return true;
    }
    let shift = bits - len;
    (ip >> shift) == (net >> shift)
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn path_has_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    if prefix.is_empty() {
        return true;
    }
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_ec() -> Certificate {
        Certificate::from_der(include_bytes!("../tests/data/pki/leaf-ec.der")).unwrap()
    }
    fn leaf_rsa() -> Certificate {
        Certificate::from_der(include_bytes!("../tests/data/pki/leaf-rsa.der")).unwrap()
    }
    fn server() -> Certificate {
        let pem = include_bytes!("../tests/data/pki/server.pem");
        let chain = crate::input::parse(pem, crate::Format::Pem, &crate::Limits::default()).unwrap();
        Certificate::from_der(chain.leaf()).unwrap()
    }

    #[test]
    fn rule_table() {
        let ec = leaf_ec();
        let rsa = leaf_rsa();
        let srv = server();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let cases: Vec<(IdentityRule, &Certificate, bool)> = vec![
            (IdentityRule::subject_attribute("CN", "client.example.test"), &ec, true),
            (IdentityRule::subject_attribute("cn", "CLIENT.example.test"), &ec, false),
            (IdentityRule::subject_attribute("O", "Example Corp"), &ec, true),
            (IdentityRule::subject_attribute("2.5.4.10", "Example Corp"), &ec, true),
            // Attribute-level: the comma inside O is a value, not a separator.
            (IdentityRule::subject_attribute("O", "Example, Inc."), &rsa, true),
            (IdentityRule::subject_attribute("O", "Example"), &rsa, false),
            (IdentityRule::subject_attribute("OU", "R&D \"Lab\""), &rsa, true),
            (IdentityRule::issuer_attribute("CN", "Example Test Intermediate CA"), &ec, true),
            (
                IdentityRule::SubjectAttribute {
                    attribute: "OU".into(),
                    value: ValueMatch::OneOf(vec!["Sales".into(), "Engineering".into()]),
                },
                &ec,
                true,
            ),
            (IdentityRule::dns("client.example.test"), &ec, true),
            (IdentityRule::dns("CLIENT.Example.Test."), &ec, true),
            (IdentityRule::dns("*.example.test"), &ec, true),
            (IdentityRule::dns("*.test"), &ec, false),
            (IdentityRule::dns("*.example.test"), &rsa, true),
            (IdentityRule::uri("https://rsa-client.example.test/id"), &rsa, true),
            (IdentityRule::uri("https://rsa-client.example.test/ID"), &rsa, false),
            (IdentityRule::email("client@EXAMPLE.test"), &ec, true),
            (IdentityRule::email("Client@example.test"), &ec, false),
            (IdentityRule::ip_network(ip("127.0.0.0"), 8).unwrap(), &srv, true),
            (IdentityRule::ip_network(ip("::ffff:127.0.0.1"), 128).unwrap(), &srv, true),
            (IdentityRule::ip_network(ip("10.0.0.0"), 8).unwrap(), &srv, false),
            (IdentityRule::ip_network(ip("10.0.0.0"), 8).unwrap(), &ec, false),
            (IdentityRule::spiffe_id("spiffe://example.test/ns/default/sa/client").unwrap(), &ec, true),
            (IdentityRule::spiffe_id("spiffe://example.test/ns/default/sa/other").unwrap(), &ec, false),
            (IdentityRule::spiffe_trust_domain("example.test"), &ec, true),
            (IdentityRule::spiffe_trust_domain("example.test"), &rsa, false),
            (IdentityRule::spiffe_path_prefix("example.test", "/ns/default"), &ec, true),
            (IdentityRule::spiffe_path_prefix("example.test", "/ns/default/"), &ec, true),
            (IdentityRule::spiffe_path_prefix("example.test", "/ns/def"), &ec, false),
            (IdentityRule::spiffe_path_prefix("other.test", "/ns/default"), &ec, false),
            (IdentityRule::issuer_serial_of(&ec), &ec, true),
            (IdentityRule::issuer_serial_of(&ec), &rsa, false),
            (IdentityRule::thumbprints([ec.thumbprint()]), &ec, true),
            (IdentityRule::thumbprints([ec.thumbprint()]), &rsa, false),
            (IdentityRule::spki_sha256([IdentityRule::spki_sha256_of(&rsa)]), &rsa, true),
            (IdentityRule::spki_sha256([IdentityRule::spki_sha256_of(&rsa)]), &ec, false),
            (IdentityRule::all([]), &ec, true),
            (IdentityRule::any([]), &ec, false),
            (IdentityRule::not(IdentityRule::dns("client.example.test")), &ec, false),
            (
                IdentityRule::all([
                    IdentityRule::issuer_attribute("O", "Example Test PKI"),
                    IdentityRule::any([IdentityRule::dns("nope.test"), IdentityRule::spiffe_trust_domain("example.test")]),
                ]),
                &ec,
                true,
            ),
        ];
        for (rule, cert, expected) in cases {
            assert_eq!(rule.matches_certificate(cert), expected, "{rule} on {}", cert.subject());
        }
    }

    #[test]
    fn bad_rule_inputs_are_refused() {
        let ip: IpAddr = "10.0.0.0".parse().unwrap();
        assert_eq!(IdentityRule::ip_network(ip, 33).unwrap_err().kind(), ErrorKind::MalformedInput);
        assert!(IdentityRule::spiffe_id("https://not-spiffe").is_err());
    }

    #[test]
    fn failure_names_the_failing_rule() {
        let rule = IdentityRule::all([
            IdentityRule::issuer_attribute("O", "Example Test PKI"),
            IdentityRule::dns("other.example.test"),
        ]);
        let failing = rule.first_failing(&leaf_ec()).unwrap();
        assert_eq!(failing.to_string(), "dns san \"other.example.test\"");
    }
}
