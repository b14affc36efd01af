//! Fixtures for testing code that uses certauth (feature `testkit`): a throwaway PKI and
//! the headers TLS-terminating proxies forward.
//!
//! - [`pki`]: roots, intermediates and client leaves with chosen subject attributes, SANs,
//!   SPIFFE IDs, EKUs, key types, validity and serials; renewals under the same key; CRLs,
//!   partitioned ones included; the odd certificates negative tests need (expired,
//!   server-only, no EKU, weak RSA, CA as client, CA with a server-only EKU, issued by a
//!   leaf, CRL issuer without cRLSign, CRL without a number).
//! - [`hostile`]: chains crafted to make path building expensive (work-bound tests).
//! - [`proxy`]: one header encoder per proxy format, so a test can feed its service
//!   exactly what nginx, Envoy, HAProxy, an AWS ALB ... would send.
//!
//! Built on rcgen with ring. Names, validity and serials are fixed by the caller (or by
//! fixed defaults); keys are fresh on every run. Nothing here is for production: the
//! builders panic on bad input, and the RSA and P-192 keys are public constants.
//!
//! A root, an intermediate, a leaf, a CRL that revokes it and the header nginx would
//! forward:
//!
//! ```
//! use certauth::testkit::{pki::Ca, proxy::{self, Proxy as _}};
//! use certauth::{Certificate, Timestamp};
//!
//! let root = Ca::root("Test Root");
//! let intermediate = root.intermediate("Test Intermediate");
//! let leaf = intermediate
//!     .leaf("client-1")
//!     .spiffe("spiffe://example.org/ns/a/sa/b")
//!     .dns("client-1.example.org")
//!     .build();
//!
//! let cert = Certificate::from_der(leaf.der())?;
//! assert_eq!(cert.issuer().common_name(), Some("Test Intermediate"));
//! assert_eq!(cert.spiffe_id().map(|id| id.trust_domain()), Some("example.org"));
//! assert!(cert.is_valid_at(Timestamp::from_utc(2026, 6, 1, 0, 0, 0).unwrap()));
//! assert_eq!(leaf.presented().certificates().len(), 2); // leaf + intermediate
//!
//! let crl = intermediate.crl().revoke(&leaf).number(7).build();
//! assert!(crl.pem().starts_with("-----BEGIN X509 CRL-----"));
//!
//! let (name, value) = proxy::Nginx.forward(&leaf);
//! assert_eq!(name, "ssl-client-cert");
//! assert!(value.starts_with("-----BEGIN%20CERTIFICATE-----%0A"));
//! # Ok::<(), certauth::Error>(())
//! ```
#![cfg_attr(docsrs, doc(cfg(feature = "testkit")))]

pub mod hostile;
pub mod pki;
pub mod proxy;

/// Runs a future to completion on the calling thread, parking while it waits: enough for
/// [`Authenticator::authenticate`](crate::Authenticator::authenticate) and the in-memory
/// registry in a synchronous test or benchmark, with no async runtime. Futures that need
/// a runtime's reactor or timers (tokio I/O, `PostgresRegistry` connecting) need that
/// runtime instead.
///
/// ```
/// assert_eq!(certauth::testkit::block_on(async { 40 + 2 }), 42);
/// ```
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
