//! The files backend's options and their validation.

use std::path::PathBuf;
use std::time::Duration;

use crate::hash::SaltEncoding;
use crate::options::{ConfigError, OptSpec, Options};

/// Option specs of the files backend.
pub mod spec {
    use crate::options::OptSpec;

    /// `password_file`
    pub const PASSWORD_FILE: OptSpec = OptSpec {
        name: "password_file",
        auth_plug: &["password_file"],
        go_auth: &["files_password_path", "password_path"],
        default: "(none)",
        doc: "Password file, `user:hash` per line: mosquitto_passwd `$6$`/`$7$`, auth-plug and go-auth `PBKDF2$...`, `$pbkdf2-sha512$`, bcrypt, argon2id.",
        secret: false,
    };
    /// `acl_file`
    pub const ACL_FILE: OptSpec = OptSpec {
        name: "acl_file",
        auth_plug: &["acl_file"],
        go_auth: &["files_acl_path", "acl_path"],
        default: "(none: all topics allowed to the file's users)",
        doc: "ACL file in mosquitto's format (`user`, `topic [read|write|readwrite|deny]`, `pattern` with `%u`/`%c`).",
        secret: false,
    };
    /// `reload_interval`
    pub const RELOAD_INTERVAL: OptSpec = OptSpec {
        name: "reload_interval",
        auth_plug: &[],
        go_auth: &[],
        default: "`3`",
        doc: "Seconds between checks of the password and ACL files for changes (also Kubernetes ConfigMap/Secret updates); 0: only on SIGHUP.",
        secret: false,
    };
    /// `hasher_salt_encoding`
    pub const SALT_ENCODING: OptSpec = OptSpec {
        name: "hasher_salt_encoding",
        auth_plug: &[],
        go_auth: &["hasher_salt_encoding"],
        default: "(either)",
        doc: "Salt of `PBKDF2$...` hashes: `utf-8` (auth-plug: the salt text itself) or `base64` (go-auth: decoded). Unset: either is accepted.",
        secret: false,
    };
}

/// The files backend's options.
pub const OPTIONS: &[&OptSpec] = &[
    &spec::PASSWORD_FILE,
    &spec::ACL_FILE,
    &spec::SALT_ENCODING,
    &spec::RELOAD_INTERVAL,
];

/// The files backend's validated settings.
#[derive(Clone, Debug)]
pub struct FilesSettings {
    /// The password file.
    pub password_file: Option<PathBuf>,
    /// The ACL file.
    pub acl_file: Option<PathBuf>,
    /// How PBKDF2 salts are read.
    pub salt_encoding: SaltEncoding,
    /// How often the files are checked for changes (`None`: only on SIGHUP).
    pub reload_interval: Option<Duration>,
}

impl FilesSettings {
    /// Reads the files options.
    pub fn from_options(options: &Options) -> Result<FilesSettings, ConfigError> {
        let password_file = options.path(&spec::PASSWORD_FILE);
        let acl_file = options.path(&spec::ACL_FILE);
        let salt_encoding = match options.get(&spec::SALT_ENCODING) {
            None => SaltEncoding::Auto,
            Some(v) => v.parse_with("expected utf-8 or base64", |s| {
                match s.to_ascii_lowercase().as_str() {
                    "utf-8" | "utf8" => Some(SaltEncoding::Utf8),
                    "base64" => Some(SaltEncoding::Base64),
                    _ => None,
                }
            })?,
        };
        if password_file.is_none() && acl_file.is_none() {
            return Err(ConfigError::Missing {
                option: "auth_opt_password_file".into(),
                why: "the files backend needs auth_opt_password_file and/or auth_opt_acl_file"
                    .into(),
            });
        }
        let reload_interval = options
            .seconds(
                &spec::RELOAD_INTERVAL,
                Duration::ZERO,
                Duration::from_secs(86_400),
            )?
            .unwrap_or(Duration::from_secs(3));
        Ok(FilesSettings {
            password_file,
            acl_file,
            salt_encoding,
            reload_interval: (!reload_interval.is_zero()).then_some(reload_interval),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_need_a_file() {
        let err =
            FilesSettings::from_options(&Options::new(Vec::<(String, String)>::new())).unwrap_err();
        assert!(err.to_string().contains("auth_opt_password_file"), "{err}");
        let err = FilesSettings::from_options(&Options::new([
            ("password_file", "/x"),
            ("hasher_salt_encoding", "hex"),
        ]))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "option auth_opt_hasher_salt_encoding: invalid value 'hex': expected utf-8 or base64"
        );
    }
}
