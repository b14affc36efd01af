//! Certificate authorities: roots, intermediates and the builder for both.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SerialNumber,
};
use rustls_pki_types::CertificateDer;

use super::keys::copy_key;
use super::{
    CrlBuilder, DEFAULT_NOT_AFTER, DEFAULT_NOT_BEFORE, KeyType, LeafBuilder, authority_info_access,
    base_params, eku_purpose, pem, serial_bytes,
};
use crate::{Thumbprint, Timestamp};

/// Everything that can issue: a CA, or a leaf used as an issuer in negative tests.
pub(super) fn issuer_of(ca: &Ca) -> Issuer<'_, &KeyPair> {
    Issuer::from_params(&ca.params, &ca.key)
}

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
    pub(super) name: String,
    pub(super) params: CertificateParams,
    pub(super) key: KeyPair,
    pub(super) key_type: KeyType,
    pub(super) der: CertificateDer<'static>,
    /// This CA and its issuers up to, excluding, the root (empty for a root).
    pub(super) path: Vec<CertificateDer<'static>>,
    pub(super) next_serial: AtomicU64,
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
        CrlBuilder::new(self)
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

    pub(super) fn next_serial(&self) -> Vec<u8> {
        serial_bytes(self.next_serial.fetch_add(1, Ordering::Relaxed))
    }
}

/// Builder for a [`Ca`], from [`Ca::builder`] (a root) or [`Ca::sub_ca`] (an
/// intermediate). Defaults as described on [`Ca`].
pub struct CaBuilder<'a> {
    name: String,
    issuer: Option<&'a Ca>,
    key: KeyType,
    /// A copy of another CA's key, used instead of a fresh one.
    same_key: Option<KeyPair>,
    not_before: Timestamp,
    not_after: Timestamp,
    path_len: Option<u8>,
    ekus: Vec<ExtendedKeyUsagePurpose>,
    crl_sign: bool,
    key_cert_sign: bool,
    digital_signature: bool,
    key_usage: bool,
    serial: Option<Vec<u8>>,
    permitted: Vec<GeneralSubtree>,
    excluded: Vec<GeneralSubtree>,
    ca_issuers: Vec<String>,
}

impl fmt::Debug for CaBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaBuilder")
            .field("name", &self.name)
            .field("issuer", &self.issuer.map(Ca::name))
            .field("key", &self.key)
            .field("same_key", &self.same_key.is_some())
            .finish_non_exhaustive()
    }
}

impl<'a> CaBuilder<'a> {
    fn new(name: &str, issuer: Option<&'a Ca>) -> Self {
        Self {
            name: name.to_owned(),
            issuer,
            key: KeyType::default(),
            same_key: None,
            not_before: DEFAULT_NOT_BEFORE,
            not_after: DEFAULT_NOT_AFTER,
            path_len: None,
            ekus: Vec::new(),
            crl_sign: true,
            key_cert_sign: true,
            digital_signature: true,
            key_usage: true,
            serial: None,
            permitted: Vec::new(),
            excluded: Vec::new(),
            ca_issuers: Vec::new(),
        }
    }

    /// The CA's key type. Default [`KeyType::EcdsaP256`]. Only types with a private key
    /// ([`KeyType::has_private_key`]) can sign; [`CaBuilder::build`] panics on others.
    #[must_use]
    pub fn key(mut self, key: KeyType) -> Self {
        self.key = key;
        self.same_key = None;
        self
    }

    /// Certifies `other`'s key instead of a fresh one (replacing [`CaBuilder::key`]): a
    /// root renewed with new dates or constraints but the same name and key, or a CA
    /// cross-certified under a second issuer. Default: a fresh key.
    ///
    /// ```
    /// use certauth::testkit::pki::{Ca, DEFAULT_NOT_AFTER};
    /// use certauth::{Certificate, Timestamp};
    /// let jan_1 = |year| Timestamp::from_utc(year, 1, 1, 0, 0, 0).unwrap();
    /// let old = Ca::builder("Test Root").valid(jan_1(2015), jan_1(2025)).build();
    /// let renewed =
    ///     Ca::builder("Test Root").same_key_as(&old).valid(jan_1(2024), DEFAULT_NOT_AFTER).build();
    /// let (old, renewed) = (Certificate::from_der(old.der())?, Certificate::from_der(renewed.der())?);
    /// assert_eq!(old.spki_der(), renewed.spki_der());
    /// assert_eq!(old.subject(), renewed.subject());
    /// assert!(old.not_after() < renewed.not_after());
    /// # Ok::<(), certauth::Error>(())
    /// ```
    #[must_use]
    pub fn same_key_as(mut self, other: &Ca) -> Self {
        self.key = other.key_type;
        self.same_key = Some(copy_key(&other.key));
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

    /// Leaves keyCertSign out of the key usage, for tests where an intermediate is not
    /// allowed to issue certificates. Default: keyCertSign present. The CA still signs
    /// what it is asked to (as an issuer that lists no key usage).
    #[must_use]
    pub fn without_key_cert_sign(mut self) -> Self {
        self.key_cert_sign = false;
        self
    }

    /// Leaves digitalSignature out of the key usage. Default: digitalSignature present.
    #[must_use]
    pub fn without_digital_signature(mut self) -> Self {
        self.digital_signature = false;
        self
    }

    /// Issues the CA without a key usage extension at all (then nothing restricts what
    /// its key may sign). Default: a key usage extension (see [`Ca`]).
    ///
    /// ```
    /// use certauth::testkit::pki::Ca;
    /// let root = Ca::root("Root");
    /// let plain = root.sub_ca("No Key Usage").without_key_usage().build();
    /// let only = root.sub_ca("Only keyCertSign").without_crl_sign().without_digital_signature();
    /// let only = certauth::Certificate::from_der(only.build().der())?.key_usage().unwrap();
    /// assert!(only.key_cert_sign() && !only.crl_sign() && !only.digital_signature());
    /// assert_eq!(certauth::Certificate::from_der(plain.der())?.key_usage(), None);
    /// let no_sign = root.sub_ca("No keyCertSign").without_key_cert_sign().build();
    /// assert!(!certauth::Certificate::from_der(no_sign.der())?.key_usage().unwrap().key_cert_sign());
    /// # Ok::<(), certauth::Error>(())
    /// ```
    #[must_use]
    pub fn without_key_usage(mut self) -> Self {
        self.key_usage = false;
        self
    }

    /// The serial number (big-endian magnitude bytes). Default: the issuer's next serial
    /// (roots: 1).
    #[must_use]
    pub fn serial(mut self, serial: &[u8]) -> Self {
        self.serial = Some(serial.to_vec());
        self
    }

    /// Adds an extended key usage extension listing exactly these dotted OIDs (e.g.
    /// [`SERVER_AUTH_OID`](crate::SERVER_AUTH_OID)), for tests where a CA's extended key usage
    /// constrains the chain below it. Default: no extended key usage extension.
    ///
    /// ```
    /// use certauth::SERVER_AUTH_OID;
    /// use certauth::testkit::pki::Ca;
    /// let root = Ca::root("Root");
    /// let servers_only = root.sub_ca("Server CA").eku(&[SERVER_AUTH_OID]).build();
    /// let cert = certauth::Certificate::from_der(servers_only.der())?;
    /// assert!(cert.is_ca() && cert.has_eku(SERVER_AUTH_OID));
    /// assert_eq!(cert.extended_key_usages().len(), 1);
    /// # Ok::<(), certauth::Error>(())
    /// ```
    ///
    /// # Panics
    /// At once, on a malformed OID.
    #[must_use]
    pub fn eku(mut self, oids: &[&str]) -> Self {
        self.ekus = oids.iter().map(|o| eku_purpose(o)).collect();
        self
    }

    /// Adds a caIssuers URI to the authority information access extension: where this
    /// CA's issuer certificate can be fetched. Default: no such extension.
    #[must_use]
    pub fn ca_issuers_url(mut self, uri: &str) -> Self {
        self.ca_issuers.push(uri.to_owned());
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
        let key = self.same_key.unwrap_or_else(|| self.key.generate("a CA"));
        let mut params = base_params(&self.name, self.not_before, self.not_after);
        params.is_ca = IsCa::Ca(match self.path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        params.key_usages = [
            (self.key_cert_sign, KeyUsagePurpose::KeyCertSign),
            (self.digital_signature, KeyUsagePurpose::DigitalSignature),
            (self.crl_sign, KeyUsagePurpose::CrlSign),
        ]
        .into_iter()
        .filter_map(|(wanted, usage)| (wanted && self.key_usage).then_some(usage))
        .collect();
        params.extended_key_usages = self.ekus;
        if !self.permitted.is_empty() || !self.excluded.is_empty() {
            params.name_constraints = Some(NameConstraints {
                permitted_subtrees: self.permitted,
                excluded_subtrees: self.excluded,
            });
        }
        if !self.ca_issuers.is_empty() {
            params.custom_extensions.push(authority_info_access(&self.ca_issuers, &[]));
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
        // rcgen refuses to sign as an issuer whose key usage lacks keyCertSign; the
        // issuer's key usage is not part of what it signs, so sign as one that lists none.
        if !params.key_usages.contains(&KeyUsagePurpose::KeyCertSign) {
            params.key_usages.clear();
        }
        Ca {
            name: self.name,
            params,
            key,
            key_type: self.key,
            der: cert.der().clone(),
            path,
            next_serial: AtomicU64::new(0x1000),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Certificate;
    use crate::input::Source;

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

    /// A renewal keeps the key and name and takes the new settings.
    #[test]
    fn same_key_renewal_and_ca_ekus() {
        use crate::cert::{CLIENT_AUTH_OID, SERVER_AUTH_OID};
        let ts = |y| Timestamp::from_utc(y, 1, 1, 0, 0, 0).unwrap();
        let old = Ca::builder("Root").key(KeyType::Ed25519).valid(ts(2015), ts(2025)).build();
        let new = Ca::builder("Root").same_key_as(&old).exclude_dns("example.test").build();
        let (o, n) =
            (Certificate::from_der(old.der()).unwrap(), Certificate::from_der(new.der()).unwrap());
        assert_eq!((o.spki_der(), o.subject()), (n.spki_der(), n.subject()));
        assert_eq!(old.key_pem(), new.key_pem());
        assert_eq!(n.not_after(), DEFAULT_NOT_AFTER);
        assert!(format!("{:?}", Ca::builder("Root").same_key_as(&old)).contains("Ed25519"));
        let fresh = Ca::builder("Root").same_key_as(&old).key(KeyType::EcdsaP256).build();
        assert_ne!(Certificate::from_der(fresh.der()).unwrap().spki_der(), o.spki_der());

        assert!(!o.has_eku_extension());
        let servers = old.sub_ca("Server CA").eku(&[SERVER_AUTH_OID]).build();
        let s = Certificate::from_der(servers.der()).unwrap();
        assert!(s.is_ca() && s.has_eku(SERVER_AUTH_OID) && !s.has_eku(CLIENT_AUTH_OID));
    }
}
