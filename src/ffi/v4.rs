//! Plugin API v4 (Mosquitto 1.6; on 2.x only when `MOSQ_AUTH_PLUGIN_API=4` is set).

use std::os::raw::{c_char, c_int, c_void};

use super::broker;
use super::convert::{self, cstr, nonempty};
use super::guard::guard;
use super::shim;
use super::sys::mosq_err_t::*;
use super::sys::{mosquitto, mosquitto_acl_msg, mosquitto_opt};
use crate::plugin::Plugin;

/// Always 4: Mosquitto 1.6 calls only this to pick the API.
#[no_mangle]
pub extern "C" fn mosquitto_auth_plugin_version() -> c_int {
    4
}

/// Validates the options and builds the backends.
///
/// # Safety
/// Arguments as documented in mosquitto_plugin.h (v4).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_auth_plugin_init(
    user_data: *mut *mut c_void,
    opts: *mut mosquitto_opt,
    opt_count: c_int,
) -> c_int {
    guard("mosquitto_auth_plugin_init", MOSQ_ERR_UNKNOWN, || {
        if user_data.is_null() {
            return MOSQ_ERR_INVAL;
        }
        // SAFETY: the broker passes `opt_count` options.
        let options = unsafe { convert::options(opts, opt_count) };
        let Some(mut plugin) = super::new_plugin(&options) else {
            return MOSQ_ERR_INVAL;
        };
        // No disconnect is reported through this API: sessions of clients that left stay
        // until their client structure is reused, so the table is bounded.
        plugin.limit_sessions(crate::plugin::V4_MAX_SESSIONS);
        // SAFETY: checked non-NULL.
        unsafe { convert::store_userdata(user_data, convert::into_userdata(plugin)) };
        MOSQ_ERR_SUCCESS
    })
}

/// Frees the instance.
///
/// # Safety
/// `user_data` must be what `mosquitto_auth_plugin_init` stored.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_auth_plugin_cleanup(
    user_data: *mut c_void,
    _opts: *mut mosquitto_opt,
    _opt_count: c_int,
) -> c_int {
    guard("mosquitto_auth_plugin_cleanup", MOSQ_ERR_SUCCESS, || {
        // SAFETY: from init, not used again.
        unsafe { convert::free_userdata::<Plugin>(user_data) };
        crate::log::flush();
        MOSQ_ERR_SUCCESS
    })
}

/// Called at start-up and, with `reload` true, on SIGHUP: re-reads the files.
///
/// # Safety
/// `user_data` must be what `mosquitto_auth_plugin_init` stored.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_auth_security_init(
    user_data: *mut c_void,
    _opts: *mut mosquitto_opt,
    _opt_count: c_int,
    reload: bool,
) -> c_int {
    guard("mosquitto_auth_security_init", MOSQ_ERR_SUCCESS, || {
        if reload {
            // SAFETY: from init.
            if let Some(p) = unsafe { convert::userdata::<Plugin>(user_data) } {
                p.reload();
            }
        }
        MOSQ_ERR_SUCCESS
    })
}

/// Nothing to do: state is kept across reloads and freed in `mosquitto_auth_plugin_cleanup`.
#[no_mangle]
pub extern "C" fn mosquitto_auth_security_cleanup(
    _user_data: *mut c_void,
    _opts: *mut mosquitto_opt,
    _opt_count: c_int,
    _reload: bool,
) -> c_int {
    MOSQ_ERR_SUCCESS
}

/// An ACL check.
///
/// # Safety
/// Arguments as documented in mosquitto_plugin.h (v4).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_auth_acl_check(
    user_data: *mut c_void,
    access: c_int,
    client: *mut mosquitto,
    msg: *const mosquitto_acl_msg,
) -> c_int {
    guard("acl check", MOSQ_ERR_ACL_DENIED, || {
        // SAFETY: from init; msg and client valid for the call.
        let (Some(p), Some(msg)) = (unsafe { convert::userdata::<Plugin>(user_data) }, unsafe {
            msg.as_ref()
        }) else {
            return MOSQ_ERR_ACL_DENIED;
        };
        // SAFETY: valid for the call.
        let (username, client_id, topic) = unsafe {
            (
                broker::client_username(client),
                broker::client_id_name(client),
                cstr(msg.topic),
            )
        };
        shim::acl_check(
            p,
            client as usize,
            username,
            client_id,
            topic,
            access,
            msg.qos as u8,
            msg.retain,
        )
    })
}

/// A password check.
///
/// # Safety
/// Arguments as documented in mosquitto_plugin.h (v4).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_auth_unpwd_check(
    user_data: *mut c_void,
    client: *mut mosquitto,
    username: *const c_char,
    password: *const c_char,
) -> c_int {
    guard("password check", MOSQ_ERR_AUTH, || {
        // SAFETY: from init.
        let Some(p) = (unsafe { convert::userdata::<Plugin>(user_data) }) else {
            return MOSQ_ERR_AUTH;
        };
        // SAFETY: strings and client valid for the call.
        let (username, password, client_id) = unsafe {
            (
                cstr(username),
                nonempty(password),
                broker::client_id(client),
            )
        };
        shim::basic_auth(p, client as usize, username, password, client_id, false)
    })
}

/// TLS-PSK keys are not ours: defer to the broker's `psk_file` or another plugin.
#[no_mangle]
pub extern "C" fn mosquitto_auth_psk_key_get(
    _user_data: *mut c_void,
    _client: *mut mosquitto,
    _hint: *const c_char,
    _identity: *const c_char,
    _key: *mut c_char,
    _max_key_len: c_int,
) -> c_int {
    MOSQ_ERR_PLUGIN_DEFER
}
