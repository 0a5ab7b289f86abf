//! The exported C functions called directly, the way a broker would, with NULL pointers, NULL
//! and empty strings and non-UTF-8 bytes: every call returns a code, none crashes.

use std::ffi::CString;
use std::os::raw::{c_int, c_void};
use std::ptr::{null, null_mut};

use mosq_auth::ffi::sys::mosq_err_t::*;
use mosq_auth::ffi::sys::{mosquitto_acl_msg, mosquitto_opt};
use mosq_auth::ffi::{v4, v5};

struct Opts {
    _strings: Vec<CString>,
    opts: Vec<mosquitto_opt>,
}

fn opts(pairs: &[(&str, &str)]) -> Opts {
    let mut strings = Vec::new();
    let mut opts = Vec::new();
    for (k, v) in pairs {
        let (k, v) = (CString::new(*k).unwrap(), CString::new(*v).unwrap());
        opts.push(mosquitto_opt {
            key: k.as_ptr() as *mut _,
            value: v.as_ptr() as *mut _,
        });
        strings.push(k);
        strings.push(v);
    }
    Opts {
        _strings: strings,
        opts,
    }
}

fn files_plugin() -> (tempfile::TempDir, *mut c_void) {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("passwd");
    std::fs::write(&pw, "alice:$6$Z5MQud/y0Ume9EPH$A8bplGBWKeYFpbDS91/NNGbX80aCaKAEDr7wOhdswPYvOsaiGh446+6IF5fag7EjV8GzirudJsQOV3ubA4sh1Q==\n").unwrap();
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "user alice\ntopic readwrite alice/#\n").unwrap();
    let mut o = opts(&[
        ("backends", "files"),
        ("password_file", pw.to_str().unwrap()),
        ("acl_file", acl.to_str().unwrap()),
        ("reload_interval", "0"),
    ]);
    let mut ud: *mut c_void = null_mut();
    // SAFETY: valid option array and out-pointer.
    let rc = unsafe {
        v4::mosquitto_auth_plugin_init(&mut ud, o.opts.as_mut_ptr(), o.opts.len() as c_int)
    };
    assert_eq!(rc, MOSQ_ERR_SUCCESS);
    assert!(!ud.is_null());
    (dir, ud)
}

#[test]
fn v4_password_checks_with_odd_inputs() {
    let (_dir, ud) = files_plugin();
    let user = CString::new("alice").unwrap();
    // The $6$ hash above is of "user01-pass" (a vector from a real mosquitto_passwd).
    let good = CString::new("user01-pass").unwrap();
    let bad = CString::new("nope").unwrap();
    let empty = CString::new("").unwrap();
    let latin1 = CString::new(vec![0xe9, 0xff]).unwrap();
    // SAFETY: `ud` from init; strings valid or NULL; client NULL (no broker).
    unsafe {
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(ud, null_mut(), user.as_ptr(), good.as_ptr()),
            MOSQ_ERR_SUCCESS
        );
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(ud, null_mut(), user.as_ptr(), bad.as_ptr()),
            MOSQ_ERR_AUTH
        );
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(ud, null_mut(), user.as_ptr(), null()),
            MOSQ_ERR_AUTH
        );
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(ud, null_mut(), user.as_ptr(), empty.as_ptr()),
            MOSQ_ERR_AUTH
        );
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(ud, null_mut(), user.as_ptr(), latin1.as_ptr()),
            MOSQ_ERR_AUTH
        );
        // Anonymous: the broker's allow_anonymous decides.
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(ud, null_mut(), null(), null()),
            MOSQ_ERR_PLUGIN_DEFER
        );
        // A username that is not UTF-8 is refused.
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(ud, null_mut(), latin1.as_ptr(), good.as_ptr()),
            MOSQ_ERR_AUTH
        );
        // NULL userdata.
        assert_eq!(
            v4::mosquitto_auth_unpwd_check(null_mut(), null_mut(), user.as_ptr(), good.as_ptr()),
            MOSQ_ERR_AUTH
        );
        v4::mosquitto_auth_plugin_cleanup(ud, null_mut(), 0);
    }
}

#[test]
fn v4_acl_checks_with_odd_inputs() {
    let (_dir, ud) = files_plugin();
    let topic = CString::new("alice/x").unwrap();
    let msg = mosquitto_acl_msg {
        topic: topic.as_ptr(),
        payload: null(),
        payloadlen: 0,
        qos: 0,
        retain: false,
    };
    let no_topic = mosquitto_acl_msg {
        topic: null(),
        payload: null(),
        payloadlen: 0,
        qos: 0,
        retain: false,
    };
    // SAFETY: `ud` from init; msg valid or NULL; client NULL (no broker: no username).
    unsafe {
        // No client: anonymous, and the file has no anonymous rules.
        assert_eq!(
            v4::mosquitto_auth_acl_check(ud, 2, null_mut(), &msg),
            MOSQ_ERR_ACL_DENIED
        );
        assert_eq!(
            v4::mosquitto_auth_acl_check(ud, 2, null_mut(), null()),
            MOSQ_ERR_ACL_DENIED
        );
        assert_eq!(
            v4::mosquitto_auth_acl_check(ud, 2, null_mut(), &no_topic),
            MOSQ_ERR_ACL_DENIED
        );
        assert_eq!(
            v4::mosquitto_auth_acl_check(ud, 99, null_mut(), &msg),
            MOSQ_ERR_ACL_DENIED
        );
        assert_eq!(
            v4::mosquitto_auth_acl_check(ud, 8, null_mut(), &msg),
            MOSQ_ERR_SUCCESS,
            "unsubscribe"
        );
        assert_eq!(
            v4::mosquitto_auth_acl_check(null_mut(), 2, null_mut(), &msg),
            MOSQ_ERR_ACL_DENIED
        );
        assert_eq!(
            v4::mosquitto_auth_security_init(ud, null_mut(), 0, true),
            MOSQ_ERR_SUCCESS,
            "reload"
        );
        assert_eq!(
            v4::mosquitto_auth_psk_key_get(ud, null_mut(), null(), null(), null_mut(), 0),
            MOSQ_ERR_PLUGIN_DEFER
        );
        v4::mosquitto_auth_plugin_cleanup(ud, null_mut(), 0);
        v4::mosquitto_auth_plugin_cleanup(null_mut(), null_mut(), 0);
    }
}

#[test]
fn init_with_bad_options_fails_cleanly() {
    let mut o = opts(&[("backends", "files"), ("password_file", "/nonexistent/pw")]);
    let mut ud: *mut c_void = null_mut();
    // SAFETY: valid arguments.
    unsafe {
        assert_eq!(
            v4::mosquitto_auth_plugin_init(&mut ud, o.opts.as_mut_ptr(), 2),
            MOSQ_ERR_INVAL
        );
        assert!(ud.is_null());
        assert_eq!(
            v4::mosquitto_auth_plugin_init(null_mut(), o.opts.as_mut_ptr(), 2),
            MOSQ_ERR_INVAL
        );
        // NULL option array with a count.
        assert_eq!(
            v4::mosquitto_auth_plugin_init(&mut ud, null_mut(), 5),
            MOSQ_ERR_INVAL
        );
    }
}

#[test]
fn version_negotiation() {
    assert_eq!(v4::mosquitto_auth_plugin_version(), 4);
    let offer = [5, 4, 3, 2];
    // SAFETY: valid array / NULL.
    unsafe {
        assert_eq!(v5::mosquitto_plugin_version(4, offer.as_ptr()), 5);
        assert_eq!(v5::mosquitto_plugin_version(2, [4, 3].as_ptr()), 4);
        assert_eq!(v5::mosquitto_plugin_version(0, null()), -1);
        assert_eq!(v5::mosquitto_plugin_version(-3, offer.as_ptr()), -1);
    }
}

#[test]
fn v5_init_outside_a_broker_fails_without_leaking_or_crashing() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("passwd");
    std::fs::write(&pw, "").unwrap();
    let mut o = opts(&[
        ("backends", "files"),
        ("password_file", pw.to_str().unwrap()),
    ]);
    let mut ud: *mut c_void = null_mut();
    // SAFETY: valid arguments; no broker, so callback registration is unavailable.
    unsafe {
        let rc = v5::mosquitto_plugin_init(null_mut(), &mut ud, o.opts.as_mut_ptr(), 2);
        assert_eq!(rc, MOSQ_ERR_UNKNOWN);
        assert!(ud.is_null());
        assert_eq!(
            v5::mosquitto_plugin_init(null_mut(), null_mut(), o.opts.as_mut_ptr(), 2),
            MOSQ_ERR_INVAL
        );
        assert_eq!(
            v5::mosquitto_plugin_cleanup(null_mut(), null_mut(), 0),
            MOSQ_ERR_SUCCESS
        );
    }
}
