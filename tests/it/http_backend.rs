//! The HTTP backend against real HTTP(S) servers on 127.0.0.1: exact requests for both
//! contracts, every response mode, TLS, timeouts, the circuit breaker and connection reuse.

use std::time::{Duration, Instant};

use crate::support::{fields, logger, opts, timed, Pki, Reply, Request, Server};
use base64::Engine;
use mosq_auth::backend::http::{HttpBackend, HttpSettings};
use mosq_auth::backend::Backend;
use mosq_auth::request::{Access, AclRequest, AuthRequest, CacheHint, Decision, Verdict};
use mosq_auth::secret::Secret;

const ODD_USER: &str = "a b&c=d%+é";
const ODD_PASSWORD: &str = "se cret&x=1%+";
const ODD_CLIENT: &str = "c&id 1+é";

fn backend(pairs: &[(&str, &str)]) -> HttpBackend {
    let settings = HttpSettings::from_options(&opts(pairs)).expect("valid settings");
    HttpBackend::new(settings, "anon".into(), logger()).expect("backend")
}

/// auth-plug's seed options pointed at `server`.
fn auth_plug(server: &Server, extra: &[(&str, &str)]) -> HttpBackend {
    let port = server.port();
    let mut pairs = vec![
        ("http_hostname", "127.0.0.1"),
        ("http_port", port.as_str()),
        ("http_getuser_uri", "/auth"),
        ("http_superuser_uri", "/superuser"),
        ("http_aclcheck_uri", "/acl"),
    ];
    pairs.extend_from_slice(extra);
    backend(&pairs)
}

/// go-auth's seed options pointed at `server`.
fn go_auth(server: &Server, extra: &[(&str, &str)]) -> HttpBackend {
    let port = server.port();
    let mut pairs = vec![
        ("http_host", "127.0.0.1"),
        ("http_port", port.as_str()),
        ("http_getuser_uri", "/getuser"),
        ("http_superuser_uri", "/superuser"),
        ("http_aclcheck_uri", "/aclcheck"),
    ];
    pairs.extend_from_slice(extra);
    backend(&pairs)
}

fn auth(b: &HttpBackend, user: &str, password: &[u8], client: &str) -> mosq_auth::request::Answer {
    let password = Secret::new(password);
    b.authenticate(&AuthRequest {
        username: user,
        password: &password,
        client_id: client,
    })
}

fn acl(
    b: &HttpBackend,
    user: Option<&str>,
    client: &str,
    topic: &str,
    access: Access,
) -> mosq_auth::request::Answer {
    b.acl(&AclRequest {
        username: user,
        client_id: client,
        topic,
        access,
        qos: 0,
        retain: false,
    })
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn decision(a: mosq_auth::request::Answer) -> Decision {
    a.expect("an answer, not an error").decision
}

#[test]
fn auth_plug_contract_exact_requests() {
    let server = Server::always(Reply::status(200));
    let b = auth_plug(&server, &[]);

    assert_eq!(
        decision(auth(&b, ODD_USER, ODD_PASSWORD.as_bytes(), ODD_CLIENT)),
        Decision::Allow
    );
    assert_eq!(decision(b.superuser(ODD_USER)), Decision::Allow);
    assert_eq!(
        decision(acl(
            &b,
            Some(ODD_USER),
            ODD_CLIENT,
            "alice/#",
            Access::Subscribe
        )),
        Decision::Allow
    );
    assert_eq!(
        decision(acl(&b, Some("alice"), "c1", "alice/t1", Access::Write)),
        Decision::Allow
    );
    assert_eq!(
        decision(acl(&b, Some("alice"), "c1", "alice/t1", Access::Read)),
        Decision::Allow
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(r.header("user-agent"), None, "auth-plug sent no User-Agent");
        assert_eq!(r.header("expect"), None);
        assert_eq!(r.query, None);
    }
    let user = "a%20b%26c%3Dd%25%2B%C3%A9";
    let client = "c%26id%201%2B%C3%A9";
    assert_eq!(reqs[0].path, "/auth");
    assert_eq!(
        reqs[0].body_str(),
        format!("username={user}&password=se%20cret%26x%3D1%25%2B&topic=&acc=-1&clientid={client}")
    );
    assert_eq!(
        reqs[0].header("authorization"),
        Some(basic(ODD_USER, ODD_PASSWORD).as_str())
    );
    assert_eq!(reqs[1].path, "/superuser");
    assert_eq!(
        reqs[1].body_str(),
        format!("username={user}&password=&topic=&acc=-1&clientid=")
    );
    assert_eq!(
        reqs[1].header("authorization"),
        Some(basic(ODD_USER, "").as_str())
    );
    assert_eq!(reqs[2].path, "/acl");
    assert_eq!(
        reqs[2].body_str(),
        format!("username={user}&password=&topic=alice%2F%23&acc=4&clientid={client}")
    );
    assert_eq!(
        reqs[3].body_str(),
        "username=alice&password=&topic=alice%2Ft1&acc=2&clientid=c1"
    );
    assert_eq!(reqs[3].header("authorization"), Some("Basic YWxpY2U6"));
    assert_eq!(
        reqs[4].body_str(),
        "username=alice&password=&topic=alice%2Ft1&acc=1&clientid=c1"
    );
}

#[test]
fn go_auth_contract_exact_requests() {
    let server = Server::always(Reply::status(200));
    let b = go_auth(&server, &[]);

    assert_eq!(
        decision(auth(&b, ODD_USER, ODD_PASSWORD.as_bytes(), ODD_CLIENT)),
        Decision::Allow
    );
    assert_eq!(decision(b.superuser(ODD_USER)), Decision::Allow);
    assert_eq!(
        decision(acl(
            &b,
            Some(ODD_USER),
            ODD_CLIENT,
            "alice/#",
            Access::Subscribe
        )),
        Decision::Allow
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(
            r.header("user-agent"),
            Some(mosq_auth::backend::http::DEFAULT_USER_AGENT)
        );
        assert_eq!(r.header("authorization"), None);
    }
    assert_eq!(reqs[0].path, "/getuser");
    assert_eq!(
        reqs[0].json(),
        serde_json::json!({"username": ODD_USER, "password": ODD_PASSWORD, "clientid": ODD_CLIENT})
    );
    assert_eq!(reqs[1].path, "/superuser");
    assert_eq!(reqs[1].json(), serde_json::json!({"username": ODD_USER}));
    assert_eq!(reqs[2].path, "/aclcheck");
    assert_eq!(
        reqs[2].json(),
        serde_json::json!({"username": ODD_USER, "clientid": ODD_CLIENT, "topic": "alice/#", "acc": 4})
    );
}

#[test]
fn explicit_options_win_over_the_name_defaults() {
    std::env::set_var("MOSQ_AUTH_IT_SITE", "eu west");
    let server = Server::always(Reply::status(200));
    let b = go_auth(
        &server,
        &[
            ("http_params_mode", "form"),
            ("http_user_agent", "my-broker/1"),
            ("http_basic_auth_key", "c2VydmljZTprZXk="),
            ("http_headers", "X-Api-Key: k1 | X-Site: a:b"),
            ("http_aclcheck_params", "site=MOSQ_AUTH_IT_SITE"),
        ],
    );
    assert_eq!(
        decision(acl(&b, Some("alice"), "c1", "alice/x", Access::Write)),
        Decision::Allow
    );
    let r = &server.requests()[0];
    assert_eq!(
        r.body_str(),
        "site=eu%20west&username=alice&password=&topic=alice%2Fx&acc=2&clientid=c1"
    );
    assert_eq!(r.header("user-agent"), Some("my-broker/1"));
    assert_eq!(r.header("authorization"), Some("Basic c2VydmljZTprZXk="));
    assert_eq!(r.header("x-api-key"), Some("k1"));
    assert_eq!(r.header("x-site"), Some("a:b"));

    // auth-plug names with a key: the key replaces the MQTT credentials.
    let b = auth_plug(&server, &[("http_basic_auth_key", "c2VydmljZTprZXk=")]);
    assert_eq!(
        decision(auth(&b, "alice", b"secret", "c1")),
        Decision::Allow
    );
    let r = server.requests().pop().unwrap();
    assert_eq!(r.header("authorization"), Some("Basic c2VydmljZTprZXk="));
    assert_eq!(
        r.headers
            .iter()
            .filter(|(n, _)| n == "authorization")
            .count(),
        1
    );
}

#[test]
fn get_sends_fields_as_query_string() {
    let server = Server::always(Reply::status(200));
    let b = go_auth(&server, &[("http_method", "GET")]);
    assert_eq!(
        decision(acl(&b, Some("alice"), "c 1", "alice/#", Access::Read)),
        Decision::Allow
    );
    let r = &server.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(r.path, "/aclcheck");
    assert_eq!(
        r.query.as_deref(),
        Some("username=alice&clientid=c%201&topic=alice%2F%23&acc=1")
    );
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type"), None);

    let b = go_auth(&server, &[("http_method", "PUT")]);
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);
    assert_eq!(server.requests().pop().unwrap().method, "PUT");
}

#[test]
fn status_mode() {
    let server = Server::always(Reply::status(200));
    let b = go_auth(&server, &[]);
    for (status, expected) in [
        (200, Some(Decision::Allow)),
        (204, Some(Decision::Allow)),
        (401, Some(Decision::Deny)),
        (403, Some(Decision::Deny)),
        (404, Some(Decision::Deny)),
        (500, None),
        (503, None),
        (302, None),
    ] {
        server.set_reply(Reply::status(status));
        let got = b.superuser("alice");
        assert_eq!(
            got.as_ref().ok().map(|v| v.decision),
            expected,
            "status {status}: {got:?}"
        );
    }
}

#[test]
fn text_mode() {
    let server = Server::always(Reply::status(200));
    let b = go_auth(&server, &[("http_response_mode", "text")]);
    for (reply, expected) in [
        (Reply::body(200, "ok"), Some(Decision::Allow)),
        (Reply::body(200, " ok\r\n"), Some(Decision::Allow)),
        (Reply::body(200, "denied"), Some(Decision::Deny)),
        (Reply::body(200, ""), Some(Decision::Deny)),
        (Reply::body(403, "ok"), Some(Decision::Deny)),
        (Reply::body(500, "ok"), None),
    ] {
        server.set_reply(reply.clone());
        let got = b.superuser("alice");
        assert_eq!(
            got.as_ref().ok().map(|v| v.decision),
            expected,
            "{reply:?}: {got:?}"
        );
    }
}

#[test]
fn json_mode() {
    let server = Server::always(Reply::status(200));
    let b = go_auth(&server, &[("http_response_mode", "json")]);
    for (reply, expected) in [
        (Reply::body(200, r#"{"ok": true}"#), Some(Decision::Allow)),
        (
            Reply::body(200, r#"{"ok": false, "error": "bad password"}"#),
            Some(Decision::Deny),
        ),
        (
            Reply::body(200, r#"{"result": "allow"}"#),
            Some(Decision::Allow),
        ),
        (
            Reply::body(200, r#"{"result": "deny"}"#),
            Some(Decision::Deny),
        ),
        (
            Reply::body(200, r#"{"result": "ignore"}"#),
            Some(Decision::Defer),
        ),
        (Reply::body(403, "not json"), Some(Decision::Deny)),
        (Reply::body(200, r#"{"ok": tru"#), None),
        (Reply::body(200, "ok"), None),
        (Reply::body(200, r#"{"something": 1}"#), None),
        (Reply::body(502, r#"{"ok": true}"#), None),
    ] {
        server.set_reply(reply.clone());
        let got = b.superuser("alice");
        assert_eq!(
            got.as_ref().ok().map(|v| v.decision),
            expected,
            "{reply:?}: {got:?}"
        );
    }
}

#[test]
fn cache_control_becomes_a_cache_hint() {
    let server = Server::always(Reply::status(200));
    let b = go_auth(&server, &[]);
    for (header, expected) in [
        (None, CacheHint::Default),
        (
            Some("max-age=120"),
            CacheHint::MaxAge(Duration::from_secs(120)),
        ),
        (
            Some("public, max-age=7"),
            CacheHint::MaxAge(Duration::from_secs(7)),
        ),
        (Some("no-store"), CacheHint::NoStore),
        (Some("no-cache"), CacheHint::NoStore),
    ] {
        let reply = match header {
            Some(h) => Reply::status(200).with_header("Cache-Control", h),
            None => Reply::status(200),
        };
        server.set_reply(reply);
        assert_eq!(
            b.superuser("alice"),
            Ok(Verdict {
                decision: Decision::Allow,
                cache: expected
            }),
            "{header:?}"
        );
    }
    server.set_reply(Reply::status(403).with_header("Cache-Control", "max-age=9"));
    assert_eq!(
        b.superuser("alice"),
        Ok(Verdict {
            decision: Decision::Deny,
            cache: CacheHint::MaxAge(Duration::from_secs(9))
        })
    );
}

#[test]
fn body_too_large_is_an_error() {
    let server = Server::always(Reply::body(200, vec![b'x'; 64 * 1024 + 1]));
    let b = go_auth(&server, &[("http_response_mode", "text")]);
    let err = b.superuser("alice").unwrap_err();
    assert!(err.0.contains("body over 64 KiB"), "{err}");
    server.set_reply(Reply::body(200, vec![b' '; 64 * 1024]));
    assert_eq!(decision(b.superuser("alice")), Decision::Deny);
}

#[test]
fn requests_made_without_asking() {
    let server = Server::always(Reply::status(200));
    // Rules of the chain, which asks no backend for them: an empty password is refused (as
    // auth-plug did) and unsubscribing is always allowed.
    let port = server.port();
    let plugin = mosq_auth::plugin::Plugin::new(&opts(&[
        ("backends", "http"),
        ("http_hostname", "127.0.0.1"),
        ("http_port", port.as_str()),
        ("http_getuser_uri", "/auth"),
        ("http_superuser_uri", "/superuser"),
        ("http_aclcheck_uri", "/acl"),
        ("log_level", "error"),
    ]))
    .expect("plugin");
    let empty = Secret::new(Vec::new());
    let login = AuthRequest {
        username: "alice",
        password: &empty,
        client_id: "c1",
    };
    assert_eq!(
        plugin.chain().authenticate(Some(&login), None),
        mosq_auth::chain::Outcome::Deny
    );
    let unsubscribe = AclRequest {
        username: Some("alice"),
        client_id: "c1",
        topic: "bob/#",
        access: Access::Unsubscribe,
        qos: 0,
        retain: false,
    };
    assert_eq!(
        plugin.chain().acl(&unsubscribe, None),
        mosq_auth::chain::Outcome::Allow
    );
    assert_eq!(server.request_count(), 0);

    // No superuser URI: defer without a request.
    let port = server.port();
    let b = backend(&[
        ("http_host", "127.0.0.1"),
        ("http_port", &port),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
    ]);
    assert_eq!(decision(b.superuser("alice")), Decision::Defer);
    // JSON cannot carry a non-UTF-8 password: refused without a request.
    assert_eq!(
        decision(auth(&b, "alice", b"\xff\xfe", "c1")),
        Decision::Deny
    );
    assert_eq!(server.request_count(), 0);

    // Form encoding carries any bytes.
    let b = auth_plug(&server, &[]);
    assert_eq!(
        decision(auth(&b, "alice", b"\xff\xfe", "c1")),
        Decision::Allow
    );
    assert_eq!(
        server.requests()[0].body_str(),
        "username=alice&password=%FF%FE&topic=&acc=-1&clientid=c1"
    );
}

#[test]
fn anonymous_acl_checks_send_the_anon_username() {
    let server = Server::always(Reply::status(403));
    let b = auth_plug(&server, &[]);
    assert_eq!(
        decision(acl(&b, None, "c1", "public/x", Access::Read)),
        Decision::Deny
    );
    assert_eq!(
        server.requests()[0].body_str(),
        "username=anon&password=&topic=public%2Fx&acc=1&clientid=c1"
    );
}

fn tls_backend(server: &Server, extra: &[(&str, &str)]) -> HttpBackend {
    let url = format!("https://127.0.0.1:{}", server.port());
    let mut pairs = vec![
        ("http_url", url.as_str()),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
        ("http_superuser_uri", "/superuser"),
    ];
    pairs.extend_from_slice(extra);
    backend(&pairs)
}

#[test]
fn tls_verifies_with_a_private_ca() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let server = Server::start_tls(pki.server_config(false), |_| Reply::status(200));

    let b = tls_backend(&server, &[("http_ca_file", ca)]);
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);

    // Without the CA the certificate is not trusted.
    let b = tls_backend(&server, &[]);
    let err = b.superuser("alice").unwrap_err();
    assert!(err.0.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(server.request_count(), 1);

    // http_verify_peer false accepts it (with a warning at start-up).
    let b = tls_backend(&server, &[("http_verify_peer", "false")]);
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);
    assert_eq!(server.request_count(), 2);

    // The auth-plug way: http_with_tls + host + port.
    let port = server.port();
    let b = backend(&[
        ("http_ip", "127.0.0.1"),
        ("http_hostname", "localhost"),
        ("http_port", &port),
        ("http_with_tls", "true"),
        ("http_ca_file", ca),
        ("http_getuser_uri", "/auth"),
        ("http_superuser_uri", "/superuser"),
        ("http_aclcheck_uri", "/acl"),
    ]);
    assert_eq!(
        decision(auth(&b, "alice", b"secret", "c1")),
        Decision::Allow
    );
    let r = server.requests().pop().unwrap();
    assert_eq!(r.header("host"), Some("localhost"));
}

#[test]
fn mutual_tls() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let ca = write("ca.pem", &pki.ca_pem);
    let cert = write("client.pem", &pki.client_pem);
    let key = write("client.key", &pki.client_key_pem);
    let server = Server::start_tls(pki.server_config(true), |_| Reply::status(200));

    let b = tls_backend(
        &server,
        &[
            ("http_ca_file", &ca),
            ("http_client_cert", &cert),
            ("http_client_key", &key),
        ],
    );
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);
    assert_eq!(server.request_count(), 1);

    let b = tls_backend(&server, &[("http_ca_file", &ca)]);
    assert!(b.superuser("alice").is_err());
    assert_eq!(server.request_count(), 1);
}

#[test]
fn server_down_fails_fast() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let b = backend(&[
        ("http_host", "127.0.0.1"),
        ("http_port", &port),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
        ("http_retry_count", "2"),
    ]);
    let (res, took) = timed(|| auth(&b, "alice", b"secret", "c1"));
    let err = res.unwrap_err();
    assert!(err.0.contains("cannot connect"), "{err}");
    assert!(!err.0.contains("secret"), "{err}");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn hanging_server_errors_within_the_deadline() {
    let server = Server::always(Reply::Hang);
    let b = go_auth(
        &server,
        &[
            ("http_timeout", "1"),
            ("http_retry_count", "3"),
            ("http_failure_threshold", "0"),
        ],
    );
    let (res, took) = timed(|| auth(&b, "alice", b"secret", "c1"));
    let err = res.unwrap_err();
    assert!(err.0.contains("no answer within"), "{err}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(took >= Duration::from_millis(900), "took {took:?}");
    // Retries share the deadline: at most one request got far enough to be counted more than
    // once within 1 s of hanging.
    assert!(server.request_count() <= 1, "{}", server.request_count());
}

#[test]
fn body_that_stalls_errors_within_the_deadline() {
    let server = Server::always(Reply::HangInBody);
    let b = go_auth(
        &server,
        &[("http_timeout", "1"), ("http_response_mode", "text")],
    );
    let (res, took) = timed(|| b.superuser("alice"));
    assert!(res.is_err(), "{res:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[test]
fn retries_on_5xx_within_the_deadline() {
    let server = Server::always(Reply::status(500));
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = calls.clone();
    server.set_handler(move |_| {
        if c.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    });
    let b = go_auth(&server, &[("http_retry_count", "2")]);
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);
    assert_eq!(server.request_count(), 2);
    // A 4xx is an answer, never retried.
    server.set_reply(Reply::status(403));
    assert_eq!(decision(b.superuser("alice")), Decision::Deny);
    assert_eq!(server.request_count(), 3);
}

#[test]
fn server_errors_for_one_user_never_open_the_breaker_for_everyone() {
    // The service chokes on one name (500 with a body); everyone else is answered.
    let server = Server::start(|r| {
        if fields(r).get("username").map(String::as_str) == Some("mallory") {
            Reply::body(500, "internal error")
        } else {
            Reply::status(200)
        }
    });
    let b = go_auth(
        &server,
        &[("http_failure_threshold", "3"), ("http_cooldown", "30")],
    );
    for _ in 0..20 {
        assert!(b.superuser("mallory").is_err());
    }
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);
    assert_eq!(server.request_count(), 21, "every question was asked");
}

#[test]
fn circuit_breaker_fails_fast_then_probes_and_recovers() {
    // Connections closed without an answer: the service cannot be reached.
    let server = Server::always(Reply::Close);
    let b = go_auth(
        &server,
        &[("http_failure_threshold", "3"), ("http_cooldown", "0.5")],
    );
    for _ in 0..3 {
        assert!(b.superuser("alice").is_err());
    }
    assert_eq!(server.request_count(), 3);

    // Open: no request, immediate error.
    for _ in 0..100 {
        let (res, took) = timed(|| b.superuser("alice"));
        assert!(res.unwrap_err().0.contains("considered down"));
        assert!(took < Duration::from_millis(50), "{took:?}");
    }
    assert_eq!(server.request_count(), 3);

    // After the cooldown one probe goes through; it fails, so it stays open.
    std::thread::sleep(Duration::from_millis(600));
    assert!(b.superuser("alice").is_err());
    assert_eq!(server.request_count(), 4);
    assert!(b
        .superuser("alice")
        .unwrap_err()
        .0
        .contains("considered down"));
    assert_eq!(server.request_count(), 4);

    // The service is back: the next probe closes the breaker.
    server.set_reply(Reply::status(200));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);
    assert_eq!(decision(b.superuser("alice")), Decision::Allow);
    assert_eq!(server.request_count(), 6);
}

#[test]
fn recovers_after_an_outage() {
    let server = Server::always(Reply::Close);
    let b = auth_plug(&server, &[("http_failure_threshold", "0")]);
    for _ in 0..3 {
        assert!(auth(&b, "alice", b"secret", "c1").is_err());
    }
    server.set_reply(Reply::status(200));
    assert_eq!(
        decision(auth(&b, "alice", b"secret", "c1")),
        Decision::Allow
    );
    server.set_reply(Reply::status(403));
    assert_eq!(decision(auth(&b, "alice", b"wrong", "c1")), Decision::Deny);
}

#[test]
fn server_closing_idle_connections_causes_no_error() {
    let server = Server::always(Reply::status(200));
    server.set_idle_close(Duration::from_millis(300));
    let b = auth_plug(&server, &[]);
    for _ in 0..3 {
        assert_eq!(
            decision(auth(&b, "alice", b"secret", "c1")),
            Decision::Allow
        );
        std::thread::sleep(Duration::from_millis(600));
    }
    assert_eq!(server.request_count(), 3);
    assert_eq!(server.connection_count(), 3);
}

#[test]
fn concurrent_checks_share_the_pool() {
    let server = Server::always(Reply::status(200));
    let b = std::sync::Arc::new(go_auth(&server, &[]));
    let threads = 4;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let b = b.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let topic = format!("alice/{t}/{i}");
                    assert_eq!(
                        decision(acl(&b, Some("alice"), "c1", &topic, Access::Read)),
                        Decision::Allow
                    );
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(server.request_count(), 100);
    // Pooling, not one connection per check. The bound is not exactly one
    // connection per thread: hyper hands a connection back to the pool a
    // moment after the response body has been read, so a thread that starts
    // its next request inside that moment opens one more. CI saw 5 once.
    assert!(
        server.connection_count() <= 2 * threads,
        "{} connections for 100 requests from {threads} threads",
        server.connection_count()
    );
}

#[test]
fn keep_alive_reuses_one_connection() {
    let server = Server::always(Reply::status(200));
    let b = auth_plug(&server, &[]);
    for i in 0..20 {
        assert_eq!(
            decision(acl(
                &b,
                Some("alice"),
                "c1",
                &format!("alice/{i}"),
                Access::Write
            )),
            Decision::Allow
        );
    }
    assert_eq!(server.request_count(), 20);
    assert_eq!(server.connection_count(), 1);
    assert!(server
        .requests()
        .iter()
        .all(|r: &Request| r.connection == 0));

    // A rough figure for the report: per-check latency on a warm connection.
    let n = 500;
    let start = Instant::now();
    for _ in 0..n {
        acl(&b, Some("alice"), "c1", "alice/x", Access::Write).unwrap();
    }
    let per = start.elapsed() / n;
    eprintln!("warm keep-alive check: {per:?} per request over {n} requests");
    assert_eq!(server.connection_count(), 1);
}
