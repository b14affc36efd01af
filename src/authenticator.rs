//! The pipeline: presented certificate to [`AuthenticatedClient`].
//!
//! ```text
//! credential ─► cache ─miss─► decode ─► verify ─► revocation checker ─► cache
//!                 │hit
//!                 ▼
//!            identity rules ─► registry ─► token binding ─► AuthenticatedClient
//! ```
//!
//! For a certificate already seen, a request costs: hash the presented bytes, one cache
//! look-up, the identity rules, one registry look-up. Everything else is skipped.

use std::fmt;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;

use crate::binding::{BindingMode, check_token_binding};
use crate::cache::{CacheConfig, VerificationCache};
use crate::error::{ConfigError, Error, ErrorKind, Result};
use crate::identity::{ClientIdentity, IdentityRule};
use crate::input::{Format, Limits, PresentedChain, Source};
use crate::registry::{RegisteredClient, Registry, resolve};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::{RevocationChecker, Verifier};

/// Where tracing events about authentication decisions go. Rejections are logged here
/// at `debug` with their kind and message (never certificate or header contents);
/// report-only "would reject" decisions and operator events at `warn`/`info`.
pub const TRACING_TARGET: &str = "certauth";

/// A successfully authenticated client: what middleware puts into request extensions.
#[derive(Clone, Debug)]
pub struct AuthenticatedClient {
    identity: ClientIdentity,
    client: Option<Arc<RegisteredClient>>,
}

impl AuthenticatedClient {
    /// The verified certificate identity.
    pub fn identity(&self) -> &ClientIdentity {
        &self.identity
    }

    /// The registered client application, if the registry knows the certificate (or an
    /// identity mapping matched); `None` for an accepted anonymous client.
    pub fn client(&self) -> Option<&RegisteredClient> {
        self.client.as_deref()
    }

    /// The leaf certificate's thumbprint.
    pub fn thumbprint(&self) -> Thumbprint {
        self.identity.thumbprint()
    }

    /// Where the certificate came from.
    pub fn source(&self) -> &Source {
        self.identity.source()
    }
}

/// What happens to a valid certificate that no registered client owns.
///
/// Default: [`Unregistered::Reject`] when a registry is configured, which is the safe
/// choice for an API gateway; without a registry every verified client is accepted
/// (there is nothing to look up).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unregistered {
    /// Refuse with `unknown_client` (403).
    #[default]
    Reject,
    /// Accept, with [`AuthenticatedClient::client`] `None`.
    AllowAnonymous,
}

/// The certificate a request presents.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Credential<'a> {
    /// The peer certificates of a TLS connection this process terminated, leaf first.
    Tls(&'a [CertificateDer<'a>]),
    /// The raw value of a forwarded header from a trusted proxy (the caller checked the
    /// peer: see the `http` feature), in `format`. The cache is keyed on these bytes, so
    /// a repeat request skips decoding entirely.
    Header {
        /// The header value (all field lines, as received).
        value: &'a [u8],
        /// Its format.
        format: Format,
        /// The header name (lowercase), for the source tag.
        name: &'a str,
    },
    /// A chain decoded by the caller.
    Chain(&'a PresentedChain),
}

/// One request to authenticate.
#[derive(Clone, Copy, Debug)]
pub struct AuthRequest<'a> {
    /// The certificate presented.
    pub credential: Credential<'a>,
    /// A client id named by the request (e.g. an `X-IBM-Client-Id` header): the
    /// certificate must be registered to that client.
    pub client_id: Option<&'a str>,
    /// The `cnf.x5t#S256` claim of the request's access token, if any.
    pub token_cnf_x5t_s256: Option<&'a str>,
}

impl<'a> AuthRequest<'a> {
    /// A request presenting `credential`, with no client id and no token.
    pub fn new(credential: Credential<'a>) -> Self {
        Self { credential, client_id: None, token_cnf_x5t_s256: None }
    }

    /// Sets the client id the request names.
    #[must_use]
    pub fn with_client_id(mut self, client_id: Option<&'a str>) -> Self {
        self.client_id = client_id;
        self
    }

    /// Sets the token's confirmation claim.
    #[must_use]
    pub fn with_token_cnf(mut self, x5t_s256: Option<&'a str>) -> Self {
        self.token_cnf_x5t_s256 = x5t_s256;
        self
    }
}

/// The outcome of one step of the pipeline, for a [`DecisionTrace`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepOutcome {
    /// The check passed.
    Passed,
    /// The check failed with this error kind.
    Failed(ErrorKind),
    /// The check was not configured or not needed.
    Skipped,
}

/// One step of a decision: which check ran and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceStep {
    /// The check: `source`, `cache`, `chain`, `revocation_checker`, `identity_rules`,
    /// `registry`, `binding`.
    pub check: &'static str,
    /// How it ended.
    pub outcome: StepOutcome,
    /// Facts (counts, names, times; never certificate or header contents).
    pub detail: String,
}

/// Every check run for one request, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DecisionTrace {
    /// The steps.
    pub steps: Vec<TraceStep>,
}

impl DecisionTrace {
    fn push(trace: &mut Option<&mut Self>, check: &'static str, outcome: StepOutcome, detail: impl Into<String>) {
        if let Some(t) = trace.as_deref_mut() {
            t.steps.push(TraceStep { check, outcome, detail: detail.into() });
        }
    }
}

impl fmt::Display for DecisionTrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.steps {
            let outcome = match &s.outcome {
                StepOutcome::Passed => "passed".to_owned(),
                StepOutcome::Failed(k) => format!("failed ({k})"),
                StepOutcome::Skipped => "skipped".to_owned(),
            };
            writeln!(f, "{:<20} {outcome:<28} {}", s.check, s.detail)?;
        }
        Ok(())
    }
}

/// The decision for a request, as middleware acts on it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Verdict {
    /// Let the request in, with this client.
    Accepted(AuthenticatedClient),
    /// Refuse the request.
    Rejected(Error),
    /// Report-only mode: the request would have been refused; it is let in without a
    /// client, and the decision was logged.
    WouldReject(Error),
}

/// Something an operator may want to alert on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthEvent {
    /// A certificate that verified but that no client owns was seen in traffic.
    UnregisteredCertificate {
        /// Its thumbprint.
        thumbprint: Thumbprint,
        /// Its subject (RFC 4514).
        subject: String,
    },
    /// A registered certificate in use stops being usable within the warning window.
    CertificateExpiringSoon {
        /// The client.
        client_id: String,
        /// The certificate.
        thumbprint: Thumbprint,
        /// When it expires or retires.
        at: Timestamp,
    },
    /// Report-only mode let in a request that would have been refused.
    WouldReject {
        /// Why it would have been refused.
        kind: ErrorKind,
    },
}

type EventSink = Arc<dyn Fn(&AuthEvent) + Send + Sync>;

/// The pipeline: owns the verifier, identity rules, registry and cache.
///
/// Cheap to clone (shared); build one at start-up with [`Authenticator::builder`].
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Verifier,
    rule: Option<IdentityRule>,
    registry: Option<Arc<dyn Registry>>,
    unregistered: Unregistered,
    binding: BindingMode,
    revocation_checker: Option<Arc<dyn RevocationChecker>>,
    cache: VerificationCache<ClientIdentity>,
    limits: Limits,
    report_only: bool,
    expiry_warning_secs: i64,
    on_event: Option<EventSink>,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("rule", &self.inner.rule.as_ref().map(ToString::to_string))
            .field("registry", &self.inner.registry)
            .field("unregistered", &self.inner.unregistered)
            .field("binding", &self.inner.binding)
            .field("report_only", &self.inner.report_only)
            .field("cache", &self.inner.cache)
            .finish_non_exhaustive()
    }
}

/// Builds an [`Authenticator`].
pub struct AuthenticatorBuilder {
    verifier: Verifier,
    rule: Option<IdentityRule>,
    registry: Option<Arc<dyn Registry>>,
    unregistered: Unregistered,
    binding: BindingMode,
    revocation_checker: Option<Arc<dyn RevocationChecker>>,
    cache: CacheConfig,
    limits: Limits,
    report_only: bool,
    expiry_warning_secs: i64,
    on_event: Option<EventSink>,
}

impl fmt::Debug for AuthenticatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticatorBuilder").finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Starts building an authenticator around `verifier`.
    pub fn builder(verifier: Verifier) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            verifier,
            rule: None,
            registry: None,
            unregistered: Unregistered::Reject,
            binding: BindingMode::Off,
            revocation_checker: None,
            cache: CacheConfig::default(),
            limits: Limits::default(),
            report_only: false,
            expiry_warning_secs: 14 * 86_400,
            on_event: None,
        }
    }
}

impl AuthenticatorBuilder {
    /// Identity rules every client must satisfy (`identity_mismatch`, 403, otherwise).
    /// Default: none.
    #[must_use]
    pub fn identity_rule(mut self, rule: IdentityRule) -> Self {
        self.rule = Some(rule);
        self
    }

    /// The client registry. Default: none (every verified client is accepted, with no
    /// registered client attached).
    #[must_use]
    pub fn registry(mut self, registry: Arc<dyn Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// What to do with a valid certificate no client owns. Default [`Unregistered::Reject`].
    #[must_use]
    pub fn unregistered(mut self, policy: Unregistered) -> Self {
        self.unregistered = policy;
        self
    }

    /// RFC 8705 token binding. Default [`BindingMode::Off`].
    #[must_use]
    pub fn token_binding(mut self, mode: BindingMode) -> Self {
        self.binding = mode;
        self
    }

    /// An extra revocation check (OCSP, a revoked-serial database) run after chain
    /// verification on a cache miss. Its verdict is cached with the chain, so it is
    /// consulted again only when the entry expires ([`CacheConfig::max_age_secs`]).
    #[must_use]
    pub fn revocation_checker(mut self, checker: Arc<dyn RevocationChecker>) -> Self {
        self.revocation_checker = Some(checker);
        self
    }

    /// Cache bounds and lifetime. Default [`CacheConfig::default`].
    #[must_use]
    pub fn cache(mut self, config: CacheConfig) -> Self {
        self.cache = config;
        self
    }

    /// Input bounds for forwarded headers. Default [`Limits::default`].
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// **Report-only mode**, for rolling out mTLS safely: [`Authenticator::evaluate`]
    /// logs what it would have refused and returns [`Verdict::WouldReject`] instead of
    /// [`Verdict::Rejected`]. Default off.
    #[must_use]
    pub fn report_only(mut self, on: bool) -> Self {
        self.report_only = on;
        self
    }

    /// How long before a registered certificate expires or retires its use raises
    /// [`AuthEvent::CertificateExpiringSoon`]. Default 14 days.
    #[must_use]
    pub fn expiry_warning_secs(mut self, secs: i64) -> Self {
        self.expiry_warning_secs = secs;
        self
    }

    /// A callback for [`AuthEvent`]s (also logged at the tracing target
    /// [`TRACING_TARGET`]).
    #[must_use]
    pub fn on_event(mut self, sink: impl Fn(&AuthEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(sink));
        self
    }

    /// Builds the authenticator. Refuses anonymous clients without a registry only in
    /// the sense that the setting is meaningless: `AllowAnonymous` needs a registry.
    pub fn build(self) -> Result<Authenticator, ConfigError> {
        if self.registry.is_none() && self.unregistered == Unregistered::AllowAnonymous {
            return Err(ConfigError::Setting(
                "unregistered(AllowAnonymous) needs a registry; without one every verified client is accepted".into(),
            ));
        }
        Ok(Authenticator {
            inner: Arc::new(Inner {
                verifier: self.verifier,
                rule: self.rule,
                registry: self.registry,
                unregistered: self.unregistered,
                binding: self.binding,
                revocation_checker: self.revocation_checker,
                cache: VerificationCache::new(self.cache),
                limits: self.limits,
                report_only: self.report_only,
                expiry_warning_secs: self.expiry_warning_secs,
                on_event: self.on_event,
            }),
        })
    }
}

impl Authenticator {
    /// The verifier (to rotate its trust store or CRLs: the cache follows its generation).
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// True in report-only mode.
    pub fn is_report_only(&self) -> bool {
        self.inner.report_only
    }

    /// Number of cached verified chains.
    pub fn cached_entries(&self) -> usize {
        self.inner.cache.len()
    }

    /// Authenticates a request at `now`. Report-only mode does not change this method:
    /// use [`evaluate`](Self::evaluate) in middleware.
    pub async fn authenticate(&self, request: AuthRequest<'_>, now: Timestamp) -> Result<AuthenticatedClient> {
        self.run(request, now, None).await
    }

    /// As [`authenticate`](Self::authenticate), also returning every check run and its
    /// outcome, in order.
    pub async fn authenticate_traced(
        &self,
        request: AuthRequest<'_>,
        now: Timestamp,
    ) -> (Result<AuthenticatedClient>, DecisionTrace) {
        let mut trace = DecisionTrace::default();
        let result = self.run(request, now, Some(&mut trace)).await;
        (result, trace)
    }

    /// The decision middleware acts on, honouring report-only mode. Rejections are
    /// logged at the tracing target [`TRACING_TARGET`].
    pub async fn evaluate(&self, request: AuthRequest<'_>, now: Timestamp) -> Verdict {
        match self.run(request, now, None).await {
            Ok(client) => Verdict::Accepted(client),
            Err(e) if self.inner.report_only => {
                tracing::warn!(target: TRACING_TARGET, kind = %e.kind(), message = %e, "report-only: would reject");
                self.emit(&AuthEvent::WouldReject { kind: e.kind() });
                Verdict::WouldReject(e)
            }
            Err(e) => {
                tracing::debug!(target: TRACING_TARGET, kind = %e.kind(), message = %e, "rejected");
                Verdict::Rejected(e)
            }
        }
    }

    fn emit(&self, event: &AuthEvent) {
        tracing::info!(target: TRACING_TARGET, ?event, "event");
        if let Some(sink) = &self.inner.on_event {
            sink(event);
        }
    }

    async fn run(
        &self,
        request: AuthRequest<'_>,
        now: Timestamp,
        mut trace: Option<&mut DecisionTrace>,
    ) -> Result<AuthenticatedClient> {
        let inner = &*self.inner;
        let identity = self.identity(request.credential, now, &mut trace).await?;

        match &inner.rule {
            Some(rule) => {
                let checked = rule.check(&identity);
                let outcome = checked.as_ref().map_or_else(|e| StepOutcome::Failed(e.kind()), |()| StepOutcome::Passed);
                DecisionTrace::push(&mut trace, "identity_rules", outcome, rule.to_string());
                checked?;
            }
            None => DecisionTrace::push(&mut trace, "identity_rules", StepOutcome::Skipped, "none configured"),
        }

        let client = match &inner.registry {
            Some(registry) => {
                let resolved = resolve(registry.as_ref(), &identity, request.client_id, now).await;
                let outcome = match &resolved {
                    Ok(Some(c)) => (StepOutcome::Passed, format!("client {:?}", c.id)),
                    Ok(None) => (StepOutcome::Failed(ErrorKind::UnknownClient), "not registered".to_owned()),
                    Err(e) => (StepOutcome::Failed(e.kind()), e.to_string()),
                };
                match resolved? {
                    Some(client) => {
                        DecisionTrace::push(&mut trace, "registry", outcome.0, outcome.1);
                        self.warn_if_expiring(&client, &identity, now);
                        Some(client)
                    }
                    None => {
                        self.emit(&AuthEvent::UnregisteredCertificate {
                            thumbprint: identity.thumbprint(),
                            subject: identity.subject().to_rfc4514(),
                        });
                        if inner.unregistered == Unregistered::Reject {
                            DecisionTrace::push(&mut trace, "registry", outcome.0, outcome.1);
                            return Err(Error::new(
                                ErrorKind::UnknownClient,
                                "the certificate is valid but not registered to any client",
                            ));
                        }
                        DecisionTrace::push(&mut trace, "registry", StepOutcome::Passed, "anonymous client allowed");
                        None
                    }
                }
            }
            None => {
                DecisionTrace::push(&mut trace, "registry", StepOutcome::Skipped, "none configured");
                None
            }
        };

        let bound = check_token_binding(inner.binding, request.token_cnf_x5t_s256, &identity);
        let outcome = match (&bound, inner.binding) {
            (_, BindingMode::Off) => StepOutcome::Skipped,
            (Ok(()), _) => StepOutcome::Passed,
            (Err(e), _) => StepOutcome::Failed(e.kind()),
        };
        DecisionTrace::push(&mut trace, "binding", outcome, format!("{:?}", inner.binding).to_lowercase());
        bound?;

        Ok(AuthenticatedClient { identity, client })
    }

    fn warn_if_expiring(&self, client: &RegisteredClient, identity: &ClientIdentity, now: Timestamp) {
        let Some(cert) = client.certificate(&identity.thumbprint()) else { return };
        let end = cert.retire_after.map_or(cert.not_after, |r| r.min(cert.not_after));
        if end <= now.plus_secs(self.inner.expiry_warning_secs) {
            self.emit(&AuthEvent::CertificateExpiringSoon {
                client_id: client.id.clone(),
                thumbprint: cert.thumbprint,
                at: end,
            });
        }
    }

    /// Cache hit, or decode + verify (+ revocation checker) and cache.
    async fn identity(
        &self,
        credential: Credential<'_>,
        now: Timestamp,
        trace: &mut Option<&mut DecisionTrace>,
    ) -> Result<ClientIdentity> {
        let inner = &*self.inner;
        let generation = inner.verifier.generation();
        let (key, tag) = cache_key(&credential);
        if let Some(identity) = inner.cache.get(&key, tag, generation, now) {
            DecisionTrace::push(trace, "cache", StepOutcome::Passed, "verified chain cached");
            return Ok(identity);
        }
        DecisionTrace::push(trace, "cache", StepOutcome::Skipped, "not cached");
        let verify = || -> Result<(ClientIdentity, Timestamp)> {
            let owned;
            let chain = match credential {
                Credential::Chain(chain) => chain,
                Credential::Tls(certs) => {
                    let certs = certs.iter().map(|c| c.clone().into_owned()).collect();
                    owned = PresentedChain::new(certs, Source::Tls, Format::Der, &inner.limits)?;
                    &owned
                }
                Credential::Header { value, format, name } => {
                    owned = crate::input::decode_header(&[value], format, name, &inner.limits)?;
                    &owned
                }
            };
            let verified = inner.verifier.verify(chain, now)?;
            let valid_until = verified.valid_until();
            Ok((ClientIdentity::new(verified), valid_until))
        };
        if let Some(checker) = &inner.revocation_checker {
            // The async check cannot run inside the cache's single-flight section:
            // verify, check, then publish.
            let (identity, valid_until) = record(trace, "chain", verify())?;
            let checked = checker.check(identity.chain()).await;
            record(trace, "revocation_checker", checked.map(|()| ((), now)))?;
            inner.cache.insert_verified(&key, tag, identity.clone(), generation, now, valid_until);
            return Ok(identity);
        }
        let result = inner.cache.get_or_verify(&key, tag, generation, now, verify);
        record(trace, "chain", result.map(|identity| (identity, now))).map(|(identity, _)| identity)
    }
}

fn record<T>(trace: &mut Option<&mut DecisionTrace>, check: &'static str, result: Result<(T, Timestamp)>) -> Result<(T, Timestamp)> {
    match &result {
        Ok(_) => DecisionTrace::push(trace, check, StepOutcome::Passed, ""),
        Err(e) => DecisionTrace::push(trace, check, StepOutcome::Failed(e.kind()), e.to_string()),
    }
    result
}

/// The exact presented bytes (borrowed for a header: a cache hit copies nothing) and a
/// tag saying what they are, so a header value and a DER chain, or two formats of one
/// value, never share an entry.
fn cache_key<'a>(credential: &Credential<'a>) -> (std::borrow::Cow<'a, [u8]>, u64) {
    use std::hash::{BuildHasher, Hash, Hasher};
    // A fixed-seed hash: tags must agree across calls, and they are not attacker-chosen.
    let tag_of = |what: &str, extra: &str| {
        let mut h = foldhash::fast::FixedState::with_seed(0x6365_7274_6175_7468).build_hasher();
        (what, extra).hash(&mut h);
        h.finish()
    };
    match credential {
        Credential::Header { value, format, name } => (std::borrow::Cow::Borrowed(*value), tag_of(format.name(), name)),
        Credential::Tls(certs) => (der_key(certs.iter().map(|c| c.as_ref())).into(), tag_of("tls", "")),
        Credential::Chain(chain) => (
            der_key(chain.certificates().iter().map(|c| c.as_ref())).into(),
            tag_of("chain", &chain.source().to_string()),
        ),
    }
}

fn der_key<'a>(certs: impl Iterator<Item = &'a [u8]> + Clone) -> Vec<u8> {
    let len: usize = certs.clone().map(|c| c.len() + 4).sum();
    let mut key = Vec::with_capacity(len);
    for c in certs {
        // Length-prefixed: two chains can never concatenate to the same key.
        key.extend_from_slice(&u32::try_from(c.len()).unwrap_or(u32::MAX).to_be_bytes());
        key.extend_from_slice(c);
    }
    key
}
