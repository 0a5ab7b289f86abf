//! A connected client's ACL checks, worked out at CONNECT as far as the chain can without
//! asking a backend: [`crate::chain::Chain::compile`] builds a [`Compiled`], and the client's
//! checks are then decided from it with topic matches alone.

use crate::acl::file::ClientAcl;
use crate::backend::Generation;

/// One link's answers for the client.
#[derive(Clone, Debug)]
pub struct CompiledLink {
    /// The link's index in the chain.
    pub link: usize,
    /// The link's data generation the answers were made from: when it changed, the answers
    /// are not used (and the client's checks take the chain's normal path until recompiled).
    pub generation: u64,
    /// The link's generation counter (`None`: its data never changes), read on every check.
    pub counter: Option<Generation>,
    /// The answers.
    pub acl: ClientAcl,
}

impl CompiledLink {
    /// Returns true if and only if the link's data is still what the answers were made from.
    pub fn current(&self) -> bool {
        match &self.counter {
            None => true,
            Some(g) => g.load(std::sync::atomic::Ordering::Acquire) == self.generation,
        }
    }
}

/// What the chain decides for one client without asking a backend.
#[derive(Clone, Debug, Default)]
pub struct Compiled {
    /// The client is a superuser (by `auth_opt_superusers`, or its login answer): every check
    /// is allowed.
    pub superuser: bool,
    /// The links asked after the session's own rules, in chain order.
    pub links: Vec<CompiledLink>,
    /// `links` holds every link the chain would ask: when all of them defer, the check is
    /// refused. When false, the next link has to be asked on the chain's normal path.
    pub complete: bool,
}
