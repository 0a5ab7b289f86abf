//! What a backend is: one source of users and permissions ([`Backend`]), with the
//! [`files`], [`http`] and [`jwt`] implementations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::acl::file::ClientAcl;
use crate::request::{AclRequest, Answer, AuthRequest, BackendError, Verdict};
use crate::session::Grant;

/// A backend's data generation, shared with the compiled checks that read it.
pub type Generation = Arc<AtomicU64>;

pub mod files;
pub mod http;
pub mod jwt;

/// A login's verdict and, for an allowed one, what the backend said beyond "allowed" (rules,
/// superuser, expiry, a credentials fingerprint): the client's [`Grant`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    /// The decision and its cache hint.
    pub verdict: Verdict,
    /// The session part of the answer, if any (only for an allow).
    pub grant: Option<Arc<Grant>>,
}

impl From<Verdict> for Granted {
    fn from(verdict: Verdict) -> Granted {
        Granted {
            verdict,
            grant: None,
        }
    }
}

/// What a login check may return.
pub type LoginAnswer = Result<Granted, BackendError>;

/// One source of users and permissions.
///
/// Implementations are shared with background threads (reload, cache refresh), hence
/// `Send + Sync`. They must never log a password or hash.
pub trait Backend: Send + Sync {
    /// The name used in `auth_opt_backends` and in log lines (`files`, `http`).
    fn name(&self) -> &'static str;

    /// Checks a username and password. `Defer` when the user is unknown to this backend.
    fn authenticate(&self, req: &AuthRequest<'_>) -> Answer;

    /// Checks a login and says what the client may do for the rest of its session. The
    /// default is [`Backend::authenticate`] with no grant.
    fn login(&self, req: &AuthRequest<'_>) -> LoginAnswer {
        self.authenticate(req).map(Granted::from)
    }

    /// A keyed fingerprint of `username`'s credentials as the backend holds them now (`None`:
    /// unknown user, or a backend whose credentials live elsewhere). A client admitted with one
    /// fingerprint is disconnected when it changes ([`Grant::fingerprint`]).
    fn fingerprint(&self, _username: &str) -> Option<u64> {
        None
    }

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

    /// The backend's ACL answers for the connected client with these names, worked out once
    /// (at CONNECT) and valid for as long as [`Backend::generation`] keeps the value it had
    /// before this call: the client's checks are then decided from them without asking the
    /// backend ([`ClientAcl::decide`] must agree with [`Backend::acl`]). `None` (the default):
    /// the backend is asked on every check.
    fn client_acl(&self, _username: Option<&str>, _client_id: &str) -> Option<ClientAcl> {
        None
    }

    /// Which of the backend's own rules decides `req`, for `mosq-auth check` (e.g. the ACL
    /// file's line). `None` when the backend has no such notion.
    fn explain_acl(&self, _req: &AclRequest<'_>) -> Option<String> {
        None
    }

    /// Returns true if and only if answering this login may wait on the network or on a slow
    /// password hash, so that on Mosquitto 2.1 it runs off the broker's thread.
    fn auth_may_block(&self, _req: &AuthRequest<'_>) -> bool {
        false
    }

    /// The longest one answer may take (the backend's own deadline); zero for backends that
    /// never wait.
    fn max_wait(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// A number that changes whenever the backend's data changes (a file reload), so cached
    /// answers from before can be told apart: the value of [`Backend::generation_counter`], 0
    /// for backends whose answers only change remotely.
    fn generation(&self) -> u64 {
        self.generation_counter()
            .map_or(0, |g| g.load(Ordering::Acquire))
    }

    /// The counter behind [`Backend::generation`] (`None`: it never changes), which a connected
    /// client's compiled checks keep and read on every check without a call to the backend.
    fn generation_counter(&self) -> Option<&Generation> {
        None
    }

    /// Starts any background work (file watching). Called once after start-up succeeded.
    fn start(&self) {}

    /// Stops background work. Called once at cleanup.
    fn stop(&self) {}
}
