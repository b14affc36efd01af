//! Builders for a throwaway PKI: roots, intermediates, client leaves and CRLs.
//!
//! Everything an X.509 verifier looks at is chosen by the caller and fixed: names,
//! validity, serial numbers, extensions. Only the key material is random (fresh keys on
//! every run), so the DER differs between runs but every parsed property is the same.
//! Validity defaults to [`DEFAULT_NOT_BEFORE`] .. [`DEFAULT_NOT_AFTER`]
//! (2020-01-01 .. 2040-01-01), so a test can pin its verification time anywhere in
//! between (for example 2026-06-01).
//!
//! The builders panic when rcgen refuses the input (for example a DNS name that is not
//! ASCII) or when a key type cannot do what was asked (an RSA CA): they are for tests,
//! where a panic with a clear message is the most useful error.
//!
//! ```
//! use certauth::testkit::pki::{Ca, KeyType};
//! use certauth::{Certificate, Timestamp};
//!
//! let root = Ca::root("Test Root");
//! let issuing = root.intermediate("Test Intermediate");
//! let leaf = issuing
//!     .leaf("client-1")
//!     .spiffe("spiffe://example.org/ns/a/sa/b")
//!     .key(KeyType::Rsa2048)
//!     .build();
//! let cert = Certificate::from_der(leaf.der())?;
//! assert_eq!(cert.key().bits(), Some(2048));
//! assert!(cert.is_valid_at(Timestamp::from_utc(2026, 6, 1, 0, 0, 0).unwrap()));
//! assert_eq!(leaf.chain().len(), 2); // leaf + intermediate, root excluded
//! assert!(leaf.key_pem().is_none()); // RSA leaves are public-key only
//! # Ok::<(), certauth::Error>(())
//! ```

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use der::{Decode as _, Encode as _};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CidrSubnet, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    NameConstraints, PublicKeyData, RevokedCertParams, SanType, SerialNumber, SignatureAlgorithm,
    SigningKey,
};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};

use crate::input::{Format, Limits, PresentedChain, Source};
use crate::{Certificate, Thumbprint, Timestamp};

/// Default start of validity of every certificate and `thisUpdate` of every CRL:
/// 2020-01-01T00:00:00Z.
pub const DEFAULT_NOT_BEFORE: Timestamp = Timestamp::from_unix_secs(1_577_836_800);

/// Default end of validity of every certificate and `nextUpdate` of every CRL:
/// 2040-01-01T00:00:00Z.
pub const DEFAULT_NOT_AFTER: Timestamp = Timestamp::from_unix_secs(2_208_988_800);

/// The CRL number extension's OID (RFC 5280 5.2.3).
const CRL_NUMBER_OID: &str = "2.5.29.20";

/// A key algorithm and size for a certificate's subject key.
///
/// Default: [`KeyType::EcdsaP256`].
///
/// ECDSA P-256 / P-384 and Ed25519 keys are generated fresh (ring) and can sign: they can
/// be used for CAs, and [`Leaf::key_pem`] returns them for TLS clients. ring cannot
/// generate RSA keys and nothing here knows P-192, so [`KeyType::Rsa1024`],
/// [`KeyType::Rsa2048`], [`KeyType::Rsa4096`] and [`KeyType::EcdsaP192`] are fixed
/// *public* keys checked in under `src/testkit/keys/` (their private keys were thrown
/// away): enough for a leaf, which never signs during verification, but not for a CA, a
/// self-signed certificate or a TLS handshake.
///
/// ```
/// use certauth::testkit::pki::{Ca, KeyType};
/// let leaf = Ca::root("Root").leaf("weak").key(KeyType::Rsa1024).build();
/// let cert = certauth::Certificate::from_der(leaf.der())?;
/// assert_eq!((cert.key().type_name(), cert.key().bits()), ("rsa", Some(1024)));
/// # Ok::<(), certauth::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// ECDSA on NIST P-256, signing with SHA-256. The default.
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384, signing with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// A fixed RSA-1024 public key (too weak for certauth's default key policy).
    Rsa1024,
    /// A fixed RSA-2048 public key.
    Rsa2048,
    /// A fixed RSA-4096 public key.
    Rsa4096,
    /// A fixed ECDSA P-192 public key (too weak for certauth's default key policy).
    /// rcgen cannot encode this curve, so the certificate is issued for a P-256 key and
    /// its SubjectPublicKeyInfo replaced before the issuer signs it.
    EcdsaP192,
}

impl KeyType {
    /// Whether a private key is generated for this type (so it can sign and
    /// [`Leaf::key_pem`] returns it). False for the fixed public keys.
    pub fn has_private_key(self) -> bool {
        self.algorithm().is_some()
    }

    fn algorithm(self) -> Option<&'static SignatureAlgorithm> {
        match self {
            Self::EcdsaP256 => Some(&rcgen::PKCS_ECDSA_P256_SHA256),
            Self::EcdsaP384 => Some(&rcgen::PKCS_ECDSA_P384_SHA384),
            Self::Ed25519 => Some(&rcgen::PKCS_ED25519),
            Self::Rsa1024 | Self::Rsa2048 | Self::Rsa4096 | Self::EcdsaP192 => None,
        }
    }

    /// The checked-in SubjectPublicKeyInfo DER of a public-only key type.
    fn fixed_spki(self) -> Option<&'static [u8]> {
        match self {
            Self::Rsa1024 => Some(include_bytes!("keys/rsa1024.der")),
            Self::Rsa2048 => Some(include_bytes!("keys/rsa2048.der")),
            Self::Rsa4096 => Some(include_bytes!("keys/rsa4096.der")),
            Self::EcdsaP192 => Some(include_bytes!("keys/p192.der")),
            Self::EcdsaP256 | Self::EcdsaP384 | Self::Ed25519 => None,
        }
    }

    fn generate(self, what: &str) -> KeyPair {
        let alg = self.algorithm().unwrap_or_else(|| {
            panic!("testkit: {what} needs a private key, and {self:?} has none here (use an EC or Ed25519 key)")
        });
        KeyPair::generate_for(alg).unwrap_or_else(|e| panic!("testkit: key generation: {e}"))
    }
}

/// An RSA public key without its private key, as rcgen's [`PublicKeyData`].
struct RsaPublicKey {
    key: Vec<u8>,
}

impl PublicKeyData for RsaPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.key
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        // Only its SubjectPublicKeyInfo algorithm identifier (rsaEncryption) is used.
        &rcgen::PKCS_RSA_SHA256
    }
}

/// A [`Timestamp`] as rcgen's `time::OffsetDateTime`, without naming the `time` crate
/// (a macro, so certauth needs no direct dependency on it).
macro_rules! to_offset {
    ($t:expr) => {{
        let secs: i64 = Timestamp::as_unix_secs($t);
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let d = std::time::Duration::from_secs(secs.unsigned_abs());
        if secs >= 0 { epoch + d } else { epoch - d }
    }};
}

fn serial_bytes(n: u64) -> Vec<u8> {
    let b = n.to_be_bytes();
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1);
    b[first..].to_vec()
}

/// Parses a dotted OID into arcs.
fn oid_arcs(dotted: &str) -> Vec<u64> {
    let arcs: Option<Vec<u64>> = dotted.split('.').map(|a| a.parse().ok()).collect();
    match arcs {
        Some(a) if a.len() >= 2 => a,
        _ => panic!("testkit: {dotted:?} is not a dotted OID"),
    }
}

fn eku_purpose(dotted: &str) -> ExtendedKeyUsagePurpose {
    match dotted {
        crate::cert::CLIENT_AUTH_OID => ExtendedKeyUsagePurpose::ClientAuth,
        crate::cert::SERVER_AUTH_OID => ExtendedKeyUsagePurpose::ServerAuth,
        "2.5.29.37.0" => ExtendedKeyUsagePurpose::Any,
        other => ExtendedKeyUsagePurpose::Other(oid_arcs(other)),
    }
}

fn ia5(what: &str, s: &str) -> rcgen::string::Ia5String {
    rcgen::string::Ia5String::try_from(s)
        .unwrap_or_else(|e| panic!("testkit: {what} {s:?} is not IA5 (ASCII): {e}"))
}

/// PEM with 64-character lines and LF line endings, as OpenSSL writes it.
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn base_params(name: &str, not_before: Timestamp, not_after: Timestamp) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.not_before = to_offset!(not_before);
    params.not_after = to_offset!(not_after);
    params.key_identifier_method = KeyIdMethod::Sha256;
    params
}

/// Replaces the SubjectPublicKeyInfo of `cert` with `spki` and signs the result again
/// with `key`. For key types rcgen cannot encode.
fn replace_spki(cert: &[u8], spki: &[u8], key: &KeyPair) -> Vec<u8> {
    let surgery = || -> der::Result<Vec<u8>> {
        let outer = Vec::<der::Any>::from_der(cert)?;
        let [tbs, alg, _sig] = <[der::Any; 3]>::try_from(outer)
            .map_err(|_| der::Error::from(der::ErrorKind::Length { tag: der::Tag::Sequence }))?;
        let mut fields = Vec::<der::Any>::from_der(&tbs.to_der()?)?;
        // version [0], serial, signature, issuer, validity, subject, subjectPublicKeyInfo
        let slot = fields
            .get_mut(6)
            .ok_or_else(|| der::Error::from(der::ErrorKind::Length { tag: der::Tag::Sequence }))?;
        *slot = der::Any::from_der(spki)?;
        let tbs = fields.to_der()?;
        let sig = key.sign(&tbs).map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
        let sig = der::asn1::BitString::from_bytes(&sig)?;
        let parts = vec![der::Any::from_der(&tbs)?, alg, der::Any::from_der(&sig.to_der()?)?];
        parts.to_der()
    };
    surgery().unwrap_or_else(|e| panic!("testkit: replacing the public key: {e}"))
}

/// Everything that can issue: a CA, or a leaf used as an issuer in negative tests.
fn issuer_of(ca: &Ca) -> Issuer<'_, &KeyPair> {
    Issuer::from_params(&ca.params, &ca.key)
}

// ---------------------------------------------------------------------------------------
// Ca
// ---------------------------------------------------------------------------------------

/// A certificate authority of the throwaway PKI: a certificate and its private key.
///
/// Make a root with [`Ca::root`] (defaults) or [`Ca::builder`]; make intermediates with
/// [`Ca::intermediate`] or [`Ca::sub_ca`]; issue client certificates with [`Ca::leaf`]
/// and CRLs with [`Ca::crl`].
///
/// Default CA: CN = the given name, ECDSA P-256 key, validity
/// [`DEFAULT_NOT_BEFORE`] .. [`DEFAULT_NOT_AFTER`], basicConstraints CA:TRUE without a
/// path length, key usage keyCertSign + cRLSign + digitalSignature, no name constraints.
/// Serial numbers of the certificates it issues count up from 0x1000.
///
/// ```
/// use certauth::testkit::pki::Ca;
/// let root = Ca::root("Test Root");
/// let cert = certauth::Certificate::from_der(root.der())?;
/// assert!(cert.is_ca() && cert.is_self_issued());
/// assert!(cert.key_usage().unwrap().crl_sign());
/// # Ok::<(), certauth::Error>(())
/// ```
pub struct Ca {
    name: String,
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
    /// This CA and its issuers up to, excluding, the root (empty for a root).
    path: Vec<CertificateDer<'static>>,
    next_serial: AtomicU64,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("name", &self.name)
            .field("thumbprint", &Thumbprint::of(&self.der))
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A self-signed root CA named `name` with the defaults (see [`Ca`]).
    ///
    /// ```
    /// let root = certauth::testkit::pki::Ca::root("Test Root");
    /// assert!(root.pem().starts_with("-----BEGIN CERTIFICATE-----\n"));
    /// ```
    pub fn root(name: &str) -> Ca {
        Self::builder(name).build()
    }

    /// A builder for a self-signed root CA named `name`, starting from the defaults.
    ///
    /// ```
    /// use certauth::testkit::pki::{Ca, KeyType};
    /// let root = Ca::builder("Constrained Root").key(KeyType::EcdsaP384).path_len(1).build();
    /// let cert = certauth::Certificate::from_der(root.der())?;
    /// assert_eq!(cert.path_len_constraint(), Some(1));
    /// # Ok::<(), certauth::Error>(())
    /// ```
    pub fn builder(name: &str) -> CaBuilder<'static> {
        CaBuilder::new(name, None)
    }

    /// An intermediate CA named `name`, issued by this CA, with the defaults.
    pub fn intermediate(&self, name: &str) -> Ca {
        self.sub_ca(name).build()
    }

    /// A builder for an intermediate CA named `name`, issued by this CA.
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let root = Ca::root("Root");
    /// let no_crl = root.sub_ca("Issuing CA without cRLSign").without_crl_sign().build();
    /// let cert = certauth::Certificate::from_der(no_crl.der())?;
    /// assert!(!cert.key_usage().unwrap().crl_sign());
    /// # Ok::<(), certauth::Error>(())
    /// ```
    pub fn sub_ca(&self, name: &str) -> CaBuilder<'_> {
        CaBuilder::new(name, Some(self))
    }

    /// A builder for a client certificate named `name` (its subject CN), issued by this
    /// CA. See [`LeafBuilder`] for the defaults.
    pub fn leaf(&self, name: &str) -> LeafBuilder<'_> {
        LeafBuilder::new(name, Some(self))
    }

    /// A builder for a CRL signed by this CA. See [`CrlBuilder`] for the defaults.
    pub fn crl(&self) -> CrlBuilder<'_> {
        CrlBuilder {
            ca: self,
            this_update: DEFAULT_NOT_BEFORE,
            next_update: DEFAULT_NOT_AFTER,
            number: Some(1),
            revoked: Vec::new(),
        }
    }

    /// The subject CN given when it was built.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA certificate's DER.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The CA certificate as PEM (64-character lines, LF, trailing newline).
    pub fn pem(&self) -> String {
        pem("CERTIFICATE", &self.der)
    }

    /// The CA's private key as PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    fn next_serial(&self) -> Vec<u8> {
        serial_bytes(self.next_serial.fetch_add(1, Ordering::Relaxed))
    }
}

/// Builder for a [`Ca`], from [`Ca::builder`] (a root) or [`Ca::sub_ca`] (an
/// intermediate). Defaults as described on [`Ca`].
pub struct CaBuilder<'a> {
    name: String,
    issuer: Option<&'a Ca>,
    key: KeyType,
    not_before: Timestamp,
    not_after: Timestamp,
    path_len: Option<u8>,
    crl_sign: bool,
    serial: Option<Vec<u8>>,
    permitted: Vec<GeneralSubtree>,
    excluded: Vec<GeneralSubtree>,
}

impl fmt::Debug for CaBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBuilder")
            .field("name", &self.name)
            .field("issuer", &self.issuer.map(Ca::name))
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<'a> CaBuilder<'a> {
    fn new(name: &str, issuer: Option<&'a Ca>) -> Self {
        Self {
            name: name.to_owned(),
            issuer,
            key: KeyType::default(),
            not_before: DEFAULT_NOT_BEFORE,
            not_after: DEFAULT_NOT_AFTER,
            path_len: None,
            crl_sign: true,
            serial: None,
            permitted: Vec::new(),
            excluded: Vec::new(),
        }
    }

    /// The CA's key type. Default [`KeyType::EcdsaP256`]. Only types with a private key
    /// ([`KeyType::has_private_key`]) can sign; [`CaBuilder::build`] panics on others.
    #[must_use]
    pub fn key(mut self, key: KeyType) -> Self {
        self.key = key;
        self
    }

    /// Validity period. Default [`DEFAULT_NOT_BEFORE`] .. [`DEFAULT_NOT_AFTER`].
    #[must_use]
    pub fn valid(mut self, not_before: Timestamp, not_after: Timestamp) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }

    /// The basicConstraints path length: how many intermediates may follow this CA.
    /// Default: none (unconstrained).
    #[must_use]
    pub fn path_len(mut self, n: u8) -> Self {
        self.path_len = Some(n);
        self
    }

    /// Leaves cRLSign out of the key usage (keyCertSign + digitalSignature only), for
    /// tests where a CRL's issuer is not allowed to sign CRLs. Default: cRLSign present.
    /// [`Ca::crl`] still signs CRLs with such a CA.
    #[must_use]
    pub fn without_crl_sign(mut self) -> Self {
        self.crl_sign = false;
        self
    }

    /// The serial number (big-endian magnitude bytes). Default: the issuer's next serial
    /// (roots: 1).
    #[must_use]
    pub fn serial(mut self, serial: &[u8]) -> Self {
        self.serial = Some(serial.to_vec());
        self
    }

    /// Adds a permitted DNS subtree to the name constraints (e.g. `"example.org"`).
    /// Default: no name constraints extension.
    #[must_use]
    pub fn permit_dns(mut self, domain: &str) -> Self {
        self.permitted.push(GeneralSubtree::DnsName(domain.to_owned()));
        self
    }

    /// Adds an excluded DNS subtree to the name constraints.
    #[must_use]
    pub fn exclude_dns(mut self, domain: &str) -> Self {
        self.excluded.push(GeneralSubtree::DnsName(domain.to_owned()));
        self
    }

    /// Adds a permitted e-mail (rfc822Name) subtree to the name constraints.
    #[must_use]
    pub fn permit_email(mut self, constraint: &str) -> Self {
        self.permitted.push(GeneralSubtree::Rfc822Name(constraint.to_owned()));
        self
    }

    /// Adds a permitted IP range (`addr`/`prefix`) to the name constraints.
    #[must_use]
    pub fn permit_ip(mut self, addr: IpAddr, prefix: u8) -> Self {
        self.permitted.push(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(addr, prefix)));
        self
    }

    /// Generates the key and issues the CA certificate (self-signed for a root).
    ///
    /// # Panics
    /// If the key type has no private key here, or rcgen refuses the parameters.
    pub fn build(self) -> Ca {
        let key = self.key.generate("a CA");
        let mut params = base_params(&self.name, self.not_before, self.not_after);
        params.is_ca = IsCa::Ca(match self.path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        if self.crl_sign {
            params.key_usages.push(KeyUsagePurpose::CrlSign);
        }
        if !self.permitted.is_empty() || !self.excluded.is_empty() {
            params.name_constraints = Some(NameConstraints {
                permitted_subtrees: self.permitted,
                excluded_subtrees: self.excluded,
            });
        }
        let serial = match (self.serial, self.issuer) {
            (Some(s), _) => s,
            (None, Some(issuer)) => issuer.next_serial(),
            (None, None) => vec![1],
        };
        params.serial_number = Some(SerialNumber::from_slice(&serial));
        let (cert, path) = match self.issuer {
            Some(issuer) => {
                params.use_authority_key_identifier_extension = true;
                let cert = params.signed_by(&key, &issuer_of(issuer));
                let cert = cert.unwrap_or_else(|e| panic!("testkit: issuing a CA: {e}"));
                let mut path = vec![cert.der().clone()];
                path.extend(issuer.path.iter().cloned());
                (cert, path)
            }
            None => {
                let cert = params.self_signed(&key);
                (cert.unwrap_or_else(|e| panic!("testkit: self-signing a CA: {e}")), Vec::new())
            }
        };
        Ca {
            name: self.name,
            params,
            key,
            der: cert.der().clone(),
            path,
            next_serial: AtomicU64::new(0x1000),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Leaf
// ---------------------------------------------------------------------------------------

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
    sans: Vec<SanType>,
    ekus: Vec<ExtendedKeyUsagePurpose>,
    key: KeyType,
    not_before: Timestamp,
    not_after: Timestamp,
    serial: Option<Vec<u8>>,
    ca: bool,
}

impl fmt::Debug for LeafBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafBuilder")
            .field("name", &self.name)
            .field("issuer", &self.issuer.map(Ca::name))
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl<'a> LeafBuilder<'a> {
    fn new(name: &str, issuer: Option<&'a Ca>) -> Self {
        Self {
            name: name.to_owned(),
            issuer,
            sans: Vec::new(),
            ekus: vec![ExtendedKeyUsagePurpose::ClientAuth],
            key: KeyType::default(),
            not_before: DEFAULT_NOT_BEFORE,
            not_after: DEFAULT_NOT_AFTER,
            serial: None,
            ca: false,
        }
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
    /// [`crate::cert::CLIENT_AUTH_OID`], `"1.3.6.1.5.5.7.3.4"`). An empty slice is the
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

    fn params(&self, serial: &[u8]) -> CertificateParams {
        let mut params = base_params(&self.name, self.not_before, self.not_after);
        params.subject_alt_names = self.sans.clone();
        params.extended_key_usages = self.ekus.clone();
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if self.ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages.push(KeyUsagePurpose::KeyCertSign);
        }
        params.serial_number = Some(SerialNumber::from_slice(serial));
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
    pub fn build(self) -> Leaf {
        let serial = self.serial_value();
        let params = self.params(&serial);
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
                let key = self.key.generate("a leaf");
                let cert = params.signed_by(&key, &issuer_of(issuer));
                let cert = cert.unwrap_or_else(|e| panic!("testkit: issuing a leaf: {e}"));
                (cert.der().to_vec(), Some(key))
            }
            (None, _) => {
                let key = self.key.generate("a self-signed certificate");
                let cert = params.self_signed(&key);
                let cert = cert.unwrap_or_else(|e| panic!("testkit: self-signing: {e}"));
                (cert.der().to_vec(), Some(key))
            }
        };
        Leaf {
            der: CertificateDer::from(der),
            key,
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
    key: Option<KeyPair>,
    intermediates: Vec<CertificateDer<'static>>,
    serial: Vec<u8>,
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

// ---------------------------------------------------------------------------------------
// CRLs
// ---------------------------------------------------------------------------------------

/// Builder for a [`Crl`], from [`Ca::crl`].
///
/// Defaults: no revoked certificates, `thisUpdate` [`DEFAULT_NOT_BEFORE`], `nextUpdate`
/// [`DEFAULT_NOT_AFTER`], CRL number 1 (non-critical), signed by the CA's key (even when
/// the CA lacks cRLSign, see [`CaBuilder::without_crl_sign`]). A revocation date is the
/// CRL's `thisUpdate`.
///
/// ```
/// use certauth::testkit::pki::Ca;
/// let ca = Ca::root("Root");
/// let leaf = ca.leaf("client-1").build();
/// let crl = ca.crl().revoke(&leaf).revoke_serial(&[0x7f]).number(42).build();
/// assert!(crl.pem().starts_with("-----BEGIN X509 CRL-----\n"));
/// ```
#[derive(Debug)]
pub struct CrlBuilder<'a> {
    ca: &'a Ca,
    this_update: Timestamp,
    next_update: Timestamp,
    number: Option<u64>,
    revoked: Vec<Vec<u8>>,
}

impl CrlBuilder<'_> {
    /// Lists `leaf`'s serial number as revoked.
    #[must_use]
    pub fn revoke(mut self, leaf: &Leaf) -> Self {
        self.revoked.push(leaf.serial.clone());
        self
    }

    /// Lists a serial number (big-endian magnitude bytes) as revoked.
    #[must_use]
    pub fn revoke_serial(mut self, serial: &[u8]) -> Self {
        self.revoked.push(serial.to_vec());
        self
    }

    /// `thisUpdate`. Default [`DEFAULT_NOT_BEFORE`].
    #[must_use]
    pub fn this_update(mut self, t: Timestamp) -> Self {
        self.this_update = t;
        self
    }

    /// `nextUpdate` (must be after `thisUpdate`). Default [`DEFAULT_NOT_AFTER`].
    #[must_use]
    pub fn next_update(mut self, t: Timestamp) -> Self {
        self.next_update = t;
        self
    }

    /// The CRL number. Default 1.
    #[must_use]
    pub fn number(mut self, n: u64) -> Self {
        self.number = Some(n);
        self
    }

    /// Leaves out the CRL number extension, which RFC 5280 requires, for negative tests.
    /// rcgen always writes it, so it is removed afterwards and the CRL signed again.
    #[must_use]
    pub fn without_number(mut self) -> Self {
        self.number = None;
        self
    }

    /// Signs the CRL.
    ///
    /// # Panics
    /// If `nextUpdate` is not after `thisUpdate`, or rcgen refuses the parameters.
    pub fn build(self) -> Crl {
        let params = CertificateRevocationListParams {
            this_update: to_offset!(self.this_update),
            next_update: to_offset!(self.next_update),
            crl_number: SerialNumber::from_slice(&serial_bytes(self.number.unwrap_or(1))),
            issuing_distribution_point: None,
            revoked_certs: self
                .revoked
                .iter()
                .map(|serial| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(serial),
                    revocation_time: to_offset!(self.this_update),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        // rcgen refuses issuers without cRLSign; the key usages are not part of the CRL, so
        // sign with an issuer that does not list them.
        let mut issuer_params = self.ca.params.clone();
        issuer_params.key_usages.clear();
        let issuer = Issuer::new(issuer_params, &self.ca.key);
        let crl =
            params.signed_by(&issuer).unwrap_or_else(|e| panic!("testkit: signing a CRL: {e}"));
        let der = match self.number {
            Some(_) => crl.der().to_vec(),
            None => remove_crl_number(crl.der(), &self.ca.key),
        };
        Crl { der: CertificateRevocationListDer::from(der) }
    }
}

fn remove_crl_number(crl: &[u8], key: &KeyPair) -> Vec<u8> {
    let edit = || -> der::Result<Vec<u8>> {
        let mut list: x509_cert::crl::CertificateList = der::Decode::from_der(crl)?;
        if let Some(exts) = list.tbs_cert_list.crl_extensions.as_mut() {
            exts.retain(|e| e.extn_id.to_string() != CRL_NUMBER_OID);
        }
        let tbs = list.tbs_cert_list.to_der()?;
        let sig = key.sign(&tbs).map_err(|_| der::Error::from(der::ErrorKind::Failed))?;
        list.signature = der::asn1::BitString::from_bytes(&sig)?;
        list.to_der()
    };
    edit().unwrap_or_else(|e| panic!("testkit: removing the CRL number: {e}"))
}

/// A signed certificate revocation list.
#[derive(Clone, Debug)]
pub struct Crl {
    der: CertificateRevocationListDer<'static>,
}

impl Crl {
    /// The CRL's DER.
    pub fn der(&self) -> &CertificateRevocationListDer<'static> {
        &self.der
    }

    /// The CRL as PEM (`X509 CRL` label, 64-character lines, LF).
    pub fn pem(&self) -> String {
        pem("X509 CRL", &self.der)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::{CLIENT_AUTH_OID, Curve, PublicKeyInfo, SERVER_AUTH_OID};
    use x509_cert::crl::CertificateList;

    fn ts(y: i64, m: u32, d: u32) -> Timestamp {
        Timestamp::from_utc(y, m, d, 0, 0, 0).unwrap()
    }

    fn parse_crl(crl: &Crl) -> CertificateList {
        der::Decode::from_der(crl.der()).unwrap()
    }

    fn crl_number(list: &CertificateList) -> Option<Vec<u8>> {
        let exts = list.tbs_cert_list.crl_extensions.as_ref()?;
        let ext = exts.iter().find(|e| e.extn_id.to_string() == CRL_NUMBER_OID)?;
        assert!(!ext.critical, "the CRL number is not critical");
        let n = der::asn1::Int::from_der(ext.extn_value.as_bytes()).unwrap();
        Some(n.as_bytes().to_vec())
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
    fn key_types_and_sizes() {
        let ca = Ca::root("Root");
        for (key, want, private) in [
            (KeyType::EcdsaP256, PublicKeyInfo::Ec { curve: Curve::P256 }, true),
            (KeyType::EcdsaP384, PublicKeyInfo::Ec { curve: Curve::P384 }, true),
            (KeyType::Ed25519, PublicKeyInfo::Ed25519, true),
            (KeyType::Rsa1024, PublicKeyInfo::Rsa { bits: 1024 }, false),
            (KeyType::Rsa2048, PublicKeyInfo::Rsa { bits: 2048 }, false),
            (KeyType::Rsa4096, PublicKeyInfo::Rsa { bits: 4096 }, false),
            (KeyType::EcdsaP192, PublicKeyInfo::Ec { curve: Curve::P192 }, false),
        ] {
            let leaf = ca.leaf("k").key(key).dns("k.example.org").build();
            let c = leaf.certificate();
            assert_eq!(c.key(), &want, "{key:?}");
            assert_eq!(leaf.key_pem().is_some(), private, "{key:?}");
            assert_eq!(key.has_private_key(), private);
            // The issuer's key signs, whatever the subject key.
            assert_eq!(c.signature_algorithm().name(), "ecdsa-with-SHA256", "{key:?}");
            assert_eq!(c.sans().dns(), ["k.example.org"], "{key:?}");
            if let Some(pem) = leaf.key_pem() {
                assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
            }
        }
        assert_eq!(KeyType::default(), KeyType::EcdsaP256);
        let ed_ca = Ca::builder("Ed Root").key(KeyType::Ed25519).build();
        let c = ed_ca.leaf("x").build().certificate();
        assert_eq!(c.signature_algorithm().name(), "ed25519");
        let p384 = Ca::builder("P-384 Root").key(KeyType::EcdsaP384).build();
        assert_eq!(
            p384.leaf("x").build().certificate().signature_algorithm().name(),
            "ecdsa-with-SHA384"
        );
    }

    /// The P-192 leaf is made by replacing the public key after rcgen signed it: the
    /// certificate must still be exactly one well-formed certificate whose other fields
    /// survived, and its signature must be over the new TBS (checked against openssl by
    /// hand: `openssl verify -CAfile root.pem leaf.pem` says OK).
    #[test]
    fn p192_surgery_keeps_everything_else() {
        let ca = Ca::root("Root");
        let p256 = ca.leaf("same").serial(&[9]).spiffe("spiffe://example.org/x").build();
        let p192 = ca
            .leaf("same")
            .serial(&[9])
            .spiffe("spiffe://example.org/x")
            .key(KeyType::EcdsaP192)
            .build();
        let (a, b) = (p256.certificate(), p192.certificate());
        assert_eq!(a.subject(), b.subject());
        assert_eq!(a.issuer(), b.issuer());
        assert_eq!(a.serial_hex(), b.serial_hex());
        assert_eq!(a.sans(), b.sans());
        assert_eq!((a.not_before(), a.not_after()), (b.not_before(), b.not_after()));
        assert_eq!(b.spki_der(), include_bytes!("keys/p192.der"));
    }

    #[test]
    #[should_panic(expected = "needs a private key")]
    fn rsa_ca_panics() {
        let _ = Ca::builder("RSA Root").key(KeyType::Rsa2048).build();
    }

    #[test]
    #[should_panic(expected = "needs a private key")]
    fn self_signed_rsa_panics() {
        let _ = self_signed("x").key(KeyType::Rsa2048).build();
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
    fn cas_chains_and_constraints() {
        let root = Ca::builder("Root").path_len(2).permit_dns("example.org").build();
        let r = Certificate::from_der(root.der()).unwrap();
        assert!(r.is_ca() && r.is_self_issued() && r.path_len_constraint() == Some(2));
        assert_eq!(r.serial_hex(), "01");
        let ku = r.key_usage().unwrap();
        assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
        let x509 = <x509_cert::Certificate as der::Decode>::from_der(root.der()).unwrap();
        let (_, nc) = x509
            .tbs_certificate()
            .get_extension::<x509_cert::ext::pkix::NameConstraints>()
            .unwrap()
            .unwrap();
        assert_eq!(nc.permitted_subtrees.unwrap().len(), 1);
        assert!(nc.excluded_subtrees.is_none());
        assert!(root.key_pem().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(root.name(), "Root");

        let i1 = root.intermediate("Issuing 1");
        let i2 = i1.sub_ca("Issuing 2").path_len(0).without_crl_sign().build();
        let c2 = Certificate::from_der(i2.der()).unwrap();
        assert_eq!(c2.issuer().common_name(), Some("Issuing 1"));
        assert_eq!(c2.path_len_constraint(), Some(0));
        assert!(!c2.key_usage().unwrap().crl_sign());
        assert_eq!(Certificate::from_der(i1.der()).unwrap().serial_hex(), "1000");

        let leaf = i2.leaf("deep").build();
        assert_eq!(leaf.chain(), [leaf.der().clone(), i2.der().clone(), i1.der().clone()]);
        assert_eq!(leaf.intermediates(), [i2.der().clone(), i1.der().clone()]);
        let presented = leaf.presented();
        assert_eq!(presented.source(), &Source::Bytes);
        assert_eq!(presented.certificates(), leaf.chain());
        assert_eq!(leaf.thumbprint(), Thumbprint::of(leaf.der()));
        assert!(leaf.pem().starts_with("-----BEGIN CERTIFICATE-----\nMII"));
        assert!(leaf.pem().lines().all(|l| l.len() <= 64));
        assert_eq!(root.leaf("direct").build().chain().len(), 1);
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
    fn crls() {
        let ca = Ca::root("Issuing");
        let leaf = ca.leaf("revoked").serial(&[0x3a, 0x5f, 0x01]).build();
        let crl = ca
            .crl()
            .revoke(&leaf)
            .revoke_serial(&[0x81])
            .this_update(ts(2026, 1, 1))
            .next_update(ts(2026, 2, 1))
            .number(4242)
            .build();
        let list = parse_crl(&crl);
        let tbs = &list.tbs_cert_list;
        let issuer = Certificate::from_der(ca.der()).unwrap();
        assert_eq!(der::Encode::to_der(&tbs.issuer).unwrap(), issuer.subject().der());
        let revoked: Vec<_> = tbs
            .revoked_certificates
            .as_ref()
            .unwrap()
            .iter()
            .map(|r| r.serial_number.as_bytes().to_vec())
            .collect();
        assert_eq!(revoked, [vec![0x3a, 0x5f, 0x01], vec![0x00, 0x81]]);
        assert_eq!(tbs.this_update.to_unix_duration().as_secs(), 1_767_225_600);
        let next = tbs.next_update.as_ref().unwrap().to_unix_duration().as_secs();
        assert_eq!(i64::try_from(next).unwrap(), ts(2026, 2, 1).as_unix_secs());
        assert_eq!(crl_number(&list), Some(vec![0x10, 0x92]));
        assert!(crl.pem().starts_with("-----BEGIN X509 CRL-----\n"));

        let defaults = parse_crl(&ca.crl().build());
        assert_eq!(crl_number(&defaults), Some(vec![1]));
        assert!(defaults.tbs_cert_list.revoked_certificates.is_none());
        let this = defaults.tbs_cert_list.this_update.to_unix_duration().as_secs();
        assert_eq!(i64::try_from(this).unwrap(), DEFAULT_NOT_BEFORE.as_unix_secs());

        let without = ca.crl().revoke(&leaf).without_number().build();
        let list = parse_crl(&without);
        assert_eq!(crl_number(&list), None);
        let exts = list.tbs_cert_list.crl_extensions.as_ref().unwrap();
        assert_eq!(exts.len(), 1, "the authority key identifier stays");
        assert_eq!(list.tbs_cert_list.revoked_certificates.as_ref().unwrap().len(), 1);
    }

    #[test]
    fn crl_from_a_ca_without_crl_sign() {
        let root = Ca::root("Root");
        let no_crl_sign = root.sub_ca("No cRLSign").without_crl_sign().build();
        let list = parse_crl(&no_crl_sign.crl().number(2).build());
        assert_eq!(crl_number(&list), Some(vec![2]));
    }

    #[test]
    #[should_panic(expected = "signing a CRL")]
    fn crl_next_update_before_this_update_panics() {
        let ca = Ca::root("Root");
        let _ = ca.crl().this_update(ts(2026, 2, 1)).next_update(ts(2026, 1, 1)).build();
    }

    #[test]
    fn debug_shows_no_key_material() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client-1").build();
        for s in [format!("{ca:?}"), format!("{leaf:?}"), format!("{:?}", ca.leaf("b"))] {
            assert!(!s.contains("PRIVATE") && !s.contains("MII"), "{s}");
        }
    }
}
