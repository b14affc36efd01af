//! The OCSP checker per request: a certificate whose status is cached (a map look-up)
//! against one checked afresh (request encoding, response parsing, CertID match, the
//! response's signature, freshness), its response answered from memory so that no
//! network time is measured; the verification of the same chain is the yardstick.
//!
//! Run: `cargo bench --features ring,testkit,ocsp --bench ocsp`

use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use certauth::ocsp::{OcspChecker, OcspTransport};
use certauth::testkit::pki::Ca;
use certauth::{
    BoxFuture, RING_ALGORITHMS, Result, RevocationChecker, Timestamp, TrustStore, Verifier,
};
use criterion::{Criterion, criterion_group, criterion_main};

/// Answers every request with one prepared response.
#[derive(Debug)]
struct InMemory(Vec<u8>);

impl OcspTransport for InMemory {
    fn post<'a>(&'a self, _: &'a str, _: &'a [u8], _: usize) -> BoxFuture<'a, Result<Vec<u8>>> {
        Box::pin(std::future::ready(Ok(self.0.clone())))
    }
}

/// Polls a future that never waits (every step here is ready at once).
fn ready<T>(f: BoxFuture<'_, T>) -> T {
    let mut f = f;
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the check waited"),
    }
}

fn bench(c: &mut Criterion) {
    let now = Timestamp::from_utc(2026, 6, 1, 0, 0, 0).unwrap();
    let root = Ca::root("Bench Root");
    let issuing = root.intermediate("Bench Issuing CA");
    let leaf = issuing.leaf("client").build();
    let store = TrustStore::builder().add_der(root.der()).unwrap().check_at(now).build().unwrap();
    let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let presented = leaf.presented();
    let chain = verifier.verify(&presented, now).unwrap();
    let response = issuing.ocsp_response(leaf.der()).build();
    let transport = Arc::new(InMemory(response.der().to_vec()));
    let build = |entries| {
        OcspChecker::builder(&verifier)
            .transport(transport.clone())
            .responder_url("http://ocsp.example.test/")
            .cache_entries(entries)
            .build()
            .unwrap()
    };
    let cached = build(10_000);
    let uncached = build(0);
    // The timeout needs the runtime's timer; every future here is ready at once.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _entered = runtime.enter();
    ready(cached.check(&chain, now)).unwrap();
    ready(uncached.check(&chain, now)).unwrap();
    assert_eq!((cached.cached(), uncached.cached()), (1, 0));

    let mut group = c.benchmark_group("ocsp");
    group.bench_function("cached status", |b| {
        b.iter(|| ready(cached.check(black_box(&chain), now)).unwrap())
    });
    group.bench_function("uncached (response from memory)", |b| {
        b.iter(|| ready(uncached.check(black_box(&chain), now)).unwrap())
    });
    group.bench_function("chain verification, for scale", |b| {
        b.iter(|| verifier.verify(black_box(&presented), now).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
