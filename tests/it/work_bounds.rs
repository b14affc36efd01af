//! Bounded work per verification: chains crafted to make path building expensive are
//! refused after a handful of signature checks, on every entry point. Work is counted
//! (signature checks, through a counting algorithm list), never timed.

use std::cell::Cell;

use certauth::CacheConfig;
use certauth::TrustStore;
use certauth::pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
};
use certauth::testkit::hostile;
use certauth::testkit::pki::{Ca, KeyType};
use certauth::{
    Authenticator, Credential, ErrorKind, Format, Limits, PresentedChain, Source, Timestamp,
};
use certauth::{RING_ALGORITHMS, Verifier};

thread_local! {
    static SIGNATURES: Cell<u64> = const { Cell::new(0) };
}

/// Delegates to a ring algorithm and counts the checks made on this thread.
#[derive(Debug)]
struct Counting(&'static dyn SignatureVerificationAlgorithm);

impl SignatureVerificationAlgorithm for Counting {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        SIGNATURES.with(|c| c.set(c.get() + 1));
        self.0.verify_signature(public_key, message, signature)
    }
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0.public_key_alg_id()
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.0.signature_alg_id()
    }
}

fn counting_algorithms() -> &'static [&'static dyn SignatureVerificationAlgorithm] {
    let list: Vec<&'static dyn SignatureVerificationAlgorithm> = RING_ALGORITHMS
        .iter()
        .map(|a| &*Box::leak(Box::new(Counting(*a))) as &'static dyn SignatureVerificationAlgorithm)
        .collect();
    Box::leak(list.into_boxed_slice())
}

fn at() -> Timestamp {
    Timestamp::from_utc(2027, 1, 1, 0, 0, 0).unwrap()
}

/// Signature checks made by `f` on this thread.
fn signatures<R>(f: impl FnOnce() -> R) -> (R, u64) {
    SIGNATURES.with(|c| c.set(0));
    let r = f();
    (r, SIGNATURES.with(Cell::get))
}

struct Setup {
    root: Ca,
    inter: Ca,
    verifier: Verifier,
}

fn setup(key: KeyType) -> Setup {
    let root = Ca::builder("Work Root").key(key).build();
    let inter = root.intermediate("Work Issuing");
    let store = TrustStore::builder().add_der(root.der()).unwrap().check_at(at()).build().unwrap();
    let verifier = Verifier::builder(store, counting_algorithms()).build().unwrap();
    Setup { root, inter, verifier }
}

fn presented(certs: Vec<CertificateDer<'static>>) -> PresentedChain {
    PresentedChain::new(certs, Source::Bytes, Format::Der, &Limits::default()).unwrap()
}

/// The signature checks of a genuine three-level chain: the baseline every bound below
/// is a small multiple of.
fn genuine(s: &Setup) -> u64 {
    let leaf = s.inter.leaf("client").build();
    let (r, n) = signatures(|| s.verifier.verify(&leaf.presented(), at()));
    r.unwrap();
    n
}

#[test]
fn a_same_name_loop_costs_no_signature_check() {
    let s = setup(KeyType::EcdsaP256);
    assert_eq!(genuine(&s), 2);
    let chain = presented(hostile::same_name_loop(15, 2000).certs().to_vec());
    let (r, n) = signatures(|| s.verifier.verify(&chain, at()));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UnknownIssuer);
    assert_eq!(n, 0, "nothing leads to an anchor");
}

#[test]
fn certificates_named_like_the_anchor_do_not_spend_the_signature_budget() {
    let s = setup(KeyType::EcdsaP384);
    let chain = presented(hostile::named_like_anchor("Work Root", 15).certs().to_vec());
    let (r, n) = signatures(|| s.verifier.verify(&chain, at()));
    assert!(r.is_err());
    assert!(n <= 1, "{n} signature checks: only the leaf against the anchor");
}

#[test]
fn many_certificates_named_like_the_issuer_cost_at_most_twice_a_genuine_chain() {
    let s = setup(KeyType::EcdsaP256);
    let chain =
        presented(hostile::named_like_issuer("Work Issuing", "Work Root", 15, 0).certs().to_vec());
    let (r, n) = signatures(|| s.verifier.verify(&chain, at()));
    assert!(r.is_err());
    assert!(n <= 2 * genuine(&s), "{n} signature checks");
}

#[test]
fn a_two_name_mesh_costs_a_small_multiple_of_a_genuine_chain() {
    let s = setup(KeyType::EcdsaP256);
    let chain = presented(hostile::two_name_mesh("Work Root", 5).certs().to_vec());
    let (r, n) = signatures(|| s.verifier.verify(&chain, at()));
    assert!(r.is_err());
    assert!(n <= 2 * genuine(&s), "{n} signature checks");
}

#[test]
fn a_genuine_chain_with_junk_appended_still_verifies_and_only_its_path_counts() {
    let s = setup(KeyType::EcdsaP256);
    let leaf = s.inter.leaf("client").build();
    let mut certs = leaf.chain();
    certs.extend_from_slice(hostile::same_name_loop(6, 0).certs());
    certs.push(s.root.der().clone());
    certs.push(s.inter.der().clone());
    let (r, n) = signatures(|| s.verifier.verify(&presented(certs), at()));
    assert_eq!(r.unwrap().certificates().len(), 2);
    assert_eq!(n, 2);
}

#[test]
fn every_entry_point_goes_through_the_bound() {
    let s = setup(KeyType::EcdsaP256);
    let auth =
        Authenticator::builder(s.verifier.clone()).cache(CacheConfig::disabled()).build().unwrap();
    let chain = hostile::named_like_issuer("Work Issuing", "Work Root", 15, 0).certs().to_vec();
    let der: Vec<u8> = chain.iter().flat_map(|c| c.iter().copied()).collect();
    let cases: Vec<(&str, Credential<'_>)> = vec![
        ("tls", Credential::Tls(&chain)),
        ("der bytes", Credential::Encoded { bytes: &der, format: Format::Der }),
    ];
    for (what, credential) in cases {
        let (r, n) = signatures(|| auth.verify_credential(credential, at()));
        assert!(r.is_err(), "{what}");
        assert!(n <= 4, "{what}: {n} signature checks");
    }
}

#[test]
fn a_tls_chain_larger_than_the_bundle_bound_is_refused_before_verification() {
    let s = setup(KeyType::EcdsaP256);
    let auth = Authenticator::builder(s.verifier.clone()).build().unwrap();
    // Five certificates of 16 KB each: within the certificate count, over 64 KiB of DER.
    let chain = hostile::same_name_loop(4, 16_000).certs().to_vec();
    let (r, n) = signatures(|| auth.verify_credential(Credential::Tls(&chain), at()));
    assert_eq!(r.unwrap_err().kind(), ErrorKind::InputTooLarge);
    assert_eq!(n, 0);
}
