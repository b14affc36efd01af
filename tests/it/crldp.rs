//! CRLs fetched from the certificates' own CRL distribution points
//! ([`CrlDistributionPoints`]) from a real HTTP server on 127.0.0.1 (`common::serve`,
//! which counts the connections it accepts, one per fetch), serving test-kit CRLs that
//! the tests replace while it runs.

use std::sync::Arc;
use std::time::Duration;

use certauth::crldp::{CrlDistributionPoints, CrlDistributionPointsBuilder};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{
    AuthRequest, Authenticator, Credential, ErrorKind, RING_ALGORITHMS, RevocationChecker,
    RevocationDepth, Timestamp, TrustStore, UnknownStatus, VerifiedChain, Verifier,
};

use crate::common::serve::{Answer, Gate, Server};
use crate::common::{at, block_on};

fn verifier_of(root: &Ca) -> Verifier {
    let store = TrustStore::builder()
        .add_pem(root.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    Verifier::builder(store, RING_ALGORITHMS).build().unwrap()
}

fn verified(verifier: &Verifier, leaf: &Leaf) -> VerifiedChain {
    verifier.verify(&leaf.presented(), at()).unwrap()
}

fn checker(
    verifier: &Verifier,
    configure: impl FnOnce(CrlDistributionPointsBuilder) -> CrlDistributionPointsBuilder,
) -> CrlDistributionPoints {
    configure(CrlDistributionPoints::builder(verifier)).build().unwrap()
}

fn check(
    crls: &CrlDistributionPoints,
    chain: &VerifiedChain,
    now: Timestamp,
) -> certauth::Result<()> {
    block_on(crls.check(chain, now))
}

/// A good leaf is accepted and a revoked one refused, with one fetch for both: the CRL
/// is cached for its URL.
#[test]
fn good_leaf_accepted_revoked_leaf_refused_one_fetch() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let url = server.url("/root.crl");
    let good = root.leaf("good").crl_distribution_point(&url).build();
    let revoked = root.leaf("revoked").crl_distribution_point(&url).build();
    server.set("/root.crl", Answer::Body(root.crl().revoke(&revoked).build().der().to_vec()));
    let verifier = verifier_of(&root);
    let crls = checker(&verifier, |b| b);
    check(&crls, &verified(&verifier, &good), at()).unwrap();
    let e = check(&crls, &verified(&verifier, &revoked), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
    assert!(e.message().starts_with("the client certificate: crl from http://127.0.0.1:"), "{e}");
    assert!(e.message().contains("is revoked by crl 01"), "{e}");
    assert_eq!((server.accepts(), crls.cached()), (1, 1));
    for _ in 0..5 {
        check(&crls, &verified(&verifier, &good), at()).unwrap();
    }
    assert_eq!(server.accepts(), 1);
}

/// A certificate revoked after it was first accepted is refused once the CRL is
/// refreshed: ahead of `nextUpdate` in the background (the held CRL serving meanwhile),
/// and, once the held CRL is past `nextUpdate`, by a fetch the request waits for.
#[test]
fn crl_replaced_mid_run_revokes_after_refresh() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let url = server.url("/root.crl");
    let leaf = root.leaf("client").crl_distribution_point(&url).build();
    let first =
        root.crl().number(1).this_update(at().plus_secs(-100)).next_update(at().plus_secs(100));
    server.set("/root.crl", Answer::Body(first.build().der().to_vec()));
    let verifier = verifier_of(&root);
    let chain = verified(&verifier, &leaf);
    let crls = checker(&verifier, |b| b.clock_allowance_secs(0));
    check(&crls, &chain, at()).unwrap();
    let second = root
        .crl()
        .number(2)
        .revoke(&leaf)
        .this_update(at())
        .next_update(at().plus_secs(10_000))
        .build();
    server.set("/root.crl", Answer::Body(second.der().to_vec()));
    // Before the last tenth of the window: the cached CRL, no fetch.
    check(&crls, &chain, at().plus_secs(79)).unwrap();
    assert_eq!(server.accepts(), 1);
    // In the last tenth: the held CRL answers at once and a fetch starts behind it.
    let mut answers = 0;
    let e = loop {
        match check(&crls, &chain, at().plus_secs(90)) {
            Ok(()) => answers += 1,
            Err(e) => break e,
        }
        assert!(answers < 1000, "the refreshed crl never took effect");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
    assert!(e.message().contains("crl 02"), "{e}");
    assert_eq!(server.accepts(), 2);

    // Past nextUpdate: the request waits for the fetch.
    let other = Ca::root("CRLDP Root 2");
    let url2 = server.url("/root2.crl");
    let leaf2 = other.leaf("client").crl_distribution_point(&url2).build();
    let short =
        other.crl().number(1).this_update(at().plus_secs(-100)).next_update(at().plus_secs(100));
    server.set("/root2.crl", Answer::Body(short.build().der().to_vec()));
    let verifier2 = verifier_of(&other);
    let chain2 = verified(&verifier2, &leaf2);
    let crls2 = checker(&verifier2, |b| b.clock_allowance_secs(0));
    check(&crls2, &chain2, at()).unwrap();
    let revoking =
        other.crl().number(2).revoke(&leaf2).this_update(at()).next_update(at().plus_secs(10_000));
    server.set("/root2.crl", Answer::Body(revoking.build().der().to_vec()));
    let e = check(&crls2, &chain2, at().plus_secs(101)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
}

/// Every way a fetch or a CRL can fail is unknown status, decided by the policy: the
/// default refuses with `revocation_unknown`, `Allow` accepts; the message names the URL
/// and the cause, never the body.
#[test]
fn failures_follow_the_unknown_status_policy() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let verifier = verifier_of(&root);
    let impostor = Ca::root("CRLDP Root"); // the same name, another key
    let other = Ca::root("Another Root");
    let big = root.crl().revoke_serial(&[1; 20]).revoke_serial(&[2; 20]).build();
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}/root.crl", listener.local_addr().unwrap().port())
    };
    let cases: Vec<(&str, Option<Answer>, &str)> = vec![
        ("/404.crl", None, "404"),
        ("/junk.crl", Some(Answer::Body(b"<html>garbage</html>".to_vec())), "no x509 crl block"),
        (
            "/redirect.crl",
            Some(Answer::Raw(
                format!(
                    "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
                    server.url("/x")
                )
                .into_bytes(),
            )),
            "302",
        ),
        ("/oversized.crl", Some(Answer::Body(big.der().to_vec())), "large"),
        (
            "/impostor.crl",
            Some(Answer::Body(impostor.crl().build().der().to_vec())),
            "does not verify under the issuer's key",
        ),
        (
            "/other.crl",
            Some(Answer::Body(other.crl().build().der().to_vec())),
            "not by the certificate's issuer",
        ),
    ];
    let mut urls: Vec<(String, String)> = vec![(dead, "connect".into())];
    for (path, answer, why) in cases {
        if let Some(answer) = answer {
            server.set(path, answer);
        }
        urls.push((server.url(path), why.into()));
    }
    let max = big.der().len() - 1;
    for (url, why) in &urls {
        let leaf = root.leaf("client").crl_distribution_point(url).build();
        let chain = verified(&verifier, &leaf);
        let strict = checker(&verifier, |b| b.max_crl_bytes(max).timeout(Duration::from_secs(5)));
        let e = check(&strict, &chain, at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{url}: {e}");
        assert!(e.message().contains(url.as_str()), "{e}");
        assert!(e.message().to_lowercase().contains(why.as_str()), "{why}: {e}");
        assert!(!e.message().contains("garbage"), "{e}");
        let open =
            checker(&verifier, |b| b.unknown_status(UnknownStatus::Allow).max_crl_bytes(max));
        check(&open, &chain, at()).unwrap();
    }

    // No distribution point, or none over http://.
    for leaf in [
        root.leaf("none").build(),
        root.leaf("ldap").crl_distribution_point("ldap://ldap.example.test/cn=crl").build(),
    ] {
        let chain = verified(&verifier, &leaf);
        let e = check(&checker(&verifier, |b| b), &chain, at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::RevocationUnknown);
        assert!(e.message().contains("names no http:// crl distribution point"), "{e}");
        check(&checker(&verifier, |b| b.unknown_status(UnknownStatus::Allow)), &chain, at())
            .unwrap();
    }
}

/// A refused CRL is never cached in place of the genuine one: a good CRL, then an
/// impostor's at the same URL, leaves the good one serving; a dead URL is asked once
/// within the failure TTL.
#[test]
fn an_impostor_crl_does_not_replace_the_held_one_and_failures_are_remembered() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let verifier = verifier_of(&root);
    let url = server.url("/root.crl");
    let revoked = root.leaf("revoked").crl_distribution_point(&url).build();
    let chain = verified(&verifier, &revoked);
    let genuine = root.crl().number(1).revoke(&revoked).this_update(at().plus_secs(-100));
    server.set("/root.crl", Answer::Body(genuine.build().der().to_vec()));
    let crls = checker(&verifier, |b| b.refresh_interval(Duration::from_secs(60)));
    assert_eq!(check(&crls, &chain, at()).unwrap_err().kind(), ErrorKind::Revoked);
    // The impostor's CRL, with a higher number and nothing revoked.
    let impostor = Ca::root("CRLDP Root");
    server.set("/root.crl", Answer::Body(impostor.crl().number(99).build().der().to_vec()));
    let mut seen = 1;
    for step in 0..20 {
        let e = check(&crls, &chain, at().plus_secs(61 + step)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
        seen = server.accepts();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(seen, 2, "the failed refresh is remembered, not repeated");

    // A dead URL: one fetch, then the remembered failure until the TTL passes.
    let dead = server.url("/gone.crl");
    let leaf = root.leaf("client").crl_distribution_point(&dead).build();
    let chain = verified(&verifier, &leaf);
    let crls = checker(&verifier, |b| b.failure_ttl_secs(30));
    let before = server.accepts();
    let e = check(&crls, &chain, at()).unwrap_err();
    assert_eq!(check(&crls, &chain, at().plus_secs(29)).unwrap_err(), e);
    assert_eq!(server.accepts(), before + 1);
    check(&crls, &chain, at().plus_secs(30)).unwrap_err();
    assert_eq!(server.accepts(), before + 2);
}

/// A CRL past its `nextUpdate` with no newer one obtainable is `revocation_stale`.
#[test]
fn stale_crl_is_revocation_stale() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let verifier = verifier_of(&root);
    let url = server.url("/root.crl");
    let leaf = root.leaf("client").crl_distribution_point(&url).build();
    let chain = verified(&verifier, &leaf);
    let old = root.crl().this_update(at().plus_secs(-2000)).next_update(at().plus_secs(-1000));
    server.set("/root.crl", Answer::Body(old.build().der().to_vec()));
    let crls = checker(&verifier, |b| b.clock_allowance_secs(0));
    let e = check(&crls, &chain, at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationStale, "{e}");
    assert!(e.message().contains("past its next update"), "{e}");
    // Within the allowance, it is fresh.
    let lenient = checker(&verifier, |b| b.clock_allowance_secs(1000));
    check(&lenient, &chain, at()).unwrap();

    // A held CRL that goes stale while its URL is down.
    let fresh = root.crl().this_update(at().plus_secs(-100)).next_update(at().plus_secs(100));
    server.set("/root.crl", Answer::Body(fresh.build().der().to_vec()));
    let crls = checker(&verifier, |b| b.clock_allowance_secs(0));
    check(&crls, &chain, at()).unwrap();
    server.set(
        "/root.crl",
        Answer::Raw(b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n".to_vec()),
    );
    let e = check(&crls, &chain, at().plus_secs(101)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationStale, "{e}");
    assert!(e.message().contains("fetching a newer one failed"), "{e}");
}

/// Sixteen concurrent checks of a certificate whose CRL is not cached make one fetch,
/// on a current-thread runtime that keeps answering other tasks while the fetch is held
/// by the server: the fetch runs on a thread of its own.
#[test]
fn concurrent_checks_make_one_fetch_and_the_runtime_is_not_blocked() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let verifier = verifier_of(&root);
    let url = server.url("/root.crl");
    let leaf = root.leaf("client").crl_distribution_point(&url).build();
    let chain = Arc::new(verified(&verifier, &leaf));
    let gate = Arc::new(Gate::default());
    server.set("/root.crl", Answer::Gated(gate.clone(), root.crl().build().der().to_vec()));
    let crls =
        Arc::new(checker(&verifier, |b| b.cache_entries(0).timeout(Duration::from_secs(60))));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (crls, chain) = (crls.clone(), chain.clone());
            tasks.push(tokio::spawn(async move { crls.check(&chain, at()).await }));
        }
        while server.accepts() == 0 {
            tokio::task::yield_now().await;
        }
        for _ in 0..16 {
            tokio::task::yield_now().await;
        }
        // The one runtime thread answers another task while the fetch is held.
        assert_eq!(tokio::spawn(async { 7 }).await.unwrap(), 7);
        assert!(tasks.iter().all(|t| !t.is_finished()));
        gate.open();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
    });
    assert_eq!(server.accepts(), 1);
    assert_eq!(crls.cached(), 0);
}

/// End to end through an [`Authenticator`]: accepted, then refused once revoked
/// (the checker runs on every request, the verification cached or not); with the whole
/// chain checked, a revoked intermediate is refused as such, and a CRL from an issuer
/// without cRLSign is unknown status.
#[test]
fn through_an_authenticator() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let url = server.url("/root.crl");
    let leaf = root.leaf("client").crl_distribution_point(&url).build();
    server.set("/root.crl", Answer::Body(root.crl().number(1).build().der().to_vec()));
    let verifier = verifier_of(&root);
    let crls =
        checker(&verifier, |b| b.failure_ttl_secs(0).refresh_interval(Duration::from_secs(1)));
    let auth = Authenticator::builder(verifier).revocation_checker(Arc::new(crls)).build().unwrap();
    let chain = leaf.presented();
    let request = |now| AuthRequest::new(Credential::Chain(&chain), now);
    block_on(auth.authenticate(&request(at()))).unwrap();
    server
        .set("/root.crl", Answer::Body(root.crl().number(2).revoke(&leaf).build().der().to_vec()));
    let mut tries = 0;
    let e = loop {
        match block_on(auth.authenticate(&request(at().plus_secs(10)))) {
            Ok(_) => tries += 1,
            Err(e) => break e,
        }
        assert!(tries < 1000, "the revocation never took effect");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");

    // The whole chain: an intermediate revoked by the root's CRL.
    let inter_url = server.url("/inter.crl");
    let inter = root
        .leaf("Issuing")
        .serial(&[0x11, 0x22, 0x33])
        .ca(true)
        .crl_distribution_point(&url)
        .build_issuer();
    let below = inter.leaf("below").crl_distribution_point(&inter_url).build();
    server.set("/inter.crl", Answer::Body(inter.crl().build().der().to_vec()));
    server.set(
        "/root.crl",
        Answer::Body(
            root.crl().number(3).revoke_serial(&[0x11, 0x22, 0x33]).build().der().to_vec(),
        ),
    );
    let verifier = verifier_of(&root);
    let chain = verifier.verify(&below.presented(), at()).unwrap();
    let whole = checker(&verifier, |b| b.depth(RevocationDepth::Chain));
    let e = check(&whole, &chain, at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Revoked, "{e}");
    assert!(e.message().starts_with("an intermediate: "), "{e}");
    // The leaf alone: its issuer lacks cRLSign, so its CRL is not accepted.
    let leaf_only = checker(&verifier, |b| b);
    let e = check(&leaf_only, &chain, at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationUnknown, "{e}");
    assert!(e.message().contains("crlSign"), "{e}");
}

/// `certauth verify --crl-from-distribution-points`: accepted, revoked (exit 1 with the
/// library's kind), and no distribution point is `revocation_unknown`.
#[cfg(feature = "cli")]
#[test]
fn cli_verify_with_crl_from_distribution_points() {
    let server = Server::start();
    let root = Ca::root("CRLDP Root");
    let url = server.url("/root.crl");
    let good = root.leaf("good").crl_distribution_point(&url).build();
    let revoked = root.leaf("revoked").crl_distribution_point(&url).build();
    let none = root.leaf("none").build();
    server.set("/root.crl", Answer::Body(root.crl().revoke(&revoked).build().der().to_vec()));
    let dir = std::env::temp_dir().join(format!("certauth-crldp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let trust = write("root.pem", root.pem());
    let run = |leaf: &Leaf, name: &str| {
        let file = write(name, leaf.pem());
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_certauth"))
            .args(["verify", "--trust", &trust, "--at", "2026-06-01T00:00:00Z"])
            .args(["--crl-from-distribution-points", &file])
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
    };
    let (code, stdout, stderr) = run(&good, "good.pem");
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("accepted: CN=good"), "{stdout}");
    let (code, _, stderr) = run(&revoked, "revoked.pem");
    assert_eq!(code, 1);
    assert!(stderr.starts_with("rejected: revoked: the client certificate: crl from"), "{stderr}");
    let (code, _, stderr) = run(&none, "none.pem");
    assert_eq!(code, 1);
    assert!(stderr.starts_with("rejected: revocation_unknown:"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
