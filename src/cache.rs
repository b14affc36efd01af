//! The verification cache: a repeat client costs a hash and a map look-up.
//!
//! Entries are keyed by the exact presented bytes (the forwarded header value, or the DER
//! chain from TLS) and compared byte for byte, so a hash collision can never hand one
//! client another's identity. The hash is foldhash with a random per-process seed, so
//! an attacker cannot aim collisions at a bucket.
//!
//! An entry never outlives: the leaf's `notAfter` or any CRL's `nextUpdate` consulted
//! (the verified chain's `valid_until`), the configured maximum age, or the verifier
//! generation it was made under (any change of trust store, CRLs or policy). Failures are
//! not cached, so an attacker cannot fill the cache with garbage that costs nothing to
//! send, nor poison it. Concurrent first requests for the same bytes verify once.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::Result;
use crate::time::Timestamp;

type FastMap<K, V> = papaya::HashMap<K, V, foldhash::fast::RandomState>;

/// Bounds and lifetime of the verification cache.
///
/// | knob | default | why |
/// |---|---|---|
/// | `max_entries` | 10,000 | a busy API sees far fewer distinct clients per hour |
/// | `max_bytes` | 64 MiB | bounds memory when keys are large chains |
/// | `max_age_secs` | 300 | re-verifies every five minutes even when nothing changed |
///
/// ```
/// use certauth::cache::CacheConfig;
/// let config = CacheConfig::default().with_max_entries(50_000).with_max_age_secs(60);
/// assert_eq!(config.max_entries(), 50_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    max_entries: usize,
    max_bytes: usize,
    max_age_secs: i64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self { max_entries: 10_000, max_bytes: 64 << 20, max_age_secs: 300 }
    }
}

impl CacheConfig {
    /// A configuration that caches nothing (every request verifies).
    pub const fn disabled() -> Self {
        Self { max_entries: 0, max_bytes: 0, max_age_secs: 0 }
    }

    /// Most entries held. Default 10,000.
    pub const fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Most key bytes held (plus a fixed overhead per entry). Default 64 MiB.
    pub const fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Longest an entry lives, in seconds. Default 300.
    pub const fn max_age_secs(&self) -> i64 {
        self.max_age_secs
    }

    /// Sets [`max_entries`](Self::max_entries).
    #[must_use]
    pub const fn with_max_entries(mut self, n: usize) -> Self {
        self.max_entries = n;
        self
    }

    /// Sets [`max_bytes`](Self::max_bytes).
    #[must_use]
    pub const fn with_max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// Sets [`max_age_secs`](Self::max_age_secs).
    #[must_use]
    pub const fn with_max_age_secs(mut self, secs: i64) -> Self {
        self.max_age_secs = secs;
        self
    }
}

/// Per-entry bookkeeping counted against `max_bytes` besides the key itself.
const ENTRY_OVERHEAD: usize = 96;

/// Keys being verified right now, each with the cell its result lands in.
type InFlight<V> =
    HashMap<Box<[u8]>, Arc<OnceLock<Result<(V, Timestamp)>>>, foldhash::fast::RandomState>;

struct Entry<V> {
    value: V,
    tag: u64,
    generation: u64,
    expires: Timestamp,
}

/// A bounded map from presented bytes to a verified result `V`.
pub struct VerificationCache<V> {
    config: CacheConfig,
    map: FastMap<Box<[u8]>, Arc<Entry<V>>>,
    bytes: AtomicUsize,
    /// First-request de-duplication: one `OnceLock` per key being verified right now.
    in_flight: Mutex<InFlight<V>>,
}

impl<V> fmt::Debug for VerificationCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationCache")
            .field("config", &self.config)
            .field("entries", &self.map.len())
            .finish_non_exhaustive()
    }
}

impl<V: Clone + Send + Sync + 'static> VerificationCache<V> {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> Self {
        Self {
            config,
            map: papaya::HashMap::builder()
                .capacity(config.max_entries.min(1 << 16))
                .hasher(foldhash::fast::RandomState::default())
                .build(),
            bytes: AtomicUsize::new(0),
            in_flight: Mutex::new(HashMap::with_hasher(foldhash::fast::RandomState::default())),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CacheConfig {
        &self.config
    }

    /// Number of entries (including expired ones not yet evicted).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The cached value for `key`, if it was stored with the same `tag` (what the bytes
    /// are: a header format, TLS DER) under `generation`, and has not expired at `now`.
    pub fn get(&self, key: &[u8], tag: u64, generation: u64, now: Timestamp) -> Option<V> {
        let map = self.map.pin();
        let entry = map.get(key)?;
        (entry.tag == tag && entry.generation == generation && now <= entry.expires)
            .then(|| entry.value.clone())
    }

    /// The cached value for `key`, or the result of `verify` (run once however many
    /// callers ask for the same key at the same time). `verify` returns the value and the
    /// time it stops being valid; the entry expires at the earliest of that, `now` plus
    /// the maximum age. Errors are returned to every waiting caller and not cached.
    pub fn get_or_verify(
        &self,
        key: &[u8],
        tag: u64,
        generation: u64,
        now: Timestamp,
        verify: impl FnOnce() -> Result<(V, Timestamp)>,
    ) -> Result<V> {
        if let Some(hit) = self.get(key, tag, generation, now) {
            return Ok(hit);
        }
        if self.config.max_entries == 0 {
            return verify().map(|(v, _)| v);
        }
        let cell = {
            let mut in_flight =
                self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(in_flight.entry(key.into()).or_default())
        };
        let result = cell.get_or_init(|| {
            let result = verify();
            if let Ok((value, valid_until)) = &result {
                self.insert_verified(key, tag, value.clone(), generation, now, *valid_until);
            }
            result
        });
        {
            let mut in_flight =
                self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if in_flight.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                in_flight.remove(key);
            }
        }
        result.clone().map(|(v, _)| v)
    }

    /// Stores a value verified at `now` and valid until `valid_until` (capped by the
    /// maximum age). Only call it with successful results.
    pub fn insert_verified(
        &self,
        key: &[u8],
        tag: u64,
        value: V,
        generation: u64,
        now: Timestamp,
        valid_until: Timestamp,
    ) {
        let cost = key.len() + ENTRY_OVERHEAD;
        if cost > self.config.max_bytes {
            return;
        }
        let expires = valid_until.min(now.plus_secs(self.config.max_age_secs));
        if expires < now {
            return;
        }
        if self.map.len() >= self.config.max_entries
            || self.bytes.load(Ordering::Relaxed) + cost > self.config.max_bytes
        {
            self.evict(now, cost);
        }
        let entry = Arc::new(Entry { value, tag, generation, expires });
        let map = self.map.pin();
        if let Some(old) = map.insert(key.into(), entry) {
            let _ = old;
            return; // replaced an entry of the same key: byte count unchanged
        }
        self.bytes.fetch_add(cost, Ordering::Relaxed);
    }

    /// Makes room: drops expired entries, then about an eighth of the rest (chosen by
    /// the random hash order, so an attacker cannot steer which survive).
    fn evict(&self, now: Timestamp, incoming: usize) {
        let map = self.map.pin();
        let target_entries =
            self.config.max_entries.saturating_sub(self.config.max_entries / 8 + 1);
        let target_bytes =
            self.config.max_bytes.saturating_sub(self.config.max_bytes / 8 + incoming);
        let mut victims: Vec<Box<[u8]>> =
            map.iter().filter(|(_, e)| e.expires < now).map(|(k, _)| k.clone()).collect();
        let (mut entries, mut bytes) = (map.len(), self.bytes.load(Ordering::Relaxed));
        entries -= victims.len().min(entries);
        for k in &victims {
            bytes = bytes.saturating_sub(k.len() + ENTRY_OVERHEAD);
        }
        // Random-looking first choice (one key in eight by a fresh seed), then anything,
        // until both bounds leave room for the incoming entry.
        let seed = foldhash::fast::RandomState::default();
        for pass in 0..2 {
            for (k, e) in map.iter() {
                if entries <= target_entries && bytes <= target_bytes {
                    break;
                }
                if e.expires < now || (pass == 0 && seed.hash_one(k) % 8 != 0) {
                    continue; // already a victim, or not chosen in this pass
                }
                if pass == 1 && victims.contains(k) {
                    continue;
                }
                victims.push(k.clone());
                entries = entries.saturating_sub(1);
                bytes = bytes.saturating_sub(k.len() + ENTRY_OVERHEAD);
            }
        }
        for k in victims {
            if map.remove(&k).is_some() {
                self.bytes.fetch_sub(k.len() + ENTRY_OVERHEAD, Ordering::Relaxed);
            }
        }
    }

    /// Drops every entry.
    pub fn clear(&self) {
        self.map.pin().clear();
        self.bytes.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_800_000_000 + s)
    }

    #[test]
    fn hit_requires_same_bytes_generation_and_time() {
        let cache = VerificationCache::new(CacheConfig::default());
        let v = cache.get_or_verify(b"chain-a", 0, 1, t(0), || Ok(("alice", t(100)))).unwrap();
        assert_eq!(v, "alice");
        assert_eq!(cache.get(b"chain-a", 0, 1, t(50)), Some("alice"));
        assert_eq!(cache.get(b"chain-a", 0, 2, t(50)), None, "new generation");
        assert_eq!(cache.get(b"chain-a", 0, 1, t(101)), None, "past valid_until");
        assert_eq!(cache.get(b"chain-b", 0, 1, t(50)), None);
        assert_eq!(cache.get(b"chain-a", 9, 1, t(50)), None, "other tag");
        assert_eq!(cache.get(b"chain-", 0, 1, t(50)), None);
    }

    #[test]
    fn max_age_caps_the_lifetime() {
        let cache = VerificationCache::new(CacheConfig::default().with_max_age_secs(10));
        cache.get_or_verify(b"k", 0, 1, t(0), || Ok((1, t(1000)))).unwrap();
        assert_eq!(cache.get(b"k", 0, 1, t(10)), Some(1));
        assert_eq!(cache.get(b"k", 0, 1, t(11)), None);
    }

    #[test]
    fn failures_are_not_cached() {
        let cache: VerificationCache<u8> = VerificationCache::new(CacheConfig::default());
        let calls = AtomicU32::new(0);
        for _ in 0..3 {
            let r = cache.get_or_verify(b"bad", 0, 1, t(0), || {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(crate::Error::malformed("nope"))
            });
            assert!(r.is_err());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(cache.is_empty());
    }

    #[test]
    fn bounded_by_entries_and_bytes() {
        let cache = VerificationCache::new(CacheConfig::default().with_max_entries(100));
        for i in 0..1000u32 {
            cache.get_or_verify(&i.to_be_bytes(), 0, 1, t(0), || Ok((i, t(100)))).unwrap();
            assert!(cache.len() <= 100, "len {} at {i}", cache.len());
        }
        let cache = VerificationCache::new(
            CacheConfig::default().with_max_bytes(10 * (ENTRY_OVERHEAD + 1000)),
        );
        for i in 0..100u8 {
            cache.get_or_verify(&[i; 1000], 0, 1, t(0), || Ok((i, t(100)))).unwrap();
            assert!(cache.bytes.load(Ordering::Relaxed) <= cache.config.max_bytes);
        }
        assert!(cache.len() <= 10);
    }

    #[test]
    fn disabled_cache_always_verifies() {
        let cache = VerificationCache::new(CacheConfig::disabled());
        let calls = AtomicU32::new(0);
        for _ in 0..3 {
            cache
                .get_or_verify(b"k", 0, 1, t(0), || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok((1, t(100)))
                })
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn concurrent_first_requests_verify_once() {
        let cache = Arc::new(VerificationCache::new(CacheConfig::default()));
        let calls = Arc::new(AtomicU32::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (cache, calls, barrier) = (cache.clone(), calls.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    cache
                        .get_or_verify(b"same", 0, 1, t(0), || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            Ok((7, t(100)))
                        })
                        .unwrap()
                })
            })
            .collect();
        for th in threads {
            assert_eq!(th.join().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
