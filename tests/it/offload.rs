//! Uncached verifications never hold the async runtime: while one is running, a cached
//! request on the same (single-threaded) runtime is answered; when too many wait, the
//! next is refused at once with `overloaded`. Deterministic: verification is held at a
//! gate inside a signature check until the test opens it; nothing is timed.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use certauth::AuthenticatorBuilder;
use certauth::TrustStore;
use certauth::pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use certauth::testkit::pki::{Ca, Leaf};
use certauth::{AuthRequest, Authenticator, Credential, ErrorKind};
use certauth::{RING_ALGORITHMS, Verifier};

use crate::common::at;

/// Closed: every signature check waits until it opens (or, so that a broken build fails
/// instead of hanging, until a generous timeout passes).
#[derive(Debug, Default)]
struct Gate {
    closed: Mutex<bool>,
    opened: Condvar,
    /// Signature checks waiting at the gate now.
    waiting: std::sync::atomic::AtomicUsize,
}

impl Gate {
    fn set(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.opened.notify_all();
    }

    fn pass(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        let closed = self.closed.lock().unwrap();
        self.waiting.fetch_add(1, SeqCst);
        let _ = self.opened.wait_timeout_while(closed, Duration::from_secs(10), |c| *c).unwrap();
        self.waiting.fetch_sub(1, SeqCst);
    }

    /// Until a verification waits at the gate (so it runs on a verification thread and
    /// no longer sits in the queue); gives up after ten seconds.
    async fn until_one_waits(&self) {
        for _ in 0..10_000 {
            if self.waiting.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                return;
            }
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("no verification reached the gate");
    }
}

#[derive(Debug)]
struct Gated(&'static dyn SignatureVerificationAlgorithm, Arc<Gate>);

impl SignatureVerificationAlgorithm for Gated {
    fn verify_signature(&self, key: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), InvalidSignature> {
        self.1.pass();
        self.0.verify_signature(key, msg, sig)
    }
    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.0.public_key_alg_id()
    }
    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.0.signature_alg_id()
    }
}

struct Setup {
    gate: Arc<Gate>,
    inter: Ca,
    builder: AuthenticatorBuilder,
}

fn setup() -> Setup {
    let gate = Arc::new(Gate::default());
    let algorithms: Vec<&'static dyn SignatureVerificationAlgorithm> = RING_ALGORITHMS
        .iter()
        .map(|a| &*Box::leak(Box::new(Gated(*a, Arc::clone(&gate)))) as _)
        .collect();
    let root = Ca::root("Offload Root");
    let inter = root.intermediate("Offload Issuing");
    let store = TrustStore::builder().add_der(root.der()).unwrap().check_at(at()).build().unwrap();
    let verifier =
        Verifier::builder(store, Box::leak(algorithms.into_boxed_slice())).build().unwrap();
    Setup { gate, inter, builder: Authenticator::builder(verifier) }
}

async fn authenticate(auth: &Authenticator, leaf: &Leaf) -> Result<(), ErrorKind> {
    let chain = leaf.chain();
    let request = AuthRequest::new(Credential::Tls(&chain), at());
    auth.authenticate(&request).await.map(drop).map_err(|e| e.kind())
}

fn one_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

#[test]
fn a_cached_request_is_answered_while_an_uncached_verification_runs() {
    let s = setup();
    let auth = s.builder.build().unwrap();
    let (known, new) = (s.inter.leaf("known").build(), s.inter.leaf("new").build());
    one_thread_runtime().block_on(async {
        authenticate(&auth, &known).await.unwrap();
        s.gate.set(true);
        let uncached = tokio::spawn({
            let auth = auth.clone();
            async move { authenticate(&auth, &new).await }
        });
        s.gate.until_one_waits().await; // the uncached request waits at the gate
        authenticate(&auth, &known).await.unwrap();
        assert!(
            !uncached.is_finished(),
            "the cached request had to wait for the uncached verification"
        );
        s.gate.set(false);
        assert_eq!(uncached.await.unwrap(), Ok(()));
    });
}

#[test]
fn with_the_queue_full_the_next_uncached_request_is_refused_at_once_and_not_remembered() {
    let s = setup();
    let auth = s.builder.verification_threads(1).verification_queue(1).build().unwrap();
    let [first, second, third] = ["one", "two", "three"].map(|cn| s.inter.leaf(cn).build());
    one_thread_runtime().block_on(async {
        s.gate.set(true);
        let running = tokio::spawn({
            let (auth, leaf) = (auth.clone(), first);
            async move { authenticate(&auth, &leaf).await }
        });
        s.gate.until_one_waits().await; // on the one verification thread, at the gate
        let queued = tokio::spawn({
            let (auth, leaf) = (auth.clone(), second);
            async move { authenticate(&auth, &leaf).await }
        });
        tokio::task::yield_now().await; // waiting in the queue of one
        assert_eq!(authenticate(&auth, &third).await, Err(ErrorKind::Overloaded));
        s.gate.set(false);
        assert_eq!(running.await.unwrap(), Ok(()));
        assert_eq!(queued.await.unwrap(), Ok(()));
        // A refusal for load is not a verdict on the chain: once there is room, it passes.
        assert_eq!(authenticate(&auth, &third).await, Ok(()));
    });
}

#[test]
fn overloaded_is_answered_with_503() {
    assert_eq!(
        certauth::http::status_for(ErrorKind::Overloaded),
        http::StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(ErrorKind::from_name("overloaded"), Some(ErrorKind::Overloaded));
}

#[test]
fn zero_threads_verify_on_the_calling_task() {
    let s = setup();
    let auth = s.builder.verification_threads(0).build().unwrap();
    let leaf = s.inter.leaf("inline").build();
    // A future polled once with a waker that does nothing completes: nothing was handed
    // to another thread.
    let chain = leaf.chain();
    let request = AuthRequest::new(Credential::Tls(&chain), at());
    let mut f = std::pin::pin!(auth.authenticate(&request));
    let polled = f.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
    assert!(matches!(polled, std::task::Poll::Ready(Ok(_))));
}
