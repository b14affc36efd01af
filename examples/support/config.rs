//! Flags shared by the reference servers, and building certauth from them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use certauth::health::HealthReport;
use certauth::registry::MemoryRegistry;
use certauth::reload::{TrustFiles, Watcher};
use certauth::{Authenticator, IntermediateFetch, Timestamp, Verifier};
use certauth::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus};

/// Flags every reference server takes.
#[derive(clap::Args, Debug)]
pub(crate) struct Common {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub(crate) listen: String,
    /// Trust anchors (PEM bundle, DER file or directory); repeatable.
    #[arg(long, required = true)]
    pub(crate) trust: Vec<PathBuf>,
    /// CRL file (PEM or DER), or an `http://` URL; repeatable. Checked for the client
    /// certificate; a client whose issuer has no CRL here is refused. A URL is fetched at
    /// start (a failure stops the start) and, with --watch, again every
    /// --crl-refresh-secs and before its nextUpdate; a failed refresh keeps the last CRL.
    #[arg(long)]
    pub(crate) crl: Vec<String>,
    /// With --watch, how often each --crl URL is fetched again, in seconds.
    #[arg(long, default_value_t = 3600, requires = "watch")]
    pub(crate) crl_refresh_secs: u64,
    /// Fetch an issuer missing from a client's chain from its caIssuers URL (`http://`),
    /// from this host only (`host` for port 80, or `host:port`); repeatable. Off when
    /// absent. A fetch (at most 3 s, then cached) holds the verification that needs it.
    #[arg(long, value_name = "HOST")]
    pub(crate) fetch_intermediates_from: Vec<String>,
    /// Ask the client certificate's OCSP responder (its authority information access,
    /// http://) on each request, answers cached until their nextUpdate; no answer is a
    /// refusal (`revocation_unknown`). Needs the `ocsp` feature.
    #[arg(long)]
    pub(crate) ocsp: bool,
    /// Ask this OCSP responder (an http:// URL) instead of the certificate's; implies
    /// --ocsp.
    #[arg(long, value_name = "URL")]
    pub(crate) ocsp_url: Option<String>,
    /// Check each client certificate against the CRL its own CRL distribution point names
    /// (http://), fetched on first use, cached and refreshed before its nextUpdate; no CRL
    /// obtainable is a refusal (`revocation_unknown`). With --ocsp, both are asked.
    #[arg(long)]
    pub(crate) crl_from_distribution_points: bool,
    /// Registry file (JSON): clients and their certificates. Without it every verified
    /// certificate is accepted and `client_id` is null.
    #[arg(long)]
    pub(crate) registry: Option<PathBuf>,
    /// Registry in PostgreSQL instead of a file: a connection string
    /// (`postgres://user@host/dbname` or `key=value` pairs) of a database migrated with
    /// `certauth registry --database-url URL migrate`. Replicas given the same URL share
    /// one registry. Needs the `postgres` feature. Read from the environment variable
    /// `CERTAUTH_REGISTRY_URL` when absent, which keeps a password out of the process list.
    #[arg(long, value_name = "URL", conflicts_with = "registry")]
    pub(crate) registry_url: Option<String>,
    /// Connect to the registry database over TLS (required, never downgraded), trusting
    /// the CA certificates of this PEM file for the server's certificate.
    #[arg(long, value_name = "FILE")]
    pub(crate) registry_ca: Option<PathBuf>,
    /// Header naming the client application; its registered certificate must match.
    #[arg(long)]
    pub(crate) client_id_header: Option<String>,
    /// Threads verifying uncached certificates off the runtime's workers (0: on the
    /// request's own task). Default: half the cores, at least one.
    #[arg(long)]
    pub(crate) verification_threads: Option<usize>,
    /// Reload the --trust, --crl and --registry files when they change (the last good
    /// configuration stays when a changed file is broken).
    #[arg(long)]
    pub(crate) watch: bool,
    /// How often --watch looks at the files, in milliseconds.
    #[arg(long, default_value_t = 2000, requires = "watch")]
    pub(crate) watch_interval_ms: u64,
    /// Serve Prometheus metrics at `GET /metrics` (built with feature `metrics`).
    #[arg(long)]
    pub(crate) metrics: bool,
}

/// The authenticator and the operator's routes (`/healthz`, and `/metrics` with
/// `--metrics`), which stay outside authentication.
pub(crate) struct Built {
    pub(crate) auth: Authenticator,
    pub(crate) ops: axum::Router,
}

/// What `/healthz` reports on.
struct Ops {
    verifier: Verifier,
    registry: Option<Arc<MemoryRegistry>>,
    #[cfg(feature = "postgres")]
    registry_db: Option<Arc<certauth::registry::postgres::PostgresRegistry>>,
    #[cfg(feature = "ocsp")]
    ocsp: Option<Arc<certauth::ocsp::OcspChecker>>,
    watcher: Option<Watcher>,
}

/// At start-up, what was loaded: anchors with their expiry, CRLs with their next update,
/// the registry's size (names from the operator's own configuration, never a client's).
fn log_summary(verifier: &Verifier, registry: Option<&MemoryRegistry>) {
    let store = verifier.trust_store();
    for (subject, _, not_after) in store.anchor_validity() {
        tracing::info!(target: "certauth::config", anchor = subject, not_after = %not_after, "trust anchor");
    }
    tracing::info!(target: "certauth::config", intermediates = store.intermediates().len(), "intermediates held");
    for crl in store.crls() {
        let next = crl.next_update().map_or_else(|| "none".to_owned(), |t| t.to_rfc3339());
        tracing::info!(target: "certauth::config", issuer = %crl.issuer(), next_update = next.as_str(), "crl");
    }
    if let Some(registry) = registry {
        tracing::info!(target: "certauth::config", clients = registry.client_count(), "registry");
    }
}

/// `GET /healthz`: the health report as JSON; 200 when healthy, 503 otherwise.
async fn healthz(
    State(ops): State<Arc<Ops>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    let mut report = HealthReport::new(&ops.verifier.trust_store(), Timestamp::now(), 30 * 86_400);
    if let Some(watcher) = &ops.watcher {
        report = report.with_reloads(watcher);
    }
    if let Some(registry) = &ops.registry {
        report = report.with_registry(&**registry).await;
    }
    #[cfg(feature = "ocsp")]
    if let Some(checker) = &ops.ocsp {
        report = report.with_ocsp(checker);
    }
    #[cfg(feature = "postgres")]
    if let Some(registry) = &ops.registry_db {
        report = report.with_registry(&**registry).await.with_registry_synchronisation(registry);
    }
    let status = if report.healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, [("content-type", "application/json")], report.to_json())
}

/// The `--registry-url` registry (over TLS with `--registry-ca`), connected on the running
/// (multi-thread) runtime.
#[cfg(feature = "postgres")]
fn postgres_registry(
    url: &str,
    ca: Option<&std::path::Path>,
) -> Result<Arc<certauth::registry::postgres::PostgresRegistry>, Box<dyn std::error::Error>> {
    let mut builder = certauth::registry::postgres::PostgresRegistry::builder(url)?;
    if let Some(ca) = ca {
        builder = builder.tls(database_tls(ca)?);
    }
    let runtime = tokio::runtime::Handle::current();
    let registry = tokio::task::block_in_place(|| runtime.block_on(builder.connect()))?;
    Ok(Arc::new(registry))
}

/// A rustls client configuration (ring) trusting the CA certificates of a PEM file.
#[cfg(feature = "postgres")]
fn database_tls(
    ca: &std::path::Path,
) -> Result<Arc<rustls::ClientConfig>, Box<dyn std::error::Error>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)? {
        roots.add(cert?)?;
    }
    if roots.is_empty() {
        return Err(format!("{}: no CA certificate", ca.display()).into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The OCSP checker of `--ocsp` / `--ocsp-url`.
#[cfg(feature = "ocsp")]
fn ocsp_checker(
    verifier: &Verifier,
    url: Option<&str>,
) -> Result<Arc<certauth::ocsp::OcspChecker>, Box<dyn std::error::Error>> {
    let mut builder = certauth::ocsp::OcspChecker::builder(verifier);
    if let Some(url) = url {
        builder = builder.responder_url(url);
    }
    Ok(Arc::new(builder.build()?))
}

impl Common {
    /// The authenticator these flags describe.
    pub(crate) fn authenticator(&self) -> Result<Authenticator, Box<dyn std::error::Error>> {
        Ok(self.build()?.auth)
    }

    /// The authenticator and the operator's routes these flags describe.
    pub(crate) fn build(&self) -> Result<Built, Box<dyn std::error::Error>> {
        // Before anything records: metric handles bind to the recorder of their time.
        let metrics_route = self.metrics_route()?;
        let mut files = TrustFiles::new();
        for path in &self.trust {
            files = files.file(path);
        }
        for crl in &self.crl {
            // Anything with a scheme is a URL (`https://` is refused as such).
            files = if crl.contains("://") { files.crl_url(crl)? } else { files.crl(crl) };
        }
        files = files.crl_refresh_interval(Duration::from_secs(self.crl_refresh_secs));
        let mut verifier = Verifier::builder(files.load()?, RING_ALGORITHMS);
        if !self.crl.is_empty() {
            verifier = verifier
                .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny));
        }
        if !self.fetch_intermediates_from.is_empty() {
            let fetch = IntermediateFetch::from_hosts(&self.fetch_intermediates_from)?;
            verifier = verifier.fetch_missing_intermediates(fetch);
        }
        let verifier = verifier.build()?;
        let mut auth = Authenticator::builder(verifier.clone());
        if let Some(threads) = self.verification_threads {
            auth = auth.verification_threads(threads);
        }
        let mut registry = None;
        if let Some(path) = &self.registry {
            let loaded = Arc::new(MemoryRegistry::new());
            loaded.load_file(path, Timestamp::now())?;
            auth = auth.registry(loaded.clone());
            registry = Some(loaded);
        }
        #[cfg(feature = "postgres")]
        let mut registry_db = None;
        // The environment is read only when no flag names the registry.
        let registry_url = self.registry_url.clone().or_else(|| {
            self.registry.is_none().then(|| std::env::var("CERTAUTH_REGISTRY_URL").ok()).flatten()
        });
        if registry_url.is_none() && self.registry_ca.is_some() {
            return Err("--registry-ca needs --registry-url (or CERTAUTH_REGISTRY_URL)".into());
        }
        if let Some(url) = &registry_url {
            #[cfg(feature = "postgres")]
            {
                let connected = postgres_registry(url, self.registry_ca.as_deref())?;
                auth = auth.registry(connected.clone());
                registry_db = Some(connected);
            }
            #[cfg(not(feature = "postgres"))]
            {
                let _ = url;
                return Err(
                    "--registry-url needs the example built with the postgres feature".into()
                );
            }
        }
        #[cfg(feature = "ocsp")]
        let mut ocsp = None;
        if self.ocsp || self.ocsp_url.is_some() {
            #[cfg(feature = "ocsp")]
            {
                let checker = ocsp_checker(&verifier, self.ocsp_url.as_deref())?;
                auth = auth.revocation_checker(checker.clone());
                ocsp = Some(checker);
            }
            #[cfg(not(feature = "ocsp"))]
            return Err("--ocsp needs the example built with the ocsp feature".into());
        }
        if self.crl_from_distribution_points {
            let crls = certauth::crldp::CrlDistributionPoints::builder(&verifier).build()?;
            auth = auth.revocation_checker(Arc::new(crls));
        }
        let watcher = if self.watch {
            let mut watcher = Watcher::builder()
                .trust_store(verifier.clone(), files)
                .interval(Duration::from_millis(self.watch_interval_ms));
            if let (Some(registry), Some(path)) = (&registry, &self.registry) {
                watcher = watcher.registry(registry.clone(), path);
            }
            Some(watcher.start()?)
        } else {
            None
        };
        log_summary(&verifier, registry.as_deref());
        let ops = Arc::new(Ops {
            verifier,
            registry,
            #[cfg(feature = "postgres")]
            registry_db,
            #[cfg(feature = "ocsp")]
            ocsp,
            watcher,
        });
        let mut routes = axum::Router::new().route("/healthz", get(healthz)).with_state(ops);
        if let Some(route) = metrics_route {
            routes = routes.merge(route);
        }
        Ok(Built { auth: auth.build()?, ops: routes })
    }

    /// `GET /metrics` with `--metrics`: installs the Prometheus recorder.
    #[cfg(feature = "metrics")]
    fn metrics_route(&self) -> Result<Option<axum::Router>, Box<dyn std::error::Error>> {
        if !self.metrics {
            return Ok(None);
        }
        let handle = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
        Ok(Some(axum::Router::new().route("/metrics", get(move || async move { handle.render() }))))
    }

    #[cfg(not(feature = "metrics"))]
    fn metrics_route(&self) -> Result<Option<axum::Router>, Box<dyn std::error::Error>> {
        if self.metrics {
            return Err("--metrics needs the example built with feature `metrics`".into());
        }
        Ok(None)
    }

    /// The certauth layer for these flags (client-id header applied).
    pub(crate) fn layer(
        &self,
        auth: Authenticator,
    ) -> Result<certauth::tower::CertAuthLayer, Box<dyn std::error::Error>> {
        let mut layer = certauth::tower::CertAuthLayer::new(auth);
        if let Some(name) = &self.client_id_header {
            layer = layer.client_id_header(name.parse()?);
        }
        Ok(layer)
    }
}
