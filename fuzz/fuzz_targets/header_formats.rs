//! Every forwarded-header format: the first byte picks the format, the rest is the value.
//! Never panics; a decoded chain is non-empty, within the chain bound, and tagged with the
//! header; refused values never echo a long run of the input in the message.
#![no_main]
use certauth::{decode_header, decode_header_lines, HeaderFormat, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, value)) = data.split_first() else { return };
    let formats = HeaderFormat::ALL;
    let format = formats[usize::from(pick) % formats.len()];
    let limits = Limits::default();
    match decode_header(value, format, "x-fuzz", &limits) {
        Ok(chain) => {
            assert!(!chain.certificates().is_empty());
            assert!(chain.certificates().len() <= limits.max_chain_len());
            assert_eq!(chain.source().to_string(), "header:x-fuzz");
            assert!(chain.header_format().is_some());
        }
        Err(e) => assert!(e.message().len() < 400, "{format}: message too long"),
    }
    // The same value as two field lines (split in the middle).
    let (a, b) = value.split_at(value.len() / 2);
    let _ = decode_header_lines(&[a, b], format, "x-fuzz", &limits);
});
