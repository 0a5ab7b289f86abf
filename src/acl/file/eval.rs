/*!
One client's rules, compiled from the file: [`AclFile::for_client`] takes the client's user block
(the anonymous block without a username) and the patterns that apply to it, fills `%u`/`%c` in
once, and sorts the rules by what they can decide; [`ClientAcl::decide`] then answers a check
with topic matches alone (each filter split once, the topic checked once per request: see
`acl::filter`). The plugin compiles a connected client's rules at CONNECT and keeps them in its
session; [`AclFile::check`] compiles them for one request.
*/

use std::sync::Arc;

use super::{AclFile, Grant, Rule, RuleLevel, RuleRef, Segment};
use crate::acl::filter::{CheckTopic, Filter};
use crate::request::{Access, Decision};

impl Grant {
    /// True if this grant gives `access` (Subscribe needs read).
    fn allows(self, access: Access) -> bool {
        match (self, access) {
            (Grant::Deny, _) => false,
            (Grant::ReadWrite, _) => true,
            (Grant::Read, Access::Read | Access::Subscribe) => true,
            (Grant::Write, Access::Write) => true,
            _ => false,
        }
    }
}

/// The line a compiled rule came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Source {
    line: usize,
    text: Arc<str>,
}

/// One rule with the client's names filled in.
#[derive(Clone, Debug)]
struct ClientRule {
    filter: Filter,
    source: Source,
}

/// The ACL answers of one client (username and client id fixed), ready for its checks.
#[derive(Clone, Debug)]
pub struct ClientAcl {
    /// Every check but unsubscribe gets this answer (and the rule that forces it, if one).
    fixed: Option<(Decision, Option<Source>)>,
    /// `deny` rules, in file order.
    denies: Box<[ClientRule]>,
    /// Rules granting read (and so subscribe), in file order.
    reads: Box<[ClientRule]>,
    /// Rules granting write, in file order.
    writes: Box<[ClientRule]>,
    /// The answer when no rule matches.
    otherwise: Decision,
}

impl ClientAcl {
    /// The same answer for every check but unsubscribe (which is always deferred).
    pub fn fixed(decision: Decision) -> ClientAcl {
        ClientAcl {
            fixed: Some((decision, None)),
            ..ClientAcl::rules(Vec::new(), Decision::Defer)
        }
    }

    fn rules(rules: Vec<(Grant, ClientRule)>, otherwise: Decision) -> ClientAcl {
        let pick = |want: fn(Grant) -> bool| {
            rules
                .iter()
                .filter(|(g, _)| want(*g))
                .map(|(_, r)| r.clone())
                .collect()
        };
        ClientAcl {
            fixed: None,
            denies: pick(|g| g == Grant::Deny),
            reads: pick(|g| g.allows(Access::Read)),
            writes: pick(|g| g.allows(Access::Write)),
            otherwise,
        }
    }

    /// The number of rules that apply to this client.
    pub fn len(&self) -> usize {
        // A readwrite rule is in both grant lists.
        self.denies.len() + self.reads.len().max(self.writes.len())
    }

    /// Returns true if and only if no rule applies to this client.
    pub fn is_empty(&self) -> bool {
        self.denies.is_empty() && self.reads.is_empty() && self.writes.is_empty()
    }

    /// Decides one check: `Allow`, `Deny`, or `Defer` when no rule decides. For
    /// [`Access::Subscribe`] `topic` is the subscription filter. The topic is bytes, as the
    /// broker passed it (see `topic::matches_valid`); the answer is the one for the text.
    /// Allocates nothing.
    pub fn decide(&self, topic: &[u8], access: Access) -> Decision {
        self.decide_checked(&CheckTopic::new(topic, access))
    }

    /// [`ClientAcl::decide`] for a topic prepared once for every rule it meets.
    pub(crate) fn decide_checked(&self, check: &CheckTopic<'_>) -> Decision {
        self.decide_with_source(check).0
    }

    /// [`ClientAcl::decide`], also naming the rule that decided (`None` when the answer is
    /// fixed by no rule, or no rule decides).
    pub fn explain(&self, topic: &[u8], access: Access) -> (Decision, Option<RuleRef>) {
        let (decision, source) = self.decide_with_source(&CheckTopic::new(topic, access));
        let rule = source.map(|s| RuleRef {
            line: s.line,
            text: s.text.to_string(),
        });
        (decision, rule)
    }

    fn decide_with_source(&self, check: &CheckTopic<'_>) -> (Decision, Option<&Source>) {
        let access = check.access;
        if access == Access::Unsubscribe {
            // No line of the file is about unsubscribing; the chain always allows it.
            return (Decision::Defer, None);
        }
        if let Some((decision, source)) = &self.fixed {
            return (*decision, source.as_ref());
        }
        if let Some(r) = self.denies.iter().find(|r| r.filter.hits(check)) {
            return (Decision::Deny, Some(&r.source));
        }
        let grants = match access {
            Access::Write => &self.writes,
            _ => &self.reads,
        };
        match grants.iter().find(|r| r.filter.hits(check)) {
            Some(r) => (Decision::Allow, Some(&r.source)),
            None => (self.otherwise, None),
        }
    }
}

impl Rule {
    /// True when every name the rule substitutes is usable (`Some`).
    fn applies(&self, user: Option<&str>, client: Option<&str>) -> bool {
        (!self.uses_user || user.is_some()) && (!self.uses_client || client.is_some())
    }

    fn source(&self) -> Source {
        Source {
            line: self.line,
            text: self.text.clone(),
        }
    }

    /// The rule's filter with `%u`/`%c` replaced (the rule applies: the names it uses are
    /// there). A usable name holds no `/`, `+` or `#`, so the filter keeps its levels and
    /// stays valid; `None` if it did not (never, but a rule that is not valid matches nothing).
    fn fill(&self, user: &str, client: &str) -> Option<ClientRule> {
        let mut filter = String::new();
        for (i, level) in self.levels.iter().enumerate() {
            if i > 0 {
                filter.push('/');
            }
            match level {
                RuleLevel::Plus => filter.push('+'),
                RuleLevel::Hash => filter.push('#'),
                RuleLevel::Literal(text) => filter.push_str(text),
                RuleLevel::Pattern(segments) => {
                    for segment in segments.iter() {
                        filter.push_str(match segment {
                            Segment::Text(t) => t,
                            Segment::User => user,
                            Segment::Client => client,
                        });
                    }
                }
            }
        }
        Some(ClientRule {
            filter: Filter::new(&filter)?,
            source: self.source(),
        })
    }
}

/// A name usable in `%u`/`%c`: non-empty and without `+`, `#` or `/`.
fn usable_name(name: &str) -> bool {
    !name.is_empty() && !name.bytes().any(|b| matches!(b, b'+' | b'#' | b'/'))
}

impl AclFile {
    /// The rules of the client with these names, compiled for its checks.
    pub fn for_client(&self, username: Option<&str>, client_id: &str) -> ClientAcl {
        let block: &[Rule] = match username {
            None => &self.anonymous,
            Some(name) => self.users.get(name).map_or(&[], Vec::as_slice),
        };
        let user = username.filter(|u| usable_name(u));
        let client = Some(client_id).filter(|c| usable_name(c));
        // A deny pattern cannot be evaluated for a name it may not be substituted with (one
        // containing `+`, `#` or `/`, or empty): fail closed and deny, rather than let such a
        // name slip past the deny.
        let unusable_user = username.is_some() && user.is_none();
        let unusable_client = client.is_none();
        if let Some(rule) = self.patterns.iter().find(|r| {
            r.grant == Grant::Deny
                && ((r.uses_user && unusable_user) || (r.uses_client && unusable_client))
        }) {
            return ClientAcl {
                fixed: Some((Decision::Deny, Some(rule.source()))),
                ..ClientAcl::rules(Vec::new(), Decision::Defer)
            };
        }
        // As mosquitto does since CVE-2017-7650: a client whose username or client id holds a
        // wildcard gets nothing from patterns, and when there are patterns, the pattern stage
        // refuses it; its user rules still apply. (A `/` or empty name only leaves out the
        // patterns that would substitute it, see `usable_name`.)
        let wildcard = |n: &str| n.bytes().any(|b| matches!(b, b'+' | b'#'));
        // A `deny` pattern still applies to such a client: no name may escape a deny.
        let no_patterns = username.is_some_and(wildcard) || wildcard(client_id);
        let patterns = self
            .patterns
            .iter()
            .filter(|r| !no_patterns || r.grant == Grant::Deny);
        let rules = block
            .iter()
            .chain(patterns.filter(|r| r.applies(user, client)))
            .filter_map(|r| Some((r.grant, r.fill(user.unwrap_or(""), client.unwrap_or(""))?)))
            .collect();
        let otherwise = if no_patterns && !self.patterns.is_empty() {
            Decision::Deny
        } else {
            Decision::Defer
        };
        ClientAcl::rules(rules, otherwise)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{parse_ok, BASIC, WHOLE_TREE};
    use super::*;
    use crate::acl::topic;

    // One named test per row:
    // `name: acl, username, client id, topic, access => decision;`
    macro_rules! check_tests {
        ($($name:ident: $acl:expr, $user:expr, $client:expr, $topic:expr, $access:ident
            => $expected:ident;)*) => {
            $(
                #[test]
                fn $name() {
                    let acl = parse_ok($acl);
                    let (user, client, topic) = ($user, $client, $topic);
                    let got = acl.check(user, client, topic, Access::$access);
                    assert_eq!(
                        got,
                        Decision::$expected,
                        "check({user:?}, {client:?}, {topic:?}, {})",
                        Access::$access
                    );
                    let (decision, rule) = acl.explain(user, client, topic, Access::$access);
                    assert_eq!(decision, got, "explain disagrees with check");
                    // Every decision names its rule, except the pattern stage refusing a
                    // name with a wildcard (no rule: the name itself decides).
                    let wildcard = |n: &str| n.contains(['+', '#']);
                    let refused_name = got == Decision::Deny
                        && (user.is_some_and(wildcard) || wildcard(client));
                    if !refused_name {
                        assert_eq!(rule.is_some(), got != Decision::Defer, "rule: {rule:?}");
                    }
                }
            )*
        };
    }

    check_tests! {
        // Found by the acl_file fuzz target: a wildcard name loses the pattern grants, never
        // the pattern denials.
        deny_pattern_holds_for_a_plus_client: "user u\ntopic readwrite +\npattern deny a/#\n", Some("u"), "+", "a", Read => Deny;
        deny_pattern_with_user_holds_for_a_plus_client: "user carol\ntopic readwrite #\npattern deny %u-dev/x\n", Some("carol"), "+", "carol-dev/x", Read => Deny;
        grant_pattern_still_lost_for_a_plus_client: "user u\npattern read a/#\n", Some("u"), "+", "a/b", Read => Deny;
        // One user per access keyword on `#`.
        tree_write_only_writes: WHOLE_TREE, Some("user01"), "c", "a/b", Write => Allow;
        tree_write_only_no_read: WHOLE_TREE, Some("user01"), "c", "a/b", Read => Defer;
        tree_write_only_cannot_subscribe: WHOLE_TREE, Some("user01"), "c", "a/#", Subscribe => Defer;
        tree_write_only_cannot_subscribe_all: WHOLE_TREE, Some("user01"), "c", "#", Subscribe => Defer;
        tree_read_only_reads: WHOLE_TREE, Some("user02"), "c", "a/b", Read => Allow;
        tree_read_only_no_write: WHOLE_TREE, Some("user02"), "c", "a/b", Write => Defer;
        tree_read_only_subscribes_all: WHOLE_TREE, Some("user02"), "c", "#", Subscribe => Allow;
        tree_read_only_subscribes_plus: WHOLE_TREE, Some("user02"), "c", "+/x/#", Subscribe => Allow;
        tree_read_only_no_sys_read: WHOLE_TREE, Some("user02"), "c", "$SYS/uptime", Read => Defer;
        tree_read_only_no_sys_subscribe: WHOLE_TREE, Some("user02"), "c", "$SYS/#", Subscribe => Defer;
        tree_readwrite_reads: WHOLE_TREE, Some("user03"), "c", "a", Read => Allow;
        tree_readwrite_writes: WHOLE_TREE, Some("user03"), "c", "a/b/c", Write => Allow;
        tree_readwrite_subscribes: WHOLE_TREE, Some("user03"), "c", "#", Subscribe => Allow;
        tree_readwrite_no_dollar_write: WHOLE_TREE, Some("user03"), "c", "$x/y", Write => Defer;
        tree_unknown_user: WHOLE_TREE, Some("user04"), "c", "a", Read => Defer;
        tree_anonymous: WHOLE_TREE, None, "c", "a", Read => Defer;
        tree_unsubscribe: WHOLE_TREE, Some("user04"), "c", "#", Unsubscribe => Defer;

        // Anonymous block.
        anon_reads_public: BASIC, None, "c1", "public/news", Read => Allow;
        anon_reads_public_parent: BASIC, None, "c1", "public", Read => Allow;
        anon_cannot_write_public: BASIC, None, "c1", "public/news", Write => Defer;
        anon_subscribes_public: BASIC, None, "c1", "public/+/x", Subscribe => Allow;
        anon_cannot_subscribe_all: BASIC, None, "c1", "#", Subscribe => Defer;
        user_not_in_anon_block: BASIC, Some("alice"), "c1", "public/news", Read => Defer;
        unknown_user_not_in_anon_block: BASIC, Some("dave"), "c1", "public/news", Read => Defer;

        // Access keywords.
        rw_default_read: BASIC, Some("alice"), "c1", "alice/x", Read => Allow;
        rw_default_write: BASIC, Some("alice"), "c1", "alice/x", Write => Allow;
        rw_default_parent: BASIC, Some("alice"), "c1", "alice", Write => Allow;
        read_only_read: BASIC, Some("alice"), "c1", "shared/a", Read => Allow;
        read_only_no_write: BASIC, Some("alice"), "c1", "shared/a", Write => Defer;
        write_only_write: BASIC, Some("alice"), "c1", "cmd/alice", Write => Allow;
        write_only_no_read: BASIC, Some("alice"), "c1", "cmd/alice", Read => Defer;
        write_only_cannot_subscribe: BASIC, Some("alice"), "c1", "cmd/alice", Subscribe => Defer;
        other_users_rules_not_applied: BASIC, Some("bob"), "c1", "alice/x", Read => Defer;

        // Deny.
        deny_read: BASIC, Some("alice"), "c1", "alice/secret/k", Read => Deny;
        deny_write: BASIC, Some("alice"), "c1", "alice/secret/k", Write => Deny;
        deny_parent: BASIC, Some("alice"), "c1", "alice/secret", Read => Deny;
        deny_not_sibling: BASIC, Some("alice"), "c1", "alice/secretive", Read => Allow;
        deny_wins_over_pattern_grant: BASIC, Some("bob"), "c1", "users/bob/blocked", Write => Deny;
        pattern_deny_wins_over_user_grant: BASIC, Some("alice"), "c1", "alice/locked", Write => Deny;
        pattern_deny_wins_over_pattern_grant: BASIC, Some("bob"), "c1", "users/bob/private", Write => Deny;
        pattern_deny_other_user: BASIC, Some("bob"), "c1", "alice/locked", Write => Defer;

        // Subscribe coverage.
        sub_alice_all_own: BASIC, Some("alice"), "c1", "alice/#", Subscribe => Allow;
        sub_alice_plus: BASIC, Some("alice"), "c1", "alice/x/+", Subscribe => Allow;
        sub_alice_parent: BASIC, Some("alice"), "c1", "alice", Subscribe => Allow;
        sub_alice_everything: BASIC, Some("alice"), "c1", "#", Subscribe => Defer;
        sub_alice_plus_x: BASIC, Some("alice"), "c1", "+/x", Subscribe => Defer;
        sub_alice_plus_hash: BASIC, Some("alice"), "c1", "+/#", Subscribe => Defer;
        sub_deny_covers: BASIC, Some("alice"), "c1", "alice/secret/#", Subscribe => Deny;
        sub_deny_covers_plus: BASIC, Some("alice"), "c1", "alice/secret/+", Subscribe => Deny;
        sub_deny_covers_parent: BASIC, Some("alice"), "c1", "alice/secret", Subscribe => Deny;
        sub_read_plus_exact: BASIC, Some("alice"), "c1", "shared/+", Subscribe => Allow;
        sub_read_plus_not_hash: BASIC, Some("alice"), "c1", "shared/#", Subscribe => Defer;
        sub_read_plus_not_deeper: BASIC, Some("alice"), "c1", "shared/a/b", Subscribe => Defer;
        sub_invalid_filter: BASIC, Some("carol"), "c1", "a/#/b", Subscribe => Defer;
        sub_carol_all: BASIC, Some("carol"), "c1", "#", Subscribe => Allow;
        sub_carol_not_sys: BASIC, Some("carol"), "c1", "$SYS/#", Subscribe => Defer;
        sub_pattern_grant: BASIC, Some("bob"), "cb", "clients/cb/#", Subscribe => Allow;
        sub_pattern_grant_other: BASIC, Some("bob"), "cb", "clients/cx/#", Subscribe => Defer;

        // Patterns.
        pattern_client: BASIC, Some("bob"), "c7", "clients/c7/status", Read => Allow;
        pattern_client_other: BASIC, Some("bob"), "c7", "clients/c8/status", Read => Defer;
        pattern_client_anonymous: BASIC, None, "c7", "clients/c7/status", Read => Allow;
        pattern_user: BASIC, Some("bob"), "c7", "users/bob/x", Write => Allow;
        pattern_user_parent: BASIC, Some("bob"), "c7", "users/bob", Write => Allow;
        pattern_user_other: BASIC, Some("bob"), "c7", "users/alice/x", Write => Defer;
        pattern_user_no_read: BASIC, Some("bob"), "c7", "users/bob/x", Read => Defer;
        pattern_user_unknown_user: BASIC, Some("dave"), "c7", "users/dave/x", Write => Allow;
        pattern_user_not_anonymous: BASIC, None, "c7", "users//x", Write => Defer;
        pattern_user_not_anonymous_literal: BASIC, None, "c7", "users/%u/x", Write => Defer;
        pattern_inside_level: BASIC, Some("bob"), "c7", "sys/bob-c7", Read => Allow;
        pattern_inside_level_wrong: BASIC, Some("bob"), "c7", "sys/bob-c8", Read => Defer;
        pattern_prefix_of_name: BASIC, Some("guest"), "c7", "users/gues/x", Write => Defer;
        pattern_longer_than_name: BASIC, Some("guest"), "c7", "users/guestt/x", Write => Defer;

        // Client-chosen names with wildcards or separators never fill a pattern; BASIC has
        // `%u` deny patterns, which then fail closed: everything is denied to such a user.
        plus_username: BASIC, Some("+"), "c7", "users/x/y", Write => Deny;
        plus_username_literal: BASIC, Some("+"), "c7", "users/+/y", Write => Deny;
        hash_username: BASIC, Some("#"), "c7", "users/x", Write => Deny;
        slash_username: BASIC, Some("a/b"), "c7", "users/a/b/x", Write => Deny;
        plus_inside_username: BASIC, Some("a+b"), "c7", "users/a+b/x", Write => Deny;
        empty_username: BASIC, Some(""), "c7", "users//x", Write => Deny;
        // A `+` or `#` in the username or client id: no pattern applies and, as in mosquitto
        // (CVE-2017-7650), the pattern stage refuses; user rules still apply.
        plus_username_no_deny_patterns: "pattern write users/%u/#\n", Some("+"), "c7", "users/x/y", Write => Deny;
        plus_username_grant_pattern_skipped: "pattern write users/%u/#\ntopic write users/+/y\n", None, "c7", "users/x/y", Write => Allow;
        plus_client: BASIC, Some("bob"), "+", "clients/x/status", Read => Deny;
        hash_client: BASIC, Some("bob"), "#", "clients/x", Read => Deny;
        slash_client: BASIC, Some("bob"), "a/b", "clients/a/b/status", Read => Defer;
        slash_client_subscribe: BASIC, Some("bob"), "a/b", "clients/a/b/#", Subscribe => Defer;
        bad_client_loses_even_user_patterns: BASIC, Some("bob"), "+", "users/bob/x", Write => Deny;
        bad_client_keeps_user_rules: "user bob\ntopic write bob/#\npattern write users/%u/#\n", Some("bob"), "+", "bob/x", Write => Allow;
        bad_username_keeps_user_rules: "user a+b\ntopic write t\npattern write users/%c/#\n", Some("a+b"), "c7", "t", Write => Allow;
        bad_username_no_client_pattern: "user a+b\ntopic write t\npattern write users/%c/#\n", Some("a+b"), "c7", "users/c7/x", Write => Deny;
        // A `/` (or an empty name) only leaves out the patterns that would substitute it.
        slash_client_keeps_user_pattern: BASIC, Some("bob"), "a/b", "users/bob/x", Write => Allow;
        bad_user_fails_closed_on_user_deny_pattern: BASIC, Some("a/b"), "c7", "clients/c7/x", Read => Deny;
        bad_client_skips_both_names: BASIC, Some("bob"), "a/b", "sys/bob-a/b", Read => Defer;
        // A deny pattern cannot be skipped by choosing such a name: it fails closed.
        bad_user_pattern_deny_fails_closed: BASIC, Some("ev/il"), "c7", "ev/il/locked", Write => Deny;
        bad_user_pattern_deny_fails_closed_elsewhere: BASIC, Some("ev/il"), "c7", "other/x", Write => Deny;
        good_user_pattern_deny: BASIC, Some("carol"), "c7", "carol/locked", Write => Deny;

        // Unsubscribe and the empty file.
        unsubscribe_anything: BASIC, Some("alice"), "c1", "#", Unsubscribe => Defer;
        unsubscribe_denied_topic: BASIC, Some("alice"), "c1", "alice/secret/#", Unsubscribe => Defer;
        empty_read: "", Some("alice"), "c1", "a", Read => Defer;
        empty_write: "", Some("alice"), "c1", "a", Write => Defer;
        empty_subscribe: "", Some("alice"), "c1", "#", Subscribe => Defer;
        empty_anonymous: "", None, "c1", "a", Read => Defer;
        empty_unsubscribe: "", None, "c1", "#", Unsubscribe => Defer;
        comments_only: "# nothing\n\n   # here\n", Some("a"), "c", "a", Write => Defer;
        user_without_rules: "user alice\n", Some("alice"), "c1", "a", Read => Defer;

        // Odd topics.
        invalid_topic_read: WHOLE_TREE, Some("user03"), "c", "a/+", Read => Defer;
        empty_topic_write: WHOLE_TREE, Some("user03"), "c", "", Write => Defer;
        dollar_deeper_level: WHOLE_TREE, Some("user03"), "c", "a/$x", Write => Allow;
        dollar_literal_rule: "user u\ntopic read $SYS/#\n", Some("u"), "c", "$SYS/uptime", Read => Allow;
        dollar_literal_rule_subscribe: "user u\ntopic read $SYS/#\n", Some("u"), "c", "$SYS/+", Subscribe => Allow;
    }

    // --- Compiled rules agree with the string functions --------------------------------------

    #[test]
    fn compiled_rules_agree_with_topic_functions() {
        let levels = ["a", "b", "$x", "", "+", "#"];
        let mut filters: Vec<String> = levels.iter().map(|l| l.to_string()).collect();
        for _ in 0..2 {
            let longer: Vec<String> = filters
                .iter()
                .flat_map(|p| levels.iter().map(move |l| format!("{p}/{l}")))
                .collect();
            filters.extend(longer);
        }
        filters.retain(|f| topic::valid_filter(f));
        let topics: Vec<String> = filters
            .iter()
            .map(|f| f.replace('+', "zz").replace('#', "q"))
            .filter(|t| topic::valid_topic(t))
            .collect();
        for g in &filters {
            let rule = Rule::new(1, g, Grant::Read, g, true)
                .fill("u", "c")
                .unwrap();
            // The same filter with the username spelled as a placeholder, filled with `a`.
            let templated = g.replace('a', "%u");
            let pattern = Rule::new(1, &templated, Grant::Read, &templated, true)
                .fill("a", "c")
                .unwrap();
            for f in &filters {
                let expected = topic::covers(g, f);
                let f = f.as_bytes();
                assert_eq!(
                    rule.filter.hits(&CheckTopic::new(f, Access::Subscribe)),
                    expected,
                    "{g} covers {f:?}"
                );
                assert_eq!(
                    pattern.filter.hits(&CheckTopic::new(f, Access::Subscribe)),
                    expected,
                    "{templated} (u=a) covers {f:?}"
                );
            }
            for t in &topics {
                let expected = topic::matches(g, t);
                let t = t.as_bytes();
                let read = CheckTopic::new(t, Access::Read);
                assert_eq!(rule.filter.hits(&read), expected, "{g} matches {t:?}");
                assert_eq!(
                    pattern.filter.hits(&read),
                    expected,
                    "{templated} (u=a) matches {t:?}"
                );
            }
        }
    }

    #[test]
    fn ten_thousand_users_stay_fast() {
        use std::fmt::Write as _;
        let mut text = String::new();
        for i in 0..10_000 {
            let _ = write!(
                text,
                "user user{i}\ntopic readwrite home/{i}/#\ntopic read shared/+/status\n\
                 topic deny home/{i}/locked\n"
            );
        }
        text.push_str("pattern read clients/%c/#\npattern write devices/%u/+/set\n");
        let start = std::time::Instant::now();
        let acl = parse_ok(&text);
        assert_eq!((acl.user_count(), acl.rule_count()), (10_000, 30_002));
        let mut allowed = 0;
        for i in 0..10_000 {
            let user = format!("user{i}");
            let topic = format!("home/{i}/x");
            let user = Some(user.as_str());
            for access in [Access::Read, Access::Write, Access::Subscribe] {
                if acl.check(user, "c", &topic, access) == Decision::Allow {
                    allowed += 1;
                }
            }
            let locked = if i == 0 {
                Decision::Deny
            } else {
                Decision::Defer
            };
            assert_eq!(acl.check(user, "c", "home/0/locked", Access::Read), locked);
        }
        assert_eq!(allowed, 30_000);
        // Generous: this runs unoptimised on a shared machine.
        let elapsed = start.elapsed();
        assert!(elapsed.as_secs() < 20, "took {elapsed:?}");
    }
}
