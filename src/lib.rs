#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]

pub mod authenticator;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
pub mod binding;
pub mod cache;
pub mod cert;
mod error;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod identity;
pub mod input;
pub mod registry;
#[cfg(feature = "rustls")]
#[cfg_attr(docsrs, doc(cfg(feature = "rustls")))]
pub mod rustls;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod thumbprint;
mod time;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
pub mod trust;
pub mod verify;

pub use authenticator::{AuthRequest, AuthenticatedClient, Authenticator, Credential};
pub use cert::Certificate;
pub use error::{ConfigError, Error, ErrorKind, Result};
pub use identity::ClientIdentity;
pub use input::{Format, HeaderFormat, Limits, PresentedChain, Source};
pub use thumbprint::Thumbprint;
pub use time::Timestamp;
pub use trust::TrustStore;
pub use verify::{VerifiedChain, Verifier};

/// The `rustls-pki-types` crate, whose certificate and time types appear in certauth's API.
pub use rustls_pki_types as pki_types;
