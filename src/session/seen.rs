//! Where the broker held a client's names when they last matched its session's: a check that
//! finds them at the same addresses again needs no comparison.
//!
//! The broker keeps a client's username and client id in strings of its own for the whole
//! connection. Such a string only changes by being replaced: a rename by a plugin
//! (`mosquitto_set_username`, 2.1's `mosquitto_set_clientid`) allocates the new string before
//! it frees the old one, so the client's string then lies at another address; and the strings
//! of a client that leaves are freed after the broker reports the disconnect, which drops the
//! session (2.0.11 and 2.1.2 report every client that had checks: see the module docs of
//! [`crate::session`]). So while the session exists and the addresses are the ones a
//! comparison saw, the bytes there are the ones compared. The one thing the addresses cannot
//! tell is two renames by another plugin between two checks that bring a name back to the very
//! address it had, with other text: then the check is decided with the rules of the login.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The addresses of a client's client id and username (0 for none) that last matched its
/// session's names; the client id's is 0 until a comparison succeeded.
#[derive(Debug, Default)]
pub struct SeenAt {
    client_id: AtomicUsize,
    username: AtomicUsize,
}

impl SeenAt {
    /// Returns true if and only if the names were seen matching at these addresses
    /// (`client_id` 0: the names have no address, and are always compared).
    pub fn same(&self, client_id: usize, username: usize) -> bool {
        client_id != 0
            && self.client_id.load(Ordering::Relaxed) == client_id
            && self.username.load(Ordering::Relaxed) == username
    }

    /// The names were compared equal at these addresses. Each address is stored on its own:
    /// every address ever stored held the name it stands for when it was stored.
    pub fn record(&self, client_id: usize, username: usize) {
        self.username.store(username, Ordering::Relaxed);
        self.client_id.store(client_id, Ordering::Relaxed);
    }
}

/// A copy of a session compares again before it trusts an address.
impl Clone for SeenAt {
    fn clone(&self) -> SeenAt {
        SeenAt::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_addresses_seen_together_match() {
        let seen = SeenAt::default();
        assert!(!seen.same(0, 0), "no address is ever trusted");
        assert!(!seen.same(0x1000, 0));
        seen.record(0x1000, 0x2000);
        assert!(seen.same(0x1000, 0x2000));
        assert!(!seen.same(0x1000, 0), "the username went away");
        assert!(!seen.same(0x1000, 0x3000), "the username moved");
        assert!(!seen.same(0x1008, 0x2000), "the client id moved");
        assert!(!seen.clone().same(0x1000, 0x2000), "a copy compares again");
        seen.record(0, 0);
        assert!(!seen.same(0, 0));
    }
}
