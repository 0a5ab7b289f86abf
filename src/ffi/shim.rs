//! What v4 and v5 callbacks have in common: broker data in, one typed request, the chain's
//! outcome out as a broker return code. No raw pointers here (see [`super::convert`]).

use std::os::raw::c_int;

use super::convert::text;
use super::rc;
use crate::chain::Outcome;
use crate::plugin::{Connect, Plugin, Undecided};
use crate::request::{Access, AclRequest, AuthRequest, Undecodable};
use crate::secret::Secret;
use crate::session::{BrokerName, ClientKey};

/// A password check of the client structure `client` (its address: the key of its session).
/// `username` is `None` for a client that sent none (anonymous), `password`
/// `None` for a client that sent none or an empty one. `parkable`: the broker can take the
/// answer later (a client's CONNECT on 2.1). A parked login returns [`rc::AUTH_DELAYED`];
/// [`tick`] completes it.
pub fn basic_auth(
    plugin: &Plugin,
    client: ClientKey,
    username: Option<&[u8]>,
    password: Option<&[u8]>,
    client_id: Option<&[u8]>,
    parkable: bool,
) -> c_int {
    let password = Secret::new(password.unwrap_or_default());
    let client_id = client_id.unwrap_or_default();
    let connect = match username.map(|u| AuthRequest::decode(u, &password, client_id)) {
        // An anonymous client's client id that is not UTF-8 never matches its session (its
        // checks are refused on the decoding path).
        None => {
            let client_id = std::str::from_utf8(client_id).unwrap_or_default();
            plugin.connect(client, client_id, None, parkable)
        }
        Some(Ok(req)) => plugin.connect(client, req.client_id, Some(&req), parkable),
        Some(Err(_)) => {
            plugin.disconnected(client);
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

/// The broker's tick: completes the parked logins that were decided (or ran out of time), then
/// disconnects the clients whose sessions ended (`kick`, by client id; the session is already
/// gone, so the disconnect event that follows finds nothing). Returns the milliseconds until
/// the broker should tick again: short while logins wait.
pub fn tick(plugin: &Plugin, complete: impl Fn(&str, c_int), kick: impl Fn(&str)) -> Option<u32> {
    for (client_id, outcome) in plugin.finished_logins(std::time::Instant::now()) {
        complete(&client_id, rc::auth(outcome));
    }
    for session in plugin.ended_sessions(std::time::SystemTime::now()) {
        // The broker cannot kick a client without an id (nor would one have a session).
        if !session.client_id().is_empty() {
            kick(session.client_id());
        }
    }
    (plugin.logins_waiting() > 0).then_some(2)
}

/// A client disconnected or went offline: its session is dropped.
pub fn disconnected(plugin: &Plugin, client: ClientKey) {
    plugin.disconnected(client);
}

/// An ACL check of the client structure `client`; `access` is the broker's code (1 read, 2
/// write, 4 subscribe, 8 unsubscribe), `qos` and `retain` the message's. A missing topic is
/// refused. Decided from the client's session when it can be ([`Plugin::acl_compiled`]),
/// else decoded (UTF-8 checked) and asked of the chain.
#[allow(clippy::too_many_arguments)] // the broker's fields, one by one
pub fn acl_check<'a, N: BrokerName<'a>>(
    plugin: &Plugin,
    client: ClientKey,
    username: Option<N>,
    client_id: Option<N>,
    topic: Option<&[u8]>,
    access: c_int,
    qos: u8,
    retain: bool,
) -> c_int {
    let Some(topic) = topic else {
        return rc::acl(Outcome::Deny);
    };
    let decoded = Access::from_code(access);
    let undecided = match (decoded, client_id) {
        (Some(access), Some(id)) => {
            match plugin.acl_compiled(client, username, id, topic, access, qos, retain) {
                Ok(outcome) => return rc::acl(outcome),
                Err(undecided) => undecided,
            }
        }
        // No client id (never seen from a broker): the normal path decides.
        _ => Undecided::NotLooked,
    };
    let outcome = match (&undecided, decoded) {
        // The session found holds the client's names (compared with the broker's), already
        // text: only the topic is read.
        (Undecided::Found(Some(s)), Some(access)) => match text(topic) {
            Some(topic) => {
                let req = AclRequest {
                    username: s.username(),
                    client_id: s.client_id(),
                    topic,
                    access,
                    qos,
                    retain,
                };
                plugin.acl_undecided(client, &req, &undecided)
            }
            None => Outcome::Deny,
        },
        _ => {
            let username = username.map(N::bytes);
            let client_id = client_id.map(N::bytes).unwrap_or_default();
            match AclRequest::decode_with(username, client_id, topic, access, text) {
                Ok(req) => plugin.acl_undecided(client, &req.with_message(qos, retain), &undecided),
                Err(Undecodable::UnknownAccess(code)) => {
                    plugin
                        .logger()
                        .warning(format_args!("acl: unknown access code {code}, refusing"));
                    Outcome::Deny
                }
                Err(Undecodable::NotUtf8) => Outcome::Deny,
            }
        }
    };
    rc::acl(outcome)
}
