//! Clients whose file user is removed or re-passworded are disconnected when the password file
//! is reloaded (by the watcher or SIGHUP); everyone else stays. The real broker, real clients.

use std::time::Duration;

use crate::support::{mosquitto_passwd_line, wait_for, Broker, Dir, Mqtt, Proto, Start, PROTOS};

fn conf(interval: &str, extra: &str) -> String {
    format!(
        "allow_anonymous false\n\
         plugin {{plugin}}\n\
         plugin_opt_backends files\n\
         plugin_opt_password_file {{dir}}/passwd\n\
         plugin_opt_reload_interval {interval}\n\
         {extra}"
    )
}

/// One password line per user (each with its own salt: keep the line to keep the hash).
fn lines(users: &[(&str, &str)]) -> Vec<String> {
    users
        .iter()
        .map(|(u, p)| mosquitto_passwd_line(u, p) + "\n")
        .collect()
}

#[test]
fn removed_and_repassworded_users_are_disconnected_on_reload() {
    let dir = Dir::new();
    let all = [("alice", "a-pw"), ("bob", "b-pw"), ("carol", "c-pw")];
    let l = lines(&all);
    dir.write("passwd", l.concat());
    let b = Broker::start_in(dir, &conf("1", ""), Start::default());
    let mut clients = Vec::new();
    for proto in PROTOS {
        for (user, pw) in all {
            let id = format!("{user}-{proto:?}");
            clients.push((user, Mqtt::ok(proto, b.port, &id, Some((user, pw)))));
        }
    }
    // alice is removed, bob gets a new password, carol's line stays as it was.
    let bob = mosquitto_passwd_line("bob", "new-pw") + "\n";
    b.dir.write("passwd", format!("{bob}{}", l[2]));
    for (user, c) in &clients {
        let gone = c.closed(Duration::from_secs(10));
        assert_eq!(gone, *user != "carol", "{user}");
    }
    for proto in PROTOS {
        for (user, why) in [
            ("alice", "the user is no longer in backend files"),
            ("bob", "the user's password changed in backend files"),
        ] {
            let line = format!("disconnecting client '{user}-{proto:?}' (user '{user}'): {why}");
            wait_for(|| b.log().contains(&line), &line);
        }
    }
    for (_, c) in clients.iter().filter(|(u, _)| *u == "carol") {
        assert!(!c.closed(Duration::from_millis(200)), "carol stays");
    }
    assert!(b.log().matches("disconnecting client").count() == 4);
    assert!(Mqtt::connect(Proto::V5, b.port, "bob2", Some(("bob", "new-pw"))).is_ok());
}

#[test]
fn sighup_disconnects_a_removed_user() {
    let dir = Dir::new();
    let l = lines(&[("alice", "a-pw"), ("bob", "b-pw")]);
    dir.write("passwd", l.concat());
    let b = Broker::start_in(dir, &conf("0", ""), Start::default());
    let alice = Mqtt::ok(Proto::V311, b.port, "alice", Some(("alice", "a-pw")));
    let bob = Mqtt::ok(Proto::V311, b.port, "bob", Some(("bob", "b-pw")));
    b.dir.write("passwd", &l[1]);
    assert!(!alice.closed(Duration::from_millis(1500)), "no reload yet");
    b.sighup();
    assert!(alice.closed(Duration::from_secs(10)));
    assert!(
        !bob.closed(Duration::from_secs(2)),
        "bob's line did not change"
    );
}

#[test]
fn disconnect_revoked_false_keeps_clients_connected() {
    let dir = Dir::new();
    let l = lines(&[("alice", "a-pw"), ("bob", "b-pw")]);
    dir.write("passwd", l.concat());
    let b = Broker::start_in(
        dir,
        &conf("1", "plugin_opt_disconnect_revoked false\n"),
        Start::default(),
    );
    let alice = Mqtt::ok(Proto::V5, b.port, "alice", Some(("alice", "a-pw")));
    b.dir.write("passwd", &l[1]);
    // The removal applies to new logins only.
    wait_for(
        || Mqtt::connect(Proto::V5, b.port, "again", Some(("alice", "a-pw"))).is_err(),
        "the reload",
    );
    assert!(!alice.closed(Duration::from_secs(3)));
    assert!(!b.log().contains("disconnecting client"));
}
