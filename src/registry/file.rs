//! The registry file: clients, metadata, certificates and identity mappings as JSON.
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
//!         {"pem": "-----BEGIN CERTIFICATE-----\nMIIC...\n-----END CERTIFICATE-----\n"},
//!         {"x5t#S256": "bWFkZS11cC10aHVtYnByaW50LW9mLTMyLWJ5dGVzLi4", "not_after": "2027-06-01T00:00:00Z",
//!          "retire_after": "2027-01-15T00:00:00Z"}
//!       ]
//!     }
//!   ],
//!   "identity_mappings": [
//!     {"client": "billing", "spiffe_id": "spiffe://example.test/ns/prod/sa/billing"},
//!     {"client": "billing", "spiffe_trust_domain": "billing.example.test"},
//!     {"client": "billing", "dns": "billing.example.test"},
//!     {"client": "billing", "subject": {"O": "Example Corp", "CN": "billing"}}
//!   ]
//! }
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::cert::Certificate;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::IdentityRule;
use crate::input::{Format, Limits, parse};
use crate::registry::{ClientStatus, MemoryRegistry, RegisteredCertificate, RegisteredClient};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;

/// Largest registry file accepted: 1 GiB (a million clients listed by thumbprint take
/// about 200 MB).
pub const MAX_REGISTRY_FILE: usize = 1 << 30;

/// The serialized form of a [`MemoryRegistry`] (see the module docs for the schema).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryFile {
    /// The clients.
    #[serde(default)]
    pub clients: Vec<ClientEntry>,
    /// Identity rules that map unregistered certificates to clients, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_mappings: Vec<MappingEntry>,
}

/// One client in a [`RegistryFile`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    /// Client id.
    pub id: String,
    /// Display name (defaults to the id).
    #[serde(default)]
    pub name: String,
    /// `"active"` (default) or `"suspended"`.
    #[serde(default = "active")]
    pub status: String,
    /// Free key-value metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// Certificates, as PEM or as thumbprint + expiry.
    #[serde(default)]
    pub certificates: Vec<CertificateEntry>,
}

fn active() -> String {
    "active".to_owned()
}

/// One certificate in a [`ClientEntry`]: either `pem`, or `x5t#S256` with `not_after`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateEntry {
    /// The certificate as PEM (its key and expiry are checked on load).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pem: Option<String>,
    /// The certificate's RFC 8705 thumbprint, when the certificate itself is not listed.
    #[serde(default, rename = "x5t#S256", skip_serializing_if = "Option::is_none")]
    pub x5t_s256: Option<String>,
    /// Expiry (RFC 3339), required with `x5t#S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// End of a rotation overlap (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retire_after: Option<String>,
}

/// One identity mapping: a rule (exactly one of the rule fields) and the client it maps to.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingEntry {
    /// The client id the rule maps to.
    pub client: String,
    /// Exact SPIFFE ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe_id: Option<String>,
    /// SPIFFE trust domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spiffe_trust_domain: Option<String>,
    /// DNS SAN pattern.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<String>,
    /// URI SAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// E-mail SAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Subject attributes that must all match (`{"O": "...", "CN": "..."}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<BTreeMap<String, String>>,
    /// Issuer attributes that must all match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<BTreeMap<String, String>>,
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::MalformedInput, message)
}

fn time(field: &str, value: &str, client: &str) -> Result<Timestamp> {
    Timestamp::parse_rfc3339(value).map_err(|_| invalid(format!("client {client:?}: {field} is not an rfc 3339 time")))
}

impl RegistryFile {
    /// Parses a registry file (JSON). Bounded by [`MAX_REGISTRY_FILE`].
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_REGISTRY_FILE {
            return Err(Error::too_large("registry file", bytes.len(), MAX_REGISTRY_FILE));
        }
        serde_json::from_slice(bytes).map_err(|e| {
            // serde_json's message names the line and column, not the content.
            invalid(format!("registry file: {e}"))
        })
    }

    /// Converts to clients and mappings, applying the registration rules at `now` with
    /// the registry's key policy: expired certificates, weak keys and thumbprints listed
    /// twice are errors.
    pub fn into_clients(
        self,
        now: Timestamp,
        registry: &MemoryRegistry,
    ) -> Result<(Vec<RegisteredClient>, Vec<(IdentityRule, String)>)> {
        let mut clients = Vec::with_capacity(self.clients.len());
        for entry in self.clients {
            let status = match entry.status.as_str() {
                "active" => ClientStatus::Active,
                "suspended" => ClientStatus::Suspended,
                _ => return Err(invalid(format!("client {:?}: status must be active or suspended", entry.id))),
            };
            let mut client = RegisteredClient {
                name: if entry.name.is_empty() { entry.id.clone() } else { entry.name },
                id: entry.id,
                status,
                metadata: entry.metadata,
                certificates: Vec::with_capacity(entry.certificates.len()),
            };
            for cert in entry.certificates {
                let registered = certificate(&cert, &client.id, now, registry)?;
                if client.certificate(&registered.thumbprint).is_some() {
                    return Err(invalid(format!("client {:?}: a certificate is listed twice", client.id)));
                }
                client.certificates.push(registered);
            }
            clients.push(client);
        }
        let mut mappings = Vec::with_capacity(self.identity_mappings.len());
        for m in self.identity_mappings {
            mappings.push((mapping_rule(&m)?, m.client));
        }
        Ok((clients, mappings))
    }

    /// The file form of a registry's current content. Certificates are written by
    /// thumbprint and expiry.
    pub fn from_registry(registry: &MemoryRegistry) -> Self {
        let clients = registry
            .clients()
            .iter()
            .map(|c| ClientEntry {
                id: c.id.clone(),
                name: c.name.clone(),
                status: c.status.as_str().to_owned(),
                metadata: c.metadata.clone(),
                certificates: c
                    .certificates
                    .iter()
                    .map(|rc| CertificateEntry {
                        pem: None,
                        x5t_s256: Some(rc.thumbprint.to_x5t_s256()),
                        not_after: Some(rc.not_after.to_rfc3339()),
                        retire_after: rc.retire_after.map(Timestamp::to_rfc3339),
                    })
                    .collect(),
            })
            .collect();
        let identity_mappings = registry.identity_mappings().iter().filter_map(|(r, id)| mapping_entry(r, id)).collect();
        Self { clients, identity_mappings }
    }

    /// Serializes as pretty JSON.
    pub fn to_json(&self) -> String {
        // Serializing these plain structs cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn certificate(
    entry: &CertificateEntry,
    client: &str,
    now: Timestamp,
    registry: &MemoryRegistry,
) -> Result<RegisteredCertificate> {
    let retire_after = entry.retire_after.as_deref().map(|t| time("retire_after", t, client)).transpose()?;
    let registered = match (&entry.pem, &entry.x5t_s256) {
        (Some(pem), None) => {
            let chain = parse(pem.as_bytes(), Format::Pem, &Limits::default())?;
            let cert = Certificate::from_der(chain.leaf())?;
            registry.key_policy().check(&cert).map_err(|e| Error::new(e.kind(), format!("client {client:?}: {e}")))?;
            RegisteredCertificate { thumbprint: cert.thumbprint(), not_after: cert.not_after(), retire_after }
        }
        (None, Some(x5t)) => {
            let not_after = entry
                .not_after
                .as_deref()
                .ok_or_else(|| invalid(format!("client {client:?}: x5t#S256 needs not_after")))?;
            RegisteredCertificate {
                thumbprint: Thumbprint::parse(x5t)?,
                not_after: time("not_after", not_after, client)?,
                retire_after,
            }
        }
        _ => return Err(invalid(format!("client {client:?}: a certificate needs exactly one of pem and x5t#S256"))),
    };
    let end = registered.retire_after.map_or(registered.not_after, |r| r.min(registered.not_after));
    if end < now {
        return Err(Error::new(ErrorKind::Expired, format!("client {client:?}: a certificate expired or retired at {end}")));
    }
    Ok(registered)
}

fn attributes(kind: &str, attrs: &BTreeMap<String, String>) -> Vec<IdentityRule> {
    attrs
        .iter()
        .map(|(a, v)| match kind {
            "subject" => IdentityRule::subject_attribute(a.clone(), v.clone()),
            _ => IdentityRule::issuer_attribute(a.clone(), v.clone()),
        })
        .collect()
}

fn mapping_rule(m: &MappingEntry) -> Result<IdentityRule> {
    let mut rules = Vec::new();
    if let Some(id) = &m.spiffe_id {
        rules.push(IdentityRule::spiffe_id(id)?);
    }
    if let Some(td) = &m.spiffe_trust_domain {
        rules.push(IdentityRule::spiffe_trust_domain(td.clone()));
    }
    if let Some(d) = &m.dns {
        rules.push(IdentityRule::dns(d.clone()));
    }
    if let Some(u) = &m.uri {
        rules.push(IdentityRule::uri(u.clone()));
    }
    if let Some(e) = &m.email {
        rules.push(IdentityRule::email(e.clone()));
    }
    let mut attrs = Vec::new();
    if let Some(s) = &m.subject {
        attrs.extend(attributes("subject", s));
    }
    if let Some(i) = &m.issuer {
        attrs.extend(attributes("issuer", i));
    }
    if !attrs.is_empty() {
        rules.push(IdentityRule::all(attrs));
    }
    match rules.len() {
        1 => Ok(rules.remove(0)),
        _ => Err(invalid(format!("mapping for client {:?} needs exactly one rule", m.client))),
    }
}

fn mapping_entry(rule: &IdentityRule, client: &str) -> Option<MappingEntry> {
    let mut m = MappingEntry { client: client.to_owned(), ..MappingEntry::default() };
    match rule {
        IdentityRule::SpiffeId(id) => m.spiffe_id = Some(id.to_string()),
        IdentityRule::SpiffeTrustDomain(td) => m.spiffe_trust_domain = Some(td.clone()),
        IdentityRule::Dns(d) => m.dns = Some(d.clone()),
        IdentityRule::Uri(u) => m.uri = Some(u.clone()),
        IdentityRule::Email(e) => m.email = Some(e.clone()),
        IdentityRule::All(attrs) => {
            for a in attrs {
                match a {
                    IdentityRule::SubjectAttribute { attribute, value: crate::identity::ValueMatch::Exact(v) } => {
                        m.subject.get_or_insert_with(BTreeMap::new).insert(attribute.clone(), v.clone());
                    }
                    IdentityRule::IssuerAttribute { attribute, value: crate::identity::ValueMatch::Exact(v) } => {
                        m.issuer.get_or_insert_with(BTreeMap::new).insert(attribute.clone(), v.clone());
                    }
                    _ => return None,
                }
            }
        }
        _ => return None,
    }
    Some(m)
}

impl MemoryRegistry {
    /// Replaces the content with a registry file's, atomically (readers see the old or the
    /// new registry, never a mix; on error nothing changes).
    pub fn load_file(&self, path: impl AsRef<Path>, now: Timestamp) -> Result<()> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| invalid(format!("cannot read registry file {}: {e}", path.display())))?;
        self.load_bytes(&bytes, now)
    }

    /// As [`load_file`](Self::load_file), from bytes.
    pub fn load_bytes(&self, bytes: &[u8], now: Timestamp) -> Result<()> {
        let (clients, mappings) = RegistryFile::parse(bytes)?.into_clients(now, self)?;
        self.replace_all(clients, mappings).map_err(|e| invalid(format!("registry file: {e}")))
    }

    /// Writes the current content to `path` (via a temporary file and a rename, so a
    /// reader never sees half a file).
    pub fn save_file(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, RegistryFile::from_registry(self).to_json())?;
        std::fs::rename(tmp, path)
    }
}
