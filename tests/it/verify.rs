//! The verifier: one test per rejection kind, trust-store checks, revocation, rotation.
//! Certificates are generated with the test kit and verified at a fixed time.

use certauth::SERVER_AUTH_OID;
use certauth::pki_types::CertificateDer;
use certauth::testkit::pki::{
    Ca, DEFAULT_NOT_AFTER, DEFAULT_NOT_BEFORE, KeyType, Leaf, self_signed,
};
use certauth::{
    Certificate, ConfigError, ErrorKind, Format, Limits, PresentedChain, Source, Timestamp,
};
use certauth::{
    ExtendedKeyUsagePolicy, RING_ALGORITHMS, RevocationDepth, RevocationPolicy, TrustedBy,
    UnknownStatus, Verifier,
};
use certauth::{TrustProblem, TrustStore};

use crate::common::at;

/// Midnight UTC on a day.
fn date(year: i64, month: u32, day: u32) -> Timestamp {
    Timestamp::from_utc(year, month, day, 0, 0, 0).unwrap()
}

/// A presented chain, leaf first.
fn chain(certs: &[&CertificateDer<'static>]) -> PresentedChain {
    let certs = certs.iter().map(|c| (*c).clone()).collect();
    PresentedChain::new(certs, Source::Bytes, Format::Der, &Limits::default()).unwrap()
}

/// A CRL by `ca`, number 7, revoking `serials`, valid `this`..`next` (year, month, day).
fn crl(ca: &Ca, serials: &[u64], this: (i32, u8, u8), next: (i32, u8, u8)) -> Vec<u8> {
    let day = |(y, m, d): (i32, u8, u8)| date(y.into(), m.into(), d.into());
    let mut b = ca.crl().number(7).this_update(day(this)).next_update(day(next));
    for s in serials {
        b = b.revoke_serial(&serial(*s));
    }
    b.build().der().to_vec()
}

/// A serial number's minimal big-endian bytes.
fn serial(n: u64) -> Vec<u8> {
    n.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect()
}

fn store(root: &Ca) -> TrustStore {
    TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().check_at(at()).build().unwrap()
}

fn verifier(root: &Ca) -> Verifier {
    Verifier::builder(store(root), RING_ALGORITHMS).build().unwrap()
}

struct Pki {
    root: Ca,
    inter: Ca,
}

fn pki() -> Pki {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    Pki { root, inter }
}

fn kind_of(v: &Verifier, certs: &[&CertificateDer<'static>]) -> ErrorKind {
    v.verify(&chain(certs), at()).unwrap_err().kind()
}

#[test]
fn valid_chain_is_accepted_with_the_path_and_expiry() {
    let p = pki();
    let l = p.inter.leaf("client").build();
    let v = verifier(&p.root);
    let ok = v.verify(&chain(&[l.der(), p.inter.der()]), at()).unwrap();
    assert_eq!(ok.certificates().len(), 2);
    assert_eq!(ok.trusted_by(), &TrustedBy::Anchor("CN=Test Root".into()));
    assert_eq!(ok.expires(), Timestamp::parse_rfc3339("2040-01-01T00:00:00Z").unwrap());
    assert_eq!(ok.leaf().unwrap().subject().common_name(), Some("client"));
    assert_eq!(ok.generation(), v.generation());
    assert_eq!(ok.thumbprint(), &certauth::Thumbprint::of(l.der()));
}

#[test]
fn unknown_issuer_missing_intermediate_and_server_held_pool() {
    let p = pki();
    let l = p.inter.leaf("client").build();
    let v = verifier(&p.root);
    assert_eq!(kind_of(&v, &[l.der()]), ErrorKind::UnknownIssuer, "intermediate omitted");
    let other = Ca::root("Other Root");
    assert_eq!(kind_of(&verifier(&other), &[l.der(), p.inter.der()]), ErrorKind::UnknownIssuer);
    // The server holds the intermediate: a leaf-only client now verifies.
    let with_pool = TrustStore::builder()
        .add_pem(format!("{}{}", p.inter.pem(), p.root.pem()).as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    assert_eq!(with_pool.intermediates().len(), 1);
    let v = Verifier::builder(with_pool, RING_ALGORITHMS).build().unwrap();
    assert!(v.verify(&chain(&[l.der()]), at()).is_ok());
}

#[test]
fn expired_and_not_yet_valid_with_symmetric_skew() {
    let p = pki();
    let expired = p.inter.leaf("old").valid(DEFAULT_NOT_BEFORE, date(2026, 5, 31)).build();
    let future = p.inter.leaf("new").valid(date(2026, 6, 2), DEFAULT_NOT_AFTER).build();
    let v = verifier(&p.root);
    let e = v.verify(&chain(&[expired.der(), p.inter.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Expired);
    assert!(e.message().contains("2026-05-31T00:00:00Z"), "{e}");
    assert_eq!(kind_of(&v, &[future.der(), p.inter.der()]), ErrorKind::NotYetValid);
    let lenient =
        Verifier::builder(store(&p.root), RING_ALGORITHMS).clock_skew_secs(86_400).build().unwrap();
    assert!(lenient.verify(&chain(&[expired.der(), p.inter.der()]), at()).is_ok());
    assert!(lenient.verify(&chain(&[future.der(), p.inter.der()]), at()).is_ok());
    let small =
        Verifier::builder(store(&p.root), RING_ALGORITHMS).clock_skew_secs(3600).build().unwrap();
    assert_eq!(kind_of(&small, &[expired.der(), p.inter.der()]), ErrorKind::Expired);
}

#[test]
fn eku_policy() {
    let p = pki();
    let server_only = p.inter.leaf("srv").eku_server_auth_only().build();
    let no_eku = p.inter.leaf("none").no_eku().build();
    let v = verifier(&p.root);
    assert_eq!(kind_of(&v, &[server_only.der(), p.inter.der()]), ErrorKind::WrongUsage);
    let e = v.verify(&chain(&[no_eku.der(), p.inter.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WrongUsage);
    assert!(e.message().contains("clientAuth"), "{e}");

    let legacy = Verifier::builder(store(&p.root), RING_ALGORITHMS)
        .extended_key_usage(ExtendedKeyUsagePolicy::AllowMissingClientAuth)
        .build()
        .unwrap();
    assert!(legacy.verify(&chain(&[no_eku.der(), p.inter.der()]), at()).is_ok());
    assert_eq!(kind_of(&legacy, &[server_only.der(), p.inter.der()]), ErrorKind::WrongUsage);

    let servers = Verifier::builder(store(&p.root), RING_ALGORITHMS)
        .extended_key_usage(ExtendedKeyUsagePolicy::server_auth())
        .build()
        .unwrap();
    assert!(servers.verify(&chain(&[server_only.der(), p.inter.der()]), at()).is_ok());
    assert_eq!(
        kind_of(&servers, &[p.inter.leaf("client").build().der(), p.inter.der()]),
        ErrorKind::WrongUsage
    );
}

#[test]
fn intermediate_with_other_eku_is_refused() {
    let root = Ca::root("Test Root");
    let inter = root.sub_ca("Server-only CA").eku(&[SERVER_AUTH_OID]).build();
    let l = inter.leaf("client").build();
    assert_eq!(kind_of(&verifier(&root), &[l.der(), inter.der()]), ErrorKind::WrongUsage);
}

#[test]
fn weak_rsa_1024_leaf_is_refused_with_its_size() {
    let p = pki();
    let weak = p.inter.leaf("weak").key(KeyType::Rsa1024).build();
    let e = verifier(&p.root).verify(&chain(&[weak.der(), p.inter.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WeakKey);
    assert!(e.message().contains("1024"), "{e}");
    let rsa2048 = p.inter.leaf("rsa").key(KeyType::Rsa2048).build();
    assert!(verifier(&p.root).verify(&chain(&[rsa2048.der(), p.inter.der()]), at()).is_ok());
    let strict = Verifier::builder(store(&p.root), RING_ALGORITHMS)
        .key_policy(certauth::KeyPolicy::default().with_min_rsa_bits(3072))
        .build()
        .unwrap();
    assert_eq!(kind_of(&strict, &[rsa2048.der(), p.inter.der()]), ErrorKind::WeakKey);
}

#[test]
fn chain_too_long() {
    let root = Ca::root("Test Root");
    let a = root.intermediate("A");
    let b = a.intermediate("B");
    let l = b.leaf("deep").build();
    assert!(verifier(&root).verify(&chain(&[l.der(), b.der(), a.der()]), at()).is_ok());
    let shallow =
        Verifier::builder(store(&root), RING_ALGORITHMS).max_intermediates(1).build().unwrap();
    assert_eq!(kind_of(&shallow, &[l.der(), b.der(), a.der()]), ErrorKind::ChainTooLong);
    assert_eq!(
        Verifier::builder(store(&root), RING_ALGORITHMS).max_intermediates(7).build().err(),
        Some(ConfigError::MaxIntermediatesTooLarge { requested: 7, max: 6 })
    );
}

#[test]
fn bad_signature() {
    let p = pki();
    let l = p.inter.leaf("client").build();
    let mut tampered = l.der().to_vec();
    let last = tampered.len() - 3;
    tampered[last] ^= 0x55;
    let tampered = CertificateDer::from(tampered);
    let kind = kind_of(&verifier(&p.root), &[&tampered, p.inter.der()]);
    assert!(matches!(kind, ErrorKind::BadSignature | ErrorKind::UnknownIssuer), "{kind:?}");
}

#[test]
fn ca_presented_as_leaf_is_refused() {
    let p = pki();
    let kind = kind_of(&verifier(&p.root), &[p.inter.der()]);
    assert!(matches!(kind, ErrorKind::WrongUsage | ErrorKind::InvalidCertificate), "{kind:?}");
}

fn revoking(p: &Pki, serials: &[u64], next: (i32, u8, u8), policy: RevocationPolicy) -> Verifier {
    let store = TrustStore::builder()
        .add_pem(format!("{}{}", p.inter.pem(), p.root.pem()).as_bytes())
        .unwrap()
        .add_crl(&crl(&p.inter, serials, (2026, 5, 20), next))
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    Verifier::builder(store, RING_ALGORITHMS).revocation(policy).build().unwrap()
}

fn with_serial(p: &Pki, cn: &str, n: u64) -> Leaf {
    p.inter.leaf(cn).serial(&serial(n)).build()
}

#[test]
fn revoked_by_crl() {
    let p = pki();
    let revoked = with_serial(&p, "bad", 0x1001);
    let good = with_serial(&p, "good", 0x1002);
    let leaf_only = RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny);
    let v = revoking(&p, &[0x1001], (2026, 7, 1), leaf_only);
    assert_eq!(kind_of(&v, &[revoked.der()]), ErrorKind::Revoked);
    let ok = v.verify(&chain(&[good.der()]), at()).unwrap();
    assert_eq!(ok.expires(), Timestamp::parse_rfc3339("2026-07-01T00:00:00Z").unwrap());
    // Whole chain with only the issuing CA's CRL: the intermediate's status is unknown.
    let whole = revoking(
        &p,
        &[0x1001],
        (2026, 7, 1),
        RevocationPolicy::new(RevocationDepth::Chain, UnknownStatus::Deny),
    );
    assert_eq!(kind_of(&whole, &[good.der()]), ErrorKind::RevocationUnknown);
    let allow = revoking(
        &p,
        &[0x1001],
        (2026, 7, 1),
        RevocationPolicy::new(RevocationDepth::Chain, UnknownStatus::Allow),
    );
    assert!(allow.verify(&chain(&[good.der()]), at()).is_ok());
    assert_eq!(kind_of(&allow, &[revoked.der()]), ErrorKind::Revoked);
}

#[test]
fn stale_crl_hard_and_soft_and_max_age() {
    let p = pki();
    let good = with_serial(&p, "good", 0x1002);
    let policy = RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny);
    let stale = revoking(&p, &[], (2026, 5, 30), policy);
    let e = stale.verify(&chain(&[good.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationStale);
    assert!(e.message().contains("2026-05-30"), "{e}");
    let soft = revoking(&p, &[0x1001], (2026, 5, 30), policy.soft_fail_stale_crls());
    let ok = soft.verify(&chain(&[good.der()]), at()).unwrap();
    assert_eq!(ok.warnings().len(), 1);
    // A revoked certificate on a stale CRL is still refused.
    assert_eq!(kind_of(&soft, &[with_serial(&p, "bad", 0x1001).der()]), ErrorKind::Revoked);
    // Issued 2026-05-20, checked 2026-06-01: 12 days old.
    let young = revoking(&p, &[], (2026, 7, 1), policy.with_max_age_secs(7 * 86_400));
    assert_eq!(kind_of(&young, &[good.der()]), ErrorKind::RevocationStale);
}

#[test]
fn crl_without_number_or_with_critical_number_is_refused_at_load() {
    use der::{Decode as _, Encode as _};
    let p = pki();
    let good = crl(&p.inter, &[], (2026, 5, 20), (2026, 7, 1));
    assert!(certauth::Crl::from_der(&good).is_ok());
    let mut list =
        x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&good)
            .unwrap();
    let exts = list.tbs_cert_list.crl_extensions.as_mut().unwrap();
    let number = exts.iter().position(|e| e.extn_id.to_string() == "2.5.29.20").unwrap();
    exts[number].critical = true;
    let critical = list.to_der().unwrap();
    let e = certauth::Crl::from_der(&critical).unwrap_err();
    assert!(e.message().contains("critical"), "{e}");
    // A negative number (INTEGER -1) orders nothing: refused.
    let exts = list.tbs_cert_list.crl_extensions.as_mut().unwrap();
    exts[number].critical = false;
    exts[number].extn_value = der::asn1::OctetString::new(vec![0x02, 0x01, 0xff]).unwrap();
    let e = certauth::Crl::from_der(&list.to_der().unwrap()).unwrap_err();
    assert!(e.message().contains("negative"), "{e}");
    list.tbs_cert_list.crl_extensions.as_mut().unwrap().remove(number);
    let e = certauth::Crl::from_der(&list.to_der().unwrap()).unwrap_err();
    assert!(e.message().contains("no crl number"), "{e}");
}

#[test]
fn trust_store_problems_are_found_at_build() {
    let p = pki();
    let old = Ca::builder("Old Root").valid(DEFAULT_NOT_BEFORE, date(2025, 1, 1)).build();
    let err = TrustStore::builder()
        .add_pem(format!("{}{}", p.root.pem(), old.pem()).as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, ConfigError::Trust(v) if matches!(v[..], [TrustProblem::AnchorExpired { .. }])),
        "{err:?}"
    );
    let warned = TrustStore::builder()
        .add_pem(format!("{}{}{}", p.root.pem(), old.pem(), p.root.pem()).as_bytes())
        .unwrap()
        .check_at(at())
        .warn_on_problems()
        .build()
        .unwrap();
    assert_eq!(warned.warnings().len(), 2, "{:?}", warned.warnings());
    assert!(matches!(TrustStore::builder().build(), Err(ConfigError::NoTrustAnchors)));
    // A chain file: the leaf is skipped, the intermediate pooled, the root an anchor.
    let l = p.inter.leaf("client").build();
    let file = format!("{}{}{}", l.pem(), p.inter.pem(), p.root.pem());
    let err = TrustStore::builder().add_pem(file.as_bytes()).unwrap().check_at(at()).build();
    assert!(
        matches!(err, Err(ConfigError::Trust(ref v)) if matches!(v[..], [TrustProblem::SkippedNonCa { .. }]))
    );
    // A CRL nobody in the store issued is a warning, not an error (it may belong to an
    // intermediate that clients present).
    let stranger = Ca::root("Stranger");
    let strange = TrustStore::builder()
        .add_pem(p.root.pem().as_bytes())
        .unwrap()
        .add_crl(&crl(&stranger, &[], (2026, 5, 20), (2026, 7, 1)))
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    assert!(
        matches!(strange.warnings(), [TrustProblem::CrlWithoutIssuer { issuer }] if issuer == "CN=Stranger"),
        "{:?}",
        strange.warnings()
    );
    assert!(strange.warnings()[0].to_string().contains("matches no anchor"));
    // CRLs without a revocation policy, and a deny policy without CRLs, are refused.
    let with_crl = TrustStore::builder()
        .add_pem(p.root.pem().as_bytes())
        .unwrap()
        .add_crl(&crl(&p.root, &[], (2026, 5, 20), (2026, 7, 1)))
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    assert_eq!(
        Verifier::builder(with_crl, RING_ALGORITHMS).build().err(),
        Some(ConfigError::CrlsWithoutRevocationPolicy)
    );
    let deny = RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny);
    assert_eq!(
        Verifier::builder(store(&p.root), RING_ALGORITHMS).revocation(deny).build().err(),
        Some(ConfigError::DenyUnknownWithoutCrls)
    );
    assert_eq!(
        Verifier::builder(store(&p.root), &[]).build().err(),
        Some(ConfigError::NoSignatureAlgorithms)
    );
}

#[test]
fn directory_and_der_files() {
    let p = pki();
    let dir = std::env::temp_dir().join(format!("certauth-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("root.der"), p.root.der()).unwrap();
    std::fs::write(dir.join("inter.pem"), p.inter.pem()).unwrap();
    std::fs::write(dir.join("notes.txt"), "ignored").unwrap();
    let store = TrustStore::builder().add_directory(&dir).unwrap().check_at(at()).build().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(store.anchors().len(), 1);
    assert_eq!(store.intermediates().len(), 1);
    let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    assert!(v.verify(&chain(&[p.inter.leaf("c").build().der()]), at()).is_ok());
    // An explicit DER anchor that is not a CA is a problem.
    let l = p.inter.leaf("c").build();
    let err = TrustStore::builder().add_der(l.der()).unwrap().check_at(at()).build().unwrap_err();
    assert!(err.to_string().contains("not a ca"), "{err}");
}

#[test]
fn pinned_self_signed_client() {
    let pinned = self_signed("device-7").valid(DEFAULT_NOT_BEFORE, date(2030, 1, 1)).build();
    let other = self_signed("device-8").same_key_as(&pinned).build();
    let store = TrustStore::builder().pin_certificate(pinned.der()).unwrap().build().unwrap();
    let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let ok = v.verify(&chain(&[pinned.der()]), at()).unwrap();
    assert_eq!(ok.trusted_by(), &TrustedBy::Pinned);
    assert_eq!(kind_of(&v, &[other.der()]), ErrorKind::UnknownIssuer);
    let later = Timestamp::parse_rfc3339("2031-01-01T00:00:00Z").unwrap();
    assert_eq!(v.verify(&chain(&[pinned.der()]), later).unwrap_err().kind(), ErrorKind::Expired);
}

#[test]
fn rotation_replaces_the_store_atomically() {
    let old = pki();
    let new_root = Ca::root("New Root");
    let new = Pki { inter: new_root.intermediate("New Intermediate"), root: new_root };
    let v = verifier(&old.root);
    let before = v.generation();
    let old_leaf = old.inter.leaf("old").build();
    let new_leaf = new.inter.leaf("new").build();
    assert!(v.verify(&chain(&[old_leaf.der(), old.inter.der()]), at()).is_ok());
    let clone = v.clone();
    v.replace_trust_store(store(&new.root)).unwrap();
    assert_ne!(clone.generation(), before, "clones share the store");
    assert_eq!(kind_of(&clone, &[old_leaf.der(), old.inter.der()]), ErrorKind::UnknownIssuer);
    assert!(clone.verify(&chain(&[new_leaf.der(), new.inter.der()]), at()).is_ok());
    // A store the policy cannot use is refused and the current one kept.
    let with_crl = TrustStore::builder()
        .add_pem(new.root.pem().as_bytes())
        .unwrap()
        .add_crl(&crl(&new.root, &[], (2026, 5, 20), (2026, 7, 1)))
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let current = v.generation();
    assert!(v.replace_trust_store(with_crl).is_err());
    assert_eq!(v.generation(), current);
}

#[test]
fn verify_under_concurrent_rotation_never_fails_spuriously() {
    let p = pki();
    let v = verifier(&p.root);
    let l = p.inter.leaf("client").build();
    let c = chain(&[l.der(), p.inter.der()]);
    std::thread::scope(|s| {
        let rotator = s.spawn(|| {
            for _ in 0..50 {
                v.replace_trust_store(store(&p.root)).unwrap();
            }
        });
        for _ in 0..200 {
            assert!(v.verify(&c, at()).is_ok());
        }
        rotator.join().unwrap();
    });
}

/// A scratch directory for one test, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("certauth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn too_large(result: Result<TrustStore, ConfigError>, file: &std::path::Path, bound: usize) {
    match result {
        Err(ConfigError::Invalid { what, error }) => {
            assert_eq!(what, file.display().to_string());
            assert_eq!(error.kind(), ErrorKind::InputTooLarge, "{error}");
            assert!(error.message().contains(&format!("larger than {bound} bytes")), "{error}");
        }
        other => panic!("{file:?}: expected input_too_large, got {other:?}"),
    }
}

/// Trust, CRL and directory files are read up to the byte bound and no further: an
/// endless device, a huge sparse file and a symbolic link to one are refused with
/// `input_too_large` naming the file and the bound, without reading them whole.
#[test]
fn trust_and_crl_files_are_read_within_the_bound() {
    let p = pki();
    let bound = 16 << 20;
    let zero = std::path::Path::new("/dev/zero");
    too_large(TrustStore::builder().add_file(zero).and_then(|b| b.build()), zero, bound);
    let base = || TrustStore::builder().add_pem(p.root.pem().as_bytes()).unwrap();
    too_large(base().add_crl_file(zero).and_then(|b| b.build()), zero, bound);

    let dir = TempDir::new("bounded-reads");
    let sparse = dir.0.join("sparse.bin");
    std::fs::File::create(&sparse).unwrap().set_len(8 << 30).unwrap();
    too_large(TrustStore::builder().add_file(&sparse).and_then(|b| b.build()), &sparse, bound);
    too_large(base().add_crl_file(&sparse).and_then(|b| b.build()), &sparse, bound);
    let certs = dir.0.join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::write(certs.join("a-root.pem"), p.root.pem()).unwrap();
    std::os::unix::fs::symlink(&sparse, certs.join("b-huge.pem")).unwrap();
    too_large(
        TrustStore::builder().add_directory(&certs).and_then(|b| b.build()),
        &certs.join("b-huge.pem"),
        bound,
    );
    // A device is not a regular file: a directory skips it.
    std::fs::remove_file(certs.join("b-huge.pem")).unwrap();
    std::os::unix::fs::symlink(zero, certs.join("c-zero.pem")).unwrap();
    let store = TrustStore::builder().add_directory(&certs).unwrap().check_at(at()).build();
    assert_eq!(store.unwrap().anchors().len(), 1);

    // The bound is the configured one, exactly.
    let root = dir.0.join("root.pem");
    std::fs::write(&root, p.root.pem()).unwrap();
    let len = p.root.pem().len();
    let limits = |n| certauth::Limits::default().with_max_bundle(n);
    let exact = TrustStore::builder().with_limits(limits(len)).add_file(&root);
    assert_eq!(exact.unwrap().check_at(at()).build().unwrap().anchors().len(), 1);
    too_large(
        TrustStore::builder().with_limits(limits(len - 1)).add_file(&root).and_then(|b| b.build()),
        &root,
        len - 1,
    );

    // The registry file has its own bound.
    let e = certauth::registry::file::RegistryFile::read(zero).unwrap_err().to_string();
    assert!(e.contains("/dev/zero") && e.contains("larger than 67108864 bytes"), "{e}");
    let e = certauth::registry::file::RegistryFile::read(&sparse).unwrap_err().to_string();
    assert!(e.contains("larger than 67108864 bytes"), "{e}");
}

/// A DER intermediate in a CA directory (or a DER file, or a PKCS#12 bundle) joins the
/// intermediate pool exactly as its PEM twin does: it never becomes an anchor, so the
/// root's CRL still applies to it.
#[test]
fn der_intermediate_in_a_directory_is_pooled_like_pem() {
    let ts = |s: &str| Timestamp::parse_rfc3339(s).unwrap();
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let leaf = inter.leaf("client").build();
    let dir = TempDir::new("der-intermediate");
    let (der_dir, pem_dir) = (dir.0.join("der"), dir.0.join("pem"));
    for d in [&der_dir, &pem_dir] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(der_dir.join("inter.der"), inter.der()).unwrap();
    std::fs::write(der_dir.join("root.der"), root.der()).unwrap();
    std::fs::write(pem_dir.join("inter.pem"), inter.pem()).unwrap();
    std::fs::write(pem_dir.join("root.pem"), root.pem()).unwrap();
    for d in [&der_dir, &pem_dir] {
        let store = TrustStore::builder().add_directory(d).unwrap().check_at(at()).build().unwrap();
        assert_eq!(store.anchor_subjects().collect::<Vec<_>>(), ["CN=Test Root"], "{d:?}");
        assert_eq!(store.intermediates().len(), 1, "{d:?}");
    }
    // Alone, the DER intermediate is no anchor at all.
    let alone = TrustStore::builder().add_file(der_dir.join("inter.der")).unwrap().build();
    assert!(matches!(alone, Err(ConfigError::NoTrustAnchors)), "{alone:?}");

    // The root revokes the intermediate: a client under it is refused, as with PEM.
    let revoked_inter = root
        .crl()
        .revoke_serial(Certificate::from_der(inter.der()).unwrap().serial_bytes())
        .this_update(ts("2026-05-20T00:00:00Z"))
        .next_update(ts("2026-07-01T00:00:00Z"))
        .build();
    let chain_policy = RevocationPolicy::new(RevocationDepth::Chain, UnknownStatus::Allow);
    for d in [&der_dir, &pem_dir] {
        let store = TrustStore::builder()
            .add_directory(d)
            .unwrap()
            .add_crl(revoked_inter.der())
            .unwrap()
            .check_at(at())
            .build()
            .unwrap();
        let v = Verifier::builder(store, RING_ALGORITHMS).revocation(chain_policy).build().unwrap();
        let e = v.verify(&leaf.presented(), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Revoked, "{d:?}: {e}");
    }

    // Trusting the sub-CA itself takes an explicit choice, made before or after adding.
    for explicit in [
        TrustStore::builder().trust_non_self_signed_anchors().add_file(der_dir.join("inter.der")),
        TrustStore::builder()
            .add_file(der_dir.join("inter.der"))
            .map(|b| b.trust_non_self_signed_anchors()),
        TrustStore::builder().add_der(inter.der()),
    ] {
        let store = explicit.unwrap().check_at(at()).build().unwrap();
        assert_eq!(store.anchor_subjects().collect::<Vec<_>>(), ["CN=Test Intermediate"]);
        let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        assert!(v.verify(&chain(&[leaf.der()]), at()).is_ok());
    }
}

/// A PKCS#12 bundle sorts its certificates as a PEM bundle does.
#[cfg(feature = "pkcs12")]
#[test]
fn pkcs12_intermediate_is_pooled_like_pem() {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let mut p12 = p12_keystore::KeyStore::new();
    for (alias, der) in [("inter", inter.der()), ("root", root.der())] {
        let cert = p12_keystore::Certificate::from_der(der).unwrap();
        p12.add_entry(alias, p12_keystore::KeyStoreEntry::Certificate(cert));
    }
    let bytes = p12.writer("secret").write().unwrap();
    let store =
        TrustStore::builder().add_pkcs12(&bytes, "secret").unwrap().check_at(at()).build().unwrap();
    assert_eq!(store.anchor_subjects().collect::<Vec<_>>(), ["CN=Test Root"]);
    assert_eq!(store.intermediates().len(), 1);
}

/// A store of these anchors, built while all were valid (2024-06-01).
fn anchored(anchors: &[&Ca]) -> Verifier {
    let bundle: String = anchors.iter().map(|a| a.pem()).collect();
    let store = TrustStore::builder()
        .add_pem(bundle.as_bytes())
        .unwrap()
        .check_at(Timestamp::parse_rfc3339("2024-06-01T00:00:00Z").unwrap())
        .build()
        .unwrap();
    Verifier::builder(store, RING_ALGORITHMS).build().unwrap()
}

/// A root valid from 2015 to 2025.
fn expired_in_2025(name: &str) -> Ca {
    Ca::builder(name).valid(date(2015, 1, 1), date(2025, 1, 1)).build()
}

/// A root renewed with the same key: the chain verifies through the renewed certificate
/// whichever order the store lists old and new in (as OpenSSL does), and is refused
/// once only the expired one is left.
#[test]
fn expired_root_renewed_with_the_same_key_in_either_order() {
    let old = expired_in_2025("Test Root");
    let new = Ca::builder("Test Root")
        .same_key_as(&old)
        .valid(date(2024, 1, 1), date(2040, 1, 1))
        .build();
    let inter = old.intermediate("Test Intermediate");
    let l = inter.leaf("client").build();
    for order in [[&old, &new], [&new, &old]] {
        let ok = anchored(&order).verify(&chain(&[l.der(), inter.der()]), at()).unwrap();
        assert_eq!(ok.trusted_by(), &TrustedBy::Anchor("CN=Test Root".into()));
        assert_eq!(ok.expires(), Timestamp::parse_rfc3339("2040-01-01T00:00:00Z").unwrap());
    }
    let e = anchored(&[&old]).verify(&chain(&[l.der(), inter.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    assert!(e.message().contains("CN=Test Root (expired at 2025-01-01T00:00:00Z)"), "{e}");
    // A day of allowed skew still covers the expired root on the day after.
    let after = Timestamp::parse_rfc3339("2025-01-01T12:00:00Z").unwrap();
    let store = TrustStore::builder()
        .add_pem(old.pem().as_bytes())
        .unwrap()
        .check_at(Timestamp::parse_rfc3339("2024-06-01T00:00:00Z").unwrap())
        .build()
        .unwrap();
    let lenient =
        Verifier::builder(store, RING_ALGORITHMS).clock_skew_secs(86_400).build().unwrap();
    assert!(lenient.verify(&chain(&[l.der(), inter.der()]), after).is_ok());
}

/// A root renewed with a new key under the same name: only signatures decide. A chain
/// signed by the expired root's key is refused even when the renewed root is listed
/// first (the renewed root's validity must not carry over to the expired root's key); a
/// chain signed by the new key is accepted in either order.
#[test]
fn expired_root_renewed_with_a_new_key_in_either_order() {
    let old = expired_in_2025("Test Root");
    let new = Ca::builder("Test Root").valid(date(2024, 1, 1), DEFAULT_NOT_AFTER).build();
    let old_inter = old.intermediate("Old Intermediate");
    let new_inter = new.intermediate("New Intermediate");
    let old_leaf = old_inter.leaf("old-client").build();
    let new_leaf = new_inter.leaf("new-client").build();
    for order in [[&old, &new], [&new, &old]] {
        let v = anchored(&order);
        let e = v.verify(&chain(&[old_leaf.der(), old_inter.der()]), at()).unwrap_err();
        // webpki reports the signature it tried against the renewed root's key.
        assert!(matches!(e.kind(), ErrorKind::UnknownIssuer | ErrorKind::BadSignature), "{e}");
        assert!(e.message().contains("expired at 2025-01-01"), "{e}");
        assert!(v.verify(&chain(&[new_leaf.der(), new_inter.der()]), at()).is_ok());
    }
}

/// Anchors equal in name and key but not in name constraints are different anchors: a
/// chain the valid anchor's constraints exclude does not pass through the expired,
/// unconstrained one, in either order.
#[test]
fn expired_unconstrained_twin_of_a_constrained_root_is_not_used() {
    let old = expired_in_2025("Test Root");
    let constrained = Ca::builder("Test Root")
        .same_key_as(&old)
        .valid(date(2024, 1, 1), date(2040, 1, 1))
        .exclude_dns("example.test")
        .build();
    let inter = old.intermediate("Test Intermediate");
    let l = inter.leaf("client").dns("client.example.test").build();
    for order in [[&old, &constrained], [&constrained, &old]] {
        let e = anchored(&order).verify(&chain(&[l.der(), inter.der()]), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{e}");
    }
}

/// A root that is not valid yet is not used before its notBefore, whatever the order.
#[test]
fn not_yet_valid_root_is_not_used() {
    let current = Ca::root("Test Root");
    let future = Ca::builder("Test Root")
        .same_key_as(&current)
        .valid(date(2027, 1, 1), DEFAULT_NOT_AFTER)
        .build();
    let inter = current.intermediate("Test Intermediate");
    let l = inter.leaf("client").build();
    for order in [[&current, &future], [&future, &current]] {
        let store = TrustStore::builder()
            .add_pem(format!("{}{}", order[0].pem(), order[1].pem()).as_bytes())
            .unwrap()
            .check_at(at())
            .warn_on_problems()
            .build()
            .unwrap();
        let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        let ok = v.verify(&chain(&[l.der(), inter.der()]), at()).unwrap();
        assert_eq!(ok.expires(), Timestamp::parse_rfc3339("2040-01-01T00:00:00Z").unwrap());
    }
    let store = TrustStore::builder()
        .add_pem(future.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .warn_on_problems()
        .build()
        .unwrap();
    let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let e = v.verify(&chain(&[l.der(), inter.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    assert!(e.message().contains("not valid before 2027-01-01T00:00:00Z"), "{e}");
    let later = Timestamp::parse_rfc3339("2027-06-01T00:00:00Z").unwrap();
    assert!(v.verify(&chain(&[l.der(), inter.der()]), later).is_ok());
}

mod newest_crl {
    use super::*;
    use certauth::testkit::pki::Crl;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(&format!("{s}T00:00:00Z")).unwrap()
    }

    fn store(root: &Ca, inter: &Ca, crls: &[&Crl]) -> Result<TrustStore, ConfigError> {
        let mut b = TrustStore::builder()
            .add_pem(format!("{}{}", inter.pem(), root.pem()).as_bytes())
            .unwrap()
            .check_at(at());
        for crl in crls {
            b = b.add_crl(crl.der()).unwrap();
        }
        b.build()
    }

    fn verifier(store: TrustStore) -> Verifier {
        let policy = RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny);
        Verifier::builder(store, RING_ALGORITHMS).revocation(policy).build().unwrap()
    }

    /// Of two CRLs of one issuer, the one with the higher CRL number decides, in either
    /// load order: the newer one's revocation applies, and only its dates count for
    /// freshness (the older one being stale does not matter).
    #[test]
    fn newest_crl_decides_in_either_load_order() {
        let root = Ca::root("Test Root");
        let inter = root.intermediate("Test Intermediate");
        let revoked = inter.leaf("revoked").build();
        let good = inter.leaf("good").build();
        let older = inter
            .crl()
            .number(5)
            .this_update(ts("2026-05-01"))
            .next_update(ts("2026-05-30"))
            .build();
        let newer = inter
            .crl()
            .number(6)
            .revoke(&revoked)
            .this_update(ts("2026-05-25"))
            .next_update(ts("2026-07-01"))
            .build();
        for order in [[&older, &newer], [&newer, &older]] {
            let store = store(&root, &inter, &order).unwrap();
            assert_eq!(store.crls().len(), 1);
            assert_eq!(store.crls()[0].number_hex(), "06");
            let v = verifier(store);
            let e = v.verify(&revoked.presented(), at()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
            let ok = v.verify(&good.presented(), at()).unwrap();
            assert_eq!(ok.expires(), ts("2026-07-01"));
            assert!(ok.warnings().is_empty());
        }
        // CRL numbers compare as integers, not as strings: 0x100 is newer than 0xff.
        let big = inter.crl().number(0x100).revoke(&revoked).build();
        let small = inter.crl().number(0xff).build();
        for order in [[&small, &big], [&big, &small]] {
            let store = store(&root, &inter, &order).unwrap();
            assert_eq!(store.crls()[0].number_hex(), "0100");
        }
    }

    /// Two different CRLs of one issuer with one number: neither is the newest, so the
    /// store is refused, even when problems are only warnings. The same CRL twice is a
    /// duplicate, an ordinary problem.
    #[test]
    fn two_different_crls_with_one_number_are_refused() {
        let root = Ca::root("Test Root");
        let inter = root.intermediate("Test Intermediate");
        let leaf = inter.leaf("client").build();
        let a = inter.crl().number(9).build();
        let b = inter.crl().number(9).revoke(&leaf).build();
        for order in [[&a, &b], [&b, &a]] {
            let err = store(&root, &inter, &order).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Trust(v) if matches!(v[..], [TrustProblem::CrlNumberConflict { .. }])),
                "{err:?}"
            );
            assert!(err.to_string().contains("crl number 09"), "{err}");
            let warned = TrustStore::builder()
                .add_pem(format!("{}{}", inter.pem(), root.pem()).as_bytes())
                .unwrap()
                .add_crl(order[0].der())
                .unwrap()
                .add_crl(order[1].der())
                .unwrap()
                .check_at(at())
                .warn_on_problems()
                .build();
            assert!(matches!(warned, Err(ConfigError::Trust(_))), "{warned:?}");
        }
        let err = store(&root, &inter, &[&a, &a]).unwrap_err();
        assert!(err.to_string().contains("added twice"), "{err}");
        let warned = TrustStore::builder()
            .add_pem(format!("{}{}", inter.pem(), root.pem()).as_bytes())
            .unwrap()
            .add_crl(a.der())
            .unwrap()
            .add_crl(a.der())
            .unwrap()
            .check_at(at())
            .warn_on_problems()
            .build()
            .unwrap();
        assert_eq!(warned.crls().len(), 1);
    }

    /// Different issuers are different series: each keeps its own newest CRL.
    #[test]
    fn crls_of_different_issuers_are_kept_apart() {
        let root = Ca::root("Test Root");
        let inter = root.intermediate("Test Intermediate");
        let of_inter = inter.crl().number(3).build();
        let of_root = root.crl().number(8).build();
        let store = store(&root, &inter, &[&of_inter, &of_root]).unwrap();
        let numbers: Vec<&str> = store.crls().iter().map(|c| c.number_hex()).collect();
        assert_eq!(numbers, ["03", "08"]);
    }
}

/// A CRL with an issuing distribution point is its own series: it neither replaces nor
/// is replaced by the issuer's full CRL, whatever the numbers.
#[test]
fn crls_of_different_scopes_are_kept_apart() {
    let p = pki();
    let scoped = |n: u64| {
        p.inter
            .crl()
            .number(n)
            .this_update(date(2026, 5, 20))
            .next_update(date(2026, 7, 1))
            .distribution_point("http://crl.example.test/users.crl")
            .only_user_certs()
            .build()
            .der()
            .to_vec()
    };
    let full = crl(&p.inter, &[], (2026, 5, 20), (2026, 7, 1)); // number 7
    for crls in [[scoped(3), full.clone()], [full.clone(), scoped(30)]] {
        let mut b = TrustStore::builder()
            .add_pem(format!("{}{}", p.inter.pem(), p.root.pem()).as_bytes())
            .unwrap();
        for c in &crls {
            b = b.add_crl(c).unwrap();
        }
        let store = b.check_at(at()).build().unwrap();
        assert_eq!(store.crls().len(), 2);
    }
}

/// The CRL of an intermediate the store does not hold, only the client's chain: loaded
/// with a warning, and checked against the intermediate found in the verified path. A
/// CRL under the same name that the intermediate did not sign leaves the status unknown.
#[test]
fn crl_of_an_intermediate_only_clients_present() {
    let p = pki();
    let revoked = with_serial(&p, "bad", 0x1001);
    let good = with_serial(&p, "good", 0x1002);
    let policy = RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny);
    let with = |crl: &[u8]| {
        let store = TrustStore::builder()
            .add_pem(p.root.pem().as_bytes())
            .unwrap()
            .add_crl(crl)
            .unwrap()
            .check_at(at())
            .build()
            .unwrap();
        assert!(
            matches!(store.warnings(), [TrustProblem::CrlWithoutIssuer { issuer }] if issuer == "CN=Test Intermediate"),
            "{:?}",
            store.warnings()
        );
        Verifier::builder(store, RING_ALGORITHMS).revocation(policy).build().unwrap()
    };
    let v = with(&crl(&p.inter, &[0x1001], (2026, 5, 20), (2026, 7, 1)));
    assert_eq!(kind_of(&v, &[revoked.der(), p.inter.der()]), ErrorKind::Revoked);
    let ok = v.verify(&chain(&[good.der(), p.inter.der()]), at()).unwrap();
    assert_eq!(ok.expires(), Timestamp::parse_rfc3339("2026-07-01T00:00:00Z").unwrap());

    // An impostor with the intermediate's name but another key signs an empty CRL.
    let impostor = Ca::root("Test Intermediate");
    let v = with(&crl(&impostor, &[], (2026, 5, 20), (2026, 7, 1)));
    assert_eq!(kind_of(&v, &[revoked.der(), p.inter.der()]), ErrorKind::RevocationUnknown);
    assert_eq!(kind_of(&v, &[good.der(), p.inter.der()]), ErrorKind::RevocationUnknown);
}

/// Regression: `unknown_issuer` names the issuer that was not found, the chain's size,
/// and where the missing certificate belongs; never a whole certificate.
#[test]
fn unknown_issuer_names_the_missing_issuer_and_the_chain_size() {
    let root = Ca::root("Example Root");
    let inter = root.intermediate("Example Issuing CA");
    let l = inter.leaf("client").build();
    let v = verifier(&root);

    // A proxy forwarded the leaf alone.
    let e = v.verify(&chain(&[l.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    assert_eq!(
        e.message(),
        "no path to a trust anchor: issuer \"CN=Example Issuing CA\" not found (chain of 1 \
         certificate); proxies such as nginx forward only the leaf: add the intermediate to \
         the trust store's intermediate pool, or the issuing ca as a trust anchor"
    );

    // The whole chain, under a root the store does not hold: the root is what is missing.
    let e = verifier(&Ca::root("Other Root"))
        .verify(&chain(&[l.der(), inter.der()]), at())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    assert!(
        e.message().contains("issuer \"CN=Example Root\" not found (chain of 2 certificates)"),
        "{e}"
    );
    assert!(e.message().contains("a root as a trust anchor"), "{e}");

    // The server holds an intermediate, but not the root above it: the walk goes through
    // the held intermediate and names the root.
    let held = TrustStore::builder()
        .add_pem(Ca::root("Other Root").pem().as_bytes())
        .unwrap()
        .add_intermediates_pem(inter.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let e = Verifier::builder(held, RING_ALGORITHMS)
        .build()
        .unwrap()
        .verify(&chain(&[l.der()]), at())
        .unwrap_err();
    assert!(
        e.message().contains("issuer \"CN=Example Root\" not found (chain of 1 certificate)"),
        "{e}"
    );

    // No certificate of the chain appears in the message, in any encoding.
    for der in [l.der(), inter.der()] {
        let b64 = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        };
        assert!(!e.message().contains(&b64[..40]));
    }
}

/// A hostile issuer name is quoted escaped and cut short: the message stays one short line.
#[test]
fn unknown_issuer_quotes_a_long_or_odd_issuer_name_bounded() {
    let long = format!("Evil\n{}", "x".repeat(2_000));
    let odd = Ca::root(&long);
    let l = odd.leaf("client").build();
    let e = verifier(&Ca::root("Example Root")).verify(&chain(&[l.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    assert!(!e.message().contains('\n'), "{e}");
    assert!(e.message().len() < 600, "{}", e.message().len());
    assert!(e.message().contains(r#"issuer "CN=Evil\nxxx"#), "{e}");
    assert!(e.message().contains(r#"xxx..." not found (chain of 1 certificate)"#), "{e}");
}

/// An anchor outside its validity is reported as such, not as an issuer not found.
#[test]
fn unknown_issuer_through_an_unusable_anchor_does_not_claim_a_missing_issuer() {
    let future = Ca::builder("Example Root").valid(date(2027, 1, 1), DEFAULT_NOT_AFTER).build();
    let l = future.leaf("client").build();
    let store = TrustStore::builder()
        .add_pem(future.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .warn_on_problems()
        .build()
        .unwrap();
    let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let e = v.verify(&chain(&[l.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    assert!(!e.message().contains("not found"), "{e}");
    assert!(e.message().contains("CN=Example Root (not valid before 2027-01-01T00:00:00Z)"), "{e}");
}
