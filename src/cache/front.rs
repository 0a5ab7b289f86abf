//! A small table of recent answers in front of the moka caches.
//!
//! Mosquitto asks for read access once per delivered message, on its only thread, and in a
//! steady stream the same few (user, client, topic) keys come back again and again. A moka hit
//! costs about 2,500 instructions (hashing, an epoch pin, the LRU bookkeeping, and an owned key
//! built for the lookup); the budget is a few percent of a delivery, a few hundred
//! instructions. This table answers those repeats: two-way set associative, keyed SipHash of the
//! borrowed request, the full key compared on every hit, no allocation, one short uncontended
//! lock. It holds copies of moka's entries (same decision, same end of life, same generation),
//! so moka stays the bounded store and the place a miss goes to.

use rustc_hash::FxSeededState;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use super::Entry;
use crate::request::Decision;

/// Slots per set.
const WAYS: usize = 2;
/// Most slots in one table.
pub(crate) const MAX_SLOTS: usize = 4096;

struct Slot<K> {
    hash: u64,
    key: K,
    entry: Entry,
    /// A background refresh of this answer is queued.
    refresh_queued: bool,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Hit<K> {
    /// A valid answer.
    Fresh(Decision),
    /// A valid answer in the last part of its life: the caller queues a refresh of this key
    /// (and calls [`Front::unmark`] if it cannot).
    Refresh(Decision, K),
}

/// A per-process seed, so the slots keys land in cannot be chosen from outside. (Even when they
/// can, colliding keys only fall through to moka.)
fn random_seed() -> usize {
    let mut b = [0u8; std::mem::size_of::<usize>()];
    // A failure leaves the seed at zero: slower only for keys built to collide.
    let _ = getrandom::getrandom(&mut b);
    usize::from_ne_bytes(b)
}

/// The table; `K` is the owned key, looked up through a borrowed view by hash and equality.
pub(crate) struct Front<K> {
    sets: Mutex<Box<[Option<Slot<K>>]>>,
    mask: u64,
    hasher: FxSeededState,
}

impl<K: Clone + PartialEq> Front<K> {
    /// A table of at most `max_entries` slots (rounded down to a power of two, at least one
    /// set), and never more than [`MAX_SLOTS`].
    pub(super) fn new(max_entries: u64) -> Front<K> {
        let wanted = (max_entries.min(MAX_SLOTS as u64) as usize / WAYS).max(1);
        let sets = if wanted.is_power_of_two() {
            wanted
        } else {
            wanted.next_power_of_two() / 2
        };
        Front {
            sets: Mutex::new((0..sets * WAYS).map(|_| None).collect()),
            mask: sets as u64 - 1,
            hasher: FxSeededState::with_seed(random_seed()),
        }
    }

    /// The per-process keyed hasher the caller hashes its view with.
    pub(super) fn hasher(&self) -> &FxSeededState {
        &self.hasher
    }

    fn lock(&self) -> MutexGuard<'_, Box<[Option<Slot<K>>]>> {
        self.sets.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, hash: u64) -> std::ops::Range<usize> {
        let first = (hash & self.mask) as usize * WAYS;
        first..first + WAYS
    }

    /// Looks `hash`/`eq` up. An entry from another generation or past its end is dropped and
    /// reported as a miss. With `refresh` set, the first lookup of an entry past its refresh
    /// point returns [`Hit::Refresh`] and marks it, so the refresh is queued once.
    pub(crate) fn get(
        &self,
        hash: u64,
        eq: impl Fn(&K) -> bool,
        now: Instant,
        generation: u64,
        refresh: bool,
    ) -> Option<Hit<K>> {
        let mut sets = self.lock();
        let range = self.set(hash);
        for cell in &mut sets[range] {
            let Some(slot) = cell else { continue };
            if slot.hash != hash || !eq(&slot.key) {
                continue;
            }
            let e = slot.entry;
            if e.generation != generation || now >= e.expires {
                *cell = None;
                return None;
            }
            if refresh && !slot.refresh_queued && now >= e.refresh_at {
                slot.refresh_queued = true;
                return Some(Hit::Refresh(e.decision, slot.key.clone()));
            }
            return Some(Hit::Fresh(e.decision));
        }
        None
    }

    /// Stores an answer, replacing the same key or else the way that ends first.
    pub(crate) fn insert(&self, hash: u64, key: K, entry: Entry, refresh_queued: bool) {
        let mut sets = self.lock();
        let range = self.set(hash);
        let cells = &mut sets[range];
        let i = cells
            .iter()
            .position(|c| c.as_ref().is_some_and(|s| s.hash == hash && s.key == key))
            .or_else(|| cells.iter().position(Option::is_none))
            .or_else(|| (0..WAYS).min_by_key(|&j| cells[j].as_ref().map(|s| s.entry.expires)))
            .unwrap_or(0);
        cells[i] = Some(Slot {
            hash,
            key,
            entry,
            refresh_queued,
        });
    }

    /// Clears the refresh mark of a key whose refresh could not be queued, so a later hit
    /// tries again.
    pub(crate) fn unmark(&self, hash: u64, eq: impl Fn(&K) -> bool) {
        let mut sets = self.lock();
        let range = self.set(hash);
        for slot in sets[range].iter_mut().flatten() {
            if slot.hash == hash && eq(&slot.key) {
                slot.refresh_queued = false;
            }
        }
    }

    /// Forgets everything.
    pub(super) fn clear(&self) {
        for cell in self.lock().iter_mut() {
            *cell = None;
        }
    }

    /// The number of slots in use.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().iter().filter(|c| c.is_some()).count()
    }

    /// The number of slots.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;
    use std::time::Duration;

    fn entry(decision: Decision, now: Instant, ttl_ms: u64, generation: u64) -> Entry {
        Entry::new(decision, Duration::from_millis(ttl_ms), now, generation)
    }

    fn h(front: &Front<String>, key: &str) -> u64 {
        front.hasher().hash_one(key)
    }

    fn put(front: &Front<String>, key: &str, e: Entry) {
        front.insert(h(front, key), key.to_string(), e, false);
    }

    fn get(front: &Front<String>, key: &str, now: Instant, generation: u64) -> Option<Hit<String>> {
        front.get(h(front, key), |k| k == key, now, generation, true)
    }

    #[test]
    fn sizes_are_bounded_powers_of_two() {
        assert_eq!(Front::<String>::new(1).capacity(), 2);
        assert_eq!(Front::<String>::new(100).capacity(), 64);
        assert_eq!(Front::<String>::new(128).capacity(), 128);
        assert_eq!(Front::<String>::new(100_000).capacity(), MAX_SLOTS);
    }

    #[test]
    fn hit_miss_expiry_and_generation() {
        let f = Front::new(64);
        let now = Instant::now();
        put(&f, "a", entry(Decision::Allow, now, 1000, 7));
        assert_eq!(get(&f, "a", now, 7), Some(Hit::Fresh(Decision::Allow)));
        assert_eq!(get(&f, "b", now, 7), None);
        // Another generation: dropped.
        assert_eq!(get(&f, "a", now, 8), None);
        assert_eq!(f.len(), 0);
        put(&f, "a", entry(Decision::Deny, now, 1000, 7));
        assert_eq!(get(&f, "a", now, 7), Some(Hit::Fresh(Decision::Deny)));
        // Past its end: dropped.
        assert_eq!(get(&f, "a", now + Duration::from_millis(1000), 7), None);
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn refresh_is_reported_once_until_unmarked() {
        let f = Front::new(64);
        let now = Instant::now();
        put(&f, "a", entry(Decision::Allow, now, 1000, 0));
        let late = now + Duration::from_millis(850);
        assert_eq!(
            get(&f, "a", late, 0),
            Some(Hit::Refresh(Decision::Allow, "a".into()))
        );
        assert_eq!(get(&f, "a", late, 0), Some(Hit::Fresh(Decision::Allow)));
        f.unmark(h(&f, "a"), |k| k == "a");
        assert_eq!(
            get(&f, "a", late, 0),
            Some(Hit::Refresh(Decision::Allow, "a".into()))
        );
        // Without refresh asked for, a late entry is just a hit.
        assert_eq!(
            f.get(h(&f, "a"), |k| k == "a", late, 0, false),
            Some(Hit::Fresh(Decision::Allow))
        );
    }

    #[test]
    fn a_full_table_keeps_its_size_and_the_latest_answers() {
        let f = Front::new(8);
        let now = Instant::now();
        for i in 0..1000u64 {
            put(
                &f,
                &format!("k{i}"),
                entry(Decision::Allow, now, 1000 + i, 0),
            );
        }
        assert!(f.len() <= 8);
        // The last key written is always found.
        assert_eq!(get(&f, "k999", now, 0), Some(Hit::Fresh(Decision::Allow)));
        // Every key found is the right one: a hash match alone is not enough.
        let found = (0..1000)
            .filter(|i| get(&f, &format!("k{i}"), now, 0).is_some())
            .count();
        assert_eq!(found, f.len());
        f.clear();
        assert_eq!(f.len(), 0);
    }

    #[test]
    fn equal_hashes_with_different_keys_do_not_match() {
        let f = Front::new(8);
        let now = Instant::now();
        f.insert(42, "a".into(), entry(Decision::Allow, now, 1000, 0), false);
        assert_eq!(f.get(42, |k: &String| k == "b", now, 0, true), None);
        assert_eq!(
            f.get(42, |k: &String| k == "a", now, 0, true),
            Some(Hit::Fresh(Decision::Allow))
        );
        // Same hash, another key: both ways of the set are used.
        f.insert(42, "b".into(), entry(Decision::Deny, now, 1000, 0), false);
        assert_eq!(
            f.get(42, |k: &String| k == "b", now, 0, true),
            Some(Hit::Fresh(Decision::Deny))
        );
        assert_eq!(
            f.get(42, |k: &String| k == "a", now, 0, true),
            Some(Hit::Fresh(Decision::Allow))
        );
    }
}
