#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cache;
pub mod cert;
mod error;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub mod http;
pub mod input;
pub mod thumbprint;
mod time;

pub use cert::Certificate;
pub use error::{ConfigError, Error, ErrorKind, Result};
pub use input::{Format, HeaderFormat, Limits, PresentedChain, Source};
pub use thumbprint::Thumbprint;
pub use time::Timestamp;

/// The `rustls-pki-types` crate, whose certificate and time types appear in certauth's API.
pub use rustls_pki_types as pki_types;
