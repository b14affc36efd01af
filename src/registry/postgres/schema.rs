//! The registry's schema as versioned migrations, and the one place that applies them.
//!
//! The version lives in `certauth_schema_migrations` (one row per applied migration).
//! [`migrate`] takes a transaction-scoped advisory lock, so replicas started together
//! apply each migration once; each migration and its version row commit together.

use super::{PostgresError, db_error, timed};

/// A migration: its version (1, 2, ... without gaps) and its SQL.
struct Migration {
    version: u32,
    sql: &'static str,
}

/// Every migration, in order. A released migration is never edited: a change is a new one.
const MIGRATIONS: &[Migration] = &[
    // The two tables. `IF NOT EXISTS`: a database laid out by hand with the same tables
    // is adopted as version 1.
    Migration {
        version: 1,
        sql: "
CREATE TABLE IF NOT EXISTS clients (
    id       text PRIMARY KEY,
    name     text NOT NULL,
    status   text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- Free key-values (tier, scopes, alias...): a JSON object of strings.
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object')
);
CREATE TABLE IF NOT EXISTS client_certificates (
    -- SHA-256 of the certificate's DER (x5t#S256): the per-request look-up key.
    thumbprint   bytea PRIMARY KEY CHECK (octet_length(thumbprint) = 32),
    client_id    text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- The certificate's notAfter, when known.
    not_after    timestamptz NULL,
    -- End of a rotation overlap: refused after this time although still valid.
    retire_after timestamptz NULL
);
CREATE INDEX IF NOT EXISTS client_certificates_client_id ON client_certificates (client_id);
CREATE INDEX IF NOT EXISTS client_certificates_not_after ON client_certificates (not_after)
    WHERE not_after IS NOT NULL;
",
    },
    // Change notifications: every committed change to either table notifies channel
    // `certauth_registry` with the keys it touches, so replicas drop those cached answers.
    // Payloads: `c` + client id, `t` + hex thumbprint, `*` for "everything" (TRUNCATE, or
    // an id too long for a notification payload).
    Migration {
        version: 2,
        sql: "
CREATE OR REPLACE FUNCTION certauth_registry_notify_client(client_id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF octet_length(client_id) > 4000 THEN
        PERFORM pg_notify('certauth_registry', '*');
    ELSE
        PERFORM pg_notify('certauth_registry', 'c' || client_id);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION certauth_registry_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('certauth_registry', '*');
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'clients' THEN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM certauth_registry_notify_client(OLD.id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM certauth_registry_notify_client(NEW.id);
        END IF;
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            PERFORM pg_notify('certauth_registry', 't' || encode(OLD.thumbprint, 'hex'));
            PERFORM certauth_registry_notify_client(OLD.client_id);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            PERFORM pg_notify('certauth_registry', 't' || encode(NEW.thumbprint, 'hex'));
            PERFORM certauth_registry_notify_client(NEW.client_id);
        END IF;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS certauth_registry_notify ON clients;
CREATE TRIGGER certauth_registry_notify AFTER INSERT OR UPDATE OR DELETE ON clients
    FOR EACH ROW EXECUTE FUNCTION certauth_registry_notify();
DROP TRIGGER IF EXISTS certauth_registry_notify_truncate ON clients;
CREATE TRIGGER certauth_registry_notify_truncate AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION certauth_registry_notify();
DROP TRIGGER IF EXISTS certauth_registry_notify ON client_certificates;
CREATE TRIGGER certauth_registry_notify AFTER INSERT OR UPDATE OR DELETE ON client_certificates
    FOR EACH ROW EXECUTE FUNCTION certauth_registry_notify();
DROP TRIGGER IF EXISTS certauth_registry_notify_truncate ON client_certificates;
CREATE TRIGGER certauth_registry_notify_truncate AFTER TRUNCATE ON client_certificates
    FOR EACH STATEMENT EXECUTE FUNCTION certauth_registry_notify();
",
    },
];

/// The schema version this build of certauth reads and writes.
pub const SCHEMA_VERSION: u32 = 2;

/// The advisory lock key serializing migrations (any constant; "certauth" in ASCII).
const MIGRATION_LOCK: i64 = 0x6365_7274_6175_7468;

const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS certauth_schema_migrations (
    version    integer PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// What [`migrate`](super::PostgresRegistryBuilder::migrate) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Migrated {
    /// The schema version found (0 for a database without the registry's tables).
    pub from: u32,
    /// The schema version now in place: [`SCHEMA_VERSION`].
    pub to: u32,
}

/// The schema version of the database (0 when it has none).
pub(super) async fn version(
    client: &tokio_postgres::Client,
    timeout: std::time::Duration,
) -> Result<u32, PostgresError> {
    let op = "read schema version";
    let exists = timed(
        timeout,
        op,
        client.query_one("SELECT to_regclass('certauth_schema_migrations') IS NOT NULL", &[]),
    )
    .await?;
    let exists: bool = exists.try_get(0).map_err(|e| db_error(op, &e))?;
    if !exists {
        return Ok(0);
    }
    let row = timed(
        timeout,
        op,
        client.query_one("SELECT coalesce(max(version), 0) FROM certauth_schema_migrations", &[]),
    )
    .await?;
    let v: i32 = row.try_get(0).map_err(|e| db_error(op, &e))?;
    Ok(u32::try_from(v).unwrap_or(0))
}

/// Refuses a schema other than [`SCHEMA_VERSION`].
pub(super) fn check(found: u32) -> Result<(), PostgresError> {
    match found.cmp(&SCHEMA_VERSION) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Less => {
            Err(PostgresError::SchemaOutdated { found, required: SCHEMA_VERSION })
        }
        std::cmp::Ordering::Greater => {
            Err(PostgresError::SchemaTooNew { found, supported: SCHEMA_VERSION })
        }
    }
}

/// Applies the missing migrations in one transaction, under an advisory lock. Refuses a
/// schema newer than [`SCHEMA_VERSION`] without changing anything.
pub(super) async fn migrate(
    client: &mut tokio_postgres::Client,
    timeout: std::time::Duration,
) -> Result<Migrated, PostgresError> {
    let op = "migrate";
    let tx = timed(timeout, op, client.transaction()).await?;
    timed(timeout, op, tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])).await?;
    timed(timeout, op, tx.batch_execute(CREATE_VERSION_TABLE)).await?;
    let row = timed(
        timeout,
        op,
        tx.query_one("SELECT coalesce(max(version), 0) FROM certauth_schema_migrations", &[]),
    )
    .await?;
    let found: i32 = row.try_get(0).map_err(|e| db_error(op, &e))?;
    let found = u32::try_from(found).unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(PostgresError::SchemaTooNew { found, supported: SCHEMA_VERSION });
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > found) {
        timed(timeout, op, tx.batch_execute(m.sql)).await?;
        let v = i32::try_from(m.version).unwrap_or(i32::MAX);
        timed(
            timeout,
            op,
            tx.execute("INSERT INTO certauth_schema_migrations (version) VALUES ($1)", &[&v]),
        )
        .await?;
    }
    timed(timeout, op, tx.commit()).await?;
    Ok(Migrated { from: found, to: SCHEMA_VERSION })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_without_gaps_up_to_the_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn an_older_or_newer_schema_is_refused_with_its_version() {
        assert!(check(SCHEMA_VERSION).is_ok());
        let older = check(1).unwrap_err().to_string();
        assert!(older.contains("version 1") && older.contains("migrate"), "{older}");
        let newer = check(SCHEMA_VERSION + 1).unwrap_err().to_string();
        assert!(newer.contains("newer"), "{newer}");
    }
}
