//! Client certificates: the leaf builder, self-signed certificates and the issued [`Leaf`].

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;

use der::Decode as _;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::CertificateDer;

use super::ca::issuer_of;
use super::der_rewrite::replace_spki;
use super::keys::{RsaPublicKey, copy_key};
use super::{
    Ca, DEFAULT_NOT_AFTER, DEFAULT_NOT_BEFORE, KeyType, authority_info_access, base_params,
    eku_purpose, oid_arcs, pem,
};
use crate::input::{Format, Limits, PresentedChain, Source};
use crate::{Certificate, Thumbprint, Timestamp};

/// A subject attribute type from its short name or dotted OID.
fn dn_type(attr: &str) -> DnType {
    match attr {
        "CN" => DnType::CommonName,
        "C" => DnType::CountryName,
        "ST" => DnType::StateOrProvinceName,
        "L" => DnType::LocalityName,
        "O" => DnType::OrganizationName,
        "OU" => DnType::OrganizationalUnitName,
        dotted => DnType::CustomDnType(oid_arcs(dotted)),
    }
}

fn ia5(what: &str, s: &str) -> rcgen::string::Ia5String {
    rcgen::string::Ia5String::try_from(s)
        .unwrap_or_else(|e| panic!("testkit: {what} {s:?} is not IA5 (ASCII): {e}"))
}

/// Builder for a [`Leaf`], from [`Ca::leaf`] or [`self_signed`].
///
/// Defaults: subject CN = the given name, no SANs, ECDSA P-256 key, extended key usage
/// clientAuth, key usage digitalSignature, not a CA (no basicConstraints), validity
/// [`DEFAULT_NOT_BEFORE`] .. [`DEFAULT_NOT_AFTER`], serial = the issuer's next serial
/// (0x1000, 0x1001, ...; self-signed: 1).
///
/// ```
/// use certauth::testkit::pki::Ca;
/// use certauth::{Certificate, Timestamp};
/// let root = Ca::root("Root");
/// let expired = root
///     .leaf("old-client")
///     .dns("old.example.org")
///     .email("ops@example.org")
///     .ip("10.0.0.1".parse().unwrap())
///     .valid(Timestamp::from_unix_secs(1_600_000_000), Timestamp::from_unix_secs(1_700_000_000))
///     .serial(&[0x3a, 0x5f])
///     .build();
/// let cert = Certificate::from_der(expired.der())?;
/// assert_eq!(cert.serial_hex(), "3a5f");
/// assert_eq!(cert.sans().dns(), ["old.example.org"]);
/// assert!(!cert.is_valid_at(Timestamp::from_utc(2026, 6, 1, 0, 0, 0).unwrap()));
/// # Ok::<(), certauth::Error>(())
/// ```
pub struct LeafBuilder<'a> {
    name: String,
    issuer: Option<&'a Ca>,
    subject: Vec<(DnType, String)>,
    sans: Vec<SanType>,
    ekus: Vec<ExtendedKeyUsagePurpose>,
    key: KeyType,
    /// A copy of another leaf's private key, used instead of a fresh one.
    same_key: Option<KeyPair>,
    not_before: Timestamp,
    not_after: Timestamp,
    serial: Option<Vec<u8>>,
    ca: bool,
    crl_distribution_points: Vec<String>,
    ca_issuers: Vec<String>,
    ocsp_responders: Vec<String>,
}

impl fmt::Debug for LeafBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafBuilder")
            .field("name", &self.name)
            .field("issuer", &self.issuer.map(Ca::name))
            .field("key", &self.key)
            .field("same_key", &self.same_key.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> LeafBuilder<'a> {
    pub(super) fn new(name: &str, issuer: Option<&'a Ca>) -> Self {
        Self {
            name: name.to_owned(),
            issuer,
            subject: Vec::new(),
            sans: Vec::new(),
            ekus: vec![ExtendedKeyUsagePurpose::ClientAuth],
            key: KeyType::default(),
            same_key: None,
            not_before: DEFAULT_NOT_BEFORE,
            not_after: DEFAULT_NOT_AFTER,
            serial: None,
            ca: false,
            crl_distribution_points: Vec::new(),
            ca_issuers: Vec::new(),
            ocsp_responders: Vec::new(),
        }
    }

    /// Adds a subject attribute after the CN: `attr` is `"C"`, `"ST"`, `"L"`, `"O"`, `"OU"`
    /// or a dotted OID, and the value is a UTF8String. An attribute type given twice keeps
    /// the last value; `"CN"` replaces the name. Default: the CN alone.
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let leaf = Ca::root("Root")
    ///     .leaf("billing")
    ///     .subject_attribute("O", "Example, Inc.")
    ///     .subject_attribute("2.5.4.11", "payments")
    ///     .build();
    /// let cert = certauth::Certificate::from_der(leaf.der())?;
    /// assert_eq!(cert.subject().to_rfc4514(), r"OU=payments,O=Example\, Inc.,CN=billing");
    /// # Ok::<(), certauth::Error>(())
    /// ```
    ///
    /// # Panics
    /// At once, on an attribute that is neither a short name above nor a dotted OID.
    #[must_use]
    pub fn subject_attribute(mut self, attr: &str, value: &str) -> Self {
        self.subject.push((dn_type(attr), value.to_owned()));
        self
    }

    /// Adds a DNS name SAN.
    #[must_use]
    pub fn dns(mut self, name: &str) -> Self {
        self.sans.push(SanType::DnsName(ia5("dns name", name)));
        self
    }

    /// Adds a URI SAN.
    #[must_use]
    pub fn uri(mut self, uri: &str) -> Self {
        self.sans.push(SanType::URI(ia5("uri", uri)));
        self
    }

    /// Adds a SPIFFE ID (a URI SAN), e.g. `"spiffe://example.org/ns/a/sa/b"`. Same as
    /// [`LeafBuilder::uri`]; nothing checks that it is a valid SPIFFE ID, so negative
    /// tests can use malformed ones.
    #[must_use]
    pub fn spiffe(self, id: &str) -> Self {
        self.uri(id)
    }

    /// Adds an e-mail (rfc822Name) SAN.
    #[must_use]
    pub fn email(mut self, address: &str) -> Self {
        self.sans.push(SanType::Rfc822Name(ia5("e-mail address", address)));
        self
    }

    /// Adds an IP address SAN.
    #[must_use]
    pub fn ip(mut self, addr: IpAddr) -> Self {
        self.sans.push(SanType::IpAddress(addr));
        self
    }

    /// Extended key usage clientAuth only. This is the default.
    #[must_use]
    pub fn eku_client_auth(mut self) -> Self {
        self.ekus = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self
    }

    /// Extended key usage serverAuth only (a server certificate presented as a client
    /// certificate).
    #[must_use]
    pub fn eku_server_auth_only(mut self) -> Self {
        self.ekus = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self
    }

    /// No extended key usage extension at all (legacy PKIs; webpki treats it as any
    /// usage, certauth's default policy does not).
    #[must_use]
    pub fn no_eku(mut self) -> Self {
        self.ekus.clear();
        self
    }

    /// Exactly these extended key usages, as dotted OIDs (e.g.
    /// [`CLIENT_AUTH_OID`](crate::CLIENT_AUTH_OID), `"1.3.6.1.5.5.7.3.4"`). An empty slice is the
    /// same as [`LeafBuilder::no_eku`].
    ///
    /// # Panics
    /// At once, on a malformed OID.
    #[must_use]
    pub fn eku(mut self, oids: &[&str]) -> Self {
        self.ekus = oids.iter().map(|o| eku_purpose(o)).collect();
        self
    }

    /// The subject key type. Default [`KeyType::EcdsaP256`].
    #[must_use]
    pub fn key(mut self, key: KeyType) -> Self {
        self.key = key;
        self.same_key = None;
        self
    }

    /// Certifies `other`'s key instead of a fresh one (replacing [`LeafBuilder::key`]):
    /// two certificates of one key pair, for example a pinned self-signed certificate and
    /// another one its key holder made. Default: a fresh key.
    ///
    /// ```
    /// use certauth::testkit::pki::self_signed;
    /// let pinned = self_signed("device-7").build();
    /// let other = self_signed("device-8").same_key_as(&pinned).build();
    /// let (a, b) = (pinned.certificate(), other.certificate());
    /// assert_eq!(a.spki_der(), b.spki_der());
    /// assert_ne!(pinned.thumbprint(), other.thumbprint());
    /// ```
    #[must_use]
    pub fn same_key_as(mut self, other: &Leaf) -> Self {
        self.key = other.key_type;
        self.same_key = other.key.as_ref().map(copy_key);
        self
    }

    /// Validity period. Default [`DEFAULT_NOT_BEFORE`] .. [`DEFAULT_NOT_AFTER`]. Expired
    /// and not-yet-valid certificates are made with this.
    #[must_use]
    pub fn valid(mut self, not_before: Timestamp, not_after: Timestamp) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// The serial number as big-endian magnitude bytes (always encoded as a positive
    /// INTEGER). Default: the issuer's next serial.
    #[must_use]
    pub fn serial(mut self, serial: &[u8]) -> Self {
        self.serial = Some(serial.to_vec());
        self
    }

    /// Marks the certificate as a CA (basicConstraints CA:TRUE, keyCertSign added) while
    /// keeping its EKU: a CA certificate presented as a client certificate. Default false.
    #[must_use]
    pub fn ca(mut self, is_ca: bool) -> Self {
        self.ca = is_ca;
        self
    }

    /// Adds `uri` to a CRL distribution points extension (one distribution point, full
    /// name). Default: no such extension. A CRL with an issuing distribution point covers
    /// the certificate only if one of these URIs is among its own.
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let uri = "http://crl.example.test/users.crl";
    /// let leaf = Ca::root("Root").leaf("client").crl_distribution_point(uri).build();
    /// assert!(leaf.der().windows(uri.len()).any(|w| w == uri.as_bytes()));
    /// ```
    #[must_use]
    pub fn crl_distribution_point(mut self, uri: &str) -> Self {
        self.crl_distribution_points.push(uri.to_owned());
        self
    }

    /// Adds a caIssuers URI to the authority information access extension: where the
    /// issuer's certificate can be fetched. Default: no such extension.
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let uri = "http://pki.example.test/issuing.crt";
    /// let leaf = Ca::root("Root").leaf("client").ca_issuers_url(uri).build();
    /// assert!(leaf.der().windows(uri.len()).any(|w| w == uri.as_bytes()));
    /// ```
    #[must_use]
    pub fn ca_issuers_url(mut self, uri: &str) -> Self {
        self.ca_issuers.push(uri.to_owned());
        self
    }

    /// Adds an OCSP responder URI (an authority information access entry with method
    /// id-ad-ocsp). Default: none (no authority information access extension).
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let uri = "http://ocsp.example.test/";
    /// let leaf = Ca::root("Root").leaf("client").ocsp_responder(uri).build();
    /// assert!(leaf.der().windows(uri.len()).any(|w| w == uri.as_bytes()));
    /// ```
    #[must_use]
    pub fn ocsp_responder(mut self, uri: &str) -> Self {
        self.ocsp_responders.push(uri.to_owned());
        self
    }

    fn params(&self, serial: &[u8]) -> CertificateParams {
        let mut params = base_params(&self.name, self.not_before, self.not_after);
        for (ty, value) in &self.subject {
            params.distinguished_name.push(ty.clone(), value.as_str());
        }
        params.subject_alt_names = self.sans.clone();
        params.extended_key_usages = self.ekus.clone();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if self.ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages.push(KeyUsagePurpose::KeyCertSign);
        }
        params.serial_number = Some(SerialNumber::from_slice(serial));
        if !self.crl_distribution_points.is_empty() {
            params.crl_distribution_points =
                vec![CrlDistributionPoint { uris: self.crl_distribution_points.clone() }];
        }
        if !self.ca_issuers.is_empty() || !self.ocsp_responders.is_empty() {
            params
                .custom_extensions
                .push(authority_info_access(&self.ca_issuers, &self.ocsp_responders));
        }
        params.use_authority_key_identifier_extension = self.issuer.is_some();
        params
    }

    fn serial_value(&self) -> Vec<u8> {
        match (&self.serial, self.issuer) {
            (Some(s), _) => s.clone(),
            (None, Some(issuer)) => issuer.next_serial(),
            (None, None) => vec![1],
        }
    }

    /// Issues the certificate.
    ///
    /// # Panics
    /// If rcgen refuses the parameters, or a self-signed certificate is asked for with a
    /// key type that has no private key.
    pub fn build(mut self) -> Leaf {
        let serial = self.serial_value();
        let params = self.params(&serial);
        let same_key = self.same_key.take();
        let (der, key) = match (self.issuer, self.key.fixed_spki()) {
            (Some(issuer), Some(spki)) if self.key == KeyType::EcdsaP192 => {
                let placeholder = KeyType::EcdsaP256.generate("a placeholder");
                let cert = params.signed_by(&placeholder, &issuer_of(issuer));
                let cert = cert.unwrap_or_else(|e| panic!("testkit: issuing a leaf: {e}"));
                (replace_spki(cert.der(), spki, &issuer.key), None)
            }
            (Some(issuer), Some(spki)) => {
                let info = spki::SubjectPublicKeyInfoOwned::from_der(spki)
                    .unwrap_or_else(|e| panic!("testkit: checked-in key: {e}"));
                let public = RsaPublicKey { key: info.subject_public_key.raw_bytes().to_vec() };
                let cert = params.signed_by(&public, &issuer_of(issuer));
                let cert = cert.unwrap_or_else(|e| panic!("testkit: issuing a leaf: {e}"));
                (cert.der().to_vec(), None)
            }
            (Some(issuer), None) => {
                let key = same_key.unwrap_or_else(|| self.key.generate("a leaf"));
                let cert = params.signed_by(&key, &issuer_of(issuer));
                let cert = cert.unwrap_or_else(|e| panic!("testkit: issuing a leaf: {e}"));
                (cert.der().to_vec(), Some(key))
            }
            (None, _) => {
                let key =
                    same_key.unwrap_or_else(|| self.key.generate("a self-signed certificate"));
                let cert = params.self_signed(&key);
                let cert = cert.unwrap_or_else(|e| panic!("testkit: self-signing: {e}"));
                (cert.der().to_vec(), Some(key))
            }
        };
        Leaf {
            der: CertificateDer::from(der),
            key,
            key_type: self.key,
            intermediates: self.issuer.map(|i| i.path.clone()).unwrap_or_default(),
            serial,
            params,
        }
    }

    /// Issues the certificate and keeps it as an issuer: a certificate that is *not* a CA
    /// (unless [`LeafBuilder::ca`] was set) but whose key can sign, for tests where a
    /// leaf issues another certificate.
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let root = Ca::root("Root");
    /// let not_a_ca = root.leaf("client-1").build_issuer();
    /// let victim = not_a_ca.leaf("issued-by-a-leaf").build();
    /// let cert = certauth::Certificate::from_der(victim.der())?;
    /// assert_eq!(cert.issuer().common_name(), Some("client-1"));
    /// assert_eq!(victim.chain().len(), 2);
    /// # Ok::<(), certauth::Error>(())
    /// ```
    ///
    /// # Panics
    /// If the key type has no private key here.
    pub fn build_issuer(self) -> Ca {
        let issuer = self.issuer;
        let name = self.name.clone();
        let leaf = self.build();
        let key =
            leaf.key.unwrap_or_else(|| panic!("testkit: an issuer needs a key with a private key"));
        let mut path = vec![leaf.der.clone()];
        if let Some(issuer) = issuer {
            path.extend(issuer.path.iter().cloned());
        }
        Ca {
            name,
            params: leaf.params,
            key,
            key_type: leaf.key_type,
            der: leaf.der,
            path,
            next_serial: AtomicU64::new(0x1000),
        }
    }
}

/// A builder for a self-signed certificate named `name`, with the [`LeafBuilder`]
/// defaults (clientAuth, P-256). Its key must have a private key.
pub fn self_signed(name: &str) -> LeafBuilder<'static> {
    LeafBuilder::new(name, None)
}

/// A self-signed client certificate named `name` with the defaults, e.g. for
/// pinned-certificate mode.
///
/// ```
/// let pinned = certauth::testkit::pki::self_signed_client("device-7");
/// let cert = certauth::Certificate::from_der(pinned.der())?;
/// assert!(cert.is_self_issued() && !cert.is_ca());
/// assert!(pinned.chain().len() == 1 && pinned.key_pem().is_some());
/// # Ok::<(), certauth::Error>(())
/// ```
pub fn self_signed_client(name: &str) -> Leaf {
    self_signed(name).build()
}

/// An issued client certificate, with its private key when one was generated and the
/// intermediates a client would send along.
pub struct Leaf {
    der: CertificateDer<'static>,
    pub(super) key: Option<KeyPair>,
    pub(super) key_type: KeyType,
    intermediates: Vec<CertificateDer<'static>>,
    pub(super) serial: Vec<u8>,
    params: CertificateParams,
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leaf")
            .field("thumbprint", &self.thumbprint())
            .field("intermediates", &self.intermediates.len())
            .finish_non_exhaustive()
    }
}

impl Leaf {
    /// The certificate's DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The certificate as PEM (64-character lines, LF, trailing newline).
    pub fn pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// The chain a client presents: this certificate, then the intermediates up to but
    /// excluding the root.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        let mut chain = Vec::with_capacity(1 + self.intermediates.len());
        chain.push(self.der.clone());
        chain.extend(self.intermediates.iter().cloned());
        chain
    }

    /// The intermediates alone (leaf and root excluded), issuing CA first.
    pub fn intermediates(&self) -> &[CertificateDer<'static>] {
        &self.intermediates
    }

    /// [`Leaf::chain`] as a [`PresentedChain`] from [`Source::Bytes`] in [`Format::Der`].
    ///
    /// # Panics
    /// If the chain is longer than [`Limits::default`] allows.
    pub fn presented(&self) -> PresentedChain {
        PresentedChain::new(self.chain(), Source::Bytes, Format::Der, &Limits::default())
            .unwrap_or_else(|e| panic!("testkit: {e}"))
    }

    /// The private key as PKCS#8 PEM, for a TLS client; `None` for the fixed public keys
    /// (RSA, P-192).
    pub fn key_pem(&self) -> Option<String> {
        self.key.as_ref().map(KeyPair::serialize_pem)
    }

    /// The SHA-256 thumbprint of the DER.
    pub fn thumbprint(&self) -> Thumbprint {
        Thumbprint::of(&self.der)
    }

    /// The serial number's big-endian magnitude bytes, as given or assigned.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The certificate parsed by certauth.
    ///
    /// # Panics
    /// If certauth cannot parse it (it always can).
    pub fn certificate(&self) -> Certificate {
        Certificate::from_der(&self.der).unwrap_or_else(|e| panic!("testkit: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{CLIENT_AUTH_OID, SERVER_AUTH_OID};

    fn ts(y: i64, m: u32, d: u32) -> Timestamp {
        Timestamp::from_utc(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn sans_and_spiffe_id() {
        let root = Ca::root("Root");
        let c = root
            .leaf("client-1")
            .dns("client-1.example.org")
            .spiffe("spiffe://example.org/ns/a/sa/b")
            .uri("https://example.org/id/1")
            .email("client-1@example.org")
            .ip("10.1.2.3".parse().unwrap())
            .ip("::1".parse().unwrap())
            .build()
            .certificate();
        assert_eq!(c.subject().to_rfc4514(), "CN=client-1");
        assert_eq!(c.issuer().to_rfc4514(), "CN=Root");
        assert_eq!(c.sans().dns(), ["client-1.example.org"]);
        assert_eq!(c.sans().uri(), ["spiffe://example.org/ns/a/sa/b", "https://example.org/id/1"]);
        assert_eq!(c.sans().email(), ["client-1@example.org"]);
        assert_eq!(c.sans().ip(), ["10.1.2.3".parse::<IpAddr>().unwrap(), "::1".parse().unwrap()]);
        let id = c.spiffe_id().unwrap();
        assert_eq!((id.trust_domain(), id.path()), ("example.org", "/ns/a/sa/b"));
        assert!(root.leaf("bare").build().certificate().sans().is_empty());
    }

    #[test]
    fn extended_key_usages() {
        let ca = Ca::root("Root");
        let default = ca.leaf("a").build().certificate();
        assert!(default.has_eku_extension() && default.has_eku(CLIENT_AUTH_OID));
        assert_eq!(default.extended_key_usages().len(), 1);
        assert!(default.key_usage().unwrap().digital_signature());

        let server = ca.leaf("b").eku_server_auth_only().build().certificate();
        assert!(server.has_eku(SERVER_AUTH_OID) && !server.has_eku(CLIENT_AUTH_OID));

        let none = ca.leaf("c").no_eku().build().certificate();
        assert!(!none.has_eku_extension() && none.extended_key_usages().is_empty());

        let custom = ca
            .leaf("d")
            .eku(&["1.3.6.1.5.5.7.3.4", CLIENT_AUTH_OID, "1.2.3.4.5"])
            .build()
            .certificate();
        let oids: Vec<_> = custom.extended_key_usages().iter().map(|e| e.oid()).collect();
        assert_eq!(oids, ["1.3.6.1.5.5.7.3.4", CLIENT_AUTH_OID, "1.2.3.4.5"]);

        let back = ca.leaf("e").no_eku().eku_client_auth().build().certificate();
        assert!(back.has_eku(CLIENT_AUTH_OID));
    }

    #[test]
    #[should_panic(expected = "not a dotted OID")]
    fn malformed_eku_oid_panics() {
        let _ = Ca::root("Root").leaf("x").eku(&["clientAuth"]);
    }

    #[test]
    fn validity_serial_and_ca_flag() {
        let ca = Ca::root("Root");
        let first = ca.leaf("a").build();
        let second = ca.leaf("b").build();
        assert_eq!(first.certificate().serial_hex(), "1000");
        assert_eq!(second.serial(), [0x10, 0x01]);
        let c = first.certificate();
        assert_eq!((c.not_before(), c.not_after()), (DEFAULT_NOT_BEFORE, DEFAULT_NOT_AFTER));
        assert_eq!(c.not_before().to_rfc3339(), "2020-01-01T00:00:00Z");
        assert_eq!(c.not_after().to_rfc3339(), "2040-01-01T00:00:00Z");
        assert!(!c.is_ca() && c.path_len_constraint().is_none());

        let expired = ca.leaf("old").valid(ts(2021, 1, 1), ts(2022, 1, 1)).build().certificate();
        assert_eq!(expired.not_after(), ts(2022, 1, 1));
        assert!(!expired.is_valid_at(ts(2026, 6, 1)));
        let future = ca.leaf("new").valid(ts(2030, 1, 1), ts(2031, 1, 1)).build().certificate();
        assert!(!future.is_valid_at(ts(2026, 6, 1)) && future.is_valid_at(ts(2030, 6, 1)));
        // After 2049: GeneralizedTime. (Before 1970 rcgen writes a UTCTime that the der
        // crate, and so certauth's model, cannot parse.)
        let odd = ca.leaf("odd").valid(ts(1999, 1, 1), ts(2060, 1, 1)).build().certificate();
        assert_eq!((odd.not_before(), odd.not_after()), (ts(1999, 1, 1), ts(2060, 1, 1)));

        let big = ca.leaf("s").serial(&[0x81; 20]).build();
        assert_eq!(big.certificate().serial_hex(), "81".repeat(20));
        assert_eq!(big.certificate().serial_bytes()[0], 0, "encoded positive");

        let ca_leaf = ca.leaf("ca-as-client").ca(true).build().certificate();
        assert!(ca_leaf.is_ca() && ca_leaf.has_eku(CLIENT_AUTH_OID));
        assert!(ca_leaf.key_usage().unwrap().key_cert_sign());
    }

    #[test]
    fn self_signed_and_leaf_as_issuer() {
        let pinned = self_signed_client("device-7");
        let c = pinned.certificate();
        assert!(c.is_self_issued() && !c.is_ca() && c.has_eku(CLIENT_AUTH_OID));
        assert_eq!(pinned.chain().len(), 1);

        let root = Ca::root("Root");
        let not_ca = root.leaf("client-1").build_issuer();
        let nc = Certificate::from_der(not_ca.der()).unwrap();
        assert!(!nc.is_ca() && !nc.key_usage().unwrap().key_cert_sign());
        let victim = not_ca.leaf("victim").build();
        assert_eq!(victim.certificate().issuer().common_name(), Some("client-1"));
        assert_eq!(victim.chain(), [victim.der().clone(), not_ca.der().clone()]);
    }

    #[test]
    fn subject_attributes() {
        let ca = Ca::root("Root");
        let c = ca
            .leaf("billing")
            .subject_attribute("C", "DE")
            .subject_attribute("O", "Example, Inc.")
            .subject_attribute("OU", "payments")
            .subject_attribute("1.2.840.113549.1.9.1", "ops@example.org")
            .build()
            .certificate();
        assert_eq!(c.subject().common_name(), Some("billing"));
        assert_eq!(
            c.subject().to_rfc4514(),
            r"emailAddress=ops@example.org,OU=payments,O=Example\, Inc.,C=DE,CN=billing"
        );
        let renamed = ca.leaf("a").subject_attribute("CN", "b").build().certificate();
        assert_eq!(renamed.subject().to_rfc4514(), "CN=b");
    }

    #[test]
    #[should_panic(expected = "not a dotted OID")]
    fn unknown_subject_attribute_panics() {
        let _ = Ca::root("Root").leaf("x").subject_attribute("emailAddress", "a@b");
    }

    #[test]
    fn same_key_as_another_leaf() {
        let ca = Ca::root("Root");
        let first = ca.leaf("a").key(KeyType::EcdsaP384).build();
        let second = ca.leaf("b").same_key_as(&first).build();
        assert_eq!(first.certificate().spki_der(), second.certificate().spki_der());
        assert_eq!(first.key_pem(), second.key_pem());
        let pinned = self_signed("device-7").build();
        let other = self_signed("device-8").same_key_as(&pinned).build();
        assert!(other.certificate().is_self_issued());
        assert_eq!(pinned.certificate().spki_der(), other.certificate().spki_der());
        // A fixed public key is the same key by its type.
        let rsa = ca.leaf("r").key(KeyType::Rsa2048).build();
        let again = ca.leaf("s").same_key_as(&rsa).build();
        assert_eq!(rsa.certificate().spki_der(), again.certificate().spki_der());
        assert!(again.key_pem().is_none());
        // A later key type wins.
        let fresh = ca.leaf("c").same_key_as(&first).key(KeyType::EcdsaP384).build();
        assert_ne!(fresh.certificate().spki_der(), first.certificate().spki_der());
    }
}
