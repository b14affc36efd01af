//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`):
//! certauth records, the application's exporter (Prometheus, StatsD, ...) publishes.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `certauth_authentications_total` | counter | `outcome` (`ok` or an [`ErrorKind`] name), `source` (`tls`, `header`, `bytes`) | every [`Authenticator::authenticate`](crate::Authenticator::authenticate) decision |
//! | `certauth_verification_seconds` | histogram | - | each uncached verification (decoding excluded) |
//! | `certauth_cache_hits_total` | counter | - | verifications answered by the cache (successes and remembered failures) |
//! | `certauth_cache_misses_total` | counter | - | verifications run |
//! | `certauth_cache_entries` | gauge | - | entries in the verification cache, after each miss |
//! | `certauth_registry_lookups_total` | counter | `result` (`found`, `anonymous`, `not_found`, `refused`, `error`) | every registry look-up of an authentication: a client found, an unregistered certificate let through anonymously, none found, a suspended client or retired certificate, the registry unavailable |
//! | `certauth_reloads_total` | counter | `what` (`trust_store`, `registry`), `result` (`ok`, `error`) | every reload a [`Watcher`](crate::reload::Watcher) attempts; a failed CRL fetch counts as `error` |
//! | `certauth_anchor_not_after_timestamp_seconds` | gauge | `anchor` (`sha256:` and 16 hex digits of the anchor's subject and key) | each anchor's notAfter, set when an authenticator is built and after each trust-store reload |
//! | `certauth_crl_next_update_timestamp_seconds` | gauge | `issuer` (`sha256:` and 16 hex digits of the issuer's name) | each CRL's nextUpdate, set likewise |
//!
//! Labels take a fixed set of values: never a subject, a certificate, a header value or
//! anything else a client chooses, so cardinality stays bounded.
//!
//! Handles are registered with the global recorder on an authenticator's first request
//! and kept, so a cached request costs a few atomic increments, not a registry look-up:
//! install the recorder before the first request (as exporters are, at start-up).

use std::time::Duration;

use crate::error::ErrorKind;

/// `certauth_authentications_total`.
pub const AUTHENTICATIONS_TOTAL: &str = "certauth_authentications_total";
/// `certauth_verification_seconds`.
pub const VERIFICATION_SECONDS: &str = "certauth_verification_seconds";
/// `certauth_cache_hits_total`.
pub const CACHE_HITS_TOTAL: &str = "certauth_cache_hits_total";
/// `certauth_cache_misses_total`.
pub const CACHE_MISSES_TOTAL: &str = "certauth_cache_misses_total";
/// `certauth_cache_entries`.
pub const CACHE_ENTRIES: &str = "certauth_cache_entries";

/// `certauth_registry_lookups_total`.
pub const REGISTRY_LOOKUPS_TOTAL: &str = "certauth_registry_lookups_total";
/// `certauth_reloads_total`.
pub const RELOADS_TOTAL: &str = "certauth_reloads_total";
/// `certauth_anchor_not_after_timestamp_seconds`.
pub const ANCHOR_NOT_AFTER: &str = "certauth_anchor_not_after_timestamp_seconds";
/// `certauth_crl_next_update_timestamp_seconds`.
pub const CRL_NEXT_UPDATE: &str = "certauth_crl_next_update_timestamp_seconds";

/// Counts a reload attempt (rare: registered on the spot).
pub(crate) fn reload(what: &'static str, ok: bool) {
    let result = if ok { "ok" } else { "error" };
    ::metrics::counter!(RELOADS_TOTAL, "what" => what, "result" => result).increment(1);
}

/// Sets the expiry gauges of `store`'s anchors and CRLs. The labels are digests: the
/// configuration's names stay out of the metrics backend, and each label value is one
/// of the configured anchors or CRL issuers.
pub(crate) fn trust_store(store: &crate::trust::TrustStore) {
    for (anchor, (subject, _, not_after)) in store.anchors().iter().zip(store.anchor_validity()) {
        let label = short_digest(&[subject.as_bytes(), &anchor.subject_public_key_info]);
        ::metrics::gauge!(ANCHOR_NOT_AFTER, "anchor" => label).set(not_after.as_unix_secs() as f64);
    }
    for crl in store.crls() {
        if let Some(next) = crl.next_update() {
            let label = short_digest(&[crl.issuer().der()]);
            ::metrics::gauge!(CRL_NEXT_UPDATE, "issuer" => label).set(next.as_unix_secs() as f64);
        }
    }
}

fn short_digest(parts: &[&[u8]]) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut out = String::from("sha256:");
    for b in &digest[..8] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Where the authenticated credential came from (the `source` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SourceLabel {
    Tls = 0,
    Header = 1,
    Bytes = 2,
}

impl SourceLabel {
    const ALL: [SourceLabel; 3] = [Self::Tls, Self::Header, Self::Bytes];

    const fn name(self) -> &'static str {
        match self {
            Self::Tls => "tls",
            Self::Header => "header",
            Self::Bytes => "bytes",
        }
    }
}

/// One outcome per error kind, plus `ok` (index 0).
const OUTCOMES: usize = ErrorKind::ALL.len() + 1;

/// The handles one authenticator records through.
pub(crate) struct Metrics {
    authentications: Vec<::metrics::Counter>,
    verification: ::metrics::Histogram,
    hits: ::metrics::Counter,
    misses: ::metrics::Counter,
    entries: ::metrics::Gauge,
    /// found, anonymous, not_found, refused, error.
    registry: [::metrics::Counter; 5],
}

impl Metrics {
    /// Registers every handle with the current recorder.
    pub(crate) fn register() -> Self {
        let mut authentications = Vec::with_capacity(OUTCOMES * SourceLabel::ALL.len());
        for outcome in std::iter::once("ok").chain(ErrorKind::ALL.iter().map(|k| k.as_str())) {
            for source in SourceLabel::ALL {
                authentications.push(::metrics::counter!(
                    AUTHENTICATIONS_TOTAL,
                    "outcome" => outcome,
                    "source" => source.name()
                ));
            }
        }
        Self {
            authentications,
            verification: ::metrics::histogram!(VERIFICATION_SECONDS),
            hits: ::metrics::counter!(CACHE_HITS_TOTAL),
            misses: ::metrics::counter!(CACHE_MISSES_TOTAL),
            entries: ::metrics::gauge!(CACHE_ENTRIES),
            registry: ["found", "anonymous", "not_found", "refused", "error"]
                .map(|result| ::metrics::counter!(REGISTRY_LOOKUPS_TOTAL, "result" => result)),
        }
    }

    pub(crate) fn authentication(&self, outcome: Option<ErrorKind>, source: SourceLabel) {
        let outcome =
            outcome.map_or(0, |k| ErrorKind::ALL.iter().position(|&x| x == k).map_or(0, |i| i + 1));
        self.authentications[outcome * SourceLabel::ALL.len() + source as usize].increment(1);
    }

    pub(crate) fn registry(
        &self,
        result: &crate::Result<Option<crate::registry::RegisteredClient>>,
    ) {
        let i = match result {
            Ok(Some(_)) => 0,
            Ok(None) => 1,
            Err(e) => match e.kind() {
                ErrorKind::UnknownClient => 2,
                ErrorKind::RegistryUnavailable => 4,
                _ => 3,
            },
        };
        self.registry[i].increment(1);
    }

    pub(crate) fn verification(&self, took: Duration) {
        self.verification.record(took.as_secs_f64());
    }

    pub(crate) fn cache_hit(&self) {
        self.hits.increment(1);
    }

    pub(crate) fn cache_miss(&self, entries: usize) {
        self.misses.increment(1);
        self.entries.set(entries as f64);
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}
