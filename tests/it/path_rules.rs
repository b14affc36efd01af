//! Rules certauth applies on each candidate path, inside path building: the anchor's path
//! length, keyCertSign in intermediates, DNS name constraints on a host-like subject CN.
//! A path these rules refuse leaves webpki free to find another. Certificates come from
//! the test kit, verified at a fixed time.

use certauth::TrustStore;
use certauth::pki_types::CertificateDer;
use certauth::testkit::pki::{Ca, LeafBuilder};
use certauth::{Certificate, ErrorKind, Format, Limits, PresentedChain, Source, Timestamp};
use certauth::{RING_ALGORITHMS, TrustedBy, Verifier};

use crate::common::at;

/// The certificates as a client presents them, leaf first.
fn chain(certs: &[&CertificateDer<'static>]) -> PresentedChain {
    let certs = certs.iter().map(|c| (*c).clone()).collect();
    PresentedChain::new(certs, Source::Bytes, Format::Der, &Limits::default()).unwrap()
}

/// A leaf issued by `ca` with the test kit's defaults.
fn leaf(ca: &Ca, cn: &str) -> CertificateDer<'static> {
    ca.leaf(cn).build().der().clone()
}

fn year(y: i64) -> Timestamp {
    Timestamp::from_utc(y, 1, 1, 0, 0, 0).unwrap()
}

fn store(root: &Ca) -> TrustStore {
    TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().check_at(at()).build().unwrap()
}

fn verifier(root: &Ca) -> Verifier {
    Verifier::builder(store(root), RING_ALGORITHMS).build().unwrap()
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

fn kind_of(v: &Verifier, certs: &[&CertificateDer<'static>]) -> ErrorKind {
    v.verify(&chain(certs), at()).unwrap_err().kind()
}

/// The anchor's pathLenConstraint holds as any CA's does (RFC 5280 6.1.4 (l), (m);
/// OpenSSL enforces it), though webpki keeps only an anchor's name, key and name
/// constraints: the intermediates below the anchor, self-issued ones not counted, number
/// at most its path length, whether the client presents them or the store holds them.
#[test]
fn anchor_path_length_constraint_is_enforced() {
    let zero = Ca::builder("Root PathLen 0").path_len(0).build();
    let inter = zero.intermediate("Below PathLen 0");
    let v = verifier(&zero);
    assert!(v.verify(&chain(&[&leaf(&zero, "direct")]), at()).is_ok());
    let below = leaf(&inter, "client");
    let e = v.verify(&chain(&[&below, inter.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCertificate, "{e}");
    assert_eq!(
        e.message(),
        "the trust anchor's path length constraint is exceeded (path length 1, at most 0)"
    );
    let held = TrustStore::builder()
        .add_pem(format!("{}{}", inter.pem(), zero.pem()).as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let held = Verifier::builder(held, RING_ALGORITHMS).build().unwrap();
    assert_eq!(kind_of(&held, &[&below]), ErrorKind::InvalidCertificate);

    let one = Ca::builder("Root PathLen 1").path_len(1).build();
    let first = one.intermediate("First Below PathLen 1");
    let second = first.intermediate("Second Below PathLen 1");
    let v = verifier(&one);
    assert!(v.verify(&chain(&[&leaf(&first, "one-below"), first.der()]), at()).is_ok());
    let two_below = leaf(&second, "two-below");
    let e = v.verify(&chain(&[&two_below, second.der(), first.der()]), at()).unwrap_err();
    assert!(e.message().ends_with("(path length 2, at most 1)"), "{e}");

    // A self-issued intermediate (a key rollover of the first: its name, a new key,
    // signed by the old key) does not count.
    let rollover = first.intermediate("First Below PathLen 1");
    let rolled = leaf(&rollover, "rolled");
    v.verify(&chain(&[&rolled, rollover.der(), first.der()]), at()).unwrap();
}

/// Two anchor certificates webpki cannot tell apart (same name, key and name
/// constraints) but with different path lengths: the path holds through the one whose
/// path length admits it, and the result is valid only as long as that one is.
#[test]
fn anchor_twin_without_path_length_admits_the_path() {
    let constrained = Ca::builder("Test Root").path_len(0).build();
    let twin =
        Ca::builder("Test Root").same_key_as(&constrained).valid(year(2024), year(2035)).build();
    let inter = constrained.intermediate("Test Intermediate");
    let l = leaf(&inter, "client");
    for order in [[&constrained, &twin], [&twin, &constrained]] {
        let ok = anchored(&order).verify(&chain(&[&l, inter.der()]), at()).unwrap();
        assert_eq!(ok.expires(), year(2035));
    }
    assert_eq!(
        kind_of(&anchored(&[&constrained]), &[&l, inter.der()]),
        ErrorKind::InvalidCertificate
    );
}

/// The path rules are applied to each candidate path while webpki builds them, not to
/// the first path found: an intermediate cross-signed by a root whose path length
/// refuses it and by one that admits it verifies through the second, whichever the
/// client presents.
#[test]
fn path_rules_leave_webpki_free_to_find_another_path() {
    let strict = Ca::builder("Strict Root").path_len(0).build();
    let open = Ca::root("Open Root");
    let inter = strict.intermediate("Cross-Signed Intermediate");
    let cross = open.sub_ca("Cross-Signed Intermediate").same_key_as(&inter).build();
    let l = leaf(&inter, "client");
    for (presented, held) in [(&inter, &cross), (&cross, &inter)] {
        let store = TrustStore::builder()
            .add_pem(format!("{}{}{}", strict.pem(), open.pem(), held.pem()).as_bytes())
            .unwrap()
            .check_at(at())
            .build()
            .unwrap();
        let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        let ok = v.verify(&chain(&[&l, presented.der()]), at()).unwrap();
        assert_eq!(ok.trusted_by(), &TrustedBy::Anchor("CN=Open Root".into()));
        assert_eq!(&ok.certificates()[1], cross.der());
    }
}

/// An intermediate whose key usage extension lacks keyCertSign may not issue
/// certificates (RFC 5280 6.1.4 (n)); webpki does not look at an issuer's key usage.
/// One without a key usage extension may (only OpenSSL's -x509_strict asks for one).
#[test]
fn intermediate_without_key_cert_sign_is_not_an_issuer() {
    let root = Ca::root("Test Root");
    let v = verifier(&root);
    let no_sign = root.sub_ca("No keyCertSign").without_key_cert_sign().build();
    let l = leaf(&no_sign, "client");
    let e = v.verify(&chain(&[&l, no_sign.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCertificate, "{e}");
    assert_eq!(
        e.message(),
        "an intermediate: key usage does not include keyCertSign, so it may not issue \
         certificates"
    );
    // Higher in the path, too.
    let below = no_sign.intermediate("Below No keyCertSign");
    let l = leaf(&below, "client");
    let e = v.verify(&chain(&[&l, below.der(), no_sign.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCertificate, "{e}");

    let no_ku = root.sub_ca("No Key Usage").without_key_usage().build();
    assert!(v.verify(&chain(&[&leaf(&no_ku, "client"), no_ku.der()]), at()).is_ok());
    let only =
        root.sub_ca("Only keyCertSign").without_crl_sign().without_digital_signature().build();
    assert!(v.verify(&chain(&[&leaf(&only, "client"), only.der()]), at()).is_ok());
}

/// A leaf issued through `inter` with subject CN `cn` and the SANs `sans` adds.
fn named<'a>(
    inter: &'a Ca,
    cn: &str,
    sans: impl FnOnce(LeafBuilder<'a>) -> LeafBuilder<'a>,
) -> CertificateDer<'static> {
    sans(inter.leaf(cn)).build().der().clone()
}

fn no_sans(b: LeafBuilder<'_>) -> LeafBuilder<'_> {
    b
}

/// DNS name constraints apply to a host-like subject CN when the leaf names no host in
/// its SANs (no dNSName, no iPAddress): identity rules can match on the CN, so a CA
/// constrained to example.org must not vouch for CN=admin.other.com.
#[test]
fn dns_name_constraints_apply_to_a_host_like_common_name() {
    let constrained_root = Ca::builder("Constrained Root").permit_dns("example.org").build();
    let inter = constrained_root.intermediate("Issuing CA");
    let v = verifier(&constrained_root);
    let verify = |l: &CertificateDer<'static>| v.verify(&chain(&[l, inter.der()]), at());
    for outside in ["admin.other.com", "ADMIN.Other.COM", "admin.other.com.", "10.0.0.1"] {
        let e = verify(&named(&inter, outside, no_sans)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{outside}: {e}");
        assert_eq!(
            e.message(),
            "the leaf's subject common name is outside the dns name constraints of the trust \
             anchor (the leaf has no dns or ip name)"
        );
    }
    // A SAN of another type leaves the CN to be checked.
    let uri = named(&inter, "admin.other.com", |b| b.uri("https://admin.other.com/"));
    let e = verify(&uri).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{e}");
    for inside in
        ["client.example.org", "Client.Example.Org.", "example.org", "client", "John Smith"]
    {
        assert!(verify(&named(&inter, inside, no_sans)).is_ok(), "{inside}");
    }
    // A dNSName or iPAddress SAN names the host; webpki holds it to the constraints,
    // and the CN is not taken for a host name (OpenSSL still reads it beside an
    // iPAddress; web clients and x509-limbo's BetterTLS cases do not).
    assert!(verify(&named(&inter, "admin.other.com", |b| b.dns("client.example.org"))).is_ok());
    let ip = "10.0.0.1".parse().unwrap();
    assert!(verify(&named(&inter, "admin.other.com", |b| b.ip(ip))).is_ok());

    // The constraints of an intermediate, permitted or excluded, apply as well.
    let open = Ca::root("Open Root");
    let constrained = open.sub_ca("Constrained CA").permit_dns("example.org").build();
    let excluding = open.sub_ca("Excluding CA").exclude_dns("bad.example.org").build();
    let v = verifier(&open);
    let e = v
        .verify(
            &chain(&[&named(&constrained, "admin.other.com", no_sans), constrained.der()]),
            at(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{e}");
    assert!(e.message().contains("constraints of an intermediate"), "{e}");
    let excluded = named(&excluding, "admin.bad.example.org", no_sans);
    assert_eq!(kind_of(&v, &[&excluded, excluding.der()]), ErrorKind::NameConstraintViolation);
    assert!(
        v.verify(&chain(&[&named(&excluding, "admin.other.com", no_sans), excluding.der()]), at())
            .is_ok()
    );
}

/// Every subject CN is held to the constraints, not only the last one (which
/// `common_name` reports), and a CN with a NUL character is refused under DNS
/// constraints: read as a C string it names another host.
#[test]
fn every_common_name_is_held_to_dns_name_constraints() {
    let constrained_root = Ca::builder("Constrained Root").permit_dns("example.org").build();
    let inter = constrained_root.intermediate("Issuing CA");
    let v = verifier(&constrained_root);
    for (first, second) in
        [("client.example.org", "admin.other.com"), ("admin.other.com", "client.example.org")]
    {
        // A second CN by its OID: "CN" would replace the first.
        let l = named(&inter, first, |b| b.subject_attribute("2.5.4.3", second));
        assert_eq!(Certificate::from_der(&l).unwrap().subject().values("CN").count(), 2);
        assert_eq!(kind_of(&v, &[&l, inter.der()]), ErrorKind::NameConstraintViolation);
    }
    let nul = named(&inter, "admin.other.com\0.example.org", no_sans);
    let e = v.verify(&chain(&[&nul, inter.der()]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{e}");
    assert!(e.message().contains("nul"), "{e}");
    // Without name constraints the CN is not judged here (identity rules decide).
    let open = Ca::root("Open Root");
    let open_inter = open.intermediate("Open CA");
    let nul = named(&open_inter, "admin.other.com\0.example.org", no_sans);
    assert!(verifier(&open).verify(&chain(&[&nul, open_inter.der()]), at()).is_ok());
}
