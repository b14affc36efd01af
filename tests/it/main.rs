//! Integration tests: one binary, one module per area.

#[cfg(feature = "cli")]
mod cli;
mod common;
mod headers;
mod pem_variants;
