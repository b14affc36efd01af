//! Envoy `x-forwarded-client-cert`: never panics; a decoded chain is within bounds.
#![no_main]
use certauth::{decode_header, HeaderFormat, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(chain) = decode_header(data, HeaderFormat::Xfcc, "x-forwarded-client-cert", &limits) {
        assert!(!chain.certificates().is_empty());
        assert!(chain.certificates().len() <= limits.max_chain_len());
    }
});
