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

use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyIdMethod};

use crate::Timestamp;

/// A [`Timestamp`] as rcgen's `time::OffsetDateTime`, without naming the `time` crate
/// (a macro, so certauth needs no direct dependency on it). Defined before the submodules,
/// which use it.
macro_rules! to_offset {
    ($t:expr) => {{
        let secs: i64 = Timestamp::as_unix_secs($t);
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let d = std::time::Duration::from_secs(secs.unsigned_abs());
        if secs >= 0 { epoch + d } else { epoch - d }
    }};
}

mod ca;
mod crl;
mod der_rewrite;
mod keys;
mod leaf;
#[cfg(feature = "ocsp")]
mod ocsp;

pub use ca::{Ca, CaBuilder};
pub use crl::{Crl, CrlBuilder};
pub use keys::KeyType;
pub use leaf::{Leaf, LeafBuilder, self_signed, self_signed_client};
#[cfg(feature = "ocsp")]
#[cfg_attr(docsrs, doc(cfg(feature = "ocsp")))]
pub use ocsp::{OcspResponse, OcspResponseBuilder};

/// Default start of validity of every certificate and `thisUpdate` of every CRL:
/// 2020-01-01T00:00:00Z.
pub const DEFAULT_NOT_BEFORE: Timestamp = Timestamp::from_unix_secs(1_577_836_800);

/// Default end of validity of every certificate and `nextUpdate` of every CRL:
/// 2040-01-01T00:00:00Z.
pub const DEFAULT_NOT_AFTER: Timestamp = Timestamp::from_unix_secs(2_208_988_800);

/// The minimal big-endian bytes of a serial or CRL number.
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

/// An extended key usage from its dotted OID.
fn eku_purpose(dotted: &str) -> ExtendedKeyUsagePurpose {
    match dotted {
        crate::cert::CLIENT_AUTH_OID => ExtendedKeyUsagePurpose::ClientAuth,
        crate::cert::SERVER_AUTH_OID => ExtendedKeyUsagePurpose::ServerAuth,
        "2.5.29.37.0" => ExtendedKeyUsagePurpose::Any,
        other => ExtendedKeyUsagePurpose::Other(oid_arcs(other)),
    }
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

/// One authority information access extension: caIssuers and OCSP responder URIs.
fn authority_info_access(ca_issuers: &[String], ocsp: &[String]) -> rcgen::CustomExtension {
    use der::Encode as _;
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::{AccessDescription, AuthorityInfoAccessSyntax};
    let described = |method, uris: &[String]| {
        uris.iter()
            .map(|uri| AccessDescription {
                access_method: method,
                access_location: GeneralName::UniformResourceIdentifier(
                    der::asn1::Ia5String::new(uri)
                        .unwrap_or_else(|e| panic!("testkit: uri {uri:?} is not IA5: {e}")),
                ),
            })
            .collect::<Vec<_>>()
    };
    let mut descriptions = described(const_oid::db::rfc5280::ID_AD_CA_ISSUERS, ca_issuers);
    descriptions.extend(described(const_oid::db::rfc5280::ID_AD_OCSP, ocsp));
    let value = AuthorityInfoAccessSyntax(descriptions)
        .to_der()
        .unwrap_or_else(|e| panic!("testkit: encoding authority information access: {e}"));
    rcgen::CustomExtension::from_oid_content(&oid_arcs("1.3.6.1.5.5.7.1.1"), value)
}

fn base_params(name: &str, not_before: Timestamp, not_after: Timestamp) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.not_before = to_offset!(not_before);
    params.not_after = to_offset!(not_after);
    params.key_identifier_method = KeyIdMethod::Sha256;
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    /// caIssuers and OCSP locations share one extension (two would make the certificate
    /// invalid).
    #[test]
    fn ca_issuers_and_ocsp_responders_share_one_authority_information_access() {
        use der::Decode as _;
        let leaf = Ca::root("Root")
            .leaf("client")
            .ca_issuers_url("http://pki.example.test/ca.crt")
            .ocsp_responder("http://ocsp.example.test/")
            .build();
        let cert = x509_cert::Certificate::from_der(leaf.der()).unwrap();
        let aia: Vec<_> = cert
            .tbs_certificate()
            .extensions()
            .unwrap()
            .iter()
            .filter(|e| e.extn_id == const_oid::db::rfc5280::ID_PE_AUTHORITY_INFO_ACCESS)
            .collect();
        assert_eq!(aia.len(), 1);
        let access =
            x509_cert::ext::pkix::AuthorityInfoAccessSyntax::from_der(aia[0].extn_value.as_bytes())
                .unwrap();
        let methods: Vec<_> = access.0.iter().map(|d| d.access_method).collect();
        assert_eq!(
            methods,
            [const_oid::db::rfc5280::ID_AD_CA_ISSUERS, const_oid::db::rfc5280::ID_AD_OCSP]
        );
    }

    #[test]
    fn debug_shows_no_key_material() {
        let ca = Ca::root("Root");
        let leaf = ca.leaf("client-1").build();
        let renewal = Ca::builder("Root").same_key_as(&ca);
        let second = ca.leaf("client-2").same_key_as(&leaf);
        for s in [
            format!("{ca:?}"),
            format!("{leaf:?}"),
            format!("{:?}", ca.leaf("b")),
            format!("{renewal:?}"),
            format!("{second:?}"),
        ] {
            assert!(!s.contains("PRIVATE") && !s.contains("MII"), "{s}");
        }
    }
}
