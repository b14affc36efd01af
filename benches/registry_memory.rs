//! Where the in-memory registry's memory goes: 1,000,000 registered certificates (one
//! per client, client id `client-N`, empty name, no metadata), built once per variant,
//! each variant in a fresh child process so freed memory of one cannot hide the next.
//! Reports the growth of resident memory per entry.
//!
//! - `memory_registry`: `MemoryRegistry` filled by one `add_client` per client (two
//!   indexes of 1,024 copy-on-write sorted-slice shards: thumbprint and client to each
//!   thumbprint, id hash and client to each client; each client one shared allocation);
//!   every write copies a shard, so this includes what the allocator keeps of the freed
//!   copies;
//! - `memory_registry_bulk`: the same registry loaded at once by `replace_all` (a registry
//!   file load), what `benches/authenticate.rs` measures as live heap;
//! - `clients_in_a_vec`: the `RegisteredClient` values alone, no index;
//! - `client_map_only`: an id to `RegisteredClient` papaya map alone (an alternative
//!   design, for comparison);
//! - `thumbprint_map_only`: a thumbprint to `Arc<str>` papaya map alone (an alternative
//!   design, foldhash);
//! - `std_thumbprint_map`: a thumbprint to `Arc<str>` `std::collections::HashMap`
//!   (foldhash), for comparison.
//!
//! Run: `cargo bench --features ring,testkit,rustls --bench registry_memory`

use std::collections::HashMap;
use std::sync::Arc;

use certauth::Thumbprint;
use certauth::registry::{MemoryRegistry, RegisteredCertificate, RegisteredClient};

const N: usize = 1_000_000;
const VARIANTS: &[&str] = &[
    "memory_registry",
    "memory_registry_bulk",
    "clients_in_a_vec",
    "client_map_only",
    "thumbprint_map_only",
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
    let client = RegisteredClient::new(id, "").with_certificate(RegisteredCertificate {
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
        "memory_registry_bulk" => {
            let registry = MemoryRegistry::new();
            registry.replace_all((0..N).map(|i| client(i).0).collect(), Vec::new()).unwrap();
            let after = rss();
            drop(std::hint::black_box(registry));
            after
        }
        "client_map_only" => {
            let map: Papaya<Arc<str>, RegisteredClient> = Papaya::default();
            let pinned = map.pin();
            for i in 0..N {
                let (c, _) = client(i);
                pinned.insert(Arc::from(c.id()), c);
            }
            rss()
        }
        "thumbprint_map_only" => {
            let map: Papaya<Thumbprint, Arc<str>> = Papaya::default();
            let pinned = map.pin();
            for i in 0..N {
                let (c, t) = client(i);
                pinned.insert(t, Arc::from(c.id()));
            }
            rss()
        }
        "clients_in_a_vec" => {
            let mut v = Vec::with_capacity(N);
            for i in 0..N {
                v.push(client(i).0);
            }
            let after = rss();
            // The Vec's own 16 bytes per entry (the handles) are not part of a client.
            after - N * std::mem::size_of::<RegisteredClient>()
        }
        "std_thumbprint_map" => {
            let mut map: HashMap<Thumbprint, Arc<str>, foldhash::fast::RandomState> =
                HashMap::default();
            for i in 0..N {
                let (c, t) = client(i);
                map.insert(t, Arc::from(c.id()));
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
        "sizes: RegisteredClient {} B (handle) + {} B (its allocation for client-0), RegisteredCertificate {} B, Thumbprint {} B",
        std::mem::size_of::<RegisteredClient>(),
        client(0).0.heap_size(),
        std::mem::size_of::<RegisteredCertificate>(),
        std::mem::size_of::<Thumbprint>()
    );
}
