//! The trust store: the anchors client chains must lead to, a pool of intermediates the
//! server holds for clients that omit them, the CRLs, and pinned self-signed certificates.
//!
//! Everything is parsed and checked when the store is built, so a bad configuration
//! fails at start-up, not on the first request. A built store is immutable; rotate by
//! building a new one and handing it to [`Verifier::replace_trust_store`](crate::verify::Verifier::replace_trust_store).

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls_pki_types::{CertificateDer, TrustAnchor};

use crate::cert::Certificate;
use crate::cert::name_constraints::DnsConstraints;
use crate::error::{ConfigError, Error, ErrorKind};
use crate::input::{self, Format, Limits};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;

pub(crate) mod crl;

use crate::error::TrustProblem;
pub use crl::Crl;

/// Facts about an anchor that verification checks per request, computed once.
#[derive(Debug)]
pub(crate) struct AnchorMeta {
    pub(crate) subject: String,
    pub(crate) not_before: Timestamp,
    pub(crate) not_after: Timestamp,
    pub(crate) key: crate::cert::PublicKeyInfo,
    /// The basicConstraints pathLenConstraint: how many intermediates, not counting
    /// self-issued ones, may follow the anchor.
    pub(crate) path_len: Option<u8>,
    /// The dNSName subtrees of its name constraints (webpki applies them to subject
    /// alternative names; certauth to a host-like subject common name as well).
    pub(crate) dns_constraints: Option<DnsConstraints>,
}

impl AnchorMeta {
    /// Whether the anchor is valid at `now`, with `skew` seconds allowed on either side
    /// (as the verifier checks certificates).
    fn valid_at(&self, now: Timestamp, skew: i64) -> bool {
        now.plus_secs(skew) >= self.not_before && now.plus_secs(-skew) <= self.not_after
    }
}

/// What webpki knows of an anchor, and all it compares: two anchors equal in these are
/// the same anchor to path building.
fn same_anchor(a: &TrustAnchor<'_>, b: &TrustAnchor<'_>) -> bool {
    a.subject.as_ref() == b.subject.as_ref()
        && a.subject_public_key_info.as_ref() == b.subject_public_key_info.as_ref()
        && a.name_constraints.as_ref().map(|n| n.as_ref())
            == b.name_constraints.as_ref().map(|n| n.as_ref())
}

/// The anchors one verification may use: those valid at its time. webpki treats anchors
/// as timeless, so an expired or not-yet-valid anchor is never offered to path building;
/// a chain then finds a renewed anchor of the same name whichever order the store lists
/// them in, and never ends at an anchor certauth would refuse.
pub(crate) struct UsableAnchors<'a> {
    store: &'a TrustStore,
    now: Timestamp,
    skew: i64,
    /// `None` when every anchor of the store is valid (the usual case: no copy).
    valid: Option<Vec<TrustAnchor<'a>>>,
}

impl<'a> UsableAnchors<'a> {
    /// The anchors to hand to path building.
    pub(crate) fn as_slice(&self) -> &[TrustAnchor<'a>] {
        match &self.valid {
            Some(valid) => valid,
            None => &self.store.anchors,
        }
    }

    /// The facts of the anchor certificates a path may end at, found by identity
    /// (subject, key and name constraints), among the usable anchors only. Anchors equal
    /// in all three are one anchor to webpki: the path holds through any of them whose
    /// own facts (such as a path length constraint) admit it.
    pub(crate) fn metas_of<'u>(
        &'u self,
        used: &'u TrustAnchor<'_>,
    ) -> impl Iterator<Item = &'a AnchorMeta> + 'u {
        let store = self.store;
        store
            .anchors
            .iter()
            .zip(&store.anchor_meta)
            .filter(move |(a, m)| m.valid_at(self.now, self.skew) && same_anchor(a, used))
            .map(|(_, m)| m)
    }

    /// Adds to an `unknown_issuer` or `bad_signature` error (what path building reports
    /// when no usable anchor fits) which anchors were left out for their validity, since
    /// one of them may be what the chain leads to.
    pub(crate) fn explain(&self, e: Error) -> Error {
        if !matches!(e.kind(), ErrorKind::UnknownIssuer | ErrorKind::BadSignature)
            || self.valid.is_none()
        {
            return e;
        }
        let mut unusable =
            self.store.anchor_meta.iter().filter(|m| !m.valid_at(self.now, self.skew));
        let Some(first) = unusable.next() else { return e };
        let why = if self.now.plus_secs(self.skew) < first.not_before {
            format!("not valid before {}", first.not_before.to_rfc3339())
        } else {
            format!("expired at {}", first.not_after.to_rfc3339())
        };
        let more = match unusable.count() {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        Error::new(
            e.kind(),
            format!(
                "{}; anchors outside their validity at {} were not used: {} ({why}){more}",
                e.message(),
                self.now.to_rfc3339(),
                first.subject
            ),
        )
    }
}

static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

/// Trust anchors, held intermediates, CRLs and pinned certificates, checked and ready
/// for verification. Build one with [`TrustStore::builder`].
///
/// ```
/// use certauth::TrustStore;
/// let store = TrustStore::builder()
///     .add_pem(include_bytes!("../tests/data/pki/ca-bundle.pem"))?
///     .check_at(certauth::Timestamp::parse_rfc3339("2027-01-01T00:00:00Z")?)
///     .build()?;
/// assert_eq!(store.anchors().len(), 1);
/// assert_eq!(store.intermediates().len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    anchor_meta: Vec<AnchorMeta>,
    /// The latest notBefore and the earliest notAfter of the anchors: between the two,
    /// every anchor is valid.
    all_valid: (Timestamp, Timestamp),
    intermediates: Vec<CertificateDer<'static>>,
    crls: Vec<Crl>,
    pinned: Vec<(Thumbprint, CertificateDer<'static>)>,
    warnings: Vec<TrustProblem>,
    generation: u64,
}

impl TrustStore {
    /// Starts a builder.
    pub fn builder() -> TrustStoreBuilder {
        TrustStoreBuilder::default()
    }

    /// The trust anchors.
    pub fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }

    /// The anchors' subjects (RFC 4514), in the order of [`anchors`](Self::anchors).
    pub fn anchor_subjects(&self) -> impl Iterator<Item = &str> {
        self.anchor_meta.iter().map(|m| m.subject.as_str())
    }

    /// Each anchor's subject (RFC 4514), notBefore and notAfter, in the order of
    /// [`anchors`](Self::anchors): for health reports and expiry alerts.
    pub fn anchor_validity(&self) -> impl Iterator<Item = (&str, Timestamp, Timestamp)> {
        self.anchor_meta.iter().map(|m| (m.subject.as_str(), m.not_before, m.not_after))
    }

    /// The anchors a verification at `now` may use: those valid then, `skew` seconds
    /// allowed on either side. Costs two comparisons when every anchor is valid.
    pub(crate) fn anchors_at(&self, now: Timestamp, skew: i64) -> UsableAnchors<'_> {
        let (latest_not_before, earliest_not_after) = self.all_valid;
        let valid = if now.plus_secs(skew) >= latest_not_before
            && now.plus_secs(-skew) <= earliest_not_after
        {
            None
        } else {
            Some(
                self.anchors
                    .iter()
                    .zip(&self.anchor_meta)
                    .filter(|(_, m)| m.valid_at(now, skew))
                    .map(|(a, _)| TrustAnchor {
                        subject: a.subject.as_ref().into(),
                        subject_public_key_info: a.subject_public_key_info.as_ref().into(),
                        name_constraints: a.name_constraints.as_ref().map(|n| n.as_ref().into()),
                    })
                    .collect(),
            )
        };
        UsableAnchors { store: self, now, skew, valid }
    }

    /// Intermediates the server holds, offered to path building next to the client's own.
    pub fn intermediates(&self) -> &[CertificateDer<'static>] {
        &self.intermediates
    }

    /// The CRLs: of each issuer and scope (issuing distribution point), the one with the
    /// highest CRL number, whatever order they were added in. Only these are checked.
    pub fn crls(&self) -> &[Crl] {
        &self.crls
    }

    /// Pinned self-signed client certificates, accepted without a CA.
    pub fn pinned(&self) -> impl Iterator<Item = &CertificateDer<'static>> {
        self.pinned.iter().map(|(_, der)| der)
    }

    /// Problems found while building, when [`TrustStoreBuilder::warn_on_problems`] was
    /// chosen, and CRLs whose issuer the store does not hold
    /// ([`TrustProblem::CrlWithoutIssuer`], always a warning).
    pub fn warnings(&self) -> &[TrustProblem] {
        &self.warnings
    }

    /// A number that differs between any two stores built by this process: verification
    /// caches key on it, so a rotated store never serves results of the old one.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub(crate) fn next_change_after(&self, now: Timestamp) -> Option<Timestamp> {
        self.anchor_meta
            .iter()
            .map(|m| m.not_before)
            .chain(self.crls.iter().map(|c| c.this_update()))
            .filter(|t| *t > now)
            .min()
    }

    pub(crate) fn pinned_match(&self, leaf: &CertificateDer<'_>) -> bool {
        let t = Thumbprint::of(leaf);
        self.pinned.iter().any(|(p, der)| *p == t && der.as_ref() == leaf.as_ref())
    }
}

impl fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustStore")
            .field("anchors", &self.anchor_subjects().collect::<Vec<_>>())
            .field("intermediates", &self.intermediates.len())
            .field("crls", &self.crls)
            .field("pinned", &self.pinned.iter().map(|(t, _)| t).collect::<Vec<_>>())
            .field("warnings", &self.warnings)
            .field("generation", &self.generation)
            .finish()
    }
}

/// Builds a [`TrustStore`]. Adding methods parse at once and fail on unreadable input;
/// [`build`](Self::build) runs the cross checks (validity, CA flags, duplicates, CRL
/// issuers, emptiness).
#[derive(Debug, Default)]
pub struct TrustStoreBuilder {
    anchors: Vec<Certificate>,
    explicit_anchors: Vec<bool>,
    /// CA certificates of bundles and files that are not self-issued: intermediates,
    /// unless [`trust_non_self_signed_anchors`](Self::trust_non_self_signed_anchors).
    bundle_cas: Vec<Certificate>,
    intermediates: Vec<Certificate>,
    crls: Vec<Crl>,
    pinned: Vec<Certificate>,
    skipped: Vec<TrustProblem>,
    non_self_signed_anchors: bool,
    warn: bool,
    check_at: Option<Timestamp>,
    limits: Option<Limits>,
}

fn invalid(what: impl Into<String>, error: Error) -> ConfigError {
    ConfigError::Invalid { what: what.into(), error }
}

/// The default byte bound of a trust file or CRL read for a [`TrustStoreBuilder`] (and
/// of a CRL fetched over HTTP for [`crate::reload::TrustFiles`]): 16 MiB.
pub(crate) const MAX_CONFIG_FILE: usize = 16 << 20;

/// Reads the file at `path` if it holds at most `max` bytes, reading no more than
/// `max + 1` bytes whatever it is: a huge or sparse file, or a device that never ends
/// (`/dev/zero`), costs the bound, not its length. Too long is `input_too_large`, naming
/// the bound; an I/O failure is `malformed_input`. The caller names the file.
pub(crate) fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, Error> {
    use std::io::Read as _;
    let io = |e: std::io::Error| Error::new(ErrorKind::MalformedInput, format!("cannot read: {e}"));
    let too_large =
        || Error::new(ErrorKind::InputTooLarge, format!("file is larger than {max} bytes"));
    let file = std::fs::File::open(path).map_err(io)?;
    // A regular file says its length: refuse at once, before reading anything.
    if file.metadata().is_ok_and(|m| m.is_file() && m.len() > max) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

impl TrustStoreBuilder {
    /// Reads a file for the store, within the per-file bound of [`with_limits`](Self::with_limits).
    fn read(&self, path: &Path) -> Result<Vec<u8>, ConfigError> {
        read_bounded(path, self.limits().max_bundle() as u64)
            .map_err(|e| invalid(path.display().to_string(), e))
    }
}

impl TrustStoreBuilder {
    fn limits(&self) -> Limits {
        // A CA bundle is configuration, not a client request: allow large system bundles.
        self.limits
            .unwrap_or(Limits::default().with_max_bundle(MAX_CONFIG_FILE).with_max_chain_len(4096))
    }

    /// Adds the CA certificates of a PEM bundle. Self-issued CA certificates (a root:
    /// subject = issuer) become anchors; other CA certificates join the intermediate pool
    /// (so a chain file ordered leaf, intermediates, root works); non-CA certificates are
    /// skipped and reported. [`add_file`](Self::add_file), [`add_directory`](Self::add_directory)
    /// and [`add_pkcs12`](Self::add_pkcs12) sort certificates the same way, whatever their
    /// encoding. See [`trust_non_self_signed_anchors`](Self::trust_non_self_signed_anchors).
    pub fn add_pem(self, pem: &[u8]) -> Result<Self, ConfigError> {
        let certs = input::parse(pem, Format::Pem, &self.limits())
            .map_err(|e| invalid("pem trust bundle", e))?;
        self.add_bundle(certs.into_certificates(), "pem trust bundle")
    }

    /// Adds one DER certificate as a trust anchor, whatever its issuer: the explicit way
    /// to trust one certificate, such as a sub-CA without its root (it must be a CA
    /// unless problems are warnings). Below an anchor, its issuer's CRL, name constraints
    /// and path length no longer apply. Files, DER or PEM, go through
    /// [`add_file`](Self::add_file), which makes only self-issued CAs anchors.
    pub fn add_der(mut self, der: &[u8]) -> Result<Self, ConfigError> {
        let cert = Certificate::from_der(der).map_err(|e| invalid("der trust anchor", e))?;
        self.anchors.push(cert);
        self.explicit_anchors.push(true);
        Ok(self)
    }

    /// Adds a file: PEM (any extension) or DER (`.der`, `.cer`, `.crt` holding DER),
    /// decided by content. Either way its certificates are sorted as by
    /// [`add_pem`](Self::add_pem): a DER intermediate joins the intermediate pool, it does
    /// not become an anchor. Read up to the byte bound of [`with_limits`](Self::with_limits)
    /// (default 16 MiB) and no further.
    pub fn add_file(self, path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = self.read(path)?;
        if bytes.first() == Some(&0x30) {
            self.add_bundle(vec![CertificateDer::from(bytes)], &path.display().to_string())
        } else {
            let certs = input::parse(&bytes, Format::Pem, &self.limits())
                .map_err(|e| invalid(path.display().to_string(), e))?;
            self.add_bundle(certs.into_certificates(), &path.display().to_string())
        }
    }

    /// Adds every `.pem`, `.crt`, `.cer` and `.der` file of a directory (not recursive),
    /// in name order, each as by [`add_file`](Self::add_file). Other files, and entries
    /// that are not regular files (or links to one), are ignored.
    pub fn add_directory(mut self, dir: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let dir = dir.as_ref();
        let io = |e: std::io::Error| {
            invalid(dir.display().to_string(), Error::new(ErrorKind::MalformedInput, e.to_string()))
        };
        let mut paths = std::fs::read_dir(dir)
            .map_err(io)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(io)?;
        paths.sort();
        for path in paths {
            let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            if matches!(ext.as_deref(), Some("pem" | "crt" | "cer" | "der")) && path.is_file() {
                self = self.add_file(&path)?;
            }
        }
        Ok(self)
    }

    /// Adds the certificates of a PKCS#12 (`.p12`, `.pfx`) bundle, as for a PEM bundle.
    /// Keys in the bundle are ignored.
    #[cfg(feature = "pkcs12")]
    #[cfg_attr(docsrs, doc(cfg(feature = "pkcs12")))]
    pub fn add_pkcs12(self, bytes: &[u8], password: &str) -> Result<Self, ConfigError> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            bytes,
            password,
            p12_keystore::Pkcs12ImportPolicy::Raw,
        )
        .map_err(|e| {
            invalid("pkcs12 bundle", Error::new(ErrorKind::MalformedInput, e.to_string()))
        })?;
        let mut certs = Vec::new();
        for (_, entry) in store.entries() {
            match entry {
                p12_keystore::KeyStoreEntry::Certificate(c) => {
                    certs.push(CertificateDer::from(c.as_der().to_vec()));
                }
                p12_keystore::KeyStoreEntry::PrivateKeyChain(chain) => certs.extend(
                    chain.certs().iter().map(|c| CertificateDer::from(c.as_der().to_vec())),
                ),
                _ => {}
            }
        }
        self.add_bundle(certs, "pkcs12 bundle")
    }

    fn add_bundle(
        mut self,
        certs: Vec<CertificateDer<'static>>,
        what: &str,
    ) -> Result<Self, ConfigError> {
        for der in certs {
            let cert = Certificate::from_der(&der).map_err(|e| invalid(what, e))?;
            if !cert.is_ca() {
                self.skipped
                    .push(TrustProblem::SkippedNonCa { subject: cert.subject().to_rfc4514() });
            } else if cert.is_self_issued() {
                self.anchors.push(cert);
                self.explicit_anchors.push(false);
            } else {
                self.bundle_cas.push(cert);
            }
        }
        Ok(self)
    }

    /// Adds CA certificates the server holds for clients that send only their leaf.
    /// They are offered to path building; they are not anchors.
    pub fn add_intermediates_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        let certs = input::parse(pem, Format::Pem, &self.limits())
            .map_err(|e| invalid("intermediates", e))?;
        for der in certs.into_certificates() {
            self.intermediates
                .push(Certificate::from_der(&der).map_err(|e| invalid("intermediate", e))?);
        }
        Ok(self)
    }

    /// Adds CRLs, PEM (one or more) or DER. Checking them needs a
    /// [`RevocationPolicy`](crate::verify::RevocationPolicy) on the verifier.
    ///
    /// Of several CRLs of one issuer and scope (issuing distribution point), the one with
    /// the highest CRL number decides, whatever the order they are added in; the older
    /// ones are dropped at [`build`](Self::build). Two different CRLs of one issuer and
    /// scope with the same number are refused at build.
    pub fn add_crl(mut self, bytes: &[u8]) -> Result<Self, ConfigError> {
        self.crls.extend(Crl::parse_any(bytes).map_err(|e| invalid("crl", e))?);
        Ok(self)
    }

    /// Adds the CRLs of a file (PEM or DER), read up to the byte bound of
    /// [`with_limits`](Self::with_limits) (default 16 MiB; a CRL of 100,000 entries takes
    /// about 4 MB). For a larger CRL, raise the bound.
    pub fn add_crl_file(self, path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let bytes = self.read(path.as_ref())?;
        self.add_crl(&bytes).map_err(|e| match e {
            ConfigError::Invalid { error, .. } => {
                invalid(path.as_ref().display().to_string(), error)
            }
            other => other,
        })
    }

    /// Adds the CRLs fetched once, now, from an `http://` URL with a plain HTTP/1.1 GET:
    /// the response must be `200` within `timeout` (connecting, sending and receiving
    /// together; at least 10 ms), with a body (PEM or DER) of at most the byte bound of
    /// [`with_limits`](Self::with_limits) (default 16 MiB). Redirects, any other scheme
    /// (`https:`, `file:`, `ldap:`) and a URL with user information are refused. For a CRL
    /// fetched again while serving, use [`TrustFiles::crl_url`](crate::reload::TrustFiles::crl_url).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// let store = certauth::TrustStore::builder()
    ///     .add_file("/etc/certauth/ca.pem")?
    ///     .add_crl_url("http://pki.example.com/issuing.crl", Duration::from_secs(10))?
    ///     .build()?;
    /// # Ok::<(), certauth::ConfigError>(())
    /// ```
    pub fn add_crl_url(self, url: &str, timeout: Duration) -> Result<Self, ConfigError> {
        let printable: String =
            url.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect();
        let in_url = |error: Error| invalid(format!("crl url {printable}"), error);
        let parsed = crate::http_get::HttpUrl::parse(url).map_err(in_url)?;
        let bytes = crate::http_get::get(
            &parsed,
            crate::http_get::ACCEPT_CRL,
            self.limits().max_bundle(),
            timeout.max(Duration::from_millis(10)),
        )
        .map_err(in_url)?;
        self.add_crl(&bytes).map_err(|e| match e {
            ConfigError::Invalid { error, .. } => in_url(error),
            other => other,
        })
    }

    /// Pins a self-signed client certificate: a leaf byte-identical to it is accepted
    /// without a CA (validity, key policy and EKU still apply). For small deployments and
    /// devices; revocation then means removing the pin.
    pub fn pin_certificate(mut self, der: &[u8]) -> Result<Self, ConfigError> {
        self.pinned.push(Certificate::from_der(der).map_err(|e| invalid("pinned certificate", e))?);
        Ok(self)
    }

    /// Makes every CA certificate of a bundle or file an anchor, not only self-issued
    /// ones: to trust a sub-CA without trusting its root's other children. Applies to
    /// everything added, before or after this call. Default: off, because below an
    /// anchor its issuer's CRL, name constraints and path length no longer apply.
    #[must_use]
    pub fn trust_non_self_signed_anchors(mut self) -> Self {
        self.non_self_signed_anchors = true;
        self
    }

    /// Reports [`TrustProblem`]s as warnings instead of refusing to build. An empty
    /// store, and two different CRLs with one number ([`TrustProblem::CrlNumberConflict`]),
    /// are still errors.
    #[must_use]
    pub fn warn_on_problems(mut self) -> Self {
        self.warn = true;
        self
    }

    /// The time anchor validity is checked at. Default: the clock at `build`.
    #[must_use]
    pub fn check_at(mut self, time: Timestamp) -> Self {
        self.check_at = Some(time);
        self
    }

    /// Bounds for the files and bundles added (default: 16 MiB and 4,096 certificates
    /// per file). The byte bound applies to every file read, certificates and CRLs alike:
    /// a file is read up to the bound and no further, so a huge file, a symbolic link to
    /// one or a device such as `/dev/zero` is refused with `input_too_large` at once.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = Some(limits);
        self
    }

    /// Checks everything and builds the store.
    pub fn build(mut self) -> Result<TrustStore, ConfigError> {
        let bundle_cas = std::mem::take(&mut self.bundle_cas);
        if self.non_self_signed_anchors {
            self.explicit_anchors.extend(bundle_cas.iter().map(|_| false));
            self.anchors.extend(bundle_cas);
        } else {
            self.intermediates.extend(bundle_cas);
        }
        if self.anchors.is_empty() && self.pinned.is_empty() {
            return Err(ConfigError::NoTrustAnchors);
        }
        let now = self.check_at.unwrap_or_else(Timestamp::now);
        let mut problems = self.skipped;
        let mut seen = HashSet::new();
        let mut anchors = Vec::new();
        let mut anchor_meta = Vec::new();
        for (cert, explicit) in self.anchors.iter().zip(&self.explicit_anchors) {
            let subject = cert.subject().to_rfc4514();
            if !seen.insert(cert.thumbprint()) {
                problems.push(TrustProblem::Duplicate { subject });
                continue;
            }
            if *explicit && !cert.is_ca() {
                problems.push(TrustProblem::AnchorNotCa { subject: subject.clone() });
            }
            if now < cert.not_before() {
                problems.push(TrustProblem::AnchorNotYetValid {
                    subject: subject.clone(),
                    not_before: cert.not_before().to_rfc3339(),
                });
            } else if now > cert.not_after() {
                problems.push(TrustProblem::AnchorExpired {
                    subject: subject.clone(),
                    not_after: cert.not_after().to_rfc3339(),
                });
            }
            let anchor = webpki::anchor_from_trusted_cert(cert.der())
                .map_err(|e| {
                    invalid(
                        format!("anchor {subject}"),
                        Error::new(ErrorKind::InvalidCertificate, format!("{e:?}")),
                    )
                })?
                .to_owned();
            let dns_constraints = DnsConstraints::of(cert.der()).map_err(|()| {
                invalid(
                    format!("anchor {subject}"),
                    Error::new(ErrorKind::InvalidCertificate, "malformed name constraints"),
                )
            })?;
            anchors.push(anchor);
            anchor_meta.push(AnchorMeta {
                subject,
                not_before: cert.not_before(),
                not_after: cert.not_after(),
                key: cert.key().clone(),
                path_len: cert.path_len_constraint(),
                dns_constraints,
            });
        }
        let mut intermediates = Vec::new();
        for cert in &self.intermediates {
            if seen.insert(cert.thumbprint()) {
                intermediates.push(cert.der().clone());
            } else {
                problems.push(TrustProblem::Duplicate { subject: cert.subject().to_rfc4514() });
            }
        }
        // Of each series (issuer and scope) the CRL with the highest number decides.
        let mut crls: Vec<Crl> = Vec::with_capacity(self.crls.len());
        let mut conflicts = Vec::new();
        for crl in self.crls {
            let Some(held) = crls.iter_mut().find(|c| c.same_series(&crl)) else {
                crls.push(crl);
                continue;
            };
            match crl.cmp_number(held) {
                std::cmp::Ordering::Greater => *held = crl,
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => {
                    let (issuer, number) = (crl.issuer().to_rfc4514(), crl.number_hex().to_owned());
                    if crl.same_bytes(held) {
                        problems.push(TrustProblem::DuplicateCrl { issuer, number });
                    } else {
                        conflicts.push(TrustProblem::CrlNumberConflict { issuer, number });
                    }
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(ConfigError::Trust(conflicts));
        }
        let mut notices = Vec::new();
        for crl in &crls {
            let issuer = crl.issuer();
            let signer = self
                .anchors
                .iter()
                .chain(&self.intermediates)
                .find(|c| c.subject().der() == issuer.der());
            match signer {
                None => {
                    notices.push(TrustProblem::CrlWithoutIssuer { issuer: issuer.to_rfc4514() })
                }
                Some(ca) if ca.key_usage().is_some_and(|ku| !ku.crl_sign()) => {
                    problems
                        .push(TrustProblem::CrlIssuerCannotSign { issuer: issuer.to_rfc4514() });
                }
                Some(_) => {}
            }
        }
        let all_valid = anchor_meta.iter().fold(
            (Timestamp::from_unix_secs(i64::MIN), Timestamp::from_unix_secs(i64::MAX)),
            |(nb, na), m: &AnchorMeta| (nb.max(m.not_before), na.min(m.not_after)),
        );
        let pinned = self.pinned.iter().map(|c| (c.thumbprint(), c.der().clone())).collect();
        if !problems.is_empty() && !self.warn {
            return Err(ConfigError::Trust(problems));
        }
        problems.extend(notices);
        Ok(TrustStore {
            anchors,
            anchor_meta,
            all_valid,
            intermediates,
            crls,
            pinned,
            warnings: problems,
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        })
    }
}
