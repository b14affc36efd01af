//! Bounded work on crafted chains: on each entry point, the worst crafted chain of
//! `certauth::testkit::hostile` against a genuine three-level chain (root, intermediate,
//! leaf; ECDSA P-256, anchor P-256 or P-384), uncached, in the same group, so the ratio
//! comes from one run. The target: every crafted chain at most 5x the genuine one.
//!
//! Run: `cargo bench --features ring,testkit --bench hostile`

use std::hint::black_box;

use certauth::CacheConfig;
use certauth::RING_ALGORITHMS;
use certauth::pki_types::CertificateDer;
use certauth::testkit::hostile;
use certauth::testkit::pki::{Ca, KeyType};
use certauth::{
    Authenticator, Credential, Format, HeaderFormat, Limits, PresentedChain, Source, Timestamp,
    TrustStore, Verifier,
};
use criterion::{Criterion, criterion_group, criterion_main};

fn at() -> Timestamp {
    Timestamp::from_utc(2027, 1, 1, 0, 0, 0).unwrap()
}

/// The chains of one group: the genuine one first, then the crafted ones, each named.
fn chains(root_name: &str, inter: &Ca) -> Vec<(&'static str, Vec<CertificateDer<'static>>)> {
    vec![
        ("genuine_three_level", inter.leaf("client").build().chain()),
        ("same_name_loop_15_padded", hostile::same_name_loop(15, 3000).certs().to_vec()),
        ("named_like_anchor_15", hostile::named_like_anchor(root_name, 15).certs().to_vec()),
        (
            "named_like_issuer_15",
            hostile::named_like_issuer("Bench Issuing", root_name, 15, 0).certs().to_vec(),
        ),
        ("two_name_mesh_5", hostile::two_name_mesh(root_name, 5).certs().to_vec()),
    ]
}

fn pem_escaped(chain: &[CertificateDer<'_>]) -> Vec<u8> {
    use base64::Engine as _;
    let mut out = String::new();
    for c in chain {
        let b64 = base64::engine::general_purpose::STANDARD.encode(c);
        out.push_str("-----BEGIN%20CERTIFICATE-----%0A");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(std::str::from_utf8(line).unwrap());
            out.push_str("%0A");
        }
        out.push_str("-----END%20CERTIFICATE-----%0A");
    }
    out.into_bytes()
}

fn entry_points(c: &mut Criterion) {
    for anchor_key in [KeyType::EcdsaP256, KeyType::EcdsaP384] {
        let root = Ca::builder("Bench Root").key(anchor_key).build();
        let inter = root.intermediate("Bench Issuing");
        let store = TrustStore::builder().add_der(root.der()).unwrap().build().unwrap();
        let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
        let auth = Authenticator::builder(verifier.clone())
            .cache(CacheConfig::disabled())
            .build()
            .unwrap();
        let limits = Limits::default();
        let chains = chains("Bench Root", &inter);
        let key = format!("{anchor_key:?}").to_lowercase();

        let mut g = c.benchmark_group(format!("hostile_verify_anchor_{key}"));
        for (name, certs) in &chains {
            let chain =
                PresentedChain::new(certs.clone(), Source::Bytes, Format::Der, &limits).unwrap();
            g.bench_function(*name, |b| b.iter(|| verifier.verify(black_box(&chain), at())));
        }
        g.finish();

        let mut g = c.benchmark_group(format!("hostile_der_bytes_anchor_{key}"));
        for (name, certs) in &chains {
            let der: Vec<u8> = certs.iter().flat_map(|c| c.iter().copied()).collect();
            let credential = Credential::Encoded { bytes: &der, format: Format::Der };
            g.bench_function(*name, |b| {
                b.iter(|| auth.verify_credential(black_box(credential), at()))
            });
        }
        g.finish();

        let mut g = c.benchmark_group(format!("hostile_forwarded_header_anchor_{key}"));
        for (name, certs) in &chains {
            let value = pem_escaped(certs);
            if value.len() > limits.max_header_value() {
                continue; // refused by size before any decoding
            }
            let credential = Credential::Header {
                name: "ssl-client-cert",
                value: &value,
                format: HeaderFormat::NginxEscaped,
            };
            g.bench_function(*name, |b| {
                b.iter(|| auth.verify_credential(black_box(credential), at()))
            });
        }
        g.finish();
    }
}

criterion_group!(benches, entry_points);
criterion_main!(benches);
