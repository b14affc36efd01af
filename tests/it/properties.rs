//! Property tests (proptest) for the decoders: arbitrary input never panics and stays
//! within the bounds, and valid encodings of generated chains round-trip in every format.

use std::sync::LazyLock;

use certauth::HeaderFormat;
use certauth::pki_types::CertificateDer;
use certauth::testkit::pki::Ca;
use certauth::testkit::proxy::{self, Proxy};
use certauth::{Format, Limits, decode_header, parse, pem};
use proptest::prelude::*;

/// Four certificates to build chains from (leaf first in each sample).
static POOL: LazyLock<Vec<CertificateDer<'static>>> = LazyLock::new(|| {
    let root = Ca::root("Prop Root");
    let inter = root.intermediate("Prop Intermediate");
    vec![
        inter.leaf("a").dns("a.example.test").build().der().clone(),
        inter.leaf("b").spiffe("spiffe://example.test/b").build().der().clone(),
        inter.der().clone(),
        root.der().clone(),
    ]
});

/// What part of the chain an encoder carries.
#[derive(Clone, Copy)]
enum Carries {
    Leaf,
    Whole,
    /// HAProxy's `ssl_c_chain_der`: the certificates after the leaf.
    AfterLeaf,
}
use Carries::{AfterLeaf, Leaf, Whole};

/// Each encoder with the format that decodes it and what it carries.
fn encoders() -> Vec<(Box<dyn Proxy>, HeaderFormat, Carries)> {
    vec![
        (Box::new(proxy::Rfc9440), HeaderFormat::Rfc9440, Leaf),
        (Box::new(proxy::Envoy), HeaderFormat::Xfcc, Whole),
        (Box::new(proxy::Nginx), HeaderFormat::NginxEscaped, Leaf),
        (Box::new(proxy::NginxFolded), HeaderFormat::NginxFolded, Leaf),
        (Box::new(proxy::Apache), HeaderFormat::Apache, Leaf),
        (Box::new(proxy::Haproxy), HeaderFormat::HaproxyDer, Leaf),
        (Box::new(proxy::HaproxyChain), HeaderFormat::HaproxyDer, AfterLeaf),
        (Box::new(proxy::AwsAlb), HeaderFormat::AwsAlb, Whole),
        (Box::new(proxy::Traefik), HeaderFormat::Traefik, Whole),
        (Box::new(proxy::AzureArr), HeaderFormat::AzureArr, Leaf),
        (Box::new(proxy::Cloudflare), HeaderFormat::Cloudflare, Leaf),
        (Box::new(proxy::Caddy), HeaderFormat::Caddy, Leaf),
        (Box::new(proxy::IbmApiConnect), HeaderFormat::PemOneline, Leaf),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_header_value_in_any_format_never_panics(
        value in proptest::collection::vec(any::<u8>(), 0..3000),
        which in 0..HeaderFormat::ALL.len(),
    ) {
        let limits = Limits::default();
        if let Ok(chain) = decode_header(&value, HeaderFormat::ALL[which], "x-cert", &limits) {
            prop_assert!(!chain.certificates().is_empty());
            prop_assert!(chain.certificates().len() <= limits.max_chain_len());
        }
    }

    #[test]
    fn any_bytes_in_any_file_format_never_panic(
        value in proptest::collection::vec(any::<u8>(), 0..3000),
        which in 0..Format::ALL.len(),
    ) {
        let _ = parse(&value, Format::ALL[which], &Limits::default());
    }

    #[test]
    fn generated_chains_round_trip_in_every_format(
        picks in proptest::sample::subsequence(vec![0usize, 1, 2, 3], 1..=4),
        which in 0..13usize,
    ) {
        let chain: Vec<CertificateDer<'static>> = picks.iter().map(|&i| POOL[i].clone()).collect();
        let (encoder, format, carries) = encoders().swap_remove(which);
        let expected = match carries {
            Leaf => &chain[..1],
            Whole => &chain[..],
            AfterLeaf if chain.len() > 1 => &chain[1..],
            AfterLeaf => return Ok(()),
        };
        let value = encoder.encode(&chain);
        let decoded = decode_header(value.as_bytes(), format, encoder.header_name(), &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{format}: {e}")))?;
        prop_assert_eq!(decoded.certificates(), expected);
    }

    #[test]
    fn lenient_pem_ignores_whitespace_anywhere_in_the_body(
        cuts in proptest::collection::vec((0usize..1000, prop_oneof![Just(" "), Just("\t"), Just("\r\n"), Just("\n")]), 0..20),
    ) {
        let der = &POOL[0];
        let text = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap();
        let (head, rest) = text.split_once('\n').unwrap();
        let (body, tail) = rest.split_once("-----END").unwrap();
        let mut body = body.replace('\n', "");
        for (at, ws) in cuts {
            let at = at % (body.len() + 1);
            body.insert_str(at, ws);
        }
        let mangled = format!("{head}\n{body}\n-----END{tail}");
        let certs = pem::parse_lenient(mangled.as_bytes(), &Limits::default())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&certs[..], std::slice::from_ref(der));
    }
}
