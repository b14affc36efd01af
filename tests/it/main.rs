//! Integration tests: one binary, one module per area.

#[cfg(feature = "cli")]
mod cli;
mod common;
mod pem_variants;
#[cfg(feature = "testkit")]
mod testkit;
