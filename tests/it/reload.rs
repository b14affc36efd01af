//! Reload without restart and the health report: a changed file takes effect, a broken
//! one keeps the last good configuration and says so, and requests running through a
//! hundred swaps are each decided by the old or the new configuration. CRLs served by a
//! real HTTP server (Python's `http.server`) are fetched, refreshed and kept when the
//! server fails.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

/// Python's `http.server` serving `dir` on 127.0.0.1; stopped when dropped.
struct CrlServer {
    child: Child,
    port: u16,
}

impl CrlServer {
    fn start(dir: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Self {
            child: Command::new("python3")
                .args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string()])
                .arg("--directory")
                .arg(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 runs"),
            port,
        };
        // Wait until it accepts connections (a readiness poll, not a timed assertion).
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("http.server did not start on port {port}");
    }

    fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for CrlServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn deny_unknown(store: certauth::TrustStore) -> Verifier {
    Verifier::builder(store, RING_ALGORITHMS)
        .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny))
        .build()
        .unwrap()
}

#[test]
fn a_crl_fetched_over_http_takes_effect_and_a_client_revoked_mid_run_is_refused_after_check_now() {
    let p = pkis();
    let dir = temp_dir("crl-http");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    replace(&dir.join("a.crl"), p.a.crl().number(1).build().der());
    let server = CrlServer::start(&dir);
    let files = TrustFiles::new().file(&ca).crl_url(&server.url("a.crl")).unwrap();
    let verifier = deny_unknown(files.load().unwrap());
    assert_eq!(verdict(&verifier, &p.leaf_a), Ok(()), "covered by the fetched crl");
    let watcher = Watcher::builder()
        .trust_store(verifier.clone(), files)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    assert_eq!(watcher.check_now(), [], "the same crl again: nothing to reload");
    assert_eq!(watcher.status()[0].reloads, 0);

    // The CA revokes the client: the server now serves a newer CRL (PEM this time).
    let revoking = p.a.crl().number(2).revoke(&p.leaf_a).build();
    replace(&dir.join("a.crl"), revoking.pem().as_bytes());
    assert_eq!(verdict(&verifier, &p.leaf_a), Ok(()), "not fetched yet");
    assert_eq!(watcher.check_now(), [Watched::TrustStore]);
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::Revoked));
    let status = &watcher.status()[0];
    assert_eq!((status.reloads, status.failures), (1, 0));
    assert!(status.is_current());
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_watcher_fetches_at_start_up_a_crl_the_store_was_not_loaded_with() {
    let p = pkis();
    let dir = temp_dir("crl-startup");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    replace(&dir.join("a.crl"), p.a.crl().revoke(&p.leaf_a).build().der());
    let server = CrlServer::start(&dir);
    let store = TrustFiles::new().file(&ca).load().unwrap();
    let verifier = Verifier::builder(store, RING_ALGORITHMS)
        .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Allow))
        .build()
        .unwrap();
    assert_eq!(verdict(&verifier, &p.leaf_a), Ok(()), "no crl yet");
    let files = TrustFiles::new().file(&ca).crl_url(&server.url("a.crl")).unwrap();
    let watcher = Watcher::builder()
        .trust_store(verifier.clone(), files)
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::Revoked), "fetched at start");
    assert_eq!(watcher.status()[0].reloads, 1);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_failed_crl_fetch_keeps_the_last_good_crl_and_reports_it() {
    let p = pkis();
    let dir = temp_dir("crl-down");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    let crl_path = dir.join("a.crl");
    replace(&crl_path, p.a.crl().number(1).revoke(&p.leaf_a).build().der());
    let server = CrlServer::start(&dir);
    let url = server.url("a.crl");
    let files = TrustFiles::new()
        .file(&ca)
        .crl_url(&url)
        .unwrap()
        .crl_fetch_timeout(Duration::from_secs(5));
    let verifier = deny_unknown(files.load().unwrap());
    let watcher = Watcher::builder()
        .trust_store(verifier.clone(), files.clone())
        .interval(Duration::from_secs(3600))
        .start()
        .unwrap();
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::Revoked));

    // Served but broken: not a CRL, then gone (404). Each refused, the revoking CRL stays.
    for (body, why) in [(Some(&b"<html>maintenance</html>"[..]), "crl"), (None, "status 404")] {
        match body {
            Some(b) => replace(&crl_path, b),
            None => std::fs::remove_file(&crl_path).unwrap(),
        }
        assert_eq!(watcher.check_now(), [Watched::TrustStore]);
        assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::Revoked), "last good kept");
        let error = watcher.status()[0].last_error.clone().unwrap();
        assert!(error.contains(&url) && error.contains(why), "{error}");
    }

    // The server goes down: the last good CRL still decides, the status says why.
    replace(&crl_path, p.a.crl().number(1).revoke(&p.leaf_a).build().der());
    drop(server);
    assert_eq!(watcher.check_now(), [Watched::TrustStore]);
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::Revoked));
    let status = &watcher.status()[0];
    assert_eq!((status.reloads, status.failures), (0, 3));
    assert!(!status.is_current());
    let error = status.last_error.as_deref().unwrap();
    assert!(error.contains(&url) && error.contains("cannot connect"), "{error}");
    // A trust file rewritten while the server is down: the store is rebuilt with the
    // last good CRL, not without it.
    replace(&ca, p.a.pem().as_bytes());
    assert_eq!(watcher.check_now(), [Watched::TrustStore]);
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::Revoked));
    assert_eq!(watcher.status()[0].reloads, 1);
    assert!(!watcher.status()[0].is_current(), "the fetch still fails");
    let report = HealthReport::new(&verifier.trust_store(), at(), 86_400).with_reloads(&watcher);
    assert!(!report.healthy);
    // Loading without the server fails, naming the URL.
    let e = files.load().unwrap_err().to_string();
    assert!(e.contains(&url), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_fetched_crl_left_unrefreshed_past_its_next_update_makes_verification_revocation_stale() {
    let p = pkis();
    let dir = temp_dir("crl-stale");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    let stale =
        p.a.crl()
            .this_update(Timestamp::from_utc(2026, 5, 1, 0, 0, 0).unwrap())
            .next_update(Timestamp::from_utc(2026, 5, 31, 0, 0, 0).unwrap())
            .build();
    replace(&dir.join("a.crl"), stale.der());
    let server = CrlServer::start(&dir);
    let files = TrustFiles::new().file(&ca).crl_url(&server.url("a.crl")).unwrap();
    let verifier = deny_unknown(files.load().unwrap());
    let watcher = Watcher::builder().trust_store(verifier.clone(), files).start().unwrap();
    // 2026-06-01 is past nextUpdate: the revocation status is stale, not good.
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::RevocationStale));
    // The server keeps serving the same stale CRL: still stale after a refresh.
    watcher.check_now();
    assert_eq!(verdict(&verifier, &p.leaf_a), Err(ErrorKind::RevocationStale));
    // A fresh CRL is fetched: good again.
    replace(&dir.join("a.crl"), p.a.crl().number(2).build().der());
    assert_eq!(watcher.check_now(), [Watched::TrustStore]);
    assert_eq!(verdict(&verifier, &p.leaf_a), Ok(()));
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_crl_url_that_is_not_plain_http_is_refused_with_a_config_error() {
    for url in [
        "https://crl.example.test/ca.crl",
        "file:///etc/certauth/ca.crl",
        "ftp://crl.example.test/ca.crl",
        "ldap://crl.example.test/cn=CA?certificateRevocationList",
        "/etc/certauth/ca.crl",
    ] {
        let e = TrustFiles::new().crl_url(url).unwrap_err().to_string();
        assert!(e.contains("http://"), "{url}: {e}");
    }
    let e = TrustFiles::new().crl_url("http://user:pw@crl.example.test/").unwrap_err();
    assert!(e.to_string().contains("user information"), "{e}");
}

/// A server that answers every connection with `response`, for as long as the test runs.
fn canned(response: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut b = [0u8; 4096];
            let _ = s.read(&mut b);
            let _ = s.write_all(response);
        }
    });
    port
}

#[test]
fn a_crl_server_that_redirects_or_answers_too_much_is_refused() {
    let p = pkis();
    let dir = temp_dir("crl-hostile");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, p.a.pem()).unwrap();
    let redirect = canned(b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://crl.example.test/ca.crl\r\nContent-Length: 0\r\n\r\n");
    let files = TrustFiles::new()
        .file(&ca)
        .crl_url(&format!("http://127.0.0.1:{redirect}/ca.crl"))
        .unwrap();
    let e = files.load().unwrap_err().to_string();
    assert!(e.contains("redirect refused"), "{e}");
    let huge = canned(b"HTTP/1.1 200 OK\r\nContent-Length: 16777217\r\n\r\n");
    let files =
        TrustFiles::new().file(&ca).crl_url(&format!("http://127.0.0.1:{huge}/ca.crl")).unwrap();
    let e = files.load().unwrap_err().to_string();
    assert!(e.contains("larger than 16777216 bytes"), "{e}");
    // Headers and nothing more: the fetch times out instead of hanging.
    let silent = canned(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n");
    let files = TrustFiles::new()
        .file(&ca)
        .crl_url(&format!("http://127.0.0.1:{silent}/ca.crl"))
        .unwrap()
        .crl_fetch_timeout(Duration::from_millis(200));
    let e = files.load().unwrap_err().to_string();
    assert!(e.contains("truncated") || e.contains("timed out"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
