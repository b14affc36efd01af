//! A warm `PostgresRegistry` against `MemoryRegistry`, in one group: a repeat request
//! through the Authenticator (forwarded base64 DER, verification cached), and the bare
//! look-up by thumbprint. A known client is answered from the replica's cache, so the
//! two should cost about the same.
//!
//! Needs a PostgreSQL server: `DATABASE_URL='host=127.0.0.1 port=5432 user=postgres
//! dbname=postgres' cargo bench --features postgres,testkit,ring --bench registry_postgres`
//! (the schema is migrated in that database; the benchmark's client is removed again).
//! Without `DATABASE_URL` it prints a note and measures nothing.

use std::hint::black_box;
use std::sync::Arc;

use base64::Engine as _;
use certauth::RING_ALGORITHMS;
use certauth::registry::postgres::PostgresRegistry;
use certauth::registry::{MemoryRegistry, RegisteredClient, Registry};
use certauth::testkit::block_on;
use certauth::testkit::pki::Ca;
use certauth::{AuthRequest, Authenticator, Credential, Format, Timestamp, TrustStore, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};

fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

fn registries(c: &mut Criterion) {
    let Ok(url) = std::env::var("DATABASE_URL") else {
        eprintln!("registry_postgres: DATABASE_URL not set, nothing measured");
        return;
    };
    // The listener runs on this runtime's workers; the benchmark polls on its own thread.
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let root = Ca::root("Bench Root");
    let leaf = root.leaf("bench-client").build();
    let id = format!("bench-{}", std::process::id());
    let postgres = runtime.block_on(async {
        let builder = PostgresRegistry::builder(&url).unwrap();
        builder.migrate().await.unwrap();
        let registry = Arc::new(builder.connect().await.unwrap());
        registry.add_client(&RegisteredClient::new(&id, "Bench")).await.unwrap();
        registry.register_certificate(&id, &leaf.certificate(), at(), None).await.unwrap();
        while !registry.is_synchronised() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        registry
    });
    let memory = Arc::new(MemoryRegistry::new());
    memory.add_client(RegisteredClient::new(&id, "Bench")).unwrap();
    memory.register_certificate(&id, &leaf.certificate(), at(), None).unwrap();

    let auth = |registry: Arc<dyn Registry>| {
        let store =
            TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().check_at(at()).build();
        let verifier = Verifier::builder(store.unwrap(), RING_ALGORITHMS).build().unwrap();
        Authenticator::builder(verifier).registry(registry).build().unwrap()
    };
    let with_memory = auth(memory.clone());
    let with_postgres = auth(postgres.clone());
    let header = base64::engine::general_purpose::STANDARD.encode(leaf.der());
    let request = AuthRequest::new(
        Credential::Encoded { bytes: header.as_bytes(), format: Format::Base64Der },
        at(),
    );
    // Warm both: the verification cache, and the replica's registry cache.
    for _ in 0..1000 {
        assert!(block_on(with_memory.authenticate(&request)).is_ok());
        assert!(block_on(with_postgres.authenticate(&request)).is_ok());
    }
    let lookups = postgres.database_lookups();

    let mut g = c.benchmark_group("authenticate_warm_registry");
    g.bench_function("memory", |b| {
        b.iter(|| block_on(with_memory.authenticate(black_box(&request))).is_ok())
    });
    g.bench_function("postgres", |b| {
        b.iter(|| block_on(with_postgres.authenticate(black_box(&request))).is_ok())
    });
    g.finish();
    let thumbprint = leaf.thumbprint();
    let mut g = c.benchmark_group("registry_lookup_by_thumbprint");
    g.bench_function("memory", |b| {
        b.iter(|| block_on(memory.by_thumbprint(black_box(&thumbprint))))
    });
    g.bench_function("postgres", |b| {
        b.iter(|| block_on(postgres.by_thumbprint(black_box(&thumbprint))))
    });
    g.finish();
    assert_eq!(
        postgres.database_lookups(),
        lookups,
        "a warm look-up went to the database (was the replica synchronised throughout?)"
    );
    runtime.block_on(async { postgres.remove_client(&id).await.unwrap() });
}

criterion_group!(benches, registries);
criterion_main!(benches);
