//! The files backend end to end: the real mosquitto (`MOSQUITTO_BIN`, else Debian's) loads the
//! freshly built plugin (plugin API v5 and v4) and real MQTT v3.1.1 and v5 clients connect, publish
//! and subscribe.

use crate::support;
use crate::support::{
    mosquitto_passwd_line, not_authorised, sub_refused, Broker, Mqtt, Proto, PROTOS,
};
use std::time::Duration;

const ACL: &str = "\
# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic read shared/#
topic deny alice/secret

user bob
topic write bob/in
topic read bob/out

pattern readwrite users/%u/#
pattern write clients/%c/status
";

fn conf() -> &'static str {
    "allow_anonymous false\n\
     plugin {plugin}\n\
     plugin_opt_backends files\n\
     plugin_opt_password_file {dir}/passwd\n\
     plugin_opt_acl_file {dir}/acl\n\
     plugin_opt_log_level debug\n"
}

fn passwd() -> String {
    format!(
        "{}\n{}\n{}\n{}\n",
        mosquitto_passwd_line("alice", "alice-pw"),
        mosquitto_passwd_line("bob", "bob-pw"),
        mosquitto_passwd_line("+", "plus-pw"),
        mosquitto_passwd_line("a/b", "slash-pw"),
    )
}

fn start(v4: bool, body: &str, passwd: &str, acl: &str) -> Broker {
    let files = [("passwd", passwd), ("acl", acl)];
    if v4 {
        Broker::start_v4(body, &files)
    } else {
        Broker::start(body, &files)
    }
}

fn connect_checks(v4: bool) {
    let b = start(v4, conf(), &passwd(), ACL);
    for proto in PROTOS {
        Mqtt::ok(proto, b.port, "c1", Some(("alice", "alice-pw")));
        assert_eq!(
            Mqtt::connect(proto, b.port, "c2", Some(("alice", "wrong"))).err(),
            Some(not_authorised(proto))
        );
        assert_eq!(
            Mqtt::connect(proto, b.port, "c3", Some(("alice", ""))).err(),
            Some(not_authorised(proto))
        );
        assert_eq!(
            Mqtt::connect(proto, b.port, "c4", Some(("mallory", "x"))).err(),
            Some(not_authorised(proto))
        );
        assert_eq!(
            Mqtt::connect(proto, b.port, "c5", None).err(),
            Some(not_authorised(proto))
        );
    }
    let log = b.log();
    assert!(log.contains("mosq-auth: started"), "{log}");
    for secret in ["alice-pw", "wrong", "bob-pw", "$7$"] {
        assert!(
            !log.contains(secret),
            "the broker log contains '{secret}':\n{log}"
        );
    }
}

#[test]
fn connect_v5_api() {
    connect_checks(false);
}

#[test]
fn connect_v4_api() {
    connect_checks(true);
}

fn acl_checks(v4: bool) {
    let b = start(v4, conf(), &passwd(), ACL);
    for proto in PROTOS {
        let alice = Mqtt::ok(proto, b.port, "alice-1", Some(("alice", "alice-pw")));
        let bob = Mqtt::ok(proto, b.port, "bob-1", Some(("bob", "bob-pw")));

        // Subscribe: granted only when read access covers the whole filter.
        assert_eq!(alice.subscribe("alice/#"), 1);
        assert_eq!(alice.subscribe("shared/+/x"), 1);
        assert_eq!(alice.subscribe("users/alice/#"), 1);
        assert_eq!(alice.subscribe("#"), sub_refused(proto));
        assert_eq!(alice.subscribe("bob/out"), sub_refused(proto));
        assert_eq!(bob.subscribe("bob/out"), 1);
        assert_eq!(
            bob.subscribe("bob/in"),
            sub_refused(proto),
            "write-only topic"
        );
        assert_eq!(
            bob.subscribe("users/alice/#"),
            sub_refused(proto),
            "pattern is per user"
        );

        // Publish: allowed and denied. v5 reports 0x87; 3.1.1 acks with 0 and drops it.
        let denied = match proto {
            Proto::V311 => 0,
            Proto::V5 => 0x87,
        };
        // MQTT 5 acknowledges an allowed publish nobody subscribed to with 0x10.
        let unheard = match proto {
            Proto::V311 => 0,
            Proto::V5 => 0x10,
        };
        assert_eq!(bob.publish("bob/in", "to-bob-in"), unheard);
        assert_eq!(alice.publish("alice/x", "a1"), 0);
        assert_eq!(
            alice.recv(Duration::from_secs(5)),
            Some(("alice/x".into(), "a1".into()))
        );
        assert_eq!(alice.publish("bob/out", "forged"), denied);
        assert_eq!(alice.publish("shared/a/x", "read-only"), denied);
        assert_eq!(
            bob.publish("clients/bob-1/status", "up"),
            unheard,
            "pattern %c"
        );
        assert_eq!(bob.publish("clients/alice-1/status", "spoof"), denied);

        // Read: a message alice may not read is not delivered even though her
        // subscription matches it (deny wins over readwrite alice/#).
        assert_eq!(alice.publish("alice/secret", "s"), denied);
        assert_eq!(alice.publish("alice/y", "a2"), 0);
        assert_eq!(
            alice.recv(Duration::from_secs(5)),
            Some(("alice/y".into(), "a2".into()))
        );
        assert_eq!(alice.recv(Duration::from_millis(300)), None);
    }
}

#[test]
fn acl_v5_api() {
    acl_checks(false);
}

#[test]
fn acl_v4_api() {
    acl_checks(true);
}

#[test]
fn denied_read_is_not_delivered() {
    // carol may subscribe to news/# but must not receive news/private.
    let acl = "user alice\ntopic readwrite news/#\nuser carol\ntopic read news/#\ntopic deny news/private\n";
    let pw = format!(
        "{}\n{}\n",
        mosquitto_passwd_line("alice", "alice-pw"),
        mosquitto_passwd_line("carol", "carol-pw")
    );
    let b = start(false, conf(), &pw, acl);
    for proto in PROTOS {
        let carol = Mqtt::ok(proto, b.port, "carol", Some(("carol", "carol-pw")));
        let alice = Mqtt::ok(proto, b.port, "alice", Some(("alice", "alice-pw")));
        assert_eq!(carol.subscribe("news/#"), 1);
        assert_eq!(alice.publish("news/private", "p"), 0);
        assert_eq!(alice.publish("news/public", "q"), 0);
        assert_eq!(
            carol.recv(Duration::from_secs(5)),
            Some(("news/public".into(), "q".into()))
        );
        assert_eq!(carol.recv(Duration::from_millis(300)), None);
    }
}

#[test]
fn special_characters_in_username_never_match_patterns() {
    // With `pattern readwrite users/%u/#`, the user "+" would get users/+/# (every user's
    // tree) and "a/b" would get users/a/b/# (inside user a's tree). Neither gets anything.
    let b = start(false, conf(), &passwd(), ACL);
    for proto in PROTOS {
        let plus = Mqtt::ok(proto, b.port, "plus", Some(("+", "plus-pw")));
        assert_eq!(plus.subscribe("users/+/#"), sub_refused(proto));
        assert_eq!(plus.subscribe("users/alice/#"), sub_refused(proto));
        let slash = Mqtt::ok(proto, b.port, "slash", Some(("a/b", "slash-pw")));
        assert_eq!(slash.subscribe("users/a/b/#"), sub_refused(proto));
        // Publishes are dropped: alice, subscribed to her tree, receives nothing.
        let alice = Mqtt::ok(proto, b.port, "alice", Some(("alice", "alice-pw")));
        assert_eq!(alice.subscribe("users/alice/#"), 1);
        plus.publish("users/alice/x", "from-plus");
        slash.publish("users/a/b/x", "from-slash");
        assert_eq!(alice.recv(Duration::from_millis(500)), None);
    }
}

#[test]
fn anonymous_clients_get_the_rules_before_the_first_user() {
    let body = conf().replace("allow_anonymous false", "allow_anonymous true");
    let b = start(false, &body, &passwd(), ACL);
    for proto in PROTOS {
        let anon = Mqtt::ok(proto, b.port, "anon", None);
        assert_eq!(anon.subscribe("public/#"), 1);
        assert_eq!(anon.subscribe("alice/#"), sub_refused(proto));
        // Patterns with %u never apply to anonymous clients.
        assert_eq!(anon.subscribe("users/anonymous/#"), sub_refused(proto));
    }
}

/// Configs the broker must refuse, with what its output must say: one test per row.
macro_rules! refused_configs {
    ($($name:ident: $body:expr, $files:expr => $expected:expr;)*) => {$(
        #[test]
        fn $name() {
            let out = Broker::start_fails(&$body, &$files);
            assert!(out.contains($expected), "no {:?} in:\n{out}", $expected);
        }
    )*};
}

refused_configs! {
    bad_option_value_stops_the_broker_naming_option_and_value:
        format!("{}plugin_opt_log_level loud\n", conf()), [("passwd", passwd().as_str()), ("acl", ACL)]
        => "option auth_opt_log_level: invalid value 'loud': expected one of error, warning, notice, info, debug";
    missing_password_file_stops_the_broker_naming_the_path:
        "plugin {plugin}\nplugin_opt_backends files\nplugin_opt_password_file {dir}/nope\n", []
        => "/nope: No such file or directory";
    broken_acl_file_stops_the_broker_with_file_and_line:
        conf(), [("passwd", passwd().as_str()), ("acl", "user alice\ntopc read x\n")]
        => "/acl:2: ";
}

#[test]
fn unknown_option_is_a_warning_with_a_suggestion() {
    let b = start(
        false,
        &format!("{}plugin_opt_superuser admin\n", conf()),
        &passwd(),
        ACL,
    );
    let log = b.log();
    assert!(
        log.contains("unknown option auth_opt_superuser (did you mean auth_opt_superusers?)"),
        "{log}"
    );
}

#[test]
fn auth_plugin_and_auth_opt_lines_work_too() {
    let body = conf()
        .replace("plugin ", "auth_plugin ")
        .replace("plugin_opt_", "auth_opt_");
    let b = start(false, &body, &passwd(), ACL);
    Mqtt::ok(Proto::V311, b.port, "c", Some(("alice", "alice-pw")));
    assert!(Mqtt::connect(Proto::V311, b.port, "d", Some(("alice", "nope"))).is_err());
}

#[test]
fn superusers_pass_every_acl_check() {
    let body = format!("{}plugin_opt_superusers adm*\n", conf());
    let pw = format!(
        "{}{}\n",
        passwd(),
        mosquitto_passwd_line("admin", "admin-pw")
    );
    let b = start(false, &body, &pw, ACL);
    for proto in PROTOS {
        let admin = Mqtt::ok(proto, b.port, "admin", Some(("admin", "admin-pw")));
        assert_eq!(admin.subscribe("#"), 1);
        assert!(support::accepted(admin.publish("bob/out", "x")));
    }
}

#[test]
fn per_listener_settings_give_each_listener_its_own_plugin_instance() {
    // Listener 1 (the harness's) knows alice; listener 2 knows only bob.
    let dir = support::Dir::new();
    let port2 = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    dir.write("pw1", mosquitto_passwd_line("alice", "alice-pw") + "\n");
    dir.write("pw2", mosquitto_passwd_line("bob", "bob-pw") + "\n");
    let body = format!(
        "allow_anonymous false\n\
         plugin {{plugin}}\nplugin_opt_backends files\nplugin_opt_password_file {{dir}}/pw1\n\
         listener {port2} 127.0.0.1\nallow_anonymous false\n\
         plugin {{plugin}}\nplugin_opt_backends files\nplugin_opt_password_file {{dir}}/pw2\n"
    );
    let start = support::Start {
        global: "per_listener_settings true".into(),
        ..Default::default()
    };
    let b = Broker::start_in(dir, &body, start);
    Mqtt::ok(Proto::V5, b.port, "a", Some(("alice", "alice-pw")));
    assert!(Mqtt::connect(Proto::V5, b.port, "b", Some(("bob", "bob-pw"))).is_err());
    Mqtt::ok(Proto::V5, port2, "b", Some(("bob", "bob-pw")));
    assert!(Mqtt::connect(Proto::V5, port2, "a", Some(("alice", "alice-pw"))).is_err());
}

#[test]
fn log_level_filters_the_plugins_lines() {
    let body = conf().replace("plugin_opt_log_level debug", "plugin_opt_log_level warning");
    let b = start(false, &body, &passwd(), ACL);
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "alice-pw")));
    c.publish("alice/x", "x");
    let log = b.log();
    assert!(
        !log.contains("mosq-auth: started"),
        "notice line at level warning:\n{log}"
    );
    assert!(
        !log.contains("mosq-auth: acl:"),
        "debug line at level warning:\n{log}"
    );

    // At debug, every decision is logged (without passwords: see connect_checks).
    let b = start(false, conf(), &passwd(), ACL);
    let c = Mqtt::ok(Proto::V5, b.port, "c", Some(("alice", "alice-pw")));
    c.publish("alice/x", "x");
    support::wait_for(
        || {
            b.log()
                .contains("mosq-auth: acl: 'alice' (client 'c') write 'alice/x' allowed by files")
        },
        "the debug line",
    );
    assert!(
        b.log()
            .contains("mosq-auth: auth: user 'alice' (client 'c') allowed by files"),
        "{}",
        b.log()
    );
}

#[test]
fn shared_subscriptions_are_decided_on_the_filter_behind_the_share_prefix() {
    let acl = "user alice\ntopic readwrite alice/#\n";
    for v4 in [false, true] {
        let b = start(v4, conf(), &passwd(), acl);
        for proto in PROTOS {
            let tag = format!("{proto:?}-{v4}");
            let sub = Mqtt::ok(
                proto,
                b.port,
                &format!("s-{tag}"),
                Some(("alice", "alice-pw")),
            );
            // A group of its own: a member left from an earlier round would share the message.
            let group = format!("$share/g{proto:?}{v4}/alice/#");
            assert_eq!(sub.subscribe(&group), 1, "{tag}");
            assert_eq!(sub.subscribe("$share/g/bob/#"), sub_refused(proto), "{tag}");
            assert_eq!(sub.subscribe("$share/g/#"), sub_refused(proto), "{tag}");
            let publisher = Mqtt::ok(
                proto,
                b.port,
                &format!("p-{tag}"),
                Some(("alice", "alice-pw")),
            );
            assert_eq!(publisher.publish("alice/shared", "x"), 0);
            assert_eq!(
                sub.recv(Duration::from_secs(5)),
                Some(("alice/shared".into(), "x".into())),
                "{tag}"
            );
        }
    }
}
