//! CONNECTs that wait on the network: on Mosquitto 2.1 the plugin parks them
//! (`MOSQ_ERR_AUTH_DELAYED`), asks on worker threads and completes them on the broker's tick, so
//! connected clients are served meanwhile; on 2.0 the same checks run on the broker's thread.
//! Every test runs on whichever broker `MOSQUITTO_BIN` names and checks the same answers on
//! both; the "nobody waits" parts apply where the broker can park (2.1).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{broker_version, fields, users_service, wait_for, Reply, Server};
use crate::support::{not_authorised, Broker, Mqtt, Proto, PROTOS};

/// True on a broker that can complete a login later (2.1 and newer).
fn parks() -> bool {
    broker_version() >= (2, 1, 0)
}

fn conf(port: u16, extra: &str) -> String {
    crate::support::http_plugin_conf(port, extra)
}

/// The users service, answering logins only after `delay` (ACL questions at once).
fn slow_logins(delay: Duration) -> Server {
    Server::start(move |r| {
        if r.path == "/auth" {
            std::thread::sleep(delay);
        }
        users_service(r)
    })
}

/// An MQTT 3.1.1 CONNECT with a username and password, written by hand so a test can leave
/// before the CONNACK.
fn raw_connect(port: u16, client_id: &str, user: &str, password: &str) -> TcpStream {
    let mut payload = Vec::new();
    for s in [client_id, user, password] {
        payload.extend_from_slice(&(s.len() as u16).to_be_bytes());
        payload.extend_from_slice(s.as_bytes());
    }
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0xC2, 0, 60];
    body.extend_from_slice(&payload);
    assert!(body.len() < 128, "one-byte remaining length");
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend_from_slice(&body);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.write_all(&packet).expect("send CONNECT");
    s
}

/// The CONNACK return code read from a raw connection (None: closed or timed out).
fn raw_connack(s: &mut TcpStream, timeout: Duration) -> Option<u8> {
    s.set_read_timeout(Some(timeout)).ok()?;
    let mut buf = [0u8; 4];
    s.read_exact(&mut buf).ok()?;
    (buf[0] == 0x20).then_some(buf[3])
}

/// Publishes on `alice` and measures how long the message takes to come back.
fn round_trip(alice: &Mqtt, n: usize) -> Duration {
    let start = Instant::now();
    assert_eq!(alice.publish("alice/ping", &n.to_string()), 0);
    let got = alice.recv(Duration::from_secs(10));
    assert_eq!(got, Some(("alice/ping".into(), n.to_string())));
    start.elapsed()
}

#[test]
fn parked_connects_get_the_exact_connack() {
    let server = slow_logins(Duration::from_millis(300));
    let b = Broker::start(&conf(server.addr.port(), ""), &[]);
    for proto in PROTOS {
        let tag = format!("{proto:?}");
        Mqtt::ok(
            proto,
            b.port,
            &format!("a-{tag}"),
            Some(("alice", "secret")),
        );
        for (creds, why) in [
            (("alice", "wrong"), "wrong password"),
            (("eve", "x"), "unknown"),
        ] {
            assert_eq!(
                Mqtt::connect(proto, b.port, &format!("r-{tag}"), Some(creds)).err(),
                Some(not_authorised(proto)),
                "{why} ({proto:?})"
            );
        }
    }
    let log = b.log();
    assert_eq!(log.contains("worker threads"), parks(), "{log}");
    assert_eq!(log.contains("waits for an answer"), parks(), "{log}");
    // The same login again (same client id: the service may answer per client) is a cache hit,
    // answered at once.
    let requests = server.request_count();
    let start = Instant::now();
    Mqtt::ok(Proto::V5, b.port, "a-V5", Some(("alice", "secret")));
    assert!(
        start.elapsed() < Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        server.request_count(),
        requests,
        "cached login asked the service"
    );
}

#[test]
fn a_hanging_service_refuses_at_the_deadline_while_others_are_served() {
    let server = Server::start(|r| {
        if fields(r).get("username").map(String::as_str) == Some("slow") {
            Reply::Hang
        } else {
            users_service(r)
        }
    });
    let b = Broker::start(&conf(server.addr.port(), "plugin_opt_http_timeout 1"), &[]);
    let alice = Mqtt::ok(Proto::V5, b.port, "alice", Some(("alice", "secret")));
    assert_eq!(alice.subscribe("alice/#"), 1);
    for proto in PROTOS {
        let port = b.port;
        let slow = std::thread::spawn(move || {
            let start = Instant::now();
            let res = Mqtt::connect(proto, port, "slow", Some(("slow", "pw")));
            (res.err(), start.elapsed())
        });
        // While the slow CONNECT waits, the connected client's messages keep flowing.
        std::thread::sleep(Duration::from_millis(100));
        let worst = (0..5).map(|n| round_trip(&alice, n)).max().unwrap();
        let (err, took) = slow.join().unwrap();
        assert_eq!(err, Some(not_authorised(proto)));
        assert!(took < Duration::from_secs(4), "CONNECT took {took:?}");
        if parks() {
            assert!(
                worst < Duration::from_millis(500),
                "round trip {worst:?} while parked"
            );
        }
    }
}

#[test]
fn a_client_that_leaves_while_parked_costs_nothing_and_its_id_can_log_in_again() {
    let server = slow_logins(Duration::from_millis(600));
    let b = Broker::start(&conf(server.addr.port(), ""), &[]);
    // Leaves right after sending CONNECT; its (positive) answer arrives when it is gone.
    drop(raw_connect(b.port, "leaver", "alice", "secret"));
    std::thread::sleep(Duration::from_millis(100));
    // The same client id again, with a wrong password: the first answer must not admit it.
    let mut again = raw_connect(b.port, "leaver", "alice", "wrong");
    assert_eq!(raw_connack(&mut again, Duration::from_secs(5)), Some(5));
    std::thread::sleep(Duration::from_millis(800));
    let alice = Mqtt::ok(Proto::V311, b.port, "leaver", Some(("alice", "secret")));
    assert_eq!(alice.subscribe("alice/#"), 1);
    assert!(round_trip(&alice, 1) < Duration::from_secs(2));
    assert!(!b.log().contains("internal error"), "{}", b.log());
}

#[test]
fn beyond_the_cap_connects_are_refused_at_once() {
    let server = slow_logins(Duration::from_millis(1500));
    let b = Broker::start(
        &conf(server.addr.port(), "plugin_opt_connect_max_waiting 1"),
        &[],
    );
    let mut first = raw_connect(b.port, "first", "alice", "secret");
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let second = Mqtt::connect(Proto::V5, b.port, "second", Some(("bob", "bob-pw")));
    let took = start.elapsed();
    assert_eq!(raw_connack(&mut first, Duration::from_secs(5)), Some(0));
    if parks() {
        assert_eq!(second.err(), Some(not_authorised(Proto::V5)));
        assert!(took < Duration::from_millis(1000), "refusal took {took:?}");
        assert!(b.log().contains("connect_max_waiting"), "{}", b.log());
    } else {
        // 2.0 answers each CONNECT in turn: nothing waits, so nothing is over the cap.
        assert!(second.is_ok(), "{:?}", second.err());
    }
}

#[test]
fn reload_and_shutdown_with_logins_in_flight() {
    let server = Server::start(|r| {
        if r.path == "/auth" {
            Reply::Hang
        } else {
            users_service(r)
        }
    });
    let b = Broker::start(&conf(server.addr.port(), "plugin_opt_http_timeout 2"), &[]);
    let mut waiting: Vec<TcpStream> = (0..4)
        .map(|i| raw_connect(b.port, &format!("w{i}"), "alice", "secret"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    if parks() {
        // Parked: the broker still reloads; the parked logins are refused at their deadline.
        b.sighup();
        for s in &mut waiting {
            assert_eq!(raw_connack(s, Duration::from_secs(6)), Some(5));
        }
        waiting = (0..4)
            .map(|i| raw_connect(b.port, &format!("v{i}"), "alice", "secret"))
            .collect();
        std::thread::sleep(Duration::from_millis(200));
    }
    // Shut down with logins in flight: the broker exits cleanly, without hanging past the
    // deadline of the requests under way.
    let pid = b.pid() as i32;
    // SAFETY: plain kill(2) and waitpid(2) on our child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let start = Instant::now();
    let mut status = 0;
    wait_for(
        // SAFETY: as above.
        || unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid,
        "the broker to exit",
    );
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "exit status {status:#x}:\n{}",
        b.log()
    );
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert!(!b.log().contains("internal error"), "{}", b.log());
    drop(waiting);
}

#[test]
fn a_slow_password_hash_is_verified_off_the_broker_thread() {
    use mosq_auth::hash::{hash_password_with, Scheme};
    // Hashing here costs what verifying costs the plugin (same code, same build).
    let start = Instant::now();
    let slow = hash_password_with(Scheme::Bcrypt, b"right", Some(10)).unwrap();
    let cost = start.elapsed();
    assert!(
        cost > Duration::from_millis(100),
        "bcrypt-10 took only {cost:?}"
    );
    let fast = hash_password_with(Scheme::Mosquitto7, b"secret", None).unwrap();
    let passwd = format!("alice:{fast}\nslow:{slow}\n");
    let b = Broker::start(
        "plugin {plugin}\n\
         plugin_opt_backends files\n\
         plugin_opt_password_file {dir}/passwd\n\
         plugin_opt_log_level debug\n",
        &[("passwd", &passwd)],
    );
    let alice = Mqtt::ok(Proto::V5, b.port, "alice", Some(("alice", "secret")));
    assert_eq!(alice.subscribe("alice/#"), 1);
    for proto in PROTOS {
        let port = b.port;
        let wrong = std::thread::spawn(move || {
            Mqtt::connect(proto, port, "slow", Some(("slow", "wrong"))).err()
        });
        std::thread::sleep(Duration::from_millis(20));
        let worst = (0..3).map(|n| round_trip(&alice, n)).max().unwrap();
        assert_eq!(wrong.join().unwrap(), Some(not_authorised(proto)));
        if parks() {
            assert!(
                worst < cost / 2,
                "round trip {worst:?} while a {cost:?} hash ran"
            );
        }
    }
    Mqtt::ok(Proto::V311, b.port, "slow-ok", Some(("slow", "right")));
    assert_eq!(
        b.log().contains("waits for an answer"),
        parks(),
        "{}",
        b.log()
    );
}

#[test]
fn the_same_client_id_twice_while_parked() {
    let server = slow_logins(Duration::from_millis(800));
    let b = Broker::start(&conf(server.addr.port(), ""), &[]);
    let mut first = raw_connect(b.port, "twice", "alice", "secret");
    std::thread::sleep(Duration::from_millis(200));
    let second = Mqtt::connect(Proto::V5, b.port, "twice", Some(("bob", "bob-pw")));
    if parks() {
        // 2.1 refuses a CONNECT whose client id is already waiting; the first goes on.
        assert!(
            second.is_err(),
            "second CONNECT with a parked client id was accepted"
        );
        assert_eq!(raw_connack(&mut first, Duration::from_secs(5)), Some(0));
    } else {
        // 2.0 answered the first on its thread; the second takes the client id over.
        assert_eq!(raw_connack(&mut first, Duration::from_secs(5)), Some(0));
        assert!(second.is_ok(), "{:?}", second.err());
    }
}

/// A service that admits only `user` with `password`, after 300 ms.
fn slow_single_user(user: &'static str, password: &'static str) -> Server {
    Server::start(move |r| {
        if r.path == "/auth" {
            std::thread::sleep(Duration::from_millis(300));
            let f = fields(r);
            let ok = f.get("username").map(String::as_str) == Some(user)
                && f.get("password").map(String::as_str) == Some(password);
            return Reply::status(if ok { 200 } else { 403 });
        }
        users_service(r)
    })
}

#[test]
fn per_listener_settings_park_in_each_instance() {
    // Two plugin instances, each with its own slow service: alice belongs to the first
    // listener, bob to the second.
    let s1 = slow_single_user("alice", "secret");
    let s2 = slow_single_user("bob", "bob-pw");
    let port2 = crate::support::free_port();
    let body = format!(
        "allow_anonymous false\n{}listener {port2} 127.0.0.1\nallow_anonymous false\n{}",
        conf(s1.addr.port(), ""),
        conf(s2.addr.port(), "")
    );
    let start = crate::support::Start {
        global: "per_listener_settings true".into(),
        ..Default::default()
    };
    let b = Broker::start_in(crate::support::Dir::new(), &body, start);
    for proto in PROTOS {
        let tag = format!("{proto:?}");
        Mqtt::ok(proto, b.port, &format!("a{tag}"), Some(("alice", "secret")));
        Mqtt::ok(proto, port2, &format!("b{tag}"), Some(("bob", "bob-pw")));
        assert_eq!(
            Mqtt::connect(proto, port2, &format!("x{tag}"), Some(("alice", "secret"))).err(),
            Some(not_authorised(proto))
        );
        assert_eq!(
            Mqtt::connect(proto, b.port, &format!("y{tag}"), Some(("bob", "bob-pw"))).err(),
            Some(not_authorised(proto))
        );
    }
    assert_eq!(
        b.log().matches("worker threads").count(),
        if parks() { 2 } else { 0 }
    );
}
