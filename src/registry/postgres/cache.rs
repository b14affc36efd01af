//! The replica's cache of registry answers, and the rule for serving it.
//!
//! Two lock-free maps (papaya) hold answers by thumbprint and by client id, negative
//! answers ("not registered") included. Writers (a fetched answer, an invalidation) take
//! one mutex, which also guards the reverse index client id → cached thumbprints.
//!
//! **When a cached answer is served.** The notification listener proves, with a
//! heartbeat sent through its own session, that it has received every change committed
//! before the heartbeat was sent (PostgreSQL delivers notifications in commit order);
//! [`Cache::mark_synced`] records that send time. A cached answer is served only while
//! that proof is younger than the staleness bound, so a change committed more than one
//! bound ago has always been applied. Otherwise the look-up goes to the database.
//!
//! **No stale answer is stored.** Every invalidation advances an epoch; an answer
//! fetched from the database is stored only when no invalidation happened since its
//! query started, so a fetch racing a change never outlives the change's notification.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::registry::RegisteredClient;
use crate::thumbprint::Thumbprint;

type Hasher = foldhash::fast::RandomState;

/// An answer: the client, or `None` for "not registered".
pub(super) type Answer = Option<RegisteredClient>;

pub(super) struct Cache {
    by_thumbprint: papaya::HashMap<Thumbprint, Answer, Hasher>,
    by_id: papaya::HashMap<Box<str>, Answer, Hasher>,
    /// Writers: the reverse index and the epoch's changes.
    writer: Mutex<HashMap<Box<str>, Vec<Thumbprint>, Hasher>>,
    /// Advanced by every invalidation.
    epoch: AtomicU64,
    /// Nanoseconds after `origin` at which the last confirmed heartbeat was sent, plus
    /// one (0: never synchronised).
    synced: AtomicU64,
    origin: Instant,
    bound: Duration,
    capacity: usize,
}

impl Cache {
    pub(super) fn new(bound: Duration, capacity: usize) -> Self {
        Self {
            by_thumbprint: papaya::HashMap::builder().hasher(Hasher::default()).build(),
            by_id: papaya::HashMap::builder().hasher(Hasher::default()).build(),
            writer: Mutex::new(HashMap::default()),
            epoch: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            // An hour back, so a time shortly before the cache was made is representable.
            origin: Instant::now()
                .checked_sub(Duration::from_secs(3600))
                .unwrap_or_else(Instant::now),
            bound,
            capacity,
        }
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Whether cached answers may be served at `now`.
    pub(super) fn is_fresh(&self, now: Instant) -> bool {
        let synced = self.synced.load(Ordering::Acquire);
        if synced == 0 {
            return false;
        }
        let age = self.nanos(now).saturating_sub(synced - 1);
        u128::from(age) <= self.bound.as_nanos()
    }

    /// Records that every change committed before `sent` has been applied.
    pub(super) fn mark_synced(&self, sent: Instant) {
        self.synced.fetch_max(self.nanos(sent).saturating_add(1), Ordering::AcqRel);
    }

    /// Forgets the synchronisation: nothing is served until the next [`mark_synced`](Self::mark_synced).
    #[cfg(test)]
    pub(super) fn mark_unsynced(&self) {
        self.synced.store(0, Ordering::Release);
    }

    /// The age of the last synchronisation, if any.
    pub(super) fn synced_age(&self, now: Instant) -> Option<Duration> {
        let synced = self.synced.load(Ordering::Acquire);
        (synced != 0).then(|| Duration::from_nanos(self.nanos(now).saturating_sub(synced - 1)))
    }

    /// The current epoch, read before a database fetch.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// A servable answer by thumbprint: `None` on a miss or when not fresh.
    pub(super) fn thumbprint(&self, thumbprint: &Thumbprint) -> Option<Answer> {
        let found = self.by_thumbprint.pin().get(thumbprint).cloned()?;
        self.is_fresh(Instant::now()).then_some(found)
    }

    /// A servable answer by client id.
    pub(super) fn client_id(&self, id: &str) -> Option<Answer> {
        let found = self.by_id.pin().get(id).cloned()?;
        self.is_fresh(Instant::now()).then_some(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Vec<Thumbprint>, Hasher>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn make_room(&self, reverse: &mut HashMap<Box<str>, Vec<Thumbprint>, Hasher>) {
        if self.by_thumbprint.len() + self.by_id.len() >= self.capacity {
            self.by_thumbprint.pin().clear();
            self.by_id.pin().clear();
            reverse.clear();
        }
    }

    /// Stores an answer fetched by thumbprint, unless an invalidation happened since
    /// `epoch`.
    pub(super) fn store_thumbprint(&self, thumbprint: Thumbprint, answer: Answer, epoch: u64) {
        let mut reverse = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        self.make_room(&mut reverse);
        if let Some(client) = &answer {
            let prints = reverse.entry(client.id().into()).or_default();
            if !prints.contains(&thumbprint) {
                prints.push(thumbprint);
            }
        }
        self.by_thumbprint.pin().insert(thumbprint, answer);
    }

    /// Stores an answer fetched by client id, unless an invalidation happened since
    /// `epoch`.
    pub(super) fn store_client_id(&self, id: &str, answer: Answer, epoch: u64) {
        let mut reverse = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        self.make_room(&mut reverse);
        self.by_id.pin().insert(id.into(), answer);
    }

    /// Applies one change notification's payload (see the schema's trigger).
    pub(super) fn invalidate(&self, payload: &str) {
        let mut reverse = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        if let Some(id) = payload.strip_prefix('c') {
            self.by_id.pin().remove(id);
            let by_thumbprint = self.by_thumbprint.pin();
            for t in reverse.remove(id).unwrap_or_default() {
                by_thumbprint.remove(&t);
            }
        } else if let Some(t) =
            payload.strip_prefix('t').and_then(|hex| crate::hex::decode_sha256(hex.as_bytes()))
        {
            self.by_thumbprint.pin().remove(&Thumbprint::from_bytes(t));
        } else {
            // `*` or anything unexpected: forget everything.
            self.by_thumbprint.pin().clear();
            self.by_id.pin().clear();
            reverse.clear();
        }
    }

    /// Forgets everything (after a reconnection, when notifications may have been missed).
    pub(super) fn clear(&self) {
        self.invalidate("*");
    }

    /// Cached answers (both maps).
    pub(super) fn len(&self) -> usize {
        self.by_thumbprint.len() + self.by_id.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, prints: &[Thumbprint]) -> RegisteredClient {
        let mut b = RegisteredClient::builder(id);
        for t in prints {
            b = b.certificate(crate::registry::RegisteredCertificate {
                thumbprint: *t,
                not_after: None,
                retire_after: None,
            });
        }
        b.build()
    }

    #[test]
    fn nothing_is_served_before_the_first_synchronisation_or_after_the_bound() {
        let cache = Cache::new(Duration::from_secs(10), 100);
        let t = Thumbprint::of(b"a");
        cache.store_thumbprint(t, Some(client("a", &[t])), cache.epoch());
        assert_eq!(cache.thumbprint(&t), None, "never synchronised");
        cache.mark_synced(Instant::now());
        assert!(cache.thumbprint(&t).is_some());
        cache.mark_synced(Instant::now() - Duration::from_secs(60));
        // mark_synced keeps the newest time: still fresh.
        assert!(cache.thumbprint(&t).is_some());
        cache.mark_unsynced();
        cache.mark_synced(Instant::now() - Duration::from_secs(60));
        assert_eq!(cache.thumbprint(&t), None, "synchronised longer ago than the bound");
    }

    #[test]
    fn an_answer_fetched_before_an_invalidation_is_not_stored() {
        let cache = Cache::new(Duration::from_secs(60), 100);
        cache.mark_synced(Instant::now());
        let t = Thumbprint::of(b"a");
        let epoch = cache.epoch();
        cache.invalidate("cother");
        cache.store_thumbprint(t, Some(client("a", &[t])), epoch);
        assert_eq!(cache.thumbprint(&t), None);
        cache.store_client_id("a", None, epoch);
        assert_eq!(cache.client_id("a"), None);
    }

    #[test]
    fn a_client_change_drops_every_thumbprint_cached_for_it() {
        let cache = Cache::new(Duration::from_secs(60), 100);
        cache.mark_synced(Instant::now());
        let (t1, t2, t3) = (Thumbprint::of(b"1"), Thumbprint::of(b"2"), Thumbprint::of(b"3"));
        let a = client("a", &[t1, t2]);
        cache.store_thumbprint(t1, Some(a.clone()), cache.epoch());
        cache.store_thumbprint(t2, Some(a.clone()), cache.epoch());
        cache.store_thumbprint(t3, None, cache.epoch());
        cache.store_client_id("a", Some(a), cache.epoch());
        cache.invalidate("ca");
        assert_eq!(cache.thumbprint(&t1), None);
        assert_eq!(cache.thumbprint(&t2), None);
        assert_eq!(cache.client_id("a"), None);
        assert_eq!(cache.thumbprint(&t3), Some(None), "another key stays");
        cache.invalidate(&format!("t{}", t3.to_hex()));
        assert_eq!(cache.thumbprint(&t3), None);
    }

    #[test]
    fn an_unexpected_payload_or_a_full_cache_forgets_everything() {
        let cache = Cache::new(Duration::from_secs(60), 2);
        cache.mark_synced(Instant::now());
        let (t1, t2) = (Thumbprint::of(b"1"), Thumbprint::of(b"2"));
        cache.store_thumbprint(t1, None, cache.epoch());
        cache.invalidate("tnot-hex");
        assert_eq!(cache.len(), 0);
        cache.store_thumbprint(t1, None, cache.epoch());
        cache.store_thumbprint(t2, None, cache.epoch());
        cache.store_client_id("x", None, cache.epoch());
        assert_eq!(cache.len(), 1, "full: emptied before storing");
    }
}
