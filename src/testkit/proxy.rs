//! Header simulators: what each TLS-terminating proxy forwards for a client certificate.
//!
//! One unit struct per format, each implementing [`Proxy`]: a default header name
//! (lowercase, as HTTP/2 sends it and as `http::HeaderName::from_static` wants it) and a
//! pure string encoder. The encodings follow `docs/header-formats.md` in the repository
//! (what each proxy's source or a capture shows); the values are what the backend
//! receives after HTTP parsing (optional whitespace at the ends removed).
//!
//! ```
//! use certauth::testkit::{pki::Ca, proxy::{self, Proxy as _}};
//! let leaf = Ca::root("Root").intermediate("Issuing").leaf("client-1").build();
//!
//! let (name, value) = proxy::Envoy.forward(&leaf);
//! assert_eq!(name, "x-forwarded-client-cert");
//! assert!(value.starts_with(&format!("Hash={};Cert=\"", leaf.thumbprint().to_hex())));
//!
//! let (name, value) = proxy::Rfc9440Chain.forward(&leaf);
//! assert_eq!(name, "client-cert-chain");
//! assert!(value.starts_with(':') && value.ends_with(':')); // the intermediate only
//! ```
//!
//! Formats that carry one certificate encode the leaf (the first certificate given);
//! chain formats say which certificates they carry. An empty chain encodes as `""`.

use base64::Engine as _;
use rustls_pki_types::CertificateDer;

use super::pki::{Leaf, pem};
use crate::{Certificate, Thumbprint};

fn b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// Percent-encodes every byte except ASCII letters, digits and `keep`, with uppercase
/// hex, as nginx's `ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT)` and Envoy's replacement
/// table do on PEM text.
fn percent_encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() * 11 / 10);
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// nginx / Envoy escaping: on PEM, space `%20`, LF `%0A`, `+` `%2B`, `/` `%2F`, `=` `%3D`.
fn nginx_escape(s: &str) -> String {
    percent_encode(s, b"-._~")
}

fn leaf_of<'a>(chain: &'a [CertificateDer<'_>]) -> Option<&'a CertificateDer<'a>> {
    chain.first()
}

/// A proxy's way of forwarding a client certificate in a request header.
///
/// ```
/// use certauth::testkit::{pki::Ca, proxy::{Haproxy, Proxy}};
/// let leaf = Ca::root("Root").leaf("client-1").build();
/// let (name, value) = Haproxy.forward(&leaf);
/// assert_eq!(name, "x-ssl-client-cert");
/// let decoded = certauth::parse(value.as_bytes(), certauth::Format::Base64Der,
///     &certauth::Limits::default())?;
/// assert_eq!(decoded.leaf(), leaf.der());
/// # Ok::<(), certauth::Error>(())
/// ```
pub trait Proxy {
    /// The header name this proxy (or its usual configuration) uses, lowercase.
    fn header_name(&self) -> &'static str;

    /// The header value for `chain` (leaf first, then the intermediates, in TLS order).
    /// Single-certificate formats use the leaf only.
    fn encode(&self, chain: &[CertificateDer<'_>]) -> String;

    /// Header name and value for `leaf` presented with its intermediates
    /// ([`Leaf::chain`]).
    fn forward(&self, leaf: &Leaf) -> (&'static str, String) {
        (self.header_name(), self.encode(&leaf.chain()))
    }

    /// Header name and value for an arbitrary chain (leaf first).
    fn forward_chain(&self, chain: &[CertificateDer<'_>]) -> (&'static str, String) {
        (self.header_name(), self.encode(chain))
    }
}

macro_rules! proxy {
    ($(#[$doc:meta])* $name:ident, $header:literal, |$chain:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name;

        impl Proxy for $name {
            fn header_name(&self) -> &'static str {
                $header
            }

            fn encode(&self, $chain: &[CertificateDer<'_>]) -> String {
                $body
            }
        }
    };
}

proxy!(
    /// RFC 9440 `Client-Cert`: the leaf as an RFC 8941 byte sequence, `:` + base64(DER) + `:`.
    Rfc9440,
    "client-cert",
    |chain| leaf_of(chain).map(|c| format!(":{}:", b64(c))).unwrap_or_default()
);

proxy!(
    /// RFC 9440 `Client-Cert-Chain`: the intermediates (leaf excluded, as in the RFC's
    /// example and Cloudflare's and Google's documentation), each as a byte sequence,
    /// joined with `", "`. Empty when there are no intermediates.
    Rfc9440Chain,
    "client-cert-chain",
    |chain| {
        chain.iter().skip(1).map(|c| format!(":{}:", b64(c))).collect::<Vec<_>>().join(", ")
    }
);

/// One detail Envoy can add to its `x-forwarded-client-cert` element
/// (`set_current_client_cert_details`). Whatever order they are listed in, Envoy writes
/// them in the order of this enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EnvoyDetail {
    /// `Cert="<URL-encoded PEM of the leaf>"`.
    Cert,
    /// `Chain="<URL-encoded PEMs of the whole chain, leaf first>"`.
    Chain,
    /// `Subject="<RFC 2253 subject>"`, present (and empty) even for an empty subject.
    Subject,
    /// `URI=<SAN>` once per URI SAN, raw; `URI=` without one.
    Uri,
    /// `DNS=<SAN>` once per DNS SAN, raw; nothing without one.
    Dns,
}

impl EnvoyDetail {
    /// Every detail, in Envoy's order.
    pub const ALL: [EnvoyDetail; 5] =
        [Self::Cert, Self::Chain, Self::Subject, Self::Uri, Self::Dns];
}

/// A leaf's subject as BoringSSL's `X509_NAME_print_ex(.., XN_FLAG_RFC2253)` prints it for
/// Envoy's `Subject`: RDNs last first, joined by `,` (attributes of one RDN by `+`), short
/// names, and in values `\` before `\`, `"`, `,`, `+`, `<`, `>`, `;`, a leading space or
/// `#` and a trailing space, and `\XX` (uppercase hex) for control bytes and every byte of
/// a non-ASCII character.
fn rfc2253(cert: &Certificate) -> String {
    let mut out = String::new();
    for (i, rdn) in cert.subject().rdns().iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, attribute) in rdn.attributes().iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            out.push_str(attribute.short_name().unwrap_or(attribute.oid()));
            out.push('=');
            let value = attribute.value().as_bytes();
            let last = value.len().saturating_sub(1);
            for (k, &b) in value.iter().enumerate() {
                match b {
                    0x80..=0xff | 0x00..=0x1f | 0x7f => out.push_str(&format!("\\{b:02X}")),
                    b'\\' | b'"' | b',' | b'+' | b'<' | b'>' | b';' => {
                        out.push('\\');
                        out.push(char::from(b));
                    }
                    b' ' | b'#' if k == 0 => {
                        out.push('\\');
                        out.push(char::from(b));
                    }
                    b' ' if k == last => out.push_str("\\ "),
                    _ => out.push(char::from(b)),
                }
            }
        }
    }
    out
}

/// Envoy's `x-forwarded-client-cert` element for `chain`, as `mutateXfccRequestHeader`
/// builds it: `By` per URI of the proxy's own certificate, `Hash`, then the details.
fn xfcc_element(by: &[String], details: &[EnvoyDetail], chain: &[CertificateDer<'_>]) -> String {
    let Some(leaf) = leaf_of(chain) else { return String::new() };
    let mut parts: Vec<String> = by.iter().map(|uri| format!("By={uri}")).collect();
    parts.push(format!("Hash={}", Thumbprint::of(leaf).to_hex()));
    let cert = Certificate::from_der(leaf).ok();
    for detail in EnvoyDetail::ALL.into_iter().filter(|d| details.contains(d)) {
        match (detail, &cert) {
            (EnvoyDetail::Cert, _) => {
                parts.push(format!("Cert=\"{}\"", nginx_escape(&pem("CERTIFICATE", leaf))));
            }
            (EnvoyDetail::Chain, _) => {
                let all: String = chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
                parts.push(format!("Chain=\"{}\"", nginx_escape(&all)));
            }
            (EnvoyDetail::Subject, Some(cert)) => {
                parts.push(format!("Subject=\"{}\"", rfc2253(cert)))
            }
            (EnvoyDetail::Uri, Some(cert)) if !cert.sans().uri().is_empty() => {
                parts.extend(cert.sans().uri().iter().map(|u| format!("URI={u}")));
            }
            (EnvoyDetail::Uri, _) => parts.push("URI=".to_owned()),
            (EnvoyDetail::Dns, Some(cert)) => {
                parts.extend(cert.sans().dns().iter().map(|d| format!("DNS={d}")));
            }
            (EnvoyDetail::Subject | EnvoyDetail::Dns, None) => {}
        }
    }
    parts.join(";")
}

proxy!(
    /// Envoy / Istio `x-forwarded-client-cert` (XFCC) with every detail Envoy can add,
    /// in Envoy's order: `Hash` (lowercase hex SHA-256 of the leaf), `Cert` (quoted,
    /// URL-encoded PEM of the leaf), `Chain` (quoted, URL-encoded PEMs of the whole chain,
    /// leaf included), `Subject` (quoted RFC 2253, escaped as BoringSSL prints it), one
    /// `URI` per URI SAN (a single empty `URI=` without one), one `DNS` per DNS SAN; URI
    /// and DNS SANs exactly as the certificate holds them, unquoted and unescaped, as
    /// Envoy writes them. No `By`: see [`Envoy::by`]; other details: [`Envoy::details`];
    /// several hops: [`EnvoyXfcc::append_to`].
    Envoy,
    "x-forwarded-client-cert",
    |chain| xfcc_element(&[], &EnvoyDetail::ALL, chain)
);

impl Envoy {
    /// Envoy with `By=<uri>` first, as Envoy adds it (one per URI SAN of its own
    /// certificate) in `APPEND_FORWARD` and `SANITIZE_SET` modes, and every detail.
    ///
    /// ```
    /// use certauth::testkit::{pki::Ca, proxy::{Envoy, Proxy as _}};
    /// let leaf = Ca::root("Root").leaf("client-1").build();
    /// let (_, value) = Envoy::by("spiffe://cluster.local/ns/default/sa/ingress").forward(&leaf);
    /// assert!(value.starts_with("By=spiffe://cluster.local/ns/default/sa/ingress;Hash="));
    /// ```
    pub fn by(uri: &str) -> EnvoyXfcc {
        EnvoyXfcc::default().by(uri)
    }

    /// Envoy with only these details (`set_current_client_cert_details`), no `By`.
    ///
    /// ```
    /// use certauth::testkit::{pki::Ca, proxy::{Envoy, EnvoyDetail, Proxy as _}};
    /// let leaf = Ca::root("Root").leaf("client-1").uri("https://client.example").build();
    /// let (_, value) = Envoy::details(&[EnvoyDetail::Uri]).forward(&leaf);
    /// assert_eq!(value, format!("Hash={};URI=https://client.example", leaf.thumbprint().to_hex()));
    /// ```
    pub fn details(details: &[EnvoyDetail]) -> EnvoyXfcc {
        EnvoyXfcc { details: details.to_vec(), ..EnvoyXfcc::default() }
    }
}

/// A configured Envoy: `By` URIs, details, and for `APPEND_FORWARD` the value it received.
/// From [`Envoy::by`] or [`Envoy::details`]; without either, the same as [`Envoy`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnvoyXfcc {
    by: Vec<String>,
    details: Vec<EnvoyDetail>,
    received: Option<String>,
}

impl Default for EnvoyXfcc {
    fn default() -> Self {
        Self { by: Vec::new(), details: EnvoyDetail::ALL.to_vec(), received: None }
    }
}

impl EnvoyXfcc {
    /// Adds a `By=<uri>` (Envoy writes one per URI SAN of its own certificate).
    #[must_use]
    pub fn by(mut self, uri: &str) -> Self {
        self.by.push(uri.to_owned());
        self
    }

    /// `APPEND_FORWARD`: the value this Envoy received (from the client or a proxy before
    /// it); its own element is appended after a `,`. An empty value is replaced, and
    /// without a client certificate the value is empty (Envoy removes the header then).
    ///
    /// ```
    /// use certauth::testkit::{pki::Ca, proxy::{Envoy, Proxy as _}};
    /// let root = Ca::root("Root");
    /// let client = root.leaf("client").build();
    /// let edge = root.leaf("edge-proxy").build();
    /// let (_, first) = Envoy::by("spiffe://edge").forward(&client);
    /// let (_, both) = Envoy::by("spiffe://sidecar").append_to(&first).forward(&edge);
    /// assert!(both.starts_with(&format!("{first},By=spiffe://sidecar;Hash=")));
    /// ```
    #[must_use]
    pub fn append_to(mut self, received: &str) -> Self {
        self.received = Some(received.to_owned());
        self
    }
}

impl Proxy for EnvoyXfcc {
    fn header_name(&self) -> &'static str {
        "x-forwarded-client-cert"
    }

    fn encode(&self, chain: &[CertificateDer<'_>]) -> String {
        let element = xfcc_element(&self.by, &self.details, chain);
        match self.received.as_deref() {
            // Without a client certificate Envoy removes the header, whatever it received.
            Some(received) if !received.is_empty() && !element.is_empty() => {
                format!("{received},{element}")
            }
            _ => element,
        }
    }
}

proxy!(
    /// nginx `$ssl_client_escaped_cert`, under the header name Kubernetes ingress-nginx
    /// uses: the leaf's PEM URL-encoded (`%20`, `%0A`, `%2B`, `%2F`, `%3D`, uppercase hex),
    /// trailing `%0A` included. nginx has no variable for the intermediates.
    Nginx,
    "ssl-client-cert",
    |chain| leaf_of(chain).map(|c| nginx_escape(&pem("CERTIFICATE", c))).unwrap_or_default()
);

proxy!(
    /// nginx's deprecated `$ssl_client_cert`: the leaf's PEM with a TAB after every LF but
    /// the last, and the last LF dropped: obsolete line folding. hyper and the `http`
    /// crate refuse such a value; use it to test what a server does with folded input.
    NginxFolded,
    "x-ssl-client-cert",
    |chain| {
        leaf_of(chain)
            .map(|c| pem("CERTIFICATE", c).trim_end_matches('\n').replace('\n', "\n\t"))
            .unwrap_or_default()
    }
);

proxy!(
    /// Apache mod_ssl + mod_headers `%{SSL_CLIENT_CERT}s`: the leaf's PEM with every
    /// newline replaced by a space (the trailing space Apache writes is optional
    /// whitespace that HTTP parsers drop, so it is not in the value).
    Apache,
    "x-ssl-cert",
    |chain| {
        leaf_of(chain)
            .map(|c| pem("CERTIFICATE", c).replace('\n', " ").trim_end().to_owned())
            .unwrap_or_default()
    }
);

proxy!(
    /// HAProxy `%[ssl_c_der,base64]`: one line of standard base64 (with padding) of the
    /// leaf's DER.
    Haproxy,
    "x-ssl-client-cert",
    |chain| leaf_of(chain).map(|c| b64(c)).unwrap_or_default()
);

proxy!(
    /// HAProxy `%[ssl_c_chain_der,base64]`: base64 of the intermediates' DER
    /// concatenated (leaf excluded); empty when there are none.
    HaproxyChain,
    "x-ssl-client-cert-chain",
    |chain| b64(&chain.iter().skip(1).flat_map(|c| c.iter().copied()).collect::<Vec<u8>>())
);

proxy!(
    /// AWS Application Load Balancer mTLS passthrough `X-Amzn-Mtls-Clientcert`: the PEMs
    /// of the whole chain as presented (leaf first) concatenated and URL-encoded "with
    /// `+=/` as safe characters" (so `+`, `=` and `/` stay raw; space and LF are encoded).
    AwsAlb,
    "x-amzn-mtls-clientcert",
    |chain| {
        let all: String = chain.iter().map(|c| pem("CERTIFICATE", c)).collect();
        percent_encode(&all, b"-._~+=/")
    }
);

proxy!(
    /// Traefik v3 `passTLSClientCert` with `pem: true`: every certificate the client sent
    /// (leaf first) as base64 DER without armour or newlines, joined with `,`.
    Traefik,
    "x-forwarded-tls-client-cert",
    |chain| chain.iter().map(|c| b64(c)).collect::<Vec<_>>().join(",")
);

proxy!(
    /// Azure App Service `X-ARR-ClientCert`: base64 DER of the leaf.
    AzureArr,
    "x-arr-clientcert",
    |chain| leaf_of(chain).map(|c| b64(c)).unwrap_or_default()
);

proxy!(
    /// Cloudflare API Shield `client_certificate_forwarding`: base64 DER of the leaf in
    /// `Cf-Client-Cert-Der-Base64`.
    Cloudflare,
    "cf-client-cert-der-base64",
    |chain| leaf_of(chain).map(|c| b64(c)).unwrap_or_default()
);

proxy!(
    /// Caddy `header_up X-Client-Cert {http.request.tls.client.certificate_der_base64}`:
    /// base64 DER of the leaf (the header name is the operator's choice).
    Caddy,
    "x-client-cert",
    |chain| leaf_of(chain).map(|c| b64(c)).unwrap_or_default()
);

proxy!(
    /// IBM API Connect / DataPower `X-Client-Certificate` (per IBM's published example;
    /// unverified): one-line PEM, armour and base64 with no line breaks at all.
    IbmApiConnect,
    "x-client-certificate",
    |chain| {
        leaf_of(chain)
            .map(|c| format!("-----BEGIN CERTIFICATE-----{}-----END CERTIFICATE-----", b64(c)))
            .unwrap_or_default()
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{Format, Limits, parse};
    use crate::testkit::pki::Ca;

    const LEAF_EC: &[u8] = include_bytes!("../../tests/data/pki/leaf-ec.der");
    const INTERMEDIATE: &[u8] = include_bytes!("../../tests/data/pki/intermediate.der");

    fn fixed_chain() -> Vec<CertificateDer<'static>> {
        vec![CertificateDer::from(LEAF_EC.to_vec()), CertificateDer::from(INTERMEDIATE.to_vec())]
    }

    /// Strict `%XX` percent-decoding (`+` stays `+`).
    fn percent_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn decode(value: &str, format: Format) -> Vec<CertificateDer<'static>> {
        parse(value.as_bytes(), format, &Limits::default()).unwrap().into_certificates()
    }

    /// Each encoder against the value constructed independently from the same
    /// certificates (`tests/data/testkit/README.md`).
    #[test]
    fn constructed_vectors_byte_for_byte() {
        let chain = fixed_chain();
        let envoy = Envoy::by("spiffe://example.test/ns/ingress/sa/gateway");
        let cases: [(&dyn Proxy, &str); 8] = [
            (&Rfc9440, include_str!("../../tests/data/testkit/rfc9440-client-cert-ec.txt")),
            (
                &Rfc9440Chain,
                include_str!(
                    "../../tests/data/testkit/rfc9440-client-cert-chain-ec-intermediate-only.txt"
                ),
            ),
            (&envoy, include_str!("../../tests/data/testkit/envoy-xfcc-ec-all-details.txt")),
            (
                &Nginx,
                include_str!("../../tests/data/testkit/azure-appgw-var_client_certificate-ec.txt"),
            ),
            (
                &AwsAlb,
                include_str!(
                    "../../tests/data/testkit/aws-alb-x-amzn-mtls-clientcert-passthrough-ec.txt"
                ),
            ),
            (
                &Traefik,
                include_str!(
                    "../../tests/data/testkit/traefik-v3-x-forwarded-tls-client-cert-ec.txt"
                ),
            ),
            (
                &AzureArr,
                include_str!("../../tests/data/testkit/azure-app-service-x-arr-clientcert-ec.txt"),
            ),
            (
                &Cloudflare,
                include_str!(
                    "../../tests/data/testkit/cloudflare-cf-client-cert-der-base64-ec.txt"
                ),
            ),
        ];
        for (proxy, want) in cases {
            assert_eq!(proxy.encode(&chain), want, "{}", proxy.header_name());
        }
    }

    #[test]
    fn escaping_tables() {
        assert_eq!(nginx_escape("a+b/c=d e\nf-g_h.i~j"), "a%2Bb%2Fc%3Dd%20e%0Af-g_h.i~j");
        assert_eq!(percent_encode("a+b/c=d e\n", b"-._~+=/"), "a+b/c=d%20e%0A");
        // Lengths for the test PKI's EC leaf (docs/header-formats.md §2, §4, §5, §6).
        let chain = fixed_chain();
        assert_eq!(Nginx.encode(&chain).len(), 956);
        assert_eq!(Haproxy.encode(&chain).len(), 840);
        assert_eq!(Rfc9440.encode(&chain).len(), 842);
        assert_eq!(Apache.encode(&chain).len(), 907, "908 on the wire minus the trailing space");
    }

    #[test]
    fn every_encoder_round_trips_through_certauth_decoders() {
        let root = Ca::root("Root");
        let leaf = root.intermediate("Issuing").leaf("client-1").dns("c1.example.org").build();
        let chain = leaf.chain();
        let pem_leaf = leaf.pem();

        let (_, v) = Rfc9440.forward(&leaf);
        assert_eq!(decode(v.trim_matches(':'), Format::Base64Der), [leaf.der().clone()]);
        let (_, v) = Rfc9440Chain.forward(&leaf);
        assert!(!v.contains(", "), "one intermediate: {v}");
        assert_eq!(decode(v.trim_matches(':'), Format::Base64Der), leaf.intermediates());

        let (_, v) = Nginx.forward(&leaf);
        assert!(!v.contains(['+', '/', '=', ' ', '\n']), "{v}");
        assert!(v.ends_with("-----END%20CERTIFICATE-----%0A"));
        assert_eq!(percent_decode(&v), pem_leaf);

        let (name, v) = NginxFolded.forward(&leaf);
        assert_eq!(name, "x-ssl-client-cert");
        assert!(v.contains("\n\t") && !v.ends_with('\n'));
        assert_eq!(v.replace("\n\t", "\n") + "\n", pem_leaf);

        let (_, v) = Apache.forward(&leaf);
        assert!(!v.contains('\n') && v.starts_with("-----BEGIN CERTIFICATE----- MII"));
        assert_eq!(decode(&v, Format::PemLenient), [leaf.der().clone()]);

        let (_, v) = IbmApiConnect.forward(&leaf);
        assert!(!v.contains('\n') && v.matches(' ').count() == 2, "spaces only in the armour");
        assert_eq!(decode(&v, Format::PemLenient), [leaf.der().clone()]);

        for p in [&Haproxy as &dyn Proxy, &AzureArr, &Cloudflare, &Caddy] {
            let v = p.encode(&chain);
            assert_eq!(decode(&v, Format::Base64Der), [leaf.der().clone()], "{}", p.header_name());
        }
        let (_, v) = HaproxyChain.forward(&leaf);
        assert_eq!(decode(&v, Format::Base64Der), leaf.intermediates());

        let (_, v) = Traefik.forward(&leaf);
        let parts: Vec<_> = v.split(',').flat_map(|p| decode(p, Format::Base64Der)).collect();
        assert_eq!(parts, chain);

        let (_, v) = AwsAlb.forward(&leaf);
        assert!(
            !v.contains([' ', '\n']) && v.matches("-----BEGIN%20CERTIFICATE-----").count() == 2
        );
        assert_eq!(decode(&percent_decode(&v), Format::Pem), chain);
    }

    #[test]
    fn envoy_hash_cert_chain_and_details() {
        use sha2::Digest as _;
        let root = Ca::root("Root");
        let leaf = root
            .intermediate("Issuing")
            .leaf("client-1")
            .spiffe("spiffe://example.org/ns/a/sa/b")
            .dns("a.example.org")
            .dns("b.example.org")
            .build();
        let (name, v) = Envoy.forward(&leaf);
        assert_eq!(name, "x-forwarded-client-cert");
        let want: String =
            sha2::Sha256::digest(leaf.der()).iter().map(|b| format!("{b:02x}")).collect();
        assert!(v.starts_with(&format!("Hash={want};Cert=\"")), "{v}");
        let field = |key: &str| {
            let start = v.find(&format!("{key}=\"")).unwrap() + key.len() + 2;
            v[start..start + v[start..].find('"').unwrap()].to_owned()
        };
        assert_eq!(percent_decode(&field("Cert")), leaf.pem());
        assert_eq!(decode(&percent_decode(&field("Chain")), Format::Pem), leaf.chain());
        assert_eq!(field("Subject"), "CN=client-1");
        assert!(
            v.ends_with(";URI=spiffe://example.org/ns/a/sa/b;DNS=a.example.org;DNS=b.example.org")
        );

        let bare = root.leaf("no-sans").build();
        assert!(Envoy.forward(&bare).1.ends_with(";Subject=\"CN=no-sans\";URI="));
    }

    #[test]
    fn envoy_details_by_and_append_forward() {
        let root = Ca::root("Root");
        let leaf = root.leaf("client-1").uri("https://a/,x").dns("d;1").dns("d2").build();
        let hash = leaf.thumbprint().to_hex();
        let (_, v) = Envoy::details(&[EnvoyDetail::Dns, EnvoyDetail::Uri]).forward(&leaf);
        assert_eq!(v, format!("Hash={hash};URI=https://a/,x;DNS=d;1;DNS=d2"));
        let (_, v) = Envoy::details(&[EnvoyDetail::Subject])
            .by("spiffe://p")
            .by("spiffe://q")
            .forward(&leaf);
        assert_eq!(v, format!("By=spiffe://p;By=spiffe://q;Hash={hash};Subject=\"CN=client-1\""));
        let bare = root.leaf("bare").build();
        let (_, v) = Envoy::details(&[EnvoyDetail::Uri, EnvoyDetail::Dns]).forward(&bare);
        assert_eq!(v, format!("Hash={};URI=", bare.thumbprint().to_hex()));
        // APPEND_FORWARD: after what was received; an empty value or no certificate as Envoy.
        let element = Envoy.encode(&leaf.chain());
        assert_eq!(
            EnvoyXfcc::default().append_to("By=x").encode(&leaf.chain()),
            format!("By=x,{element}")
        );
        assert_eq!(EnvoyXfcc::default().append_to("").encode(&leaf.chain()), element);
        assert_eq!(EnvoyXfcc::default().append_to("By=x").encode(&[]), "");
        assert_eq!(EnvoyXfcc::default().encode(&leaf.chain()), element);
    }

    /// `Subject` as BoringSSL's RFC 2253 printing escapes it: never a raw `"` or `\`.
    #[test]
    fn envoy_subject_escaping() {
        let root = Ca::root("Root");
        for (cn, want) in [
            ("plain", "CN=plain"),
            (" #a,b+c\"d\\e<f>g;h ", "CN=\\ #a\\,b\\+c\\\"d\\\\e\\<f\\>g\\;h\\ "),
            ("#x=y", "CN=\\#x=y"),
            ("caf\u{e9}\t", "CN=caf\\C3\\A9\\09"),
        ] {
            let leaf = root.leaf(cn).build();
            let (_, v) = Envoy::details(&[EnvoyDetail::Subject]).forward(&leaf);
            assert_eq!(v.split_once(";Subject=").unwrap().1, format!("\"{want}\""), "{cn:?}");
        }
    }

    #[test]
    fn empty_chains_encode_as_empty_values() {
        let proxies: [&dyn Proxy; 14] = [
            &Rfc9440,
            &Rfc9440Chain,
            &Envoy,
            &Nginx,
            &NginxFolded,
            &Apache,
            &Haproxy,
            &HaproxyChain,
            &AwsAlb,
            &Traefik,
            &AzureArr,
            &Cloudflare,
            &Caddy,
            &IbmApiConnect,
        ];
        for p in proxies {
            assert_eq!(p.encode(&[]), "", "{}", p.header_name());
            let name = p.header_name();
            assert!(!name.is_empty() && name == name.to_ascii_lowercase());
        }
        // Only the leaf: no intermediates to carry.
        let leaf = crate::testkit::pki::self_signed_client("alone");
        assert_eq!(Rfc9440Chain.forward(&leaf).1, "");
        assert_eq!(HaproxyChain.forward(&leaf).1, "");
    }
}
