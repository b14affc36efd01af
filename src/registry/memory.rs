//! [`MemoryRegistry`]: the embedded registry.
//!
//! Two indexes, each split into 16,384 copy-on-write shards behind atomic pointers:
//! thumbprint → client, and client id → client. A shard is an exact-size sorted slice (no
//! hash-table slack): thumbprint entries are the thumbprint and the client handle (48
//! bytes), id entries the id's hash and the client handle (24 bytes; the id itself is in
//! the client). Thumbprints are uniform SHA-256 values and the id hash is uniform too, so a
//! key's top bits pick the shard and its next bits estimate the position in it
//! (interpolation search): a look-up reads a few neighbouring cache lines. A read loads one
//! shard pointer: lock-free, never waiting for a writer. A write (serialized by a mutex)
//! copies the one or two shards it touches (about 60 entries each at a million clients) and
//! publishes them; a reload builds everything fresh and swaps it at once.
//!
//! Each client is one shared allocation ([`RegisteredClient`]), which both indexes point
//! to. Memory per client and look-up times at a million clients are measured by
//! `benches/authenticate.rs` and `benches/registry_memory.rs` (figures in BENCHMARKS.md).

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::sharded::{Edit, SHARDS, Sharded, search, shard_index};
use super::{
    ClientStatus, ExpiringCertificate, RegisteredCertificate, RegisteredClient, Registration,
    RegistrationError, Registry,
};
use crate::BoxFuture;
use crate::cert::Certificate;
use crate::error::Result;
use crate::identity::{ClientIdentity, IdentityRule};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::KeyPolicy;

type Hasher = foldhash::fast::RandomState;

/// A thumbprint index entry; shards sorted by thumbprint bytes.
type ByThumbprint = (Thumbprint, RegisteredClient);
/// A client id index entry: the id's hash and the client (whose id is the key); shards
/// sorted by hash, then id.
type ById = (u64, RegisteredClient);

/// A thumbprint's index key: its first eight bytes (SHA-256 output is uniform).
fn thumbprint_key(t: &Thumbprint) -> u64 {
    let b = t.as_bytes();
    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

fn cmp_thumbprint(entry: &ByThumbprint, t: &Thumbprint) -> Ordering {
    entry.0.as_bytes().cmp(t.as_bytes())
}

fn cmp_id(entry: &ById, hash: u64, id: &str) -> Ordering {
    entry.0.cmp(&hash).then_with(|| entry.1.id().cmp(id))
}

struct State {
    clients: Sharded<ById>,
    thumbprints: Sharded<ByThumbprint>,
    /// Seeds the id hash; one per state, so a reload reseeds.
    hasher: Hasher,
    /// Identity rules, checked in order by `by_identity`.
    identities: ArcSwap<Vec<(IdentityRule, Arc<str>)>>,
}

impl State {
    fn empty() -> Self {
        Self {
            clients: Sharded::empty(),
            thumbprints: Sharded::empty(),
            hasher: Hasher::default(),
            identities: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// A fresh state holding `clients`, refusing duplicate ids and thumbprints.
    fn build(
        clients: Vec<RegisteredClient>,
        identities: Vec<(IdentityRule, Arc<str>)>,
    ) -> Result<Self, RegistrationError> {
        let hasher = Hasher::default();
        {
            // Refuse duplicates in input order, as adding the clients one by one would.
            let mut ids: HashSet<&str, Hasher> = HashSet::default();
            let mut prints: HashMap<Thumbprint, &str, Hasher> = HashMap::default();
            for client in &clients {
                for c in client.certificates() {
                    if let Some(owner) = prints.insert(c.thumbprint, client.id())
                        && owner != client.id()
                    {
                        return Err(RegistrationError::OwnedByAnother(owner.to_owned()));
                    }
                }
                if !ids.insert(client.id()) {
                    return Err(RegistrationError::DuplicateClient(client.id().to_owned()));
                }
            }
            for (_, id) in &identities {
                if !ids.contains(&**id) {
                    return Err(RegistrationError::UnknownClient(id.to_string()));
                }
            }
        }
        // Exact-size buckets (counted first): no spare capacity, and no reallocation
        // leaving holes in the heap.
        let mut print_counts = vec![0usize; SHARDS];
        let mut id_counts = vec![0usize; SHARDS];
        let hashes: Vec<u64> = clients.iter().map(|c| hasher.hash_one(c.id())).collect();
        for (client, hash) in clients.iter().zip(&hashes) {
            for c in client.certificates() {
                if let Some(n) = print_counts.get_mut(shard_index(thumbprint_key(&c.thumbprint))) {
                    *n += 1;
                }
            }
            if let Some(n) = id_counts.get_mut(shard_index(*hash)) {
                *n += 1;
            }
        }
        let mut by_print: Vec<Vec<ByThumbprint>> =
            print_counts.iter().map(|n| Vec::with_capacity(*n)).collect();
        let mut by_id: Vec<Vec<ById>> = id_counts.iter().map(|n| Vec::with_capacity(*n)).collect();
        for (client, hash) in clients.into_iter().zip(hashes) {
            for c in client.certificates() {
                if let Some(b) = by_print.get_mut(shard_index(thumbprint_key(&c.thumbprint))) {
                    b.push((c.thumbprint, client.clone()));
                }
            }
            if let Some(b) = by_id.get_mut(shard_index(hash)) {
                b.push((hash, client));
            }
        }
        for b in &mut by_print {
            b.sort_unstable_by(|x, y| x.0.as_bytes().cmp(y.0.as_bytes()));
        }
        for b in &mut by_id {
            b.sort_unstable_by(|x, y| x.0.cmp(&y.0).then_with(|| x.1.id().cmp(y.1.id())));
        }
        Ok(Self {
            clients: Sharded::from_buckets(by_id),
            thumbprints: Sharded::from_buckets(by_print),
            hasher,
            identities: ArcSwap::from_pointee(identities),
        })
    }

    fn by_thumbprint(&self, thumbprint: &Thumbprint) -> Option<RegisteredClient> {
        let key = thumbprint_key(thumbprint);
        self.thumbprints.read(key, |shard| {
            let i = search(shard, key, |e| cmp_thumbprint(e, thumbprint)).ok()?;
            shard.get(i).map(|e| e.1.clone())
        })
    }

    fn by_id(&self, id: &str) -> Option<RegisteredClient> {
        let hash = self.hasher.hash_one(id);
        self.clients.read(hash, |shard| {
            let i = search(shard, hash, |e| cmp_id(e, hash, id)).ok()?;
            shard.get(i).map(|e| e.1.clone())
        })
    }

    /// Publishes a new version of a client in both indexes (thumbprints first: that is
    /// what requests read), and drops thumbprints it no longer has.
    fn publish(&self, client: RegisteredClient, dropped: &[Thumbprint]) {
        for c in client.certificates() {
            let t = c.thumbprint;
            let key = thumbprint_key(&t);
            self.thumbprints.edit(key, |s| {
                Edit::put(search(s, key, |e| cmp_thumbprint(e, &t)), (t, client.clone()))
            });
        }
        for t in dropped {
            self.unindex(t);
        }
        let hash = self.hasher.hash_one(client.id());
        let id = client.id().to_owned();
        self.clients
            .edit(hash, |s| Edit::put(search(s, hash, |e| cmp_id(e, hash, &id)), (hash, client)));
    }

    fn unindex(&self, t: &Thumbprint) {
        let key = thumbprint_key(t);
        self.thumbprints.edit(key, |s| match search(s, key, |e| cmp_thumbprint(e, t)) {
            Ok(i) => Edit::Remove(i),
            Err(_) => Edit::Keep,
        });
    }

    /// Every client, in no particular order.
    fn clients(&self) -> Vec<RegisteredClient> {
        self.clients.values().into_iter().map(|e| e.1).collect()
    }
}

/// The in-memory registry.
///
/// ```
/// use certauth::registry::{MemoryRegistry, RegisteredClient, Registry};
/// use certauth::{Certificate, Timestamp};
/// let registry = MemoryRegistry::new();
/// registry.add_client(RegisteredClient::builder("billing").name("Billing service").metadata("tier", "gold").build())?;
/// let cert = Certificate::from_der(include_bytes!("../../tests/data/pki/leaf-ec.der"))?;
/// let now = Timestamp::parse_rfc3339("2027-01-01T00:00:00Z")?;
/// registry.register_certificate("billing", &cert, now, None)?;
/// let found = block_on(registry.by_thumbprint(&cert.thumbprint()))?.unwrap();
/// assert_eq!(found.client.metadata("tier"), Some("gold"));
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MemoryRegistry {
    state: ArcSwap<State>,
    writer: Mutex<()>,
    key_policy: KeyPolicy,
}

impl Default for MemoryRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRegistry")
            .field("clients", &self.client_count())
            .field("certificates", &self.certificate_count())
            .finish()
    }
}

impl MemoryRegistry {
    /// An empty registry refusing keys weaker than [`KeyPolicy::default`].
    pub fn new() -> Self {
        Self::with_key_policy(KeyPolicy::default())
    }

    /// An empty registry with its own key policy for registrations.
    pub fn with_key_policy(key_policy: KeyPolicy) -> Self {
        Self { state: ArcSwap::from_pointee(State::empty()), writer: Mutex::new(()), key_policy }
    }

    fn write(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many clients are registered.
    pub fn client_count(&self) -> usize {
        self.state.load().clients.len()
    }

    /// How many certificates are registered.
    pub fn certificate_count(&self) -> usize {
        self.state.load().thumbprints.len()
    }

    /// Adds a client with its certificates (registered by thumbprint, as given).
    /// Refuses a duplicate id or a thumbprint owned by another client.
    pub fn add_client(&self, client: RegisteredClient) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        if state.by_id(client.id()).is_some() {
            return Err(RegistrationError::DuplicateClient(client.id().to_owned()));
        }
        for c in client.certificates() {
            if let Some(owner) = state.by_thumbprint(&c.thumbprint) {
                return Err(RegistrationError::OwnedByAnother(owner.id().to_owned()));
            }
        }
        state.publish(client, &[]);
        Ok(())
    }

    /// Registers a certificate to a client at time `now`. Refused: an unknown client, a
    /// certificate expired at `now`, a key the key policy refuses, a certificate owned by
    /// another client. Registering a certificate the client already has updates its
    /// `retire_after`.
    pub fn register_certificate(
        &self,
        client_id: &str,
        certificate: &Certificate,
        now: Timestamp,
        retire_after: Option<Timestamp>,
    ) -> Result<(), RegistrationError> {
        self.check_registrable(certificate, now)?;
        self.register(
            client_id,
            RegisteredCertificate {
                thumbprint: certificate.thumbprint(),
                not_after: Some(certificate.not_after()),
                retire_after,
            },
        )
    }

    /// The registration rules for a certificate: not expired at `now`, key allowed.
    pub(crate) fn check_registrable(
        &self,
        certificate: &Certificate,
        now: Timestamp,
    ) -> Result<(), RegistrationError> {
        if certificate.not_after() < now {
            return Err(RegistrationError::Expired(certificate.not_after().to_rfc3339()));
        }
        self.check_key(certificate)
    }

    /// The key policy's rule for a certificate to register.
    pub(crate) fn check_key(&self, certificate: &Certificate) -> Result<(), RegistrationError> {
        self.key_policy
            .check(certificate.key())
            .map_err(|e| RegistrationError::WeakKey(e.message().to_owned()))
    }

    /// Registers a certificate by thumbprint alone (an x5t#S256 from a registry file).
    /// The key and expiry cannot be checked; `not_after`, when given, is used for
    /// expiry reports.
    pub fn register_thumbprint(
        &self,
        client_id: &str,
        thumbprint: Thumbprint,
        not_after: Option<Timestamp>,
        retire_after: Option<Timestamp>,
    ) -> Result<(), RegistrationError> {
        self.register(client_id, RegisteredCertificate { thumbprint, not_after, retire_after })
    }

    fn register(
        &self,
        client_id: &str,
        cert: RegisteredCertificate,
    ) -> Result<(), RegistrationError> {
        self.edit_client(client_id, |state, client| {
            if let Some(owner) = state.by_thumbprint(&cert.thumbprint)
                && owner.id() != client.id()
            {
                return Err(RegistrationError::OwnedByAnother(owner.id().to_owned()));
            }
            Ok(client.with_certificate(cert))
        })
    }

    /// Sets or clears when a certificate is retired (the end of a rotation overlap).
    pub fn set_retire_after(
        &self,
        thumbprint: &Thumbprint,
        retire_after: Option<Timestamp>,
    ) -> Result<(), RegistrationError> {
        self.edit_owner(thumbprint, |client| {
            let updated = match client.certificate(thumbprint) {
                Some(c) => client.with_certificate(RegisteredCertificate { retire_after, ..c }),
                None => client,
            };
            (updated, Vec::new())
        })
    }

    /// Removes a certificate; it is refused from the next request on.
    pub fn remove_certificate(&self, thumbprint: &Thumbprint) -> Result<(), RegistrationError> {
        self.edit_owner(thumbprint, |client| {
            (client.without_certificate(thumbprint), vec![*thumbprint])
        })
    }

    /// Edits the client owning `thumbprint`; `edit` returns thumbprints to unindex.
    fn edit_owner(
        &self,
        thumbprint: &Thumbprint,
        edit: impl FnOnce(RegisteredClient) -> (RegisteredClient, Vec<Thumbprint>),
    ) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let owner = state
            .by_thumbprint(thumbprint)
            .ok_or(RegistrationError::UnknownCertificate { thumbprint: *thumbprint })?;
        let (updated, dropped) = edit(owner);
        state.publish(updated, &dropped);
        Ok(())
    }

    /// Edits a client copy-on-write; `edit` may refuse, and then nothing changes.
    fn edit_client(
        &self,
        client_id: &str,
        edit: impl FnOnce(&State, RegisteredClient) -> Result<RegisteredClient, RegistrationError>,
    ) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let client = state
            .by_id(client_id)
            .ok_or_else(|| RegistrationError::UnknownClient(client_id.into()))?;
        let updated = edit(&state, client)?;
        state.publish(updated, &[]);
        Ok(())
    }

    /// Suspends a client: its requests are refused with `client_suspended` from the next
    /// request on, cached verifications included.
    pub fn suspend(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.edit_client(client_id, |_, c| Ok(c.with_status(ClientStatus::Suspended)))
    }

    /// Re-activates a suspended client.
    pub fn activate(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.edit_client(client_id, |_, c| Ok(c.with_status(ClientStatus::Active)))
    }

    /// Removes a client and all its certificates and identity mappings.
    pub fn remove_client(&self, client_id: &str) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let hash = state.hasher.hash_one(client_id);
        let (_, removed) = state
            .clients
            .edit(hash, |s| match search(s, hash, |e| cmp_id(e, hash, client_id)) {
                Ok(i) => Edit::Remove(i),
                Err(_) => Edit::Keep,
            })
            .ok_or_else(|| RegistrationError::UnknownClient(client_id.into()))?;
        for c in removed.certificates() {
            state.unindex(&c.thumbprint);
        }
        let mut identities = (**state.identities.load()).clone();
        identities.retain(|(_, id)| **id != *client_id);
        state.identities.store(Arc::new(identities));
        Ok(())
    }

    /// Maps identities matching `rule` to a client (checked in the order added).
    pub fn map_identity(
        &self,
        rule: IdentityRule,
        client_id: &str,
    ) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        if state.by_id(client_id).is_none() {
            return Err(RegistrationError::UnknownClient(client_id.into()));
        }
        let mut identities = (**state.identities.load()).clone();
        identities.push((rule, Arc::from(client_id)));
        state.identities.store(Arc::new(identities));
        Ok(())
    }

    /// Replaces the whole content atomically (a registry file reload): readers see the
    /// old content or the new, never a mix. Nothing changes if the new content is invalid.
    /// Also the fast way to load many clients at once.
    pub fn replace_all(
        &self,
        clients: Vec<RegisteredClient>,
        identities: Vec<(IdentityRule, String)>,
    ) -> Result<(), RegistrationError> {
        let identities = identities.into_iter().map(|(r, id)| (r, Arc::from(id))).collect();
        let fresh = State::build(clients, identities)?;
        let _w = self.write();
        self.state.store(Arc::new(fresh));
        Ok(())
    }

    /// Every client, sorted by id (for saving a registry file).
    pub fn clients(&self) -> Vec<RegisteredClient> {
        let mut all = self.state.load().clients();
        all.sort_unstable_by(|a, b| a.id().cmp(b.id()));
        all
    }

    /// The identity mappings, in order.
    pub fn identity_mappings(&self) -> Vec<(IdentityRule, String)> {
        self.state
            .load()
            .identities
            .load()
            .iter()
            .map(|(r, id)| (r.clone(), id.to_string()))
            .collect()
    }

    fn lookup(&self, thumbprint: &Thumbprint) -> Option<Registration> {
        let client = self.state.load().by_thumbprint(thumbprint)?;
        let certificate = client.certificate(thumbprint)?;
        Some(Registration { client, certificate: Some(certificate) })
    }
}

impl Registry for MemoryRegistry {
    fn by_thumbprint<'a>(
        &'a self,
        thumbprint: &'a Thumbprint,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        Box::pin(std::future::ready(Ok(self.lookup(thumbprint))))
    }

    fn by_client_id<'a>(
        &'a self,
        client_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<RegisteredClient>>> {
        let found = self.state.load().by_id(client_id);
        Box::pin(std::future::ready(Ok(found)))
    }

    fn by_identity<'a>(
        &'a self,
        identity: &'a ClientIdentity,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        let state = self.state.load();
        let rules = state.identities.load();
        let found = rules.iter().find(|(rule, _)| rule.matches(identity)).and_then(|(_, id)| {
            let client = state.by_id(id)?;
            Some(Registration { client, certificate: None })
        });
        Box::pin(std::future::ready(Ok(found)))
    }

    fn expiring_before(&self, until: Timestamp) -> BoxFuture<'_, Result<Vec<ExpiringCertificate>>> {
        let mut out: Vec<ExpiringCertificate> = self
            .clients()
            .iter()
            .flat_map(|client| {
                client.certificates().filter_map(|c| {
                    let not_after = c.not_after.filter(|t| *t < until)?;
                    Some(ExpiringCertificate {
                        client_id: client.id().to_owned(),
                        thumbprint: c.thumbprint,
                        not_after,
                    })
                })
            })
            .collect();
        out.sort_by_key(|e| e.not_after);
        Box::pin(std::future::ready(Ok(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    fn print(i: usize) -> Thumbprint {
        Thumbprint::of(format!("cert-{i}").as_bytes())
    }

    fn client(i: usize) -> RegisteredClient {
        RegisteredClient::new(format!("client-{i}"), "").with_certificate(RegisteredCertificate {
            thumbprint: print(i),
            not_after: None,
            retire_after: None,
        })
    }

    #[test]
    fn one_by_one_and_bulk_agree() {
        const N: usize = 3_000;
        let one = MemoryRegistry::new();
        for i in 0..N {
            one.add_client(client(i)).unwrap();
        }
        let bulk = MemoryRegistry::new();
        bulk.replace_all((0..N).map(client).collect(), Vec::new()).unwrap();
        assert_eq!(one.clients(), bulk.clients());
        for r in [&one, &bulk] {
            assert_eq!((r.client_count(), r.certificate_count()), (N, N));
            for i in 0..N {
                let found = block_on(r.by_thumbprint(&print(i))).unwrap().unwrap();
                assert_eq!(found.client.id(), format!("client-{i}"));
                let by_id = block_on(r.by_client_id(&format!("client-{i}"))).unwrap().unwrap();
                assert_eq!(by_id, found.client);
            }
            assert!(block_on(r.by_thumbprint(&print(N))).unwrap().is_none());
            assert!(block_on(r.by_client_id("client-x")).unwrap().is_none());
        }
    }

    #[test]
    fn edits_reach_both_indexes() {
        let r = MemoryRegistry::new();
        r.replace_all((0..500).map(client).collect(), Vec::new()).unwrap();
        r.suspend("client-7").unwrap();
        let found = block_on(r.by_thumbprint(&print(7))).unwrap().unwrap();
        assert_eq!(found.client.status(), ClientStatus::Suspended);
        assert_eq!(r.register_thumbprint("client-7", print(1_000), None, None), Ok(()));
        assert_eq!(
            r.register_thumbprint("client-8", print(1_000), None, None),
            Err(RegistrationError::OwnedByAnother("client-7".into()))
        );
        let by_id = block_on(r.by_client_id("client-7")).unwrap().unwrap();
        assert_eq!(by_id.certificates().len(), 2);
        assert_eq!(by_id.status(), ClientStatus::Suspended);
        r.remove_certificate(&print(7)).unwrap();
        assert!(block_on(r.by_thumbprint(&print(7))).unwrap().is_none());
        let gone = Err(RegistrationError::UnknownCertificate { thumbprint: print(7) });
        assert_eq!(r.remove_certificate(&print(7)), gone);
        assert_eq!(r.set_retire_after(&print(7), None), gone);
        assert!(block_on(r.by_thumbprint(&print(1_000))).unwrap().is_some());
        r.remove_client("client-7").unwrap();
        assert!(block_on(r.by_thumbprint(&print(1_000))).unwrap().is_none());
        assert!(block_on(r.by_client_id("client-7")).unwrap().is_none());
        assert_eq!((r.client_count(), r.certificate_count()), (499, 499));
        assert_eq!(
            r.remove_client("client-7"),
            Err(RegistrationError::UnknownClient("client-7".into()))
        );
        assert_eq!(
            r.add_client(client(8)),
            Err(RegistrationError::DuplicateClient("client-8".into()))
        );
    }

    #[test]
    fn bulk_load_refuses_duplicates_in_order() {
        let r = MemoryRegistry::new();
        let twin = RegisteredClient::new("twin", "").with_certificate(RegisteredCertificate {
            thumbprint: print(1),
            not_after: None,
            retire_after: None,
        });
        assert_eq!(
            r.replace_all(vec![client(1), twin], Vec::new()),
            Err(RegistrationError::OwnedByAnother("client-1".into()))
        );
        assert_eq!(
            r.replace_all(vec![client(1), client(1)], Vec::new()),
            Err(RegistrationError::DuplicateClient("client-1".into()))
        );
        assert_eq!(r.client_count(), 0);
    }
}
