//! A walkthrough of `certauth::registry::postgres`: one registry in PostgreSQL, shared by
//! the replicas of a service.
//!
//! ```sh
//! # Any PostgreSQL 12 or later the user may create tables in:
//! DATABASE_URL='host=127.0.0.1 port=5432 user=postgres dbname=postgres' \
//!     cargo run --features postgres,testkit,ring --example postgres_registry
//! # Or let the test script start a throwaway server and run it:
//! tests/postgres/run.sh
//! ```
//!
//! It migrates the schema, connects two replicas, registers a client through one and
//! authenticates it through the other, suspends it and watches the other replica obey
//! within the staleness bound, shows that a known client is answered from the cache
//! (no database round trip), and removes the client again. It prints each step and
//! exits non-zero when an expectation fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use certauth::RING_ALGORITHMS;
use certauth::registry::postgres::PostgresRegistry;
use certauth::registry::{RegisteredClient, Registry};
use certauth::{
    AuthRequest, Authenticator, Credential, ErrorKind, Timestamp, TrustStore, Verifier,
};

type BoxError = Box<dyn std::error::Error>;

fn expect(ok: bool, what: &str) -> Result<(), BoxError> {
    if !ok {
        return Err(format!("FAILED: {what}").into());
    }
    println!("ok   {what}");
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let url =
        std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL (see the doc comment)")?;
    let now = Timestamp::now();

    // 1. The schema: versioned migrations shipped with certauth, applied on request
    //    (the operator's tool does the same: `certauth registry --database-url URL migrate`).
    let builder = PostgresRegistry::builder(&url)?.staleness_bound(Duration::from_secs(1));
    let migrated = builder.migrate().await?;
    println!("schema at version {} (was {})", migrated.to, migrated.from);

    // 2. Two replicas, each with its own cache and its own authenticator.
    let a = Arc::new(builder.clone().connect().await?);
    let b = Arc::new(builder.connect().await?);
    let root = certauth::testkit::pki::Ca::root("Walkthrough Root");
    let store = TrustStore::builder().add_pem(root.pem().as_bytes())?.check_at(now).build()?;
    let verifier = Verifier::builder(store, RING_ALGORITHMS).build()?;
    let auth_b =
        Authenticator::builder(verifier).registry(b.clone() as Arc<dyn Registry>).build()?;

    // 3. Register through A, authenticate through B.
    let id = format!("billing-{}-{}", now.as_unix_secs(), std::process::id());
    let leaf = root.leaf("billing.example.test").build();
    a.add_client(&RegisteredClient::new(&id, "Billing service").with_metadata("tier", "gold"))
        .await?;
    a.register_certificate(&id, &leaf.certificate(), now, None).await?;
    let presented = leaf.presented();
    let request = AuthRequest::new(Credential::Chain(&presented), now);
    let kind =
        |r: &certauth::Result<certauth::AuthenticatedClient>| r.as_ref().err().map(|e| e.kind());
    let until = |want: Option<ErrorKind>| {
        let (auth_b, request) = (&auth_b, &request);
        async move {
            let start = Instant::now();
            while kind(&auth_b.authenticate(request).await) != want {
                if start.elapsed() > Duration::from_secs(3) {
                    return None;
                }
                tokio::task::yield_now().await;
            }
            Some(start.elapsed())
        }
    };
    let seen = until(None).await;
    expect(seen.is_some(), &format!("replica B accepts {id}, registered through A ({seen:?})"))?;

    // 4. Known clients cost no database round trip once B is synchronised.
    while !b.is_synchronised() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = auth_b.authenticate(&request).await;
    let before = b.database_lookups();
    for _ in 0..1000 {
        auth_b.authenticate(&request).await?;
    }
    expect(b.database_lookups() - before <= 1, "1,000 requests on B, answered from its cache")?;

    // 5. Suspend through A: B obeys within the staleness bound.
    a.suspend(&id).await?;
    let seen = until(Some(ErrorKind::ClientSuspended)).await;
    expect(
        seen.is_some_and(|t| t <= b.staleness_bound()),
        &format!("replica B refuses the suspended client within the bound ({seen:?})"),
    )?;

    // 6. Remove through B; the certificate is unknown everywhere.
    b.remove_client(&id).await?;
    expect(a.by_thumbprint(&leaf.thumbprint()).await?.is_none(), "removed through B, gone for A")?;
    println!("postgres_registry: all checks passed");
    Ok(())
}
