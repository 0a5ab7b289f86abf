//! Password hash formats. (Scaffold: the implementation replaces these bodies.)

use std::fmt;

/// How the salt of a `PBKDF2$...` string is fed to PBKDF2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SaltEncoding {
    /// Try the salt as text first (auth-plug), then base64-decoded (go-auth).
    #[default]
    Auto,
    /// The salt field is base64 and its decoded bytes are the salt (go-auth's default).
    Base64,
    /// The salt field's text bytes are the salt (auth-plug's default).
    Utf8,
}

/// A hash string that could not be parsed. Never contains the hash itself.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HashError(pub String);

/// A parsed password hash.
#[derive(Clone)]
pub struct PasswordHash {
    _private: (),
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

impl PasswordHash {
    /// Parses one hash string from a password file.
    pub fn parse(_s: &str, _salt: SaltEncoding) -> Result<PasswordHash, HashError> {
        Err(HashError("not implemented".into()))
    }

    /// Returns true if and only if `password` matches, compared in constant time.
    pub fn verify(&self, _password: &[u8]) -> bool {
        false
    }
}
