//! The files backend. (Scaffold.)

use std::path::PathBuf;

use crate::config::{ConfigError, OptSpec, Options};
use crate::hash::SaltEncoding;

/// Option specs of the files backend.
pub mod spec {
    use crate::config::OptSpec;

    /// `password_file`
    pub const PASSWORD_FILE: OptSpec = OptSpec {
        name: "password_file",
        auth_plug: &[],
        go_auth: &["files_password_path", "password_path"],
        default: "(none)",
        doc: "Password file: `user:hash` lines (mosquitto_passwd, auth-plug `np`, go-auth, bcrypt, argon2id hashes).",
        secret: false,
    };
}

/// The files backend's options.
pub const OPTIONS: &[&OptSpec] = &[&spec::PASSWORD_FILE];

/// The files backend's validated settings.
#[derive(Debug)]
pub struct FilesSettings {
    /// The password file.
    pub password_file: Option<PathBuf>,
    /// How PBKDF2 salts are read.
    pub salt_encoding: SaltEncoding,
}

impl FilesSettings {
    /// Reads the files options.
    pub fn from_options(options: &Options) -> Result<FilesSettings, ConfigError> {
        Ok(FilesSettings {
            password_file: options.path(&spec::PASSWORD_FILE),
            salt_encoding: SaltEncoding::Auto,
        })
    }
}
