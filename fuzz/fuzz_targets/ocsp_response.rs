//! OCSP responses through `ocsp::OcspChecker` (parse, match, signature, delegated
//! responder, freshness), from a transport that answers with the fuzz input. Never
//! panics, and never reports `revoked`: the input is either arbitrary bytes (no key the
//! fuzzer holds is trusted) or, when it starts with 0x00, a genuine `good` response of
//! the test CA with bytes flipped at the (offset, xor) pairs that follow.
#![no_main]
use std::sync::{Arc, LazyLock, Mutex};

use certauth::ocsp::{OcspChecker, OcspTransport};
use certauth::testkit::pki::Ca;
use certauth::{BoxFuture, ErrorKind, RevocationChecker, Result, Timestamp, TrustStore};
use certauth::{VerifiedChain, Verifier, RING_ALGORITHMS};
use libfuzzer_sys::fuzz_target;

const NOW: Timestamp = Timestamp::from_unix_secs(1_800_000_000);

/// Answers with whatever the current input is.
#[derive(Debug, Default)]
struct Input(Mutex<Vec<u8>>);

impl OcspTransport for Input {
    fn post<'a>(&'a self, _: &'a str, _: &'a [u8], _: usize) -> BoxFuture<'a, Result<Vec<u8>>> {
        let body = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        Box::pin(std::future::ready(Ok(body)))
    }
}

struct Fixture {
    verifier: Verifier,
    chain: VerifiedChain,
    good: Vec<u8>,
    input: Arc<Input>,
    runtime: tokio::runtime::Runtime,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let ca = Ca::root("Fuzz OCSP Root");
    let leaf = ca.leaf("client").build();
    let store = TrustStore::builder().add_der(ca.der()).expect("root").build().expect("store");
    let verifier = Verifier::builder(store, RING_ALGORITHMS).build().expect("verifier");
    let chain = verifier.verify(&leaf.presented(), NOW).expect("chain");
    let good = ca.ocsp_response(leaf.der()).build().der().to_vec();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
    Fixture { verifier, chain, good, input: Arc::default(), runtime }
});

fuzz_target!(|data: &[u8]| {
    let f = &*FIXTURE;
    let body = match data.split_first() {
        Some((0, flips)) => {
            let mut body = f.good.clone();
            for pair in flips.chunks_exact(3) {
                let at = usize::from(u16::from_be_bytes([pair[0], pair[1]])) % body.len();
                body[at] ^= pair[2];
            }
            body
        }
        _ => data.to_vec(),
    };
    *f.input.0.lock().unwrap() = body;
    // A fresh checker per input: nothing cached from the previous one.
    let checker = OcspChecker::builder(&f.verifier)
        .transport(f.input.clone())
        .responder_url("http://ocsp.fuzz.test/")
        .build()
        .expect("checker");
    let result = f.runtime.block_on(checker.check(&f.chain, NOW));
    if let Err(e) = result {
        assert!(
            matches!(e.kind(), ErrorKind::RevocationUnknown | ErrorKind::RevocationStale),
            "{e:?}"
        );
        assert!(e.message().len() < 300, "{e:?}");
    }
});
