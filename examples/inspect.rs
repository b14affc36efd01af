//! Parse a client certificate (any supported encoding) and print who it identifies.
//!
//! ```sh
//! cargo run --example inspect -- tests/data/pki/leaf-ec-chain.pem
//! ```
//!
//! The library half of the operator tool, in a dozen lines: content-detected input,
//! the certificate model, and the RFC 8705 thumbprint.

use certauth::{Certificate, Error};
use certauth::{Format, Limits, parse};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: inspect FILE")?;
    let bytes = std::fs::read(&path)?;
    let chain = parse(&bytes, Format::Auto, &Limits::default())?;
    let leaf =
        Certificate::from_der(chain.leaf()).map_err(|e: Error| format!("{}: {e}", e.kind()))?;
    println!("format:      {}", chain.format());
    println!("subject:     {}", leaf.subject());
    println!("issuer:      {}", leaf.issuer());
    println!("spiffe id:   {}", leaf.spiffe_id().map_or("(none)".into(), |id| id.to_string()));
    println!("dns names:   {}", leaf.sans().dns().join(", "));
    println!("x5t#S256:    {}", leaf.thumbprint());
    println!("chain:       {} certificate(s)", chain.certificates().len());
    Ok(())
}
