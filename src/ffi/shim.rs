//! What v4 and v5 callbacks have in common: broker data in, one typed request, the chain's
//! outcome out as a broker return code. No raw pointers here (see [`super::convert`]).

use std::os::raw::c_int;

use super::rc;
use crate::chain::Outcome;
use crate::plugin::{Connect, Plugin};
use crate::request::{AclRequest, AuthRequest, Undecodable};
use crate::secret::Secret;

/// A password check. `username` is `None` for a client that sent none (anonymous), `password`
/// `None` for a client that sent none or an empty one. `parkable`: the broker can take the
/// answer later (a client's CONNECT on 2.1). A parked login returns [`rc::AUTH_DELAYED`];
/// [`tick`] completes it.
pub fn basic_auth(
    plugin: &Plugin,
    username: Option<&[u8]>,
    password: Option<&[u8]>,
    client_id: Option<&[u8]>,
    parkable: bool,
) -> c_int {
    let password = Secret::new(password.unwrap_or_default());
    let client_id = client_id.unwrap_or_default();
    let connect = match username.map(|u| AuthRequest::decode(u, &password, client_id)) {
        None => plugin.connect(None, parkable),
        Some(Ok(req)) => plugin.connect(Some(&req), parkable),
        Some(Err(_)) => {
            plugin.logger().info(format_args!(
                "auth: username or client id is not UTF-8, refusing"
            ));
            Connect::Now(Outcome::Deny)
        }
    };
    match connect {
        Connect::Now(outcome) => rc::auth(outcome),
        Connect::Parked => rc::AUTH_DELAYED,
    }
}

/// The broker's tick: completes the parked logins that were decided (or ran out of time).
/// Returns the milliseconds until the broker should tick again: short while logins wait.
pub fn tick(plugin: &Plugin, complete: impl Fn(&str, c_int)) -> Option<u32> {
    for (client_id, outcome) in plugin.finished_logins(std::time::Instant::now()) {
        complete(&client_id, rc::auth(outcome));
    }
    (plugin.logins_waiting() > 0).then_some(2)
}

/// An ACL check; `access` is the broker's code (1 read, 2 write, 4 subscribe, 8 unsubscribe).
/// A missing topic is refused.
pub fn acl_check(
    plugin: &Plugin,
    username: Option<&[u8]>,
    client_id: Option<&[u8]>,
    topic: Option<&[u8]>,
    access: c_int,
) -> c_int {
    let Some(topic) = topic else {
        return rc::acl(Outcome::Deny);
    };
    let outcome = match AclRequest::decode(username, client_id.unwrap_or_default(), topic, access) {
        Ok(req) => plugin.chain().acl(&req, None),
        Err(Undecodable::UnknownAccess(code)) => {
            plugin
                .logger()
                .warning(format_args!("acl: unknown access code {code}, refusing"));
            Outcome::Deny
        }
        Err(Undecodable::NotUtf8) => Outcome::Deny,
    };
    rc::acl(outcome)
}
