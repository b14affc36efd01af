//! Where the in-memory registry's memory goes: 1,000,000 registered certificates (one
//! per client, client id `client-N`, empty name, no metadata), built once per variant,
//! each variant in a fresh child process so freed memory of one cannot hide the next.
//! Reports the growth of resident memory per entry.
//!
//! - `memory_registry`: `MemoryRegistry` (two indexes of 1,024 copy-on-write std hash-map
//!   shards: id to `Arc<RegisteredClient>`, thumbprint to `Arc<RegisteredClient>`; client
//!   records compacted), what `benches/authenticate.rs` measures as live heap;
//! - `memory_registry_exact_vec`: the same, with each client's certificate `Vec` shrunk to
//!   its length before registration (a `Vec` grown by one `push` holds four slots);
//! - `client_map_only`: an id to `Arc<RegisteredClient>` papaya map alone (the previous
//!   design, for comparison);
//! - `thumbprint_map_only`: a thumbprint to `Arc<str>` papaya map alone (the previous
//!   design, foldhash);
//! - `clients_in_a_vec`: the `Arc<RegisteredClient>` values alone, no map;
//! - `std_thumbprint_map`: the thumbprint map as a `std::collections::HashMap` (foldhash),
//!   for comparison.
//!
//! Run: `cargo bench --bench registry_memory`

use std::collections::HashMap;
use std::sync::Arc;

use certauth::Thumbprint;
use certauth::registry::{MemoryRegistry, RegisteredCertificate, RegisteredClient};

const N: usize = 1_000_000;
const VARIANTS: &[&str] = &[
    "memory_registry",
    "memory_registry_exact_vec",
    "client_map_only",
    "thumbprint_map_only",
    "clients_in_a_vec",
    "std_thumbprint_map",
];
type Papaya<K, V> = papaya::HashMap<K, V, foldhash::fast::RandomState>;

/// Resident memory of this process in bytes (Linux); 0 elsewhere.
fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<usize>().ok()))
        .map_or(0, |pages| pages * 4096)
}

fn client(i: usize) -> (RegisteredClient, Thumbprint) {
    let id = format!("client-{i}");
    let thumbprint = Thumbprint::of(id.as_bytes());
    let mut client = RegisteredClient::new(id, "");
    client.certificates.push(RegisteredCertificate {
        thumbprint,
        not_after: None,
        retire_after: None,
    });
    (client, thumbprint)
}

/// Builds `variant` and returns the resident memory it added, keeping it alive until
/// measured.
fn measure(variant: &str) -> usize {
    let before = rss();
    let after = match variant {
        "memory_registry" => {
            let registry = MemoryRegistry::new();
            for i in 0..N {
                registry.add_client(client(i).0).unwrap();
            }
            let after = rss();
            drop(std::hint::black_box(registry));
            after
        }
        "memory_registry_exact_vec" => {
            let registry = MemoryRegistry::new();
            for i in 0..N {
                let (mut c, _) = client(i);
                c.certificates.shrink_to_fit();
                registry.add_client(c).unwrap();
            }
            let after = rss();
            drop(std::hint::black_box(registry));
            after
        }
        "client_map_only" => {
            let map: Papaya<Arc<str>, Arc<RegisteredClient>> = Papaya::default();
            let pinned = map.pin();
            for i in 0..N {
                let (c, _) = client(i);
                pinned.insert(Arc::from(c.id.as_str()), Arc::new(c));
            }
            rss()
        }
        "thumbprint_map_only" => {
            let map: Papaya<Thumbprint, Arc<str>> = Papaya::default();
            let pinned = map.pin();
            for i in 0..N {
                let (c, t) = client(i);
                pinned.insert(t, Arc::from(c.id.as_str()));
            }
            rss()
        }
        "clients_in_a_vec" => {
            let mut v = Vec::with_capacity(N);
            for i in 0..N {
                v.push(Arc::new(client(i).0));
            }
            let after = rss();
            // The Vec's own 8 bytes per entry are not part of a client.
            after - N * std::mem::size_of::<Arc<RegisteredClient>>()
        }
        "std_thumbprint_map" => {
            let mut map: HashMap<Thumbprint, Arc<str>, foldhash::fast::RandomState> =
                HashMap::default();
            for i in 0..N {
                let (c, t) = client(i);
                map.insert(t, Arc::from(c.id.as_str()));
            }
            rss()
        }
        other => panic!("unknown variant {other}"),
    };
    after.saturating_sub(before)
}

fn main() {
    if let Ok(variant) = std::env::var("CERTAUTH_REGISTRY_MEMORY_VARIANT") {
        println!("{}", measure(&variant));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    println!("{N} entries; resident memory growth per entry, each variant in its own process");
    println!("{:<26} {:>8} {:>16}", "variant", "MB", "bytes per entry");
    for variant in VARIANTS {
        let out = std::process::Command::new(&exe)
            .env("CERTAUTH_REGISTRY_MEMORY_VARIANT", variant)
            .output()
            .unwrap();
        assert!(out.status.success(), "{variant}: {}", String::from_utf8_lossy(&out.stderr));
        let bytes: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        println!("{variant:<26} {:>8} {:>16}", bytes / 1_000_000, bytes / N);
    }
    println!(
        "sizes: RegisteredClient {} B, RegisteredCertificate {} B, Thumbprint {} B",
        std::mem::size_of::<RegisteredClient>(),
        std::mem::size_of::<RegisteredCertificate>(),
        std::mem::size_of::<Thumbprint>()
    );
}
