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

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    ClientStatus, MemoryRegistry, RegisteredCertificate, RegisteredClient, RegistrationError,
};
use crate::cert::Certificate;
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
    field: &str,
    client: &str,
    value: Option<&String>,
) -> Result<Option<Timestamp>, RegistrationError> {
    value
        .map(|s| {
            Timestamp::parse_rfc3339(s).map_err(|e| {
                RegistrationError::Invalid(format!("client {client:?}: {field}: {}", e.message()))
            })
        })
        .transpose()
}

impl RegistryFile {
    /// Parses JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RegistrationError> {
        serde_json::from_slice(bytes)
            .map_err(|e| RegistrationError::Invalid(format!("registry file: {e}")))
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
        let bytes = crate::trust::read_bounded(path, MAX_REGISTRY_FILE).map_err(|e| {
            RegistrationError::Invalid(format!("{}: {}", path.display(), e.message()))
        })?;
        Self::from_json(&bytes)
    }

    /// The clients and identity mappings, with PEM certificates checked at `now` against
    /// `registry`'s rules (expired or weak keys are refused).
    fn resolve(
        &self,
        registry: &MemoryRegistry,
        now: Timestamp,
    ) -> Result<Resolved, RegistrationError> {
        let mut clients = Vec::with_capacity(self.clients.len());
        let mut identities = Vec::new();
        for entry in &self.clients {
            let mut client = RegisteredClient::builder(entry.id.clone()).status(entry.status);
            if let Some(name) = &entry.name {
                client = client.name(name.clone());
            }
            for (k, v) in &entry.metadata {
                client = client.metadata(k.clone(), v.clone());
            }
            for cert in &entry.certificates {
                let retire_after = time("retire_after", &entry.id, cert.retire_after.as_ref())?;
                let registered = match (&cert.pem, &cert.x5t_s256) {
                    (Some(pem), None) => {
                        let chain = input::parse(pem.as_bytes(), Format::Pem, &Limits::default())
                            .map_err(|e| {
                            RegistrationError::Invalid(format!(
                                "client {:?}: {}",
                                entry.id,
                                e.message()
                            ))
                        })?;
                        let parsed = Certificate::from_der(chain.leaf()).map_err(|e| {
                            RegistrationError::Invalid(format!(
                                "client {:?}: {}",
                                entry.id,
                                e.message()
                            ))
                        })?;
                        registry.check_registrable(&parsed, now)?;
                        RegisteredCertificate {
                            thumbprint: parsed.thumbprint(),
                            not_after: Some(parsed.not_after()),
                            retire_after,
                        }
                    }
                    (None, Some(x5t)) => RegisteredCertificate {
                        thumbprint: Thumbprint::parse(x5t).map_err(|e| {
                            RegistrationError::Invalid(format!(
                                "client {:?}: {}",
                                entry.id,
                                e.message()
                            ))
                        })?,
                        not_after: time("not_after", &entry.id, cert.not_after.as_ref())?,
                        retire_after,
                    },
                    _ => {
                        return Err(RegistrationError::Invalid(format!(
                            "client {:?}: a certificate entry needs exactly one of pem and x5t#S256",
                            entry.id
                        )));
                    }
                };
                client = client.certificate(registered);
            }
            for identity in &entry.identities {
                let rule = identity.to_rule().ok_or_else(|| {
                    RegistrationError::Invalid(format!(
                        "client {:?}: empty identity entry",
                        entry.id
                    ))
                })?;
                identities.push((rule, entry.id.clone()));
            }
            clients.push(client.build());
        }
        Ok((clients, identities))
    }
}

impl MemoryRegistry {
    /// Replaces the registry's content with a registry file's, atomically; on any error
    /// the current content stays. PEM certificates are checked at `now`.
    pub fn load(&self, file: &RegistryFile, now: Timestamp) -> Result<(), RegistrationError> {
        let (clients, identities) = file.resolve(self, now)?;
        self.replace_all(clients, identities)
    }

    /// Reads and loads a registry file (see [`load`](Self::load)).
    pub fn load_file(
        &self,
        path: impl AsRef<Path>,
        now: Timestamp,
    ) -> Result<(), RegistrationError> {
        self.load(&RegistryFile::read(path)?, now)
    }

    /// The registry as a file: certificates by x5t#S256 with their notAfter. Identity
    /// mappings made with rules the file format cannot express are left out.
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
        }
    }

    /// Writes [`to_file`](Self::to_file) as JSON, replacing `path` atomically (write to a
    /// temporary file beside it, then rename).
    pub fn save_file(&self, path: impl AsRef<Path>) -> Result<(), RegistrationError> {
        let path = path.as_ref();
        let tmp = path.with_extension("tmp");
        let io = |e: std::io::Error| RegistrationError::Invalid(format!("{}: {e}", path.display()));
        std::fs::write(&tmp, self.to_file().to_json()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}
