//! [`MemoryRegistry`]: the embedded registry. Reads are lock-free (concurrent hash maps
//! behind an atomically swapped state) and never wait for writers; writers are
//! serialized among themselves.

use std::fmt;
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

type Map<K, V> = papaya::HashMap<K, V, foldhash::fast::RandomState>;

struct State {
    clients: Map<Arc<str>, Arc<RegisteredClient>>,
    /// Thumbprint to owning client id.
    thumbprints: Map<Thumbprint, Arc<str>>,
    /// Identity rules, checked in order by `by_identity`.
    identities: ArcSwap<Vec<(IdentityRule, Arc<str>)>>,
}

impl State {
    fn empty() -> Self {
        Self {
            clients: Map::default(),
            thumbprints: Map::default(),
            identities: ArcSwap::from_pointee(Vec::new()),
        }
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
        insert_client(&state, client)
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
        let _w = self.write();
        let state = self.state.load();
        let clients = state.clients.pin();
        let thumbprints = state.thumbprints.pin();
        let client = clients
            .get(client_id)
            .ok_or_else(|| RegistrationError::UnknownClient(client_id.into()))?;
        if let Some(owner) = thumbprints.get(&cert.thumbprint)
            && **owner != *client_id
        {
            return Err(RegistrationError::OwnedByAnother(owner.to_string()));
        }
        let mut updated = (**client).clone();
        updated.certificates.retain(|c| c.thumbprint != cert.thumbprint);
        let thumbprint = cert.thumbprint;
        updated.certificates.push(cert);
        let id: Arc<str> = Arc::from(client_id);
        // Publish the client before the thumbprint, so a reader that finds the
        // thumbprint always finds the client with the certificate.
        clients.insert(id.clone(), Arc::new(updated));
        thumbprints.insert(thumbprint, id);
        Ok(())
    }

    /// Sets or clears when a certificate is retired (the end of a rotation overlap).
    pub fn set_retire_after(
        &self,
        thumbprint: &Thumbprint,
        retire_after: Option<Timestamp>,
    ) -> Result<(), RegistrationError> {
        self.update_owner(thumbprint, |client| {
            for c in client.certificates.iter_mut().filter(|c| c.thumbprint == *thumbprint) {
                c.retire_after = retire_after;
            }
        })
    }

    /// Removes a certificate; it is refused from the next request on.
    pub fn remove_certificate(&self, thumbprint: &Thumbprint) -> Result<(), RegistrationError> {
        self.update_owner(thumbprint, |client| {
            client.certificates.retain(|c| c.thumbprint != *thumbprint)
        })?;
        let _w = self.write();
        self.state.load().thumbprints.pin().remove(thumbprint);
        Ok(())
    }

    fn update_owner(
        &self,
        thumbprint: &Thumbprint,
        edit: impl FnOnce(&mut RegisteredClient),
    ) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let owner =
            state.thumbprints.pin().get(thumbprint).cloned().ok_or_else(|| {
                RegistrationError::Invalid("certificate is not registered".into())
            })?;
        Self::edit_client(&state, &owner, edit)
    }

    fn edit_client(
        state: &State,
        client_id: &str,
        edit: impl FnOnce(&mut RegisteredClient),
    ) -> Result<(), RegistrationError> {
        let clients = state.clients.pin();
        let (id, client) = clients
            .get_key_value(client_id)
            .ok_or_else(|| RegistrationError::UnknownClient(client_id.into()))?;
        let mut updated = (**client).clone();
        edit(&mut updated);
        clients.insert(id.clone(), Arc::new(updated));
        Ok(())
    }

    /// Suspends a client: its requests are refused with `client_suspended` from the next
    /// request on, cached verifications included.
    pub fn suspend(&self, client_id: &str) -> Result<(), RegistrationError> {
        let _w = self.write();
        Self::edit_client(&self.state.load(), client_id, |c| c.status = ClientStatus::Suspended)
    }

    /// Re-activates a suspended client.
    pub fn activate(&self, client_id: &str) -> Result<(), RegistrationError> {
        let _w = self.write();
        Self::edit_client(&self.state.load(), client_id, |c| c.status = ClientStatus::Active)
    }

    /// Removes a client and all its certificates and identity mappings.
    pub fn remove_client(&self, client_id: &str) -> Result<(), RegistrationError> {
        let _w = self.write();
        let state = self.state.load();
        let removed = state
            .clients
            .pin()
            .remove(client_id)
            .cloned()
            .ok_or_else(|| RegistrationError::UnknownClient(client_id.into()))?;
        let thumbprints = state.thumbprints.pin();
        for c in &removed.certificates {
            thumbprints.remove(&c.thumbprint);
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
        if !state.clients.pin().contains_key(client_id) {
            return Err(RegistrationError::UnknownClient(client_id.into()));
        }
        let mut identities = (**state.identities.load()).clone();
        identities.push((rule, Arc::from(client_id)));
        state.identities.store(Arc::new(identities));
        Ok(())
    }

    /// Replaces the whole content atomically (a registry file reload): readers see the
    /// old content or the new, never a mix. Nothing changes if the new content is invalid.
    pub fn replace_all(
        &self,
        clients: Vec<RegisteredClient>,
        identities: Vec<(IdentityRule, String)>,
    ) -> Result<(), RegistrationError> {
        let fresh = State::empty();
        for client in clients {
            insert_client(&fresh, client)?;
        }
        let mapped = identities
            .into_iter()
            .map(|(rule, id)| {
                if fresh.clients.pin().contains_key(id.as_str()) {
                    Ok((rule, Arc::from(id)))
                } else {
                    Err(RegistrationError::UnknownClient(id))
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        fresh.identities.store(Arc::new(mapped));
        let _w = self.write();
        self.state.store(Arc::new(fresh));
        Ok(())
    }

    /// Every client, sorted by id (for saving a registry file).
    pub fn clients(&self) -> Vec<Arc<RegisteredClient>> {
        let state = self.state.load();
        let mut all: Vec<_> = state.clients.pin().values().cloned().collect();
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
        let state = self.state.load();
        let id = state.thumbprints.pin().get(thumbprint).cloned()?;
        let client = state.clients.pin().get(&*id).cloned()?;
        let certificate = client.certificate(thumbprint).cloned();
        // A concurrent removal may have dropped the certificate from the client first.
        certificate.as_ref()?;
        Some(Registration { client, certificate })
    }
}

fn insert_client(state: &State, client: RegisteredClient) -> Result<(), RegistrationError> {
    let clients = state.clients.pin();
    let thumbprints = state.thumbprints.pin();
    if clients.contains_key(client.id.as_str()) {
        return Err(RegistrationError::DuplicateClient(client.id));
    }
    for c in &client.certificates {
        if let Some(owner) = thumbprints.get(&c.thumbprint) {
            return Err(RegistrationError::OwnedByAnother(owner.to_string()));
        }
    }
    let id: Arc<str> = Arc::from(client.id.as_str());
    let prints: Vec<Thumbprint> = client.certificates.iter().map(|c| c.thumbprint).collect();
    clients.insert(id.clone(), Arc::new(client));
    for p in prints {
        thumbprints.insert(p, id.clone());
    }
    Ok(())
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
        let found = self.state.load().clients.pin().get(client_id).cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn by_identity<'a>(
        &'a self,
        identity: &'a ClientIdentity,
    ) -> BoxFuture<'a, Result<Option<Registration>>> {
        let state = self.state.load();
        let rules = state.identities.load();
        let found = rules.iter().find(|(rule, _)| rule.matches(identity)).and_then(|(_, id)| {
            let client = state.clients.pin().get(&**id).cloned()?;
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
