//! The broker's ACL checks of one instance: decided from the client's compiled session when
//! possible ([`Plugin::acl_compiled`]), else by the chain's normal path.

use std::sync::Arc;

use super::Plugin;
use crate::chain::Outcome;
use crate::log::Level;
use crate::request::{Access, AclRequest};
use crate::session::{BrokerName, ClientKey, Session};

/// A check [`Plugin::acl_compiled`] did not decide.
#[derive(Debug)]
pub enum Undecided {
    /// The session was not looked up.
    NotLooked,
    /// The session of the client for the check's names, if it has one.
    Found(Option<Arc<Session>>),
}

impl Plugin {
    /// An ACL check of `client` decided from its session's compiled form (see
    /// [`crate::chain::Chain::decide_compiled`]), on the broker's bytes: no UTF-8 check, no lookup but the
    /// session's. `Err` when the check has to take the chain's normal path
    /// ([`Plugin::acl_undecided`]): no session for these names, an answer that needs a backend,
    /// or debug logging on (that path logs every decision).
    #[allow(clippy::too_many_arguments)] // the broker's fields, one by one
    pub fn acl_compiled<'a, N: BrokerName<'a>>(
        &self,
        client: ClientKey,
        username: Option<N>,
        client_id: N,
        topic: &[u8],
        access: Access,
        qos: u8,
        retain: bool,
    ) -> Result<Outcome, Undecided> {
        if self.logger.enabled(Level::Debug) {
            return Err(Undecided::NotLooked);
        }
        let found = self.sessions.with(client, username, client_id, |s| {
            self.chain
                .decide_compiled(s, topic, access, qos, retain)
                .ok_or_else(|| s.clone())
        });
        match found {
            Some(Ok(outcome)) => Ok(outcome),
            Some(Err(session)) => Err(Undecided::Found(Some(session))),
            None => Err(Undecided::Found(None)),
        }
    }

    /// Finishes a check [`Plugin::acl_compiled`] left undecided, for the request decoded from
    /// the same bytes, with the session it found.
    pub fn acl_undecided(
        &self,
        client: ClientKey,
        req: &AclRequest<'_>,
        undecided: &Undecided,
    ) -> Outcome {
        match undecided {
            Undecided::NotLooked => self.acl(client, req),
            Undecided::Found(session) => self.chain.acl_in(req, session.as_deref(), None),
        }
    }

    /// Checks one ACL request of the client structure `client`, with its session if it has
    /// one made for these names.
    pub fn acl(&self, client: ClientKey, req: &AclRequest<'_>) -> Outcome {
        let session = self.sessions.get(client, req.username, req.client_id);
        self.chain.acl_in(req, session.as_deref(), None)
    }
}
