//! Content detection over every encoding (`Format::Auto`), then the certificate model on
//! each certificate found: never panics.
#![no_main]
use certauth::{parse, Format, Limits};
use certauth::Certificate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(chain) = parse(data, Format::Auto, &Limits::default()) {
        for der in chain.certificates() {
            let _ = Certificate::from_der(der);
        }
    }
});
