//! Integration tests: one binary, one module per area.

#[cfg(all(feature = "ring", feature = "testkit"))]
mod aia_fetch;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod authenticator;
#[cfg(all(feature = "axum", feature = "testkit", feature = "ring"))]
mod authorize;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod cache_equivalence;
#[cfg(feature = "cli")]
mod cli;
mod clock;
mod common;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod crldp;
mod differential;
#[cfg(all(feature = "testkit", feature = "http"))]
mod header_properties;
mod headers;
#[cfg(all(feature = "ring", feature = "pkcs12"))]
mod hostile;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod identity;
mod layering;
#[cfg(feature = "ring")]
mod limbo;
#[cfg(all(feature = "ring", feature = "testkit", feature = "metrics"))]
mod metrics;
#[cfg(all(feature = "ocsp", feature = "testkit", feature = "ring"))]
mod ocsp;
#[cfg(all(feature = "ring", feature = "testkit", feature = "http"))]
mod offload;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod path_rules;
mod pem_variants;
#[cfg(feature = "testkit")]
mod properties;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod reload;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod revocation;
#[cfg(all(feature = "axum-tls", feature = "testkit", feature = "ring"))]
mod setup;
#[cfg(feature = "testkit")]
mod testkit;
#[cfg(all(feature = "rustls", feature = "testkit", feature = "ring"))]
mod tls;
#[cfg(all(feature = "axum-tls", feature = "testkit", feature = "ring"))]
mod tls_listener;
#[cfg(all(feature = "axum", feature = "testkit", feature = "ring"))]
mod tower;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod verify;
#[cfg(all(feature = "ring", feature = "testkit"))]
mod work_bounds;
