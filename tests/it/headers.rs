//! Forwarded client-certificate headers: one table of cases per format, every constructed
//! vector in `tests/data/headers/`, round trips from the test PKI in every format, and the
//! refusals (sentinels, controls, sizes, duplicates, spoofed XFCC elements).
//!
//! "spec §N" cites a section of `docs/header-formats.md`; a file name cites
//! `tests/data/headers/` (values constructed as that document describes).

use base64::Engine as _;
use certauth::ErrorKind;
use certauth::{
    Format, HeaderFormat, Limits, decode_client_cert_and_chain, decode_header, decode_header_lines,
};

use crate::common::{data, text, x5t};

const LEAF_EC: &str = "pki/leaf-ec.der";
const LEAF_RSA: &str = "pki/leaf-rsa.der";
const INTERMEDIATE: &str = "pki/intermediate.der";
const ROOT: &str = "pki/root.der";

/// What a case must give: the DER files of the chain in order, or an error kind.
enum Expect {
    Chain(&'static [&'static str]),
    Error(ErrorKind),
}
use Expect::{Chain, Error};

/// (vector file, format, expected, source)
type Case = (&'static str, HeaderFormat, Expect, &'static str);

fn check(value: &[u8], format: HeaderFormat, expect: &Expect, what: &str) {
    let got = decode_header(value, format, "X-Test-Header", &Limits::default());
    match (expect, got) {
        (Chain(files), Ok(chain)) => {
            assert_eq!(chain.certificates().len(), files.len(), "{what}: chain length");
            let leaf = data(files[0]);
            assert_eq!(x5t(chain.leaf()), x5t(&leaf), "{what}: leaf x5t#S256");
            for (got, file) in chain.certificates().iter().zip(files.iter()) {
                assert_eq!(got.as_ref(), data(file).as_slice(), "{what}: {file}");
            }
            assert_eq!(chain.source().to_string(), "header:x-test-header", "{what}");
            let detected = chain.header_format().expect("header format");
            if format != HeaderFormat::Auto {
                assert_eq!(detected, format, "{what}");
            }
        }
        (Error(kind), Err(e)) => {
            assert_eq!(e.kind(), *kind, "{what}: {e}");
            assert!(e.message().starts_with("header X-Test-Header: "), "{what}: {e}");
        }
        (Chain(_), Err(e)) => panic!("{what}: expected a chain, got {}: {e}", e.kind()),
        (Error(kind), Ok(c)) => panic!("{what}: expected {kind}, got {c:?}"),
    }
}

fn run(cases: &[Case]) {
    for (file, format, expect, source) in cases {
        let value = data(&format!("headers/{file}"));
        check(&value, *format, expect, &format!("{file} as {format} ({source})"));
    }
}

#[test]
fn rfc9440() {
    run(&[
        ("rfc9440-client-cert-ec.txt", HeaderFormat::Rfc9440, Chain(&[LEAF_EC]), "spec §2"),
        ("rfc9440-client-cert-rsa.txt", HeaderFormat::Rfc9440, Chain(&[LEAF_RSA]), "spec §2"),
        (
            "rfc9440-client-cert-chain-ec.txt",
            HeaderFormat::Rfc9440Chain,
            Chain(&[INTERMEDIATE, ROOT]),
            "spec §2, RFC 9440 appendix A shape",
        ),
        (
            "rfc9440-client-cert-chain-ec-intermediate-only.txt",
            HeaderFormat::Rfc9440Chain,
            Chain(&[INTERMEDIATE]),
            "spec §2",
        ),
        // Client-Cert is a singleton: a list is refused (spec §2, RFC 9440 2.2).
        (
            "rfc9440-client-cert-chain-ec.txt",
            HeaderFormat::Rfc9440,
            Error(ErrorKind::MalformedInput),
            "spec §2",
        ),
        // Cloudflare Transform Rule fields (spec §10).
        (
            "cloudflare-rfc9440-client-cert-ec.txt",
            HeaderFormat::Rfc9440,
            Chain(&[LEAF_EC]),
            "spec §10",
        ),
        (
            "cloudflare-rfc9440-client-cert-chain-ec.txt",
            HeaderFormat::Rfc9440Chain,
            Chain(&[INTERMEDIATE]),
            "spec §10",
        ),
    ]);
    let leaf = data("headers/rfc9440-client-cert-ec.txt");
    let chain = data("headers/rfc9440-client-cert-chain-ec.txt");
    let l = Limits::default();
    // Both headers together: leaf + intermediates; a repeated leaf is dropped (spec §2).
    let c = decode_client_cert_and_chain(&[&leaf], &[&chain], "Client-Cert", &l).unwrap();
    assert_eq!(c.certificates().len(), 3);
    let with_leaf = [&leaf[..], b", ", &chain].concat();
    let c = decode_client_cert_and_chain(&[&leaf], &[&with_leaf], "client-cert", &l).unwrap();
    assert_eq!(c.certificates().len(), 3);
    // Client-Cert-Chain split over two field lines is joined with `,` (RFC 9440 2.3).
    let (a, b) = chain.split_at(chain.iter().position(|&c| c == b',').unwrap());
    let joined =
        decode_header_lines(&[a, &b[1..]], HeaderFormat::Rfc9440Chain, "client-cert-chain", &l)
            .unwrap();
    assert_eq!(joined.certificates().len(), 2);
    // Cloudflare sends an empty chain field when there is no intermediate (spec §10).
    let c = decode_client_cert_and_chain(&[&leaf], &[b""], "client-cert", &l).unwrap();
    assert_eq!(c.certificates().len(), 1);
    // HAProxy's `::` without a certificate (spec §5).
    check(b"::", HeaderFormat::Rfc9440, &Error(ErrorKind::NoCertificate), "haproxy ::");
    check(b"", HeaderFormat::Rfc9440Chain, &Error(ErrorKind::NoCertificate), "empty chain");
}

#[test]
fn xfcc() {
    run(&[
        (
            "envoy-xfcc-ec-all-details.txt",
            HeaderFormat::Xfcc,
            Chain(&[LEAF_EC, INTERMEDIATE]),
            "spec §3: Cert + Chain + Hash",
        ),
        // No Cert/Chain in the element: nothing to authenticate with.
        (
            "envoy-xfcc-ec-by-hash-only.txt",
            HeaderFormat::Xfcc,
            Error(ErrorKind::NoCertificate),
            "spec §3",
        ),
        (
            "envoy-xfcc-rsa-subject-uri-dns.txt",
            HeaderFormat::Xfcc,
            Error(ErrorKind::NoCertificate),
            "spec §3: quoted Subject with \\\" and \\, parses",
        ),
        // Two elements where `decode_header` expects one (spec §3: APPEND_FORWARD); a
        // `HeaderSource` states the count (`http_source::xfcc_append_forward_hops`).
        (
            "envoy-xfcc-append-forward-two-elements.txt",
            HeaderFormat::Xfcc,
            Error(ErrorKind::MalformedInput),
            "spec §3: APPEND_FORWARD",
        ),
    ]);
    let all = text("headers/envoy-xfcc-ec-all-details.txt");
    // Keys are case-insensitive (spec §3).
    let lower = all.replace("Cert=", "cert=").replace("Hash=", "HASH=");
    check(lower.as_bytes(), HeaderFormat::Xfcc, &Chain(&[LEAF_EC, INTERMEDIATE]), "lowercase keys");
    // The Hash must match the leaf: here it is the RSA leaf's hash.
    let rsa_hash = "09fecf0a6df658a8e75d24337d3876417ad47ecc2565d1c911ea16e89823c571";
    let ec_hash = "011b98f87c8c49d6671ca5762d8584356acbdf94371d0355ed2a1678bd16ddc9";
    let wrong = all.replace(ec_hash, rsa_hash);
    check(wrong.as_bytes(), HeaderFormat::Xfcc, &Error(ErrorKind::DigestMismatch), "wrong hash");
    // Unknown keys (legacy SAN) are ignored.
    let san = format!("{all};SAN=\"x\"");
    check(san.as_bytes(), HeaderFormat::Xfcc, &Chain(&[LEAF_EC, INTERMEDIATE]), "legacy SAN");
}

/// Elements a client supplied (Envoy `APPEND_FORWARD`, `FORWARD_ONLY`) make more
/// elements than configured: refused, whichever element holds which certificate.
#[test]
fn xfcc_client_supplied_elements_are_refused() {
    let all = text("headers/envoy-xfcc-ec-all-details.txt");
    let rsa_cert = encode::escape(&text("pki/leaf-rsa.pem"));
    let forged = format!("Cert=\"{rsa_cert}\"");
    let refused = Error(ErrorKind::MalformedInput);
    for value in [
        format!("{forged},{all}"),
        format!("{all},{forged}"),
        format!("{forged},By=spiffe://proxy;Hash={}", "0".repeat(64)),
        // An unterminated quote in a forged element makes the whole value ambiguous.
        format!("Cert=\"{rsa_cert},{all}"),
    ] {
        check(value.as_bytes(), HeaderFormat::Xfcc, &refused, &value[..20]);
    }
    // The same as a separate field line before the proxy's.
    let e = decode_header_lines(
        &[forged.as_bytes(), all.as_bytes()],
        HeaderFormat::Xfcc,
        "x-forwarded-client-cert",
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MalformedInput);
}

/// Regression: Envoy writes the client certificate's URI and DNS SANs unquoted, so a
/// client whose certificate (valid, from the trusted CA) carries the URI SAN
/// `https://evil.example/,Cert="<escaped PEM of another client's certificate>"` makes
/// Envoy forward a value with one more element, holding that other certificate; and
/// with Envoy set not to send `Cert`, `;Cert=...` in the SAN adds it to Envoy's own
/// element. Both are refused; the other client's certificate is never decoded.
#[cfg(feature = "testkit")]
#[test]
fn xfcc_a_san_cannot_smuggle_another_clients_certificate() {
    use certauth::testkit::pki::Ca;
    use certauth::testkit::proxy::{Envoy, EnvoyDetail, Proxy as _};
    let root = Ca::root("Smuggle Root");
    let victim = root.leaf("victim").build();
    let smuggled = format!("Cert=\"{}\"", encode::escape(&victim.pem()));
    let comma = root.leaf("attacker").uri(&format!("https://evil.example/,{smuggled}")).build();
    let semicolon = root.leaf("attacker").uri(&format!("https://evil.example/;{smuggled}")).build();
    let dns = root.leaf("attacker").dns(&format!("evil.example,By=x;{smuggled}")).build();
    let envoys = [
        Envoy::by("spiffe://edge"),
        Envoy::details(&[EnvoyDetail::Subject, EnvoyDetail::Uri, EnvoyDetail::Dns]),
        Envoy::details(&[EnvoyDetail::Uri]).by("spiffe://edge"),
        Envoy::details(&[EnvoyDetail::Dns]),
    ];
    let mut forwarded = 0;
    for envoy in &envoys {
        for attacker in [&comma, &semicolon, &dns] {
            let (name, value) = envoy.forward(attacker);
            if !value.contains(&smuggled) {
                continue; // this Envoy does not forward that kind of SAN
            }
            forwarded += 1;
            match decode_header(value.as_bytes(), HeaderFormat::Xfcc, name, &Limits::default()) {
                Ok(chain) => panic!("{envoy:?} decoded {:?}", chain.leaf() == victim.der()),
                Err(e) => assert_eq!(e.kind(), ErrorKind::MalformedInput, "{envoy:?}: {e}"),
            }
        }
    }
    assert_eq!(forwarded, 9);
}

#[test]
fn escaped_pem_formats() {
    run(&[
        (
            "azure-appgw-var_client_certificate-ec.txt",
            HeaderFormat::NginxEscaped,
            Chain(&[LEAF_EC]),
            "spec §9",
        ),
        ("kong-x-client-cert-ec.txt", HeaderFormat::NginxEscaped, Chain(&[LEAF_EC]), "spec §12"),
        (
            "aws-alb-x-amzn-mtls-clientcert-leaf-ec.txt",
            HeaderFormat::AwsAlb,
            Chain(&[LEAF_EC]),
            "spec §7",
        ),
        (
            "aws-alb-x-amzn-mtls-clientcert-passthrough-ec.txt",
            HeaderFormat::AwsAlb,
            Chain(&[LEAF_EC, INTERMEDIATE]),
            "spec §7: `+=/` left raw",
        ),
        (
            "aws-alb-x-amzn-mtls-clientcert-passthrough-ec-eq-encoded.txt",
            HeaderFormat::AwsAlb,
            Chain(&[LEAF_EC, INTERMEDIATE]),
            "spec §7: `=` as %3D per the doc example",
        ),
        (
            "kong-x-client-cert-ec.txt",
            HeaderFormat::Cloudfront,
            Chain(&[LEAF_EC]),
            "spec §7 (same encoding)",
        ),
        // Metadata headers configured as the certificate header are refused (spec §7, §12).
        (
            "aws-alb-x-amzn-mtls-clientcert-subject-ec.txt",
            HeaderFormat::AwsAlb,
            Error(ErrorKind::MalformedInput),
            "spec §7",
        ),
        (
            "aws-alb-x-amzn-mtls-clientcert-serial-number-ec.txt",
            HeaderFormat::AwsAlb,
            Error(ErrorKind::MalformedInput),
            "spec §7",
        ),
        (
            "aws-alb-x-amzn-mtls-clientcert-issuer-ec.txt",
            HeaderFormat::AwsAlb,
            Error(ErrorKind::MalformedInput),
            "spec §7",
        ),
        (
            "aws-alb-x-amzn-mtls-clientcert-validity-ec.txt",
            HeaderFormat::AwsAlb,
            Error(ErrorKind::MalformedInput),
            "spec §7",
        ),
        (
            "kong-x-client-cert-fingerprint-ec.txt",
            HeaderFormat::NginxEscaped,
            Error(ErrorKind::MalformedInput),
            "spec §12",
        ),
    ]);
    // Form-decoding `+` into a space would corrupt the DER: a `+` must survive (spec §14).
    let alb = text("headers/aws-alb-x-amzn-mtls-clientcert-passthrough-ec.txt");
    assert!(alb.contains('+'));
    let spaced = alb.replace('+', "%20");
    check(spaced.as_bytes(), HeaderFormat::AwsAlb, &Error(ErrorKind::MalformedInput), "+ as space");
}

#[test]
fn base64_der_formats() {
    run(&[
        (
            "azure-app-service-x-arr-clientcert-ec.txt",
            HeaderFormat::AzureArr,
            Chain(&[LEAF_EC]),
            "spec §9",
        ),
        (
            "aspnetcore-x-client-cert-default-converter-ec.txt",
            HeaderFormat::Aspnet,
            Chain(&[LEAF_EC]),
            "spec §9",
        ),
        (
            "cloudflare-cf-client-cert-der-base64-ec.txt",
            HeaderFormat::Cloudflare,
            Chain(&[LEAF_EC]),
            "spec §10",
        ),
        (
            "cloudflare-rfc9440-client-cert-ec.txt",
            HeaderFormat::Cloudflare,
            Chain(&[LEAF_EC]),
            "spec §10",
        ),
        (
            "cloudflare-cf-client-cert-sha256-ec.txt",
            HeaderFormat::Cloudflare,
            Error(ErrorKind::MalformedInput),
            "spec §10",
        ),
        (
            "f5-irule-b64encode-ssl-cert-ec.txt",
            HeaderFormat::Base64Der,
            Chain(&[LEAF_EC]),
            "spec §12",
        ),
        (
            "f5-irule-b64encode-ssl-cert-ec.txt",
            HeaderFormat::HaproxyDer,
            Chain(&[LEAF_EC]),
            "spec §5",
        ),
        ("f5-irule-b64encode-ssl-cert-ec.txt", HeaderFormat::Caddy, Chain(&[LEAF_EC]), "spec §12"),
    ]);
    // HAProxy `ssl_c_chain_der`: concatenated DER before base64 (spec §5).
    let both = [data(LEAF_EC), data(INTERMEDIATE)].concat();
    let b64 = base64::engine::general_purpose::STANDARD.encode(both);
    check(b64.as_bytes(), HeaderFormat::HaproxyDer, &Chain(&[LEAF_EC, INTERMEDIATE]), "chain der");
    // Old HAProxy `+Q` quoting (spec §5).
    let quoted = format!("\"{}\"", text("headers/f5-irule-b64encode-ssl-cert-ec.txt"));
    check(quoted.as_bytes(), HeaderFormat::HaproxyDer, &Chain(&[LEAF_EC]), "+Q quotes");
    // Caddy's unreplaced placeholder (spec §12) and HAProxy's empty value (spec §5).
    let placeholder = b"{http.request.tls.client.certificate_der_base64}";
    check(placeholder, HeaderFormat::Caddy, &Error(ErrorKind::NoCertificate), "caddy placeholder");
    check(b"", HeaderFormat::HaproxyDer, &Error(ErrorKind::NoCertificate), "haproxy empty");
}

#[test]
fn traefik() {
    run(&[
        (
            "traefik-v3-x-forwarded-tls-client-cert-ec.txt",
            HeaderFormat::Traefik,
            Chain(&[LEAF_EC, INTERMEDIATE]),
            "spec §8",
        ),
        (
            "traefik-v2-legacy-escaped-x-forwarded-tls-client-cert-ec.txt",
            HeaderFormat::Traefik,
            Chain(&[LEAF_EC, INTERMEDIATE]),
            "spec §8: url.QueryEscape",
        ),
        // The -Info header carries metadata, not certificates (spec §8).
        (
            "traefik-x-forwarded-tls-client-cert-info-ec.txt",
            HeaderFormat::Traefik,
            Error(ErrorKind::MalformedInput),
            "spec §8",
        ),
    ]);
}

#[test]
fn gcp() {
    run(&[
        ("gcp-x-client-cert-leaf-ec.txt", HeaderFormat::Gcp, Chain(&[LEAF_EC]), "spec §11"),
        (
            "gcp-x-client-cert-chain-ec.txt",
            HeaderFormat::Rfc9440Chain,
            Chain(&[INTERMEDIATE]),
            "spec §11",
        ),
        (
            "gcp-x-client-cert-error-ec.txt",
            HeaderFormat::Gcp,
            Error(ErrorKind::NoCertificate),
            "spec §11",
        ),
    ]);
    // Every other GCP variable is metadata: refused when configured as the certificate.
    for file in [
        "gcp-x-client-cert-chain-verified-ec.txt",
        "gcp-x-client-cert-dnsname-sans-ec.txt",
        "gcp-x-client-cert-hash-ec.txt",
        "gcp-x-client-cert-issuer-dn-ec.txt",
        "gcp-x-client-cert-present-ec.txt",
        "gcp-x-client-cert-spiffe-ec.txt",
        "gcp-x-client-cert-subject-dn-ec.txt",
        "gcp-x-client-cert-valid-not-after-ec.txt",
        "gcp-x-client-cert-valid-not-before-ec.txt",
    ] {
        run(&[(file, HeaderFormat::Gcp, Error(ErrorKind::MalformedInput), "spec §11")]);
    }
}

/// Every constructed vector that carries a certificate decodes with `auto` too.
#[test]
fn auto_detects_every_certificate_vector() {
    let cases: &[(&str, &[&str], HeaderFormat)] = &[
        ("rfc9440-client-cert-ec.txt", &[LEAF_EC], HeaderFormat::Rfc9440),
        ("rfc9440-client-cert-rsa.txt", &[LEAF_RSA], HeaderFormat::Rfc9440),
        ("rfc9440-client-cert-chain-ec.txt", &[INTERMEDIATE, ROOT], HeaderFormat::Rfc9440Chain),
        ("envoy-xfcc-ec-all-details.txt", &[LEAF_EC, INTERMEDIATE], HeaderFormat::Xfcc),
        ("kong-x-client-cert-ec.txt", &[LEAF_EC], HeaderFormat::NginxEscaped),
        (
            "aws-alb-x-amzn-mtls-clientcert-passthrough-ec.txt",
            &[LEAF_EC, INTERMEDIATE],
            HeaderFormat::NginxEscaped,
        ),
        (
            "traefik-v3-x-forwarded-tls-client-cert-ec.txt",
            &[LEAF_EC, INTERMEDIATE],
            HeaderFormat::Traefik,
        ),
        (
            "traefik-v2-legacy-escaped-x-forwarded-tls-client-cert-ec.txt",
            &[LEAF_EC, INTERMEDIATE],
            HeaderFormat::Traefik,
        ),
        ("azure-app-service-x-arr-clientcert-ec.txt", &[LEAF_EC], HeaderFormat::Base64Der),
    ];
    for (file, chain, detected) in cases {
        let value = data(&format!("headers/{file}"));
        check(&value, HeaderFormat::Auto, &Chain(chain), file);
        let c = decode_header(&value, HeaderFormat::Auto, "x", &Limits::default()).unwrap();
        assert_eq!(c.header_format(), Some(*detected), "{file}");
    }
    let one_line: String = text("pki/leaf-ec.pem").lines().collect();
    let c =
        decode_header(one_line.as_bytes(), HeaderFormat::Auto, "x", &Limits::default()).unwrap();
    assert_eq!(c.header_format(), Some(HeaderFormat::PemOneline));
    assert_eq!(c.format(), Format::PemLenient);
}

/// Encoders written from the spec, independent of the decoders.
pub(crate) mod encode {
    use base64::Engine as _;

    pub(super) fn b64(der: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(der)
    }

    pub(super) fn pem(der: &[u8]) -> String {
        let body = b64(der);
        let lines: Vec<&str> =
            body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }

    /// nginx `ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT)` / Envoy's replacement set on PEM.
    pub(crate) fn escape(pem: &str) -> String {
        pem.replace('\n', "%0A")
            .replace(' ', "%20")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D")
    }

    fn sha256_hex(der: &[u8]) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The header value `format` gives for `chain` (leaf first), if it can carry it.
    pub(super) fn encode(format: &str, chain: &[Vec<u8>]) -> Option<String> {
        let leaf = chain.first()?;
        let all_pem: String = chain.iter().map(|c| pem(c)).collect();
        let single = chain.len() == 1;
        Some(match format {
            "rfc9440" | "gcp" if single => format!(":{}:", b64(leaf)),
            "rfc9440-chain" => {
                chain.iter().map(|c| format!(":{}:", b64(c))).collect::<Vec<_>>().join(", ")
            }
            "xfcc" => format!(
                "By=spiffe://example.test/proxy;Hash={};Cert=\"{}\";Chain=\"{}\";Subject=\"\";URI=",
                sha256_hex(leaf),
                escape(&pem(leaf)),
                escape(&all_pem)
            ),
            "nginx-escaped" | "cloudfront" if single => escape(&all_pem),
            "aws-alb" => {
                escape(&all_pem).replace("%2B", "+").replace("%3D", "=").replace("%2F", "/")
            }
            "nginx-folded" if single => all_pem.trim_end().replace('\n', "\n\t"),
            "apache" if single => all_pem.replace('\n', " "),
            "pem-oneline" => all_pem.replace('\n', ""),
            "haproxy-der" | "base64-der" => b64(&chain.concat()),
            "traefik" => chain.iter().map(|c| b64(c)).collect::<Vec<_>>().join(","),
            "azure-arr" | "aspnet" | "cloudflare" | "caddy" if single => b64(leaf),
            _ => return None,
        })
    }
}

#[test]
fn round_trip_every_format() {
    let chains: Vec<Vec<Vec<u8>>> = vec![
        vec![data(LEAF_EC)],
        vec![data(LEAF_RSA)],
        vec![data(LEAF_EC), data(INTERMEDIATE)],
        vec![data(LEAF_RSA), data(INTERMEDIATE), data(ROOT)],
    ];
    let mut encoded = 0;
    for format in HeaderFormat::ALL {
        for chain in &chains {
            let Some(value) = encode::encode(format.name(), chain) else { continue };
            encoded += 1;
            for f in [*format, HeaderFormat::Auto] {
                if f == HeaderFormat::Auto && *format == HeaderFormat::NginxFolded {
                    continue; // LF folding is only accepted when configured.
                }
                let got = decode_header(value.as_bytes(), f, "x", &Limits::default())
                    .unwrap_or_else(|e| panic!("{format} as {f}, {} certs: {e}", chain.len()));
                let ders: Vec<&[u8]> = got.certificates().iter().map(|c| c.as_ref()).collect();
                let want: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
                assert_eq!(ders, want, "{format} as {f}");
            }
        }
    }
    assert!(encoded >= 40, "{encoded}");
}

#[test]
fn refusals_apply_to_every_format() {
    let l = Limits::default();
    let value = text("headers/kong-x-client-cert-ec.txt");
    for format in HeaderFormat::ALL {
        // Oversized, before any decoding.
        let big = "A".repeat(l.max_header_value() + 1);
        let e = decode_header(big.as_bytes(), *format, "x", &l).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge, "{format}");
        // CR / LF / NUL injected anywhere.
        for bad in ["\r", "\n", "\0", "\r\n"] {
            let v = format!("{}{bad}{}", &value[..40], &value[40..]);
            let e = decode_header(v.as_bytes(), *format, "x", &l).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{format} {bad:?}");
        }
        // Sentinels.
        // `-`: nginx's rendering of an empty variable, forwarded by some setups.
        for s in ["", "(null)", "::", "-", "-----BEGIN CERTIFICATE----------END CERTIFICATE-----"] {
            let e = decode_header(s.as_bytes(), *format, "x", &l).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NoCertificate, "{format} {s:?}");
        }
        // Two field lines of a single-valued header.
        let lines: [&[u8]; 2] = [value.as_bytes(), value.as_bytes()];
        let got = decode_header_lines(&lines, *format, "x", &l);
        if !format.allows_multiple_lines() {
            assert_eq!(got.unwrap_err().kind(), ErrorKind::DuplicateHeader, "{format}");
        }
        // Error messages never carry the value.
        let garbage = format!("{}!!{}", &value[..300], &value[300..]);
        if let Err(e) = decode_header(garbage.as_bytes(), *format, "x", &l) {
            assert!(!e.message().contains("MIIC"), "{format}: {e}");
            assert!(e.message().len() < 200, "{format}: {e}");
        }
    }
}

#[test]
fn chain_length_is_bounded_in_every_list_format() {
    let l = Limits::default().with_max_chain_len(2);
    let three = vec![data(LEAF_EC), data(INTERMEDIATE), data(ROOT)];
    for format in ["rfc9440-chain", "xfcc", "aws-alb", "pem-oneline", "haproxy-der", "traefik"] {
        let value = encode::encode(format, &three).unwrap();
        let f: HeaderFormat = format.parse().unwrap();
        let e = decode_header(value.as_bytes(), f, "x", &l).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge, "{format}: {e}");
    }
}

/// The trust boundary of feature `http`: spoofing attempts are refused, visibly.
#[cfg(feature = "http")]
mod http_source {
    use std::net::IpAddr;

    use certauth::ErrorKind;
    use certauth::http::{HeaderSource, TrustedProxies, status_for};
    use certauth::{HeaderFormat, Limits};
    use http::{HeaderMap, HeaderValue, StatusCode};

    use crate::common::{data, text};

    const PROXY: &str = "10.1.2.3";
    const CLIENT: &str = "203.0.113.9";

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn source(name: &str, format: HeaderFormat) -> HeaderSource {
        HeaderSource::builder(name, format)
            .trusted_proxies(TrustedProxies::parse(["10.0.0.0/8", "::1"]).unwrap())
            .build()
            .unwrap()
    }

    fn headers(name: &'static str, values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(name, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn trusted_proxy_header_decodes() {
        let s = source("X-ARR-ClientCert", HeaderFormat::AzureArr);
        let v = text("headers/azure-app-service-x-arr-clientcert-ec.txt");
        let h = headers("x-arr-clientcert", &[&v]);
        let chain = s.extract(&h, ip(PROXY)).unwrap().unwrap();
        assert_eq!(chain.leaf().as_ref(), data("pki/leaf-ec.der").as_slice());
        assert_eq!(chain.source().to_string(), "header:x-arr-clientcert");
        // IPv4-mapped IPv6 peer of a trusted IPv4 proxy.
        assert!(s.extract(&h, ip("::ffff:10.1.2.3")).unwrap().is_some());
        assert!(s.extract(&HeaderMap::new(), ip(PROXY)).unwrap().is_none());
    }

    #[test]
    fn header_from_an_untrusted_peer_is_refused_not_ignored() {
        let s = source("x-forwarded-client-cert", HeaderFormat::Xfcc);
        let v = text("headers/envoy-xfcc-ec-all-details.txt");
        let h = headers("x-forwarded-client-cert", &[&v]);
        for peer in [CLIENT, "11.0.0.1", "::2", "::ffff:203.0.113.9"] {
            let e = s.extract(&h, ip(peer)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UntrustedSource, "{peer}");
            assert!(!e.message().contains("MII"), "{e}");
            assert_eq!(status_for(e.kind()), StatusCode::BAD_REQUEST);
        }
        // Even a garbage value is refused for its source, not its content.
        let h = headers("x-forwarded-client-cert", &["garbage"]);
        assert_eq!(s.extract(&h, ip(CLIENT)).unwrap_err().kind(), ErrorKind::UntrustedSource);
        // Absent header from anyone: nothing forwarded.
        assert!(s.extract(&HeaderMap::new(), ip(CLIENT)).unwrap().is_none());
    }

    #[test]
    fn duplicated_lines_of_a_singleton_header_are_refused() {
        let s = source("client-cert", HeaderFormat::Rfc9440);
        let v = text("headers/rfc9440-client-cert-ec.txt");
        let forged = text("headers/rfc9440-client-cert-rsa.txt");
        let h = headers("client-cert", &[&forged, &v]);
        let e = s.extract(&h, ip(PROXY)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DuplicateHeader);
        assert_eq!(status_for(e.kind()), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn xfcc_with_a_client_supplied_element_is_refused() {
        let s = source("x-forwarded-client-cert", HeaderFormat::Xfcc);
        let proxy = text("headers/envoy-xfcc-ec-all-details.txt");
        let rsa = crate::headers::encode::escape(&text("pki/leaf-rsa.pem"));
        // As one combined value and as two field lines.
        let combined = format!("Cert=\"{rsa}\",{proxy}");
        for h in [
            headers("x-forwarded-client-cert", &[&combined]),
            headers("x-forwarded-client-cert", &[&format!("Cert=\"{rsa}\""), &proxy]),
        ] {
            let e = s.extract(&h, ip(PROXY)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput);
            assert!(e.message().contains("2 elements, 1 configured"), "{e}");
        }
        assert!(s.extract(&headers("x-forwarded-client-cert", &[&proxy]), ip(PROXY)).is_ok());
    }

    /// `APPEND_FORWARD` behind an edge proxy: the stated number of elements, the
    /// certificate from the first (the edge proxy's view of the client).
    #[cfg(feature = "testkit")]
    #[test]
    fn xfcc_append_forward_hops() {
        use certauth::testkit::pki::Ca;
        use certauth::testkit::proxy::{Envoy, Proxy as _};
        let root = Ca::root("Hops Root");
        let client = root.leaf("client").build();
        let edge = root.leaf("edge").spiffe("spiffe://example.test/edge").build();
        let (name, first) = Envoy::by("spiffe://example.test/edge").forward(&client);
        let (_, both) = Envoy::by("spiffe://example.test/sidecar").append_to(&first).forward(&edge);
        let two = HeaderSource::builder(name, HeaderFormat::Xfcc)
            .trusted_proxies(TrustedProxies::parse([PROXY]).unwrap())
            .xfcc_elements(2)
            .build()
            .unwrap();
        assert_eq!(two.xfcc_elements(), 2);
        let chain = two.extract(&headers(name, &[&both]), ip(PROXY)).unwrap().unwrap();
        assert_eq!(chain.leaf(), client.der());
        // One element, or three (a client-supplied one in front): refused.
        let three = format!("By=x;Hash={},{both}", "0".repeat(64));
        for v in [&first, &three] {
            let e = two.extract(&headers(name, &[v]), ip(PROXY)).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{e}");
        }
        // The default source refuses two.
        let one = source(name, HeaderFormat::Xfcc);
        assert_eq!(one.xfcc_elements(), 1);
        let e = one.extract(&headers(name, &[&both]), ip(PROXY)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedInput);
        // The constructed APPEND_FORWARD vector: its first element carries no certificate.
        let v = text("headers/envoy-xfcc-append-forward-two-elements.txt");
        let e = two.extract(&headers(name, &[&v]), ip(PROXY)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NoCertificate);
    }

    #[test]
    fn oversized_values_are_refused() {
        let s = HeaderSource::builder("x-client-cert", HeaderFormat::Base64Der)
            .trusted_proxies(TrustedProxies::parse([PROXY]).unwrap())
            .limits(Limits::default().with_max_header_value(1000))
            .build()
            .unwrap();
        let big = "A".repeat(1001);
        let e = s.extract(&headers("x-client-cert", &[&big]), ip(PROXY)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
        // List formats bound the joined lines.
        let s = HeaderSource::builder("client-cert-chain", HeaderFormat::Rfc9440Chain)
            .trusted_proxies(TrustedProxies::parse([PROXY]).unwrap())
            .limits(Limits::default().with_max_header_value(1000))
            .build()
            .unwrap();
        let half = ":".to_owned() + &"A".repeat(600) + ":";
        let e = s.extract(&headers("client-cert-chain", &[&half, &half]), ip(PROXY)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InputTooLarge);
    }

    #[test]
    fn rfc9440_with_chain_header() {
        let s = HeaderSource::builder("Client-Cert", HeaderFormat::Rfc9440)
            .chain_header("Client-Cert-Chain")
            .trusted_proxies(TrustedProxies::parse([PROXY]).unwrap())
            .build()
            .unwrap();
        let mut h = headers("client-cert", &[&text("headers/rfc9440-client-cert-ec.txt")]);
        h.append(
            "client-cert-chain",
            HeaderValue::from_str(&text("headers/rfc9440-client-cert-chain-ec.txt")).unwrap(),
        );
        let chain = s.extract(&h, ip(PROXY)).unwrap().unwrap();
        assert_eq!(chain.certificates().len(), 3);
        // Only the chain header, from an untrusted peer: still a spoofing attempt.
        h.remove("client-cert");
        assert_eq!(s.extract(&h, ip(CLIENT)).unwrap_err().kind(), ErrorKind::UntrustedSource);
        // Only the chain header from the proxy: no leaf.
        assert_eq!(s.extract(&h, ip(PROXY)).unwrap_err().kind(), ErrorKind::NoCertificate);
    }

    #[test]
    fn builder_refuses_nonsense() {
        use certauth::ConfigError;
        let b = HeaderSource::builder("x-client-cert", HeaderFormat::Base64Der);
        assert_eq!(b.clone().build().unwrap_err(), ConfigError::NoTrustedProxies);
        let proxies = TrustedProxies::parse([PROXY]).unwrap();
        let auto = HeaderSource::builder("x-client-cert", HeaderFormat::Auto)
            .trusted_proxies(proxies.clone());
        assert_eq!(auto.clone().build().unwrap_err(), ConfigError::AutoDetectionNotAllowed);
        assert!(auto.allow_auto_detection().build().is_ok());
        let bad_name = HeaderSource::builder("bad header", HeaderFormat::Xfcc)
            .trusted_proxies(proxies.clone());
        assert_eq!(
            bad_name.build().unwrap_err(),
            ConfigError::InvalidHeaderName { name: "bad header".into() }
        );
        let bad_signal = HeaderSource::builder("x-client-cert", HeaderFormat::Base64Der)
            .require_verification_header("x-ssl-client-verify", "SUCCESS\n")
            .trusted_proxies(proxies.clone());
        assert_eq!(
            bad_signal.build().unwrap_err(),
            ConfigError::InvalidHeaderValue { value: "SUCCESS\n".into() }
        );
        let chain_on_xfcc = HeaderSource::builder("x-forwarded-client-cert", HeaderFormat::Xfcc)
            .chain_header("client-cert-chain")
            .trusted_proxies(proxies.clone());
        assert_eq!(
            chain_on_xfcc.build().unwrap_err(),
            ConfigError::ChainHeaderUnsupported { format: "xfcc" }
        );
        let xfcc = HeaderSource::builder("x-forwarded-client-cert", HeaderFormat::Xfcc)
            .trusted_proxies(proxies.clone());
        for n in [0, 33] {
            assert_eq!(
                xfcc.clone().xfcc_elements(n).build().unwrap_err(),
                ConfigError::XfccElementsOutOfRange { requested: n, max: 32 }
            );
        }
        assert!(xfcc.xfcc_elements(32).build().is_ok());
        let not_xfcc = HeaderSource::builder("client-cert", HeaderFormat::Rfc9440)
            .trusted_proxies(proxies)
            .xfcc_elements(1);
        let e = not_xfcc.build().unwrap_err();
        assert_eq!(e, ConfigError::XfccElementsUnsupported { format: "rfc9440" });
        assert_eq!(e.to_string(), "an xfcc element count needs format xfcc, not rfc9440");
    }

    /// Trusted proxies that include every address make every peer a proxy: refused unless
    /// the source opts in (which logs a warning).
    #[test]
    fn every_address_as_a_trusted_proxy_needs_an_opt_in() {
        use certauth::ConfigError;
        for everyone in [
            &["0.0.0.0/0"][..],
            &["::/0"],
            &["10.0.0.0/8", "::/0"],
            &["0.0.0.0/1", "128.0.0.0/1"],
            &["::1", "::/1", "8000::/1"],
        ] {
            let b = HeaderSource::builder("x-client-cert", HeaderFormat::Base64Der)
                .trusted_proxies(TrustedProxies::parse(everyone).unwrap());
            match b.clone().build() {
                Err(e @ ConfigError::EveryAddressTrusted { family }) => {
                    assert!(["IPv4", "IPv6"].contains(&family), "{family}");
                    assert!(e.to_string().contains("allow_every_address_as_trusted_proxy"), "{e}")
                }
                other => panic!("{everyone:?}: {other:?}"),
            }
            let s = b.allow_every_address_as_trusted_proxy().build().unwrap();
            let p = s.trusted_proxies();
            assert!(p.contains(ip("192.0.2.7")) || p.contains(ip("2001:db8::7")));
        }
        for fine in [&["0.0.0.0/1"][..], &["10.0.0.0/8", "fd00::/8"], &["128.0.0.0/1", "::/1"]] {
            let b = HeaderSource::builder("x-client-cert", HeaderFormat::Base64Der)
                .trusted_proxies(TrustedProxies::parse(fine).unwrap());
            assert!(b.build().is_ok(), "{fine:?}");
        }
    }

    /// Time is an argument: a proxy's certificate is judged at the `now` the caller
    /// gives, however far that is from the clock.
    #[cfg(all(feature = "testkit", feature = "ring"))]
    mod proxy_certificate_time {
        use certauth::IdentityRule;
        use certauth::RING_ALGORITHMS;
        use certauth::http::{Peer, ProxyIdentity};
        use certauth::testkit::pki::Ca;
        use certauth::testkit::proxy::{Haproxy, Proxy as _};
        use certauth::{Timestamp, TrustStore, Verifier};

        use super::*;

        fn at(year: i64) -> Timestamp {
            Timestamp::from_utc(year, 6, 1, 0, 0, 0).unwrap()
        }

        #[test]
        fn a_proxy_certificate_is_judged_at_the_given_time_not_the_clock() {
            let mesh = Ca::builder("Mesh Root").valid(at(1990), at(2100)).build();
            // Valid for one year, a quarter of a century before this test was written.
            let proxy =
                mesh.leaf("edge-proxy").dns("edge.mesh.test").valid(at(2000), at(2001)).build();
            let store = TrustStore::builder()
                .add_pem(mesh.pem().as_bytes())
                .unwrap()
                .check_at(at(2000))
                .build()
                .unwrap();
            let identity = ProxyIdentity::new(
                Verifier::builder(store, RING_ALGORITHMS).build().unwrap(),
                IdentityRule::DnsSan(certauth::ValueMatch::Exact("edge.mesh.test".into())),
            )
            .unwrap();
            let source = HeaderSource::builder("x-ssl-client-cert", HeaderFormat::HaproxyDer)
                .trusted_proxy_identity(identity)
                .build()
                .unwrap();
            let client = Ca::root("Client Root").leaf("client").build();
            let (name, value) = Haproxy.forward(&client);
            let h = headers(name, &[&value]);
            let certs = proxy.chain();
            let peer = Peer::new(ip(CLIENT)).with_tls_certificates(&certs);

            // In 2000 the proxy's certificate is valid: its header is read.
            assert!(source.is_proxy_connection(&peer, at(2000)));
            assert_eq!(source.admit(&h, &peer, at(2000)), Ok(true));
            let chain = source.extract_from(&h, &peer, at(2000)).unwrap().unwrap();
            assert_eq!(chain.leaf(), client.der());
            // In 2030 it has expired: the same peer is no trusted proxy.
            assert!(!source.is_proxy_connection(&peer, at(2030)));
            for e in [
                source.admit(&h, &peer, at(2030)).unwrap_err(),
                source.extract_from(&h, &peer, at(2030)).unwrap_err(),
            ] {
                assert_eq!(e.kind(), ErrorKind::UntrustedSource);
                assert!(e.message().contains("(expired)"), "{e}");
            }
            // By address only, no certificate is judged and no time is needed.
            assert_eq!(
                source.extract(&h, ip(CLIENT)).unwrap_err().kind(),
                ErrorKind::UntrustedSource
            );
        }
    }
}
