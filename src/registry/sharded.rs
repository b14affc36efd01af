//! A sorted array of uniformly keyed entries, split into copy-on-write shards: the index
//! structure of [`MemoryRegistry`](super::MemoryRegistry). Readers load one shard pointer
//! and never wait; a writer (callers serialize writers) copies the one shard it changes
//! and publishes it. A 64-bit key picks the shard with its top bits and estimates the
//! position in the shard with the next ones ([`search`]).

use std::cmp::Ordering;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

/// log2 of the shards per index (16,384): a write copies one shard, about 60 entries at a
/// million; small copies also keep the heap from fragmenting under many single writes.
pub(super) const SHARD_BITS: u32 = 14;
/// Shards per index.
pub(super) const SHARDS: usize = 1 << SHARD_BITS;

/// A sorted array split into copy-on-write shards, each an exact-size boxed slice (no
/// spare capacity) behind an atomic pointer, or no pointer when empty. An entry's shard
/// is the top [`SHARD_BITS`] bits of a uniformly distributed 64-bit key (a thumbprint's
/// first bytes, a hash of the id), so the key's next bits also say roughly where in the
/// shard an entry sits: see [`search`].
pub(super) struct Sharded<T> {
    shards: Box<[ArcSwapOption<Box<[T]>>]>,
}

/// The shard of a key: its top [`SHARD_BITS`] bits, always below [`SHARDS`].
pub(super) fn shard_index(key: u64) -> usize {
    (key >> (64 - SHARD_BITS)) as usize
}

impl<T: Clone> Sharded<T> {
    /// From entries in `key` order within each of the `SHARDS` buckets.
    pub(super) fn from_buckets(buckets: Vec<Vec<T>>) -> Self {
        let shard =
            |b: Vec<T>| ArcSwapOption::new((!b.is_empty()).then(|| Arc::new(b.into_boxed_slice())));
        Self { shards: buckets.into_iter().map(shard).collect() }
    }

    /// No entries.
    pub(super) fn empty() -> Self {
        Self { shards: (0..SHARDS).map(|_| ArcSwapOption::empty()).collect() }
    }

    fn shard(&self, key: u64) -> &ArcSwapOption<Box<[T]>> {
        // `shard_index` is below SHARDS, the slice's length.
        &self.shards[shard_index(key)]
    }

    /// Runs `f` on the shard of `key`; lock-free.
    pub(super) fn read<R>(&self, key: u64, f: impl FnOnce(&[T]) -> R) -> R {
        let guard = self.shard(key).load();
        f(guard.as_deref().map_or(&[], |b| &**b))
    }

    /// Copy-on-write edit of the shard of `key`: `f` finds the position and says what
    /// to do there. Callers hold the writer lock. Returns the entry removed or replaced.
    pub(super) fn edit(&self, key: u64, f: impl FnOnce(&[T]) -> Edit<T>) -> Option<T> {
        let shard = self.shard(key);
        let guard = shard.load();
        let old: &[T] = guard.as_deref().map_or(&[], |b| &**b);
        let (fresh, out) = match f(old) {
            Edit::Keep => return None,
            Edit::Insert(at, value) => {
                let mut v = Vec::with_capacity(old.len() + 1);
                v.extend_from_slice(old.get(..at)?);
                v.push(value);
                v.extend_from_slice(old.get(at..)?);
                (v, None)
            }
            Edit::Replace(at, value) => {
                let mut v = old.to_vec();
                let replaced = std::mem::replace(v.get_mut(at)?, value);
                (v, Some(replaced))
            }
            Edit::Remove(at) => {
                let mut v = Vec::with_capacity(old.len().saturating_sub(1));
                v.extend_from_slice(old.get(..at)?);
                v.extend_from_slice(old.get(at + 1..)?);
                (v, old.get(at).cloned())
            }
        };
        shard.store((!fresh.is_empty()).then(|| Arc::new(fresh.into_boxed_slice())));
        out
    }

    /// The number of entries.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.load().as_deref().map_or(0, |b| b.len())).sum()
    }

    /// Every entry, shard by shard.
    pub(super) fn values(&self) -> Vec<T> {
        let mut all = Vec::with_capacity(self.len());
        for shard in &*self.shards {
            if let Some(b) = shard.load().as_deref() {
                all.extend_from_slice(b);
            }
        }
        all
    }
}

/// What [`Sharded::edit`] does to a shard.
pub(super) enum Edit<T> {
    /// Leave the shard as it is.
    Keep,
    /// Insert the value at this position.
    Insert(usize, T),
    /// Replace the entry at this position.
    Replace(usize, T),
    /// Remove the entry at this position.
    Remove(usize),
}

impl<T> Edit<T> {
    /// Puts `value` where a search found its key (`Ok`) or would insert it (`Err`).
    pub(super) fn put(found: std::result::Result<usize, usize>, value: T) -> Self {
        match found {
            Ok(i) => Edit::Replace(i, value),
            Err(i) => Edit::Insert(i, value),
        }
    }
}

/// Finds an entry in a shard sorted by a uniformly distributed 64-bit key: the key's bits
/// below the shard bits estimate the position (interpolation), then the search gallops
/// from there to a bracket and binary-searches it. At a million entries (about 1,000 per
/// shard) it reads a few neighbouring cache lines instead of the ten scattered probes of
/// a plain binary search. `cmp` orders an entry against the key sought.
pub(super) fn search<T>(
    shard: &[T],
    key: u64,
    cmp: impl Fn(&T) -> Ordering,
) -> std::result::Result<usize, usize> {
    let n = shard.len();
    let frac = u128::from(key << SHARD_BITS);
    let guess = ((frac * n as u128) >> 64) as usize;
    let at = |i: usize| shard.get(i).map(&cmp);
    let (lo, hi) = match at(guess) {
        None => (0, n),
        Some(Ordering::Equal) => return Ok(guess),
        Some(Ordering::Less) => {
            // The entry at `guess` is before the key.
            let (mut lo, mut step) = (guess + 1, 1usize);
            loop {
                let probe = guess.saturating_add(step);
                match at(probe) {
                    None => break (lo, n),
                    Some(Ordering::Equal) => return Ok(probe),
                    Some(Ordering::Less) => lo = probe + 1,
                    Some(Ordering::Greater) => break (lo, probe),
                }
                step = step.saturating_mul(2);
            }
        }
        Some(Ordering::Greater) => {
            let (mut hi, mut step) = (guess, 1usize);
            loop {
                let Some(probe) = guess.checked_sub(step) else { break (0, hi) };
                match at(probe) {
                    Some(Ordering::Equal) => return Ok(probe),
                    Some(Ordering::Greater) => hi = probe,
                    _ => break (probe + 1, hi),
                }
                step = step.saturating_mul(2);
            }
        }
    };
    match shard.get(lo..hi) {
        Some(range) => range.binary_search_by(cmp).map(|i| i + lo).map_err(|i| i + lo),
        None => shard.binary_search_by(cmp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_finds_every_key_and_every_gap() {
        // Skewed and uniform keys, shard sizes 0 to 300: the estimate may be far off.
        for n in [0usize, 1, 2, 3, 7, 64, 300] {
            for skew in [0u32, 8, 40] {
                let mut keys: Vec<u64> = (0..n as u64)
                    .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> skew) & !1)
                    .collect();
                keys.sort_unstable();
                keys.dedup();
                for (i, k) in keys.iter().enumerate() {
                    assert_eq!(search(&keys, *k, |e| e.cmp(k)), Ok(i), "n {n} skew {skew}");
                    let gap = k + 1;
                    assert_eq!(search(&keys, gap, |e| e.cmp(&gap)), Err(i + 1));
                }
                assert_eq!(search(&keys, u64::MAX, |e| e.cmp(&u64::MAX)), Err(keys.len()));
            }
        }
    }

    /// Inserts, replaces and removes copy one shard and leave the others alone; a
    /// position outside the shard changes nothing; an emptied shard holds no slice.
    #[test]
    fn edits_copy_one_shard() {
        let key = |shard: u64, low: u64| (shard << (64 - SHARD_BITS)) | low;
        let (a, b) = (key(3, 10), key(3, 20));
        let other = key(9, 5);
        let index: Sharded<u64> = Sharded::empty();
        let find = |s: &[u64], k: u64| search(s, k, |e| e.cmp(&k));
        for k in [b, a, other] {
            assert_eq!(index.edit(k, |s| Edit::put(find(s, k), k)), None);
        }
        assert_eq!(index.len(), 3);
        assert_eq!(index.read(a, <[u64]>::to_vec), [a, b]);
        let untouched = index.shard(other).load_full();
        assert_eq!(index.edit(a, |s| Edit::put(find(s, a), a)), Some(a), "replaced");
        assert_eq!(index.edit(a, |s| Edit::Insert(s.len() + 1, 0)), None);
        assert_eq!(index.edit(a, |s| Edit::Remove(s.len())), None);
        assert_eq!(index.edit(a, |_| Edit::Keep), None);
        assert_eq!(index.read(a, <[u64]>::to_vec), [a, b]);
        assert!(Arc::ptr_eq(&untouched.unwrap(), &index.shard(other).load_full().unwrap()));
        for k in [a, b] {
            let removed = index.edit(k, |s| match find(s, k) {
                Ok(i) => Edit::Remove(i),
                Err(_) => Edit::Keep,
            });
            assert_eq!(removed, Some(k));
        }
        assert!(index.shard(a).load().is_none());
        assert_eq!(index.values(), [other]);
    }
}
