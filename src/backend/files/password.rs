//! The password file: `user:hash` lines, every hash parsed at load time.
//!
//! Costs: a hash above the hard ceilings of [`crate::hash`] (bcrypt cost 16, PBKDF2 2,000,000
//! iterations, argon2 256 MiB or 1 GiB × passes) is a malformed line: its user is locked out
//! and the line is reported as `file:line: ...` naming the parameter and the limit. Hashes that
//! cost more than any tool's default ([`PasswordHash::above_usual_cost`]) are accepted and
//! listed in one warning per load (user names and parameters, never a hash).
//!
//! Timing: a user absent from the file (or locked out) costs a check against a *decoy* hash
//! ([`PasswordHash::decoy`]: the file's most common scheme and cost, random salt and key,
//! built at load time) before the answer, which stays what it was (defer, or deny). Without
//! it, an unknown user is answered in microseconds and a known one in the time of its hash, so
//! the answer time would tell which users exist.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::hash::{most_common_cost, PasswordHash, SaltEncoding};
use crate::request::Decision;
use crate::text::{self, Line};

/// A user's entry in the password file.
#[derive(Clone, Debug)]
enum UserEntry {
    /// A valid hash, and the keyed fingerprint of its text.
    Hash(PasswordHash, u64),
    /// The line was malformed: the user is locked out until it is fixed.
    Locked,
}

/// The key of the hash fingerprints: one per process, so fingerprints from before and after a
/// reload compare.
static FINGERPRINT_KEY: once_cell::sync::Lazy<std::collections::hash_map::RandomState> =
    once_cell::sync::Lazy::new(std::collections::hash_map::RandomState::new);

fn fingerprint(hash: &str) -> u64 {
    use std::hash::BuildHasher;
    FINGERPRINT_KEY.hash_one(hash)
}

/// Users with a hash above the usual cost named in the load warning; the rest are counted.
const MAX_NAMED_COSTLY_USERS: usize = 10;

/// A parsed password file.
#[derive(Clone, Debug, Default)]
pub struct PasswordFile {
    users: HashMap<String, UserEntry>,
    /// What a user without a valid hash is checked against ([`PasswordHash::decoy`]): `None`
    /// when the file has no valid hash or the decoy is turned off.
    decoy: Option<PasswordHash>,
}

impl PasswordFile {
    /// Parses the text of a password file. Problems are returned as `path:line: message`
    /// warnings: a malformed line locks out only its user.
    ///
    /// A comment may hold any bytes. A line that is not UTF-8 locks out its user when the name
    /// is readable, and is ignored otherwise (no client can send such a name).
    ///
    /// Hashes that cost more than usual add one warning at the end, listing their users (see
    /// the module docs); the decoy for users without a hash is built here.
    pub fn parse(path: &Path, bytes: &[u8], salt: SaltEncoding) -> (PasswordFile, Vec<String>) {
        let mut users: HashMap<String, UserEntry> = HashMap::new();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        let mut warnings = Vec::new();
        // Users with a valid hash, in file order (for a deterministic decoy and warning).
        let mut valid: Vec<String> = Vec::new();
        for (lineno, raw) in text::lines(bytes) {
            let where_ = format!("{}:{lineno}", path.display());
            let raw = match raw {
                Line::Text(s) => s,
                Line::NotUtf8(raw) => {
                    let name = raw.split(|&b| b == b':').next().unwrap_or_default();
                    match std::str::from_utf8(name).map(str::trim) {
                        Ok(user) if !user.is_empty() && raw.contains(&b':') => {
                            if !first_line.contains_key(user) {
                                warnings.push(format!(
                                    "{where_}: user '{user}' is locked out: the hash is not UTF-8 text"
                                ));
                                first_line.insert(user.to_string(), lineno);
                                users.insert(user.to_string(), UserEntry::Locked);
                            }
                        }
                        _ => warnings.push(format!(
                            "{where_}: the line is not UTF-8 text, line ignored"
                        )),
                    }
                    continue;
                }
            };
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                warnings.push(format!("{where_}: expected `username:hash`, line ignored"));
                continue;
            };
            if user.is_empty() {
                warnings.push(format!("{where_}: empty username, line ignored"));
                continue;
            }
            if let Some(first) = first_line.get(user) {
                warnings.push(format!(
                    "{where_}: user '{user}' already defined on line {first}; this line is ignored"
                ));
                continue;
            }
            first_line.insert(user.to_string(), lineno);
            let entry = match PasswordHash::parse(hash.trim(), salt) {
                Ok(h) => {
                    valid.push(user.to_string());
                    UserEntry::Hash(h, fingerprint(hash.trim()))
                }
                Err(e) => {
                    warnings.push(format!("{where_}: user '{user}' is locked out: {e}"));
                    UserEntry::Locked
                }
            };
            users.insert(user.to_string(), entry);
        }
        let hash_of = |user: &String| match users.get(user) {
            Some(UserEntry::Hash(h, _)) => Some(h),
            _ => None,
        };
        let costly: Vec<String> = valid
            .iter()
            .filter_map(|u| Some(format!("{u} ({})", hash_of(u)?.above_usual_cost()?)))
            .collect();
        if !costly.is_empty() {
            warnings.push(costly_warning(path, &costly));
        }
        let decoy = most_common_cost(valid.iter().filter_map(hash_of)).map(PasswordHash::decoy);
        (PasswordFile { users, decoy }, warnings)
    }

    /// Turns the decoy check of users without a hash on (the default, after a parse) or off.
    /// Off, an unknown or locked-out user is answered at once, and its answer time tells that
    /// it has no valid hash in this file. Turning it back on without a reparse has no effect.
    pub fn set_unknown_user_decoy(&mut self, on: bool) {
        if !on {
            self.decoy = None;
        }
    }

    /// Checks `password` against the decoy, if any, and forgets the result: what a user without
    /// a hash costs (see the module docs).
    fn spend_like_a_user(&self, password: &[u8]) {
        if let Some(decoy) = &self.decoy {
            std::hint::black_box(decoy.verify(std::hint::black_box(password)));
        }
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: &Path, salt: SaltEncoding) -> Result<(PasswordFile, Vec<String>), String> {
        let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(PasswordFile::parse(path, &bytes, salt))
    }

    /// Returns true if and only if the file has a line for `username` (valid or not).
    pub fn contains(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Returns true if and only if checking `username` is slow ([`PasswordHash::is_slow`]):
    /// its own hash, or for a user without one (unknown, locked out) the decoy it is checked
    /// against.
    pub fn is_slow(&self, username: &str) -> bool {
        match self.users.get(username) {
            Some(UserEntry::Hash(h, _)) => h.is_slow(),
            _ => self.decoy.as_ref().is_some_and(PasswordHash::is_slow),
        }
    }

    /// A fingerprint of `username`'s hash that changes when the hash does (`None`: no such
    /// user, or one locked out). Keyed with a secret drawn at start-up, so it tells nothing
    /// about the hash.
    pub fn fingerprint(&self, username: &str) -> Option<u64> {
        match self.users.get(username) {
            Some(UserEntry::Hash(_, f)) => Some(*f),
            _ => None,
        }
    }

    /// Returns true if and only if there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks a password: `Defer` for an unknown user; `Deny` for a locked one or a mismatch.
    /// (An empty password never gets here: the chain refuses it first.) An unknown or locked
    /// user first costs a check against the decoy, whose result is ignored.
    pub fn check(&self, username: &str, password: &[u8]) -> Decision {
        match self.users.get(username) {
            None => {
                self.spend_like_a_user(password);
                Decision::Defer
            }
            Some(UserEntry::Locked) => {
                self.spend_like_a_user(password);
                Decision::Deny
            }
            Some(UserEntry::Hash(h, _)) => {
                if h.verify(password) {
                    Decision::Allow
                } else {
                    Decision::Deny
                }
            }
        }
    }
}

/// The one warning line about hashes above the usual cost: the users (the first
/// [`MAX_NAMED_COSTLY_USERS`], with the parameter), a count of the rest, what it costs.
fn costly_warning(path: &Path, costly: &[String]) -> String {
    let n = costly.len();
    let mut names = costly[..n.min(MAX_NAMED_COSTLY_USERS)].join(", ");
    if n > MAX_NAMED_COSTLY_USERS {
        names.push_str(&format!(" and {} more", n - MAX_NAMED_COSTLY_USERS));
    }
    let users = if n == 1 {
        "user has a hash"
    } else {
        "users have hashes"
    };
    format!(
        "{}: {n} {users} above the usual cost, and every login attempt with a wrong password \
         costs the broker that much time: {names}",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::SaltEncoding;

    #[test]
    fn malformed_lines_are_reported_with_file_and_line_and_lock_out_only_that_user() {
        let text = "# comment\n\nalice:$7$nonsense\nbob\n:nohash\ncarol:$7$x\ncarol:$7$y\n";
        let (file, warnings) =
            PasswordFile::parse(Path::new("/etc/pw"), text.as_bytes(), SaltEncoding::Auto);
        assert!(
            warnings[0].starts_with("/etc/pw:3: user 'alice' is locked out: "),
            "{warnings:?}"
        );
        assert_eq!(
            warnings[1],
            "/etc/pw:4: expected `username:hash`, line ignored"
        );
        assert_eq!(warnings[2], "/etc/pw:5: empty username, line ignored");
        assert!(
            warnings[4].starts_with("/etc/pw:7: user 'carol' already defined on line 6"),
            "{warnings:?}"
        );
        assert_eq!(file.check("alice", b"x"), Decision::Deny);
        assert_eq!(file.check("nobody", b"x"), Decision::Defer);
        assert!(
            warnings.iter().all(|w| !w.contains("nonsense")),
            "hash text leaked: {warnings:?}"
        );
    }

    #[test]
    fn a_byte_that_is_not_utf8_affects_its_own_line_only() {
        let fast = crate::hash::hash_password(crate::hash::Scheme::Mosquitto7, b"pw");
        let mut bytes = b"# M\xfcller's account\n".to_vec();
        bytes.extend_from_slice(format!("alice:{fast}\n").as_bytes());
        bytes.extend_from_slice(b"bob:$7$\xff\nM\xfcller:x\n");
        bytes.extend_from_slice(format!("carol:{fast}\n").as_bytes());
        let (file, warnings) = PasswordFile::parse(Path::new("pw"), &bytes, SaltEncoding::Auto);
        assert_eq!(
            warnings,
            vec![
                "pw:3: user 'bob' is locked out: the hash is not UTF-8 text".to_string(),
                "pw:4: the line is not UTF-8 text, line ignored".to_string(),
            ]
        );
        assert_eq!(file.check("alice", b"pw"), Decision::Allow);
        assert_eq!(file.check("carol", b"pw"), Decision::Allow);
        assert_eq!(file.check("bob", b"x"), Decision::Deny);
    }
}

#[cfg(test)]
mod cost_tests {
    //! Cost ceilings, the load warning and the decoy for users without a hash.

    use super::*;
    use crate::hash::{hash_password_with, SaltEncoding, Scheme};
    use std::time::{Duration, Instant};

    /// bcrypt strings with a given cost (parse only: never verified, cost 13+ takes seconds).
    fn bcrypt(cost: u32) -> String {
        format!("$2b${cost:02}$Pay4B0xNyk6gt0kyFmqTruGyfOQAl4emJrNlJ95c.7rRnipsO.Xum")
    }

    fn parse(text: &str) -> (PasswordFile, Vec<String>) {
        PasswordFile::parse(Path::new("/etc/pw"), text.as_bytes(), SaltEncoding::Auto)
    }

    #[test]
    fn a_hash_above_the_ceiling_is_a_malformed_line_naming_parameter_and_limit() {
        // Two fast users keep the decoy (what a locked-out alice costs) fast.
        let fast = hash_password_with(Scheme::Mosquitto6, b"pw", None).unwrap();
        let text = format!(
            "alice:{}\nbob:{}\nc:{fast}\nd:{fast}\n",
            bcrypt(17),
            bcrypt(16)
        );
        let (file, warnings) = parse(&text);
        assert_eq!(
            warnings[0],
            "/etc/pw:1: user 'alice' is locked out: bcrypt cost 17 is above the limit of 16"
        );
        assert_eq!(file.check("alice", b"x"), Decision::Deny);
        assert!(file.contains("bob") && file.fingerprint("bob").is_some());
        assert!(file.fingerprint("alice").is_none());
    }

    #[test]
    fn hashes_above_the_usual_cost_give_one_warning_naming_users_never_hashes() {
        let fast = hash_password_with(Scheme::Mosquitto7, b"pw", None).unwrap();
        let text = format!(
            "alice:{}\nbob:{fast}\ncarol:{}\ndave:{}\n",
            bcrypt(13),
            bcrypt(14),
            bcrypt(12)
        );
        let (file, warnings) = parse(&text);
        assert_eq!(
            warnings,
            vec![
                "/etc/pw: 2 users have hashes above the usual cost, and every login attempt \
                 with a wrong password costs the broker that much time: alice (bcrypt cost 13 \
                 > 12), carol (bcrypt cost 14 > 12)"
                    .to_string()
            ]
        );
        assert!(!warnings[0].contains("Pay4B0x"));
        assert_eq!(file.len(), 4);
        // Many users: ten named, the rest counted.
        let text: String = (0..25)
            .map(|i| format!("u{i:02}:{}\n", bcrypt(13)))
            .collect();
        let (_, warnings) = parse(&text);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("/etc/pw: 25 users have hashes above the usual cost"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("u09 (bcrypt cost 13 > 12) and 15 more"));
        assert!(!warnings[0].contains("u10"));
    }

    #[test]
    fn mosquitto_passwd_defaults_load_without_a_warning() {
        // 2.0's `$7$` (101 iterations), 2.1's `$7$` (1,000) and `$6$`, and the test-time
        // `mosquitto_passwd` itself when installed.
        let mut text = String::new();
        for (i, work) in [None, Some(1_000)].into_iter().enumerate() {
            let h = hash_password_with(Scheme::Mosquitto7, b"pw", work).unwrap();
            text.push_str(&format!("m7_{i}:{h}\n"));
        }
        let h = hash_password_with(Scheme::Mosquitto6, b"pw", None).unwrap();
        text.push_str(&format!("m6:{h}\n"));
        let (_, warnings) = parse(&text);
        assert_eq!(warnings, Vec::<String>::new());
    }

    /// The shortest of `n` runs of `f` (the least disturbed by other work on the machine).
    fn fastest(n: usize, mut f: impl FnMut()) -> Duration {
        (0..n)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    }

    #[test]
    fn an_unknown_user_costs_about_what_a_wrong_password_costs_and_still_defers() {
        // 5,000 iterations: a few ms in a debug build, far above the cost of a map lookup.
        let h = |pw: &[u8]| hash_password_with(Scheme::Mosquitto7, pw, Some(5_000)).unwrap();
        let fast = hash_password_with(Scheme::Mosquitto6, b"pw", None).unwrap();
        let text = format!(
            "alice:{}\nbob:{}\ncarol:{}\nfast:{fast}\nlocked:$7$garbage\n",
            h(b"a"),
            h(b"b"),
            h(b"c")
        );
        let (mut file, _) = parse(&text);
        let known = fastest(5, || {
            assert_eq!(file.check("alice", b"wrong"), Decision::Deny)
        });
        let unknown = fastest(5, || {
            assert_eq!(file.check("mallory", b"wrong"), Decision::Defer)
        });
        let locked = fastest(5, || {
            assert_eq!(file.check("locked", b"wrong"), Decision::Deny)
        });
        assert!(
            unknown * 3 >= known && unknown <= known * 3,
            "unknown user {unknown:?}, known user with a wrong password {known:?}"
        );
        assert!(locked * 3 >= known, "locked {locked:?}, known {known:?}");
        // The right password still works; is_slow agrees with what a check costs.
        assert_eq!(file.check("alice", b"a"), Decision::Allow);
        assert!(file.is_slow("alice") && file.is_slow("mallory") && file.is_slow("locked"));
        assert!(!file.is_slow("fast"));
        // Without the decoy, the unknown user is answered at once (the difference the decoy
        // hides), and is no longer slow.
        file.set_unknown_user_decoy(false);
        let bare = fastest(5, || {
            assert_eq!(file.check("mallory", b"wrong"), Decision::Defer)
        });
        assert!(bare * 3 < known, "bare {bare:?}, known {known:?}");
        assert!(!file.is_slow("mallory"));
    }

    #[test]
    fn the_decoy_follows_the_most_common_cost_and_is_no_users_hash() {
        let slow = |pw: &[u8]| hash_password_with(Scheme::Mosquitto7, pw, Some(5_000)).unwrap();
        let fast = |pw: &[u8]| hash_password_with(Scheme::Mosquitto6, pw, None).unwrap();
        // Mostly fast users: the decoy is fast, and an unknown user is not slow.
        let text = format!("a:{}\nb:{}\nc:{}\n", fast(b"pw"), fast(b"pw"), slow(b"pw"));
        let (file, _) = parse(&text);
        assert_eq!(file.decoy.as_ref().map(|d| d.scheme()), Some("sha512-$6$"));
        assert!(!file.is_slow("nobody"));
        // Mostly slow users: the decoy is slow.
        let text = format!("a:{}\nb:{}\nc:{}\n", slow(b"pw"), fast(b"pw"), slow(b"pw"));
        let (file, _) = parse(&text);
        let decoy = file.decoy.as_ref().expect("a decoy");
        assert_eq!(decoy.scheme(), "pbkdf2-sha512-$7$");
        assert!(file.is_slow("nobody"));
        // No user's password opens the decoy, so it cannot be any user's hash.
        assert!(!decoy.verify(b"pw"));
        // No valid hash, no decoy: nothing to imitate.
        let (file, _) = parse("x:$7$garbage\n");
        assert!(file.decoy.is_none());
        assert_eq!(file.check("x", b"pw"), Decision::Deny);
        assert_eq!(file.check("y", b"pw"), Decision::Defer);
    }
}
