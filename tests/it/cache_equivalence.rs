//! Cache equivalence: an [`Authenticator`] with the verification cache decides every
//! request as one with the cache disabled would. Same acceptance, same error kind when
//! refusing, same identity (thumbprint, source, registered client) when accepting.
//!
//! Generated sequences of operations run on one authenticator without a cache, over its
//! own verifier, and on cached ones over another verifier (the default configuration,
//! and one holding at most two entries so that eviction runs):
//!
//! - authenticate a credential from a fixed pool (genuine leaves with and without an
//!   intermediate, an expired, a not-yet-valid and a revoked leaf, a leaf of a root
//!   valid only from a later time, a leaf of a root no store holds), presented as its
//!   path, as the leaf alone, with junk certificates appended, with same-name impostor
//!   intermediates before the genuine one, or with the root; over TLS, as DER or PEM
//!   bytes, as a decoded chain, or in a forwarded header (nginx escaped PEM, AWS ALB,
//!   Traefik); at a time that moves forwards or backwards across the notBefore and
//!   notAfter of the pool's certificates and the thisUpdate, nextUpdate and maximum age
//!   of its CRLs;
//! - replace the trust store (with and without each root and the held intermediate,
//!   with CRLs that revoke and CRLs that do not, two CRLs of one issuer), on both
//!   verifiers;
//! - change the registry all authenticators share (register, suspend, activate,
//!   remove a client, retire a certificate).
//!
//! The cache remembers a refused credential for a few seconds and answers it again with
//! the same error without verifying. A refusal that time passing cannot cure is the same
//! either way; one it can cure must not be remembered. So the property is the plain one:
//! equal outcomes at every step.
//!
//! The last tests of this file hold the minimal sequences on which the cache decides
//! otherwise than no cache.

use std::sync::{Arc, LazyLock};

use certauth::CacheConfig;
use certauth::Unregistered;
use certauth::pki_types::CertificateDer;
use certauth::registry::{MemoryRegistry, RegisteredClient};
use certauth::testkit::pki::{Ca, Crl, Leaf};
use certauth::testkit::proxy::{self, Proxy as _};
use certauth::{
    AuthRequest, Authenticator, Credential, ErrorKind, Format, HeaderFormat, Limits,
    PresentedChain, Source, Thumbprint, Timestamp, TrustStore, Verifier,
};
use certauth::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus};
use proptest::prelude::*;

/// The centre of the generated times: 2026-06-01T00:00:00Z.
const T0: Timestamp = Timestamp::from_unix_secs(1_780_272_000);

fn t(offset: i64) -> Timestamp {
    T0.plus_secs(offset)
}

/// Where the pool's validity and CRL boundaries lie, in seconds from [`T0`].
mod edge {
    /// notBefore of the late root.
    pub(super) const LATE_ROOT_FROM: i64 = 5;
    /// notBefore of the not-yet-valid leaf.
    pub(super) const EARLY_LEAF_FROM: i64 = 10;
    /// notAfter of the expiring leaf.
    pub(super) const EXPIRING_LEAF_UNTIL: i64 = 30;
    /// thisUpdate and nextUpdate of the CRLs that revoke nothing.
    pub(super) const CLEAN_CRL: (i64, i64) = (-40, 60);
    /// thisUpdate and nextUpdate of the CRLs that revoke a leaf.
    pub(super) const REVOKING_CRL: (i64, i64) = (15, 100);
    /// The revocation policy's CRL maximum age: the clean CRLs are too old after 35,
    /// the revoking ones after 90.
    pub(super) const CRL_MAX_AGE: i64 = 75;
}

/// Times a step may jump to: every boundary, one second either side, and some between.
const TIMES: &[i64] = &[
    -100, -41, -40, -39, -10, -1, 0, 1, 4, 5, 6, 9, 10, 11, 14, 15, 16, 25, 29, 30, 31, 34, 35, 36,
    50, 59, 60, 61, 89, 90, 91, 99, 100, 101, 300, 5000,
];

/// Certificates and CRLs made once (key generation is slow).
struct Pool {
    root: Ca,
    late_root: Ca,
    inter: Ca,
    /// Leaves, by [`LeafId`].
    leaves: Vec<Leaf>,
    /// Intermediates named like `inter` and issued by `root`, with other keys.
    impostors: Vec<CertificateDer<'static>>,
    /// Certificates that lie on no path of any pool leaf.
    junk: Vec<CertificateDer<'static>>,
    crls: Crls,
}

struct Crls {
    root_clean: Crl,
    root_revoking: Crl,
    inter_clean: Crl,
    inter_revoking: Crl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LeafId {
    /// Issued by the root.
    Direct,
    /// Issued by the intermediate.
    Issued,
    /// Issued by the root, expires at [`edge::EXPIRING_LEAF_UNTIL`].
    Expiring,
    /// Issued by the root, valid from [`edge::EARLY_LEAF_FROM`].
    Early,
    /// Issued by the root, revoked by the root's revoking CRL.
    RevokedDirect,
    /// Issued by the intermediate, revoked by the intermediate's revoking CRL.
    RevokedIssued,
    /// Issued by the late root (valid from [`edge::LATE_ROOT_FROM`]).
    Late,
    /// Issued by a root no store holds.
    Foreign,
}

/// Every leaf, in declaration order (the index of a leaf in [`Pool::leaves`]).
const LEAVES: &[LeafId] = &[
    LeafId::Direct,
    LeafId::Issued,
    LeafId::Expiring,
    LeafId::Early,
    LeafId::RevokedDirect,
    LeafId::RevokedIssued,
    LeafId::Late,
    LeafId::Foreign,
];

static POOL: LazyLock<Pool> = LazyLock::new(|| {
    let root = Ca::root("Equivalence Root");
    let late_root = Ca::builder("Equivalence Late Root")
        .valid(t(edge::LATE_ROOT_FROM), certauth::testkit::pki::DEFAULT_NOT_AFTER)
        .build();
    let foreign_root = Ca::root("Equivalence Foreign Root");
    let inter = root.intermediate("Equivalence Issuing");
    let leaves = LEAVES
        .iter()
        .map(|id| match id {
            LeafId::Direct => root.leaf("direct").build(),
            LeafId::Issued => inter.leaf("issued").build(),
            LeafId::Expiring => root
                .leaf("expiring")
                .valid(certauth::testkit::pki::DEFAULT_NOT_BEFORE, t(edge::EXPIRING_LEAF_UNTIL))
                .build(),
            LeafId::Early => root
                .leaf("early")
                .valid(t(edge::EARLY_LEAF_FROM), certauth::testkit::pki::DEFAULT_NOT_AFTER)
                .build(),
            LeafId::RevokedDirect => root.leaf("revoked-direct").build(),
            LeafId::RevokedIssued => inter.leaf("revoked-issued").build(),
            LeafId::Late => late_root.leaf("late").build(),
            LeafId::Foreign => foreign_root.leaf("foreign").build(),
        })
        .collect::<Vec<_>>();
    let impostors =
        (0..4).map(|_| root.intermediate("Equivalence Issuing").der().clone()).collect();
    let junk = vec![
        foreign_root.der().clone(),
        foreign_root.intermediate("Equivalence Foreign Issuing").der().clone(),
        leaves[LeafId::Foreign as usize].der().clone(),
    ];
    let (ct, cn) = edge::CLEAN_CRL;
    let (rt, rn) = edge::REVOKING_CRL;
    let crls = Crls {
        root_clean: root.crl().this_update(t(ct)).next_update(t(cn)).number(1).build(),
        root_revoking: root
            .crl()
            .revoke(&leaves[LeafId::RevokedDirect as usize])
            .this_update(t(rt))
            .next_update(t(rn))
            .number(2)
            .build(),
        inter_clean: inter.crl().this_update(t(ct)).next_update(t(cn)).number(1).build(),
        inter_revoking: inter
            .crl()
            .revoke(&leaves[LeafId::RevokedIssued as usize])
            .this_update(t(rt))
            .next_update(t(rn))
            .number(2)
            .build(),
    };
    Pool { root, late_root, inter, leaves, impostors, junk, crls }
});

impl Pool {
    fn leaf(&self, id: LeafId) -> &Leaf {
        &self.leaves[id as usize]
    }
}

// ---------------------------------------------------------------------------------------
// Trust stores
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrlId {
    RootClean,
    RootRevoking,
    InterClean,
    InterRevoking,
}

/// A trust store to build: which roots, whether the intermediate is held, which CRLs.
#[derive(Clone, Copy, Debug)]
struct StoreSpec {
    root: bool,
    late_root: bool,
    held_inter: bool,
    crls: &'static [CrlId],
}

/// Index in [`STORES`]: the root alone.
const ROOT_ONLY: usize = 0;
/// Index in [`STORES`]: both roots and the CRLs that revoke, issued at
/// [`edge::REVOKING_CRL`]`.0`.
const REVOKING: usize = 2;
/// Index in [`STORES`]: the late root alone.
const LATE_ROOT_ONLY: usize = 5;

const STORES: &[StoreSpec] = &[
    StoreSpec { root: true, late_root: false, held_inter: false, crls: &[] },
    StoreSpec {
        root: true,
        late_root: true,
        held_inter: false,
        crls: &[CrlId::RootClean, CrlId::InterClean],
    },
    StoreSpec {
        root: true,
        late_root: true,
        held_inter: false,
        crls: &[CrlId::RootRevoking, CrlId::InterRevoking],
    },
    // Two CRLs of one issuer: the newer (revoking) one decides.
    StoreSpec {
        root: true,
        late_root: false,
        held_inter: true,
        crls: &[CrlId::RootClean, CrlId::RootRevoking, CrlId::InterRevoking],
    },
    StoreSpec { root: true, late_root: true, held_inter: true, crls: &[CrlId::InterClean] },
    StoreSpec { root: false, late_root: true, held_inter: false, crls: &[] },
    StoreSpec { root: true, late_root: false, held_inter: true, crls: &[] },
];

fn build_store(spec: StoreSpec) -> TrustStore {
    let pool = &*POOL;
    let mut b = TrustStore::builder();
    if spec.root {
        b = b.add_pem(pool.root.pem().as_bytes()).unwrap();
    }
    if spec.late_root {
        b = b.add_pem(pool.late_root.pem().as_bytes()).unwrap();
    }
    if spec.held_inter {
        b = b.add_intermediates_pem(pool.inter.pem().as_bytes()).unwrap();
    }
    for crl in spec.crls {
        let crl = match crl {
            CrlId::RootClean => &pool.crls.root_clean,
            CrlId::RootRevoking => &pool.crls.root_revoking,
            CrlId::InterClean => &pool.crls.inter_clean,
            CrlId::InterRevoking => &pool.crls.inter_revoking,
        };
        b = b.add_crl(crl.der()).unwrap();
    }
    // Every anchor is valid at this time, so the store builds; validity at the
    // verification time is the verifier's business.
    b.check_at(t(1000)).build().unwrap()
}

fn policy(depth: RevocationDepth) -> RevocationPolicy {
    RevocationPolicy::new(depth, UnknownStatus::Allow).with_max_age_secs(edge::CRL_MAX_AGE)
}

fn verifier(store: usize, depth: RevocationDepth) -> Verifier {
    Verifier::builder(build_store(STORES[store]), RING_ALGORITHMS)
        .revocation(policy(depth))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------------------

/// Which certificates are presented.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// The leaf and its intermediates.
    Path,
    /// The leaf alone.
    LeafOnly,
    /// The path, then certificates that lie on no path.
    JunkAfter,
    /// The leaf, four same-name impostors of the intermediate, then the path's
    /// intermediates.
    ImpostorsFirst,
    /// The path, then the root.
    WithRoot,
}

/// How the certificates arrive.
#[derive(Clone, Copy, Debug)]
enum Wire {
    Tls,
    Der,
    Pem,
    Chain,
    Nginx,
    AwsAlb,
    Traefik,
}

fn certificates(leaf: LeafId, shape: Shape) -> Vec<CertificateDer<'static>> {
    let pool = &*POOL;
    let leaf = pool.leaf(leaf);
    let mut certs = vec![leaf.der().clone()];
    match shape {
        Shape::Path => certs.extend_from_slice(leaf.intermediates()),
        Shape::LeafOnly => {}
        Shape::JunkAfter => {
            certs.extend_from_slice(leaf.intermediates());
            certs.extend_from_slice(&pool.junk);
        }
        Shape::ImpostorsFirst => {
            certs.extend_from_slice(&pool.impostors);
            certs.extend_from_slice(leaf.intermediates());
        }
        Shape::WithRoot => {
            certs.extend_from_slice(leaf.intermediates());
            certs.push(pool.root.der().clone());
        }
    }
    certs
}

/// The bytes a credential refers to, kept alive for the request.
enum Presented {
    Certs(Vec<CertificateDer<'static>>),
    Bytes(Vec<u8>, Format),
    Chain(PresentedChain),
    Header(&'static str, String, HeaderFormat),
}

impl Presented {
    fn new(leaf: LeafId, shape: Shape, wire: Wire) -> Self {
        let certs = certificates(leaf, shape);
        match wire {
            Wire::Tls => Self::Certs(certs),
            Wire::Der => {
                Self::Bytes(certs.iter().flat_map(|c| c.iter().copied()).collect(), Format::Der)
            }
            Wire::Pem => Self::Bytes(
                certs.iter().map(|c| pem_of(c)).collect::<String>().into_bytes(),
                Format::Pem,
            ),
            Wire::Chain => Self::Chain(
                PresentedChain::new(certs, Source::Bytes, Format::Der, &Limits::default()).unwrap(),
            ),
            Wire::Nginx => {
                let (name, value) = proxy::Nginx.forward_chain(&certs);
                Self::Header(name, value, HeaderFormat::NginxEscaped)
            }
            Wire::AwsAlb => {
                let (name, value) = proxy::AwsAlb.forward_chain(&certs);
                Self::Header(name, value, HeaderFormat::AwsAlb)
            }
            Wire::Traefik => {
                let (name, value) = proxy::Traefik.forward_chain(&certs);
                Self::Header(name, value, HeaderFormat::Traefik)
            }
        }
    }

    fn credential(&self) -> Credential<'_> {
        match self {
            Self::Certs(certs) => Credential::Tls(certs),
            Self::Bytes(bytes, format) => Credential::Encoded { bytes, format: *format },
            Self::Chain(chain) => Credential::Chain(chain),
            Self::Header(name, value, format) => {
                Credential::Header { name, value: value.as_bytes(), format: *format }
            }
        }
    }
}

fn pem_of(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

// ---------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------

/// How the verification time moves before a request.
#[derive(Clone, Copy, Debug)]
enum Clock {
    /// The time of the previous request.
    Same,
    /// A few seconds later (within the failure memory's ten seconds, or just past it).
    Forward(i64),
    /// A few seconds earlier.
    Back(i64),
    /// One of [`TIMES`].
    Jump(usize),
}

#[derive(Clone, Copy, Debug)]
enum RegistryOp {
    /// Adds the client if it is missing and registers the leaf's certificate to it.
    Register(usize, LeafId),
    Suspend(usize),
    Activate(usize),
    Remove(usize),
    /// Retires the leaf's certificate after one of [`TIMES`].
    Retire(LeafId, usize),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Authenticate { leaf: LeafId, shape: Shape, wire: Wire, clock: Clock, client: Option<usize> },
    Rotate(usize),
    Registry(RegistryOp),
}

const CLIENTS: &[&str] = &["alice", "bob"];

fn leaf_id() -> impl Strategy<Value = LeafId> {
    proptest::sample::select(LEAVES)
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        4 => Just(Shape::Path),
        2 => Just(Shape::LeafOnly),
        2 => Just(Shape::JunkAfter),
        2 => Just(Shape::ImpostorsFirst),
        1 => Just(Shape::WithRoot),
    ]
}

fn wire() -> impl Strategy<Value = Wire> {
    prop_oneof![
        3 => Just(Wire::Tls),
        1 => Just(Wire::Der),
        1 => Just(Wire::Pem),
        1 => Just(Wire::Chain),
        1 => Just(Wire::Nginx),
        1 => Just(Wire::AwsAlb),
        1 => Just(Wire::Traefik),
    ]
}

fn clock() -> impl Strategy<Value = Clock> {
    prop_oneof![
        2 => Just(Clock::Same),
        3 => (1i64..=12).prop_map(Clock::Forward),
        1 => (1i64..=12).prop_map(Clock::Back),
        3 => (0..TIMES.len()).prop_map(Clock::Jump),
    ]
}

fn registry_op() -> impl Strategy<Value = RegistryOp> {
    let client = 0..CLIENTS.len();
    prop_oneof![
        3 => (client.clone(), leaf_id()).prop_map(|(c, l)| RegistryOp::Register(c, l)),
        1 => client.clone().prop_map(RegistryOp::Suspend),
        1 => client.clone().prop_map(RegistryOp::Activate),
        1 => client.prop_map(RegistryOp::Remove),
        1 => (leaf_id(), 0..TIMES.len()).prop_map(|(l, at)| RegistryOp::Retire(l, at)),
    ]
}

/// An operation; requests present a leaf drawn from `leaf`.
fn op(leaf: impl Strategy<Value = LeafId>) -> impl Strategy<Value = Op> {
    let client = proptest::option::weighted(0.2, 0..CLIENTS.len());
    prop_oneof![
        10 => (leaf, shape(), wire(), clock(), client).prop_map(
            |(leaf, shape, wire, clock, client)| Op::Authenticate { leaf, shape, wire, clock, client }
        ),
        1 => (0..STORES.len()).prop_map(Op::Rotate),
        1 => registry_op().prop_map(Op::Registry),
    ]
}

/// Mostly `focus`, sometimes any leaf: repeated presentations of one leaf in a few steps.
fn mostly(focus: LeafId) -> impl Strategy<Value = LeafId> {
    prop_oneof![3 => Just(focus), 1 => leaf_id()]
}

fn depth() -> impl Strategy<Value = RevocationDepth> {
    prop_oneof![Just(RevocationDepth::Leaf), Just(RevocationDepth::Chain)]
}

// ---------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------

/// What a request came to, as far as a caller can tell.
type Outcome = Result<(Thumbprint, Source, Option<String>), ErrorKind>;

/// The cached configurations checked against the uncached one.
fn cached_configs() -> [(&'static str, CacheConfig); 2] {
    [
        ("default", CacheConfig::default()),
        ("two entries", CacheConfig::default().with_max_entries(2)),
    ]
}

/// One uncached authenticator and the cached ones sharing one registry. The uncached
/// one has its own verifier; the cached ones share another (each has its own cache).
/// Built once per thread and revocation depth, and [`reset`](Self::reset) before each
/// case: building a cache of the default size costs more than a short case.
struct Bench {
    uncached: Authenticator,
    cached: Vec<(&'static str, Authenticator)>,
    verifiers: [Verifier; 2],
    registry: Arc<MemoryRegistry>,
    now: i64,
}

impl Bench {
    fn new(depth: RevocationDepth) -> Self {
        let registry = Arc::new(MemoryRegistry::new());
        let verifiers = [verifier(0, depth), verifier(0, depth)];
        let build = |verifier: &Verifier, config: CacheConfig| {
            Authenticator::builder(verifier.clone())
                .registry(registry.clone())
                .unregistered(Unregistered::Anonymous)
                .cache(config)
                .build()
                .unwrap()
        };
        let uncached = build(&verifiers[0], CacheConfig::disabled());
        let cached =
            cached_configs().into_iter().map(|(name, c)| (name, build(&verifiers[1], c))).collect();
        Self { uncached, cached, verifiers, registry, now: 0 }
    }

    /// As if new: `store` installed, caches and registry empty, the clock at [`T0`].
    fn reset(&mut self, store: usize) {
        self.rotate(store);
        for (_, a) in &self.cached {
            a.clear_cache();
        }
        // Client by client: rebuilding the whole registry costs more than a case.
        for id in CLIENTS {
            let _ = self.registry.remove_client(id);
        }
        self.now = 0;
    }

    /// Runs `f` on this thread's bench for `depth`, reset to `store`.
    fn with<R>(store: usize, depth: RevocationDepth, f: impl FnOnce(&mut Bench) -> R) -> R {
        thread_local! {
            static BENCHES: std::cell::RefCell<Vec<(RevocationDepth, Bench)>> =
                const { std::cell::RefCell::new(Vec::new()) };
        }
        BENCHES.with(|cell| {
            let mut benches = cell.borrow_mut();
            let i = match benches.iter().position(|(d, _)| *d == depth) {
                Some(i) => i,
                None => {
                    benches.push((depth, Bench::new(depth)));
                    benches.len() - 1
                }
            };
            let bench = &mut benches[i].1;
            bench.reset(store);
            f(bench)
        })
    }

    fn rotate(&self, store: usize) {
        for v in &self.verifiers {
            v.replace_trust_store(build_store(STORES[store])).unwrap();
        }
    }

    fn registry(&self, op: RegistryOp) {
        let pool = &*POOL;
        let r = &self.registry;
        // Refused edits (an unknown client, a certificate another client owns) change
        // nothing, for every authenticator alike.
        let _ = match op {
            RegistryOp::Register(c, leaf) => {
                let _ = r.add_client(RegisteredClient::new(CLIENTS[c], CLIENTS[c]));
                r.register_thumbprint(CLIENTS[c], pool.leaf(leaf).thumbprint(), None, None)
            }
            RegistryOp::Suspend(c) => r.suspend(CLIENTS[c]),
            RegistryOp::Activate(c) => r.activate(CLIENTS[c]),
            RegistryOp::Remove(c) => r.remove_client(CLIENTS[c]),
            RegistryOp::Retire(leaf, at) => {
                r.set_retire_after(&pool.leaf(leaf).thumbprint(), Some(t(TIMES[at])))
            }
        };
    }

    /// Runs one request on every authenticator; the outcomes by configuration.
    fn authenticate(
        &mut self,
        leaf: LeafId,
        shape: Shape,
        wire: Wire,
        clock: Clock,
        client: Option<usize>,
    ) -> (Outcome, Vec<(&'static str, Outcome)>) {
        self.now = match clock {
            Clock::Same => self.now,
            Clock::Forward(s) => self.now + s,
            Clock::Back(s) => self.now - s,
            Clock::Jump(i) => TIMES[i],
        };
        let presented = Presented::new(leaf, shape, wire);
        let mut request = AuthRequest::new(presented.credential(), t(self.now));
        if let Some(c) = client {
            request = request.client_id(CLIENTS[c]);
        }
        let run = |a: &Authenticator| -> Outcome {
            crate::common::block_on(a.authenticate(&request))
                .map(|ok| {
                    (
                        *ok.thumbprint(),
                        ok.identity().source().clone(),
                        ok.client_id().map(str::to_owned),
                    )
                })
                .map_err(|e| e.kind())
        };
        let expected = run(&self.uncached);
        let got = self.cached.iter().map(|(name, a)| (*name, run(a))).collect();
        (expected, got)
    }
}

/// Runs `ops` and checks every cached authenticator against the uncached one at each step.
fn check(store: usize, depth: RevocationDepth, ops: &[Op]) -> Result<(), TestCaseError> {
    Bench::with(store, depth, |bench| run(bench, ops))
}

fn run(bench: &mut Bench, ops: &[Op]) -> Result<(), TestCaseError> {
    for (step, op) in ops.iter().enumerate() {
        match *op {
            Op::Rotate(s) => bench.rotate(s),
            Op::Registry(r) => bench.registry(r),
            Op::Authenticate { leaf, shape, wire, clock, client } => {
                let (expected, got) = bench.authenticate(leaf, shape, wire, clock, client);
                for (config, outcome) in got {
                    prop_assert_eq!(
                        &outcome,
                        &expected,
                        "step {} ({:?} at T0{:+}): the cache ({}) decided otherwise than no cache",
                        step,
                        op,
                        bench.now,
                        config
                    );
                }
            }
        }
    }
    Ok(())
}

proptest! {
    // Debug-build cost: about 20 ms a case here, 8 ms below.
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Long sequences over the whole pool: rotations, registry changes, eviction.
    #[test]
    fn the_cache_decides_as_no_cache(
        store in 0..STORES.len(),
        depth in depth(),
        ops in proptest::collection::vec(op(leaf_id()), 1..32),
    ) {
        check(store, depth, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1536))]

    /// Short sequences around one leaf: the same credential again across a boundary.
    #[test]
    fn the_cache_decides_as_no_cache_for_one_leaf_again(
        store in 0..STORES.len(),
        depth in depth(),
        ops in leaf_id().prop_flat_map(|focus| proptest::collection::vec(op(mostly(focus)), 1..8)),
    ) {
        check(store, depth, &ops)?;
    }
}

// ---------------------------------------------------------------------------------------
// Minimal sequences on which the cache decides otherwise than no cache
// ---------------------------------------------------------------------------------------

/// Runs requests for `leaf` presented as TLS `shape`s at the given times on one cached
/// (default configuration) and one uncached authenticator over `store`; asserts the
/// uncached outcomes are `expected` and the cached ones equal them.
fn same_decisions(
    store: usize,
    steps: &[(LeafId, Shape, i64)],
    expected: &[Result<(), ErrorKind>],
) {
    let registry = Arc::new(MemoryRegistry::new());
    let build = |config| {
        Authenticator::builder(verifier(store, RevocationDepth::Leaf))
            .registry(registry.clone())
            .unregistered(Unregistered::Anonymous)
            .cache(config)
            .build()
            .unwrap()
    };
    let (uncached, cached) = (build(CacheConfig::disabled()), build(CacheConfig::default()));
    for (i, (&(leaf, shape, at), want)) in steps.iter().zip(expected).enumerate() {
        let certs = certificates(leaf, shape);
        let request = AuthRequest::new(Credential::Tls(&certs), t(at));
        let decide = |a: &Authenticator| {
            crate::common::block_on(a.authenticate(&request))
                .map(|ok| *ok.thumbprint())
                .map_err(|e| e.kind())
        };
        let reference = decide(&uncached);
        assert_eq!(reference.map(|_| ()), *want, "step {i}: without a cache");
        assert_eq!(
            decide(&cached),
            reference,
            "step {i} ({leaf:?} {shape:?} at T0{at:+}): with the cache"
        );
    }
}

/// A CRL issued after the verification time makes the request `revocation_stale`; once
/// the time reaches its thisUpdate a full verification accepts, so the refusal must not
/// be remembered past it.
#[test]
fn a_refusal_for_a_crl_not_issued_yet_is_not_remembered_once_it_is() {
    let issued = edge::REVOKING_CRL.0;
    same_decisions(
        REVOKING,
        &[(LeafId::Direct, Shape::Path, issued - 1), (LeafId::Direct, Shape::Path, issued)],
        &[Err(ErrorKind::RevocationStale), Ok(())],
    );
}

/// A root not valid yet is left out of path building (`unknown_issuer`); once it is valid
/// a full verification accepts, so the refusal must not be remembered past its notBefore.
#[test]
fn a_refusal_for_a_root_not_valid_yet_is_not_remembered_once_it_is() {
    let from = edge::LATE_ROOT_FROM;
    same_decisions(
        LATE_ROOT_ONLY,
        &[(LeafId::Late, Shape::Path, from - 1), (LeafId::Late, Shape::Path, from + 1)],
        &[Err(ErrorKind::UnknownIssuer), Ok(())],
    );
}

/// An acceptance holds only from the thisUpdate of the CRLs it was checked against: before
/// it a full verification refuses the CRL as `revocation_stale`.
#[test]
fn a_cached_acceptance_does_not_hold_before_the_crl_was_issued() {
    let issued = edge::REVOKING_CRL.0;
    same_decisions(
        REVOKING,
        &[(LeafId::Direct, Shape::Path, issued + 1), (LeafId::Direct, Shape::Path, issued - 1)],
        &[Ok(()), Err(ErrorKind::RevocationStale)],
    );
}

/// Same-name impostors presented before the genuine intermediate fill the few name paths
/// a full verification offers to path building, so it refuses; the cache must not adopt
/// the earlier result of the same leaf for that presentation because the genuine
/// intermediate is still in it.
#[test]
fn a_presentation_whose_path_verification_would_not_offer_is_not_adopted() {
    same_decisions(
        ROOT_ONLY,
        &[(LeafId::Issued, Shape::Path, 0), (LeafId::Issued, Shape::ImpostorsFirst, 0)],
        &[Ok(()), Err(ErrorKind::BadSignature)],
    );
}
