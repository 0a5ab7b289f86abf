//! The files backend: mosquitto's password file and ACL file formats.
//!
//! Both files are parsed completely into an immutable [`Snapshot`] that is swapped in
//! atomically, so a check never sees half a file, and a file that fails to load on reload
//! leaves the last good snapshot in force.
//!
//! Decisions:
//! - authentication: a user absent from the password file is not ours (defer); a user whose
//!   line is malformed is locked out (deny) and reported as `file:line`; an empty password is
//!   refused; otherwise the hash decides.
//! - ACL: with an ACL file, its rules decide (see [`crate::acl::file`]). Without one, like
//!   mosquitto without `acl_file`, every topic is allowed, but only to this backend's own users
//!   and to anonymous clients; other users are deferred to the next backend.
//! - superusers: the files have none (use `auth_opt_superusers`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::acl::file::AclFile;
use crate::backend::Backend;
use crate::hash::{PasswordHash, SaltEncoding};
use crate::log::Logger;
use crate::options::{ConfigError, OptSpec, Options};
use crate::request::{AclRequest, Answer, AuthRequest, Decision, Verdict};

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

/// A user's entry in the password file.
#[derive(Clone, Debug)]
enum UserEntry {
    /// A valid hash.
    Hash(PasswordHash),
    /// The line was malformed: the user is locked out until it is fixed.
    Locked,
}

/// A parsed password file.
#[derive(Clone, Debug, Default)]
pub struct PasswordFile {
    users: HashMap<String, UserEntry>,
}

impl PasswordFile {
    /// Parses the text of a password file. Problems are returned as `path:line: message`
    /// warnings: a malformed line locks out only its user.
    pub fn parse(path: &Path, text: &str, salt: SaltEncoding) -> (PasswordFile, Vec<String>) {
        let mut users: HashMap<String, UserEntry> = HashMap::new();
        let mut first_line: HashMap<String, usize> = HashMap::new();
        let mut warnings = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let lineno = i + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let where_ = format!("{}:{lineno}", path.display());
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
                Ok(h) => UserEntry::Hash(h),
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
        let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(PasswordFile::parse(path, &text, salt))
    }

    /// Returns true if and only if the file has a line for `username` (valid or not).
    pub fn contains(&self, username: &str) -> bool {
        self.users.contains_key(username)
    }

    /// The number of users.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Returns true if and only if there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Checks a password: `Defer` for an unknown user, `Deny` for a locked one or a mismatch.
    pub fn check(&self, username: &str, password: &[u8]) -> Decision {
        match self.users.get(username) {
            None => Decision::Defer,
            Some(UserEntry::Locked) => Decision::Deny,
            Some(UserEntry::Hash(_)) if password.is_empty() => Decision::Deny,
            Some(UserEntry::Hash(h)) => {
                if h.verify(password) {
                    Decision::Allow
                } else {
                    Decision::Deny
                }
            }
        }
    }
}

/// Everything the files backend has loaded, swapped as a whole.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The password file, if configured.
    pub passwords: Option<PasswordFile>,
    /// The ACL file, if configured.
    pub acl: Option<AclFile>,
}

/// What identifies the version of a file on disk: following symlinks (a Kubernetes ConfigMap
/// update swaps the `..data` link, so the target's device and inode change), plus the
/// modification time and size for editors that rewrite in place.
#[derive(Clone, Debug, PartialEq, Eq)]
struct FileVersion {
    target: Option<PathBuf>,
    dev: u64,
    ino: u64,
    mtime_ns: i128,
    len: u64,
}

fn version(path: &Path) -> Option<FileVersion> {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).ok()?;
    Some(FileVersion {
        target: fs::canonicalize(path).ok(),
        dev: m.dev(),
        ino: m.ino(),
        mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        len: m.len(),
    })
}

struct Inner {
    settings: FilesSettings,
    state: ArcSwap<Snapshot>,
    generation: AtomicU64,
    logger: Logger,
    /// Versions of the files the snapshot was read from, and the last failed attempt.
    seen: Mutex<(Vec<Option<FileVersion>>, Option<String>)>,
}

impl Inner {
    fn paths(&self) -> Vec<&Path> {
        [&self.settings.password_file, &self.settings.acl_file]
            .into_iter()
            .flatten()
            .map(|p| p.as_path())
            .collect()
    }

    fn versions(&self) -> Vec<Option<FileVersion>> {
        self.paths().into_iter().map(version).collect()
    }

    /// Loads both files and swaps them in; on failure the old snapshot stays.
    fn reload(&self) -> Result<(), String> {
        let versions = self.versions();
        let result = load(&self.settings, &self.logger);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.0 = versions;
        match result {
            Ok(snapshot) => {
                let summary = snapshot.summary();
                self.state.store(Arc::new(snapshot));
                self.generation.fetch_add(1, Ordering::AcqRel);
                seen.1 = None;
                self.logger.notice(format_args!("files: loaded {summary}"));
                Ok(())
            }
            Err(e) => {
                seen.1 = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Reloads if a file changed since it was last read.
    fn poll(&self) {
        let changed = {
            let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.0 != self.versions()
        };
        if changed {
            if let Err(e) = self.reload() {
                self.logger.error(format_args!(
                    "files: changed files not loaded, the last good ones stay in force: {e}"
                ));
            }
        }
    }
}

/// The files backend.
pub struct FilesBackend {
    inner: Arc<Inner>,
    watcher: Mutex<Option<(Sender<()>, JoinHandle<()>)>>,
}

impl std::fmt::Debug for FilesBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesBackend")
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl FilesBackend {
    /// Loads the files. A missing or unreadable file, or an ACL file with errors, is fatal at
    /// start-up; malformed password lines are logged and lock out their user.
    pub fn new(settings: FilesSettings, logger: Logger) -> Result<FilesBackend, ConfigError> {
        let inner = Inner {
            settings,
            state: ArcSwap::from_pointee(Snapshot::default()),
            generation: AtomicU64::new(0),
            logger,
            seen: Mutex::new((Vec::new(), None)),
        };
        inner.reload().map_err(ConfigError::Other)?;
        if inner.state.load().acl.is_none() {
            logger.notice(format_args!(
                "files: no acl_file: users of the password file and anonymous clients may use every topic"
            ));
        }
        Ok(FilesBackend {
            inner: Arc::new(inner),
            watcher: Mutex::new(None),
        })
    }

    /// The snapshot in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.state.load_full()
    }

    /// Checks the files for changes now (what the watcher thread does every interval).
    pub fn poll(&self) {
        self.inner.poll()
    }
}

impl Snapshot {
    fn summary(&self) -> String {
        let users = self
            .passwords
            .as_ref()
            .map_or("no password file".to_string(), |p| {
                format!("{} users", p.len())
            });
        let acl = self.acl.as_ref().map_or("no ACL file".to_string(), |a| {
            format!("{} ACL rules", a.rule_count())
        });
        format!("{users}, {acl}")
    }
}

/// Loads both files; the error is the message for the operator.
fn load(settings: &FilesSettings, logger: &Logger) -> Result<Snapshot, String> {
    let passwords = match &settings.password_file {
        None => None,
        Some(path) => {
            let (file, warnings) = PasswordFile::load(path, settings.salt_encoding)
                .map_err(|e| format!("files: cannot read the password file {e}"))?;
            for w in warnings {
                logger.warning(format_args!("files: {w}"));
            }
            Some(file)
        }
    };
    let acl = match &settings.acl_file {
        None => None,
        Some(path) => {
            Some(AclFile::load(path).map_err(|e| format!("files: ACL file not loaded:\n{e}"))?)
        }
    };
    Ok(Snapshot { passwords, acl })
}

impl Backend for FilesBackend {
    fn name(&self) -> &'static str {
        "files"
    }

    fn authenticate(&self, req: &AuthRequest<'_>) -> Answer {
        let state = self.inner.state.load();
        Ok(match &state.passwords {
            None => Verdict::DEFER,
            Some(p) => p.check(req.username, req.password.expose()).into(),
        })
    }

    fn superuser(&self, _username: &str) -> Answer {
        Ok(Verdict::DEFER)
    }

    fn has_superusers(&self) -> bool {
        false
    }

    fn answers_from_memory(&self) -> bool {
        true
    }

    fn acl(&self, req: &AclRequest<'_>) -> Answer {
        let state = self.inner.state.load();
        Ok(match &state.acl {
            Some(acl) => acl
                .check(req.username, req.client_id, req.topic, req.access)
                .into(),
            None => {
                let ours = match (req.username, &state.passwords) {
                    (None, _) => true,
                    (Some(u), Some(p)) => p.contains(u),
                    (Some(_), None) => false,
                };
                if ours {
                    Verdict::ALLOW
                } else {
                    Verdict::DEFER
                }
            }
        })
    }

    fn reload(&self) -> Result<(), String> {
        self.inner.reload()
    }

    fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    fn explain_acl(&self, req: &AclRequest<'_>) -> Option<String> {
        let state = self.inner.state.load();
        let Some(acl) = &state.acl else {
            return Some("no acl_file: every topic is allowed to the password file's users".into());
        };
        let (_, rule) = acl.explain(req.username, req.client_id, req.topic, req.access);
        let path = self
            .inner
            .settings
            .acl_file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        rule.map(|r| format!("{path}:{}: {}", r.line, r.text))
    }

    fn start(&self) {
        let Some(interval) = self.inner.settings.reload_interval else {
            return;
        };
        let (tx, rx) = channel::<()>();
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new()
            .name("mosq-auth-files-watch".into())
            .spawn(move || loop {
                match rx.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => inner.poll(),
                    _ => return,
                }
            });
        match spawned {
            Ok(handle) => {
                *self.watcher.lock().unwrap_or_else(|e| e.into_inner()) = Some((tx, handle))
            }
            Err(e) => self.inner.logger.warning(format_args!(
                "files: cannot start the file watcher ({e}); files are re-read on SIGHUP only"
            )),
        }
    }

    fn stop(&self) {
        if let Some((tx, handle)) = self
            .watcher
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            drop(tx);
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_lines_are_reported_with_file_and_line_and_lock_out_only_that_user() {
        let text = "# comment\n\nalice:$7$nonsense\nbob\n:nohash\ncarol:$7$x\ncarol:$7$y\n";
        let (file, warnings) = PasswordFile::parse(Path::new("/etc/pw"), text, SaltEncoding::Auto);
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

    #[test]
    fn missing_password_file_is_fatal_and_names_the_path() {
        let settings = FilesSettings {
            password_file: Some(PathBuf::from("/nonexistent/mosq-auth/pw")),
            acl_file: None,
            salt_encoding: SaltEncoding::Auto,
            reload_interval: None,
        };
        let err = FilesBackend::new(settings, Logger::default()).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/mosq-auth/pw"),
            "{err}"
        );
    }
}
