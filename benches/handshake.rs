//! A full TLS 1.3 mTLS handshake in memory (rustls client and server connections
//! pumping bytes, no sockets), ECDSA P-256 client chain root → intermediate → leaf:
//! the server's client-certificate verifier is certauth's `MtlsClientVerifier` (uncached and
//! cached) or rustls's own `WebPkiClientVerifier`, in the same group, so the ratio comes
//! from one run. Session resumption is off on both sides: every iteration is a full
//! handshake (key exchange, server signature, client signature, chain verification).
//!
//! Run: `cargo bench --features rustls,testkit,ring --bench handshake`

use std::hint::black_box;
use std::sync::Arc;

use certauth::CacheConfig;
use certauth::RING_ALGORITHMS;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{PrivateKeyDer, ServerName};
use certauth::rustls::MtlsClientVerifier;
use certauth::testkit::hostile;
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{Authenticator, TrustStore, Verifier};
use criterion::{Criterion, criterion_group, criterion_main};
use rustls::client::Resumption;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn server_config(verifier: Arc<dyn ClientCertVerifier>, server: &Leaf) -> Arc<ServerConfig> {
    let key = PrivateKeyDer::from_pem_slice(server.key_pem().unwrap().as_bytes()).unwrap();
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(server.chain(), key)
        .unwrap();
    // Full handshakes only: no tickets, no stateful resumption.
    config.send_tls13_tickets = 0;
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    Arc::new(config)
}

fn client_config(root: &Ca, client: &Leaf) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(root.der().clone()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(client.key_pem().unwrap().as_bytes()).unwrap();
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(client.chain(), key)
        .unwrap();
    config.resumption = Resumption::disabled();
    Arc::new(config)
}

/// One full handshake in memory; panics if it fails (the verifier refused the client).
fn handshake(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) {
    let mut s = ServerConnection::new(server.clone()).unwrap();
    let mut c =
        ClientConnection::new(client.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut buf = Vec::with_capacity(8192);
    for _ in 0..10 {
        let mut moved = false;
        buf.clear();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            moved = true;
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                s.read_tls(&mut rd).unwrap();
            }
            s.process_new_packets().unwrap();
        }
        buf.clear();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            moved = true;
            let mut rd = buf.as_slice();
            while !rd.is_empty() {
                c.read_tls(&mut rd).unwrap();
            }
            c.process_new_packets().unwrap();
        }
        if !moved && !s.is_handshaking() && !c.is_handshaking() {
            assert!(s.peer_certificates().is_some(), "the client certificate was accepted");
            return;
        }
    }
    panic!("handshake did not finish");
}

/// One full handshake attempt in memory that the server refuses; panics if it succeeds.
fn refused_handshake(server: &Arc<ServerConfig>, client: &Arc<ClientConfig>) {
    let mut s = ServerConnection::new(server.clone()).unwrap();
    let mut c =
        ClientConnection::new(client.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut buf = Vec::with_capacity(65536);
    for _ in 0..10 {
        buf.clear();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            s.read_tls(&mut rd).unwrap();
            if s.process_new_packets().is_err() {
                return;
            }
        }
        buf.clear();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        let mut rd = buf.as_slice();
        while !rd.is_empty() {
            c.read_tls(&mut rd).unwrap();
        }
        let _ = c.process_new_packets();
    }
    panic!("the crafted chain was not refused");
}

/// Crafted client chains (`certauth::testkit::hostile`) refused in the handshake, against
/// a genuine client's full handshake, uncached, in one group.
fn hostile_handshakes(c: &mut Criterion) {
    let root = Ca::root("Bench Root");
    let inter = root.intermediate("Bench Issuing CA");
    let client = inter.leaf("bench-client").build();
    let server = root.leaf("localhost").dns("localhost").eku_server_auth_only().build();
    let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
    let authenticator =
        Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
            .cache(CacheConfig::disabled())
            .build()
            .unwrap();
    let config =
        server_config(Arc::new(MtlsClientVerifier::new(authenticator, provider())), &server);
    let crafted_client = |crafted: &hostile::Crafted| {
        let mut roots = RootCertStore::empty();
        roots.add(root.der().clone()).unwrap();
        let key = PrivateKeyDer::from_pem_slice(crafted.key_pem().as_bytes()).unwrap();
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_client_auth_cert(crafted.certs().to_vec(), key)
            .unwrap();
        config.resumption = Resumption::disabled();
        Arc::new(config)
    };
    let genuine = client_config(&root, &client);
    handshake(&config, &genuine);
    let crafted = [
        ("same_name_loop_15_padded", hostile::same_name_loop(15, 3000)),
        ("named_like_anchor_15", hostile::named_like_anchor("Bench Root", 15)),
        (
            "named_like_issuer_15",
            hostile::named_like_issuer("Bench Issuing CA", "Bench Root", 15, 0),
        ),
        ("two_name_mesh_5", hostile::two_name_mesh("Bench Root", 5)),
    ];
    let mut g = c.benchmark_group("handshake_tls13_hostile_chains");
    g.bench_function("genuine_client_uncached", |b| {
        b.iter(|| handshake(black_box(&config), &genuine))
    });
    for (name, chain) in &crafted {
        let client = crafted_client(chain);
        refused_handshake(&config, &client);
        g.bench_function(*name, |b| b.iter(|| refused_handshake(black_box(&config), &client)));
    }
    g.finish();
}

fn handshakes(c: &mut Criterion) {
    let root = Ca::root("Bench Root");
    let inter = root.intermediate("Bench Issuing CA");
    let client = inter.leaf("bench-client").build();
    let server = root.leaf("localhost").dns("localhost").eku_server_auth_only().build();
    let client_config = client_config(&root, &client);

    // certauth: the trust store holds the root; the client sends its intermediate.
    let authenticator = |cache: CacheConfig| {
        let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
        Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
            .cache(cache)
            .build()
            .unwrap()
    };
    let certauth_uncached = server_config(
        Arc::new(MtlsClientVerifier::new(authenticator(CacheConfig::disabled()), provider())),
        &server,
    );
    let certauth_cached = server_config(
        Arc::new(MtlsClientVerifier::new(authenticator(CacheConfig::default()), provider())),
        &server,
    );
    let mut roots = RootCertStore::empty();
    roots.add(root.der().clone()).unwrap();
    let webpki = server_config(
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider()).build().unwrap(),
        &server,
    );
    for config in [&webpki, &certauth_uncached, &certauth_cached] {
        handshake(config, &client_config);
    }

    let mut g = c.benchmark_group("handshake_tls13_mtls_ecdsa_p256");
    g.bench_function("baseline_rustls_webpki_client_verifier", |b| {
        b.iter(|| handshake(black_box(&webpki), &client_config))
    });
    g.bench_function("certauth_uncached", |b| {
        b.iter(|| handshake(black_box(&certauth_uncached), &client_config))
    });
    g.bench_function("certauth_cached", |b| {
        b.iter(|| handshake(black_box(&certauth_cached), &client_config))
    });
    g.finish();
}

criterion_group!(benches, handshakes, hostile_handshakes);
criterion_main!(benches);
