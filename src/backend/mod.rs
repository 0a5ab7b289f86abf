//! What a backend is asked and what it answers.
//!
//! A backend answers each question with a [`Verdict`]: allow, deny, or "not mine" (defer), or
//! fails with a [`BackendError`]. The [`crate::plugin`] chain asks the configured backends in
//! order: the first allow or deny wins, defer moves on, and when nobody decides the answer is
//! deny. An error never allows anything (fail closed) and is never cached.

use std::fmt;
use std::time::Duration;

use crate::secret::Secret;

pub mod files;
pub mod http;

/// A backend's answer to one question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Granted (for a superuser question: this user is a superuser).
    Allow,
    /// Refused; no later backend is asked.
    Deny,
    /// Not this backend's user or topic; the next backend is asked.
    Defer,
}

/// How long a backend says its answer may be cached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CacheHint {
    /// Use the configured time for this kind of answer.
    #[default]
    Default,
    /// Cache for exactly this long (an HTTP `Cache-Control: max-age`).
    MaxAge(Duration),
    /// Do not cache this answer (`Cache-Control: no-store` / `no-cache`).
    NoStore,
}

/// A decision plus the backend's wish about caching it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// How long it may be cached.
    pub cache: CacheHint,
}

impl Verdict {
    /// A verdict that follows the configured cache times.
    pub fn new(decision: Decision) -> Verdict {
        Verdict {
            decision,
            cache: CacheHint::Default,
        }
    }

    /// Allow, cached for the configured time.
    pub const ALLOW: Verdict = Verdict {
        decision: Decision::Allow,
        cache: CacheHint::Default,
    };
    /// Deny, cached for the configured time.
    pub const DENY: Verdict = Verdict {
        decision: Decision::Deny,
        cache: CacheHint::Default,
    };
    /// Defer, cached for the configured time.
    pub const DEFER: Verdict = Verdict {
        decision: Decision::Defer,
        cache: CacheHint::Default,
    };
}

impl From<Decision> for Verdict {
    fn from(decision: Decision) -> Verdict {
        Verdict::new(decision)
    }
}

/// A backend could not answer (service down, timeout, bad response). Never cached; the chain
/// treats it as a refusal unless a later backend allows.
///
/// The message must not contain a password, hash or secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BackendError(pub String);

impl BackendError {
    /// An error with the given message.
    pub fn new(msg: impl Into<String>) -> BackendError {
        BackendError(msg.into())
    }
}

/// What one check may return.
pub type Answer = Result<Verdict, BackendError>;

/// The kind of access an ACL check is about, as the broker passes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Access {
    /// A message is about to be delivered to a subscriber (`MOSQ_ACL_READ`, 1).
    Read,
    /// A client publishes (`MOSQ_ACL_WRITE`, 2).
    Write,
    /// A client subscribes; the topic is the subscription filter (`MOSQ_ACL_SUBSCRIBE`, 4).
    Subscribe,
    /// A client unsubscribes (`MOSQ_ACL_UNSUBSCRIBE`, 8; plugin API v5 only). Always allowed.
    Unsubscribe,
}

impl Access {
    /// The broker's number for this access (`acc` in auth-plug's and go-auth's HTTP requests).
    pub fn code(self) -> i32 {
        match self {
            Access::Read => 1,
            Access::Write => 2,
            Access::Subscribe => 4,
            Access::Unsubscribe => 8,
        }
    }

    /// The access for the broker's number, if it is one of the four.
    pub fn from_code(code: i32) -> Option<Access> {
        match code {
            1 => Some(Access::Read),
            2 => Some(Access::Write),
            4 => Some(Access::Subscribe),
            8 => Some(Access::Unsubscribe),
            _ => None,
        }
    }

    /// The lowercase name (`read`, `write`, `subscribe`, `unsubscribe`).
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
            Access::Subscribe => "subscribe",
            Access::Unsubscribe => "unsubscribe",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A password check at CONNECT.
#[derive(Clone, Debug)]
pub struct AuthRequest<'a> {
    /// The MQTT username.
    pub username: &'a str,
    /// The MQTT password (empty when the client sent none).
    pub password: &'a Secret,
    /// The client id.
    pub client_id: &'a str,
}

/// An ACL check.
#[derive(Clone, Copy, Debug)]
pub struct AclRequest<'a> {
    /// The username; `None` for an anonymous client.
    pub username: Option<&'a str>,
    /// The client id.
    pub client_id: &'a str,
    /// The topic (for `Subscribe`/`Unsubscribe`, the subscription filter).
    pub topic: &'a str,
    /// What the client wants to do.
    pub access: Access,
}

/// One source of users and permissions.
///
/// Implementations are shared with background threads (reload, cache refresh), hence
/// `Send + Sync`. They must never log a password or hash.
pub trait Backend: Send + Sync {
    /// The name used in `auth_opt_backends` and in log lines (`files`, `http`).
    fn name(&self) -> &'static str;

    /// Checks a username and password. `Defer` when the user is unknown to this backend.
    fn authenticate(&self, req: &AuthRequest<'_>) -> Answer;

    /// `Allow` when `username` is a superuser; `Deny` or `Defer` when not.
    fn superuser(&self, username: &str) -> Answer;

    /// Checks one ACL request.
    fn acl(&self, req: &AclRequest<'_>) -> Answer;

    /// Re-reads whatever the backend loads from disk (on SIGHUP). A failure keeps the last
    /// good state and is reported in the returned error.
    fn reload(&self) -> Result<(), String> {
        Ok(())
    }

    /// Returns true if and only if this backend can ever say a user is a superuser. When false,
    /// the chain does not ask it (the broker asks for every delivered message).
    fn has_superusers(&self) -> bool {
        true
    }

    /// Returns true if and only if the backend answers from memory, as fast as a cache lookup:
    /// its ACL and superuser answers are then not cached (password checks still are, since
    /// hashes are slow on purpose).
    fn answers_from_memory(&self) -> bool {
        false
    }

    /// Which of the backend's own rules decides `req`, for `mosq-auth check` (e.g. the ACL
    /// file's line). `None` when the backend has no such notion.
    fn explain_acl(&self, _req: &AclRequest<'_>) -> Option<String> {
        None
    }

    /// A number that changes whenever the backend's data changes (a file reload), so cached
    /// answers from before can be told apart. Backends whose answers only change remotely keep 0.
    fn generation(&self) -> u64 {
        0
    }

    /// Starts any background work (file watching). Called once after start-up succeeded.
    fn start(&self) {}

    /// Stops background work. Called once at cleanup.
    fn stop(&self) {}
}
