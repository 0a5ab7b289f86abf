//! A connected client's ACL checks decided from its session alone: [`Chain::compile`] works out
//! at CONNECT what is fixed for the whole connection (superuser or not, which links are asked,
//! each link's rules for the client's names), and [`Chain::decide_compiled`] then answers a
//! check with topic matches, without a lookup, a lock of a backend or a UTF-8 check.
//!
//! The answers are exactly those of [`Chain::acl_in`] for the same session (the tests below and
//! `tests/it` compare them): where the compiled form cannot answer (a backend asked per check, a
//! shared subscription, a session that may have expired, a link whose data changed since), it
//! says so and the check takes the normal path, which also writes the debug log lines.

use std::time::SystemTime;

use super::{Chain, Outcome};
use crate::acl::filter::CheckTopic;
use crate::backend::Backend;
use crate::request::{Access, Decision};
use crate::session::{Compiled, CompiledLink, Session};
use crate::stats::Check;

impl Chain {
    /// What can be decided in advance for `session`'s checks; `None` when a backend would have
    /// to be asked on every check before any link decides (a superuser question to a backend,
    /// or a first link without answers from memory).
    pub fn compile(&self, session: &Session) -> Option<Compiled> {
        let username = session.username();
        let glob = username.is_some_and(|u| self.superusers.iter().any(|p| p.matches(u)));
        let answered = session.replaces_checks().then_some(session.link());
        let superuser = glob || (answered.is_some() && session.superuser() == Some(true));
        if superuser {
            return Some(Compiled {
                superuser,
                links: Vec::new(),
                complete: true,
            });
        }
        let asked_per_check = username.is_some()
            && self.ask_superusers
            && self
                .links
                .iter()
                .enumerate()
                .any(|(i, l)| l.has_superusers() && Some(i) != answered);
        if asked_per_check {
            return None;
        }
        // The backend whose login answer gave the rules is not asked again.
        let skip = session.rules().map(|_| session.link());
        let mut links = Vec::new();
        for (i, link) in self.links.iter().enumerate() {
            if Some(i) == skip {
                continue;
            }
            // Read before the answers: if the data changes in between, the generation is
            // already stale and the answers are never used.
            let counter = link.generation_counter().cloned();
            let generation = link.generation();
            match link.client_acl(username, session.client_id()) {
                Some(acl) => links.push(CompiledLink {
                    link: i,
                    generation,
                    counter,
                    acl,
                }),
                None if links.is_empty() && session.rules().is_none() => return None,
                None => {
                    return Some(Compiled {
                        superuser,
                        links,
                        complete: false,
                    })
                }
            }
        }
        Some(Compiled {
            superuser,
            links,
            complete: true,
        })
    }

    /// Decides a check of the client with `session` from its compiled form, as
    /// [`Chain::acl_in`] would; `None` when it has to take that path instead. `topic` is the
    /// broker's bytes (see [`crate::acl::topic`]: no UTF-8 check is needed to match it).
    pub fn decide_compiled(
        &self,
        session: &Session,
        topic: &[u8],
        access: Access,
        qos: u8,
        retain: bool,
    ) -> Option<Outcome> {
        let compiled = session.compiled()?;
        if access == Access::Unsubscribe {
            return Some(Outcome::Allow);
        }
        if access == Access::Subscribe && topic.starts_with(b"$share/") {
            return None;
        }
        // The clock is read only for a session that ends.
        if session.expires().is_some_and(|e| e <= SystemTime::now()) {
            return None;
        }
        if compiled.superuser {
            return Some(Outcome::Allow);
        }
        let check = CheckTopic::new(topic, access);
        if let Some(rules) = session.rules() {
            match rules.decide_checked(&check, qos, retain) {
                Some(Decision::Allow) => return Some(Outcome::Allow),
                Some(_) => return Some(Outcome::Deny),
                None if self.rules_no_match_deny => return Some(Outcome::Deny),
                None => {}
            }
        }
        if !compiled.links.iter().all(CompiledLink::current) {
            return None;
        }
        for c in &compiled.links {
            let decision = c.acl.decide_checked(&check);
            self.links[c.link]
                .stats()
                .result(Check::Acl, Some(decision));
            match decision {
                Decision::Allow => return Some(Outcome::Allow),
                Decision::Deny => return Some(Outcome::Deny),
                Decision::Defer => {}
            }
        }
        compiled.complete.then_some(Outcome::Deny)
    }
}
