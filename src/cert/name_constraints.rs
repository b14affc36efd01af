//! The DNS part of a CA's name constraints (RFC 5280 4.2.1.10), read for the check
//! webpki does not make: a leaf's host-like subject common name (see
//! `crate::verify::path`). webpki applies name constraints to subject alternative names
//! itself.

use der::Decode as _;
use x509_cert::ext::pkix::constraints::name::{GeneralSubtrees, NameConstraints};
use x509_cert::ext::pkix::name::GeneralName;

/// DER content bytes of id-ce-nameConstraints (2.5.29.30).
const NAME_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x1e];

/// The dNSName subtrees of one certificate's name constraints extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DnsConstraints {
    permitted: Vec<String>,
    excluded: Vec<String>,
}

impl DnsConstraints {
    /// The DNS constraints of a DER certificate. `Ok(None)` when it has no name
    /// constraints extension, or one without dNSName subtrees (then DNS names are not
    /// constrained); `Err` when the extension cannot be read.
    pub(crate) fn of(cert_der: &[u8]) -> Result<Option<Self>, ()> {
        match crate::der_reader::extension_of(cert_der, NAME_CONSTRAINTS).map_err(|_| ())? {
            None => Ok(None),
            Some(value) => Self::from_value(value),
        }
    }

    /// From the extension's value (the DER `NameConstraints`).
    fn from_value(value: &[u8]) -> Result<Option<Self>, ()> {
        let nc = NameConstraints::from_der(value).map_err(|_| ())?;
        let dns = |trees: Option<GeneralSubtrees>| -> Vec<String> {
            trees
                .into_iter()
                .flatten()
                .filter_map(|t| match t.base {
                    GeneralName::DnsName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        };
        let permitted = dns(nc.permitted_subtrees);
        let excluded = dns(nc.excluded_subtrees);
        if permitted.is_empty() && excluded.is_empty() {
            return Ok(None);
        }
        Ok(Some(Self { permitted, excluded }))
    }

    /// Whether the DNS name `name` lies in one of the permitted subtrees (when there are
    /// any) and in none of the excluded ones.
    pub(crate) fn admits(&self, name: &str) -> bool {
        (self.permitted.is_empty() || self.permitted.iter().any(|c| within(name, c)))
            && !self.excluded.iter().any(|c| within(name, c))
    }
}

/// RFC 5280 dNSName subtree matching, as OpenSSL applies it: `name` is within
/// `constraint` when it equals it, or ends with it and either the constraint starts with
/// a dot or the character before it in `name` is a dot. ASCII case-insensitive. The
/// empty constraint contains every name.
fn within(name: &str, constraint: &str) -> bool {
    let (n, c) = (name.as_bytes(), constraint.as_bytes());
    if c.is_empty() {
        return true;
    }
    let Some(split) = n.len().checked_sub(c.len()) else { return false };
    let (head, tail) = n.split_at(split);
    tail.eq_ignore_ascii_case(c) && (head.is_empty() || c[0] == b'.' || head.ends_with(b"."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn constraints(permitted: &[&str], excluded: &[&str]) -> DnsConstraints {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        DnsConstraints { permitted: owned(permitted), excluded: owned(excluded) }
    }

    #[test]
    fn subtree_matching() {
        for (name, constraint, expected) in [
            ("example.org", "example.org", true),
            ("client.example.org", "example.org", true),
            ("CLIENT.Example.ORG", "example.org", true),
            ("a.b.example.org", "example.org", true),
            ("badexample.org", "example.org", false),
            ("example.org", ".example.org", false),
            ("client.example.org", ".example.org", true),
            ("example.org.evil.com", "example.org", false),
            ("org", "example.org", false),
            ("anything.at.all", "", true),
        ] {
            assert_eq!(within(name, constraint), expected, "{name} within {constraint:?}");
        }
    }

    #[test]
    fn permitted_and_excluded() {
        let c = constraints(&["example.org"], &["bad.example.org"]);
        assert!(c.admits("client.example.org"));
        assert!(!c.admits("client.other.com"));
        assert!(!c.admits("x.bad.example.org"));
        let only_excluded = constraints(&[], &["bad.example.org"]);
        assert!(only_excluded.admits("client.other.com"));
        assert!(!only_excluded.admits("bad.example.org"));
    }
}
