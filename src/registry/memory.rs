//! [`MemoryRegistry`]: the embedded registry.
//!
//! Two indexes, each split into 1,024 copy-on-write hash maps behind atomic
//! pointers: thumbprint → client, and client id → client. A read loads one shard
//! pointer and probes one map: lock-free, never waiting for a writer. A write (serialized
//! by a mutex) copies the one or two shards it touches, about a thousandth of the
//! registry, and publishes them; a reload builds everything fresh and swaps it at once.
//! Plain hash maps keep the indexes small: about 170 bytes per client with one
//! certificate at a million clients, beyond the client records themselves (about 200
//! bytes each; `benches/authenticate.rs`).

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use super::{
    BoxFuture, ClientStatus, ExpiringCertificate, RegisteredCertificate, RegisteredClient,
    Registration, RegistrationError, Registry,
};
use crate::cert::Certificate;
use crate::error::Result;
use crate::identity::{ClientIdentity, IdentityRule};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::KeyPolicy;

/// Shards per index: a write copies 1/SHARDS of an index.
const SHARDS: usize = 1024;

type Hasher = foldhash::fast::RandomState;

/// A hash map split into copy-on-write shards.
struct Sharded<K, V> {
    shards: Box<[ArcSwap<HashMap<K, V, Hasher>>]>,
    hasher: Hasher,
}

impl<K: Hash + Eq + Clone, V: Clone> Sharded<K, V> {
    fn from_entries(entries: impl IntoIterator<Item = (K, V)>) -> Self {
        let hasher = Hasher::default();
        let mut maps: Vec<HashMap<K, V, Hasher>> =
            (0..SHARDS).map(|_| HashMap::with_hasher(hasher.clone())).collect();
        for (k, v) in entries {
            let i = shard_of(&hasher, &k);
            if let Some(map) = maps.get_mut(i) {
                map.insert(k, v);
            }
        }
        for map in &mut maps {
            map.shrink_to_fit();
        }
        Self { shards: maps.into_iter().map(ArcSwap::from_pointee).collect(), hasher }
    }

    fn shard<Q: Hash + ?Sized>(&self, k: &Q) -> &ArcSwap<HashMap<K, V, Hasher>> {
        // `shard_of` is always below SHARDS, the slice's length.
        &self.shards[shard_of(&self.hasher, k)]
    }

    fn get<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.shard(k).load().get(k).cloned()
    }

    fn contains_key<Q: Hash + Eq + ?Sized>(&self, k: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.shard(k).load().contains_key(k)
    }

    /// Copy-on-write edit of the shard holding `k`. Callers hold the writer lock.
    fn edit<Q: Hash + ?Sized, R>(
        &self,
        k: &Q,
        f: impl FnOnce(&mut HashMap<K, V, Hasher>) -> R,
    ) -> R {
        let shard = self.shard(k);
        let mut map = (**shard.load()).clone();
        let r = f(&mut map);
        shard.store(Arc::new(map));
        r
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.load().len()).sum()
    }

    fn values(&self) -> Vec<V> {
        self.shards.iter().flat_map(|s| s.load().values().cloned().collect::<Vec<_>>()).collect()
    }
}

fn shard_of<Q: Hash + ?Sized>(hasher: &Hasher, k: &Q) -> usize {
    // The top bits: the shard maps use the low bits of the same hash for buckets.
    (hasher.hash_one(k) >> 54) as usize % SHARDS
}

/// Drops spare capacity: a registry holds many clients for a long time.
fn compact(mut client: RegisteredClient) -> RegisteredClient {
    client.id.shrink_to_fit();
    client.name.shrink_to_fit();
    client.certificates.shrink_to_fit();
    client
}

struct State {
    clients: Sharded<Arc<str>, Arc<RegisteredClient>>,
    thumbprints: Sharded<Thumbprint, Arc<RegisteredClient>>,
    /// Identity rules, checked in order by `by_identity`.
    identities: ArcSwap<Vec<(IdentityRule, Arc<str>)>>,
}

impl State {
    fn empty() -> Self {
        Self {
            clients: Sharded::from_entries([]),
            thumbprints: Sharded::from_entries([]),
            identities: ArcSwap::from_pointee(Vec::new()),
        }
    }

    /// A fresh state holding `clients`, refusing duplicate ids and thumbprints.
    fn build(
        clients: Vec<RegisteredClient>,
        identities: Vec<(IdentityRule, Arc<str>)>,
    ) -> Result<Self, RegistrationError> {
        let mut ids: HashMap<Arc<str>, Arc<RegisteredClient>, Hasher> = HashMap::default();
        let mut prints: HashMap<Thumbprint, Arc<RegisteredClient>, Hasher> = HashMap::default();
        for client in clients {
            let client = Arc::new(compact(client));
            for c in &client.certificates {
                if let Some(owner) = prints.insert(c.thumbprint, client.clone())
                    && owner.id != client.id
                {
                    return Err(RegistrationError::OwnedByAnother(owner.id.clone()));
                }
            }
            if ids.insert(Arc::from(client.id.as_str()), client.clone()).is_some() {
                return Err(RegistrationError::DuplicateClient(client.id.clone()));
            }
        }
        for (_, id) in &identities {
            if !ids.contains_key(id) {
                return Err(RegistrationError::UnknownClient(id.to_string()));
            }
        }
        Ok(Self {
            clients: Sharded::from_entries(ids),
            thumbprints: Sharded::from_entries(prints),
            identities: ArcSwap::from_pointee(identities),
        })
    }

    /// Publishes a new version of a client in both indexes (thumbprints first: that is
    /// what requests read), and drops thumbprints it no longer has.
    fn publish(&self, client: RegisteredClient, dropped: &[Thumbprint]) {
        let client = Arc::new(compact(client));
        for c in &client.certificates {
            self.thumbprints.edit(&c.thumbprint, |m| m.insert(c.thumbprint, client.clone()));
        }
        for t in dropped {
            self.thumbprints.edit(t, |m| m.remove(t));
        }
        let id: Arc<str> = Arc::from(client.id.as_str());
        self.clients.edit(&*id, |m| m.insert(id.clone(), client));
    }
}

/// The in-memory registry.
///
/// ```
/// use certauth::registry::{MemoryRegistry, RegisteredClient, Registry};
/// use certauth::{Certificate, Timestamp};
/// let registry = MemoryRegistry::new();
/// registry.add_client(RegisteredClient::new("billing", "Billing service").with_metadata("tier", "gold"))?;
/// let cert = Certificate::from_der(include_bytes!("../../tests/data/pki/leaf-ec.der"))?;
/// let now = Timestamp::parse_rfc3339("2027-01-01T00:00:00Z")?;
/// registry.register_certificate("billing", &cert, now, None)?;
/// let found = futures_lite_block_on(registry.by_thumbprint(&cert.thumbprint()))?.unwrap();
/// assert_eq!(found.client.metadata["tier"], "gold");
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
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
        if state.clients.contains_key(client.id.as_str()) {
            return Err(RegistrationError::DuplicateClient(client.id));
        }
        for c in &client.certificates {
            if let Some(owner) = state.thumbprints.get(&c.thumbprint) {
                return Err(RegistrationError::OwnedByAnother(owner.id.clone()));
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
            if let Some(owner) = state.thumbprints.get(&cert.thumbprint)
                && owner.id != client.id
            {
                return Err(RegistrationError::OwnedByAnother(owner.id.clone()));
            }
            client.certificates.retain(|c| c.thumbprint != cert.thumbprint);
            client.certificates.push(cert);
            Ok(())
        })
    }

    /// Sets or clears when a certificate is retired (the end of a rotation overlap).
    pub fn set_retire_after(
        &self,
        thumbprint: &Thumbprint,
        retire_after: Option<Timestamp>,
    ) -> Result<(), RegistrationError> {
        self.edit_owner(thumbprint, |client| {
            for c in client.certificates.iter_mut().filter(|c| c.thumbprint == *thumbprint) {
                c.retire_after = retire_after;
            }
            Vec::new()
        })
    }

    /// Removes a certificate; it is refused from the next request on.
    pub fn remove_certificate(&self, thumbprint: &Thumbprint) -> Result<(), RegistrationError> {
        self.edit_owner(thumbprint, |client| {
            client.certificates.retain(|c| c.thumbprint != *thumbprint);
            vec![*thumbprint]
        })
    }

    /// Edits the client owning `thumbprint`; `edit` returns thumbprints to unindex.
    fn edit_owner(
        &self,
        thumbprint: &Thumbprint,
        edit: impl FnOnce(&mut RegisteredClient) -> Vec<Thumbprint>,
    ) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let owner = state
            .thumbprints
            .get(thumbprint)
            .ok_or_else(|| RegistrationError::Invalid("certificate is not registered".into()))?;
        let mut updated = (*owner).clone();
        let dropped = edit(&mut updated);
        state.publish(updated, &dropped);
        Ok(())
    }

    /// Edits a client copy-on-write; `edit` may refuse, and then nothing changes.
    fn edit_client(
        &self,
        client_id: &str,
        edit: impl FnOnce(&State, &mut RegisteredClient) -> Result<(), RegistrationError>,
    ) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let client = state
            .clients
            .get(client_id)
            .ok_or_else(|| RegistrationError::UnknownClient(client_id.into()))?;
        let mut updated = (*client).clone();
        edit(&state, &mut updated)?;
        state.publish(updated, &[]);
        Ok(())
    }

    /// Suspends a client: its requests are refused with `client_suspended` from the next
    /// request on, cached verifications included.
    pub fn suspend(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.edit_client(client_id, |_, c| {
            c.status = ClientStatus::Suspended;
            Ok(())
        })
    }

    /// Re-activates a suspended client.
    pub fn activate(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.edit_client(client_id, |_, c| {
            c.status = ClientStatus::Active;
            Ok(())
        })
    }

    /// Removes a client and all its certificates and identity mappings.
    pub fn remove_client(&self, client_id: &str) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let removed = state
            .clients
            .edit(client_id, |m| m.remove(client_id))
            .ok_or_else(|| RegistrationError::UnknownClient(client_id.into()))?;
        for c in &removed.certificates {
            state.thumbprints.edit(&c.thumbprint, |m| m.remove(&c.thumbprint));
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
        if !state.clients.contains_key(client_id) {
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
    pub fn clients(&self) -> Vec<Arc<RegisteredClient>> {
        let mut all = self.state.load().clients.values();
        all.sort_by(|a, b| a.id.cmp(&b.id));
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
        let client = self.state.load().thumbprints.get(thumbprint)?;
        let certificate = client.certificate(thumbprint).cloned()?;
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
    ) -> BoxFuture<'a, Result<Option<Arc<RegisteredClient>>>> {
        let found = self.state.load().clients.get(client_id);
        Box::pin(std::future::ready(Ok(found)))
    }

    fn by_identity<'a>(
        &'a self,
        identity: &'a ClientIdentity,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        let state = self.state.load();
        let rules = state.identities.load();
        let found = rules.iter().find(|(rule, _)| rule.matches(identity)).and_then(|(_, id)| {
            let client = state.clients.get(&**id)?;
            Some(Registration { client, certificate: None })
        });
        Box::pin(std::future::ready(Ok(found)))
    }

    fn expiring_before(&self, until: Timestamp) -> BoxFuture<'_, Result<Vec<ExpiringCertificate>>> {
        let mut out: Vec<ExpiringCertificate> = self
            .clients()
            .iter()
            .flat_map(|client| {
                client.certificates.iter().filter_map(|c| {
                    let not_after = c.not_after.filter(|t| *t < until)?;
                    Some(ExpiringCertificate {
                        client_id: client.id.clone(),
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
