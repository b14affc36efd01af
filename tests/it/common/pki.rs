//! A throwaway PKI for verification tests, generated with rcgen at test time.
//! Every certificate is valid 2020-01-01 .. 2040-01-01 unless a test says otherwise;
//! tests verify at [`at`] (2026-06-01).

use certauth::pki_types::CertificateDer;
use certauth::{Format, Limits, PresentedChain, Source, Timestamp};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber, date_time_ymd,
};

/// The fixed verification time.
pub(crate) fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

pub(crate) struct Ca {
    pub(crate) params: CertificateParams,
    pub(crate) key: KeyPair,
    pub(crate) der: CertificateDer<'static>,
}

impl Ca {
    pub(crate) fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
    pub(crate) fn pem(&self) -> String {
        pem(&self.der)
    }
}

pub(crate) fn pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

fn base(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    p
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = base(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

/// A self-signed root CA.
pub(crate) fn root(cn: &str) -> Ca {
    root_with(cn, |_| {})
}

pub(crate) fn root_with(cn: &str, edit: impl FnOnce(&mut CertificateParams)) -> Ca {
    let mut params = ca_params(cn);
    edit(&mut params);
    let key = KeyPair::generate().unwrap();
    let der = params.self_signed(&key).unwrap().der().clone();
    Ca { params, key, der }
}

/// An intermediate CA issued by `parent`.
pub(crate) fn intermediate(parent: &Ca, cn: &str) -> Ca {
    intermediate_with(parent, cn, |_| {})
}

/// An intermediate CA issued by `parent`, after `edit` adjusts its parameters. It can
/// issue whatever its key usage says: rcgen refuses to sign as an issuer whose key usage
/// lacks keyCertSign, so such a CA signs as one that lists no key usage (the issuer's key
/// usage is not part of what it signs).
pub(crate) fn intermediate_with(
    parent: &Ca,
    cn: &str,
    edit: impl FnOnce(&mut CertificateParams),
) -> Ca {
    let mut params = ca_params(cn);
    edit(&mut params);
    let key = KeyPair::generate().unwrap();
    let der = params.signed_by(&key, &parent.issuer()).unwrap().der().clone();
    if !params.key_usages.contains(&KeyUsagePurpose::KeyCertSign) {
        params.key_usages.clear();
    }
    Ca { params, key, der }
}

/// Leaf parameters: clientAuth, digitalSignature, a DNS SAN, the default validity.
pub(crate) fn leaf_params(cn: &str) -> CertificateParams {
    let mut p = base(cn);
    p.subject_alt_names =
        vec![rcgen::SanType::DnsName(format!("{cn}.example.test").try_into().unwrap())];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p
}

/// A leaf issued by `ca`, after `edit` adjusts its parameters.
pub(crate) fn leaf_with(
    ca: &Ca,
    cn: &str,
    edit: impl FnOnce(&mut CertificateParams),
) -> CertificateDer<'static> {
    let mut params = leaf_params(cn);
    edit(&mut params);
    let key = KeyPair::generate().unwrap();
    params.signed_by(&key, &ca.issuer()).unwrap().der().clone()
}

pub(crate) fn leaf(ca: &Ca, cn: &str) -> CertificateDer<'static> {
    leaf_with(ca, cn, |_| {})
}

/// A leaf whose public key is the given SubjectPublicKeyInfo (e.g. a 1024-bit RSA key).
pub(crate) fn leaf_with_spki(ca: &Ca, cn: &str, spki_der: &[u8]) -> CertificateDer<'static> {
    use der::Decode as _;
    let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki_der).unwrap();
    let key = RsaPublicKey(spki.subject_public_key.raw_bytes().to_vec());
    leaf_params(cn).signed_by(&key, &ca.issuer()).unwrap().der().clone()
}

/// An RSA public key without its private half: enough for an issuer to certify it.
struct RsaPublicKey(Vec<u8>);

impl rcgen::PublicKeyData for RsaPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

/// A CRL by `ca` revoking `serials`, valid `this`..`next`.
pub(crate) fn crl(ca: &Ca, serials: &[u64], this: (i32, u8, u8), next: (i32, u8, u8)) -> Vec<u8> {
    let params = CertificateRevocationListParams {
        this_update: date_time_ymd(this.0, this.1, this.2),
        next_update: date_time_ymd(next.0, next.1, next.2),
        crl_number: SerialNumber::from(7u64),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(*s),
                revocation_time: date_time_ymd(2026, 1, 1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params.signed_by(&ca.issuer()).unwrap().der().to_vec()
}

/// A presented chain, leaf first.
pub(crate) fn chain(certs: &[&CertificateDer<'static>]) -> PresentedChain {
    PresentedChain::new(
        certs.iter().map(|c| (*c).clone()).collect(),
        Source::Bytes,
        Format::Der,
        &Limits::default(),
    )
    .unwrap()
}
