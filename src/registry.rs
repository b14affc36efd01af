//! Client registry: which application a certificate belongs to, and that application's
//! status and metadata.
//!
//! API gateways map a client certificate to a registered application (IBM API Connect,
//! WSO2, Kong consumers). [`Registry`] is that mapping as a trait, asynchronous so a
//! database can implement it and object safe so it can live behind `Arc<dyn Registry>`.
//! [`MemoryRegistry`] is the embedded default; `postgres::PostgresRegistry` (feature
//! `postgres`) is one registry shared by many replicas.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::BoxFuture;
use crate::error::{Error, ErrorKind, Result};
use crate::identity::ClientIdentity;
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;

mod client;
pub mod file;
mod memory;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub mod postgres;
mod sharded;

pub use client::{Certificates, Metadata, RegisteredClient, RegisteredClientBuilder};
pub use memory::MemoryRegistry;

/// Whether a client may authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ClientStatus {
    /// Requests are accepted.
    Active,
    /// Requests are refused with `client_suspended`.
    Suspended,
}

/// One certificate registered to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegisteredCertificate {
    /// SHA-256 of the certificate (x5t#S256).
    pub thumbprint: Thumbprint,
    /// The certificate's notAfter, when known (registered by PEM, or given).
    pub not_after: Option<Timestamp>,
    /// When the certificate stops being accepted even though it is still valid: the end
    /// of a rotation overlap.
    pub retire_after: Option<Timestamp>,
}

impl RegisteredCertificate {
    /// Whether the certificate is retired at `now`.
    pub fn is_retired_at(&self, now: Timestamp) -> bool {
        self.retire_after.is_some_and(|t| now > t)
    }
}

/// What a look-up found: the client and, when the look-up was by certificate, the
/// registration of that certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The client (a clone is a reference-count increment).
    pub client: RegisteredClient,
    /// The matched certificate (`None` for a match by identity rule).
    pub certificate: Option<RegisteredCertificate>,
}

impl Registration {
    /// Accepts the registration at `now` or says why not: `client_suspended` for a
    /// suspended client or a retired certificate.
    pub fn check(&self, now: Timestamp) -> Result<()> {
        if self.client.status() == ClientStatus::Suspended {
            return Err(Error::new(
                ErrorKind::ClientSuspended,
                format!("client {} is suspended", self.client.id()),
            ));
        }
        if let Some(cert) = &self.certificate
            && cert.is_retired_at(now)
        {
            return Err(Error::new(
                ErrorKind::ClientSuspended,
                format!(
                    "certificate of client {} was retired at {}",
                    self.client.id(),
                    cert.retire_after.map(Timestamp::to_rfc3339).unwrap_or_default()
                ),
            ));
        }
        Ok(())
    }
}

/// A certificate of a client expiring soon, for rotation alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiringCertificate {
    /// The client.
    pub client_id: String,
    /// The certificate.
    pub thumbprint: Thumbprint,
    /// Its notAfter.
    pub not_after: Timestamp,
}

/// Maps certificates to client applications.
///
/// Implementations return `Err` with kind `registry_unavailable` when the backing store
/// cannot answer; `Ok(None)` means "not registered". The futures must be cancel safe
/// (the authenticator may be dropped mid-request).
pub trait Registry: Send + Sync + fmt::Debug {
    /// The client a certificate thumbprint is registered to.
    fn by_thumbprint<'a>(
        &'a self,
        thumbprint: &'a Thumbprint,
    ) -> BoxFuture<'a, Result<Option<Registration>>>;

    /// A client by id (the IBM API Connect flow: a client-id header names the
    /// application, and the certificate must be one registered to it).
    fn by_client_id<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RegisteredClient>>>;

    /// The client an identity maps to by rule (SAN, SPIFFE ID, issuer + subject), as
    /// Kong maps consumers. Default: none.
    fn by_identity<'a>(
        &'a self,
        identity: &'a ClientIdentity,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        let _ = identity;
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Registered certificates whose notAfter falls before `until`. Default: none known.
    fn expiring_before(&self, until: Timestamp) -> BoxFuture<'_, Result<Vec<ExpiringCertificate>>> {
        let _ = until;
        Box::pin(std::future::ready(Ok(Vec::new())))
    }
}

impl<R: Registry + ?Sized> Registry for Arc<R> {
    fn by_thumbprint<'a>(
        &'a self,
        thumbprint: &'a Thumbprint,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        (**self).by_thumbprint(thumbprint)
    }
    fn by_client_id<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RegisteredClient>>> {
        (**self).by_client_id(client_id)
    }
    fn by_identity<'a>(
        &'a self,
        identity: &'a ClientIdentity,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        (**self).by_identity(identity)
    }
    fn expiring_before(&self, until: Timestamp) -> BoxFuture<'_, Result<Vec<ExpiringCertificate>>> {
        (**self).expiring_before(until)
    }
}

/// Errors from registering certificates and clients.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// No client with this id.
    #[error("no client with id {0:?}")]
    UnknownClient(String),
    /// A client with this id exists already.
    #[error("a client with id {0:?} exists already")]
    DuplicateClient(String),
    /// The certificate is expired at registration time.
    #[error("the certificate expired at {0}")]
    Expired(String),
    /// The certificate's key fails the key policy.
    #[error("the certificate's key is refused: {0}")]
    WeakKey(String),
    /// The thumbprint is registered to another client.
    #[error("the certificate is already registered to client {0:?}")]
    OwnedByAnother(String),
    /// No client holds a certificate with this thumbprint.
    #[error("certificate {thumbprint} is not registered")]
    UnknownCertificate {
        /// The certificate's thumbprint.
        thumbprint: Thumbprint,
    },
    /// A certificate of a client in a registry file is not a certificate (bad PEM or DER).
    #[error("client {client:?}: {error}")]
    UnreadableCertificate {
        /// The client's id.
        client: String,
        /// Why the certificate could not be read.
        error: Error,
    },
    /// An `x5t#S256` of a client in a registry file is not a thumbprint.
    #[error("client {client:?}: x5t#S256: {error}")]
    InvalidThumbprint {
        /// The client's id.
        client: String,
        /// Why the value is not a thumbprint.
        error: Error,
    },
    /// A time of a client's certificate in a registry file is not an RFC 3339 date-time.
    #[error("client {client:?}: {field}: {error}")]
    InvalidTime {
        /// The client's id.
        client: String,
        /// The field: `not_after` or `retire_after`.
        field: &'static str,
        /// Why the value is not a time.
        error: Error,
    },
    /// A certificate entry of a client in a registry file gives both `pem` and
    /// `x5t#S256`, or neither.
    #[error("client {client:?}: a certificate entry needs exactly one of pem and x5t#S256")]
    PemOrThumbprintRequired {
        /// The client's id.
        client: String,
    },
    /// An identity entry of a client in a registry file holds no rule.
    #[error("client {client:?}: empty identity entry")]
    EmptyIdentityEntry {
        /// The client's id.
        client: String,
    },
    /// An identity rule mapped to a client in a registry file holds an invalid pin.
    #[error("client {client:?}: identity rule: {error}")]
    InvalidIdentityRule {
        /// The id of the client the rule maps to.
        client: String,
        /// What is wrong with the rule.
        error: Error,
    },
    /// A registry file is not valid JSON of the registry file format.
    #[error("registry file: {reason}")]
    MalformedFile {
        /// The JSON parser's reason, with the line and column.
        reason: String,
    },
    /// A registry file could not be read, or is larger than
    /// [`MAX_REGISTRY_FILE`](crate::registry::file::MAX_REGISTRY_FILE).
    #[error("{}: {error}", .path.display())]
    UnreadableFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        error: Error,
    },
    /// A registry file could not be written.
    #[error("{}: {reason}", .path.display())]
    UnwritableFile {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// A certificate of a client in a registry file is refused (its key fails the key
    /// policy, or another client holds it).
    #[error("client {client:?}: certificate {certificate}: {error}")]
    CertificateRefused {
        /// The client's id.
        client: String,
        /// The certificate: `x5t#S256 <thumbprint>`.
        certificate: String,
        /// Why it is refused.
        error: Box<RegistrationError>,
    },
    /// An error in a registry file, with the file's path
    /// ([`MemoryRegistry::load_file`](crate::registry::MemoryRegistry::load_file)).
    #[error("{}: {error}", .path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        error: Box<RegistrationError>,
    },
}
