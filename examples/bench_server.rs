//! Bench-only: `axum_behind_proxy`'s server (`GET /whoami` behind the certauth layer)
//! plus one static JSON handler served twice: `GET /plain-auth` behind the layer and
//! `GET /plain` without it, so `benches/load.sh` can compare requests per second with
//! and without authentication on the same handler, in one process. The runtime has a
//! fixed number of worker threads (`--workers`, 2 by default), so a load test measures
//! the same server on any machine.
//!
//! `--verification-threads N` sets how many threads verify uncached certificates
//! (`0`: on the request's task, as before the authenticator offloaded them), for
//! `benches/load.sh attack` to compare.
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
    let app = Router::new()
        .route("/whoami", get(support::whoami))
        .route("/plain-auth", get(plain))
        .layer(layer)
        .route("/plain", get(plain));
    let listener = tokio::net::TcpListener::bind(&args.common.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    support::serve(listener, app, None).await;
    Ok(())
}
