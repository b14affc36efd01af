//! The Authenticator end to end: cache, registry (rotation, suspension, client-id flow,
//! file reload), rules, binding, revocation checker, report-only, events, concurrency.

use std::sync::{Arc, Mutex};

use certauth::registry::file::RegistryFile;
use certauth::registry::{MemoryRegistry, RegisteredClient, RegistrationError, Registry};
use certauth::testkit::pki::{Ca, KeyType, Leaf};
use certauth::{AuthEvent, CheckOutcome, Unregistered};
use certauth::{
    AuthRequest, Authenticator, Credential, ErrorKind, Timestamp, TrustStore, Verifier,
};
use certauth::{IdentityRule, ValueMatch};
use certauth::{RING_ALGORITHMS, RevokedSerials};

fn at() -> Timestamp {
    Timestamp::parse_rfc3339("2026-06-01T00:00:00Z").unwrap()
}

fn later(days: i64) -> Timestamp {
    at().plus_secs(days * 86_400)
}

fn verifier(root: &Ca) -> Verifier {
    let store = TrustStore::builder()
        .add_pem(root.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    Verifier::builder(store, RING_ALGORITHMS).build().unwrap()
}

struct World {
    root: Ca,
    inter: Ca,
    registry: Arc<MemoryRegistry>,
    auth: Authenticator,
    events: Arc<Mutex<Vec<AuthEvent>>>,
}

fn world(
    edit: impl FnOnce(certauth::AuthenticatorBuilder) -> certauth::AuthenticatorBuilder,
) -> World {
    let root = Ca::root("Auth Root");
    let inter = root.intermediate("Auth Issuing CA");
    let registry = Arc::new(MemoryRegistry::new());
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let builder = Authenticator::builder(verifier(&root))
        .registry(registry.clone())
        .on_event(move |e| sink.lock().unwrap().push(e.clone()));
    let auth = edit(builder).build().unwrap();
    World { root, inter, registry, auth, events }
}

fn register(w: &World, id: &str, leaf: &Leaf) {
    if w.registry.add_client(RegisteredClient::new(id, id).with_metadata("tier", "gold")).is_err() {
        // Already there: add another certificate.
    }
    w.registry.register_certificate(id, &leaf.certificate(), at(), None).unwrap();
}

async fn auth(
    w: &World,
    leaf: &Leaf,
    now: Timestamp,
) -> certauth::Result<certauth::AuthenticatedClient> {
    let chain = leaf.presented();
    w.auth.authenticate(&AuthRequest::new(Credential::Chain(&chain), now)).await
}

#[tokio::test]
async fn registered_client_is_found_and_the_second_request_hits_the_cache() {
    let w = world(|b| b);
    let leaf = w.inter.leaf("billing").build();
    register(&w, "billing", &leaf);
    let ok = auth(&w, &leaf, at()).await.unwrap();
    assert_eq!(ok.client_id(), Some("billing"));
    assert_eq!(ok.client().unwrap().metadata("tier"), Some("gold"));
    assert_eq!(ok.thumbprint(), &leaf.thumbprint());
    let chain = leaf.presented();
    let (again, trace) =
        w.auth.authenticate_traced(&AuthRequest::new(Credential::Chain(&chain), at())).await;
    assert!(again.is_ok());
    let cache = trace.steps.iter().find(|s| s.check == "cache").unwrap();
    assert_eq!((cache.outcome.clone(), cache.detail.as_str()), (CheckOutcome::Passed, "hit"));
    assert!(trace.steps.iter().all(|s| s.check != "verify"), "{trace}");
    assert_eq!(w.auth.cache_len(), 1);
}

#[tokio::test]
async fn rotation_overlap_then_retirement() {
    let w = world(|b| b);
    let old = w.inter.leaf("svc-old").build();
    let new = w.inter.leaf("svc-new").build();
    register(&w, "svc", &old);
    register(&w, "svc", &new);
    w.registry.set_retire_after(&old.thumbprint(), Some(later(10))).unwrap();
    for leaf in [&old, &new] {
        assert_eq!(auth(&w, leaf, later(5)).await.unwrap().client_id(), Some("svc"));
    }
    let e = auth(&w, &old, later(11)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ClientSuspended);
    assert!(e.message().contains("retired"), "{e}");
    assert!(auth(&w, &new, later(11)).await.is_ok());
}

#[tokio::test]
async fn suspension_and_removal_take_effect_through_a_warm_cache() {
    let w = world(|b| b);
    let leaf = w.inter.leaf("api").build();
    register(&w, "api", &leaf);
    assert!(auth(&w, &leaf, at()).await.is_ok());
    w.registry.suspend("api").unwrap();
    assert_eq!(auth(&w, &leaf, at()).await.unwrap_err().kind(), ErrorKind::ClientSuspended);
    w.registry.activate("api").unwrap();
    assert!(auth(&w, &leaf, at()).await.is_ok());
    w.registry.remove_certificate(&leaf.thumbprint()).unwrap();
    assert_eq!(auth(&w, &leaf, at()).await.unwrap_err().kind(), ErrorKind::UnknownClient);
}

#[tokio::test]
async fn registration_refusals() {
    let w = world(|b| b);
    w.registry.add_client(RegisteredClient::new("a", "A")).unwrap();
    w.registry.add_client(RegisteredClient::new("b", "B")).unwrap();
    assert!(matches!(
        w.registry.add_client(RegisteredClient::new("a", "again")),
        Err(RegistrationError::DuplicateClient(_))
    ));
    let expired = w.inter.leaf("old").valid(Timestamp::from_unix_secs(0), later(-1)).build();
    assert!(matches!(
        w.registry.register_certificate("a", &expired.certificate(), at(), None),
        Err(RegistrationError::Expired(_))
    ));
    let weak = w.inter.leaf("weak").key(KeyType::Rsa1024).build();
    let err = w.registry.register_certificate("a", &weak.certificate(), at(), None).unwrap_err();
    assert!(matches!(&err, RegistrationError::WeakKey(m) if m.contains("1024")), "{err}");
    let shared = w.inter.leaf("shared").build();
    w.registry.register_certificate("a", &shared.certificate(), at(), None).unwrap();
    assert!(matches!(
        w.registry.register_certificate("b", &shared.certificate(), at(), None),
        Err(RegistrationError::OwnedByAnother(owner)) if owner == "a"
    ));
    assert!(matches!(
        w.registry.register_certificate("nobody", &shared.certificate(), at(), None),
        Err(RegistrationError::UnknownClient(_))
    ));
}

#[tokio::test]
async fn trust_store_replacement_invalidates_cached_verifications() {
    let w = world(|b| b.unregistered(Unregistered::Anonymous));
    let leaf = w.inter.leaf("c").build();
    assert!(auth(&w, &leaf, at()).await.is_ok());
    let other = Ca::root("Other Root");
    w.auth
        .verifier()
        .replace_trust_store(
            TrustStore::builder()
                .add_pem(other.pem().as_bytes())
                .unwrap()
                .check_at(at())
                .build()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(auth(&w, &leaf, at()).await.unwrap_err().kind(), ErrorKind::UnknownIssuer);
    let _ = &w.root;
}

#[tokio::test]
async fn unregistered_certificates_rejected_or_anonymous_and_reported() {
    let strict = world(|b| b);
    let leaf = strict.inter.leaf("stranger").build();
    assert_eq!(auth(&strict, &leaf, at()).await.unwrap_err().kind(), ErrorKind::UnknownClient);
    assert!(matches!(
        strict.events.lock().unwrap().as_slice(),
        [AuthEvent::UnregisteredCertificate { thumbprint, .. }] if *thumbprint == leaf.thumbprint()
    ));
    let open = world(|b| b.unregistered(Unregistered::Anonymous));
    let leaf = open.inter.leaf("stranger").build();
    let ok = auth(&open, &leaf, at()).await.unwrap();
    assert_eq!(ok.client_id(), None);
    // A reject policy without a registry is a configuration error.
    let root = Ca::root("R");
    assert_eq!(
        Authenticator::builder(verifier(&root)).unregistered(Unregistered::Reject).build().err(),
        Some(certauth::ConfigError::RejectUnregisteredWithoutRegistry)
    );
}

#[tokio::test]
async fn client_id_flow_requires_the_certificate_to_belong_to_the_named_client() {
    let w = world(|b| b);
    let a = w.inter.leaf("a").build();
    let b = w.inter.leaf("b").build();
    register(&w, "app-a", &a);
    register(&w, "app-b", &b);
    let chain = a.presented();
    let req = |id| AuthRequest::new(Credential::Chain(&chain), at()).client_id(id);
    assert_eq!(w.auth.authenticate(&req("app-a")).await.unwrap().client_id(), Some("app-a"));
    assert_eq!(
        w.auth.authenticate(&req("app-b")).await.unwrap_err().kind(),
        ErrorKind::IdentityMismatch
    );
    assert_eq!(
        w.auth.authenticate(&req("nope")).await.unwrap_err().kind(),
        ErrorKind::UnknownClient
    );
}

#[tokio::test]
async fn identity_mapping_registers_by_spiffe_id() {
    let w = world(|b| b);
    w.registry.add_client(RegisteredClient::new("mesh", "Mesh workloads")).unwrap();
    w.registry
        .map_identity(
            IdentityRule::Spiffe(certauth::SpiffeMatch::TrustDomain("example.org".into())),
            "mesh",
        )
        .unwrap();
    let leaf = w.inter.leaf("w").spiffe("spiffe://example.org/ns/a/sa/b").build();
    assert_eq!(auth(&w, &leaf, at()).await.unwrap().client_id(), Some("mesh"));
}

#[tokio::test]
async fn rules_binding_revocation_checker_and_report_only() {
    let revoked = Arc::new(RevokedSerials::new());
    let checker = revoked.clone();
    let w = world(move |b| {
        b.unregistered(Unregistered::Anonymous)
            .identity_rule(IdentityRule::subject(
                "CN",
                ValueMatch::OneOf(vec!["ok".into(), "ok2".into()]),
            ))
            .revocation_checker(checker)
    });
    let good = w.inter.leaf("ok").build();
    let bad = w.inter.leaf("nope").build();
    assert!(auth(&w, &good, at()).await.is_ok());
    assert_eq!(auth(&w, &bad, at()).await.unwrap_err().kind(), ErrorKind::IdentityMismatch);

    // Binding: right, wrong, missing confirmation.
    let chain = good.presented();
    let right = good.thumbprint().to_x5t_s256();
    let req = AuthRequest::new(Credential::Chain(&chain), at());
    assert!(w.auth.authenticate(&req.token_confirmation(Some(&right))).await.is_ok());
    let wrong = certauth::Thumbprint::of(b"x").to_x5t_s256();
    assert_eq!(
        w.auth.authenticate(&req.token_confirmation(Some(&wrong))).await.unwrap_err().kind(),
        ErrorKind::BindingMismatch
    );
    assert_eq!(
        w.auth.authenticate(&req.token_confirmation(None)).await.unwrap_err().kind(),
        ErrorKind::BindingMismatch
    );

    // A revocation pushed to the checker applies to the cached certificate at once.
    revoked.revoke(&good.certificate());
    assert_eq!(auth(&w, &good, at()).await.unwrap_err().kind(), ErrorKind::Revoked);

    // Report-only: the error still comes back, and a WouldReject event is raised.
    let ro = world(|b| b.report_only());
    assert!(ro.auth.is_report_only());
    let stranger = ro.inter.leaf("x").build();
    assert!(auth(&ro, &stranger, at()).await.is_err());
    assert!(
        ro.events
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, AuthEvent::WouldReject { kind: ErrorKind::UnknownClient, .. }))
    );
}

#[tokio::test]
async fn expiring_certificates_are_reported() {
    let w = world(|b| b.expiry_warning_secs(30 * 86_400));
    let soon = w.inter.leaf("soon").valid(Timestamp::from_unix_secs(0), later(20)).build();
    register(&w, "soon", &soon);
    assert!(auth(&w, &soon, at()).await.is_ok());
    assert!(w.events.lock().unwrap().iter().any(
        |e| matches!(e, AuthEvent::CertificateExpiringSoon { client_id, .. } if client_id == "soon")
    ));
    let listed = w.registry.expiring_before(later(30)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].thumbprint, soon.thumbprint());
}

#[tokio::test]
async fn registry_file_round_trip_and_atomic_reload() {
    let w = world(|b| b);
    let leaf = w.inter.leaf("filed").build();
    let json = format!(
        r#"{{"clients": [{{"id": "filed", "name": "Filed", "metadata": {{"scopes": "a b"}},
            "certificates": [{{"pem": {pem:?}}}]}},
            {{"id": "byprint", "status": "suspended", "certificates": [{{"x5t#S256": "{x5t}"}}]}}]}}"#,
        pem = leaf.pem(),
        x5t = certauth::Thumbprint::of(b"other").to_x5t_s256()
    );
    let file = RegistryFile::from_json(json.as_bytes()).unwrap();
    w.registry.load(&file, at()).unwrap();
    assert_eq!(w.registry.client_count(), 2);
    assert_eq!(
        auth(&w, &leaf, at()).await.unwrap().client().unwrap().metadata("scopes"),
        Some("a b")
    );
    // A bad file changes nothing.
    let bad =
        RegistryFile::from_json(br#"{"clients": [{"id": "x", "certificates": [{}]}]}"#).unwrap();
    assert!(w.registry.load(&bad, at()).is_err());
    assert_eq!(w.registry.client_count(), 2);
    assert!(RegistryFile::from_json(br#"{"clients": [], "extra": 1}"#).is_err());
    // Save and load into a fresh registry: same clients and certificates.
    let path = std::env::temp_dir().join(format!("certauth-registry-{}.json", std::process::id()));
    w.registry.save_file(&path).unwrap();
    let copy = MemoryRegistry::new();
    copy.load_file(&path, at()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(copy.clients(), w.registry.clients());
}

#[test]
fn concurrent_authentication_while_registry_and_trust_store_change() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
    rt.block_on(async {
        let w = Arc::new(world(|b| b));
        let leaves: Vec<Leaf> = (0..8).map(|i| w.inter.leaf(&format!("c{i}")).build()).collect();
        for (i, leaf) in leaves.iter().enumerate() {
            register(&w, &format!("c{i}"), leaf);
        }
        // c0 is suspended for good; it must never be accepted.
        w.registry.suspend("c0").unwrap();
        let leaves = Arc::new(leaves);
        let mut tasks = Vec::new();
        for t in 0..8 {
            let (w, leaves) = (w.clone(), leaves.clone());
            tasks.push(tokio::spawn(async move {
                let mut accepted = 0;
                for i in 0..200 {
                    let leaf = &leaves[(t + i) % leaves.len()];
                    let chain = leaf.presented();
                    let r = w
                        .auth
                        .authenticate(&AuthRequest::new(Credential::Chain(&chain), at()))
                        .await;
                    let name = leaf.certificate().subject().common_name().unwrap().to_owned();
                    match r {
                        Ok(c) => {
                            assert_ne!(name, "c0", "a suspended client was accepted");
                            assert_eq!(c.client_id(), Some(name.as_str()));
                            accepted += 1;
                        }
                        Err(e) => assert!(
                            name == "c0" || name == "c1",
                            "unexpected refusal of {name}: {e}"
                        ),
                    }
                }
                accepted
            }));
        }
        // Meanwhile: toggle c1, and rotate the trust store to an equivalent one.
        for _ in 0..50 {
            w.registry.suspend("c1").unwrap();
            w.registry.activate("c1").unwrap();
            w.auth
                .verifier()
                .replace_trust_store(
                    TrustStore::builder()
                        .add_pem(w.root.pem().as_bytes())
                        .unwrap()
                        .check_at(at())
                        .build()
                        .unwrap(),
                )
                .unwrap();
            tokio::task::yield_now().await;
        }
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap();
        }
        assert!(total > 1000, "accepted {total}");
    });
}

#[tokio::test]
async fn p192_and_rsa_1024_leaves_are_weak_keys() {
    let w = world(|b| b.unregistered(Unregistered::Anonymous));
    for (key, size) in [(KeyType::EcdsaP192, "P-192"), (KeyType::Rsa1024, "1024")] {
        let leaf = w.inter.leaf("weak").key(key).build();
        let e = auth(&w, &leaf, at()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WeakKey, "{key:?}");
        assert!(e.message().contains(size), "{e}");
    }
    let ok = w.inter.leaf("rsa").key(KeyType::Rsa2048).build();
    assert!(auth(&w, &ok, at()).await.is_ok());
}

/// TLS chains are cached under the whole presented chain, byte for byte: a leaf verified
/// once with its intermediate is not a cache hit when presented without it.
#[tokio::test]
async fn tls_chains_are_cached_under_every_certificate() {
    let w = world(|b| b.unregistered(Unregistered::Anonymous));
    let leaf = w.inter.leaf("tls").build();
    let chain = leaf.chain();
    assert_eq!(chain.len(), 2);
    let tls = |certs| AuthRequest::new(Credential::Tls(certs), at());
    assert!(w.auth.authenticate(&tls(&chain)).await.is_ok());
    let (again, trace) = w.auth.authenticate_traced(&tls(&chain)).await;
    assert!(again.is_ok());
    assert!(trace.steps.iter().any(|s| s.check == "cache" && s.detail == "hit"), "{trace}");
    // The leaf alone does not chain to the root (no intermediate pool), cache or not.
    let e = w.auth.authenticate(&tls(&chain[..1])).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    // Nor does the leaf with another, unrelated certificate in the intermediate's place.
    let other = [chain[0].clone(), w.root.der().clone()];
    assert_eq!(
        w.auth.authenticate(&tls(&other)).await.unwrap_err().kind(),
        ErrorKind::UnknownIssuer
    );
    assert_eq!(w.auth.cache_len(), 1);
}

// --- Cache soundness and bounded work: each test names the weakness it rules out. ---

fn plain(root: &Ca) -> Authenticator {
    Authenticator::builder(verifier(root)).build().unwrap()
}

#[tokio::test]
async fn a_cached_identity_reports_where_this_requests_chain_came_from() {
    let root = Ca::root("Auth Root");
    let leaf = root.intermediate("Auth Issuing CA").leaf("client").build();
    let a = plain(&root);
    let chain = leaf.chain();
    let tls = a.authenticate(&AuthRequest::new(Credential::Tls(&chain), at())).await.unwrap();
    assert_eq!(tls.identity().chain().source(), &certauth::Source::Tls);
    let forwarded = certauth::PresentedChain::new(
        chain.clone(),
        certauth::Source::Header("client-cert".into()),
        certauth::Format::Der,
        &certauth::Limits::default(),
    )
    .unwrap();
    let header =
        a.authenticate(&AuthRequest::new(Credential::Chain(&forwarded), at())).await.unwrap();
    assert_eq!(header.identity().chain().source(), &certauth::Source::Header("client-cert".into()));
}

#[tokio::test]
async fn a_client_id_without_a_registry_is_never_passed_unchecked() {
    let root = Ca::root("Auth Root");
    let leaf = root.leaf("client").build();
    let a = plain(&root);
    let chain = leaf.chain();
    let e = a
        .authenticate(&AuthRequest::new(Credential::Tls(&chain), at()).client_id("admin"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownClient);
    assert!(a.authenticate(&AuthRequest::new(Credential::Tls(&chain), at())).await.is_ok());
}

#[tokio::test]
async fn junk_appended_to_one_leaf_takes_one_cache_entry_and_no_new_verification() {
    let root = Ca::root("Auth Root");
    let inter = root.intermediate("Auth Issuing CA");
    let leaf = inter.leaf("client").build();
    let other = inter.leaf("other client").build();
    let a = plain(&root);
    let other_chain = other.chain();
    a.authenticate(&AuthRequest::new(Credential::Tls(&other_chain), at())).await.unwrap();
    for i in 0..20 {
        let mut chain = leaf.chain();
        chain.push(Ca::root(&format!("junk {i}")).der().clone());
        let (r, trace) =
            a.authenticate_traced(&AuthRequest::new(Credential::Tls(&chain), at())).await;
        r.unwrap();
        assert_eq!(a.cache_len(), 2, "presentation {i}: one entry per leaf");
        let verified = trace.steps.iter().any(|s| s.check == "verify");
        assert_eq!(verified, i == 0, "presentation {i}: only the first one verifies");
    }
    // The other client's entry survived.
    let (_, trace) =
        a.authenticate_traced(&AuthRequest::new(Credential::Tls(&other_chain), at())).await;
    assert!(!trace.steps.iter().any(|s| s.check == "verify"));
}

#[tokio::test]
async fn a_presentation_without_the_verified_path_is_verified_again() {
    let root = Ca::root("Auth Root");
    let inter = root.intermediate("Auth Issuing CA");
    let leaf = inter.leaf("client").build();
    let a = plain(&root);
    let full = leaf.chain();
    a.authenticate(&AuthRequest::new(Credential::Tls(&full), at())).await.unwrap();
    // The leaf alone: the intermediate the cached path used is no longer presented.
    let alone = vec![leaf.der().clone()];
    let e = a.authenticate(&AuthRequest::new(Credential::Tls(&alone), at())).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
}

#[tokio::test]
async fn a_cache_hit_never_outlives_the_crls_maximum_age_nor_precedes_the_chains_validity() {
    use certauth::{RevocationDepth, RevocationPolicy, UnknownStatus};
    let root = Ca::root("Auth Root");
    let inter = root.intermediate("Auth Issuing CA");
    let leaf = inter.leaf("client").valid(at().plus_secs(-3600), later(365)).build();
    let crl = inter.crl().this_update(at().plus_secs(-60)).next_update(later(30)).number(1).build();
    let store = TrustStore::builder()
        .add_pem(root.pem().as_bytes())
        .unwrap()
        .add_crl(crl.pem().as_bytes())
        .unwrap()
        .add_pem(inter.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let policy =
        RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny).with_max_age_secs(3600);
    let v = Verifier::builder(store, RING_ALGORITHMS).revocation(policy).build().unwrap();
    let cached = Authenticator::builder(v.clone()).build().unwrap();
    let chain = leaf.chain();
    let req = |t| AuthRequest::new(Credential::Tls(&chain), t);
    cached.authenticate(&req(at())).await.unwrap();
    // Two hours later the CRL is older than its maximum age: a full verification refuses,
    // and so must the cache.
    let e = cached.authenticate(&req(at().plus_secs(7200))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RevocationStale);
    // Before the leaf's notBefore, a cached success must not answer either.
    let e = cached.authenticate(&req(at().plus_secs(-7200))).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotYetValid);
}

#[tokio::test]
async fn a_refused_chain_sent_again_is_answered_without_verifying() {
    let root = Ca::root("Auth Root");
    let stranger = Ca::root("Stranger").leaf("intruder").build();
    let a = plain(&root);
    let chain = stranger.chain();
    let (r, trace) = a.authenticate_traced(&AuthRequest::new(Credential::Tls(&chain), at())).await;
    assert_eq!(r.unwrap_err().kind(), ErrorKind::UnknownIssuer);
    assert!(trace.steps.iter().any(|s| s.check == "verify"));
    for _ in 0..3 {
        let e = a.authenticate(&AuthRequest::new(Credential::Tls(&chain), at())).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::UnknownIssuer);
    }
    assert_eq!(a.cache_len(), 0, "failures never take a verified entry's place");
}

/// Regression: a registry file holding an expired certificate and one retired with a
/// past `retire_after`, each next to its valid successor, loads (a service restarts):
/// the successor authenticates, the expired one is refused by verification and the
/// retired one as retired; saving and loading again keeps all three.
#[tokio::test]
async fn registry_file_with_expired_and_retired_certificates_loads() {
    let w = world(|b| b);
    let old = w.inter.leaf("rotating").valid(Timestamp::from_unix_secs(0), later(-30)).build();
    let retired = w.inter.leaf("rotating").build();
    let current = w.inter.leaf("rotating").build();
    let json = format!(
        r#"{{"clients": [{{"id": "rotating", "certificates": [
            {{"pem": {old:?}}},
            {{"pem": {retired:?}, "retire_after": "{past}"}},
            {{"pem": {current:?}}}
        ]}}]}}"#,
        old = old.pem(),
        retired = retired.pem(),
        current = current.pem(),
        past = later(-1).to_rfc3339(),
    );
    let dir = std::env::temp_dir().join(format!("certauth-expired-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clients.json");
    std::fs::write(&path, &json).unwrap();
    w.registry.load_file(&path, at()).unwrap();
    assert_eq!(w.registry.certificate_count(), 3);
    assert_eq!(auth(&w, &current, at()).await.unwrap().client_id(), Some("rotating"));
    assert_eq!(auth(&w, &old, at()).await.unwrap_err().kind(), ErrorKind::Expired);
    assert_eq!(auth(&w, &retired, at()).await.unwrap_err().kind(), ErrorKind::ClientSuspended);
    // Saved (by thumbprint) and loaded again: still three, still loading.
    w.registry.save_file(&path).unwrap();
    let copy = MemoryRegistry::new();
    copy.load_file(&path, at()).unwrap();
    assert_eq!(copy.clients(), w.registry.clients());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every error of a registry file names the file, the client and the certificate (its
/// x5t#S256, or its place when it cannot be read), never the PEM.
#[test]
fn registry_file_errors_name_the_file_client_and_certificate() {
    let root = Ca::root("File Errors Root");
    let weak = root.leaf("weak").key(KeyType::Rsa1024).build();
    let shared = root.leaf("shared").build();
    let dir = std::env::temp_dir().join(format!("certauth-file-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clients.json");
    let load = |json: String| {
        std::fs::write(&path, json).unwrap();
        MemoryRegistry::new().load_file(&path, at()).unwrap_err()
    };
    let file = path.display().to_string();

    let e = load(format!(
        r#"{{"clients": [{{"id": "weakling", "certificates": [{{"pem": {:?}}}]}}]}}"#,
        weak.pem()
    ));
    let text = e.to_string();
    assert!(
        matches!(&e, RegistrationError::InFile { error, .. }
        if matches!(**error, RegistrationError::CertificateRefused { .. })),
        "{e:?}"
    );
    assert!(
        text.starts_with(&format!(
            "{file}: client \"weakling\": certificate x5t#S256 {}: the certificate's key is refused",
            weak.thumbprint().to_x5t_s256()
        )),
        "{text}"
    );
    assert!(!text.contains("BEGIN") && !text.contains("MII"), "{text}");

    let e = load(format!(
        r#"{{"clients": [{{"id": "a", "certificates": [{{"pem": {pem:?}}}]}},
                         {{"id": "b", "certificates": [{{"pem": {pem:?}}}]}}]}}"#,
        pem = shared.pem()
    ));
    assert_eq!(
        e.to_string(),
        format!(
            "{file}: client \"b\": certificate x5t#S256 {}: the certificate is already \
             registered to client \"a\"",
            shared.thumbprint().to_x5t_s256()
        )
    );

    let e = load(
        r#"{"clients": [{"id": "c", "certificates": [{"x5t#S256": "AAAA"}, {"pem": "junk"}]}]}"#
            .into(),
    );
    assert!(e.to_string().starts_with(&format!("{file}: client \"c\": ")), "{e}");
    let e = load(r#"{"clients": [{"id": "c", "certificates": [{"pem": "junk"}]}]}"#.into());
    assert!(e.to_string().starts_with(&format!("{file}: client \"c\": certificate 1: ")), "{e}");
    let e = load("{".into());
    assert!(e.to_string().starts_with(&format!("{file}: registry file: ")), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Counts its calls; refuses with `revoked` when told to.
#[derive(Debug, Default)]
struct Counting {
    calls: std::sync::atomic::AtomicUsize,
    refuse: bool,
}

impl certauth::RevocationChecker for Counting {
    fn check<'a>(
        &'a self,
        _: &'a certauth::VerifiedChain,
        _: Timestamp,
    ) -> certauth::BoxFuture<'a, certauth::Result<()>> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let refuse = self.refuse;
        Box::pin(async move {
            if refuse {
                Err(certauth::Error::new(ErrorKind::Revoked, "revoked by the second checker"))
            } else {
                Ok(())
            }
        })
    }
}

#[tokio::test]
async fn every_revocation_checker_runs_in_order_and_the_first_refusal_decides() {
    let calls = |c: &Counting| c.calls.load(std::sync::atomic::Ordering::SeqCst);
    let (first, second, third) = (
        Arc::new(Counting::default()),
        Arc::new(Counting { refuse: true, ..Counting::default() }),
        Arc::new(Counting::default()),
    );
    let (a, b, c) = (first.clone(), second.clone(), third.clone());
    let w = world(move |builder| {
        builder
            .unregistered(Unregistered::Anonymous)
            .revocation_checker(a)
            .revocation_checker(b)
            .revocation_checker(c)
    });
    let leaf = w.inter.leaf("client").build();
    let e = auth(&w, &leaf, at()).await.unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::Revoked, "revoked by the second checker"));
    assert_eq!((calls(&first), calls(&second), calls(&third)), (1, 1, 0));
    // Both pass: both run, on the cached path too.
    let (a, c) = (first.clone(), third.clone());
    let w = world(move |builder| {
        builder.unregistered(Unregistered::Anonymous).revocation_checker(a).revocation_checker(c)
    });
    let leaf = w.inter.leaf("client").build();
    for _ in 0..2 {
        auth(&w, &leaf, at()).await.unwrap();
    }
    assert_eq!((calls(&first), calls(&third)), (3, 2));
}
