//! One link of the chain: a backend with its counters and, when the cache is on, its
//! [`cache`](crate::cache). Every backend is wrapped in a [`Link`], cache or not, so every
//! answer is counted the same way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::acl::file::ClientAcl;
use crate::backend::{Backend, Generation, Granted, LoginAnswer};
use crate::cache::front::{self, Hit};
use crate::cache::refresh::{Job, Refresher};
use crate::cache::{AclKey, AuthEntry, CacheSettings, Caches};
use crate::log::Logger;
use crate::request::{AclRequest, Answer, AuthRequest, Decision, Verdict};
use crate::stats::{BackendStats, Check};

/// A backend with its counters and, when enabled, its cache.
pub struct Link {
    inner: Arc<dyn Backend>,
    stats: Arc<BackendStats>,
    cache: Option<Arc<Caches>>,
    refresher: Mutex<Option<Refresher>>,
    logger: Logger,
    /// The backend answers ACL questions from memory: do not cache them.
    acl_cached_locally: bool,
    /// Calls not cached, to time 1 in [`LATENCY_SAMPLE`] of a backend answering from memory.
    calls: AtomicU64,
}

/// 1 call in this many to a backend that answers from memory is timed.
pub const LATENCY_SAMPLE: u64 = 16;

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("backend", &self.inner.name())
            .field("cache", &self.cache.as_ref().map(|c| &c.settings))
            .finish()
    }
}

impl Link {
    /// Wraps `inner`; with `settings.enabled` false only the counters are kept.
    pub fn new(inner: Arc<dyn Backend>, settings: &CacheSettings, logger: Logger) -> Link {
        Link {
            stats: Arc::new(BackendStats::default()),
            cache: settings
                .enabled
                .then(|| Arc::new(Caches::new(settings.clone()))),
            refresher: Mutex::new(None),
            logger,
            acl_cached_locally: inner.answers_from_memory(),
            calls: AtomicU64::new(0),
            inner,
        }
    }

    /// The backend's counters.
    pub fn stats(&self) -> &Arc<BackendStats> {
        &self.stats
    }

    /// Forgets every cached answer.
    pub fn clear(&self) {
        if let Some(c) = &self.cache {
            c.clear();
        }
    }

    /// The cache for ACL and superuser answers: none for a backend that answers from memory
    /// (a lookup would cost more than the answer).
    fn acl_cache(&self) -> Option<&Arc<Caches>> {
        self.cache.as_ref().filter(|_| !self.acl_cached_locally)
    }

    fn timed(&self, check: Check, f: impl FnOnce() -> Answer) -> Answer {
        // A backend that answers from memory takes about 100 ns: reading the clock twice would
        // cost as much as the answer, so only 1 of its ACL and superuser calls in
        // LATENCY_SAMPLE is timed. A plain load and store, not a locked add: a lost count only
        // moves the sample.
        if self.acl_cached_locally && check != Check::Auth {
            let n = self.calls.load(Ordering::Relaxed);
            self.calls.store(n.wrapping_add(1), Ordering::Relaxed);
            if n % LATENCY_SAMPLE != 0 {
                let answer = f();
                self.stats
                    .result(check, answer.as_ref().ok().map(|v| v.decision));
                return answer;
            }
        }
        let t = Instant::now();
        let answer = f();
        self.stats.latency(t.elapsed());
        self.stats
            .result(check, answer.as_ref().ok().map(|v| v.decision));
        answer
    }

    fn timed_login(&self, f: impl FnOnce() -> LoginAnswer) -> LoginAnswer {
        let t = Instant::now();
        let answer = f();
        self.stats.latency(t.elapsed());
        self.stats.result(
            Check::Auth,
            answer.as_ref().ok().map(|g| g.verdict.decision),
        );
        answer
    }

    /// The decision of a front-table hit. A hit that asks for a refresh queues it; if it cannot
    /// be queued the mark is cleared (outside the table's lock, so the table never waits on the
    /// refresher) and a later hit tries again.
    fn front_hit<K: Clone + PartialEq>(
        &self,
        front: &front::Front<K>,
        hash: u64,
        eq: impl Fn(&K) -> bool,
        hit: Hit<K>,
        job: fn(K) -> Job,
    ) -> Decision {
        match hit {
            Hit::Fresh(d) => d,
            Hit::Refresh(d, key) => {
                if !self.queue(job(key)) {
                    front.unmark(hash, eq);
                }
                d
            }
        }
    }

    /// Queues a background refresh; false if it could not be queued (no refresher, or its
    /// queue is full: the entry then simply expires and is fetched on the broker thread).
    fn queue(&self, job: Job) -> bool {
        let guard = self.refresher.lock().unwrap_or_else(|e| e.into_inner());
        guard.as_ref().is_some_and(|r| r.queue(job))
    }
}

impl Backend for Link {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Answer {
        self.login(req).map(|g| g.verdict)
    }

    fn login(&self, req: &AuthRequest<'_>) -> LoginAnswer {
        let Some(c) = &self.cache else {
            return self.timed_login(|| self.inner.login(req));
        };
        let key = c.auth_key(req);
        let generation = self.inner.generation();
        if let Some(e) = c.auth.get(&key) {
            if e.entry.generation == generation {
                self.stats.cache(Check::Auth, true);
                return Ok(Granted {
                    verdict: Verdict::new(e.entry.decision),
                    grant: e.grant,
                });
            }
        }
        self.stats.cache(Check::Auth, false);
        let answer = self.timed_login(|| self.inner.login(req));
        if let Ok(g) = &answer {
            if let Some(entry) = c.entry(g.verdict, true, generation) {
                let grant = g.grant.clone();
                c.auth.insert(key, AuthEntry { entry, grant });
            }
        }
        answer
    }

    fn fingerprint(&self, username: &str) -> Option<u64> {
        self.inner.fingerprint(username)
    }

    fn superuser(&self, username: &str) -> Answer {
        let Some(c) = self.acl_cache() else {
            return self.timed(Check::Superuser, || self.inner.superuser(username));
        };
        let generation = self.inner.generation();
        let now = Instant::now();
        let refresh = c.settings.refresh;
        let hash = c.superuser_hash(username);
        #[allow(clippy::borrowed_box)] // the table's key type is Box<str>
        let eq = |k: &Box<str>| **k == *username;
        if let Some(hit) = c.superuser_front.get(hash, eq, now, generation, refresh) {
            self.stats.cache(Check::Superuser, true);
            return Ok(Verdict::new(self.front_hit(
                &c.superuser_front,
                hash,
                eq,
                hit,
                Job::Superuser,
            )));
        }
        if let Some(e) = c
            .superuser
            .get(username)
            .filter(|e| e.valid(now, generation))
        {
            self.stats.cache(Check::Superuser, true);
            let queued =
                refresh && now >= e.refresh_at && self.queue(Job::Superuser(username.into()));
            c.superuser_front.insert(hash, username.into(), e, queued);
            return Ok(Verdict::new(e.decision));
        }
        self.stats.cache(Check::Superuser, false);
        let answer = self.timed(Check::Superuser, || self.inner.superuser(username));
        if let Some(e) = answer
            .as_ref()
            .ok()
            .and_then(|v| c.entry(*v, false, generation))
        {
            c.put_superuser(username.into(), e);
        }
        answer
    }

    fn acl(&self, req: &AclRequest<'_>) -> Answer {
        let Some(c) = self.acl_cache() else {
            return self.timed(Check::Acl, || self.inner.acl(req));
        };
        let generation = self.inner.generation();
        let now = Instant::now();
        let refresh = c.settings.refresh;
        let hash = c.acl_hash(req);
        let eq = |k: &AclKey| k.is(req);
        if let Some(hit) = c.acl_front.get(hash, eq, now, generation, refresh) {
            self.stats.cache(Check::Acl, true);
            return Ok(Verdict::new(self.front_hit(
                &c.acl_front,
                hash,
                eq,
                hit,
                Job::Acl,
            )));
        }
        let key = AclKey::new(req);
        if let Some(e) = c.acl.get(&key).filter(|e| e.valid(now, generation)) {
            self.stats.cache(Check::Acl, true);
            let queued = refresh && now >= e.refresh_at && self.queue(Job::Acl(key.clone()));
            c.acl_front.insert(hash, key, e, queued);
            return Ok(Verdict::new(e.decision));
        }
        self.stats.cache(Check::Acl, false);
        let answer = self.timed(Check::Acl, || self.inner.acl(req));
        if let Some(e) = answer
            .as_ref()
            .ok()
            .and_then(|v| c.entry(*v, false, generation))
        {
            c.put_acl(key, e);
        }
        answer
    }

    fn reload(&self) -> Result<(), String> {
        let result = self.inner.reload();
        self.clear();
        result
    }

    fn generation_counter(&self) -> Option<&Generation> {
        self.inner.generation_counter()
    }

    fn explain_acl(&self, req: &AclRequest<'_>) -> Option<String> {
        self.inner.explain_acl(req)
    }

    fn client_acl(&self, username: Option<&str>, client_id: &str) -> Option<ClientAcl> {
        self.inner.client_acl(username, client_id)
    }

    /// A cached answer never waits; otherwise the backend says.
    fn auth_may_block(&self, req: &AuthRequest<'_>) -> bool {
        if !self.inner.auth_may_block(req) {
            return false;
        }
        let Some(c) = &self.cache else {
            return true;
        };
        let generation = self.inner.generation();
        !c.auth
            .get(&c.auth_key(req))
            .is_some_and(|e| e.entry.generation == generation)
    }

    fn max_wait(&self) -> std::time::Duration {
        self.inner.max_wait()
    }

    fn has_superusers(&self) -> bool {
        self.inner.has_superusers()
    }

    fn answers_from_memory(&self) -> bool {
        self.inner.answers_from_memory()
    }

    fn start(&self) {
        self.inner.start();
        if let Some(c) = self.acl_cache() {
            if c.settings.refresh {
                match Refresher::start(self.inner.clone(), c.clone(), self.stats.clone()) {
                    Ok(r) => *self.refresher.lock().unwrap_or_else(|e| e.into_inner()) = Some(r),
                    Err(e) => self.logger.warning(format_args!(
                        "cache: cannot start the refresh thread ({e}); entries will expire normally"
                    )),
                }
            }
        }
    }

    fn stop(&self) {
        if let Some(r) = self
            .refresher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            r.stop();
        }
        self.inner.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Access, BackendError, CacheHint};
    use crate::secret::Secret;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::time::Duration;

    /// A backend that counts calls and answers from a script.
    #[derive(Default)]
    struct Counting {
        calls: AtomicUsize,
        fail: AtomicBool,
        deny: AtomicBool,
        hint: Mutex<Option<CacheHint>>,
        generation: Generation,
    }

    impl Counting {
        fn answer(&self) -> Answer {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                return Err(BackendError::new("down"));
            }
            let decision = if self.deny.load(Ordering::SeqCst) {
                Decision::Deny
            } else {
                Decision::Allow
            };
            let cache = self.hint.lock().unwrap().unwrap_or_default();
            Ok(Verdict { decision, cache })
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl Backend for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn authenticate(&self, _req: &AuthRequest<'_>) -> Answer {
            self.answer()
        }
        fn superuser(&self, _username: &str) -> Answer {
            self.answer()
        }
        fn acl(&self, _req: &AclRequest<'_>) -> Answer {
            self.answer()
        }
        fn generation_counter(&self) -> Option<&Generation> {
            Some(&self.generation)
        }
    }

    fn req<'a>(topic: &'a str) -> AclRequest<'a> {
        AclRequest {
            username: Some("alice"),
            client_id: "c1",
            topic,
            access: Access::Read,
            qos: 0,
            retain: false,
        }
    }

    fn wrap(settings: CacheSettings) -> (Arc<Counting>, Link) {
        let inner = Arc::new(Counting::default());
        let cached = Link::new(inner.clone(), &settings, Logger::default());
        (inner, cached)
    }

    #[test]
    fn answers_pushed_out_of_the_front_table_come_from_moka() {
        let (inner, c) = wrap(CacheSettings::default());
        let n = 3 * front::MAX_SLOTS;
        let topics: Vec<String> = (0..n).map(|i| format!("t/{i}")).collect();
        for t in &topics {
            c.acl(&req(t)).unwrap();
        }
        assert_eq!(inner.calls(), n);
        // Most of these left the front table long ago; moka still has them all.
        inner.deny.store(true, Ordering::SeqCst);
        for t in &topics {
            assert_eq!(c.acl(&req(t)).unwrap().decision, Decision::Allow);
        }
        assert_eq!(inner.calls(), n);
        assert_eq!(c.stats().hits(Check::Acl), n as u64);
        // A reload (new generation) is seen through both.
        inner.generation.fetch_add(1, Ordering::SeqCst);
        assert_eq!(c.acl(&req("t/0")).unwrap().decision, Decision::Deny);
        // clear() empties both.
        c.acl(&req("t/1")).unwrap();
        c.clear();
        inner.deny.store(false, Ordering::SeqCst);
        assert_eq!(c.acl(&req("t/1")).unwrap().decision, Decision::Allow);
        assert_eq!(inner.calls(), n + 3);
    }

    #[test]
    fn hits_do_not_reach_the_backend() {
        let (inner, c) = wrap(CacheSettings::default());
        for _ in 0..100 {
            assert_eq!(c.acl(&req("a/b")).unwrap().decision, Decision::Allow);
        }
        assert_eq!(inner.calls(), 1);
        assert_eq!(c.stats().hits(Check::Acl), 99);
        assert_eq!(c.stats().misses(Check::Acl), 1);
        c.acl(&req("a/c")).unwrap();
        assert_eq!(inner.calls(), 2, "different topic, different key");
    }

    #[test]
    fn errors_are_never_cached() {
        let (inner, c) = wrap(CacheSettings::default());
        inner.fail.store(true, Ordering::SeqCst);
        assert!(c.acl(&req("a")).is_err());
        assert!(c.acl(&req("a")).is_err());
        assert_eq!(inner.calls(), 2);
        inner.fail.store(false, Ordering::SeqCst);
        assert!(c.acl(&req("a")).is_ok());
        assert_eq!(c.stats().count(Check::Acl, None), 2);
    }

    #[test]
    fn negative_answers_have_their_own_time() {
        let settings = CacheSettings {
            acl_negative_ttl: Duration::from_millis(50),
            ..CacheSettings::default()
        };
        let (inner, c) = wrap(settings);
        inner.deny.store(true, Ordering::SeqCst);
        c.acl(&req("a")).unwrap();
        c.acl(&req("a")).unwrap();
        assert_eq!(inner.calls(), 1);
        std::thread::sleep(Duration::from_millis(120));
        inner.deny.store(false, Ordering::SeqCst);
        assert_eq!(c.acl(&req("a")).unwrap().decision, Decision::Allow);
        assert_eq!(inner.calls(), 2);
    }

    #[test]
    fn no_store_and_max_age_hints_override_the_configured_time() {
        let (inner, c) = wrap(CacheSettings::default());
        *inner.hint.lock().unwrap() = Some(CacheHint::NoStore);
        c.acl(&req("a")).unwrap();
        c.acl(&req("a")).unwrap();
        assert_eq!(inner.calls(), 2);
        *inner.hint.lock().unwrap() = Some(CacheHint::MaxAge(Duration::from_millis(50)));
        c.acl(&req("b")).unwrap();
        c.acl(&req("b")).unwrap();
        assert_eq!(inner.calls(), 3);
        std::thread::sleep(Duration::from_millis(120));
        c.acl(&req("b")).unwrap();
        assert_eq!(inner.calls(), 4);
    }

    #[test]
    fn a_max_age_never_outlives_the_configured_time() {
        let settings = CacheSettings {
            acl_ttl: Duration::from_millis(50),
            acl_jitter: Duration::ZERO,
            ..CacheSettings::default()
        };
        let (inner, c) = wrap(settings);
        *inner.hint.lock().unwrap() = Some(CacheHint::MaxAge(Duration::from_secs(3600)));
        c.acl(&req("a")).unwrap();
        c.acl(&req("a")).unwrap();
        assert_eq!(inner.calls(), 1, "cached");
        std::thread::sleep(Duration::from_millis(120));
        c.acl(&req("a")).unwrap();
        assert_eq!(
            inner.calls(),
            2,
            "a max-age of an hour outlived acl_cache_seconds"
        );
    }

    #[test]
    fn a_new_generation_invalidates_older_answers() {
        let (inner, c) = wrap(CacheSettings::default());
        c.acl(&req("a")).unwrap();
        inner.generation.store(1, Ordering::SeqCst);
        c.acl(&req("a")).unwrap();
        assert_eq!(inner.calls(), 2);
    }

    #[test]
    fn auth_keys_hold_no_password_and_do_not_collide() {
        let (inner, c) = wrap(CacheSettings::default());
        let pw1 = Secret::from("b-c");
        let pw2 = Secret::from("c");
        let r1 = AuthRequest {
            username: "a",
            password: &pw1,
            client_id: "x",
        };
        let r2 = AuthRequest {
            username: "a-b",
            password: &pw2,
            client_id: "x",
        };
        c.authenticate(&r1).unwrap();
        c.authenticate(&r2).unwrap();
        assert_eq!(inner.calls(), 2, "a-b/c and a/b-c are different keys");
        c.authenticate(&r1).unwrap();
        assert_eq!(inner.calls(), 2);
        let caches = c.cache.as_ref().unwrap();
        assert_ne!(caches.auth_key(&r1), caches.auth_key(&r2));
        let key = caches.auth_key(&r1);
        assert!(!key.windows(3).any(|w| w == b"b-c"));
    }

    #[test]
    fn hot_entries_are_refreshed_in_the_background() {
        let settings = CacheSettings {
            acl_ttl: Duration::from_millis(400),
            ..CacheSettings::default()
        };
        let (inner, c) = wrap(settings);
        c.start();
        c.acl(&req("a")).unwrap();
        std::thread::sleep(Duration::from_millis(340));
        // In the last fifth of its life: answered from the cache, refreshed behind.
        c.acl(&req("a")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while inner.calls() < 2 {
            assert!(Instant::now() < deadline, "no background refresh");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The refreshed entry is new: past the old end it is still a hit.
        std::thread::sleep(Duration::from_millis(150));
        c.acl(&req("a")).unwrap();
        assert_eq!(inner.calls(), 2);
        c.stop();
    }

    #[test]
    fn disabled_cache_still_counts() {
        let (inner, c) = wrap(CacheSettings {
            enabled: false,
            ..CacheSettings::default()
        });
        c.acl(&req("a")).unwrap();
        c.acl(&req("a")).unwrap();
        assert_eq!(inner.calls(), 2);
        assert_eq!(c.stats().count(Check::Acl, Some(Decision::Allow)), 2);
    }
}
