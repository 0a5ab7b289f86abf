//! Live reload of the files backend with the real broker: SIGHUP, changes picked up without a
//! signal, the Kubernetes ConfigMap/Secret symlink swap, and a broken file keeping the last
//! good one.

use crate::support;
use crate::support::{mosquitto_passwd_line, wait_for, Broker, Dir, Mqtt, Proto, Start};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::Duration;

fn conf(dir_files: &str, interval: &str) -> String {
    format!(
        "allow_anonymous false\n\
         plugin {{plugin}}\n\
         plugin_opt_backends files\n\
         plugin_opt_password_file {dir_files}/passwd\n\
         plugin_opt_acl_file {dir_files}/acl\n\
         plugin_opt_reload_interval {interval}\n"
    )
}

fn can_connect(port: u16, user: &str, pw: &str) -> bool {
    Mqtt::connect(Proto::V5, port, &format!("probe-{user}"), Some((user, pw))).is_ok()
}

/// Waits until `cond` holds, retrying for a while (the watcher checks every second here).
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    wait_for(&mut cond, what);
}

const ACL: &str =
    "user alice\ntopic readwrite alice/#\ntopic read news/#\nuser bob\ntopic readwrite bob/#\n";

#[test]
fn sighup_reloads_users_and_acls() {
    let dir = Dir::new();
    dir.write("passwd", mosquitto_passwd_line("alice", "alice-pw") + "\n");
    dir.write("acl", ACL);
    let b = Broker::start_in(dir, &conf("{dir}", "0"), Start::default());
    assert!(can_connect(b.port, "alice", "alice-pw"));
    assert!(!can_connect(b.port, "bob", "bob-pw"));

    // Add bob, remove alice; nothing happens until SIGHUP (reload_interval 0).
    b.dir
        .write("passwd", mosquitto_passwd_line("bob", "bob-pw") + "\n");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        can_connect(b.port, "alice", "alice-pw"),
        "reloaded without SIGHUP although reload_interval is 0"
    );
    b.sighup();
    assert!(can_connect(b.port, "bob", "bob-pw"));
    assert!(
        !can_connect(b.port, "alice", "alice-pw"),
        "a removed user can still connect"
    );
    assert!(
        b.log()
            .contains("mosq-auth: reload: backend files reloaded"),
        "{}",
        b.log()
    );
}

#[test]
fn changed_files_are_picked_up_without_a_signal() {
    let dir = Dir::new();
    dir.write("passwd", mosquitto_passwd_line("alice", "alice-pw") + "\n");
    dir.write("acl", ACL);
    let b = Broker::start_in(dir, &conf("{dir}", "1"), Start::default());
    let alice = Mqtt::ok(Proto::V5, b.port, "alice", Some(("alice", "alice-pw")));
    assert_eq!(alice.subscribe("news/#"), 1);

    // Revoke alice's read permission on news/#: deliveries on her existing subscription stop.
    b.dir.write(
        "acl",
        "user alice\ntopic readwrite alice/#\ntopic write news/#\n",
    );
    let writer = Mqtt::ok(Proto::V5, b.port, "alice-w", Some(("alice", "alice-pw")));
    eventually("the revoked read permission to take effect", || {
        writer.publish("news/x", "n");
        alice.recv(Duration::from_millis(300)).is_none()
    });
    // And it stays revoked.
    writer.publish("news/y", "n2");
    assert_eq!(alice.recv(Duration::from_millis(500)), None);
}

#[test]
fn broken_file_keeps_the_last_good_one() {
    let dir = Dir::new();
    dir.write("passwd", mosquitto_passwd_line("alice", "alice-pw") + "\n");
    dir.write("acl", ACL);
    let b = Broker::start_in(dir, &conf("{dir}", "1"), Start::default());
    let alice = Mqtt::ok(Proto::V5, b.port, "alice", Some(("alice", "alice-pw")));
    assert!(support::accepted(alice.publish("alice/x", "1")));

    b.dir.write(
        "acl",
        "user alice\ntopic readwrite alice/#\ntopic bogus news/#\n",
    );
    eventually("the parse error in the log", || {
        b.log().contains("/acl:3: ")
    });
    assert!(
        b.log().contains("the last good ones stay in force"),
        "{}",
        b.log()
    );
    // The old rules are still in force.
    assert!(support::accepted(alice.publish("alice/y", "2")));
    assert_eq!(alice.subscribe("news/#"), 1);
    let log = b.log();
    assert!(!log.contains("alice-pw") && !log.contains("$7$"), "{log}");
}

/// Lays out a directory the way the kubelet mounts a ConfigMap or Secret: each file is a
/// symlink through `..data`, which points at a timestamped directory and is swapped atomically.
fn configmap_version(root: &Path, version: &str, files: &[(&str, &str)]) {
    let dir = root.join(version);
    fs::create_dir(&dir).unwrap();
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap();
        let link = root.join(name);
        if fs::symlink_metadata(&link).is_err() {
            symlink(Path::new("..data").join(name), &link).unwrap();
        }
    }
    let tmp = root.join("..data_tmp");
    symlink(version, &tmp).unwrap();
    fs::rename(&tmp, root.join("..data")).unwrap();
}

#[test]
fn kubernetes_configmap_symlink_swap() {
    let dir = Dir::new();
    let cm = dir.path().join("cm");
    fs::create_dir(&cm).unwrap();
    let alice = mosquitto_passwd_line("alice", "alice-pw");
    let bob = mosquitto_passwd_line("bob", "bob-pw");
    configmap_version(
        &cm,
        "..2026_11_23_10_00_00.1",
        &[("passwd", &format!("{alice}\n")), ("acl", ACL)],
    );
    let b = Broker::start_in(dir, &conf("{dir}/cm", "1"), Start::default());
    let reader = Mqtt::ok(Proto::V5, b.port, "alice-r", Some(("alice", "alice-pw")));
    assert_eq!(reader.subscribe("news/#"), 1);
    assert!(!can_connect(b.port, "bob", "bob-pw"));

    // New version: bob added, alice's read permission on news/# revoked.
    let acl2 = "user alice\ntopic readwrite alice/#\ntopic write news/#\nuser bob\ntopic readwrite bob/#\n";
    configmap_version(
        &cm,
        "..2026_11_23_10_05_00.2",
        &[("passwd", &format!("{alice}\n{bob}\n")), ("acl", acl2)],
    );
    eventually("bob to be able to connect", || {
        can_connect(b.port, "bob", "bob-pw")
    });
    let writer = Mqtt::ok(Proto::V5, b.port, "alice-w", Some(("alice", "alice-pw")));
    assert_eq!(writer.publish("news/x", "n"), 0);
    assert_eq!(
        reader.recv(Duration::from_millis(500)),
        None,
        "revoked read still delivered"
    );

    // Third version: alice removed.
    configmap_version(
        &cm,
        "..2026_11_23_10_10_00.3",
        &[("passwd", &format!("{bob}\n")), ("acl", acl2)],
    );
    eventually("alice to be refused", || {
        !can_connect(b.port, "alice", "alice-pw")
    });
    assert!(can_connect(b.port, "bob", "bob-pw"));
}

#[test]
fn a_file_being_written_is_never_loaded_half_way() {
    // The complete new file grants `+/public`; its prefix `... topic read +` would grant every
    // one-level topic. The file is written in place a byte at a time, more slowly than the
    // watcher polls: no prefix may ever be loaded, and the whole file is, once written.
    let old = "user alice\ntopic read alice/#\n";
    let new = "user alice\ntopic read alice/#\ntopic read +/public\n";
    let dir = Dir::new();
    dir.write("passwd", mosquitto_passwd_line("alice", "alice-pw") + "\n");
    let acl = dir.write("acl", old);
    let b = Broker::start_in(dir, &conf("{dir}", "0.2"), Start::default());
    let alice = Mqtt::ok(Proto::V5, b.port, "alice", Some(("alice", "alice-pw")));
    let loads = || b.log().matches("files: loaded").count();
    let before = loads();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut f = fs::File::create(&acl).unwrap();
        for byte in new.as_bytes() {
            f.write_all(&[*byte]).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(40));
        }
    });
    while !writer.is_finished() {
        assert_eq!(
            alice.subscribe("secret"),
            0x87,
            "a half-written file was loaded"
        );
        std::thread::sleep(Duration::from_millis(30));
    }
    writer.join().unwrap();
    assert_eq!(loads(), before, "loaded while being written:\n{}", b.log());
    eventually("the finished file to be loaded", || loads() == before + 1);
    assert_eq!(alice.subscribe("x/public"), 1);
    assert_eq!(alice.subscribe("secret"), 0x87);
}
