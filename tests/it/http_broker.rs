//! The HTTP backend end to end: the real mosquitto (`MOSQUITTO_BIN`, else Debian's) loads the
//! freshly built plugin with the auth-plug and go-auth seed configurations (unchanged except for
//! the plugin line and the service's address), and real MQTT clients connect, publish and subscribe
//! while a real HTTP auth service on 127.0.0.1 answers, hangs, or is down.

use std::time::{Duration, Instant};

use crate::support::{fields, users_service, Reply, Server};
use crate::support::{not_authorised, pub_denied, sub_refused, Broker, Mqtt, Proto, PROTOS};

/// The auth-plug seed (a Kubernetes deployment with an Express service), pointed at `port`.
fn auth_plug_seed(port: u16, extra: &str) -> String {
    format!(
        "auth_plugin {{plugin}}\n\
         auth_opt_backends http\n\
         \n\
         auth_opt_http_hostname 127.0.0.1\n\
         auth_opt_http_port {port}\n\
         \n\
         # POST /auth com username e password\n\
         auth_opt_http_getuser_uri /auth\n\
         \n\
         # POST /superuser com username\n\
         auth_opt_http_superuser_uri /superuser\n\
         \n\
         # POST /acl com username, clientid, topic e acc(1 = read, 2 = read-write)\n\
         auth_opt_http_aclcheck_uri /acl\n\
         {extra}\n"
    )
}

/// The go-auth seed (a JSON gateway), pointed at `port`.
fn go_auth_seed(port: u16, extra: &str) -> String {
    format!(
        "log_dest stdout\n\
         allow_anonymous false\n\
         \n\
         auth_plugin {{plugin}}\n\
         auth_opt_log_dest stdout\n\
         auth_opt_log_level debug\n\
         \n\
         auth_opt_backends http\n\
         \n\
         auth_opt_http_host 127.0.0.1\n\
         auth_opt_http_port {port}\n\
         auth_opt_http_getuser_uri /getuser\n\
         auth_opt_http_aclcheck_uri /aclcheck\n\
         auth_opt_http_superuser_uri /superuser\n\
         {extra}\n"
    )
}

fn seed_checks(b: &Broker, server: &Server) {
    for proto in PROTOS {
        let tag = format!("{proto:?}");
        let alice = Mqtt::ok(
            proto,
            b.port,
            &format!("alice-{tag}"),
            Some(("alice", "secret")),
        );
        for creds in [
            Some(("alice", "wrong-pw")),
            Some(("bob", "secret")),
            Some(("alice", "")),
            None,
        ] {
            assert_eq!(
                Mqtt::connect(proto, b.port, &format!("x-{tag}"), creds).err(),
                Some(not_authorised(proto)),
                "{proto:?} {creds:?}"
            );
        }

        assert_eq!(alice.subscribe("alice/#"), 1);
        assert_eq!(alice.subscribe("bob/#"), sub_refused(proto));
        assert_eq!(alice.publish("alice/x", "hi"), 0);
        assert_eq!(
            alice.recv(Duration::from_secs(5)),
            Some(("alice/x".into(), "hi".into()))
        );
        assert_eq!(alice.publish("bob/x", "forged"), pub_denied(proto));
        assert!(
            !alice.closed(Duration::from_millis(200)),
            "denied publish must not disconnect"
        );

        // A superuser passes every ACL check without /acl being asked.
        let before = server
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/acl"))
            .count();
        let admin = Mqtt::ok(
            proto,
            b.port,
            &format!("admin-{tag}"),
            Some(("admin", "admin-pw")),
        );
        assert_eq!(admin.publish("alice/from-admin", "a"), 0);
        assert_eq!(
            alice.recv(Duration::from_secs(5)),
            Some(("alice/from-admin".into(), "a".into()))
        );
        let admin_acl = server
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/acl"))
            .skip(before)
            .filter(|r| fields(r).get("username").map(String::as_str) == Some("admin"))
            .count();
        assert_eq!(admin_acl, 0);
    }
    // auth-plug never asked the service about an empty password; neither do we.
    assert!(!server.requests().iter().any(|r| {
        let f = fields(r);
        (r.path == "/auth" || r.path == "/getuser")
            && f.get("password").map(String::as_str) == Some("")
    }));
    let log = b.log();
    for secret in ["secret", "wrong-pw", "admin-pw"] {
        assert!(
            !log.contains(secret),
            "the broker log contains '{secret}':\n{log}"
        );
    }
}

#[test]
fn auth_plug_seed_config() {
    let server = Server::start(users_service);
    let b = Broker::start(&auth_plug_seed(server.addr.port(), ""), &[]);
    seed_checks(&b, &server);
    let r = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/acl")
        .expect("an /acl request");
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // The real client id, escaped.
    assert!(
        r.body_str().ends_with("&clientid=alice-V311"),
        "{}",
        r.body_str()
    );
}

#[test]
fn auth_plug_seed_config_v4_api() {
    let server = Server::start(users_service);
    let b = Broker::start_v4(&auth_plug_seed(server.addr.port(), ""), &[]);
    seed_checks(&b, &server);
}

#[test]
fn go_auth_seed_config() {
    let server = Server::start(users_service);
    let b = Broker::start(&go_auth_seed(server.addr.port(), ""), &[]);
    seed_checks(&b, &server);
    let r = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/aclcheck")
        .expect("an /aclcheck request");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json()["clientid"], "alice-V311");
    assert!(b.log().contains("mosq-auth: http"), "{}", b.log());
}

#[test]
fn hanging_service_refuses_connect_within_the_deadline() {
    let server = Server::start(|r| {
        if fields(r).get("username").map(String::as_str) == Some("slow") {
            Reply::Hang
        } else {
            users_service(r)
        }
    });
    let b = Broker::start(
        &auth_plug_seed(server.addr.port(), "auth_opt_http_timeout 1"),
        &[],
    );
    for proto in PROTOS {
        let alice = Mqtt::ok(proto, b.port, "alice", Some(("alice", "secret")));
        assert_eq!(alice.subscribe("alice/#"), 1);

        let start = Instant::now();
        let res = Mqtt::connect(proto, b.port, "slow", Some(("slow", "pw")));
        let took = start.elapsed();
        assert_eq!(res.err(), Some(not_authorised(proto)));
        assert!(took < Duration::from_secs(3), "CONNECT took {took:?}");

        // The connected client carries on.
        assert_eq!(alice.publish("alice/after", "still here"), 0);
        assert_eq!(
            alice.recv(Duration::from_secs(5)),
            Some(("alice/after".into(), "still here".into()))
        );
    }
}

#[test]
fn service_down_refuses_and_denies_then_recovers() {
    let server = Server::start(users_service);
    let port = server.addr.port();
    let b = Broker::start(&go_auth_seed(port, "auth_opt_http_cooldown 1"), &[]);
    let clients: Vec<(Proto, Mqtt)> = PROTOS
        .iter()
        .map(|&p| {
            let c = Mqtt::ok(
                p,
                b.port,
                &format!("alice-{p:?}"),
                Some(("alice", "secret")),
            );
            assert_eq!(c.subscribe("alice/#"), 1);
            (p, c)
        })
        .collect();

    drop(server);
    std::thread::sleep(Duration::from_millis(300));

    for (proto, alice) in &clients {
        let start = Instant::now();
        assert_eq!(
            Mqtt::connect(*proto, b.port, "bob", Some(("bob", "bob-pw"))).err(),
            Some(not_authorised(*proto))
        );
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(alice.publish("alice/down", "x"), pub_denied(*proto));
        assert!(
            !alice.closed(Duration::from_millis(200)),
            "denied publish must not disconnect"
        );
    }
    assert!(
        b.log().contains("considering the auth service down"),
        "{}",
        b.log()
    );

    // The service comes back on the same port; after the cooldown checks go through again.
    let _server = Server::start_on(port, users_service);
    std::thread::sleep(Duration::from_millis(1200));
    for (proto, alice) in &clients {
        assert_eq!(alice.publish("alice/up", "back"), 0);
        // The probe may have been the superuser or the publish check: retry once.
        let got = alice.recv(Duration::from_secs(3));
        let got = match got {
            Some(m) => Some(m),
            None => {
                assert_eq!(alice.publish("alice/up", "back"), 0);
                alice.recv(Duration::from_secs(3))
            }
        };
        assert_eq!(got, Some(("alice/up".into(), "back".into())), "{proto:?}");
        Mqtt::ok(*proto, b.port, "bob", Some(("bob", "bob-pw")));
    }
    assert!(
        b.log().contains("the auth service answers again"),
        "{}",
        b.log()
    );
}
