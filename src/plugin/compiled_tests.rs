//! The compiled path ([`Plugin::acl_compiled`]) against the chain's normal path
//! ([`Plugin::acl`]) for the same sessions: every answer the compiled path gives must be the
//! normal path's, for ordinary and hostile names, every access, files alone, JWT rules before
//! files, superusers, anonymous clients; and it must step aside when it cannot answer.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::request::{Access, AclRequest};

/// `$6$` for the password `user01-pass`.
const HASH: &str = "$6$Z5MQud/y0Ume9EPH$A8bplGBWKeYFpbDS91/NNGbX80aCaKAEDr7wOhdswPYvOsaiGh446+6IF5fag7EjV8GzirudJsQOV3ubA4sh1Q==";
const PASSWORD: &[u8] = b"user01-pass";
const SECRET: &str = "a-secret-for-the-compiled-path-tests";

const ACL: &str = "\
topic read public/#
topic deny public/secret
user alice
topic readwrite alice/#
topic deny alice/locked/#
topic read shared/+/status
topic read $SYS/#
user a+b
topic read ab/#
user x/y
topic write xy/out
user root
topic write nothing/here
pattern read clients/%c/#
pattern readwrite users/%u/#
pattern deny users/%u/banned
pattern write devices/%u/%c/set
";

const USERS: &[&str] = &["alice", "a+b", "x/y", "root", "c#d", "nobody-rules"];
const CLIENT_IDS: &[&str] = &["c1", "+", "#", "a/b", "dev"];

const TOPICS: &[&str] = &[
    "public/x",
    "public/secret",
    "public/#",
    "public/+",
    "alice/x",
    "alice/locked/x",
    "alice/#",
    "alice/+/y",
    "shared/a/status",
    "shared/+/status",
    "$SYS/broker/uptime",
    "$SYS/#",
    "#",
    "+/x",
    "ab/1",
    "xy/out",
    "clients/c1/x",
    "clients/+/x",
    "clients/dev/#",
    "users/alice/x",
    "users/alice/banned",
    "users/nobody-rules/x",
    "users/root/x",
    "devices/alice/dev/set",
    "devices/root/c1/set",
    "jwt/own/x",
    "jwt/denied",
    "a//b",
    "/",
    "$share/g/alice/#",
    "$share/g/public/x",
];

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(name: &str) -> Files {
        let dir =
            std::env::temp_dir().join(format!("mosq-auth-compiled-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let passwd: String = USERS.iter().map(|u| format!("{u}:{HASH}\n")).collect();
        std::fs::write(dir.join("passwd"), passwd).unwrap();
        std::fs::write(dir.join("acl"), ACL).unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn plugin(files: &Files, extra: &[(&str, &str)]) -> Plugin {
    let (pw, acl) = (files.path("passwd"), files.path("acl"));
    let mut pairs = vec![
        ("backends", "files"),
        ("password_file", pw.as_str()),
        ("acl_file", acl.as_str()),
        ("reload_interval", "0"),
        ("log_level", "error"),
    ];
    pairs.extend_from_slice(extra);
    Plugin::new(&Options::new(pairs)).unwrap()
}

fn token(user: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims = json!({
        "sub": user,
        "exp": exp,
        "acl": [
            {"permission": "deny", "action": "all", "topic": "jwt/denied"},
            {"permission": "allow", "action": "all", "topic": "jwt/${username}/#"},
        ],
    });
    let key = EncodingKey::from_secret(SECRET.as_bytes());
    encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap()
}

/// Connects `user` (`None`: anonymous) with `password` as client structure `key`.
fn connect(p: &Plugin, key: ClientKey, user: Option<&str>, cid: &str, password: &[u8]) -> Connect {
    let password = Secret::new(password.to_vec());
    let req = user.map(|username| AuthRequest {
        username,
        password: &password,
        client_id: cid,
    });
    p.connect(key, cid, req.as_ref(), false)
}

/// Compares both paths for every topic, access, QoS and retain flag; returns how many checks
/// the compiled path answered and how many it left to the normal path.
fn compare(p: &Plugin, key: ClientKey, user: Option<&str>, cid: &str) -> (usize, usize) {
    let (mut answered, mut left) = (0, 0);
    for topic in TOPICS {
        for access in [
            Access::Read,
            Access::Write,
            Access::Subscribe,
            Access::Unsubscribe,
        ] {
            for (qos, retain) in [(0, false), (1, true), (2, false)] {
                let req = AclRequest {
                    username: user,
                    client_id: cid,
                    topic,
                    access,
                    qos,
                    retain,
                };
                let normal = p.acl(key, &req);
                let user_bytes = user.map(str::as_bytes);
                let compiled = p.acl_compiled(
                    key,
                    user_bytes,
                    cid.as_bytes(),
                    topic.as_bytes(),
                    access,
                    qos,
                    retain,
                );
                let what = format!("{user:?} {cid:?} {access} {topic:?} qos {qos}");
                match compiled {
                    Ok(c) => {
                        assert_eq!(c, normal, "{what}");
                        answered += 1;
                    }
                    // The normal path with the session the compiled path found.
                    Err(undecided) => {
                        assert_eq!(p.acl_undecided(key, &req, &undecided), normal, "{what}");
                        left += 1;
                    }
                }
            }
        }
    }
    (answered, left)
}

/// Checks the compiled path is used for all but shared subscriptions.
fn assert_mostly_compiled((answered, left): (usize, usize), what: &str) {
    let shared = TOPICS.iter().filter(|t| t.starts_with("$share/")).count() * 3;
    assert_eq!(left, shared, "{what}: {answered} answered, {left} left");
}

#[test]
fn files_compiled_answers_are_the_chains() {
    let files = Files::new("files");
    let p = plugin(&files, &[]);
    let mut key = 1;
    for user in USERS {
        for cid in CLIENT_IDS {
            key += 1;
            assert_eq!(
                connect(&p, key, Some(user), cid, PASSWORD),
                Connect::Now(Outcome::Allow)
            );
            assert_mostly_compiled(compare(&p, key, Some(user), cid), &format!("{user} {cid}"));
        }
    }
    // Anonymous clients (the broker's allow_anonymous admits them) get the anonymous block.
    for cid in CLIENT_IDS {
        key += 1;
        assert_eq!(
            connect(&p, key, None, cid, b""),
            Connect::Now(Outcome::Defer)
        );
        assert_mostly_compiled(compare(&p, key, None, cid), &format!("anonymous {cid}"));
    }
    // Other names than the session's are never answered from it.
    let other = p.acl_compiled(
        key,
        Some(&b"alice"[..]),
        &b"dev"[..],
        b"alice/x",
        Access::Read,
        0,
        false,
    );
    assert!(matches!(other, Err(Undecided::Found(None))), "{other:?}");
}

#[test]
fn superusers_and_no_acl_file_compile_too() {
    let files = Files::new("superusers");
    let p = plugin(&files, &[("superusers", "ro*")]);
    for (key, user) in USERS.iter().enumerate() {
        assert_eq!(
            connect(&p, key, Some(user), "c1", PASSWORD),
            Connect::Now(Outcome::Allow)
        );
        assert_mostly_compiled(compare(&p, key, Some(user), "c1"), user);
    }
    let pw = files.path("passwd");
    let options = Options::new([
        ("backends", "files"),
        ("password_file", pw.as_str()),
        ("reload_interval", "0"),
        ("log_level", "error"),
    ]);
    let p = Plugin::new(&options).unwrap();
    assert_eq!(
        connect(&p, 1, Some("alice"), "c1", PASSWORD),
        Connect::Now(Outcome::Allow)
    );
    assert_mostly_compiled(compare(&p, 1, Some("alice"), "c1"), "no acl_file");
}

#[test]
fn jwt_rules_then_files_compiled_answers_are_the_chains() {
    let files = Files::new("jwt");
    for no_match in ["next", "deny"] {
        let p = plugin(
            &files,
            &[
                ("backends", "jwt,files"),
                ("jwt_secret", SECRET),
                ("rules_no_match", no_match),
            ],
        );
        for (key, user) in ["own", "alice"].iter().enumerate() {
            let t = token(user);
            assert_eq!(
                connect(&p, key, Some(user), "c1", t.as_bytes()),
                Connect::Now(Outcome::Allow)
            );
            assert_mostly_compiled(compare(&p, key, Some(user), "c1"), user);
        }
        // A files user in the same chain: the JWT backend has nothing to say about it.
        assert_eq!(
            connect(&p, 9, Some("alice"), "c2", PASSWORD),
            Connect::Now(Outcome::Allow)
        );
        assert_mostly_compiled(compare(&p, 9, Some("alice"), "c2"), "files user");
    }
}

fn rewrite(path: &Path, text: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_reload_sends_checks_to_the_chain_until_the_tick_compiles_them_again() {
    let files = Files::new("reload");
    let p = plugin(&files, &[]);
    assert_eq!(
        connect(&p, 1, Some("alice"), "c1", PASSWORD),
        Connect::Now(Outcome::Allow)
    );
    let check = |topic: &str| {
        let compiled = p.acl_compiled(
            1,
            Some(&b"alice"[..]),
            &b"c1"[..],
            topic.as_bytes(),
            Access::Read,
            0,
            false,
        );
        let req = AclRequest::decode(Some(b"alice"), b"c1", topic.as_bytes(), 1).unwrap();
        (compiled.ok(), p.acl(1, &req))
    };
    assert_eq!(check("alice/x"), (Some(Outcome::Allow), Outcome::Allow));
    assert_eq!(check("new/x"), (Some(Outcome::Deny), Outcome::Deny));
    let acl = files.dir.join("acl");
    rewrite(&acl, "user alice\ntopic read new/#\n");
    p.reload();
    // Stale answers are never used: the chain decides on the new file at once.
    assert_eq!(check("alice/x"), (None, Outcome::Deny));
    assert_eq!(check("new/x"), (None, Outcome::Allow));
    // The broker's tick compiles the sessions again.
    assert!(p.ended_sessions(SystemTime::now()).is_empty());
    assert_eq!(check("alice/x"), (Some(Outcome::Deny), Outcome::Deny));
    assert_eq!(check("new/x"), (Some(Outcome::Allow), Outcome::Allow));
    // A disconnect drops the session and its compiled checks.
    p.disconnected(1);
    assert_eq!(check("new/x"), (None, Outcome::Allow));
}

#[test]
fn debug_logging_takes_the_path_that_logs() {
    let files = Files::new("debug");
    let p = plugin(&files, &[("log_level", "debug")]);
    assert_eq!(
        connect(&p, 1, Some("alice"), "c1", PASSWORD),
        Connect::Now(Outcome::Allow)
    );
    assert_eq!(compare(&p, 1, Some("alice"), "c1").0, 0);
}
