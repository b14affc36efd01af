//! Every PEM / DER / base64 variant that proxies, gateways and files use, decoded to the
//! right certificates; and the malformed forms, each with its error kind.

use certauth::ErrorKind;
use certauth::{Format, Limits, parse};

use crate::common::{data, text};

/// The forms a PEM certificate takes on the way from a proxy, built from the test PKI.
fn variants(pem: &str) -> Vec<(&'static str, String)> {
    let lines: Vec<&str> = pem.lines().collect();
    vec![
        // RFC 7468 as written by openssl.
        ("lf", pem.to_owned()),
        ("crlf", lines.join("\r\n") + "\r\n"),
        ("no final newline", lines.join("\n")),
        ("surrounding whitespace", format!("\n \t{pem}\n\n  ")),
        // IBM API Connect `X-Client-Certificate`, HAProxy one-line recipe.
        ("one line", lines.concat()),
        // Apache `RequestHeader set X "%{SSL_CLIENT_CERT}s"`: newlines become spaces.
        ("space joined", lines.join(" ") + " "),
        // nginx `$ssl_client_cert`: LF + TAB folding, final newline dropped.
        ("tab folded", lines.join("\n\t")),
        ("cr only", lines.join("\r")),
    ]
}

#[test]
fn every_pem_variant_decodes_to_the_same_der() {
    for (name, pem, der) in [
        ("ec", text("pki/leaf-ec.pem"), data("pki/leaf-ec.der")),
        ("rsa", text("pki/leaf-rsa.pem"), data("pki/leaf-rsa.der")),
    ] {
        for (variant, input) in variants(&pem) {
            for format in [Format::Auto, Format::PemLenient] {
                let chain = parse(input.as_bytes(), format, &Limits::default())
                    .unwrap_or_else(|e| panic!("{name} {variant} {format}: {e}"));
                assert_eq!(chain.certificates().len(), 1, "{name} {variant}");
                assert_eq!(chain.leaf().as_ref(), der.as_slice(), "{name} {variant} {format}");
            }
        }
    }
}

#[test]
fn strict_pem_accepts_only_rfc7468_text() {
    let pem = text("pki/leaf-ec.pem");
    for (variant, input) in variants(&pem) {
        // RFC 7468 allows CRLF, CR or LF line ends.
        let strict_ok = matches!(
            variant,
            "lf" | "crlf" | "cr only" | "no final newline" | "surrounding whitespace"
        );
        let got = parse(input.as_bytes(), Format::Pem, &Limits::default());
        match (strict_ok, got) {
            (true, Ok(chain)) => assert_eq!(chain.format(), Format::Pem),
            (false, Err(e)) => assert_eq!(e.kind(), ErrorKind::MalformedInput, "{variant}"),
            (expected, got) => panic!("{variant}: expected ok={expected}, got {got:?}"),
        }
    }
}

#[test]
fn bundles_keep_order() {
    let bundle = text("pki/leaf-rsa-chain.pem");
    let chain = parse(bundle.as_bytes(), Format::Auto, &Limits::default()).unwrap();
    assert_eq!(chain.format(), Format::Pem);
    assert_eq!(chain.leaf().as_ref(), data("pki/leaf-rsa.der").as_slice());
    assert_eq!(chain.intermediates()[0].as_ref(), data("pki/intermediate.der").as_slice());
    // The same bundle folded onto one line, as a header would carry it.
    let one_line: String = bundle.lines().collect();
    let chain = parse(one_line.as_bytes(), Format::Auto, &Limits::default()).unwrap();
    assert_eq!(chain.format(), Format::PemLenient);
    assert_eq!(chain.certificates().len(), 2);
}

#[test]
fn der_and_base64_der_are_detected_by_content() {
    use base64::Engine as _;
    let der = data("pki/leaf-ec.der");
    let chain = parse(&der, Format::Auto, &Limits::default()).unwrap();
    assert_eq!(chain.format(), Format::Der);
    let both = [der.clone(), data("pki/intermediate.der")].concat();
    assert_eq!(parse(&both, Format::Der, &Limits::default()).unwrap().certificates().len(), 2);

    let padded = base64::engine::general_purpose::STANDARD.encode(&der);
    let unpadded = padded.trim_end_matches('=').to_owned();
    assert_ne!(padded, unpadded, "the test needs a value with padding");
    for input in [padded, unpadded.clone(), format!("  {unpadded}\n")] {
        let chain = parse(input.as_bytes(), Format::Auto, &Limits::default()).unwrap();
        assert_eq!(chain.format(), Format::Base64Der);
        assert_eq!(chain.leaf().as_ref(), der.as_slice());
    }
}

#[test]
fn malformed_input_has_a_kind() {
    let pem = text("pki/leaf-ec.pem");
    let der = data("pki/leaf-ec.der");
    let truncated_pem: String = pem.lines().take(5).collect::<Vec<_>>().join("\n");
    let wrong_end = pem.replace("END CERTIFICATE", "END CERTIFICATES");
    let bad_base64 = pem.replacen("MII", "MI*", 1);
    let key = text("pki/leaf-ec.key");
    let cases: Vec<(&str, Vec<u8>, Format, ErrorKind)> = vec![
        ("empty", vec![], Format::Auto, ErrorKind::NoCertificate),
        ("whitespace only", b" \n\t".to_vec(), Format::Auto, ErrorKind::NoCertificate),
        ("empty pem", vec![], Format::Pem, ErrorKind::NoCertificate),
        ("truncated pem", truncated_pem.into_bytes(), Format::Auto, ErrorKind::MalformedInput),
        ("wrong end label", wrong_end.into_bytes(), Format::Auto, ErrorKind::MalformedInput),
        ("bad base64 in pem", bad_base64.into_bytes(), Format::Auto, ErrorKind::MalformedInput),
        (
            "only a crl",
            b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n".to_vec(),
            Format::Pem,
            ErrorKind::NoCertificate,
        ),
        ("private key", key.clone().into_bytes(), Format::Auto, ErrorKind::PrivateKeySupplied),
        (
            "private key after cert",
            format!("{pem}{key}").into_bytes(),
            Format::Pem,
            ErrorKind::PrivateKeySupplied,
        ),
        ("truncated der", der[..der.len() - 10].to_vec(), Format::Auto, ErrorKind::MalformedInput),
        (
            "der trailing bytes",
            [der.as_slice(), b"\x00\x00"].concat(),
            Format::Der,
            ErrorKind::MalformedInput,
        ),
        ("bad base64", b"MIIC!!!!".to_vec(), Format::Auto, ErrorKind::MalformedInput),
        (
            "base64 of garbage",
            b"aGVsbG8gd29ybGQ=".to_vec(),
            Format::Base64Der,
            ErrorKind::MalformedInput,
        ),
        ("url-safe base64", b"MIIC-_".to_vec(), Format::Base64Der, ErrorKind::MalformedInput),
        ("too large", vec![b'A'; 64 * 1024 + 1], Format::Auto, ErrorKind::InputTooLarge),
    ];
    for (name, input, format, kind) in cases {
        let e = parse(&input, format, &Limits::default()).unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
        assert!(!e.message().is_empty());
    }
}

#[test]
fn chain_length_bound_applies_to_every_encoding() {
    let pem = text("pki/leaf-ec.pem");
    let der = data("pki/leaf-ec.der");
    let limits = Limits::default().with_max_chain_len(3);
    for (input, format) in [
        (pem.repeat(4).into_bytes(), Format::Pem),
        (pem.lines().collect::<String>().repeat(4).into_bytes(), Format::PemLenient),
        (der.repeat(4), Format::Der),
    ] {
        let e = parse(&input, format, &limits).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge, "{format}");
        assert!(e.message().contains("chain length is 4"), "{e}");
    }
}
