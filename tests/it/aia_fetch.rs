//! Fetching a missing intermediate from the leaf's caIssuers URL: a real HTTP server on
//! 127.0.0.1 (`common::serve`, which counts the connections it accepts)
//! serves the issuer; the verifier fetches it only when opted in, only from allowed
//! hosts, and bounds, caches and refuses what the server answers.

use std::time::Duration;

use certauth::testkit::pki::{Ca, Leaf};
use certauth::{
    AuthRequest, Authenticator, CacheConfig, Credential, ErrorKind, IntermediateFetch,
    RING_ALGORITHMS, Timestamp, TrustStore, Verifier,
};

use crate::common::serve::{Answer, Server};
use crate::common::{at, block_on};

fn store(root: &Ca) -> TrustStore {
    TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().check_at(at()).build().unwrap()
}

fn fetching(root: &Ca, fetch: IntermediateFetch) -> Verifier {
    Verifier::builder(store(root), RING_ALGORITHMS)
        .fetch_missing_intermediates(fetch)
        .build()
        .unwrap()
}

fn allow(server: &Server) -> IntermediateFetch {
    IntermediateFetch::from_hosts([server.host()]).unwrap()
}

/// A leaf issued by `inter` naming `url` as where its issuer is, presented alone.
fn leaf_pointing_at(inter: &Ca, name: &str, url: &str) -> Leaf {
    inter.leaf(name).ca_issuers_url(url).build()
}

fn alone(leaf: &Leaf) -> certauth::PresentedChain {
    certauth::PresentedChain::new(
        vec![leaf.der().clone()],
        certauth::Source::Bytes,
        certauth::Format::Der,
        &certauth::Limits::default(),
    )
    .unwrap()
}

#[test]
fn a_leaf_only_chain_verifies_with_its_issuer_fetched_and_is_refused_without_fetching() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    server.set("/issuing.crt", Answer::Body(inter.der().to_vec()));
    let leaf = leaf_pointing_at(&inter, "client", &server.url("/issuing.crt"));

    // The default: no fetching, no connection.
    let default = Verifier::builder(store(&root), RING_ALGORITHMS).build().unwrap();
    let e = default.verify(&alone(&leaf), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer, "{e}");
    assert_eq!(server.accepts(), 0);

    let verifier = fetching(&root, allow(&server));
    let verified = verifier.verify(&alone(&leaf), at()).unwrap();
    assert_eq!(verified.certificates(), [leaf.der().clone(), inter.der().clone()]);
    assert_eq!(server.accepts(), 1);

    // PEM is served as well.
    server.set("/issuing.pem", Answer::Body(inter.pem().into_bytes()));
    let pem_leaf = leaf_pointing_at(&inter, "pem-client", &server.url("/issuing.pem"));
    verifier.verify(&alone(&pem_leaf), at()).unwrap();
}

#[test]
fn a_host_not_on_the_allow_list_is_never_contacted() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    server.set("/issuing.crt", Answer::Body(inter.der().to_vec()));
    let leaf = leaf_pointing_at(&inter, "client", &server.url("/issuing.crt"));
    for allowed in [
        "127.0.0.1".to_owned(), // port 80 only
        format!("127.0.0.2:{}", server.port),
        format!("localhost:{}", server.port),
        format!("127.0.0.1:{}", server.port + 1),
    ] {
        let verifier = fetching(&root, IntermediateFetch::from_hosts([&allowed]).unwrap());
        let e = verifier.verify(&alone(&leaf), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownIssuer, "{allowed}: {e}");
        assert!(e.message().contains("caIssuers host 127.0.0.1 is not allowed"), "{e}");
    }
    assert_eq!(server.accepts(), 0);
}

#[test]
fn a_ca_issuers_url_that_is_not_plain_http_is_not_fetched() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    let verifier = fetching(&root, allow(&server));
    for url in [
        format!("https://127.0.0.1:{}/issuing.crt", server.port),
        format!("file:///etc/passwd#127.0.0.1:{}", server.port),
        format!("ldap://127.0.0.1:{}/cn=ca", server.port),
        format!("http://user@127.0.0.1:{}/issuing.crt", server.port),
    ] {
        let leaf = leaf_pointing_at(&inter, "client", &url);
        let e = verifier.verify(&alone(&leaf), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownIssuer, "{url}: {e}");
        assert!(e.message().contains("not a plain http url"), "{e}");
    }
    let without = inter.leaf("no-aia").build();
    let e = verifier.verify(&alone(&without), at()).unwrap_err();
    assert!(e.message().contains("names no caIssuers url"), "{e}");
    assert_eq!(server.accepts(), 0);
}

#[test]
fn a_fetched_certificate_that_is_not_the_issuer_does_not_help() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    // Another name altogether.
    server.set("/other.crt", Answer::Body(root.intermediate("Someone Else").der().to_vec()));
    // The issuer's name under the same anchor, but another key: the leaf's signature fails.
    server.set("/twin.crt", Answer::Body(root.intermediate("Fetch Issuing CA").der().to_vec()));
    // The issuer's name and key under another root of the anchor's name.
    let impostor_root = Ca::root("Fetch Root");
    server.set(
        "/impostor.crt",
        Answer::Body(impostor_root.intermediate("Fetch Issuing CA").der().to_vec()),
    );
    // The leaf itself, and the anchor.
    let verifier = fetching(&root, allow(&server));
    for path in ["/other.crt", "/twin.crt", "/impostor.crt", "/root.crt"] {
        server.set("/root.crt", Answer::Body(root.der().to_vec()));
        let leaf = leaf_pointing_at(&inter, "client", &server.url(path));
        let e = verifier.verify(&alone(&leaf), at()).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::UnknownIssuer | ErrorKind::BadSignature),
            "{path}: {e}"
        );
    }
    let leaf = leaf_pointing_at(&inter, "client", &server.url("/self.crt"));
    server.set("/self.crt", Answer::Body(leaf.der().to_vec()));
    let e = verifier.verify(&alone(&leaf), at()).unwrap_err();
    assert!(e.message().contains("is not the missing issuer"), "{e}");
}

#[test]
fn oversized_slow_garbage_redirected_and_refused_responses_are_typed_errors() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    server.set("/good.crt", Answer::Body(inter.der().to_vec()));
    let mut big = inter.der().to_vec();
    big.resize(64 * 1024 + 1, 0);
    server.set("/big.crt", Answer::Body(big));
    server.set("/garbage.crt", Answer::Body(b"<html>it works</html>".to_vec()));
    server.set("/truncated.crt", Answer::Body(inter.der()[..100].to_vec()));
    server.set(
        "/pkcs7.p7c",
        Answer::Body(b"\x30\x0b\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02".to_vec()),
    );
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nLocation: {}\r\nContent-Length: 0\r\n\r\n",
        server.url("/good.crt")
    );
    server.set("/moved.crt", Answer::Raw(redirect.into_bytes()));
    server.set(
        "/broken.crt",
        Answer::Raw(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".to_vec()),
    );
    server.set("/not-http.crt", Answer::Raw(b"SSH-2.0-OpenSSH_9.6\r\n\r\n".to_vec()));
    server.set("/slow.crt", Answer::Silence);
    let verifier = fetching(&root, allow(&server).timeout(Duration::from_millis(300)));
    for (path, says) in [
        ("/big.crt", "larger than 65536 bytes"),
        ("/garbage.crt", "neither a der nor a pem certificate"),
        ("/truncated.crt", "fetching the issuer from"),
        ("/pkcs7.p7c", "pkcs#7 responses are not supported"),
        ("/moved.crt", "redirect refused (status 302)"),
        ("/broken.crt", "status 500"),
        ("/missing.crt", "status 404"),
        ("/not-http.crt", "not an http/1.x response"),
        ("/slow.crt", "timed out"),
    ] {
        let leaf = leaf_pointing_at(&inter, "client", &server.url(path));
        let e = verifier.verify(&alone(&leaf), at()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownIssuer, "{path}: {e}");
        assert!(e.message().contains(says), "{path}: {e}");
        assert!(e.message().contains(&server.url(path)), "{path}: {e}");
    }
    // One connection per URL: the redirect was not followed.
    assert_eq!(server.accepts(), 9);
}

#[test]
fn many_verifications_make_one_fetch_and_concurrent_ones_share_it() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    server.set("/issuing.crt", Answer::Body(inter.der().to_vec()));
    let url = server.url("/issuing.crt");
    let verifier = fetching(&root, allow(&server));
    let leaves: Vec<Leaf> =
        (0..8).map(|i| leaf_pointing_at(&inter, &format!("client-{i}"), &url)).collect();
    std::thread::scope(|s| {
        for leaf in &leaves {
            let verifier = verifier.clone();
            s.spawn(move || verifier.verify(&alone(leaf), at()).unwrap());
        }
    });
    for leaf in &leaves {
        verifier.verify(&alone(leaf), at().plus_secs(3599)).unwrap();
    }
    assert_eq!(server.accepts(), 1);
    // After the cache time, the URL is fetched again.
    verifier.verify(&alone(&leaves[0]), at().plus_secs(3601)).unwrap();
    assert_eq!(server.accepts(), 2);
}

#[test]
fn a_failed_fetch_is_retried_only_after_the_failure_ttl() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    server.set(
        "/issuing.crt",
        Answer::Raw(b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".to_vec()),
    );
    let leaf = leaf_pointing_at(&inter, "client", &server.url("/issuing.crt"));
    let verifier = fetching(&root, allow(&server).failure_ttl(Duration::from_secs(30)));
    for s in 0..=30 {
        let e = verifier.verify(&alone(&leaf), at().plus_secs(s)).unwrap_err();
        assert!(e.message().contains("status 503"), "{e}");
    }
    assert_eq!(server.accepts(), 1);
    // The server recovers; the failure is still remembered until its time is up.
    server.set("/issuing.crt", Answer::Body(inter.der().to_vec()));
    verifier.verify(&alone(&leaf), at().plus_secs(30)).unwrap_err();
    verifier.verify(&alone(&leaf), at().plus_secs(31)).unwrap();
    assert_eq!(server.accepts(), 2);
}

#[test]
fn a_fetched_intermediate_missing_its_own_issuer_is_fetched_in_turn_within_the_bound() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let upper = root.intermediate("Fetch Upper CA");
    let lower = upper.sub_ca("Fetch Lower CA").ca_issuers_url(&server.url("/upper.crt")).build();
    server.set("/upper.crt", Answer::Body(upper.der().to_vec()));
    server.set("/lower.crt", Answer::Body(lower.der().to_vec()));
    let leaf = leaf_pointing_at(&lower, "client", &server.url("/lower.crt"));

    let once = fetching(&root, allow(&server).max_fetches(1));
    let e = once.verify(&alone(&leaf), at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer, "{e}");
    assert_eq!(server.accepts(), 1);

    let twice = fetching(&root, allow(&server));
    let verified = twice.verify(&alone(&leaf), at()).unwrap();
    assert_eq!(verified.certificates().len(), 3);
    assert_eq!(server.accepts(), 3);

    // The client presents the lower CA: only the upper one is fetched.
    let presented = certauth::PresentedChain::new(
        vec![leaf.der().clone(), lower.der().clone()],
        certauth::Source::Bytes,
        certauth::Format::Der,
        &certauth::Limits::default(),
    )
    .unwrap();
    let fresh = fetching(&root, allow(&server).max_fetches(1));
    fresh.verify(&presented, at()).unwrap();
    assert_eq!(server.accepts(), 4);
}

#[test]
fn a_complete_chain_fetches_nothing() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    server.set("/issuing.crt", Answer::Body(inter.der().to_vec()));
    let leaf = leaf_pointing_at(&inter, "client", &server.url("/issuing.crt"));
    let verifier = fetching(&root, allow(&server));
    verifier.verify(&leaf.presented(), at()).unwrap();
    // A leaf of the root itself, and a chain to an unknown root, fetch nothing either.
    verifier.verify(&alone(&root.leaf("direct").build()), at()).unwrap();
    let stranger = Ca::root("Stranger Root").intermediate("Stranger CA");
    let e = verifier.verify(&leaf_pointing_at(&stranger, "x", "http://a/").presented(), at());
    assert_eq!(e.unwrap_err().kind(), ErrorKind::UnknownIssuer);
    assert_eq!(server.accepts(), 0);
}

#[test]
fn the_authenticator_caches_a_success_and_forgets_a_refused_fetch_with_the_failure_ttl() {
    let server = Server::start();
    let root = Ca::root("Fetch Root");
    let inter = root.intermediate("Fetch Issuing CA");
    server.set(
        "/issuing.crt",
        Answer::Raw(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".to_vec()),
    );
    let leaf = leaf_pointing_at(&inter, "client", &server.url("/issuing.crt"));
    let verifier = fetching(&root, allow(&server).failure_ttl(Duration::from_secs(5)));
    // Failures would be remembered for five minutes, but not past the fetch's own.
    let auth = Authenticator::builder(verifier)
        .cache(CacheConfig::default().with_failure_ttl_secs(300))
        .build()
        .unwrap();
    let chain = alone(&leaf);
    let authenticate = |now: Timestamp| {
        block_on(auth.authenticate(&AuthRequest::new(Credential::Chain(&chain), now)))
    };
    let e = authenticate(at()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer, "{e}");
    server.set("/issuing.crt", Answer::Body(inter.der().to_vec()));
    authenticate(at().plus_secs(4)).unwrap_err();
    assert_eq!(server.accepts(), 1);
    let ok = authenticate(at().plus_secs(6)).unwrap();
    assert_eq!(ok.identity().chain().certificates().len(), 2);
    assert_eq!(server.accepts(), 2);
    // Cached as any other success: the server going away changes nothing.
    drop(server);
    authenticate(at().plus_secs(7)).unwrap();
    authenticate(at().plus_secs(600)).unwrap();
}
