//! Password hash formats: parsing at load time, constant-time verification, generation.
//!
//! A password file line holds one hash string. [`PasswordHash::parse`] decodes and validates it
//! completely (base64, parameters, limits), so that [`PasswordHash::verify`] only derives bytes
//! from the candidate password and compares them with [`subtle::ConstantTimeEq`]. `verify`
//! never panics and never parses.
//!
//! Accepted formats:
//!
//! | prefix | origin | derivation |
//! |---|---|---|
//! | `$6$<salt>$<digest>` | mosquitto <= 1.6 | SHA-512(password ‖ salt), salt base64-decoded, 64-byte digest |
//! | `$7$<iter>$<salt>$<key>` | mosquitto 2.x | PBKDF2-HMAC-SHA512, salt base64-decoded (12 bytes in 2.0, 64 in 2.1), 64-byte key |
//! | `PBKDF2$<alg>$<iter>$<salt>$<key>` | auth-plug / go-auth | PBKDF2-HMAC-`alg` (sha1, sha256, sha512); salt as text or decoded, see [`SaltEncoding`] |
//! | `$pbkdf2-sha512$i=<iter>,l=<len>$<salt>$<key>` | go-auth (PHC-like) | PBKDF2-HMAC-SHA512, unpadded base64 |
//! | `$2a$`, `$2b$`, `$2y$` | bcrypt | bcrypt, 72-byte limit (see [`PasswordHash::verify`]) |
//! | `$argon2id$`, `$argon2i$`, `$argon2d$` | PHC string | Argon2 (go-auth, mosquitto 2.1) |
//!
//! Base64 fields use the standard alphabet (bcrypt: its own `./A-Za-z0-9`; `$pbkdf2-sha512$`
//! also takes passlib's `.` in place of `+`); padding is optional and non-zero trailing bits are
//! tolerated, as OpenSSL and Go's default decoder do. Stored keys are kept in
//! [`zeroize::Zeroizing`] buffers and never shown by `Debug`; error messages never contain any
//! part of the hash string.
//!
//! To keep a hostile or mistaken password file from stalling the broker thread, parameters are
//! bounded at parse time: at most [`MAX_PBKDF2_ITERATIONS`] PBKDF2 iterations (counted per
//! output block), bcrypt cost at most [`MAX_BCRYPT_COST`], Argon2 memory at most
//! [`MAX_ARGON2_MEMORY_KIB`] KiB, time cost at most [`MAX_ARGON2_TIME_COST`] and memory × passes
//! at most [`MAX_ARGON2_WORK`] KiB. PBKDF2 keys must be 16 to 256 bytes, salts 1 to 1024 bytes.
//! Below the ceilings, [`PasswordHash::above_usual_cost`] tells the hashes that cost more than
//! any tool's default (the password file warns about them); `cost.rs` explains the figures.
//!
//! This file holds the types and picks the parser by prefix; `parse.rs` decodes each format,
//! `verify.rs` checks a password against a parsed hash, `cost.rs` holds the cost limits and the
//! decoy hash for unknown users, `generate.rs` makes new hashes (for `mosq-auth passwd`).

use std::fmt;

use argon2::{Algorithm as Argon2Algorithm, Params as Argon2Params, Version};
use sha2::{Sha256, Sha512};
use zeroize::Zeroizing;

mod cost;
mod generate;
mod parse;
mod verify;

pub use cost::{
    most_common_cost, CostClass, MAX_ARGON2_MEMORY_KIB, MAX_ARGON2_TIME_COST, MAX_ARGON2_WORK,
    MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS, USUAL_ARGON2_MEMORY_KIB, USUAL_ARGON2_WORK,
    USUAL_BCRYPT_COST, USUAL_PBKDF2_WORK,
};
pub use generate::{hash_password, hash_password_with, Scheme};

/// Longest accepted hash string.
const MAX_HASH_STR_LEN: usize = 4096;

const UNKNOWN_FORMAT: &str = "unknown hash format (expected $6$, $7$, PBKDF2$..., \
     $pbkdf2-sha512$..., $2a$/$2b$/$2y$ bcrypt or $argon2id$)";

/// How the salt of a `PBKDF2$...` string is fed to PBKDF2.
///
/// auth-plug writes a base64 *text* salt and hashes with the text bytes; go-auth (by default,
/// `hasher_salt_encoding base64`) writes base64 and hashes with the decoded bytes. The two
/// strings look the same, so the plugin has to be told, or try both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SaltEncoding {
    /// Try the salt as text first (auth-plug), then base64-decoded (go-auth). A failed check
    /// costs two PBKDF2 runs instead of one. A salt that is not valid base64 is used as text only.
    #[default]
    Auto,
    /// The salt field is base64 and its decoded bytes are the salt (go-auth's default).
    /// A salt that is not valid base64 is a parse error.
    Base64,
    /// The salt field's text bytes are the salt (auth-plug's default, go-auth's `utf-8`).
    Utf8,
}

/// A hash string that could not be parsed (or a hash that could not be generated).
/// The message describes what is wrong and never contains the hash itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HashError(pub String);

impl HashError {
    fn new(msg: impl Into<String>) -> HashError {
        HashError(msg.into())
    }
}

/// The HMAC hash function of a PBKDF2 variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prf {
    Sha1,
    Sha256,
    Sha512,
}

impl Prf {
    fn output_len(self) -> usize {
        match self {
            Prf::Sha1 => 20,
            Prf::Sha256 => 32,
            Prf::Sha512 => 64,
        }
    }

    fn derive(self, password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
        match self {
            Prf::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, iterations, out),
            Prf::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, out),
            Prf::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, out),
        }
    }
}

/// Which PBKDF2 string format a hash came from (only used for [`PasswordHash::scheme`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pbkdf2Kind {
    /// `$7$`
    Mosquitto,
    /// `PBKDF2$`, salt used as text only.
    AuthPlug,
    /// `PBKDF2$`, salt decoded only.
    GoAuth,
    /// `PBKDF2$`, both candidates.
    Either,
    /// `$pbkdf2-sha512$`
    GoAuthPhc,
}

#[derive(Clone)]
enum Inner {
    /// mosquitto `$6$`: SHA-512(password || salt).
    Sha512Salted {
        salt: Vec<u8>,
        digest: Zeroizing<Vec<u8>>,
    },
    /// Every PBKDF2 format. `salts` holds one or two candidates (text first).
    Pbkdf2 {
        kind: Pbkdf2Kind,
        prf: Prf,
        iterations: u32,
        salts: Vec<Vec<u8>>,
        key: Zeroizing<Vec<u8>>,
    },
    /// bcrypt `$2a$` / `$2b$` / `$2y$`.
    Bcrypt {
        cost: u32,
        salt: [u8; 16],
        hash: Zeroizing<Vec<u8>>,
    },
    /// Argon2 PHC string.
    Argon2 {
        algorithm: Argon2Algorithm,
        version: Version,
        params: Argon2Params,
        salt: Vec<u8>,
        hash: Zeroizing<Vec<u8>>,
    },
}

/// A parsed, validated password hash, ready for [`verify`](PasswordHash::verify).
///
/// `Debug` shows only the scheme name, never the salt or key.
#[derive(Clone)]
pub struct PasswordHash {
    inner: Inner,
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash({}, <redacted>)", self.scheme())
    }
}

impl PasswordHash {
    /// Parses one hash string from a password file.
    ///
    /// Everything is decoded and checked here: base64 fields, iteration counts and costs
    /// (including the DoS limits of this module), key lengths. `salt` only matters for
    /// `PBKDF2$...` strings (and, with [`SaltEncoding::Utf8`], for go-auth's
    /// `$pbkdf2-sha512$` strings, whose salt go-auth then also uses as text).
    pub fn parse(s: &str, salt: SaltEncoding) -> Result<PasswordHash, HashError> {
        if s.len() > MAX_HASH_STR_LEN {
            return Err(HashError::new("hash string too long"));
        }
        let inner = if let Some(rest) = s.strip_prefix("$6$") {
            parse::parse_mosquitto6(rest)?
        } else if let Some(rest) = s.strip_prefix("$7$") {
            parse::parse_mosquitto7(rest)?
        } else if let Some(rest) = s.strip_prefix("PBKDF2$") {
            parse::parse_pbkdf2_text(rest, salt)?
        } else if let Some(rest) = s.strip_prefix("$pbkdf2-sha512$") {
            parse::parse_pbkdf2_phc(rest, salt)?
        } else if s.starts_with("$2a$") || s.starts_with("$2b$") || s.starts_with("$2y$") {
            parse::parse_bcrypt(&s[4..])?
        } else if s.starts_with("$argon2") {
            parse::parse_argon2(s)?
        } else {
            return Err(HashError::new(UNKNOWN_FORMAT));
        };
        Ok(PasswordHash { inner })
    }

    /// Returns true if and only if verifying against this hash takes about a millisecond of
    /// CPU or more: PBKDF2 with 5,000 iterations or more (per salt candidate), bcrypt cost 5 or
    /// more, any argon2 with at least 4 MiB × passes. Mosquitto's own `$6$` and `$7$` (101 or
    /// 1,000 iterations) are fast. On Mosquitto 2.1 a login against a slow hash runs off the
    /// broker's thread.
    pub fn is_slow(&self) -> bool {
        match &self.inner {
            Inner::Sha512Salted { .. } => false,
            Inner::Pbkdf2 {
                iterations, salts, ..
            } => u64::from(*iterations) * salts.len() as u64 >= 5_000,
            Inner::Bcrypt { cost, .. } => *cost >= 5,
            Inner::Argon2 { params, .. } => {
                u64::from(params.m_cost()) * u64::from(params.t_cost()) >= 4 * 1024
            }
        }
    }

    /// A short name of the hash scheme, for logs and statistics.
    ///
    /// One of `sha512-$6$`, `pbkdf2-sha512-$7$`, `pbkdf2-auth-plug`, `pbkdf2-go-auth`,
    /// `pbkdf2-auth-plug-or-go-auth` (a `PBKDF2$` string under [`SaltEncoding::Auto`] whose salt
    /// is valid base64), `pbkdf2-sha512-phc`, `bcrypt`, `argon2id`, `argon2i`, `argon2d`.
    pub fn scheme(&self) -> &'static str {
        match &self.inner {
            Inner::Sha512Salted { .. } => "sha512-$6$",
            Inner::Pbkdf2 { kind, .. } => match kind {
                Pbkdf2Kind::Mosquitto => "pbkdf2-sha512-$7$",
                Pbkdf2Kind::AuthPlug => "pbkdf2-auth-plug",
                Pbkdf2Kind::GoAuth => "pbkdf2-go-auth",
                Pbkdf2Kind::Either => "pbkdf2-auth-plug-or-go-auth",
                Pbkdf2Kind::GoAuthPhc => "pbkdf2-sha512-phc",
            },
            Inner::Bcrypt { .. } => "bcrypt",
            Inner::Argon2 { algorithm, .. } => match algorithm {
                Argon2Algorithm::Argon2id => "argon2id",
                Argon2Algorithm::Argon2i => "argon2i",
                Argon2Algorithm::Argon2d => "argon2d",
            },
        }
    }
}

#[cfg(test)]
mod test_vectors;

#[cfg(test)]
mod tests {
    use super::test_vectors::*;
    use super::*;

    #[test]
    fn slow_hashes_are_told_apart_from_fast_ones() {
        use super::generate::{hash_password_with, Scheme};
        for (scheme, work, slow) in [
            (Scheme::Mosquitto6, None, false),
            (Scheme::Mosquitto7, None, false),
            (Scheme::Mosquitto7, Some(1_000), false),
            (Scheme::Mosquitto7, Some(10_000), true),
            (Scheme::Pbkdf2AuthPlug, None, false),
            (Scheme::Pbkdf2GoAuth, None, true),
            (Scheme::Bcrypt, Some(4), false),
            (Scheme::Bcrypt, None, true),
            (Scheme::Argon2id, None, true),
        ] {
            let s = hash_password_with(scheme, b"pw", work).unwrap();
            let h = PasswordHash::parse(&s, AUTO).unwrap();
            assert_eq!(h.is_slow(), slow, "{scheme:?} {work:?}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        for (hash, _) in VALID {
            let h = PasswordHash::parse(hash, AUTO).unwrap();
            let dbg = format!("{h:?} {h:#?}");
            assert_eq!(
                format!("{h:?}"),
                format!("PasswordHash({}, <redacted>)", h.scheme())
            );
            assert_no_secret(&dbg, hash);
        }
    }

    #[test]
    fn send_sync_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<PasswordHash>();
        assert_send_sync::<HashError>();
        let h = PasswordHash::parse(M7_ALICE, AUTO).unwrap();
        assert!(h.clone().verify(b"correct horse"));
    }
}
