//! Lenient PEM (one-line, space-joined, tab-folded): never panics, bounded chain.
#![no_main]
use certauth::{pem, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(certs) = pem::parse_lenient(data, &limits) {
        assert!(!certs.is_empty() && certs.len() <= limits.max_chain_len());
    }
});
