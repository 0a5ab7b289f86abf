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

- **Unsubscribe** is not decided by the file (`Defer`): the chain always allows it.
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
username (or client id) is unusable, every check of that client is denied (fail closed). A
pattern without `%u`/`%c` applies to every client as written. `%u`/`%c` are replaced wherever
they occur in a level (mosquitto 2.0), and each rule's filter is split into levels once, at
parse time; a client's rules are compiled with its names filled in (see `eval.rs`).

This file holds the types and the public API; `parse.rs` reads the file and compiles the
rules, `eval.rs` decides a request.
*/

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use crate::request::{Access, Decision};

mod eval;
mod parse;

pub use eval::ClientAcl;

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
    text: Arc<str>,
    grant: Grant,
    levels: Box<[RuleLevel]>,
    uses_user: bool,
    uses_client: bool,
}

impl AclFile {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<AclFile, AclParseError> {
        let bytes = std::fs::read(path).map_err(|e| AclParseError {
            lines: vec![format!("{}: {e}", path.display())],
        })?;
        AclFile::parse(path, &bytes)
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
    /// [`Access::Subscribe`] `topic` is the subscription filter. Compiles the client's rules
    /// first ([`AclFile::for_client`]); a connected client's checks keep them instead.
    pub fn check(
        &self,
        username: Option<&str>,
        client_id: &str,
        topic: &str,
        access: Access,
    ) -> Decision {
        self.for_client(username, client_id)
            .decide(topic.as_bytes(), access)
    }

    /// Like [`AclFile::check`], also naming the rule that decided (`None` for Defer, which
    /// includes Unsubscribe: no rule decides it).
    pub fn explain(
        &self,
        username: Option<&str>,
        client_id: &str,
        topic: &str,
        access: Access,
    ) -> (Decision, Option<RuleRef>) {
        self.for_client(username, client_id)
            .explain(topic.as_bytes(), access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse_ok(text: &str) -> AclFile {
        match AclFile::parse(Path::new("acl"), text.as_bytes()) {
            Ok(acl) => acl,
            Err(e) => panic!("parse failed:\n{e}"),
        }
    }

    pub(super) fn parse_err(text: &str) -> Vec<String> {
        match AclFile::parse(Path::new("/etc/mosquitto/acl"), text.as_bytes()) {
            Ok(_) => panic!("parsed without error: {text:?}"),
            Err(e) => e.lines,
        }
    }

    /// One user per access keyword, each on the whole tree.
    pub(super) const WHOLE_TREE: &str = "\
user user01
topic write #

user user02
topic read #

user user03
topic readwrite #
";

    /// Anonymous rules, several users, and patterns with `%u`/`%c`.
    pub(super) const BASIC: &str = "\
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

    #[test]
    fn counts_every_rule_kind() {
        let acl = parse_ok(BASIC);
        assert_eq!(acl.rule_count(), 1 + 4 + 2 + 1 + 5 + 1);
        assert_eq!(acl.user_count(), 4);
        assert!(acl.warnings().is_empty(), "{:?}", acl.warnings());
        let tree = parse_ok(WHOLE_TREE);
        assert_eq!((tree.rule_count(), tree.user_count()), (3, 3));
        let empty = parse_ok("");
        assert_eq!((empty.rule_count(), empty.user_count()), (0, 0));
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
        std::fs::write(&path, WHOLE_TREE)?;
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
            (Decision::Defer, None)
        );
    }
}
