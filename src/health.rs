//! One report for readiness endpoints: what in the configuration has expired or soon
//! will, CRLs past or near `nextUpdate`, the last reload of each watched file, and
//! whether the registry answers. Serialises to JSON.
//!
//! ```
//! # #[cfg(feature = "testkit")] {
//! use certauth::health::HealthReport;
//! use certauth::testkit::pki::Ca;
//! use certauth::Timestamp;
//! use certauth::TrustStore;
//!
//! let root = Ca::root("Health Root");
//! let now = Timestamp::parse_rfc3339("2026-06-01T00:00:00Z")?;
//! let store = TrustStore::builder().add_der(root.der())?.check_at(now).build()?;
//! let report = HealthReport::new(&store, now, 30 * 86_400);
//! assert!(report.healthy);
//! let json = report.to_json();
//! assert!(json.contains("\"healthy\":true"));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::Serialize;

use crate::cert::Certificate;
use crate::registry::Registry;
use crate::reload::{ReloadStatus, Watcher};
use crate::time::Timestamp;
use crate::trust::TrustStore;

/// The health of a certauth configuration at one time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct HealthReport {
    /// When the report was made (RFC 3339).
    pub checked_at: String,
    /// False when an anchor has expired (or is not valid yet), every anchor is unusable, a
    /// CRL is past its `nextUpdate`, a watched file's last reload was refused, or the
    /// registry does not answer. Items merely expiring soon leave it true.
    pub healthy: bool,
    /// Anchors outside their validity now, or expiring within the window.
    pub anchors: Vec<Expiry>,
    /// Intermediates the store holds that are outside their validity or expiring within
    /// the window.
    pub intermediates: Vec<Expiry>,
    /// CRLs past `nextUpdate` or reaching it within the window.
    pub crls: Vec<CrlFreshness>,
    /// The last reload of each watched source (with [`with_reloads`](Self::with_reloads)).
    pub reloads: Vec<ReloadStatus>,
    /// Whether the registry answered (with [`with_registry`](Self::with_registry)).
    pub registry_reachable: Option<bool>,
    /// Whether a PostgreSQL registry's replica cache is synchronised, so known clients are
    /// answered without a database round trip (with `with_registry_synchronisation`,
    /// feature `postgres`). Reported, not judged: an unsynchronised replica still answers
    /// correctly from the database, only slower.
    pub registry_synchronised: Option<bool>,
    /// What the OCSP checker saw last (with `with_ocsp`, feature `ocsp`). Reported, not
    /// judged: a responder outage refuses new clients (or soft-fails, as configured)
    /// whatever the probe says, and taking every replica out of rotation would not help.
    pub ocsp: Option<OcspHealth>,
}

/// The OCSP part of a [`HealthReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OcspHealth {
    /// How many certificates' answers are cached.
    pub cached: usize,
    /// When a responder last gave a checked answer (RFC 3339, verification time).
    pub last_answer_at: Option<String>,
    /// When an exchange with a responder last failed (RFC 3339, verification time).
    pub last_failure_at: Option<String>,
    /// Why it failed (names the responder without its query string; no response bytes).
    pub last_failure: Option<String>,
    /// Whether the last exchange failed (no answer since the last failure).
    pub failing: bool,
}

/// A certificate expiring soon, or outside its validity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expiry {
    /// Its subject (RFC 4514): configuration, never a client's.
    pub subject: String,
    /// Its notAfter (RFC 3339).
    pub not_after: String,
    /// Whether it is outside its validity now (expired or not yet valid).
    pub invalid_now: bool,
}

/// A CRL near or past its `nextUpdate`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CrlFreshness {
    /// Its issuer (RFC 4514).
    pub issuer: String,
    /// Its `nextUpdate` (RFC 3339).
    pub next_update: Option<String>,
    /// Whether `nextUpdate` has passed.
    pub stale: bool,
}

impl HealthReport {
    /// The report for `store` at `now`; "soon" means within `window_secs`.
    pub fn new(store: &TrustStore, now: Timestamp, window_secs: i64) -> Self {
        let horizon = now.plus_secs(window_secs);
        let mut anchors = Vec::new();
        let mut usable_anchors = 0;
        for (subject, not_before, not_after) in store.anchor_validity() {
            let invalid_now = now < not_before || now > not_after;
            usable_anchors += usize::from(!invalid_now);
            if invalid_now || not_after <= horizon {
                anchors.push(Expiry {
                    subject: subject.to_owned(),
                    not_after: not_after.to_rfc3339(),
                    invalid_now,
                });
            }
        }
        let intermediates = store
            .intermediates()
            .iter()
            .filter_map(|der| Certificate::from_der(der).ok())
            .filter_map(|c| {
                let invalid_now = now < c.not_before() || now > c.not_after();
                (invalid_now || c.not_after() <= horizon).then(|| Expiry {
                    subject: c.subject().to_rfc4514(),
                    not_after: c.not_after().to_rfc3339(),
                    invalid_now,
                })
            })
            .collect();
        let crls: Vec<CrlFreshness> = store
            .crls()
            .iter()
            .filter_map(|crl| {
                let next = crl.next_update()?;
                (next <= horizon).then(|| CrlFreshness {
                    issuer: crl.issuer().to_rfc4514(),
                    next_update: Some(next.to_rfc3339()),
                    stale: next < now,
                })
            })
            .collect();
        let healthy = usable_anchors > 0
            && anchors.iter().all(|a| !a.invalid_now)
            && crls.iter().all(|c| !c.stale);
        Self {
            checked_at: now.to_rfc3339(),
            healthy,
            anchors,
            intermediates,
            crls,
            reloads: Vec::new(),
            registry_reachable: None,
            registry_synchronised: None,
            ocsp: None,
        }
    }

    /// Adds the watcher's last reload of each source; a refused one makes the report
    /// unhealthy (the configuration in use is not what the files hold).
    #[must_use]
    pub fn with_reloads(mut self, watcher: &Watcher) -> Self {
        self.reloads = watcher.status();
        self.healthy &= self.reloads.iter().all(ReloadStatus::is_current);
        self
    }

    /// Asks the registry one look-up; an error makes the report unhealthy.
    pub async fn with_registry(mut self, registry: &dyn Registry) -> Self {
        let reachable = registry.by_client_id("").await.is_ok();
        self.registry_reachable = Some(reachable);
        self.healthy &= reachable;
        self
    }

    /// Adds whether `registry`'s cache is synchronised
    /// ([`PostgresRegistry::is_synchronised`](crate::registry::postgres::PostgresRegistry::is_synchronised)).
    #[cfg(feature = "postgres")]
    #[must_use]
    pub fn with_registry_synchronisation(
        mut self,
        registry: &crate::registry::postgres::PostgresRegistry,
    ) -> Self {
        self.registry_synchronised = Some(registry.is_synchronised());
        self
    }

    /// Adds what `checker` saw last ([`OcspChecker::status`](crate::ocsp::OcspChecker::status)).
    #[cfg(feature = "ocsp")]
    #[must_use]
    pub fn with_ocsp(mut self, checker: &crate::ocsp::OcspChecker) -> Self {
        let status = checker.status();
        let failing = match (&status.last_failure, status.last_answer_at) {
            (Some((failed, _)), Some(answered)) => *failed >= answered,
            (Some(_), None) => true,
            (None, _) => false,
        };
        self.ocsp = Some(OcspHealth {
            cached: status.cached,
            last_answer_at: status.last_answer_at.map(Timestamp::to_rfc3339),
            last_failure_at: status.last_failure.as_ref().map(|(at, _)| at.to_rfc3339()),
            last_failure: status.last_failure.map(|(_, why)| why),
            failing,
        });
        self
    }

    /// The report as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"healthy\":false}"))
    }
}
