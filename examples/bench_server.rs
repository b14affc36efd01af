//! Bench-only: `axum_behind_proxy`'s server (`GET /whoami` behind the certauth layer)
//! plus one static JSON handler served twice: `GET /plain-auth` behind the layer and
//! `GET /plain` without it, so `benches/load.sh` can compare requests per second with
//! and without authentication on the same handler, in one process. The runtime has a
//! fixed number of worker threads (`--workers`, 2 by default), so a load test measures
//! the same server on any machine.
//!
//! `--offload` is an experiment for `benches/load.sh attack`: a request whose forwarded
//! header value has not been answered 200 before runs on tokio's blocking pool, at most
//! `--offload-permits` at a time, instead of on a runtime worker; a value answered 200
//! before (a cached client) stays on the worker. It approximates, from outside the
//! library, verifying cache misses off the runtime's workers.
//!
//! ```text
//! cargo run --release --example bench_server --features axum,ring -- \
//!     --listen 127.0.0.1:0 --trust ca.pem --header x-ssl-client-cert \
//!     --format haproxy-der --trusted-proxy 127.0.0.1/32
//! ```

#[path = "support/config.rs"]
mod config;
#[path = "support/mod.rs"]
mod support;

use std::collections::HashSet;
use std::hash::{BuildHasher as _, RandomState};
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use certauth::HeaderFormat;
use certauth::http::{HeaderSource, TrustedProxies};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "certauth bench server: /whoami and /plain-auth with the layer, /plain without")]
struct Args {
    #[command(flatten)]
    common: config::Common,
    /// The header the proxy forwards the certificate in.
    #[arg(long)]
    header: String,
    /// Its format, e.g. haproxy-der.
    #[arg(long)]
    format: HeaderFormat,
    /// A proxy allowed to send the header; repeatable, at least one.
    #[arg(long = "trusted-proxy", required = true)]
    trusted_proxies: Vec<String>,
    /// Worker threads of the tokio runtime.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Run requests with a header value not answered 200 before on the blocking pool.
    #[arg(long)]
    offload: bool,
    /// With `--offload`: how many such requests run at once.
    #[arg(long, default_value_t = 1)]
    offload_permits: usize,
}

/// `--offload`: the hashes of header values answered 200, and the blocking-pool permits.
struct Offload {
    header: String,
    known: Mutex<HashSet<u64>>,
    hasher: RandomState,
    permits: Arc<tokio::sync::Semaphore>,
}

/// At most this many known values are remembered (then the set starts over).
const MAX_KNOWN: usize = 10_000;

async fn offload(State(o): State<Arc<Offload>>, request: Request, next: Next) -> Response {
    let Some(key) = request.headers().get(&o.header).map(|v| o.hasher.hash_one(v.as_bytes()))
    else {
        return next.run(request).await;
    };
    if o.known.lock().unwrap_or_else(|e| e.into_inner()).contains(&key) {
        return next.run(request).await;
    }
    let Ok(permit) = Arc::clone(&o.permits).acquire_owned().await else {
        return next.run(request).await;
    };
    let runtime = tokio::runtime::Handle::current();
    let response = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        runtime.block_on(next.run(request))
    })
    .await
    .unwrap_or_else(|e| panic!("bench_server: offloaded request: {e}"));
    if response.status().is_success() {
        let mut known = o.known.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_KNOWN {
            known.clear();
        }
        known.insert(key);
    }
    response
}

/// `GET /plain` and `GET /plain-auth`: a fixed JSON body of the same shape as `/whoami`.
async fn plain() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "subject": "CN=anonymous",
        "x5t#S256": "-",
        "spiffe_id": null,
        "client_id": null,
        "source": "none",
    }))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let auth = args.common.authenticator()?;
    let source = HeaderSource::builder(&args.header, args.format)
        .trusted_proxies(TrustedProxies::parse(&args.trusted_proxies)?);
    let layer = args.common.layer(auth)?.forwarded(source.build()?);
    // `layer` wraps the routes added before it only: `/plain` stays unauthenticated.
    let mut app = Router::new()
        .route("/whoami", get(support::whoami))
        .route("/plain-auth", get(plain))
        .layer(layer)
        .route("/plain", get(plain));
    if args.offload {
        let state = Arc::new(Offload {
            header: args.header.clone(),
            known: Mutex::new(HashSet::new()),
            hasher: RandomState::new(),
            permits: Arc::new(tokio::sync::Semaphore::new(args.offload_permits.max(1))),
        });
        app = app.layer(axum::middleware::from_fn_with_state(state, offload));
    }
    let listener = tokio::net::TcpListener::bind(&args.common.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    support::serve(listener, app, None).await;
    Ok(())
}
