//! The verification cache: a repeat client costs a hash and a map look-up.
//!
//! Entries are keyed by the exact presented bytes (the forwarded header value, or the DER
//! chain from TLS) and compared byte for byte, so a hash collision can never hand one
//! client another's identity. The hash is foldhash with a random per-process seed, so
//! an attacker cannot aim collisions at a bucket.
//!
//! A hit is accepted only when a full verification at that time would accept: an entry
//! holds inside the window of the verified chain (from the latest notBefore to the
//! earliest notAfter of the path and its anchor, CRL nextUpdate and maximum age), never
//! longer than the configured maximum age, and only under the verifier generation it was
//! made under (any change of trust store, CRLs or policy).
//!
//! One leaf holds at most one entry per source (tag): a presentation of the same leaf
//! with other extra certificates replaces the entry, and reuses its result when the
//! verified path is still presented (the caller checks that), so appending junk neither
//! evicts other clients nor buys a verification per request.
//!
//! Failures are remembered briefly (bounded, by a SHA-256 digest of the presented bytes,
//! so they never answer for other bytes): repeating a refused chain costs a hash and a
//! look-up. Concurrent first requests for the same bytes, tag and generation verify once.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use sha2::{Digest as _, Sha256};

use crate::error::{ErrorKind, Result};
use crate::time::Timestamp;

type FastMap<K, V> = papaya::HashMap<K, V, foldhash::fast::RandomState>;

/// Bounds and lifetime of the verification cache.
///
/// | knob | default | why |
/// |---|---|---|
/// | `max_entries` | 10,000 | a busy API sees far fewer distinct clients per hour |
/// | `max_bytes` | 64 MiB | bounds memory when keys are large chains |
/// | `max_age_secs` | 300 | re-verifies every five minutes even when nothing changed |
/// | `failure_ttl_secs` | 10 | a refused chain sent again within this costs a look-up |
/// | `max_failures` | 4,096 | bounds the memory of remembered failures (about 100 bytes each) |
///
/// ```
/// use certauth::CacheConfig;
/// let config = CacheConfig::default().with_max_entries(50_000).with_max_age_secs(60);
/// assert_eq!(config.max_entries(), 50_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheConfig {
    max_entries: usize,
    max_bytes: usize,
    max_age_secs: i64,
    failure_ttl_secs: i64,
    max_failures: usize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_bytes: 64 << 20,
            max_age_secs: 300,
            failure_ttl_secs: 10,
            max_failures: 4096,
        }
    }
}

impl CacheConfig {
    /// A configuration that caches nothing (every request verifies).
    pub const fn disabled() -> Self {
        Self { max_entries: 0, max_bytes: 0, max_age_secs: 0, failure_ttl_secs: 0, max_failures: 0 }
    }

    /// Most entries held. Default 10,000.
    pub const fn max_entries(&self) -> usize {
        self.max_entries
    }

    /// Most bytes held: the presented bytes each entry is keyed by, the verified chain
    /// it keeps, and a fixed overhead per entry. Default 64 MiB.
    pub const fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Longest an entry lives, in seconds. Default 300.
    pub const fn max_age_secs(&self) -> i64 {
        self.max_age_secs
    }

    /// How long a refused chain is remembered, in seconds: the same bytes sent again
    /// within this are refused with the same error without verifying. Default 10; 0
    /// turns it off. A failure that time can cure (not yet valid) is never remembered.
    pub const fn failure_ttl_secs(&self) -> i64 {
        self.failure_ttl_secs
    }

    /// Most failures remembered. Default 4,096.
    pub const fn max_failures(&self) -> usize {
        self.max_failures
    }

    /// Sets [`failure_ttl_secs`](Self::failure_ttl_secs).
    #[must_use]
    pub const fn with_failure_ttl_secs(mut self, secs: i64) -> Self {
        self.failure_ttl_secs = secs;
        self
    }

    /// Sets [`max_failures`](Self::max_failures).
    #[must_use]
    pub const fn with_max_failures(mut self, n: usize) -> Self {
        self.max_failures = n;
        self
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

/// Per-entry bookkeeping counted against `max_bytes` besides the key and the value.
const ENTRY_OVERHEAD: usize = 96;

/// A verified value and what bounds its reuse.
#[derive(Clone, Debug)]
pub(crate) struct Verified<V> {
    pub(crate) value: V,
    /// The result holds for verification times from this ...
    pub(crate) valid_from: Timestamp,
    /// ... up to this.
    pub(crate) expires: Timestamp,
    /// SHA-256 of the leaf: one entry per leaf and tag.
    pub(crate) leaf: [u8; 32],
    /// Bytes the value holds (its certificates), counted against `max_bytes`.
    pub(crate) weight: usize,
}

impl<V> Verified<V> {
    fn covers(&self, now: Timestamp) -> bool {
        self.valid_from <= now && now <= self.expires
    }
}

struct Entry<V> {
    verified: Verified<V>,
    tag: u64,
    generation: u64,
    /// The end of this entry's life: `verified.expires`, capped by the maximum age.
    until: Timestamp,
}

impl<V> Entry<V> {
    fn cost(&self, key: &[u8]) -> usize {
        key.len() + self.verified.weight + ENTRY_OVERHEAD
    }

    fn holds(&self, tag: u64, generation: u64, now: Timestamp) -> bool {
        self.tag == tag
            && self.generation == generation
            && self.verified.valid_from <= now
            && now <= self.until
    }
}

struct Failure {
    generation: u64,
    from: Timestamp,
    until: Timestamp,
    error: crate::Error,
}

type InFlightKey = (Box<[u8]>, u64, u64);
type Cell<V> = Arc<OnceLock<Result<Verified<V>>>>;
type Hasher = foldhash::fast::RandomState;

/// A bounded map from presented bytes to a verified result `V`.
pub(crate) struct VerificationCache<V> {
    config: CacheConfig,
    map: FastMap<Box<[u8]>, Arc<Entry<V>>>,
    /// The key of the one entry of each (leaf, tag).
    leaves: FastMap<([u8; 32], u64), Box<[u8]>>,
    bytes: AtomicUsize,
    /// Recent failures by SHA-256 of (tag, presented bytes).
    failures: Mutex<HashMap<[u8; 32], Failure, Hasher>>,
    /// First-request de-duplication: one cell per (key, tag, generation) being verified.
    in_flight: Mutex<HashMap<InFlightKey, Cell<V>, Hasher>>,
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
    pub(crate) fn new(config: CacheConfig) -> Self {
        let capacity = config.max_entries.min(1 << 16);
        Self {
            config,
            map: papaya::HashMap::builder().capacity(capacity).hasher(Hasher::default()).build(),
            leaves: papaya::HashMap::builder().capacity(capacity).hasher(Hasher::default()).build(),
            bytes: AtomicUsize::new(0),
            failures: Mutex::new(HashMap::with_hasher(Hasher::default())),
            in_flight: Mutex::new(HashMap::with_hasher(Hasher::default())),
        }
    }

    /// Number of entries (including expired ones not yet evicted).
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The cached value for `key`, if it was stored with the same `tag` (what the bytes
    /// are: a header format, TLS DER) under `generation`, and holds at `now`.
    pub(crate) fn get(&self, key: &[u8], tag: u64, generation: u64, now: Timestamp) -> Option<V> {
        let map = self.map.pin();
        let entry = map.get(key)?;
        entry.holds(tag, generation, now).then(|| entry.verified.value.clone())
    }

    /// The remembered failure of these bytes under `tag` and `generation`, if recent.
    pub(crate) fn recent_failure(
        &self,
        key: &[u8],
        tag: u64,
        generation: u64,
        now: Timestamp,
    ) -> Option<crate::Error> {
        let digest = self.failure_digest(key, tag)?;
        self.failure(&digest, generation, now)
    }

    /// The value verified for `leaf` under `tag` and `generation` from other presented
    /// bytes, if it holds at `now` and `sound` accepts it for this presentation; it is then
    /// re-filed under `key` (one entry per leaf and tag).
    pub(crate) fn adopt(
        &self,
        key: &[u8],
        tag: u64,
        generation: u64,
        now: Timestamp,
        leaf: &[u8; 32],
        sound: impl FnOnce(&V) -> bool,
    ) -> Option<V> {
        let entry = {
            let leaves = self.leaves.pin();
            let old_key = leaves.get(&(*leaf, tag))?;
            self.map.pin().get(&old_key[..]).cloned()?
        };
        if !entry.holds(tag, generation, now) || !sound(&entry.verified.value) {
            return None;
        }
        let value = entry.verified.value.clone();
        self.insert(key, tag, generation, entry.until, entry.verified.clone(), now);
        Some(value)
    }

    /// The cached value for `key`, or the result of `verify` (run once however many
    /// callers ask for the same key, tag and generation at the same time), and whether it
    /// was verified just now. A recent failure for the same bytes is returned again
    /// without verifying.
    pub(crate) fn get_or_verify(
        &self,
        key: &[u8],
        tag: u64,
        generation: u64,
        now: Timestamp,
        cured_at: Option<Timestamp>,
        verify: impl FnOnce() -> Result<Verified<V>>,
    ) -> Result<(V, bool)> {
        if let Some(hit) = self.get(key, tag, generation, now) {
            return Ok((hit, false));
        }
        let digest = self.failure_digest(key, tag);
        if let Some(error) = digest.as_ref().and_then(|d| self.failure(d, generation, now)) {
            return Err(error);
        }
        if self.config.max_entries == 0 {
            let result = verify();
            self.after(key, tag, generation, now, (digest, cured_at), &result);
            return result.map(|v| (v.value, true));
        }
        let slot = (Box::<[u8]>::from(key), tag, generation);
        let cell = {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(in_flight.entry(slot.clone()).or_default())
        };
        let mut verify = Some(verify);
        let result = cell.get_or_init(|| {
            let run = verify.take().map_or_else(
                || {
                    Err(crate::Error::new(
                        ErrorKind::InvalidCertificate,
                        "verification did not run",
                    ))
                },
                |f| f(),
            );
            self.after(key, tag, generation, now, (digest, cured_at), &run);
            run
        });
        {
            let mut in_flight = self.in_flight.lock().unwrap_or_else(PoisonError::into_inner);
            if in_flight.get(&slot).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                in_flight.remove(&slot);
            }
        }
        match (verify, result) {
            // Another caller's verification, made for another time: verify for ours.
            (Some(verify), Ok(v)) if !v.covers(now) => verify().map(|v| (v.value, true)),
            (_, result) => result.clone().map(|v| (v.value, true)),
        }
    }

    /// Files a verification's result: a success as an entry, a failure as a failure.
    fn after(
        &self,
        key: &[u8],
        tag: u64,
        generation: u64,
        now: Timestamp,
        // Where a failure is remembered (the digest of the bytes), and until when at most.
        (digest, cured_at): (Option<[u8; 32]>, Option<Timestamp>),
        result: &Result<Verified<V>>,
    ) {
        match result {
            Ok(verified) if verified.covers(now) && self.config.max_entries > 0 => {
                let until = verified.expires.min(now.plus_secs(self.config.max_age_secs));
                self.insert(key, tag, generation, until, verified.clone(), now);
            }
            Ok(_) => {}
            // Time can cure a chain that is not valid yet: never remember that.
            Err(e) if e.kind() == ErrorKind::NotYetValid => {}
            Err(e) => {
                if let Some(digest) = digest {
                    self.remember_failure(digest, generation, now, cured_at, e.clone());
                }
            }
        }
    }

    fn insert(
        &self,
        key: &[u8],
        tag: u64,
        generation: u64,
        until: Timestamp,
        verified: Verified<V>,
        now: Timestamp,
    ) {
        let leaf = verified.leaf;
        let entry = Arc::new(Entry { verified, tag, generation, until });
        let cost = entry.cost(key);
        if cost > self.config.max_bytes || until < now {
            return;
        }
        // The leaf's earlier entry under this tag (other presented bytes) makes way.
        if let Some(old_key) = self.leaves.pin().get(&(leaf, tag)).cloned()
            && *old_key != *key
        {
            self.remove(&old_key);
        }
        if self.map.len() >= self.config.max_entries
            || self.bytes.load(Ordering::Relaxed) + cost > self.config.max_bytes
        {
            self.evict(now, cost);
        }
        if let Some(old) = self.map.pin().insert(key.into(), entry) {
            self.bytes.fetch_sub(old.cost(key), Ordering::Relaxed);
        }
        self.bytes.fetch_add(cost, Ordering::Relaxed);
        self.leaves.pin().insert((leaf, tag), key.into());
    }

    fn remove(&self, key: &[u8]) {
        if let Some(old) = self.map.pin().remove(key) {
            self.bytes.fetch_sub(old.cost(key), Ordering::Relaxed);
            let leaves = self.leaves.pin();
            let slot = (old.verified.leaf, old.tag);
            if leaves.get(&slot).is_some_and(|k| **k == *key) {
                leaves.remove(&slot);
            }
        }
    }

    /// Makes room: drops expired entries, then about an eighth of the rest (chosen by
    /// the random hash order, so an attacker cannot steer which survive).
    fn evict(&self, now: Timestamp, incoming: usize) {
        let map = self.map.pin();
        let target_entries =
            self.config.max_entries.saturating_sub(self.config.max_entries / 8 + 1);
        let target_bytes =
            self.config.max_bytes.saturating_sub(self.config.max_bytes / 8 + incoming);
        let mut victims: HashSet<Box<[u8]>, Hasher> = map
            .iter()
            .filter(|(_, e)| e.until < now)
            .map(|(k, _)| k.clone())
            .collect::<HashSet<_, _>>();
        let (mut entries, mut bytes) = (map.len(), self.bytes.load(Ordering::Relaxed));
        entries -= victims.len().min(entries);
        for (k, e) in map.iter().filter(|(k, _)| victims.contains(*k)) {
            bytes = bytes.saturating_sub(e.cost(k));
        }
        // Random-looking first choice (one key in eight by a fresh seed), then anything,
        // until both bounds leave room for the incoming entry.
        let seed = Hasher::default();
        for pass in 0..2 {
            for (k, e) in map.iter() {
                if entries <= target_entries && bytes <= target_bytes {
                    break;
                }
                if (pass == 0 && seed.hash_one(k) % 8 != 0) || victims.contains(k) {
                    continue; // not chosen in this pass, or already a victim
                }
                victims.insert(k.clone());
                entries = entries.saturating_sub(1);
                bytes = bytes.saturating_sub(e.cost(k));
            }
        }
        drop(map);
        for k in victims {
            self.remove(&k);
        }
    }

    fn failure_digest(&self, key: &[u8], tag: u64) -> Option<[u8; 32]> {
        (self.config.failure_ttl_secs > 0 && self.config.max_failures > 0).then(|| {
            let mut h = Sha256::new();
            h.update(tag.to_be_bytes());
            h.update(key);
            h.finalize().into()
        })
    }

    fn failure(&self, digest: &[u8; 32], generation: u64, now: Timestamp) -> Option<crate::Error> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let f = failures.get(digest)?;
        (f.generation == generation && f.from <= now && now <= f.until).then(|| f.error.clone())
    }

    fn remember_failure(
        &self,
        digest: [u8; 32],
        generation: u64,
        now: Timestamp,
        cured_at: Option<Timestamp>,
        error: crate::Error,
    ) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= self.config.max_failures {
            failures.retain(|_, f| f.until >= now && f.generation == generation);
        }
        if failures.len() >= self.config.max_failures {
            // Still full: forget an eighth, in the map's random order.
            let drop = self.config.max_failures / 8 + 1;
            let victims: Vec<[u8; 32]> = failures.keys().take(drop).copied().collect();
            for v in victims {
                failures.remove(&v);
            }
        }
        let mut until = now.plus_secs(self.config.failure_ttl_secs);
        if let Some(c) = cured_at {
            until = until.min(c.plus_secs(-1));
        }
        failures.insert(digest, Failure { generation, from: now, until, error });
    }

    /// Drops every entry and remembered failure.
    pub(crate) fn clear(&self) {
        self.map.pin().clear();
        self.leaves.pin().clear();
        self.bytes.store(0, Ordering::Relaxed);
        self.failures.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_800_000_000 + s)
    }

    /// A value valid from t(-100) to `expires`, for leaf `leaf`.
    fn ok<V>(value: V, expires: Timestamp, leaf: u8) -> Result<Verified<V>> {
        Ok(Verified { value, valid_from: t(-100), expires, leaf: [leaf; 32], weight: 0 })
    }

    fn refused() -> Result<Verified<u8>> {
        Err(crate::Error::new(ErrorKind::UnknownIssuer, "no path"))
    }

    #[test]
    fn hit_requires_same_bytes_tag_generation_and_time_window() {
        let cache = VerificationCache::new(CacheConfig::default());
        let (v, fresh) =
            cache.get_or_verify(b"chain-a", 0, 1, t(0), None, || ok("alice", t(100), 1)).unwrap();
        assert_eq!((v, fresh), ("alice", true));
        assert_eq!(cache.get(b"chain-a", 0, 1, t(50)), Some("alice"));
        assert_eq!(cache.get(b"chain-a", 0, 2, t(50)), None, "new generation");
        assert_eq!(cache.get(b"chain-a", 0, 1, t(101)), None, "past expiry");
        assert_eq!(cache.get(b"chain-a", 0, 1, t(-101)), None, "before the chain is valid");
        assert_eq!(cache.get(b"chain-b", 0, 1, t(50)), None);
        assert_eq!(cache.get(b"chain-a", 9, 1, t(50)), None, "other tag");
        assert_eq!(cache.get(b"chain-", 0, 1, t(50)), None);
    }

    #[test]
    fn max_age_caps_the_lifetime() {
        let cache = VerificationCache::new(CacheConfig::default().with_max_age_secs(10));
        cache.get_or_verify(b"k", 0, 1, t(0), None, || ok(1, t(1000), 1)).unwrap();
        assert_eq!(cache.get(b"k", 0, 1, t(10)), Some(1));
        assert_eq!(cache.get(b"k", 0, 1, t(11)), None);
    }

    #[test]
    fn failures_are_remembered_briefly_per_bytes_tag_and_generation() {
        let cache: VerificationCache<u8> =
            VerificationCache::new(CacheConfig::default().with_failure_ttl_secs(10));
        let calls = AtomicU32::new(0);
        let run = |key: &[u8], tag, generation, now| {
            cache.get_or_verify(key, tag, generation, now, None, || {
                calls.fetch_add(1, Ordering::SeqCst);
                refused()
            })
        };
        for _ in 0..3 {
            assert_eq!(run(b"bad", 0, 1, t(0)).unwrap_err().kind(), ErrorKind::UnknownIssuer);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1, "repeats answered from memory");
        assert!(run(b"bad", 0, 1, t(11)).is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2, "forgotten after the ttl");
        assert!(run(b"bad", 0, 2, t(11)).is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3, "new generation");
        assert!(run(b"bad", 7, 2, t(11)).is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4, "other tag");
        // Other bytes are never answered by a remembered failure.
        let good = cache.get_or_verify(b"bad!", 0, 1, t(0), None, || ok(5, t(100), 2)).unwrap();
        assert_eq!(good, (5, true));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_not_yet_valid_failure_is_never_remembered() {
        let cache: VerificationCache<u8> = VerificationCache::new(CacheConfig::default());
        let calls = AtomicU32::new(0);
        for _ in 0..2 {
            let _ = cache.get_or_verify(b"early", 0, 1, t(0), None, || {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(crate::Error::new(ErrorKind::NotYetValid, "not yet"))
            });
        }
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn remembered_failures_are_bounded() {
        let cache: VerificationCache<u8> =
            VerificationCache::new(CacheConfig::default().with_max_failures(64));
        for i in 0..1000u32 {
            let _ = cache.get_or_verify(&i.to_be_bytes(), 0, 1, t(0), None, refused);
            let n = cache.failures.lock().unwrap().len();
            assert!(n <= 64, "{n} failures at {i}");
        }
    }

    #[test]
    fn bounded_by_entries_and_bytes() {
        let cache = VerificationCache::new(CacheConfig::default().with_max_entries(100));
        for i in 0..1000u32 {
            cache
                .get_or_verify(&i.to_be_bytes(), 0, 1, t(0), None, || ok(i, t(100), i as u8))
                .unwrap();
            assert!(cache.len() <= 100, "len {} at {i}", cache.len());
        }
        let cache = VerificationCache::new(
            CacheConfig::default().with_max_bytes(10 * (ENTRY_OVERHEAD + 1000 + 500)),
        );
        for i in 0..100u8 {
            cache
                .get_or_verify(&[i; 1000], 0, 1, t(0), None, || {
                    Ok(Verified { weight: 500, ..ok(i, t(100), i)? })
                })
                .unwrap();
            assert!(cache.bytes.load(Ordering::Relaxed) <= cache.config.max_bytes);
        }
        assert!(cache.len() <= 10);
    }

    #[test]
    fn one_leaf_holds_one_entry_per_tag() {
        let cache = VerificationCache::new(CacheConfig::default());
        for junk in 0..50u8 {
            let key = [b'L', junk];
            cache.get_or_verify(&key, 0, 1, t(0), None, || ok("leaf", t(100), 9)).unwrap();
            assert_eq!(cache.len(), 1, "presentation {junk}");
        }
        cache.get_or_verify(b"other-source", 5, 1, t(0), None, || ok("leaf", t(100), 9)).unwrap();
        assert_eq!(cache.len(), 2, "another tag is another source");
        assert_eq!(cache.get(&[b'L', 49], 0, 1, t(1)), Some("leaf"));
        assert_eq!(cache.get(&[b'L', 48], 0, 1, t(1)), None);
    }

    #[test]
    fn adopt_refiles_a_sound_result_without_verifying() {
        let cache = VerificationCache::new(CacheConfig::default());
        cache.get_or_verify(b"leaf+inter", 0, 1, t(0), None, || ok("alice", t(100), 3)).unwrap();
        assert_eq!(cache.adopt(b"leaf+inter+junk", 0, 1, t(1), &[3; 32], |_| false), None);
        assert_eq!(cache.adopt(b"leaf+inter+junk", 0, 2, t(1), &[3; 32], |_| true), None);
        assert_eq!(cache.adopt(b"leaf+inter+junk", 0, 1, t(101), &[3; 32], |_| true), None);
        assert_eq!(cache.adopt(b"leaf+inter+junk", 0, 1, t(1), &[3; 32], |_| true), Some("alice"));
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get(b"leaf+inter+junk", 0, 1, t(2)), Some("alice"));
        assert_eq!(cache.get(b"leaf+inter", 0, 1, t(2)), None);
    }

    #[test]
    fn disabled_cache_always_verifies() {
        let cache = VerificationCache::new(CacheConfig::disabled());
        let calls = AtomicU32::new(0);
        for _ in 0..3 {
            cache
                .get_or_verify(b"k", 0, 1, t(0), None, || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    ok(1, t(100), 1)
                })
                .unwrap();
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(cache.len(), 0);
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
                        .get_or_verify(b"same", 0, 1, t(0), None, || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            ok(7, t(100), 1)
                        })
                        .unwrap()
                        .0
                })
            })
            .collect();
        for th in threads {
            assert_eq!(th.join().unwrap(), 7);
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_verification_in_flight_under_another_generation_answers_no_one_else() {
        let cache = Arc::new(VerificationCache::new(CacheConfig::default()));
        let started = Arc::new(std::sync::Barrier::new(2));
        let old = {
            let (cache, started) = (cache.clone(), started.clone());
            std::thread::spawn(move || {
                cache.get_or_verify(b"same", 0, 1, t(0), None, || {
                    started.wait();
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    ok("old store", t(100), 1)
                })
            })
        };
        started.wait();
        let new = cache.get_or_verify(b"same", 0, 2, t(0), None, || ok("new store", t(100), 1));
        assert_eq!(new.unwrap().0, "new store");
        assert_eq!(old.join().unwrap().unwrap().0, "old store");
    }
}
