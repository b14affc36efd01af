//! Rules certauth applies to every candidate path during path building, where webpki
//! leaves them to its caller. A candidate that breaks one is refused and webpki goes on
//! to the next, so a valid alternative (another anchor, a cross-signed intermediate) is
//! still found.
//!
//! - **The anchor's path length.** webpki keeps only an anchor's name, key and name
//!   constraints. RFC 5280 lets trust anchor information go without constraints, but
//!   certauth treats an anchor as the certificate it was configured from (its validity
//!   and key are checked too), and OpenSSL enforces it: the intermediates below the
//!   anchor, not counting self-issued ones (RFC 5280 6.1.4 (l)), may number at most the
//!   anchor's pathLenConstraint (6.1.4 (m)).
//! - **keyCertSign.** An intermediate with a key usage extension that lacks keyCertSign
//!   may not issue certificates (RFC 5280 6.1.4 (n)). An intermediate without a key usage
//!   extension may. The anchor's key usage is not checked: it is trusted as configured.
//! - **DNS name constraints on the subject common name.** webpki applies name constraints
//!   to subject alternative names only. When the leaf names no host among its subject
//!   alternative names (no dNSName, no iPAddress), each of its subject common names that
//!   looks like a DNS name ([`host_like`]) must lie within the DNS name constraints of the
//!   anchor and of every intermediate of the path: identity rules can match on the common
//!   name, so a CA constrained to `example.org` must not vouch for `CN=admin.other.com`.
//!   A common name with a NUL character is refused under DNS constraints. OpenSSL checks
//!   the common name whenever there is no dNSName; a leaf with an iPAddress names its host
//!   there, and its common name is not taken for a host name (as web clients do, and as
//!   x509-limbo's BetterTLS cases expect). This guards against a constrained CA's
//!   mistakes, not its malice: a CA that wants to vouch for another common name can add
//!   a dNSName inside its constraints, which makes the common name no host name here
//!   (nor in OpenSSL).

use webpki::VerifiedPath;

use crate::cert::name_constraints::DnsConstraints;
use crate::cert::{Certificate, KeyUsage};
use crate::error::{Error, ErrorKind};
use crate::trust::{AnchorMeta, UsableAnchors};

/// A candidate path refused by a rule of this module: the error to report, and the
/// webpki error that stands for it while webpki ranks the failures of all candidates.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) ranked_as: webpki::Error,
    pub(crate) error: Error,
}

impl Refusal {
    fn new(ranked_as: webpki::Error, kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { ranked_as, error: Error::new(kind, message.into()) }
    }
}

/// The intermediates of `path` that count towards path lengths: those not self-issued
/// (RFC 5280 6.1.4 (l)), subject and issuer compared as DER.
pub(crate) fn counted_intermediates(path: &VerifiedPath<'_>) -> usize {
    path.intermediate_certificates().filter(|c| c.subject() != c.issuer()).count()
}

/// Applies the rules to `path`. Returns the facts of the anchor certificate the path
/// holds through: of the usable anchor certificates webpki cannot tell apart, those whose
/// path length admits the path, the one valid longest.
pub(crate) fn check<'a>(
    path: &VerifiedPath<'_>,
    anchors: &UsableAnchors<'a>,
) -> Result<&'a AnchorMeta, Refusal> {
    check_issuers_can_sign(path)?;
    let anchor = anchor_admitting(path, anchors)?;
    check_subject_cn(path, anchor)?;
    Ok(anchor)
}

/// RFC 5280 6.1.4 (n): keyCertSign in every intermediate that has a key usage extension.
fn check_issuers_can_sign(path: &VerifiedPath<'_>) -> Result<(), Refusal> {
    for c in path.intermediate_certificates() {
        match crate::der_reader::key_usage_of(&c.der()).map(|k| k.map(KeyUsage::from_bits)) {
            Ok(None) => {}
            Ok(Some(ku)) if ku.key_cert_sign() => {}
            Ok(Some(_)) => {
                return Err(Refusal::new(
                    webpki::Error::EndEntityUsedAsCa,
                    ErrorKind::InvalidCertificate,
                    "an intermediate: key usage does not include keyCertSign, \
                     so it may not issue certificates",
                ));
            }
            Err(_) => {
                return Err(Refusal::new(
                    webpki::Error::ExtensionValueInvalid,
                    ErrorKind::InvalidCertificate,
                    "an intermediate: malformed key usage extension",
                ));
            }
        }
    }
    Ok(())
}

/// The anchor's pathLenConstraint (RFC 5280 6.1.4 (l), (m), the anchor taken as the
/// last certificate of the path).
fn anchor_admitting<'a>(
    path: &VerifiedPath<'_>,
    anchors: &UsableAnchors<'a>,
) -> Result<&'a AnchorMeta, Refusal> {
    let below = counted_intermediates(path);
    let admits = |m: &AnchorMeta| m.path_len.is_none_or(|n| below <= usize::from(n));
    let mut longest_refusing: Option<&AnchorMeta> = None;
    let mut longest_admitting: Option<&AnchorMeta> = None;
    for m in anchors.metas_of(path.anchor()) {
        let slot = if admits(m) { &mut longest_admitting } else { &mut longest_refusing };
        if slot.is_none_or(|held| m.not_after > held.not_after) {
            *slot = Some(m);
        }
    }
    match (longest_admitting, longest_refusing) {
        (Some(m), _) => Ok(m),
        (None, Some(m)) => Err(Refusal::new(
            webpki::Error::PathLenConstraintViolated,
            ErrorKind::InvalidCertificate,
            format!(
                "the trust anchor's path length constraint is exceeded (path length {below}, \
                 at most {})",
                m.path_len.unwrap_or_default()
            ),
        )),
        // Not reached: webpki is offered only the usable anchors. Worded as webpki's
        // own unknown issuer, which it stands for.
        (None, None) => Err(Refusal::new(
            webpki::Error::UnknownIssuer,
            ErrorKind::UnknownIssuer,
            "no path to a trust anchor",
        )),
    }
}

/// The DNS name a subject common name stands for, if it looks like one: only ASCII
/// letters, digits, `-`, `_` and `.`, with at least one `.` once a single trailing dot
/// (the absolute form) is dropped. This takes in every common name OpenSSL holds to DNS
/// name constraints, and a few malformed ones it does not (such as `a..b` or `-a.b`),
/// which can then only fail the constraints, never slip past them. A single label
/// (`client`) is not a DNS name here, nor in OpenSSL.
pub(crate) fn host_like(cn: &str) -> Option<&str> {
    let name = cn.strip_suffix('.').unwrap_or(cn);
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    (name.contains('.') && name.bytes().all(allowed)).then_some(name)
}

/// Holds a leaf without a dNSName or iPAddress subject alternative name to the DNS name
/// constraints of the anchor and the intermediates, through its host-like subject common
/// names.
fn check_subject_cn(path: &VerifiedPath<'_>, anchor: &AnchorMeta) -> Result<(), Refusal> {
    let mut of_intermediates = Vec::new();
    for c in path.intermediate_certificates() {
        match DnsConstraints::of(&c.der()) {
            Ok(Some(d)) => of_intermediates.push(d),
            Ok(None) => {}
            Err(_) => {
                return Err(Refusal::new(
                    webpki::Error::MalformedNameConstraint,
                    ErrorKind::NameConstraintViolation,
                    "an intermediate: malformed name constraints",
                ));
            }
        }
    }
    if anchor.dns_constraints.is_none() && of_intermediates.is_empty() {
        return Ok(());
    }
    let leaf = Certificate::from_der(&path.end_entity().der()).map_err(|_| {
        Refusal::new(
            webpki::Error::NameConstraintViolation,
            ErrorKind::NameConstraintViolation,
            "the leaf's names cannot be read to check them against name constraints",
        )
    })?;
    if !leaf.sans().dns().is_empty() || !leaf.sans().ip().is_empty() {
        return Ok(());
    }
    let constraints = anchor
        .dns_constraints
        .iter()
        .map(|d| ("the trust anchor", d))
        .chain(of_intermediates.iter().map(|d| ("an intermediate", d)));
    // A NUL cuts a name short wherever it is read as a C string: such a common name
    // cannot be judged against DNS constraints, and is refused (as OpenSSL does).
    if leaf.subject().values("CN").any(|cn| cn.contains('\0')) {
        return Err(Refusal::new(
            webpki::Error::NameConstraintViolation,
            ErrorKind::NameConstraintViolation,
            "the leaf's subject common name contains a nul character and a ca of the path \
             has dns name constraints",
        ));
    }
    for name in leaf.subject().values("CN").filter_map(host_like) {
        if let Some((role, _)) = constraints.clone().find(|(_, d)| !d.admits(name)) {
            return Err(Refusal::new(
                webpki::Error::NameConstraintViolation,
                ErrorKind::NameConstraintViolation,
                format!(
                    "the leaf's subject common name is outside the dns name constraints of \
                     {role} (the leaf has no dns or ip name)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::host_like;

    #[test]
    fn host_like_common_names() {
        for (cn, expected) in [
            ("client.example.org", Some("client.example.org")),
            ("Admin.Other.COM", Some("Admin.Other.COM")),
            ("client.example.org.", Some("client.example.org")),
            ("under_score.example.org", Some("under_score.example.org")),
            ("10.0.0.1", Some("10.0.0.1")),
            ("a..b", Some("a..b")),
            ("client", None),
            ("client.", None),
            ("", None),
            (".", None),
            ("John Smith", None),
            ("j.smith@example.org", None),
            ("*.example.org", None),
            ("client.example.org\0.evil", None),
            ("bücher.example", None),
        ] {
            assert_eq!(host_like(cn), expected, "{cn:?}");
        }
    }
}
