//! Reading an ACL file: one rule per `topic`/`pattern` line, compiled once, every bad line
//! reported as `path:line: message`.

use std::path::Path;

use super::{AclFile, AclParseError, Grant, Rule, RuleLevel, Segment};
use crate::acl::topic;
use crate::text::{self, Line};

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
}

impl Rule {
    /// Compiles a validated filter; `%u`/`%c` are placeholders only when `pattern`.
    pub(super) fn new(line: usize, text: &str, grant: Grant, filter: &str, pattern: bool) -> Rule {
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
    /// Every bad line is reported; any bad line rejects the whole file (a comment may hold any
    /// bytes; a rule that is not UTF-8 is a bad line).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<AclFile, AclParseError> {
        let mut acl = AclFile::default();
        let mut errors = Vec::new();
        // `None` until the first `user` line: rules for anonymous clients.
        let mut user: Option<String> = None;
        for (number, raw) in text::lines(bytes) {
            let at = |msg: String| format!("{}:{number}: {msg}", path.display());
            let raw = match raw {
                Line::Text(s) => s,
                Line::NotUtf8(_) => {
                    errors.push(at("not UTF-8 text".into()));
                    continue;
                }
            };
            let line = raw.trim_matches(|c: char| c.is_ascii_whitespace());
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
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
    use std::path::Path;

    use super::super::tests::{parse_err, parse_ok};
    use super::super::*;

    #[test]
    fn a_comment_may_hold_any_bytes_and_a_rule_must_be_text() {
        let acl = AclFile::parse(
            Path::new("acl"),
            b"# M\xfcller\nuser alice\ntopic read alice/#\n",
        )
        .unwrap();
        assert_eq!(acl.rule_count(), 1);
        let err = AclFile::parse(Path::new("acl"), b"user alice\ntopic read a\xfc/#\n")
            .err()
            .unwrap();
        assert_eq!(err.lines, vec!["acl:2: not UTF-8 text".to_string()]);
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
        let err = AclFile::parse(Path::new("f"), b"x\ny\n").err();
        let text = err.map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some(
                "f:1: unknown keyword \"x\"; expected user, topic or pattern\n\
                 f:2: unknown keyword \"y\"; expected user, topic or pattern"
            )
        );
    }

    // --- Robustness ---------------------------------------------------------------------------

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
            if let Ok(acl) = AclFile::parse(Path::new("fuzz"), text.as_bytes()) {
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
}
