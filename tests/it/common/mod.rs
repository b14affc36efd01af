//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub(crate) mod serve;
pub(crate) mod trace;

/// The fixed verification time of the tests: 2026-06-01T00:00:00Z, inside the test kit's
/// default validity.
pub(crate) fn at() -> certauth::Timestamp {
    certauth::Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

/// The checked-in test data directory (`tests/data`).
pub(crate) fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// Reads a file under `tests/data`.
pub(crate) fn data(rel: &str) -> Vec<u8> {
    let path = data_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Reads a text file under `tests/data`.
pub(crate) fn text(rel: &str) -> String {
    String::from_utf8(data(rel)).expect("utf-8 test data")
}

/// RFC 8705 x5t#S256 of DER, computed independently of certauth's Thumbprint.
pub(crate) fn x5t(der: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der))
}

pub(crate) use certauth::testkit::block_on;
