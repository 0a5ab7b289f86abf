/*!
ACL rules that come with a login (EMQX 5's `acl` list): parsed once from the login answer
([`Rules::parse`]), filled in with one client's names at CONNECT ([`Rules::compile`]), then
decided from memory for every check of that client ([`ClientRules::decide`]).

A rule is `{"permission": "allow"|"deny", "action": "publish"|"subscribe"|"all", "topic":
FILTER, "qos": [0, 1, 2], "retain": true|false}`; `qos` and `retain` are optional. Rules are
tried in order and the first that applies decides; when none applies the answer is "no rule"
(`None`), and the chain decides what that means (`auth_opt_rules_no_match`).

- `FILTER` may hold `${username}` and `${clientid}`. A name that is empty or holds `+`, `#` or
  `/` never fills them (it would widen the filter, as for `%u`/`%c` in the ACL file): an allow
  rule that needs such a name never applies, a deny rule that needs it applies to every topic
  of its action (fail closed).
- `eq FILTER` is that filter and nothing else: for a subscription, the filter must be exactly
  it; for a publish, the topic must be exactly it. An `eq` allow rule lets the messages it
  subscribed to be delivered (the topic is matched against it); an `eq` deny rule is about the
  filter written in a SUBSCRIBE, so it does not refuse deliveries.
- Publish rules decide writes (the topic must match; `qos` and `retain` must fit the message).
  Subscribe rules decide subscriptions (the rule must cover the whole filter, as in the ACL
  file; `qos` is the QoS asked for) and deliveries (the topic must match; `qos` is
  not looked at: it limits what the client asks for, and the broker delivers at most at the QoS
  granted). `retain` only concerns publishing.

Matching is [`crate::acl::topic`]'s, the same as the ACL file's: `#` and `+` at the start never
match a `$SYS` topic.
*/

use serde_json::Value;

use crate::acl::filter::{CheckTopic, Filter};
use crate::acl::topic;
use crate::request::{Access, Decision};

/// The most rules one login may carry.
pub const MAX_RULES: usize = 1000;

/// The longest filter (after `${...}` are filled in, at most the MQTT limit).
pub const MAX_FILTER: usize = topic::MAX_LEN;

/// Allow or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// The rule grants.
    Allow,
    /// The rule refuses.
    Deny,
}

/// One rule as the login answer gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    permission: Permission,
    publish: bool,
    subscribe: bool,
    /// The filter with `${username}` / `${clientid}` still in it.
    template: String,
    /// `eq FILTER`: that filter only.
    exact: bool,
    /// Bit n set: QoS n is covered.
    qos: u8,
    retain: Option<bool>,
}

/// The rules of one login answer, in order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

/// A rule with one client's names filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ClientRule {
    permission: Permission,
    publish: bool,
    subscribe: bool,
    exact: bool,
    qos: u8,
    retain: Option<bool>,
    /// `None`: the filter needs a name this client cannot fill in safely.
    filter: Option<Filter>,
}

/// The rules of one connected client, ready to decide its checks.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClientRules {
    rules: Vec<ClientRule>,
}

const USERNAME: &str = "${username}";
const CLIENTID: &str = "${clientid}";

impl Rules {
    /// Reads the `acl` field of a login answer. The error names the field, e.g.
    /// `acl[2].action: expected "publish", "subscribe" or "all"`.
    pub fn parse(value: &Value) -> Result<Rules, String> {
        let list = value
            .as_array()
            .ok_or_else(|| format!("acl: expected a list of rules, got {}", kind(value)))?;
        if list.len() > MAX_RULES {
            return Err(format!(
                "acl: {} rules, at most {MAX_RULES} are accepted",
                list.len()
            ));
        }
        let rules = list
            .iter()
            .enumerate()
            .map(|(i, v)| parse_rule(v).map_err(|e| format!("acl[{i}]{e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rules { rules })
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Returns true if and only if there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules for one client: `${username}` and `${clientid}` filled in.
    pub fn compile(&self, username: Option<&str>, client_id: &str) -> ClientRules {
        let rules = self
            .rules
            .iter()
            .map(|r| ClientRule {
                permission: r.permission,
                publish: r.publish,
                subscribe: r.subscribe,
                exact: r.exact,
                qos: r.qos,
                retain: r.retain,
                filter: fill(&r.template, username, client_id),
            })
            .collect();
        ClientRules { rules }
    }
}

/// The template with the names filled in; `None` when a name it needs is unusable or the
/// result is not a valid filter.
fn fill(template: &str, username: Option<&str>, client_id: &str) -> Option<Filter> {
    let mut out = template.to_string();
    if out.contains(USERNAME) {
        out = out.replace(USERNAME, username.filter(|u| usable_name(u))?);
    }
    if out.contains(CLIENTID) {
        if !usable_name(client_id) {
            return None;
        }
        out = out.replace(CLIENTID, client_id);
    }
    Filter::new(&out)
}

/// A name usable in `${username}`/`${clientid}`: non-empty and without `+`, `#` or `/`.
fn usable_name(name: &str) -> bool {
    !name.is_empty() && !name.bytes().any(|b| matches!(b, b'+' | b'#' | b'/'))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// One rule; the error starts with the field (`.action: ...`), the caller adds `acl[i]`.
fn parse_rule(v: &Value) -> Result<Rule, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!(": expected an object, got {}", kind(v)))?;
    let text = |field: &str| -> Result<&str, String> {
        match obj.get(field) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(format!(".{field}: expected a string, got {}", kind(other))),
            None => Err(format!(".{field}: missing")),
        }
    };
    let permission = match text("permission")? {
        "allow" => Permission::Allow,
        "deny" => Permission::Deny,
        _ => return Err(".permission: expected \"allow\" or \"deny\"".into()),
    };
    let (publish, subscribe) = match text("action")? {
        "publish" => (true, false),
        "subscribe" => (false, true),
        "all" => (true, true),
        _ => return Err(".action: expected \"publish\", \"subscribe\" or \"all\"".into()),
    };
    let written = text("topic")?;
    let (exact, template) = match written.strip_prefix("eq ") {
        Some(rest) => (true, rest.trim_start()),
        None => (false, written),
    };
    if template.len() > MAX_FILTER {
        return Err(format!(".topic: longer than {MAX_FILTER} bytes"));
    }
    // Checked with sample names: the filter must be valid whatever names fill it.
    let sample = template.replace(USERNAME, "u").replace(CLIENTID, "c");
    if !topic::valid_filter(&sample) {
        return Err(".topic: not a valid MQTT topic filter".into());
    }
    let qos = match obj.get("qos") {
        None | Some(Value::Null) => 0b111,
        Some(Value::Array(list)) if !list.is_empty() => {
            let mut mask = 0u8;
            for q in list {
                match q.as_u64() {
                    Some(n @ 0..=2) => mask |= 1 << n,
                    _ => return Err(".qos: expected a list of 0, 1 and 2".into()),
                }
            }
            mask
        }
        Some(_) => return Err(".qos: expected a list of 0, 1 and 2".into()),
    };
    let retain = match obj.get("retain") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) if s == "all" => None,
        Some(other) => {
            return Err(format!(
                ".retain: expected true, false or \"all\", got {}",
                kind(other)
            ))
        }
    };
    Ok(Rule {
        permission,
        publish,
        subscribe,
        template: template.to_string(),
        exact,
        qos,
        retain,
    })
}

impl ClientRules {
    /// The decision of the first rule that applies to this check; `None` when none applies.
    /// `topic` is the topic (read, write) or the subscription filter (subscribe), as bytes:
    /// see `topic::matches_valid` for why no UTF-8 check is needed.
    pub fn decide(&self, access: Access, topic: &[u8], qos: u8, retain: bool) -> Option<Decision> {
        self.decide_checked(&CheckTopic::new(topic, access), qos, retain)
    }

    /// [`ClientRules::decide`] for a topic prepared once for every rule it meets.
    pub(crate) fn decide_checked(
        &self,
        check: &CheckTopic<'_>,
        qos: u8,
        retain: bool,
    ) -> Option<Decision> {
        let (access, topic) = (check.access, check.bytes);
        let bit = 1u8.checked_shl(u32::from(qos)).unwrap_or(0);
        for r in &self.rules {
            let action = match access {
                Access::Write => r.publish,
                Access::Read | Access::Subscribe => r.subscribe,
                Access::Unsubscribe => false,
            };
            // `qos` is about what the client sends (PUBLISH, or the QoS a SUBSCRIBE asks for);
            // a delivery is matched by topic only.
            if !action || (access != Access::Read && r.qos & bit == 0) {
                continue;
            }
            if access == Access::Write && r.retain.is_some_and(|want| want != retain) {
                continue;
            }
            let applies = match (&r.filter, r.permission) {
                (None, Permission::Allow) => false,
                (None, Permission::Deny) => true,
                (Some(f), permission) => match access {
                    // `f` is a valid filter: equal to it, the topic has no NUL, and for a topic
                    // no wildcard either.
                    Access::Write if r.exact => {
                        let f = f.as_str();
                        f.as_bytes() == topic && !f.contains(['+', '#'])
                    }
                    Access::Subscribe if r.exact => f.as_str().as_bytes() == topic,
                    Access::Read if r.exact && permission == Permission::Deny => false,
                    _ => f.hits(check),
                },
            };
            if applies {
                return Some(match r.permission {
                    Permission::Allow => Decision::Allow,
                    Permission::Deny => Decision::Deny,
                });
            }
        }
        None
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Returns true if and only if there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use Access::{Read, Subscribe, Write};
    use Decision::{Allow, Deny};

    fn rules(v: Value, user: Option<&str>, client: &str) -> ClientRules {
        Rules::parse(&v).unwrap().compile(user, client)
    }

    #[test]
    fn first_matching_rule_decides_per_action() {
        let r = rules(
            json!([
                {"permission": "deny", "action": "publish", "topic": "dev/${username}/admin"},
                {"permission": "allow", "action": "publish", "topic": "dev/${username}/#"},
                {"permission": "allow", "action": "subscribe", "topic": "cmd/${clientid}/+"},
                {"permission": "deny", "action": "all", "topic": "secret/#"},
                {"permission": "allow", "action": "all", "topic": "shared/#"}
            ]),
            Some("alice"),
            "c1",
        );
        let d = |a, t: &str| r.decide(a, t.as_bytes(), 0, false);
        assert_eq!(d(Write, "dev/alice/temp"), Some(Allow));
        assert_eq!(d(Write, "dev/alice/admin"), Some(Deny));
        assert_eq!(d(Write, "dev/bob/temp"), None);
        assert_eq!(
            d(Read, "dev/alice/temp"),
            None,
            "publish rules do not decide reads"
        );
        assert_eq!(d(Subscribe, "cmd/c1/+"), Some(Allow));
        assert_eq!(d(Subscribe, "cmd/c1/#"), None, "not covered");
        assert_eq!(d(Read, "cmd/c1/reboot"), Some(Allow));
        assert_eq!(d(Subscribe, "cmd/c2/x"), None);
        assert_eq!(
            d(Write, "cmd/c1/x"),
            None,
            "subscribe rules do not decide writes"
        );
        for a in [Read, Write, Subscribe] {
            assert_eq!(d(a, "secret/x"), Some(Deny), "{a}");
            assert_eq!(d(a, "shared/x"), Some(Allow), "{a}");
        }
        assert_eq!(d(Subscribe, "#"), None, "# is covered by no rule");
        assert_eq!(d(Access::Unsubscribe, "shared/x"), None);
    }

    #[test]
    fn eq_means_exactly_that_filter() {
        let r = rules(
            json!([
                {"permission": "deny", "action": "subscribe", "topic": "eq sensors/#"},
                {"permission": "allow", "action": "subscribe", "topic": "sensors/#"},
                {"permission": "allow", "action": "all", "topic": "eq room/+"}
            ]),
            Some("u"),
            "c",
        );
        let d = |a, t: &str| r.decide(a, t.as_bytes(), 1, false);
        assert_eq!(d(Subscribe, "sensors/#"), Some(Deny));
        assert_eq!(d(Subscribe, "sensors/a/#"), Some(Allow));
        assert_eq!(
            d(Read, "sensors/a"),
            Some(Allow),
            "eq deny does not stop deliveries"
        );
        assert_eq!(d(Subscribe, "room/+"), Some(Allow));
        assert_eq!(d(Subscribe, "room/1"), None);
        assert_eq!(
            d(Read, "room/1"),
            Some(Allow),
            "delivered on the eq subscription"
        );
        assert_eq!(d(Write, "room/+"), None, "not a topic");
        assert_eq!(d(Write, "room/1"), None, "eq publish: that topic only");
    }

    #[test]
    fn qos_and_retain_conditions() {
        let r = rules(
            json!([
                {"permission": "deny", "action": "publish", "topic": "t/#", "retain": true},
                {"permission": "allow", "action": "publish", "topic": "t/#", "qos": [0, 1]},
                {"permission": "allow", "action": "subscribe", "topic": "t/#", "qos": [0], "retain": true}
            ]),
            Some("u"),
            "c",
        );
        assert_eq!(r.decide(Write, b"t/a", 1, true), Some(Deny));
        assert_eq!(r.decide(Write, b"t/a", 1, false), Some(Allow));
        assert_eq!(r.decide(Write, b"t/a", 2, false), None);
        assert_eq!(r.decide(Subscribe, b"t/#", 0, false), Some(Allow));
        assert_eq!(r.decide(Subscribe, b"t/#", 1, false), None);
        assert_eq!(
            r.decide(Read, b"t/x", 0, true),
            Some(Allow),
            "retain: publish only"
        );
        assert_eq!(r.decide(Write, b"t/a", 7, false), None, "no such QoS");
    }

    #[test]
    fn hostile_names_never_widen_a_rule() {
        let v = json!([
            {"permission": "deny", "action": "publish", "topic": "ban/${clientid}"},
            {"permission": "allow", "action": "all", "topic": "home/${username}/#"},
            {"permission": "allow", "action": "subscribe", "topic": "pub/#"}
        ]);
        for (user, client) in [
            (Some("+"), "c"),
            (Some("#"), "c"),
            (Some("a/b"), "c"),
            (Some(""), "c"),
            (None, "c"),
        ] {
            let r = rules(v.clone(), user, client);
            assert_eq!(r.decide(Write, b"home/x/y", 0, false), None, "{user:?}");
            assert_eq!(r.decide(Subscribe, b"home/+/#", 0, false), None, "{user:?}");
            assert_eq!(r.decide(Read, b"pub/x", 0, false), Some(Allow));
        }
        for client in ["+", "#", "a/b", ""] {
            let r = rules(v.clone(), Some("alice"), client);
            // The deny rule cannot be evaluated: it refuses every publish.
            assert_eq!(r.decide(Write, b"home/alice/x", 0, false), Some(Deny));
            assert_eq!(r.decide(Read, b"home/alice/x", 0, false), Some(Allow));
        }
        let r = rules(v, Some("alice"), "dev-1");
        assert_eq!(r.decide(Write, b"ban/dev-1", 0, false), Some(Deny));
        assert_eq!(r.decide(Write, b"home/alice/x", 0, false), Some(Allow));
        // `$SYS` is not matched by a leading wildcard.
        let r = rules(
            json!([{"permission": "allow", "action": "all", "topic": "#"}]),
            Some("u"),
            "c",
        );
        assert_eq!(r.decide(Read, b"$SYS/broker/uptime", 0, false), None);
        assert_eq!(r.decide(Read, b"a", 0, false), Some(Allow));
    }

    #[test]
    fn malformed_rules_name_the_field() {
        let err = |v: Value| Rules::parse(&v).unwrap_err();
        assert_eq!(
            err(json!({"a": 1})),
            "acl: expected a list of rules, got an object"
        );
        assert_eq!(err(json!([1])), "acl[0]: expected an object, got a number");
        let ok = json!({"permission": "allow", "action": "all", "topic": "a"});
        let with = |k: &str, v: Value| {
            let mut r = ok.clone();
            r[k] = v;
            err(json!([ok.clone(), r]))
        };
        assert_eq!(
            with("action", json!("read")),
            "acl[1].action: expected \"publish\", \"subscribe\" or \"all\""
        );
        assert_eq!(
            with("permission", json!(true)),
            "acl[1].permission: expected a string, got a boolean"
        );
        for bad in ["a/#/b", "a+", "", "eq ", "x/${username}#"] {
            assert_eq!(
                with("topic", json!(bad)),
                "acl[1].topic: not a valid MQTT topic filter",
                "{bad}"
            );
        }
        assert_eq!(
            with("qos", json!([3])),
            "acl[1].qos: expected a list of 0, 1 and 2"
        );
        assert_eq!(
            with("qos", json!(1)),
            "acl[1].qos: expected a list of 0, 1 and 2"
        );
        assert!(with("retain", json!(1)).starts_with("acl[1].retain: "));
        let mut missing = ok.clone();
        missing.as_object_mut().unwrap().remove("topic");
        assert_eq!(err(json!([missing])), "acl[0].topic: missing");
        let many: Vec<Value> = (0..=MAX_RULES).map(|_| ok.clone()).collect();
        assert!(err(Value::Array(many)).contains("at most 1000"));
        let long = "a".repeat(MAX_FILTER + 1);
        assert!(with("topic", json!(long)).contains("longer than"));
        // Unknown keys are ignored; an empty list is a valid set of rules.
        let mut extra = ok.clone();
        extra["comment"] = json!("x");
        assert_eq!(Rules::parse(&json!([extra])).unwrap().len(), 1);
        assert!(Rules::parse(&json!([])).unwrap().is_empty());
    }
}
