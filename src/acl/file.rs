/*!
mosquitto's ACL file format (`acl_file`), parsed once and checked per request.

# Format

```text
# comment (first non-blank character is '#'); blank lines are ignored
topic read public/#            # before any `user` line: anonymous clients only
user alice                     # the rest of the line is the name (may contain spaces)
topic alice/#                  # no access keyword: readwrite
topic write cmd/alice
topic deny alice/secret/#
pattern read clients/%c/#      # every client, wherever it appears; %c = client id
pattern readwrite users/%u/#   # %u = username; never applies to anonymous clients
```

Lines are trimmed; spaces and tabs separate words; Windows line endings and a leading UTF-8
byte-order mark are tolerated. Keywords are case-sensitive, as in mosquitto. The access is
`read`, `write`, `readwrite` or `deny` (mosquitto 2.0); the filter is the rest of the line and
may contain spaces. Repeated `user` blocks for one name add up.

**One word after `topic`/`pattern` is the filter.** mosquitto 2.0's `aclfile__parse` takes the
second word as the access keyword only when more text follows; otherwise that word is the
topic filter with readwrite access. So `topic read` grants readwrite on the literal topic
`read`, and `topic deny` grants readwrite on `deny`. We do the same, so that every file the
broker loads means the same thing here, and report such lines in [`AclFile::warnings`]. (The
grant is confined to that one literal topic.) Two or more words whose first is not an access
keyword are an error, as in mosquitto.

Every bad line is reported (not just the first) as `path:line: message`, and a file with any
bad line is rejected as a whole, so a reload keeps the previous rules.

# Evaluation

For a request the applicable rules are the user's block (the anonymous block when there is no
username) plus every `pattern` rule, with `%u`/`%c` filled in. Then:

- **Unsubscribe** is always allowed.
- **Read / Write**: a matching `deny` rule denies; otherwise a matching grant with that access
  (`read`/`write`/`readwrite`) allows; otherwise [`Decision::Defer`], which the plugin's
  chain turns into a refusal when no other backend decides.
- **Subscribe** (the topic is a filter): a `deny` rule that *covers* the filter (every topic
  the filter can match is denied) denies; otherwise a `read`/`readwrite` grant that covers the
  filter allows; otherwise defer. Unlike the broker's built-in `acl_file`, which lets every
  SUBSCRIBE through, a subscription is granted only when read access covers every topic it can
  match: a grant `alice/#` allows subscribing to `alice/x/+` but not to `#` or `+/x`. A deny
  rule that covers only part of an allowed subscription does not refuse it; the Read check
  then blocks those deliveries one by one. Coverage is decided rule by rule, so two grants that
  only together cover a filter do not allow it.

A `deny` rule wins over every grant, wherever either is in the file. (mosquitto 2.0 checks the
user's rules, denials first, before the patterns, so there a user's grant beats a pattern
deny.) Topics starting with `$` follow the matching rules of [`crate::acl::topic`]: `#` and
`+` at the first level do not match them, and nothing else is special.

Pattern rules and client-chosen names: a rule using `%u` never applies to a client without a
username, nor when the username is empty or contains `+`, `#` or `/`; likewise `%c` for the
client id. Without this a client named `+` would turn `users/%u/#` into `users/+/#`. The
broker's plugin API v5 does not filter these characters for us. A `deny` pattern, though,
must not be escaped by picking such a name: when a `deny` pattern uses `%u` (or `%c`) and the
username (or client id) is unusable, every check of that client is denied (fail closed).
A pattern without `%u`/`%c`
applies to every client as written. `%u`/`%c` are replaced wherever they occur in a level
(mosquitto 2.0), and each rule's filter is split into levels once, at parse time, so a check
compares text in place and allocates nothing.
*/

use std::collections::HashMap;
use std::path::Path;

use crate::acl::topic::{self, Kind, Level};
use crate::request::{Access, Decision};

/// A parse failure, listing every bad line as `path:line: message`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .lines.join("\n"))]
pub struct AclParseError {
    /// One `path:line: message` per bad line (or one `path: message` when unreadable).
    pub lines: Vec<String>,
}

/// The rule that decided a check, as [`AclFile::explain`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleRef {
    /// The 1-based line number in the ACL file.
    pub line: usize,
    /// The line's text, trimmed.
    pub text: String,
}

/// A parsed ACL file.
#[derive(Clone, Debug, Default)]
pub struct AclFile {
    /// Rules before the first `user` line: clients without a username.
    anonymous: Vec<Rule>,
    /// Rules per username, in file order.
    users: HashMap<String, Vec<Rule>>,
    /// `pattern` rules, in file order; they apply to every client.
    patterns: Vec<Rule>,
    /// `path:line: message` for lines that parse but probably do not say what was meant.
    warnings: Vec<String>,
}

/// What a rule grants, from its access keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grant {
    Read,
    Write,
    ReadWrite,
    Deny,
}

impl Grant {
    fn from_keyword(word: &str) -> Option<Grant> {
        match word {
            "read" => Some(Grant::Read),
            "write" => Some(Grant::Write),
            "readwrite" => Some(Grant::ReadWrite),
            "deny" => Some(Grant::Deny),
            _ => None,
        }
    }

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

/// One piece of a pattern level.
#[derive(Clone, Debug)]
enum Segment {
    Text(Box<str>),
    /// `%u`
    User,
    /// `%c`
    Client,
}

/// One level of a rule's filter, compiled at parse time.
#[derive(Clone, Debug)]
enum RuleLevel {
    Plus,
    Hash,
    Literal(Box<str>),
    /// A pattern level containing `%u` or `%c`.
    Pattern(Box<[Segment]>),
}

/// One `topic` or `pattern` line.
#[derive(Clone, Debug)]
struct Rule {
    line: usize,
    text: Box<str>,
    grant: Grant,
    levels: Box<[RuleLevel]>,
    uses_user: bool,
    uses_client: bool,
}

/// The names a request may substitute for `%u` / `%c`; `None` when the name is missing or
/// unusable (empty, or containing `+`, `#` or `/`).
struct Names<'a> {
    user: Option<&'a str>,
    client: Option<&'a str>,
}

/// A rule level seen through one request's names.
struct LevelView<'a> {
    level: &'a RuleLevel,
    names: &'a Names<'a>,
}

impl Level for LevelView<'_> {
    fn kind(&self) -> Kind {
        match self.level {
            RuleLevel::Plus => Kind::Plus,
            RuleLevel::Hash => Kind::Hash,
            RuleLevel::Literal(_) | RuleLevel::Pattern(_) => Kind::Literal,
        }
    }

    fn eq_text(&self, text: &str) -> bool {
        match self.level {
            RuleLevel::Plus | RuleLevel::Hash => false,
            RuleLevel::Literal(lit) => **lit == *text,
            RuleLevel::Pattern(segments) => {
                let mut rest = text;
                for segment in segments.iter() {
                    let piece = match segment {
                        Segment::Text(t) => &**t,
                        // `Rule::applies` has checked the name is there.
                        Segment::User => self.names.user.unwrap_or(""),
                        Segment::Client => self.names.client.unwrap_or(""),
                    };
                    match rest.strip_prefix(piece) {
                        Some(r) => rest = r,
                        None => return false,
                    }
                }
                rest.is_empty()
            }
        }
    }
}

impl Rule {
    /// Compiles a validated filter; `%u`/`%c` are placeholders only when `pattern`.
    fn new(line: usize, text: &str, grant: Grant, filter: &str, pattern: bool) -> Rule {
        let mut uses_user = false;
        let mut uses_client = false;
        let levels = filter
            .split('/')
            .map(|level| match level {
                "+" => RuleLevel::Plus,
                "#" => RuleLevel::Hash,
                _ if pattern && (level.contains("%u") || level.contains("%c")) => {
                    let segments = split_placeholders(level);
                    for s in &segments {
                        match s {
                            Segment::User => uses_user = true,
                            Segment::Client => uses_client = true,
                            Segment::Text(_) => {}
                        }
                    }
                    RuleLevel::Pattern(segments.into_boxed_slice())
                }
                _ => RuleLevel::Literal(level.into()),
            })
            .collect();
        Rule {
            line,
            text: text.into(),
            grant,
            levels,
            uses_user,
            uses_client,
        }
    }

    /// True when every name the rule substitutes is usable for this request.
    fn applies(&self, names: &Names<'_>) -> bool {
        (!self.uses_user || names.user.is_some()) && (!self.uses_client || names.client.is_some())
    }

    fn view<'a>(&'a self, names: &'a Names<'a>) -> impl Iterator<Item = LevelView<'a>> + 'a {
        self.levels
            .iter()
            .map(move |level| LevelView { level, names })
    }

    /// For Read/Write: the rule's filter matches the topic; for Subscribe: it covers the
    /// subscription filter.
    fn hits(&self, names: &Names<'_>, topic: &str, access: Access) -> bool {
        match access {
            Access::Subscribe => topic::covers_levels(self.view(names), topic),
            _ => topic::matches_levels(self.view(names), topic),
        }
    }

    fn to_ref(&self) -> RuleRef {
        RuleRef {
            line: self.line,
            text: self.text.to_string(),
        }
    }
}

/// Splits a pattern level at every `%u` and `%c` (anywhere in the level, as mosquitto 2.0
/// substitutes them); any other `%` is literal.
fn split_placeholders(level: &str) -> Vec<Segment> {
    let bytes = level.as_bytes();
    let mut segments = Vec::new();
    let (mut start, mut i) = (0, 0);
    while i + 1 < bytes.len() {
        let placeholder = match (bytes[i], bytes[i + 1]) {
            (b'%', b'u') => Some(Segment::User),
            (b'%', b'c') => Some(Segment::Client),
            _ => None,
        };
        match placeholder {
            Some(p) => {
                // `start` and `i` sit on ASCII bytes, hence on char boundaries.
                if start < i {
                    segments.push(Segment::Text(level[start..i].into()));
                }
                segments.push(p);
                i += 2;
                start = i;
            }
            None => i += 1,
        }
    }
    if start < bytes.len() {
        segments.push(Segment::Text(level[start..].into()));
    }
    segments
}

/// A name usable in `%u`/`%c`: non-empty and without `+`, `#` or `/`.
fn usable_name(name: &str) -> bool {
    !name.is_empty() && !name.bytes().any(|b| matches!(b, b'+' | b'#' | b'/'))
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off the first word; the rest has its leading blanks removed.
fn split_word(s: &str) -> (&str, &str) {
    match s.find(is_blank) {
        Some(i) => (&s[..i], s[i..].trim_start_matches(is_blank)),
        None => (s, ""),
    }
}

/// ` (did you mean "x"?)` when `word` is a near miss for one of `candidates`.
fn hint(word: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2 && *d < c.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| format!(" (did you mean \"{c}\"?)"))
        .unwrap_or_default()
}

/// Why `f` is not a valid filter (only called when it is not).
fn filter_problem(f: &str) -> &'static str {
    if f.len() > topic::MAX_LEN {
        "longer than 65535 bytes"
    } else if f.bytes().any(|b| b == 0) {
        "contains a NUL byte"
    } else if f.split('/').any(|l| l != "+" && l.contains('+')) {
        "'+' must be a whole level"
    } else {
        "'#' must be the whole last level"
    }
}

const ACCESS_KEYWORDS: [&str; 4] = ["read", "write", "readwrite", "deny"];

impl AclFile {
    /// Parses the text of an ACL file; `path` is used in error messages.
    ///
    /// Every bad line is reported; any bad line rejects the whole file.
    pub fn parse(path: &Path, text: &str) -> Result<AclFile, AclParseError> {
        let mut acl = AclFile::default();
        let mut errors = Vec::new();
        // `None` until the first `user` line: rules for anonymous clients.
        let mut user: Option<String> = None;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = raw.trim_matches(|c: char| c.is_ascii_whitespace());
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |msg: String| format!("{}:{number}: {msg}", path.display());
            let (keyword, rest) = split_word(line);
            match keyword {
                "user" => {
                    if rest.is_empty() {
                        errors.push(at("missing user name after \"user\"".into()));
                    } else {
                        acl.users.entry(rest.to_string()).or_default();
                        user = Some(rest.to_string());
                    }
                }
                "topic" | "pattern" => {
                    let pattern = keyword == "pattern";
                    let (grant, filter) = match parse_access(keyword, rest) {
                        Ok(Parsed {
                            grant,
                            filter,
                            ambiguous,
                        }) => {
                            if ambiguous {
                                acl.warnings.push(at(format!(
                                    "\"{keyword} {filter}\" has no filter after the access \
                                     keyword; as in mosquitto, \"{filter}\" is the topic filter \
                                     (readwrite access)"
                                )));
                            }
                            (grant, filter)
                        }
                        Err(msg) => {
                            errors.push(at(msg));
                            continue;
                        }
                    };
                    if !topic::valid_filter(filter) {
                        errors.push(at(format!(
                            "invalid topic filter \"{filter}\": {}",
                            filter_problem(filter)
                        )));
                        continue;
                    }
                    let rule = Rule::new(number, line, grant, filter, pattern);
                    if pattern {
                        if !rule.uses_user && !rule.uses_client {
                            acl.warnings.push(at(format!(
                                "pattern \"{filter}\" has no %u or %c; it applies to every \
                                 client as written"
                            )));
                        }
                        acl.patterns.push(rule);
                    } else {
                        match &user {
                            Some(name) => acl.users.entry(name.clone()).or_default().push(rule),
                            None => acl.anonymous.push(rule),
                        }
                    }
                }
                other => errors.push(at(format!(
                    "unknown keyword \"{other}\"{}; expected user, topic or pattern",
                    hint(other, &["user", "topic", "pattern"])
                ))),
            }
        }
        if errors.is_empty() {
            Ok(acl)
        } else {
            Err(AclParseError { lines: errors })
        }
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<AclFile, AclParseError> {
        let text = std::fs::read_to_string(path).map_err(|e| AclParseError {
            lines: vec![format!("{}: {e}", path.display())],
        })?;
        AclFile::parse(path, &text)
    }

    /// The number of `topic` and `pattern` rules.
    pub fn rule_count(&self) -> usize {
        self.anonymous.len()
            + self.patterns.len()
            + self.users.values().map(Vec::len).sum::<usize>()
    }

    /// The number of distinct names on `user` lines.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// Lines that parsed but probably do not say what was meant, as `path:line: message`: a
    /// `topic`/`pattern` line whose only word is an access keyword (see the module docs), and
    /// a `pattern` without `%u` or `%c`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Checks one request: `Allow`, `Deny`, or `Defer` when no rule decides. For
    /// [`Access::Subscribe`] `topic` is the subscription filter. Allocates nothing.
    pub fn check(
        &self,
        username: Option<&str>,
        client_id: &str,
        topic: &str,
        access: Access,
    ) -> Decision {
        self.decide(username, client_id, topic, access).0
    }

    /// Like [`AclFile::check`], also naming the rule that decided (`None` for Defer and for
    /// Unsubscribe, which no rule decides).
    pub fn explain(
        &self,
        username: Option<&str>,
        client_id: &str,
        topic: &str,
        access: Access,
    ) -> (Decision, Option<RuleRef>) {
        let (decision, rule) = self.decide(username, client_id, topic, access);
        (decision, rule.map(Rule::to_ref))
    }

    fn decide(
        &self,
        username: Option<&str>,
        client_id: &str,
        topic: &str,
        access: Access,
    ) -> (Decision, Option<&Rule>) {
        if access == Access::Unsubscribe {
            return (Decision::Allow, None);
        }
        let block: &[Rule] = match username {
            None => &self.anonymous,
            Some(name) => self.users.get(name).map_or(&[], Vec::as_slice),
        };
        let names = Names {
            user: username.filter(|u| usable_name(u)),
            client: Some(client_id).filter(|c| usable_name(c)),
        };
        // A deny pattern cannot be evaluated for a name it may not be substituted with (one
        // containing `+`, `#` or `/`, or empty): fail closed and deny, rather than let such a
        // name slip past the deny.
        let unusable_user = username.is_some() && names.user.is_none();
        let unusable_client = names.client.is_none();
        if let Some(rule) = self.patterns.iter().find(|r| {
            r.grant == Grant::Deny
                && ((r.uses_user && unusable_user) || (r.uses_client && unusable_client))
        }) {
            return (Decision::Deny, Some(rule));
        }
        let rules = || {
            block
                .iter()
                .chain(self.patterns.iter().filter(|r| r.applies(&names)))
        };
        if let Some(rule) =
            rules().find(|r| r.grant == Grant::Deny && r.hits(&names, topic, access))
        {
            return (Decision::Deny, Some(rule));
        }
        if let Some(rule) =
            rules().find(|r| r.grant.allows(access) && r.hits(&names, topic, access))
        {
            return (Decision::Allow, Some(rule));
        }
        (Decision::Defer, None)
    }
}

/// A `topic`/`pattern` line after the keyword.
struct Parsed<'a> {
    grant: Grant,
    filter: &'a str,
    /// The only word was an access keyword, taken as the filter.
    ambiguous: bool,
}

/// Reads `[read|write|readwrite|deny] <filter>` (mosquitto's rules; see the module docs).
fn parse_access<'a>(keyword: &str, rest: &'a str) -> Result<Parsed<'a>, String> {
    if rest.is_empty() {
        return Err(format!("missing topic filter after \"{keyword}\""));
    }
    let (word, after) = split_word(rest);
    if after.is_empty() {
        return Ok(Parsed {
            grant: Grant::ReadWrite,
            filter: word,
            ambiguous: Grant::from_keyword(word).is_some(),
        });
    }
    match Grant::from_keyword(word) {
        Some(grant) => Ok(Parsed {
            grant,
            filter: after,
            ambiguous: false,
        }),
        None => Err(format!(
            "invalid access \"{word}\"{}; expected read, write, readwrite or deny before the \
             topic filter",
            hint(word, &ACCESS_KEYWORDS)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> AclFile {
        match AclFile::parse(Path::new("acl"), text) {
            Ok(acl) => acl,
            Err(e) => panic!("parse failed:\n{e}"),
        }
    }

    fn parse_err(text: &str) -> Vec<String> {
        match AclFile::parse(Path::new("/etc/mosquitto/acl"), text) {
            Ok(_) => panic!("parsed without error: {text:?}"),
            Err(e) => e.lines,
        }
    }

    /// The seed ACL from a real deployment.
    const SEED: &str = "\
user user01
topic write #

user user02
topic read #

user user03
topic readwrite #
";

    const BASIC: &str = "\
# Anonymous clients:
topic read public/#

user alice
topic alice/#
topic read shared/+
topic write cmd/alice
topic deny alice/secret/#

user bob
topic write bob/out
topic deny users/bob/blocked

user carol
topic readwrite #

pattern read clients/%c/#
pattern write users/%u/#
pattern deny users/%u/private
pattern deny %u/locked
pattern read sys/%u-%c

user ev/il
topic readwrite #
";

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
                    let decided_by_rule =
                        got != Decision::Defer && Access::$access != Access::Unsubscribe;
                    assert_eq!(rule.is_some(), decided_by_rule, "rule: {rule:?}");
                }
            )*
        };
    }

    check_tests! {
        // The seed ACL.
        seed_write_only_writes: SEED, Some("user01"), "c", "a/b", Write => Allow;
        seed_write_only_no_read: SEED, Some("user01"), "c", "a/b", Read => Defer;
        seed_write_only_cannot_subscribe: SEED, Some("user01"), "c", "a/#", Subscribe => Defer;
        seed_write_only_cannot_subscribe_all: SEED, Some("user01"), "c", "#", Subscribe => Defer;
        seed_read_only_reads: SEED, Some("user02"), "c", "a/b", Read => Allow;
        seed_read_only_no_write: SEED, Some("user02"), "c", "a/b", Write => Defer;
        seed_read_only_subscribes_all: SEED, Some("user02"), "c", "#", Subscribe => Allow;
        seed_read_only_subscribes_plus: SEED, Some("user02"), "c", "+/x/#", Subscribe => Allow;
        seed_read_only_no_sys_read: SEED, Some("user02"), "c", "$SYS/uptime", Read => Defer;
        seed_read_only_no_sys_subscribe: SEED, Some("user02"), "c", "$SYS/#", Subscribe => Defer;
        seed_readwrite_reads: SEED, Some("user03"), "c", "a", Read => Allow;
        seed_readwrite_writes: SEED, Some("user03"), "c", "a/b/c", Write => Allow;
        seed_readwrite_subscribes: SEED, Some("user03"), "c", "#", Subscribe => Allow;
        seed_readwrite_no_dollar_write: SEED, Some("user03"), "c", "$x/y", Write => Defer;
        seed_unknown_user: SEED, Some("user04"), "c", "a", Read => Defer;
        seed_anonymous: SEED, None, "c", "a", Read => Defer;
        seed_unsubscribe: SEED, Some("user04"), "c", "#", Unsubscribe => Allow;

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
        plus_username_no_deny_patterns: "pattern write users/%u/#\n", Some("+"), "c7", "users/x/y", Write => Defer;
        plus_username_grant_pattern_skipped: "pattern write users/%u/#\ntopic write users/+/y\n", None, "c7", "users/x/y", Write => Allow;
        plus_client: BASIC, Some("bob"), "+", "clients/x/status", Read => Defer;
        hash_client: BASIC, Some("bob"), "#", "clients/x", Read => Defer;
        slash_client: BASIC, Some("bob"), "a/b", "clients/a/b/status", Read => Defer;
        slash_client_subscribe: BASIC, Some("bob"), "a/b", "clients/a/b/#", Subscribe => Defer;
        bad_client_keeps_user_pattern: BASIC, Some("bob"), "+", "users/bob/x", Write => Allow;
        bad_user_fails_closed_on_user_deny_pattern: BASIC, Some("a/b"), "c7", "clients/c7/x", Read => Deny;
        bad_client_skips_both_names: BASIC, Some("bob"), "a/b", "sys/bob-a/b", Read => Defer;
        // A deny pattern cannot be skipped by choosing such a name: it fails closed.
        bad_user_pattern_deny_fails_closed: BASIC, Some("ev/il"), "c7", "ev/il/locked", Write => Deny;
        bad_user_pattern_deny_fails_closed_elsewhere: BASIC, Some("ev/il"), "c7", "other/x", Write => Deny;
        good_user_pattern_deny: BASIC, Some("carol"), "c7", "carol/locked", Write => Deny;

        // Unsubscribe and the empty file.
        unsubscribe_anything: BASIC, Some("alice"), "c1", "#", Unsubscribe => Allow;
        unsubscribe_denied_topic: BASIC, Some("alice"), "c1", "alice/secret/#", Unsubscribe => Allow;
        empty_read: "", Some("alice"), "c1", "a", Read => Defer;
        empty_write: "", Some("alice"), "c1", "a", Write => Defer;
        empty_subscribe: "", Some("alice"), "c1", "#", Subscribe => Defer;
        empty_anonymous: "", None, "c1", "a", Read => Defer;
        empty_unsubscribe: "", None, "c1", "#", Unsubscribe => Allow;
        comments_only: "# nothing\n\n   # here\n", Some("a"), "c", "a", Write => Defer;
        user_without_rules: "user alice\n", Some("alice"), "c1", "a", Read => Defer;

        // Odd topics.
        invalid_topic_read: SEED, Some("user03"), "c", "a/+", Read => Defer;
        empty_topic_write: SEED, Some("user03"), "c", "", Write => Defer;
        dollar_deeper_level: SEED, Some("user03"), "c", "a/$x", Write => Allow;
        dollar_literal_rule: "user u\ntopic read $SYS/#\n", Some("u"), "c", "$SYS/uptime", Read => Allow;
        dollar_literal_rule_subscribe: "user u\ntopic read $SYS/#\n", Some("u"), "c", "$SYS/+", Subscribe => Allow;
    }

    // --- Parser -----------------------------------------------------------------------------

    #[test]
    fn counts_every_rule_kind() {
        let acl = parse_ok(BASIC);
        assert_eq!(acl.rule_count(), 1 + 4 + 2 + 1 + 5 + 1);
        assert_eq!(acl.user_count(), 4);
        assert!(acl.warnings().is_empty(), "{:?}", acl.warnings());
        let seed = parse_ok(SEED);
        assert_eq!((seed.rule_count(), seed.user_count()), (3, 3));
        let empty = parse_ok("");
        assert_eq!((empty.rule_count(), empty.user_count()), (0, 0));
    }

    #[test]
    fn repeated_user_blocks_add_up() {
        let acl = parse_ok("user a\ntopic read x\nuser b\ntopic read y\nuser a\ntopic write z\n");
        assert_eq!((acl.rule_count(), acl.user_count()), (3, 2));
        assert_eq!(
            acl.check(Some("a"), "c", "x", Access::Read),
            Decision::Allow
        );
        assert_eq!(
            acl.check(Some("a"), "c", "z", Access::Write),
            Decision::Allow
        );
        assert_eq!(
            acl.check(Some("a"), "c", "y", Access::Read),
            Decision::Defer
        );
    }

    #[test]
    fn crlf_tabs_blanks_and_comments() {
        let text = "\u{feff}# header\r\n\r\n   # indented comment\r\n\ttopic\tread\tpub/#\r\n\
                    user \t bob smith \r\n  topic   write  my topic/with space \r\n\
                    pattern\twrite\tdev/%c\r\n";
        let acl = parse_ok(text);
        assert_eq!((acl.rule_count(), acl.user_count()), (3, 1));
        assert_eq!(acl.check(None, "c", "pub/x", Access::Read), Decision::Allow);
        let user = Some("bob smith");
        assert_eq!(
            acl.check(user, "c", "my topic/with space", Access::Write),
            Decision::Allow
        );
        assert_eq!(
            acl.check(user, "c", "my topic", Access::Write),
            Decision::Defer
        );
        assert_eq!(
            acl.check(user, "d1", "dev/d1", Access::Write),
            Decision::Allow
        );
        let (_, rule) = acl.explain(user, "c", "my topic/with space", Access::Write);
        assert_eq!(
            rule,
            Some(RuleRef {
                line: 6,
                text: "topic   write  my topic/with space".into()
            })
        );
    }

    #[test]
    fn pattern_after_user_applies_to_everyone() {
        let acl = parse_ok("user alice\npattern read in/%u\ntopic read own\n");
        assert_eq!(
            acl.check(Some("bob"), "c", "in/bob", Access::Read),
            Decision::Allow
        );
        assert_eq!(
            acl.check(Some("bob"), "c", "own", Access::Read),
            Decision::Defer
        );
        assert_eq!(
            acl.check(Some("alice"), "c", "own", Access::Read),
            Decision::Allow
        );
    }

    #[test]
    fn pattern_without_placeholder_is_literal_and_warned() {
        let acl = parse_ok("pattern read news/#\ntopic read own/%u\n");
        assert_eq!(
            acl.check(Some("x"), "c", "news/a", Access::Read),
            Decision::Allow
        );
        assert_eq!(
            acl.check(None, "c", "news/a", Access::Read),
            Decision::Allow
        );
        // `%u` in a `topic` line is plain text.
        assert_eq!(
            acl.check(None, "c", "own/%u", Access::Read),
            Decision::Allow
        );
        assert_eq!(acl.check(None, "c", "own/x", Access::Read), Decision::Defer);
        assert_eq!(
            acl.warnings(),
            ["acl:1: pattern \"news/#\" has no %u or %c; it applies to every client as written"]
        );
    }

    #[test]
    fn percent_without_placeholder_is_literal() {
        let acl = parse_ok("pattern read a/%x%u%/%%c\n");
        assert_eq!(
            acl.check(Some("u"), "id", "a/%xu%/%id", Access::Read),
            Decision::Allow
        );
        assert_eq!(
            acl.check(Some("u"), "id", "a/%xu%/%%c", Access::Read),
            Decision::Defer
        );
    }

    #[test]
    fn one_word_after_topic_is_the_filter_like_mosquitto() {
        let acl = parse_ok("topic read\npattern deny\ntopic plain\n");
        // `topic read` grants readwrite on the topic "read".
        assert_eq!(acl.check(None, "c", "read", Access::Read), Decision::Allow);
        assert_eq!(acl.check(None, "c", "read", Access::Write), Decision::Allow);
        assert_eq!(
            acl.check(None, "c", "plain", Access::Write),
            Decision::Allow
        );
        // `pattern deny` grants readwrite on "deny" to everyone; it denies nothing.
        assert_eq!(
            acl.check(Some("u"), "c", "deny", Access::Write),
            Decision::Allow
        );
        assert_eq!(
            acl.warnings(),
            [
                "acl:1: \"topic read\" has no filter after the access keyword; as in mosquitto, \
                 \"read\" is the topic filter (readwrite access)",
                "acl:2: \"pattern deny\" has no filter after the access keyword; as in \
                 mosquitto, \"deny\" is the topic filter (readwrite access)",
                "acl:2: pattern \"deny\" has no %u or %c; it applies to every client as written",
            ]
        );
    }

    // `name: acl text => [expected error lines];`
    macro_rules! error_tests {
        ($($name:ident: $text:expr => [$($line:expr),* $(,)?];)*) => {
            $(
                #[test]
                fn $name() {
                    let expected: Vec<String> = vec![$($line.to_string()),*];
                    assert_eq!(parse_err($text), expected);
                }
            )*
        };
    }

    error_tests! {
        err_unknown_keyword: "user a\ntopc read a\n" => [
            "/etc/mosquitto/acl:2: unknown keyword \"topc\" (did you mean \"topic\"?); \
             expected user, topic or pattern",
        ];
        err_unknown_keyword_no_hint: "allow a\n" => [
            "/etc/mosquitto/acl:1: unknown keyword \"allow\"; expected user, topic or pattern",
        ];
        err_keyword_case: "Topic read a\n" => [
            "/etc/mosquitto/acl:1: unknown keyword \"Topic\" (did you mean \"topic\"?); \
             expected user, topic or pattern",
        ];
        err_missing_filter: "topic\n" => [
            "/etc/mosquitto/acl:1: missing topic filter after \"topic\"",
        ];
        err_missing_pattern_filter: "\n\npattern   \n" => [
            "/etc/mosquitto/acl:3: missing topic filter after \"pattern\"",
        ];
        err_access_typo: "topic raed a/b\n" => [
            "/etc/mosquitto/acl:1: invalid access \"raed\" (did you mean \"read\"?); expected \
             read, write, readwrite or deny before the topic filter",
        ];
        err_two_words_no_access: "topic my topic\n" => [
            "/etc/mosquitto/acl:1: invalid access \"my\"; expected read, write, readwrite or \
             deny before the topic filter",
        ];
        err_hash_middle: "topic read a/#/b\n" => [
            "/etc/mosquitto/acl:1: invalid topic filter \"a/#/b\": '#' must be the whole last \
             level",
        ];
        err_plus_glued: "topic a+\n" => [
            "/etc/mosquitto/acl:1: invalid topic filter \"a+\": '+' must be a whole level",
        ];
        err_pattern_glued: "pattern write %u+/x\n" => [
            "/etc/mosquitto/acl:1: invalid topic filter \"%u+/x\": '+' must be a whole level",
        ];
        err_nul: "topic a\0b\n" => [
            "/etc/mosquitto/acl:1: invalid topic filter \"a\0b\": contains a NUL byte",
        ];
        err_user_without_name: "user\ntopic a\nuser   \r\n" => [
            "/etc/mosquitto/acl:1: missing user name after \"user\"",
            "/etc/mosquitto/acl:3: missing user name after \"user\"",
        ];
        err_many_together: "# ok\r\ntopic read ok/#\r\ntopc x\r\ntopic read\r\ntopic deny a/#/b\r\n\
                            user\r\npattern rw x/%u\r\ntopic read #x\r\n" => [
            "/etc/mosquitto/acl:3: unknown keyword \"topc\" (did you mean \"topic\"?); \
             expected user, topic or pattern",
            "/etc/mosquitto/acl:5: invalid topic filter \"a/#/b\": '#' must be the whole last \
             level",
            "/etc/mosquitto/acl:6: missing user name after \"user\"",
            "/etc/mosquitto/acl:7: invalid access \"rw\"; expected read, write, readwrite or \
             deny before the topic filter",
            "/etc/mosquitto/acl:8: invalid topic filter \"#x\": '#' must be the whole last level",
        ];
    }

    #[test]
    fn error_display_joins_lines() {
        let err = AclFile::parse(Path::new("f"), "x\ny\n").err();
        let text = err.map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some(
                "f:1: unknown keyword \"x\"; expected user, topic or pattern\n\
                 f:2: unknown keyword \"y\"; expected user, topic or pattern"
            )
        );
    }

    #[test]
    fn load_reports_unreadable_file() {
        let path = Path::new("/nonexistent/mosq-auth/acl");
        let err = AclFile::load(path).err().map(|e| e.lines);
        let lines = err.unwrap_or_default();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].starts_with("/nonexistent/mosq-auth/acl: "),
            "{lines:?}"
        );
    }

    #[test]
    fn load_reads_a_file() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("acl");
        std::fs::write(&path, SEED)?;
        let acl = AclFile::load(&path)?;
        assert_eq!(
            acl.check(Some("user02"), "c", "x", Access::Read),
            Decision::Allow
        );
        std::fs::write(&path, "user\n")?;
        let err = AclFile::load(&path).err().map(|e| e.lines);
        assert_eq!(
            err,
            Some(vec![format!(
                "{}:1: missing user name after \"user\"",
                path.display()
            )])
        );
        Ok(())
    }

    #[test]
    fn explain_names_the_deciding_rule() {
        let acl = parse_ok(BASIC);
        let at = |line: usize, text: &str| {
            Some(RuleRef {
                line,
                text: text.into(),
            })
        };
        let explain = |user, topic, access| acl.explain(user, "c1", topic, access);
        assert_eq!(
            explain(Some("alice"), "alice/secret/x", Access::Read),
            (Decision::Deny, at(8, "topic deny alice/secret/#"))
        );
        assert_eq!(
            explain(Some("alice"), "alice/x", Access::Write),
            (Decision::Allow, at(5, "topic alice/#"))
        );
        assert_eq!(
            explain(Some("bob"), "users/bob/private", Access::Write),
            (Decision::Deny, at(19, "pattern deny users/%u/private"))
        );
        assert_eq!(
            explain(Some("bob"), "nothing", Access::Read),
            (Decision::Defer, None)
        );
        assert_eq!(
            explain(None, "x", Access::Unsubscribe),
            (Decision::Allow, None)
        );
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
        let names = Names {
            user: Some("u"),
            client: Some("c"),
        };
        for g in &filters {
            let rule = Rule::new(1, g, Grant::Read, g, true);
            // The same filter with the username spelled as a placeholder.
            let templated = g.replace('a', "%u");
            let pattern = Rule::new(1, &templated, Grant::Read, &templated, true);
            let names_a = Names {
                user: Some("a"),
                client: Some("c"),
            };
            for f in &filters {
                let expected = topic::covers(g, f);
                assert_eq!(
                    rule.hits(&names, f, Access::Subscribe),
                    expected,
                    "{g} covers {f}"
                );
                assert_eq!(
                    pattern.hits(&names_a, f, Access::Subscribe),
                    expected,
                    "{templated} (u=a) covers {f}"
                );
            }
            for t in &topics {
                let expected = topic::matches(g, t);
                assert_eq!(
                    rule.hits(&names, t, Access::Read),
                    expected,
                    "{g} matches {t}"
                );
                assert_eq!(
                    pattern.hits(&names_a, t, Access::Read),
                    expected,
                    "{templated} (u=a) matches {t}"
                );
            }
        }
    }

    // --- Robustness and scale ------------------------------------------------------------------

    struct XorShift(u64);

    impl XorShift {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    #[test]
    fn random_lines_never_panic() {
        let words: [&[u8]; 16] = [
            b"user",
            b"topic",
            b"pattern",
            b"read",
            b"write",
            b"readwrite",
            b"deny",
            b"#",
            b"+",
            b"/",
            b"%u",
            b"%c",
            b"a",
            b" ",
            b"\t",
            b"\r",
        ];
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        for _ in 0..2_000 {
            let mut bytes = Vec::new();
            for _ in 0..rng.below(12) {
                for _ in 0..rng.below(8) {
                    if rng.below(4) == 0 {
                        bytes.push(rng.below(256) as u8);
                    } else {
                        bytes.extend_from_slice(words[rng.below(words.len())]);
                        bytes.push(b' ');
                    }
                }
                bytes.push(b'\n');
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(acl) = AclFile::parse(Path::new("fuzz"), &text) {
                for access in [Access::Read, Access::Write, Access::Subscribe] {
                    for (user, client, t) in [
                        (Some("a"), "a", "a/a"),
                        (None, "%u", "#"),
                        (Some("+"), "/", "a/+"),
                        (Some(""), "", ""),
                    ] {
                        let _ = acl.explain(user, client, t, access);
                    }
                }
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
