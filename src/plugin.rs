//! One plugin instance: the configured backends and the order they are asked in.
//!
//! This is the safe core the FFI layer calls for every broker event. It knows nothing about
//! broker types: it takes the username, password, client id and topic as bytes, and returns an
//! [`Outcome`] that `ffi` maps to a `MOSQ_ERR_*` code.
//!
//! The chain follows auth-plug's and go-auth's documented semantics:
//! - authentication: backends are asked in `auth_opt_backends` order; the first allow or deny
//!   wins, defer ("not my user") moves on; when nobody decides, the plugin defers to the broker,
//!   which refuses a client with a username (and lets an anonymous one in only with
//!   `allow_anonymous true`);
//! - ACL: unsubscribe is always allowed; a superuser (by `auth_opt_superusers` glob or because a
//!   backend says so) passes every check; otherwise backends are asked in order, first allow or
//!   deny wins, and when nobody decides the check is refused;
//! - a backend error stops the chain and refuses (fail closed): the backend that failed might
//!   have said deny, and a deny from an earlier backend wins.

use std::str;

use std::sync::Arc;

use crate::backend::files::FilesBackend;
use crate::backend::http::HttpBackend;
use crate::backend::Backend;
use crate::config::{BackendKind, Config};
use crate::link::Link;
use crate::log::{Logger, Throttle};
use crate::metrics::MetricsServer;
use crate::options::{ConfigError, Options};
use crate::request::{Access, AclRequest, Answer, AuthRequest, BackendError, Decision};
use crate::secret::Secret;
use std::time::Duration;

/// The result of one check, before it becomes a broker return code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// Refused by a backend (or by the ACL chain finding no rule).
    Deny,
    /// Nobody here decided; the broker (or another plugin) decides.
    Defer,
    /// A backend failed: refused, and logged.
    Error,
}

/// How a check was decided, for `mosq-auth check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    /// The result.
    pub outcome: Outcome,
    /// Who decided, in words: a backend and its rule, a superuser glob, or the chain's default.
    pub reason: String,
}

/// One plugin instance (one per listener with `per_listener_settings true`).
pub struct Plugin {
    config: Config,
    logger: Logger,
    backends: Vec<Link>,
    error_log: Throttle,
    _metrics: Option<MetricsServer>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field(
                "backends",
                &self.backends.iter().map(|b| b.name()).collect::<Vec<_>>(),
            )
            .field("log_level", &self.logger.max_level())
            .finish()
    }
}

impl Plugin {
    /// Validates the options and builds the backends. The error is the line to show the
    /// operator; the broker then refuses to start.
    pub fn new(options: &Options) -> Result<Plugin, ConfigError> {
        let mut config = Config::parse(options)?;
        let logger = Logger::new(config.log_level);
        for w in &config.warnings {
            logger.warning(format_args!("{w}"));
        }
        let mut backends: Vec<Link> = Vec::new();
        for kind in config.backends.clone() {
            match kind {
                BackendKind::Files => {
                    let settings = config.files.take().ok_or_else(|| {
                        ConfigError::Other("internal error: files settings missing".into())
                    })?;
                    let b: Arc<dyn Backend> = Arc::new(FilesBackend::new(settings, logger)?);
                    backends.push(Link::new(b, &config.cache, logger));
                }
                BackendKind::Http => {
                    let settings = config.http.take().ok_or_else(|| {
                        ConfigError::Other("internal error: http settings missing".into())
                    })?;
                    let b: Arc<dyn Backend> = Arc::new(HttpBackend::new(
                        settings,
                        config.anon_username.clone(),
                        logger,
                    )?);
                    backends.push(Link::new(b, &config.cache, logger));
                }
            }
        }
        let metrics = match config.metrics_listen {
            None => None,
            Some(addr) => {
                let stats = backends
                    .iter()
                    .map(|b| (b.name(), b.stats().clone()))
                    .collect();
                let server = MetricsServer::start(addr, stats).map_err(|e| {
                    ConfigError::Other(format!(
                        "option auth_opt_metrics_listen: cannot listen on {addr}: {e}"
                    ))
                })?;
                if !addr.ip().is_loopback() {
                    logger.warning(format_args!(
                        "metrics are served on {} (not loopback): anyone who can reach it sees the counters",
                        server.addr()
                    ));
                }
                logger.notice(format_args!("metrics on http://{}/metrics", server.addr()));
                Some(server)
            }
        };
        let plugin = Plugin {
            config,
            logger,
            backends,
            error_log: Throttle::new(Duration::from_secs(10)),
            _metrics: metrics,
        };
        for b in &plugin.backends {
            b.start();
        }
        logger.notice(format_args!(
            "started (version {}), backends: {}",
            env!("CARGO_PKG_VERSION"),
            plugin
                .backends
                .iter()
                .map(|b| b.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        Ok(plugin)
    }

    /// The instance's logger.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// The validated settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The backends (with their caches and counters), in the order they are asked.
    pub fn backends(&self) -> &[Link] {
        &self.backends
    }

    fn backend_error(&self, what: &str, backend: &str, err: &BackendError) {
        if let Some(held) = self.error_log.check() {
            let more = if held > 0 {
                format!(" ({held} more errors since the last report)")
            } else {
                String::new()
            };
            self.logger.error(format_args!(
                "{what}: backend {backend} failed, refusing: {err}{more}"
            ));
        }
    }

    /// Asks the backends in order; the first allow or deny wins, defer moves on, an error stops
    /// the chain. Returns the outcome and the backend that decided (none for `Defer`).
    fn first_decision<'a>(
        &'a self,
        ask: impl Fn(&'a Link) -> Answer,
    ) -> (Outcome, Option<&'a Link>, Option<BackendError>) {
        for backend in &self.backends {
            match ask(backend) {
                Ok(v) => match v.decision {
                    Decision::Allow => return (Outcome::Allow, Some(backend), None),
                    Decision::Deny => return (Outcome::Deny, Some(backend), None),
                    Decision::Defer => continue,
                },
                Err(e) => return (Outcome::Error, Some(backend), Some(e)),
            }
        }
        (Outcome::Defer, None, None)
    }

    /// Checks a CONNECT's username and password.
    ///
    /// `username` is `None` for a client that sent none (anonymous): the plugin defers, so the
    /// broker's `allow_anonymous` decides. `password` is `None` when the client sent none or an
    /// empty one.
    pub fn basic_auth(
        &self,
        username: Option<&[u8]>,
        password: Option<&[u8]>,
        client_id: &[u8],
    ) -> Outcome {
        let Some(username) = username else {
            self.logger.debug(format_args!(
                "auth: anonymous client, deferring to allow_anonymous"
            ));
            return Outcome::Defer;
        };
        let (Ok(username), Ok(client_id)) = (str::from_utf8(username), str::from_utf8(client_id))
        else {
            self.logger.info(format_args!(
                "auth: username or client id is not UTF-8, refusing"
            ));
            return Outcome::Deny;
        };
        let password = Secret::new(password.unwrap_or_default());
        let req = AuthRequest {
            username,
            password: &password,
            client_id,
        };
        let (outcome, backend, error) = self.first_decision(|b| b.authenticate(&req));
        let name = backend.map_or("", |b| b.name());
        match (outcome, error) {
            (Outcome::Error, Some(e)) => {
                self.backend_error(&format!("auth of user '{username}'"), name, &e)
            }
            (Outcome::Defer, _) => self.logger.info(format_args!(
                "auth: user '{username}' (client '{client_id}') is unknown to every backend"
            )),
            (Outcome::Allow, _) => self.logger.info(format_args!(
                "auth: user '{username}' (client '{client_id}') allowed by {name}"
            )),
            _ => self.logger.info(format_args!(
                "auth: user '{username}' (client '{client_id}') refused by {name}"
            )),
        }
        outcome
    }

    /// Returns true if and only if `username` is a superuser, by glob or by a backend.
    pub fn is_superuser(&self, username: &str) -> bool {
        if self.config.is_glob_superuser(username) {
            return true;
        }
        if !self.config.backend_superusers {
            return false;
        }
        for backend in self.backends.iter().filter(|b| b.has_superusers()) {
            match backend.superuser(username) {
                Ok(v) if v.decision == Decision::Allow => return true,
                Ok(_) => {}
                // Not knowing means "not a superuser": the ACL chain still decides.
                Err(e) => self.backend_error(
                    &format!("superuser check of '{username}'"),
                    backend.name(),
                    &e,
                ),
            }
        }
        false
    }

    /// Checks one ACL request. `access` is the broker's code (1 read, 2 write, 4 subscribe,
    /// 8 unsubscribe).
    pub fn acl_check(
        &self,
        username: Option<&[u8]>,
        client_id: &[u8],
        topic: &[u8],
        access: i32,
    ) -> Outcome {
        let Some(access) = Access::from_code(access) else {
            self.logger
                .warning(format_args!("acl: unknown access code {access}, refusing"));
            return Outcome::Deny;
        };
        if access == Access::Unsubscribe {
            return Outcome::Allow;
        }
        let username = match username.map(str::from_utf8) {
            None => None,
            Some(Ok(u)) => Some(u),
            Some(Err(_)) => return Outcome::Deny,
        };
        let (Ok(client_id), Ok(topic)) = (str::from_utf8(client_id), str::from_utf8(topic)) else {
            return Outcome::Deny;
        };
        if let Some(u) = username {
            if self.is_superuser(u) {
                self.logger.debug(format_args!(
                    "acl: superuser '{u}' {access} '{topic}' allowed"
                ));
                return Outcome::Allow;
            }
        }
        let req = AclRequest {
            username,
            client_id,
            topic,
            access,
        };
        let who = username.unwrap_or("(anonymous)");
        let (outcome, backend, error) = self.first_decision(|b| b.acl(&req));
        let name = backend.map_or("", |b| b.name());
        match (outcome, error) {
            (Outcome::Error, Some(e)) => {
                self.backend_error(&format!("acl {access} '{topic}' for '{who}'"), name, &e);
                Outcome::Error
            }
            (Outcome::Allow, _) => {
                self.logger.debug(format_args!(
                    "acl: '{who}' (client '{client_id}') {access} '{topic}' allowed by {name}"
                ));
                Outcome::Allow
            }
            (Outcome::Deny, _) => {
                self.logger.debug(format_args!(
                    "acl: '{who}' (client '{client_id}') {access} '{topic}' denied by {name}"
                ));
                Outcome::Deny
            }
            _ => {
                self.logger.debug(format_args!(
                    "acl: '{who}' (client '{client_id}') {access} '{topic}' denied: no rule allows it"
                ));
                Outcome::Deny
            }
        }
    }

    /// Evaluates a password check like [`Plugin::basic_auth`] and says which backend decided.
    pub fn explain_auth(&self, username: &str, password: &[u8], client_id: &str) -> Explanation {
        let password = Secret::new(password);
        let req = AuthRequest {
            username,
            password: &password,
            client_id,
        };
        let (outcome, backend, error) = self.first_decision(|b| b.inner().authenticate(&req));
        let name = backend.map_or("", |b| b.name());
        let reason = match (outcome, error) {
            (_, Some(e)) => format!("backend {name} failed: {e}"),
            (Outcome::Allow, _) => format!("allowed by backend {name}"),
            (Outcome::Deny, _) => format!("refused by backend {name}"),
            _ => "no backend knows this user: the broker refuses the client".into(),
        };
        Explanation { outcome, reason }
    }

    /// Evaluates an ACL check like [`Plugin::acl_check`] (without the cache) and says which
    /// backend and rule decided.
    pub fn explain_acl(
        &self,
        username: Option<&str>,
        client_id: &str,
        topic: &str,
        access: Access,
    ) -> Explanation {
        if access == Access::Unsubscribe {
            return Explanation {
                outcome: Outcome::Allow,
                reason: "unsubscribe is always allowed".into(),
            };
        }
        if let Some(u) = username {
            if let Some(p) = self.config.superusers.iter().find(|p| p.matches(u)) {
                return Explanation {
                    outcome: Outcome::Allow,
                    reason: format!(
                        "'{u}' is a superuser (auth_opt_superusers pattern '{}')",
                        p.as_str()
                    ),
                };
            }
            if self.config.backend_superusers {
                for backend in self.backends.iter().filter(|b| b.has_superusers()) {
                    if let Ok(v) = backend.inner().superuser(u) {
                        if v.decision == Decision::Allow {
                            return Explanation {
                                outcome: Outcome::Allow,
                                reason: format!(
                                    "'{u}' is a superuser according to backend {}",
                                    backend.name()
                                ),
                            };
                        }
                    }
                }
            }
        }
        let req = AclRequest {
            username,
            client_id,
            topic,
            access,
        };
        let (outcome, backend, error) = self.first_decision(|b| b.inner().acl(&req));
        let name = backend.map_or("", |b| b.name());
        let rule = || {
            backend
                .and_then(|b| b.explain_acl(&req))
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        };
        let (outcome, reason) = match (outcome, error) {
            (_, Some(e)) => (Outcome::Error, format!("backend {name} failed: {e}")),
            (Outcome::Allow, _) => (
                Outcome::Allow,
                format!("allowed by backend {name}{}", rule()),
            ),
            (Outcome::Deny, _) => (Outcome::Deny, format!("denied by backend {name}{}", rule())),
            _ => (Outcome::Deny, "no backend has a rule for it: denied".into()),
        };
        Explanation { outcome, reason }
    }

    /// Re-reads files (SIGHUP). Failures keep the last good state and are logged.
    pub fn reload(&self) {
        for backend in &self.backends {
            match backend.reload() {
                Ok(()) => self.logger.notice(format_args!(
                    "reload: backend {} reloaded, cache cleared; so far: {}",
                    backend.name(),
                    backend.stats().summary()
                )),
                Err(e) => self.logger.error(format_args!(
                    "reload: backend {} kept its last good state: {e}",
                    backend.name()
                )),
            }
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        for b in &self.backends {
            b.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Check;

    #[test]
    fn debug_output_holds_no_hash_or_secret() {
        let dir =
            std::env::temp_dir().join(format!("mosq-auth-plugin-debug-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pw = dir.join("passwd");
        let hash = "$6$Z5MQud/y0Ume9EPH$A8bplGBWKeYFpbDS91/NNGbX80aCaKAEDr7wOhdswPYvOsaiGh446+6IF5fag7EjV8GzirudJsQOV3ubA4sh1Q==";
        std::fs::write(&pw, format!("alice:{hash}\n")).unwrap();
        let options = Options::new([
            ("backends", "files"),
            ("password_file", pw.to_str().unwrap()),
            ("reload_interval", "0"),
            ("log_level", "error"),
        ]);
        let plugin = Plugin::new(&options).unwrap();
        let all = format!(
            "{plugin:?} {:?} {options:?} {:?}",
            plugin.config(),
            plugin.backends()
        );
        assert!(!all.contains("Z5MQud") && !all.contains("$6$"), "{all}");
        assert_eq!(
            plugin.basic_auth(Some(b"alice"), Some(b"user01-pass"), b"c"),
            Outcome::Allow
        );
        assert_eq!(plugin.basic_auth(Some(b"alice"), None, b"c"), Outcome::Deny);
        assert_eq!(plugin.basic_auth(None, None, b"c"), Outcome::Defer);
        assert_eq!(
            plugin.basic_auth(Some(b"bob"), Some(b"x"), b"c"),
            Outcome::Defer
        );
        // The files backend answers ACL checks from memory and has no superusers: neither is
        // cached nor asked on the hot path (the broker asks for every delivered message).
        for _ in 0..3 {
            plugin.acl_check(Some(b"alice"), b"c", b"a/b", 1);
        }
        let stats = plugin.backends()[0].stats();
        assert_eq!(stats.hits(Check::Acl) + stats.misses(Check::Acl), 0);
        assert_eq!(stats.count(Check::Superuser, Some(Decision::Defer)), 0);
        assert_eq!(
            stats.count(Check::Acl, Some(Decision::Allow)),
            3,
            "no acl_file: allowed"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
