//! A JWKS document fetched over HTTP(S) and kept in memory: fetched at start, again every
//! refresh interval on a background thread, and on demand for an unknown `kid` (at most once per
//! [`MIN_GAP`]). A failed fetch keeps the last good set and is logged once per failure streak.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use super::keys::KeySet;
use crate::log::Logger;
use crate::options::ConfigError;

/// Fetches for unknown key ids are at least this far apart.
pub const MIN_GAP: Duration = Duration::from_secs(2);

/// The largest JWKS document read.
const MAX_BODY: u64 = 256 * 1024;

/// The deadline of one fetch.
const TIMEOUT: Duration = Duration::from_secs(5);

struct Shared {
    url: reqwest::Url,
    client: reqwest::blocking::Client,
    keys: ArcSwap<KeySet>,
    last_fetch: Mutex<Option<Instant>>,
    failing: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
    logger: Logger,
}

/// The key set at a URL.
pub struct Jwks {
    shared: Arc<Shared>,
    every: Duration,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Jwks {
    /// Fetches the set once (a failure is a warning: tokens are refused until a fetch works).
    pub fn new(url: reqwest::Url, every: Duration, logger: Logger) -> Result<Jwks, ConfigError> {
        let client = reqwest::blocking::Client::builder()
            .use_rustls_tls()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| ConfigError::Other(format!("jwt: cannot set up the HTTP client: {e}")))?;
        let shared = Arc::new(Shared {
            url,
            client,
            keys: ArcSwap::from_pointee(KeySet::default()),
            last_fetch: Mutex::new(None),
            failing: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
            logger,
        });
        shared.fetch();
        Ok(Jwks {
            shared,
            every,
            thread: Mutex::new(None),
        })
    }

    /// The keys now.
    pub fn current(&self) -> Arc<KeySet> {
        self.shared.keys.load_full()
    }

    /// The deadline of one fetch.
    pub fn timeout(&self) -> Duration {
        TIMEOUT
    }

    /// Fetches now unless a fetch happened within [`MIN_GAP`]; returns true if it fetched.
    pub fn refresh_for_unknown_kid(&self) -> bool {
        {
            let mut last = self
                .shared
                .last_fetch
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < MIN_GAP) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.shared.fetch();
        true
    }

    /// Starts the refresh thread.
    pub fn start(&self) {
        let shared = self.shared.clone();
        let every = self.every;
        let spawned = std::thread::Builder::new()
            .name("mosq-auth-jwks".into())
            .spawn(move || loop {
                let stop = shared.stop.lock().unwrap_or_else(|e| e.into_inner());
                let (stop, _) = shared
                    .wake
                    .wait_timeout_while(stop, every, |s| !*s)
                    .unwrap_or_else(|e| e.into_inner());
                if *stop {
                    return;
                }
                drop(stop);
                // One bad document must not end the refreshing.
                crate::log::catch_panic("jwks refresh", || shared.fetch());
            });
        match spawned {
            Ok(h) => *self.thread.lock().unwrap_or_else(|e| e.into_inner()) = Some(h),
            Err(e) => self.shared.logger.warning(format_args!(
                "jwt: cannot start the key set refresh thread ({e}): {} is fetched only for unknown key ids",
                self.shared.url
            )),
        }
    }

    /// Stops and joins the refresh thread.
    pub fn stop(&self) {
        *self.shared.stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.shared.wake.notify_all();
        if let Some(h) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Jwks {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    /// One fetch: the new set replaces the old one only if it parsed and has a key.
    fn fetch(&self) {
        *self.last_fetch.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        match self.get() {
            Ok((set, warnings)) => {
                let changed = {
                    let old = self.keys.load();
                    let ids = |s: &KeySet| s.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>();
                    ids(&old) != ids(&set)
                };
                let n = set.keys.len();
                self.keys.store(Arc::new(set));
                if self.failing.swap(false, Ordering::Relaxed) || changed {
                    self.logger
                        .notice(format_args!("jwt: key set {} loaded: {n} key(s)", self.url));
                    for w in warnings {
                        self.logger.warning(format_args!("jwt: {}: {w}", self.url));
                    }
                }
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    self.logger.warning(format_args!(
                        "jwt: cannot fetch the key set {}: {e}; keeping the last good one ({} key(s))",
                        self.url,
                        self.keys.load().keys.len()
                    ));
                }
            }
        }
    }

    fn get(&self) -> Result<(KeySet, Vec<String>), String> {
        let response = self.client.get(self.url.clone()).send().map_err(|e| {
            if e.is_timeout() {
                "no answer in time".to_string()
            } else {
                "cannot connect".to_string()
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("status {}", status.as_u16()));
        }
        let mut body = Vec::new();
        response
            .take(MAX_BODY + 1)
            .read_to_end(&mut body)
            .map_err(|e| format!("reading the answer failed: {e}"))?;
        if body.len() as u64 > MAX_BODY {
            return Err(format!("a document over {} KiB", MAX_BODY / 1024));
        }
        let (set, warnings) = KeySet::jwks(&body)?;
        if set.keys.is_empty() {
            return Err("no usable signing key in the document".into());
        }
        Ok((set, warnings))
    }
}
