//! The login-answer session: `Grant::from_json` and `Rules::parse` on arbitrary JSON, then
//! `Rules::compile` and `ClientRules::decide` for clients and topics taken from the rules.
//!
//! - Nothing panics; `from_json` reads `acl` exactly as `Rules::parse` does; an error never
//!   quotes a distinctive string value of the answer.
//! - Unsubscribe is never decided by the rules.
//! - A deny rule first never yields an allow: with `{"permission": "deny", "action": "all",
//!   "topic": T}` put before the rules, every topic T matches (and every subscription T covers)
//!   is denied at QoS 0-2 and never allowed at any QoS, for every client; when T needs a name
//!   the client cannot fill in, every topic is.
//!
//! Input: a JSON document (an object is a login answer, a list is an `acl` value).

#![no_main]

use libfuzzer_sys::fuzz_target;
use mosq_auth::acl::topic::{covers, matches, valid_filter, valid_topic};
use mosq_auth::request::{Access, Decision};
use mosq_auth::session::{Grant, Rules};
use serde_json::{json, Value};

const USERS: [Option<&str>; 5] = [None, Some("alice"), Some("+"), Some(""), Some("a/b")];
const CLIENTS: [&str; 3] = ["c1", "#", ""];
const ACCESSES: [Access; 4] = [
    Access::Read,
    Access::Write,
    Access::Subscribe,
    Access::Unsubscribe,
];

fn usable(name: &str) -> bool {
    !name.is_empty() && !name.contains(['+', '#', '/'])
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            strings(x, out)
        }),
        _ => {}
    }
}

/// `v` with every string (and key) equal to `s` replaced by as many `Q`s.
fn mask(v: &Value, s: &str) -> Value {
    let q = || "Q".repeat(s.len());
    match v {
        Value::String(x) if x == s => Value::String(q()),
        Value::Array(a) => Value::Array(a.iter().map(|x| mask(x, s)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (if k == s { q() } else { k.clone() }, mask(x, s)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The error of the parser that refused `v`.
fn error_of(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => Grant::from_json(map).err(),
        other => Rules::parse(other).err(),
    }
}

/// `err` (the error for `v`) quotes no distinctive string of `v`: a string found in it must
/// still be there when that string is masked (then it is the message's own text).
fn assert_no_value(err: &str, v: &Value) {
    let mut all = Vec::new();
    strings(v, &mut all);
    for s in all {
        let distinctive = s.len() >= 12
            && s.bytes().any(|b| b.is_ascii_digit())
            && s.bytes().any(|b| b.is_ascii_alphabetic());
        if distinctive && err.contains(&s) {
            let again = error_of(&mask(v, &s));
            assert!(
                again.is_some_and(|e| e.contains(&s)),
                "error {err:?} quotes the value {s:?}"
            );
        }
    }
}

/// The `topic` fields of the rules, `eq ` removed.
fn templates(acl: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Value::Array(list) = acl {
        for r in list.iter().take(8) {
            if let Some(Value::String(t)) = r.get("topic") {
                let t = t.strip_prefix("eq ").map_or(t.as_str(), str::trim_start);
                out.push(t.to_string());
            }
        }
    }
    out
}

/// `${username}` / `${clientid}` filled in; `None` when a name it needs is unusable.
fn fill(t: &str, user: Option<&str>, client: &str) -> Option<String> {
    let mut out = t.to_string();
    if out.contains("${username}") {
        out = out.replace("${username}", user.filter(|u| usable(u))?);
    }
    if out.contains("${clientid}") {
        if !usable(client) {
            return None;
        }
        out = out.replace("${clientid}", client);
    }
    Some(out)
}

/// A few topics a filter matches.
fn topics_for(filter: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (plus, hash) in [("x", None), ("", Some("x/y")), ("y", Some("x"))] {
        let mut levels: Vec<&str> = Vec::new();
        for l in filter.split('/') {
            match l {
                "+" => levels.push(plus),
                "#" => levels.extend(hash),
                _ => levels.push(l),
            }
        }
        let t = levels.join("/");
        if valid_topic(&t) && matches(filter, &t) && !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

fn exercise(rules: &Rules, acl: &Value) {
    let temps = templates(acl);
    for user in USERS {
        for client in CLIENTS {
            let compiled = rules.compile(user, client);
            assert_eq!(compiled.len(), rules.len());
            for t in &temps {
                let Some(f) = fill(t, user, client) else {
                    continue;
                };
                let mut asks: Vec<String> = topics_for(&f);
                asks.push(f);
                for topic in &asks {
                    for access in ACCESSES {
                        for qos in [0, 1, 2, 3, 200] {
                            for retain in [false, true] {
                                let d = compiled.decide(access, topic.as_bytes(), qos, retain);
                                if access == Access::Unsubscribe {
                                    assert_eq!(d, None, "unsubscribe decided");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn deny_first(acl: &Value) {
    let Value::Array(list) = acl else {
        return;
    };
    let mut denies: Vec<String> = templates(acl)
        .into_iter()
        .filter(|t| valid_filter(&t.replace("${username}", "u").replace("${clientid}", "c")))
        .take(2)
        .collect();
    denies.push("#".into());
    for d in denies {
        let mut with: Vec<Value> = vec![json!({"permission": "deny", "action": "all", "topic": d})];
        with.extend(list.iter().cloned());
        let with = Value::Array(with);
        let rules = match Rules::parse(&with) {
            Ok(r) => r,
            Err(e) => panic!("a valid deny rule first broke the list: {e}"),
        };
        let temps = templates(acl);
        for user in USERS {
            for client in CLIENTS {
                let compiled = rules.compile(user, client);
                let filled = fill(&d, user, client);
                let mut reads: Vec<String> = Vec::new();
                let mut subs: Vec<String> = Vec::new();
                match &filled {
                    Some(f) => {
                        reads.extend(topics_for(f));
                        for t in temps.iter().chain([&d]) {
                            if let Some(s) = fill(t, user, client) {
                                if covers(f, &s) {
                                    subs.push(s);
                                }
                            }
                        }
                    }
                    None => {
                        // Fail closed: the deny applies to every topic.
                        reads.extend(["a/b".to_string(), "x".to_string()]);
                        subs.extend(["a/#".to_string(), "#".to_string()]);
                    }
                }
                for (access, topics) in [
                    (Access::Read, &reads),
                    (Access::Write, &reads),
                    (Access::Subscribe, &subs),
                ] {
                    for t in topics {
                        for qos in [0u8, 1, 2, 3, 7, 8, 255] {
                            for retain in [false, true] {
                                let got = compiled.decide(access, t.as_bytes(), qos, retain);
                                assert_ne!(
                                    got,
                                    Some(Decision::Allow),
                                    "deny {d:?} first, {user:?}/{client:?} {access:?} {t:?} qos {qos} allowed"
                                );
                                if qos <= 2 || access == Access::Read {
                                    assert_eq!(
                                        got,
                                        Some(Decision::Deny),
                                        "deny {d:?} first, {user:?}/{client:?} {access:?} {t:?} qos {qos}"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 4096 {
        return;
    }
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let (acl, from_grant) = match &v {
        Value::Object(map) => {
            let g = Grant::from_json(map);
            match &g {
                Ok(Some(grant)) => {
                    assert_eq!(
                        grant.replaces_checks(),
                        grant.rules.is_some() || grant.superuser.is_some()
                    );
                    assert!(!format!("{grant:?}").contains("${"), "Debug shows a rule");
                }
                Ok(None) => {}
                Err(e) => assert_no_value(e, &v),
            }
            let acl = map.get("acl").cloned().unwrap_or(Value::Null);
            (acl, Some(g))
        }
        other => (other.clone(), None),
    };
    let parsed = if acl.is_null() {
        None
    } else {
        Some(Rules::parse(&acl))
    };
    if let (Some(Ok(Some(g))), Some(Ok(r))) = (&from_grant, &parsed) {
        assert_eq!(g.rules.as_ref(), Some(r), "from_json read acl differently");
    }
    if let (Some(Ok(_)), Some(Err(e))) = (&from_grant, &parsed) {
        panic!("from_json accepted an acl Rules::parse refuses: {e}");
    }
    match parsed {
        Some(Ok(rules)) => {
            exercise(&rules, &acl);
            deny_first(&acl);
        }
        Some(Err(e)) => assert_no_value(&e, &acl),
        None => {}
    }
});
