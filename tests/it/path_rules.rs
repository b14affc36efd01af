//! Rules certauth applies on each candidate path, inside path building: the anchor's path
//! length, keyCertSign in intermediates, DNS name constraints on a host-like subject CN.
//! A path these rules refuse leaves webpki free to find another. Certificates come from
//! `common::pki` (rcgen parameters the test kit does not expose), verified at a fixed time.

use certauth::trust::TrustStore;
use certauth::verify::{RING_ALGORITHMS, TrustedBy, Verifier};
use certauth::{Certificate, ErrorKind, Timestamp};
use rcgen::date_time_ymd;

use crate::common::pki::{
    self, Ca, at, chain, intermediate, intermediate_with, leaf, leaf_with, root,
};

fn store(root: &Ca) -> TrustStore {
    TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().check_at(at()).build().unwrap()
}

fn verifier(root: &Ca) -> Verifier {
    Verifier::builder(store(root), RING_ALGORITHMS).build().unwrap()
}

/// The same root certificate renewed: the same key and name, new dates (and `edit`).
fn renewed(old: &Ca, edit: impl FnOnce(&mut rcgen::CertificateParams)) -> Ca {
    let key = rcgen::KeyPair::from_pem(&old.key.serialize_pem()).unwrap();
    let mut params = old.params.clone();
    edit(&mut params);
    let der = params.self_signed(&key).unwrap().der().clone();
    Ca { params, key, der }
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

fn kind_of(v: &Verifier, certs: &[&certauth::pki_types::CertificateDer<'static>]) -> ErrorKind {
    v.verify(&chain(certs), at()).unwrap_err().kind()
}

fn path_len(n: u8) -> impl FnOnce(&mut rcgen::CertificateParams) {
    move |c| c.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(n))
}

/// The anchor's pathLenConstraint holds as any CA's does (RFC 5280 6.1.4 (l), (m);
/// OpenSSL enforces it), though webpki keeps only an anchor's name, key and name
/// constraints: the intermediates below the anchor, self-issued ones not counted, number
/// at most its path length, whether the client presents them or the store holds them.
#[test]
fn anchor_path_length_constraint_is_enforced() {
    let zero = pki::root_with("Root PathLen 0", path_len(0));
    let inter = intermediate(&zero, "Below PathLen 0");
    let v = verifier(&zero);
    assert!(v.verify(&chain(&[&leaf(&zero, "direct")]), at()).is_ok());
    let below = leaf(&inter, "client");
    let e = v.verify(&chain(&[&below, &inter.der]), at()).unwrap_err();
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

    let one = pki::root_with("Root PathLen 1", path_len(1));
    let first = intermediate(&one, "First Below PathLen 1");
    let second = intermediate(&first, "Second Below PathLen 1");
    let v = verifier(&one);
    assert!(v.verify(&chain(&[&leaf(&first, "one-below"), &first.der]), at()).is_ok());
    let two_below = leaf(&second, "two-below");
    let e = v.verify(&chain(&[&two_below, &second.der, &first.der]), at()).unwrap_err();
    assert!(e.message().ends_with("(path length 2, at most 1)"), "{e}");

    // A self-issued intermediate (a key rollover of the first: its name, a new key,
    // signed by the old key) does not count.
    let rollover = intermediate(&first, "First Below PathLen 1");
    let rolled = leaf(&rollover, "rolled");
    v.verify(&chain(&[&rolled, &rollover.der, &first.der]), at()).unwrap();
}

/// Two anchor certificates webpki cannot tell apart (same name, key and name
/// constraints) but with different path lengths: the path holds through the one whose
/// path length admits it, and the result is valid only as long as that one is.
#[test]
fn anchor_twin_without_path_length_admits_the_path() {
    let constrained = pki::root_with("Test Root", path_len(0));
    let twin = renewed(&constrained, |c| {
        c.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        c.not_before = date_time_ymd(2024, 1, 1);
        c.not_after = date_time_ymd(2035, 1, 1);
    });
    let inter = intermediate(&constrained, "Test Intermediate");
    let l = leaf(&inter, "client");
    for order in [[&constrained, &twin], [&twin, &constrained]] {
        let ok = anchored(&order).verify(&chain(&[&l, &inter.der]), at()).unwrap();
        assert_eq!(ok.expires(), Timestamp::parse_rfc3339("2035-01-01T00:00:00Z").unwrap());
    }
    assert_eq!(
        kind_of(&anchored(&[&constrained]), &[&l, &inter.der]),
        ErrorKind::InvalidCertificate
    );
}

/// The path rules are applied to each candidate path while webpki builds them, not to
/// the first path found: an intermediate cross-signed by a root whose path length
/// refuses it and by one that admits it verifies through the second, whichever the
/// client presents.
#[test]
fn path_rules_leave_webpki_free_to_find_another_path() {
    let strict = pki::root_with("Strict Root", path_len(0));
    let open = root("Open Root");
    let inter = intermediate(&strict, "Cross-Signed Intermediate");
    let cross = inter.params.signed_by(&inter.key, &open.issuer()).unwrap().der().clone();
    let l = leaf(&inter, "client");
    for (presented, held) in [(&inter.der, &cross), (&cross, &inter.der)] {
        let store = TrustStore::builder()
            .add_pem(format!("{}{}{}", strict.pem(), open.pem(), pki::pem(held)).as_bytes())
            .unwrap()
            .check_at(at())
            .build()
            .unwrap();
        let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        let ok = v.verify(&chain(&[&l, presented]), at()).unwrap();
        assert_eq!(ok.trusted_by(), &TrustedBy::Anchor("CN=Open Root".into()));
        assert_eq!(ok.certificates()[1], cross);
    }
}

/// An intermediate whose key usage extension lacks keyCertSign may not issue
/// certificates (RFC 5280 6.1.4 (n)); webpki does not look at an issuer's key usage.
/// One without a key usage extension may (only OpenSSL's -x509_strict asks for one).
#[test]
fn intermediate_without_key_cert_sign_is_not_an_issuer() {
    use rcgen::KeyUsagePurpose as Ku;
    let root = root("Test Root");
    let v = verifier(&root);
    let no_sign = intermediate_with(&root, "No keyCertSign", |c| {
        c.key_usages = vec![Ku::DigitalSignature, Ku::CrlSign];
    });
    let l = leaf(&no_sign, "client");
    let e = v.verify(&chain(&[&l, &no_sign.der]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCertificate, "{e}");
    assert_eq!(
        e.message(),
        "an intermediate: key usage does not include keyCertSign, so it may not issue \
         certificates"
    );
    // Higher in the path, too.
    let below = intermediate(&no_sign, "Below No keyCertSign");
    let l = leaf(&below, "client");
    let e = v.verify(&chain(&[&l, &below.der, &no_sign.der]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidCertificate, "{e}");

    let no_ku = intermediate_with(&root, "No Key Usage", |c| c.key_usages.clear());
    assert!(v.verify(&chain(&[&leaf(&no_ku, "client"), &no_ku.der]), at()).is_ok());
    let only =
        intermediate_with(&root, "Only keyCertSign", |c| c.key_usages = vec![Ku::KeyCertSign]);
    assert!(v.verify(&chain(&[&leaf(&only, "client"), &only.der]), at()).is_ok());
}

fn permit_example_org(c: &mut rcgen::CertificateParams) {
    c.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("example.org".into())],
        excluded_subtrees: vec![],
    });
}

/// A leaf issued through `inter` with subject CN `cn` and these SANs.
fn named(
    inter: &Ca,
    cn: &str,
    sans: Vec<rcgen::SanType>,
) -> certauth::pki_types::CertificateDer<'static> {
    leaf_with(inter, cn, |c| c.subject_alt_names = sans)
}

/// DNS name constraints apply to a host-like subject CN when the leaf names no host in
/// its SANs (no dNSName, no iPAddress): identity rules can match on the CN, so a CA
/// constrained to example.org must not vouch for CN=admin.other.com.
#[test]
fn dns_name_constraints_apply_to_a_host_like_common_name() {
    let constrained_root = pki::root_with("Constrained Root", permit_example_org);
    let inter = intermediate(&constrained_root, "Issuing CA");
    let v = verifier(&constrained_root);
    let verify =
        |l: &certauth::pki_types::CertificateDer<'static>| v.verify(&chain(&[l, &inter.der]), at());
    let dns = |n: &str| rcgen::SanType::DnsName(n.try_into().unwrap());
    for outside in ["admin.other.com", "ADMIN.Other.COM", "admin.other.com.", "10.0.0.1"] {
        let e = verify(&named(&inter, outside, vec![])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{outside}: {e}");
        assert_eq!(
            e.message(),
            "the leaf's subject common name is outside the dns name constraints of the trust \
             anchor (the leaf has no dns or ip name)"
        );
    }
    // A SAN of another type leaves the CN to be checked.
    let uri = rcgen::SanType::URI("https://admin.other.com/".try_into().unwrap());
    let e = verify(&named(&inter, "admin.other.com", vec![uri])).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{e}");
    for inside in
        ["client.example.org", "Client.Example.Org.", "example.org", "client", "John Smith"]
    {
        assert!(verify(&named(&inter, inside, vec![])).is_ok(), "{inside}");
    }
    // A dNSName or iPAddress SAN names the host; webpki holds it to the constraints,
    // and the CN is not taken for a host name (OpenSSL still reads it beside an
    // iPAddress; web clients and x509-limbo's BetterTLS cases do not).
    assert!(verify(&named(&inter, "admin.other.com", vec![dns("client.example.org")])).is_ok());
    let ip = rcgen::SanType::IpAddress("10.0.0.1".parse().unwrap());
    assert!(verify(&named(&inter, "admin.other.com", vec![ip])).is_ok());

    // The constraints of an intermediate, permitted or excluded, apply as well.
    let open = root("Open Root");
    let constrained = intermediate_with(&open, "Constrained CA", permit_example_org);
    let excluding = intermediate_with(&open, "Excluding CA", |c| {
        c.name_constraints = Some(rcgen::NameConstraints {
            permitted_subtrees: vec![],
            excluded_subtrees: vec![rcgen::GeneralSubtree::DnsName("bad.example.org".into())],
        });
    });
    let v = verifier(&open);
    let e = v
        .verify(&chain(&[&named(&constrained, "admin.other.com", vec![]), &constrained.der]), at())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{e}");
    assert!(e.message().contains("constraints of an intermediate"), "{e}");
    let excluded = named(&excluding, "admin.bad.example.org", vec![]);
    assert_eq!(kind_of(&v, &[&excluded, &excluding.der]), ErrorKind::NameConstraintViolation);
    assert!(
        v.verify(&chain(&[&named(&excluding, "admin.other.com", vec![]), &excluding.der]), at())
            .is_ok()
    );
}

/// Every subject CN is held to the constraints, not only the last one (which
/// `common_name` reports), and a CN with a NUL character is refused under DNS
/// constraints: read as a C string it names another host.
#[test]
fn every_common_name_is_held_to_dns_name_constraints() {
    let constrained_root = pki::root_with("Constrained Root", permit_example_org);
    let inter = intermediate(&constrained_root, "Issuing CA");
    let v = verifier(&constrained_root);
    let second_cn = rcgen::DnType::CustomDnType(vec![2, 5, 4, 3]);
    for (first, second) in
        [("client.example.org", "admin.other.com"), ("admin.other.com", "client.example.org")]
    {
        let l = leaf_with(&inter, first, |c| {
            c.subject_alt_names.clear();
            c.distinguished_name.push(second_cn.clone(), second);
        });
        assert_eq!(Certificate::from_der(&l).unwrap().subject().values("CN").count(), 2);
        assert_eq!(kind_of(&v, &[&l, &inter.der]), ErrorKind::NameConstraintViolation);
    }
    let nul = named(&inter, "admin.other.com\0.example.org", vec![]);
    let e = v.verify(&chain(&[&nul, &inter.der]), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NameConstraintViolation, "{e}");
    assert!(e.message().contains("nul"), "{e}");
    // Without name constraints the CN is not judged here (identity rules decide).
    let open = root("Open Root");
    let open_inter = intermediate(&open, "Open CA");
    let nul = named(&open_inter, "admin.other.com\0.example.org", vec![]);
    assert!(verifier(&open).verify(&chain(&[&nul, &open_inter.der]), at()).is_ok());
}
