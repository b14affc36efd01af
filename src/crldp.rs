//! CRLs from the certificate's own CRL distribution points: [`CrlDistributionPoints`], a
//! [`RevocationChecker`](crate::RevocationChecker) that fetches, caches and refreshes the
//! CRL each certificate names (opt-in; no feature needed).
//!
//! Plug it in with
//! [`AuthenticatorBuilder::revocation_checker`](crate::AuthenticatorBuilder::revocation_checker):
//! it runs on every [`Authenticator::authenticate`](crate::Authenticator::authenticate),
//! after the chain is verified, whether the verification came from the cache or not.
//!
//! ```no_run
//! # #[cfg(feature = "ring")] {
//! use std::sync::Arc;
//! use certauth::crldp::CrlDistributionPoints;
//! use certauth::{Authenticator, RING_ALGORITHMS, TrustStore, Verifier};
//!
//! let store = TrustStore::builder().add_file("/etc/certauth/client-ca.pem")?.build()?;
//! let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
//! let crls = CrlDistributionPoints::builder(&verifier).build()?;
//! let auth = Authenticator::builder(verifier).revocation_checker(Arc::new(crls)).build()?;
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A fetch is a blocking HTTP/1.1 GET on a thread of its own; the request waiting for it
//! is woken when it is done, so the checker needs no async runtime and never blocks one.
//!
//! **Untrusted input.** The URLs come from certificates that passed verification (signed
//! by a CA the trust store trusts), so no host list is kept; the CRLs come from the
//! network and are checked as any CRL is (issuer, signature under the issuer's key in
//! the verified path, cRLSign, freshness, CRL number). Bounds, all set on
//! [`CrlDistributionPointsBuilder`]:
//!
//! | what | default bound |
//! |---|---|
//! | a CRL's body | 16 MiB (and 16 KiB of headers) |
//! | one fetch, connection to last byte (name resolution is the system's) | 10 s |
//! | URLs held, each with its last good CRL | 64 |
//! | fetches under way at once (one thread each) | 8 |
//! | distribution point URIs tried per certificate | 4 |
//! | a URL quoted in a message | 200 characters |
//!
//! `http://` only: no redirects, no other scheme. Malformed, truncated or oversized
//! answers, error statuses and failed checks are typed errors decided by the
//! unknown-status policy, never a panic.

mod cache;
mod checker;

pub use checker::{CrlDistributionPoints, CrlDistributionPointsBuilder};

/// `url` for a message: at most 200 characters, control characters replaced.
pub(crate) fn shown(url: &str) -> String {
    let mut out: String =
        url.chars().take(200).map(|c| if c.is_control() { '?' } else { c }).collect();
    if url.chars().nth(200).is_some() {
        out.push_str("...");
    }
    out
}
