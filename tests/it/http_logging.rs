//! No password, Basic auth key, `Authorization` value or extra header value ever reaches a log
//! line or an error message of the HTTP backend, at debug level, on success or failure.

use std::sync::Mutex;

use crate::support::{opts, Reply, Server};
use base64::Engine;
use mosq_auth::backend::http::{HttpBackend, HttpSettings};
use mosq_auth::backend::Backend;
use mosq_auth::log::{self, Level, Logger};
use mosq_auth::request::{Access, AclRequest, AuthRequest};
use mosq_auth::secret::Secret;

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn capture(_level: Level, line: &str) {
    LINES.lock().unwrap().push(line.to_string());
}

fn backend(pairs: &[(&str, &str)]) -> HttpBackend {
    let settings = HttpSettings::from_options(&opts(pairs)).expect("settings");
    HttpBackend::new(settings, "anonymous".into(), Logger::new(Level::Debug)).expect("backend")
}

#[test]
fn no_secret_in_log_lines_or_errors() {
    log::set_sink(capture);
    let mut errors: Vec<String> = Vec::new();
    let server = Server::always(Reply::status(200));
    let port = server.port();
    let auth = |b: &HttpBackend, pw: &[u8]| {
        let pw = Secret::new(pw);
        b.authenticate(&AuthRequest {
            username: "alice",
            password: &pw,
            client_id: "c1",
        })
    };
    let acl = |b: &HttpBackend| {
        b.acl(&AclRequest {
            username: Some("alice"),
            client_id: "c1",
            topic: "alice/x",
            access: Access::Write,
            qos: 0,
            retain: false,
        })
    };

    // auth-plug names: Basic auth with the MQTT credentials.
    let ap = [
        ("http_hostname", "127.0.0.1"),
        ("http_port", port.as_str()),
        ("http_getuser_uri", "/auth"),
        ("http_superuser_uri", "/superuser"),
        ("http_aclcheck_uri", "/acl"),
        ("http_failure_threshold", "2"),
    ];
    let b = backend(&ap);
    auth(&b, b"PW-SECRET-1").unwrap();
    b.superuser("alice").unwrap();
    acl(&b).unwrap();
    // A 5xx is an error for its question; connections closed without an answer open the
    // breaker, whose lines must not hold a secret either.
    server.set_reply(Reply::status(500));
    errors.push(auth(&b, b"PW-SECRET-1").unwrap_err().0);
    server.set_reply(Reply::Close);
    for _ in 0..4 {
        errors.push(auth(&b, b"PW-SECRET-1").unwrap_err().0);
    }
    server.set_reply(Reply::status(200));

    // A Basic auth key and extra headers, failing.
    let mut with_key = ap.to_vec();
    with_key.push(("http_basic_auth_key", "S0VZLVNFQ1JFVA=="));
    with_key.push(("http_headers", "X-Api-Key: HDR-SECRET-2"));
    let b = backend(&with_key);
    auth(&b, b"PW-SECRET-1").unwrap();
    server.set_reply(Reply::body(503, "PW-SECRET-1"));
    errors.push(acl(&b).unwrap_err().0);
    server.set_reply(Reply::status(200));

    // GET puts the password in the query string: never in an error or log line.
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let b = backend(&[
        ("http_host", "127.0.0.1"),
        ("http_port", dead_port.as_str()),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
        ("http_method", "GET"),
    ]);
    errors.push(auth(&b, b"PW-SECRET-3").unwrap_err().0);

    // JSON cannot carry a non-UTF-8 password: refused with a debug line.
    let b = backend(&[
        ("http_host", "127.0.0.1"),
        ("http_port", port.as_str()),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
    ]);
    auth(&b, b"PW-SECRET-4\xff").unwrap();

    log::flush();
    let lines = LINES.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("http getuser user=alice")),
        "debug lines were captured: {lines:#?}"
    );
    // (Other tests run in this process and log through the same sink: this backend's own
    // breaker line is the one naming its threshold of 2.)
    assert!(lines
        .iter()
        .any(|l| l.contains("2 checks in a row failed, considering the auth service down")));
    let basic = base64::engine::general_purpose::STANDARD.encode("alice:PW-SECRET-1");
    for secret in [
        "PW-SECRET",
        "S0VZLVNFQ1JFVA==",
        "HDR-SECRET",
        basic.as_str(),
        "Authorization",
        "authorization",
    ] {
        for l in lines.iter().chain(errors.iter()) {
            assert!(!l.contains(secret), "'{secret}' shows in: {l}");
        }
    }
}
