//! Per-route authorization: `authorize::Policy` and `tower::AuthorizeLayer` on axum
//! routes, behind `CertAuthLayer`.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use certauth::RING_ALGORITHMS;
use certauth::Unregistered;
use certauth::authorize::Policy;
use certauth::registry::{MemoryRegistry, RegisteredClient};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::tower::{AuthorizeLayer, CertAuthLayer, ConnectionInfo};
use certauth::{
    AuthRequest, AuthenticatedClient, Authenticator, Credential, ErrorKind, Timestamp, TrustStore,
    Verifier,
};
use certauth::{IdentityRule, SpiffeMatch, ValueMatch};
use http::{Request, StatusCode};
use tower::ServiceExt as _;

use crate::common::at;

/// Clients: `billing` (scopes `orders:read orders:write`, tier gold, SPIFFE ID in
/// `payments.example`), `reporting` (scope `reports:read,orders:readonly`, OU
/// operations), and `stranger`, a valid certificate no registry entry knows.
struct Clients {
    billing: Leaf,
    reporting: Leaf,
    stranger: Leaf,
    root: Ca,
    auth: Authenticator,
}

fn clients() -> Clients {
    let root = Ca::root("Authorize Root");
    let billing = root.leaf("billing").spiffe("spiffe://payments.example/billing").build();
    let reporting = root.leaf("reporting").subject_attribute("OU", "operations").build();
    let stranger = root.leaf("stranger").build();
    let registry = Arc::new(MemoryRegistry::new());
    registry
        .add_client(
            RegisteredClient::builder("billing")
                .metadata("scope", "orders:read orders:write")
                .metadata("tier", "gold")
                .build(),
        )
        .unwrap();
    registry
        .add_client(
            RegisteredClient::builder("reporting")
                .metadata("scope", "reports:read,orders:readonly")
                .build(),
        )
        .unwrap();
    for (id, leaf) in [("billing", &billing), ("reporting", &reporting)] {
        registry.register_certificate(id, &leaf.certificate(), Timestamp::now(), None).unwrap();
    }
    let store = TrustStore::builder().add_pem(root.pem().as_bytes()).unwrap().build().unwrap();
    let auth = Authenticator::builder(Verifier::builder(store, RING_ALGORITHMS).build().unwrap())
        .registry(registry)
        .unregistered(Unregistered::Anonymous)
        .build()
        .unwrap();
    Clients { billing, reporting, stranger, root, auth }
}

async fn authenticated(c: &Clients, leaf: &Leaf) -> AuthenticatedClient {
    let chain = leaf.chain();
    c.auth.authenticate(&AuthRequest::new(Credential::Tls(&chain), at())).await.unwrap()
}

/// The routes of a small service: public, orders (scope), admin (client id), ops
/// (identity rule), gold (metadata value), behind an optional authentication layer.
fn app(auth: &Authenticator) -> Router {
    let who = |c: AuthenticatedClient| async move { c.client_id().unwrap_or("-").to_owned() };
    Router::new()
        .route(
            "/public",
            get(|c: Option<AuthenticatedClient>| async move {
                c.map_or("anonymous".to_owned(), |c| c.client_id().unwrap_or("-").to_owned())
            }),
        )
        .route(
            "/orders",
            get(who).route_layer(AuthorizeLayer::new(Policy::metadata_contains(
                "scope",
                "orders:read",
            ))),
        )
        .route(
            "/admin",
            get(who).route_layer(AuthorizeLayer::new(Policy::client_ids(["reporting"]))),
        )
        .route(
            "/ops",
            get(who).route_layer(AuthorizeLayer::new(Policy::identity(IdentityRule::subject(
                "OU",
                ValueMatch::exact("operations"),
            )))),
        )
        .route(
            "/gold",
            get(who).route_layer(AuthorizeLayer::new(Policy::metadata_equals("tier", "gold"))),
        )
        .layer(CertAuthLayer::new(auth.clone()).optional())
}

/// `GET path` on a TLS connection whose client presented `leaf` (or nothing).
async fn get_as(
    app: &Router,
    leaf: Option<&Leaf>,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut info = ConnectionInfo::new("192.0.2.10:4000".parse().unwrap());
    if let Some(leaf) = leaf {
        info = info.with_tls_certificates(leaf.chain());
    }
    let mut req = Request::get(path).body(Body::empty()).unwrap();
    for (name, value) in headers {
        req.headers_mut()
            .insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
    }
    req.extensions_mut().insert(info);
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), 1 << 16).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

const NOT_PERMITTED: &str = r#"{"error":"not_permitted"}"#;

#[tokio::test]
async fn routes_admit_only_the_clients_their_policy_names() {
    let c = clients();
    let app = app(&c.auth);
    let ok = |who: &str| (StatusCode::OK, who.to_owned());
    let forbidden = (StatusCode::FORBIDDEN, NOT_PERMITTED.to_owned());

    // Public: everyone, with or without a certificate.
    assert_eq!(get_as(&app, None, "/public", &[]).await, ok("anonymous"));
    assert_eq!(get_as(&app, Some(&c.billing), "/public", &[]).await, ok("billing"));

    // A scope listed among others; a scope that merely starts the same is not it.
    assert_eq!(get_as(&app, Some(&c.billing), "/orders", &[]).await, ok("billing"));
    assert_eq!(get_as(&app, Some(&c.reporting), "/orders", &[]).await, forbidden);
    // Client ids.
    assert_eq!(get_as(&app, Some(&c.reporting), "/admin", &[]).await, ok("reporting"));
    assert_eq!(get_as(&app, Some(&c.billing), "/admin", &[]).await, forbidden);
    // An identity rule on the certificate.
    assert_eq!(get_as(&app, Some(&c.reporting), "/ops", &[]).await, ok("reporting"));
    assert_eq!(get_as(&app, Some(&c.billing), "/ops", &[]).await, forbidden);
    // A metadata value.
    assert_eq!(get_as(&app, Some(&c.billing), "/gold", &[]).await, ok("billing"));
    assert_eq!(get_as(&app, Some(&c.reporting), "/gold", &[]).await, forbidden);

    // A valid certificate no registry knows: no client id, no metadata, so only an
    // identity rule could let it in.
    for path in ["/orders", "/admin", "/gold", "/ops"] {
        assert_eq!(get_as(&app, Some(&c.stranger), path, &[]).await, forbidden, "{path}");
    }
    // No certificate on a protected route (the authentication layer is optional): 401,
    // not 403.
    for path in ["/orders", "/admin", "/ops", "/gold"] {
        assert_eq!(
            get_as(&app, None, path, &[]).await,
            (StatusCode::UNAUTHORIZED, r#"{"error":"no_certificate"}"#.to_owned()),
            "{path}"
        );
    }
    assert_eq!(certauth::http::status_for(ErrorKind::NotPermitted), StatusCode::FORBIDDEN);
}

/// Attempts to get past a policy through the request: a client-id header (not
/// configured, so never read) or a scope header change nothing; only the registry and
/// the verified certificate decide.
#[tokio::test]
async fn a_request_cannot_name_itself_into_a_route() {
    let c = clients();
    let app = app(&c.auth);
    let forbidden = (StatusCode::FORBIDDEN, NOT_PERMITTED.to_owned());
    let forged = [("x-client-id", "reporting"), ("scope", "orders:read"), ("x-tier", "gold")];
    assert_eq!(get_as(&app, Some(&c.billing), "/admin", &forged).await, forbidden);
    assert_eq!(get_as(&app, Some(&c.reporting), "/orders", &forged).await, forbidden);
    assert_eq!(get_as(&app, Some(&c.reporting), "/gold", &forged).await, forbidden);
}

/// Without the authentication layer (a route layer mistaken for the whole setup), every
/// request is 401: a policy never lets an unauthenticated request through.
#[tokio::test]
async fn a_policy_without_authentication_refuses_everyone() {
    let c = clients();
    let app = Router::new().route(
        "/open-to-all",
        get(|| async { "in" }).route_layer(AuthorizeLayer::new(Policy::any([
            Policy::client_ids(["billing"]),
            Policy::identity(IdentityRule::All(vec![])),
        ]))),
    );
    assert_eq!(
        get_as(&app, Some(&c.billing), "/open-to-all", &[]).await.0,
        StatusCode::UNAUTHORIZED
    );
}

/// The matching rules themselves, on authenticated clients.
#[tokio::test]
async fn policy_matching_is_exact() {
    let c = clients();
    let billing = authenticated(&c, &c.billing).await;
    let reporting = authenticated(&c, &c.reporting).await;
    let stranger = authenticated(&c, &c.stranger).await;
    assert!(stranger.client().is_none());

    // Scopes are whole items, split on whitespace and commas, case-sensitive.
    let has = |scope: &str, client: &AuthenticatedClient| {
        Policy::metadata_contains("scope", scope).allows(client)
    };
    assert!(has("orders:read", &billing));
    assert!(has("orders:write", &billing));
    assert!(has("reports:read", &reporting));
    assert!(has("orders:readonly", &reporting));
    for not_listed in ["orders", "read", "orders:re", "Orders:Read", "orders:read orders:write", ""]
    {
        assert!(!has(not_listed, &billing), "{not_listed:?}");
    }
    assert!(!has("orders:read", &reporting), "orders:readonly is not orders:read");
    assert!(!Policy::metadata_contains("nope", "orders:read").allows(&billing));

    // Exact values; a prefix is not the value.
    assert!(Policy::metadata_equals("tier", "gold").allows(&billing));
    assert!(!Policy::metadata_equals("tier", "gol").allows(&billing));
    assert!(!Policy::metadata_equals("tier", "GOLD").allows(&billing));

    // Client ids are exact and need a registered client.
    assert!(Policy::client_ids(["billing"]).allows(&billing));
    assert!(!Policy::client_ids(["Billing", "billing "]).allows(&billing));
    assert!(!Policy::client_ids(Vec::<String>::new()).allows(&billing));
    assert!(!Policy::client_ids(["-", ""]).allows(&stranger));

    // Identity rules see the verified certificate, registered or not.
    let payments =
        Policy::identity(IdentityRule::Spiffe(SpiffeMatch::TrustDomain("payments.example".into())));
    assert!(payments.allows(&billing));
    assert!(!payments.allows(&reporting));
    let any_cn = Policy::identity(IdentityRule::subject("CN", ValueMatch::exact("stranger")));
    assert!(any_cn.allows(&stranger));

    // Combinations; empty lists let no one in.
    let both = Policy::all([Policy::client_ids(["billing"]), payments.clone()]);
    assert!(both.allows(&billing));
    assert!(!Policy::all([Policy::client_ids(["reporting"]), payments.clone()]).allows(&reporting));
    assert!(Policy::any([Policy::client_ids(["reporting"]), payments]).allows(&reporting));
    assert!(!Policy::all([]).allows(&billing));
    assert!(!Policy::any([]).allows(&billing));

    // The refusal: `not_permitted`, naming the client id or the certificate, never the
    // policy's secrets or the certificate's bytes.
    let e = Policy::client_ids(["x"]).check(&billing).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotPermitted);
    assert_eq!(e.message(), "client billing is not permitted on this route");
    let e = Policy::client_ids(["x"]).check(&stranger).unwrap_err();
    assert!(e.message().contains(&stranger.thumbprint().to_string()), "{e}");
    assert!(Policy::client_ids(["billing"]).check(&billing).is_ok());
}

#[tokio::test]
async fn behind_a_report_only_authenticator_a_route_policy_reports_instead_of_refusing() {
    let c = clients();
    let store = TrustStore::builder().add_pem(c.root.pem().as_bytes()).unwrap().build().unwrap();
    let verifier = Verifier::builder(store, RING_ALGORITHMS).build().unwrap();
    let report_only = Authenticator::builder(verifier).report_only().build().unwrap();
    let policy = || AuthorizeLayer::new(Policy::client_ids(["nobody"]));
    let route = |auth: &Authenticator| {
        Router::new()
            .route("/orders", get(|| async { "served" }).route_layer(policy()))
            .layer(CertAuthLayer::new(auth.clone()))
    };
    // Enforcing: the policy refuses billing.
    assert_eq!(
        get_as(&route(&c.auth), Some(&c.billing), "/orders", &[]).await,
        (StatusCode::FORBIDDEN, NOT_PERMITTED.to_owned())
    );
    // Report-only: billing authenticates and the policy would refuse it; a client from
    // another CA fails authentication and then the policy. Both are served, reported.
    let outsider = Ca::root("Outside Root").leaf("outsider").build();
    for leaf in [&c.billing, &outsider] {
        assert_eq!(
            get_as(&route(&report_only), Some(leaf), "/orders", &[]).await,
            (StatusCode::OK, "served".to_owned())
        );
    }
    // Without any authentication layer the policy still refuses: only CertAuthLayer sets
    // report-only, a client cannot.
    let bare = Router::new().route("/orders", get(|| async { "served" }).route_layer(policy()));
    assert_eq!(
        get_as(&bare, Some(&c.billing), "/orders", &[("x-report-only", "1")]).await.0,
        StatusCode::UNAUTHORIZED
    );
}
