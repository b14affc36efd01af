//! The embedded, in-memory client registry.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;

use crate::cert::Certificate;
use crate::error::Result;
use crate::identity::{ClientIdentity, IdentityRule};
use crate::registry::{
    BoxFuture, ClientStatus, RegisteredCertificate, RegisteredClient, RegistrationError, Registry,
};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;
use crate::verify::KeyPolicy;

type FastMap<K, V> = papaya::HashMap<K, V, foldhash::fast::RandomState>;

/// One consistent generation of the registry. Writes update it in place (lock-free for
/// readers); a reload builds a fresh one and swaps it in atomically.
struct State {
    by_thumbprint: FastMap<Thumbprint, Arc<RegisteredClient>>,
    by_id: FastMap<String, Arc<RegisteredClient>>,
    mappings: ArcSwap<Vec<(IdentityRule, String)>>,
}

impl State {
    fn new(capacity: usize) -> Self {
        let map = |cap| {
            papaya::HashMap::builder()
                .capacity(cap)
                .hasher(foldhash::fast::RandomState::default())
                .build()
        };
        Self { by_thumbprint: map(capacity), by_id: map(capacity), mappings: ArcSwap::default() }
    }
}

/// The embedded registry: lock-free reads that never wait for writers, writes serialized
/// among themselves, atomic reloads.
///
/// Registration rules: a certificate that has expired at registration time, one whose key
/// the [`KeyPolicy`] refuses, or one already registered to another client is refused.
/// Suspending a client or removing a certificate takes effect for the next look-up.
///
/// ```
/// use certauth::registry::{MemoryRegistry, RegisteredClient};
/// let registry = MemoryRegistry::new();
/// registry.add_client(RegisteredClient::new("billing", "Billing service").with_metadata("tier", "gold"))?;
/// registry.suspend("billing")?;
/// # Ok::<(), certauth::registry::RegistrationError>(())
/// ```
pub struct MemoryRegistry {
    state: ArcSwap<State>,
    writer: Mutex<()>,
    key_policy: KeyPolicy,
}

impl fmt::Debug for MemoryRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryRegistry").field("certificates", &self.len()).finish_non_exhaustive()
    }
}

impl Default for MemoryRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryRegistry {
    /// An empty registry using the default [`KeyPolicy`] for registrations.
    pub fn new() -> Self {
        Self::with_key_policy(KeyPolicy::default())
    }

    /// An empty registry whose registrations are checked against `key_policy` (use the
    /// same policy as the verifier).
    pub fn with_key_policy(key_policy: KeyPolicy) -> Self {
        Self { state: ArcSwap::from_pointee(State::new(0)), writer: Mutex::new(()), key_policy }
    }

    /// The key policy registrations are checked against.
    pub fn key_policy(&self) -> &KeyPolicy {
        &self.key_policy
    }

    /// Number of registered certificates.
    pub fn len(&self) -> usize {
        self.state.load().by_thumbprint.len()
    }

    /// True when no certificate is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, ()> {
        // A panicking writer leaves no half-written state behind (every write is one
        // map operation per key), so a poisoned lock is still usable.
        self.writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a client with the certificates it already lists (by thumbprint). Refuses an
    /// existing id, and thumbprints registered to another client.
    pub fn add_client(&self, client: RegisteredClient) -> Result<(), RegistrationError> {
        let _w = self.lock();
        let state = self.state.load();
        if state.by_id.pin().contains_key(&client.id) {
            return Err(RegistrationError::DuplicateClient(client.id));
        }
        check_unowned(&state, &client.id, client.certificates.iter().map(|c| &c.thumbprint))?;
        publish(&state, Arc::new(client), &[]);
        Ok(())
    }

    /// Registers a certificate (DER) to an existing client, usable until its expiry or
    /// `retire_after`. Checked at `now`: an expired certificate, a weak key, and a
    /// certificate owned by another client are refused. Returns its thumbprint.
    pub fn register_certificate(
        &self,
        client_id: &str,
        der: &[u8],
        retire_after: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<Thumbprint, RegistrationError> {
        let cert = Certificate::from_der(der).map_err(RegistrationError::Invalid)?;
        self.key_policy.check(&cert).map_err(RegistrationError::WeakKey)?;
        let entry = RegisteredCertificate {
            thumbprint: cert.thumbprint(),
            not_after: cert.not_after(),
            retire_after,
        };
        self.register_thumbprint(client_id, entry.clone(), now)?;
        Ok(entry.thumbprint)
    }

    /// Registers a certificate known only by its thumbprint and expiry (as a registry file
    /// may list it). The key policy cannot be checked without the certificate; the
    /// verifier still checks it on every new chain.
    pub fn register_thumbprint(
        &self,
        client_id: &str,
        certificate: RegisteredCertificate,
        now: Timestamp,
    ) -> Result<(), RegistrationError> {
        let end = certificate.retire_after.map_or(certificate.not_after, |r| r.min(certificate.not_after));
        if end < now {
            return Err(RegistrationError::Expired(end));
        }
        self.modify(client_id, |client| {
            if client.certificate(&certificate.thumbprint).is_none() {
                client.certificates.push(certificate.clone());
            }
        }, Some(&certificate.thumbprint))
    }

    /// Removes a certificate from a client. The next look-up no longer finds it.
    pub fn remove_certificate(&self, client_id: &str, thumbprint: &Thumbprint) -> Result<(), RegistrationError> {
        self.modify(client_id, |client| client.certificates.retain(|c| c.thumbprint != *thumbprint), None)
    }

    /// Sets (or clears) the retire-after time of one of a client's certificates.
    pub fn set_retire_after(
        &self,
        client_id: &str,
        thumbprint: &Thumbprint,
        retire_after: Option<Timestamp>,
    ) -> Result<(), RegistrationError> {
        self.modify(
            client_id,
            |client| {
                for c in client.certificates.iter_mut().filter(|c| c.thumbprint == *thumbprint) {
                    c.retire_after = retire_after;
                }
            },
            None,
        )
    }

    /// Suspends a client: its certificates are refused (`client_suspended`) from the next
    /// look-up on.
    pub fn suspend(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.modify(client_id, |client| client.status = ClientStatus::Suspended, None)
    }

    /// Re-activates a suspended client.
    pub fn activate(&self, client_id: &str) -> Result<(), RegistrationError> {
        self.modify(client_id, |client| client.status = ClientStatus::Active, None)
    }

    /// Replaces a client's metadata entry.
    pub fn set_metadata(&self, client_id: &str, key: &str, value: &str) -> Result<(), RegistrationError> {
        self.modify(client_id, |c| drop(c.metadata.insert(key.to_owned(), value.to_owned())), None)
    }

    /// Removes a client and all its certificates and mappings.
    pub fn remove_client(&self, client_id: &str) -> Result<(), RegistrationError> {
        let _w = self.lock();
        let state = self.state.load();
        let Some(old) = state.by_id.pin().remove(client_id).cloned() else {
            return Err(RegistrationError::NoSuchClient(client_id.to_owned()));
        };
        let by_thumbprint = state.by_thumbprint.pin();
        for c in &old.certificates {
            by_thumbprint.remove(&c.thumbprint);
        }
        let mappings = state.mappings.load();
        state.mappings.store(Arc::new(mappings.iter().filter(|(_, id)| id != client_id).cloned().collect()));
        Ok(())
    }

    /// Maps every verified identity that satisfies `rule` to the client `client_id`
    /// (used when the certificate itself is not registered, e.g. a SPIFFE ID or a
    /// subject rule as Kong maps consumers). Mappings are tried in the order added.
    pub fn add_identity_mapping(&self, rule: IdentityRule, client_id: &str) -> Result<(), RegistrationError> {
        let _w = self.lock();
        let state = self.state.load();
        if !state.by_id.pin().contains_key(client_id) {
            return Err(RegistrationError::NoSuchClient(client_id.to_owned()));
        }
        let mut mappings = Vec::clone(&state.mappings.load());
        mappings.push((rule, client_id.to_owned()));
        state.mappings.store(Arc::new(mappings));
        Ok(())
    }

    /// Replaces the whole content atomically: readers see either the old registry or the
    /// new one, never a mix. Used to reload a registry file. The clients are checked as
    /// [`add_client`](Self::add_client) checks them; on error nothing changes.
    pub fn replace_all(
        &self,
        clients: Vec<RegisteredClient>,
        mappings: Vec<(IdentityRule, String)>,
    ) -> Result<(), RegistrationError> {
        let certs = clients.iter().map(|c| c.certificates.len()).sum();
        let fresh = State::new(certs);
        for client in clients {
            if fresh.by_id.pin().contains_key(&client.id) {
                return Err(RegistrationError::DuplicateClient(client.id));
            }
            check_unowned(&fresh, &client.id, client.certificates.iter().map(|c| &c.thumbprint))?;
            publish(&fresh, Arc::new(client), &[]);
        }
        for (_, id) in &mappings {
            if !fresh.by_id.pin().contains_key(id) {
                return Err(RegistrationError::NoSuchClient(id.clone()));
            }
        }
        fresh.mappings.store(Arc::new(mappings));
        let _w = self.lock();
        self.state.store(Arc::new(fresh));
        Ok(())
    }

    /// A snapshot of every client, sorted by id (for saving and inspection).
    pub fn clients(&self) -> Vec<Arc<RegisteredClient>> {
        let state = self.state.load();
        let mut all: Vec<_> = state.by_id.pin().values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    /// A snapshot of the identity mappings, in order.
    pub fn identity_mappings(&self) -> Vec<(IdentityRule, String)> {
        Vec::clone(&self.state.load().mappings.load())
    }

    /// Certificates that stop being usable (expire or retire) within `window_secs` after
    /// `now`, with their client ids: what an operator should rotate next.
    pub fn expiring_within(&self, now: Timestamp, window_secs: i64) -> Vec<(String, RegisteredCertificate)> {
        let horizon = now.plus_secs(window_secs);
        let mut out = Vec::new();
        for client in self.clients() {
            for c in &client.certificates {
                let end = c.retire_after.map_or(c.not_after, |r| r.min(c.not_after));
                if end >= now && end <= horizon {
                    out.push((client.id.clone(), c.clone()));
                }
            }
        }
        out
    }

    /// Copy-on-write update of one client, republished under every thumbprint it owns.
    fn modify(
        &self,
        client_id: &str,
        change: impl FnOnce(&mut RegisteredClient),
        new_thumbprint: Option<&Thumbprint>,
    ) -> Result<(), RegistrationError> {
        let _w = self.lock();
        let state = self.state.load();
        let Some(old) = state.by_id.pin().get(client_id).cloned() else {
            return Err(RegistrationError::NoSuchClient(client_id.to_owned()));
        };
        check_unowned(&state, client_id, new_thumbprint)?;
        let mut client = RegisteredClient::clone(&old);
        change(&mut client);
        let removed: Vec<Thumbprint> = old
            .certificates
            .iter()
            .filter(|c| client.certificate(&c.thumbprint).is_none())
            .map(|c| c.thumbprint)
            .collect();
        publish(&state, Arc::new(client), &removed);
        Ok(())
    }
}

/// Refuses thumbprints registered to a client other than `client_id`.
fn check_unowned<'a>(
    state: &State,
    client_id: &str,
    thumbprints: impl IntoIterator<Item = &'a Thumbprint>,
) -> Result<(), RegistrationError> {
    let map = state.by_thumbprint.pin();
    for t in thumbprints {
        if let Some(owner) = map.get(t).filter(|owner| owner.id != client_id) {
            return Err(RegistrationError::OwnedByAnotherClient(owner.id.clone()));
        }
    }
    Ok(())
}

/// Makes `client` visible under its id and every thumbprint; drops `removed` thumbprints.
fn publish(state: &State, client: Arc<RegisteredClient>, removed: &[Thumbprint]) {
    let by_thumbprint = state.by_thumbprint.pin();
    for c in &client.certificates {
        by_thumbprint.insert(c.thumbprint, Arc::clone(&client));
    }
    for t in removed {
        by_thumbprint.remove(t);
    }
    state.by_id.pin().insert(client.id.clone(), client);
}

impl Registry for MemoryRegistry {
    fn by_thumbprint<'a>(
        &'a self,
        thumbprint: &'a Thumbprint,
    ) -> BoxFuture<'a, Result<Option<Arc<RegisteredClient>>>> {
        Box::pin(std::future::ready(Ok(self.lookup_thumbprint(thumbprint))))
    }

    fn by_client_id<'a>(&'a self, client_id: &'a str) -> BoxFuture<'a, Result<Option<Arc<RegisteredClient>>>> {
        let found = self.state.load().by_id.pin().get(client_id).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn by_identity<'a>(
        &'a self,
        identity: &'a ClientIdentity,
    ) -> BoxFuture<'a, Result<Option<Arc<RegisteredClient>>>> {
        let state = self.state.load();
        let mappings = state.mappings.load();
        let found = mappings
            .iter()
            .find(|(rule, _)| rule.matches(identity))
            .and_then(|(_, id)| state.by_id.pin().get(id).cloned());
        Box::pin(std::future::ready(Ok(found)))
    }
}

impl MemoryRegistry {
    /// Synchronous thumbprint look-up (what [`Registry::by_thumbprint`] answers with).
    pub fn lookup_thumbprint(&self, thumbprint: &Thumbprint) -> Option<Arc<RegisteredClient>> {
        self.state.load().by_thumbprint.pin().get(thumbprint).cloned()
    }
}
