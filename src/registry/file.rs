//! The registry file: clients, metadata, certificates (PEM or x5t#S256) and identity
//! mappings in JSON, loaded into a [`MemoryRegistry`] atomically.
//!
//! ```json
//! {
//!   "clients": [
//!     {
//!       "id": "billing",
//!       "name": "Billing service",
//!       "status": "active",
//!       "metadata": {"tier": "gold", "scopes": "invoices:read invoices:write"},
//!       "certificates": [
//!         {"pem": "-----BEGIN CERTIFICATE-----\n...", "retire_after": "2027-03-01T00:00:00Z"},
//!         {"x5t#S256": "ARuY-HyMSdZnHKV2LYWENWrL35Q3HQNV7SoWeL0W3ck", "not_after": "2028-01-01T00:00:00Z"}
//!       ],
//!       "identities": [{"spiffe": "spiffe://example.org/ns/prod/sa/billing"}]
//!     }
//!   ]
//! }
//! ```
//!
//! An identity entry lists one or more of `spiffe`, `spiffe_trust_domain`, `dns`, `uri`,
//! `email`, `subject` and `issuer` (objects of attribute to value); all that are given
//! must match.
//!
//! Any [`IdentityRule`] can also be written whole, in the top-level `identities` list
//! (checked after the clients' own entries, in the order listed); this is what
//! [`MemoryRegistry::save_file`] writes, so a saved registry loads back with the same
//! mappings in the same order:
//!
//! ```json
//! {
//!   "clients": [{"id": "billing"}],
//!   "identities": [
//!     {"client": "billing", "rule": {"all": [
//!       {"issuer": {"attribute": "O", "value": {"exact": "Example Corp"}}},
//!       {"any": [
//!         {"spiffe": {"path_prefix": {"trust_domain": "example.org", "prefix": "/ns/billing"}}},
//!         {"dns": {"suffix": ".billing.example.org"}},
//!         {"not": {"x5t#S256": ["ARuY-HyMSdZnHKV2LYWENWrL35Q3HQNV7SoWeL0W3ck"]}}
//!       ]}
//!     ]}}
//!   ]
//! }
//! ```
//!
//! A rule is one of: `subject` / `issuer` (`attribute` and `value`), `dns`, `uri`,
//! `email` (a value), `ip` (an address), `spiffe` (`exact`, `trust_domain` or
//! `path_prefix`), `issuer_and_serial` (`issuer`, `serial_hex`), `x5t#S256` (thumbprints),
//! `spki_sha256` (hex digests), `all`, `any` (lists of rules) and `not` (a rule). A value
//! is one of `exact`, `ignore_ascii_case`, `suffix` (strings) and `one_of` (a list).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    ClientStatus, MemoryRegistry, RegisteredCertificate, RegisteredClient, RegistrationError,
};
use crate::cert::Certificate;
use crate::error::Error;
use crate::identity::{IdentityRule, SpiffeMatch, ValueMatch};
use crate::input::{self, Format, Limits};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;

/// Largest registry file read, in bytes (64 MiB): about 40,000 clients with PEM
/// certificates, or 300,000 by thumbprint.
pub const MAX_REGISTRY_FILE: u64 = 64 << 20;

/// The file's top level.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    /// The clients.
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// Identity mappings in full, checked in this order after the clients' own
    /// [`ClientEntry::identities`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<MappingEntry>,
}

/// An identity mapping in the top-level list: any [`IdentityRule`], and the client it
/// maps to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingEntry {
    /// The client id.
    pub client: String,
    /// The rule.
    pub rule: RuleEntry,
}

/// An [`IdentityRule`] as the file writes it; see the [module docs](self) for the form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum RuleEntry {
    /// [`IdentityRule::Subject`].
    Subject {
        /// Attribute short name or OID.
        attribute: String,
        /// The match.
        value: ValueEntry,
    },
    /// [`IdentityRule::Issuer`].
    Issuer {
        /// Attribute short name or OID.
        attribute: String,
        /// The match.
        value: ValueEntry,
    },
    /// [`IdentityRule::DnsSan`].
    Dns(ValueEntry),
    /// [`IdentityRule::UriSan`].
    Uri(ValueEntry),
    /// [`IdentityRule::EmailSan`].
    Email(ValueEntry),
    /// [`IdentityRule::IpSan`].
    Ip(IpAddr),
    /// [`IdentityRule::Spiffe`].
    Spiffe(SpiffeEntry),
    /// [`IdentityRule::IssuerAndSerial`].
    IssuerAndSerial {
        /// Issuer, RFC 4514.
        issuer: String,
        /// Serial, lowercase hex without leading zeros.
        serial_hex: String,
    },
    /// [`IdentityRule::Thumbprint`]: x5t#S256 values (base64url; hex also accepted).
    #[serde(rename = "x5t#S256")]
    Thumbprint(Vec<String>),
    /// [`IdentityRule::SpkiSha256`]: SHA-256 digests, 64 hex digits each.
    SpkiSha256(Vec<String>),
    /// [`IdentityRule::All`].
    All(Vec<RuleEntry>),
    /// [`IdentityRule::Any`].
    Any(Vec<RuleEntry>),
    /// [`IdentityRule::Not`].
    Not(Box<RuleEntry>),
}

/// A [`ValueMatch`] as the file writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum ValueEntry {
    /// [`ValueMatch::Exact`].
    Exact(String),
    /// [`ValueMatch::IgnoreAsciiCase`].
    IgnoreAsciiCase(String),
    /// [`ValueMatch::Suffix`].
    Suffix(String),
    /// [`ValueMatch::OneOf`].
    OneOf(Vec<String>),
}

/// A [`SpiffeMatch`] as the file writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[non_exhaustive]
pub enum SpiffeEntry {
    /// [`SpiffeMatch::Exact`].
    Exact(String),
    /// [`SpiffeMatch::TrustDomain`].
    TrustDomain(String),
    /// [`SpiffeMatch::PathPrefix`].
    PathPrefix {
        /// The trust domain.
        trust_domain: String,
        /// The path prefix, starting with `/`.
        prefix: String,
    },
}

impl From<&ValueMatch> for ValueEntry {
    fn from(m: &ValueMatch) -> Self {
        match m {
            ValueMatch::Exact(v) => Self::Exact(v.clone()),
            ValueMatch::IgnoreAsciiCase(v) => Self::IgnoreAsciiCase(v.clone()),
            ValueMatch::Suffix(v) => Self::Suffix(v.clone()),
            ValueMatch::OneOf(v) => Self::OneOf(v.clone()),
        }
    }
}

impl From<&ValueEntry> for ValueMatch {
    fn from(e: &ValueEntry) -> Self {
        match e {
            ValueEntry::Exact(v) => Self::Exact(v.clone()),
            ValueEntry::IgnoreAsciiCase(v) => Self::IgnoreAsciiCase(v.clone()),
            ValueEntry::Suffix(v) => Self::Suffix(v.clone()),
            ValueEntry::OneOf(v) => Self::OneOf(v.clone()),
        }
    }
}

impl From<&IdentityRule> for RuleEntry {
    /// Every rule has a form: the match is exhaustive, so a new kind of rule cannot be
    /// added without one.
    fn from(rule: &IdentityRule) -> Self {
        match rule {
            IdentityRule::Subject { attribute, value } => {
                Self::Subject { attribute: attribute.clone(), value: value.into() }
            }
            IdentityRule::Issuer { attribute, value } => {
                Self::Issuer { attribute: attribute.clone(), value: value.into() }
            }
            IdentityRule::DnsSan(m) => Self::Dns(m.into()),
            IdentityRule::UriSan(m) => Self::Uri(m.into()),
            IdentityRule::EmailSan(m) => Self::Email(m.into()),
            IdentityRule::IpSan(ip) => Self::Ip(*ip),
            IdentityRule::Spiffe(m) => Self::Spiffe(match m {
                SpiffeMatch::Exact(v) => SpiffeEntry::Exact(v.clone()),
                SpiffeMatch::TrustDomain(v) => SpiffeEntry::TrustDomain(v.clone()),
                SpiffeMatch::PathPrefix { trust_domain, prefix } => SpiffeEntry::PathPrefix {
                    trust_domain: trust_domain.clone(),
                    prefix: prefix.clone(),
                },
            }),
            IdentityRule::IssuerAndSerial { issuer, serial_hex } => {
                Self::IssuerAndSerial { issuer: issuer.clone(), serial_hex: serial_hex.clone() }
            }
            IdentityRule::Thumbprint(pins) => {
                Self::Thumbprint(pins.iter().map(Thumbprint::to_x5t_s256).collect())
            }
            IdentityRule::SpkiSha256(pins) => {
                Self::SpkiSha256(pins.iter().map(|p| crate::hex::encode(p, None)).collect())
            }
            IdentityRule::All(rules) => Self::All(rules.iter().map(Self::from).collect()),
            IdentityRule::Any(rules) => Self::Any(rules.iter().map(Self::from).collect()),
            IdentityRule::Not(rule) => Self::Not(Box::new(Self::from(&**rule))),
        }
    }
}

impl RuleEntry {
    /// The rule this entry stands for. Thumbprints and digests must parse: a pin that does
    /// not is `malformed_input`.
    pub fn to_rule(&self) -> Result<IdentityRule, Error> {
        Ok(match self {
            Self::Subject { attribute, value } => IdentityRule::subject(attribute, value.into()),
            Self::Issuer { attribute, value } => IdentityRule::issuer(attribute, value.into()),
            Self::Dns(v) => IdentityRule::DnsSan(v.into()),
            Self::Uri(v) => IdentityRule::UriSan(v.into()),
            Self::Email(v) => IdentityRule::EmailSan(v.into()),
            Self::Ip(ip) => IdentityRule::IpSan(*ip),
            Self::Spiffe(m) => IdentityRule::Spiffe(match m {
                SpiffeEntry::Exact(v) => SpiffeMatch::Exact(v.clone()),
                SpiffeEntry::TrustDomain(v) => SpiffeMatch::TrustDomain(v.clone()),
                SpiffeEntry::PathPrefix { trust_domain, prefix } => SpiffeMatch::PathPrefix {
                    trust_domain: trust_domain.clone(),
                    prefix: prefix.clone(),
                },
            }),
            Self::IssuerAndSerial { issuer, serial_hex } => IdentityRule::IssuerAndSerial {
                issuer: issuer.clone(),
                serial_hex: serial_hex.clone(),
            },
            Self::Thumbprint(pins) => IdentityRule::Thumbprint(
                pins.iter().map(|p| Thumbprint::parse(p)).collect::<Result<_, _>>()?,
            ),
            Self::SpkiSha256(pins) => IdentityRule::SpkiSha256(
                pins.iter()
                    .map(|p| {
                        crate::hex::decode_sha256(p.as_bytes()).ok_or_else(|| {
                            Error::malformed("an spki_sha256 pin is not 64 hex digits")
                        })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Self::All(rules) => {
                IdentityRule::All(rules.iter().map(Self::to_rule).collect::<Result<_, _>>()?)
            }
            Self::Any(rules) => {
                IdentityRule::Any(rules.iter().map(Self::to_rule).collect::<Result<_, _>>()?)
            }
            Self::Not(rule) => IdentityRule::Not(Box::new(rule.to_rule()?)),
        })
    }
}

/// One client in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// Client id.
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `active` (default) or `suspended`.
    #[serde(default = "active")]
    pub status: ClientStatus,
    /// Free key-values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Certificates.
    #[serde(default)]
    pub certificates: Vec<CertificateEntry>,
    /// Identity mappings to this client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<IdentityEntry>,
}

fn active() -> ClientStatus {
    ClientStatus::Active
}

/// A certificate in the file: a PEM certificate, or an x5t#S256 thumbprint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateEntry {
    /// The certificate, PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// Or its x5t#S256 (base64url SHA-256; hex also accepted).
    #[serde(default, rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
    /// notAfter for a thumbprint entry (RFC 3339), for expiry reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// End of the rotation overlap (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_after: Option<String>,
}

/// An identity mapping in the file; every field given must match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityEntry {
    /// Exact SPIFFE ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe: Option<String>,
    /// SPIFFE trust domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe_trust_domain: Option<String>,
    /// Exact DNS SAN (ASCII case ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<String>,
    /// Exact URI SAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Exact e-mail SAN (ASCII case ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Subject attributes (short name or OID) to exact values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subject: BTreeMap<String, String>,
    /// Issuer attributes to exact values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub issuer: BTreeMap<String, String>,
}

impl IdentityEntry {
    /// The rule this entry stands for; `None` when it lists nothing.
    pub fn to_rule(&self) -> Option<IdentityRule> {
        let mut all = Vec::new();
        if let Some(v) = &self.spiffe {
            all.push(IdentityRule::Spiffe(SpiffeMatch::Exact(v.clone())));
        }
        if let Some(v) = &self.spiffe_trust_domain {
            all.push(IdentityRule::Spiffe(SpiffeMatch::TrustDomain(v.clone())));
        }
        if let Some(v) = &self.dns {
            all.push(IdentityRule::DnsSan(ValueMatch::IgnoreAsciiCase(v.clone())));
        }
        if let Some(v) = &self.uri {
            all.push(IdentityRule::UriSan(ValueMatch::Exact(v.clone())));
        }
        if let Some(v) = &self.email {
            all.push(IdentityRule::EmailSan(ValueMatch::IgnoreAsciiCase(v.clone())));
        }
        for (attr, v) in &self.subject {
            all.push(IdentityRule::subject(attr.clone(), ValueMatch::Exact(v.clone())));
        }
        for (attr, v) in &self.issuer {
            all.push(IdentityRule::issuer(attr.clone(), ValueMatch::Exact(v.clone())));
        }
        (!all.is_empty()).then_some(IdentityRule::All(all))
    }
}

/// Clients and identity mappings ready for [`MemoryRegistry::replace_all`].
type Resolved = (Vec<RegisteredClient>, Vec<(IdentityRule, String)>);

fn time(
    field: &'static str,
    client: &str,
    value: Option<&String>,
) -> Result<Option<Timestamp>, RegistrationError> {
    value
        .map(|s| {
            Timestamp::parse_rfc3339(s).map_err(|error| RegistrationError::InvalidTime {
                client: client.to_owned(),
                field,
                error,
            })
        })
        .transpose()
}

impl RegistryFile {
    /// Parses JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RegistrationError> {
        serde_json::from_slice(bytes)
            .map_err(|e| RegistrationError::MalformedFile { reason: e.to_string() })
    }

    /// Serializes as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a file of at most [`MAX_REGISTRY_FILE`] bytes, and never more than that
    /// whatever the file is: a device such as `/dev/zero` or a huge sparse file is
    /// refused at the bound.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, RegistrationError> {
        let path = path.as_ref();
        let bytes = crate::trust::read_bounded(path, MAX_REGISTRY_FILE)
            .map_err(|error| RegistrationError::UnreadableFile { path: path.to_owned(), error })?;
        Self::from_json(&bytes)
    }

    /// The clients and identity mappings, with PEM certificates' keys checked against
    /// `registry`'s key policy. A certificate expired at `now` is kept (it no longer
    /// authenticates: verification refuses it) and reported in the warnings, each
    /// naming the client and the certificate.
    fn resolve(
        &self,
        registry: &MemoryRegistry,
        now: Timestamp,
    ) -> Result<(Resolved, Vec<String>), RegistrationError> {
        let mut clients = Vec::with_capacity(self.clients.len());
        let mut identities = Vec::new();
        let mut warnings = Vec::new();
        // Which client holds each thumbprint, to name both when two claim one.
        let mut owners: HashMap<Thumbprint, &str> = HashMap::new();
        for entry in &self.clients {
            let mut client = RegisteredClient::builder(entry.id.clone()).status(entry.status);
            if let Some(name) = &entry.name {
                client = client.name(name.clone());
            }
            for (k, v) in &entry.metadata {
                client = client.metadata(k.clone(), v.clone());
            }
            for (position, cert) in entry.certificates.iter().enumerate() {
                let retire_after = time("retire_after", &entry.id, cert.retire_after.as_ref())?;
                let registered = match (&cert.pem, &cert.x5t_s256) {
                    (Some(pem), None) => {
                        // No thumbprint without a certificate: named by its place.
                        let unreadable = |error: Error| RegistrationError::UnreadableCertificate {
                            client: entry.id.clone(),
                            error: Error::new(
                                error.kind(),
                                format!("certificate {}: {}", position + 1, error.message()),
                            ),
                        };
                        let chain = input::parse(pem.as_bytes(), Format::Pem, &Limits::default())
                            .map_err(unreadable)?;
                        let parsed = Certificate::from_der(chain.leaf()).map_err(unreadable)?;
                        let refused = |error| RegistrationError::CertificateRefused {
                            client: entry.id.clone(),
                            certificate: format!("x5t#S256 {}", parsed.thumbprint().to_x5t_s256()),
                            error: Box::new(error),
                        };
                        match registry.check_registrable(&parsed, now) {
                            Ok(()) => {}
                            Err(RegistrationError::Expired(at)) => {
                                // Kept: a file that outlives a certificate still loads.
                                registry.check_key(&parsed).map_err(refused)?;
                                warnings.push(format!(
                                    "client {:?}: certificate x5t#S256 {} expired at {at}; kept, \
                                     it no longer authenticates",
                                    entry.id,
                                    parsed.thumbprint().to_x5t_s256()
                                ));
                            }
                            Err(e) => return Err(refused(e)),
                        }
                        RegisteredCertificate {
                            thumbprint: parsed.thumbprint(),
                            not_after: Some(parsed.not_after()),
                            retire_after,
                        }
                    }
                    (None, Some(x5t)) => RegisteredCertificate {
                        thumbprint: Thumbprint::parse(x5t).map_err(|error| {
                            RegistrationError::InvalidThumbprint { client: entry.id.clone(), error }
                        })?,
                        not_after: time("not_after", &entry.id, cert.not_after.as_ref())?,
                        retire_after,
                    },
                    _ => {
                        return Err(RegistrationError::PemOrThumbprintRequired {
                            client: entry.id.clone(),
                        });
                    }
                };
                if cert.pem.is_none()
                    && let Some(not_after) = registered.not_after.filter(|t| *t < now)
                {
                    warnings.push(format!(
                        "client {:?}: certificate x5t#S256 {} expired at {}; kept, it no \
                         longer authenticates",
                        entry.id,
                        registered.thumbprint.to_x5t_s256(),
                        not_after.to_rfc3339()
                    ));
                }
                if let Some(owner) = owners.insert(registered.thumbprint, &entry.id)
                    && owner != entry.id
                {
                    return Err(RegistrationError::CertificateRefused {
                        client: entry.id.clone(),
                        certificate: format!("x5t#S256 {}", registered.thumbprint.to_x5t_s256()),
                        error: Box::new(RegistrationError::OwnedByAnother(owner.to_owned())),
                    });
                }
                client = client.certificate(registered);
            }
            for identity in &entry.identities {
                let rule = identity.to_rule().ok_or_else(|| {
                    RegistrationError::EmptyIdentityEntry { client: entry.id.clone() }
                })?;
                identities.push((rule, entry.id.clone()));
            }
            clients.push(client.build());
        }
        for mapping in &self.identities {
            let rule = mapping.rule.to_rule().map_err(|error| {
                RegistrationError::InvalidIdentityRule { client: mapping.client.clone(), error }
            })?;
            identities.push((rule, mapping.client.clone()));
        }
        Ok(((clients, identities), warnings))
    }
}

/// The `tracing` target of registry file warnings.
const TRACING_TARGET: &str = "certauth::registry";

impl MemoryRegistry {
    /// Replaces the registry's content with a registry file's, atomically; on any error
    /// the current content stays. PEM certificates' keys are checked against the key
    /// policy. A certificate expired at `now` (the predecessor in a rotation, say) is
    /// kept, and logged at warn (target `certauth::registry`) with its client and
    /// thumbprint: it no longer authenticates, since verification refuses it, and the
    /// file still loads, so a service restarts with the rest of its clients. A
    /// certificate past its `retire_after` is kept as well and refused as retired.
    pub fn load(&self, file: &RegistryFile, now: Timestamp) -> Result<(), RegistrationError> {
        self.load_from(file, now, None)
    }

    fn load_from(
        &self,
        file: &RegistryFile,
        now: Timestamp,
        path: Option<&Path>,
    ) -> Result<(), RegistrationError> {
        let ((clients, identities), warnings) = file.resolve(self, now)?;
        self.replace_all(clients, identities)?;
        let file = path.map_or_else(String::new, |p| p.display().to_string());
        for warning in warnings {
            tracing::warn!(target: TRACING_TARGET, file, "registry file: {warning}");
        }
        Ok(())
    }

    /// Reads and loads a registry file (see [`load`](Self::load)). Every error names the
    /// file ([`RegistrationError::InFile`], or [`RegistrationError::UnreadableFile`]
    /// when it cannot be read), and, for an error about one client or certificate, the
    /// client's id and the certificate (its x5t#S256, or its place in the client's list
    /// when it cannot be read); never the PEM.
    ///
    /// ```
    /// use certauth::registry::MemoryRegistry;
    /// let dir = std::env::temp_dir().join(format!("certauth-doc-load-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir)?;
    /// let path = dir.join("clients.json");
    /// std::fs::write(&path, r#"{"clients": [{"id": "billing", "certificates": [{"pem": "junk"}]}]}"#)?;
    /// let err = MemoryRegistry::new().load_file(&path, certauth::Timestamp::now()).unwrap_err();
    /// assert!(err.to_string().starts_with(&format!("{}: client \"billing\": certificate 1: ", path.display())));
    /// # std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_file(
        &self,
        path: impl AsRef<Path>,
        now: Timestamp,
    ) -> Result<(), RegistrationError> {
        let path = path.as_ref();
        let in_file = |error| match error {
            e @ RegistrationError::UnreadableFile { .. } => e,
            e => RegistrationError::InFile { path: path.to_owned(), error: Box::new(e) },
        };
        let file = RegistryFile::read(path).map_err(in_file)?;
        self.load_from(&file, now, Some(path)).map_err(in_file)
    }

    /// The registry as a file: every client with its name, status, metadata and
    /// certificates (by x5t#S256, with notAfter and retire-after; the PEM itself is not
    /// kept once registered), and every identity mapping, whatever its rule, in the
    /// top-level list in the order they are checked. Loading the file gives a registry
    /// that answers every look-up as this one does. Not part of the content, so not in
    /// the file: the registration rules ([`MemoryRegistry::with_key_policy`]).
    pub fn to_file(&self) -> RegistryFile {
        RegistryFile {
            clients: self
                .clients()
                .iter()
                .map(|c| ClientEntry {
                    id: c.id().to_owned(),
                    name: Some(c.name().to_owned()),
                    status: c.status(),
                    metadata: c
                        .metadata_iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                    certificates: c
                        .certificates()
                        .map(|r| CertificateEntry {
                            pem: None,
                            x5t_s256: Some(r.thumbprint.to_x5t_s256()),
                            not_after: r.not_after.map(Timestamp::to_rfc3339),
                            retire_after: r.retire_after.map(Timestamp::to_rfc3339),
                        })
                        .collect(),
                    identities: Vec::new(),
                })
                .collect(),
            identities: self
                .identity_mappings()
                .iter()
                .map(|(rule, client)| MappingEntry { client: client.clone(), rule: rule.into() })
                .collect(),
        }
    }

    /// Writes [`to_file`](Self::to_file) as JSON, replacing `path` atomically (write to a
    /// temporary file beside it, then rename).
    pub fn save_file(&self, path: impl AsRef<Path>) -> Result<(), RegistrationError> {
        let path = path.as_ref();
        let tmp = path.with_extension("tmp");
        let io = |e: std::io::Error| RegistrationError::UnwritableFile {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        std::fs::write(&tmp, self.to_file().to_json()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed time files are loaded at.
    const NOW: Timestamp = Timestamp::from_unix_secs(1_780_000_000);

    /// One rule of every kind, with every value and SPIFFE match, nested.
    fn every_rule() -> IdentityRule {
        IdentityRule::All(vec![
            IdentityRule::subject("CN", ValueMatch::Exact("billing".into())),
            IdentityRule::issuer("2.5.4.10", ValueMatch::IgnoreAsciiCase("example corp".into())),
            IdentityRule::DnsSan(ValueMatch::Suffix(".example.org".into())),
            IdentityRule::UriSan(ValueMatch::OneOf(vec!["https://a/".into(), "urn:x".into()])),
            IdentityRule::EmailSan(ValueMatch::Exact("ops@example.org".into())),
            IdentityRule::IpSan("10.1.2.3".parse().unwrap()),
            IdentityRule::IpSan("::1".parse().unwrap()),
            IdentityRule::Any(vec![
                IdentityRule::Spiffe(SpiffeMatch::Exact("spiffe://example.org/a".into())),
                IdentityRule::Spiffe(SpiffeMatch::TrustDomain("example.org".into())),
                IdentityRule::Spiffe(SpiffeMatch::PathPrefix {
                    trust_domain: "example.org".into(),
                    prefix: "/ns/prod".into(),
                }),
            ]),
            IdentityRule::IssuerAndSerial { issuer: "CN=Root".into(), serial_hex: "1a2b".into() },
            IdentityRule::Thumbprint(vec![Thumbprint::of(b"a"), Thumbprint::of(b"b")]),
            IdentityRule::SpkiSha256(vec![[0xab; 32], [0x01; 32]]),
            IdentityRule::Not(Box::new(IdentityRule::Any(vec![]))),
            IdentityRule::All(vec![]),
        ])
    }

    /// Every identity mapping survives to_file, JSON and load, in its order, interleaved
    /// between clients.
    #[test]
    fn every_identity_rule_round_trips_in_order() {
        let now = NOW;
        let registry = MemoryRegistry::new();
        for id in ["a", "b"] {
            registry.add_client(RegisteredClient::new(id, id.to_uppercase())).unwrap();
        }
        let spiffe = IdentityRule::Spiffe(SpiffeMatch::TrustDomain("example.org".into()));
        let subject = IdentityRule::subject("CN", ValueMatch::exact("billing"));
        registry.map_identity(spiffe, "b").unwrap();
        registry.map_identity(every_rule(), "a").unwrap();
        registry.map_identity(subject, "b").unwrap();
        let json = registry.to_file().to_json();
        let again = MemoryRegistry::new();
        again.load(&RegistryFile::from_json(json.as_bytes()).unwrap(), now).unwrap();
        assert_eq!(again.identity_mappings(), registry.identity_mappings());
        assert_eq!(again.clients(), registry.clients());
        assert_eq!(again.to_file(), registry.to_file());
    }

    /// The top-level form as the module docs show it loads, after the clients' own entries.
    #[test]
    fn documented_top_level_form_loads() {
        let json = r#"{
          "clients": [{"id": "billing", "identities": [{"dns": "billing.example.org"}]}],
          "identities": [
            {"client": "billing", "rule": {"all": [
              {"issuer": {"attribute": "O", "value": {"exact": "Example Corp"}}},
              {"any": [
                {"spiffe": {"path_prefix": {"trust_domain": "example.org", "prefix": "/ns/billing"}}},
                {"dns": {"suffix": ".billing.example.org"}},
                {"not": {"x5t#S256": ["ARuY-HyMSdZnHKV2LYWENWrL35Q3HQNV7SoWeL0W3ck"]}}
              ]}
            ]}}
          ]
        }"#;
        let registry = MemoryRegistry::new();
        registry.load(&RegistryFile::from_json(json.as_bytes()).unwrap(), NOW).unwrap();
        let mappings = registry.identity_mappings();
        assert_eq!(mappings.len(), 2);
        assert_eq!(
            mappings[0].0,
            IdentityRule::All(vec![IdentityRule::DnsSan(ValueMatch::IgnoreAsciiCase(
                "billing.example.org".into()
            ))])
        );
        assert!(matches!(&mappings[1].0, IdentityRule::All(r) if r.len() == 2));
    }

    /// Each way a registry file can be wrong has its own error, naming the client.
    #[test]
    fn bad_files_are_refused_with_typed_errors() {
        let load = |json: &str| {
            MemoryRegistry::new().load(&RegistryFile::from_json(json.as_bytes()).unwrap(), NOW)
        };
        let certificate = |entry: &str| {
            load(&format!(r#"{{"clients": [{{"id": "c", "certificates": [{entry}]}}]}}"#))
                .unwrap_err()
        };
        let e = certificate(r#"{"pem": "not a certificate"}"#);
        assert!(
            matches!(&e, RegistrationError::UnreadableCertificate { client, .. } if client == "c"),
            "{e}"
        );
        let e = certificate(r#"{"x5t#S256": "nope"}"#);
        assert!(
            matches!(&e, RegistrationError::InvalidThumbprint { client, .. } if client == "c"),
            "{e}"
        );
        assert!(e.to_string().starts_with(r#"client "c": x5t#S256: "#), "{e}");
        let x5t = Thumbprint::of(b"c").to_x5t_s256();
        for field in ["not_after", "retire_after"] {
            let e = certificate(&format!(r#"{{"x5t#S256": "{x5t}", "{field}": "soon"}}"#));
            assert!(
                matches!(&e, RegistrationError::InvalidTime { client, field: f, error }
                    if client == "c" && *f == field && error.kind() == crate::ErrorKind::MalformedInput),
                "{e}"
            );
        }
        for entry in ["{}", &format!(r#"{{"x5t#S256": "{x5t}", "pem": "x"}}"#)] {
            assert_eq!(
                certificate(entry),
                RegistrationError::PemOrThumbprintRequired { client: "c".into() }
            );
        }
        assert_eq!(
            load(r#"{"clients": [{"id": "c", "identities": [{}]}]}"#),
            Err(RegistrationError::EmptyIdentityEntry { client: "c".into() })
        );
        let e = RegistryFile::from_json(b"{").unwrap_err();
        assert!(
            matches!(&e, RegistrationError::MalformedFile { reason } if reason.contains("line 1")),
            "{e}"
        );
        let missing = std::env::temp_dir().join("certauth-no-such-dir").join("registry.json");
        let e = RegistryFile::read(&missing).unwrap_err();
        assert!(
            matches!(&e, RegistrationError::UnreadableFile { path, .. } if *path == missing),
            "{e}"
        );
        let e = MemoryRegistry::new().save_file(&missing).unwrap_err();
        assert!(
            matches!(&e, RegistrationError::UnwritableFile { path, .. } if *path == missing),
            "{e}"
        );
    }

    #[test]
    fn bad_rules_are_refused_with_the_client_named() {
        let registry = MemoryRegistry::new();
        for (rule, why) in [
            (r#"{"x5t#S256": ["nope"]}"#, "thumbprint"),
            (r#"{"spki_sha256": ["abcd"]}"#, "64 hex digits"),
            (r#"{"spki_sha256": ["zz"]}"#, "64 hex digits"),
            // Sign characters are not hex digits, although integer parsing accepts them.
            (&format!(r#"{{"spki_sha256": ["{}"]}}"#, "+f".repeat(32)), "64 hex digits"),
        ] {
            let json = format!(
                r#"{{"clients": [{{"id": "c"}}], "identities": [{{"client": "c", "rule": {rule}}}]}}"#
            );
            let e =
                registry.load(&RegistryFile::from_json(json.as_bytes()).unwrap(), NOW).unwrap_err();
            assert!(
                matches!(&e, RegistrationError::InvalidIdentityRule { client, error }
                    if client == "c" && error.kind() == crate::ErrorKind::MalformedInput),
                "{rule}: {e}"
            );
            let e = e.to_string();
            assert!(e.contains("client \"c\": identity rule: ") && e.contains(why), "{rule}: {e}");
        }
        for bad in [
            r#"{"identities": [{"client": "c", "rule": {"nope": 1}}]}"#,
            r#"{"identities": [{"client": "c", "rule": {"dns": {"exact": "a"}}, "x": 1}]}"#,
            r#"{"identities": [{"client": "c", "rule": {"dns": "a"}}]}"#,
        ] {
            assert!(RegistryFile::from_json(bad.as_bytes()).is_err(), "{bad}");
        }
        // A mapping to a client the file does not hold.
        let json = r#"{"identities": [{"client": "ghost", "rule": {"all": []}}]}"#;
        let e = registry.load(&RegistryFile::from_json(json.as_bytes()).unwrap(), NOW);
        assert!(matches!(e, Err(RegistrationError::UnknownClient(c)) if c == "ghost"));
        // Nesting is bounded by the JSON parser's depth limit, not by the stack.
        let nested = |n: usize| {
            let json = format!(
                r#"{{"identities": [{{"client": "c", "rule": {}{{"all": []}}{}}}]}}"#,
                r#"{"not": "#.repeat(n),
                "}".repeat(n)
            );
            RegistryFile::from_json(json.as_bytes())
        };
        assert!(nested(50).is_ok());
        let e = nested(100_000).unwrap_err().to_string();
        assert!(e.contains("recursion limit"), "{e}");
    }
}
