//! The password file: `user:hash` lines, every hash parsed at load time.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::hash::{PasswordHash, SaltEncoding};
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

/// A parsed password file.
#[derive(Clone, Debug, Default)]
pub struct PasswordFile {
    users: HashMap<String, UserEntry>,
}

impl PasswordFile {
    /// Parses the text of a password file. Problems are returned as `path:line: message`
    /// warnings: a malformed line locks out only its user.
    ///
    /// A comment may hold any bytes. A line that is not UTF-8 locks out its user when the name
    /// is readable, and is ignored otherwise (no client can send such a name).
    pub fn parse(path: &Path, bytes: &[u8], salt: SaltEncoding) -> (PasswordFile, Vec<String>) {
        let mut users: HashMap<String, UserEntry> = HashMap::new();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        let mut warnings = Vec::new();
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
                Ok(h) => UserEntry::Hash(h, fingerprint(hash.trim())),
                Err(e) => {
                    warnings.push(format!("{where_}: user '{user}' is locked out: {e}"));
                    UserEntry::Locked
                }
            };
            users.insert(user.to_string(), entry);
        }
        (PasswordFile { users }, warnings)
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

    /// Returns true if and only if `username` has a hash that is slow to verify
    /// ([`PasswordHash::is_slow`]).
    pub fn is_slow(&self, username: &str) -> bool {
        matches!(self.users.get(username), Some(UserEntry::Hash(h, _)) if h.is_slow())
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
    /// (An empty password never gets here: the chain refuses it first.)
    pub fn check(&self, username: &str, password: &[u8]) -> Decision {
        match self.users.get(username) {
            None => Decision::Defer,
            Some(UserEntry::Locked) => Decision::Deny,
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
