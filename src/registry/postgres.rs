//! [`PostgresRegistry`]: one registry on PostgreSQL, shared by every replica of a service.
//!
//! Clients and their certificates live in two tables (`clients`, `client_certificates`),
//! created and upgraded by versioned migrations shipped in the crate and applied only when
//! asked: [`PostgresRegistryBuilder::migrate`] (or `certauth registry --database-url URL
//! migrate`). [`connect`](PostgresRegistryBuilder::connect) refuses a database whose
//! schema is older ([`PostgresError::SchemaOutdated`]) or newer
//! ([`PostgresError::SchemaTooNew`]) than [`SCHEMA_VERSION`].
//!
//! # As fast as memory for known clients
//!
//! Each replica keeps a local cache of registry answers ("not registered" included).
//! Triggers on both tables `NOTIFY` every committed change, and each replica's listener
//! connection drops the answers a change touches. A request for a cached client makes no
//! database round trip: a lock-free map read and a clock read.
//!
//! # Bounded staleness
//!
//! A change committed through any replica, the operator's tool or plain SQL is obeyed by
//! every replica within the staleness bound (default one second,
//! [`staleness_bound`](PostgresRegistryBuilder::staleness_bound)). The listener proves
//! it is current with a heartbeat through its own session several times per bound;
//! cached answers are served only while that proof is younger than the bound. When the
//! listener's connection drops, it reconnects with backoff and forgets the cache; until
//! it is synchronised again, every look-up goes to the database.
//!
//! # Outages
//!
//! With the database unreachable, a look-up that the cache cannot answer fails with
//! kind `registry_unavailable` (HTTP 503) after at most the query timeout; cached
//! answers keep being served for at most the staleness bound after the last
//! synchronisation, then fail the same way. Errors name the operation and the SQLSTATE
//! or the kind of connection failure, never the connection string, a row value or a
//! server message.
//!
//! # Writes
//!
//! Inherent methods with the registration rules of
//! [`MemoryRegistry`](super::MemoryRegistry): a duplicate client id, a certificate
//! expired at registration time, a key the [`KeyPolicy`] refuses, and a certificate of
//! another client are refused ([`PostgresError::Refused`]). A write invalidates the
//! writing replica's own cache at once; the others follow through the notification.
//!
//! Identity rules ([`Registry::by_identity`]) are not stored in PostgreSQL: look-ups are
//! by thumbprint and by client id.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use certauth::registry::postgres::PostgresRegistry;
//! use certauth::registry::{RegisteredClient, Registry};
//!
//! let builder = PostgresRegistry::builder("postgresql://certauth@db.internal/registry")?;
//! builder.migrate().await?; // once per deployment (or `certauth registry ... migrate`)
//! let registry = Arc::new(builder.connect().await?);
//! registry.add_client(&RegisteredClient::new("billing", "Billing service")).await?;
//! // Hand `registry.clone() as Arc<dyn Registry>` to `Authenticator::builder(..).registry(..)`.
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;
use tokio_postgres::{NoTls, Row};

use super::{
    ClientStatus, ExpiringCertificate, RegisteredCertificate, RegisteredClient, Registration,
    RegistrationError, Registry,
};
use crate::BoxFuture;
use crate::cert::Certificate;
use crate::error::{Error, ErrorKind, Result};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::KeyPolicy;

mod cache;
mod listener;
mod schema;
mod tls;

pub use schema::{Migrated, SCHEMA_VERSION};

use cache::{Answer, Cache};

/// Why a [`PostgresRegistry`] operation did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresError {
    /// The registration rules refused a write (unknown or duplicate client, expired
    /// certificate, weak key, certificate owned by another client).
    #[error("registration refused: {0}")]
    Refused(#[from] RegistrationError),
    /// The database could not be reached or failed; the error's kind is
    /// `registry_unavailable` and its message names the operation and the SQLSTATE.
    #[error("{0}")]
    Unavailable(Error),
    /// The connection string could not be parsed (its content is not repeated here).
    #[error("registry database: the connection string is not valid")]
    InvalidConnectionString,
    /// The database's schema is older than this version of certauth needs: apply the
    /// migrations ([`PostgresRegistryBuilder::migrate`]).
    #[error(
        "registry database schema is at version {found}, this certauth needs version \
         {required}: run migrate"
    )]
    SchemaOutdated {
        /// The version found (0: no registry tables).
        found: u32,
        /// [`SCHEMA_VERSION`].
        required: u32,
    },
    /// The database's schema is newer than this version of certauth knows; nothing is
    /// read or changed. Upgrade certauth.
    #[error(
        "registry database schema is at version {found}, newer than this certauth knows \
         (version {supported}): upgrade certauth"
    )]
    SchemaTooNew {
        /// The version found.
        found: u32,
        /// [`SCHEMA_VERSION`].
        supported: u32,
    },
}

impl From<Error> for PostgresError {
    fn from(e: Error) -> Self {
        Self::Unavailable(e)
    }
}

impl From<PostgresError> for Error {
    /// `registry_unavailable` for database and schema errors; a refused registration
    /// keeps its words under kind `registry_unavailable` too, as the [`Registry`] trait
    /// has no other kind for it.
    fn from(e: PostgresError) -> Self {
        match e {
            PostgresError::Unavailable(e) => e,
            other => Error::new(ErrorKind::RegistryUnavailable, other.to_string()),
        }
    }
}

/// Configures and connects a [`PostgresRegistry`]; also applies migrations.
#[derive(Clone)]
pub struct PostgresRegistryBuilder {
    config: tokio_postgres::Config,
    tls: Option<Arc<rustls::ClientConfig>>,
    bound: Duration,
    query_timeout: Duration,
    pool_size: usize,
    cache_capacity: usize,
    key_policy: KeyPolicy,
}

impl fmt::Debug for PostgresRegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection string may hold a password: not shown.
        f.debug_struct("PostgresRegistryBuilder")
            .field("tls", &self.tls.is_some())
            .field("staleness_bound", &self.bound)
            .field("query_timeout", &self.query_timeout)
            .field("pool_size", &self.pool_size)
            .field("cache_capacity", &self.cache_capacity)
            .finish_non_exhaustive()
    }
}

impl PostgresRegistryBuilder {
    /// Connects with TLS using this rustls configuration (its roots, client certificate
    /// and crypto provider); the server name checked is the connection string's host.
    ///
    /// With this, every connection (pool, notification listener, migrations) requires
    /// TLS, whatever the connection string's `sslmode` says: a server that refuses TLS,
    /// or anyone in the path who strips it, fails the connection instead of receiving
    /// the start-up message and password in the clear.
    ///
    /// Default: no TLS (plain TCP or a Unix socket), unless this is called.
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.config.ssl_mode(tokio_postgres::config::SslMode::Require);
        self.tls = Some(config);
        self
    }

    /// How old an answer a replica may serve: a change is obeyed by every replica within
    /// this time, and with the database unreachable cached answers are served for at
    /// most this long after the last synchronisation.
    ///
    /// Default: one second. A shorter bound costs more heartbeats (four per bound per
    /// replica, each a `NOTIFY`); at most one minute, at least 20 ms.
    ///
    /// ```
    /// # fn f() -> Result<(), certauth::registry::postgres::PostgresError> {
    /// use std::time::Duration;
    /// let builder = certauth::registry::postgres::PostgresRegistry::builder("host=db user=app")?
    ///     .staleness_bound(Duration::from_millis(250));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn staleness_bound(mut self, bound: Duration) -> Self {
        self.bound = bound.clamp(Duration::from_millis(20), Duration::from_secs(60));
        self
    }

    /// How long one database operation (getting a connection included) may take before
    /// it fails with `registry_unavailable`. Also sent as the connections'
    /// `statement_timeout`, so a query stuck behind a lock ends on the server too.
    ///
    /// Default: two seconds, so a request waits at most that long on an outage.
    #[must_use]
    pub fn query_timeout(mut self, timeout: Duration) -> Self {
        self.query_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// The most database connections a replica opens for look-ups and writes (the
    /// notification listener has one more of its own).
    ///
    /// Default: 8. Known clients need none: they are answered from the cache.
    #[must_use]
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The most answers a replica caches; a full cache is emptied and refilled.
    ///
    /// Default: 1,000,000 (about 100 bytes each plus the clients themselves).
    #[must_use]
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity.max(1);
        self
    }

    /// The key policy for [`PostgresRegistry::register_certificate`].
    ///
    /// Default: [`KeyPolicy::default`], as the in-memory registry.
    #[must_use]
    pub fn key_policy(mut self, key_policy: KeyPolicy) -> Self {
        self.key_policy = key_policy;
        self
    }

    /// One connection outside the pool (migrations, schema check).
    async fn connect_one(&self) -> Result<tokio_postgres::Client, PostgresError> {
        let connect = async {
            match &self.tls {
                Some(tls) => {
                    let (client, connection) =
                        self.config.connect(tls::MakeRustls::new(tls.clone())).await?;
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok(client)
                }
                None => {
                    let (client, connection) = self.config.connect(NoTls).await?;
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    Ok(client)
                }
            }
        };
        Ok(timed(self.query_timeout, "connect", connect).await?)
    }

    /// Applies the migrations the database lacks, in one transaction under an advisory
    /// lock (replicas may call this together). A database at [`SCHEMA_VERSION`] is left
    /// unchanged; a newer one is refused with [`PostgresError::SchemaTooNew`] and left
    /// unchanged.
    pub async fn migrate(&self) -> Result<Migrated, PostgresError> {
        tokio::runtime::Handle::try_current().map_err(|_| no_runtime())?;
        let mut client = self.connect_one().await?;
        // DDL may wait for a lock held by a running look-up: allow longer than a query.
        schema::migrate(&mut client, self.query_timeout.max(Duration::from_secs(30))).await
    }

    /// Checks the schema version, opens the pool and starts the notification listener
    /// (on the current tokio runtime; it stops when the registry is dropped).
    pub async fn connect(self) -> Result<PostgresRegistry, PostgresError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| no_runtime())?;
        {
            let client = self.connect_one().await?;
            schema::check(schema::version(&client, self.query_timeout).await?)?;
        }
        let shared = Arc::new(Shared {
            pool: self.pool()?,
            cache: Cache::new(self.bound, self.cache_capacity),
            bound: self.bound,
            query_timeout: self.query_timeout,
            key_policy: self.key_policy.clone(),
            reconnects: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            runtime,
        });
        let mut listener_config = self.config.clone();
        listener_config.application_name(listener::APPLICATION_NAME);
        let listener = match &self.tls {
            Some(tls) => tokio::spawn(listener::run(
                listener_config,
                tls::MakeRustls::new(tls.clone()),
                shared.clone(),
            )),
            None => tokio::spawn(listener::run(listener_config, NoTls, shared.clone())),
        };
        Ok(PostgresRegistry { shared, listener })
    }

    fn pool(&self) -> Result<Pool, PostgresError> {
        let mut config = self.config.clone();
        let ms = self.query_timeout.as_millis();
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} -c statement_timeout={ms}"),
            _ => format!("-c statement_timeout={ms}"),
        };
        config.options(&options);
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match &self.tls {
            Some(tls) => {
                Manager::from_config(config, tls::MakeRustls::new(tls.clone()), manager_config)
            }
            None => Manager::from_config(config, NoTls, manager_config),
        };
        Pool::builder(manager)
            .max_size(self.pool_size)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(self.query_timeout))
            .create_timeout(Some(self.query_timeout))
            .recycle_timeout(Some(self.query_timeout))
            .build()
            .map_err(|_| {
                PostgresError::Unavailable(Error::new(
                    ErrorKind::RegistryUnavailable,
                    "registry database: cannot build the connection pool",
                ))
            })
    }
}

/// What the registry's look-ups, writes and listener share.
struct Shared {
    pool: Pool,
    cache: Cache,
    bound: Duration,
    query_timeout: Duration,
    key_policy: KeyPolicy,
    reconnects: AtomicU64,
    lookups: AtomicU64,
    /// The runtime the registry was connected on: database work (the pool's timers) runs
    /// in its context, whichever executor polls a look-up.
    runtime: tokio::runtime::Handle,
}

/// A future polled inside a tokio runtime's context, so the timers it creates belong to
/// that runtime even when an executor other than tokio polls it.
struct InRuntime<'a, F> {
    runtime: &'a tokio::runtime::Handle,
    work: std::pin::Pin<Box<F>>,
}

impl<'a, F: Future> InRuntime<'a, F> {
    fn new(runtime: &'a tokio::runtime::Handle, work: F) -> Self {
        Self { runtime, work: Box::pin(work) }
    }
}

impl<F: Future> Future for InRuntime<'_, F> {
    type Output = F::Output;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let _context = self.runtime.enter();
        self.work.as_mut().poll(cx)
    }
}

/// A [`Registry`] on PostgreSQL with a local cache kept fresh by `LISTEN/NOTIFY`. See the
/// [module documentation](self).
///
/// Made by [`PostgresRegistry::builder`]; needs a tokio runtime (with the `time` driver)
/// to connect and to run its notification listener, which stops when the registry is
/// dropped.
pub struct PostgresRegistry {
    shared: Arc<Shared>,
    listener: tokio::task::JoinHandle<()>,
}

impl Drop for PostgresRegistry {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

impl fmt::Debug for PostgresRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresRegistry")
            .field("synchronised", &self.is_synchronised())
            .field("cached", &self.shared.cache.len())
            .field("staleness_bound", &self.shared.bound)
            .finish_non_exhaustive()
    }
}

/// The columns of a client look-up: the client, then one of its certificates (all `NULL`
/// for a client without certificates). One row per certificate.
macro_rules! client_select {
    () => {
        "SELECT c.id, c.name, c.status, c.metadata::text, cc.thumbprint, \
                extract(epoch FROM cc.not_after)::bigint, \
                extract(epoch FROM cc.retire_after)::bigint "
    };
}

const BY_THUMBPRINT: &str = concat!(
    client_select!(),
    "FROM client_certificates AS hit \
     JOIN clients AS c ON c.id = hit.client_id \
     LEFT JOIN client_certificates AS cc ON cc.client_id = c.id \
     WHERE hit.thumbprint = $1 \
     ORDER BY cc.not_after NULLS LAST, cc.thumbprint"
);

const BY_CLIENT_ID: &str = concat!(
    client_select!(),
    "FROM clients AS c \
     LEFT JOIN client_certificates AS cc ON cc.client_id = c.id \
     WHERE c.id = $1 \
     ORDER BY cc.not_after NULLS LAST, cc.thumbprint"
);

const ALL_CLIENTS: &str = concat!(
    client_select!(),
    "FROM clients AS c \
     LEFT JOIN client_certificates AS cc ON cc.client_id = c.id \
     ORDER BY c.id, cc.not_after NULLS LAST, cc.thumbprint"
);

const EXPIRING_BEFORE: &str = "SELECT client_id, thumbprint, extract(epoch FROM not_after)::bigint \
     FROM client_certificates \
     WHERE not_after < to_timestamp($1::bigint) \
     ORDER BY not_after, client_id";

/// Inserts a client and its certificates in one statement (so atomically): a duplicate
/// id or a thumbprint owned by anyone fails the whole statement with a unique violation.
const INSERT_CLIENT: &str = "WITH new_client AS ( \
         INSERT INTO clients (id, name, status, metadata) \
         VALUES ($1, $2, $3, $4::text::jsonb) RETURNING id) \
     INSERT INTO client_certificates (thumbprint, client_id, not_after, retire_after) \
     SELECT t.thumbprint, new_client.id, to_timestamp(t.not_after), to_timestamp(t.retire_after) \
     FROM new_client, \
          unnest($5::bytea[], $6::bigint[], $7::bigint[]) AS t (thumbprint, not_after, retire_after)";

/// Registers a certificate to an existing client, or updates its dates when that client
/// has it already. Returns no row for an unknown client or a thumbprint owned by another.
const UPSERT_CERTIFICATE: &str = "INSERT INTO client_certificates (thumbprint, client_id, not_after, retire_after) \
     SELECT $1, id, to_timestamp($3::bigint), to_timestamp($4::bigint) FROM clients WHERE id = $2 \
     ON CONFLICT (thumbprint) DO UPDATE \
         SET not_after = EXCLUDED.not_after, retire_after = EXCLUDED.retire_after \
         WHERE client_certificates.client_id = EXCLUDED.client_id \
     RETURNING client_id";

impl PostgresRegistry {
    /// A builder for a registry on the database of `connection_string` (a libpq
    /// connection string: `postgresql://user:password@host:port/dbname?...` or
    /// `key=value` pairs). Refuses a string that does not parse, without repeating it.
    ///
    /// When the string sets no `connect_timeout`, five seconds is used.
    pub fn builder(connection_string: &str) -> Result<PostgresRegistryBuilder, PostgresError> {
        let mut config: tokio_postgres::Config =
            connection_string.parse().map_err(|_| PostgresError::InvalidConnectionString)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        Ok(PostgresRegistryBuilder {
            config,
            tls: None,
            bound: Duration::from_secs(1),
            query_timeout: Duration::from_secs(2),
            pool_size: 8,
            cache_capacity: 1_000_000,
            key_policy: KeyPolicy::default(),
        })
    }

    /// Whether cached answers may be served now: the notification listener has proved,
    /// within the staleness bound, that it has seen every change. While `false` (at
    /// start, or with the listener disconnected) every look-up goes to the database.
    /// A readiness probe may report it.
    pub fn is_synchronised(&self) -> bool {
        self.shared.cache.is_fresh(Instant::now())
    }

    /// How long ago the listener last proved it had seen every change (`None` before the
    /// first time).
    pub fn synchronised_ago(&self) -> Option<Duration> {
        self.shared.cache.synced_age(Instant::now())
    }

    /// How many times the notification listener's session has ended (each followed by a
    /// reconnection with backoff).
    pub fn listener_restarts(&self) -> u64 {
        self.shared.reconnects.load(Ordering::Relaxed)
    }

    /// How many look-ups went to the database (cache misses, and every look-up while
    /// not synchronised). A warm replica serving known clients keeps this still.
    pub fn database_lookups(&self) -> u64 {
        self.shared.lookups.load(Ordering::Relaxed)
    }

    /// The configured staleness bound.
    pub fn staleness_bound(&self) -> Duration {
        self.shared.bound
    }

    async fn client(&self, op: &'static str) -> Result<deadpool_postgres::Client> {
        self.shared.pool.get().await.map_err(|e| {
            let cause = match e {
                deadpool_postgres::PoolError::Timeout(_) => "timed out".to_owned(),
                deadpool_postgres::PoolError::Backend(e) => cause(&e),
                _ => "no connection".to_owned(),
            };
            Error::new(
                ErrorKind::RegistryUnavailable,
                format!("registry database: {op} failed ({cause})"),
            )
        })
    }

    /// Runs `query` with parameters on a pooled connection within the query timeout.
    async fn query(
        &self,
        op: &'static str,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        let work = async {
            let client = self.client(op).await?;
            let statement = client.prepare_cached(sql).await.map_err(|e| db_error(op, &e))?;
            client.query(&statement, params).await.map_err(|e| db_error(op, &e))
        };
        let timeout = self.shared.query_timeout;
        InRuntime::new(&self.shared.runtime, async move {
            match tokio::time::timeout(timeout, work).await {
                Ok(result) => result,
                Err(_) => Err(timed_out(op)),
            }
        })
        .await
    }

    async fn fetch_by_thumbprint(&self, thumbprint: &Thumbprint) -> Result<Answer> {
        let op = "look-up by thumbprint";
        self.shared.lookups.fetch_add(1, Ordering::Relaxed);
        let rows = self.query(op, BY_THUMBPRINT, &[&thumbprint.as_bytes().as_slice()]).await?;
        Ok(clients_from_rows(&rows, op)?.into_iter().next())
    }

    async fn fetch_by_client_id(&self, client_id: &str) -> Result<Answer> {
        let op = "look-up by client id";
        self.shared.lookups.fetch_add(1, Ordering::Relaxed);
        let rows = self.query(op, BY_CLIENT_ID, &[&client_id]).await?;
        Ok(clients_from_rows(&rows, op)?.into_iter().next())
    }

    /// Every client with its certificates, sorted by id (the operator's `list`).
    pub async fn clients(&self) -> Result<Vec<RegisteredClient>, PostgresError> {
        let op = "list clients";
        let rows = self.query(op, ALL_CLIENTS, &[]).await?;
        Ok(clients_from_rows(&rows, op)?)
    }

    /// Adds a client with its certificates (registered by thumbprint, as given), in one
    /// statement. Refuses a duplicate id or a thumbprint owned by another client.
    pub async fn add_client(&self, client: &RegisteredClient) -> Result<(), PostgresError> {
        let op = "add client";
        let status = status_name(client.status())?;
        let metadata = serde_json::Value::Object(
            client
                .metadata_iter()
                .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v.to_owned())))
                .collect(),
        )
        .to_string();
        let certificates: Vec<RegisteredCertificate> = client.certificates().collect();
        let thumbprints: Vec<&[u8]> =
            certificates.iter().map(|c| c.thumbprint.as_bytes().as_slice()).collect();
        let not_after: Vec<Option<i64>> =
            certificates.iter().map(|c| c.not_after.map(Timestamp::as_unix_secs)).collect();
        let retire_after: Vec<Option<i64>> =
            certificates.iter().map(|c| c.retire_after.map(Timestamp::as_unix_secs)).collect();
        let (id, name) = (client.id(), client.name());
        let inserted = self
            .execute_raw(
                op,
                INSERT_CLIENT,
                &[&id, &name, &status, &metadata, &thumbprints, &not_after, &retire_after],
            )
            .await?;
        self.invalidate_client(id, certificates.iter().map(|c| c.thumbprint));
        let Err(e) = inserted else { return Ok(()) };
        let constraint = e
            .as_db_error()
            .filter(|db| *db.code() == SqlState::UNIQUE_VIOLATION)
            .and_then(|db| db.constraint());
        match constraint {
            Some("clients_pkey") => Err(RegistrationError::DuplicateClient(id.to_owned()).into()),
            Some("client_certificates_pkey") => {
                let rows = self
                    .query(
                        op,
                        "SELECT client_id FROM client_certificates \
                         WHERE thumbprint = ANY($1::bytea[]) LIMIT 1",
                        &[&thumbprints],
                    )
                    .await?;
                match rows.first() {
                    Some(row) => Err(RegistrationError::OwnedByAnother(column(row, 0, op)?).into()),
                    // The owner was another writer's, removed again since: worth a retry.
                    None => Err(db_error(op, &e).into()),
                }
            }
            _ => Err(db_error(op, &e).into()),
        }
    }

    /// Registers a certificate to a client at time `now`. Refused: an unknown client, a
    /// certificate expired at `now`, a key the key policy refuses, a certificate owned
    /// by another client. Registering a certificate the client already has updates its
    /// dates (`retire_after` included: a rotation's overlap is ended this way).
    pub async fn register_certificate(
        &self,
        client_id: &str,
        certificate: &Certificate,
        now: Timestamp,
        retire_after: Option<Timestamp>,
    ) -> Result<(), PostgresError> {
        if certificate.not_after() < now {
            return Err(RegistrationError::Expired(certificate.not_after().to_rfc3339()).into());
        }
        self.shared
            .key_policy
            .check(certificate.key())
            .map_err(|e| RegistrationError::WeakKey(e.message().to_owned()))?;
        let thumbprint = certificate.thumbprint();
        let bytes = thumbprint.as_bytes().as_slice();
        let op = "register certificate";
        let rows = self
            .query(
                op,
                UPSERT_CERTIFICATE,
                &[
                    &bytes,
                    &client_id,
                    &certificate.not_after().as_unix_secs(),
                    &retire_after.map(Timestamp::as_unix_secs),
                ],
            )
            .await?;
        self.invalidate_client(client_id, [thumbprint]);
        if !rows.is_empty() {
            return Ok(());
        }
        let owner = self
            .query(op, "SELECT client_id FROM client_certificates WHERE thumbprint = $1", &[&bytes])
            .await?;
        Err(match owner.first() {
            Some(row) => RegistrationError::OwnedByAnother(column(row, 0, op)?),
            None => RegistrationError::UnknownClient(client_id.to_owned()),
        }
        .into())
    }

    /// Removes one certificate from whichever client holds it.
    pub async fn remove_certificate(&self, thumbprint: &Thumbprint) -> Result<(), PostgresError> {
        let op = "remove certificate";
        let rows = self
            .query(
                op,
                "DELETE FROM client_certificates WHERE thumbprint = $1 RETURNING client_id",
                &[&thumbprint.as_bytes().as_slice()],
            )
            .await?;
        let Some(row) = rows.first() else {
            return Err(RegistrationError::UnknownCertificate { thumbprint: *thumbprint }.into());
        };
        let owner: String = column(row, 0, op)?;
        self.invalidate_client(&owner, [*thumbprint]);
        Ok(())
    }

    /// Suspends a client: every replica refuses its requests with `client_suspended`
    /// within the staleness bound, cached verifications included.
    pub async fn suspend(&self, client_id: &str) -> Result<(), PostgresError> {
        self.set_status(client_id, ClientStatus::Suspended).await
    }

    /// Re-activates a suspended client.
    pub async fn activate(&self, client_id: &str) -> Result<(), PostgresError> {
        self.set_status(client_id, ClientStatus::Active).await
    }

    async fn set_status(&self, client_id: &str, status: ClientStatus) -> Result<(), PostgresError> {
        let op = "set client status";
        let status = status_name(status)?;
        let rows = self
            .query(
                op,
                "UPDATE clients SET status = $2 WHERE id = $1 RETURNING id",
                &[&client_id, &status],
            )
            .await?;
        self.invalidate_client(client_id, []);
        if rows.is_empty() {
            return Err(RegistrationError::UnknownClient(client_id.to_owned()).into());
        }
        Ok(())
    }

    /// Removes a client and (by the foreign key's cascade) its certificates.
    pub async fn remove_client(&self, client_id: &str) -> Result<(), PostgresError> {
        let op = "remove client";
        let rows =
            self.query(op, "DELETE FROM clients WHERE id = $1 RETURNING id", &[&client_id]).await?;
        self.invalidate_client(client_id, []);
        if rows.is_empty() {
            return Err(RegistrationError::UnknownClient(client_id.to_owned()).into());
        }
        Ok(())
    }

    /// Runs a statement whose database error the caller inspects (for constraint
    /// names): `Err` only for a pool failure or the timeout.
    async fn execute_raw(
        &self,
        op: &'static str,
        sql: &'static str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<std::result::Result<u64, tokio_postgres::Error>> {
        let work = async {
            let client = self.client(op).await?;
            Ok(client.execute(sql, params).await)
        };
        let timeout = self.shared.query_timeout;
        InRuntime::new(&self.shared.runtime, async move {
            match tokio::time::timeout(timeout, work).await {
                Ok(result) => result,
                Err(_) => Err(timed_out(op)),
            }
        })
        .await
    }

    /// Drops this replica's cached answers for a client and some thumbprints now (the
    /// other replicas follow on the notification).
    fn invalidate_client(
        &self,
        client_id: &str,
        thumbprints: impl IntoIterator<Item = Thumbprint>,
    ) {
        self.shared.cache.invalidate(&format!("c{client_id}"));
        for t in thumbprints {
            self.shared.cache.invalidate(&format!("t{}", t.to_hex()));
        }
    }
}

impl Registry for PostgresRegistry {
    fn by_thumbprint<'a>(
        &'a self,
        thumbprint: &'a Thumbprint,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        let registration = |client: RegisteredClient| {
            // A client row without this certificate (moved between two reads) counts
            // as not registered.
            let certificate = client.certificate(thumbprint)?;
            Some(Registration { client, certificate: Some(certificate) })
        };
        if let Some(answer) = self.shared.cache.thumbprint(thumbprint) {
            return Box::pin(std::future::ready(Ok(answer.and_then(registration))));
        }
        Box::pin(async move {
            let epoch = self.shared.cache.epoch();
            let answer = self.fetch_by_thumbprint(thumbprint).await?;
            self.shared.cache.store_thumbprint(*thumbprint, answer.clone(), epoch);
            Ok(answer.and_then(registration))
        })
    }

    fn by_client_id<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RegisteredClient>>> {
        if let Some(answer) = self.shared.cache.client_id(client_id) {
            return Box::pin(std::future::ready(Ok(answer)));
        }
        Box::pin(async move {
            let epoch = self.shared.cache.epoch();
            let answer = self.fetch_by_client_id(client_id).await?;
            self.shared.cache.store_client_id(client_id, answer.clone(), epoch);
            Ok(answer)
        })
    }

    fn expiring_before(&self, until: Timestamp) -> BoxFuture<'_, Result<Vec<ExpiringCertificate>>> {
        Box::pin(async move {
            let op = "expiring certificates";
            let rows = self.query(op, EXPIRING_BEFORE, &[&until.as_unix_secs()]).await?;
            rows.iter()
                .map(|row| {
                    Ok(ExpiringCertificate {
                        client_id: column(row, 0, op)?,
                        thumbprint: thumbprint(column(row, 1, op)?, op)?,
                        not_after: Timestamp::from_unix_secs(column(row, 2, op)?),
                    })
                })
                .collect()
        })
    }
}

/// Awaits a database future within `timeout`, mapping failures to `registry_unavailable`.
pub(super) async fn timed<T>(
    timeout: Duration,
    op: &'static str,
    work: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, work).await {
        Ok(result) => result.map_err(|e| db_error(op, &e)),
        Err(_) => Err(timed_out(op)),
    }
}

fn no_runtime() -> PostgresError {
    PostgresError::Unavailable(Error::new(
        ErrorKind::RegistryUnavailable,
        "registry database: connecting needs a tokio runtime",
    ))
}

fn timed_out(op: &'static str) -> Error {
    Error::new(ErrorKind::RegistryUnavailable, format!("registry database: {op} timed out"))
}

/// What went wrong, without the server's message (its details can quote row values) or
/// the connection string.
fn cause(e: &tokio_postgres::Error) -> String {
    match e.code() {
        Some(code) => format!("sqlstate {}", code.code()),
        None if e.is_closed() => "connection closed".to_owned(),
        None => "cannot connect or connection failed".to_owned(),
    }
}

/// A database failure as `registry_unavailable`: the operation and the SQLSTATE only.
pub(super) fn db_error(op: &'static str, e: &tokio_postgres::Error) -> Error {
    Error::new(
        ErrorKind::RegistryUnavailable,
        format!("registry database: {op} failed ({})", cause(e)),
    )
}

/// A row the registry cannot read (a schema changed under it) as `registry_unavailable`.
fn bad_row(op: &'static str, what: &'static str) -> Error {
    Error::new(ErrorKind::RegistryUnavailable, format!("registry database: {op}: {what}"))
}

fn column<'r, T: FromSql<'r>>(row: &'r Row, index: usize, op: &'static str) -> Result<T> {
    row.try_get(index).map_err(|_| bad_row(op, "unexpected column type"))
}

fn thumbprint(bytes: &[u8], op: &'static str) -> Result<Thumbprint> {
    <[u8; 32]>::try_from(bytes)
        .map(Thumbprint::from_bytes)
        .map_err(|_| bad_row(op, "thumbprint is not 32 bytes"))
}

fn status_name(status: ClientStatus) -> Result<&'static str, PostgresError> {
    match status {
        ClientStatus::Active => Ok("active"),
        ClientStatus::Suspended => Ok("suspended"),
    }
}

/// Assembles clients from rows of a client look-up (rows of one client adjacent).
fn clients_from_rows(rows: &[Row], op: &'static str) -> Result<Vec<RegisteredClient>> {
    let mut clients = Vec::new();
    let mut current: Option<(String, super::RegisteredClientBuilder)> = None;
    for row in rows {
        let id: String = column(row, 0, op)?;
        if current.as_ref().is_none_or(|(c, _)| *c != id) {
            if let Some((_, b)) = current.take() {
                clients.push(b.build());
            }
            let status = match column::<&str>(row, 2, op)? {
                "active" => ClientStatus::Active,
                "suspended" => ClientStatus::Suspended,
                _ => return Err(bad_row(op, "unknown client status")),
            };
            let metadata: BTreeMap<String, String> = match column::<Option<&str>>(row, 3, op)? {
                Some(json) => serde_json::from_str(json)
                    .map_err(|_| bad_row(op, "metadata is not an object of strings"))?,
                None => BTreeMap::new(),
            };
            let mut b = RegisteredClient::builder(id.clone())
                .name(column::<String>(row, 1, op)?)
                .status(status);
            for (k, v) in metadata {
                b = b.metadata(k, v);
            }
            current = Some((id, b));
        }
        let Some(print) = column::<Option<&[u8]>>(row, 4, op)? else { continue };
        let certificate = RegisteredCertificate {
            thumbprint: thumbprint(print, op)?,
            not_after: column::<Option<i64>>(row, 5, op)?.map(Timestamp::from_unix_secs),
            retire_after: column::<Option<i64>>(row, 6, op)?.map(Timestamp::from_unix_secs),
        };
        current = current.take().map(|(id, b)| (id, b.certificate(certificate)));
    }
    if let Some((_, b)) = current {
        clients.push(b.build());
    }
    Ok(clients)
}
