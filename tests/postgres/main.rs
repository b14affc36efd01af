//! `PostgresRegistry` against a real PostgreSQL server: replicas, faults, concurrent
//! writers, propagation and throughput.
//!
//! Run by `tests/postgres/run.sh`, which starts a throwaway server and sets
//! `DATABASE_URL` (a libpq `key=value` connection string), `CERTAUTH_PG_CTL` (the
//! command prefix that controls that server: `... pg_ctl -D DATA -l LOG`) and
//! `CERTAUTH_REQUIRE_POSTGRES=1`. Without `DATABASE_URL` every test returns at once
//! (a plain `cargo test` has no server), unless `CERTAUTH_REQUIRE_POSTGRES` is set.
//!
//! Each test works in a database of its own. The fault tests restart or stop the server,
//! so they take a global lock exclusively and the others take it shared.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use certauth::RING_ALGORITHMS;
use certauth::registry::postgres::{PostgresError, PostgresRegistry, SCHEMA_VERSION};
use certauth::registry::{ClientStatus, MemoryRegistry, RegisteredClient, Registry};
use certauth::testkit::block_on;
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{
    AuthRequest, Authenticator, Credential, ErrorKind, Timestamp, TrustStore, Verifier,
};
use tokio_postgres::NoTls;

/// The fixed verification time: 2026-06-01T00:00:00Z, inside the test kit's validity.
fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

/// Serializes the fault tests (which restart the server) against all others.
static SERVER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

struct Env {
    base: String,
}

fn env() -> Option<Env> {
    match std::env::var("DATABASE_URL") {
        Ok(base) => Some(Env { base }),
        Err(_) if std::env::var_os("CERTAUTH_REQUIRE_POSTGRES").is_some() => {
            panic!("CERTAUTH_REQUIRE_POSTGRES is set but DATABASE_URL is not")
        }
        Err(_) => {
            eprintln!("DATABASE_URL not set: skipped (tests/postgres/run.sh runs this)");
            None
        }
    }
}

impl Env {
    /// A new empty database; returns its connection string.
    async fn database(&self, name: &str) -> String {
        let db = format!("t_{name}_{}", std::process::id());
        let (client, connection) = tokio_postgres::connect(&self.base, NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).await.unwrap();
        client.batch_execute(&format!("CREATE DATABASE {db}")).await.unwrap();
        format!("{} dbname={db}", self.base)
    }

    /// A migrated database.
    async fn migrated(&self, name: &str) -> String {
        let url = self.database(name).await;
        PostgresRegistry::builder(&url).unwrap().migrate().await.unwrap();
        url
    }
}

/// A plain SQL session on `url`.
async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// Runs `pg_ctl ARGS` on the test server (`CERTAUTH_PG_CTL`); `None` when not available.
fn pg_ctl(args: &str) -> Option<()> {
    let prefix = std::env::var("CERTAUTH_PG_CTL").ok()?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{prefix} {args} >/dev/null"))
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl {args} failed");
    Some(())
}

async fn replica(url: &str, bound: Duration) -> Arc<PostgresRegistry> {
    let registry = PostgresRegistry::builder(url)
        .unwrap()
        .staleness_bound(bound)
        .query_timeout(Duration::from_millis(1500))
        .connect()
        .await
        .unwrap();
    Arc::new(registry)
}

async fn synchronised(r: &PostgresRegistry) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !r.is_synchronised() {
        assert!(Instant::now() < deadline, "replica never synchronised");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn authenticator(root: &Ca, registry: Arc<dyn Registry>) -> Authenticator {
    let store = TrustStore::builder()
        .add_pem(root.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    Authenticator::builder(verifier).registry(registry).build().unwrap()
}

/// The error kind of authenticating `leaf` (`None`: accepted).
async fn outcome(auth: &Authenticator, leaf: &Leaf) -> Option<ErrorKind> {
    let presented = leaf.presented();
    let request = AuthRequest::new(Credential::Chain(&presented), at());
    auth.authenticate(&request).await.err().map(|e| e.kind())
}

/// Polls until `auth` gives `want` for `leaf`; returns how long that took. Fails after
/// `limit`.
async fn until(
    auth: &Authenticator,
    leaf: &Leaf,
    want: Option<ErrorKind>,
    limit: Duration,
) -> Duration {
    let start = Instant::now();
    loop {
        let got = outcome(auth, leaf).await;
        if got == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "still {got:?} after {limit:?}, want {want:?}");
        tokio::task::yield_now().await;
    }
}

/// Authenticates `leaf` until the answer comes from `registry`'s cache (an answer fetched
/// while a change notification arrives is not stored, so that can take a few tries).
async fn cached(auth: &Authenticator, registry: &PostgresRegistry, leaf: &Leaf) {
    // First every notification of the writes so far is applied: a heartbeat sent after
    // now has come back.
    let start = Instant::now();
    while registry.synchronised_ago().is_none_or(|ago| ago >= start.elapsed()) {
        assert!(start.elapsed() < Duration::from_secs(10), "never synchronised");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    loop {
        let before = registry.database_lookups();
        assert_eq!(outcome(auth, leaf).await, None);
        if registry.database_lookups() == before {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never cached");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_creates_the_schema_once_and_connect_needs_it() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.database("migrate").await;
    let builder = PostgresRegistry::builder(&url).unwrap();
    match builder.clone().connect().await {
        Err(PostgresError::SchemaOutdated { found: 0, required }) => {
            assert_eq!(required, SCHEMA_VERSION)
        }
        other => panic!("connect before migrate: {other:?}"),
    }
    let first = builder.migrate().await.unwrap();
    assert_eq!((first.from, first.to), (0, SCHEMA_VERSION));
    let second = builder.migrate().await.unwrap();
    assert_eq!((second.from, second.to), (SCHEMA_VERSION, SCHEMA_VERSION));
    builder.connect().await.unwrap();
}

/// The two tables laid out by hand, without certauth's version table: migration 1
/// adopts them.
const OLD_EXAMPLE_LAYOUT: &str = r#"CREATE TABLE IF NOT EXISTS clients (
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
    WHERE not_after IS NOT NULL;"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_laid_out_by_hand_is_adopted_and_migrated_with_its_rows() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.database("old_layout").await;
    let db = sql(&url).await;
    db.batch_execute(OLD_EXAMPLE_LAYOUT).await.unwrap();
    let root = Ca::root("Old Layout Root");
    let leaf = root.leaf("old.example.test").build();
    db.execute(
        "INSERT INTO clients (id, name, status) VALUES ('old', 'Old client', 'suspended')",
        &[],
    )
    .await
    .unwrap();
    db.execute(
        "INSERT INTO client_certificates (thumbprint, client_id) VALUES ($1, 'old')",
        &[&leaf.thumbprint().as_bytes().as_slice()],
    )
    .await
    .unwrap();
    let builder = PostgresRegistry::builder(&url).unwrap();
    let migrated = builder.migrate().await.unwrap();
    assert_eq!((migrated.from, migrated.to), (0, SCHEMA_VERSION));
    let registry = builder.connect().await.unwrap();
    let found = registry.by_thumbprint(&leaf.thumbprint()).await.unwrap().unwrap();
    assert_eq!(found.client.id(), "old");
    assert_eq!(found.client.status(), ClientStatus::Suspended);
    // The triggers of version 2 are in place: a change in SQL reaches the replica.
    synchronised(&registry).await;
    let _ = registry.by_client_id("old").await.unwrap();
    db.execute("UPDATE clients SET status = 'active' WHERE id = 'old'", &[]).await.unwrap();
    let start = Instant::now();
    loop {
        let c = registry.by_client_id("old").await.unwrap().unwrap();
        if c.status() == ClientStatus::Active {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5));
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused_and_left_unchanged() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("newer").await;
    let db = sql(&url).await;
    db.execute("INSERT INTO certauth_schema_migrations (version) VALUES (99)", &[]).await.unwrap();
    let builder = PostgresRegistry::builder(&url).unwrap();
    for e in [builder.migrate().await.unwrap_err(), builder.clone().connect().await.unwrap_err()] {
        match &e {
            PostgresError::SchemaTooNew { found: 99, supported } => {
                assert_eq!(*supported, SCHEMA_VERSION)
            }
            other => panic!("{other:?}"),
        }
        assert!(e.to_string().contains("upgrade certauth"), "{e}");
    }
    let versions: i64 =
        db.query_one("SELECT count(*) FROM certauth_schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(versions, i64::from(SCHEMA_VERSION) + 1, "nothing applied or removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_never_show_the_connection_string_or_server_messages() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    // Unparsable: not repeated.
    let e = PostgresRegistry::builder("host=x password=hunter2 port=notaport").unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    // Unreachable: a closed port, a password in the string.
    let url =
        "host=127.0.0.1 port=1 user=secretuser password=hunter2 dbname=secretdb connect_timeout=2";
    let e = PostgresRegistry::builder(url).unwrap().connect().await.unwrap_err();
    let text = format!("{e} {e:?}");
    for secret in ["hunter2", "secretuser", "secretdb", "127.0.0.1"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    // A server error (the table gone under a running replica): the SQLSTATE only, not
    // the server's message naming the relation.
    let url = env.migrated("leak").await;
    let registry = replica(&url, Duration::from_secs(1)).await;
    sql(&url).await.batch_execute("DROP TABLE client_certificates").await.unwrap();
    let e = registry.by_thumbprint(&certauth::Thumbprint::of(b"x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RegistryUnavailable);
    assert!(e.message().contains("sqlstate 42P01"), "{}", e.message());
    assert!(!e.message().contains("client_certificates"), "{}", e.message());
    assert!(!format!("{registry:?}").contains("dbname"), "{registry:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_registration_rules_of_the_memory_registry_hold() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("rules").await;
    let r = replica(&url, Duration::from_secs(1)).await;
    let root = Ca::root("Rules Root");
    let leaf = root.leaf("a.example.test").build();
    r.add_client(&RegisteredClient::new("a", "A").with_metadata("tier", "gold")).await.unwrap();
    r.add_client(&RegisteredClient::new("b", "B")).await.unwrap();
    r.register_certificate("a", &leaf.certificate(), at(), None).await.unwrap();
    use certauth::registry::RegistrationError as R;
    let refused = |e: PostgresError| match e {
        PostgresError::Refused(r) => r,
        other => panic!("{other:?}"),
    };
    assert!(matches!(
        refused(r.add_client(&RegisteredClient::new("a", "again")).await.unwrap_err()),
        R::DuplicateClient(_)
    ));
    assert!(matches!(
        refused(r.register_certificate("b", &leaf.certificate(), at(), None).await.unwrap_err()),
        R::OwnedByAnother(owner) if owner == "a"
    ));
    let expired = root
        .leaf("old.example.test")
        .valid(
            Timestamp::from_unix_secs(at().as_unix_secs() - 400 * 86_400),
            Timestamp::from_unix_secs(at().as_unix_secs() - 86_400),
        )
        .build();
    assert!(matches!(
        refused(r.register_certificate("b", &expired.certificate(), at(), None).await.unwrap_err()),
        R::Expired(_)
    ));
    let weak = root.leaf("weak.example.test").key(certauth::testkit::pki::KeyType::Rsa1024).build();
    assert!(matches!(
        refused(r.register_certificate("b", &weak.certificate(), at(), None).await.unwrap_err()),
        R::WeakKey(_)
    ));
    assert!(matches!(refused(r.suspend("nobody").await.unwrap_err()), R::UnknownClient(_)));
    assert!(matches!(
        refused(
            r.register_certificate(
                "nobody",
                &root.leaf("x.example.test").build().certificate(),
                at(),
                None
            )
            .await
            .unwrap_err()
        ),
        R::UnknownClient(_)
    ));
    let clients = r.clients().await.unwrap();
    assert_eq!(clients.iter().map(|c| c.id()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(clients[0].metadata("tier"), Some("gold"));
    assert_eq!(clients[0].certificates().len(), 1);
    let expiring = r.expiring_before(leaf.certificate().not_after().plus_secs(1)).await.unwrap();
    assert_eq!(expiring.len(), 1);
    assert_eq!(expiring[0].thumbprint, leaf.thumbprint());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_see_registration_suspension_removal_and_rotation_within_the_bound() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("replicas").await;
    let bound = Duration::from_secs(1);
    // The bound plus room for the test's own scheduling on a loaded machine.
    let limit = bound + Duration::from_millis(500);
    let (a, b) = (replica(&url, bound).await, replica(&url, bound).await);
    synchronised(&a).await;
    synchronised(&b).await;
    let root = Ca::root("Replica Root");
    let (auth_a, auth_b) = (authenticator(&root, a.clone()), authenticator(&root, b.clone()));
    let old = root.leaf("billing.example.test").build();
    let new = root.leaf("billing-2.example.test").build();

    // B answers "unknown" from its cache (a negative answer is cached too).
    assert_eq!(outcome(&auth_b, &old).await, Some(ErrorKind::UnknownClient));
    // Registration through A.
    a.add_client(&RegisteredClient::new("billing", "Billing")).await.unwrap();
    a.register_certificate("billing", &old.certificate(), at(), None).await.unwrap();
    until(&auth_b, &old, None, limit).await;
    // A known client costs B no round trip.
    cached(&auth_b, &b, &old).await;
    let lookups = b.database_lookups();
    for _ in 0..100 {
        assert_eq!(outcome(&auth_b, &old).await, None);
    }
    assert_eq!(b.database_lookups(), lookups, "a known client went to the database");
    // Suspension through A; activation directly in SQL.
    a.suspend("billing").await.unwrap();
    until(&auth_b, &old, Some(ErrorKind::ClientSuspended), limit).await;
    sql(&url)
        .await
        .execute("UPDATE clients SET status = 'active' WHERE id = 'billing'", &[])
        .await
        .unwrap();
    until(&auth_b, &old, None, limit).await;
    // Rotation: the new certificate through B, the old one retired through A.
    b.register_certificate("billing", &new.certificate(), at(), None).await.unwrap();
    until(&auth_a, &new, None, limit).await;
    a.register_certificate("billing", &old.certificate(), at(), Some(at().plus_secs(-1)))
        .await
        .unwrap();
    until(&auth_b, &old, Some(ErrorKind::ClientSuspended), limit).await;
    assert_eq!(outcome(&auth_b, &new).await, None);
    // Removal through B, seen by A.
    b.remove_client("billing").await.unwrap();
    until(&auth_a, &new, Some(ErrorKind::UnknownClient), limit).await;
    until(&auth_a, &old, Some(ErrorKind::UnknownClient), limit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_notification_connection_reconnects_and_misses_nothing() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("cut").await;
    let bound = Duration::from_millis(500);
    let (a, b) = (replica(&url, bound).await, replica(&url, bound).await);
    synchronised(&b).await;
    let root = Ca::root("Cut Root");
    let auth_b = authenticator(&root, b.clone());
    let leaf = root.leaf("cut.example.test").build();
    a.add_client(&RegisteredClient::new("cut", "Cut")).await.unwrap();
    a.register_certificate("cut", &leaf.certificate(), at(), None).await.unwrap();
    until(&auth_b, &leaf, None, Duration::from_secs(5)).await;
    let restarts = b.listener_restarts();
    // Cut every listener (both replicas'), then change the registry at once.
    let db = sql(&url).await;
    db.batch_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name = 'certauth-registry-listener'",
    )
    .await
    .unwrap();
    a.suspend("cut").await.unwrap();
    // Seen within the bound although no listener was there to hear it.
    until(&auth_b, &leaf, Some(ErrorKind::ClientSuspended), bound + Duration::from_millis(500))
        .await;
    let start = Instant::now();
    while b.listener_restarts() == restarts {
        assert!(start.elapsed() < Duration::from_secs(10), "the listener did not notice");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    synchronised(&b).await;
    a.activate("cut").await.unwrap();
    until(&auth_b, &leaf, None, bound + Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_on_the_tables_refuses_unknown_clients_and_recovers() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("lock").await;
    let r = Arc::new(
        PostgresRegistry::builder(&url)
            .unwrap()
            .query_timeout(Duration::from_millis(300))
            .connect()
            .await
            .unwrap(),
    );
    synchronised(&r).await;
    let root = Ca::root("Lock Root");
    let auth = authenticator(&root, r.clone());
    let (known, unknown) =
        (root.leaf("known.example.test").build(), root.leaf("unknown.example.test").build());
    r.add_client(&RegisteredClient::new("known", "Known")).await.unwrap();
    r.register_certificate("known", &known.certificate(), at(), None).await.unwrap();
    until(&auth, &known, None, Duration::from_secs(5)).await;
    cached(&auth, &r, &known).await;
    let mut locker = sql(&url).await;
    let tx = locker.transaction().await.unwrap();
    tx.batch_execute("LOCK TABLE clients, client_certificates IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // Unknown: the look-up waits for the lock, times out, and is refused as unavailable.
    let started = Instant::now();
    assert_eq!(outcome(&auth, &unknown).await, Some(ErrorKind::RegistryUnavailable));
    assert!(started.elapsed() < Duration::from_secs(5), "the query timeout did not apply");
    // Known: served from the cache (the listener still synchronises: NOTIFY needs no
    // table lock).
    assert_eq!(outcome(&auth, &known).await, None);
    tx.rollback().await.unwrap();
    until(&auth, &unknown, Some(ErrorKind::UnknownClient), Duration::from_secs(5)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_and_readers_end_in_the_database_state() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("concurrent").await;
    let bound = Duration::from_millis(500);
    let (writer, reader) = (replica(&url, bound).await, replica(&url, bound).await);
    synchronised(&reader).await;
    let root = Arc::new(Ca::root("Concurrent Root"));
    let auth = Arc::new(authenticator(&root, reader.clone()));
    let leaves: Arc<Vec<Leaf>> =
        Arc::new((0..32).map(|i| root.leaf(&format!("c{i}.example.test")).build()).collect());
    for i in 0..8 {
        writer.add_client(&RegisteredClient::new(format!("w{i}"), "W")).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..8usize {
        let (writer, leaves) = (writer.clone(), leaves.clone());
        tasks.push(tokio::spawn(async move {
            for round in 0..25usize {
                let id = format!("w{w}");
                let leaf = &leaves[(w * 4 + round) % leaves.len()];
                // Several writers race for the same certificates: some are refused.
                let _ = writer.register_certificate(&id, &leaf.certificate(), at(), None).await;
                if round % 3 == 0 {
                    writer.suspend(&id).await.unwrap();
                } else {
                    writer.activate(&id).await.unwrap();
                }
                if round % 7 == 6 {
                    let _ = writer.remove_certificate(&leaf.thumbprint()).await;
                }
            }
        }));
    }
    let mut readers = Vec::new();
    for r in 0..8usize {
        let (auth, leaves, stop, accepted) =
            (auth.clone(), leaves.clone(), stop.clone(), accepted.clone());
        readers.push(tokio::spawn(async move {
            let mut i = r;
            while !stop.load(Ordering::Relaxed) {
                let leaf = &leaves[i % leaves.len()];
                let presented = leaf.presented();
                let request = AuthRequest::new(Credential::Chain(&presented), at());
                match auth.authenticate(&request).await {
                    Ok(_) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => assert!(
                        matches!(e.kind(), ErrorKind::UnknownClient | ErrorKind::ClientSuspended),
                        "{e}"
                    ),
                }
                i += 1;
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.await.unwrap();
    }
    // After one bound, the reader's every answer equals the database's.
    tokio::time::sleep(bound + Duration::from_millis(100)).await;
    let db = sql(&url).await;
    for leaf in leaves.iter() {
        let row = db
            .query_opt(
                "SELECT c.id, c.status FROM client_certificates cc JOIN clients c ON c.id = cc.client_id \
                 WHERE cc.thumbprint = $1",
                &[&leaf.thumbprint().as_bytes().as_slice()],
            )
            .await
            .unwrap();
        let truth = row.map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)));
        let seen = reader.by_thumbprint(&leaf.thumbprint()).await.unwrap().map(|reg| {
            let status =
                if reg.client.status() == ClientStatus::Active { "active" } else { "suspended" };
            (reg.client.id().to_owned(), status.to_owned())
        });
        assert_eq!(seen, truth, "{}", leaf.thumbprint());
    }
    eprintln!(
        "concurrent: {} requests accepted while 8 writers ran",
        accepted.load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn propagation_between_two_replicas_over_1000_changes() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("propagation").await;
    let bound = Duration::from_secs(1);
    let (a, b) = (replica(&url, bound).await, replica(&url, bound).await);
    synchronised(&b).await;
    a.add_client(&RegisteredClient::new("p", "P")).await.unwrap();
    let mut times = Vec::with_capacity(1000);
    let mut suspended = false;
    for _ in 0..1000 {
        // B's answer is cached before each change (so the change must invalidate it).
        while b.by_client_id("p").await.unwrap().unwrap().status()
            != if suspended { ClientStatus::Suspended } else { ClientStatus::Active }
        {
            tokio::task::yield_now().await;
        }
        suspended = !suspended;
        if suspended {
            a.suspend("p").await.unwrap()
        } else {
            a.activate("p").await.unwrap()
        }
        let want = if suspended { ClientStatus::Suspended } else { ClientStatus::Active };
        let start = Instant::now();
        while b.by_client_id("p").await.unwrap().unwrap().status() != want {
            assert!(
                start.elapsed() < bound + Duration::from_millis(500),
                "change not seen within the bound"
            );
            tokio::task::yield_now().await;
        }
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    let worst = times[times.len() - 1];
    eprintln!(
        "propagation over {} changes: median {:.3} ms, p99 {:.3} ms, worst {:.3} ms (bound {} ms)",
        times.len(),
        median.as_secs_f64() * 1e3,
        times[times.len() * 99 / 100].as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
        bound.as_millis()
    );
    assert!(worst <= bound + Duration::from_millis(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_second_with_postgres_and_with_memory() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("load").await;
    let pg = replica(&url, Duration::from_secs(1)).await;
    synchronised(&pg).await;
    let memory = Arc::new(MemoryRegistry::new());
    let root = Ca::root("Load Root");
    let leaves: Vec<Leaf> =
        (0..16).map(|i| root.leaf(&format!("l{i}.example.test")).build()).collect();
    for (i, leaf) in leaves.iter().enumerate() {
        let id = format!("l{i}");
        pg.add_client(&RegisteredClient::new(&id, "L")).await.unwrap();
        pg.register_certificate(&id, &leaf.certificate(), at(), None).await.unwrap();
        memory.add_client(RegisteredClient::new(&id, "L")).unwrap();
        memory.register_certificate(&id, &leaf.certificate(), at(), None).unwrap();
    }
    let mut rates = Vec::new();
    for (name, registry) in
        [("postgres", pg.clone() as Arc<dyn Registry>), ("memory", memory as Arc<dyn Registry>)]
    {
        let auth = Arc::new(authenticator(&root, registry));
        for leaf in &leaves {
            until(&auth, leaf, None, Duration::from_secs(5)).await;
        }
        let per_task = 50_000usize;
        let start = Instant::now();
        let tasks: Vec<_> = (0..2)
            .map(|t| {
                let auth = auth.clone();
                let presented: Vec<_> = leaves.iter().map(Leaf::presented).collect();
                tokio::spawn(async move {
                    for i in 0..per_task {
                        let request = AuthRequest::new(
                            Credential::Chain(&presented[(i + t) % presented.len()]),
                            at(),
                        );
                        auth.authenticate(&request).await.unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let rate = (2 * per_task) as f64 / start.elapsed().as_secs_f64();
        eprintln!("{name}: {rate:.0} authentications per second (2 tasks, warm caches)");
        rates.push(rate);
    }
    assert!(pg.database_lookups() < 100, "the warm load went to the database");
}

/// Starts the server again if a fault test fails while it is stopped.
struct KeepRunning;

impl Drop for KeepRunning {
    fn drop(&mut self) {
        let Ok(prefix) = std::env::var("CERTAUTH_PG_CTL") else { return };
        let _ = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{prefix} status >/dev/null || {prefix} start -w -t 30 -s >/dev/null"))
            .status();
    }
}

// ---------------------------------------------------------------------------------------
// Faults: the server restarted and killed while requests run.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fault_the_server_restarted_and_killed_while_requests_run() {
    let Some(env) = env() else { return };
    if std::env::var_os("CERTAUTH_PG_CTL").is_none() {
        eprintln!("CERTAUTH_PG_CTL not set: fault test skipped");
        assert!(std::env::var_os("CERTAUTH_REQUIRE_POSTGRES").is_none(), "CERTAUTH_PG_CTL missing");
        return;
    }
    let _exclusive = SERVER.write().await;
    let _running = KeepRunning;
    let url = env.migrated("faults").await;
    let bound = Duration::from_millis(500);
    let r = replica(&url, bound).await;
    let writer = replica(&url, bound).await;
    synchronised(&r).await;
    let root = Arc::new(Ca::root("Fault Root"));
    let auth = Arc::new(authenticator(&root, r.clone()));
    let known = Arc::new(root.leaf("known.example.test").build());
    let suspended = Arc::new(root.leaf("suspended.example.test").build());
    let unknown = Arc::new(root.leaf("unknown.example.test").build());
    writer.add_client(&RegisteredClient::new("known", "Known")).await.unwrap();
    writer.register_certificate("known", &known.certificate(), at(), None).await.unwrap();
    writer.add_client(&RegisteredClient::new("off", "Off")).await.unwrap();
    writer.register_certificate("off", &suspended.certificate(), at(), None).await.unwrap();
    writer.suspend("off").await.unwrap();
    until(&auth, &known, None, Duration::from_secs(5)).await;

    // Requests run throughout: nothing but the known client is ever accepted.
    let stop = Arc::new(AtomicBool::new(false));
    let unavailable = Arc::new(AtomicUsize::new(0));
    let mut load = Vec::new();
    for t in 0..3usize {
        let (auth, stop, unavailable) = (auth.clone(), stop.clone(), unavailable.clone());
        let leaves = [known.clone(), suspended.clone(), unknown.clone()];
        load.push(tokio::spawn(async move {
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let leaf = &leaves[i % 3];
                match (i % 3, outcome(&auth, leaf).await) {
                    (_, Some(ErrorKind::RegistryUnavailable)) => {
                        unavailable.fetch_add(1, Ordering::Relaxed);
                    }
                    (0, None)
                    | (1, Some(ErrorKind::ClientSuspended))
                    | (2, Some(ErrorKind::UnknownClient)) => {}
                    (which, other) => panic!("leaf {which}: {other:?}"),
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }

    for (round, mode) in ["fast", "immediate"].into_iter().enumerate() {
        if mode == "fast" {
            tokio::task::spawn_blocking(|| pg_ctl("restart -m fast -w -t 30 -s")).await.unwrap();
        } else {
            tokio::task::spawn_blocking(|| pg_ctl("stop -m immediate -w -t 30 -s")).await.unwrap();
            // Down for longer than the bound: the cache stops answering.
            tokio::time::sleep(bound + Duration::from_millis(300)).await;
            assert!(!r.is_synchronised(), "cached answers served beyond the bound");
            assert_eq!(outcome(&auth, &known).await, Some(ErrorKind::RegistryUnavailable));
            assert_eq!(outcome(&auth, &unknown).await, Some(ErrorKind::RegistryUnavailable));
            tokio::task::spawn_blocking(|| pg_ctl("start -w -t 30 -s")).await.unwrap();
        }
        // Recovers by itself: a change made after the restart reaches the replica, and
        // known clients come from the cache again.
        let id = format!("after-{round}");
        let leaf = root.leaf(&format!("after-{round}.example.test")).build();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let added = writer.add_client(&RegisteredClient::new(&id, "After")).await;
            if matches!(added, Ok(()) | Err(PostgresError::Refused(_))) {
                break;
            }
            assert!(Instant::now() < deadline, "writes did not recover: {added:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        writer.register_certificate(&id, &leaf.certificate(), at(), None).await.unwrap();
        until(&auth, &leaf, None, Duration::from_secs(20)).await;
        synchronised(&r).await;
        writer.suspend(&id).await.unwrap();
        until(&auth, &leaf, Some(ErrorKind::ClientSuspended), bound + Duration::from_millis(500))
            .await;
        assert!(r.listener_restarts() > round as u64, "the listener did not reconnect");
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }
    // No registration lost.
    let clients = writer.clients().await.unwrap();
    let ids: Vec<&str> = clients.iter().map(|c| c.id()).collect();
    assert_eq!(ids, ["after-0", "after-1", "known", "off"]);
    eprintln!(
        "faults: {} requests answered registry_unavailable during the outages",
        unavailable.load(Ordering::Relaxed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_too_long_for_a_notification_payload_still_propagates() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("long_id").await;
    let bound = Duration::from_secs(1);
    let (a, b) = (replica(&url, bound).await, replica(&url, bound).await);
    synchronised(&b).await;
    let root = Ca::root("Long Id Root");
    let auth_b = authenticator(&root, b.clone());
    let leaf = root.leaf("long.example.test").build();
    // PostgreSQL refuses a notification payload of 8,000 bytes or more: the trigger
    // sends "forget everything" instead of failing the write.
    let id = "x".repeat(10_000);
    a.add_client(&RegisteredClient::new(&id, "Long")).await.unwrap();
    a.register_certificate(&id, &leaf.certificate(), at(), None).await.unwrap();
    until(&auth_b, &leaf, None, bound + Duration::from_millis(500)).await;
    cached(&auth_b, &b, &leaf).await;
    a.suspend(&id).await.unwrap();
    until(&auth_b, &leaf, Some(ErrorKind::ClientSuspended), bound + Duration::from_millis(500))
        .await;
}

/// Runs `certauth registry --database-url URL ARGS...`: exit code, stdout, stderr.
fn cli(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_certauth"))
        .args(["registry", "--database-url", url, "--at", "2026-06-01T00:00:00Z"])
        .args(args)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_tool_manages_the_database_with_the_file_verbs() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.database("cli").await;
    let (code, _, stderr) = cli(&url, &["list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("run migrate"), "{stderr}");
    let (code, stdout, _) = cli(&url, &["migrate"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(&format!("from version 0 to {SCHEMA_VERSION}")), "{stdout}");
    assert_eq!(
        cli(&url, &["migrate"]).1.trim(),
        format!("schema at version {SCHEMA_VERSION}: nothing to do")
    );

    let root = Ca::root("Cli Root");
    let leaf = root.leaf("cli.example.test").build();
    let dir = std::env::temp_dir().join(format!("certauth-pg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("leaf.pem");
    std::fs::write(&pem, leaf.pem()).unwrap();
    let pem = pem.to_str().unwrap();

    assert_eq!(
        cli(&url, &["add-client", "billing", "--name", "Billing", "--metadata", "tier=gold"]).0,
        0
    );
    let (code, _, stderr) = cli(&url, &["add-client", "billing"]);
    assert_eq!(code, 1, "a duplicate is refused: {stderr}");
    let (code, stdout, stderr) = cli(&url, &["register", "billing", "--cert", pem]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&leaf.thumbprint().to_x5t_s256()), "{stdout}");
    assert_eq!(cli(&url, &["suspend", "billing"]).0, 0);
    let (code, stdout, _) = cli(&url, &["list", "--json"]);
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(listed["clients"][0]["id"], "billing");
    assert_eq!(listed["clients"][0]["status"], "suspended");
    assert_eq!(listed["clients"][0]["metadata"]["tier"], "gold");
    assert_eq!(
        listed["clients"][0]["certificates"][0]["x5t#S256"],
        leaf.thumbprint().to_x5t_s256()
    );
    // Nothing expires within 30 days of the --at time.
    let (_, stdout, _) = cli(&url, &["list", "--expiring-within", "30", "--json"]);
    assert_eq!(stdout.trim(), r#"{"clients":[]}"#);
    assert_eq!(cli(&url, &["activate", "billing"]).0, 0);
    // A replica sees what the tool did.
    let registry = replica(&url, Duration::from_secs(1)).await;
    let found = registry.by_thumbprint(&leaf.thumbprint()).await.unwrap().unwrap();
    assert_eq!(found.client.status(), ClientStatus::Active);
    assert_eq!(cli(&url, &["remove", "billing"]).0, 0);
    assert_eq!(cli(&url, &["remove", "billing"]).0, 1, "unknown client");
    // Unreachable, with a password in the string: exit 2, the string not repeated.
    let (code, _, stderr) =
        cli("host=127.0.0.1 port=1 user=u password=hunter2 connect_timeout=2", &["list"]);
    assert_eq!(code, 2);
    assert!(!stderr.contains("hunter2") && stderr.contains("registry database"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_polled_outside_the_tokio_runtime_reaches_the_database() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let url = env.migrated("outside").await;
    let registry = replica(&url, Duration::from_secs(1)).await;
    registry.add_client(&RegisteredClient::new("x", "X")).await.unwrap();
    let r = registry.clone();
    // A cache miss creates the pool's and the query's timers: they must belong to the
    // registry's runtime, not to whatever executor polls (which would panic).
    let found = std::thread::spawn(move || block_on(r.by_client_id("x")))
        .join()
        .expect("the look-up panicked outside the runtime");
    assert_eq!(found.unwrap().map(|c| c.id().to_owned()), Some("x".to_owned()));
    let builder = PostgresRegistry::builder(&url).unwrap();
    let e = std::thread::spawn(move || block_on(builder.connect()).unwrap_err())
        .join()
        .expect("connect panicked outside the runtime");
    assert!(e.to_string().contains("tokio runtime"), "{e}");
}

/// A rustls client configuration trusting the certificates of `root_pem`.
fn tls_config(root_pem: &[u8]) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The PEM file of the CA that issued the test server's certificate
/// (`CERTAUTH_PG_TLS_ROOT`, written by run.sh).
fn tls_root() -> Option<String> {
    match std::env::var("CERTAUTH_PG_TLS_ROOT") {
        Ok(path) => Some(path),
        Err(_) if std::env::var_os("CERTAUTH_REQUIRE_POSTGRES").is_some() => {
            panic!("CERTAUTH_REQUIRE_POSTGRES is set but CERTAUTH_PG_TLS_ROOT is not")
        }
        Err(_) => None,
    }
}

/// Creates the role `certauth_tls`, which run.sh's pg_hba lets connect over TLS only;
/// returns an administrator's session.
async fn tls_role(env: &Env) -> tokio_postgres::Client {
    let admin = sql(&env.base).await;
    admin
        .batch_execute(
            "DO $$ BEGIN CREATE ROLE certauth_tls LOGIN SUPERUSER; \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$",
        )
        .await
        .unwrap();
    admin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_tool_reads_the_url_from_the_environment_and_speaks_tls() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let Some(root) = tls_root() else { return };
    let _admin = tls_role(&env).await;
    let url = format!("{} user=certauth_tls password=hunter2", env.database("cli_tls").await);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_certauth"))
            .args(["registry"])
            .args(args)
            .env("CERTAUTH_DATABASE_URL", &url)
            .output()
            .unwrap();
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
    };
    // The role may not connect in the clear: without --database-ca the tool fails.
    let (code, _, stderr) = run(&["migrate"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    // With it, over TLS, the URL from the environment.
    let (code, stdout, stderr) = run(&["--database-ca", &root, "migrate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("to {SCHEMA_VERSION}")), "{stdout}");
    assert_eq!(run(&["--database-ca", &root, "add-client", "billing"]).0, 0);
    let (code, stdout, _) = run(&["--database-ca", &root, "list", "--json"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("\"billing\""), "{stdout}");
    // A CA file that holds no certificate is refused before connecting.
    let empty = std::env::temp_dir().join(format!("certauth-empty-ca-{}.pem", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    let (code, _, stderr) = run(&["--database-ca", empty.to_str().unwrap(), "list"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("no CA certificate"), "{stderr}");
    let _ = std::fs::remove_file(&empty);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_to_the_database_is_verified_and_carries_lookups_and_notifications() {
    let Some(env) = env() else { return };
    let _shared = SERVER.read().await;
    let Some(root_path) = tls_root() else { return };
    let root = std::fs::read(root_path).unwrap();
    let admin = tls_role(&env).await;
    let url = env.migrated("tls").await;
    let tls_url = format!("{url} user=certauth_tls");

    // Without TLS the role is refused: what follows really runs over TLS.
    let plain = PostgresRegistry::builder(&tls_url).unwrap().connect().await;
    assert!(plain.is_err(), "a plain connection was accepted for the TLS-only role");

    // A root that did not issue the server's certificate: refused, nothing leaked.
    let stranger = Ca::root("not the database's CA");
    let e = PostgresRegistry::builder(&tls_url)
        .unwrap()
        .tls(tls_config(stranger.pem().as_bytes()))
        .connect()
        .await
        .unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(
        matches!(e, PostgresError::Unavailable(ref u) if u.kind() == ErrorKind::RegistryUnavailable),
        "{text}"
    );
    assert!(!text.contains("certauth_tls") && !text.contains("127.0.0.1"), "{text}");

    // The right root: registrations, look-ups and change notifications all over TLS.
    let registry = Arc::new(
        PostgresRegistry::builder(&tls_url)
            .unwrap()
            .tls(tls_config(&root))
            .staleness_bound(Duration::from_secs(1))
            .connect()
            .await
            .unwrap(),
    );
    let ca = Ca::root("TLS Clients Root");
    let leaf = ca.leaf("billing.example.test").build();
    registry.add_client(&RegisteredClient::new("billing", "Billing")).await.unwrap();
    registry.register_certificate("billing", &leaf.certificate(), at(), None).await.unwrap();
    let auth = authenticator(&ca, registry.clone());
    synchronised(&registry).await;
    assert_eq!(outcome(&auth, &leaf).await, None);
    cached(&auth, &registry, &leaf).await;
    // A suspension made over a plain connection by another role reaches the TLS replica
    // through its notification listener.
    let writer = replica(&url, Duration::from_secs(1)).await;
    writer.suspend("billing").await.unwrap();
    until(&auth, &leaf, Some(ErrorKind::ClientSuspended), Duration::from_secs(5)).await;

    // Every connection of the role is a TLS one (pool and listener at least).
    let row = admin
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
             WHERE a.usename = 'certauth_tls'",
            &[],
        )
        .await
        .unwrap();
    let (tls, clear): (i64, i64) = (row.get(0), row.get(1));
    assert!(tls >= 2 && clear == 0, "{tls} TLS and {clear} plain connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_configured_a_server_refusing_tls_never_gets_the_start_up_in_the_clear() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    // No database needed: a fake server answers the SSLRequest with 'N' (no TLS), as a
    // server without TLS or anyone stripping it in the path would.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut after = Vec::new();
        for _ in 0..2 {
            let Ok((mut stream, _)) = listener.accept().await else { break };
            let mut request = [0u8; 8];
            stream.read_exact(&mut request).await.unwrap();
            assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], "not an SSLRequest");
            stream.write_all(b"N").await.unwrap();
            let mut rest = [0u8; 512];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_secs(2), stream.read(&mut rest)).await
            {
                after.extend_from_slice(&rest[..n]);
            }
        }
        after
    });
    // `sslmode=prefer` would fall back to plain text; `tls()` overrides it.
    let url = format!(
        "host=127.0.0.1 port={port} user=secretuser password=hunter2 sslmode=prefer connect_timeout=5"
    );
    let stranger = Ca::root("Any Root");
    let builder =
        PostgresRegistry::builder(&url).unwrap().tls(tls_config(stranger.pem().as_bytes()));
    let e = builder.migrate().await.unwrap_err();
    assert!(!format!("{e}").contains("hunter2"), "{e}");
    let e = builder.connect().await.unwrap_err();
    assert!(!format!("{e}").contains("hunter2"), "{e}");
    let after = server.await.unwrap();
    assert!(after.is_empty(), "{} bytes sent in the clear after the refusal", after.len());
}
