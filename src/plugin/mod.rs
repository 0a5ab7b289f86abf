//! One plugin instance: the validated configuration turned into a running [`Chain`], its
//! logger and the optional metrics endpoint.
//!
//! This is what the FFI layer keeps per instance. It knows nothing about broker types; every
//! check is decided by [`Plugin::chain`]. On Mosquitto 2.1 a CONNECT that would wait on the
//! network is parked ([`Plugin::connect`]) and decided on a worker thread by the same chain;
//! the broker's tick collects the answers ([`Plugin::finished_logins`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::backend::files::FilesBackend;
use crate::backend::http::HttpBackend;
use crate::backend::jwt::JwtBackend;
use crate::backend::Backend;
use crate::chain::{Chain, Login, Outcome, Progress};
use crate::config::{BackendSettings, Config};
use crate::link::Link;
use crate::log::{Logger, Throttle};
use crate::metrics::MetricsServer;
use crate::options::{ConfigError, Options};
use crate::park::{Finished, Parker, Refused};
use crate::request::AuthRequest;
use crate::secret::Secret;
use crate::session::{ClientKey, Session, Sessions};

mod checks;
mod ending;

pub use checks::Undecided;

/// A login handed to a worker: the request, owned, and the link to continue from.
struct ParkedLogin {
    username: String,
    password: Secret,
    client_id: String,
    from: usize,
    /// The client structure and its CONNECT's token in the sessions table.
    client: ClientKey,
    token: u64,
}

/// A parked login's answer, with what is needed to store its session.
struct ParkedAnswer {
    login: Login,
    client: ClientKey,
    token: u64,
}

/// The most sessions kept with plugin API v4, which reports no disconnects (1.6).
pub const V4_MAX_SESSIONS: usize = 1 << 20;

/// What became of a CONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connect {
    /// Decided now.
    Now(Outcome),
    /// Parked: the answer comes from [`Plugin::finished_logins`].
    Parked,
}

/// Parked logins and what is needed to start them.
struct Parking {
    parker: Parker<ParkedLogin, ParkedAnswer>,
    overflow_log: Throttle,
    expired_log: Throttle,
}

/// One plugin instance (one per listener with `per_listener_settings true`).
pub struct Plugin {
    // Dropped first: its workers hold the chain and are joined here.
    parking: Option<Parking>,
    logger: Logger,
    chain: Arc<Chain>,
    connect_workers: usize,
    connect_max_waiting: usize,
    /// Set by a reload until the next tick: Mosquitto 2.1 re-checks every connected client's
    /// login right after a reload and needs those answers at once.
    reloaded: AtomicBool,
    sessions: Sessions,
    disconnect_revoked: bool,
    /// Each link's data generation when sessions were last checked against it.
    checked_generations: Mutex<Vec<u64>>,
    _metrics: Option<MetricsServer>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("backends", &self.backend_names())
            .field("log_level", &self.logger.max_level())
            .finish()
    }
}

impl Plugin {
    /// Validates the options and builds the backends. The error is the line to show the
    /// operator; the broker then refuses to start.
    pub fn new(options: &Options) -> Result<Plugin, ConfigError> {
        let config = Config::parse(options)?;
        let logger = Logger::new(config.log_level);
        for w in &config.warnings {
            logger.warning(format_args!("{w}"));
        }
        let mut links = Vec::with_capacity(config.backends.len());
        for settings in config.backends {
            let backend: Arc<dyn Backend> = match settings {
                BackendSettings::Files(s) => Arc::new(FilesBackend::new(s, logger)?),
                BackendSettings::Http(s) => {
                    Arc::new(HttpBackend::new(*s, config.anon_username.clone(), logger)?)
                }
                BackendSettings::Jwt(s) => Arc::new(JwtBackend::new(*s, logger)?),
            };
            links.push(Link::new(backend, &config.cache, logger));
        }
        let metrics = match config.metrics_listen {
            None => None,
            Some(addr) => Some(start_metrics(addr, &links, logger)?),
        };
        let chain = Chain::new(links, config.superusers, config.backend_superusers, logger)
            .with_rules_no_match_deny(config.rules_no_match_deny);
        chain.start();
        let generations = chain.links().iter().map(|l| l.generation()).collect();
        let plugin = Plugin {
            parking: None,
            logger,
            chain: Arc::new(chain),
            connect_workers: config.connect_workers,
            connect_max_waiting: config.connect_max_waiting,
            reloaded: AtomicBool::new(false),
            sessions: Sessions::default(),
            disconnect_revoked: config.disconnect_revoked,
            checked_generations: Mutex::new(generations),
            _metrics: metrics,
        };
        logger.notice(format_args!(
            "started (version {}), backends: {}",
            env!("CARGO_PKG_VERSION"),
            plugin.backend_names().join(", ")
        ));
        Ok(plugin)
    }

    /// The instance's logger.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// The chain that decides every check.
    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    /// The backends (with their caches and counters), in the order they are asked.
    pub fn backends(&self) -> &[Link] {
        self.chain.links()
    }

    /// Re-reads files (SIGHUP). Failures keep the last good state and are logged.
    pub fn reload(&self) {
        self.reloaded.store(true, Ordering::Release);
        self.chain.reload();
    }

    /// Lets [`Plugin::connect`] park logins that would wait (the broker can complete them
    /// later: Mosquitto 2.1). Does nothing with `connect_workers 0`. An error (no thread could
    /// be started) leaves every login synchronous.
    pub fn enable_parking(&mut self) -> std::io::Result<()> {
        if self.connect_workers == 0 || self.parking.is_some() {
            return Ok(());
        }
        // The backends' own deadlines, plus a margin for the worker to be scheduled.
        let deadline = self.chain.max_login_wait() + Duration::from_secs(1);
        let chain = self.chain.clone();
        let parker = Parker::new(
            self.connect_workers,
            self.connect_max_waiting,
            deadline,
            move |job: ParkedLogin| {
                let req = AuthRequest {
                    username: &job.username,
                    password: &job.password,
                    client_id: &job.client_id,
                };
                ParkedAnswer {
                    login: chain.login_from(&req, job.from),
                    client: job.client,
                    token: job.token,
                }
            },
        )?;
        self.logger.info(format_args!(
            "CONNECTs that wait on the network are answered by {} worker threads (at most {} waiting, {:.1} s each)",
            self.connect_workers,
            self.connect_max_waiting,
            deadline.as_secs_f64()
        ));
        self.parking = Some(Parking {
            parker,
            overflow_log: Throttle::new(Duration::from_secs(10)),
            expired_log: Throttle::new(Duration::from_secs(10)),
        });
        Ok(())
    }

    /// Checks a login (`None`: anonymous) of the client structure `client`: decided now when
    /// no link has to wait, else parked when parking is enabled and `parkable`, else decided
    /// now on this thread. `parkable` is false for logins the broker needs answered at once:
    /// anything but a client's CONNECT (2.1 also checks the credentials of its HTTP API this
    /// way). The re-check of connected clients after a reload is never parked either. The
    /// session of an admitted client is kept for its ACL checks ([`Plugin::acl`]).
    ///
    /// `client_id` is the client id of an anonymous client (`req` carries a user's): an
    /// anonymous client the plugin defers gets a session too, for its ACL checks.
    pub fn connect(
        &self,
        client: ClientKey,
        client_id: &str,
        req: Option<&AuthRequest<'_>>,
        parkable: bool,
    ) -> Connect {
        let Some(token) = self.sessions.begin(client) else {
            self.logger.error(format_args!(
                "auth: {V4_MAX_SESSIONS} sessions are kept already (plugin API v4 reports no disconnects): refusing"
            ));
            return Connect::Now(Outcome::Error);
        };
        let now = |login: Login| {
            let outcome = login.outcome;
            let session = match (req, outcome) {
                (None, Outcome::Defer) => {
                    let s = Session::anonymous(client_id);
                    let compiled = self.chain.compile(&s);
                    Some(s.with_compiled(compiled))
                }
                _ => login.session,
            };
            self.sessions.finish(client, token, session);
            Connect::Now(outcome)
        };
        let parking = match &self.parking {
            Some(p) if parkable && !self.reloaded.load(Ordering::Acquire) => p,
            _ => return now(self.chain.login(req, None)),
        };
        let from = match self.chain.login_now(req) {
            Progress::Done(login) => return now(login),
            Progress::Blocked { from } => from,
        };
        // The broker completes a parked login by client id: without one it cannot be parked.
        let Some(req) = req.filter(|r| !r.client_id.is_empty()) else {
            return now(self.chain.login(req, None));
        };
        let job = ParkedLogin {
            username: req.username.to_string(),
            password: req.password.clone(),
            client_id: req.client_id.to_string(),
            from,
            client,
            token,
        };
        match parking.parker.park(req.client_id, job) {
            Ok(()) => {
                self.logger.debug(format_args!(
                    "auth: user '{}' (client '{}') waits for an answer",
                    req.username, req.client_id
                ));
                Connect::Parked
            }
            Err(Refused::Full) => {
                if let Some(held) = parking.overflow_log.check() {
                    self.logger.warning(format_args!(
                        "auth: {} CONNECTs already wait for an answer (connect_max_waiting): refusing user '{}' (client '{}') and {held} more since the last report",
                        self.connect_max_waiting, req.username, req.client_id
                    ));
                }
                Connect::Now(Outcome::Error)
            }
            Err(Refused::Stopped) => Connect::Now(Outcome::Error),
        }
    }

    /// The parked logins decided since the last call (client id, outcome); a login past its
    /// deadline is refused (logged once per burst). Called on the broker's thread.
    pub fn finished_logins(&self, now: Instant) -> Vec<(String, Outcome)> {
        // A tick comes after the broker's whole reload pass: CONNECTs may be parked again.
        self.reloaded.store(false, Ordering::Release);
        let Some(parking) = &self.parking else {
            return Vec::new();
        };
        let finished = parking.parker.finished(now);
        finished
            .into_iter()
            .map(|(client_id, f)| match f {
                Finished::Answer(a) => {
                    let outcome = a.login.outcome;
                    // The client went away (or its structure serves a newer CONNECT): its
                    // session is not stored, and the answer must not admit anyone.
                    if self.sessions.finish(a.client, a.token, a.login.session) {
                        (client_id, outcome)
                    } else {
                        (client_id, Outcome::Error)
                    }
                }
                Finished::Expired => {
                    if let Some(held) = parking.expired_log.check() {
                        self.logger.error(format_args!(
                            "auth: no answer for client '{client_id}' before its deadline, refusing ({held} more since the last report)"
                        ));
                    }
                    (client_id, Outcome::Error)
                }
            })
            .collect()
    }

    /// The client structure `client` disconnected (or went offline keeping its MQTT session):
    /// its session is dropped.
    pub fn disconnected(&self, client: ClientKey) {
        self.sessions.remove(client);
    }

    /// Limits the sessions kept (plugin API v4, where disconnects are not reported).
    pub fn limit_sessions(&mut self, max: usize) {
        self.sessions = Sessions::with_limit(max);
    }

    /// The number of connected clients with a session.
    pub fn sessions(&self) -> usize {
        self.sessions.len()
    }

    /// How many parked logins wait for an answer.
    pub fn logins_waiting(&self) -> usize {
        self.parking.as_ref().map_or(0, |p| p.parker.waiting())
    }

    fn backend_names(&self) -> Vec<&'static str> {
        self.chain.links().iter().map(|l| l.name()).collect()
    }
}

fn start_metrics(
    addr: std::net::SocketAddr,
    links: &[Link],
    logger: Logger,
) -> Result<MetricsServer, ConfigError> {
    let stats = links
        .iter()
        .map(|l| (l.name(), l.stats().clone()))
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
    Ok(server)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::Outcome;
    use crate::request::{AclRequest, AuthRequest, Decision};
    use crate::secret::Secret;
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
            Config::parse(&options).unwrap(),
            plugin.backends()
        );
        assert!(!all.contains("Z5MQud") && !all.contains("$6$"), "{all}");
        let chain = plugin.chain();
        let login = |user: &str, password: &[u8]| {
            let password = Secret::new(password.to_vec());
            let req = AuthRequest {
                username: user,
                password: &password,
                client_id: "c",
            };
            chain.authenticate(Some(&req), None)
        };
        assert_eq!(login("alice", b"user01-pass"), Outcome::Allow);
        assert_eq!(login("alice", b""), Outcome::Deny);
        assert_eq!(chain.authenticate(None, None), Outcome::Defer);
        assert_eq!(login("bob", b"x"), Outcome::Defer);
        // The files backend answers ACL checks from memory and has no superusers: neither is
        // cached nor asked on the hot path (the broker asks for every delivered message).
        let req = AclRequest::decode(Some(b"alice"), b"c", b"a/b", 1).unwrap();
        for _ in 0..3 {
            assert_eq!(chain.acl(&req, None), Outcome::Allow);
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

#[cfg(test)]
mod compiled_tests;
