//! Registry file loading: never panics, never half-loads.
#![no_main]
use certauth::registry::MemoryRegistry;
use certauth::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let registry = MemoryRegistry::new();
    if registry.load_bytes(data, Timestamp::from_unix_secs(1_800_000_000)).is_err() {
        assert!(registry.is_empty(), "a failed load changed the registry");
    }
});
