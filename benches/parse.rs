//! Parsing costs, each against its baseline in the same group:
//! PEM bundles (strict and lenient) versus rustls-pki-types' PEM parser, base64 DER versus
//! a plain base64 decode, every forwarded-header format versus a plain base64 decode of the
//! same certificate, the certificate model, and the thumbprint.
//!
//! Run: `cargo bench --bench parse`

use base64::Engine as _;
use certauth::{Certificate, Thumbprint};
use certauth::{Format, HeaderFormat, Limits, decode_header, parse, pem};
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

/// The header value of `format` for one leaf, as the producers write it.
fn header_value(format: HeaderFormat, der: &[u8]) -> Option<String> {
    use base64::engine::general_purpose::STANDARD;
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let pem =
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"));
    let escaped = pem
        .replace('\n', "%0A")
        .replace(' ', "%20")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    Some(match format {
        HeaderFormat::Rfc9440 => format!(":{b64}:"),
        HeaderFormat::Xfcc => {
            use sha2::Digest as _;
            let hash: String =
                sha2::Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect();
            format!("By=spiffe://example.test/gw;Hash={hash};Cert=\"{escaped}\";Subject=\"\";URI=")
        }
        HeaderFormat::NginxEscaped => escaped,
        HeaderFormat::AwsAlb => escaped.replace("%2B", "+").replace("%3D", "=").replace("%2F", "/"),
        HeaderFormat::NginxFolded => pem.trim_end().replace('\n', "\n\t"),
        HeaderFormat::Apache => pem.replace('\n', " "),
        HeaderFormat::PemOneline => pem.replace('\n', ""),
        HeaderFormat::Traefik | HeaderFormat::Base64Der => b64,
        _ => return None,
    })
}

fn header_formats(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, der) in [("rsa", LEAF_RSA_DER), ("ec", LEAF_EC_DER)] {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let mut g = c.benchmark_group(format!("header_leaf_{name}"));
        g.bench_function("baseline_base64_decode", |b| {
            b.iter(|| base64::engine::general_purpose::STANDARD.decode(black_box(&b64)))
        });
        for format in HeaderFormat::ALL {
            let Some(value) = header_value(*format, der) else { continue };
            assert!(decode_header(value.as_bytes(), *format, "x", &limits).is_ok(), "{format}");
            g.bench_function(format.name(), |b| {
                b.iter(|| {
                    decode_header(black_box(value.as_bytes()), *format, "x-client-cert", &limits)
                })
            });
        }
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

criterion_group!(benches, pem_bundles, base64_der, header_formats, model_and_thumbprint);
criterion_main!(benches);
