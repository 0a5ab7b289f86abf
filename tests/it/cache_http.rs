//! The cache in front of the HTTP backend, end to end: the real broker, a real HTTP auth
//! service on 127.0.0.1 that counts what it is asked, and real MQTT clients.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::sleep;
use std::time::Duration;

use crate::support;
use crate::support::{fields, users_service, Reply, Request, Server};
use crate::support::{wait_for, Broker, Mqtt, Proto};

fn conf(port: u16, extra: &str) -> String {
    format!(
        "allow_anonymous false\n{}",
        crate::support::http_plugin_conf(port, extra)
    )
}

fn port(server: &Server) -> u16 {
    server.addr.port()
}

/// How many requests on `path` asked about `topic` with `acc`.
fn asked(server: &Server, path: &str, topic: &str, acc: &str) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .map(fields)
        .filter(|f| {
            f.get("topic").map(String::as_str) == Some(topic)
                && f.get("acc").map(String::as_str) == Some(acc)
        })
        .count()
}

fn superuser_asked(server: &Server) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.path == "/superuser")
        .count()
}

#[test]
fn a_burst_of_messages_costs_one_request_per_question() {
    let server = Server::start(users_service);
    let b = Broker::start(&conf(port(&server), ""), &[]);
    let sub = Mqtt::ok(Proto::V5, b.port, "sub", Some(("alice", "secret")));
    assert_eq!(sub.subscribe("alice/t"), 1);
    let publ = Mqtt::ok(Proto::V311, b.port, "pub", Some(("alice", "secret")));
    for i in 0..50 {
        assert_eq!(publ.publish("alice/t", &format!("m{i}")), 0);
    }
    for i in 0..50 {
        assert_eq!(
            sub.recv(Duration::from_secs(5)),
            Some(("alice/t".into(), format!("m{i}")))
        );
    }
    assert_eq!(asked(&server, "/acl", "alice/t", "2"), 1, "write checks");
    assert_eq!(asked(&server, "/acl", "alice/t", "1"), 1, "read checks");
    assert_eq!(
        asked(&server, "/acl", "alice/t", "4"),
        1,
        "subscribe checks"
    );
    // One superuser question for alice, cached like the ACL answers.
    assert_eq!(superuser_asked(&server), 1);
}

#[test]
fn negative_answers_expire_after_their_own_time() {
    let server = Server::start(users_service);
    let b = Broker::start(
        &conf(port(&server), "plugin_opt_acl_cache_negative_seconds 1\n"),
        &[],
    );
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "secret")));
    assert_eq!(c.publish("bob/x", "1"), 0x87);
    assert_eq!(c.publish("bob/x", "2"), 0x87);
    assert_eq!(
        asked(&server, "/acl", "bob/x", "2"),
        1,
        "the denial is cached"
    );
    sleep(Duration::from_millis(1500));
    assert_eq!(c.publish("bob/x", "3"), 0x87);
    assert_eq!(
        asked(&server, "/acl", "bob/x", "2"),
        2,
        "asked again after the negative time"
    );
    // A positive answer keeps its (longer) time.
    assert!(support::accepted(c.publish("alice/x", "1")));
    sleep(Duration::from_millis(1200));
    assert!(support::accepted(c.publish("alice/x", "2")));
    assert_eq!(asked(&server, "/acl", "alice/x", "2"), 1);
}

#[test]
fn cache_control_from_the_service_overrides_the_configured_time() {
    let server = Server::start(|req: &Request| {
        let reply = users_service(req);
        match fields(req).get("topic").map(String::as_str) {
            Some("alice/nostore") => reply.with_header("Cache-Control", "no-store"),
            Some("alice/short") => reply.with_header("Cache-Control", "max-age=1"),
            // A second header's no-store wins over the first one's max-age.
            Some("alice/two") => reply
                .with_header("Cache-Control", "max-age=600")
                .with_header("Cache-Control", "no-store"),
            Some("alice/negative") => reply.with_header("Cache-Control", "max-age=-1"),
            _ => reply,
        }
    });
    let b = Broker::start(&conf(port(&server), ""), &[]);
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "secret")));
    for _ in 0..3 {
        assert!(support::accepted(c.publish("alice/nostore", "x")));
        assert!(support::accepted(c.publish("alice/short", "x")));
        assert!(support::accepted(c.publish("alice/two", "x")));
        assert!(support::accepted(c.publish("alice/negative", "x")));
    }
    for topic in ["alice/two", "alice/negative"] {
        assert_eq!(
            asked(&server, "/acl", topic, "2"),
            3,
            "{topic}: not cacheable"
        );
    }
    assert_eq!(
        asked(&server, "/acl", "alice/nostore", "2"),
        3,
        "no-store: asked every time"
    );
    assert_eq!(
        asked(&server, "/acl", "alice/short", "2"),
        1,
        "max-age=1: cached"
    );
    sleep(Duration::from_millis(1500));
    assert!(support::accepted(c.publish("alice/short", "x")));
    assert_eq!(
        asked(&server, "/acl", "alice/short", "2"),
        2,
        "max-age=1: asked again after it"
    );
}

#[test]
fn errors_are_never_cached() {
    let failing = Arc::new(AtomicBool::new(false));
    let f = failing.clone();
    let server = Server::start(move |req: &Request| {
        if f.load(Ordering::SeqCst) && req.path == "/acl" {
            Reply::status(500)
        } else {
            users_service(req)
        }
    });
    let b = Broker::start(
        &conf(port(&server), "plugin_opt_http_failure_threshold 0\n"),
        &[],
    );
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "secret")));
    failing.store(true, Ordering::SeqCst);
    assert_eq!(c.publish("alice/e", "1"), 0x87, "error: refused");
    assert_eq!(c.publish("alice/e", "2"), 0x87);
    assert_eq!(
        asked(&server, "/acl", "alice/e", "2"),
        2,
        "the error was not cached"
    );
    failing.store(false, Ordering::SeqCst);
    assert!(
        support::accepted(c.publish("alice/e", "3")),
        "recovered at once"
    );
    assert!(
        !c.closed(Duration::from_millis(100)),
        "a refused publish never disconnects"
    );
}

#[test]
fn hot_entries_are_refreshed_before_they_expire() {
    let server = Server::start(users_service);
    let b = Broker::start(
        &conf(port(&server), "plugin_opt_acl_cache_seconds 2\n"),
        &[],
    );
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "secret")));
    assert!(support::accepted(c.publish("alice/hot", "1")));
    assert_eq!(asked(&server, "/acl", "alice/hot", "2"), 1);
    // In the last fifth of its life the entry answers at once and is refreshed behind.
    sleep(Duration::from_millis(1750));
    assert!(support::accepted(c.publish("alice/hot", "2")));
    wait_for(
        || asked(&server, "/acl", "alice/hot", "2") == 2,
        "the background refresh",
    );
    // Past the first entry's end, the refreshed one answers: no new request.
    sleep(Duration::from_millis(600));
    assert!(support::accepted(c.publish("alice/hot", "3")));
    assert_eq!(asked(&server, "/acl", "alice/hot", "2"), 2);
    let log = b.log();
    assert!(!log.contains("secret"), "{log}");
}

#[test]
fn sighup_clears_the_cache() {
    let server = Server::start(users_service);
    let b = Broker::start(&conf(port(&server), ""), &[]);
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "secret")));
    assert!(support::accepted(c.publish("alice/s", "1")));
    assert!(support::accepted(c.publish("alice/s", "2")));
    assert_eq!(asked(&server, "/acl", "alice/s", "2"), 1);
    b.sighup();
    assert!(support::accepted(c.publish("alice/s", "3")));
    assert_eq!(asked(&server, "/acl", "alice/s", "2"), 2);
    assert!(
        b.log()
            .contains("reload: backend http reloaded, cache cleared; so far: auth 1/0/0/0"),
        "{}",
        b.log()
    );
}

#[test]
fn metrics_endpoint_serves_the_counters() {
    let server = Server::start(users_service);
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let b = Broker::start(
        &conf(
            port(&server),
            &format!("plugin_opt_metrics_listen 127.0.0.1:{metrics_port}\n"),
        ),
        &[],
    );
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "secret")));
    for _ in 0..5 {
        assert!(support::accepted(c.publish("alice/m", "1")));
    }
    let mut s = std::net::TcpStream::connect(("127.0.0.1", metrics_port)).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.contains(
            "mosq_auth_decisions_total{backend=\"http\",check=\"auth\",result=\"allow\"} 1"
        ),
        "{out}"
    );
    assert!(
        out.contains("mosq_auth_cache_hits_total{backend=\"http\",check=\"acl\"} 4"),
        "{out}"
    );
    assert!(
        out.contains("mosq_auth_cache_misses_total{backend=\"http\",check=\"acl\"} 1"),
        "{out}"
    );
}
