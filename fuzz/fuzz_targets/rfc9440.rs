//! RFC 9440 `Client-Cert` and `Client-Cert-Chain` (RFC 8941 byte sequences): never
//! panics; an item that decodes also decodes as a one-member list, to the same certificate.
#![no_main]
use certauth::{decode_header, HeaderFormat, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let item = decode_header(data, HeaderFormat::Rfc9440, "client-cert", &limits);
    let list = decode_header(data, HeaderFormat::Rfc9440Chain, "client-cert-chain", &limits);
    if let Ok(item) = item {
        let list = list.expect("an item is a one-member list");
        assert_eq!(list.certificates(), item.certificates());
    }
});
