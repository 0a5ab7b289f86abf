//! `mosq-auth hash` and `mosq-auth passwd`: making hashes and editing password files.
//!
//! A password file is edited as text: only the lines of the user concerned change, comments,
//! blank lines, other users and line endings stay byte for byte. A line belongs to a user the
//! way the plugin reads it ([`mosq_auth::backend::files::PasswordFile`]): trimmed, not empty,
//! not a `#` comment, the username before the first `:`.
//!
//! The new file is written next to the old one under a temporary name, flushed to disk, given
//! the old file's mode (and owner and group), and renamed over it, so the broker (or anyone)
//! reading the file sees either the old or the new version, never a partial one. If the file
//! changed while we were working, nothing is written.

use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use mosq_auth::hash::{
    hash_password_with, Scheme, MAX_ARGON2_TIME_COST, MAX_BCRYPT_COST, MAX_PBKDF2_ITERATIONS,
};

use crate::args::{is_help, Arg, Parser};
use crate::{help, password, Fail};

/// Mode of a password file that `passwd add` creates: the owner reads and writes, the group
/// (give it the broker's group) reads, others nothing.
pub const NEW_FILE_MODE: u32 = 0o640;

pub const HASH_HELP: &str = "\
Print a password hash for a password file line (`user:HASH`).

Usage: mosq-auth hash [--scheme SCHEME] [--iterations N | --cost N]

The password is prompted for twice (without echo) when standard input is a terminal;
otherwise the first line of standard input is the password (only its trailing newline is
removed). The hash goes to standard output; nothing else does.

Options:
  -s, --scheme SCHEME  Hash format (default 7):
                         7          mosquitto 2.x $7$ (PBKDF2-SHA512, 101 iterations)
                         6          mosquitto 1.6 $6$ (salted SHA-512; weak, old brokers only)
                         auth-plug  PBKDF2$sha256$901$... (mosquitto-auth-plug)
                         go-auth    PBKDF2$sha512$100000$... (mosquitto-go-auth)
                         bcrypt     $2b$, cost 10
                         argon2id   $argon2id$v=19$m=4096,t=3,p=2$...
      --iterations N   PBKDF2 iterations (7, auth-plug, go-auth), bcrypt cost, or argon2id
      --cost N         time cost (t); the two names mean the same. Not for 6.
  -h, --help           Print this help

Example:
  echo 'secret' | mosq-auth hash --scheme bcrypt --cost 12
";

pub const PASSWD_HELP: &str = "\
Add, update, delete or list users of a password file, safely while the broker runs.

Usage: mosq-auth passwd FILE add [--scheme SCHEME] [--iterations N | --cost N] USER
       mosq-auth passwd FILE delete USER
       mosq-auth passwd FILE list

  add     Set USER's password: replaces USER's line where it is (\"updated\") or appends one
          (\"added\"). The password is read like `mosq-auth hash` reads it: a no-echo prompt
          (twice) on a terminal, else the first line of standard input. A missing FILE is
          created with mode 0640.
  delete  Remove USER's line(s). An unknown USER is an error (exit code 1).
  list    Print the usernames, one per line (never the hashes).

The file is rewritten atomically (temporary file in the same directory, fsync, rename) with
the original's mode and, when run as root, owner and group; comments and other lines stay as
they are. The plugin notices the change within auth_opt_reload_interval seconds (default 3):
no broker restart or SIGHUP needed. A symbolic link FILE is followed: its target is replaced.

Options:
  -s, --scheme SCHEME  Hash format for add (default 7); see `mosq-auth hash --help`
      --iterations N   Work factor for add; see `mosq-auth hash --help`
      --cost N         Same as --iterations
  -h, --help           Print this help

Examples:
  mosq-auth passwd /etc/mosquitto/passwd add alice
  printf '%s\\n' \"$PW\" | mosq-auth passwd /etc/mosquitto/passwd add --scheme bcrypt bob
  mosq-auth passwd /etc/mosquitto/passwd delete bob
  mosq-auth passwd /etc/mosquitto/passwd list
";

/// The hash options shared by `hash` and `passwd add`.
#[derive(Debug, Default)]
struct HashOpts {
    scheme: Scheme,
    scheme_given: bool,
    work: Option<u32>,
    work_opt: Option<String>,
}

impl HashOpts {
    /// Takes `opt` if it is a hash option; returns false if it is not one.
    fn take(&mut self, p: &mut Parser, opt: &str, inline: Option<String>) -> Result<bool, Fail> {
        match opt {
            "-s" | "--scheme" => {
                let v = p.value(opt, inline)?;
                self.scheme =
                    Scheme::from_str(&v).map_err(|e| p.usage(format_args!("--scheme {v}: {e}")))?;
                self.scheme_given = true;
            }
            "--iterations" | "--cost" => {
                let v = p.value(opt, inline)?;
                if let Some(prev) = &self.work_opt {
                    return Err(p.usage(format_args!("{prev} and {opt} are the same setting")));
                }
                let n = v
                    .parse::<u32>()
                    .map_err(|_| p.usage(format_args!("{opt} {v}: expected a whole number")))?;
                self.work = Some(n);
                self.work_opt = Some(opt.to_string());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the work factor against what the plugin accepts, before asking for a password.
    fn validate(&self, p: &Parser) -> Result<(), Fail> {
        let (Some(n), Some(opt)) = (self.work, &self.work_opt) else {
            return Ok(());
        };
        let (min, max) = match self.scheme {
            Scheme::Mosquitto6 => {
                return Err(p.usage(format_args!("{opt}: scheme 6 has no work factor")))
            }
            Scheme::Mosquitto7 | Scheme::Pbkdf2AuthPlug | Scheme::Pbkdf2GoAuth => {
                (1, MAX_PBKDF2_ITERATIONS)
            }
            Scheme::Bcrypt => (4, MAX_BCRYPT_COST),
            Scheme::Argon2id => (1, MAX_ARGON2_TIME_COST),
        };
        if !(min..=max).contains(&n) {
            return Err(p.usage(format_args!(
                "{opt} {n}: scheme {} takes {min} to {max}",
                self.scheme
            )));
        }
        Ok(())
    }

    /// Reads a new password and hashes it.
    fn hash_new_password(&self) -> Result<String, Fail> {
        let pw = password::read_new()?;
        hash_password_with(self.scheme, pw.expose(), self.work)
            .map_err(|e| Fail::failed(format_args!("cannot hash the password: {e}")))
    }
}

/// `mosq-auth hash`.
pub fn hash_cmd(mut p: Parser) -> Result<u8, Fail> {
    let mut opts = HashOpts::default();
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Opt(o, _) if is_help(&o) => return help(HASH_HELP),
            Arg::Opt(o, v) => {
                if !opts.take(&mut p, &o, v)? {
                    return Err(p.unknown(&o));
                }
            }
            Arg::Pos(_) => {
                return Err(p.usage(
                    "hash takes no arguments: the password is read from a prompt or standard input",
                ))
            }
        }
    }
    opts.validate(&p)?;
    let hash = opts.hash_new_password()?;
    writeln!(io::stdout(), "{hash}")
        .map_err(|e| Fail::failed(format_args!("cannot write the hash: {e}")))?;
    Ok(0)
}

/// What `passwd` was asked to do.
enum Action {
    Add(String),
    Delete(String),
    List,
}

/// `mosq-auth passwd`.
pub fn passwd_cmd(mut p: Parser) -> Result<u8, Fail> {
    let mut opts = HashOpts::default();
    let mut pos = Vec::new();
    while let Some(arg) = p.next()? {
        match arg {
            Arg::Opt(o, _) if is_help(&o) => return help(PASSWD_HELP),
            Arg::Opt(o, v) => {
                if !opts.take(&mut p, &o, v)? {
                    return Err(p.unknown(&o));
                }
            }
            Arg::Pos(a) => pos.push(a),
        }
    }
    let mut pos = pos.into_iter();
    let (Some(file), Some(action)) = (pos.next(), pos.next()) else {
        return Err(p.usage("expected FILE and an action: add USER, delete USER or list"));
    };
    let user = pos.next();
    if let Some(extra) = pos.next() {
        return Err(p.usage(format_args!(
            "unexpected argument '{extra}' (passwords are never given as arguments)"
        )));
    }
    let action = match (action.as_str(), user) {
        ("add", Some(u)) => Action::Add(u),
        ("delete", Some(u)) => Action::Delete(u),
        ("list", None) => Action::List,
        ("add" | "delete", None) => return Err(p.usage(format_args!("{action} needs a USER"))),
        ("list", Some(_)) => return Err(p.usage("list takes no USER")),
        (other, _) => {
            return Err(p.usage(format_args!(
                "unknown action '{other}': expected add, delete or list"
            )))
        }
    };
    if !matches!(action, Action::Add(_)) && (opts.work_opt.is_some() || opts.scheme_given) {
        return Err(p.usage("--scheme, --iterations and --cost are for add only"));
    }
    let path = PathBuf::from(&file);
    match action {
        Action::List => {
            let (text, _) = read(&path)?.ok_or_else(|| {
                Fail::failed(format_args!(
                    "{file}: {}",
                    io::Error::from(io::ErrorKind::NotFound)
                ))
            })?;
            let mut out = io::stdout().lock();
            let mut seen = std::collections::HashSet::new();
            for seg in text.split_inclusive('\n') {
                if let Some(u) = user_of(seg) {
                    if seen.insert(u) {
                        let _ = writeln!(out, "{u}");
                    }
                }
            }
            Ok(0)
        }
        Action::Delete(user) => {
            let (text, meta) = read(&path)?.ok_or_else(|| {
                Fail::failed(format_args!(
                    "{file}: {}",
                    io::Error::from(io::ErrorKind::NotFound)
                ))
            })?;
            let mut removed = 0;
            let mut out = String::with_capacity(text.len());
            for seg in text.split_inclusive('\n') {
                if user_of(seg) == Some(user.as_str()) {
                    removed += 1;
                } else {
                    out.push_str(seg);
                }
            }
            if removed == 0 {
                return Err(Fail::failed(format_args!("{file}: no user '{user}'")));
            }
            write_atomic(&path, out.as_bytes(), Some(&meta))
                .map_err(|e| Fail::failed(format_args!("{file}: {e}")))?;
            println!("deleted user '{user}' from {file}");
            Ok(0)
        }
        Action::Add(user) => {
            check_username(&user).map_err(|e| p.usage(format_args!("user '{user}': {e}")))?;
            opts.validate(&p)?;
            // Fail early on an unreadable file, before asking for the password.
            read(&path)?;
            let hash = opts.hash_new_password()?;
            // Read again: the file may have changed while the user was typing.
            let existing = read(&path)?;
            let line = format!("{user}:{hash}");
            let (out, status) = match &existing {
                Some((text, _)) => set_user(text, &user, &line),
                None => (format!("{line}\n"), Status::Added),
            };
            write_atomic(&path, out.as_bytes(), existing.as_ref().map(|(_, m)| m))
                .map_err(|e| Fail::failed(format_args!("{file}: {e}")))?;
            match (status, existing.is_some()) {
                (Status::Updated, _) => println!("updated user '{user}' in {file}"),
                (Status::Added, true) => println!("added user '{user}' to {file}"),
                (Status::Added, false) => {
                    println!("added user '{user}' to {file}");
                    eprintln!(
                        "mosq-auth: note: created {file} with mode {NEW_FILE_MODE:04o}: the broker \
                         must be able to read it (e.g. chgrp mosquitto {file})"
                    );
                }
            }
            Ok(0)
        }
    }
}

/// Whether `add` replaced a line or appended one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Added,
    Updated,
}

/// The user a password file line belongs to, read as the plugin reads it.
fn user_of(seg: &str) -> Option<&str> {
    let line = seg.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    line.split_once(':')
        .map(|(u, _)| u)
        .filter(|u| !u.is_empty())
}

/// Rejects usernames that the password file format cannot hold or would read differently.
fn check_username(user: &str) -> Result<(), &'static str> {
    if user.is_empty() {
        return Err("empty username");
    }
    if user.contains(':') {
        return Err("a username cannot contain ':' in a password file");
    }
    if user.chars().any(char::is_control) {
        return Err("a username cannot contain control characters");
    }
    if user.trim() != user {
        return Err("a username cannot start or end with whitespace");
    }
    if user.starts_with('#') {
        return Err("a username cannot start with '#' (the line would be a comment)");
    }
    if user.len() > 65_535 {
        return Err("username longer than 65535 bytes");
    }
    Ok(())
}

/// `text` with `user`'s first line replaced by `line` (keeping its line ending) and later lines
/// of the same user (which the plugin ignores) removed; or `line` appended.
fn set_user(text: &str, user: &str, line: &str) -> (String, Status) {
    let mut out = String::with_capacity(text.len() + line.len() + 1);
    let mut status = Status::Added;
    for seg in text.split_inclusive('\n') {
        if user_of(seg) != Some(user) {
            out.push_str(seg);
            continue;
        }
        if status == Status::Updated {
            continue;
        }
        status = Status::Updated;
        let body = seg.trim_end_matches(['\n', '\r']);
        out.push_str(line);
        out.push_str(&seg[body.len()..]);
    }
    if status == Status::Added {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(line);
        out.push('\n');
    }
    (out, status)
}

/// Reads the file as text with its metadata; `None` if it does not exist.
fn read(path: &Path) -> Result<Option<(String, Metadata)>, Fail> {
    let fail = |e: io::Error| Fail::failed(format_args!("{}: {e}", path.display()));
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    let meta = fs::metadata(path).map_err(fail)?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Fail::failed(format_args!(
            "{}: not valid UTF-8 (the plugin cannot read it either)",
            path.display()
        ))
    })?;
    Ok(Some((text, meta)))
}

/// Returns true if and only if `a` and `b` describe the same version of a file.
fn same_version(a: &Metadata, b: &Metadata) -> bool {
    a.dev() == b.dev()
        && a.ino() == b.ino()
        && a.len() == b.len()
        && a.mtime() == b.mtime()
        && a.mtime_nsec() == b.mtime_nsec()
}

/// Replaces `path` with `contents` atomically. `old` is the metadata of the version that was
/// read (`None`: the file did not exist); its mode, owner and group are kept, and the write is
/// abandoned if the file changed since.
fn write_atomic(path: &Path, contents: &[u8], old: Option<&Metadata>) -> io::Result<()> {
    // Replace a symlink's target, not the link.
    let target = match fs::canonicalize(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => path.to_path_buf(),
        Err(e) => return Err(e),
    };
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let (tmp_path, mut tmp) = create_temp(&dir, &name.to_string_lossy())?;
    let result = (|| {
        match old {
            Some(m) => {
                let (uid, gid) = (m.uid(), m.gid());
                let mine = tmp.metadata()?;
                if (uid, gid) != (mine.uid(), mine.gid()) {
                    std::os::unix::fs::fchown(
                        &tmp,
                        (uid != mine.uid()).then_some(uid),
                        (gid != mine.gid()).then_some(gid),
                    )
                    .map_err(|e| {
                        io::Error::new(
                            e.kind(),
                            format!(
                                "cannot keep the file's owner {uid} and group {gid} \
                                 (run as root or as the owner): {e}; nothing written"
                            ),
                        )
                    })?;
                }
                tmp.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))?;
            }
            None => tmp.set_permissions(fs::Permissions::from_mode(NEW_FILE_MODE))?,
        }
        tmp.write_all(contents)?;
        tmp.sync_all()?;
        let now = match fs::metadata(&target) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let unchanged = match (old, &now) {
            (Some(a), Some(b)) => same_version(a, b),
            (None, None) => true,
            _ => false,
        };
        if !unchanged {
            return Err(io::Error::other(
                "the file changed while it was being edited; nothing written, try again",
            ));
        }
        fs::rename(&tmp_path, &target)?;
        // Make the rename itself durable.
        File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

/// Creates a new, empty, private temporary file in `dir` for replacing `name`.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let p = dir.join(format!(".{name}.mosq-auth.{pid}.{nanos:x}{attempt}"));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot create a temporary file in {}: {e}", dir.display()),
                ))
            }
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("cannot create a temporary file")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_belong_to_users_like_the_plugin_reads_them() {
        assert_eq!(user_of("alice:$7$x\n"), Some("alice"));
        assert_eq!(user_of("  bob:$7$x\r\n"), Some("bob"));
        assert_eq!(user_of("# alice:$7$x\n"), None);
        assert_eq!(user_of("   \n"), None);
        assert_eq!(user_of(":nohash\n"), None);
        assert_eq!(user_of("garbage\n"), None);
    }

    #[test]
    fn set_user_replaces_in_place_and_drops_duplicates() {
        let text = "# users\nalice:old\r\nbob:b\nalice:dup\n";
        let (out, st) = set_user(text, "alice", "alice:new");
        assert_eq!(st, Status::Updated);
        assert_eq!(out, "# users\nalice:new\r\nbob:b\n");
        let (out, st) = set_user("bob:b", "carol", "carol:c");
        assert_eq!(st, Status::Added);
        assert_eq!(out, "bob:b\ncarol:c\n");
    }

    #[test]
    fn usernames_the_format_cannot_hold_are_refused() {
        for bad in ["", "a:b", "a\nb", " a", "a ", "#a"] {
            assert!(check_username(bad).is_err(), "{bad:?}");
        }
        assert!(check_username("alice@example.com").is_ok());
    }
}
