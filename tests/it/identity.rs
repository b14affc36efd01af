//! Identity rules and RFC 8705 binding over verified chains.

use std::net::IpAddr;

use certauth::TrustStore;
use certauth::testkit::pki::Ca;
use certauth::{BindingMode, check_token_binding};
use certauth::{ClientIdentity, ErrorKind, Thumbprint};
use certauth::{IdentityRule, SpiffeMatch, ValueMatch};
use certauth::{RING_ALGORITHMS, Verifier};

use crate::common::at;

fn identity() -> ClientIdentity {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Payments Issuing CA");
    let leaf = inter
        .leaf("billing")
        .subject_attribute("O", "Example, Inc.")
        .subject_attribute("OU", "payments")
        .serial(&[0x0a, 0xbc])
        .dns("billing.internal.example.com")
        .uri("spiffe://example.org/ns/prod/sa/billing")
        .email("ops@example.com")
        .ip("10.1.2.3".parse().unwrap())
        .build();
    let store = TrustStore::builder()
        .add_pem(root.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    ClientIdentity::new(v.verify(&leaf.presented(), at()).unwrap()).unwrap()
}

#[test]
fn identity_exposes_the_leaf() {
    let id = identity();
    assert_eq!(id.subject().common_name(), Some("billing"));
    assert_eq!(id.issuer().common_name(), Some("Payments Issuing CA"));
    assert_eq!(id.serial_hex(), "0abc");
    assert_eq!(id.spiffe_id().unwrap().trust_domain(), "example.org");
    assert_eq!(id.thumbprint(), &Thumbprint::of(id.chain().leaf_der()));
    assert_eq!(id.sans().ip(), &["10.1.2.3".parse::<IpAddr>().unwrap()]);
}

#[test]
fn rules_match_attribute_by_attribute() {
    let id = identity();
    let yes = [
        IdentityRule::subject("CN", ValueMatch::exact("billing")),
        IdentityRule::subject("O", ValueMatch::exact("Example, Inc.")),
        IdentityRule::subject("2.5.4.11", ValueMatch::exact("payments")),
        IdentityRule::issuer("CN", ValueMatch::exact("Payments Issuing CA")),
        IdentityRule::DnsSan(ValueMatch::Suffix(".example.com".into())),
        IdentityRule::UriSan(ValueMatch::exact("spiffe://example.org/ns/prod/sa/billing")),
        IdentityRule::EmailSan(ValueMatch::IgnoreAsciiCase("OPS@example.com".into())),
        IdentityRule::IpSan("10.1.2.3".parse().unwrap()),
        IdentityRule::Spiffe(SpiffeMatch::PathPrefix {
            trust_domain: "example.org".into(),
            prefix: "/ns/prod".into(),
        }),
        IdentityRule::IssuerAndSerial {
            issuer: id.issuer().to_rfc4514(),
            serial_hex: "0abc".into(),
        },
        IdentityRule::Thumbprint(vec![*id.thumbprint()]),
        IdentityRule::SpkiSha256(vec![*id.spki_sha256()]),
    ];
    for rule in &yes {
        assert!(rule.matches(&id), "{rule:?}");
        assert!(IdentityRule::Not(Box::new(rule.clone())).check(&id).is_err(), "{rule:?}");
    }
    let no = [
        // A string trick: the whole-DN text contains "O=Example" but no O value equals it.
        IdentityRule::subject("O", ValueMatch::exact("Example")),
        IdentityRule::subject("CN", ValueMatch::exact("Payments Issuing CA")),
        IdentityRule::DnsSan(ValueMatch::exact("example.com")),
        IdentityRule::Spiffe(SpiffeMatch::TrustDomain("example.com".into())),
        IdentityRule::Spiffe(SpiffeMatch::PathPrefix {
            trust_domain: "example.org".into(),
            prefix: "/ns/pro".into(),
        }),
        IdentityRule::IssuerAndSerial {
            issuer: id.issuer().to_rfc4514(),
            serial_hex: "abc0".into(),
        },
        IdentityRule::Thumbprint(vec![Thumbprint::of(b"other")]),
        IdentityRule::Any(vec![]),
    ];
    for rule in &no {
        let e = rule.check(&id).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::IdentityMismatch, "{rule:?}");
    }
    // Azure API Management's shape: all top-level checks, plus any listed identity.
    let azure = IdentityRule::All(vec![
        IdentityRule::issuer("CN", ValueMatch::exact("Payments Issuing CA")),
        IdentityRule::Any(vec![no[0].clone(), yes[0].clone()]),
    ]);
    assert!(azure.matches(&id));
    let azure_fail =
        IdentityRule::All(vec![no[1].clone(), IdentityRule::Any(vec![yes[0].clone()])]);
    assert!(!azure_fail.matches(&id));
}

#[test]
fn token_binding_modes() {
    let id = identity();
    let chain = id.chain();
    let right = chain.thumbprint().to_x5t_s256();
    let wrong = Thumbprint::of(b"someone else").to_x5t_s256();
    for mode in [BindingMode::Optional, BindingMode::Required] {
        assert!(check_token_binding(mode, Some(&right), chain).is_ok());
        let e = check_token_binding(mode, Some(&wrong), chain).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BindingMismatch);
    }
    assert_eq!(
        check_token_binding(BindingMode::Required, None, chain).unwrap_err().kind(),
        ErrorKind::BindingMismatch
    );
    assert!(check_token_binding(BindingMode::Optional, None, chain).is_ok());
    assert!(check_token_binding(BindingMode::Off, Some(&wrong), chain).is_ok());
    assert_eq!(BindingMode::default(), BindingMode::Required);
}

/// URI schemes are case-insensitive: a second SPIFFE URI written `SPIFFE://` still
/// counts, so a certificate with two has no SPIFFE ID (an X.509-SVID has exactly one URI
/// SAN) and no SPIFFE rule matches it, whichever comes first.
#[test]
fn a_second_spiffe_uri_in_upper_case_means_no_spiffe_id() {
    let root = Ca::root("Test Root");
    let store = TrustStore::builder()
        .add_pem(root.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let id_of = |uris: &[&str]| {
        let mut b = root.leaf("workload");
        for u in uris {
            b = b.uri(u);
        }
        ClientIdentity::new(v.verify(&b.build().presented(), at()).unwrap()).unwrap()
    };
    let rule = IdentityRule::Spiffe(SpiffeMatch::TrustDomain("example.org".into()));
    let one = id_of(&["spiffe://example.org/ns/a/sa/b"]);
    assert_eq!(one.spiffe_id().map(|s| s.as_str()), Some("spiffe://example.org/ns/a/sa/b"));
    assert!(rule.matches(&one));
    for uris in [
        ["spiffe://example.org/ns/a/sa/b", "SPIFFE://evil.example/ns/x"],
        ["SPIFFE://evil.example/ns/x", "spiffe://example.org/ns/a/sa/b"],
        ["spiffe://example.org/ns/a/sa/b", "Spiffe://example.org/ns/a/sa/b"],
    ] {
        let id = id_of(&uris);
        assert_eq!(id.spiffe_id(), None, "{uris:?}");
        assert!(!rule.matches(&id), "{uris:?}");
    }
    // An upper-case scheme alone is no valid SPIFFE ID either.
    assert_eq!(id_of(&["SPIFFE://example.org/ns/a/sa/b"]).spiffe_id(), None);
}

/// A registry saved to a file and loaded again answers every look-up as before: clients
/// mapped by SPIFFE ID, subject, SANs, pins or combined rules are still found, in the
/// same order of precedence.
#[test]
fn saved_and_reloaded_registry_maps_the_same_identities() {
    use certauth::registry::{MemoryRegistry, RegisteredClient, Registry as _};

    fn ready<T>(f: impl std::future::Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the memory registry answers at once"),
        }
    }

    let root = Ca::root("Test Root");
    let store = TrustStore::builder()
        .add_pem(root.pem().as_bytes())
        .unwrap()
        .check_at(at())
        .build()
        .unwrap();
    let v = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let leaves = [
        root.leaf("billing").spiffe("spiffe://example.org/ns/prod/sa/billing").build(),
        root.leaf("reports").spiffe("spiffe://example.org/ns/prod/sa/reports").build(),
        root.leaf("legacy-batch").dns("batch.example.com").build(),
        root.leaf("ops").email("ops@example.com").build(),
        root.leaf("device-7").ip("10.1.2.3".parse().unwrap()).build(),
        root.leaf("stranger").spiffe("spiffe://other.org/x").build(),
    ];
    let ids: Vec<ClientIdentity> = leaves
        .iter()
        .map(|l| ClientIdentity::new(v.verify(&l.presented(), at()).unwrap()).unwrap())
        .collect();

    let registry = MemoryRegistry::new();
    for client in ["billing", "reports", "legacy", "ops", "devices", "fallback"] {
        registry.add_client(RegisteredClient::new(client, client)).unwrap();
    }
    let spiffe = |s: &str| IdentityRule::Spiffe(SpiffeMatch::Exact(s.into()));
    let mappings = [
        (spiffe("spiffe://example.org/ns/prod/sa/billing"), "billing"),
        (
            IdentityRule::Spiffe(SpiffeMatch::PathPrefix {
                trust_domain: "example.org".into(),
                prefix: "/ns/prod".into(),
            }),
            "reports",
        ),
        (IdentityRule::subject("CN", ValueMatch::Suffix("-batch".into())), "legacy"),
        (IdentityRule::EmailSan(ValueMatch::IgnoreAsciiCase("OPS@example.com".into())), "ops"),
        (
            IdentityRule::Any(vec![
                IdentityRule::IpSan("10.1.2.3".parse().unwrap()),
                IdentityRule::Thumbprint(vec![*ids[5].thumbprint()]),
            ]),
            "devices",
        ),
        (IdentityRule::Not(Box::new(spiffe("spiffe://other.org/x"))), "fallback"),
    ];
    for (rule, client) in mappings {
        registry.map_identity(rule, client).unwrap();
    }
    let answers = |r: &MemoryRegistry| -> Vec<Option<String>> {
        ids.iter()
            .map(|id| ready(r.by_identity(id)).unwrap().map(|m| m.client.id().to_owned()))
            .collect()
    };
    let before = answers(&registry);
    assert_eq!(
        before,
        ["billing", "reports", "legacy", "ops", "devices", "devices"].map(|c| Some(c.to_owned()))
    );

    let path = std::env::temp_dir().join(format!("certauth-roundtrip-{}.json", std::process::id()));
    registry.save_file(&path).unwrap();
    let copy = MemoryRegistry::new();
    copy.load_file(&path, at()).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(answers(&copy), before);
    assert_eq!(copy.identity_mappings(), registry.identity_mappings());
    assert_eq!(copy.clients(), registry.clients());
}
