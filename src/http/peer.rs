//! Who sent a request: the TCP peer's address and, on a TLS connection this process
//! terminated, the certificates the peer presented; and [`ProxyIdentity`], which trusts a
//! proxy by the certificate it presents on its mTLS connection to this service.

use std::fmt;
use std::net::IpAddr;

use rustls_pki_types::CertificateDer;

use crate::authenticator::{Authenticator, Credential};
use crate::error::{ConfigError, Result};
use crate::identity::{ClientIdentity, IdentityRule};
use crate::time::Timestamp;
use crate::verify::Verifier;

/// The connection a request arrived on, as far as proxy trust is concerned.
///
/// ```
/// use certauth::http::Peer;
/// let peer = Peer::new("10.0.0.7".parse()?);
/// assert!(peer.tls_certificates.is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Peer<'a> {
    /// The TCP peer (`SocketAddr::ip()` of the connection, never an `X-Forwarded-For`
    /// value).
    pub addr: IpAddr,
    /// The certificates the peer presented on a TLS connection this process terminated,
    /// leaf first. A [`ProxyIdentity`] verifies them itself; whether the TLS stack
    /// verified them too does not matter.
    pub tls_certificates: Option<&'a [CertificateDer<'static>]>,
}

impl<'a> Peer<'a> {
    /// A peer known by its address only.
    pub fn new(addr: IpAddr) -> Self {
        Self { addr, tls_certificates: None }
    }

    /// The same peer, with the certificates it presented on its TLS connection.
    #[must_use]
    pub fn with_tls_certificates(self, certificates: &'a [CertificateDer<'static>]) -> Self {
        Self { tls_certificates: Some(certificates), ..self }
    }
}

impl From<IpAddr> for Peer<'_> {
    fn from(addr: IpAddr) -> Self {
        Self::new(addr)
    }
}

/// Proxies trusted by the certificate they present on their mTLS connection to this
/// service (proxy-to-backend mTLS), for deployments where proxy addresses change (Kubernetes,
/// autoscaling) or must not be the only proof.
///
/// The peer's chain is verified with the given [`Verifier`] (its own trust store and
/// policy; the proxy is the TLS client here, so its leaf needs clientAuth by default) at the
/// request's time, then must satisfy `rule`. Results are cached like client verifications,
/// so a keep-alive connection from a proxy costs one verification, not one per request.
///
/// ```
/// # fn proxy_verifier() -> certauth::verify::Verifier { unimplemented!() }
/// use certauth::http::{HeaderSource, ProxyIdentity};
/// use certauth::identity::{IdentityRule, SpiffeMatch};
/// use certauth::HeaderFormat;
///
/// # fn config() -> Result<HeaderSource, certauth::ConfigError> {
/// let mesh_proxy = ProxyIdentity::new(
///     proxy_verifier(),
///     IdentityRule::Spiffe(SpiffeMatch::Exact("spiffe://example.org/ns/edge/sa/envoy".into())),
/// )?;
/// let source = HeaderSource::builder("x-forwarded-client-cert", HeaderFormat::Xfcc)
///     .trusted_proxy_identity(mesh_proxy)
///     .build()?;
/// # Ok(source) }
/// ```
#[derive(Clone)]
pub struct ProxyIdentity {
    verifier: Authenticator,
    rule: IdentityRule,
}

impl ProxyIdentity {
    /// Proxies whose certificate chain `verifier` accepts and whose identity satisfies
    /// `rule`.
    pub fn new(verifier: Verifier, rule: IdentityRule) -> Result<Self, ConfigError> {
        Ok(Self { verifier: Authenticator::builder(verifier).build()?, rule })
    }

    /// The proxy's identity if `certificates` verify at `now` and satisfy the rule; the
    /// reason otherwise.
    pub fn check(
        &self,
        certificates: &[CertificateDer<'static>],
        now: Timestamp,
    ) -> Result<ClientIdentity> {
        let identity = self.verifier.verify_credential(Credential::Tls(certificates), now)?;
        self.rule.check(&identity)?;
        Ok(identity)
    }

    /// The rule a verified proxy certificate must satisfy.
    pub fn rule(&self) -> &IdentityRule {
        &self.rule
    }
}

impl fmt::Debug for ProxyIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyIdentity").field("rule", &self.rule).finish_non_exhaustive()
    }
}
