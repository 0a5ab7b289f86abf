//! The broker's own functions, looked up in the running process with `dlsym`.
//!
//! Looking them up at run time (instead of linking against undefined symbols) lets the same
//! library be linked into unit tests and the CLI, where there is no broker: every function
//! here then degrades gracefully (logging goes to standard error, client accessors return
//! nothing).

use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_void};

use once_cell::sync::Lazy;

use super::convert::CName;
use super::sys::{
    mosquitto, mosquitto_plugin_id_t, MOSQ_LOG_DEBUG, MOSQ_LOG_ERR, MOSQ_LOG_INFO, MOSQ_LOG_NOTICE,
    MOSQ_LOG_WARNING,
};
use crate::log::Level;

/// A v5 callback as the broker calls it.
pub type Callback =
    unsafe extern "C" fn(event: c_int, event_data: *mut c_void, userdata: *mut c_void) -> c_int;

type LogPrintf = unsafe extern "C" fn(level: c_int, fmt: *const c_char, ...);
type CallbackRegister = unsafe extern "C" fn(
    id: *mut mosquitto_plugin_id_t,
    event: c_int,
    cb: Callback,
    event_data: *const c_void,
    userdata: *mut c_void,
) -> c_int;
type CallbackUnregister = unsafe extern "C" fn(
    id: *mut mosquitto_plugin_id_t,
    event: c_int,
    cb: Callback,
    event_data: *const c_void,
) -> c_int;
type ClientString = unsafe extern "C" fn(client: *const mosquitto) -> *const c_char;
type CompleteBasicAuth = unsafe extern "C" fn(client_id: *const c_char, result: c_int);
type KickClient = unsafe extern "C" fn(client_id: *const c_char, with_will: bool) -> c_int;

struct Functions {
    log_printf: Option<LogPrintf>,
    callback_register: Option<CallbackRegister>,
    callback_unregister: Option<CallbackUnregister>,
    client_id: Option<ClientString>,
    client_username: Option<ClientString>,
    client_address: Option<ClientString>,
    /// Mosquitto 2.1 only: absent in 2.0 and 1.6, hence looked up, never linked.
    complete_basic_auth: Option<CompleteBasicAuth>,
    /// Mosquitto 2.0 and 2.1.
    kick_client: Option<KickClient>,
}

fn lookup(name: &str) -> *mut c_void {
    let Ok(name) = CString::new(name) else {
        return std::ptr::null_mut();
    };
    // SAFETY: dlsym with RTLD_DEFAULT and a valid C string only reads the symbol tables.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) }
}

macro_rules! symbol {
    ($name:literal, $ty:ty) => {
        // SAFETY: the broker exports this symbol with exactly this C signature
        // (mosquitto_broker.h).
        unsafe { super::convert::function::<$ty>(lookup($name)) }
    };
}

static FUNCTIONS: Lazy<Functions> = Lazy::new(|| Functions {
    log_printf: symbol!("mosquitto_log_printf", LogPrintf),
    callback_register: symbol!("mosquitto_callback_register", CallbackRegister),
    callback_unregister: symbol!("mosquitto_callback_unregister", CallbackUnregister),
    client_id: symbol!("mosquitto_client_id", ClientString),
    client_username: symbol!("mosquitto_client_username", ClientString),
    client_address: symbol!("mosquitto_client_address", ClientString),
    complete_basic_auth: symbol!("mosquitto_complete_basic_auth", CompleteBasicAuth),
    kick_client: symbol!("mosquitto_kick_client_by_clientid", KickClient),
});

fn broker_log(level: Level, line: &str) {
    let Some(printf) = FUNCTIONS.log_printf else {
        eprintln!("{}: {line}", level.as_str());
        return;
    };
    let code = match level {
        Level::Error => MOSQ_LOG_ERR,
        Level::Warning => MOSQ_LOG_WARNING,
        Level::Notice => MOSQ_LOG_NOTICE,
        Level::Info => MOSQ_LOG_INFO,
        Level::Debug => MOSQ_LOG_DEBUG,
    } as c_int;
    let line = CString::new(line.replace('\0', "?")).unwrap_or_default();
    // SAFETY: "%s" with one valid C string matches the variadic arguments.
    unsafe { printf(code, c"%s".as_ptr(), line.as_ptr()) };
}

/// Sends the plugin's log lines to the broker's logger (when running inside the broker).
pub fn install_log_sink() {
    crate::log::set_sink(broker_log);
}

/// Registers `cb` for `event`; returns the broker's code (or `MOSQ_ERR_NOT_SUPPORTED` outside
/// a broker).
///
/// # Safety
/// `id` must be the identifier the broker passed to `mosquitto_plugin_init`.
pub unsafe fn register(
    id: *mut mosquitto_plugin_id_t,
    event: u32,
    cb: Callback,
    userdata: *mut c_void,
) -> c_int {
    match FUNCTIONS.callback_register {
        // SAFETY: arguments as documented in mosquitto_broker.h.
        Some(f) => unsafe { f(id, event as c_int, cb, std::ptr::null(), userdata) },
        None => super::sys::mosq_err_t::MOSQ_ERR_NOT_SUPPORTED,
    }
}

/// Unregisters a callback registered with [`register`].
///
/// # Safety
/// As for [`register`].
pub unsafe fn unregister(id: *mut mosquitto_plugin_id_t, event: u32, cb: Callback) -> c_int {
    match FUNCTIONS.callback_unregister {
        // SAFETY: arguments as documented in mosquitto_broker.h.
        Some(f) => unsafe { f(id, event as c_int, cb, std::ptr::null()) },
        None => super::sys::mosq_err_t::MOSQ_ERR_NOT_SUPPORTED,
    }
}

/// The client's id, if the broker can tell.
///
/// # Safety
/// `client` must be NULL or a client pointer the broker passed in this call.
pub unsafe fn client_id<'a>(client: *const mosquitto) -> Option<&'a [u8]> {
    if client.is_null() {
        return None;
    }
    let f = FUNCTIONS.client_id?;
    // SAFETY: `client` is valid for this call; the string lives as long as the client.
    unsafe { super::convert::cstr(f(client)) }
}

/// [`client_id`], not measured (for the ACL check's in-place comparison).
///
/// # Safety
/// As for [`client_id`].
pub unsafe fn client_id_name<'a>(client: *const mosquitto) -> Option<CName<'a>> {
    if client.is_null() {
        return None;
    }
    let f = FUNCTIONS.client_id?;
    // SAFETY: as for client_id.
    unsafe { CName::new(f(client)) }
}

/// The client's username, if it has one, not measured (see [`CName`]).
///
/// # Safety
/// As for [`client_id`].
pub unsafe fn client_username<'a>(client: *const mosquitto) -> Option<CName<'a>> {
    if client.is_null() {
        return None;
    }
    let f = FUNCTIONS.client_username?;
    // SAFETY: as for client_id.
    unsafe { CName::new(f(client)) }
}

/// The client's peer address (none for a context the broker made up, e.g. its HTTP API's).
///
/// # Safety
/// As for [`client_id`].
pub unsafe fn client_address<'a>(client: *const mosquitto) -> Option<&'a [u8]> {
    if client.is_null() {
        return None;
    }
    let f = FUNCTIONS.client_address?;
    // SAFETY: as for client_id.
    unsafe { super::convert::cstr(f(client)) }
}

/// Returns true if and only if the broker can complete a login later (Mosquitto 2.1).
pub fn can_complete_basic_auth() -> bool {
    FUNCTIONS.complete_basic_auth.is_some()
}

/// Completes a login parked with `MOSQ_ERR_AUTH_DELAYED`: `result` 0 admits the client,
/// anything else refuses it. Does nothing for a client that has gone. Broker's thread only.
pub fn complete_basic_auth(client_id: &str, result: c_int) {
    let (Some(f), Ok(id)) = (FUNCTIONS.complete_basic_auth, CString::new(client_id)) else {
        return;
    };
    // SAFETY: a valid C string; the broker looks the id up and ignores unknown ones.
    unsafe { f(id.as_ptr(), result) };
}

/// Disconnects the client with this id (its will is sent, as for any connection that ends
/// without a DISCONNECT). Does nothing for an id no client has, or without a broker. Broker's
/// thread only, and never while holding a lock the disconnect event takes.
pub fn kick_client(client_id: &str) {
    let (Some(f), Ok(id)) = (FUNCTIONS.kick_client, CString::new(client_id)) else {
        return;
    };
    // SAFETY: a valid C string; the broker looks the id up and ignores unknown ones.
    unsafe { f(id.as_ptr(), true) };
}
