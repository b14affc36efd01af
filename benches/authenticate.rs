//! The per-request path: a repeat request through the Authenticator (cache hit plus
//! registry look-up) against the uncached path, and registry look-ups at 1,000 and
//! 1,000,000 registered certificates with the memory they take.
//!
//! Run: `cargo bench --features ring,testkit,rustls --bench authenticate`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use certauth::CacheConfig;
use certauth::RING_ALGORITHMS;
use certauth::registry::{MemoryRegistry, RegisteredClient, Registry};
use certauth::testkit::block_on;
use certauth::testkit::pki::Ca;
use certauth::{
    AuthRequest, Authenticator, Credential, Format, Thumbprint, Timestamp, TrustStore, Verifier,
};
use criterion::{Criterion, criterion_group, criterion_main};

/// Counts live heap bytes, to report the registry's memory per entry exactly (resident
/// memory would also count freed temporaries the allocator keeps).
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code)] // a GlobalAlloc is unsafe to implement; this one only counts
// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `alloc`'s contract, passed through as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as for `dealloc` and `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Live heap bytes (requested sizes; the allocator's own per-block overhead, typically
/// 8-16 bytes, comes on top).
fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

fn authenticate(c: &mut Criterion) {
    let root = Ca::root("Bench Root");
    let inter = root.intermediate("Bench Issuing CA");
    let leaf = inter.leaf("bench-client").build();
    let store = |cas: &[&Ca]| {
        let pem: String = cas.iter().map(|c| c.pem()).collect();
        TrustStore::builder().add_pem(pem.as_bytes()).unwrap().check_at(at()).build().unwrap()
    };
    let registry = Arc::new(MemoryRegistry::new());
    registry.add_client(RegisteredClient::new("bench", "Bench")).unwrap();
    registry.register_certificate("bench", &leaf.certificate(), at(), None).unwrap();
    let build = |cache: CacheConfig, threads: Option<usize>| {
        let mut builder = Authenticator::builder(
            Verifier::builder(store(&[&root, &inter]), RING_ALGORITHMS).build().unwrap(),
        )
        .registry(registry.clone())
        .cache(cache);
        if let Some(n) = threads {
            builder = builder.verification_threads(n);
        }
        builder.build().unwrap()
    };
    let cached = build(CacheConfig::default(), None);
    let uncached = build(CacheConfig::disabled(), None);
    let uncached_on_task = build(CacheConfig::disabled(), Some(0));
    // What a proxy forwards (HAProxy / Azure / F5 style): base64 of the leaf's DER.
    let header = base64::engine::general_purpose::STANDARD.encode(leaf.der());
    let request = AuthRequest::new(
        Credential::Encoded { bytes: header.as_bytes(), format: Format::Base64Der },
        at(),
    );
    assert_eq!(block_on(cached.authenticate(&request)).unwrap().client_id(), Some("bench"));

    let mut g = c.benchmark_group("authenticate_forwarded_ecdsa_p256");
    // The default: the verification on a verification thread, the caller woken after.
    g.bench_function("uncached", |b| {
        b.iter(|| block_on(uncached.authenticate(black_box(&request))).is_ok())
    });
    // `verification_threads(0)`: on the calling task; the difference is the hand-off.
    g.bench_function("uncached_on_task", |b| {
        b.iter(|| block_on(uncached_on_task.authenticate(black_box(&request))).is_ok())
    });
    g.bench_function("cached", |b| {
        b.iter(|| block_on(cached.authenticate(black_box(&request))).is_ok())
    });
    g.finish();

    // With feature `metrics`: the cached path with no recorder (handles that do nothing)
    // against a recorder counting in atomics (metrics-util's debugging recorder).
    #[cfg(feature = "metrics")]
    {
        let recorder = metrics_util::debugging::DebuggingRecorder::new();
        let recorded = build(CacheConfig::default(), None);
        metrics::with_local_recorder(&recorder, || block_on(recorded.authenticate(&request)))
            .unwrap();
        let unrecorded = build(CacheConfig::default(), None);
        block_on(unrecorded.authenticate(&request)).unwrap();
        let mut g = c.benchmark_group("authenticate_cached_metrics");
        g.bench_function("no_recorder", |b| {
            b.iter(|| block_on(unrecorded.authenticate(black_box(&request))).is_ok())
        });
        g.bench_function("recorder", |b| {
            b.iter(|| block_on(recorded.authenticate(black_box(&request))).is_ok())
        });
        g.finish();
    }
}

fn registry(c: &mut Criterion) {
    for n in [1_000usize, 1_000_000] {
        // The probes: 1,000 registered ids and their thumbprints, made before counting.
        let ids: Vec<String> =
            (0..n).step_by((n / 1000).max(1)).map(|i| format!("client-{i}")).collect();
        let probes: Vec<Thumbprint> = ids.iter().map(|id| Thumbprint::of(id.as_bytes())).collect();
        let before = live();
        let registry = MemoryRegistry::new();
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let id = format!("client-{i}");
            let thumbprint = Thumbprint::of(id.as_bytes());
            let client = RegisteredClient::new(id, "").with_certificate(
                certauth::registry::RegisteredCertificate {
                    thumbprint,
                    not_after: None,
                    retire_after: None,
                },
            );
            clients.push(client);
        }
        registry.replace_all(clients, Vec::new()).unwrap();
        let bytes = live().saturating_sub(before);
        // The client records alone (what any registry must hold): one allocation each,
        // shared by both indexes; the rest is index.
        let records: usize = registry.clients().iter().map(RegisteredClient::heap_size).sum();
        eprintln!(
            "registry of {n} clients with one certificate each (id \"client-N\"): {} MB live heap, {} bytes per entry: {} in the client record, {} in the indexes",
            bytes / 1_000_000,
            bytes / n,
            records / n,
            bytes.saturating_sub(records) / n
        );
        let mut g = c.benchmark_group(format!("registry_lookup_{n}"));
        let mut i = 0;
        g.bench_function("by_thumbprint", |b| {
            b.iter(|| {
                i = (i + 1) % probes.len();
                block_on(registry.by_thumbprint(black_box(&probes[i]))).unwrap().is_some()
            })
        });
        let mut i = 0;
        g.bench_function("by_client_id", |b| {
            b.iter(|| {
                i = (i + 1) % ids.len();
                block_on(registry.by_client_id(black_box(&ids[i]))).unwrap().is_some()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, authenticate, registry);
criterion_main!(benches);
