//! Reload without restart and the health report: a changed file takes effect, a broken
//! one keeps the last good configuration and says so, and requests running through a
//! hundred swaps are each decided by the old or the new configuration.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use certauth::health::HealthReport;
use certauth::registry::{MemoryRegistry, Registry as _};
use certauth::reload::{TrustFiles, Watched, Watcher};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{Credential, ErrorKind, Thumbprint, Timestamp};
use certauth::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus, Verifier};

use crate::common::{at, block_on};

/// A fresh directory under the system's temporary directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("certauth-reload-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Replaces `path` atomically (write beside, rename over), as operators should.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn verdict(verifier: &Verifier, leaf: &Leaf) -> Result<(), ErrorKind> {
    verifier.verify(&leaf.presented(), at()).map(drop).map_err(|e| e.kind())
}

struct Pkis {
    a: Ca,
    b: Ca,
    leaf_a: Leaf,
    leaf_b: Leaf,
}

fn pkis() -> Pkis {
    let (a, b) = (Ca::root("Reload Root A"), Ca::root("Reload Root B"));
    let (leaf_a, leaf_b) = (a.leaf("client-a").build(), b.leaf("client-b").build());
    Pkis { a, b, leaf_a, leaf_b }
}

#[test]
fn a_changed_trust_file_takes_effect_and_a_broken_one_keeps_the_last_good() {
    let p = pkis();
    let dir = temp_dir("trust");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    let files = TrustFiles::new().file(&ca);
    let verifier = Verifier::builder(files.load().unwrap(), RING_ALGORITHMS).build().unwrap();
    let watcher = Watcher::builder()
        .trust_store(verifier.clone(), files)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    assert_eq!(watcher.check_now(), [], "nothing changed yet");
    assert_eq!(verdict(&verifier, &p.leaf_a), Ok(()));

    replace(&ca, p.b.pem().as_bytes());
    assert_eq!(watcher.check_now(), [Watched::TrustStore]);
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::UnknownIssuer));
    assert_eq!(verdict(&verifier, &p.leaf_b), Ok(()));

    // Half-written in place, then garbage, then a file that vanished: each refused, the
    // last good store (root B) stays.
    let pem = p.a.pem();
    for broken in [&pem.as_bytes()[..pem.len() / 2], b"not a certificate".as_slice()] {
        std::fs::write(&ca, broken).unwrap();
        assert_eq!(watcher.check_now(), [Watched::TrustStore]);
        assert_eq!(verdict(&verifier, &p.leaf_b), Ok(()));
    }
    std::fs::remove_file(&ca).unwrap();
    assert_eq!(watcher.check_now(), [Watched::TrustStore]);
    assert_eq!(verdict(&verifier, &p.leaf_b), Ok(()));
    let status = &watcher.status()[0];
    assert_eq!((status.reloads, status.failures), (1, 3));
    assert!(!status.is_current());
    let error = status.last_error.as_deref().unwrap();
    assert!(error.contains("ca.pem"), "the error names the file: {error}");

    // A reload refused for an expired anchor keeps the last good store too.
    let expired = Ca::builder("Expired Root")
        .valid(
            Timestamp::from_utc(2015, 1, 1, 0, 0, 0).unwrap(),
            Timestamp::from_utc(2020, 1, 1, 0, 0, 0).unwrap(),
        )
        .build();
    replace(&ca, expired.pem().as_bytes());
    watcher.check_now();
    assert_eq!(verdict(&verifier, &p.leaf_b), Ok(()));
    assert!(!watcher.status()[0].is_current());

    // Fixed: current again.
    replace(&ca, p.a.pem().as_bytes());
    assert_eq!(watcher.check_now(), [Watched::TrustStore]);
    assert_eq!(verdict(&verifier, &p.leaf_a), Ok(()));
    assert!(watcher.status()[0].is_current());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_changed_registry_file_takes_effect_and_a_broken_one_keeps_the_last_good() {
    let p = pkis();
    let dir = temp_dir("registry");
    let path = dir.join("clients.json");
    let file = |status: &str| {
        format!(
            r#"{{"clients": [{{"id": "app", "status": "{status}", "certificates": [{{"x5t#S256": "{}"}}]}}]}}"#,
            Thumbprint::of(p.leaf_a.der()).to_x5t_s256()
        )
    };
    std::fs::write(&path, file("active")).unwrap();
    let registry = Arc::new(MemoryRegistry::new());
    registry.load_file(&path, at()).unwrap();
    let watcher = Watcher::builder().registry(registry.clone(), &path).start().unwrap();
    let status = || {
        let found = block_on(registry.by_client_id("app")).unwrap();
        found.map(|c| format!("{:?}", c.status()))
    };
    assert_eq!(status().as_deref(), Some("Active"));

    replace(&path, file("suspended").as_bytes());
    assert_eq!(watcher.check_now(), [Watched::Registry]);
    assert_eq!(status().as_deref(), Some("Suspended"));

    std::fs::write(&path, b"{\"clients\": [").unwrap();
    assert_eq!(watcher.check_now(), [Watched::Registry]);
    assert_eq!(status().as_deref(), Some("Suspended"), "the last good registry stays");
    assert!(!watcher.status()[0].is_current());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A hundred swaps between two trust stores while four threads authenticate clients of
/// both: every answer is what one of the two stores decides, none is an error the swap
/// caused, and the watcher thread polls alongside.
#[test]
fn requests_through_a_hundred_swaps_are_each_decided_by_the_old_or_the_new_store() {
    let p = Arc::new(pkis());
    let dir = temp_dir("swaps");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    let files = TrustFiles::new().file(&ca);
    let verifier = Verifier::builder(files.load().unwrap(), RING_ALGORITHMS).build().unwrap();
    let auth = certauth::Authenticator::builder(verifier.clone()).build().unwrap();
    let watcher = Watcher::builder()
        .trust_store(verifier, files)
        .interval(Duration::from_millis(10))
        .start()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let decided = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let (auth, p, done, decided) =
                (auth.clone(), Arc::clone(&p), Arc::clone(&done), Arc::clone(&decided));
            std::thread::spawn(move || {
                let leaf = if i % 2 == 0 { &p.leaf_a } else { &p.leaf_b };
                let chain = leaf.chain();
                while !done.load(Ordering::Relaxed) {
                    match auth.verify_credential(Credential::Tls(&chain), at()) {
                        Ok(_) => {}
                        Err(e) => assert_eq!(e.kind(), ErrorKind::UnknownIssuer, "{e}"),
                    }
                    decided.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for i in 0..100 {
        let pem = if i % 2 == 0 { p.b.pem() } else { p.a.pem() };
        replace(&ca, pem.as_bytes());
        watcher.check_now();
    }
    done.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let status = &watcher.status()[0];
    assert_eq!(status.failures, 0);
    assert!(status.reloads >= 100, "{status:?}");
    assert!(decided.load(Ordering::Relaxed) >= 4);
    // The last file holds root A.
    assert!(auth.verify_credential(Credential::Tls(&p.leaf_a.chain()), at()).is_ok());
    assert_eq!(
        auth.verify_credential(Credential::Tls(&p.leaf_b.chain()), at()).unwrap_err().kind(),
        ErrorKind::UnknownIssuer
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_health_report_names_what_expires_goes_stale_or_failed_to_reload() {
    let root = Ca::builder("Health Root")
        .valid(
            Timestamp::from_utc(2020, 1, 1, 0, 0, 0).unwrap(),
            Timestamp::from_utc(2026, 6, 20, 0, 0, 0).unwrap(),
        )
        .build();
    let crl = root
        .crl()
        .this_update(Timestamp::from_utc(2026, 5, 1, 0, 0, 0).unwrap())
        .next_update(Timestamp::from_utc(2026, 5, 31, 0, 0, 0).unwrap())
        .build();
    let store = certauth::TrustStore::builder()
        .add_der(root.der())
        .unwrap()
        .add_crl(crl.der())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    // 2026-06-01: the root expires within 30 days, the CRL's nextUpdate has passed.
    let report = HealthReport::new(&store, at(), 30 * 86_400);
    assert!(!report.healthy, "a stale CRL is unhealthy");
    assert_eq!(report.anchors.len(), 1);
    assert_eq!(report.anchors[0].subject, "CN=Health Root");
    assert!(!report.anchors[0].invalid_now);
    assert_eq!(report.crls.len(), 1);
    assert!(report.crls[0].stale);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["healthy"], false);
    assert_eq!(json["anchors"][0]["not_after"], "2026-06-20T00:00:00Z");
    assert_eq!(json["crls"][0]["issuer"], "CN=Health Root");

    // Within a one-day window nothing is near except the stale CRL; after the root's
    // notAfter the root is invalid.
    assert_eq!(HealthReport::new(&store, at(), 86_400).anchors.len(), 0);
    let later = Timestamp::from_utc(2026, 7, 1, 0, 0, 0).unwrap();
    assert!(HealthReport::new(&store, later, 0).anchors[0].invalid_now);

    // A healthy store, then a refused reload makes the report unhealthy.
    let p = pkis();
    let dir = temp_dir("health");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    let files = TrustFiles::new().file(&ca);
    let store = files.load().unwrap();
    let verifier = Verifier::builder(files.load().unwrap(), RING_ALGORITHMS)
        .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Allow))
        .build()
        .unwrap();
    let watcher = Watcher::builder().trust_store(verifier, files).start().unwrap();
    assert!(HealthReport::new(&store, at(), 86_400).with_reloads(&watcher).healthy);
    std::fs::write(&ca, b"garbage").unwrap();
    watcher.check_now();
    let report = HealthReport::new(&store, at(), 86_400).with_reloads(&watcher);
    assert!(!report.healthy);
    assert!(report.reloads[0].last_error.is_some());
    let registry = MemoryRegistry::new();
    let report = block_on(HealthReport::new(&store, at(), 86_400).with_registry(&registry));
    assert_eq!(report.registry_reachable, Some(true));
    std::fs::remove_dir_all(&dir).unwrap();
}
