//! The one mapping from the core's outcomes to the broker's return codes.

use std::os::raw::c_int;

use super::sys::mosq_err_t::*;
use crate::chain::Outcome;

/// `MOSQ_ERR_AUTH_DELAYED` (Mosquitto 2.1's `include/mosquitto/defs.h`; absent from 2.0's
/// headers that the bindings are made from): the answer comes later.
pub const AUTH_DELAYED: c_int = -5;

/// The return code of a password check.
///
/// A backend error refuses the client with CONNACK "not authorised" (fail closed) rather than
/// `MOSQ_ERR_UNKNOWN`, which would drop the connection without a CONNACK.
pub fn auth(outcome: Outcome) -> c_int {
    match outcome {
        Outcome::Allow => MOSQ_ERR_SUCCESS,
        Outcome::Deny | Outcome::Error => MOSQ_ERR_AUTH,
        Outcome::Defer => MOSQ_ERR_PLUGIN_DEFER,
    }
}

/// The return code of an ACL check. A refusal is always `MOSQ_ERR_ACL_DENIED`, which never
/// disconnects the client (a v5 client sees reason 0x87).
pub fn acl(outcome: Outcome) -> c_int {
    match outcome {
        Outcome::Allow => MOSQ_ERR_SUCCESS,
        Outcome::Deny | Outcome::Error => MOSQ_ERR_ACL_DENIED,
        Outcome::Defer => MOSQ_ERR_PLUGIN_DEFER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_fail_closed() {
        assert_eq!(auth(Outcome::Error), 11);
        assert_eq!(acl(Outcome::Error), 12);
        assert_eq!(auth(Outcome::Defer), 17);
        assert_eq!(acl(Outcome::Allow), 0);
    }
}
