//! The one place a check is decided: the backends in their configured order, and the rules that
//! hold for all of them.
//!
//! The broker callbacks, `mosq-auth check` and the tests all ask through [`Chain`]; when a
//! [`Trace`] is passed, the chain also says who decided and why. The rules, each written only
//! here:
//! - login: an anonymous client (no username) is deferred to the broker, whose
//!   `allow_anonymous` decides; a username with an empty password is refused without asking any
//!   backend; otherwise the backends are asked in `auth_opt_backends` order, the first allow or
//!   deny wins and defer ("not my user") moves on; when nobody decides the plugin defers, so the
//!   broker refuses the client;
//! - ACL: unsubscribe is always allowed; a superuser (by `auth_opt_superusers` glob, or because a
//!   backend says so) passes every other check; otherwise the backends are asked in order, the
//!   first allow or deny wins, and when nobody decides the check is refused;
//! - a backend error stops the chain and refuses (fail closed): the backend that failed might
//!   have said deny, and an earlier deny would have won. Errors are logged once per burst.

use std::time::Duration;

use crate::backend::Backend;
use crate::link::Link;
use crate::log::{Logger, Throttle};
use crate::request::{Access, AclRequest, AuthRequest, BackendError, Decision, Verdict};

/// The result of one check, before it becomes a broker return code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Allowed.
    Allow,
    /// Refused by a backend or by a rule of the chain.
    Deny,
    /// Nobody here decided; the broker (or another plugin) decides.
    Defer,
    /// A backend failed: refused, and logged.
    Error,
}

/// Who decided a check and why, in words (filled only when asked for).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// A backend and its rule, a superuser glob, or the chain's own rule.
    pub reason: String,
}

/// Writes the reason into the trace, if there is one; the text is only built when asked for.
fn note(trace: &mut Option<&mut Trace>, reason: impl FnOnce() -> String) {
    if let Some(t) = trace.as_deref_mut() {
        t.reason = reason();
    }
}

/// The configured backends and superusers of one plugin instance.
pub struct Chain {
    links: Vec<Link>,
    superusers: Vec<glob::Pattern>,
    ask_superusers: bool,
    logger: Logger,
    error_log: Throttle,
}

impl Chain {
    /// A chain asking `links` in order. `superusers` are the `auth_opt_superusers` globs;
    /// `ask_superusers` false means backends are never asked whether a user is a superuser.
    pub fn new(
        links: Vec<Link>,
        superusers: Vec<glob::Pattern>,
        ask_superusers: bool,
        logger: Logger,
    ) -> Chain {
        Chain {
            links,
            superusers,
            ask_superusers,
            logger,
            error_log: Throttle::new(Duration::from_secs(10)),
        }
    }

    /// The backends (with their caches and counters), in the order they are asked.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Checks a CONNECT. `None` is an anonymous client (it sent no username).
    pub fn authenticate(
        &self,
        req: Option<&AuthRequest<'_>>,
        trace: Option<&mut Trace>,
    ) -> Outcome {
        match self.login(req, 0, false, trace) {
            Progress::Done(outcome) => outcome,
            // Not reached: without `stop_if_blocking` every link is asked.
            Progress::Blocked { .. } => Outcome::Error,
        }
    }

    /// Checks a CONNECT as far as it can be decided without waiting: the links are asked in
    /// order until one would wait on the network (or on a slow hash) for this request. The
    /// caller then finishes the check elsewhere with [`Chain::authenticate_from`].
    pub fn authenticate_now(&self, req: Option<&AuthRequest<'_>>) -> Progress {
        self.login(req, 0, true, None)
    }

    /// Finishes a check that [`Chain::authenticate_now`] left at link `from`, exactly as
    /// [`Chain::authenticate`] would have.
    pub fn authenticate_from(&self, req: &AuthRequest<'_>, from: usize) -> Outcome {
        match self.login(Some(req), from, false, None) {
            Progress::Done(outcome) => outcome,
            Progress::Blocked { .. } => Outcome::Error,
        }
    }

    /// The longest a parked login may take: every link that may wait asked in turn.
    pub fn max_login_wait(&self) -> Duration {
        self.links.iter().map(|l| l.max_wait()).sum()
    }

    fn login(
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
            return Progress::Done(Outcome::Defer);
        };
        let (username, client_id) = (req.username, req.client_id);
        if req.password.is_empty() {
            self.logger.info(format_args!(
                "auth: user '{username}' (client '{client_id}') sent no password, refusing"
            ));
            note(&mut trace, || "an empty password is always refused".into());
            return Progress::Done(Outcome::Deny);
        }
        let links = self.links.get(from..).unwrap_or_default();
        if stop_if_blocking {
            // Only the links before the first decision matter; a link that would wait stops
            // the walk, and the rest of the chain runs elsewhere.
            for (i, link) in links.iter().enumerate() {
                if link.auth_may_block(req) {
                    return Progress::Blocked { from: from + i };
                }
                match link.authenticate(req) {
                    Ok(v) if v.decision == Decision::Defer => continue,
                    answer => {
                        return Progress::Done(self.login_result(req, Some(link), answer, trace))
                    }
                }
            }
            return Progress::Done(self.login_result(req, None, Ok(Verdict::DEFER), trace));
        }
        let (link, answer) = first_answer(links, |l| l.authenticate(req));
        Progress::Done(self.login_result(req, link, answer, trace))
    }

    /// Logs and traces the answer that decided a login (`link` none: nobody decided).
    fn login_result(
        &self,
        req: &AuthRequest<'_>,
        link: Option<&Link>,
        answer: Result<Verdict, BackendError>,
        mut trace: Option<&mut Trace>,
    ) -> Outcome {
        let (username, client_id) = (req.username, req.client_id);
        let name = link.map_or("", |l| l.name());
        let outcome = outcome_of(&answer);
        match &answer {
            Err(e) => self.backend_error(&format!("auth of user '{username}'"), name, e),
            Ok(_) => match outcome {
                Outcome::Allow => self.logger.info(format_args!(
                    "auth: user '{username}' (client '{client_id}') allowed by {name}"
                )),
                Outcome::Deny => self.logger.info(format_args!(
                    "auth: user '{username}' (client '{client_id}') refused by {name}"
                )),
                _ => self.logger.info(format_args!(
                    "auth: user '{username}' (client '{client_id}') is unknown to every backend"
                )),
            },
        }
        note(&mut trace, || match (&answer, outcome) {
            (Err(e), _) => format!("backend {name} failed: {e}"),
            (_, Outcome::Allow) => format!("allowed by backend {name}"),
            (_, Outcome::Deny) => format!("refused by backend {name}"),
            _ => "no backend knows this user: the broker refuses the client".into(),
        });
        outcome
    }

    /// Checks one ACL request.
    pub fn acl(&self, req: &AclRequest<'_>, mut trace: Option<&mut Trace>) -> Outcome {
        if req.access == Access::Unsubscribe {
            note(&mut trace, || "unsubscribe is always allowed".into());
            return Outcome::Allow;
        }
        // A shared subscription is decided on the filter behind `$share/<group>/`, as the
        // broker's own acl_file does (2.0 and 2.1 pass the whole filter to plugins).
        let unshared;
        let req = match shared_filter(req) {
            Some(Ok(filter)) => {
                unshared = AclRequest {
                    topic: filter,
                    ..*req
                };
                &unshared
            }
            Some(Err(())) => {
                note(&mut trace, || {
                    "a $share filter without group or filter: denied".into()
                });
                return Outcome::Deny;
            }
            None => req,
        };
        let (access, topic) = (req.access, req.topic);
        if let Some(u) = req.username {
            if self.is_superuser(u, trace.as_deref_mut()) {
                self.logger.debug(format_args!(
                    "acl: superuser '{u}' {access} '{topic}' allowed"
                ));
                return Outcome::Allow;
            }
        }
        let who = req.username.unwrap_or("(anonymous)");
        let client_id = req.client_id;
        let (link, answer) = first_answer(&self.links, |l| l.acl(req));
        let name = link.map_or("", |l| l.name());
        let outcome = outcome_of(&answer);
        if let Err(e) = &answer {
            self.backend_error(&format!("acl {access} '{topic}' for '{who}'"), name, e);
        }
        let rule = || {
            link.and_then(|l| l.explain_acl(req))
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        };
        match outcome {
            Outcome::Allow => self.logger.debug(format_args!(
                "acl: '{who}' (client '{client_id}') {access} '{topic}' allowed by {name}"
            )),
            Outcome::Deny => self.logger.debug(format_args!(
                "acl: '{who}' (client '{client_id}') {access} '{topic}' denied by {name}"
            )),
            Outcome::Defer => self.logger.debug(format_args!(
                "acl: '{who}' (client '{client_id}') {access} '{topic}' denied: no rule allows it"
            )),
            Outcome::Error => {}
        }
        note(&mut trace, || match (&answer, outcome) {
            (Err(e), _) => format!("backend {name} failed: {e}"),
            (_, Outcome::Allow) => format!("allowed by backend {name}{}", rule()),
            (_, Outcome::Deny) => format!("denied by backend {name}{}", rule()),
            _ => "no backend has a rule for it: denied".into(),
        });
        match outcome {
            Outcome::Defer => Outcome::Deny,
            o => o,
        }
    }

    /// Returns true if and only if `username` is a superuser, by glob or by a backend. A backend
    /// that fails is logged and counts as "not a superuser": the ACL chain still decides.
    pub fn is_superuser(&self, username: &str, mut trace: Option<&mut Trace>) -> bool {
        if let Some(p) = self.superusers.iter().find(|p| p.matches(username)) {
            note(&mut trace, || {
                format!(
                    "'{username}' is a superuser (auth_opt_superusers pattern '{}')",
                    p.as_str()
                )
            });
            return true;
        }
        if !self.ask_superusers {
            return false;
        }
        for link in self.links.iter().filter(|l| l.has_superusers()) {
            match link.superuser(username) {
                Ok(v) if v.decision == Decision::Allow => {
                    note(&mut trace, || {
                        format!(
                            "'{username}' is a superuser according to backend {}",
                            link.name()
                        )
                    });
                    return true;
                }
                Ok(_) => {}
                Err(e) => {
                    self.backend_error(&format!("superuser check of '{username}'"), link.name(), &e)
                }
            }
        }
        false
    }

    /// Re-reads files (SIGHUP). Failures keep the last good state and are logged.
    pub fn reload(&self) {
        for link in &self.links {
            match link.reload() {
                Ok(()) => self.logger.notice(format_args!(
                    "reload: backend {} reloaded, cache cleared; so far: {}",
                    link.name(),
                    link.stats().summary()
                )),
                Err(e) => self.logger.error(format_args!(
                    "reload: backend {} kept its last good state: {e}",
                    link.name()
                )),
            }
        }
    }

    /// Starts the backends' background work.
    pub fn start(&self) {
        for link in &self.links {
            link.start();
        }
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
}

/// How far [`Chain::authenticate_now`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Decided without waiting.
    Done(Outcome),
    /// Link `from` would wait: finish with [`Chain::authenticate_from`].
    Blocked {
        /// The index of the first link still to ask.
        from: usize,
    },
}

/// For a subscription to `$share/<group>/<filter>`, the filter (an error when the group or the
/// filter is empty); `None` for anything else.
fn shared_filter<'a>(req: &AclRequest<'a>) -> Option<Result<&'a str, ()>> {
    if req.access != Access::Subscribe {
        return None;
    }
    let rest = req.topic.strip_prefix("$share/")?;
    Some(match rest.split_once('/') {
        Some((group, filter)) if !group.is_empty() && !filter.is_empty() => Ok(filter),
        _ => Err(()),
    })
}

/// Asks `links` in order; the first allow or deny wins, defer moves on, an error stops the
/// chain. Returns the deciding link (none when all deferred) and its answer.
fn first_answer<'a>(
    links: &'a [Link],
    ask: impl Fn(&'a Link) -> Result<Verdict, BackendError>,
) -> (Option<&'a Link>, Result<Verdict, BackendError>) {
    for link in links {
        match ask(link) {
            Ok(v) if v.decision == Decision::Defer => continue,
            answer => return (Some(link), answer),
        }
    }
    (None, Ok(Verdict::DEFER))
}

fn outcome_of(answer: &Result<Verdict, BackendError>) -> Outcome {
    match answer {
        Ok(v) => match v.decision {
            Decision::Allow => Outcome::Allow,
            Decision::Deny => Outcome::Deny,
            Decision::Defer => Outcome::Defer,
        },
        Err(_) => Outcome::Error,
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        for link in &self.links {
            link.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_subscriptions_are_decided_on_their_filter() {
        let sub = |topic| AclRequest {
            username: Some("alice"),
            client_id: "c",
            topic,
            access: Access::Subscribe,
        };
        assert_eq!(shared_filter(&sub("$share/g/alice/#")), Some(Ok("alice/#")));
        assert_eq!(shared_filter(&sub("$share/g/+/x")), Some(Ok("+/x")));
        for bad in ["$share/g", "$share/g/", "$share//alice/#", "$share/"] {
            assert_eq!(shared_filter(&sub(bad)), Some(Err(())), "{bad}");
        }
        assert_eq!(shared_filter(&sub("alice/#")), None);
        assert_eq!(shared_filter(&sub("$SYS/#")), None);
        let read = AclRequest {
            access: Access::Read,
            ..sub("$share/g/alice/#")
        };
        assert_eq!(shared_filter(&read), None);
    }
}
