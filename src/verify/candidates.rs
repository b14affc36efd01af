//! Which of the client's certificates path building may consider.
//!
//! webpki explores every ordering of same-name issuers it is given, re-reading each
//! offered certificate at every step, until its own budget runs out: a client holding
//! nothing but its own keys can make one verification cost seconds. certauth bounds that
//! work before webpki sees the chain, by names alone (no signature is checked here):
//!
//! - unreadable certificates and exact duplicates (of each other, the leaf, or a held
//!   intermediate) are dropped;
//! - certificates named like a trust anchor are dropped: the anchor itself is trusted
//!   already, and another key under its name can only spend signature checks;
//! - of the self-issued certificates (key-rollover links) at most one per name is kept;
//! - a bounded search ([`MAX_STEPS`] steps) finds the name paths from the leaf's issuer
//!   to an anchor's name, over the presented and the held certificates, at most
//!   `max` certificates long (the verifier passes one more than its `max_intermediates`,
//!   so a path one too long is reported as too long) and never returning to a name
//!   except through a self-issued link;
//! - only the presented certificates on the [`MAX_PATHS`] shortest of those paths are
//!   offered, in the order they were presented. Junk, rings of names and crowds of
//!   certificates under one name never reach path building.
//!
//! So the certificates webpki sees form a handful of short paths, and the signature
//! checks and path-building steps per verification are a small constant (the work-bound
//! tests count them). The price: a client whose only valid path is not among the few
//! shortest name paths is refused; the server can hold such certificates in its
//! intermediate pool, which is offered whole.

use rustls_pki_types::{CertificateDer, TrustAnchor};

use crate::der_reader::{CertNames, names_of};

/// Name paths whose certificates are offered to path building: alternatives for when
/// the first path fails a signature or a constraint.
const MAX_PATHS: usize = 4;
/// Name paths the search collects before choosing the shortest.
const MAX_FOUND: usize = 16;
/// Certificates the search may step onto in all.
const MAX_STEPS: usize = 256;

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
    let Ok(leaf_names) = names_of(leaf) else {
        return Vec::new(); // webpki refuses the leaf itself
    };
    let held_names: Vec<CertNames<'_>> = held.iter().filter_map(|c| names_of(c).ok()).collect();
    let is_anchor_name = |name: &[u8]| anchors.iter().any(|a| a.subject.as_ref() == name);

    // Structural filter: parseable, not a duplicate, not self-issued, not named like an anchor.
    let mut kept: Vec<(&'c CertificateDer<'static>, CertNames<'c>)> = Vec::new();
    for cert in presented {
        let Ok(names) = names_of(cert) else { continue };
        let duplicate = cert.as_ref() == leaf
            || kept.iter().any(|(k, _)| k.as_ref() == cert.as_ref())
            || held.iter().any(|h| h.as_ref() == cert.as_ref());
        let self_issued = names.subject == names.issuer;
        let another_self_issued = self_issued
            && kept.iter().any(|(_, k)| k.subject == k.issuer && k.subject == names.subject);
        if duplicate || another_self_issued || is_anchor_name(names.subject) {
            continue;
        }
        kept.push((cert, names));
    }
    if kept.is_empty() {
        return Vec::new();
    }

    // The name paths from the leaf's issuer to an anchor, searched over presented and
    // held certificates with a bounded number of steps, shortest first.
    let nodes: Vec<CertNames<'_>> =
        kept.iter().map(|(_, n)| *n).chain(held_names.iter().copied()).collect();
    let mut search = Search {
        nodes: &nodes,
        is_anchor_name: &is_anchor_name,
        max_len: max,
        steps: 0,
        path: Vec::new(),
        found: Vec::new(),
    };
    search.from(leaf_names.issuer);
    let mut found = search.found;
    found.sort_by_key(Vec::len);

    // The presented certificates of the first few paths, in presentation order.
    let mut offered = vec![false; kept.len()];
    for path in found.iter().take(MAX_PATHS) {
        for &i in path.iter().filter(|&&i| i < kept.len()) {
            offered[i] = true;
        }
    }
    kept.iter().zip(offered).filter(|(_, o)| *o).map(|((c, _), _)| *c).collect()
}

/// A depth-first search of name paths: from a name to the certificates with that subject,
/// on to their issuer names, until an anchor's name.
struct Search<'a, 'n> {
    nodes: &'a [CertNames<'n>],
    is_anchor_name: &'a dyn Fn(&[u8]) -> bool,
    max_len: usize,
    steps: usize,
    path: Vec<usize>,
    found: Vec<Vec<usize>>,
}

impl Search<'_, '_> {
    fn from(&mut self, name: &[u8]) {
        if self.path.len() == self.max_len || self.found.len() == MAX_FOUND {
            return;
        }
        for i in 0..self.nodes.len() {
            let n = self.nodes[i];
            if n.subject != name || self.path.contains(&i) {
                continue;
            }
            // A name seen earlier on the path only returns through a self-issued link.
            let revisits = n.subject != n.issuer
                && self.path.iter().any(|&p| self.nodes[p].subject == n.issuer);
            if revisits {
                continue;
            }
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return;
            }
            self.path.push(i);
            if (self.is_anchor_name)(n.issuer) {
                self.found.push(self.path.clone());
            } else {
                self.from(n.issuer);
            }
            self.path.pop();
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
        let loop_ca2 = Ca::root("Issuing");
        let presented = vec![
            inter.der().clone(),
            inter.der().clone(),
            root.der().clone(),
            renamed_root.der().clone(),
            loop_ca.der().clone(),
            loop_ca2.der().clone(),
            unrelated.der().clone(),
        ];
        let got = path_candidates(leaf.der(), &presented, &anchors(&root), &[], 4);
        // One self-issued certificate per name stays: it could be a key-rollover link.
        assert_eq!(got, vec![inter.der(), loop_ca.der()]);
    }

    #[test]
    fn at_most_max_paths_are_offered() {
        let root = Ca::root("Root");
        let inter = root.intermediate("Issuing");
        let leaf = inter.leaf("client").build();
        let fakes: Vec<_> = (0..5).map(|_| root.intermediate("Issuing").der().clone()).collect();
        let got = path_candidates(leaf.der(), &fakes, &anchors(&root), &[], 4);
        assert_eq!(got.len(), MAX_PATHS);
        assert_eq!(got, fakes[..MAX_PATHS].iter().collect::<Vec<_>>());
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
