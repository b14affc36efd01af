//! The certificate model against webpki's own parser (differential): certauth must not
//! accept DER that webpki refuses to parse as a certificate, and never panics.
#![no_main]
use certauth::pki_types::CertificateDer;
use certauth::Certificate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ours = Certificate::from_der(data);
    if let Ok(cert) = &ours {
        // Exercise every accessor the operator tool prints.
        let _ = (cert.subject().to_rfc4514(), cert.issuer().to_rfc4514(), cert.serial_hex());
        let _ = (cert.sans(), cert.spiffe_id(), cert.key().bits(), cert.signature_algorithm().name());
        let der = CertificateDer::from(data);
        // webpki parses end-entity certificates of version 3 only; compare on those.
        if cert.version() == 3 {
            assert!(
                webpki::EndEntityCert::try_from(&der).is_ok(),
                "certauth parsed a v3 certificate webpki cannot"
            );
        }
    }
});
