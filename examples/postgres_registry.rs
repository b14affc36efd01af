//! A client registry shared by many service replicas: [`Registry`] on PostgreSQL.
//!
//! `PgRegistry` keeps clients and their certificates in two tables
//! (`examples/postgres_registry.sql`, applied at start with `CREATE ... IF NOT EXISTS`).
//! Every replica of a service opens its own `PgRegistry` on the same database, so a
//! registration or a suspension made through any replica is seen by all of them on
//! their next request: the authenticator caches verifications, never registry answers.
//!
//! ```sh
//! # Any PostgreSQL 12 or later the user may create tables in:
//! DATABASE_URL='host=127.0.0.1 port=5432 user=postgres dbname=postgres' \
//!     cargo run --features testkit,ring --example postgres_registry
//! # Or let the test script start a throwaway server and run it:
//! tests/postgres/run.sh
//! ```
//!
//! `DATABASE_URL` is a libpq connection string, as a URL
//! (`postgresql://user:password@host:port/dbname`) or as `key=value` pairs. The
//! connection is plain TCP (`NoTls`); for TLS to the database, connect with a
//! tokio-postgres TLS connector yourself and hand the client to `PgRegistry::new`.
//!
//! `main` is a runnable check of the two-replica story: it registers a client generated
//! with the test kit through replica A, authenticates it through replica B, suspends it
//! through A, sees B refuse the next request (with B's verification cache warm), checks
//! the registration rules and the outage error, prints each outcome, and exits non-zero
//! when any expectation fails.
//!
//! Look-ups are one prepared query each (one round trip): by thumbprint (joining both
//! tables, returning the client with all its certificates), by client id, and
//! certificates expiring before a time. Database failures become a certauth [`Error`]
//! of kind `registry_unavailable` whose message names the operation and the SQLSTATE,
//! never the connection string, a certificate or a server message.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use certauth::registry::{
    ClientStatus, ExpiringCertificate, RegisteredCertificate, RegisteredClient, Registration,
    RegistrationError, Registry,
};
use certauth::{
    AuthRequest, Authenticator, BoxFuture, Certificate, Credential, Error, ErrorKind, Result,
    Thumbprint, Timestamp, TrustStore, Verifier,
};
use certauth::{KeyPolicy, RING_ALGORITHMS};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::FromSql;
use tokio_postgres::{NoTls, Row, Statement};

/// The schema: two tables and their indexes, idempotent.
pub const SCHEMA: &str = include_str!("postgres_registry.sql");

/// The columns both client look-ups return: the client, then one of its certificates
/// (all `NULL` for a client without certificates). One row per certificate.
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

/// A [`Registry`] on PostgreSQL, over one tokio-postgres connection.
///
/// Reads go through the trait (what the `Authenticator` calls on every request); writes
/// are inherent methods with the same registration rules as certauth's in-memory
/// registry. A connection is pipelined: concurrent look-ups share it without waiting for
/// each other's round trips. A service with heavy write traffic or that must survive a
/// database restart would put a pool (deadpool-postgres, bb8) behind the same queries.
pub struct PgRegistry {
    client: tokio_postgres::Client,
    by_thumbprint: Statement,
    by_client_id: Statement,
    expiring_before: Statement,
    key_policy: KeyPolicy,
}

impl fmt::Debug for PgRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgRegistry")
            .field("closed", &self.client.is_closed())
            .finish_non_exhaustive()
    }
}

impl PgRegistry {
    /// Connects to `config` (a libpq connection string) without TLS, runs the
    /// connection on the current tokio runtime, applies [`SCHEMA`] and prepares the
    /// look-ups. Errors have kind `registry_unavailable` and never echo `config`.
    pub async fn connect(config: &str) -> Result<Self> {
        let (client, connection) =
            tokio_postgres::connect(config, NoTls).await.map_err(|e| db_error("connect", &e))?;
        tokio::spawn(async move {
            // The client sees the failure on its next query; nothing else to do here.
            let _ = connection.await;
        });
        Self::new(client).await
    }

    /// Wraps a connected client (whose connection the caller drives, with or without
    /// TLS): applies [`SCHEMA`] and prepares the look-ups. Key policy for registrations:
    /// [`KeyPolicy::default`].
    pub async fn new(client: tokio_postgres::Client) -> Result<Self> {
        client.batch_execute(SCHEMA).await.map_err(|e| db_error("apply schema", &e))?;
        let prepare = |sql: &'static str| {
            let client = &client;
            async move { client.prepare(sql).await.map_err(|e| db_error("prepare", &e)) }
        };
        let by_thumbprint = prepare(BY_THUMBPRINT).await?;
        let by_client_id = prepare(BY_CLIENT_ID).await?;
        let expiring_before = prepare(EXPIRING_BEFORE).await?;
        Ok(Self {
            client,
            by_thumbprint,
            by_client_id,
            expiring_before,
            key_policy: KeyPolicy::default(),
        })
    }

    /// Uses `key_policy` for [`register_certificate`](Self::register_certificate)
    /// instead of [`KeyPolicy::default`].
    #[must_use]
    pub fn with_key_policy(mut self, key_policy: KeyPolicy) -> Self {
        self.key_policy = key_policy;
        self
    }

    /// Adds a client with its certificates (registered by thumbprint, as given), in one
    /// statement. Refuses a duplicate id or a thumbprint owned by another client.
    pub async fn add_client(&self, client: &RegisteredClient) -> Result<(), WriteError> {
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
            .client
            .execute(
                INSERT_CLIENT,
                &[&id, &name, &status, &metadata, &thumbprints, &not_after, &retire_after],
            )
            .await;
        let Err(e) = inserted else { return Ok(()) };
        let constraint = e
            .as_db_error()
            .filter(|db| *db.code() == SqlState::UNIQUE_VIOLATION)
            .and_then(|db| db.constraint());
        match constraint {
            Some("clients_pkey") => Err(RegistrationError::DuplicateClient(id.to_owned()).into()),
            Some("client_certificates_pkey") => {
                let owner = self
                    .client
                    .query_opt(
                        "SELECT client_id FROM client_certificates \
                         WHERE thumbprint = ANY($1::bytea[]) LIMIT 1",
                        &[&thumbprints],
                    )
                    .await
                    .map_err(|e| db_error("add client", &e))?;
                match owner {
                    Some(row) => {
                        Err(RegistrationError::OwnedByAnother(column(&row, 0, "add client")?)
                            .into())
                    }
                    // A client lists each certificate once, so the owner was another
                    // writer's, removed again before this look-up: worth a retry.
                    None => Err(db_error("add client", &e).into()),
                }
            }
            _ => Err(db_error("add client", &e).into()),
        }
    }

    /// Registers a certificate to a client at time `now`. Refused: an unknown client, a
    /// certificate expired at `now`, a key the key policy refuses, a certificate owned
    /// by another client. Registering a certificate the client already has updates its
    /// dates.
    pub async fn register_certificate(
        &self,
        client_id: &str,
        certificate: &Certificate,
        now: Timestamp,
        retire_after: Option<Timestamp>,
    ) -> Result<(), WriteError> {
        if certificate.not_after() < now {
            return Err(RegistrationError::Expired(certificate.not_after().to_rfc3339()).into());
        }
        self.key_policy
            .check(certificate.key())
            .map_err(|e| RegistrationError::WeakKey(e.message().to_owned()))?;
        let thumbprint = certificate.thumbprint();
        let thumbprint = thumbprint.as_bytes().as_slice();
        let op = "register certificate";
        let registered = self
            .client
            .query_opt(
                UPSERT_CERTIFICATE,
                &[
                    &thumbprint,
                    &client_id,
                    &certificate.not_after().as_unix_secs(),
                    &retire_after.map(Timestamp::as_unix_secs),
                ],
            )
            .await
            .map_err(|e| db_error(op, &e))?;
        if registered.is_some() {
            return Ok(());
        }
        let owner = self
            .client
            .query_opt(
                "SELECT client_id FROM client_certificates WHERE thumbprint = $1",
                &[&thumbprint],
            )
            .await
            .map_err(|e| db_error(op, &e))?;
        Err(match owner {
            Some(row) => RegistrationError::OwnedByAnother(column(&row, 0, op)?),
            None => RegistrationError::UnknownClient(client_id.to_owned()),
        }
        .into())
    }

    /// Suspends a client: every replica refuses its requests with `client_suspended`
    /// from its next request on, cached verifications included.
    pub async fn suspend(&self, client_id: &str) -> Result<(), WriteError> {
        self.set_status(client_id, ClientStatus::Suspended).await
    }

    /// Re-activates a suspended client.
    pub async fn activate(&self, client_id: &str) -> Result<(), WriteError> {
        self.set_status(client_id, ClientStatus::Active).await
    }

    async fn set_status(&self, client_id: &str, status: ClientStatus) -> Result<(), WriteError> {
        let updated = self
            .client
            .execute(
                "UPDATE clients SET status = $2 WHERE id = $1",
                &[&client_id, &status_name(status)?],
            )
            .await
            .map_err(|e| db_error("set client status", &e))?;
        if updated == 0 {
            return Err(RegistrationError::UnknownClient(client_id.to_owned()).into());
        }
        Ok(())
    }

    /// Removes a client and (by the foreign key's cascade) its certificates.
    pub async fn remove_client(&self, client_id: &str) -> Result<(), WriteError> {
        let deleted = self
            .client
            .execute("DELETE FROM clients WHERE id = $1", &[&client_id])
            .await
            .map_err(|e| db_error("remove client", &e))?;
        if deleted == 0 {
            return Err(RegistrationError::UnknownClient(client_id.to_owned()).into());
        }
        Ok(())
    }
}

impl Registry for PgRegistry {
    fn by_thumbprint<'a>(
        &'a self,
        thumbprint: &'a Thumbprint,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        Box::pin(async move {
            let op = "look-up by thumbprint";
            let rows = self
                .client
                .query(&self.by_thumbprint, &[&thumbprint.as_bytes().as_slice()])
                .await
                .map_err(|e| db_error(op, &e))?;
            let Some(client) = client_from_rows(&rows, op)? else { return Ok(None) };
            // Absent only if the certificate moved between the rows' snapshot and now,
            // which one statement cannot see; treat as not registered.
            let Some(certificate) = client.certificate(thumbprint) else {
                return Ok(None);
            };
            Ok(Some(Registration { client, certificate: Some(certificate) }))
        })
    }

    fn by_client_id<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RegisteredClient>>> {
        Box::pin(async move {
            let op = "look-up by client id";
            let rows = self
                .client
                .query(&self.by_client_id, &[&client_id])
                .await
                .map_err(|e| db_error(op, &e))?;
            client_from_rows(&rows, op)
        })
    }

    fn expiring_before(&self, until: Timestamp) -> BoxFuture<'_, Result<Vec<ExpiringCertificate>>> {
        Box::pin(async move {
            let op = "expiring certificates";
            let rows = self
                .client
                .query(&self.expiring_before, &[&until.as_unix_secs()])
                .await
                .map_err(|e| db_error(op, &e))?;
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

/// A registry write that did not happen.
#[derive(Debug)]
pub enum WriteError {
    /// The registration rules refused it (unknown or duplicate client, expired
    /// certificate, weak key, thumbprint owned by another client).
    Refused(RegistrationError),
    /// The database failed (kind `registry_unavailable`).
    Database(Error),
    /// A client status this schema has no value for.
    UnsupportedStatus(ClientStatus),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => write!(f, "registration refused: {e}"),
            Self::Database(e) => e.fmt(f),
            Self::UnsupportedStatus(status) => write!(f, "client status {status:?} not supported"),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<RegistrationError> for WriteError {
    fn from(e: RegistrationError) -> Self {
        Self::Refused(e)
    }
}

impl From<Error> for WriteError {
    fn from(e: Error) -> Self {
        Self::Database(e)
    }
}

/// A database failure as `registry_unavailable`: the operation and the SQLSTATE only.
/// Server messages are left out: their details can quote row values.
fn db_error(operation: &'static str, e: &tokio_postgres::Error) -> Error {
    let cause = match e.code() {
        Some(code) => format!("sqlstate {}", code.code()),
        None if e.is_closed() => "connection closed".to_owned(),
        None => "connection or protocol error".to_owned(),
    };
    Error::new(
        ErrorKind::RegistryUnavailable,
        format!("registry database: {operation} failed ({cause})"),
    )
}

/// A row the registry cannot read (a schema changed under it) as `registry_unavailable`.
fn bad_row(operation: &'static str, what: &'static str) -> Error {
    Error::new(ErrorKind::RegistryUnavailable, format!("registry database: {operation}: {what}"))
}

fn column<'r, T: FromSql<'r>>(row: &'r Row, index: usize, operation: &'static str) -> Result<T> {
    row.try_get(index).map_err(|_| bad_row(operation, "unexpected column type"))
}

fn thumbprint(bytes: &[u8], operation: &'static str) -> Result<Thumbprint> {
    <[u8; 32]>::try_from(bytes)
        .map(Thumbprint::from_bytes)
        .map_err(|_| bad_row(operation, "thumbprint is not 32 bytes"))
}

fn status_name(status: ClientStatus) -> Result<&'static str, WriteError> {
    match status {
        ClientStatus::Active => Ok("active"),
        ClientStatus::Suspended => Ok("suspended"),
        other => Err(WriteError::UnsupportedStatus(other)),
    }
}

/// Assembles a client from the rows of [`BY_THUMBPRINT`] or [`BY_CLIENT_ID`].
fn client_from_rows(rows: &[Row], op: &'static str) -> Result<Option<RegisteredClient>> {
    let Some(first) = rows.first() else { return Ok(None) };
    let status = match column::<&str>(first, 2, op)? {
        "active" => ClientStatus::Active,
        "suspended" => ClientStatus::Suspended,
        _ => return Err(bad_row(op, "unknown client status")),
    };
    let metadata: BTreeMap<String, String> = match column::<Option<&str>>(first, 3, op)? {
        Some(json) => serde_json::from_str(json)
            .map_err(|_| bad_row(op, "metadata is not an object of strings"))?,
        None => BTreeMap::new(),
    };
    let mut client = RegisteredClient::builder(column::<String>(first, 0, op)?)
        .name(column::<String>(first, 1, op)?)
        .status(status);
    for (k, v) in metadata {
        client = client.metadata(k, v);
    }
    for row in rows {
        let Some(print) = column::<Option<&[u8]>>(row, 4, op)? else { continue };
        client = client.certificate(RegisteredCertificate {
            thumbprint: thumbprint(print, op)?,
            not_after: column::<Option<i64>>(row, 5, op)?.map(Timestamp::from_unix_secs),
            retire_after: column::<Option<i64>>(row, 6, op)?.map(Timestamp::from_unix_secs),
        });
    }
    Ok(Some(client.build()))
}

// ---------------------------------------------------------------------------------------
// The two-replica demonstration.

type BoxError = Box<dyn std::error::Error>;

/// Fails the run with `what` unless `ok`.
fn expect(ok: bool, what: &str) -> Result<(), BoxError> {
    if ok {
        println!("ok   {what}");
        Ok(())
    } else {
        Err(format!("FAILED: {what}").into())
    }
}

/// The error kind of an authentication outcome (`None` when accepted).
fn kind<T>(outcome: &Result<T>) -> Option<ErrorKind> {
    outcome.as_ref().err().map(Error::kind)
}

/// One service replica: its own registry connection and its own authenticator (and so
/// its own verification cache).
async fn replica(
    url: &str,
    root_pem: &str,
    now: Timestamp,
) -> Result<(Arc<PgRegistry>, Authenticator), BoxError> {
    let registry = Arc::new(PgRegistry::connect(url).await?);
    let store = TrustStore::builder().add_pem(root_pem.as_bytes())?.check_at(now).build()?;
    let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
    let auth =
        Authenticator::builder(verifier).registry(registry.clone() as Arc<dyn Registry>).build()?;
    Ok((registry, auth))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let url = std::env::var("DATABASE_URL")
        .map_err(|_| "set DATABASE_URL to a PostgreSQL connection string (see the doc comment)")?;
    let now = Timestamp::now();
    // Unique per run, so runs against a long-lived database do not collide.
    let run = format!("{}-{}", now.as_unix_secs(), std::process::id());
    let billing = format!("billing-{run}");
    let other = format!("other-{run}");

    let root = certauth::testkit::pki::Ca::root("Replica Demo Root");
    let leaf = root.leaf("billing.example.test").build();
    let presented = leaf.presented();
    let request = AuthRequest::new(Credential::Chain(&presented), now);

    let (registry_a, auth_a) = replica(&url, &root.pem(), now).await?;
    let (registry_b, auth_b) = replica(&url, &root.pem(), now).await?;
    println!("two replicas connected; schema applied");

    let outcome = auth_b.authenticate(&request).await;
    expect(
        kind(&outcome) == Some(ErrorKind::UnknownClient),
        "replica B refuses the certificate before it is registered (unknown_client)",
    )?;

    registry_a
        .add_client(
            &RegisteredClient::new(&billing, "Billing service").with_metadata("tier", "gold"),
        )
        .await?;
    registry_a.register_certificate(&billing, &leaf.certificate(), now, None).await?;
    println!("replica A registered client {billing} with certificate {}", leaf.thumbprint());

    for (name, auth) in [("A", &auth_a), ("B", &auth_b)] {
        let accepted = auth.authenticate(&request).await;
        let client = accepted.as_ref().ok().and_then(|a| a.client());
        expect(
            client.is_some_and(|c| c.id() == billing && c.metadata("tier") == Some("gold")),
            &format!("replica {name} accepts it as {billing} (tier gold)"),
        )?;
    }

    registry_a.suspend(&billing).await?;
    println!("replica A suspended {billing}");
    let outcome = auth_b.authenticate(&request).await;
    expect(
        kind(&outcome) == Some(ErrorKind::ClientSuspended) && auth_b.cache_len() > 0,
        "replica B refuses the next request (client_suspended), its cache warm",
    )?;
    let seen = registry_b.by_client_id(&billing).await?;
    expect(
        seen.is_some_and(|c| c.status() == ClientStatus::Suspended && c.certificates().len() == 1),
        "replica B reads the client by id: suspended, one certificate",
    )?;
    registry_b.activate(&billing).await?;
    expect(auth_a.authenticate(&request).await.is_ok(), "re-activated through B, accepted by A")?;

    let expiring = registry_b.expiring_before(leaf.certificate().not_after().plus_secs(1)).await?;
    expect(
        expiring.iter().any(|e| e.client_id == billing && e.thumbprint == leaf.thumbprint()),
        "replica B reports the certificate in expiring_before",
    )?;

    // The registration rules, as the in-memory registry applies them.
    registry_b.add_client(&RegisteredClient::new(&other, "Other service")).await?;
    let refused = registry_b.register_certificate(&other, &leaf.certificate(), now, None).await;
    expect(
        matches!(&refused, Err(WriteError::Refused(RegistrationError::OwnedByAnother(owner))) if *owner == billing),
        "a certificate owned by another client is refused",
    )?;
    let old = root
        .leaf("old.example.test")
        .valid(
            Timestamp::from_unix_secs(now.as_unix_secs() - 86_400 * 400),
            Timestamp::from_unix_secs(now.as_unix_secs() - 86_400),
        )
        .build();
    let refused = registry_b.register_certificate(&other, &old.certificate(), now, None).await;
    expect(
        matches!(refused, Err(WriteError::Refused(RegistrationError::Expired(_)))),
        "an expired certificate is refused",
    )?;
    let weak = root.leaf("weak.example.test").key(certauth::testkit::pki::KeyType::Rsa1024).build();
    let refused = registry_b.register_certificate(&other, &weak.certificate(), now, None).await;
    expect(
        matches!(refused, Err(WriteError::Refused(RegistrationError::WeakKey(_)))),
        "an RSA-1024 key is refused",
    )?;
    let refused = registry_b.add_client(&RegisteredClient::new(&billing, "Again")).await;
    expect(
        matches!(refused, Err(WriteError::Refused(RegistrationError::DuplicateClient(_)))),
        "a duplicate client id is refused",
    )?;
    let stray = root.leaf("stray.example.test").build();
    let refused =
        registry_b.register_certificate("no-such-client", &stray.certificate(), now, None).await;
    expect(
        matches!(refused, Err(WriteError::Refused(RegistrationError::UnknownClient(_)))),
        "registering to an unknown client is refused",
    )?;

    // An outage: a replica whose connection is gone answers registry_unavailable.
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
    let task = tokio::spawn(connection);
    let registry_c = Arc::new(PgRegistry::new(client).await?);
    task.abort();
    let _ = task.await;
    let store = TrustStore::builder().add_pem(root.pem().as_bytes())?.check_at(now).build()?;
    let auth_c = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build()?)
        .registry(registry_c as Arc<dyn Registry>)
        .build()?;
    let outcome = auth_c.authenticate(&request).await;
    let message = outcome.as_ref().err().map(|e| e.message().to_owned()).unwrap_or_default();
    expect(
        kind(&outcome) == Some(ErrorKind::RegistryUnavailable) && !message.contains(&url),
        &format!("a replica without its database refuses with registry_unavailable ({message})"),
    )?;

    registry_a.remove_client(&billing).await?;
    registry_a.remove_client(&other).await?;
    expect(
        registry_b.by_thumbprint(&leaf.thumbprint()).await?.is_none(),
        "removed through A, gone for B",
    )?;
    println!("postgres_registry: all checks passed");
    Ok(())
}
