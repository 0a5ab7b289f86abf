//! Reloading: loading both files into a new [`Snapshot`] and swapping it in, noticing when a
//! file changed, and the thread that checks every `reload_interval`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::{FilesSettings, Inner, PasswordFile, Snapshot};
use crate::acl::file::AclFile;
use crate::log::Logger;

/// What identifies the version of a file on disk: following symlinks (a Kubernetes ConfigMap
/// update swaps the `..data` link, so the target's device and inode change), plus the
/// modification time and size for editors that rewrite in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FileVersion {
    target: Option<PathBuf>,
    dev: u64,
    ino: u64,
    mtime_ns: i128,
    len: u64,
}

fn version(path: &Path) -> Option<FileVersion> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).ok()?;
    Some(FileVersion {
        target: fs::canonicalize(path).ok(),
        dev: m.dev(),
        ino: m.ino(),
        mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        len: m.len(),
    })
}

/// The start of the error of a read during which a file changed.
pub(super) const CHANGED_WHILE_READ: &str = "a file changed while it was read";

/// What the watcher knows about the files on disk.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Versions at the last load attempt, good or failed: a file that failed is read again only
    /// once it changes.
    loaded: Vec<Option<FileVersion>>,
    /// Versions seen by the last poll that differed from `loaded`: a change is loaded only once
    /// a second poll sees the same versions, so a file still being written (line by line, or
    /// through `>`) is never loaded half-way.
    settling: Option<Vec<Option<FileVersion>>>,
}

impl Inner {
    fn paths(&self) -> Vec<&Path> {
        [&self.settings.password_file, &self.settings.acl_file]
            .into_iter()
            .flatten()
            .map(|p| p.as_path())
            .collect()
    }

    fn versions(&self) -> Vec<Option<FileVersion>> {
        self.paths().into_iter().map(version).collect()
    }

    /// Loads both files and swaps them in; on failure the old snapshot stays. A file that
    /// changed while it was read is not used: it is being written, and the watcher loads it
    /// once it is stable.
    pub(super) fn reload(&self) -> Result<(), String> {
        let before = self.versions();
        let result = load(&self.settings, &self.logger);
        let after = self.versions();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.settling = None;
        if before != after {
            // Not recorded as loaded: the next polls pick the file up once it settles.
            return Err(format!(
                "{CHANGED_WHILE_READ} (still being written?); it is loaded once it stays unchanged"
            ));
        }
        seen.loaded = after;
        drop(seen);
        let snapshot = result?;
        let summary = snapshot.summary();
        self.state.store(Arc::new(snapshot));
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.logger.notice(format_args!("files: loaded {summary}"));
        Ok(())
    }

    /// Reloads if a file changed since it was last read and has stayed the same since the
    /// previous poll.
    pub(super) fn poll(&self) {
        let now = self.versions();
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if seen.loaded == now {
                seen.settling = None;
                return;
            }
            if seen.settling.as_ref() != Some(&now) {
                seen.settling = Some(now);
                return;
            }
        }
        if let Err(e) = self.reload() {
            self.logger.error(format_args!(
                "files: changed files not loaded, the last good ones stay in force: {e}"
            ));
        }
    }
}

impl Snapshot {
    fn summary(&self) -> String {
        let users = self
            .passwords
            .as_ref()
            .map_or("no password file".to_string(), |p| {
                format!("{} users", p.len())
            });
        let acl = self.acl.as_ref().map_or("no ACL file".to_string(), |a| {
            format!("{} ACL rules", a.rule_count())
        });
        format!("{users}, {acl}")
    }
}

/// Loads both files; the error is the message for the operator.
fn load(settings: &FilesSettings, logger: &Logger) -> Result<Snapshot, String> {
    let passwords = match &settings.password_file {
        None => None,
        Some(path) => {
            let (file, warnings) = PasswordFile::load(path, settings.salt_encoding)
                .map_err(|e| format!("files: cannot read the password file {e}"))?;
            for w in warnings {
                logger.warning(format_args!("files: {w}"));
            }
            Some(file)
        }
    };
    let acl = match &settings.acl_file {
        None => None,
        Some(path) => {
            Some(AclFile::load(path).map_err(|e| format!("files: ACL file not loaded:\n{e}"))?)
        }
    };
    Ok(Snapshot { passwords, acl })
}

/// The watcher thread: calls [`Inner::poll`] every interval until stopped.
pub(super) struct Watcher {
    /// Dropping it wakes the thread, which then returns.
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Watcher {
    pub(super) fn spawn(inner: Arc<Inner>, interval: Duration) -> std::io::Result<Watcher> {
        let (tx, rx) = channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mosq-auth-files-watch".into())
            .spawn(move || loop {
                match rx.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => {
                        let _ = crate::log::catch_panic("the file watcher", || inner.poll());
                    }
                    _ => return,
                }
            })?;
        Ok(Watcher { stop: tx, thread })
    }

    /// Stops the thread and waits for it (at most one poll in progress).
    pub(super) fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}
