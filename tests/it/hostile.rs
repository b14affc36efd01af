//! Hostile input: every file of a public corpus of malformed and odd certificates (the
//! `x509/` directory of the `cryptography-vectors` package, downloaded by `tests/run`
//! into `target/`; nothing of it is committed) gives a certificate or a typed error,
//! never a panic: through input detection, the certificate model, CRL loading, PKCS#12
//! trust bundles and the verifier. Also the resource bounds promised in the crate docs.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use certauth::Crl;
use certauth::{Certificate, ErrorKind, Timestamp, TrustStore};
use certauth::{Format, Limits, parse};
use certauth::{RING_ALGORITHMS, Verifier};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn cryptography_vectors_never_panic() {
    let Some(dir) = std::env::var_os("CERTAUTH_X509_VECTORS").map(PathBuf::from) else {
        eprintln!("hostile: SKIPPED: CERTAUTH_X509_VECTORS is not set (tests/run sets it)");
        return;
    };
    let mut all = Vec::new();
    files(&dir, &mut all);
    all.sort();
    assert!(all.len() > 1000, "only {} files under {}", all.len(), dir.display());
    let root = include_bytes!("../data/pki/root.pem");
    let store = TrustStore::builder()
        .add_pem(root)
        .unwrap()
        .check_at(Timestamp::from_unix_secs(1_800_000_000))
        .build()
        .unwrap();
    let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let limits = Limits::default().with_max_bundle(1 << 20).with_max_chain_len(64);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut panics = Vec::new();
    for path in &all {
        let bytes = std::fs::read(path).unwrap();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let result = catch_unwind(AssertUnwindSafe(|| -> Vec<String> {
            let mut seen = Vec::new();
            match ext.as_str() {
                "crl" => seen.push(match Crl::parse_any(&bytes) {
                    Ok(_) => "crl ok".to_owned(),
                    Err(e) => format!("crl {}", e.kind()),
                }),
                "p12" | "pfx" => {
                    seen.push(match TrustStore::builder().add_pkcs12(&bytes, "password") {
                        Ok(_) => "pkcs12 ok".to_owned(),
                        Err(_) => "pkcs12 refused".to_owned(),
                    })
                }
                _ => match parse(&bytes, Format::Auto, &limits) {
                    Err(e) => seen.push(format!("input {}", e.kind())),
                    Ok(chain) => {
                        for der in chain.certificates() {
                            seen.push(match Certificate::from_der(der) {
                                Ok(c) => {
                                    let _ = (
                                        c.subject().to_rfc4514(),
                                        c.sans(),
                                        c.key(),
                                        c.extended_key_usages(),
                                    );
                                    "certificate ok".to_owned()
                                }
                                Err(e) => format!("certificate {}", e.kind()),
                            });
                        }
                        let verdict =
                            verifier.verify(&chain, Timestamp::from_unix_secs(1_800_000_000));
                        seen.push(format!(
                            "verify {}",
                            verdict.err().map_or("ok", |e| e.kind().as_str())
                        ));
                    }
                },
            }
            seen
        }));
        match result {
            Ok(seen) => seen.into_iter().for_each(|s| *outcomes.entry(s).or_default() += 1),
            Err(_) => panics.push(path.display().to_string()),
        }
    }
    eprintln!("hostile: {} files: {outcomes:?}", all.len());
    assert!(panics.is_empty(), "panicked on: {panics:#?}");
    assert!(outcomes.get("certificate ok").copied().unwrap_or(0) > 300);
    // PKITS' PKCS#12 bundles (password "password") load as trust bundles.
    assert!(outcomes.get("pkcs12 ok").copied().unwrap_or(0) > 300, "{outcomes:?}");
    assert_eq!(outcomes.get("verify ok"), None, "nothing in the corpus chains to the test root");
}

/// Each bound stated in the crate docs, enforced quickly and with `input_too_large`.
#[test]
fn resource_bounds_are_enforced_quickly() {
    let limits = Limits::default();
    let started = Instant::now();
    // A bundle over max_bundle is refused before decoding.
    let huge = vec![b'A'; limits.max_bundle() + 1];
    assert_eq!(parse(&huge, Format::Auto, &limits).unwrap_err().kind(), ErrorKind::InputTooLarge);
    // 10,000 PEM blocks within the byte bound still exceed the chain bound.
    let cert = include_str!("../data/pki/leaf-ec.pem");
    let many = cert.repeat(40);
    let big_limits = Limits::default().with_max_bundle(many.len());
    assert_eq!(
        parse(many.as_bytes(), Format::Pem, &big_limits).unwrap_err().kind(),
        ErrorKind::InputTooLarge
    );
    let tiny_blocks =
        "-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n".repeat(10_000);
    let err = parse(
        tiny_blocks.as_bytes(),
        Format::PemLenient,
        &Limits::default().with_max_bundle(1 << 20),
    )
    .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InputTooLarge | ErrorKind::MalformedInput), "{err}");
    // A chain of 100 certificates (concatenated DER) is refused by max_chain_len.
    let der = include_bytes!("../data/pki/leaf-ec.der");
    let chain100: Vec<u8> = der.repeat(100);
    let l = Limits::default().with_max_bundle(chain100.len());
    assert_eq!(parse(&chain100, Format::Der, &l).unwrap_err().kind(), ErrorKind::InputTooLarge);
    // Deeply nested DER: 0x30 0x80 ... (indefinite lengths) and 100k nested SEQUENCE headers.
    let mut nested = Vec::new();
    for _ in 0..20_000 {
        nested.extend_from_slice(&[0x30, 0x83, 0x01, 0x00, 0x00]);
    }
    assert!(Certificate::from_der(&nested).is_err());
    assert!(parse(&nested, Format::Der, &Limits::default().with_max_bundle(nested.len())).is_err());
    // 10,000 XFCC elements within a generous header bound: refused by the element bound.
    let xfcc = "By=spiffe://a;URI=spiffe://b,".repeat(10_000);
    let l = Limits::default().with_max_header_value(xfcc.len());
    let err = certauth::decode_header(
        xfcc.as_bytes(),
        certauth::HeaderFormat::Xfcc,
        "x-forwarded-client-cert",
        &l,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InputTooLarge, "{err}");
    // A 1 MB header value against the default 16 KiB bound.
    let mega = vec![b'A'; 1 << 20];
    let err = certauth::decode_header(&mega, certauth::HeaderFormat::HaproxyDer, "x-cert", &limits)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InputTooLarge);
    // Trust-store files: 16 MiB by default.
    let huge_bundle = vec![b'A'; (16 << 20) + 1];
    let err = TrustStore::builder().add_pem(&huge_bundle).unwrap_err();
    assert!(err.to_string().contains("more than the limit"), "{err}");
    // Registry files: 64 MiB (a sparse file, nothing written).
    let path =
        std::env::temp_dir().join(format!("certauth-huge-registry-{}.json", std::process::id()));
    std::fs::File::create(&path)
        .unwrap()
        .set_len(certauth::registry::file::MAX_REGISTRY_FILE + 1)
        .unwrap();
    let err = certauth::registry::file::RegistryFile::read(&path).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert!(err.to_string().contains("larger than"), "{err}");
    // Generous: the point is linear time, not a benchmark; a quadratic decoder would
    // take minutes here.
    assert!(started.elapsed().as_secs() < 20, "bounds took {:?}", started.elapsed());
}
