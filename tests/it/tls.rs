//! The rustls verifier in real TLS 1.3 handshakes, run in memory (no sockets).

use std::sync::Arc;

use certauth::RING_ALGORITHMS;
use certauth::pki_types::pem::PemObject as _;
use certauth::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use certauth::rustls::MtlsClientVerifier;
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{AuthRequest, Authenticator, Credential, Timestamp, TrustStore, Verifier};
use rustls::{AlertDescription, ClientConfig, ClientConnection, ServerConfig, ServerConnection};

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

struct Setup {
    root: Ca,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: String,
    auth: Authenticator,
}

fn setup() -> Setup {
    let root = Ca::root("TLS Root");
    let server = root.leaf("localhost").dns("localhost").eku_server_auth_only().build();
    // Verification time: now (rustls passes its clock); testkit certificates are valid
    // 2020-2040.
    let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
    let auth = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
        .build()
        .unwrap();
    Setup { server_chain: server.chain(), server_key: server.key_pem().unwrap(), root, auth }
}

fn server_config(s: &Setup, optional: bool) -> Arc<ServerConfig> {
    let mut verifier = MtlsClientVerifier::new(s.auth.clone(), provider());
    if optional {
        verifier = verifier.optional();
    }
    let key = PrivateKeyDer::from_pem_slice(s.server_key.as_bytes()).unwrap();
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(Arc::new(verifier))
            .with_single_cert(s.server_chain.clone(), key)
            .unwrap(),
    )
}

fn client_config(s: &Setup, client: Option<&Leaf>) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(s.root.der().clone()).unwrap();
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots);
    Arc::new(match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                leaf.chain(),
                PrivateKeyDer::from_pem_slice(leaf.key_pem().unwrap().as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// Runs a handshake in memory; returns the server connection or the alert the client got.
fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
) -> Result<ServerConnection, rustls::Error> {
    let mut s = ServerConnection::new(server).unwrap();
    let mut c = ClientConnection::new(client, ServerName::try_from("localhost").unwrap()).unwrap();
    for _ in 0..20 {
        let mut buf = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            s.read_tls(&mut buf.as_slice()).unwrap();
            if let Err(e) = s.process_new_packets() {
                // Deliver the server's alert to the client so it sees the same error.
                let mut alert = Vec::new();
                while s.wants_write() {
                    s.write_tls(&mut alert).unwrap();
                }
                let _ = c.read_tls(&mut alert.as_slice());
                return Err(c.process_new_packets().err().unwrap_or(e));
            }
        }
        let mut buf = Vec::new();
        while s.wants_write() {
            s.write_tls(&mut buf).unwrap();
        }
        if !buf.is_empty() {
            c.read_tls(&mut buf.as_slice()).unwrap();
            c.process_new_packets()?;
        }
        if !s.is_handshaking() && !c.is_handshaking() {
            // TLS 1.3: the client's certificate arrives with its Finished; flush it.
            let mut buf = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut buf).unwrap();
            }
            if !buf.is_empty() {
                s.read_tls(&mut buf.as_slice()).unwrap();
                s.process_new_packets()?;
            }
            return Ok(s);
        }
    }
    panic!("handshake did not finish");
}

fn alert_of(e: &rustls::Error) -> Option<AlertDescription> {
    match e {
        rustls::Error::AlertReceived(a) => Some(*a),
        _ => None,
    }
}

#[tokio::test]
async fn valid_client_completes_the_handshake_and_requests_hit_the_cache() {
    let s = setup();
    let leaf = s.root.leaf("client-1").build();
    let conn = handshake(server_config(&s, false), client_config(&s, Some(&leaf))).unwrap();
    let peer = conn.peer_certificates().unwrap().to_vec();
    assert_eq!(peer[0], *leaf.der());
    assert_eq!(s.auth.cache_len(), 1, "the handshake verification is cached");
    let now = Timestamp::now();
    let (ok, trace) =
        s.auth.authenticate_traced(&AuthRequest::new(Credential::Tls(&peer), now)).await;
    assert_eq!(ok.unwrap().identity().subject().common_name(), Some("client-1"));
    assert!(trace.steps.iter().any(|st| st.check == "cache" && st.detail == "hit"), "{trace}");
}

#[test]
fn bad_clients_fail_the_handshake_with_the_right_alert() {
    let s = setup();
    let expired = s
        .root
        .leaf("old")
        .valid(
            Timestamp::from_unix_secs(0),
            Timestamp::parse_rfc3339("2021-01-01T00:00:00Z").unwrap(),
        )
        .build();
    let stranger = Ca::root("Stranger").leaf("x").build();
    let server_only = s.root.leaf("srv").eku_server_auth_only().build();
    for (leaf, alert) in [
        (&expired, AlertDescription::CertificateExpired),
        (&stranger, AlertDescription::UnknownCA),
        (&server_only, AlertDescription::UnsupportedCertificate),
    ] {
        let err = handshake(server_config(&s, false), client_config(&s, Some(leaf))).unwrap_err();
        assert_eq!(alert_of(&err), Some(alert), "{err:?}");
    }
    // No certificate: refused when mandatory, accepted when optional.
    assert!(handshake(server_config(&s, false), client_config(&s, None)).is_err());
    let conn = handshake(server_config(&s, true), client_config(&s, None)).unwrap();
    assert!(conn.peer_certificates().is_none());
}
