//! Concatenated DER framing: never panics; the pieces re-join to the input.
#![no_main]
use certauth::{der, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(certs) = der::split_concatenated(data, &Limits::default()) {
        let joined: Vec<u8> = certs.iter().flat_map(|c| c.as_ref().iter().copied()).collect();
        assert_eq!(joined, data);
    }
});
