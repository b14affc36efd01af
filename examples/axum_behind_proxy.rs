//! A reference axum server behind a TLS-terminating proxy that forwards the client
//! certificate in a header. Only the listed proxies may send it.
//!
//! ```text
//! cargo run --example axum_behind_proxy --features axum,ring -- \
//!     --listen 127.0.0.1:8080 --trust ca.pem \
//!     --header x-ssl-client-cert --format nginx-escaped --trusted-proxy 127.0.0.1/32 \
//!     [--crl ca.crl]... [--registry clients.json] [--client-id-header x-client-id] \
//!     [--verify-header x-ssl-client-verify=SUCCESS]
//! ```
//!
//! `GET /whoami` answers `{"subject", "x5t#S256", "spiffe_id", "client_id", "source"}`;
//! a refused request gets its status and `{"error": KIND}` (a certificate header from a
//! peer that is not a trusted proxy: 400 `untrusted_source`). Prints `listening on ADDR`
//! once ready. Recipes for nginx, HAProxy and Apache are in the README.

#[path = "support/config.rs"]
mod config;
#[path = "support/mod.rs"]
mod support;

use axum::Router;
use axum::routing::get;
use certauth::HeaderFormat;
use certauth::http::{HeaderSource, TrustedProxies};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "certauth reference server: behind a TLS-terminating proxy")]
struct Args {
    #[command(flatten)]
    common: config::Common,
    /// The header the proxy forwards the certificate in.
    #[arg(long)]
    header: String,
    /// Its format (see `certauth inspect --help` for the names), e.g. nginx-escaped,
    /// rfc9440, xfcc, haproxy-der, apache.
    #[arg(long)]
    format: HeaderFormat,
    /// An RFC 9440 Client-Cert-Chain header to read intermediates from (rfc9440 only).
    #[arg(long)]
    chain_header: Option<String>,
    /// A proxy allowed to send the header (CIDR or address); repeatable, at least one.
    #[arg(long = "trusted-proxy", required = true)]
    trusted_proxies: Vec<String>,
    /// NAME=VALUE: the proxy's own verdict that must come with the certificate, e.g.
    /// `x-ssl-client-verify=SUCCESS` for nginx's `$ssl_client_verify`.
    #[arg(long, value_parser = parse_verify_header)]
    verify_header: Option<(String, String)>,
}

fn parse_verify_header(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let auth = args.common.authenticator()?;
    let mut source = HeaderSource::builder(&args.header, args.format)
        .trusted_proxies(TrustedProxies::parse(&args.trusted_proxies)?);
    if let Some(chain) = &args.chain_header {
        source = source.chain_header(chain);
    }
    if let Some((name, value)) = &args.verify_header {
        source = source.require_verification_header(name, value);
    }
    let layer = args.common.layer(auth)?.forwarded(source.build()?);
    let app = Router::new().route("/whoami", get(support::whoami)).layer(layer);
    let listener = tokio::net::TcpListener::bind(&args.common.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    support::serve(listener, app, None).await;
    Ok(())
}
