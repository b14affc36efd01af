//! The verifier on arbitrary presented chains (concatenated DER): never panics, and
//! never accepts anything (the trust anchor's key signs nothing the fuzzer can forge).
#![no_main]
use std::sync::LazyLock;

use certauth::{der, Limits};
use certauth::{Verifier, RING_ALGORITHMS};
use certauth::{Format, PresentedChain, Source, Timestamp, TrustStore};
use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    let root = include_bytes!("../../tests/data/pki/root.pem");
    let store = TrustStore::builder()
        .add_pem(root)
        .and_then(|b| b.check_at(Timestamp::from_unix_secs(1_800_000_000)).build())
        .expect("test root");
    Verifier::builder(store, RING_ALGORITHMS).build().expect("verifier")
});

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(certs) = der::split_concatenated(data, &limits) else { return };
    let Ok(chain) = PresentedChain::new(certs, Source::Bytes, Format::Der, &limits) else { return };
    let _ = VERIFIER.verify(&chain, Timestamp::from_unix_secs(1_800_000_000));
});
