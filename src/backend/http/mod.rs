/*!
The HTTP backend: asks a web service whether a user may connect, is a superuser, or may use
a topic. It speaks both contracts in use, auth-plug's and mosquitto-go-auth's, so a service
written for either works unchanged.

# Which defaults apply

The defaults follow the option names the operator wrote for the service's address:

- `http_hostname` or `http_ip` (auth-plug's names): auth-plug's behaviour. Form bodies with
  the five fields `username, password, topic, acc, clientid`, and preemptive
  `Authorization: Basic base64(username:password)` with the MQTT credentials (password empty
  for superuser and ACL requests), or `Authorization: Basic <http_basic_auth_key>` when that
  is set. No `User-Agent`.
- `http_host` (go-auth's name) or `http_url` (ours): go-auth's behaviour. JSON bodies with
  go-auth's fields, `User-Agent: mosquitto-mosq-auth/<version>`, no `Authorization` header
  unless `http_basic_auth_key` is set.

An explicit `http_params_mode` or `http_user_agent` wins over these defaults. Everything else
has one default for both: `POST`, `http_response_mode status`, a 5 s deadline per check,
no retries, TLS certificates verified.

# Decisions

- 2xx allows, 4xx denies (auth-plug treated a 403 as "defer to the next backend", which ends
  in a deny as well), 5xx, timeouts, connection errors and unreadable answers are errors: the
  plugin fails closed and never caches them. See [`response`] for the text and JSON modes.
- An empty password is refused without a request, as auth-plug did, and unsubscribing needs
  none either: both are rules of the chain ([`crate::chain`]), which never asks a backend
  about them (neither auth-plug nor go-auth services know about unsubscribing).
- JSON cannot carry a password that is not UTF-8: such a login is refused without a request
  (with a debug line). Form encoding carries any bytes.
- An ACL check of an anonymous client sends the `anonusername` (default `anonymous`).
- Without `http_superuser_uri`, nobody is a superuser here and no request is made.

# Under load and failure

One `reqwest` client is built per backend and keeps connections alive, so a check on a warm
connection is one round trip. Idle connections are closed after 4 s, before the 5 s keep-alive
timeout of Node.js servers (such as an Express service), so a check never races the server
closing its end. Redirects are not followed and the `HTTP_PROXY`-style environment
variables are ignored: the service is asked directly. Every check has a hard deadline (`http_timeout`), retries
included. After `http_failure_threshold` checks in a row that could not reach the service
(connection errors, timeouts) a circuit breaker fails checks at once for `http_cooldown` (see
[`breaker`]). A 5xx or an unreadable answer is an error for that question only: the service is
up, and one client whose name makes it fail must not lock everyone out; the breaker opening and closing is logged at
warning and notice level. Errors are logged once per burst, not once per message: the backend
returns the error with its cause and the plugin's chain logs it through `log::Throttle`; the
backend itself adds only a debug line per failure. No line ever contains a password, the Basic
auth key, the `Authorization` header or an extra header's value.
*/

use std::time::{Duration, Instant};

use crate::backend::{Backend, Granted, LoginAnswer};
use crate::log::Logger;
use crate::options::ConfigError;
use crate::request::{AclRequest, Answer, AuthRequest, BackendError, Verdict};

pub mod breaker;
mod client;
mod endpoint;
pub mod options;
pub mod response;
pub mod settings;
mod tls;
pub mod wire;

pub use options::{spec, OPTIONS};
pub use settings::{HttpSettings, Method, ParamsMode, Profile, ResponseMode, DEFAULT_USER_AGENT};

use breaker::{Breaker, Change};
use client::TryError;
use wire::Call;

/// A try is not started with less time than this left before the deadline.
const MIN_TRY: Duration = Duration::from_millis(5);

/// The HTTP backend (`auth_opt_backends http`).
pub struct HttpBackend {
    settings: HttpSettings,
    client: reqwest::blocking::Client,
    anon_username: String,
    logger: Logger,
    breaker: Breaker,
}

impl std::fmt::Debug for HttpBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpBackend")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HttpBackend {
    /// Builds the client (TLS roots, client certificate, timeouts) once. The service is not
    /// contacted: it being down at start-up only shows in the first checks.
    pub fn new(
        settings: HttpSettings,
        anon_username: String,
        logger: Logger,
    ) -> Result<HttpBackend, ConfigError> {
        let client = client::build(&settings)?;

        if !settings.verify_peer {
            logger.warning(format_args!(
                "http: auth_opt_http_verify_peer is false: the auth service's TLS certificate is NOT checked, anyone on the network path can answer in its place"
            ));
        }
        logger.notice(format_args!(
            "http: {} {} (superuser: {}, acl: {}), {} bodies, response mode {}, deadline {} s, {} retries",
            settings.method.as_str(),
            settings.getuser_url,
            settings
                .superuser_url
                .as_ref()
                .map_or("none".to_string(), |u| u.path().to_string()),
            settings.aclcheck_url.path(),
            match settings.params_mode {
                ParamsMode::Form => "form",
                ParamsMode::Json => "JSON",
            },
            match settings.response_mode {
                ResponseMode::Status => "status",
                ResponseMode::Text => "text",
                ResponseMode::Json => "json",
            },
            settings.timeout.as_secs_f64(),
            settings.retry_count,
        ));

        Ok(HttpBackend {
            breaker: Breaker::new(settings.failure_threshold, settings.cooldown),
            settings,
            client,
            anon_username,
            logger,
        })
    }

    /// The settings this backend was built with.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Asks the service one question, with the breaker, retries and deadline.
    fn ask(&self, url: &reqwest::Url, call: Call<'_>) -> Answer {
        self.ask_for(url, call).map(|g| g.verdict)
    }

    /// [`HttpBackend::ask`], with the session part of a login answer.
    fn ask_for(&self, url: &reqwest::Url, call: Call<'_>) -> LoginAnswer {
        let session = matches!(call, Call::GetUser { .. });
        let started = Instant::now();
        let (request, body) = client::prepare(&self.settings, url, &call)?;
        let permit = match self.breaker.acquire() {
            Ok(p) => p,
            Err(()) => {
                self.logger.debug(format_args!(
                    "http {} user={}: service considered down, failing fast",
                    call.kind(),
                    call.username()
                ));
                return Err(BackendError::new(format!(
                    "http {}: the auth service is considered down after repeated failures (retrying in at most {} s)",
                    call.kind(),
                    self.settings.cooldown.as_secs_f64()
                )));
            }
        };

        let deadline = started + self.settings.timeout;
        let mut tries = 0;
        let outcome = loop {
            tries += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let result = if remaining < MIN_TRY {
                Err(TryError::Unreachable(format!(
                    "no answer within {} s",
                    self.settings.timeout.as_secs_f64()
                )))
            } else {
                client::try_once(
                    &self.client,
                    self.settings.response_mode,
                    &request,
                    body.as_deref(),
                    remaining,
                    session,
                )
            };
            match result {
                Err(TryError::Unreachable(msg) | TryError::ServerError(msg))
                    if tries <= self.settings.retry_count =>
                {
                    self.logger.debug(format_args!(
                        "http {} user={}: try {tries} failed ({msg}), retrying",
                        call.kind(),
                        call.username()
                    ));
                    continue;
                }
                other => break other,
            }
        };

        let elapsed = started.elapsed();
        match outcome {
            Ok(client::Reply {
                decision,
                cache,
                status,
                detail,
                grant,
            }) => {
                self.answered(permit);
                self.logger.debug(format_args!(
                    "http {} user={}{} -> {status} {} ({:.1} ms){}",
                    call.kind(),
                    call.username(),
                    call.log_fields(),
                    decision.as_str(),
                    elapsed.as_secs_f64() * 1000.0,
                    detail
                        .map(|d| format!(", service says: {d}"))
                        .unwrap_or_default(),
                ));
                if let Some(g) = &grant {
                    self.logger.debug(format_args!(
                        "http getuser user={}: the answer carries a session ({} rules, superuser {}, expiry {})",
                        call.username(),
                        g.rules.as_ref().map_or("no".to_string(), |r| r.len().to_string()),
                        g.superuser.map_or("not said", |s| if s { "yes" } else { "no" }),
                        g.expires
                            .and_then(|e| e.duration_since(std::time::UNIX_EPOCH).ok())
                            .map_or("none".to_string(), |d| d.as_secs().to_string()),
                    ));
                }
                Ok(Granted {
                    verdict: Verdict { decision, cache },
                    grant: grant.map(std::sync::Arc::new),
                })
            }
            Err(error) => {
                let msg = match error {
                    // The service answered: this question failed, the service is up. Counting
                    // it would let one client whose name the service chokes on lock everyone
                    // out.
                    TryError::ServerError(msg) | TryError::Fatal(msg) => {
                        self.answered(permit);
                        msg
                    }
                    TryError::Unreachable(msg) => {
                        match self.breaker.failure(permit) {
                            Some(Change::Opened(n)) => self.logger.warning(format_args!(
                                "http: {n} checks in a row failed, considering the auth service down: checks fail at once for {} s, then one is let through",
                                self.settings.cooldown.as_secs_f64()
                            )),
                            Some(Change::Reopened) => self.logger.debug(format_args!(
                                "http: probe failed, the auth service is still considered down"
                            )),
                            _ => {}
                        }
                        msg
                    }
                };
                let msg = format!("http {} {}: {msg}", call.kind(), url);
                self.logger.debug(format_args!(
                    "{msg} (user={}{}, {:.1} ms)",
                    call.username(),
                    call.log_fields(),
                    elapsed.as_secs_f64() * 1000.0
                ));
                Err(BackendError::new(msg))
            }
        }
    }

    /// The service answered (whatever it said): the breaker closes if it was open.
    fn answered(&self, permit: breaker::Permit) {
        if let Some(Change::Closed) = self.breaker.success(permit) {
            self.logger.notice(format_args!(
                "http: the auth service answers again, checks resume"
            ));
        }
    }
}

impl Backend for HttpBackend {
    fn name(&self) -> &'static str {
        "http"
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Answer {
        self.login(req).map(|g| g.verdict)
    }

    /// A JSON answer may carry the client's session (`is_superuser`, `acl`, `expire_at`).
    fn login(&self, req: &AuthRequest<'_>) -> LoginAnswer {
        let password = req.password.expose();
        if self.settings.params_mode == ParamsMode::Json
            && self.settings.method != Method::Get
            && std::str::from_utf8(password).is_err()
        {
            self.logger.debug(format_args!(
                "http getuser user={} client={}: password is not UTF-8 and cannot be sent as JSON: refused without a request",
                req.username, req.client_id
            ));
            return Ok(Verdict::DENY.into());
        }
        self.ask_for(
            &self.settings.getuser_url,
            Call::GetUser {
                username: req.username,
                password,
                client_id: req.client_id,
            },
        )
    }

    fn superuser(&self, username: &str) -> Answer {
        match &self.settings.superuser_url {
            None => Ok(Verdict::DEFER),
            Some(url) => self.ask(url, Call::Superuser { username }),
        }
    }

    fn has_superusers(&self) -> bool {
        self.settings.superuser_url.is_some()
    }

    /// Every login is a request (the cache in front answers repeated ones).
    fn auth_may_block(&self, _req: &AuthRequest<'_>) -> bool {
        true
    }

    fn max_wait(&self) -> std::time::Duration {
        self.settings.timeout
    }

    fn acl(&self, req: &AclRequest<'_>) -> Answer {
        let username = req.username.unwrap_or(&self.anon_username);
        self.ask(
            &self.settings.aclcheck_url,
            Call::Acl {
                username,
                client_id: req.client_id,
                topic: req.topic,
                acc: req.access.code(),
            },
        )
    }
}
