//! The background refresher: a thread per backend that asks again for ACL and superuser
//! answers used in the last fifth of their life, so a busy topic never waits on the backend.
//! If a refresh fails, the old answer stays only until its normal end.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::{AclKey, Caches};
use crate::backend::Backend;
use crate::stats::{BackendStats, Check};

/// What to refresh.
pub(crate) enum Job {
    Superuser(Box<str>),
    Acl(AclKey),
}

/// The background thread that refreshes hot entries.
pub(crate) struct Refresher {
    tx: SyncSender<Job>,
    thread: JoinHandle<()>,
}

impl Refresher {
    /// Starts the thread refreshing `backend`'s answers in `caches`, counted in `stats`.
    pub(crate) fn start(
        backend: Arc<dyn Backend>,
        caches: Arc<Caches>,
        stats: Arc<BackendStats>,
    ) -> std::io::Result<Refresher> {
        let (tx, rx) = sync_channel(1024);
        let thread = std::thread::Builder::new()
            .name(format!("mosq-auth-refresh-{}", backend.name()))
            .spawn(move || refresh_loop(rx, backend, caches, stats))?;
        Ok(Refresher { tx, thread })
    }

    /// Queues a refresh; false if the queue is full or the thread is gone.
    pub(crate) fn queue(&self, job: Job) -> bool {
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// Stops the thread once it has finished the refresh it is doing.
    pub(crate) fn stop(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}

fn refresh_loop(
    rx: Receiver<Job>,
    inner: Arc<dyn Backend>,
    caches: Arc<Caches>,
    stats: Arc<BackendStats>,
) {
    while let Ok(job) = rx.recv() {
        let _ = crate::log::catch_panic("the cache refresher", || {
            refresh(job, &*inner, &caches, &stats)
        });
    }
}

fn refresh(job: Job, inner: &dyn Backend, caches: &Caches, stats: &BackendStats) {
    let generation = inner.generation();
    let t = Instant::now();
    match job {
        Job::Superuser(user) => {
            let answer = inner.superuser(&user);
            stats.latency(t.elapsed());
            stats.result(Check::Superuser, answer.as_ref().ok().map(|v| v.decision));
            if let Some(e) = answer.ok().and_then(|v| caches.entry(v, false, generation)) {
                caches.put_superuser(user, e);
            }
        }
        Job::Acl(key) => {
            let answer = inner.acl(&key.request());
            stats.latency(t.elapsed());
            stats.result(Check::Acl, answer.as_ref().ok().map(|v| v.decision));
            if let Some(e) = answer.ok().and_then(|v| caches.entry(v, false, generation)) {
                caches.put_acl(key, e);
            }
        }
    }
}
