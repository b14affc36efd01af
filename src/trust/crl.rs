//! Certificate revocation lists, parsed and checked once when they are loaded into a
//! trust store.
//!
//! webpki 0.103 checks a CRL's signature, its scope and the serial, but accepts a CRL
//! with no CRL number or a critical one, and knows only `nextUpdate` for freshness.
//! [`Crl::from_der`] refuses the former; the verifier's
//! [`RevocationPolicy`](crate::verify::RevocationPolicy) adds a maximum age and chooses
//! whether staleness is a hard or a soft failure.
//!
//! The cost of a CRL is paid at load and once per issuer key, not per verification:
//! the revoked serials go into a hash set when the CRL is parsed, and the CRL's signature
//! (a hash over the whole list) is verified the first time a verified path offers an
//! issuer key for it; the verdict is kept with the CRL, keyed by that key and the
//! verifier's signature algorithms.

use std::collections::HashSet;
use std::fmt;
use std::sync::RwLock;

use der::Decode as _;
use rustls_pki_types::SignatureVerificationAlgorithm;

use crate::error::{Error, ErrorKind, Result};
use crate::time::Timestamp;

/// A certificate revocation list, parsed and checked once when it is loaded.
///
/// Refused at load time: malformed DER, a version other than v2, no CRL number, a
/// critical or negative CRL number, a delta CRL, an indirect CRL, and anything else
/// webpki refuses.
///
/// A CRL's issuer and scope (its issuing distribution point, if any) name the series
/// it belongs to, and its CRL number orders the series: a trust store keeps only the
/// newest CRL of each series.
pub struct Crl {
    /// The whole DER, kept for the signature check.
    der: Vec<u8>,
    issuer: crate::cert::DistinguishedName,
    /// The issuer `Name`'s content, as webpki compares it with a certificate's issuer.
    issuer_raw: Vec<u8>,
    this_update: Timestamp,
    next_update: Option<Timestamp>,
    /// The CRL number's magnitude, big-endian, without leading zeros.
    number: Vec<u8>,
    number_hex: String,
    /// The issuing distribution point extension's value, if any.
    scope: Option<Vec<u8>>,
    /// The issuing distribution point, read.
    idp: Option<Scope>,
    /// SHA-256 of the DER, to tell two CRLs of one number apart.
    digest: crate::thumbprint::Thumbprint,
    revoked: usize,
    /// The revoked serials, as encoded (the INTEGER's content bytes), which is how webpki
    /// compares them with a certificate's serial.
    serials: HashSet<Box<[u8]>, foldhash::fast::RandomState>,
    /// Verdicts of the signature check, per issuer key and algorithm set.
    signature_checks: RwLock<Vec<SignatureCheck>>,
}

/// What an issuing distribution point restricts a CRL to.
#[derive(Debug)]
struct Scope {
    only_user_certs: bool,
    only_ca_certs: bool,
    /// The URIs of its full name.
    uris: Vec<Vec<u8>>,
}

/// The verdict of a signature (a CRL's, or any structure [`verify_signed`] checks) under one
/// issuer key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrlSignature {
    /// The issuer key signed the CRL.
    Valid,
    /// It did not (or the signature is malformed).
    Invalid,
    /// No configured algorithm verifies this signature algorithm with this key type.
    Unsupported,
}

/// One remembered signature verdict.
struct SignatureCheck {
    /// The issuer's `SubjectPublicKeyInfo` content.
    key: Box<[u8]>,
    /// Address and length of the algorithm set (a `'static` slice, so never reused).
    algorithms: (usize, usize),
    verdict: CrlSignature,
}

/// Most signature verdicts a CRL remembers: one issuer, its key and a few rollovers.
/// Beyond it, a verdict is computed each time, never evicting the remembered ones.
const MAX_SIGNATURE_CHECKS: usize = 8;

/// DER content bytes of id-ce-cRLDistributionPoints (2.5.29.31).
const CRL_DISTRIBUTION_POINTS_OID: &[u8] = &[0x55, 0x1d, 0x1f];

/// id-ce-cRLNumber (2.5.29.20), id-ce-deltaCRLIndicator (2.5.29.27) and
/// id-ce-issuingDistributionPoint (2.5.29.28).
const CRL_NUMBER: &str = "2.5.29.20";
const DELTA_CRL_INDICATOR: &str = "2.5.29.27";
const ISSUING_DISTRIBUTION_POINT: &str = "2.5.29.28";

impl Crl {
    /// Parses one DER CRL.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let bad = |what: &str| Error::malformed(format!("crl: {what}"));
        let list =
            x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(der)
                .map_err(|e| bad(&format!("invalid der ({})", e.kind())))?;
        let tbs = &list.tbs_cert_list;
        let mut number = None;
        let mut scope = None;
        for ext in tbs.crl_extensions.iter().flatten() {
            match ext.extn_id.to_string().as_str() {
                CRL_NUMBER if ext.critical => {
                    return Err(bad("the crl number must not be critical"));
                }
                CRL_NUMBER => {
                    let n = der::asn1::Int::from_der(ext.extn_value.as_bytes())
                        .map_err(|_| bad("malformed crl number"))?;
                    let bytes = n.as_bytes();
                    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
                        return Err(bad("the crl number must not be negative"));
                    }
                    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
                    number = Some(bytes[start..].to_vec());
                }
                DELTA_CRL_INDICATOR => return Err(bad("delta crls are not supported")),
                ISSUING_DISTRIBUTION_POINT => scope = Some(ext.extn_value.as_bytes().to_vec()),
                _ => {}
            }
        }
        let number = number.ok_or_else(|| bad("no crl number (required by rfc 5280)"))?;
        let number_hex =
            if number.is_empty() { "00".to_owned() } else { crate::hex::encode(&number, None) };
        let refused = |e: webpki::Error| bad(&format!("refused by webpki ({e:?})"));
        let borrowed = webpki::BorrowedCertRevocationList::from_der(der).map_err(refused)?;
        let mut serials = HashSet::with_hasher(foldhash::fast::RandomState::default());
        for entry in &borrowed {
            serials.insert(Box::from(entry.map_err(refused)?.serial_number));
        }
        let webpki = webpki::CertRevocationList::Borrowed(borrowed);
        let idp = scope.as_deref().map(read_scope).transpose()?;
        crate::der_reader::signed_parts(der).map_err(|why| bad(&format!("der {why}")))?;
        let time = |t: &x509_cert::time::Time| {
            Timestamp::from_unix_secs(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(0))
        };
        Ok(Self {
            der: der.to_vec(),
            issuer: crate::cert::DistinguishedName::from_name(&tbs.issuer)?,
            issuer_raw: webpki.issuer().to_vec(),
            this_update: time(&tbs.this_update),
            next_update: tbs.next_update.as_ref().map(time),
            number,
            number_hex,
            scope,
            idp,
            digest: crate::thumbprint::Thumbprint::of(der),
            revoked: tbs.revoked_certificates.as_ref().map_or(0, Vec::len),
            serials,
            signature_checks: RwLock::new(Vec::new()),
        })
    }

    /// Parses every `X509 CRL` block of a PEM file (strict RFC 7468, as
    /// [`parse_strict`](crate::input::pem::parse_strict) reads certificates; blocks with
    /// other labels are skipped, a private key is refused).
    pub fn from_pem(pem: &[u8]) -> Result<Vec<Self>> {
        let none = || Error::malformed("no X509 CRL block in the pem input");
        let ders = crate::input::pem::decode_strict_labelled(pem, b"X509 CRL", |_| Ok(()))
            .map_err(|e| if e.kind() == ErrorKind::NoCertificate { none() } else { e })?;
        if ders.is_empty() {
            return Err(none());
        }
        ders.iter().map(|der| Self::from_der(der)).collect()
    }

    /// Parses PEM (one or more CRLs) or DER, by content.
    pub fn parse_any(bytes: &[u8]) -> Result<Vec<Self>> {
        if bytes.first() == Some(&0x30) {
            Ok(vec![Self::from_der(bytes)?])
        } else {
            Self::from_pem(bytes)
        }
    }

    /// The issuer's distinguished name.
    pub fn issuer(&self) -> &crate::cert::DistinguishedName {
        &self.issuer
    }

    /// `thisUpdate`: when the CRL was issued.
    pub fn this_update(&self) -> Timestamp {
        self.this_update
    }

    /// `nextUpdate`: when a newer CRL is due, if the CRL says.
    pub fn next_update(&self) -> Option<Timestamp> {
        self.next_update
    }

    /// The CRL number, in hex (lowercase, without leading zero bytes).
    pub fn number_hex(&self) -> &str {
        &self.number_hex
    }

    /// Whether the two CRLs belong to one series: the same issuer and the same scope
    /// (issuing distribution point, or none).
    pub(crate) fn same_series(&self, other: &Crl) -> bool {
        self.issuer_raw() == other.issuer_raw() && self.scope == other.scope
    }

    /// Orders two CRLs of one series by CRL number.
    pub(crate) fn cmp_number(&self, other: &Crl) -> std::cmp::Ordering {
        self.number.len().cmp(&other.number.len()).then_with(|| self.number.cmp(&other.number))
    }

    /// Whether the two are the same CRL, byte for byte.
    pub(crate) fn same_bytes(&self, other: &Crl) -> bool {
        self.digest == other.digest
    }

    /// How many certificates the CRL lists.
    pub fn len(&self) -> usize {
        self.revoked
    }

    /// Whether the CRL lists no certificate.
    pub fn is_empty(&self) -> bool {
        self.revoked == 0
    }

    /// Raw issuer name as webpki compares it with a certificate's issuer.
    pub(crate) fn issuer_raw(&self) -> &[u8] {
        &self.issuer_raw
    }

    /// Whether the CRL speaks for a certificate issued by `issuer` (raw name), as webpki
    /// decides: the same issuer and, when the CRL has an issuing distribution point, a
    /// scope that includes the certificate's role and, if the certificate names CRL
    /// distribution points, one of their URIs among the CRL's.
    pub(crate) fn covers(&self, issuer: &[u8], cert_der: &[u8], is_leaf: bool) -> bool {
        if self.issuer_raw != issuer {
            return false;
        }
        let Some(idp) = &self.idp else { return true };
        if (idp.only_ca_certs && is_leaf) || (idp.only_user_certs && !is_leaf) {
            return false;
        }
        let value = match crate::der_reader::extension_of(cert_der, CRL_DISTRIBUTION_POINTS_OID) {
            Ok(None) => return true,
            Ok(Some(value)) => value,
            Err(_) => return false,
        };
        let Ok(points) = x509_cert::ext::pkix::CrlDistributionPoints::from_der(value) else {
            return false;
        };
        use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
        points
            .0
            .iter()
            // Indirect and reason-partitioned distribution points never match.
            .filter(|dp| dp.crl_issuer.is_none() && dp.reasons.is_none())
            .filter_map(|dp| match &dp.distribution_point {
                Some(DistributionPointName::FullName(names)) => Some(names),
                _ => None,
            })
            .flatten()
            .any(|name| match name {
                GeneralName::UniformResourceIdentifier(uri) => {
                    idp.uris.iter().any(|u| u.as_slice() == uri.as_bytes())
                }
                _ => false,
            })
    }

    /// Whether the CRL lists `serial` (the INTEGER's content bytes, as encoded).
    pub(crate) fn lists(&self, serial: &[u8]) -> bool {
        self.serials.contains(serial)
    }

    /// Whether the issuer key `issuer_spki` (a `SubjectPublicKeyInfo`'s content) signed
    /// the CRL, verified with one of `algorithms` as webpki picks it. The first check per
    /// key and algorithm set hashes the CRL; later ones are a look-up.
    pub(crate) fn signature_under(
        &self,
        algorithms: &'static [&'static dyn SignatureVerificationAlgorithm],
        issuer_spki: &[u8],
    ) -> CrlSignature {
        let set = (algorithms.as_ptr().addr(), algorithms.len());
        let remembered = |checks: &[SignatureCheck]| {
            checks.iter().find(|c| c.algorithms == set && *c.key == *issuer_spki).map(|c| c.verdict)
        };
        // A poisoned lock only means a panic elsewhere; the verdicts held are whole.
        if let Some(v) =
            remembered(&self.signature_checks.read().unwrap_or_else(|p| p.into_inner()))
        {
            return v;
        }
        let verdict = self.verify_signature(algorithms, issuer_spki);
        let mut checks = self.signature_checks.write().unwrap_or_else(|p| p.into_inner());
        if remembered(&checks).is_none() && checks.len() < MAX_SIGNATURE_CHECKS {
            checks.push(SignatureCheck { key: issuer_spki.into(), algorithms: set, verdict });
        }
        verdict
    }

    /// webpki's signed-data check: the first algorithm with the CRL's signature
    /// algorithm identifier and the key's algorithm identifier decides.
    fn verify_signature(
        &self,
        algorithms: &[&dyn SignatureVerificationAlgorithm],
        issuer_spki: &[u8],
    ) -> CrlSignature {
        match crate::der_reader::signed_parts(&self.der) {
            Ok(parts) => verify_signed(algorithms, &parts, issuer_spki),
            Err(_) => CrlSignature::Invalid,
        }
    }

    /// `Err(revocation_stale)` when the CRL is past `nextUpdate` or older than `max_age`.
    pub(crate) fn check_fresh(
        &self,
        now: Timestamp,
        skew: i64,
        max_age: Option<i64>,
    ) -> Result<()> {
        // A CRL issued after the verification time says nothing about that time.
        if self.this_update.as_unix_secs() > now.as_unix_secs().saturating_add(skew) {
            return Err(Error::new(
                ErrorKind::RevocationStale,
                format!(
                    "crl of {} is not valid before its this update {} (checked at {})",
                    self.issuer,
                    self.this_update.to_rfc3339(),
                    now.to_rfc3339()
                ),
            ));
        }
        if let Some(next) = self.next_update
            && now.as_unix_secs() > next.as_unix_secs().saturating_add(skew)
        {
            return Err(Error::new(
                ErrorKind::RevocationStale,
                format!(
                    "crl of {} is past its next update {} at {}",
                    self.issuer,
                    next.to_rfc3339(),
                    now.to_rfc3339()
                ),
            ));
        }
        if let Some(max) = max_age {
            let age = now.as_unix_secs().saturating_sub(self.this_update.as_unix_secs());
            if age > max.saturating_add(skew) {
                return Err(Error::new(
                    ErrorKind::RevocationStale,
                    format!(
                        "crl of {} was issued {} ({age} s ago), more than the maximum age of {max} s",
                        self.issuer,
                        self.this_update.to_rfc3339()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// webpki's signed-data check of any signed structure (a CRL, a certificate, an OCSP
/// response) under the key `issuer_spki` (a `SubjectPublicKeyInfo`'s content): the first
/// of `algorithms` with the structure's signature algorithm identifier and the key's
/// algorithm identifier decides.
pub(crate) fn verify_signed(
    algorithms: &[&dyn SignatureVerificationAlgorithm],
    parts: &crate::der_reader::SignedParts<'_>,
    issuer_spki: &[u8],
) -> CrlSignature {
    let Ok((key_algorithm, key)) = crate::der_reader::spki_parts(issuer_spki) else {
        return CrlSignature::Invalid;
    };
    let found = algorithms.iter().find(|a| {
        a.signature_alg_id().as_ref() == parts.algorithm
            && a.public_key_alg_id().as_ref() == key_algorithm
    });
    match found {
        None => CrlSignature::Unsupported,
        Some(a) if a.verify_signature(key, parts.tbs, parts.signature).is_ok() => {
            CrlSignature::Valid
        }
        Some(_) => CrlSignature::Invalid,
    }
}

/// Reads an issuing distribution point that webpki accepted (a full name, no reasons,
/// not indirect).
fn read_scope(value: &[u8]) -> Result<Scope> {
    use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
    let idp = x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint::from_der(value)
        .map_err(|_| Error::malformed("crl: malformed issuing distribution point"))?;
    let uris = match &idp.distribution_point {
        Some(DistributionPointName::FullName(names)) => names
            .iter()
            .filter_map(|n| match n {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.as_bytes().to_vec()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Scope {
        only_user_certs: idp.only_contains_user_certs,
        only_ca_certs: idp.only_contains_ca_certs,
        uris,
    })
}

impl fmt::Debug for Crl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crl")
            .field("issuer", &self.issuer.to_rfc4514())
            .field("number", &self.number_hex)
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field("revoked", &self.revoked)
            .finish()
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::pki::Ca;

    /// The content of a CA's SubjectPublicKeyInfo, as a verified path offers it.
    #[cfg(feature = "ring")]
    fn spki_content(ca: &Ca) -> Vec<u8> {
        let spki = crate::der_reader::spki_of(ca.der()).unwrap();
        crate::der_reader::content_of(spki, 0x30).unwrap().to_vec()
    }

    /// The signature verdict is computed once per issuer key and algorithm set, then
    /// looked up; an unknown key, another algorithm set or a full memo never borrows
    /// another key's verdict, and the memo stays bounded.
    #[cfg(feature = "ring")]
    #[test]
    fn signature_verdict_is_remembered_per_key_and_bounded() {
        use crate::verify::RING_ALGORITHMS;
        static ONLY_RSA: &[&dyn SignatureVerificationAlgorithm] =
            &[webpki::ring::RSA_PKCS1_2048_8192_SHA256];
        let ca = Ca::root("Root");
        let crl = Crl::from_der(ca.crl().revoke_serial(&[7]).build().der()).unwrap();
        let key = spki_content(&ca);
        let checks = |crl: &Crl| crl.signature_checks.read().unwrap().len();
        assert_eq!(crl.signature_under(RING_ALGORITHMS, &key), CrlSignature::Valid);
        assert_eq!(checks(&crl), 1);
        assert_eq!(crl.signature_under(RING_ALGORITHMS, &key), CrlSignature::Valid);
        assert_eq!(checks(&crl), 1);
        // The same key under an algorithm set without the CRL's algorithm.
        assert_eq!(crl.signature_under(ONLY_RSA, &key), CrlSignature::Unsupported);
        assert_eq!(checks(&crl), 2);
        let others: Vec<Vec<u8>> = (0..MAX_SIGNATURE_CHECKS + 2)
            .map(|i| spki_content(&Ca::root(&format!("Other {i}"))))
            .collect();
        for other in &others {
            assert_eq!(crl.signature_under(RING_ALGORITHMS, other), CrlSignature::Invalid);
        }
        assert_eq!(checks(&crl), MAX_SIGNATURE_CHECKS);
        // Past the bound, verdicts are still right, computed each time.
        for other in &others {
            assert_eq!(crl.signature_under(RING_ALGORITHMS, other), CrlSignature::Invalid);
        }
        assert_eq!(crl.signature_under(RING_ALGORITHMS, &key), CrlSignature::Valid);
        assert_eq!(crl.signature_under(RING_ALGORITHMS, b"not a key"), CrlSignature::Invalid);
        assert!(crl.lists(&[7]) && !crl.lists(&[8]) && !crl.lists(&[0, 7]));
    }

    /// CRL PEM is read by the crate's one PEM scanner: strict RFC 7468, other labels
    /// skipped, private keys refused without being echoed, malformed armour refused.
    #[test]
    fn crl_pem_goes_through_the_pem_scanner() {
        let ca = Ca::root("Root");
        let (one, two) = (ca.crl().number(1).build(), ca.crl().number(2).build());
        let both = format!("{}text between blocks\n{}{}", one.pem(), ca.pem(), two.pem());
        let crls = Crl::from_pem(both.as_bytes()).unwrap();
        assert_eq!(crls.iter().map(Crl::number_hex).collect::<Vec<_>>(), ["01", "02"]);
        assert_eq!(Crl::parse_any(one.der()).unwrap().len(), 1);

        let key =
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n";
        let e = Crl::from_pem(format!("{}{key}", one.pem()).as_bytes()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PrivateKeySupplied);
        assert!(!e.message().contains("MC4CAQAw"), "{e}");

        let one_line = one.pem().replace('\n', "");
        let unterminated = one.pem().replace("-----END X509 CRL-----\n", "");
        for (input, why) in [
            (one_line.as_str(), "pem block at offset 0"),
            (unterminated.as_str(), "has no end line"),
            (&ca.pem(), "no X509 CRL block"),
            ("", "no X509 CRL block"),
            ("not pem at all", "no X509 CRL block"),
        ] {
            let e = Crl::from_pem(input.as_bytes()).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::MalformedInput, "{why}");
            assert!(e.message().contains(why), "{why}: {e}");
        }
    }
}
