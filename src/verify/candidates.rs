//! Which of the client's certificates path building may consider.
//!
//! webpki explores every ordering of same-name issuers it is given, re-reading each
//! offered certificate at every step, until its own budget runs out: a client holding
//! nothing but its own keys can make one verification cost seconds. certauth bounds that
//! work before webpki sees the chain. A presented certificate is offered to path
//! building only if it could lie on a path from the leaf to an anchor, judged by names
//! alone (no signature is checked here):
//!
//! - exact duplicates (of each other, the leaf, or a held intermediate) are dropped;
//! - self-issued certificates (subject equal to issuer) are dropped: a presented one is
//!   either a root, which only the trust store may supply, or a key-rollover link, which
//!   the store's intermediate pool may hold;
//! - certificates named like a trust anchor are dropped: the anchor itself is trusted
//!   already, and another key under its name can only spend signature checks;
//! - a certificate is kept only if its issuer name is fewer hops from an anchor than its
//!   subject name (over the presented and held certificates): the names offered form
//!   shortest paths without cycles, so two names issuing each other in a ring buy no
//!   extra orderings;
//! - a certificate whose subject cannot be reached from the leaf's issuer is dropped
//!   (junk appended to a chain);
//! - at most two certificates per subject name (a cross-signed pair) and at most
//!   `max` in all (the verifier passes one more than its `max_intermediates`) are kept,
//!   in the order they were presented.
//!
//! With those rules the name graph webpki walks is acyclic, has at most `max` presented
//! nodes and at most two per name, and no node that shares a name with an anchor, so the
//! signature checks and path-building steps per verification are a small constant.
//!
//! The price: a path longer than the shortest name path to an anchor (a cross-signed
//! detour when a direct issuer name exists) is not offered. A client that needs one is
//! refused with `unknown_issuer`; the server can hold the detour's certificates in its
//! intermediate pool instead.

use rustls_pki_types::{CertificateDer, TrustAnchor};

use crate::cert::{CertNames, names_of};

/// Most presented certificates with one subject name offered to path building.
const MAX_PER_NAME: usize = 2;

/// The presented intermediates worth offering to path building, in presentation order.
pub(crate) fn path_candidates<'c>(
    leaf: &[u8],
    presented: &'c [CertificateDer<'static>],
    anchors: &[TrustAnchor<'_>],
    held: &[CertificateDer<'static>],
    max: usize,
) -> Vec<&'c CertificateDer<'static>> {
    if presented.is_empty() {
        return Vec::new();
    }
    let Some(leaf_names) = names_of(leaf) else {
        return Vec::new(); // webpki refuses the leaf itself
    };
    let held_names: Vec<CertNames<'_>> = held.iter().filter_map(|c| names_of(c)).collect();
    let is_anchor_name = |name: &[u8]| anchors.iter().any(|a| a.subject.as_ref() == name);

    // Structural filter: parseable, not a duplicate, not self-issued, not named like an anchor.
    let mut kept: Vec<(&'c CertificateDer<'static>, CertNames<'c>)> = Vec::new();
    for cert in presented {
        let Some(names) = names_of(cert) else { continue };
        let duplicate = cert.as_ref() == leaf
            || kept.iter().any(|(k, _)| k.as_ref() == cert.as_ref())
            || held.iter().any(|h| h.as_ref() == cert.as_ref());
        if duplicate || names.subject == names.issuer || is_anchor_name(names.subject) {
            continue;
        }
        kept.push((cert, names));
    }
    if kept.is_empty() {
        return Vec::new();
    }

    // Hops from each name to an anchor, over presented and held certificates (an edge
    // runs from a certificate's issuer name to its subject name).
    let edges: Vec<(&[u8], &[u8])> = kept
        .iter()
        .map(|(_, n)| (n.issuer, n.subject))
        .chain(held_names.iter().map(|n| (n.issuer, n.subject)))
        .collect();
    let mut hops: Vec<(&[u8], usize)> = anchors.iter().map(|a| (a.subject.as_ref(), 0)).collect();
    let hops_of = |hops: &[(&[u8], usize)], name: &[u8]| {
        hops.iter().find(|(n, _)| *n == name).map(|(_, d)| *d)
    };
    for depth in 0.. {
        let before = hops.len();
        for (issuer, subject) in &edges {
            if hops_of(&hops, issuer) == Some(depth) && hops_of(&hops, subject).is_none() {
                hops.push((subject, depth + 1));
            }
        }
        if hops.len() == before {
            break;
        }
    }
    // Only certificates that bring their subject one hop closer to an anchor: the
    // offered names form shortest paths, without cycles.
    kept.retain(|(_, n)| match (hops_of(&hops, n.issuer), hops_of(&hops, n.subject)) {
        (Some(i), Some(s)) => i < s,
        _ => false,
    });
    // Of those, only the ones reachable from the leaf's issuer.
    let mut reachable: Vec<&[u8]> = vec![leaf_names.issuer];
    loop {
        let before = reachable.len();
        for (subject, issuer) in kept
            .iter()
            .map(|(_, n)| (n.subject, n.issuer))
            .chain(held_names.iter().map(|n| (n.subject, n.issuer)))
        {
            if reachable.contains(&subject) && !reachable.contains(&issuer) {
                reachable.push(issuer);
            }
        }
        if reachable.len() == before {
            break;
        }
    }

    let mut out: Vec<(&'c CertificateDer<'static>, &[u8])> = Vec::new();
    for (cert, names) in &kept {
        if out.len() == max {
            break;
        }
        let same_name = out.iter().filter(|(_, s)| *s == names.subject).count();
        if reachable.contains(&names.subject) && same_name < MAX_PER_NAME {
            out.push((cert, names.subject));
        }
    }
    out.into_iter().map(|(c, _)| c).collect()
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::testkit::pki::Ca;

    fn anchors(ca: &Ca) -> Vec<TrustAnchor<'static>> {
        vec![webpki::anchor_from_trusted_cert(ca.der()).unwrap().to_owned()]
    }

    #[test]
    fn a_genuine_chain_is_offered_whole() {
        let root = Ca::root("Root");
        let inter = root.intermediate("Issuing");
        let leaf = inter.leaf("client").build();
        let presented = vec![inter.der().clone()];
        let got = path_candidates(leaf.der(), &presented, &anchors(&root), &[], 4);
        assert_eq!(got, vec![inter.der()]);
    }

    #[test]
    fn junk_duplicates_the_root_and_same_name_loops_are_not_offered() {
        let root = Ca::root("Root");
        let inter = root.intermediate("Issuing");
        let leaf = inter.leaf("client").build();
        let unrelated = Ca::root("Elsewhere").intermediate("Other");
        let renamed_root = Ca::root("Root"); // another key under the anchor's name
        let loop_ca = Ca::root("Issuing"); // self-issued, named like the real issuer
        let presented = vec![
            inter.der().clone(),
            inter.der().clone(),
            root.der().clone(),
            renamed_root.der().clone(),
            loop_ca.der().clone(),
            unrelated.der().clone(),
        ];
        let got = path_candidates(leaf.der(), &presented, &anchors(&root), &[], 4);
        assert_eq!(got, vec![inter.der()]);
    }

    #[test]
    fn per_name_and_total_caps_hold() {
        let root = Ca::root("Root");
        let inter = root.intermediate("Issuing");
        let leaf = inter.leaf("client").build();
        let fakes: Vec<_> = (0..5).map(|_| root.intermediate("Issuing").der().clone()).collect();
        let got = path_candidates(leaf.der(), &fakes, &anchors(&root), &[], 4);
        assert_eq!(got.len(), MAX_PER_NAME);
        assert_eq!(got, vec![&fakes[0], &fakes[1]]);
        let got = path_candidates(leaf.der(), &fakes, &anchors(&root), &[], 1);
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn a_held_intermediate_bridges_names() {
        let root = Ca::root("Root");
        let upper = root.intermediate("Upper");
        let lower = upper.intermediate("Lower");
        let leaf = lower.leaf("client").build();
        // The client sends only the lower CA; the server holds the upper one.
        let presented = vec![lower.der().clone()];
        let held = vec![upper.der().clone()];
        let got = path_candidates(leaf.der(), &presented, &anchors(&root), &held, 4);
        assert_eq!(got, vec![lower.der()]);
        // Without the held certificate, nothing leads from "Lower"'s issuer to the anchor.
        assert!(path_candidates(leaf.der(), &presented, &anchors(&root), &[], 4).is_empty());
    }
}
