//! Who sent a request: the TCP peer's address and, on a TLS connection this process
//! terminated, the certificates the peer presented; [`ProxyIdentity`], which trusts a
//! proxy by the certificate it presents on its mTLS connection to this service; and
//! [`ConnectionMemo`], which decides that once per connection.

use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

use rustls_pki_types::CertificateDer;

use crate::authenticator::{Authenticator, Credential, TRACING_TARGET};
use crate::error::{ConfigError, ErrorKind, Result};
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
    memo: Option<&'a ConnectionMemo>,
}

impl<'a> Peer<'a> {
    /// A peer known by its address only.
    pub fn new(addr: IpAddr) -> Self {
        Self { addr, tls_certificates: None, memo: None }
    }

    /// The same peer, with the certificates it presented on its TLS connection.
    #[must_use]
    pub fn with_tls_certificates(self, certificates: &'a [CertificateDer<'static>]) -> Self {
        Self { tls_certificates: Some(certificates), ..self }
    }

    /// The same peer, with the memo of its connection: whether its certificates are a
    /// trusted proxy's is then decided once per connection, not once per request. Give
    /// every request of one connection the same memo, and no two connections the same.
    #[must_use]
    pub fn with_memo(self, memo: &'a ConnectionMemo) -> Self {
        Self { memo: Some(memo), ..self }
    }

    pub(crate) fn memo(&self) -> Option<&'a ConnectionMemo> {
        self.memo
    }
}

/// What certauth remembers about one connection: whether the certificates its peer
/// presented are a trusted proxy's ([`ProxyIdentity`]), decided on the connection's first
/// request that needs it and reused by every later one, so that a keep-alive connection
/// costs one proxy verification, not one per request (a client's own certificate, which
/// no proxy verifier accepts, included).
///
/// A decision is made again when the peer's certificates differ from those it was made
/// for, when a proxy verifier's trust store was replaced, after an accepted proxy
/// certificate expires, and for a request dated before the decision. A connection whose
/// certificate is not a trusted proxy's on its first request stays so for its lifetime.
///
/// The tower layer keeps one in each [`ConnectionInfo`](crate::tower::ConnectionInfo);
/// with [`HeaderSource`](crate::http::HeaderSource) alone, create one per connection and
/// pass it with [`Peer::with_memo`].
///
/// ```
/// use certauth::http::{ConnectionMemo, Peer};
/// let memo = ConnectionMemo::new(); // once, when the connection is accepted
/// // for each request on it:
/// let peer = Peer::new("10.0.0.7".parse()?).with_memo(&memo);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct ConnectionMemo {
    decisions: Mutex<Vec<Decision>>,
}

/// One header source's decision about one connection.
#[derive(Debug)]
struct Decision {
    source: u64,
    certificates: Vec<CertificateDer<'static>>,
    generations: Vec<u64>,
    decided_at: Timestamp,
    /// The accepted proxy certificate's expiry, or why no proxy identity accepted it.
    outcome: std::result::Result<Timestamp, Option<ErrorKind>>,
}

/// Most header sources one connection remembers decisions for.
const MAX_DECISIONS: usize = 8;

impl ConnectionMemo {
    /// An empty memo, for a new connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// The decision of header source `source` (whose proxy verifiers are at
    /// `generations`) about `certificates` at `now`: reused when still valid, else made by
    /// `decide` (under the lock, so concurrent requests of one connection wait for one
    /// decision instead of making their own).
    pub(crate) fn decide(
        &self,
        source: u64,
        certificates: &[CertificateDer<'static>],
        generations: &[u64],
        now: Timestamp,
        decide: impl FnOnce() -> std::result::Result<Timestamp, Option<ErrorKind>>,
    ) -> std::result::Result<(), Option<ErrorKind>> {
        let mut decisions = self.decisions.lock().unwrap_or_else(PoisonError::into_inner);
        let slot = decisions.iter().position(|d| d.source == source);
        if let Some(d) = slot.and_then(|i| decisions.get(i)) {
            let current = match d.outcome {
                Ok(expires) => now < expires,
                Err(_) => true,
            };
            if current
                && d.decided_at <= now
                && d.generations == generations
                && d.certificates == certificates
            {
                return d.outcome.map(drop);
            }
        }
        let outcome = decide();
        let decision = Decision {
            source,
            certificates: certificates.to_vec(),
            generations: generations.to_vec(),
            decided_at: now,
            outcome,
        };
        if let Some(d) = slot.and_then(|i| decisions.get_mut(i)) {
            *d = decision;
        } else if decisions.len() < MAX_DECISIONS {
            decisions.push(decision);
        }
        outcome.map(drop)
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
/// request's time, then must satisfy `rule`. A [`HeaderSource`](crate::http::HeaderSource)
/// decides this once per connection when given the connection's [`ConnectionMemo`] (the
/// tower layer always is), so a keep-alive connection, a proxy's or a client's, costs one
/// proxy verification, not one per request; accepted proxy chains are also cached across
/// connections.
///
/// ```
/// # fn proxy_verifier() -> certauth::Verifier { unimplemented!() }
/// use certauth::http::{HeaderSource, ProxyIdentity};
/// use certauth::{IdentityRule, SpiffeMatch};
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
    authenticator: Authenticator,
    rule: IdentityRule,
}

impl ProxyIdentity {
    /// Proxies whose certificate chain `verifier` accepts and whose identity satisfies
    /// `rule`.
    pub fn new(verifier: Verifier, rule: IdentityRule) -> Result<Self, ConfigError> {
        Ok(Self { authenticator: Authenticator::builder(verifier).build()?, rule })
    }

    /// The proxy's identity if `certificates` verify at `now` and satisfy the rule; the
    /// reason otherwise. Each call verifies (successes come from a cache); a
    /// [`HeaderSource`](crate::http::HeaderSource) calls it once per connection given a
    /// [`ConnectionMemo`].
    pub fn check(
        &self,
        certificates: &[CertificateDer<'static>],
        now: Timestamp,
    ) -> Result<ClientIdentity> {
        let result = self
            .authenticator
            .verify_credential(Credential::Tls(certificates), now)
            .and_then(|identity| self.rule.check(&identity).map(|()| identity));
        tracing::debug!(
            target: TRACING_TARGET,
            proxy_identity = result.as_ref().map_or_else(|e| e.kind().as_str(), |_| "accepted"),
            "proxy identity checked"
        );
        result
    }

    /// The generation of the proxy verifier's trust store.
    pub(crate) fn generation(&self) -> u64 {
        self.authenticator.verifier().generation()
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    #[test]
    fn a_memo_decides_once_until_something_changes() {
        let memo = ConnectionMemo::new();
        let a = [CertificateDer::from(vec![0x30, 0x00])];
        let b = [CertificateDer::from(vec![0x30, 0x01, 0x00])];
        let at = |s| Timestamp::from_unix_secs(s);
        let made = Cell::new(0);
        let proxy_until = |until: i64| {
            made.set(made.get() + 1);
            Ok(at(until))
        };
        let decide = |source, certs: &[_], generation, now, until| {
            memo.decide(source, certs, &[generation], at(now), || proxy_until(until))
        };
        assert_eq!(decide(1, &a, 7, 100, 200), Ok(()));
        assert_eq!(decide(1, &a, 7, 150, 200), Ok(()));
        assert_eq!(made.get(), 1);
        // Other certificates, another generation, a time before the decision or after the
        // proxy certificate's expiry, another source: decided again.
        for (source, certs, generation, now) in
            [(1, &b, 7, 150), (1, &a, 8, 150), (1, &a, 8, 90), (2, &a, 8, 150)]
        {
            let before = made.get();
            assert_eq!(decide(source, certs, generation, now, 500), Ok(()));
            assert_eq!(made.get(), before + 1, "{source} {generation} {now}");
        }
        assert_eq!(decide(1, &a, 8, 499, 600), Ok(()));
        assert_eq!(made.get(), 5);
        assert_eq!(decide(1, &a, 8, 500, 600), Ok(()));
        assert_eq!(made.get(), 6, "the proxy certificate expired at 500");
        // Two sources keep their own decisions.
        assert_eq!(decide(1, &a, 8, 550, 700), Ok(()));
        assert_eq!(decide(2, &a, 8, 450, 700), Ok(()));
        assert_eq!(made.get(), 6);
        // A refusal is kept for the connection (same certificates and generation).
        let refused = Cell::new(0);
        let no = || {
            refused.set(refused.get() + 1);
            Err(Some(ErrorKind::UnknownIssuer))
        };
        assert_eq!(memo.decide(3, &a, &[1], at(10), no), Err(Some(ErrorKind::UnknownIssuer)));
        assert_eq!(
            memo.decide(3, &a, &[1], at(1_000_000), no),
            Err(Some(ErrorKind::UnknownIssuer))
        );
        assert_eq!(refused.get(), 1);
    }
}
