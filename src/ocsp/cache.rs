//! The status cache: one entry per certificate (its SHA-256 thumbprint, which fixes its
//! issuer and serial), held while the response that made it is fresh, bounded in
//! entries; and the single flight that makes concurrent requests for one certificate
//! share one fetch.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::verify::UnknownStatus;

/// The cache key: the certificate's SHA-256 thumbprint.
pub(crate) type Key = [u8; 32];

/// What a fetch established about a certificate.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    /// A fresh, signed `good`.
    Good,
    /// A signed `revoked` (kind `revoked`).
    Revoked(Error),
    /// No usable answer: a signed `unknown`, or a failure (kind `revocation_unknown` or
    /// `revocation_stale`), decided by the unknown-status policy.
    Unknown(Error),
}

impl Outcome {
    pub(crate) fn verdict(&self, policy: UnknownStatus) -> Result<()> {
        match (self, policy) {
            (Self::Good, _) | (Self::Unknown(_), UnknownStatus::Allow) => Ok(()),
            (Self::Revoked(e), _) | (Self::Unknown(e), _) => Err(e.clone()),
        }
    }
}

/// An outcome and the verification times it holds for.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) outcome: Outcome,
    pub(crate) from: Timestamp,
    pub(crate) until: Timestamp,
}

impl Entry {
    fn holds_at(&self, now: Timestamp) -> bool {
        self.from <= now && now <= self.until
    }
}

type Flight = Arc<tokio::sync::OnceCell<Arc<Entry>>>;

/// The cache.
pub(crate) struct Cache {
    map: papaya::HashMap<Key, Arc<Entry>, foldhash::fast::RandomState>,
    max: usize,
    flights: Mutex<HashMap<Key, Flight>>,
}

/// Removes a flight from the map when its caller is done with it (unless a newer
/// flight has taken its place).
struct Landing<'a> {
    cache: &'a Cache,
    key: Key,
    flight: Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.cache.flights.lock().unwrap_or_else(|p| p.into_inner());
        if flights.get(&self.key).is_some_and(|f| Arc::ptr_eq(f, &self.flight)) {
            flights.remove(&self.key);
        }
    }
}

/// How many entries an insertion into a full cache looks at to find one to evict.
const EVICTION_SAMPLE: usize = 16;

impl Cache {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            map: papaya::HashMap::builder().hasher(foldhash::fast::RandomState::default()).build(),
            max,
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict of the entry for `key` if it holds at `now`: a map look-up.
    pub(crate) fn verdict(
        &self,
        key: &Key,
        now: Timestamp,
        policy: UnknownStatus,
    ) -> Option<Result<()>> {
        let map = self.map.pin();
        let entry = map.get(key)?;
        entry.holds_at(now).then(|| entry.outcome.verdict(policy))
    }

    /// How many entries are held.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// How many fetches are under way.
    #[cfg(test)]
    fn flights(&self) -> usize {
        self.flights.lock().map_or(0, |f| f.len())
    }

    /// The entry for `key`, made by `fetch` unless another caller is making it: every
    /// caller that arrives while a fetch runs waits for that fetch. If the caller running
    /// it is dropped (its request cancelled), a waiting caller runs its own.
    pub(crate) async fn fetch_once<F>(&self, key: Key, now: Timestamp, fetch: F) -> Arc<Entry>
    where
        F: Future<Output = Entry>,
    {
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(flights.entry(key).or_default())
        };
        // The flight leaves the map when this caller is done, or dropped mid-fetch, so
        // that the map holds only fetches under way.
        let _landing = Landing { cache: self, key, flight: Arc::clone(&flight) };
        flight
            .get_or_init(|| async {
                let entry = Arc::new(fetch.await);
                self.insert(key, Arc::clone(&entry), now);
                entry
            })
            .await
            .clone()
    }

    /// Holds `entry` (unless it holds for no time at all), evicting when full: expired
    /// entries first, else the one that expires soonest, among a sample.
    fn insert(&self, key: Key, entry: Arc<Entry>, now: Timestamp) {
        if self.max == 0 || entry.until < entry.from {
            return;
        }
        let map = self.map.pin();
        if map.len() >= self.max && !map.contains_key(&key) {
            let mut soonest: Option<(Key, Timestamp)> = None;
            let mut expired = Vec::new();
            for (k, e) in map.iter().take(EVICTION_SAMPLE) {
                if e.until < now {
                    expired.push(*k);
                } else if soonest.is_none_or(|(_, until)| e.until < until) {
                    soonest = Some((*k, e.until));
                }
            }
            if expired.is_empty() {
                expired.extend(soonest.map(|(k, _)| k));
            }
            for k in &expired {
                map.remove(k);
            }
        }
        map.insert(key, entry);
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").field("entries", &self.map.len()).field("max", &self.max).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn entry(from: i64, until: i64) -> Arc<Entry> {
        Arc::new(Entry {
            outcome: Outcome::Good,
            from: Timestamp::from_unix_secs(from),
            until: Timestamp::from_unix_secs(until),
        })
    }

    /// The cache never holds more than its bound; a full cache evicts an expired entry
    /// first, and an entry is used only inside its window.
    #[test]
    fn bounded_and_windowed() {
        let cache = Cache::new(4);
        let now = Timestamp::from_unix_secs(1000);
        for i in 0..4u8 {
            cache.insert([i; 32], entry(0, 2000), now);
        }
        cache.insert([9; 32], entry(0, 10), now); // expired at insertion: still held
        assert_eq!(cache.len(), 4);
        for i in 10..40u8 {
            cache.insert([i; 32], entry(0, 2000 + i64::from(i)), now);
            assert!(cache.len() <= 4);
        }
        let hit = cache.verdict(&[39; 32], now, UnknownStatus::Deny);
        assert_eq!(hit, Some(Ok(())));
        assert_eq!(
            cache.verdict(&[39; 32], Timestamp::from_unix_secs(5000), UnknownStatus::Deny),
            None
        );
        assert_eq!(
            cache.verdict(&[39; 32], Timestamp::from_unix_secs(-1), UnknownStatus::Deny),
            None
        );
        assert_eq!(cache.verdict(&[200; 32], now, UnknownStatus::Deny), None);
        // A zero bound holds nothing.
        let none = Cache::new(0);
        none.insert([1; 32], entry(0, 2000), now);
        assert_eq!(none.len(), 0);
    }

    /// A fetch whose caller is dropped mid-way leaves nothing behind, and the next
    /// caller fetches again.
    #[tokio::test]
    async fn a_cancelled_fetch_leaves_no_flight_behind() {
        let cache = Cache::new(8);
        let now = Timestamp::from_unix_secs(1000);
        let mut pending = Box::pin(cache.fetch_once([1; 32], now, async {
            std::future::pending::<()>().await;
            Entry { outcome: Outcome::Good, from: now, until: now }
        }));
        let waker = std::task::Waker::noop();
        assert!(pending.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_pending());
        assert_eq!(cache.flights(), 1);
        drop(pending);
        assert_eq!(cache.flights(), 0);
        let entry = cache
            .fetch_once([1; 32], now, async {
                Entry { outcome: Outcome::Good, from: now, until: now.plus_secs(60) }
            })
            .await;
        assert!(matches!(entry.outcome, Outcome::Good));
        assert_eq!((cache.flights(), cache.len()), (0, 1));
    }

    /// Failures follow the unknown-status policy; revocations never do.
    #[test]
    fn outcomes_and_policy() {
        let unknown = Outcome::Unknown(Error::new(ErrorKind::RevocationUnknown, "down"));
        let revoked = Outcome::Revoked(Error::new(ErrorKind::Revoked, "revoked"));
        assert_eq!(unknown.verdict(UnknownStatus::Allow), Ok(()));
        assert_eq!(
            unknown.verdict(UnknownStatus::Deny).unwrap_err().kind(),
            ErrorKind::RevocationUnknown
        );
        for policy in [UnknownStatus::Allow, UnknownStatus::Deny] {
            assert_eq!(revoked.verdict(policy).unwrap_err().kind(), ErrorKind::Revoked);
            assert_eq!(Outcome::Good.verdict(policy), Ok(()));
        }
    }
}
