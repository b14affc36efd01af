//! certauth end to end on loopback, with nothing to install:
//!
//! ```text
//! cargo run --example demo --features axum,rustls,testkit,ring
//! ```
//!
//! Generates a throwaway PKI, starts two axum servers on 127.0.0.1 (random ports): one
//! terminating mTLS itself with certauth's rustls verifier, one behind a "proxy" that
//! forwards the client certificate in a header and is trusted only from 127.0.0.2. Then
//! runs clients through the cases that matter and prints a table (case, expected, got,
//! reason). Exits non-zero if any case differs from what is expected.

#[path = "support/mod.rs"]
mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use certauth::http::{HeaderSource, TrustedProxies};
use certauth::pki_types::PrivateKeyDer;
use certauth::pki_types::pem::PemObject as _;
use certauth::registry::{MemoryRegistry, RegisteredClient};
use certauth::rustls::MtlsClientVerifier;
use certauth::testkit::pki::{Ca, KeyType, Leaf};
use certauth::testkit::proxy::{Nginx, Proxy as _};
use certauth::tower::CertAuthLayer;
use certauth::{Authenticator, HeaderFormat, Timestamp, TrustStore, Verifier};
use certauth::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus};
use tokio::net::TcpListener;

const PROXY: &str = "127.0.0.2";
const CLIENT: &str = "127.0.0.1";

struct Case {
    name: &'static str,
    expected: String,
    got: String,
    reason: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let now = Timestamp::now();
    let day = 86_400;

    // --- A throwaway PKI -------------------------------------------------------------
    let root = Ca::root("Demo Root CA");
    let issuing = root.intermediate("Demo Issuing CA");
    let server = root.leaf("localhost").dns("localhost").eku_server_auth_only().build();
    let billing = issuing.leaf("billing").spiffe("spiffe://demo.test/ns/prod/sa/billing").build();
    let rotating_old = issuing.leaf("reports-2025").build();
    let rotating_new = issuing.leaf("reports-2026").build();
    let legacy = issuing.leaf("legacy").build();
    let expired = issuing
        .leaf("expired")
        .valid(
            Timestamp::parse_rfc3339("2020-01-01T00:00:00Z")?,
            Timestamp::parse_rfc3339("2021-01-01T00:00:00Z")?,
        )
        .build();
    let revoked = issuing.leaf("revoked").build();
    let stranger = Ca::root("Someone Else's CA").leaf("intruder").build();
    let server_only = issuing.leaf("web-server").eku_server_auth_only().build();
    let weak = issuing.leaf("weak-rsa-1024").key(KeyType::Rsa1024).build();
    let crl = issuing
        .crl()
        .revoke(&revoked)
        .this_update(now.plus_secs(-day))
        .next_update(now.plus_secs(7 * day))
        .build();

    // --- certauth: trust store, verifier, registry, authenticator -------------------
    let store = TrustStore::builder()
        .add_pem(format!("{}{}", root.pem(), issuing.pem()).as_bytes())?
        .add_crl(crl.der())?
        .build()?;
    let verifier = Verifier::builder(store, RING_ALGORITHMS)
        .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny))
        .build()?;
    let registry = Arc::new(MemoryRegistry::new());
    registry.add_client(
        RegisteredClient::new("billing", "Billing service").with_metadata("tier", "gold"),
    )?;
    registry.register_certificate("billing", &billing.certificate(), now, None)?;
    registry.add_client(RegisteredClient::new("reports", "Reports"))?;
    registry.register_certificate(
        "reports",
        &rotating_old.certificate(),
        now,
        Some(now.plus_secs(14 * day)),
    )?;
    registry.register_certificate("reports", &rotating_new.certificate(), now, None)?;
    registry.add_client(RegisteredClient::new("legacy", "Legacy batch job"))?;
    registry.register_certificate("legacy", &legacy.certificate(), now, None)?;
    registry.suspend("legacy")?;
    let weak_registration =
        registry.register_certificate("billing", &weak.certificate(), now, None);
    let authenticator = Authenticator::builder(verifier).registry(registry.clone()).build()?;

    // --- Server 1: mTLS terminated here -----------------------------------------------
    let tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(MtlsClientVerifier::new(
            authenticator.clone(),
            provider.clone(),
        )))
        .with_single_cert(
            server.chain(),
            PrivateKeyDer::from_pem_slice(server.key_pem().unwrap_or_default().as_bytes())?,
        )?;
    let mtls_app = Router::new()
        .route("/whoami", get(support::whoami))
        .route("/token", get(support::whoami))
        .layer(CertAuthLayer::new(authenticator.clone()).token_confirmation(|h| {
            // Stands in for the cnf claim of an access token your token validation checked.
            h.get("x-token-cnf").map(|v| v.to_str().ok().map(str::to_owned))
        }));
    let mtls_listener = TcpListener::bind("127.0.0.1:0").await?;
    let mtls_addr = mtls_listener.local_addr()?;
    tokio::spawn(support::serve(mtls_listener, mtls_app, Some(Arc::new(tls))));

    // --- Server 2: behind a proxy that forwards nginx's $ssl_client_escaped_cert -------
    let source = HeaderSource::builder(Nginx.header_name(), HeaderFormat::NginxEscaped)
        .trusted_proxies(TrustedProxies::parse([format!("{PROXY}/32")])?)
        .build()?;
    let proxied_app = Router::new()
        .route("/whoami", get(support::whoami))
        .layer(CertAuthLayer::new(authenticator.clone()).forwarded(source));
    let proxied_listener = TcpListener::bind("127.0.0.1:0").await?;
    let proxied_addr = proxied_listener.local_addr()?;
    tokio::spawn(support::serve(proxied_listener, proxied_app, None));

    // --- Clients --------------------------------------------------------------------------
    let client_config =
        |leaf: &Leaf| -> Result<Arc<rustls::ClientConfig>, Box<dyn std::error::Error>> {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(root.der().clone())?;
            let key = PrivateKeyDer::from_pem_slice(leaf.key_pem().unwrap_or_default().as_bytes())?;
            Ok(Arc::new(
                rustls::ClientConfig::builder_with_provider(provider.clone())
                    .with_safe_default_protocol_versions()?
                    .with_root_certificates(roots)
                    .with_client_auth_cert(leaf.chain(), key)?,
            ))
        };
    let mut cases = Vec::new();
    let mtls = async |name: &'static str,
                      leaf: &Leaf,
                      path: &str,
                      headers: &[(&str, &str)],
                      expected: &str| {
        let got = match support::get_mtls(
            client_config(leaf).expect("client config"),
            mtls_addr,
            path,
            headers,
        )
        .await
        {
            Ok(r) => describe(&r),
            Err(alert) => format!("tls {alert}"),
        };
        (name, expected.to_owned(), got)
    };
    for (name, leaf, expected) in [
        ("valid certificate", &billing, "200 billing"),
        ("expired", &expired, "tls received fatal alert: CertificateExpired"),
        ("unknown CA", &stranger, "tls received fatal alert: UnknownCA"),
        ("revoked by CRL", &revoked, "tls received fatal alert: CertificateRevoked"),
        ("serverAuth-only EKU", &server_only, "tls received fatal alert: UnsupportedCertificate"),
        ("rotation: old certificate, in overlap", &rotating_old, "200 reports"),
        ("rotation: new certificate", &rotating_new, "200 reports"),
        ("suspended client", &legacy, "403 client_suspended"),
    ] {
        cases.push(mtls(name, leaf, "/whoami", &[], expected).await);
    }
    let right = billing.thumbprint().to_x5t_s256();
    let wrong = rotating_new.thumbprint().to_x5t_s256();
    cases.push(
        mtls(
            "RFC 8705 token bound to this certificate",
            &billing,
            "/token",
            &[("x-token-cnf", &right)],
            "200 billing",
        )
        .await,
    );
    cases.push(
        mtls(
            "RFC 8705 token bound to another certificate",
            &billing,
            "/token",
            &[("x-token-cnf", &wrong)],
            "401 binding_mismatch",
        )
        .await,
    );

    let (name, value) = Nginx.forward(&billing);
    let proxy: IpAddr = PROXY.parse()?;
    let client: IpAddr = CLIENT.parse()?;
    let forwarded = |from: IpAddr, header: (&'static str, String)| {
        let addr: SocketAddr = proxied_addr;
        async move {
            match support::get_plain(from, addr, "/whoami", &[(header.0, &header.1)]).await {
                Ok(r) => describe(&r),
                Err(e) => format!("error {e}"),
            }
        }
    };
    cases.push((
        "forwarded header from the trusted proxy",
        "200 billing".into(),
        forwarded(proxy, (name, value.clone())).await,
    ));
    cases.push((
        "same header straight from a client (spoofing)",
        "400 untrusted_source".into(),
        forwarded(client, (name, value)).await,
    ));
    cases.push((
        "no certificate at all",
        "401 no_certificate".into(),
        forwarded(client, ("x-nothing", String::new())).await,
    ));
    cases.push((
        "1024-bit RSA key (forwarded)",
        "401 weak_key".into(),
        forwarded(proxy, Nginx.forward(&weak)).await,
    ));
    cases.push((
        "registering the 1024-bit RSA certificate",
        "refused".into(),
        match weak_registration {
            Ok(()) => "accepted".into(),
            Err(e) => format!("refused: {e}"),
        },
    ));

    // --- The table ------------------------------------------------------------------------
    let rows: Vec<Case> = cases
        .into_iter()
        .map(|(name, expected, got)| {
            let reason = got.split_once(' ').map_or("", |(_, r)| r).to_owned();
            Case { name, expected, got, reason }
        })
        .collect();
    println!(
        "certauth demo: mTLS on https://{mtls_addr}, behind-proxy on http://{proxied_addr} (proxy {PROXY})\n"
    );
    println!("{:<46} {:<10} {:<10} reason", "case", "expected", "got");
    let mut failures = 0;
    for row in &rows {
        let ok = row.got.starts_with(&row.expected);
        failures += usize::from(!ok);
        let short = |s: &str| s.split(' ').next().unwrap_or("").to_owned();
        println!(
            "{:<46} {:<10} {:<10} {}{}",
            row.name,
            short(&row.expected),
            short(&row.got),
            row.reason,
            if ok { "" } else { "   <-- UNEXPECTED" }
        );
    }
    println!("\n{} cases, {} as expected", rows.len(), rows.len() - failures);
    if failures > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// "200 <client id>" or "<status> <error kind>".
fn describe(reply: &support::Reply) -> String {
    let json: serde_json::Value = serde_json::from_str(&reply.body).unwrap_or_default();
    let detail = if reply.status == 200 {
        json["client_id"].as_str().unwrap_or("(no client)").to_owned()
    } else {
        json["error"].as_str().unwrap_or(&reply.body).to_owned()
    };
    format!("{} {detail}", reply.status)
}
