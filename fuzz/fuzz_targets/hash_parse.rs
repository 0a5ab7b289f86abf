//! `PasswordHash::parse` on arbitrary strings (every format: `$6$`, `$7$`, `PBKDF2$`,
//! `$pbkdf2-sha512$`, bcrypt, Argon2), then `verify` against fixed and fuzzed passwords.
//!
//! - Parsing never panics; a string over 4096 bytes is refused; `scheme()` fits the prefix;
//!   `Debug` is exactly `PasswordHash(<scheme>, <redacted>)`; an error never quotes a field of
//!   the hash.
//! - The salt encoding only matters for `PBKDF2$` and `$pbkdf2-sha512$`: for every other format
//!   all three parse alike and verify alike. For `PBKDF2$`, `Auto` accepts a password if and
//!   only if `Utf8` or `Base64` does.
//! - `verify` is deterministic (twice, and on a clone); a bcrypt hash never accepts a password
//!   with a NUL byte.
//!
//! Input: the hash string up to the first `\n`; the rest is a candidate password. `verify`
//! runs only when the hash is not slow and no number in it exceeds 1000 (iterations, costs,
//! memory), so a run is never stuck in a key derivation.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mosq_auth::hash::{PasswordHash, SaltEncoding};

const FIXED_PASSWORDS: [&[u8]; 3] = [b"correct horse", b"", b"p\xc3\xa4ss\0"];
const ENCODINGS: [SaltEncoding; 3] = [SaltEncoding::Auto, SaltEncoding::Base64, SaltEncoding::Utf8];

/// The scheme names `parse` may give a string with this prefix.
fn schemes_for(s: &str) -> &'static [&'static str] {
    if s.starts_with("$6$") {
        &["sha512-$6$"]
    } else if s.starts_with("$7$") {
        &["pbkdf2-sha512-$7$"]
    } else if s.starts_with("PBKDF2$") {
        &["pbkdf2-auth-plug", "pbkdf2-go-auth", "pbkdf2-auth-plug-or-go-auth"]
    } else if s.starts_with("$pbkdf2-sha512$") {
        &["pbkdf2-sha512-phc"]
    } else if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
        &["bcrypt"]
    } else if s.starts_with("$argon2id$") {
        &["argon2id"]
    } else if s.starts_with("$argon2i$") {
        &["argon2i"]
    } else if s.starts_with("$argon2d$") {
        &["argon2d"]
    } else if s.starts_with("$argon2") {
        &["argon2id", "argon2i", "argon2d"]
    } else {
        &[]
    }
}

/// True when every run of digits in `s` is at most 1000 (cheap enough to verify often).
fn small_numbers(s: &str) -> bool {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|d| !d.is_empty())
        .all(|d| d.len() <= 4 && d.parse::<u32>().is_ok_and(|n| n <= 1000))
}

/// Fields of the hash distinctive enough that an error message containing one quotes the hash.
/// The format's own prefix fields (`$pbkdf2-sha512$`, `PBKDF2$sha256$`) are left out: error
/// messages name the format.
fn distinctive_fields(s: &str) -> Vec<&str> {
    let skip = if s.starts_with('$') { 2 } else { 2.min(s.matches('$').count()) };
    s.split('$')
        .skip(skip)
        .flat_map(|f| f.split([',', '=']))
        .filter(|f| {
            f.len() >= 10
                && f.bytes().any(|b| b.is_ascii_digit())
                && f.bytes().any(|b| b.is_ascii_alphabetic())
        })
        .collect()
}

fn verify_all(h: &PasswordHash, passwords: &[&[u8]]) -> Vec<bool> {
    passwords.iter().map(|p| h.verify(p)).collect()
}

fuzz_target!(|data: &[u8]| {
    let (hash, password) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"correct horse"[..]),
    };
    let Ok(s) = std::str::from_utf8(hash) else {
        return;
    };
    let mut passwords: Vec<&[u8]> = FIXED_PASSWORDS.to_vec();
    passwords.push(password);

    let cheap = small_numbers(s) || s.starts_with("$6$");
    let mut parsed: Vec<Option<PasswordHash>> = Vec::new();
    for enc in ENCODINGS {
        match PasswordHash::parse(s, enc) {
            Ok(h) => {
                assert!(s.len() <= 4096, "a hash over 4096 bytes parsed");
                let scheme = h.scheme();
                assert!(
                    schemes_for(s).contains(&scheme),
                    "scheme {scheme} for a hash starting {:?}",
                    &s[..s.len().min(16)]
                );
                assert_eq!(format!("{h:?}"), format!("PasswordHash({scheme}, <redacted>)"));
                parsed.push(Some(h));
            }
            Err(e) => {
                for f in distinctive_fields(s) {
                    if e.0.contains(f) {
                        // Unless the message's own text holds it (masked, it is still there).
                        let masked = s.replace(f, &"Q".repeat(f.len()));
                        let again = PasswordHash::parse(&masked, enc).err().map(|e| e.0);
                        assert!(
                            again.is_some_and(|m| m.contains(f)),
                            "error {:?} quotes the hash field {f:?}",
                            e.0
                        );
                    }
                }
                parsed.push(None);
            }
        }
    }

    let salt_matters = s.starts_with("PBKDF2$") || s.starts_with("$pbkdf2-sha512$");
    if !salt_matters {
        assert!(
            parsed.iter().all(|p| p.is_some() == parsed[0].is_some()),
            "salt encoding changed whether {:?}... parses",
            &s[..s.len().min(16)]
        );
    }

    let verifiable = |h: &PasswordHash| cheap && !h.is_slow();
    let results: Vec<Option<Vec<bool>>> = parsed
        .iter()
        .map(|p| {
            p.as_ref().filter(|h| verifiable(h)).map(|h| {
                let first = verify_all(h, &passwords);
                assert_eq!(first, verify_all(&h.clone(), &passwords), "verify is not deterministic");
                if h.scheme() == "bcrypt" {
                    for (p, ok) in passwords.iter().zip(&first) {
                        assert!(!(*ok && p.contains(&0)), "bcrypt accepted a password with NUL");
                    }
                }
                first
            })
        })
        .collect();

    if !salt_matters {
        if let (Some(a), Some(b), Some(c)) = (&results[0], &results[1], &results[2]) {
            assert!(a == b && b == c, "salt encoding changed a verify: {a:?} {b:?} {c:?}");
        }
    }
    if s.starts_with("PBKDF2$") {
        if let (Some(auto), Some(utf8)) = (&results[0], &results[2]) {
            for i in 0..passwords.len() {
                let b64 = results[1].as_ref().is_some_and(|b| b[i]);
                assert_eq!(auto[i], utf8[i] || b64, "Auto is not Utf8-or-Base64 for password {i}");
            }
        }
    }
});
