/*!
What the plugin knows about one connected client, from its CONNECT to its disconnect: a
[`Session`] (username, client id, the backend that admitted it, its superuser answer, rules and
expiry, see [`Grant`]), held in the instance's [`Sessions`] table.

The broker gives every connection its own client structure, and the table is keyed by that
structure's address. A structure can be reused for a later connection after the first one is
gone, so:
- every CONNECT replaces whatever the table held for its structure before any answer is known
  ([`Sessions::begin`]), and a parked login's answer is stored only if no newer CONNECT or
  disconnect came in between (its token still matches, [`Sessions::finish`]);
- a session is used for a check only when the client's username and client id are still the
  ones it was made for ([`Session::is_for`]); with plugin API v5 the broker's strings, once
  compared equal, are known by their addresses ([`SeenAt`]) until they move;
- disconnect events drop the session ([`Sessions::remove`]). Mosquitto 2.0.11 reports every
  client that leaves (`MOSQ_EVT_DISCONNECT` from `context__disconnect`), 2.1.2 too
  (`MOSQ_EVT_DISCONNECT` or `MOSQ_EVT_CLIENT_OFFLINE`), except a client that leaves while its
  login is parked: that one never had a check, so its session's names were never compared and
  are compared on the first check of whoever gets the structure next. With plugin API v4 (1.6)
  no disconnect is reported, and names are always compared.

Sessions that must end (their `expire_at` passed, or the files backend no longer has their user
or hash) are taken out of the table by [`Sessions::take`], and the caller disconnects the
clients, outside the table's lock (a disconnect re-enters the plugin).
*/

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

pub mod compiled;
pub mod grant;
pub mod rules;
pub mod seen;

pub use compiled::{Compiled, CompiledLink};
pub use grant::Grant;
pub use rules::{ClientRules, Rules};
pub use seen::SeenAt;

/// The broker's client structure, by address: the key of a session.
pub type ClientKey = usize;

/// A name as the broker holds it (a username or client id), compared with a session's names
/// without being measured first: the ACL check's fast path compares the broker's C strings in
/// place ([`crate::ffi::convert::CName`]); plain bytes work the same.
pub trait BrokerName<'a>: Copy {
    /// Returns true if and only if the name's bytes are `text`.
    fn is(self, text: &[u8]) -> bool;
    /// The name's bytes (for a C string, measured now).
    fn bytes(self) -> &'a [u8];
    /// Where the broker holds the name, if it is the broker's string (0: not, and the name is
    /// always compared; see [`SeenAt`]).
    fn addr(self) -> usize {
        0
    }
}

impl<'a> BrokerName<'a> for &'a [u8] {
    fn is(self, text: &[u8]) -> bool {
        self == text
    }

    fn bytes(self) -> &'a [u8] {
        self
    }
}

/// One connected client's session. Its `Debug` output holds names and rules, never a secret
/// (the fingerprint is shown as set or not).
#[derive(Clone)]
pub struct Session {
    username: Option<String>,
    client_id: String,
    /// The index of the link (backend) that admitted the client.
    link: usize,
    superuser: Option<bool>,
    rules: Option<ClientRules>,
    /// The admitting backend's superuser and ACL questions are answered by this session.
    replaces_checks: bool,
    expires: Option<SystemTime>,
    fingerprint: Option<u64>,
    /// The client's checks as far as they are decided without asking a backend.
    compiled: Option<Compiled>,
    /// Where the broker's strings matched the names.
    seen: SeenAt,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .field("client_id", &self.client_id)
            .field("link", &self.link)
            .field("superuser", &self.superuser)
            .field("rules", &self.rules.as_ref().map(ClientRules::len))
            .field("expires", &self.expires)
            .field("fingerprint", &self.fingerprint.map(|_| "(set)"))
            .field("compiled", &self.compiled.is_some())
            .finish()
    }
}

impl Session {
    /// The session of a client admitted by link `link` with `grant`, names filled in.
    pub fn new(username: Option<&str>, client_id: &str, link: usize, grant: &Grant) -> Session {
        Session {
            username: username.map(str::to_string),
            client_id: client_id.to_string(),
            link,
            superuser: grant.superuser.or(grant.rules.as_ref().map(|_| false)),
            rules: grant
                .rules
                .as_ref()
                .map(|r| r.compile(grant.identity.as_deref().or(username), client_id)),
            replaces_checks: grant.replaces_checks(),
            expires: grant.expires,
            fingerprint: grant.fingerprint,
            compiled: None,
            seen: SeenAt::default(),
        }
    }

    /// The session of an anonymous client (no username): no backend admitted it, the broker's
    /// `allow_anonymous` did. It holds only the names.
    pub fn anonymous(client_id: &str) -> Session {
        Session::new(None, client_id, usize::MAX, &Grant::default())
    }

    /// The session with `compiled` as its checks decided in advance.
    pub fn with_compiled(mut self, compiled: Option<Compiled>) -> Session {
        self.compiled = compiled;
        self
    }

    /// The client's checks decided in advance, if the chain could.
    pub fn compiled(&self) -> Option<&Compiled> {
        self.compiled.as_ref()
    }

    /// Returns true if and only if this session was made for these names.
    pub fn is_for(&self, username: Option<&str>, client_id: &str) -> bool {
        self.is_for_bytes(username.map(str::as_bytes), client_id.as_bytes())
    }

    /// [`Session::is_for`] on the broker's names (equal bytes are the session's text). Names
    /// the broker still holds where they matched before are not compared again ([`SeenAt`]).
    pub fn is_for_bytes<'a, N: BrokerName<'a>>(&self, username: Option<N>, client_id: N) -> bool {
        let (id_at, user_at) = (client_id.addr(), username.map_or(0, N::addr));
        if self.seen.same(id_at, user_at) {
            return true;
        }
        let user = match (self.username.as_deref(), username) {
            (None, None) => true,
            (Some(mine), Some(theirs)) => theirs.is(mine.as_bytes()),
            _ => false,
        };
        let matched = user && client_id.is(self.client_id.as_bytes());
        if matched && id_at != 0 {
            self.seen.record(id_at, user_at);
        }
        matched
    }

    /// The username (`None`: anonymous).
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The index of the link that admitted the client (`usize::MAX` for an anonymous one).
    pub fn link(&self) -> usize {
        self.link
    }

    /// The superuser answer of the login (`Some(false)` when it carried rules and no answer).
    pub fn superuser(&self) -> Option<bool> {
        self.superuser
    }

    /// The rules from the login, if it carried any.
    pub fn rules(&self) -> Option<&ClientRules> {
        self.rules.as_ref()
    }

    /// Returns true if and only if the admitting link is not asked superuser and ACL
    /// questions for this client.
    pub fn replaces_checks(&self) -> bool {
        self.replaces_checks
    }

    /// When the session ends, if it does.
    pub fn expires(&self) -> Option<SystemTime> {
        self.expires
    }

    /// Returns true if and only if the session has ended at `now`.
    pub fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    /// The fingerprint of the credentials the login was checked against.
    pub fn fingerprint(&self) -> Option<u64> {
        self.fingerprint
    }
}

/// The table hashes the client structure's address with FxHash: the broker chooses it, no
/// client can, so SipHash's protection is not needed on this lookup of every ACL check.
type Table = HashMap<ClientKey, Slot, rustc_hash::FxBuildHasher>;

#[derive(Debug)]
enum Slot {
    /// A CONNECT whose answer is not known yet.
    Pending(u64),
    Live(Arc<Session>),
}

/// The sessions of one plugin instance, by client structure.
#[derive(Debug)]
pub struct Sessions {
    slots: Mutex<Table>,
    next_token: AtomicU64,
    /// The earliest end of any live session, in milliseconds since 1970 (`u64::MAX`: none), so
    /// the broker's tick looks at the table only when a session may have ended.
    earliest: AtomicU64,
    /// The most sessions held (0: no limit): with plugin API v4 no disconnect is reported.
    max: usize,
}

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::with_limit(0)
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Sessions {
    /// A table holding at most `max` entries (0: no limit).
    pub fn with_limit(max: usize) -> Sessions {
        Sessions {
            slots: Mutex::default(),
            next_token: AtomicU64::new(0),
            earliest: AtomicU64::new(u64::MAX),
            max,
        }
    }

    fn slots(&self) -> MutexGuard<'_, Table> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A CONNECT on `client`: forgets its previous session and returns the token that
    /// [`Sessions::finish`] needs. `None` when the table is full (the login is refused).
    pub fn begin(&self, client: ClientKey) -> Option<u64> {
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.slots();
        if self.max > 0 && slots.len() >= self.max && !slots.contains_key(&client) {
            return None;
        }
        slots.insert(client, Slot::Pending(token));
        Some(token)
    }

    /// The answer to the CONNECT that got `token`: stores the session (or none). Returns false,
    /// storing nothing, when the client disconnected or connected again since.
    pub fn finish(&self, client: ClientKey, token: u64, session: Option<Session>) -> bool {
        let mut slots = self.slots();
        match slots.get(&client) {
            Some(Slot::Pending(t)) if *t == token => {}
            _ => return false,
        }
        match session {
            Some(s) => {
                if let Some(e) = s.expires {
                    self.earliest.fetch_min(millis(e), Ordering::Relaxed);
                }
                slots.insert(client, Slot::Live(Arc::new(s)))
            }
            None => slots.remove(&client),
        };
        true
    }

    /// Returns true if and only if some session may have ended at `now` (cheap: no lock).
    pub fn may_have_expired(&self, now: SystemTime) -> bool {
        self.earliest.load(Ordering::Relaxed) <= millis(now)
    }

    /// The session of `client`, if it has one made for these names.
    pub fn get(
        &self,
        client: ClientKey,
        username: Option<&str>,
        client_id: &str,
    ) -> Option<Arc<Session>> {
        match self.slots().get(&client) {
            Some(Slot::Live(s)) if s.is_for(username, client_id) => Some(s.clone()),
            _ => None,
        }
    }

    /// Calls `f` with the session of `client` if it has one made for these names (the
    /// broker's bytes), under the table's lock: `f` must not call back into the table.
    pub fn with<'a, N: BrokerName<'a>, R>(
        &self,
        client: ClientKey,
        username: Option<N>,
        client_id: N,
        f: impl FnOnce(&Arc<Session>) -> R,
    ) -> Option<R> {
        match self.slots().get(&client) {
            Some(Slot::Live(s)) if s.is_for_bytes(username, client_id) => Some(f(s)),
            _ => None,
        }
    }

    /// Replaces every live session's checks decided in advance with what `compile` makes of
    /// it now (after a backend's data changed).
    pub fn recompile(&self, mut compile: impl FnMut(&Session) -> Option<Compiled>) {
        let mut slots = self.slots();
        for slot in slots.values_mut() {
            if let Slot::Live(s) = slot {
                let compiled = compile(s);
                *s = Arc::new(Session::clone(s).with_compiled(compiled));
            }
        }
    }

    /// The client disconnected.
    pub fn remove(&self, client: ClientKey) {
        self.slots().remove(&client);
    }

    /// Takes out every session for which `end` is true, and returns them.
    pub fn take(&self, mut end: impl FnMut(&Session) -> bool) -> Vec<Arc<Session>> {
        let mut out = Vec::new();
        let mut earliest = u64::MAX;
        let mut slots = self.slots();
        slots.retain(|_, slot| match slot {
            Slot::Live(s) if end(s) => {
                out.push(s.clone());
                false
            }
            Slot::Live(s) => {
                if let Some(e) = s.expires {
                    earliest = earliest.min(millis(e));
                }
                true
            }
            Slot::Pending(_) => true,
        });
        self.earliest.store(earliest, Ordering::Relaxed);
        out
    }

    /// The number of live sessions.
    pub fn len(&self) -> usize {
        self.slots()
            .values()
            .filter(|s| matches!(s, Slot::Live(_)))
            .count()
    }

    /// Returns true if and only if no session is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The earliest end of any live session.
    pub fn next_expiry(&self) -> Option<SystemTime> {
        self.slots()
            .values()
            .filter_map(|s| match s {
                Slot::Live(s) => s.expires,
                Slot::Pending(_) => None,
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn grant(expires: Option<SystemTime>) -> Grant {
        Grant {
            expires,
            ..Grant::default()
        }
    }

    #[test]
    fn a_reused_client_structure_never_sees_the_old_session() {
        let t = Sessions::default();
        let tok = t.begin(1).unwrap();
        assert!(t.finish(1, tok, Some(Session::new(Some("a"), "c1", 0, &grant(None)))));
        assert!(t.get(1, Some("a"), "c1").is_some());
        // Other names on the same structure: not this session.
        assert!(t.get(1, Some("b"), "c1").is_none());
        assert!(t.get(1, Some("a"), "c2").is_none());
        assert!(t.get(1, None, "c1").is_none());
        // A new CONNECT on the structure forgets the old session at once.
        let tok2 = t.begin(1).unwrap();
        assert!(t.get(1, Some("a"), "c1").is_none());
        // A late answer for the first CONNECT is dropped; the second one's is kept.
        assert!(!t.finish(1, tok, Some(Session::new(Some("a"), "c1", 0, &grant(None)))));
        assert!(t.finish(
            1,
            tok2,
            Some(Session::new(Some("b"), "c1", 0, &grant(None)))
        ));
        assert!(t.get(1, Some("b"), "c1").is_some());
        // A disconnect while a login is parked: its answer is dropped.
        let tok3 = t.begin(2).unwrap();
        t.remove(2);
        assert!(!t.finish(2, tok3, Some(Session::new(Some("x"), "y", 0, &grant(None)))));
        assert_eq!(t.len(), 1);
        t.remove(1);
        assert!(t.is_empty());
    }

    /// A name the broker holds at an address (`at` 0: the plain bytes, never trusted by address).
    #[derive(Clone, Copy)]
    struct Held<'a> {
        text: &'a [u8],
        at: usize,
        compared: &'a std::cell::Cell<usize>,
    }

    impl<'a> BrokerName<'a> for Held<'a> {
        fn is(self, text: &[u8]) -> bool {
            self.compared.set(self.compared.get() + 1);
            self.text == text
        }
        fn bytes(self) -> &'a [u8] {
            self.text
        }
        fn addr(self) -> usize {
            self.at
        }
    }

    #[test]
    fn names_are_trusted_by_address_only_where_they_matched() {
        let compared = std::cell::Cell::new(0);
        let held = |text: &'static str, at| Held {
            text: text.as_bytes(),
            at,
            compared: &compared,
        };
        let s = Session::new(Some("alice"), "c1", 0, &grant(None));
        // Compared once, then known by where the broker holds the names.
        assert!(s.is_for_bytes(Some(held("alice", 0x20)), held("c1", 0x10)));
        assert_eq!(compared.get(), 2);
        assert!(s.is_for_bytes(Some(held("alice", 0x20)), held("c1", 0x10)));
        assert_eq!(compared.get(), 2, "no comparison at the same addresses");
        // A name at another address is compared, and refused when it differs.
        assert!(!s.is_for_bytes(Some(held("mallory", 0x30)), held("c1", 0x10)));
        assert!(
            !s.is_for_bytes(None, held("c1", 0x10)),
            "the username went away"
        );
        assert!(!s.is_for_bytes(Some(held("alice", 0x20)), held("c2", 0x18)));
        // Names without an address are always compared.
        let before = compared.get();
        assert!(s.is_for_bytes(Some(held("alice", 0)), held("c1", 0)));
        assert!(!s.is_for_bytes(Some(held("bob", 0)), held("c1", 0)));
        assert!(compared.get() > before + 1);
        // A copy (a recompiled session) compares again.
        let copy = s.clone();
        let before = compared.get();
        assert!(copy.is_for_bytes(Some(held("alice", 0x20)), held("c1", 0x10)));
        assert_eq!(compared.get(), before + 2);
    }

    #[test]
    fn expired_sessions_are_taken_out() {
        let t = Sessions::default();
        let now = SystemTime::now();
        for (key, exp) in [(1, Some(now - Duration::from_secs(1))), (2, None)] {
            let tok = t.begin(key).unwrap();
            t.finish(key, tok, Some(Session::new(Some("u"), "c", 0, &grant(exp))));
        }
        assert_eq!(t.next_expiry(), Some(now - Duration::from_secs(1)));
        assert!(t.may_have_expired(now));
        let gone = t.take(|s| s.expired(now));
        assert_eq!(gone.len(), 1);
        assert!(!t.may_have_expired(now), "no session with an end is left");
        assert_eq!(t.len(), 1);
        assert!(t.get(2, Some("u"), "c").is_some());
    }

    #[test]
    fn a_full_table_refuses_new_clients_only() {
        let t = Sessions::with_limit(1);
        assert!(t.begin(1).is_some());
        assert!(t.begin(2).is_none());
        assert!(t.begin(1).is_some(), "the same structure again");
    }
}
