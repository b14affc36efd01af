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
//! - a certificate whose subject cannot be reached from the leaf's issuer, or whose
//!   issuer cannot lead to an anchor, is dropped (junk appended to a chain);
//! - at most two certificates per subject name (a cross-signed pair) and at most
//!   `max` in all (the verifier passes one more than its `max_intermediates`) are kept,
//!   in the order they were presented.
//!
//! With those rules the name graph webpki walks has at most `max` presented
//! nodes, no self-loops, and no node that shares a name with an anchor, so the signature
//! checks and path-building steps per verification are a small constant.

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

    // Names reachable from the leaf's issuer, through presented and held certificates.
    let mut reachable: Vec<&[u8]> = vec![leaf_names.issuer];
    grow(&mut reachable, kept.iter().map(|(_, n)| (n.subject, n.issuer)), &held_names, |n| {
        (n.subject, n.issuer)
    });
    // Names from which an anchor can be reached (walking from issuer to subject).
    let mut leads: Vec<&[u8]> = anchors.iter().map(|a| a.subject.as_ref()).collect();
    grow(&mut leads, kept.iter().map(|(_, n)| (n.issuer, n.subject)), &held_names, |n| {
        (n.issuer, n.subject)
    });

    let mut out: Vec<(&'c CertificateDer<'static>, &[u8])> = Vec::new();
    for (cert, names) in &kept {
        if out.len() == max {
            break;
        }
        let on_a_path = reachable.contains(&names.subject) && leads.contains(&names.issuer);
        let same_name = out.iter().filter(|(_, s)| *s == names.subject).count();
        if on_a_path && same_name < MAX_PER_NAME {
            out.push((cert, names.subject));
        }
    }
    out.into_iter().map(|(c, _)| c).collect()
}

/// Closes `names` under the edges `from -> to` of the presented and held certificates.
fn grow<'n>(
    names: &mut Vec<&'n [u8]>,
    presented: impl Iterator<Item = (&'n [u8], &'n [u8])> + Clone,
    held: &[CertNames<'n>],
    edge: impl Fn(&CertNames<'n>) -> (&'n [u8], &'n [u8]),
) {
    let edges: Vec<(&[u8], &[u8])> = presented.chain(held.iter().map(edge)).collect();
    // Each pass adds at least one name or stops; there are at most `edges.len()` names to add.
    loop {
        let before = names.len();
        for (from, to) in &edges {
            if names.contains(from) && !names.contains(to) {
                names.push(to);
            }
        }
        if names.len() == before {
            break;
        }
    }
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
