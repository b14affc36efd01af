//! The test kit used from outside the crate, as a user would: every proxy's header for a
//! generated chain decodes, through certauth's public input API, to the same certificates.

use certauth::pki_types::CertificateDer;
use certauth::testkit::pki::{Ca, KeyType};
use certauth::testkit::proxy::{self, Proxy};
use certauth::{Certificate, Timestamp};
use certauth::{Format, Limits, parse};

/// Undoes the transport encoding a format adds around the certificates, returning the
/// text certauth's decoders take and the format to decode it with.
fn unwrap(proxy_name: &str, value: &str) -> (String, Format) {
    let percent = |s: &str| {
        let mut out = Vec::new();
        let mut rest = s.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            if b == b'%' {
                let hex = std::str::from_utf8(&tail[..2]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                rest = &tail[2..];
            } else {
                out.push(b);
                rest = tail;
            }
        }
        String::from_utf8(out).unwrap()
    };
    match proxy_name {
        "Rfc9440" | "Rfc9440Chain" => {
            (value.split(", ").map(|i| i.trim_matches(':')).collect(), Format::Base64Der)
        }
        "Nginx" | "AwsAlb" => (percent(value), Format::Pem),
        "Envoy" => {
            let chain = value.split(";Chain=\"").nth(1).unwrap().split('"').next().unwrap();
            (percent(chain), Format::Pem)
        }
        "NginxFolded" | "Apache" | "IbmApiConnect" => (value.to_owned(), Format::PemLenient),
        _ => (value.to_owned(), Format::Base64Der),
    }
}

#[test]
fn every_proxy_header_decodes_to_the_presented_chain() {
    let root = Ca::root("Test Root");
    let intermediate = root.intermediate("Test Intermediate");
    let leaf = intermediate
        .leaf("client-1")
        .spiffe("spiffe://example.org/ns/a/sa/b")
        .key(KeyType::Rsa2048)
        .build();
    let chain = leaf.chain();
    let only_leaf = &chain[..1];
    let intermediates = &chain[1..];
    let cases: Vec<(&str, &dyn Proxy, &[CertificateDer<'static>])> = vec![
        ("Rfc9440", &proxy::Rfc9440, only_leaf),
        ("Rfc9440Chain", &proxy::Rfc9440Chain, intermediates),
        ("Envoy", &proxy::Envoy, &chain),
        ("Nginx", &proxy::Nginx, only_leaf),
        ("NginxFolded", &proxy::NginxFolded, only_leaf),
        ("Apache", &proxy::Apache, only_leaf),
        ("Haproxy", &proxy::Haproxy, only_leaf),
        ("HaproxyChain", &proxy::HaproxyChain, intermediates),
        ("AwsAlb", &proxy::AwsAlb, &chain),
        ("AzureArr", &proxy::AzureArr, only_leaf),
        ("Cloudflare", &proxy::Cloudflare, only_leaf),
        ("Caddy", &proxy::Caddy, only_leaf),
        ("IbmApiConnect", &proxy::IbmApiConnect, only_leaf),
    ];
    for (name, proxy, want) in cases {
        let (_, value) = proxy.forward(&leaf);
        let (text, format) = unwrap(name, &value);
        let got = parse(text.as_bytes(), format, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .into_certificates();
        assert_eq!(got, want, "{name}");
    }
    // Traefik's list is comma-separated base64 DER.
    let (_, value) = proxy::Traefik.forward(&leaf);
    let got: Vec<_> = value
        .split(',')
        .flat_map(|v| {
            parse(v.as_bytes(), Format::Base64Der, &Limits::default()).unwrap().into_certificates()
        })
        .collect();
    assert_eq!(got, chain);
}

#[test]
fn pinned_time_inside_the_default_validity() {
    let now = Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap();
    let root = Ca::root("Test Root");
    let leaf = root.leaf("client-1").build();
    for der in [root.der(), leaf.der()] {
        assert!(Certificate::from_der(der).unwrap().is_valid_at(now));
    }
}
