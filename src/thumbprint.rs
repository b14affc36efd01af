//! Certificate thumbprints (work in progress).
use sha2::{Digest, Sha256};
/// SHA-256 of a certificate's DER.
#[derive(Clone, Copy, Debug)]
pub struct Thumbprint([u8; 32]);
impl Thumbprint {
    /// Hash DER.
    pub fn of(der: &[u8]) -> Self { Self(Sha256::digest(der).into()) }
}
