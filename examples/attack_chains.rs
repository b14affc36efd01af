//! Bench-only: crafted chains (`certauth::testkit::hostile`) as forwarded-header values
//! for `benches/load.sh attack`. Prints three lines: one header value (base64 of the
//! concatenated DER, HAProxy's `ssl_c_chain_der` form), then the same value cut in two
//! around eight base64 characters that encode six padding bytes of an unknown
//! extension. Any eight base64 characters put between the two halves make another chain
//! of the same shape and cost, so a load generator can send a different chain on every
//! request.
//!
//! ```text
//! cargo run --release --example attack_chains --features axum,ring,testkit -- \
//!     --kind named-like-issuer --issuer "Load Intermediate" --anchor "Load Root"
//! ```

use base64::Engine as _;
use certauth::testkit::hostile::{self, Crafted};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    /// A leaf and fifteen self-issued CAs, all named `Loop`.
    SameNameLoop,
    /// A leaf and fifteen CAs named like the real issuer, issued under the anchor's name.
    NamedLikeIssuer,
}

#[derive(Parser, Debug)]
#[command(about = "crafted chains as forwarded-header values (bench only)")]
struct Args {
    /// The shape of the chain.
    #[arg(long, value_enum)]
    kind: Kind,
    /// The real issuing CA's common name (for `named-like-issuer`).
    #[arg(long, default_value = "Load Intermediate")]
    issuer: String,
    /// The trust anchor's common name (for `named-like-issuer`).
    #[arg(long, default_value = "Load Root")]
    anchor: String,
    /// CA certificates after the leaf (the server's default chain limit is 16 in all).
    #[arg(long, default_value_t = 15)]
    copies: usize,
    /// The largest header value to produce (the server's default limit is 16 KiB).
    #[arg(long, default_value_t = 16 * 1024)]
    max_header: usize,
}

const PAD: u8 = 0x5a;

fn craft(args: &Args, padding: usize) -> Crafted {
    match args.kind {
        Kind::SameNameLoop => hostile::same_name_loop(args.copies, padding),
        Kind::NamedLikeIssuer => {
            hostile::named_like_issuer(&args.issuer, &args.anchor, args.copies, padding)
        }
    }
}

fn encode(chain: &Crafted) -> (Vec<u8>, String) {
    let der: Vec<u8> = chain.certs().iter().flat_map(|c| c.iter().copied()).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
    (der, b64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    // The most padding per CA that keeps the value within the limit (at least 16 bytes,
    // so there is a run of padding to vary).
    let (_, bare) = encode(&craft(&args, 0));
    let room = args.max_header.saturating_sub(bare.len()) * 3 / 4;
    let mut padding = (room / args.copies.max(1)).saturating_sub(16).max(16);
    let (der, value) = loop {
        let (der, value) = encode(&craft(&args, padding));
        if value.len() <= args.max_header {
            break (der, value);
        }
        if padding <= 16 {
            return Err(format!("no chain of this shape fits in {} bytes", args.max_header).into());
        }
        padding = padding.saturating_sub(32).max(16);
    };
    // Six padding bytes at a multiple of three: eight base64 characters of their own.
    let run = der
        .windows(9)
        .position(|w| w.iter().all(|&b| b == PAD))
        .ok_or("no padding in the chain")?;
    let start = run.div_ceil(3) * 3;
    let at = start / 3 * 4;
    println!("{value}");
    println!("{}", &value[..at]);
    println!("{}", &value[at + 8..]);
    eprintln!(
        "attack_chains: {:?}, {} certificates, {} bytes of DER, header value {} bytes",
        args.kind,
        args.copies + 1,
        der.len(),
        value.len()
    );
    Ok(())
}
