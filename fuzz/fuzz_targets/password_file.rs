//! `PasswordFile::parse` on arbitrary bytes (one line of `mosquitto_passwd` output up to a whole
//! file), against a reference of which names it must hold.
//!
//! - Parsing never panics; every warning starts with `path:line:`.
//! - The users are exactly the names of the non-comment `user:hash` lines (first one wins), as
//!   the format says; a line that is not UTF-8 locks out its user when the name is readable.
//! - A user without a fingerprint (locked out) is denied any password.
//! - Appending `fz-user:<hash of a known password>` adds exactly that user, who is allowed with
//!   the password and denied with another; the other users answer as before.
//! - A hash is never quoted in a warning: a locked-out line whose hash carries a marker never
//!   shows the marker.
//!
//! Input: the file. Verification runs only for users whose hash is fast (`is_slow` false).

#![no_main]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mosq_auth::backend::files::PasswordFile;
use mosq_auth::hash::{hash_password_with, SaltEncoding, Scheme};
use mosq_auth::request::Decision;

const PATH: &str = "fuzz.passwd";
const FRESH_USER: &str = "fz-user";
const FRESH_PASSWORD: &[u8] = b"fz-password";
const MARKER: &str = "Qz7LEAKQz7";

/// A `$7$` hash of [`FRESH_PASSWORD`] with one iteration (made once per process).
fn fresh_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password_with(Scheme::Mosquitto7, FRESH_PASSWORD, Some(1)).unwrap())
}

/// The names the file must hold, from the format's rules.
fn expected_users(data: &[u8]) -> BTreeSet<String> {
    let data = data.strip_prefix(b"\xef\xbb\xbf").unwrap_or(data);
    let mut users = BTreeSet::new();
    for raw in data.split(|&b| b == b'\n') {
        match std::str::from_utf8(raw) {
            Ok(s) => {
                let line = s.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Some((user, _)) = line.split_once(':') {
                    if !user.is_empty() {
                        users.insert(user.to_string());
                    }
                }
            }
            Err(_) => {
                let first = raw.iter().position(|b| !b.is_ascii_whitespace());
                if first.is_none_or(|i| raw[i] == b'#') {
                    continue; // a comment or blank line may hold any bytes
                }
                let name = raw.split(|&b| b == b':').next().unwrap_or_default();
                if let Ok(user) = std::str::from_utf8(name).map(str::trim) {
                    if !user.is_empty() && raw.contains(&b':') {
                        users.insert(user.to_string());
                    }
                }
            }
        }
    }
    users
}

fn salt_encoding(data: &[u8]) -> SaltEncoding {
    match data.len() % 3 {
        0 => SaltEncoding::Auto,
        1 => SaltEncoding::Base64,
        _ => SaltEncoding::Utf8,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > 8192 {
        return;
    }
    let path = Path::new(PATH);
    let salt = salt_encoding(data);
    let (file, warnings) = PasswordFile::parse(path, data, salt);
    for w in &warnings {
        assert!(w.starts_with(&format!("{PATH}:")), "warning {w:?}");
    }

    let want = expected_users(data);
    assert_eq!(file.len(), want.len(), "users: want {want:?}");
    assert_eq!(file.is_empty(), want.is_empty());
    for u in &want {
        assert!(file.contains(u), "user {u:?} missing");
    }

    // Answers of a few users, for comparison after the append.
    let mut answers = Vec::new();
    for u in want.iter().take(4) {
        let locked = file.fingerprint(u).is_none();
        if locked {
            assert!(!file.is_slow(u), "a locked user is slow: {u:?}");
            assert_eq!(file.check(u, b"x"), Decision::Deny, "locked {u:?} not denied");
            answers.push((u.clone(), Decision::Deny));
        } else if !file.is_slow(u) {
            let d = file.check(u, FRESH_PASSWORD);
            assert_ne!(d, Decision::Defer, "known user {u:?} deferred");
            answers.push((u.clone(), d));
        }
    }
    assert_eq!(file.check("\u{0}not-a-user", b"x"), Decision::Defer);

    // Append a known user (and a locked-out line carrying a marker in its hash).
    let mut more = data.to_vec();
    let leak_prefix = ["$7$101$", "$6$", "PBKDF2$sha256$901$", "$2b$04$", "$argon2id$v=19$", "x"]
        [data.len() % 6];
    more.extend_from_slice(
        format!("\n{FRESH_USER}:{}\nfz-leak:{leak_prefix}{MARKER}$AAAA\n", fresh_hash()).as_bytes(),
    );
    let (file2, warnings2) = PasswordFile::parse(path, &more, salt);
    if !want.contains(FRESH_USER) {
        assert_eq!(file2.check(FRESH_USER, FRESH_PASSWORD), Decision::Allow);
        assert_eq!(file2.check(FRESH_USER, b"fz-passwore"), Decision::Deny);
        assert_eq!(file2.check(FRESH_USER, b""), Decision::Deny);
        assert!(file2.fingerprint(FRESH_USER).is_some());
    }
    let added = [FRESH_USER, "fz-leak"].iter().filter(|u| !want.contains(**u)).count();
    assert_eq!(file2.len(), want.len() + added);
    if !want.contains("fz-leak") {
        assert_eq!(file2.check("fz-leak", b"x"), Decision::Deny);
    }
    for (u, d) in &answers {
        let pw: &[u8] = if *d == Decision::Deny && file.fingerprint(u).is_none() {
            b"x"
        } else {
            FRESH_PASSWORD
        };
        assert_eq!(file2.check(u, pw), *d, "user {u:?} changed by appending lines");
    }
    if !data.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
        for w in &warnings2 {
            assert!(!w.contains(MARKER), "a warning quotes a hash: {w:?}");
        }
    }
});
