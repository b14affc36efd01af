//! CRL loading (PEM or DER): never panics; an accepted CRL has a number and sane times.
#![no_main]
use certauth::Crl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(crls) = Crl::parse_any(data) {
        for crl in crls {
            assert!(!crl.number_hex().is_empty());
            let _ = crl.issuer().to_rfc4514();
            let _ = (crl.this_update(), crl.next_update(), crl.len());
        }
    }
});
