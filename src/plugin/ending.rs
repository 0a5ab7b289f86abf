//! Sessions that end while their clients are connected: `expire_at` passed, or (with
//! `disconnect_revoked`) a backend reloaded and no longer holds the credentials the client was
//! admitted with. The broker's tick asks; the FFI layer disconnects the clients. The same tick
//! compiles the sessions' checks again when a backend's data changed.

use std::sync::Arc;
use std::time::SystemTime;

use super::Plugin;
use crate::backend::Backend;
use crate::session::Session;

impl Plugin {
    /// The sessions that must end now, taken out of the table: expired ones, and (with
    /// `disconnect_revoked`) those whose credentials a backend no longer holds since it
    /// reloaded. One log line each. The caller disconnects the clients (broker's thread, no
    /// lock held).
    ///
    /// After a backend's data changed, the remaining sessions' checks are compiled again (until
    /// then they take the chain's normal path).
    pub fn ended_sessions(&self, now: SystemTime) -> Vec<Arc<Session>> {
        let changed = self.changed_links();
        let ended = self.end_sessions(now, &changed);
        if !changed.is_empty() {
            self.sessions.recompile(|s| self.chain.compile(s));
        }
        ended
    }

    fn end_sessions(&self, now: SystemTime, changed: &[usize]) -> Vec<Arc<Session>> {
        let changed: &[usize] = if self.disconnect_revoked {
            changed
        } else {
            &[]
        };
        // The broker ticks on every loop: look at the table only when something may end.
        if changed.is_empty() && !self.sessions.may_have_expired(now) {
            return Vec::new();
        }
        let links = self.chain.links();
        let ended = self.sessions.take(|s| {
            s.expired(now)
                || (changed.contains(&s.link())
                    && s.fingerprint().is_some()
                    && links[s.link()].fingerprint(s.username().unwrap_or_default())
                        != s.fingerprint())
        });
        for s in &ended {
            let user = s.username().unwrap_or("(anonymous)");
            let why = if s.expired(now) {
                "its session expired (expire_at)".to_string()
            } else {
                let name = links[s.link()].name();
                match links[s.link()].fingerprint(user) {
                    None => format!("the user is no longer in backend {name}"),
                    Some(_) => format!("the user's password changed in backend {name}"),
                }
            };
            self.logger.notice(format_args!(
                "session: disconnecting client '{}' (user '{user}'): {why}",
                s.client_id()
            ));
        }
        ended
    }

    /// The links whose data changed since the last call.
    fn changed_links(&self) -> Vec<usize> {
        let mut seen = self
            .checked_generations
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut changed = Vec::new();
        for (i, link) in self.chain.links().iter().enumerate() {
            let g = link.generation();
            if seen.get(i) != Some(&g) {
                changed.push(i);
                if let Some(slot) = seen.get_mut(i) {
                    *slot = g;
                }
            }
        }
        changed
    }
}
