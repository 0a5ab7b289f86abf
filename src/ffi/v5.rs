//! Plugin API v5 (Mosquitto 2.x): version negotiation, init/cleanup and the callbacks.

use std::os::raw::{c_int, c_void};

use super::broker::{self, Callback};
use super::convert::{self, cstr, nonempty, CName};
use super::guard::guard;
use super::shim;
use super::sys::mosq_err_t::*;
use super::sys::mosquitto_plugin_event::*;
use super::sys::{
    mosquitto_evt_acl_check, mosquitto_evt_basic_auth, mosquitto_evt_disconnect,
    mosquitto_evt_tick, mosquitto_opt, mosquitto_plugin_id_t,
};
use crate::plugin::Plugin;

/// One v5 plugin instance: the core plus the identifier needed to unregister callbacks.
struct Instance {
    plugin: Plugin,
    id: *mut mosquitto_plugin_id_t,
}

/// `MOSQ_EVT_CLIENT_OFFLINE`, Mosquitto 2.1 only (not in 2.0's headers): a client left and
/// its persistent session stays. Its event data has the layout of `mosquitto_evt_disconnect`.
const MOSQ_EVT_CLIENT_OFFLINE: u32 = 28;

const EVENTS: [(u32, Callback); 6] = [
    (MOSQ_EVT_BASIC_AUTH, on_basic_auth),
    (MOSQ_EVT_ACL_CHECK, on_acl_check),
    (MOSQ_EVT_RELOAD, on_reload),
    (MOSQ_EVT_DISCONNECT, on_disconnect),
    (MOSQ_EVT_TICK, on_tick),
    (MOSQ_EVT_CLIENT_OFFLINE, on_disconnect),
];

/// Events a broker may not offer (2.0 has no `MOSQ_EVT_CLIENT_OFFLINE`): their registration
/// may fail without stopping the broker.
fn optional(event: u32) -> bool {
    event == MOSQ_EVT_TICK || event == MOSQ_EVT_CLIENT_OFFLINE
}

/// Picks the plugin API: 5 when offered, unless `MOSQ_AUTH_PLUGIN_API=4` asks for the v4
/// functions (to test the Mosquitto 1.6 path on a 2.x broker).
///
/// # Safety
/// `supported` must point to `count` integers (the broker's offer).
#[no_mangle]
pub unsafe extern "C" fn mosquitto_plugin_version(count: c_int, supported: *const c_int) -> c_int {
    guard("mosquitto_plugin_version", -1, || {
        // SAFETY: the broker passes `count` integers.
        let offered = unsafe { convert::ints(supported, count) };
        let want_v4 = std::env::var(super::API_ENV)
            .map(|v| v.trim() == "4")
            .unwrap_or(false);
        let order: &[c_int] = if want_v4 { &[4, 5] } else { &[5, 4] };
        order
            .iter()
            .copied()
            .find(|v| offered.contains(v))
            .unwrap_or(-1)
    })
}

/// Validates the options, builds the backends and registers the callbacks. Any problem is
/// logged and returns an error, so the broker refuses to start.
///
/// # Safety
/// Arguments as documented in mosquitto_plugin.h.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_plugin_init(
    identifier: *mut mosquitto_plugin_id_t,
    userdata: *mut *mut c_void,
    options: *mut mosquitto_opt,
    option_count: c_int,
) -> c_int {
    guard("mosquitto_plugin_init", MOSQ_ERR_UNKNOWN, || {
        if userdata.is_null() {
            return MOSQ_ERR_INVAL;
        }
        // SAFETY: the broker passes `option_count` options.
        let opts = unsafe { convert::options(options, option_count) };
        let Some(mut plugin) = super::new_plugin(&opts) else {
            return MOSQ_ERR_INVAL;
        };
        if broker::can_complete_basic_auth() {
            if let Err(e) = plugin.enable_parking() {
                plugin.logger().error(format_args!(
                    "cannot start the login worker threads, every CONNECT is answered on the broker's thread: {e}"
                ));
            }
        }
        let ud = convert::into_userdata(Instance {
            plugin,
            id: identifier,
        });
        for (event, cb) in EVENTS {
            // SAFETY: `identifier` is the broker's; `ud` lives until cleanup.
            let rc = unsafe { broker::register(identifier, event, cb, ud) };
            if rc != MOSQ_ERR_SUCCESS && !optional(event) {
                crate::log::Logger::default().error(format_args!(
                    "cannot register callback for event {event}: error {rc}"
                ));
                // SAFETY: unregister what was registered, then free our own allocation.
                unsafe {
                    for (e, c) in EVENTS {
                        broker::unregister(identifier, e, c);
                    }
                    convert::free_userdata::<Instance>(ud);
                }
                return MOSQ_ERR_UNKNOWN;
            }
        }
        // SAFETY: checked non-NULL above.
        unsafe { convert::store_userdata(userdata, ud) };
        MOSQ_ERR_SUCCESS
    })
}

/// Unregisters the callbacks and frees the instance (stopping its background threads).
///
/// # Safety
/// `userdata` must be what `mosquitto_plugin_init` stored.
#[no_mangle]
pub unsafe extern "C" fn mosquitto_plugin_cleanup(
    userdata: *mut c_void,
    _options: *mut mosquitto_opt,
    _option_count: c_int,
) -> c_int {
    guard("mosquitto_plugin_cleanup", MOSQ_ERR_SUCCESS, || {
        // SAFETY: `userdata` came from init.
        if let Some(inst) = unsafe { convert::userdata::<Instance>(userdata) } {
            for (event, cb) in EVENTS {
                // SAFETY: same identifier and callbacks as at registration.
                unsafe { broker::unregister(inst.id, event, cb) };
            }
        }
        // SAFETY: not used again by the broker after cleanup.
        unsafe { convert::free_userdata::<Instance>(userdata) };
        crate::log::flush();
        MOSQ_ERR_SUCCESS
    })
}

unsafe extern "C" fn on_basic_auth(
    _event: c_int,
    event_data: *mut c_void,
    userdata: *mut c_void,
) -> c_int {
    guard("basic auth", MOSQ_ERR_AUTH, || {
        // SAFETY: userdata is our Instance; event_data is a mosquitto_evt_basic_auth.
        let (Some(inst), Some(ed)) = (unsafe { convert::userdata::<Instance>(userdata) }, unsafe {
            convert::event::<mosquitto_evt_basic_auth>(event_data)
        }) else {
            return MOSQ_ERR_AUTH;
        };
        // SAFETY: strings owned by the broker for the duration of the call.
        let (username, password, client_id, address) = unsafe {
            (
                cstr(ed.username),
                nonempty(ed.password),
                broker::client_id(ed.client),
                broker::client_address(ed.client),
            )
        };
        // A client's CONNECT has a peer address; 2.1's HTTP API checks its own credentials
        // through a context without one, and needs the answer at once.
        let parkable = address.is_some();
        let client = ed.client as usize;
        shim::basic_auth(
            &inst.plugin,
            client,
            username,
            password,
            client_id,
            parkable,
        )
    })
}

unsafe extern "C" fn on_acl_check(
    _event: c_int,
    event_data: *mut c_void,
    userdata: *mut c_void,
) -> c_int {
    guard("acl check", MOSQ_ERR_ACL_DENIED, || {
        // SAFETY: userdata is our Instance; event_data is a mosquitto_evt_acl_check.
        let (Some(inst), Some(ed)) = (unsafe { convert::userdata::<Instance>(userdata) }, unsafe {
            convert::event::<mosquitto_evt_acl_check>(event_data)
        }) else {
            return MOSQ_ERR_ACL_DENIED;
        };
        // SAFETY: the client and topic are valid for the duration of the call.
        let (username, client_id, topic) = unsafe {
            (
                broker::client_username(ed.client).map(CName::reported),
                broker::client_id_name(ed.client).map(CName::reported),
                cstr(ed.topic),
            )
        };
        shim::acl_check(
            &inst.plugin,
            ed.client as usize,
            username,
            client_id,
            topic,
            ed.access,
            ed.qos,
            ed.retain,
        )
    })
}

unsafe extern "C" fn on_reload(
    _event: c_int,
    _event_data: *mut c_void,
    userdata: *mut c_void,
) -> c_int {
    guard("reload", MOSQ_ERR_SUCCESS, || {
        // SAFETY: userdata is our Instance.
        if let Some(inst) = unsafe { convert::userdata::<Instance>(userdata) } {
            inst.plugin.reload();
        }
        MOSQ_ERR_SUCCESS
    })
}

/// A client left (`MOSQ_EVT_DISCONNECT`; on 2.1 also `MOSQ_EVT_CLIENT_OFFLINE`): its session
/// is dropped.
unsafe extern "C" fn on_disconnect(
    _event: c_int,
    event_data: *mut c_void,
    userdata: *mut c_void,
) -> c_int {
    guard("disconnect", MOSQ_ERR_SUCCESS, || {
        // SAFETY: userdata is our Instance; event_data is a mosquitto_evt_disconnect (2.1's
        // mosquitto_evt_client_offline has the same layout).
        if let (Some(inst), Some(ed)) =
            (unsafe { convert::userdata::<Instance>(userdata) }, unsafe {
                convert::event::<mosquitto_evt_disconnect>(event_data)
            })
        {
            shim::disconnected(&inst.plugin, ed.client as usize);
        }
        MOSQ_ERR_SUCCESS
    })
}

/// Completes parked logins (Mosquitto 2.1) and asks for the next tick soon while any wait.
unsafe extern "C" fn on_tick(
    _event: c_int,
    event_data: *mut c_void,
    userdata: *mut c_void,
) -> c_int {
    guard("tick", MOSQ_ERR_SUCCESS, || {
        // SAFETY: userdata is our Instance; event_data is a mosquitto_evt_tick.
        let (Some(inst), Some(ed)) = (unsafe { convert::userdata::<Instance>(userdata) }, unsafe {
            convert::event_mut::<mosquitto_evt_tick>(event_data)
        }) else {
            return MOSQ_ERR_SUCCESS;
        };
        let tick = shim::tick(
            &inst.plugin,
            broker::complete_basic_auth,
            broker::kick_client,
        );
        if let Some(ms) = tick {
            // 2.1 reads this field as `next_ms` (2.0's header calls it `next_ns`; 2.0 never
            // parks a login, so it never gets here with one waiting).
            ed.next_ns = ms as _;
        }
        MOSQ_ERR_SUCCESS
    })
}
