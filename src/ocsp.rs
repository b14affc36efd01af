//! OCSP (RFC 6960): [`OcspChecker`], a [`RevocationChecker`](crate::RevocationChecker)
//! that asks the certificate's responder whether it is revoked, with a bounded cache of
//! the answers (feature `ocsp`).
//!
//! Plug it in with
//! [`AuthenticatorBuilder::revocation_checker`](crate::AuthenticatorBuilder::revocation_checker):
//! it runs on every [`Authenticator::authenticate`](crate::Authenticator::authenticate),
//! after the chain is verified, whether the verification came from the cache or not.
//!
//! - [`OcspChecker`] and [`OcspCheckerBuilder`]: which certificates, which responder,
//!   freshness, nonce, bounds, the unknown-status policy.
//! - [`OcspTransport`]: how requests reach the responder; [`HttpTransport`], on hyper's
//!   client, is the default.
//! - [`CertIdHash`]: the hash naming a certificate in requests.
//!
//! **Untrusted input.** A response is read within
//! [`max_response_bytes`](OcspCheckerBuilder::max_response_bytes) (64 KiB) and the
//! exchange within [`timeout`](OcspCheckerBuilder::timeout) (5 s); malformed, truncated
//! or oversized responses, error answers and failed checks are typed errors
//! (`revocation_unknown`, `revocation_stale`) decided by the unknown-status policy, never
//! a panic. Messages name the responder without its query string and never carry
//! response bytes. At most four certificates of a response are tried as its signer.
//!
//! The ASN.1 structures are written here on `der`'s derive, in the shapes and names of
//! RustCrypto's `x509-ocsp` (whose releases are built on `der` 0.7, not the 0.8 certauth
//! uses); they are private, so moving to an `x509-ocsp` release on `der` 0.8 changes no
//! public item.

pub(crate) mod asn1;
mod cache;
mod checker;
mod request;
mod response;
mod transport;

pub use checker::{OcspChecker, OcspCheckerBuilder, OcspStatus};
pub use request::CertIdHash;
pub use transport::{HttpTransport, OcspTransport};
