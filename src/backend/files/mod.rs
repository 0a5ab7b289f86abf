//! The files backend: mosquitto's password file and ACL file formats.
//!
//! Both files are parsed completely into an immutable [`Snapshot`] that is swapped in
//! atomically, so a check never sees half a file, and a file that fails to load on reload
//! leaves the last good snapshot in force.
//!
//! Decisions:
//! - authentication: a user absent from the password file is not ours (defer); a user whose
//!   line is malformed is locked out (deny) and reported as `file:line`; an empty password is
//!   refused; otherwise the hash decides.
//! - ACL: with an ACL file, its rules decide (see [`crate::acl::file`]). Without one, like
//!   mosquitto without `acl_file`, every topic is allowed, but only to this backend's own users
//!   and to anonymous clients; other users are deferred to the next backend.
//! - superusers: the files have none (use `auth_opt_superusers`).
//!
//! This file holds the backend and its answers; `settings.rs` its options, `password.rs` the
//! password file, `watch.rs` the reloading (change detection, the watcher thread).

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::acl::file::{AclFile, ClientAcl};
use crate::backend::{Backend, Generation, Granted, LoginAnswer};
use crate::log::Logger;
use crate::options::ConfigError;
use crate::request::{AclRequest, Answer, AuthRequest, Decision, Verdict};
use crate::session::Grant;

mod password;
mod settings;
mod watch;

pub use password::PasswordFile;
pub use settings::{spec, FilesSettings, OPTIONS};

use watch::{Seen, Watcher};

/// Everything the files backend has loaded, swapped as a whole.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The password file, if configured.
    pub passwords: Option<PasswordFile>,
    /// The ACL file, if configured.
    pub acl: Option<AclFile>,
}

struct Inner {
    settings: FilesSettings,
    state: ArcSwap<Snapshot>,
    generation: Generation,
    logger: Logger,
    /// What the watcher knows about the files on disk.
    seen: Mutex<Seen>,
}

/// The files backend.
pub struct FilesBackend {
    inner: Arc<Inner>,
    watcher: Mutex<Option<Watcher>>,
}

impl std::fmt::Debug for FilesBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesBackend")
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl FilesBackend {
    /// Loads the files. A missing or unreadable file, or an ACL file with errors, is fatal at
    /// start-up; malformed password lines are logged and lock out their user.
    pub fn new(settings: FilesSettings, logger: Logger) -> Result<FilesBackend, ConfigError> {
        let inner = Inner {
            settings,
            state: ArcSwap::from_pointee(Snapshot::default()),
            generation: Generation::default(),
            logger,
            seen: Mutex::new(Seen::default()),
        };
        // A file being written at start-up: wait a moment for it to settle.
        let mut loaded = inner.reload();
        for _ in 0..20 {
            match &loaded {
                Err(e) if e.starts_with(watch::CHANGED_WHILE_READ) => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    loaded = inner.reload();
                }
                _ => break,
            }
        }
        loaded.map_err(ConfigError::Other)?;
        if inner.state.load().acl.is_none() {
            logger.notice(format_args!(
                "files: no acl_file: users of the password file and anonymous clients may use every topic"
            ));
        }
        Ok(FilesBackend {
            inner: Arc::new(inner),
            watcher: Mutex::new(None),
        })
    }

    /// The snapshot in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.state.load_full()
    }

    /// Checks the files for changes now (what the watcher thread does every interval).
    pub fn poll(&self) {
        self.inner.poll()
    }
}

impl Backend for FilesBackend {
    fn name(&self) -> &'static str {
        "files"
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Answer {
        let state = self.inner.state.load();
        Ok(match &state.passwords {
            None => Verdict::DEFER,
            Some(p) => p.check(req.username, req.password.expose()).into(),
        })
    }

    /// An allowed login carries the fingerprint of the user's hash: a reload that removes the
    /// user or changes the hash ends the session.
    fn login(&self, req: &AuthRequest<'_>) -> LoginAnswer {
        let verdict = self.authenticate(req)?;
        let grant = (verdict.decision == Decision::Allow)
            .then(|| self.fingerprint(req.username))
            .flatten()
            .map(|f| {
                Arc::new(Grant {
                    fingerprint: Some(f),
                    ..Grant::default()
                })
            });
        Ok(Granted { verdict, grant })
    }

    fn fingerprint(&self, username: &str) -> Option<u64> {
        let state = self.inner.state.load();
        state.passwords.as_ref()?.fingerprint(username)
    }

    /// Only a slow hash waits: a slow user's hash, or the decoy an unknown or locked user is
    /// checked against (see `PasswordFile::is_slow`); fast hashes answer at once.
    fn auth_may_block(&self, req: &AuthRequest<'_>) -> bool {
        let state = self.inner.state.load();
        state
            .passwords
            .as_ref()
            .is_some_and(|p| p.is_slow(req.username))
    }

    fn superuser(&self, _username: &str) -> Answer {
        Ok(Verdict::DEFER)
    }

    fn has_superusers(&self) -> bool {
        false
    }

    fn answers_from_memory(&self) -> bool {
        true
    }

    fn acl(&self, req: &AclRequest<'_>) -> Answer {
        let state = self.inner.state.load();
        Ok(match &state.acl {
            Some(acl) => acl
                .check(req.username, req.client_id, req.topic, req.access)
                .into(),
            None => Verdict::new(no_acl_file(&state, req.username)),
        })
    }

    /// The client's rules compiled from the ACL file in force (without one: the fixed answer
    /// of [`Backend::acl`]).
    fn client_acl(&self, username: Option<&str>, client_id: &str) -> Option<ClientAcl> {
        let state = self.inner.state.load();
        Some(match &state.acl {
            Some(acl) => acl.for_client(username, client_id),
            None => ClientAcl::fixed(no_acl_file(&state, username)),
        })
    }

    fn reload(&self) -> Result<(), String> {
        self.inner.reload()
    }

    fn generation_counter(&self) -> Option<&Generation> {
        Some(&self.inner.generation)
    }

    fn explain_acl(&self, req: &AclRequest<'_>) -> Option<String> {
        let state = self.inner.state.load();
        let Some(acl) = &state.acl else {
            return Some("no acl_file: every topic is allowed to the password file's users".into());
        };
        let (decision, rule) = acl.explain(req.username, req.client_id, req.topic, req.access);
        if rule.is_none() && decision == Decision::Deny {
            return Some(
                "a username or client id with + or # gets nothing from patterns (as in mosquitto), and no user rule allows it"
                    .into(),
            );
        }
        let path = self
            .inner
            .settings
            .acl_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        rule.map(|r| format!("{path}:{}: {}", r.line, r.text))
    }

    fn start(&self) {
        let Some(interval) = self.inner.settings.reload_interval else {
            return;
        };
        match Watcher::spawn(self.inner.clone(), interval) {
            Ok(watcher) => *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some(watcher),
            Err(e) => self.inner.logger.warning(format_args!(
                "files: cannot start the file watcher ({e}); files are re-read on SIGHUP only"
            )),
        }
    }

    fn stop(&self) {
        if let Some(watcher) = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            watcher.stop();
        }
    }
}

/// Without an ACL file, like mosquitto without `acl_file`: every topic is allowed to the
/// password file's users and to anonymous clients; other users are deferred.
fn no_acl_file(state: &Snapshot, username: Option<&str>) -> Decision {
    let ours = match (username, &state.passwords) {
        (None, _) => true,
        (Some(u), Some(p)) => p.contains(u),
        (Some(_), None) => false,
    };
    if ours {
        Decision::Allow
    } else {
        Decision::Defer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    use crate::hash::SaltEncoding;

    #[test]
    fn missing_password_file_is_fatal_and_names_the_path() {
        let settings = FilesSettings {
            password_file: Some(PathBuf::from("/nonexistent/mosq-auth/pw")),
            acl_file: None,
            salt_encoding: SaltEncoding::Auto,
            reload_interval: None,
        };
        let err = FilesBackend::new(settings, Logger::default()).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/mosq-auth/pw"),
            "{err}"
        );
    }
}
