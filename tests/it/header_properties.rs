//! Property tests for forwarded headers that carry text a client chose: client
//! certificates with arbitrary subjects and URI and DNS SANs (commas, semicolons, quotes,
//! `=`, `Cert=`, another client's escaped certificate), forwarded through the test kit's
//! proxy encoders exactly as each proxy writes them. The decoded certificate is always
//! the one the proxy saw, or the header is refused.
//!
//! Only XFCC carries such text (Envoy writes the SANs raw); every other format carries
//! certificates only, so there the certificate must always decode.

use std::net::IpAddr;
use std::sync::LazyLock;

use certauth::ErrorKind;
use certauth::http::{HeaderSource, TrustedProxies};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::testkit::proxy::{self, Envoy, EnvoyDetail, EnvoyXfcc, Proxy};
use certauth::{HeaderFormat, Limits, decode_header};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

const PROXY: &str = "10.0.0.1";

struct Pki {
    issuing: Ca,
    /// Another client, whose (public) certificate an attacker tries to pass off as its own.
    victim: Leaf,
    /// The edge proxy's own certificate, described by a second Envoy hop.
    edge: Leaf,
}

static PKI: LazyLock<Pki> = LazyLock::new(|| {
    let root = Ca::root("Property Root");
    let issuing = root.intermediate("Property Issuing");
    let victim = issuing.leaf("victim").uri("spiffe://example.test/victim").build();
    let edge = issuing.leaf("edge").spiffe("spiffe://example.test/edge").build();
    Pki { issuing, victim, edge }
});

/// Envoy's and nginx's escaping of PEM text.
fn escape(pem: &str) -> String {
    pem.replace('\n', "%0A")
        .replace(' ', "%20")
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

/// Text for a URI or DNS SAN (IA5: ASCII, printable here as HTTP header values are):
/// random printable runs mixed with XFCC syntax and smuggling attempts.
fn san_text() -> impl Strategy<Value = String> {
    let victim = escape(&PKI.victim.pem());
    let victim_hash = PKI.victim.thumbprint().to_hex();
    let piece = prop_oneof![
        4 => "[ -~]{0,12}",
        1 => prop_oneof![
            Just(",".to_owned()),
            Just(";".to_owned()),
            Just("\"".to_owned()),
            Just("=".to_owned()),
            Just("\\".to_owned()),
            Just("Cert=".to_owned()),
            Just("URI=".to_owned()),
            Just(format!(",Cert=\"{victim}\"")),
            Just(format!(";Cert=\"{victim}\"")),
            Just(format!(",Hash={victim_hash};Cert=\"{victim}\"")),
            Just(format!(";Chain=\"{victim}\"")),
            Just(format!("\";Cert=\"{victim}\";x=\"")),
            Just(format!(",By=spiffe://example.test/edge;Hash={victim_hash}")),
        ],
    ];
    proptest::collection::vec(piece, 0..5).prop_map(|pieces| pieces.concat())
}

/// A subject common name: any characters, with the ones RFC 2253 escapes made likely.
fn subject_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        2 => "[ -~]{0,8}",
        1 => prop_oneof![
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just(",".to_owned()),
            Just(";".to_owned()),
            Just("#".to_owned()),
            Just(" ".to_owned()),
            Just("\";Cert=\"".to_owned()),
        ],
    ];
    proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

/// A client certificate with this subject and these SANs, issued by the test CA.
fn client(cn: &str, uris: &[String], dns: &[String]) -> Leaf {
    let mut builder = PKI.issuing.leaf(cn);
    for u in uris {
        builder = builder.uri(u);
    }
    for d in dns {
        builder = builder.dns(d);
    }
    builder.build()
}

fn envoy(details: &[EnvoyDetail], by: bool) -> EnvoyXfcc {
    let envoy = Envoy::details(details);
    if by { envoy.by("spiffe://example.test/edge") } else { envoy }
}

fn source(elements: usize) -> HeaderSource {
    HeaderSource::builder("x-forwarded-client-cert", HeaderFormat::Xfcc)
        .trusted_proxies(TrustedProxies::parse([PROXY]).unwrap())
        .xfcc_elements(elements)
        .build()
        .unwrap()
}

fn plain(s: &str) -> bool {
    !s.contains([',', ';', '"'])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Envoy with any details, one hop (`SANITIZE_SET`) or two (a sidecar appending to
    /// the edge's element), and with or without a value the client sent itself in front
    /// (an edge with `APPEND_FORWARD`): the certificate decoded is the client's, or the
    /// header is refused. Certificates without `,`, `;` or `"` in their SANs always
    /// decode when Envoy sends `Cert` or `Chain` and the client sent no value.
    #[test]
    fn xfcc_decodes_the_certificate_envoy_saw_or_refuses(
        cn in subject_text(),
        uris in proptest::collection::vec(san_text(), 0..3),
        dns in proptest::collection::vec(san_text(), 0..3),
        details in proptest::sample::subsequence(EnvoyDetail::ALL.to_vec(), 0..=5),
        sidecar_details in proptest::sample::subsequence(EnvoyDetail::ALL.to_vec(), 0..=5),
        by in any::<bool>(),
        two_hops in any::<bool>(),
        sent_by_client in proptest::option::weighted(0.2, san_text()),
    ) {
        let client = client(&cn, &uris, &dns);
        let edge = match &sent_by_client {
            Some(received) => envoy(&details, by).append_to(received),
            None => envoy(&details, by),
        };
        let (name, mut value) = edge.forward(&client);
        if two_hops {
            value = envoy(&sidecar_details, true).append_to(&value).forward(&PKI.edge).1;
        }
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(&value).unwrap());
        let peer: IpAddr = PROXY.parse().unwrap();
        let got = source(if two_hops { 2 } else { 1 }).extract(&headers, peer);
        match got {
            Ok(Some(chain)) => {
                prop_assert_eq!(chain.leaf(), client.der(), "another certificate: {}", value);
                if details.contains(&EnvoyDetail::Chain) {
                    prop_assert_eq!(chain.certificates(), &client.chain()[..]);
                } else {
                    prop_assert_eq!(chain.certificates().len(), 1);
                }
            }
            Ok(None) => prop_assert!(false, "header present but nothing read"),
            Err(e) => {
                prop_assert!(
                    matches!(
                        e.kind(),
                        ErrorKind::MalformedInput | ErrorKind::NoCertificate | ErrorKind::InputTooLarge
                    ),
                    "{}: {}", e.kind(), e
                );
                let carries = details.contains(&EnvoyDetail::Cert) || details.contains(&EnvoyDetail::Chain);
                let ordinary = uris.iter().chain(&dns).all(|s| plain(s));
                prop_assert!(
                    !(carries && ordinary && sent_by_client.is_none()),
                    "an ordinary certificate was refused: {}\n{}", e, value
                );
            }
        }
    }

    /// Every other proxy encoding carries certificates only: whatever the subject and
    /// SANs, the header decodes to exactly the certificates the proxy forwarded.
    #[test]
    fn other_formats_decode_any_certificate_exactly(
        cn in subject_text(),
        uris in proptest::collection::vec(san_text(), 0..3),
        dns in proptest::collection::vec(san_text(), 0..3),
        which in 0..13usize,
    ) {
        let client = client(&cn, &uris, &dns);
        let chain = client.chain();
        let encoders: [(&dyn Proxy, HeaderFormat, usize); 13] = [
            (&proxy::Rfc9440, HeaderFormat::Rfc9440, 1),
            (&proxy::Rfc9440Chain, HeaderFormat::Rfc9440Chain, 0),
            (&proxy::Nginx, HeaderFormat::NginxEscaped, 1),
            (&proxy::NginxFolded, HeaderFormat::NginxFolded, 1),
            (&proxy::Apache, HeaderFormat::Apache, 1),
            (&proxy::Haproxy, HeaderFormat::HaproxyDer, 1),
            (&proxy::AwsAlb, HeaderFormat::AwsAlb, 2),
            (&proxy::Traefik, HeaderFormat::Traefik, 2),
            (&proxy::AzureArr, HeaderFormat::AzureArr, 1),
            (&proxy::Cloudflare, HeaderFormat::Cloudflare, 1),
            (&proxy::Caddy, HeaderFormat::Caddy, 1),
            (&proxy::IbmApiConnect, HeaderFormat::PemOneline, 1),
            (&proxy::Rfc9440, HeaderFormat::Gcp, 1),
        ];
        let (encoder, format, carried) = encoders[which];
        let expected = match carried {
            0 => &chain[1..],
            1 => &chain[..1],
            _ => &chain[..],
        };
        let value = encoder.encode(&chain);
        let decoded = decode_header(value.as_bytes(), format, encoder.header_name(), &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{format}: {e}")))?;
        prop_assert_eq!(decoded.certificates(), expected);
    }
}
