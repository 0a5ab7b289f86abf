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

use std::time::{Duration, SystemTime};

use crate::backend::Backend;
use crate::link::Link;
use crate::log::{Logger, Throttle};
use crate::request::{Access, AclRequest, BackendError, Decision, Verdict};
use crate::session::Session;

mod fast;
mod login;

pub use login::{Login, Progress};

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
    rules_no_match_deny: bool,
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
            rules_no_match_deny: false,
            logger,
            error_log: Throttle::new(Duration::from_secs(10)),
        }
    }

    /// With `deny`, a check that a client's rules from its login do not decide is refused,
    /// instead of being asked of the other backends (`auth_opt_rules_no_match deny`).
    pub fn with_rules_no_match_deny(mut self, deny: bool) -> Chain {
        self.rules_no_match_deny = deny;
        self
    }

    /// The backends (with their caches and counters), in the order they are asked.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// Checks one ACL request of a client without a session.
    pub fn acl(&self, req: &AclRequest<'_>, trace: Option<&mut Trace>) -> Outcome {
        self.acl_in(req, None, trace)
    }

    /// Checks one ACL request; `session` is the client's, if it has one (see
    /// [`crate::session`]): an ended session refuses everything, its superuser answer and
    /// rules come before the backends, and the backend that gave them is not asked.
    pub fn acl_in(
        &self,
        req: &AclRequest<'_>,
        session: Option<&Session>,
        mut trace: Option<&mut Trace>,
    ) -> Outcome {
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
        let who = req.username.unwrap_or("(anonymous)");
        let client_id = req.client_id;
        if let Some(s) = session.filter(|s| s.expires().is_some()) {
            if s.expired(SystemTime::now()) {
                self.logger.debug(format_args!(
                    "acl: '{who}' (client '{client_id}') {access} '{topic}' denied: the session has expired"
                ));
                note(&mut trace, || "the session has expired: denied".into());
                return Outcome::Deny;
            }
        }
        if let Some(u) = req.username {
            if self.is_superuser_in(u, session, trace.as_deref_mut()) {
                self.logger.debug(format_args!(
                    "acl: superuser '{u}' {access} '{topic}' allowed"
                ));
                return Outcome::Allow;
            }
        }
        // The backend whose login answer gave the rules is not asked again.
        let mut skip = None;
        if let Some((s, rules)) = session.and_then(|s| s.rules().map(|r| (s, r))) {
            let name = self.links.get(s.link()).map_or("", |l| l.name());
            let decided = rules.decide(access, topic.as_bytes(), req.qos, req.retain);
            let outcome = match decided {
                Some(Decision::Allow) => Some(Outcome::Allow),
                Some(_) => Some(Outcome::Deny),
                None if self.rules_no_match_deny => Some(Outcome::Deny),
                None => None,
            };
            if let Some(outcome) = outcome {
                let verb = if outcome == Outcome::Allow {
                    "allowed"
                } else {
                    "denied"
                };
                let by = if decided.is_some() {
                    "a rule"
                } else {
                    "no rule (rules_no_match deny)"
                };
                self.logger.debug(format_args!(
                    "acl: '{who}' (client '{client_id}') {access} '{topic}' {verb} by {by} from {name}'s login answer"
                ));
                note(&mut trace, || {
                    format!("{verb} by {by} from backend {name}'s login answer")
                });
                return outcome;
            }
            skip = Some(s.link());
        }
        let links = self
            .links
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(_, l)| l);
        let (link, answer) = first_answer(links, |l| l.acl(req));
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
    pub fn is_superuser(&self, username: &str, trace: Option<&mut Trace>) -> bool {
        self.is_superuser_in(username, None, trace)
    }

    /// [`Chain::is_superuser`] for a client with a session: its login's superuser answer
    /// stands for the backend that gave it.
    fn is_superuser_in(
        &self,
        username: &str,
        session: Option<&Session>,
        mut trace: Option<&mut Trace>,
    ) -> bool {
        if let Some(p) = self.superusers.iter().find(|p| p.matches(username)) {
            note(&mut trace, || {
                format!(
                    "'{username}' is a superuser (auth_opt_superusers pattern '{}')",
                    p.as_str()
                )
            });
            return true;
        }
        let answered = session.filter(|s| s.replaces_checks());
        if let Some(s) = answered {
            if s.superuser() == Some(true) {
                note(&mut trace, || {
                    format!("'{username}' is a superuser according to its login answer")
                });
                return true;
            }
        }
        if !self.ask_superusers {
            return false;
        }
        let skip = answered.map(|s| s.link());
        for (i, link) in self.links.iter().enumerate() {
            if !link.has_superusers() || Some(i) == skip {
                continue;
            }
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
    links: impl IntoIterator<Item = &'a Link>,
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
            qos: 0,
            retain: false,
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
