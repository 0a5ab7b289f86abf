//! The login half of the chain: the backends asked in order for a CONNECT, on the broker's
//! thread or, from the first link that would wait, on a worker ([`Chain::login_now`],
//! [`Chain::login_from`]), and the session of an admitted client.

use std::time::{Duration, SystemTime};

use super::{note, outcome_of, Chain, Outcome, Trace};
use crate::backend::{Backend, Granted, LoginAnswer};
use crate::link::Link;
use crate::request::{AuthRequest, Decision, Verdict};
use crate::session::{Grant, Session};

/// The answer to a login: the outcome and, for an admitted client, its session (with what its
/// backend said beyond "allowed": rules, superuser, expiry, a credentials fingerprint).
#[derive(Debug)]
pub struct Login {
    /// Allowed, refused, not decided, or failed.
    pub outcome: Outcome,
    /// The session of an allowed client.
    pub session: Option<Session>,
}

impl Login {
    fn plain(outcome: Outcome) -> Login {
        Login {
            outcome,
            session: None,
        }
    }
}

impl Chain {
    /// Checks a CONNECT. `None` is an anonymous client (it sent no username).
    pub fn authenticate(
        &self,
        req: Option<&AuthRequest<'_>>,
        trace: Option<&mut Trace>,
    ) -> Outcome {
        self.login(req, trace).outcome
    }

    /// Checks a CONNECT and returns the session of an admitted client.
    pub fn login(&self, req: Option<&AuthRequest<'_>>, trace: Option<&mut Trace>) -> Login {
        match self.walk(req, 0, false, trace) {
            Progress::Done(login) => login,
            // Not reached: without `stop_if_blocking` every link is asked.
            Progress::Blocked { .. } => Login::plain(Outcome::Error),
        }
    }

    /// Checks a CONNECT as far as it can be decided without waiting: the links are asked in
    /// order until one would wait on the network (or on a slow hash) for this request. The
    /// caller then finishes the check elsewhere with [`Chain::login_from`].
    pub fn login_now(&self, req: Option<&AuthRequest<'_>>) -> Progress {
        self.walk(req, 0, true, None)
    }

    /// Finishes a check that [`Chain::login_now`] left at link `from`, exactly as
    /// [`Chain::login`] would have.
    pub fn login_from(&self, req: &AuthRequest<'_>, from: usize) -> Login {
        match self.walk(Some(req), from, false, None) {
            Progress::Done(login) => login,
            Progress::Blocked { .. } => Login::plain(Outcome::Error),
        }
    }

    /// The longest a parked login may take: every link that may wait asked in turn.
    pub fn max_login_wait(&self) -> Duration {
        self.links.iter().map(|l| l.max_wait()).sum()
    }

    fn walk(
        &self,
        req: Option<&AuthRequest<'_>>,
        from: usize,
        stop_if_blocking: bool,
        mut trace: Option<&mut Trace>,
    ) -> Progress {
        let Some(req) = req else {
            self.logger.debug(format_args!(
                "auth: anonymous client, deferring to allow_anonymous"
            ));
            note(&mut trace, || {
                "the plugin defers anonymous clients to the broker".into()
            });
            return Progress::Done(Login::plain(Outcome::Defer));
        };
        let (username, client_id) = (req.username, req.client_id);
        if req.password.is_empty() {
            self.logger.info(format_args!(
                "auth: user '{username}' (client '{client_id}') sent no password, refusing"
            ));
            note(&mut trace, || "an empty password is always refused".into());
            return Progress::Done(Login::plain(Outcome::Deny));
        }
        for (i, link) in self.links.iter().enumerate().skip(from) {
            // Only the links before the first decision matter; a link that would wait stops
            // the walk, and the rest of the chain runs elsewhere.
            if stop_if_blocking && link.auth_may_block(req) {
                return Progress::Blocked { from: i };
            }
            match link.login(req) {
                Ok(g) if g.verdict.decision == Decision::Defer => continue,
                answer => {
                    return Progress::Done(self.login_result(req, Some((i, link)), answer, trace))
                }
            }
        }
        Progress::Done(self.login_result(req, None, Ok(Verdict::DEFER.into()), trace))
    }

    /// Logs and traces the answer that decided a login (`link` none: nobody decided), and
    /// makes the session of an admitted client. A session that has already ended refuses.
    fn login_result(
        &self,
        req: &AuthRequest<'_>,
        link: Option<(usize, &Link)>,
        answer: LoginAnswer,
        mut trace: Option<&mut Trace>,
    ) -> Login {
        let (username, client_id) = (req.username, req.client_id);
        let name = link.map_or("", |(_, l)| l.name());
        let verdict = answer.as_ref().map(|g| g.verdict).map_err(Clone::clone);
        let mut outcome = outcome_of(&verdict);
        let mut session = None;
        // Every admitted client gets a session, with what its backend said beyond "allowed"
        // (if anything) and its checks compiled as far as they can be.
        if let (Ok(Granted { grant, .. }), Some((i, _)), Outcome::Allow) = (&answer, link, outcome)
        {
            let none = Grant::default();
            let s = Session::new(
                Some(username),
                client_id,
                i,
                grant.as_deref().unwrap_or(&none),
            );
            if s.expired(SystemTime::now()) {
                self.logger.info(format_args!(
                    "auth: user '{username}' (client '{client_id}') allowed by {name}, but the session's expire_at has passed: refusing"
                ));
                note(&mut trace, || {
                    format!("backend {name} allowed, but the session has expired: refused")
                });
                return Login::plain(Outcome::Deny);
            }
            let compiled = self.compile(&s);
            session = Some(s.with_compiled(compiled));
        }
        match &verdict {
            Err(e) => {
                outcome = Outcome::Error;
                self.backend_error(&format!("auth of user '{username}'"), name, e)
            }
            Ok(_) => match outcome {
                Outcome::Allow => self.logger.info(format_args!(
                    "auth: user '{username}' (client '{client_id}') allowed by {name}{}",
                    session.as_ref().map(describe).unwrap_or_default()
                )),
                Outcome::Deny => self.logger.info(format_args!(
                    "auth: user '{username}' (client '{client_id}') refused by {name}"
                )),
                _ => self.logger.info(format_args!(
                    "auth: user '{username}' (client '{client_id}') is unknown to every backend"
                )),
            },
        }
        note(&mut trace, || match (&verdict, outcome) {
            (Err(e), _) => format!("backend {name} failed: {e}"),
            (_, Outcome::Allow) => format!("allowed by backend {name}"),
            (_, Outcome::Deny) => format!("refused by backend {name}"),
            _ => "no backend knows this user: the broker refuses the client".into(),
        });
        Login { outcome, session }
    }
}

/// How far [`Chain::login_now`] got.
#[derive(Debug)]
pub enum Progress {
    /// Decided without waiting.
    Done(Login),
    /// Link `from` would wait: finish with [`Chain::login_from`].
    Blocked {
        /// The index of the first link still to ask.
        from: usize,
    },
}

/// What the login log line adds for a session: its rules, superuser answer and expiry.
fn describe(s: &Session) -> String {
    let mut parts = Vec::new();
    if let Some(r) = s.rules() {
        parts.push(format!("{} rules", r.len()));
    }
    if s.superuser() == Some(true) {
        parts.push("superuser".into());
    }
    if let Some(e) = s.expires() {
        let left = e.duration_since(SystemTime::now()).unwrap_or_default();
        parts.push(format!("session ends in {} s", left.as_secs()));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}
