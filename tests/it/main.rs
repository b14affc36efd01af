//! Integration tests: one binary, one module per area.

#[cfg(feature = "cli")]
mod cli;
mod common;
#[cfg(feature = "ring")]
mod identity;
#[cfg(feature = "ring")]
mod limbo;
mod pem_variants;
#[cfg(feature = "testkit")]
mod testkit;
#[cfg(feature = "ring")]
mod verify;
