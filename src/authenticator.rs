//! The [`Authenticator`]: the whole pipeline, from presented bytes to an
//! [`AuthenticatedClient`], with the verification cache in front.
//!
//! ```text
//! credential ─► cache ─(miss)─► decode ─► Verifier::verify ─► ClientIdentity ─┐
//!               └──(hit)────────────────────────────────────────────────────┴► revocation checker
//!                 ─► identity rules ─► registry ─► token binding ─► AuthenticatedClient
//! ```
//!
//! Only verification is cached (keyed by the exact presented bytes and the verifier
//! generation). Everything after it runs on every request, so a suspension, a removed
//! certificate, a changed rule or a revocation pushed to a [`RevocationChecker`] takes
//! effect on the next request.

mod pool;

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, OnceLock};

use rustls_pki_types::CertificateDer;

use crate::binding::{BindingMode, check_token_binding};
use crate::cache::{CacheConfig, VerificationCache, Verified};
use crate::error::{ConfigError, Error, ErrorKind, Result};
use crate::identity::{ClientIdentity, IdentityRule};
use crate::input::{self, Format, HeaderFormat, Limits, PresentedChain, Source};
use crate::registry::{RegisteredClient, Registry};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::{RevocationChecker, Verifier};

/// The `tracing` target of authentication decisions and events.
pub const TRACING_TARGET: &str = "certauth::auth";

/// What the client presented.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Credential<'a> {
    /// The peer certificates of a TLS connection this process terminated, leaf first
    /// (as rustls reports them). Typically already verified in the handshake by
    /// certauth's rustls verifier; verification here is then a cache hit.
    Tls(&'a [CertificateDer<'a>]),
    /// A chain decoded by the caller (for example by the `http` extractor).
    Chain(&'a PresentedChain),
    /// One forwarded header value exactly as received (already checked to come from a
    /// trusted proxy, e.g. by `http::HeaderSource`). The fast path: a repeat value is a
    /// cache hit without decoding.
    Header {
        /// Header name (lowercase).
        name: &'a str,
        /// The raw value.
        value: &'a [u8],
        /// Its format.
        format: HeaderFormat,
    },
    /// One forwarded header value exactly as received, decoded as its
    /// [`HeaderSource`](crate::http::HeaderSource) decodes (its limits and XFCC element
    /// count), from a peer the source already admitted. What the tower layer passes: a
    /// repeat value is a cache hit without decoding.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    Forwarded {
        /// The source that admitted the request.
        source: &'a crate::http::HeaderSource,
        /// The raw value.
        value: &'a [u8],
    },
    /// Encoded bytes (PEM, DER, base64 DER) handed over by the application.
    Encoded {
        /// The bytes.
        bytes: &'a [u8],
        /// Their encoding.
        format: Format,
    },
}

/// One authentication request.
#[derive(Clone, Copy, Debug)]
pub struct AuthRequest<'a> {
    credential: Credential<'a>,
    now: Timestamp,
    client_id: Option<&'a str>,
    token: Option<Option<&'a str>>,
}

impl<'a> AuthRequest<'a> {
    /// A request presenting `credential`, decided at time `now`.
    pub fn new(credential: Credential<'a>, now: Timestamp) -> Self {
        Self { credential, now, client_id: None, token: None }
    }

    /// The client id the request names (a client-id header): the certificate must be
    /// registered to that client. Without a registry the request is refused with
    /// `unknown_client`: an id nobody checked is never passed on.
    #[must_use]
    pub fn client_id(mut self, id: &'a str) -> Self {
        self.client_id = Some(id);
        self
    }

    /// The request carries an access token whose `cnf.x5t#S256` is `cnf` (`None`: the
    /// token has no confirmation). Checked per the authenticator's [`BindingMode`].
    #[must_use]
    pub fn token_confirmation(mut self, cnf: Option<&'a str>) -> Self {
        self.token = Some(cnf);
        self
    }
}

/// A request that passed: the verified identity and, with a registry, the client.
#[derive(Clone, Debug)]
pub struct AuthenticatedClient {
    identity: ClientIdentity,
    client: Option<RegisteredClient>,
}

impl AuthenticatedClient {
    /// The verified certificate identity.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// The registered client, when a registry knows the certificate.
    pub fn client(&self) -> Option<&RegisteredClient> {
        self.client.as_ref()
    }

    /// The registered client's id.
    pub fn client_id(&self) -> Option<&str> {
        self.client.as_ref().map(RegisteredClient::id)
    }

    /// The leaf's x5t#S256 thumbprint.
    pub fn thumbprint(&self) -> &Thumbprint {
        self.identity.thumbprint()
    }
}

/// What the registry policy does with a valid certificate no client is registered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Unregistered {
    /// Refuse with `unknown_client` (403). The default when a registry is configured.
    #[default]
    Reject,
    /// Accept without a client (`AuthenticatedClient::client()` is `None`).
    Anonymous,
}

/// The outcome of one check in a [`DecisionTrace`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckOutcome {
    /// The check passed.
    Passed,
    /// The check failed with this error kind.
    Failed(ErrorKind),
    /// The check did not apply.
    Skipped,
}

/// One step of a [`DecisionTrace`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStep {
    /// The check: `source`, `cache`, `decode`, `verify`, `identity`, `revocation`,
    /// `rules`, `registry`, `binding`.
    pub check: &'static str,
    /// Its outcome.
    pub outcome: CheckOutcome,
    /// Facts (never certificate or header bytes).
    pub detail: String,
}

/// Every check run for one request, in order. Ask for it with
/// [`Authenticator::authenticate_traced`]; it costs a few allocations, so the plain
/// [`Authenticator::authenticate`] does not build one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionTrace {
    /// The steps.
    pub steps: Vec<TraceStep>,
}

impl DecisionTrace {
    fn push(&mut self, check: &'static str, outcome: CheckOutcome, detail: impl Into<String>) {
        self.steps.push(TraceStep { check, outcome, detail: detail.into() });
    }
}

impl fmt::Display for DecisionTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            let outcome = match &s.outcome {
                CheckOutcome::Passed => "pass".to_owned(),
                CheckOutcome::Failed(k) => format!("FAIL {k}"),
                CheckOutcome::Skipped => "skip".to_owned(),
            };
            writeln!(f, "{:<10} {outcome:<28} {}", s.check, s.detail)?;
        }
        Ok(())
    }
}

/// Something an operator may want to alert on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// A valid certificate no client is registered for was presented.
    UnregisteredCertificate {
        /// Its thumbprint.
        thumbprint: Thumbprint,
        /// Its subject (RFC 4514).
        subject: String,
    },
    /// A registered certificate in use expires within the warning window.
    CertificateExpiringSoon {
        /// The client.
        client_id: String,
        /// The certificate.
        thumbprint: Thumbprint,
        /// Its notAfter.
        not_after: Timestamp,
    },
    /// Report-only mode let through a request that would have been refused.
    WouldReject {
        /// The error kind it would have been refused with.
        kind: ErrorKind,
        /// Its message.
        message: String,
    },
}

type EventSink = Arc<dyn Fn(&AuthEvent) + Send + Sync>;

/// Runs the pipeline; cheap to clone (one `Arc`). Build with [`Authenticator::builder`].
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Verifier,
    cache: VerificationCache<ClientIdentity>,
    rules: Option<IdentityRule>,
    registry: Option<Arc<dyn Registry>>,
    unregistered: Unregistered,
    binding: BindingMode,
    revocation: Vec<Arc<dyn RevocationChecker>>,
    report_only: bool,
    on_event: Option<EventSink>,
    expiry_warning_secs: i64,
    limits: Limits,
    offload: Offload,
    /// Started on the first uncached verification of an `authenticate` call.
    pool: OnceLock<Option<pool::Pool>>,
    /// Registered with the global recorder on the first request.
    #[cfg(feature = "metrics")]
    metrics: OnceLock<crate::metrics::Metrics>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Authenticator")
            .field("verifier", &i.verifier)
            .field("cache", &i.cache)
            .field("rules", &i.rules)
            .field("registry", &i.registry)
            .field("unregistered", &i.unregistered)
            .field("binding", &i.binding)
            .field("revocation", &i.revocation)
            .field("report_only", &i.report_only)
            .field("offload", &i.offload)
            .finish_non_exhaustive()
    }
}

/// Configures an [`Authenticator`].
pub struct AuthenticatorBuilder {
    verifier: Verifier,
    cache: CacheConfig,
    rules: Option<IdentityRule>,
    registry: Option<Arc<dyn Registry>>,
    unregistered: Option<Unregistered>,
    binding: BindingMode,
    revocation: Vec<Arc<dyn RevocationChecker>>,
    report_only: bool,
    on_event: Option<EventSink>,
    expiry_warning_secs: i64,
    limits: Limits,
    offload: Offload,
}

/// Where [`Authenticator::authenticate`] runs uncached verifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Offload {
    threads: usize,
    queue: usize,
}

impl Default for Offload {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2));
        Self { threads, queue: 64 * threads }
    }
}

impl fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder").finish_non_exhaustive()
    }
}

impl AuthenticatorBuilder {
    /// Only identities matching `rule` are accepted (`identity_mismatch`, 403, otherwise).
    /// Default: every verified identity.
    #[must_use]
    pub fn identity_rule(mut self, rule: IdentityRule) -> Self {
        self.rules = Some(rule);
        self
    }

    /// Map certificates to clients with `registry`. Default: no registry.
    #[must_use]
    pub fn registry(mut self, registry: Arc<dyn Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// What to do with valid certificates no client is registered for. Default with a
    /// registry: [`Unregistered::Reject`].
    #[must_use]
    pub fn unregistered(mut self, policy: Unregistered) -> Self {
        self.unregistered = Some(policy);
        self
    }

    /// How tokens passed with [`AuthRequest::token_confirmation`] are checked.
    /// Default: [`BindingMode::Required`].
    #[must_use]
    pub fn token_binding(mut self, mode: BindingMode) -> Self {
        self.binding = mode;
        self
    }

    /// Adds an asynchronous revocation check (OCSP, CRLs from distribution points, a
    /// revocation database) run on every request, cached or not; implementations cache
    /// their own answers. May be called more than once (OCSP and CRLs from distribution
    /// points, say): every checker runs, in the order added, and the first refusal decides.
    #[must_use]
    pub fn revocation_checker(mut self, checker: Arc<dyn RevocationChecker>) -> Self {
        self.revocation.push(checker);
        self
    }

    /// Verification cache bounds. Default: [`CacheConfig::default`].
    #[must_use]
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = config;
        self
    }

    /// Report-only mode for rolling out mTLS: integrations let refused requests through
    /// and log a [`AuthEvent::WouldReject`]. Never leave it on.
    #[must_use]
    pub fn report_only(mut self) -> Self {
        self.report_only = true;
        self
    }

    /// A callback for [`AuthEvent`]s (also logged at the [`TRACING_TARGET`]).
    #[must_use]
    pub fn on_event(mut self, sink: impl Fn(&AuthEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(sink));
        self
    }

    /// Warn ([`AuthEvent::CertificateExpiringSoon`]) when a registered certificate in
    /// use expires within this many seconds. Default 14 days.
    #[must_use]
    pub fn expiry_warning_secs(mut self, secs: i64) -> Self {
        self.expiry_warning_secs = secs;
        self
    }

    /// Bounds for decoding presented bytes. Default: [`Limits::default`].
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How many threads run uncached verifications for
    /// [`authenticate`](Authenticator::authenticate) (started on first use), so that new or
    /// crafted chains never occupy the async runtime's workers: cached requests keep
    /// their latency however many uncached ones arrive. Default: half the available
    /// cores, at least one. `0` verifies on the calling task instead (then a burst of
    /// uncached verifications delays other tasks on the same runtime worker).
    ///
    /// The synchronous entry points ([`verify_credential`](Authenticator::verify_credential),
    /// the rustls verifier during a handshake) always verify on the calling thread.
    #[must_use]
    pub fn verification_threads(mut self, threads: usize) -> Self {
        self.offload.threads = threads;
        self
    }

    /// How many uncached verifications may wait for a verification thread; one more is
    /// refused at once with `overloaded` (503) rather than queued without bound.
    /// Default: 64 per thread.
    #[must_use]
    pub fn verification_queue(mut self, waiting: usize) -> Self {
        self.offload.queue = waiting;
        self
    }

    /// Builds the authenticator. Refuses an unregistered-client policy without a registry.
    pub fn build(self) -> Result<Authenticator, ConfigError> {
        if self.registry.is_none() && self.unregistered == Some(Unregistered::Reject) {
            return Err(ConfigError::RejectUnregisteredWithoutRegistry);
        }
        #[cfg(feature = "metrics")]
        crate::metrics::trust_store(&self.verifier.trust_store());
        Ok(Authenticator {
            inner: Arc::new(Inner {
                verifier: self.verifier,
                cache: VerificationCache::new(self.cache),
                rules: self.rules,
                registry: self.registry,
                unregistered: self.unregistered.unwrap_or_default(),
                binding: self.binding,
                revocation: self.revocation,
                report_only: self.report_only,
                on_event: self.on_event,
                expiry_warning_secs: self.expiry_warning_secs,
                limits: self.limits,
                offload: self.offload,
                pool: OnceLock::new(),
                #[cfg(feature = "metrics")]
                metrics: OnceLock::new(),
            }),
        })
    }
}

/// Cache tags: what the key bytes are, so equal bytes of different kinds never collide.
const TAG_DER_CHAIN: u64 = 1;
const TAG_ENCODED: u64 = 0x100;

impl Authenticator {
    /// Starts a builder around `verifier`.
    pub fn builder(verifier: Verifier) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            verifier,
            cache: CacheConfig::default(),
            rules: None,
            registry: None,
            unregistered: None,
            binding: BindingMode::default(),
            revocation: Vec::new(),
            report_only: false,
            on_event: None,
            expiry_warning_secs: 14 * 86_400,
            limits: Limits::default(),
            offload: Offload::default(),
        }
    }

    /// The verifier (for rotating its trust store).
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// Whether report-only mode is on.
    pub fn is_report_only(&self) -> bool {
        self.inner.report_only
    }

    /// How many verifications are cached.
    pub fn cache_len(&self) -> usize {
        self.inner.cache.len()
    }

    /// Drops every cached verification (not needed after a trust-store replacement:
    /// the generation changes and old entries stop matching).
    pub fn clear_cache(&self) {
        self.inner.cache.clear();
    }

    /// Authenticates one request.
    pub async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<AuthenticatedClient> {
        let result = self.run(request, None).await;
        self.after(request, &result);
        result
    }

    /// Authenticates one request and returns every check run, in order.
    pub async fn authenticate_traced(
        &self,
        request: &AuthRequest<'_>,
    ) -> (Result<AuthenticatedClient>, DecisionTrace) {
        let mut trace = DecisionTrace::default();
        let result = self.run(request, Some(&mut trace)).await;
        self.after(request, &result);
        (result, trace)
    }

    fn after(&self, request: &AuthRequest<'_>, result: &Result<AuthenticatedClient>) {
        #[cfg(feature = "metrics")]
        self.inner.metrics().authentication(
            result.as_ref().err().map(Error::kind),
            source_label(&request.credential),
        );
        #[cfg(not(feature = "metrics"))]
        let _ = request;
        if let Err(e) = result {
            if self.inner.report_only {
                self.emit(AuthEvent::WouldReject {
                    kind: e.kind(),
                    message: e.message().to_owned(),
                });
            } else {
                tracing::debug!(target: TRACING_TARGET, kind = %e.kind(), message = e.message(), "rejected");
            }
        }
    }

    fn emit(&self, event: AuthEvent) {
        match &event {
            AuthEvent::WouldReject { kind, message } => {
                tracing::warn!(target: TRACING_TARGET, %kind, message = message.as_str(), "report-only: would reject");
            }
            AuthEvent::UnregisteredCertificate { thumbprint, subject } => {
                tracing::info!(target: TRACING_TARGET, x5t = %thumbprint.to_x5t_s256(), subject = subject.as_str(), "unregistered certificate");
            }
            AuthEvent::CertificateExpiringSoon { client_id, thumbprint, not_after } => {
                tracing::warn!(target: TRACING_TARGET, client_id = client_id.as_str(), x5t = %thumbprint.to_x5t_s256(), not_after = %not_after, "registered certificate expires soon");
            }
        }
        if let Some(sink) = &self.inner.on_event {
            sink(&event);
        }
    }

    async fn run(
        &self,
        req: &AuthRequest<'_>,
        mut trace: Option<&mut DecisionTrace>,
    ) -> Result<AuthenticatedClient> {
        let inner = &*self.inner;
        let mut step = |check: &'static str, outcome: CheckOutcome, detail: &dyn Fn() -> String| {
            if let Some(t) = trace.as_deref_mut() {
                t.push(check, outcome, detail());
            }
        };
        let fail = |e: &Error| CheckOutcome::Failed(e.kind());

        // 1. Verification, through the cache.
        let source = credential_source(&req.credential);
        step("source", CheckOutcome::Passed, &|| source.to_string());
        let (identity, fresh) = match self.verify_cached_off_runtime(req.credential, req.now).await
        {
            Ok((identity, fresh)) => {
                step(
                    "cache",
                    if fresh { CheckOutcome::Skipped } else { CheckOutcome::Passed },
                    &|| {
                        if fresh { "miss".into() } else { "hit".into() }
                    },
                );
                if fresh {
                    step("verify", CheckOutcome::Passed, &|| {
                        format!(
                            "{} certificates, trusted by {:?}",
                            identity.chain().certificates().len(),
                            identity.chain().trusted_by()
                        )
                    });
                }
                (identity, fresh)
            }
            Err(e) => {
                step("verify", fail(&e), &|| e.message().to_owned());
                return Err(e);
            }
        };

        // 2. Asynchronous revocation, every request.
        for checker in &inner.revocation {
            match checker.check(identity.chain(), req.now).await {
                Ok(()) => step("revocation", CheckOutcome::Passed, &|| format!("{checker:?}")),
                Err(e) => {
                    step("revocation", fail(&e), &|| e.message().to_owned());
                    return Err(e);
                }
            }
        }

        // 3. Identity rules.
        if let Some(rules) = &inner.rules {
            if let Err(e) = rules.check(&identity) {
                step("rules", fail(&e), &|| format!("{rules:?}"));
                return Err(e);
            }
            step("rules", CheckOutcome::Passed, &|| format!("{rules:?}"));
        }

        // 4. Registry.
        let client = match &inner.registry {
            // A named client id is a claim only a registry can check: never pass it unchecked.
            None if req.client_id.is_some() => {
                let e = Error::new(
                    ErrorKind::UnknownClient,
                    "the request names a client id but no registry is configured to check it",
                );
                step("registry", fail(&e), &|| e.message().to_owned());
                return Err(e);
            }
            None => {
                step("registry", CheckOutcome::Skipped, &|| "no registry".into());
                None
            }
            Some(registry) => {
                match self.registry_lookup(&**registry, req, &identity, fresh).await {
                    Ok(client) => {
                        step("registry", CheckOutcome::Passed, &|| {
                            client.as_ref().map_or_else(
                                || "anonymous".into(),
                                |c| format!("client {}", c.id()),
                            )
                        });
                        client
                    }
                    Err(e) => {
                        step("registry", fail(&e), &|| e.message().to_owned());
                        return Err(e);
                    }
                }
            }
        };

        // 5. Token binding.
        match req.token {
            None => step("binding", CheckOutcome::Skipped, &|| "no token".into()),
            Some(cnf) => {
                if let Err(e) = check_token_binding(inner.binding, cnf, identity.chain()) {
                    step("binding", fail(&e), &|| e.message().to_owned());
                    return Err(e);
                }
                step("binding", CheckOutcome::Passed, &|| format!("{:?}", inner.binding));
            }
        }
        Ok(AuthenticatedClient { identity, client })
    }

    /// Verification only (no revocation checker, rules, registry or binding), through
    /// the cache: what the rustls verifier runs during the handshake, so that the
    /// connection's first request is a cache hit.
    pub fn verify_credential(
        &self,
        credential: Credential<'_>,
        now: Timestamp,
    ) -> Result<ClientIdentity> {
        self.verify_cached(credential, now).map(|(identity, _)| identity)
    }

    /// The identity and whether it was verified just now (a cache miss), verified on the
    /// calling thread.
    fn verify_cached(
        &self,
        credential: Credential<'_>,
        now: Timestamp,
    ) -> Result<(ClientIdentity, bool)> {
        match self.inner.find(credential, now) {
            Found::Done(result) => result,
            Found::Miss(miss) => self.inner.verify_miss(miss),
        }
    }

    /// [`verify_cached`](Self::verify_cached) with the verification itself on a
    /// verification thread: the calling task waits without holding its runtime worker.
    async fn verify_cached_off_runtime(
        &self,
        credential: Credential<'_>,
        now: Timestamp,
    ) -> Result<(ClientIdentity, bool)> {
        let miss = match self.inner.find(credential, now) {
            Found::Done(result) => return result,
            Found::Miss(miss) => miss,
        };
        // Undecodable input is refused here: decoding is bounded and already done.
        let pool = match (&miss.presented, self.inner.pool()) {
            (Ok(_), Some(pool)) => pool,
            _ => return self.inner.verify_miss(miss),
        };
        let inner = Arc::clone(&self.inner);
        match pool.submit(move || inner.verify_miss(miss)) {
            Some(pending) => pending.await.unwrap_or_else(|| {
                Err(Error::new(
                    ErrorKind::InvalidCertificate,
                    "verification ended without a result",
                ))
            }),
            None => Err(Error::new(
                ErrorKind::Overloaded,
                "too many verifications are waiting; try again later",
            )),
        }
    }

    /// [`lookup`](Self::lookup), counted (feature `metrics`).
    async fn registry_lookup(
        &self,
        registry: &dyn Registry,
        req: &AuthRequest<'_>,
        identity: &ClientIdentity,
        fresh: bool,
    ) -> Result<Option<RegisteredClient>> {
        let result = self.lookup(registry, req, identity, fresh).await;
        #[cfg(feature = "metrics")]
        self.inner.metrics().registry(&result);
        result
    }

    async fn lookup(
        &self,
        registry: &dyn Registry,
        req: &AuthRequest<'_>,
        identity: &ClientIdentity,
        fresh: bool,
    ) -> Result<Option<RegisteredClient>> {
        let unavailable = |e: Error| {
            if e.kind() == ErrorKind::RegistryUnavailable {
                e
            } else {
                Error::new(ErrorKind::RegistryUnavailable, format!("registry: {}", e.message()))
            }
        };
        let thumbprint = identity.thumbprint();
        let registration = if let Some(client_id) = req.client_id {
            let client =
                registry.by_client_id(client_id).await.map_err(unavailable)?.ok_or_else(|| {
                    Error::new(ErrorKind::UnknownClient, format!("no client with id {client_id:?}"))
                })?;
            let certificate = client.certificate(thumbprint).ok_or_else(|| {
                Error::new(
                    ErrorKind::IdentityMismatch,
                    format!("the certificate is not registered to client {client_id:?}"),
                )
            })?;
            Some(crate::registry::Registration { client, certificate: Some(certificate) })
        } else {
            match registry.by_thumbprint(thumbprint).await.map_err(unavailable)? {
                Some(r) => Some(r),
                None => registry.by_identity(identity).await.map_err(unavailable)?,
            }
        };
        let Some(registration) = registration else {
            if fresh {
                self.emit(AuthEvent::UnregisteredCertificate {
                    thumbprint: *thumbprint,
                    subject: identity.subject().to_rfc4514(),
                });
            }
            return match self.inner.unregistered {
                Unregistered::Anonymous => Ok(None),
                Unregistered::Reject => Err(Error::new(
                    ErrorKind::UnknownClient,
                    format!("no client is registered for {}", identity.subject()),
                )),
            };
        };
        registration.check(req.now)?;
        if fresh
            && let Some(not_after) = registration.certificate.as_ref().and_then(|c| c.not_after)
            && not_after.as_unix_secs() - req.now.as_unix_secs() < self.inner.expiry_warning_secs
        {
            self.emit(AuthEvent::CertificateExpiringSoon {
                client_id: registration.client.id().to_owned(),
                thumbprint: *thumbprint,
                not_after,
            });
        }
        Ok(Some(registration.client))
    }
}

/// A cache look-up's outcome.
enum Found {
    /// A cached result (success or a recent failure), or bad input.
    Done(Result<(ClientIdentity, bool)>),
    /// Nothing cached: what verifying needs, owned, so it can move to another thread.
    Miss(Miss),
}

struct Miss {
    key: Box<[u8]>,
    tag: u64,
    generation: u64,
    now: Timestamp,
    cured_at: Option<Timestamp>,
    presented: Result<PresentedChain>,
}

impl Inner {
    /// The cached answer for `credential`, or the decoded chain to verify.
    fn find(&self, credential: Credential<'_>, now: Timestamp) -> Found {
        match credential {
            Credential::Tls(certs) => {
                with_chain_key(certs, |key| self.find_keyed(key, TAG_DER_CHAIN, credential, now))
            }
            Credential::Chain(chain) => with_chain_key(chain.certificates(), |key| {
                self.find_keyed(key, source_tag(chain.source()), credential, now)
            }),
            Credential::Encoded { bytes, format } => {
                self.find_keyed(bytes, TAG_ENCODED + format as u64, credential, now)
            }
            Credential::Header { name, value, format } => {
                self.find_keyed(value, header_tag(name, format), credential, now)
            }
            #[cfg(feature = "http")]
            Credential::Forwarded { source, value } => {
                self.find_keyed(value, forwarded_tag(source.id()), credential, now)
            }
        }
    }

    /// [`find`](Self::find) with the cache key of `credential`.
    fn find_keyed(
        &self,
        key: &[u8],
        tag: u64,
        credential: Credential<'_>,
        now: Timestamp,
    ) -> Found {
        // Registered here, on the caller's thread, with the caller's recorder.
        #[cfg(feature = "metrics")]
        self.metrics();
        let generation = self.verifier.generation();
        if let Some(hit) = self.cache.get(key, tag, generation, now) {
            self.count_hit();
            return Found::Done(Ok((hit, false)));
        }
        // A chain refused a moment ago is refused again without decoding it.
        if let Some(error) = self.cache.recent_failure(key, tag, generation, now) {
            self.count_hit();
            return Found::Done(Err(error));
        }
        let decoded = self.presented(credential);
        // The same leaf presented with other extra certificates: its verified path is
        // still presented (or held by the store), so the earlier result holds.
        if let Ok(presented) = &decoded {
            let leaf = Thumbprint::of(presented.leaf());
            let held = self.verifier.trust_store();
            let sound = |identity: &ClientIdentity| {
                identity.chain().certificates()[1..].iter().all(|c| {
                    presented.intermediates().contains(c) || held.intermediates().contains(c)
                })
            };
            let sound = |identity: &ClientIdentity| {
                sound(identity)
                    && self.verifier.offers(presented, identity.chain().certificates(), now)
            };
            if let Some(identity) =
                self.cache.adopt(key, tag, generation, now, leaf.as_bytes(), sound)
            {
                self.count_hit();
                return Found::Done(Ok((identity, false)));
            }
        }
        Found::Miss(Miss {
            key: key.into(),
            tag,
            generation,
            now,
            cured_at: match &decoded {
                Ok(chain) => self.verifier.next_change_for(chain, now),
                Err(_) => self.verifier.next_change_after(now),
            },
            presented: decoded,
        })
    }

    /// Verifies a miss (once for concurrent callers with the same key) and files the
    /// result in the cache.
    fn verify_miss(&self, miss: Miss) -> Result<(ClientIdentity, bool)> {
        let Miss { key, tag, generation, now, cured_at, presented } = miss;
        let result = self.cache.get_or_verify(&key, tag, generation, now, cured_at, || {
            let presented = presented.as_ref().map_err(Clone::clone)?;
            #[cfg(feature = "metrics")]
            let started = std::time::Instant::now();
            let verified = self.verifier.verify(presented, now);
            #[cfg(feature = "metrics")]
            self.metrics().verification(started.elapsed());
            let verified = verified?;
            let (valid_from, expires) = (verified.valid_from(), verified.expires());
            let weight = verified.certificates().iter().map(|c| c.len()).sum::<usize>() + 256;
            let identity = ClientIdentity::new(verified)?;
            let leaf = *identity.thumbprint().as_bytes();
            Ok(Verified { value: identity, valid_from, expires, leaf, weight })
        });
        #[cfg(feature = "metrics")]
        self.metrics().cache_miss(self.cache.len());
        result
    }

    fn count_hit(&self) {
        #[cfg(feature = "metrics")]
        self.metrics().cache_hit();
    }

    #[cfg(feature = "metrics")]
    fn metrics(&self) -> &crate::metrics::Metrics {
        self.metrics.get_or_init(crate::metrics::Metrics::register)
    }

    fn presented(&self, credential: Credential<'_>) -> Result<PresentedChain> {
        let limits = &self.limits;
        match credential {
            Credential::Tls(certs) => PresentedChain::new(
                certs.iter().map(|c| c.clone().into_owned()).collect(),
                Source::Tls,
                Format::Der,
                limits,
            ),
            Credential::Chain(chain) => Ok(chain.clone()),
            Credential::Encoded { bytes, format } => input::parse(bytes, format, limits),
            Credential::Header { name, value, format } => {
                input::decode_header(value, format, name, limits)
            }
            #[cfg(feature = "http")]
            Credential::Forwarded { source, value } => source.decode_value(value),
        }
    }

    /// The verification threads, started on first use; `None` when verifications run
    /// on the calling task (configured, or the threads could not be started).
    fn pool(&self) -> Option<&pool::Pool> {
        self.pool
            .get_or_init(|| {
                let Offload { threads, queue } = self.offload;
                if threads == 0 {
                    return None;
                }
                pool::Pool::start(threads, queue)
                    .map_err(|e| {
                        tracing::warn!(target: TRACING_TARGET, error = %e, "cannot start verification threads; verifying on the calling task");
                    })
                    .ok()
            })
            .as_ref()
    }
}

/// The `source` label of `credential`'s metrics.
#[cfg(feature = "metrics")]
fn source_label(credential: &Credential<'_>) -> crate::metrics::SourceLabel {
    use crate::metrics::SourceLabel;
    match credential {
        Credential::Tls(_) => SourceLabel::Tls,
        Credential::Chain(chain) => match chain.source() {
            Source::Tls => SourceLabel::Tls,
            Source::Header(_) => SourceLabel::Header,
            Source::Bytes => SourceLabel::Bytes,
        },
        Credential::Header { .. } => SourceLabel::Header,
        #[cfg(feature = "http")]
        Credential::Forwarded { .. } => SourceLabel::Header,
        Credential::Encoded { .. } => SourceLabel::Bytes,
    }
}

fn credential_source(credential: &Credential<'_>) -> Source {
    match credential {
        Credential::Tls(_) => Source::Tls,
        Credential::Chain(chain) => chain.source().clone(),
        Credential::Encoded { .. } => Source::Bytes,
        Credential::Header { name, .. } => Source::Header(name.to_ascii_lowercase()),
        #[cfg(feature = "http")]
        Credential::Forwarded { source, .. } => Source::Header(source.header_name().to_owned()),
    }
}

/// The cache tag of a header value decoded by the header source `id`: entries decoded
/// under one source's limits and expectations never answer for another's.
#[cfg(feature = "http")]
fn forwarded_tag(id: u64) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::fast::FixedState::with_seed(0x6677_6464).hash_one(id) | (3 << 62)
}

/// The cache tag of a decoded chain: where it came from, so a chain forwarded in a header
/// never answers as (or with the source of) the same chain seen over TLS.
fn source_tag(source: &Source) -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    match source {
        Source::Tls => TAG_DER_CHAIN,
        Source::Bytes => TAG_DER_CHAIN + 1,
        Source::Header(name) => {
            let mut h = foldhash::fast::FixedState::with_seed(0x6368_6169).build_hasher();
            h.write(name.as_bytes());
            h.finish() | (1 << 62)
        }
    }
}

/// The cache tag of a header value: its name and format, so the same bytes under another
/// header or format never share an entry.
fn header_tag(name: &str, format: HeaderFormat) -> u64 {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut h = foldhash::fast::FixedState::with_seed(0x6365_7274).build_hasher();
    for b in name.bytes() {
        h.write_u8(b.to_ascii_lowercase());
    }
    h.write(format.name().as_bytes());
    h.finish() | (1 << 63)
}

/// The DER certificates one after another: the cache key of a chain.
fn join(certs: &[CertificateDer<'_>]) -> Vec<u8> {
    let mut key = Vec::with_capacity(certs.iter().map(|c| c.len()).sum());
    for c in certs {
        key.extend_from_slice(c);
    }
    key
}

/// A per-thread key buffer larger than this is not kept between requests.
const MAX_KEPT_KEY_BUFFER: usize = 64 * 1024;

/// Calls `f` with the chain's DER certificates back to back (DER is self-delimiting, so
/// the concatenation is unambiguous): the certificate itself for a one-certificate chain,
/// else a per-thread buffer reused across requests, so a cache hit allocates nothing.
fn with_chain_key<R>(certs: &[CertificateDer<'_>], f: impl FnOnce(&[u8]) -> R) -> R {
    thread_local! {
        static KEY: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    if let [only] = certs {
        return f(only);
    }
    KEY.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            for c in certs {
                buf.extend_from_slice(c);
            }
            let result = f(&buf);
            if buf.capacity() > MAX_KEPT_KEY_BUFFER {
                *buf = Vec::new();
            }
            result
        }
        // Re-entered on this thread (a verifier calling back into an authenticator).
        Err(_) => f(&join(certs)),
    })
}
