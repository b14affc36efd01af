//! Certificate revocation lists, parsed and checked once when they are loaded into a
//! trust store.
//!
//! webpki 0.103 checks a CRL's signature, its scope and the serial, but accepts a CRL
//! with no CRL number or a critical one, and knows only `nextUpdate` for freshness.
//! [`Crl::from_der`] refuses the former; the verifier's
//! [`RevocationPolicy`](crate::verify::RevocationPolicy) adds a maximum age and chooses
//! whether staleness is a hard or a soft failure.

use std::fmt;

use der::Decode as _;

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
    webpki: webpki::CertRevocationList<'static>,
    issuer: crate::cert::DistinguishedName,
    this_update: Timestamp,
    next_update: Option<Timestamp>,
    /// The CRL number's magnitude, big-endian, without leading zeros.
    number: Vec<u8>,
    number_hex: String,
    /// The issuing distribution point extension's value, if any.
    scope: Option<Vec<u8>>,
    /// SHA-256 of the DER, to tell two CRLs of one number apart.
    digest: crate::thumbprint::Thumbprint,
    revoked: usize,
}

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
        let webpki = webpki::OwnedCertRevocationList::from_der(der)
            .map_err(|e| bad(&format!("refused by webpki ({e:?})")))?;
        let time = |t: &x509_cert::time::Time| {
            Timestamp::from_unix_secs(i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(0))
        };
        Ok(Self {
            webpki: webpki::CertRevocationList::Owned(webpki),
            issuer: crate::cert::DistinguishedName::from_name(&tbs.issuer)?,
            this_update: time(&tbs.this_update),
            next_update: tbs.next_update.as_ref().map(time),
            number,
            number_hex,
            scope,
            digest: crate::thumbprint::Thumbprint::of(der),
            revoked: tbs.revoked_certificates.as_ref().map_or(0, Vec::len),
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

    pub(crate) fn webpki(&self) -> &webpki::CertRevocationList<'static> {
        &self.webpki
    }

    /// Raw issuer name as webpki compares it with a certificate's issuer.
    pub(crate) fn issuer_raw(&self) -> &[u8] {
        self.webpki.issuer()
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
