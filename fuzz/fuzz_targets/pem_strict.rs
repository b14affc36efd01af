//! Strict RFC 7468 PEM bundles: never panics; whatever it accepts, lenient PEM accepts
//! identically (differential: lenient against strict on well-formed input).
#![no_main]
use certauth::{pem, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(strict) = pem::parse_strict(data, &limits) {
        // Strict output is also what lenient parsing gives, unless the input has
        // explanatory text between blocks (which only strict mode allows).
        if let Ok(lenient) = pem::parse_lenient(data, &limits) {
            assert_eq!(strict, lenient, "strict and lenient pem disagree");
        }
    }
});
