//! Metrics through the `metrics` facade: names, labels and counts as documented in
//! `certauth::metrics`, recorded by a debugging recorder.

use certauth::TrustStore;
use certauth::metrics::{
    AUTHENTICATIONS_TOTAL, CACHE_ENTRIES, CACHE_HITS_TOTAL, CACHE_MISSES_TOTAL,
    VERIFICATION_SECONDS,
};
use certauth::testkit::pki::Ca;
use certauth::{AuthRequest, Authenticator, Credential};
use certauth::{RING_ALGORITHMS, Verifier};
use metrics_util::MetricKind;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

use crate::common::{at, block_on};

/// One metric the recorder saw: kind, name, sorted labels, value.
type Seen = (MetricKind, String, Vec<(String, String)>, DebugValue);

fn snapshot(recorder: &DebuggingRecorder) -> Vec<Seen> {
    recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<_> =
                key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
            labels.sort();
            (kind, key.name().to_owned(), labels, value)
        })
        .collect()
}

fn counter(snap: &[Seen], name: &str, labels: &[(&str, &str)]) -> u64 {
    snap.iter()
        .find(|(kind, n, l, _)| {
            *kind == MetricKind::Counter
                && n == name
                && l.len() == labels.len()
                && labels.iter().all(|(k, v)| l.iter().any(|(a, b)| a == k && b == v))
        })
        .map_or(0, |(.., v)| match v {
            DebugValue::Counter(c) => *c,
            other => panic!("{name} is {other:?}"),
        })
}

#[test]
fn authentications_cache_and_verification_time_are_counted_with_bounded_labels() {
    let root = Ca::root("Metrics Root");
    let inter = root.intermediate("Metrics Issuing");
    let store = TrustStore::builder().add_der(root.der()).unwrap().check_at(at()).build().unwrap();
    let auth = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
        .build()
        .unwrap();
    let good = inter.leaf("good-client").build().chain();
    let stranger = Ca::root("Stranger Root").leaf("stranger").build().chain();

    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        for chain in [&good, &good, &good, &stranger, &stranger] {
            let request = AuthRequest::new(Credential::Tls(chain), at());
            let _ = block_on(auth.authenticate(&request));
        }
    });
    let snap = snapshot(&recorder);
    let ok = [("outcome", "ok"), ("source", "tls")];
    assert_eq!(counter(&snap, AUTHENTICATIONS_TOTAL, &ok), 3);
    let refused = [("outcome", "unknown_issuer"), ("source", "tls")];
    assert_eq!(counter(&snap, AUTHENTICATIONS_TOTAL, &refused), 2);
    // First request of each chain verifies; the repeats are answered by the cache (the
    // stranger's by the failure memory).
    assert_eq!(counter(&snap, CACHE_MISSES_TOTAL, &[]), 2);
    assert_eq!(counter(&snap, CACHE_HITS_TOTAL, &[]), 3);
    let histogram = snap
        .iter()
        .find(|(kind, n, ..)| *kind == MetricKind::Histogram && n == VERIFICATION_SECONDS)
        .map(|(.., v)| match v {
            DebugValue::Histogram(h) => h.len(),
            other => panic!("{other:?}"),
        });
    assert_eq!(histogram, Some(2), "one sample per uncached verification");
    let entries =
        snap.iter().find(|(kind, n, ..)| *kind == MetricKind::Gauge && n == CACHE_ENTRIES);
    assert!(
        matches!(entries, Some((.., DebugValue::Gauge(g))) if g.into_inner() == 1.0),
        "{entries:?}"
    );
    // Bounded cardinality: every label value is one of a fixed set, never a subject.
    let kinds: Vec<&str> = certauth::ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    for (_, name, labels, _) in &snap {
        for (k, v) in labels {
            let allowed = match k.as_str() {
                "outcome" => v == "ok" || kinds.contains(&v.as_str()),
                "source" => ["tls", "header", "bytes"].contains(&v.as_str()),
                "result" => {
                    ["found", "anonymous", "not_found", "refused", "error"].contains(&v.as_str())
                }
                _ => false,
            };
            assert!(allowed, "{name}: label {k}={v}");
            assert!(!v.contains("good-client") && !v.contains("stranger"), "{name}: {k}={v}");
        }
    }
}

#[test]
fn registry_look_ups_are_counted_by_result() {
    use certauth::metrics::REGISTRY_LOOKUPS_TOTAL;
    use certauth::registry::{MemoryRegistry, RegisteredClient};
    let root = Ca::root("Metrics Registry Root");
    let store = TrustStore::builder().add_der(root.der()).unwrap().check_at(at()).build().unwrap();
    let registry = std::sync::Arc::new(MemoryRegistry::new());
    let known = root.leaf("known").build();
    registry.add_client(RegisteredClient::new("app", "App")).unwrap();
    registry.register_certificate("app", &known.certificate(), at(), None).unwrap();
    let auth = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
        .registry(registry.clone())
        .build()
        .unwrap();
    let unknown = root.leaf("unregistered").build();
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        for leaf in [&known, &known, &unknown] {
            let chain = leaf.chain();
            let _ = block_on(auth.authenticate(&AuthRequest::new(Credential::Tls(&chain), at())));
        }
        registry.suspend("app").unwrap();
        let chain = known.chain();
        let _ = block_on(auth.authenticate(&AuthRequest::new(Credential::Tls(&chain), at())));
    });
    let snap = snapshot(&recorder);
    assert_eq!(counter(&snap, REGISTRY_LOOKUPS_TOTAL, &[("result", "found")]), 2);
    assert_eq!(counter(&snap, REGISTRY_LOOKUPS_TOTAL, &[("result", "not_found")]), 1);
    assert_eq!(counter(&snap, REGISTRY_LOOKUPS_TOTAL, &[("result", "refused")]), 1);
    assert_eq!(counter(&snap, REGISTRY_LOOKUPS_TOTAL, &[("result", "error")]), 0);
}

#[test]
fn a_failed_crl_fetch_is_counted_as_a_refused_reload() {
    use certauth::metrics::RELOADS_TOTAL;
    use certauth::reload::{TrustFiles, Watcher};
    let root = Ca::root("Metrics Fetch Root");
    let dir = std::env::temp_dir().join(format!("certauth-metrics-fetch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, root.pem()).unwrap();
    let verifier = Verifier::builder(TrustFiles::new().file(&ca).load().unwrap(), RING_ALGORITHMS)
        .build()
        .unwrap();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let files =
        TrustFiles::new().file(&ca).crl_url(&format!("http://127.0.0.1:{port}/ca.crl")).unwrap();
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let watcher = Watcher::builder().trust_store(verifier, files).start().unwrap();
        watcher.check_now();
    });
    let snap = snapshot(&recorder);
    let labels = |result| [("what", "trust_store"), ("result", result)];
    assert_eq!(counter(&snap, RELOADS_TOTAL, &labels("error")), 2, "at start-up and check_now");
    assert_eq!(counter(&snap, RELOADS_TOTAL, &labels("ok")), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
