//! Every scheme of `mosq_auth::hash` round-trips: a hash generated for a random password parses
//! (with `Auto` and with the scheme's own salt encoding), verifies that password, and refuses
//! the same password with one byte changed. Work factors are kept tiny (PBKDF2 1 to 64
//! iterations, bcrypt cost 4, Argon2 `t=1`) so that the fuzzer explores passwords, not CPU time.
//!
//! Input: byte 0 picks the scheme, byte 1 the work factor and the byte to change, the rest is
//! the password.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mosq_auth::hash::{hash_password_with, PasswordHash, SaltEncoding, Scheme};

fuzz_target!(|data: &[u8]| {
    let [pick, work, password @ ..] = data else {
        return;
    };
    if password.len() > 512 {
        return;
    }
    // Argon2 (4 MiB per hash) one time in sixteen.
    let (scheme, work, own) = match pick % 16 {
        0..=2 => (Scheme::Mosquitto7, Some(u32::from(work % 64) + 1), SaltEncoding::Auto),
        3..=5 => (Scheme::Mosquitto6, None, SaltEncoding::Auto),
        6..=8 => (Scheme::Pbkdf2AuthPlug, Some(u32::from(work % 64) + 1), SaltEncoding::Utf8),
        9..=11 => (Scheme::Pbkdf2GoAuth, Some(u32::from(work % 64) + 1), SaltEncoding::Base64),
        12..=14 => (Scheme::Bcrypt, Some(4), SaltEncoding::Auto),
        _ => (Scheme::Argon2id, Some(1), SaltEncoding::Auto),
    };

    let s = match hash_password_with(scheme, password, work) {
        Ok(s) => s,
        Err(e) => {
            assert!(
                scheme == Scheme::Bcrypt && password.contains(&0),
                "{scheme:?} refused to hash a password of {} bytes: {e}",
                password.len()
            );
            return;
        }
    };
    assert!(
        !(scheme == Scheme::Bcrypt && password.contains(&0)),
        "bcrypt hashed a password with a NUL byte"
    );

    // The same password with one byte changed (within bcrypt's 72 bytes), or a non-empty one.
    let other: Vec<u8> = if password.is_empty() {
        b"x".to_vec()
    } else {
        let mut o = password.to_vec();
        let i = usize::from(data[1]) % password.len().min(72);
        o[i] ^= 1 << (data[0] >> 5);
        o
    };

    for enc in [SaltEncoding::Auto, own] {
        let h = match PasswordHash::parse(&s, enc) {
            Ok(h) => h,
            Err(e) => panic!("{scheme:?} hash does not parse with {enc:?}: {e}"),
        };
        assert_eq!(format!("{h:?}"), format!("PasswordHash({}, <redacted>)", h.scheme()));
        assert_eq!(h.is_slow(), scheme == Scheme::Argon2id, "is_slow of {scheme:?} {work:?}");
        assert!(h.verify(password), "{scheme:?} ({enc:?}) refuses its own password");
        assert!(!h.verify(&other), "{scheme:?} ({enc:?}) accepts a changed password");
        if scheme == Scheme::Bcrypt && password.len() > 72 {
            assert!(h.verify(&password[..72]), "bcrypt: the first 72 bytes should match");
        }
    }
    if scheme == Scheme::Pbkdf2AuthPlug {
        // auth-plug's salt is text that happens to be base64: decoded, it is another salt.
        let h = PasswordHash::parse(&s, SaltEncoding::Base64).expect("base64 salt");
        assert!(!h.verify(password), "auth-plug hash verified with the decoded salt");
    }
});
