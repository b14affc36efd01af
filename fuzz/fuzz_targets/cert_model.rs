//! The certificate model: never panics, and what it accepts is self-consistent
//! (the stored DER is the input, the thumbprint is its SHA-256, the RFC 4514 strings
//! and SPIFFE ID re-parse).
//!
//! Whether x509-parser accepts the same input is not compared here: the two parsers
//! legitimately disagree on acceptance (unknown key algorithms, found within seconds).
//! `cert_differential` compares what both read where both accept.
#![no_main]
use certauth::SpiffeId;
use certauth::{Certificate, Thumbprint};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_der(data) {
        assert_eq!(cert.der().as_ref(), data);
        assert_eq!(cert.thumbprint(), Thumbprint::of(data));
        let _ = (cert.subject().to_rfc4514(), cert.issuer().to_rfc4514(), cert.serial_hex());
        let _ = (cert.sans(), cert.key().bits(), cert.signature_algorithm().name());
        let _ = (cert.extended_key_usages(), cert.key_usage(), cert.is_ca(), cert.not_after());
        if let Some(id) = cert.spiffe_id() {
            assert_eq!(SpiffeId::parse(id.as_str()).ok().as_ref(), Some(id));
        }
        assert!(cert.not_before().to_rfc3339().len() >= 20);
    }
});
