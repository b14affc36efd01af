//! [`Certificate`]: the parsed view of one X.509 certificate.
//!
//! Everything is parsed once, in [`Certificate::from_der`]: names, SANs, SPIFFE ID,
//! validity, serial, key type and size, signature algorithm, extended key usages, key
//! usage and basic constraints, and the SHA-256 thumbprint.

use std::fmt;
use std::net::IpAddr;

use der::{Decode as _, Encode as _};
use rustls_pki_types::CertificateDer;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{self as pkix};

use crate::der_reader;
use crate::error::{Error, Result};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;

mod name;
pub(crate) mod name_constraints;
mod spiffe;

pub use name::{Attribute, DistinguishedName, RelativeDistinguishedName};
pub use spiffe::SpiffeId;

/// The clientAuth extended key usage OID.
pub const CLIENT_AUTH_OID: &str = "1.3.6.1.5.5.7.3.2";
/// The serverAuth extended key usage OID.
pub const SERVER_AUTH_OID: &str = "1.3.6.1.5.5.7.3.1";

/// A parsed X.509 certificate. Nothing about it has been verified.
///
/// ```
/// use certauth::Certificate;
/// let cert = Certificate::from_der(include_bytes!("../tests/data/pki/leaf-ec.der"))?;
/// assert_eq!(cert.subject().common_name(), Some("client.example.test"));
/// assert_eq!(cert.serial_hex(), "3a5f01");
/// assert_eq!(cert.key().type_name(), "ec");
/// # Ok::<(), certauth::Error>(())
/// ```
#[derive(Clone)]
pub struct Certificate {
    der: CertificateDer<'static>,
    version: u8,
    subject: DistinguishedName,
    issuer: DistinguishedName,
    serial_bytes: Vec<u8>,
    serial_hex: String,
    not_before: Timestamp,
    not_after: Timestamp,
    sans: SubjectAltNames,
    spiffe_id: Option<SpiffeId>,
    key: PublicKeyInfo,
    spki_der: Vec<u8>,
    signature_algorithm: SignatureAlgorithm,
    ekus: Vec<ExtendedKeyUsage>,
    has_eku_extension: bool,
    key_usage: Option<KeyUsage>,
    is_ca: bool,
    path_len: Option<u8>,
    thumbprint: Thumbprint,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject.to_rfc4514())
            .field("serial", &self.serial_hex)
            .finish_non_exhaustive()
    }
}

fn bad(what: &str) -> impl Fn(der::Error) -> Error + '_ {
    move |e| Error::malformed(format!("{what}: {}", der_reason(&e)))
}

/// A description of a der error without its position details' payload.
fn der_reason(e: &der::Error) -> String {
    e.kind().to_string()
}

impl Certificate {
    /// Parses exactly one DER certificate.
    ///
    /// Errors: `no_certificate` for empty input; `malformed_input` for anything that is
    /// not one well-formed certificate, including trailing bytes and several
    /// concatenated certificates (split those with [`der::split_concatenated`](crate::der::split_concatenated)).
    pub fn from_der(der: &[u8]) -> Result<Self> {
        if der.is_empty() {
            return Err(Error::no_certificate("input is empty"));
        }
        let len = der_reader::sequence_len(der)
            .map_err(|why| Error::malformed(format!("certificate der {why}")))?;
        if let Some(rest) = der.get(len..).filter(|r| !r.is_empty()) {
            if der_reader::sequence_len(rest).is_ok() {
                return Err(Error::malformed(
                    "more than one certificate where one is expected (concatenated der)",
                ));
            }
            return Err(Error::malformed(format!(
                "trailing data after the certificate ({} bytes)",
                rest.len()
            )));
        }
        let cert = x509_cert::Certificate::from_der(der).map_err(bad("invalid certificate"))?;
        let tbs = cert.tbs_certificate();

        let serial_bytes = tbs.serial_number().as_bytes().to_vec();
        let magnitude = match serial_bytes.as_slice() {
            [0, rest @ ..] if !rest.is_empty() => rest,
            all => all,
        };
        let serial_hex = crate::hex::encode(magnitude, None);

        let mut sans = SubjectAltNames::default();
        let san =
            tbs.get_extension::<pkix::SubjectAltName>().map_err(bad("subject alternative name"))?;
        if let Some((_, pkix::SubjectAltName(names))) = san {
            for name in names {
                match name {
                    GeneralName::DnsName(s) => sans.dns.push(s.to_string()),
                    GeneralName::Rfc822Name(s) => sans.email.push(s.to_string()),
                    GeneralName::UniformResourceIdentifier(s) => sans.uri.push(s.to_string()),
                    GeneralName::IpAddress(octets) => {
                        let b = octets.as_bytes();
                        let ip = if let Ok(v4) = <[u8; 4]>::try_from(b) {
                            IpAddr::from(v4)
                        } else if let Ok(v6) = <[u8; 16]>::try_from(b) {
                            IpAddr::from(v6)
                        } else {
                            return Err(Error::malformed(format!(
                                "ip address san of {} bytes (expected 4 or 16)",
                                b.len()
                            )));
                        };
                        sans.ip.push(ip);
                    }
                    _ => {}
                }
            }
        }
        let spiffe_id = {
            let mut spiffe = sans.uri.iter().filter(|u| spiffe::has_spiffe_scheme(u));
            match (spiffe.next(), spiffe.next()) {
                (Some(one), None) => SpiffeId::parse(one).ok(),
                _ => None,
            }
        };

        let eku =
            tbs.get_extension::<pkix::ExtendedKeyUsage>().map_err(bad("extended key usage"))?;
        let has_eku_extension = eku.is_some();
        let ekus = eku
            .map(|(_, e)| e.0.iter().map(|oid| ExtendedKeyUsage { oid: oid.to_string() }).collect())
            .unwrap_or_default();

        let key_usage = tbs
            .get_extension::<pkix::KeyUsage>()
            .map_err(bad("key usage"))?
            .map(|(_, ku)| KeyUsage(ku.0.bits()));
        let basic =
            tbs.get_extension::<pkix::BasicConstraints>().map_err(bad("basic constraints"))?;
        let (is_ca, path_len) = basic.map_or((false, None), |(_, b)| (b.ca, b.path_len_constraint));

        let spki = tbs.subject_public_key_info();
        let spki_der = spki.to_der().map_err(bad("subject public key info"))?;
        let key = PublicKeyInfo::from_spki(spki)?;

        let time = |t: &x509_cert::time::Time| {
            Timestamp::from_unix_secs(
                i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX),
            )
        };
        let validity = tbs.validity();

        Ok(Self {
            der: CertificateDer::from(der.to_vec()),
            version: match tbs.version() {
                x509_cert::certificate::Version::V1 => 1,
                x509_cert::certificate::Version::V2 => 2,
                x509_cert::certificate::Version::V3 => 3,
            },
            subject: DistinguishedName::from_name(tbs.subject())?,
            issuer: DistinguishedName::from_name(tbs.issuer())?,
            serial_bytes,
            serial_hex,
            not_before: time(&validity.not_before),
            not_after: time(&validity.not_after),
            sans,
            spiffe_id,
            key,
            spki_der,
            signature_algorithm: SignatureAlgorithm {
                oid: cert.signature_algorithm().oid.to_string(),
            },
            ekus,
            has_eku_extension,
            key_usage,
            is_ca,
            path_len,
            thumbprint: Thumbprint::of(der),
        })
    }

    /// The certificate's DER encoding.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The X.509 version (1, 2 or 3).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The subject name.
    pub fn subject(&self) -> &DistinguishedName {
        &self.subject
    }

    /// The issuer name.
    pub fn issuer(&self) -> &DistinguishedName {
        &self.issuer
    }

    /// The serial number as lowercase hex of its magnitude, e.g. `"3a5f01"`.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// The serial number's DER INTEGER content bytes (with a sign byte if present).
    pub fn serial_bytes(&self) -> &[u8] {
        &self.serial_bytes
    }

    /// Start of validity.
    pub fn not_before(&self) -> Timestamp {
        self.not_before
    }

    /// End of validity.
    pub fn not_after(&self) -> Timestamp {
        self.not_after
    }

    /// Whether `t` lies within the validity period (both ends inclusive).
    pub fn is_valid_at(&self, t: Timestamp) -> bool {
        self.not_before <= t && t <= self.not_after
    }

    /// Subject alternative names by type.
    pub fn sans(&self) -> &SubjectAltNames {
        &self.sans
    }

    /// The SPIFFE ID: present only if exactly one URI SAN has the `spiffe` scheme (in
    /// any letter case) and it is a valid SPIFFE ID.
    pub fn spiffe_id(&self) -> Option<&SpiffeId> {
        self.spiffe_id.as_ref()
    }

    /// The subject public key's type and size.
    pub fn key(&self) -> &PublicKeyInfo {
        &self.key
    }

    /// DER of the SubjectPublicKeyInfo (for SPKI pins).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// The algorithm the issuer signed with.
    pub fn signature_algorithm(&self) -> &SignatureAlgorithm {
        &self.signature_algorithm
    }

    /// The extended key usages (empty without the extension).
    pub fn extended_key_usages(&self) -> &[ExtendedKeyUsage] {
        &self.ekus
    }

    /// Whether the certificate carries an extended key usage extension.
    pub fn has_eku_extension(&self) -> bool {
        self.has_eku_extension
    }

    /// Whether the EKU extension lists `oid` (dotted form).
    pub fn has_eku(&self, oid: &str) -> bool {
        self.ekus.iter().any(|e| e.oid == oid)
    }

    /// The key usage extension, if present.
    pub fn key_usage(&self) -> Option<KeyUsage> {
        self.key_usage
    }

    /// Whether basic constraints mark it as a CA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// The basic constraints path length, if any.
    pub fn path_len_constraint(&self) -> Option<u8> {
        self.path_len
    }

    /// Whether subject and issuer are the same name (DER equality).
    pub fn is_self_issued(&self) -> bool {
        self.subject.der() == self.issuer.der()
    }

    /// The SHA-256 thumbprint (RFC 8705 `x5t#S256`).
    pub fn thumbprint(&self) -> Thumbprint {
        self.thumbprint
    }
}

/// Subject alternative names, by type. Other name types are ignored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubjectAltNames {
    dns: Vec<String>,
    ip: Vec<IpAddr>,
    uri: Vec<String>,
    email: Vec<String>,
}

impl SubjectAltNames {
    /// DNS names.
    pub fn dns(&self) -> &[String] {
        &self.dns
    }
    /// IP addresses.
    pub fn ip(&self) -> &[IpAddr] {
        &self.ip
    }
    /// URIs.
    pub fn uri(&self) -> &[String] {
        &self.uri
    }
    /// E-mail addresses (rfc822Name).
    pub fn email(&self) -> &[String] {
        &self.email
    }
    /// True when there are no SANs of these types.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty() && self.ip.is_empty() && self.uri.is_empty() && self.email.is_empty()
    }
}

/// Named elliptic curves.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-192 (secp192r1).
    P192,
    /// NIST P-224 (secp224r1).
    P224,
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// Another curve, by OID.
    Other {
        /// Dotted OID.
        oid: String,
    },
}

impl Curve {
    fn from_oid(oid: &str) -> Self {
        match oid {
            "1.2.840.10045.3.1.1" => Self::P192,
            "1.3.132.0.33" => Self::P224,
            "1.2.840.10045.3.1.7" => Self::P256,
            "1.3.132.0.34" => Self::P384,
            "1.3.132.0.35" => Self::P521,
            _ => Self::Other { oid: oid.to_owned() },
        }
    }

    /// `"P-256"` etc.; the dotted OID for other curves.
    pub fn name(&self) -> &str {
        match self {
            Self::P192 => "P-192",
            Self::P224 => "P-224",
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::Other { oid } => oid,
        }
    }

    /// Field size in bits, for named NIST curves.
    pub fn bits(&self) -> Option<u32> {
        match self {
            Self::P192 => Some(192),
            Self::P224 => Some(224),
            Self::P256 => Some(256),
            Self::P384 => Some(384),
            Self::P521 => Some(521),
            Self::Other { .. } => None,
        }
    }
}

/// The subject public key's algorithm and size.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PublicKeyInfo {
    /// RSA with a modulus of `bits` significant bits.
    Rsa {
        /// Modulus size.
        bits: u32,
    },
    /// Elliptic-curve key on `curve`.
    Ec {
        /// The named curve.
        curve: Curve,
    },
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// DSA with a prime `p` of `bits` bits.
    Dsa {
        /// Size of p.
        bits: u32,
    },
    /// Another algorithm, by OID.
    Other {
        /// Dotted OID.
        oid: String,
    },
}

impl PublicKeyInfo {
    /// Classifies a DER `SubjectPublicKeyInfo` (as found in a certificate or an SPKI pin).
    pub fn from_spki_der(spki_der: &[u8]) -> Result<Self> {
        let spki = spki::SubjectPublicKeyInfoOwned::from_der(spki_der)
            .map_err(bad("subject public key info"))?;
        Self::from_spki(&spki)
    }

    fn from_spki(spki: &spki::SubjectPublicKeyInfoOwned) -> Result<Self> {
        let oid = spki.algorithm.oid.to_string();
        let key_bytes = spki.subject_public_key.raw_bytes();
        Ok(match oid.as_str() {
            "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
                // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
                let seq = der_reader::sequence_content(key_bytes)
                    .map_err(|why| Error::malformed(format!("rsa public key {why}")))?;
                let modulus = der_reader::first_integer(seq)
                    .map_err(|why| Error::malformed(format!("rsa modulus {why}")))?;
                Self::Rsa { bits: bit_len(modulus) }
            }
            "1.2.840.10045.2.1" => {
                let params = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .ok_or_else(|| Error::malformed("ec key without curve parameters"))?;
                let curve = params.decode_as::<const_oid::ObjectIdentifier>().map_err(|_| {
                    Error::malformed("ec key with explicit (unnamed) curve parameters")
                })?;
                Self::Ec { curve: Curve::from_oid(&curve.to_string()) }
            }
            "1.3.101.112" => Self::Ed25519,
            "1.3.101.113" => Self::Ed448,
            "1.2.840.10040.4.1" => {
                let p = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|any| der_reader::first_integer(any.value()).ok())
                    .ok_or_else(|| Error::malformed("dsa key without parameters"))?;
                Self::Dsa { bits: bit_len(p) }
            }
            _ => Self::Other { oid },
        })
    }

    /// `"rsa"`, `"ec"`, `"ed25519"`, `"ed448"`, `"dsa"` or `"other"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Rsa { .. } => "rsa",
            Self::Ec { .. } => "ec",
            Self::Ed25519 => "ed25519",
            Self::Ed448 => "ed448",
            Self::Dsa { .. } => "dsa",
            Self::Other { .. } => "other",
        }
    }

    /// Key size in bits: RSA and DSA modulus size, EC curve size, 256 / 456 for Ed25519 / Ed448.
    pub fn bits(&self) -> Option<u32> {
        match self {
            Self::Rsa { bits } | Self::Dsa { bits } => Some(*bits),
            Self::Ec { curve } => curve.bits(),
            Self::Ed25519 => Some(256),
            Self::Ed448 => Some(456),
            Self::Other { .. } => None,
        }
    }
}

/// Significant bits of an unsigned big-endian integer.
fn bit_len(int: &[u8]) -> u32 {
    let Some(pos) = int.iter().position(|&b| b != 0) else { return 0 };
    let rest = &int[pos..];
    let lead = rest.first().map_or(0, |b| 8 - b.leading_zeros());
    u32::try_from(rest.len().saturating_sub(1)).unwrap_or(u32::MAX / 8).saturating_mul(8) + lead
}

/// The signature algorithm of a certificate.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SignatureAlgorithm {
    oid: String,
}

impl SignatureAlgorithm {
    /// Dotted OID.
    pub fn oid(&self) -> &str {
        &self.oid
    }

    /// OpenSSL-style name (e.g. `ecdsa-with-SHA256`, `sha256WithRSAEncryption`), or the
    /// dotted OID when unknown.
    pub fn name(&self) -> &str {
        match self.oid.as_str() {
            "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
            "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
            "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
            "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
            "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
            "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
            "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
            "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
            "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
            "1.2.840.113549.1.1.10" => "rsassa-pss",
            "1.3.101.112" => "ed25519",
            "1.3.101.113" => "ed448",
            "2.16.840.1.101.3.4.3.2" => "dsa-with-SHA256",
            other => other,
        }
    }
}

/// One extended key usage.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ExtendedKeyUsage {
    oid: String,
}

impl ExtendedKeyUsage {
    /// Dotted OID.
    pub fn oid(&self) -> &str {
        &self.oid
    }

    /// The usual name (`clientAuth`, `serverAuth`, ...), if known.
    pub fn name(&self) -> Option<&'static str> {
        Some(match self.oid.as_str() {
            SERVER_AUTH_OID => "serverAuth",
            CLIENT_AUTH_OID => "clientAuth",
            "1.3.6.1.5.5.7.3.3" => "codeSigning",
            "1.3.6.1.5.5.7.3.4" => "emailProtection",
            "1.3.6.1.5.5.7.3.8" => "timeStamping",
            "1.3.6.1.5.5.7.3.9" => "OCSPSigning",
            "2.5.29.37.0" => "anyExtendedKeyUsage",
            _ => return None,
        })
    }
}

/// The key usage extension's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyUsage(u16);

impl KeyUsage {
    /// From the bits as [`der_reader::key_usage_of`] reads them (bit 0 is digitalSignature).
    pub(crate) const fn from_bits(bits: u16) -> Self {
        Self(bits)
    }

    /// digitalSignature.
    pub fn digital_signature(&self) -> bool {
        self.0 & (1 << 0) != 0
    }
    /// nonRepudiation (contentCommitment).
    pub fn non_repudiation(&self) -> bool {
        self.0 & (1 << 1) != 0
    }
    /// keyEncipherment.
    pub fn key_encipherment(&self) -> bool {
        self.0 & (1 << 2) != 0
    }
    /// dataEncipherment.
    pub fn data_encipherment(&self) -> bool {
        self.0 & (1 << 3) != 0
    }
    /// keyAgreement.
    pub fn key_agreement(&self) -> bool {
        self.0 & (1 << 4) != 0
    }
    /// keyCertSign.
    pub fn key_cert_sign(&self) -> bool {
        self.0 & (1 << 5) != 0
    }
    /// cRLSign.
    pub fn crl_sign(&self) -> bool {
        self.0 & (1 << 6) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const LEAF_EC: &[u8] = include_bytes!("../tests/data/pki/leaf-ec.der");
    const LEAF_RSA: &[u8] = include_bytes!("../tests/data/pki/leaf-rsa.der");
    const INTERMEDIATE: &[u8] = include_bytes!("../tests/data/pki/intermediate.der");
    const ROOT: &[u8] = include_bytes!("../tests/data/pki/root.der");

    #[test]
    fn ec_leaf() {
        let c = Certificate::from_der(LEAF_EC).unwrap();
        assert_eq!(
            c.subject().to_rfc4514(),
            "CN=client.example.test,OU=Engineering,O=Example Corp,C=US"
        );
        assert_eq!(c.issuer().common_name(), Some("Example Test Intermediate CA"));
        assert_eq!(c.serial_hex(), "3a5f01");
        assert_eq!(c.not_before().to_rfc3339(), "2026-11-22T10:34:32Z");
        assert_eq!(c.sans().dns(), ["client.example.test"]);
        assert_eq!(c.sans().email(), ["client@example.test"]);
        let id = c.spiffe_id().unwrap();
        assert_eq!((id.trust_domain(), id.path()), ("example.test", "/ns/default/sa/client"));
        assert_eq!(c.key(), &PublicKeyInfo::Ec { curve: Curve::P256 });
        assert_eq!(c.signature_algorithm().name(), "ecdsa-with-SHA256");
        assert!(c.has_eku(CLIENT_AUTH_OID) && !c.is_ca() && !c.is_self_issued());
        assert!(c.key_usage().unwrap().digital_signature());
        assert_eq!(c.version(), 3);
    }

    #[test]
    fn rsa_leaf_with_escaped_subject() {
        let c = Certificate::from_der(LEAF_RSA).unwrap();
        // openssl x509 -noout -subject -nameopt RFC2253 prints the same.
        assert_eq!(
            c.subject().to_rfc4514(),
            r#"CN=rsa-client.example.test,OU=R&D \"Lab\",O=Example\, Inc.,C=US"#
        );
        assert_eq!(c.subject().values("o").collect::<Vec<_>>(), ["Example, Inc."]);
        assert_eq!(c.key(), &PublicKeyInfo::Rsa { bits: 2048 });
        assert_eq!(c.spiffe_id(), None);
        assert_eq!(c.sans().uri(), ["https://rsa-client.example.test/id"]);
    }

    #[test]
    fn cas() {
        let i = Certificate::from_der(INTERMEDIATE).unwrap();
        assert!(i.is_ca());
        assert_eq!(i.path_len_constraint(), Some(0));
        let ku = i.key_usage().unwrap();
        assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
        let r = Certificate::from_der(ROOT).unwrap();
        assert!(r.is_ca() && r.is_self_issued());
    }

    #[test]
    fn malformed() {
        let two = [LEAF_EC, INTERMEDIATE].concat();
        let trailing = [LEAF_EC, b"xy"].concat();
        let cases: Vec<(&[u8], ErrorKind, &str)> = vec![
            (b"", ErrorKind::NoCertificate, "empty"),
            (&two, ErrorKind::MalformedInput, "more than one certificate"),
            (&trailing, ErrorKind::MalformedInput, "trailing data after the certificate (2 bytes)"),
            (&LEAF_EC[..100], ErrorKind::MalformedInput, "truncated"),
            (&[0x30, 0x03, 0x02, 0x01, 0x00], ErrorKind::MalformedInput, "invalid certificate"),
        ];
        for (input, kind, text) in cases {
            let e = Certificate::from_der(input).unwrap_err();
            assert_eq!(e.kind(), kind, "{text}");
            assert!(e.message().contains(text), "{e}");
        }
    }

    #[test]
    fn odd_certificates_from_rcgen() {
        use rcgen::{CertificateParams, DnType, KeyPair, SanType};
        for (alg, want) in [
            (&rcgen::PKCS_ED25519, PublicKeyInfo::Ed25519),
            (&rcgen::PKCS_ECDSA_P384_SHA384, PublicKeyInfo::Ec { curve: Curve::P384 }),
        ] {
            let key = KeyPair::generate_for(alg).unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x81; 20]));
            params.distinguished_name.push(DnType::CommonName, "Zoë Ünïcödé 日本, \"quoted\"+plus");
            params.distinguished_name.push(DnType::OrganizationName, "#hash");
            params.subject_alt_names = vec![
                SanType::URI("spiffe://a.test/x".try_into().unwrap()),
                SanType::URI("spiffe://b.test/y".try_into().unwrap()),
                SanType::IpAddress("::1".parse().unwrap()),
            ];
            let cert = params.self_signed(&key).unwrap();
            let c = Certificate::from_der(cert.der()).unwrap();
            assert_eq!(c.key(), &want);
            assert_eq!(c.serial_hex(), "81".repeat(20));
            assert_eq!(c.subject().common_name(), Some("Zoë Ünïcödé 日本, \"quoted\"+plus"));
            assert_eq!(
                c.subject().to_rfc4514(),
                r#"O=\#hash,CN=Zoë Ünïcödé 日本\, \"quoted\"\+plus"#
            );
            assert_eq!(c.spiffe_id(), None, "two spiffe uris: no spiffe id");
            assert_eq!(c.sans().ip(), ["::1".parse::<IpAddr>().unwrap()]);
        }
    }

    /// `tests/data/odd/regenerate.sh`. `openssl x509 -noout -subject -nameopt
    /// RFC2253,-esc_msb` prints `UID=u123+CN=multi,...`: OpenSSL also reverses the
    /// attributes inside a multi-valued RDN; certauth keeps their DER (SET OF) order, which
    /// RFC 4514 leaves open.
    #[test]
    fn rsa_4096_with_multi_valued_rdn() {
        let c = Certificate::from_der(include_bytes!("../tests/data/odd/rsa4096-multivalue.der"))
            .unwrap();
        assert_eq!(c.key(), &PublicKeyInfo::Rsa { bits: 4096 });
        assert_eq!(c.serial_hex(), "ff");
        assert_eq!(c.serial_bytes(), [0x00, 0xff]);
        assert_eq!(c.subject().to_rfc4514(), "CN=multi+UID=u123,O=Zoë Ünïcödé 日本,C=DE");
        let rdn = &c.subject().rdns()[2];
        assert_eq!(rdn.attributes().len(), 2);
        assert_eq!(c.subject().common_name(), Some("multi"));
        assert_eq!(c.subject().values("UID").collect::<Vec<_>>(), ["u123"]);
        assert!(c.is_self_issued());
    }

    /// A mutated test root from the `cert_model` fuzz corpus: an unknown key algorithm
    /// OID and a NUL in the subject. The model reports the key as `Other` and escapes the
    /// NUL (x509-parser refuses this certificate).
    #[test]
    fn unknown_key_algorithm_and_nul_in_name() {
        let c =
            Certificate::from_der(include_bytes!("../tests/data/odd/unknown-key-alg.der")).unwrap();
        assert_eq!(c.key(), &PublicKeyInfo::Other { oid: "1.2.840.1.9990.61".into() });
        assert_eq!(c.key().bits(), None);
        assert!(c.subject().to_rfc4514().contains(r"CN=Example Test Ron\00 CA"), "{}", c.subject());
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bit_len(&[0x01]), 1);
        assert_eq!(bit_len(&[0x00]), 0);
    }
}
