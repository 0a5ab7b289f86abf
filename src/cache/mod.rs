//! The cache of backend answers.
//!
//! Mosquitto asks for read access for every message it delivers to every subscriber, on its
//! only thread: without a cache an HTTP backend would turn each delivery into a round trip.
//! A backend's link of the chain (`Link`, in `crate::link`) keeps its authentication,
//! superuser and ACL answers in bounded [`moka`] caches, one `Caches` per backend:
//! - positive and negative answers have their own time to live, plus optional jitter; a
//!   backend's [`CacheHint`](crate::request::CacheHint) (HTTP `Cache-Control`) overrides the
//!   time for that answer (`entry.rs`);
//! - a backend error is never cached;
//! - keys cannot collide and never hold a password (`key.rs`);
//! - an ACL or superuser answer that is used in the last fifth of its life is refreshed by a
//!   background thread (`refresh.rs`);
//! - answers given before a backend reloaded its data (see
//!   [`Backend::generation`](crate::backend::Backend::generation)) are not used; a SIGHUP
//!   clears everything;
//! - the ACL and superuser answers the broker asks for again and again are found in a small
//!   table in front of moka (`front.rs`) without allocating, so a warm check costs about as much
//!   as the broker's own `acl_file`.

mod entry;
pub(crate) mod front;
mod key;
pub(crate) mod refresh;
mod settings;

use std::hash::BuildHasher;

use moka::sync::Cache;

use crate::request::{AclRequest, AuthRequest, Verdict};

pub use key::AclKey;
pub use settings::{spec, CacheSettings, OPTIONS};

pub(crate) use entry::AuthEntry;
use entry::Entry;
use key::AuthKeys;

/// The caches of one backend: moka's bounded stores and the front tables before them.
pub(crate) struct Caches {
    pub(crate) settings: CacheSettings,
    auth_keys: AuthKeys,
    pub(crate) auth: Cache<[u8; 32], AuthEntry>,
    pub(crate) superuser: Cache<Box<str>, Entry>,
    pub(crate) acl: Cache<AclKey, Entry>,
    pub(crate) superuser_front: front::Front<Box<str>>,
    pub(crate) acl_front: front::Front<AclKey>,
}

impl Caches {
    pub(crate) fn new(settings: CacheSettings) -> Caches {
        let max = settings.max_entries;
        Caches {
            settings,
            auth_keys: AuthKeys::new(),
            auth: entry::store(max),
            superuser: entry::store(max),
            acl: entry::store(max),
            superuser_front: front::Front::new(max),
            acl_front: front::Front::new(max),
        }
    }

    pub(crate) fn acl_hash(&self, req: &AclRequest<'_>) -> u64 {
        self.acl_front
            .hasher()
            .hash_one((req.username, req.client_id, req.topic, req.access))
    }

    pub(crate) fn superuser_hash(&self, username: &str) -> u64 {
        self.superuser_front.hasher().hash_one(username)
    }

    /// Stores a fresh ACL answer in moka and in the front table.
    pub(crate) fn put_acl(&self, key: AclKey, entry: Entry) {
        let hash = self.acl_hash(&key.request());
        self.acl.insert(key.clone(), entry);
        self.acl_front.insert(hash, key, entry, false);
    }

    /// Stores a fresh superuser answer in moka and in the front table.
    pub(crate) fn put_superuser(&self, username: Box<str>, entry: Entry) {
        let hash = self.superuser_hash(&username);
        self.superuser.insert(username.clone(), entry);
        self.superuser_front.insert(hash, username, entry, false);
    }

    pub(crate) fn auth_key(&self, req: &AuthRequest<'_>) -> [u8; 32] {
        self.auth_keys.key(req)
    }

    /// The entry for `verdict`, or `None` when it must not be cached.
    pub(crate) fn entry(&self, verdict: Verdict, auth: bool, generation: u64) -> Option<Entry> {
        Entry::for_verdict(&self.settings, verdict, auth, generation)
    }

    pub(crate) fn clear(&self) {
        self.auth.invalidate_all();
        self.superuser.invalidate_all();
        self.acl.invalidate_all();
        self.superuser_front.clear();
        self.acl_front.clear();
    }
}
