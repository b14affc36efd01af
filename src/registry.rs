//! Client registry: which client application a certificate belongs to.
//!
//! API gateways map a verified certificate to a registered client and attach that
//! client's policy (tier, scopes). [`Registry`] is the pluggable, async look-up;
//! [`MemoryRegistry`] is the embedded default, and `examples/postgres_registry.rs` shows
//! one shared by many service replicas.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::identity::ClientIdentity;
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;

mod file;
mod memory;

pub use file::RegistryFile;
pub use memory::MemoryRegistry;

/// A boxed future, as the object-safe [`Registry`] methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Look-ups from a certificate to a registered client.
///
/// Async so that a database-backed registry can implement it; the in-memory one answers
/// at once. Object safe: use it as `Arc<dyn Registry>`. A registry that cannot answer
/// (database down) returns an error of kind `registry_unavailable`, which the HTTP
/// integration turns into 503: never "unknown client".
pub trait Registry: Send + Sync + fmt::Debug {
    /// The client that registered the certificate with this thumbprint.
    fn by_thumbprint<'a>(
        &'a self,
        thumbprint: &'a Thumbprint,
    ) -> BoxFuture<'a, Result<Option<Arc<RegisteredClient>>>>;

    /// The client with this id (the IBM API Connect flow: a client-id header names the
    /// application; [`resolve`] then requires the certificate to be one of its own).
    fn by_client_id<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<Arc<RegisteredClient>>>>;

    /// The client an identity rule maps this identity to (a SAN, SPIFFE ID, or issuer
    /// and subject rule, as Kong maps consumers). Default: none.
    fn by_identity<'a>(
        &'a self,
        identity: &'a ClientIdentity,
    ) -> BoxFuture<'a, Result<Option<Arc<RegisteredClient>>>> {
        let _ = identity;
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// Whether a client may authenticate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientStatus {
    /// The client may authenticate.
    #[default]
    Active,
    /// The client is refused (`client_suspended`) until re-activated.
    Suspended,
}

impl ClientStatus {
    /// `"active"` or `"suspended"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// One certificate registered to a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredCertificate {
    /// SHA-256 of the certificate (x5t#S256).
    pub thumbprint: Thumbprint,
    /// The certificate's own expiry.
    pub not_after: Timestamp,
    /// After this time the certificate is refused even though it has not expired: the
    /// end of a rotation overlap. `None`: valid until `not_after`.
    pub retire_after: Option<Timestamp>,
}

impl RegisteredCertificate {
    /// Whether the certificate may be used at `now`.
    pub fn is_usable_at(&self, now: Timestamp) -> bool {
        now <= self.not_after && self.retire_after.is_none_or(|r| now <= r)
    }
}

/// A registered client application.
///
/// Several certificates per client let it rotate: register the new certificate before
/// the old one expires (optionally with a `retire_after` on the old one), and both work
/// during the overlap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredClient {
    /// Stable id, e.g. the API Connect client id or a Kong consumer name.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Active or suspended.
    pub status: ClientStatus,
    /// Free key-value metadata: tier, scopes, alias, ...
    pub metadata: BTreeMap<String, String>,
    /// The client's certificates.
    pub certificates: Vec<RegisteredCertificate>,
}

impl RegisteredClient {
    /// A new active client with no metadata and no certificates.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            status: ClientStatus::Active,
            metadata: BTreeMap::new(),
            certificates: Vec::new(),
        }
    }

    /// Adds a metadata entry (builder style).
    #[must_use]
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The registered certificate with this thumbprint.
    pub fn certificate(&self, thumbprint: &Thumbprint) -> Option<&RegisteredCertificate> {
        self.certificates.iter().find(|c| c.thumbprint == *thumbprint)
    }
}

/// Resolves a verified identity to its registered client.
///
/// With `client_id` (from a client-id header), the named client must exist and own the
/// certificate; otherwise the certificate's thumbprint is looked up, then identity
/// mappings. The client must be active and the certificate usable at `now` (not past
/// its expiry or retire-after). Returns `Ok(None)` when nothing is registered for the
/// certificate, so the caller can apply its anonymous-client policy.
///
/// Errors: `unknown_client` (a named client that does not exist or does not own the
/// certificate), `client_suspended`, `registry_unavailable`.
pub async fn resolve(
    registry: &dyn Registry,
    identity: &ClientIdentity,
    client_id: Option<&str>,
    now: Timestamp,
) -> Result<Option<Arc<RegisteredClient>>> {
    let thumbprint = identity.thumbprint();
    let (client, by_certificate) = match client_id {
        Some(id) => {
            let Some(client) = registry.by_client_id(id).await? else {
                return Err(Error::new(ErrorKind::UnknownClient, "the named client is not registered"));
            };
            if client.certificate(&thumbprint).is_none() {
                return Err(Error::new(
                    ErrorKind::UnknownClient,
                    format!("the certificate is not registered to client {:?}", client.id),
                ));
            }
            (client, true)
        }
        None => match registry.by_thumbprint(&thumbprint).await? {
            Some(client) => (client, true),
            None => match registry.by_identity(identity).await? {
                Some(client) => (client, false),
                None => return Ok(None),
            },
        },
    };
    if client.status == ClientStatus::Suspended {
        return Err(Error::new(
            ErrorKind::ClientSuspended,
            format!("client {:?} is suspended", client.id),
        ));
    }
    if by_certificate {
        let usable = client.certificate(&thumbprint).is_some_and(|c| c.is_usable_at(now));
        if !usable {
            return Err(Error::new(
                ErrorKind::ClientSuspended,
                format!("the certificate of client {:?} is retired", client.id),
            ));
        }
    }
    Ok(Some(client))
}

/// Why a registration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// The certificate has expired (or retires) before the registration time.
    #[error("the certificate expired at {0}")]
    Expired(Timestamp),
    /// The certificate's key is weaker than the key policy allows.
    #[error("{0}")]
    WeakKey(Error),
    /// The certificate could not be parsed.
    #[error("{0}")]
    Invalid(Error),
    /// The thumbprint is already registered to another client.
    #[error("the certificate is already registered to client {0:?}")]
    OwnedByAnotherClient(String),
    /// No client with this id.
    #[error("no client {0:?}")]
    NoSuchClient(String),
    /// A client with this id already exists.
    #[error("client {0:?} already exists")]
    DuplicateClient(String),
}
