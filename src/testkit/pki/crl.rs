//! Certificate revocation lists signed by a [`Ca`].

use rcgen::{
    CertificateRevocationListParams, CrlDistributionPoint, CrlIssuingDistributionPoint, CrlScope,
    Issuer, KeyIdMethod, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateRevocationListDer;

use super::der_rewrite::remove_crl_number;
use super::{Ca, DEFAULT_NOT_AFTER, DEFAULT_NOT_BEFORE, Leaf, pem, serial_bytes};
use crate::Timestamp;

/// Builder for a [`Crl`], from [`Ca::crl`].
///
/// Defaults: no revoked certificates, `thisUpdate` [`DEFAULT_NOT_BEFORE`], `nextUpdate`
/// [`DEFAULT_NOT_AFTER`], CRL number 1 (non-critical), signed by the CA's key (even when
/// the CA lacks cRLSign, see [`CaBuilder::without_crl_sign`]). A revocation date is the
/// CRL's `thisUpdate`.
///
/// [`CaBuilder::without_crl_sign`]: super::CaBuilder::without_crl_sign
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
    distribution_points: Vec<String>,
    user_certs_only: bool,
}

impl<'a> CrlBuilder<'a> {
    pub(super) fn new(ca: &'a Ca) -> Self {
        Self {
            ca,
            this_update: DEFAULT_NOT_BEFORE,
            next_update: DEFAULT_NOT_AFTER,
            number: Some(1),
            revoked: Vec::new(),
            distribution_points: Vec::new(),
            user_certs_only: false,
        }
    }

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

    /// Adds `uri` to an issuing distribution point extension: a partitioned CRL, which is
    /// its own series beside the issuer's full CRL. Default: no issuing distribution point.
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let ca = Ca::root("Root");
    /// let uri = "http://crl.example.test/users.crl";
    /// let users = ca.crl().distribution_point(uri).only_user_certs().build();
    /// assert!(users.der().windows(uri.len()).any(|w| w == uri.as_bytes()));
    /// ```
    #[must_use]
    pub fn distribution_point(mut self, uri: &str) -> Self {
        self.distribution_points.push(uri.to_owned());
        self
    }

    /// Marks the issuing distribution point as covering end-entity certificates only
    /// (onlyContainsUserCerts). Needs a [`CrlBuilder::distribution_point`].
    #[must_use]
    pub fn only_user_certs(mut self) -> Self {
        self.user_certs_only = true;
        self
    }

    /// Signs the CRL.
    ///
    /// # Panics
    /// If `nextUpdate` is not after `thisUpdate`, [`CrlBuilder::only_user_certs`] was set
    /// without a distribution point, or rcgen refuses the parameters.
    pub fn build(self) -> Crl {
        let issuing_distribution_point = match (self.distribution_points, self.user_certs_only) {
            (uris, _) if !uris.is_empty() => Some(CrlIssuingDistributionPoint {
                distribution_point: CrlDistributionPoint { uris },
                scope: self.user_certs_only.then_some(CrlScope::UserCertsOnly),
            }),
            (_, true) => panic!("testkit: only_user_certs needs a distribution point"),
            (_, false) => None,
        };
        let params = CertificateRevocationListParams {
            this_update: to_offset!(self.this_update),
            next_update: to_offset!(self.next_update),
            crl_number: SerialNumber::from_slice(&serial_bytes(self.number.unwrap_or(1))),
            issuing_distribution_point,
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
    use super::super::der_rewrite::CRL_NUMBER_OID;
    use super::*;
    use crate::Certificate;
    use der::Decode as _;
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
    fn issuing_distribution_point() {
        use x509_cert::ext::pkix::crl::IssuingDistributionPoint;
        let idp = |crl: &Crl| {
            let list = parse_crl(crl);
            let exts = list.tbs_cert_list.crl_extensions.unwrap_or_default();
            let ext = exts.iter().find(|e| e.extn_id.to_string() == "2.5.29.28")?;
            assert!(ext.critical, "the issuing distribution point is critical");
            Some(IssuingDistributionPoint::from_der(ext.extn_value.as_bytes()).unwrap())
        };
        let ca = Ca::root("Root");
        assert!(idp(&ca.crl().build()).is_none());
        let uri = "http://crl.example.test/users.crl";
        let scoped = idp(&ca.crl().distribution_point(uri).only_user_certs().build()).unwrap();
        assert!(scoped.distribution_point.is_some());
        assert!(scoped.only_contains_user_certs && !scoped.only_contains_ca_certs);
        let unscoped = idp(&ca.crl().distribution_point(uri).build()).unwrap();
        assert!(!unscoped.only_contains_user_certs);
    }

    #[test]
    #[should_panic(expected = "needs a distribution point")]
    fn only_user_certs_without_a_distribution_point_panics() {
        let _ = Ca::root("Root").crl().only_user_certs().build();
    }
}
