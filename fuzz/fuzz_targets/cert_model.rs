//! The certificate model, differential against x509-parser: certauth must not accept
//! DER that x509-parser refuses, and never panics.
#![no_main]
use certauth::Certificate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = Certificate::from_der(data) {
        // Exercise every accessor the operator tool prints.
        let _ = (cert.subject().to_rfc4514(), cert.issuer().to_rfc4514(), cert.serial_hex());
        let _ = (cert.sans(), cert.spiffe_id(), cert.key().bits(), cert.signature_algorithm().name());
        let _ = (cert.extended_key_usages(), cert.key_usage(), cert.is_ca(), cert.not_after());
        assert!(
            x509_parser::parse_x509_certificate(data).is_ok(),
            "certauth parsed a certificate x509-parser refuses"
        );
    }
});
