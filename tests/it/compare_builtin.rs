//! The same password and ACL files through the broker's built-in `password_file`/`acl_file`
//! and through mosq-auth's files backend: every connect, publish and delivery decision must be
//! the same. (Subscriptions are stricter in mosq-auth by design, so each reader subscribes to
//! the exact topic, where both agree.)

use crate::support;
use crate::support::{mosquitto_passwd_line, Broker, Dir, Mqtt, Proto, Start};
use std::time::Duration;

const ACL: &str = "\
topic read public/#

user alice
topic readwrite alice/#
topic read shared/+/status
topic deny alice/secret
topic write inbox/#

user bob
topic read alice/news
topic readwrite bob/#
topic deny bob/+/private

user writer
topic write #

pattern readwrite users/%u/#
pattern read devices/%c/config
pattern write devices/%c/state
";

const USERS: &[(&str, &str)] = &[
    ("alice", "alice-pw"),
    ("bob", "bob-pw"),
    ("carol", "carol-pw"),
    ("writer", "writer-pw"),
];

const TOPICS: &[&str] = &[
    "alice/x",
    "alice/secret",
    "alice/news",
    "bob/x",
    "bob/a/private",
    "bob/a/public",
    "shared/1/status",
    "shared/1/other",
    "public/info",
    "inbox/alice",
    "users/alice/a",
    "users/bob/a",
    "users/carol/a",
    "devices/dev-alice/config",
    "devices/dev-alice/state",
    "devices/dev-bob/state",
    "other",
];

fn brokers() -> (Broker, Broker) {
    let mut pw = String::new();
    for (u, p) in USERS {
        pw.push_str(&mosquitto_passwd_line(u, p));
        pw.push('\n');
    }
    let files = |d: &Dir| {
        d.write("passwd", &pw);
        d.write("acl", ACL);
    };
    let (d1, d2) = (Dir::new(), Dir::new());
    files(&d1);
    files(&d2);
    let builtin = Broker::start_in(
        d1,
        "allow_anonymous true\npassword_file {dir}/passwd\nacl_file {dir}/acl\n",
        Start::default(),
    );
    let plugin = Broker::start_in(
        d2,
        "allow_anonymous true\nplugin {plugin}\nplugin_opt_backends files\n\
         plugin_opt_password_file {dir}/passwd\nplugin_opt_acl_file {dir}/acl\n",
        Start::default(),
    );
    (builtin, plugin)
}

#[test]
fn connect_decisions_match_the_builtin_files() {
    let (builtin, plugin) = brokers();
    let mut cases: Vec<(Option<(&str, &str)>, &str)> =
        USERS.iter().map(|c| (Some(*c), "ok")).collect();
    cases.extend([
        (Some(("alice", "bob-pw")), "wrong password"),
        (Some(("alice", "")), "empty password"),
        (Some(("nobody", "x")), "unknown user"),
        (None, "anonymous"),
    ]);
    for (creds, what) in cases {
        for proto in [Proto::V311, Proto::V5] {
            let a = Mqtt::connect(proto, builtin.port, "cmp", creds).err();
            let b = Mqtt::connect(proto, plugin.port, "cmp", creds).err();
            assert_eq!(
                a, b,
                "{proto:?} connect {creds:?} ({what}): built-in vs mosq-auth"
            );
        }
    }
}

fn client_id(user: Option<&str>) -> String {
    format!("dev-{}", user.unwrap_or("anon"))
}

/// Returns, for each (user, topic): whether a publish was accepted and whether the user
/// received a message published on the topic by `writer`.
fn decisions(b: &Broker) -> Vec<(Option<&'static str>, &'static str, bool, bool)> {
    let mut out = Vec::new();
    let writer = Mqtt::ok(
        Proto::V5,
        b.port,
        "the-writer",
        Some(("writer", "writer-pw")),
    );
    let users: Vec<Option<(&str, &str)>> = USERS
        .iter()
        .filter(|(u, _)| *u != "writer")
        .map(|c| Some(*c))
        .chain([None])
        .collect();
    for creds in users {
        let user = creds.map(|c| c.0);
        let c = Mqtt::ok(Proto::V5, b.port, &client_id(user), creds);
        for topic in TOPICS {
            let published = support::accepted(c.publish(topic, "w"));
            c.subscribe(topic);
            assert!(support::accepted(writer.publish(topic, "r")));
            let received = c.recv(Duration::from_millis(200)).is_some();
            // Drain whatever else arrived (e.g. our own publish before subscribing: none).
            while c.recv(Duration::from_millis(20)).is_some() {}
            out.push((user, *topic, published, received));
        }
    }
    out
}

#[test]
fn publish_and_delivery_decisions_match_the_builtin_files() {
    let (builtin, plugin) = brokers();
    let a = decisions(&builtin);
    let b = decisions(&plugin);
    let mut differences = Vec::new();
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            differences.push(format!(
                "{:?} {}: built-in {:?} vs mosq-auth {:?}",
                x.0,
                x.1,
                (x.2, x.3),
                (y.2, y.3)
            ));
        }
    }
    assert!(
        differences.is_empty(),
        "decisions differ:\n{}",
        differences.join("\n")
    );
    // The comparison is not vacuous: some of each.
    assert!(a.iter().any(|d| d.2) && a.iter().any(|d| !d.2));
    assert!(a.iter().any(|d| d.3) && a.iter().any(|d| !d.3));
}
