//! Chains crafted to make path building expensive, for tests and benchmarks of
//! certauth's work bounds. Every certificate here is signed by a key of the attacker's
//! own: none of them can verify, the question is only how much work refusing them costs.
//!
//! ```
//! use certauth::testkit::hostile;
//! let chain = hostile::same_name_loop(15, 0);
//! assert_eq!(chain.certs().len(), 16); // the leaf, then fifteen CAs all named "Loop"
//! assert!(chain.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
//! ```

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls_pki_types::CertificateDer;

/// A leaf issued under the name `Loop`, then `copies` self-issued CA certificates all
/// named `Loop`, each with its own key, each padded with `padding` bytes of unknown
/// non-critical extensions. Given to webpki as is, path building tries their orderings
/// until its budget runs out.
pub fn same_name_loop(copies: usize, padding: usize) -> Crafted {
    let leaf_key = key();
    let mut chain = vec![leaf_issued_by("Loop", &key(), &leaf_key)];
    chain.extend((0..copies).map(|_| ca("Loop", "Loop", &key(), padding)));
    Crafted { certs: chain, key_pem: leaf_key.serialize_pem() }
}

/// A leaf issued under the name `issuer_name`, then `copies` CA certificates with that
/// name, each issued under the name `anchor_name` with its own key: every one of them
/// sends path building to the anchor for a signature check that fails. Pass the real
/// anchor's common name as `anchor_name`.
pub fn named_like_issuer(
    issuer_name: &str,
    anchor_name: &str,
    copies: usize,
    padding: usize,
) -> Crafted {
    let leaf_key = key();
    let mut chain = vec![leaf_issued_by(issuer_name, &key(), &leaf_key)];
    chain.extend((0..copies).map(|_| ca(issuer_name, anchor_name, &key(), padding)));
    Crafted { certs: chain, key_pem: leaf_key.serialize_pem() }
}

/// A leaf issued under the anchor's own name, then `copies` CA certificates named like
/// the anchor and issued under its name, each with its own key.
pub fn named_like_anchor(anchor_name: &str, copies: usize) -> Crafted {
    let leaf_key = key();
    let mut chain = vec![leaf_issued_by(anchor_name, &key(), &leaf_key)];
    chain.extend((0..copies).map(|_| ca(anchor_name, anchor_name, &key(), 0)));
    Crafted { certs: chain, key_pem: leaf_key.serialize_pem() }
}

/// A mesh over two names: `per_name` CA certificates named `Mesh A` issued under `Mesh B`,
/// as many named `Mesh B` issued under `Mesh A`, and as many named `Mesh B` issued under
/// the anchor's name, after a leaf issued under `Mesh A`: many orderings, each ending at
/// the anchor.
pub fn two_name_mesh(anchor_name: &str, per_name: usize) -> Crafted {
    let leaf_key = key();
    let mut chain = vec![leaf_issued_by("Mesh A", &key(), &leaf_key)];
    for _ in 0..per_name {
        chain.push(ca("Mesh A", "Mesh B", &key(), 0));
        chain.push(ca("Mesh B", "Mesh A", &key(), 0));
        chain.push(ca("Mesh B", anchor_name, &key(), 0));
    }
    Crafted { certs: chain, key_pem: leaf_key.serialize_pem() }
}

/// A crafted chain, leaf first, and the leaf's private key (so a TLS client can present it).
#[derive(Clone)]
pub struct Crafted {
    certs: Vec<CertificateDer<'static>>,
    key_pem: String,
}

impl Crafted {
    /// The certificates, leaf first.
    pub fn certs(&self) -> &[CertificateDer<'static>] {
        &self.certs
    }

    /// The leaf's private key, PKCS#8 PEM.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }
}

/// Shows the shape, never the key.
impl std::fmt::Debug for Crafted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crafted").field("certificates", &self.certs.len()).finish_non_exhaustive()
    }
}

fn key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .unwrap_or_else(|e| panic!("testkit: key generation: {e}"))
}

/// The test kit's default validity ([`DEFAULT_NOT_BEFORE`](super::pki::DEFAULT_NOT_BEFORE)
/// .. [`DEFAULT_NOT_AFTER`](super::pki::DEFAULT_NOT_AFTER)).
fn params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2040, 1, 1);
    params
}

/// A certificate named `subject`, whose issuer name is `issuer` and which is signed by
/// `signer` (so it verifies against nothing but the attacker's own key).
fn ca(subject: &str, issuer: &str, signer: &KeyPair, padding: usize) -> CertificateDer<'static> {
    let mut p = params(subject);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    // Unknown private-arc OIDs, non-critical: webpki skips them, but reads them each time.
    let chunk = 1000;
    for i in 0..padding.div_ceil(chunk) {
        let len = chunk.min(padding - i * chunk);
        let oid = [1, 3, 6, 1, 4, 1, 55555, 1, i as u64];
        p.custom_extensions.push(CustomExtension::from_oid_content(&oid, vec![0x5a; len]));
    }
    sign(p, issuer, signer, &key())
}

fn leaf_issued_by(issuer: &str, signer: &KeyPair, leaf_key: &KeyPair) -> CertificateDer<'static> {
    let mut p = params("attacker");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    sign(p, issuer, signer, leaf_key)
}

fn sign(
    params: CertificateParams,
    issuer: &str,
    signer: &KeyPair,
    subject_key: &KeyPair,
) -> CertificateDer<'static> {
    let issuer_params = self::params(issuer);
    let issuer = Issuer::from_params(&issuer_params, signer);
    let cert = params
        .signed_by(subject_key, &issuer)
        .unwrap_or_else(|e| panic!("testkit: crafting a certificate: {e}"));
    cert.der().clone()
}
