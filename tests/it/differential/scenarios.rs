//! The scenarios: a few small PKIs per theme, and every combination of trust
//! configuration, presented chain and CRLs worth comparing. Keys are the slow part, so
//! each theme builds its CAs and leaves once and reuses them across its scenarios.
//!
//! Names are `theme/variant/...`; a variant chosen by the seeded generator is part of the
//! name, so a name always means the same inputs.

use std::path::Path;

use certauth::Timestamp;
use certauth::testkit::pki::{Ca, CaBuilder, Crl, CrlBuilder, KeyType, Leaf, LeafBuilder};
use rcgen::ExtendedKeyUsagePurpose as Eku;

use super::forge::{self, Forged, Profile};
use super::{CrlCheck, Der, Encoding, Scenario, Trust, TrustFile};

/// The seed of every choice made here.
const SEED: u64 = 0x5eed_d1ff_0551_2026;

/// splitmix64: small, fixed, good enough to pick variants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

fn ts(y: i64, m: u32, d: u32) -> Timestamp {
    Timestamp::from_utc(y, m, d, 0, 0, 0).expect("date")
}

/// A validity window relative to the verification time (2026-06-01).
#[derive(Clone, Copy)]
enum Window {
    Valid,
    Expired,
    Future,
}

const WINDOWS: [Window; 3] = [Window::Valid, Window::Expired, Window::Future];

impl Window {
    fn name(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::Future => "not-yet-valid",
        }
    }

    fn range(self) -> (Timestamp, Timestamp) {
        match self {
            Self::Valid => (ts(2020, 1, 1), ts(2040, 1, 1)),
            Self::Expired => (ts(2021, 1, 1), ts(2026, 1, 1)),
            Self::Future => (ts(2027, 1, 1), ts(2030, 1, 1)),
        }
    }
}

/// Where the intermediates of a chain are.
#[derive(Clone, Copy)]
enum Placement {
    /// Sent by the client after its leaf (`-untrusted`).
    Presented,
    /// Held by the server, in the trust bundle (`-CAfile`).
    Held,
}

const PLACEMENTS: [Placement; 2] = [Placement::Presented, Placement::Held];

impl Placement {
    fn name(self) -> &'static str {
        match self {
            Self::Presented => "presented",
            Self::Held => "held",
        }
    }
}

const CA_KEYS: [KeyType; 3] = [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Ed25519];
const STRONG_LEAF_KEYS: [KeyType; 5] =
    [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Ed25519, KeyType::Rsa2048, KeyType::Rsa4096];

fn key_name(k: KeyType) -> &'static str {
    match k {
        KeyType::EcdsaP256 => "p256",
        KeyType::EcdsaP384 => "p384",
        KeyType::Ed25519 => "ed25519",
        KeyType::Rsa1024 => "rsa1024",
        KeyType::Rsa2048 => "rsa2048",
        KeyType::Rsa4096 => "rsa4096",
        KeyType::EcdsaP192 => "p192",
        _ => "other",
    }
}

fn der(ca: &Ca) -> Der {
    ca.der().to_vec()
}

fn crl(c: &Crl) -> Der {
    c.der().to_vec()
}

fn mode_name(c: CrlCheck) -> &'static str {
    match c {
        CrlCheck::Off => "no-crl-check",
        CrlCheck::Leaf => "crl-check",
        CrlCheck::All => "crl-check-all",
    }
}

struct Gen {
    out: Vec<Scenario>,
    rng: Rng,
}

impl Gen {
    fn push(
        &mut self,
        name: String,
        trust: Trust,
        leaf: Der,
        presented: Vec<Der>,
        crls: Vec<Der>,
        crl_check: CrlCheck,
    ) {
        self.out.push(Scenario { name, trust, leaf, presented, crls, crl_check });
    }

    /// A PEM bundle of `anchors`; `intermediates` sent by the client or, held, in the
    /// bundle before the anchors (as in a chain file).
    #[allow(clippy::too_many_arguments)]
    fn chain(
        &mut self,
        name: String,
        anchors: &[Der],
        intermediates: &[Der],
        placement: Placement,
        leaf: Der,
        crls: Vec<Der>,
        crl_check: CrlCheck,
    ) {
        let (bundle, presented) = match placement {
            Placement::Presented => (anchors.to_vec(), intermediates.to_vec()),
            Placement::Held => (intermediates.iter().chain(anchors).cloned().collect(), Vec::new()),
        };
        self.push(name, Trust::Bundle(bundle), leaf, presented, crls, crl_check);
    }

    /// A chain without CRLs.
    fn plain(&mut self, name: String, anchors: &[Der], leaf: &Leaf, placement: Placement) {
        let inters: Vec<Der> = leaf.intermediates().iter().map(|c| c.to_vec()).collect();
        self.chain(
            name,
            anchors,
            &inters,
            placement,
            leaf.der().to_vec(),
            Vec::new(),
            CrlCheck::Off,
        );
    }

    /// `items` with `extra` inserted at a seeded position.
    fn insert_somewhere(&mut self, mut items: Vec<Der>, extra: Der) -> Vec<Der> {
        let at = self.rng.below(items.len() + 1);
        items.insert(at, extra);
        items
    }
}

/// Every scenario, in a fixed order.
pub(crate) fn all(openssl: &Path) -> Vec<Scenario> {
    let mut g = Gen { out: Vec::new(), rng: Rng(SEED) };
    validity(&mut g);
    root_renewal(&mut g);
    intermediate_renewal(&mut g);
    crl_newest(&mut g);
    crl_of_root(&mut g);
    crl_depth(&mut g);
    directories(&mut g);
    path_length(&mut g);
    name_constraints(&mut g);
    eku(&mut g);
    ca_profiles(&mut g);
    keys(&mut g);
    rsa_cas(&mut g, openssl);
    misc(&mut g);
    g.out
}

/// Expired and not-yet-valid roots, intermediates and leaves, every combination.
fn validity(g: &mut Gen) {
    for (ri, rw) in WINDOWS.into_iter().enumerate() {
        let (nb, na) = rw.range();
        let root = Ca::builder(&format!("Validity Root {}", rw.name()))
            .key(CA_KEYS[ri])
            .valid(nb, na)
            .build();
        for lw in WINDOWS {
            let (nb, na) = lw.range();
            let key = g.rng.pick(&STRONG_LEAF_KEYS);
            let leaf = root.leaf("client").key(key).valid(nb, na).build();
            let name = format!("validity/root-{}/leaf-{}-{}", rw.name(), lw.name(), key_name(key));
            g.plain(name, &[der(&root)], &leaf, Placement::Presented);
        }
        for (ii, iw) in WINDOWS.into_iter().enumerate() {
            let (nb, na) = iw.range();
            let inter = root
                .sub_ca(&format!("Validity Issuing CA {} {}", rw.name(), iw.name()))
                .key(CA_KEYS[(ri + ii + 1) % 3])
                .valid(nb, na)
                .build();
            for lw in WINDOWS {
                let (nb, na) = lw.range();
                let key = g.rng.pick(&STRONG_LEAF_KEYS);
                let leaf = inter.leaf("client").key(key).valid(nb, na).build();
                for p in PLACEMENTS {
                    let name = format!(
                        "validity/root-{}/inter-{}/leaf-{}-{}/{}",
                        rw.name(),
                        iw.name(),
                        lw.name(),
                        key_name(key),
                        p.name()
                    );
                    g.plain(name, &[der(&root)], &leaf, p);
                }
            }
        }
    }
}

/// A root renewed under the same name: with the same key and with a new one; the old
/// one expired, the renewals valid or not yet valid; listed in every order.
fn root_renewal(g: &mut Gen) {
    let old_a = Ca::builder("Renewed Root").valid(ts(2016, 1, 1), ts(2026, 1, 1)).build();
    let new_a = forge::renew_root(&old_a, ts(2025, 6, 1), ts(2035, 6, 1), &[2]);
    let future_a = forge::renew_root(&old_a, ts(2027, 1, 1), ts(2037, 1, 1), &[3]);
    let new_b =
        Ca::builder("Renewed Root").valid(ts(2025, 6, 1), ts(2035, 6, 1)).serial(&[4]).build();
    let future_c =
        Ca::builder("Renewed Root").valid(ts(2027, 1, 1), ts(2037, 1, 1)).serial(&[5]).build();
    let anchors: [(&str, Der); 5] = [
        ("old-keyA", der(&old_a)),
        ("new-keyA", new_a),
        ("future-keyA", future_a),
        ("new-keyB", der(&new_b)),
        ("future-keyC", der(&future_c)),
    ];
    let leaf_a = old_a.intermediate("Renewed Issuing CA").leaf("client-a").build();
    let leaf_b = new_b.intermediate("Renewed Issuing CA").leaf("client-b").build();
    let leaf_c = future_c.intermediate("Renewed Issuing CA").leaf("client-c").build();
    let direct_a = old_a.leaf("direct-a").build();
    let direct_b = new_b.leaf("direct-b").build();
    let chains: [(&str, &Leaf, Placement); 7] = [
        ("via-keyA", &leaf_a, Placement::Presented),
        ("via-keyA", &leaf_a, Placement::Held),
        ("via-keyB", &leaf_b, Placement::Presented),
        ("via-keyB", &leaf_b, Placement::Held),
        ("via-keyC", &leaf_c, Placement::Presented),
        ("direct-keyA", &direct_a, Placement::Presented),
        ("direct-keyB", &direct_b, Placement::Presented),
    ];
    let mut lists: Vec<Vec<usize>> = (0..5).map(|i| vec![i]).collect();
    for i in 0..5 {
        for j in 0..5 {
            if i != j {
                lists.push(vec![i, j]);
            }
        }
    }
    lists.extend([
        vec![0, 1, 3],
        vec![3, 1, 0],
        vec![0, 3, 1],
        vec![1, 0, 4],
        vec![2, 0, 3],
        vec![0, 2, 1],
    ]);
    for list in &lists {
        let label: Vec<&str> = list.iter().map(|&i| anchors[i].0).collect();
        let ders: Vec<Der> = list.iter().map(|&i| anchors[i].1.clone()).collect();
        for (chain, leaf, p) in chains {
            let name = format!("root-renewal/{}/{chain}/{}", label.join("+"), p.name());
            g.plain(name, &ders, leaf, p);
        }
    }
}

/// An intermediate renewed under the same name (same key, new key), the expired one
/// still around: which the client sends, which the server holds, in which order.
fn intermediate_renewal(g: &mut Gen) {
    let root = Ca::root("Rollover Root");
    let old_x = root.sub_ca("Rollover Issuing CA").valid(ts(2020, 1, 1), ts(2026, 1, 1)).build();
    let new_x = forge::renew_intermediate(&root, &old_x, ts(2025, 6, 1), ts(2035, 6, 1), &[0x21]);
    let new_y = root.sub_ca("Rollover Issuing CA").valid(ts(2025, 6, 1), ts(2035, 6, 1)).build();
    let leaf_x = old_x.leaf("client-x").build();
    let leaf_y = new_y.leaf("client-y").build();
    let inters: [(&str, Der); 3] =
        [("old-keyX", der(&old_x)), ("new-keyX", new_x), ("new-keyY", der(&new_y))];
    let sets: [&[usize]; 9] =
        [&[0], &[1], &[2], &[0, 1], &[1, 0], &[0, 2], &[2, 0], &[0, 1, 2], &[2, 1, 0]];
    for set in sets {
        let label: Vec<&str> = set.iter().map(|&i| inters[i].0).collect();
        let ders: Vec<Der> = set.iter().map(|&i| inters[i].1.clone()).collect();
        for (lname, leaf) in [("leaf-keyX", &leaf_x), ("leaf-keyY", &leaf_y)] {
            for p in PLACEMENTS {
                let name = format!("intermediate-renewal/{}/{lname}/{}", label.join("+"), p.name());
                g.chain(
                    name,
                    &[der(&root)],
                    &ders,
                    p,
                    leaf.der().to_vec(),
                    Vec::new(),
                    CrlCheck::Off,
                );
            }
        }
    }
}

/// Several CRLs of one issuer: stale, current, newer, not yet valid, in every load
/// order; the newest current one must decide.
fn crl_newest(g: &mut Gen) {
    let root = Ca::root("CRL Root");
    let ca = root.intermediate("CRL Issuing CA");
    let good = ca.leaf("good").build();
    let early = ca.leaf("revoked-early").build();
    let late = ca.leaf("revoked-late").build();
    let issuer_crls: [(&str, Der); 4] = [
        (
            "stale#1",
            crl(&ca
                .crl()
                .number(1)
                .this_update(ts(2026, 4, 1))
                .next_update(ts(2026, 5, 1))
                .revoke(&early)
                .build()),
        ),
        (
            "current#2",
            crl(&ca
                .crl()
                .number(2)
                .this_update(ts(2026, 5, 1))
                .next_update(ts(2026, 7, 1))
                .revoke(&early)
                .build()),
        ),
        (
            "newer#3",
            crl(&ca
                .crl()
                .number(3)
                .this_update(ts(2026, 5, 20))
                .next_update(ts(2026, 7, 1))
                .revoke(&early)
                .revoke(&late)
                .build()),
        ),
        (
            "future#4",
            crl(&ca
                .crl()
                .number(4)
                .this_update(ts(2026, 7, 1))
                .next_update(ts(2026, 8, 1))
                .revoke(&early)
                .revoke(&late)
                .build()),
        ),
    ];
    let root_crl =
        crl(&root.crl().number(1).this_update(ts(2026, 5, 1)).next_update(ts(2026, 7, 1)).build());
    let lists: [&[usize]; 14] = [
        &[],
        &[1],
        &[2],
        &[0],
        &[3],
        &[1, 2],
        &[2, 1],
        &[0, 2],
        &[2, 0],
        &[0, 1, 2],
        &[2, 1, 0],
        &[3, 2],
        &[2, 3],
        &[0, 3],
    ];
    for list in lists {
        let label = if list.is_empty() {
            "none".to_owned()
        } else {
            list.iter().map(|&i| issuer_crls[i].0).collect::<Vec<_>>().join("+")
        };
        for mode in [CrlCheck::Leaf, CrlCheck::All] {
            for (lname, leaf) in
                [("good", &good), ("revoked-early", &early), ("revoked-late", &late)]
            {
                let ders = list.iter().map(|&i| issuer_crls[i].1.clone()).collect();
                let crls = g.insert_somewhere(ders, root_crl.clone());
                let p = g.rng.pick(&PLACEMENTS);
                let name =
                    format!("crl-newest/{label}/{}/leaf-{lname}/{}", mode_name(mode), p.name());
                let inters = vec![der(&ca)];
                g.chain(name, &[der(&root)], &inters, p, leaf.der().to_vec(), crls, mode);
            }
        }
    }
}

/// The root's CRLs (stale, current, one revoking an intermediate) beside current CRLs of
/// the intermediates.
fn crl_of_root(g: &mut Gen) {
    let root = Ca::root("CRL Chain Root");
    let ca1 = root.sub_ca("CRL Chain CA 1").serial(&[0x20, 0x01]).build();
    let ca2 = root.sub_ca("CRL Chain CA 2").serial(&[0x20, 0x02]).build();
    let leaf1 = ca1.leaf("client-1").build();
    let leaf2 = ca2.leaf("client-2").build();
    let current = |c: &Ca| {
        crl(&c.crl().number(1).this_update(ts(2026, 5, 1)).next_update(ts(2026, 7, 1)).build())
    };
    let (k1, k2) = (current(&ca1), current(&ca2));
    let root_crls: [(&str, Der); 3] = [
        (
            "stale#1",
            crl(&root
                .crl()
                .number(1)
                .this_update(ts(2026, 4, 1))
                .next_update(ts(2026, 5, 1))
                .build()),
        ),
        (
            "current#2",
            crl(&root
                .crl()
                .number(2)
                .this_update(ts(2026, 5, 1))
                .next_update(ts(2026, 7, 1))
                .build()),
        ),
        (
            "revokes-ca2#3",
            crl(&root
                .crl()
                .number(3)
                .this_update(ts(2026, 5, 20))
                .next_update(ts(2026, 7, 1))
                .revoke_serial(&[0x20, 0x02])
                .build()),
        ),
    ];
    let lists: [&[usize]; 9] = [&[], &[1], &[2], &[0], &[1, 2], &[2, 1], &[0, 1], &[1, 0], &[0, 2]];
    for list in lists {
        let label = if list.is_empty() {
            "none".to_owned()
        } else {
            list.iter().map(|&i| root_crls[i].0).collect::<Vec<_>>().join("+")
        };
        for mode in [CrlCheck::Leaf, CrlCheck::All] {
            for (lname, leaf, ca) in [("via-ca1", &leaf1, &ca1), ("via-ca2", &leaf2, &ca2)] {
                let mut crls: Vec<Der> = list.iter().map(|&i| root_crls[i].1.clone()).collect();
                crls = g.insert_somewhere(crls, k1.clone());
                crls = g.insert_somewhere(crls, k2.clone());
                let p = g.rng.pick(&PLACEMENTS);
                let name = format!("crl-root/{label}/{}/{lname}/{}", mode_name(mode), p.name());
                g.chain(name, &[der(&root)], &[der(ca)], p, leaf.der().to_vec(), crls, mode);
            }
        }
    }
}

/// Root, two intermediates, leaf: a CRL missing at each level, a revocation at each
/// level, intermediates sent by the client, held, or one of each.
fn crl_depth(g: &mut Gen) {
    let root = Ca::root("Depth Root");
    let a = root.sub_ca("Depth CA A").serial(&[0x30, 0x01]).build();
    let b = a.sub_ca("Depth CA B").serial(&[0x30, 0x02]).build();
    let leaf = b.leaf("client").serial(&[0x30, 0x03]).build();
    let make = |ca: &Ca, revoked: Option<&[u8]>| {
        let mut builder =
            ca.crl().number(1).this_update(ts(2026, 5, 1)).next_update(ts(2026, 7, 1));
        if let Some(serial) = revoked {
            builder = builder.revoke_serial(serial);
        }
        crl(&builder.build())
    };
    let levels = ["root", "ca-a", "ca-b"];
    let clean = [make(&root, None), make(&a, None), make(&b, None)];
    let revoking = [
        make(&root, Some(&[0x30, 0x01])),
        make(&a, Some(&[0x30, 0x02])),
        make(&b, Some(&[0x30, 0x03])),
    ];
    let revoked_names = ["none", "ca-a", "ca-b", "leaf"];
    for missing in 0..4 {
        for (revoked, revoked_name) in revoked_names.into_iter().enumerate() {
            for mode in [CrlCheck::Leaf, CrlCheck::All] {
                let mut crls = Vec::new();
                for level in 0..3 {
                    if missing == level + 1 {
                        continue;
                    }
                    // revoked == level + 1: the CRL of `level` revokes the level below.
                    let c = if revoked == level + 1 { &revoking[level] } else { &clean[level] };
                    crls.push(c.clone());
                }
                let layout = g.rng.below(3);
                let (bundle, presented, layout_name) = match layout {
                    0 => (vec![der(&root)], vec![der(&b), der(&a)], "both-presented"),
                    1 => (vec![der(&a), der(&b), der(&root)], vec![], "both-held"),
                    _ => (vec![der(&a), der(&root)], vec![der(&b)], "a-held-b-presented"),
                };
                let missing_name = if missing == 0 {
                    "all-crls".to_owned()
                } else {
                    format!("no-crl-of-{}", levels[missing - 1])
                };
                let name = format!(
                    "crl-depth/{missing_name}/revoked-{revoked_name}/{}/{layout_name}",
                    mode_name(mode)
                );
                g.push(name, Trust::Bundle(bundle), leaf.der().to_vec(), presented, crls, mode);
            }
        }
    }
}

/// Trust directories: the root and the intermediate as PEM or DER files (or the
/// intermediate sent by the client), for a plain PKI and for PKIs where the root's
/// expiry, name constraints, path length or CRL must reach below the intermediate.
fn directories(g: &mut Gen) {
    struct Pki {
        name: &'static str,
        root: Ca,
        inter: Ca,
        leaf: Leaf,
        crls: Vec<Der>,
    }
    let mut pkis = Vec::new();
    {
        let root = Ca::root("Dir Root");
        let inter = root.intermediate("Dir Issuing CA");
        let leaf = inter.leaf("client").build();
        pkis.push(Pki { name: "plain", root, inter, leaf, crls: vec![] });
    }
    {
        let (nb, na) = Window::Expired.range();
        let root = Ca::builder("Dir Expired Root").valid(nb, na).build();
        let inter = root.intermediate("Dir Issuing CA Under Expired");
        let leaf = inter.leaf("client").build();
        pkis.push(Pki { name: "expired-root", root, inter, leaf, crls: vec![] });
    }
    {
        let root = Ca::builder("Dir Constrained Root").permit_dns("example.org").build();
        let inter = root.intermediate("Dir Issuing CA Under Constrained");
        let leaf = inter.leaf("client").dns("client.other.com").build();
        pkis.push(Pki { name: "name-constrained-root", root, inter, leaf, crls: vec![] });
    }
    {
        let root = Ca::builder("Dir PathLen Root").path_len(0).build();
        let inter = root.intermediate("Dir Issuing CA Under PathLen");
        let leaf = inter.leaf("client").build();
        pkis.push(Pki { name: "pathlen0-root", root, inter, leaf, crls: vec![] });
    }
    {
        let root = Ca::root("Dir Revoking Root");
        let inter = root.sub_ca("Dir Revoked Issuing CA").serial(&[0x40, 0x01]).build();
        let leaf = inter.leaf("client").build();
        let window = |b: CrlBuilder<'_>| {
            b.number(1).this_update(ts(2026, 5, 1)).next_update(ts(2026, 7, 1)).build()
        };
        let crls =
            vec![crl(&window(root.crl().revoke_serial(&[0x40, 0x01]))), crl(&window(inter.crl()))];
        pkis.push(Pki { name: "revoked-intermediate", root, inter, leaf, crls });
    }
    let encodings = [Some(Encoding::Pem), Some(Encoding::Der), None];
    for pki in &pkis {
        let check = if pki.crls.is_empty() { CrlCheck::Off } else { CrlCheck::All };
        for root_encoding in encodings {
            for inter_encoding in encodings {
                let root = root_encoding.map(|e| trust_file(g, "root", e, der(&pki.root)));
                let inter = inter_encoding.map(|e| trust_file(g, "issuing-ca", e, der(&pki.inter)));
                let name = format!(
                    "directory/{}/root-{}/intermediate-{}",
                    pki.name,
                    root.as_ref().map_or("absent".to_owned(), TrustFile::label),
                    inter.as_ref().map_or("presented".to_owned(), TrustFile::label),
                );
                let presented = if inter.is_none() { vec![der(&pki.inter)] } else { vec![] };
                let files = root.into_iter().chain(inter).collect();
                g.push(
                    name,
                    Trust::Directory(files),
                    pki.leaf.der().to_vec(),
                    presented,
                    pki.crls.clone(),
                    check,
                );
            }
        }
        // One PEM bundle file holding both.
        let files = vec![TrustFile {
            name: "ca-bundle.pem".into(),
            encoding: Encoding::Pem,
            certs: vec![der(&pki.inter), der(&pki.root)],
        }];
        let name = format!("directory/{}/bundle-file", pki.name);
        g.push(
            name,
            Trust::Directory(files),
            pki.leaf.der().to_vec(),
            vec![],
            pki.crls.clone(),
            check,
        );
    }
}

/// A trust-directory file `stem.ext` holding `cert`, the extension one of those that
/// hold the encoding.
fn trust_file(g: &mut Gen, stem: &str, encoding: Encoding, cert: Der) -> TrustFile {
    let extensions: &[&str] = match encoding {
        Encoding::Pem => &["pem", "crt"],
        Encoding::Der => &["der", "crt", "cer"],
    };
    let ext = g.rng.pick(extensions);
    TrustFile { name: format!("{stem}.{ext}"), encoding, certs: vec![cert] }
}

impl TrustFile {
    /// The encoding and the file name's extension, e.g. `der.crt`.
    fn label(&self) -> String {
        let encoding = match self.encoding {
            Encoding::Pem => "pem",
            Encoding::Der => "der",
        };
        let ext = self.name.rsplit('.').next().unwrap_or_default();
        format!("{encoding}.{ext}")
    }
}

/// basicConstraints path lengths on the root and on intermediates, chains of zero to
/// three intermediates.
fn path_length(g: &mut Gen) {
    for limit in [None, Some(0u8), Some(1), Some(2)] {
        let label = limit.map_or("none".to_owned(), |n| n.to_string());
        let mut builder = Ca::builder(&format!("PathLen Root {label}"));
        if let Some(n) = limit {
            builder = builder.path_len(n);
        }
        let root = builder.build();
        let a = root.intermediate(&format!("PathLen CA A {label}"));
        let b = a.intermediate(&format!("PathLen CA B {label}"));
        let c = b.intermediate(&format!("PathLen CA C {label}"));
        let leaves = [
            root.leaf("client").build(),
            a.leaf("client").build(),
            b.leaf("client").build(),
            c.leaf("client").build(),
        ];
        for (depth, leaf) in leaves.iter().enumerate() {
            for p in PLACEMENTS {
                if depth == 0 && matches!(p, Placement::Held) {
                    continue;
                }
                let name = format!("path-length/root-{label}/intermediates-{depth}/{}", p.name());
                g.plain(name, &[der(&root)], leaf, p);
            }
        }
    }
    let root = Ca::root("PathLen Inner Root");
    let zero = root.sub_ca("PathLen Inner CA 0").path_len(0).build();
    let below_zero = zero.intermediate("PathLen Below 0");
    let one = root.sub_ca("PathLen Inner CA 1").path_len(1).build();
    let below_one = one.intermediate("PathLen Below 1");
    let two_below_one = below_one.intermediate("PathLen Two Below 1");
    let cases = [
        ("ca-pathlen0/leaf-under-it", zero.leaf("client").build()),
        ("ca-pathlen0/one-more-ca", below_zero.leaf("client").build()),
        ("ca-pathlen1/one-more-ca", below_one.leaf("client").build()),
        ("ca-pathlen1/two-more-cas", two_below_one.leaf("client").build()),
    ];
    for (label, leaf) in &cases {
        for p in PLACEMENTS {
            g.plain(format!("path-length/{label}/{}", p.name()), &[der(&root)], leaf, p);
        }
    }
}

/// DNS, e-mail and IP name constraints on a root or an intermediate, against leaves with
/// names inside, outside, excluded, mixed, or only a host-like subject CN.
fn name_constraints(g: &mut Gen) {
    type Shape = fn(CaBuilder<'_>) -> CaBuilder<'_>;
    let shapes: [(&str, bool, Shape); 6] = [
        ("root-permits-dns", false, |b| b.permit_dns("example.org")),
        ("intermediate-permits-dns", true, |b| b.permit_dns("example.org")),
        ("root-excludes-dns", false, |b| b.exclude_dns("bad.example.org")),
        ("root-permits-email", false, |b| b.permit_email("example.org")),
        ("root-permits-ip", false, |b| b.permit_ip("10.0.0.0".parse().expect("ip"), 8)),
        ("root-permits-dns-and-ip", false, |b| {
            b.permit_dns("example.org").permit_ip("10.0.0.0".parse().expect("ip"), 8)
        }),
    ];
    type Names = fn(LeafBuilder<'_>) -> LeafBuilder<'_>;
    let leaves: [(&str, &str, Names); 11] = [
        ("dns-inside", "client", |l| l.dns("client.example.org")),
        ("dns-outside", "client", |l| l.dns("client.other.com")),
        ("dns-excluded", "client", |l| l.dns("client.bad.example.org")),
        ("dns-inside-and-outside", "client", |l| {
            l.dns("client.example.org").dns("client.other.com")
        }),
        ("email-inside", "client", |l| l.email("user@example.org")),
        ("email-outside", "client", |l| l.email("user@other.com")),
        ("ip-inside", "client", |l| l.ip("10.1.2.3".parse().expect("ip"))),
        ("ip-outside", "client", |l| l.ip("192.168.1.1".parse().expect("ip"))),
        ("spiffe-uri", "client", |l| l.spiffe("spiffe://example.org/ns/a/sa/b")),
        ("no-names", "client", |l| l),
        ("host-like-cn-outside", "client.other.com", |l| l),
    ];
    for (shape_name, on_intermediate, shape) in shapes {
        let (root, issuer) = if on_intermediate {
            let root = Ca::root(&format!("NC Root {shape_name}"));
            let inter = shape(root.sub_ca(&format!("NC Issuing CA {shape_name}"))).build();
            (root, inter)
        } else {
            let root = shape(Ca::builder(&format!("NC Root {shape_name}"))).build();
            let inter = root.intermediate(&format!("NC Issuing CA {shape_name}"));
            (root, inter)
        };
        for (leaf_name, cn, names) in leaves {
            let leaf = names(issuer.leaf(cn)).build();
            let p = g.rng.pick(&PLACEMENTS);
            let name = format!("name-constraints/{shape_name}/{leaf_name}/{}", p.name());
            g.plain(name, &[der(&root)], &leaf, p);
        }
    }
}

const CLIENT_AUTH: &str = "1.3.6.1.5.5.7.3.2";
const SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
const ANY_EKU: &str = "2.5.29.37.0";

/// Leaf EKU combinations; intermediates with an EKU extension of their own.
fn eku(g: &mut Gen) {
    let root = Ca::root("EKU Root");
    let inter = root.intermediate("EKU Issuing CA");
    let sets: [(&str, &[&str]); 10] = [
        ("client-auth", &[CLIENT_AUTH]),
        ("server-auth", &[SERVER_AUTH]),
        ("no-eku", &[]),
        ("any", &[ANY_EKU]),
        ("any+client-auth", &[ANY_EKU, CLIENT_AUTH]),
        ("client-auth+server-auth", &[CLIENT_AUTH, SERVER_AUTH]),
        ("server-auth+client-auth", &[SERVER_AUTH, CLIENT_AUTH]),
        ("email-protection", &["1.3.6.1.5.5.7.3.4"]),
        ("code-signing+client-auth", &["1.3.6.1.5.5.7.3.3", CLIENT_AUTH]),
        ("private-oid", &["1.3.6.1.4.1.55555.1"]),
    ];
    for (label, oids) in sets {
        let leaf = inter.leaf("client").eku(oids).build();
        for p in PLACEMENTS {
            g.plain(format!("eku/leaf-{label}/{}", p.name()), &[der(&root)], &leaf, p);
        }
    }
    let issuer = Forged::of(&root);
    let ca_sets: [(&str, &[Eku]); 6] = [
        ("no-eku", &[]),
        ("client-auth", &[Eku::ClientAuth]),
        ("server-auth", &[Eku::ServerAuth]),
        ("any", &[Eku::Any]),
        ("client-auth+server-auth", &[Eku::ClientAuth, Eku::ServerAuth]),
        ("email-protection", &[Eku::EmailProtection]),
    ];
    for (i, (label, ekus)) in ca_sets.iter().enumerate() {
        let n = u8::try_from(i).expect("few");
        let profile = Profile::ca().ekus(ekus);
        let ca =
            forge::issue(Some(&issuer), &format!("EKU CA {label}"), &[0x50, n], &profile, p256());
        for (leaf_label, leaf_ekus) in
            [("client-auth", &[Eku::ClientAuth][..]), ("no-eku", &[][..])]
        {
            let profile = Profile::leaf().ekus(leaf_ekus);
            let leaf = forge::issue(Some(&ca), "client", &[0x51, n], &profile, p256());
            let p = g.rng.pick(&PLACEMENTS);
            let name = format!("eku/intermediate-{label}/leaf-{leaf_label}/{}", p.name());
            g.chain(
                name,
                &[der(&root)],
                std::slice::from_ref(&ca.der),
                p,
                leaf.der,
                Vec::new(),
                CrlCheck::Off,
            );
        }
    }
}

fn p256() -> rcgen::KeyPair {
    forge::key(&rcgen::PKCS_ECDSA_P256_SHA256)
}

/// CA certificates the test kit does not make: anchors with an EKU extension, CAs
/// without keyCertSign or without a key usage extension, a keyCertSign certificate that
/// is not a CA.
fn ca_profiles(g: &mut Gen) {
    use rcgen::KeyUsagePurpose as Ku;
    let leaf = Profile::leaf();
    let mut serial = 0x70_00u16;
    let mut next = || {
        serial += 1;
        serial.to_be_bytes()
    };
    let anchors: [(&str, Profile); 7] = [
        ("root-eku-server-auth", Profile::ca().ekus(&[Eku::ServerAuth])),
        ("root-eku-client-auth", Profile::ca().ekus(&[Eku::ClientAuth])),
        ("root-eku-any", Profile::ca().ekus(&[Eku::Any])),
        ("root-eku-email-protection", Profile::ca().ekus(&[Eku::EmailProtection])),
        (
            "root-without-key-cert-sign",
            Profile::ca().key_usages(&[Ku::DigitalSignature, Ku::CrlSign]),
        ),
        ("root-without-key-usage", Profile::ca().key_usages(&[])),
        ("root-as-test-kit-makes-it", Profile::ca()),
    ];
    for (label, profile) in anchors {
        let root = forge::issue(None, &format!("Profile {label}"), &[1], &profile, p256());
        let inter = forge::issue(
            Some(&root),
            &format!("Profile Issuing CA {label}"),
            &next(),
            &Profile::ca(),
            p256(),
        );
        let direct = forge::issue(Some(&root), "client", &next(), &leaf, p256());
        let via = forge::issue(Some(&inter), "client", &next(), &leaf, p256());
        let anchors = [root.der.clone()];
        g.chain(
            format!("ca-profile/{label}/direct-leaf"),
            &anchors,
            &[],
            Placement::Presented,
            direct.der,
            vec![],
            CrlCheck::Off,
        );
        for p in PLACEMENTS {
            let name = format!("ca-profile/{label}/via-intermediate/{}", p.name());
            g.chain(
                name,
                &anchors,
                std::slice::from_ref(&inter.der),
                p,
                via.der.clone(),
                vec![],
                CrlCheck::Off,
            );
        }
    }
    let root = Ca::root("Profile Test-Kit Root");
    let issuer = Forged::of(&root);
    let not_ca =
        Profile { ca: false, ..Profile::ca().key_usages(&[Ku::KeyCertSign, Ku::DigitalSignature]) };
    let intermediates: [(&str, Profile); 4] = [
        (
            "intermediate-without-key-cert-sign",
            Profile::ca().key_usages(&[Ku::DigitalSignature, Ku::CrlSign]),
        ),
        ("intermediate-without-key-usage", Profile::ca().key_usages(&[])),
        ("intermediate-key-cert-sign-but-not-ca", not_ca),
        ("intermediate-only-key-cert-sign", Profile::ca().key_usages(&[Ku::KeyCertSign])),
    ];
    for (label, profile) in intermediates {
        let inter =
            forge::issue(Some(&issuer), &format!("Profile {label}"), &next(), &profile, p256());
        let via = forge::issue(Some(&inter), "client", &next(), &leaf, p256());
        for p in PLACEMENTS {
            let name = format!("ca-profile/{label}/{}", p.name());
            g.chain(
                name,
                &[der(&root)],
                std::slice::from_ref(&inter.der),
                p,
                via.der.clone(),
                vec![],
                CrlCheck::Off,
            );
        }
    }
}

/// RSA CAs (keys from `openssl genpkey`): RSA-2048 root, RSA-3072 intermediate, leaves
/// of other key types under them.
fn rsa_cas(g: &mut Gen, openssl: &Path) {
    let root = forge::issue(None, "RSA Root", &[1], &Profile::ca(), forge::rsa_key(openssl, 2048));
    let rsa_inter = forge::issue(
        Some(&root),
        "RSA Issuing CA",
        &[0x80, 1],
        &Profile::ca(),
        forge::rsa_key(openssl, 3072),
    );
    let ec_inter =
        forge::issue(Some(&root), "EC Issuing CA Under RSA", &[0x80, 2], &Profile::ca(), p256());
    let algs: [(&str, &'static rcgen::SignatureAlgorithm); 3] = [
        ("p256", &rcgen::PKCS_ECDSA_P256_SHA256),
        ("p384", &rcgen::PKCS_ECDSA_P384_SHA384),
        ("ed25519", &rcgen::PKCS_ED25519),
    ];
    let anchors = [root.der.clone()];
    let mut serial = 0x81_00u16;
    for (alg_name, alg) in algs {
        serial += 1;
        let direct = forge::issue(
            Some(&root),
            "client",
            &serial.to_be_bytes(),
            &Profile::leaf(),
            forge::key(alg),
        );
        g.chain(
            format!("rsa-ca/root-rsa2048/leaf-{alg_name}"),
            &anchors,
            &[],
            Placement::Presented,
            direct.der,
            vec![],
            CrlCheck::Off,
        );
        for (inter_name, inter) in [("rsa3072", &rsa_inter), ("p256", &ec_inter)] {
            serial += 1;
            let leaf = forge::issue(
                Some(inter),
                "client",
                &serial.to_be_bytes(),
                &Profile::leaf(),
                forge::key(alg),
            );
            let p = g.rng.pick(&PLACEMENTS);
            let name = format!(
                "rsa-ca/root-rsa2048/intermediate-{inter_name}/leaf-{alg_name}/{}",
                p.name()
            );
            g.chain(
                name,
                &anchors,
                std::slice::from_ref(&inter.der),
                p,
                leaf.der,
                vec![],
                CrlCheck::Off,
            );
        }
    }
}

/// Every key type of the test kit for the leaf, under roots and intermediates of every
/// CA key type.
fn keys(g: &mut Gen) {
    let leaf_keys = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa1024,
        KeyType::Rsa2048,
        KeyType::Rsa4096,
        KeyType::EcdsaP192,
    ];
    for rk in CA_KEYS {
        let root = Ca::builder(&format!("Key Root {}", key_name(rk))).key(rk).build();
        for ik in CA_KEYS {
            let inter = root
                .sub_ca(&format!("Key Issuing CA {} {}", key_name(rk), key_name(ik)))
                .key(ik)
                .build();
            for lk in leaf_keys {
                let leaf = inter.leaf("client").key(lk).build();
                let p = g.rng.pick(&PLACEMENTS);
                let name = format!(
                    "keys/root-{}/intermediate-{}/leaf-{}/{}",
                    key_name(rk),
                    key_name(ik),
                    key_name(lk),
                    p.name()
                );
                g.plain(name, &[der(&root)], &leaf, p);
            }
        }
    }
}

/// Odd cases: a CA certificate as the client, a leaf issuing another, a missing
/// intermediate, a foreign anchor, CRLs without a number, from a CA without cRLSign, a
/// root revoking itself, a duplicated anchor, a foreign CRL, a CRL under a stolen name.
fn misc(g: &mut Gen) {
    let root = Ca::root("Misc Root");
    let inter = root.sub_ca("Misc Issuing CA").serial(&[0x60, 0x01]).build();
    let leaf = inter.leaf("client").build();
    let other = Ca::root("Misc Other Root");
    let r = || vec![der(&root)];
    let window =
        |b: CrlBuilder<'_>| b.this_update(ts(2026, 5, 1)).next_update(ts(2026, 7, 1)).build();
    let inter_crl = crl(&window(inter.crl().number(1)));
    let root_crl = crl(&window(root.crl().number(1)));

    let ca_leaf = inter.leaf("ca-as-client").ca(true).build();
    for p in PLACEMENTS {
        g.plain(format!("misc/ca-certificate-as-leaf/{}", p.name()), &r(), &ca_leaf, p);
    }
    let not_ca = inter.leaf("not-a-ca").build_issuer();
    let victim = not_ca.leaf("issued-by-a-leaf").build();
    g.plain("misc/leaf-issued-by-a-leaf".into(), &r(), &victim, Placement::Presented);
    g.chain(
        "misc/missing-intermediate".into(),
        &r(),
        &[],
        Placement::Presented,
        leaf.der().to_vec(),
        vec![],
        CrlCheck::Off,
    );
    g.plain("misc/foreign-anchor".into(), &[der(&other)], &leaf, Placement::Presented);
    g.plain(
        "misc/foreign-and-right-anchor".into(),
        &[der(&other), der(&root)],
        &leaf,
        Placement::Presented,
    );
    g.plain("misc/anchor-listed-twice".into(), &[der(&root), der(&root)], &leaf, Placement::Held);
    g.plain("misc/baseline".into(), &r(), &leaf, Placement::Presented);

    let inters = [der(&inter)];
    let no_number = crl(&window(inter.crl().without_number()));
    let no_number_revoking = crl(&window(inter.crl().without_number().revoke(&leaf)));
    for (label, c) in [("clean", no_number), ("revoking", no_number_revoking)] {
        let name = format!("misc/crl-without-number-{label}");
        g.chain(
            name,
            &r(),
            &inters,
            Placement::Presented,
            leaf.der().to_vec(),
            vec![c],
            CrlCheck::Leaf,
        );
    }

    let no_sign = root.sub_ca("Misc CA Without cRLSign").without_crl_sign().build();
    let no_sign_leaf = no_sign.leaf("client").build();
    let no_sign_crl = crl(&window(no_sign.crl().number(1)));
    for p in PLACEMENTS {
        g.chain(
            format!("misc/crl-issuer-without-crl-sign/{}", p.name()),
            &r(),
            &[der(&no_sign)],
            p,
            no_sign_leaf.der().to_vec(),
            vec![no_sign_crl.clone()],
            CrlCheck::Leaf,
        );
    }

    let self_revoked = crl(&window(root.crl().number(2).revoke_serial(&[1])));
    for mode in [CrlCheck::Leaf, CrlCheck::All] {
        g.chain(
            format!("misc/root-crl-lists-the-root/{}", mode_name(mode)),
            &r(),
            &inters,
            Placement::Presented,
            leaf.der().to_vec(),
            vec![self_revoked.clone(), inter_crl.clone()],
            mode,
        );
    }

    let foreign_crl = crl(&window(other.crl().number(9)));
    g.chain(
        "misc/foreign-crl-beside-the-right-one".into(),
        &r(),
        &inters,
        Placement::Presented,
        leaf.der().to_vec(),
        vec![foreign_crl.clone(), inter_crl.clone()],
        CrlCheck::Leaf,
    );
    g.chain(
        "misc/only-a-foreign-crl".into(),
        &r(),
        &inters,
        Placement::Presented,
        leaf.der().to_vec(),
        vec![foreign_crl, root_crl.clone()],
        CrlCheck::Leaf,
    );

    // A CA with the issuing CA's name but another key signs a newer CRL.
    let impostor = Ca::root("Misc Issuing CA");
    let forged = crl(&impostor
        .crl()
        .number(7)
        .this_update(ts(2026, 5, 20))
        .next_update(ts(2026, 7, 1))
        .build());
    let forged_revoking = crl(&impostor
        .crl()
        .number(7)
        .this_update(ts(2026, 5, 20))
        .next_update(ts(2026, 7, 1))
        .revoke(&leaf)
        .build());
    let revoking = crl(&window(inter.crl().number(1).revoke(&leaf)));
    let cases = [
        ("impostor-crl-only", vec![forged.clone()]),
        ("impostor-crl-then-real", vec![forged.clone(), inter_crl.clone()]),
        ("real-then-impostor-crl", vec![inter_crl.clone(), forged]),
        ("impostor-revoking-then-real", vec![forged_revoking.clone(), inter_crl.clone()]),
        ("real-revoking-then-impostor", vec![revoking.clone(), forged_revoking]),
    ];
    for (label, crls) in cases {
        g.chain(
            format!("misc/{label}"),
            &r(),
            &inters,
            Placement::Presented,
            leaf.der().to_vec(),
            crls,
            CrlCheck::Leaf,
        );
    }
}
