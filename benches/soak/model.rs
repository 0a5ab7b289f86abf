//! The truth and the oracle.
//!
//! The truth is what is in force at each moment: the password and ACL files as written
//! ([`Files`], one version per change, kept as lines so that a prefix of a file is a version
//! too), the HTTP service's users and rules ([`Http`]), and the spans during which the service
//! was failing. The [`Timeline`] records when each version came and went; the oracle judges an
//! observed answer (a CONNACK, a SUBACK, a delivered or missing message) against every state
//! that may have been in force between the moment the question was sent and the moment the
//! answer arrived, widened by the documented windows ([`Windows`]):
//!
//! - a file version stays acceptable until the next one has been complete on disk for two
//!   reload intervals plus slack (the plugin loads a file once two polls see it unchanged);
//!   a file that cannot be loaded (garbage, unreadable) is no version: the last good one stays;
//! - an HTTP version stays acceptable for the cache lifetime of the answer's kind after it was
//!   replaced: an allow for `auth_cache_seconds` / `acl_cache_seconds`, a refusal for the
//!   negative lifetimes;
//! - while the service fails (and `http_timeout + http_cooldown` plus slack after), a refusal
//!   is always acceptable: the plugin fails closed. An allow must be justified by a version.
//!
//! The decision model is written here from the README, independently of `src/`: the chain
//! `files, jwt, http`, first allow or deny wins; the ACL file's `user`/`topic`/`pattern`
//! rules with `deny` first, subscriptions granted only when a rule covers the whole filter,
//! `%u`/`%c` never filled by a name with `+`, `#` or `/`, no patterns at all (and a refusal
//! where no user rule decides) for names with `+` or `#`.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// A grant keyword of the ACL file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    Read,
    Write,
    ReadWrite,
    Deny,
}

impl Grant {
    pub fn word(self) -> &'static str {
        match self {
            Grant::Read => "read",
            Grant::Write => "write",
            Grant::ReadWrite => "readwrite",
            Grant::Deny => "deny",
        }
    }

    fn allows(self, acc: Acc) -> bool {
        matches!(
            (self, acc),
            (Grant::ReadWrite, _)
                | (Grant::Read, Acc::Read | Acc::Subscribe)
                | (Grant::Write, Acc::Write)
        )
    }
}

/// What an ACL question is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acc {
    Read,
    Write,
    Subscribe,
}

/// One line of the ACL file.
#[derive(Clone, Debug)]
pub enum AclLine {
    User(String),
    Topic(Grant, String),
    Pattern(Grant, String),
}

/// One line of the password file.
#[derive(Clone, Debug)]
pub enum PwLine {
    /// `user:<hash of password>`.
    User(String, Vec<u8>),
    /// `user:<a hash cut short>`: that user is locked out.
    Broken(String),
}

/// One version of the two files.
#[derive(Clone, Debug)]
pub struct Files {
    pub label: String,
    pub pw: Vec<PwLine>,
    pub acl: Vec<AclLine>,
}

/// A backend's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dec {
    Allow,
    Deny,
    Defer,
}

/// What a client saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Allow,
    Deny,
}

/// Returns true if and only if `filter` matches the topic name `topic`.
pub fn matches(filter: &str, topic: &str) -> bool {
    let f: Vec<&str> = filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    for (i, level) in f.iter().enumerate() {
        if *level == "#" {
            return true;
        }
        match t.get(i) {
            None => return false,
            Some(x) if *level != "+" && level != x => return false,
            _ => {}
        }
    }
    f.len() == t.len()
}

/// Returns true if and only if every topic the subscription `filter` can match is matched by
/// the rule filter `rule`.
pub fn covers(rule: &str, filter: &str) -> bool {
    let r: Vec<&str> = rule.split('/').collect();
    let f: Vec<&str> = filter.split('/').collect();
    for (i, level) in r.iter().enumerate() {
        if *level == "#" {
            return true;
        }
        match f.get(i) {
            None | Some(&"#") => return false,
            Some(&"+") if *level != "+" => return false,
            Some(x) if *level != "+" && level != x => return false,
            _ => {}
        }
    }
    r.len() == f.len()
}

/// Returns true if and only if `name` may fill `%u` / `%c`.
fn usable(name: &str) -> bool {
    !name.is_empty() && !name.bytes().any(|b| matches!(b, b'+' | b'#' | b'/'))
}

fn wildcard(name: &str) -> bool {
    name.bytes().any(|b| matches!(b, b'+' | b'#'))
}

impl Files {
    /// `None`: not in the password file; `Some(None)`: locked out (broken line).
    pub fn password(&self, user: &str) -> Option<Option<&[u8]>> {
        self.pw.iter().find_map(|l| match l {
            PwLine::User(u, p) if u == user => Some(Some(p.as_slice())),
            PwLine::Broken(u) if u == user => Some(None),
            _ => None,
        })
    }

    /// (users with a good line, users with a broken line, ACL rules).
    pub fn counts(&self) -> (usize, usize, usize) {
        let good = self
            .pw
            .iter()
            .filter(|l| matches!(l, PwLine::User(..)))
            .count();
        let rules = self
            .acl
            .iter()
            .filter(|l| !matches!(l, AclLine::User(_)))
            .count();
        (good, self.pw.len() - good, rules)
    }

    /// The ACL file's answer for one question.
    pub fn acl_decide(&self, user: &str, client_id: &str, topic: &str, acc: Acc) -> Dec {
        let mut block: Vec<(Grant, String)> = Vec::new();
        let mut patterns: Vec<(Grant, String)> = Vec::new();
        let mut current: Option<&str> = None;
        for line in &self.acl {
            match line {
                AclLine::User(u) => current = Some(u),
                AclLine::Topic(g, f) if current == Some(user) => block.push((*g, f.clone())),
                AclLine::Topic(..) => {}
                AclLine::Pattern(g, f) => patterns.push((*g, f.clone())),
            }
        }
        let any_patterns = !patterns.is_empty();
        let no_patterns = wildcard(user) || wildcard(client_id);
        let mut rules = block;
        if !no_patterns {
            for (g, f) in patterns {
                let needs_user = f.contains("%u");
                let needs_client = f.contains("%c");
                if (needs_user && !usable(user)) || (needs_client && !usable(client_id)) {
                    continue;
                }
                rules.push((g, f.replace("%u", user).replace("%c", client_id)));
            }
        }
        let hits = |f: &str| match acc {
            Acc::Subscribe => covers(f, topic),
            _ => matches(f, topic),
        };
        if rules.iter().any(|(g, f)| *g == Grant::Deny && hits(f)) {
            return Dec::Deny;
        }
        if rules.iter().any(|(g, f)| g.allows(acc) && hits(f)) {
            return Dec::Allow;
        }
        if no_patterns && any_patterns {
            return Dec::Deny;
        }
        Dec::Defer
    }
}

/// One version of the HTTP service's users: `/auth` allows exactly these passwords, `/acl`
/// allows a known user the topics under `http/<user>/`.
#[derive(Clone, Debug)]
pub struct Http {
    pub label: String,
    pub users: Vec<(String, String)>,
}

impl Http {
    pub fn login(&self, user: &str, password: &[u8]) -> bool {
        self.users
            .iter()
            .any(|(u, p)| u == user && p.as_bytes() == password)
    }

    pub fn acl(&self, user: &str, topic: &str) -> bool {
        self.users.iter().any(|(u, _)| u == user) && topic.starts_with(&format!("http/{user}/"))
    }

    pub fn password(&self, user: &str) -> Option<&str> {
        self.users
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, p)| p.as_str())
    }
}

/// A JWT a client presents, as it was minted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// Signed with the broker's secret, `sub` = the username, `exp` an hour ahead.
    Valid,
    /// Expired, wrongly signed, or for another subject.
    Invalid,
}

/// A CONNECT.
#[derive(Clone, Debug)]
pub struct Login {
    pub user: Option<String>,
    pub password: Option<Vec<u8>>,
    pub client_id: String,
    /// `Some` when the password is a token (three dot-separated parts).
    pub token: Option<Token>,
}

/// A connected client, for its ACL questions.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    pub client_id: String,
    /// Logged in with a token: its `acl` claim allows everything under `jwt/<user>/`.
    pub jwt: bool,
}

/// Which expectation `SOAK_SELFTEST` turns upside down (the run must then fail).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flip {
    None,
    /// The files backend refuses `f0`'s right password: every f0 login is a wrong allow.
    Login,
    /// The files backend refuses reading `files/<user>/...` to its own user: every such grant
    /// and delivery is a wrong allow.
    Acl,
    /// Unknown users are admitted: every refusal of one is a wrong deny.
    Deny,
}

impl Flip {
    pub fn from_env(v: &str) -> Result<Flip, String> {
        match v {
            "" | "0" => Ok(Flip::None),
            "1" | "login" => Ok(Flip::Login),
            "acl" => Ok(Flip::Acl),
            "deny" => Ok(Flip::Deny),
            other => Err(format!(
                "SOAK_SELFTEST must be 0, 1/login, acl or deny, not {other:?}"
            )),
        }
    }
}

/// The chain's answer to a login in one state (`http` `None`: the service fails).
pub fn login_eval(l: &Login, f: &Files, http: Option<&Http>, flip: Flip) -> Outcome {
    let (Some(user), Some(password)) = (&l.user, &l.password) else {
        return Outcome::Deny; // anonymous (allow_anonymous false), or no password
    };
    if password.is_empty() {
        return Outcome::Deny;
    }
    match f.password(user) {
        Some(Some(p)) if p == password.as_slice() => {
            if flip == Flip::Login && user == "f0" {
                return Outcome::Deny;
            }
            return Outcome::Allow;
        }
        Some(_) => return Outcome::Deny,
        None => {}
    }
    if let Some(t) = l.token {
        return match t {
            Token::Valid => Outcome::Allow,
            Token::Invalid => Outcome::Deny,
        };
    }
    if flip == Flip::Deny && user.starts_with("nobody") {
        return Outcome::Allow;
    }
    if std::str::from_utf8(password).is_err() {
        return Outcome::Deny; // JSON cannot carry it: refused without a request
    }
    match http {
        Some(h) if h.login(user, password) => Outcome::Allow,
        _ => Outcome::Deny,
    }
}

/// The chain's answer to an ACL question in one state.
pub fn acl_eval(
    s: &Session,
    topic: &str,
    acc: Acc,
    f: &Files,
    http: Option<&Http>,
    flip: Flip,
) -> Outcome {
    if s.jwt && usable(&s.user) {
        let rule = format!("jwt/{}/#", s.user);
        let hit = match acc {
            Acc::Subscribe => covers(&rule, topic),
            _ => matches(&rule, topic),
        };
        if hit {
            return Outcome::Allow;
        }
    }
    let mut d = f.acl_decide(&s.user, &s.client_id, topic, acc);
    if flip == Flip::Acl
        && acc != Acc::Write
        && d == Dec::Allow
        && topic.starts_with(&format!("files/{}/", s.user))
    {
        d = Dec::Deny;
    }
    match d {
        Dec::Allow => Outcome::Allow,
        Dec::Deny => Outcome::Deny,
        Dec::Defer => match http {
            Some(h) if h.acl(&s.user, topic) => Outcome::Allow,
            _ => Outcome::Deny,
        },
    }
}

/// The documented windows (from the options the broker runs with).
#[derive(Clone, Copy, Debug)]
pub struct Windows {
    /// `reload_interval`.
    pub reload: Duration,
    pub auth_ttl: Duration,
    pub auth_neg: Duration,
    pub acl_ttl: Duration,
    pub acl_neg: Duration,
    /// `http_timeout + http_cooldown`: how long after the service recovers a refusal is still
    /// its failure's.
    pub http_tail: Duration,
    /// Scheduling and clock slack added to every window.
    pub slack: Duration,
}

impl Windows {
    /// How long an old file version may stay in force after the new one is complete.
    pub fn files(&self) -> Duration {
        self.reload * 2 + self.slack * 2
    }
}

struct Epoch<T> {
    truth: Arc<T>,
    from: Instant,
    until: Option<Instant>,
}

impl<T> Epoch<T> {
    fn overlaps(&self, t0: Instant, t1: Instant) -> bool {
        self.from <= t1 && self.until.map_or(true, |u| u >= t0)
    }
}

/// When each version was in force, and when the service failed.
pub struct Timeline {
    pub windows: Windows,
    pub flip: Flip,
    files: Vec<Epoch<Files>>,
    /// Index of the first file epoch whose successor is not yet complete.
    http: Vec<Epoch<Http>>,
    faults: Vec<(Instant, Option<Instant>)>,
}

/// Whether an answer is acceptable, and why not.
pub type Judgement = Result<(), String>;

impl Timeline {
    pub fn new(windows: Windows, flip: Flip, files: Files, http: Http, at: Instant) -> Timeline {
        Timeline {
            windows,
            flip,
            files: vec![Epoch {
                truth: Arc::new(files),
                from: at,
                until: None,
            }],
            http: vec![Epoch {
                truth: Arc::new(http),
                from: at,
                until: None,
            }],
            faults: Vec::new(),
        }
    }

    /// The newest file version (being written, or in force).
    pub fn files_now(&self) -> Arc<Files> {
        self.files.last().expect("one version").truth.clone()
    }

    pub fn http_now(&self) -> Arc<Http> {
        self.http.last().expect("one version").truth.clone()
    }

    /// A new file version starts to be written at `at`: from now on it may be in force.
    pub fn files_begin(&mut self, v: Files, at: Instant) {
        self.files.push(Epoch {
            truth: Arc::new(v),
            from: at,
            until: None,
        });
    }

    /// The newest file version is complete on disk at `at`: the older ones may stay in force
    /// for [`Windows::files`] more.
    pub fn files_complete(&mut self, at: Instant) {
        let end = at + self.windows.files();
        let n = self.files.len();
        for e in &mut self.files[..n - 1] {
            if e.until.is_none() {
                e.until = Some(end);
            }
        }
    }

    /// The files cannot be loaded from `from` to `to` (unreadable, unparsable): a version
    /// that was not yet loaded at `from` may only be loaded after `to`.
    pub fn files_blocked(&mut self, from: Instant, to: Instant) {
        let end = to + self.windows.files();
        for e in &mut self.files {
            if let Some(u) = e.until {
                if u > from && u < end {
                    e.until = Some(end);
                }
            }
        }
    }

    /// The service answers from `v` from `at` on.
    pub fn http_set(&mut self, v: Http, at: Instant) {
        if let Some(last) = self.http.last_mut() {
            last.until = Some(at);
        }
        self.http.push(Epoch {
            truth: Arc::new(v),
            from: at,
            until: None,
        });
    }

    /// The service starts failing; returns the fault's index for [`Timeline::fault_end`].
    pub fn fault_begin(&mut self, at: Instant) -> usize {
        self.faults.push((at, None));
        self.faults.len() - 1
    }

    pub fn fault_end(&mut self, i: usize, at: Instant) {
        self.faults[i].1 = Some(at);
    }

    /// Returns true if and only if a service failure may have decided something in [t0, t1].
    pub fn http_failing(&self, t0: Instant, t1: Instant) -> bool {
        let tail = self.windows.http_tail + self.windows.slack;
        self.faults
            .iter()
            .any(|(from, until)| *from <= t1 && until.map_or(true, |u| u + tail >= t0))
    }

    fn files_in(&self, t0: Instant, t1: Instant) -> Vec<&Files> {
        self.files
            .iter()
            .filter(|e| e.overlaps(t0, t1))
            .map(|e| &*e.truth)
            .collect()
    }

    /// HTTP states that may answer in [t0 - ttl, t1] (`None`: failing).
    fn http_in(&self, t0: Instant, t1: Instant, ttl: Duration, deny: bool) -> Vec<Option<&Http>> {
        let from = t0.checked_sub(ttl + self.windows.slack).unwrap_or(t0);
        let mut v: Vec<Option<&Http>> = self
            .http
            .iter()
            .filter(|e| e.overlaps(from, t1))
            .map(|e| Some(&*e.truth))
            .collect();
        if deny && self.http_failing(t0, t1) {
            v.push(None);
        }
        v
    }

    /// Judges a CONNACK observed for `l` sent at `t0`, answered at `t1`.
    pub fn judge_login(&self, l: &Login, t0: Instant, t1: Instant, seen: Outcome) -> Judgement {
        let w = self.windows;
        let (ttl, deny) = match seen {
            Outcome::Allow => (w.auth_ttl, false),
            Outcome::Deny => (w.auth_neg, true),
        };
        let files = self.files_in(t0, t1);
        let https = self.http_in(t0, t1, ttl, deny);
        for f in &files {
            for h in &https {
                if login_eval(l, f, *h, self.flip) == seen {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "{seen:?} for login user={} client={} password={} (file versions {}, http versions {}{})",
            shown(l.user.as_deref().unwrap_or("<none>")),
            shown(&l.client_id),
            match &l.password {
                None => "<none>".to_string(),
                Some(p) => format!("{} bytes", p.len()),
            },
            labels(files.iter().map(|f| f.label.as_str())),
            labels(https.iter().flatten().map(|h| h.label.as_str())),
            if https.iter().any(Option::is_none) { ", failing" } else { "" },
        ))
    }

    /// Judges an ACL answer (a SUBACK, or one half of a delivery).
    pub fn judge_acl(
        &self,
        s: &Session,
        topic: &str,
        acc: Acc,
        t0: Instant,
        t1: Instant,
        seen: Outcome,
    ) -> Judgement {
        let w = self.windows;
        let (ttl, deny) = match seen {
            Outcome::Allow => (w.acl_ttl, false),
            Outcome::Deny => (w.acl_neg, true),
        };
        let files = self.files_in(t0, t1);
        let https = self.http_in(t0, t1, ttl, deny);
        for f in &files {
            for h in &https {
                if acl_eval(s, topic, acc, f, *h, self.flip) == seen {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "{seen:?} for {acc:?} {} by user={} client={}{} (file versions {}, http versions {}{})",
            shown(topic),
            shown(&s.user),
            shown(&s.client_id),
            if s.jwt { " (jwt)" } else { "" },
            labels(files.iter().map(|f| f.label.as_str())),
            labels(https.iter().flatten().map(|h| h.label.as_str())),
            if https.iter().any(Option::is_none) {
                ", failing"
            } else {
                ""
            },
        ))
    }

    /// Returns true if and only if `seen` is acceptable for the ACL question (no message).
    pub fn acl_ok(
        &self,
        s: &Session,
        topic: &str,
        acc: Acc,
        t0: Instant,
        t1: Instant,
        seen: Outcome,
    ) -> bool {
        self.judge_acl(s, topic, acc, t0, t1, seen).is_ok()
    }

    /// Drops what can no longer matter to a question sent after `before`.
    pub fn prune(&mut self, before: Instant) {
        let keep =
            |until: Option<Instant>| until.map_or(true, |u| u + Duration::from_secs(60) >= before);
        self.files.retain(|e| keep(e.until));
        self.http.retain(|e| keep(e.until));
        self.faults.retain(|(_, u)| keep(*u));
    }
}

/// A name as shown in a report: at most 40 characters.
pub fn shown(s: &str) -> String {
    if s.len() > 40 {
        format!(
            "{:?}...({} bytes)",
            &s[..s.char_indices().nth(24).map_or(s.len(), |c| c.0)],
            s.len()
        )
    } else {
        format!("{s:?}")
    }
}

fn labels<'a>(it: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = it.collect();
    v.join(",")
}
