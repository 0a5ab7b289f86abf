//! Rules, superuser answer and expiry from the HTTP login answer (EMQX 5's fields), end to end:
//! the real broker, a real HTTP service that counts what it is asked, real MQTT clients.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::support::{
    accepted, fields, http_plugin_conf, not_authorised, pub_denied, sub_refused, wait_for, Broker,
    Mqtt, Proto, Reply, Request, Server, PROTOS,
};

const QUIET: Duration = Duration::from_millis(700);

/// A service answering `/auth` with the JSON body stored for the user (when the password is
/// right), `/acl` and `/superuser` with 403: a client with rules must never need those.
#[derive(Clone, Default)]
struct Logins(Arc<Mutex<HashMap<String, (String, Value)>>>);

impl Logins {
    fn set(&self, user: &str, password: &str, answer: Value) {
        self.0
            .lock()
            .unwrap()
            .insert(user.into(), (password.into(), answer));
    }

    fn reply(&self, req: &Request) -> Reply {
        if req.path != "/auth" {
            return Reply::status(403);
        }
        let f = fields(req);
        let user = f.get("username").cloned().unwrap_or_default();
        let pw = f.get("password").cloned().unwrap_or_default();
        match self.0.lock().unwrap().get(&user) {
            Some((p, answer)) if *p == pw => Reply::body(200, answer.to_string()),
            _ => Reply::body(200, r#"{"ok": false}"#),
        }
    }
}

fn service(logins: &Logins) -> Server {
    let l = logins.clone();
    Server::start(move |req| l.reply(req))
}

/// The HTTP backend in json response mode, no cache (every answer comes from the service or
/// the session), then `extra`.
fn conf(server: &Server, extra: &str) -> String {
    format!(
        "allow_anonymous false\n{}",
        http_plugin_conf(
            server.addr.port(),
            &format!("plugin_opt_http_response_mode json\nplugin_opt_cache false\n{extra}")
        )
    )
}

fn asked(server: &Server, path: &str) -> usize {
    server.requests().iter().filter(|r| r.path == path).count()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn denied(proto: Proto, code: u8) -> bool {
    match proto {
        // MQTT 3.1.1 cannot say: the broker acknowledges and drops the message.
        Proto::V311 => code == 0,
        Proto::V5 => code == pub_denied(proto),
    }
}

#[test]
fn rules_from_the_login_decide_every_check_without_a_request() {
    let logins = Logins::default();
    logins.set(
        "alice",
        "a-pw",
        json!({"ok": true, "acl": [
            {"permission": "deny", "action": "publish", "topic": "dev/${username}/admin"},
            {"permission": "allow", "action": "publish", "topic": "dev/${username}/#"},
            {"permission": "allow", "action": "subscribe", "topic": "cmd/${clientid}/#"},
            {"permission": "deny", "action": "subscribe", "topic": "eq feed/#"},
            {"permission": "deny", "action": "all", "topic": "secret/#"},
            {"permission": "allow", "action": "subscribe", "topic": "#"}
        ]}),
    );
    logins.set(
        "bob",
        "b-pw",
        json!({"result": "allow", "acl": [
            {"permission": "allow", "action": "all", "topic": "#"}
        ]}),
    );
    let server = service(&logins);
    let b = Broker::start(&conf(&server, ""), &[]);
    for proto in PROTOS {
        let alice = Mqtt::ok(proto, b.port, "a1", Some(("alice", "a-pw")));
        assert!(accepted(alice.publish("dev/alice/temp", "1")), "{proto:?}");
        assert!(denied(proto, alice.publish("dev/alice/admin", "1")));
        assert!(denied(proto, alice.publish("dev/bob/temp", "1")), "no rule");
        assert!(
            denied(proto, alice.publish("cmd/a1/x", "1")),
            "subscribe rule"
        );
        assert_eq!(alice.subscribe("cmd/a1/+"), 1);
        assert_eq!(
            alice.subscribe("cmd/a2/+"),
            1,
            "covered by the last rule, #"
        );
        assert_eq!(alice.subscribe("feed/#"), sub_refused(proto), "eq deny");
        assert_eq!(alice.subscribe("feed/+/x"), 1);
        assert_eq!(alice.subscribe("secret/+"), sub_refused(proto));
        let sub = Mqtt::ok(proto, b.port, "a2", Some(("alice", "a-pw")));
        assert_eq!(sub.subscribe("#"), 1);
        let bob = Mqtt::ok(proto, b.port, "b1", Some(("bob", "b-pw")));
        for topic in ["secret/x", "public/x", "feed/a/x"] {
            assert!(accepted(bob.publish(topic, topic)));
        }
        // Deliveries are decided by alice's subscribe rules: secret/ never reaches her.
        let mut got = Vec::new();
        while let Some((t, _)) = sub.recv(QUIET) {
            got.push(t);
        }
        assert_eq!(got, ["public/x", "feed/a/x"], "{proto:?}");
    }
    assert_eq!(
        asked(&server, "/acl"),
        0,
        "no ACL request for clients with rules"
    );
    assert_eq!(asked(&server, "/superuser"), 0);
    assert!(b.log().contains("allowed by http (6 rules)"), "{}", b.log());
}

#[test]
fn qos_and_retain_conditions() {
    let logins = Logins::default();
    logins.set(
        "alice",
        "a-pw",
        json!({"ok": true, "acl": [
            {"permission": "deny", "action": "publish", "topic": "q/#", "retain": true},
            {"permission": "allow", "action": "publish", "topic": "q/#", "qos": [1]},
            {"permission": "allow", "action": "subscribe", "topic": "q/#", "qos": [0]}
        ]}),
    );
    let server = service(&logins);
    let b = Broker::start(&conf(&server, ""), &[]);
    let proto = Proto::V5;
    let c = Mqtt::ok(proto, b.port, "a1", Some(("alice", "a-pw")));
    assert_eq!(c.publish_with("q/x", "r", 1, true), Some(pub_denied(proto)));
    assert!(accepted(c.publish_with("q/x", "n", 1, false).unwrap()));
    assert_eq!(
        c.subscribe_with("q/#", 1),
        sub_refused(proto),
        "QoS 1 asked"
    );
    assert_eq!(c.subscribe_with("q/#", 0), 0);
    // A QoS 0 publish is refused silently: nothing arrives.
    let p = Mqtt::ok(proto, b.port, "a2", Some(("alice", "a-pw")));
    p.publish_with("q/zero", "0", 0, false);
    assert!(accepted(p.publish("q/one", "1")));
    assert_eq!(
        c.recv(Duration::from_secs(5)).map(|m| m.0),
        Some("q/one".into())
    );
    assert_eq!(c.recv(QUIET), None);
    assert_eq!(asked(&server, "/acl"), 0);
}

#[test]
fn no_matching_rule_asks_the_rest_of_the_chain_or_denies() {
    let logins = Logins::default();
    logins.set(
        "alice",
        "a-pw",
        json!({"ok": true, "acl": [
            {"permission": "allow", "action": "all", "topic": "mine/#"}
        ]}),
    );
    let server = service(&logins);
    let files = [("acl", "user alice\ntopic readwrite other/#\n")];
    let chain = "plugin_opt_backends http,files\nplugin_opt_acl_file {dir}/acl\n";
    for (extra, other_allowed) in [("", true), ("plugin_opt_rules_no_match deny\n", false)] {
        let b = Broker::start(&conf(&server, &format!("{chain}{extra}")), &files);
        let proto = Proto::V5;
        let c = Mqtt::ok(proto, b.port, "a1", Some(("alice", "a-pw")));
        assert!(accepted(c.publish("mine/x", "1")));
        let code = c.publish("other/x", "1");
        assert_eq!(accepted(code), other_allowed, "{extra:?}: {code:#x}");
        assert!(denied(proto, c.publish("elsewhere/x", "1")));
    }
    assert_eq!(asked(&server, "/acl"), 0, "the backend that sent the rules");
}

#[test]
fn superuser_from_the_login_answer() {
    let logins = Logins::default();
    logins.set("root", "r-pw", json!({"ok": true, "is_superuser": true}));
    logins.set("carol", "c-pw", json!({"ok": true, "is_superuser": false}));
    let server = service(&logins);
    let b = Broker::start(&conf(&server, ""), &[]);
    for proto in PROTOS {
        let before = server.request_count();
        let root = Mqtt::ok(proto, b.port, "r", Some(("root", "r-pw")));
        assert!(accepted(root.publish("any/where", "1")));
        assert_eq!(root.subscribe("#"), 1);
        assert_eq!(server.request_count(), before + 1, "the login only");
        // Not a superuser, no rules: the service's /acl decides (403 here), /superuser is
        // never asked.
        let carol = Mqtt::ok(proto, b.port, "c", Some(("carol", "c-pw")));
        assert!(denied(proto, carol.publish("any/where", "1")));
        assert!(asked(&server, "/acl") > 0);
        assert_eq!(asked(&server, "/superuser"), 0);
    }
}

#[test]
fn an_expired_session_is_disconnected() {
    let logins = Logins::default();
    let server = service(&logins);
    let b = Broker::start(&conf(&server, ""), &[]);
    for proto in PROTOS {
        let ends = unix_now() + 2;
        logins.set(
            "alice",
            "a-pw",
            json!({"ok": true, "expire_at": ends, "acl": [
                {"permission": "allow", "action": "all", "topic": "#"}
            ]}),
        );
        let id = format!("exp-{proto:?}");
        let c = Mqtt::ok(proto, b.port, &id, Some(("alice", "a-pw")));
        let other = Mqtt::ok(proto, b.port, "stays", Some(("alice", "a-pw")));
        assert!(accepted(c.publish("t", "1")));
        assert!(
            c.closed(Duration::from_secs(10)),
            "{proto:?}: still connected"
        );
        assert!(unix_now() >= ends, "disconnected before expire_at");
        // The other client logged in with the same expiry: it goes too.
        assert!(other.closed(Duration::from_secs(5)));
        let line = format!("disconnecting client '{id}' (user 'alice'): its session expired");
        wait_for(|| b.log().contains(&line), &line);
    }
    // An answer whose session has already ended refuses the login.
    logins.set(
        "alice",
        "a-pw",
        json!({"ok": true, "expire_at": unix_now() - 5}),
    );
    for proto in PROTOS {
        let err = Mqtt::connect(proto, b.port, "late", Some(("alice", "a-pw"))).err();
        assert_eq!(err, Some(not_authorised(proto)));
    }
    assert!(b.log().contains("expire_at has passed: refusing"));
}

#[test]
fn a_malformed_session_refuses_the_login_and_names_the_field() {
    let logins = Logins::default();
    let server = service(&logins);
    let b = Broker::start(&conf(&server, ""), &[]);
    let cases = [
        (
            json!({"ok": true, "acl": {"topic": "a"}}),
            "acl: expected a list",
        ),
        (
            json!({"ok": true, "acl": [{"permission": "allow", "action": "read", "topic": "a"}]}),
            "acl[0].action",
        ),
        (
            json!({"ok": true, "acl": [
                {"permission": "allow", "action": "all", "topic": "a"},
                {"permission": "maybe", "action": "all", "topic": "a"}
            ]}),
            "acl[1].permission",
        ),
        (
            json!({"ok": true, "acl": [{"permission": "allow", "action": "all", "topic": "a/#/b"}]}),
            "acl[0].topic",
        ),
        (json!({"ok": true, "is_superuser": "yes"}), "is_superuser"),
        (json!({"ok": true, "expire_at": "soon"}), "expire_at"),
    ];
    for (answer, field) in cases {
        logins.set("alice", "pw-Zq81", answer);
        for proto in PROTOS {
            let err = Mqtt::connect(proto, b.port, "m", Some(("alice", "pw-Zq81"))).err();
            assert_eq!(err, Some(not_authorised(proto)), "{field}");
        }
        wait_for(|| b.log().contains(field), field);
    }
    assert!(b.log().contains("malformed session"));
    assert!(!b.log().contains("pw-Zq81"), "the password is never logged");
}

#[test]
fn hostile_names_never_widen_a_rule() {
    let logins = Logins::default();
    let rules = json!({"ok": true, "acl": [
        {"permission": "deny", "action": "publish", "topic": "ban/${clientid}"},
        {"permission": "allow", "action": "all", "topic": "home/${username}/#"},
        {"permission": "allow", "action": "publish", "topic": "open/#"}
    ]});
    for user in ["+", "#", "a/b"] {
        logins.set(user, "pw", rules.clone());
    }
    logins.set("alice", "pw", rules);
    let server = service(&logins);
    let b = Broker::start(&conf(&server, ""), &[]);
    for proto in PROTOS {
        for user in ["+", "#", "a/b"] {
            let c = Mqtt::ok(proto, b.port, "plain", Some((user, "pw")));
            assert_eq!(c.subscribe("home/+/#"), sub_refused(proto), "{user}");
            assert_eq!(c.subscribe("home/#"), sub_refused(proto), "{user}");
            assert!(denied(proto, c.publish("home/x/y", "1")), "{user}");
            assert!(accepted(c.publish("open/x", "1")), "{user}");
        }
        // A client id that cannot fill the deny rule: every publish is refused.
        for id in ["c+", "c#", "c/d"] {
            let c = Mqtt::ok(proto, b.port, id, Some(("alice", "pw")));
            assert!(denied(proto, c.publish("open/x", "1")), "{id}");
            assert_eq!(c.subscribe("home/alice/#"), 1, "{id}: reads are unaffected");
        }
    }
    assert_eq!(asked(&server, "/acl"), 0);
}

#[test]
fn a_new_connection_never_inherits_an_old_session() {
    let logins = Logins::default();
    let server = service(&logins);
    let b = Broker::start(&conf(&server, ""), &[]);
    for round in 0..10 {
        // Same username and client id each time: only the login answer differs. Connecting
        // right after the previous client left makes the broker likely to reuse its client
        // structure.
        logins.set(
            "alice",
            "pw",
            json!({"ok": true, "acl": [{"permission": "allow", "action": "all", "topic": "x/#"}]}),
        );
        let c = Mqtt::ok(Proto::V5, b.port, "same", Some(("alice", "pw")));
        assert!(accepted(c.publish("x/1", "1")), "round {round}");
        drop(c);
        logins.set("alice", "pw", json!({"ok": true}));
        let before = asked(&server, "/acl");
        let c = Mqtt::ok(Proto::V5, b.port, "same", Some(("alice", "pw")));
        assert_eq!(
            c.publish("x/1", "1"),
            pub_denied(Proto::V5),
            "round {round}"
        );
        assert!(
            asked(&server, "/acl") > before,
            "decided by /acl, not old rules"
        );
        drop(c);
    }
}

#[test]
fn plugin_api_v4_keeps_the_rules_of_each_login() {
    let logins = Logins::default();
    logins.set(
        "alice",
        "pw",
        json!({"ok": true, "acl": [{"permission": "allow", "action": "all", "topic": "x/#"}]}),
    );
    let server = service(&logins);
    let b = Broker::start_v4(&conf(&server, ""), &[]);
    let c = Mqtt::ok(Proto::V5, b.port, "v4", Some(("alice", "pw")));
    assert!(accepted(c.publish("x/1", "1")));
    assert_eq!(c.publish("y/1", "1"), pub_denied(Proto::V5));
    assert_eq!(c.subscribe("x/#"), 1);
    assert_eq!(asked(&server, "/acl"), 0);
}
