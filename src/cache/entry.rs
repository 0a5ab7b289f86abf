//! One cached answer and its time to live: the configured time for an allowed or a refused
//! answer plus optional random jitter, or the backend's [`CacheHint`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::sync::Cache;
use moka::Expiry;

use super::CacheSettings;
use crate::request::{CacheHint, Decision, Verdict};
use crate::session::Grant;

/// One cached answer: plain data, copied out on a hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) decision: Decision,
    pub(crate) ttl: Duration,
    pub(crate) generation: u64,
    /// When the answer ends.
    pub(crate) expires: Instant,
    /// From when a hit queues a background refresh: the last fifth of its life.
    pub(crate) refresh_at: Instant,
}

impl Entry {
    pub(crate) fn new(decision: Decision, ttl: Duration, now: Instant, generation: u64) -> Entry {
        Entry {
            decision,
            ttl,
            generation,
            expires: now + ttl,
            refresh_at: now + ttl.mul_f64(0.8),
        }
    }

    /// Usable at `now` for a backend in `generation`.
    pub(crate) fn valid(&self, now: Instant, generation: u64) -> bool {
        self.generation == generation && now < self.expires
    }
}

/// A cached login: the answer plus the session part of an allowed one (shared, not copied).
#[derive(Clone, Debug)]
pub(crate) struct AuthEntry {
    pub(crate) entry: Entry,
    pub(crate) grant: Option<Arc<Grant>>,
}

/// A value with its own time to live.
pub(super) trait Lived {
    fn ttl(&self) -> Duration;
}

impl Lived for Entry {
    fn ttl(&self) -> Duration {
        self.ttl
    }
}

impl Lived for AuthEntry {
    fn ttl(&self) -> Duration {
        self.entry.ttl
    }
}

struct EntryExpiry;

impl<K, V: Lived> Expiry<K, V> for EntryExpiry {
    fn expire_after_create(&self, _key: &K, value: &V, _created_at: Instant) -> Option<Duration> {
        Some(value.ttl())
    }

    fn expire_after_update(
        &self,
        _key: &K,
        value: &V,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.ttl())
    }
}

/// A bounded moka cache whose entries end at their own time to live.
pub(super) fn store<K, V>(max: u64) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Lived + Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(max)
        .expire_after(EntryExpiry)
        .build()
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // Jitter only; a failure means no jitter.
    let _ = getrandom::getrandom(&mut b);
    u64::from_le_bytes(b)
}

impl Entry {
    /// The entry for `verdict` (a password check's if `auth`), or `None` when it must not be
    /// cached: a `no-store` hint, or a time to live of zero. The configured time gets up to the
    /// configured jitter added at random; a backend's `max-age` hint can shorten the configured time,
    /// never lengthen it.
    pub(super) fn for_verdict(
        settings: &CacheSettings,
        verdict: Verdict,
        auth: bool,
        generation: u64,
    ) -> Option<Entry> {
        let s = settings;
        let (pos, neg, jitter) = if auth {
            (s.auth_ttl, s.auth_negative_ttl, s.auth_jitter)
        } else {
            (s.acl_ttl, s.acl_negative_ttl, s.acl_jitter)
        };
        let base = if verdict.decision == Decision::Allow {
            pos
        } else {
            neg
        };
        let ttl = match verdict.cache {
            CacheHint::NoStore => return None,
            // A service may shorten the configured lifetime, never lengthen it: a revoked
            // password must stop working within the time the operator chose.
            CacheHint::MaxAge(d) => d.min(base),
            CacheHint::Default => {
                if base.is_zero() {
                    return None;
                }
                let extra = if jitter.is_zero() {
                    Duration::ZERO
                } else {
                    Duration::from_nanos(random_u64() % (jitter.as_nanos() as u64 + 1))
                };
                base + extra
            }
        };
        if ttl.is_zero() {
            return None;
        }
        Some(Entry::new(
            verdict.decision,
            ttl,
            Instant::now(),
            generation,
        ))
    }
}
