//! SPIFFE IDs (`spiffe://trust-domain/path`), validated per the SPIFFE ID specification.

use std::fmt;

use crate::error::{Error, Result};

/// A valid SPIFFE ID.
///
/// ```
/// use certauth::SpiffeId;
/// let id = SpiffeId::parse("spiffe://example.test/ns/prod/sa/api")?;
/// assert_eq!(id.trust_domain(), "example.test");
/// assert_eq!(id.path(), "/ns/prod/sa/api");
/// assert!(SpiffeId::parse("spiffe://Example.test/x").is_err());
/// # Ok::<(), certauth::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpiffeId {
    id: String,
    domain_end: usize,
}

/// Longest SPIFFE ID accepted, in bytes (the specification's limit).
const MAX_LEN: usize = 2048;

impl SpiffeId {
    /// Parses and validates: scheme `spiffe` (lowercase), a trust domain of
    /// `[a-z0-9.-_]`, a path of `/segment`s of `[A-Za-z0-9.-_]` that are not `.` or `..`,
    /// no trailing `/`, no query, fragment, port, user info or percent-encoding, at most
    /// 2048 bytes. Errors are `malformed_input`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::malformed(format!("invalid spiffe id: {why}"));
        if s.len() > MAX_LEN {
            return Err(bad("longer than 2048 bytes"));
        }
        let rest = s.strip_prefix("spiffe://").ok_or_else(|| bad("scheme must be spiffe://"))?;
        let domain_len = rest.find('/').unwrap_or(rest.len());
        let (domain, path) = rest.split_at(domain_len);
        if domain.is_empty() {
            return Err(bad("empty trust domain"));
        }
        if !domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        {
            return Err(bad("trust domain has characters outside [a-z0-9.-_]"));
        }
        if !path.is_empty() {
            for segment in path.split('/').skip(1) {
                if segment.is_empty() {
                    return Err(bad("empty path segment or trailing slash"));
                }
                if segment == "." || segment == ".." {
                    return Err(bad("path segment . or .."));
                }
                if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
                    return Err(bad("path has characters outside [A-Za-z0-9.-_]"));
                }
            }
        }
        Ok(Self { id: s.to_owned(), domain_end: "spiffe://".len() + domain_len })
    }

    /// The whole ID.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// The trust domain.
    pub fn trust_domain(&self) -> &str {
        self.id.get("spiffe://".len()..self.domain_end).unwrap_or_default()
    }

    /// The path (empty or starting with `/`).
    pub fn path(&self) -> &str {
        self.id.get(self.domain_end..).unwrap_or_default()
    }
}

/// Whether a URI has the `spiffe` scheme, in any letter case (URI schemes are
/// case-insensitive, RFC 3986 3.1). An X.509-SVID carries exactly one URI SAN, so a
/// certificate with two such URIs has no SPIFFE ID, even when only one is well formed.
pub(crate) fn has_spiffe_scheme(uri: &str) -> bool {
    uri.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("spiffe:"))
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_cases() {
        for ok in ["spiffe://example.test", "spiffe://a-b_c.d/x/Y.z-_"] {
            assert!(SpiffeId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "SPIFFE://example.test/x",
            "spiffe://",
            "spiffe:///x",
            "spiffe://Example.test/x",
            "spiffe://example.test:8080/x",
            "spiffe://user@example.test/x",
            "spiffe://example.test/x/",
            "spiffe://example.test//x",
            "spiffe://example.test/./x",
            "spiffe://example.test/../x",
            "spiffe://example.test/x?q=1",
            "spiffe://example.test/x#f",
            "spiffe://example.test/%41",
            "https://example.test/x",
        ] {
            assert!(SpiffeId::parse(bad).is_err(), "{bad}");
        }
        let long = format!("spiffe://t/{}", "a".repeat(2048));
        assert!(SpiffeId::parse(&long).is_err());
    }

    #[test]
    fn spiffe_scheme_in_any_case() {
        for yes in ["spiffe://a/b", "SPIFFE://a/b", "Spiffe:x", "sPiFfE:", "spiffe:"] {
            assert!(has_spiffe_scheme(yes), "{yes}");
        }
        for no in ["", "spiffe", "spiffe-x://a", "https://a", " spiffe://a", "spiffé://a"] {
            assert!(!has_spiffe_scheme(no), "{no}");
        }
    }
}
