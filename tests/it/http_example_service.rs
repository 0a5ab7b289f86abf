//! The example auth service (`examples/auth-service/auth_service.py`) run with python3 and
//! asked by the HTTP backend in both contracts.

use std::path::Path;
use std::time::Duration;

use crate::support::{logger, opts, ExampleService};
use mosq_auth::backend::http::{HttpBackend, HttpSettings};
use mosq_auth::backend::Backend;
use mosq_auth::request::{Access, AclRequest, AuthRequest, CacheHint, Decision};
use mosq_auth::secret::Secret;

/// Starts the example service with its example users and `admin` as superuser.
fn start_service() -> ExampleService {
    let users = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/auth-service/users.example");
    let users =
        std::fs::read_to_string(&users).unwrap_or_else(|e| panic!("{}: {e}", users.display()));
    ExampleService::start(&users, &["--superusers", "admin"])
}

/// Asserts the service's log shows a decision and never a password.
fn assert_log_clean(svc: &ExampleService) {
    let log = svc.log();
    assert!(log.contains("user='alice' -> allow"), "{log}");
    for pw in ["secret", "wrong", "admin-pw"] {
        assert!(!log.contains(pw), "the service log shows '{pw}':\n{log}");
    }
}

fn backend(pairs: &[(&str, &str)]) -> HttpBackend {
    let settings = HttpSettings::from_options(&opts(pairs)).expect("settings");
    HttpBackend::new(settings, "anonymous".into(), logger()).expect("backend")
}

fn check(b: &HttpBackend) {
    let auth = |user: &str, pw: &[u8]| {
        let pw = Secret::new(pw);
        b.authenticate(&AuthRequest {
            username: user,
            password: &pw,
            client_id: "client 1&x",
        })
        .expect("answer")
    };
    let acl = |user: Option<&str>, topic: &str, access: Access| {
        b.acl(&AclRequest {
            username: user,
            client_id: "client 1&x",
            topic,
            access,
            qos: 0,
            retain: false,
        })
        .expect("answer")
        .decision
    };
    let ok = auth("alice", b"secret");
    assert_eq!(ok.decision, Decision::Allow);
    assert_eq!(ok.cache, CacheHint::MaxAge(Duration::from_secs(60)));
    assert_eq!(auth("alice", b"wrong").decision, Decision::Deny);
    assert_eq!(auth("alice", b"secret ").decision, Decision::Deny);
    assert_eq!(auth("nobody", b"secret").decision, Decision::Deny);
    assert_eq!(auth("admin", b"admin-pw").decision, Decision::Allow);

    assert_eq!(b.superuser("admin").unwrap().decision, Decision::Allow);
    assert_eq!(b.superuser("alice").unwrap().decision, Decision::Deny);

    assert_eq!(
        acl(Some("alice"), "alice/x", Access::Write),
        Decision::Allow
    );
    assert_eq!(
        acl(Some("alice"), "alice/#", Access::Subscribe),
        Decision::Allow
    );
    assert_eq!(
        acl(Some("alice"), "alice/a b", Access::Read),
        Decision::Allow
    );
    assert_eq!(acl(Some("alice"), "bob/x", Access::Write), Decision::Deny);
    assert_eq!(acl(Some("alice"), "#", Access::Subscribe), Decision::Deny);
    assert_eq!(acl(Some("alice"), "alice", Access::Write), Decision::Deny);
    assert_eq!(acl(None, "anonymous/x", Access::Write), Decision::Allow);
    assert_eq!(acl(None, "alice/x", Access::Write), Decision::Deny);
}

#[test]
fn example_service_with_auth_plug_options() {
    let svc = start_service();
    let port = svc.port.to_string();
    let b = backend(&[
        ("http_hostname", "127.0.0.1"),
        ("http_port", &port),
        ("http_getuser_uri", "/auth"),
        ("http_superuser_uri", "/superuser"),
        ("http_aclcheck_uri", "/acl"),
    ]);
    check(&b);
    assert_log_clean(&svc);
}

#[test]
fn example_service_with_go_auth_options() {
    let svc = start_service();
    let port = svc.port.to_string();
    for mode in ["status", "text"] {
        let b = backend(&[
            ("http_host", "127.0.0.1"),
            ("http_port", &port),
            ("http_getuser_uri", "/getuser"),
            ("http_superuser_uri", "/superuser"),
            ("http_aclcheck_uri", "/aclcheck"),
            ("http_response_mode", mode),
        ]);
        check(&b);
    }
    // GET with a query string works too.
    let b = backend(&[
        ("http_host", "127.0.0.1"),
        ("http_port", &port),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
        ("http_method", "GET"),
    ]);
    let pw = Secret::from("secret");
    let v = b
        .authenticate(&AuthRequest {
            username: "alice",
            password: &pw,
            client_id: "c1",
        })
        .unwrap();
    assert_eq!(v.decision, Decision::Allow);
    assert_log_clean(&svc);
}
