//! Making new hashes, for `mosq-auth passwd`: each scheme with the defaults of the tool it
//! imitates and a fresh random salt.

use std::fmt;
use std::str::FromStr;

use argon2::{Algorithm as Argon2Algorithm, Argon2, Params as Argon2Params, Version};
use base64::engine::GeneralPurpose;
use base64::Engine as _;
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::parse::check_iterations;
use super::{HashError, Prf, MAX_ARGON2_TIME_COST, MAX_BCRYPT_COST};

/// Standard alphabet, always padded output (mosquitto, auth-plug and go-auth `PBKDF2$` write this).
const B64_STD_PAD: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Standard alphabet without padding (PHC strings).
const B64_STD_NOPAD: GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// A hash scheme for [`hash_password`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scheme {
    /// mosquitto 2.0 `$7$`: PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt, 64-byte key,
    /// exactly what `mosquitto_passwd` 2.0 writes (2.0 brokers reject 64-byte salts).
    #[default]
    Mosquitto7,
    /// mosquitto 1.6 `$6$`: SHA-512(password ‖ salt), 12-byte salt. Weak; for old brokers only.
    Mosquitto6,
    /// auth-plug `PBKDF2$sha256$901$<salt>$<key>`: a 12-byte random salt written as 16
    /// base64 characters that are used as text, 24-byte key (the defaults of auth-plug's `np`).
    Pbkdf2AuthPlug,
    /// go-auth `PBKDF2$sha512$100000$<salt>$<key>`: 16-byte salt stored as base64 and used
    /// decoded, 64-byte key.
    Pbkdf2GoAuth,
    /// bcrypt `$2b$`, cost 10 (go-auth's default).
    Bcrypt,
    /// `$argon2id$v=19$m=4096,t=3,p=2$...`: 16-byte salt, 32-byte hash (go-auth's defaults).
    Argon2id,
}

impl Scheme {
    /// The canonical name accepted by [`FromStr`].
    pub fn name(self) -> &'static str {
        match self {
            Scheme::Mosquitto7 => "7",
            Scheme::Mosquitto6 => "6",
            Scheme::Pbkdf2AuthPlug => "auth-plug",
            Scheme::Pbkdf2GoAuth => "go-auth",
            Scheme::Bcrypt => "bcrypt",
            Scheme::Argon2id => "argon2id",
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scheme {
    type Err = HashError;

    /// Accepts `7`, `mosquitto`, `$7$`, `6`, `$6$`, `auth-plug`, `pbkdf2`, `go-auth`, `bcrypt`
    /// and `argon2id` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Scheme, HashError> {
        match s.to_ascii_lowercase().as_str() {
            "7" | "mosquitto" | "$7$" => Ok(Scheme::Mosquitto7),
            "6" | "$6$" => Ok(Scheme::Mosquitto6),
            "auth-plug" | "pbkdf2" => Ok(Scheme::Pbkdf2AuthPlug),
            "go-auth" => Ok(Scheme::Pbkdf2GoAuth),
            "bcrypt" => Ok(Scheme::Bcrypt),
            "argon2id" => Ok(Scheme::Argon2id),
            _ => Err(HashError::new(
                "unknown hash scheme (expected 7, 6, auth-plug, go-auth, bcrypt or argon2id)",
            )),
        }
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], HashError> {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf)
        .map_err(|e| HashError(format!("cannot get random bytes for the salt: {e}")))?;
    Ok(buf)
}

/// Hashes `password` with `scheme`'s defaults and a fresh random salt.
///
/// The result parses with [`PasswordHash::parse`] (with [`SaltEncoding::Auto`], and with the
/// scheme's own encoding) and verifies `password`. See [`hash_password_with`] for a fallible
/// variant that can also set the work factor.
///
/// # Panics
///
/// If the operating system's random number generator fails (a salt is never made up), or for
/// [`Scheme::Bcrypt`] if `password` contains a NUL byte (see [`PasswordHash::verify`]). Use
/// [`hash_password_with`] to get an error instead.
///
/// [`PasswordHash::parse`]: super::PasswordHash::parse
/// [`PasswordHash::verify`]: super::PasswordHash::verify
/// [`SaltEncoding::Auto`]: super::SaltEncoding::Auto
pub fn hash_password(scheme: Scheme, password: &[u8]) -> String {
    match hash_password_with(scheme, password, None) {
        Ok(s) => s,
        Err(e) => panic!("hash_password: {e}"),
    }
}

/// Like [`hash_password`], with an optional work factor instead of the default: PBKDF2
/// iterations for `$7$`, auth-plug and go-auth, the cost for bcrypt, the time cost `t` for
/// Argon2id. `$6$` has no work factor (`Some(_)` is an error). Values outside what
/// [`PasswordHash::parse`] accepts are an error, and so is a bcrypt password with a NUL byte.
///
/// [`PasswordHash::parse`]: super::PasswordHash::parse
pub fn hash_password_with(
    scheme: Scheme,
    password: &[u8],
    work: Option<u32>,
) -> Result<String, HashError> {
    match scheme {
        Scheme::Mosquitto6 => {
            if work.is_some() {
                return Err(HashError::new("$6$ has no iteration count"));
            }
            let salt = random_bytes::<12>()?;
            let digest = Zeroizing::new(
                Sha512::new()
                    .chain_update(password)
                    .chain_update(salt)
                    .finalize()
                    .to_vec(),
            );
            Ok(format!(
                "$6${}${}",
                B64_STD_PAD.encode(salt),
                B64_STD_PAD.encode(digest.as_slice())
            ))
        }
        Scheme::Mosquitto7 => {
            let iterations = work.unwrap_or(101);
            check_iterations(iterations)?;
            let salt = random_bytes::<12>()?;
            let mut key = Zeroizing::new([0u8; 64]);
            Prf::Sha512.derive(password, &salt, iterations, key.as_mut_slice());
            Ok(format!(
                "$7${iterations}${}${}",
                B64_STD_PAD.encode(salt),
                B64_STD_PAD.encode(key.as_slice())
            ))
        }
        Scheme::Pbkdf2AuthPlug => {
            let iterations = work.unwrap_or(901);
            check_iterations(iterations)?;
            let salt = B64_STD_PAD.encode(random_bytes::<12>()?);
            let mut key = Zeroizing::new([0u8; 24]);
            Prf::Sha256.derive(password, salt.as_bytes(), iterations, key.as_mut_slice());
            Ok(format!(
                "PBKDF2$sha256${iterations}${salt}${}",
                B64_STD_PAD.encode(key.as_slice())
            ))
        }
        Scheme::Pbkdf2GoAuth => {
            let iterations = work.unwrap_or(100_000);
            check_iterations(iterations)?;
            let salt = random_bytes::<16>()?;
            let mut key = Zeroizing::new([0u8; 64]);
            Prf::Sha512.derive(password, &salt, iterations, key.as_mut_slice());
            Ok(format!(
                "PBKDF2$sha512${iterations}${}${}",
                B64_STD_PAD.encode(salt),
                B64_STD_PAD.encode(key.as_slice())
            ))
        }
        Scheme::Bcrypt => {
            let cost = work.unwrap_or(10);
            if !(4..=MAX_BCRYPT_COST).contains(&cost) {
                return Err(HashError(format!(
                    "bcrypt cost must be 4 to {MAX_BCRYPT_COST}"
                )));
            }
            if password.contains(&0) {
                return Err(HashError::new("bcrypt passwords cannot contain NUL bytes"));
            }
            let salt = random_bytes::<16>()?;
            bcrypt::hash_with_salt(password, cost, salt)
                .map(|parts| parts.format_for_version(bcrypt::Version::TwoB))
                .map_err(|_| HashError::new("bcrypt hashing failed"))
        }
        Scheme::Argon2id => {
            let (m, t, p) = (4096, work.unwrap_or(3), 2);
            if t == 0 || t > MAX_ARGON2_TIME_COST {
                return Err(HashError(format!(
                    "argon2 time cost must be 1 to {MAX_ARGON2_TIME_COST}"
                )));
            }
            let params = Argon2Params::new(m, t, p, Some(32))
                .map_err(|e| HashError(format!("bad argon2 parameters: {e}")))?;
            let salt = random_bytes::<16>()?;
            let mut out = Zeroizing::new([0u8; 32]);
            Argon2::new(Argon2Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(password, &salt, out.as_mut_slice())
                .map_err(|e| HashError(format!("argon2 hashing failed: {e}")))?;
            Ok(format!(
                "$argon2id$v=19$m={m},t={t},p={p}${}${}",
                B64_STD_NOPAD.encode(salt),
                B64_STD_NOPAD.encode(out.as_slice())
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::B64_STD;
    use super::super::test_vectors::*;
    use super::super::*;
    use base64::Engine as _;

    #[test]
    fn scheme_from_str() {
        let cases = [
            ("7", Scheme::Mosquitto7),
            ("mosquitto", Scheme::Mosquitto7),
            ("$7$", Scheme::Mosquitto7),
            ("6", Scheme::Mosquitto6),
            ("$6$", Scheme::Mosquitto6),
            ("auth-plug", Scheme::Pbkdf2AuthPlug),
            ("pbkdf2", Scheme::Pbkdf2AuthPlug),
            ("go-auth", Scheme::Pbkdf2GoAuth),
            ("bcrypt", Scheme::Bcrypt),
            ("BCrypt", Scheme::Bcrypt),
            ("argon2id", Scheme::Argon2id),
        ];
        for (name, scheme) in cases {
            assert_eq!(name.parse::<Scheme>(), Ok(scheme), "{name}");
            assert_eq!(scheme.name().parse::<Scheme>(), Ok(scheme));
        }
        assert!("sha1".parse::<Scheme>().is_err());
        assert!("".parse::<Scheme>().is_err());
        assert_eq!(Scheme::default(), Scheme::Mosquitto7);
    }

    /// Round trip through the generator, with the defaults (go-auth's 100 000 iterations are
    /// checked for format only; verified with fewer iterations to keep debug tests fast).
    #[test]
    fn hash_password_round_trips() {
        let pw = b"round \xfftrip";
        let cases: [(Scheme, &str, &str, SaltEncoding); 5] = [
            (Scheme::Mosquitto7, "$7$101$", "pbkdf2-sha512-$7$", AUTO),
            (Scheme::Mosquitto6, "$6$", "sha512-$6$", AUTO),
            (
                Scheme::Pbkdf2AuthPlug,
                "PBKDF2$sha256$901$",
                "pbkdf2-auth-plug",
                UTF8,
            ),
            (Scheme::Bcrypt, "$2b$10$", "bcrypt", AUTO),
            (
                Scheme::Argon2id,
                "$argon2id$v=19$m=4096,t=3,p=2$",
                "argon2id",
                AUTO,
            ),
        ];
        for (scheme, prefix, name, enc) in cases {
            let s = hash_password(scheme, pw);
            assert!(s.starts_with(prefix), "{s}");
            let h = PasswordHash::parse(&s, enc).unwrap();
            assert_eq!(h.scheme(), name);
            assert!(h.verify(pw), "{name}");
            assert!(!h.verify(b"round trip"), "{name}");
            assert_ne!(s, hash_password(scheme, pw), "salt must be random");
        }
        // Sizes of the defaults.
        let m7 = hash_password(Scheme::Mosquitto7, pw);
        let f: Vec<&str> = m7.split('$').collect();
        assert_eq!(B64_STD.decode(f[3]).unwrap().len(), 12);
        assert_eq!(B64_STD.decode(f[4]).unwrap().len(), 64);
        let ap = hash_password(Scheme::Pbkdf2AuthPlug, pw);
        let f: Vec<&str> = ap.split('$').collect();
        assert_eq!(f[3].len(), 16);
        assert_eq!(B64_STD.decode(f[4]).unwrap().len(), 24);
        assert!(!PasswordHash::parse(&ap, B64).unwrap().verify(pw));
        let ga = hash_password(Scheme::Pbkdf2GoAuth, pw);
        let f: Vec<&str> = ga.split('$').collect();
        assert_eq!(&f[..3], ["PBKDF2", "sha512", "100000"]);
        assert_eq!(B64_STD.decode(f[3]).unwrap().len(), 16);
        assert_eq!(B64_STD.decode(f[4]).unwrap().len(), 64);
        let ga = hash_password_with(Scheme::Pbkdf2GoAuth, pw, Some(1000)).unwrap();
        assert!(ga.starts_with("PBKDF2$sha512$1000$"));
        let h = PasswordHash::parse(&ga, B64).unwrap();
        assert_eq!(h.scheme(), "pbkdf2-go-auth");
        assert!(h.verify(pw));
        assert!(!PasswordHash::parse(&ga, UTF8).unwrap().verify(pw));
        assert!(PasswordHash::parse(&ga, AUTO).unwrap().verify(pw));
    }

    #[test]
    fn hash_password_with_checks_work_factor() {
        assert!(hash_password_with(Scheme::Mosquitto7, b"x", Some(0)).is_err());
        assert!(hash_password_with(Scheme::Mosquitto7, b"x", Some(20_000_000)).is_err());
        assert!(hash_password_with(Scheme::Mosquitto6, b"x", Some(5)).is_err());
        assert!(hash_password_with(Scheme::Bcrypt, b"x", Some(3)).is_err());
        assert!(hash_password_with(Scheme::Bcrypt, b"x", Some(21)).is_err());
        assert!(hash_password_with(Scheme::Argon2id, b"x", Some(0)).is_err());
        let s = hash_password_with(Scheme::Mosquitto7, b"x", Some(1)).unwrap();
        assert!(s.starts_with("$7$1$"));
        assert!(PasswordHash::parse(&s, AUTO).unwrap().verify(b"x"));
        let s = hash_password_with(Scheme::Bcrypt, b"", Some(4)).unwrap();
        let h = PasswordHash::parse(&s, AUTO).unwrap();
        assert!(h.verify(b""));
        assert!(!h.verify(b"\0"));
        let err = hash_password_with(Scheme::Bcrypt, b"a\0b", Some(4)).unwrap_err();
        assert!(err.0.contains("NUL"));
    }
}
