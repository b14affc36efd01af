//! Parsing costs, each against its baseline in the same group:
//! PEM bundles (strict and lenient) versus rustls-pki-types' PEM parser, base64 DER versus
//! a plain base64 decode, the certificate model, and the thumbprint.
//!
//! Run: `cargo bench --bench parse`

use base64::Engine as _;
use certauth::input::{Format, Limits, parse, pem};
use certauth::{Certificate, Thumbprint};
use criterion::{Criterion, criterion_group, criterion_main};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use std::hint::black_box;

const LEAF_EC_PEM: &[u8] = include_bytes!("../tests/data/pki/leaf-ec.pem");
const LEAF_RSA_PEM: &[u8] = include_bytes!("../tests/data/pki/leaf-rsa.pem");
const CHAIN_PEM: &[u8] = include_bytes!("../tests/data/pki/leaf-rsa-chain.pem");
const LEAF_RSA_DER: &[u8] = include_bytes!("../tests/data/pki/leaf-rsa.der");
const LEAF_EC_DER: &[u8] = include_bytes!("../tests/data/pki/leaf-ec.der");

fn pem_bundles(c: &mut Criterion) {
    let limits = Limits::default();
    let one_line: Vec<u8> = CHAIN_PEM.iter().copied().filter(|&b| b != b'\n').collect();
    let mut g = c.benchmark_group("pem_bundle_2_certs");
    g.bench_function("baseline_rustls_pki_types", |b| {
        b.iter(|| CertificateDer::pem_slice_iter(black_box(CHAIN_PEM)).count())
    });
    g.bench_function("certauth_strict", |b| {
        b.iter(|| pem::parse_strict(black_box(CHAIN_PEM), &limits))
    });
    g.bench_function("certauth_lenient", |b| {
        b.iter(|| pem::parse_lenient(black_box(CHAIN_PEM), &limits))
    });
    g.bench_function("certauth_lenient_one_line", |b| {
        b.iter(|| pem::parse_lenient(black_box(&one_line), &limits))
    });
    g.finish();
}

fn base64_der(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, der) in [("rsa", LEAF_RSA_DER), ("ec", LEAF_EC_DER)] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut g = c.benchmark_group(format!("base64_der_leaf_{name}"));
        g.bench_function("baseline_base64_decode", |b| {
            b.iter(|| base64::engine::general_purpose::STANDARD.decode(black_box(&b64)))
        });
        g.bench_function("certauth_base64_der", |b| {
            b.iter(|| parse(black_box(b64.as_bytes()), Format::Base64Der, &limits))
        });
        g.finish();
    }
}

fn model_and_thumbprint(c: &mut Criterion) {
    let _ = (LEAF_EC_PEM, LEAF_RSA_PEM);
    let mut g = c.benchmark_group("certificate");
    g.bench_function("model_from_der_rsa", |b| {
        b.iter(|| Certificate::from_der(black_box(LEAF_RSA_DER)))
    });
    g.bench_function("thumbprint_x5t_s256_rsa", |b| {
        b.iter(|| Thumbprint::of(black_box(LEAF_RSA_DER)).to_x5t_s256())
    });
    g.finish();
}

criterion_group!(benches, pem_bundles, base64_der, model_and_thumbprint);
criterion_main!(benches);
