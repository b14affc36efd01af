//! certauth's CRL check, made over the path webpki verified with each CRL's signature
//! checked once per issuer key, compared with webpki's own CRL check on generated CRLs:
//! the same verdict on every combination, on the first verification and on the ones
//! that reuse a remembered signature verdict.

use certauth::TrustStore;
use certauth::pki_types::{CertificateDer, UnixTime};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{ErrorKind, Timestamp};
use certauth::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus, Verifier};

use crate::common::at;

const USERS_DP: &str = "http://crl.example.test/users.crl";
const OTHER_DP: &str = "http://crl.example.test/other.crl";

fn date(year: i64, month: u32, day: u32) -> Timestamp {
    Timestamp::from_utc(year, month, day, 0, 0, 0).unwrap()
}

/// A CRL by `ca`: valid over the verification time unless `expired`, revoking `serials`.
fn crl(ca: &Ca, serials: &[&[u8]], expired: bool) -> Vec<u8> {
    let (this, next) = if expired {
        (date(2026, 4, 1), date(2026, 5, 1))
    } else {
        (date(2026, 5, 20), date(2026, 7, 1))
    };
    let mut b = ca.crl().number(5).this_update(this).next_update(next);
    for s in serials {
        b = b.revoke_serial(s);
    }
    b.build().der().to_vec()
}

/// webpki's verdict with its own CRL check (expiry ignored: certauth's freshness rules
/// are its own and run after path building).
fn webpki_verdict(
    leaf: &Leaf,
    root: &Ca,
    crls: &[Vec<u8>],
    depth: RevocationDepth,
    unknown: UnknownStatus,
) -> Option<ErrorKind> {
    let owned: Vec<webpki::CertRevocationList<'static>> =
        crls.iter().map(|c| webpki::OwnedCertRevocationList::from_der(c).unwrap().into()).collect();
    let refs: Vec<&webpki::CertRevocationList<'_>> = owned.iter().collect();
    let revocation = webpki::RevocationOptionsBuilder::new(&refs).ok().map(|b| {
        b.with_depth(match depth {
            RevocationDepth::Leaf => webpki::RevocationCheckDepth::EndEntity,
            _ => webpki::RevocationCheckDepth::Chain,
        })
        .with_status_policy(match unknown {
            UnknownStatus::Deny => webpki::UnknownStatusPolicy::Deny,
            _ => webpki::UnknownStatusPolicy::Allow,
        })
        .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
        .build()
    });
    if revocation.is_none() && unknown == UnknownStatus::Deny {
        // webpki needs at least one CRL; with none, every status is unknown.
        return Some(ErrorKind::RevocationUnknown);
    }
    let anchor = webpki::anchor_from_trusted_cert(root.der()).unwrap().to_owned();
    let ee = webpki::EndEntityCert::try_from(leaf.der()).unwrap();
    let intermediates: Vec<CertificateDer<'_>> = leaf.intermediates().to_vec();
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(at().as_unix_secs()).unwrap(),
    ));
    match ee.verify_for_usage(
        RING_ALGORITHMS,
        &[anchor],
        &intermediates,
        time,
        webpki::KeyUsage::client_auth(),
        revocation,
        None,
    ) {
        Ok(_) => None,
        Err(webpki::Error::CertRevoked) => Some(ErrorKind::Revoked),
        Err(
            webpki::Error::UnknownRevocationStatus
            | webpki::Error::InvalidCrlSignatureForPublicKey
            | webpki::Error::IssuerNotCrlSigner,
        ) => Some(ErrorKind::RevocationUnknown),
        Err(other) => panic!("webpki: unexpected {other:?}"),
    }
}

/// certauth's verifier over `root`, holding `crls`, stale CRLs only a warning.
fn certauth_verifier(
    root: &Ca,
    crls: &[Vec<u8>],
    depth: RevocationDepth,
    unknown: UnknownStatus,
) -> Option<Verifier> {
    let mut b = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap();
    for c in crls {
        b = b.add_crl(c).unwrap();
    }
    let store = b.check_at(at()).build().unwrap();
    let policy = RevocationPolicy::new(depth, unknown).soft_fail_stale_crls();
    // A deny policy without CRLs is refused at build: nothing could pass.
    Verifier::builder(store, RING_ALGORITHMS).revocation(policy).build().ok()
}

fn certauth_verdict(v: Option<&Verifier>, leaf: &Leaf) -> Option<ErrorKind> {
    match v {
        Some(v) => v.verify(&leaf.presented(), at()).err().map(|e| e.kind()),
        None => Some(ErrorKind::RevocationUnknown),
    }
}

const POLICIES: [(RevocationDepth, UnknownStatus); 4] = [
    (RevocationDepth::Leaf, UnknownStatus::Deny),
    (RevocationDepth::Leaf, UnknownStatus::Allow),
    (RevocationDepth::Chain, UnknownStatus::Deny),
    (RevocationDepth::Chain, UnknownStatus::Allow),
];

/// Every combination of the intermediate's CRL (none, good, revoking the leaf, signed by
/// another key, expired, scoped to a distribution point), the root's CRL (none, good,
/// revoking the intermediate, signed by another key, expired), a CRL of another issuer
/// that lists the leaf's serial, four leaves and four policies: certauth's verdict is
/// webpki's, on the first and on a repeated verification.
#[test]
fn crl_verdicts_match_webpkis_own_check() {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let impostor_inter = Ca::root("Test Intermediate");
    let impostor_root = Ca::root("Test Root");
    let stranger = Ca::root("Stranger");
    let inter_serial =
        certauth::Certificate::from_der(inter.der()).unwrap().serial_bytes().to_vec();
    let (bad, dp_bad): (&[u8], &[u8]) = (&[0x10, 0x01], &[0x10, 0x03]);
    let leaves = [
        inter.leaf("good").serial(&[0x10, 0x02]).build(),
        inter.leaf("bad").serial(bad).build(),
        inter.leaf("in users").serial(dp_bad).crl_distribution_point(USERS_DP).build(),
        inter.leaf("in other").serial(bad).crl_distribution_point(OTHER_DP).build(),
    ];
    let scoped = inter
        .crl()
        .number(5)
        .this_update(date(2026, 5, 20))
        .next_update(date(2026, 7, 1))
        .distribution_point(USERS_DP)
        .only_user_certs()
        .revoke_serial(bad)
        .revoke_serial(dp_bad)
        .build()
        .der()
        .to_vec();
    let inter_crls: Vec<Option<Vec<u8>>> = vec![
        None,
        Some(crl(&inter, &[], false)),
        Some(crl(&inter, &[bad, dp_bad], false)),
        Some(crl(&impostor_inter, &[], false)),
        Some(crl(&impostor_inter, &[bad], false)),
        Some(crl(&inter, &[bad], true)),
        Some(scoped),
    ];
    let root_crls: Vec<Option<Vec<u8>>> = vec![
        None,
        Some(crl(&root, &[], false)),
        Some(crl(&root, &[&inter_serial], false)),
        Some(crl(&impostor_root, &[], false)),
        Some(crl(&root, &[&inter_serial], true)),
    ];
    let stranger_crl = crl(&stranger, &[bad, &inter_serial], false);
    let mut compared = 0;
    for (i, of_inter) in inter_crls.iter().enumerate() {
        for (r, of_root) in root_crls.iter().enumerate() {
            let crls: Vec<Vec<u8>> =
                [of_inter.clone(), of_root.clone(), Some(stranger_crl.clone())]
                    .into_iter()
                    .flatten()
                    .collect();
            for (depth, unknown) in POLICIES {
                let v = certauth_verifier(&root, &crls, depth, unknown);
                for (l, leaf) in leaves.iter().enumerate() {
                    let theirs = webpki_verdict(leaf, &root, &crls, depth, unknown);
                    for round in 0..2 {
                        let ours = certauth_verdict(v.as_ref(), leaf);
                        assert_eq!(
                            ours, theirs,
                            "inter crl {i}, root crl {r}, {depth:?}/{unknown:?}, leaf {l}, \
                             round {round}"
                        );
                    }
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 7 * 5 * 4 * 4);
}

/// An intermediate without cRLSign cannot vouch for a CRL: the status is unknown, as
/// webpki decides, whether or not the CRL lists the leaf.
#[test]
fn crl_of_an_issuer_without_crl_sign_matches_webpki() {
    let root = Ca::root("Test Root");
    let inter = root.sub_ca("Test Intermediate").without_crl_sign().build();
    let leaves = [inter.leaf("good").serial(&[2]).build(), inter.leaf("bad").serial(&[1]).build()];
    let crls = vec![crl(&inter, &[&[1]], false)];
    for (depth, unknown) in POLICIES {
        let v = certauth_verifier(&root, &crls, depth, unknown);
        for leaf in &leaves {
            let theirs = webpki_verdict(leaf, &root, &crls, depth, unknown);
            assert_eq!(theirs, Some(ErrorKind::RevocationUnknown));
            assert_eq!(certauth_verdict(v.as_ref(), leaf), theirs, "{depth:?}/{unknown:?}");
        }
    }
}

/// A CRL under the issuer's name that the issuer's key did not sign neither revokes nor
/// clears, even when unknown status is allowed: a listed leaf is not reported revoked, an
/// unlisted one is not accepted.
#[test]
fn crl_signed_by_another_key_neither_revokes_nor_clears() {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let impostor = Ca::root("Test Intermediate");
    let (good, bad) =
        (inter.leaf("good").serial(&[2]).build(), inter.leaf("bad").serial(&[1]).build());
    let crls = vec![crl(&impostor, &[&[1]], false)];
    for (depth, unknown) in POLICIES {
        let v = certauth_verifier(&root, &crls, depth, unknown).unwrap();
        for leaf in [&good, &bad] {
            for _ in 0..3 {
                let e = v.verify(&leaf.presented(), at()).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{depth:?}/{unknown:?}: {e}");
                // Under a whole-chain deny policy the intermediate, which no CRL
                // covers, is reported first.
                if (depth, unknown) != (RevocationDepth::Chain, UnknownStatus::Deny) {
                    assert!(e.message().contains("does not verify under its issuer's key"), "{e}");
                }
            }
        }
    }
}

/// Two intermediates share a name but not a key (a key rollover); the CRL is signed by
/// the new key. Verifications through either, interleaved, keep their own verdicts: the
/// remembered signature verdict is per issuer key, never per name.
#[test]
fn crl_signature_verdicts_are_kept_per_issuer_key() {
    let root = Ca::root("Test Root");
    let old = root.intermediate("Test Intermediate");
    let new = root.intermediate("Test Intermediate");
    let (under_old, under_new) =
        (old.leaf("a").serial(&[1]).build(), new.leaf("b").serial(&[1]).build());
    let clean_under_new = new.leaf("c").serial(&[2]).build();
    let crls = vec![crl(&new, &[&[1]], false)];
    let v = certauth_verifier(&root, &crls, RevocationDepth::Leaf, UnknownStatus::Allow).unwrap();
    for _ in 0..3 {
        let e = v.verify(&under_old.presented(), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{e}");
        let e = v.verify(&under_new.presented(), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
        assert!(v.verify(&clean_under_new.presented(), at()).is_ok());
    }
    for leaf in [&under_old, &under_new, &clean_under_new] {
        assert_eq!(
            certauth_verdict(Some(&v), leaf),
            webpki_verdict(leaf, &root, &crls, RevocationDepth::Leaf, UnknownStatus::Allow)
        );
    }
}

/// A revoked certificate's error names the serial, the CRL and the certificate's role.
#[test]
fn revoked_error_names_the_serial_and_the_crl() {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let leaf = inter.leaf("bad").serial(&[0x0a, 0xbc]).build();
    let crls = vec![crl(&inter, &[&[0x0a, 0xbc]], false)];
    let v = certauth_verifier(&root, &crls, RevocationDepth::Leaf, UnknownStatus::Deny).unwrap();
    let e = v.verify(&leaf.presented(), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked);
    assert_eq!(
        e.message(),
        "the client certificate: serial 0abc is revoked by crl 05 of CN=Test Intermediate"
    );
}

/// Signatures over more than this many bytes are the CRL's in the test below (a
/// certificate's TBS is well under it).
const LARGE: usize = 16_384;

/// How many signatures over more than [`LARGE`] bytes [`Counting`] verified.
static LARGE_MESSAGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// ECDSA P-256 with SHA-256 (the test kit's default), counting large messages.
#[derive(Debug)]
struct Counting;

impl certauth::pki_types::SignatureVerificationAlgorithm for Counting {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), certauth::pki_types::InvalidSignature> {
        if message.len() > LARGE {
            LARGE_MESSAGES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        webpki::ring::ECDSA_P256_SHA256.verify_signature(public_key, message, signature)
    }

    fn public_key_alg_id(&self) -> certauth::pki_types::AlgorithmIdentifier {
        webpki::ring::ECDSA_P256_SHA256.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> certauth::pki_types::AlgorithmIdentifier {
        webpki::ring::ECDSA_P256_SHA256.signature_alg_id()
    }
}

static COUNTING: &[&dyn certauth::pki_types::SignatureVerificationAlgorithm] = &[&Counting];

/// The cost of a CRL is paid once: over many uncached verifications (a new client each
/// time, and both the accepted and the revoked verdict), the CRL's signature is verified
/// once, and a replaced trust store verifies its CRL once again.
#[test]
fn crl_signature_is_verified_once_per_issuer_key() {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate");
    let mut b = inter.crl().number(5).this_update(date(2026, 5, 20)).next_update(date(2026, 7, 1));
    for i in 0..2_000u32 {
        b = b.revoke_serial(&(0x0100_0000 + i).to_be_bytes());
    }
    let crl = b.build();
    assert!(crl.der().len() > LARGE, "{}", crl.der().len());
    let store = || {
        TrustStore::builder()
            .add_pem(root.pem().as_bytes())
            .unwrap()
            .add_crl(crl.der())
            .unwrap()
            .check_at(at())
            .build()
            .unwrap()
    };
    let policy = RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny);
    let v = Verifier::builder(store(), COUNTING).revocation(policy).build().unwrap();
    let revoked = inter.leaf("revoked").serial(&0x0100_0007u32.to_be_bytes()).build();
    for i in 0..10u8 {
        let good = inter.leaf(&format!("client {i}")).serial(&[0x42, i]).build();
        assert!(v.verify(&good.presented(), at()).is_ok());
        let e = v.verify(&revoked.presented(), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Revoked);
    }
    assert_eq!(LARGE_MESSAGES.load(std::sync::atomic::Ordering::SeqCst), 1);
    v.replace_trust_store(store()).unwrap();
    for _ in 0..3 {
        assert_eq!(v.verify(&revoked.presented(), at()).unwrap_err().kind(), ErrorKind::Revoked);
    }
    assert_eq!(LARGE_MESSAGES.load(std::sync::atomic::Ordering::SeqCst), 2);
}
