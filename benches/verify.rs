//! Uncached verification: certauth's `Verifier::verify` against raw
//! `webpki::EndEntityCert::verify_for_usage` on the same three-level chains (root,
//! intermediate, leaf), and against rustls's `WebPkiClientVerifier::verify_client_cert`
//! (what a rustls server would otherwise run), in the same group, so the ratios come from
//! one run.
//!
//! Run: `cargo bench --features ring --bench verify`

use std::hint::black_box;
use std::sync::Arc;

use certauth::TrustStore;
use certauth::pki_types::{CertificateDer, TrustAnchor, UnixTime};
use certauth::{Format, Limits, PresentedChain, Source, Timestamp};
use certauth::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber, date_time_ymd,
};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;

struct Fixture {
    root: CertificateDer<'static>,
    inter: CertificateDer<'static>,
    leaf: CertificateDer<'static>,
    crl_small: Vec<u8>,
    crl_large: Vec<u8>,
}

fn params(cn: &str, ca: bool) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    } else {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.serial_number = Some(SerialNumber::from(0xffff_ffffu64));
    }
    p
}

fn crl(issuer: &Issuer<'_, &KeyPair>, entries: u64) -> Vec<u8> {
    CertificateRevocationListParams {
        this_update: date_time_ymd(2026, 5, 1),
        next_update: date_time_ymd(2026, 7, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: (1..=entries)
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(s),
                revocation_time: date_time_ymd(2026, 1, 1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(issuer)
    .unwrap()
    .der()
    .to_vec()
}

fn fixture(keys: [KeyPair; 3]) -> Fixture {
    let [root_key, inter_key, leaf_key] = keys;
    let root_params = params("Bench Root", true);
    let root = root_params.self_signed(&root_key).unwrap().der().clone();
    let root_issuer = Issuer::from_params(&root_params, &root_key);
    let inter_params = params("Bench Intermediate", true);
    let inter = inter_params.signed_by(&inter_key, &root_issuer).unwrap().der().clone();
    let inter_issuer = Issuer::from_params(&inter_params, &inter_key);
    let leaf =
        params("bench-client", false).signed_by(&leaf_key, &inter_issuer).unwrap().der().clone();
    Fixture {
        root,
        inter,
        leaf,
        crl_small: crl(&inter_issuer, 10),
        crl_large: crl(&inter_issuer, 100_000),
    }
}

fn rsa_key(name: &str) -> KeyPair {
    let path = format!("{}/tests/data/bench/{name}.key", env!("CARGO_MANIFEST_DIR"));
    let pem = std::fs::read_to_string(path).unwrap();
    KeyPair::from_pkcs8_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap()
}

fn pem(der: &[u8]) -> String {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap()
}

fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

/// rustls's own client verifier for `root`, optionally checking the leaf against `crl`
/// (end-entity only, unknown status denied: the same policy as the certauth runs).
fn rustls_verifier(
    root: &CertificateDer<'static>,
    crl: Option<&[u8]>,
) -> Arc<dyn ClientCertVerifier> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    if let Some(crl) = crl {
        builder = builder
            .with_crls([certauth::pki_types::CertificateRevocationListDer::from(crl.to_vec())])
            .only_check_end_entity_revocation();
    }
    builder.build().unwrap()
}

fn bench_chain(c: &mut Criterion, name: &str, f: &Fixture) {
    let time: UnixTime = at().to_unix_time();
    let anchors: Vec<TrustAnchor<'static>> =
        vec![webpki::anchor_from_trusted_cert(&f.root).unwrap().to_owned()];
    let intermediates = [f.inter.clone()];
    let presented = PresentedChain::new(
        vec![f.leaf.clone(), f.inter.clone()],
        Source::Bytes,
        Format::Der,
        &Limits::default(),
    )
    .unwrap();
    let root_pem = pem(&f.root);
    let store = |crl: Option<&[u8]>| {
        let mut b = TrustStore::builder().add_pem(root_pem.as_bytes()).unwrap().check_at(at());
        if let Some(crl) = crl {
            // The CRL is the intermediate's; the store must know its issuer.
            b = b.add_pem(pem(&f.inter).as_bytes()).unwrap().add_crl(crl).unwrap();
        }
        b.build().unwrap()
    };

    let mut g = c.benchmark_group(format!("verify_{name}"));
    g.bench_function("baseline_webpki", |b| {
        b.iter(|| {
            let ee = webpki::EndEntityCert::try_from(black_box(&f.leaf)).unwrap();
            ee.verify_for_usage(
                RING_ALGORITHMS,
                &anchors,
                &intermediates,
                time,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .is_ok()
        })
    });
    let rustls_plain = rustls_verifier(&f.root, None);
    assert!(rustls_plain.verify_client_cert(&f.leaf, &intermediates, time).is_ok());
    g.bench_function("baseline_rustls_client_verifier", |b| {
        b.iter(|| rustls_plain.verify_client_cert(black_box(&f.leaf), &intermediates, time).is_ok())
    });
    let verifier = Verifier::builder(store(None), RING_ALGORITHMS).build().unwrap();
    g.bench_function("certauth", |b| {
        b.iter(|| verifier.verify(black_box(&presented), at()).is_ok())
    });
    g.finish();

    for (label, crl_der) in [("crl_10", &f.crl_small), ("crl_100k", &f.crl_large)] {
        let owned: webpki::CertRevocationList<'static> =
            webpki::OwnedCertRevocationList::from_der(crl_der).unwrap().into();
        let crls = [&owned];
        let mut g = c.benchmark_group(format!("verify_{name}_{label}"));
        g.bench_function("baseline_webpki", |b| {
            b.iter(|| {
                let revocation = webpki::RevocationOptionsBuilder::new(&crls)
                    .unwrap()
                    .with_depth(webpki::RevocationCheckDepth::EndEntity)
                    .with_status_policy(webpki::UnknownStatusPolicy::Deny)
                    .build();
                let ee = webpki::EndEntityCert::try_from(black_box(&f.leaf)).unwrap();
                ee.verify_for_usage(
                    RING_ALGORITHMS,
                    &anchors,
                    &intermediates,
                    time,
                    webpki::KeyUsage::client_auth(),
                    Some(revocation),
                    None,
                )
                .is_ok()
            })
        });
        let rustls_crl = rustls_verifier(&f.root, Some(crl_der));
        assert!(rustls_crl.verify_client_cert(&f.leaf, &intermediates, time).is_ok());
        g.bench_function("baseline_rustls_client_verifier", |b| {
            b.iter(|| {
                rustls_crl.verify_client_cert(black_box(&f.leaf), &intermediates, time).is_ok()
            })
        });
        let verifier = Verifier::builder(store(Some(crl_der)), RING_ALGORITHMS)
            .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny))
            .build()
            .unwrap();
        assert!(verifier.verify(&presented, at()).is_ok());
        g.bench_function("certauth", |b| {
            b.iter(|| verifier.verify(black_box(&presented), at()).is_ok())
        });
        g.finish();
    }
}

fn verification(c: &mut Criterion) {
    let ec = fixture([
        KeyPair::generate().unwrap(),
        KeyPair::generate().unwrap(),
        KeyPair::generate().unwrap(),
    ]);
    bench_chain(c, "ecdsa_p256", &ec);
    let rsa = fixture([rsa_key("rsa-root"), rsa_key("rsa-intermediate"), rsa_key("rsa-leaf")]);
    bench_chain(c, "rsa2048", &rsa);
}

criterion_group!(benches, verification);
criterion_main!(benches);
