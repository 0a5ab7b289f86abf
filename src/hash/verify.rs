//! Checking a password against a parsed hash: derive, then compare in constant time.

use argon2::Argon2;
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{Inner, PasswordHash};

impl PasswordHash {
    /// Returns true if and only if `password` matches, comparing derived bytes in constant time.
    ///
    /// The password is any byte string (MQTT passwords are binary). Notes per format:
    /// - `PBKDF2$` with [`SaltEncoding::Auto`] may run PBKDF2 twice (text salt, then decoded).
    /// - All PBKDF2 formats inherit a property of HMAC, shared by every implementation
    ///   (OpenSSL, Python, Go): the password is the HMAC key, and keys are zero-padded, so
    ///   `password` and `password` followed by NUL bytes give the same key and both match.
    /// - bcrypt only looks at the first 72 bytes of `password || NUL`, as every bcrypt does; a
    ///   longer password matches if its first 72 bytes do. A password containing a NUL byte
    ///   never matches: C `crypt()` would cut it at the NUL (so `abc\0xyz` would pass for
    ///   `abc`), and treating NUL as data instead lets bcrypt's cyclic key schedule accept
    ///   `abc\0abc` for `abc`. No C or Python tool can hash such a password anyway; only hashes
    ///   that Go's `x/crypto/bcrypt` made from passwords with NUL bytes are given up.
    /// - Argon2 allocates the hash's memory cost for the duration of the call.
    ///
    /// [`SaltEncoding::Auto`]: super::SaltEncoding::Auto
    pub fn verify(&self, password: &[u8]) -> bool {
        match &self.inner {
            Inner::Sha512Salted { salt, digest } => {
                let mut h = Sha512::new();
                h.update(password);
                h.update(salt);
                bool::from(h.finalize().as_slice().ct_eq(digest.as_slice()))
            }
            Inner::Pbkdf2 {
                prf,
                iterations,
                salts,
                key,
                ..
            } => {
                let mut out = Zeroizing::new(vec![0u8; key.len()]);
                for salt in salts {
                    prf.derive(password, salt, *iterations, &mut out);
                    if bool::from(out.as_slice().ct_eq(key.as_slice())) {
                        return true;
                    }
                }
                false
            }
            Inner::Bcrypt { cost, salt, hash } => {
                if password.contains(&0) {
                    return false;
                }
                let mut input = Zeroizing::new(Vec::with_capacity(password.len().min(72) + 1));
                input.extend_from_slice(&password[..password.len().min(72)]);
                input.push(0);
                input.truncate(72);
                // `input` is 1..=72 bytes and `cost` is 4..=20, the preconditions of `bcrypt`.
                let out = Zeroizing::new(bcrypt::bcrypt(*cost, *salt, &input));
                bool::from(out[..23].ct_eq(hash.as_slice()))
            }
            Inner::Argon2 {
                algorithm,
                version,
                params,
                salt,
                hash,
            } => {
                let argon = Argon2::new(*algorithm, *version, params.clone());
                let mut out = Zeroizing::new(vec![0u8; hash.len()]);
                match argon.hash_password_into(password, salt, &mut out) {
                    Ok(()) => bool::from(out.as_slice().ct_eq(hash.as_slice())),
                    Err(_) => false,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_vectors::*;
    use super::super::*;

    /// One `#[test]` per row: hash, salt encoding, password, expected result, expected scheme.
    macro_rules! verify_cases {
        ($($name:ident: $hash:expr, $enc:expr, $pw:expr => $ok:expr, $scheme:expr;)*) => {$(
            #[test]
            fn $name() {
                let h = PasswordHash::parse($hash, $enc).unwrap();
                assert_eq!(h.scheme(), $scheme);
                assert_eq!(h.verify($pw), $ok);
            }
        )*};
    }

    verify_cases! {
        m6_user01: M6_USER01, AUTO, b"user01-pass" => true, "sha512-$6$";
        m6_user02: M6_USER02, AUTO, b"user02-pass" => true, "sha512-$6$";
        m6_user01_other: M6_USER01, AUTO, b"user02-pass" => false, "sha512-$6$";
        m6_dave: M6_DAVE, AUTO, b"dave-pass" => true, "sha512-$6$";
        m6_erin: M6_ERIN, AUTO, "ünïcode pass".as_bytes() => true, "sha512-$6$";
        m7_alice: M7_ALICE, AUTO, b"correct horse" => true, "pbkdf2-sha512-$7$";
        m7_alice_base64_enc: M7_ALICE, B64, b"correct horse" => true, "pbkdf2-sha512-$7$";
        m7_alice_utf8_enc: M7_ALICE, UTF8, b"correct horse" => true, "pbkdf2-sha512-$7$";
        m7_alice_wrong: M7_ALICE, AUTO, b"correct horse " => false, "pbkdf2-sha512-$7$";
        m7_bob: M7_BOB, AUTO, "p@ss:wörd".as_bytes() => true, "pbkdf2-sha512-$7$";
        m7_carol: M7_CAROL, AUTO, b"x" => true, "pbkdf2-sha512-$7$";
        m7_carol_empty: M7_CAROL, AUTO, b"" => false, "pbkdf2-sha512-$7$";
        m7_21_salt64: M7_21, AUTO, b"mosquitto-2.1" => true, "pbkdf2-sha512-$7$";
        ap_sha256_auto: AP_SHA256, AUTO, b"secret" => true, "pbkdf2-auth-plug-or-go-auth";
        ap_sha256_utf8: AP_SHA256, UTF8, b"secret" => true, "pbkdf2-auth-plug";
        ap_sha256_base64: AP_SHA256, B64, b"secret" => false, "pbkdf2-go-auth";
        ap_sha1_auto: AP_SHA1, AUTO, b"auth-plug sha1" => true, "pbkdf2-auth-plug-or-go-auth";
        ap_sha1_utf8: AP_SHA1, UTF8, b"auth-plug sha1" => true, "pbkdf2-auth-plug";
        ap_sha1_base64: AP_SHA1, B64, b"auth-plug sha1" => false, "pbkdf2-go-auth";
        ap_sha512_utf8: AP_SHA512, UTF8, "päss".as_bytes() => true, "pbkdf2-auth-plug";
        ap_sha512_latin1: AP_SHA512, UTF8, b"p\xe4ss" => false, "pbkdf2-auth-plug";
        ap_not_b64_auto: AP_NOT_B64, AUTO, b"text salt" => true, "pbkdf2-auth-plug";
        ap_not_b64_utf8: AP_NOT_B64, UTF8, b"text salt" => true, "pbkdf2-auth-plug";
        ga_sha512_auto: GA_SHA512, AUTO, b"go-auth pass" => true, "pbkdf2-auth-plug-or-go-auth";
        ga_sha512_base64: GA_SHA512, B64, b"go-auth pass" => true, "pbkdf2-go-auth";
        ga_sha512_utf8: GA_SHA512, UTF8, b"go-auth pass" => false, "pbkdf2-auth-plug";
        ga_sha256_auto: GA_SHA256, AUTO, b"hunter2" => true, "pbkdf2-auth-plug-or-go-auth";
        ga_sha256_base64: GA_SHA256, B64, b"hunter2" => true, "pbkdf2-go-auth";
        ga_sha256_utf8: GA_SHA256, UTF8, b"hunter2" => false, "pbkdf2-auth-plug";
        ga_key64: GA_KEY64, B64, b"pw" => true, "pbkdf2-go-auth";
        ga_key64_wrong: GA_KEY64, AUTO, b"pW" => false, "pbkdf2-auth-plug-or-go-auth";
        phc: PHC, AUTO, b"phc pass" => true, "pbkdf2-sha512-phc";
        phc_base64: PHC, B64, b"phc pass" => true, "pbkdf2-sha512-phc";
        phc_dot: PHC_DOT, AUTO, b"phc pass" => true, "pbkdf2-sha512-phc";
        phc_dot2: PHC_DOT2, AUTO, b"dot pass" => true, "pbkdf2-sha512-phc";
        phc_dot2_wrong: PHC_DOT2, AUTO, b"dot pas" => false, "pbkdf2-sha512-phc";
        phc_utf8: PHC_UTF8, UTF8, b"utf8 phc" => true, "pbkdf2-sha512-phc";
        bc_2b: BC_2B, AUTO, b"bcrypt pass" => true, "bcrypt";
        bc_2a: BC_2A, AUTO, b"bcrypt pass" => true, "bcrypt";
        bc_2y: BC_2Y, AUTO, b"bcrypt pass" => true, "bcrypt";
        bc_2b_wrong: BC_2B, AUTO, b"bcrypt pas" => false, "bcrypt";
        bc_2b_nul_suffix: BC_2B, AUTO, b"bcrypt pass\0" => false, "bcrypt";
        bc_2b_nul_inside: BC_2B, AUTO, b"bcrypt pass\0more" => false, "bcrypt";
        bc_bin: BC_BIN, AUTO, b"\xff\xfe binary" => true, "bcrypt";
        bc_openwall: BC_OPENWALL, AUTO, b"U*U" => true, "bcrypt";
        bc_openwall_wrong: BC_OPENWALL, AUTO, b"U*V" => false, "bcrypt";
        a2id_goauth: A2ID_GOAUTH, AUTO, b"argon pass" => true, "argon2id";
        a2id_small: A2ID_SMALL, AUTO, b"small" => true, "argon2id";
        a2id_small_wrong: A2ID_SMALL, AUTO, b"Small" => false, "argon2id";
        a2d: A2D, AUTO, b"dpass" => true, "argon2d";
        a2i_reference: A2I_REFERENCE, AUTO, b"password" => true, "argon2i";
        a2id_v16: A2ID_V16, AUTO, b"old version" => true, "argon2id";
        a2id_no_version_is_v16: &A2ID_V16.replace("v=16$", ""), AUTO, b"old version" => true, "argon2id";
        a2id_v19_without_v_fails: &A2ID_V19.replace("v=19$", ""), AUTO, b"old version" => false, "argon2id";
        a2id_v19: A2ID_V19, AUTO, b"old version" => true, "argon2id";
    }

    #[test]
    fn wrong_empty_and_binary_passwords_fail() {
        for (hash, pw) in VALID {
            let h = PasswordHash::parse(hash, AUTO).unwrap();
            assert!(h.verify(pw), "{}", h.scheme());
            let mut longer = pw.to_vec();
            longer.push(b'x');
            let mut nul_x = pw.to_vec();
            nul_x.extend_from_slice(b"\0x");
            for bad in [
                &b""[..],
                &b"\0"[..],
                &b"\xff\xfe\xfd\x80"[..],
                &pw[..pw.len() - 1],
                &longer,
                &nul_x,
            ] {
                assert!(!h.verify(bad), "{} accepted {bad:?}", h.scheme());
            }
        }
    }

    #[test]
    fn bcrypt_truncates_at_72_bytes() {
        let long = [b'a'; 100];
        let h = hash_password_with(Scheme::Bcrypt, &long, Some(4)).unwrap();
        let h = PasswordHash::parse(&h, AUTO).unwrap();
        assert!(h.verify(&long));
        assert!(h.verify(&long[..72]));
        assert!(!h.verify(&long[..71]));
        // 200 bytes: longer than any length field could wrap, no panic.
        assert!(h.verify(&[b'a'; 200]));
    }

    #[test]
    fn nul_bytes() {
        // bcrypt: NUL never matches, also where the key schedule would make it equal.
        let s = hash_password_with(Scheme::Bcrypt, b"ab", Some(4)).unwrap();
        let h = PasswordHash::parse(&s, AUTO).unwrap();
        assert!(h.verify(b"ab"));
        for bad in [&b"ab\0"[..], b"ab\0ab", b"ab\0ab\0ab", b"ab\0xyz", b"\0ab"] {
            assert!(!h.verify(bad), "{bad:?}");
        }
        // PBKDF2 (HMAC key padding): trailing NULs are equivalent, inner ones are not.
        let h = PasswordHash::parse(M7_ALICE, AUTO).unwrap();
        assert!(h.verify(b"correct horse\0\0"));
        assert!(!h.verify(b"correct\0horse"));
        assert!(!h.verify(b"\0correct horse"));
        // $6$ and Argon2 hash the password length in: no equivalence.
        assert!(!PasswordHash::parse(M6_USER01, AUTO)
            .unwrap()
            .verify(b"user01-pass\0"));
        assert!(!PasswordHash::parse(A2ID_SMALL, AUTO)
            .unwrap()
            .verify(b"small\0"));
    }

    /// Runs `mosquitto_passwd` (package mosquitto) and verifies what it writes.
    #[test]
    fn mosquitto_passwd_at_test_time() {
        use std::process::Command;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("passwd");
        let users: [(&str, &str, &[&str]); 3] = [
            ("u7", "fresh $7$ pässword", &[]),
            ("u6", "fresh $6$ password", &["-H", "sha512"]),
            ("u7b", "x", &["-H", "sha512-pbkdf2"]),
        ];
        for (i, (user, pw, opts)) in users.iter().enumerate() {
            let mut cmd = Command::new("mosquitto_passwd");
            cmd.args(*opts);
            if i == 0 {
                cmd.arg("-c");
            }
            cmd.arg("-b").arg(&file).arg(user).arg(pw);
            let out = cmd.output().unwrap_or_else(|e| {
                panic!(
                    "cannot run mosquitto_passwd ({e}); install it with \
                     `apt-get install mosquitto` (`make test` does)"
                )
            });
            assert!(out.status.success(), "mosquitto_passwd failed: {out:?}");
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let mut seen = 0;
        for line in text.lines() {
            let (user, hash) = line.split_once(':').unwrap();
            let (_, pw, _) = users.iter().find(|(u, _, _)| *u == user).unwrap();
            let h = PasswordHash::parse(hash, AUTO).unwrap();
            assert!(h.verify(pw.as_bytes()), "{user}");
            assert!(!h.verify(b"wrong"), "{user}");
            let want = if user == "u6" {
                "sha512-$6$"
            } else {
                "pbkdf2-sha512-$7$"
            };
            assert_eq!(h.scheme(), want);
            seen += 1;
        }
        assert_eq!(seen, users.len());
    }
}
