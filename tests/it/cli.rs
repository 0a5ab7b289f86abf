//! The `mosq-auth` command line tool, run as a process on real temporary files: `hash` for
//! every scheme (checked with the library's verifier and, for `$7$`, by the real broker),
//! `passwd` edits (in place, permissions, owner, comments, atomicity), `check` decisions and
//! exit codes, every `--help`, and a user added with `passwd add` logging in to a running
//! broker without a restart or SIGHUP.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::{mosquitto_passwd_line, wait_for, Broker, Dir, Mqtt, Proto, Start};
use mosq_auth::backend::files::PasswordFile;
use mosq_auth::hash::{PasswordHash, SaltEncoding};
use mosq_auth::request::Decision;

/// What one run of the tool gave.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `mosq-auth ARGS` in `cwd` with `stdin` piped in (so never a terminal).
fn run_in(cwd: &Path, args: &[&str], stdin: &str) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mosq-auth"));
    cmd.args(args).current_dir(cwd);
    run_cmd(cmd, stdin)
}

/// Runs `cmd` with `stdin` piped in and its output captured.
fn run_cmd(mut cmd: Command, stdin: &str) -> Out {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    // The tool may exit before reading (usage errors): ignore a broken pipe.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    let out = child.wait_with_output().expect("wait");
    Out {
        code: out.status.code().expect("exit code, not a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str], stdin: &str) -> Out {
    run_in(Path::new("."), args, stdin)
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// Returns true if and only if this process runs as root (owns the files it creates).
fn running_as_root() -> bool {
    let d = tmp();
    let p = d.path().join("probe");
    fs::write(&p, "").expect("write");
    fs::metadata(&p).expect("stat").uid() == 0
}

/// The hash on `user`'s line of a password file.
fn hash_of(file: &Path, user: &str) -> String {
    fs::read_to_string(file)
        .expect("read")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{user}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no line for {user}"))
}

fn verifies(hash: &str, password: &[u8]) -> bool {
    PasswordHash::parse(hash, SaltEncoding::Auto)
        .expect("the tool's hash parses")
        .verify(password)
}

// ---------------------------------------------------------------------------------------------
// --help, --version, usage errors

#[test]
fn every_command_has_help() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["help"],
        &["hash", "--help"],
        &["hash", "-h"],
        &["help", "hash"],
        &["passwd", "--help"],
        &["passwd", "/nonexistent", "add", "--help"],
        &["help", "passwd"],
        &["check", "--help"],
        &["check", "-h"],
        &["help", "check"],
    ] {
        let out = run(args, "");
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(out.stdout.contains("Usage: mosq-auth"), "{args:?}: {out:?}");
        assert!(out.stderr.is_empty(), "{args:?}: {out:?}");
    }
    assert!(run(&["--help"], "").stdout.contains("Exit codes"));
    assert!(run(&["hash", "--help"], "").stdout.contains("argon2id"));
    assert!(run(&["passwd", "--help"], "").stdout.contains("0640"));
    assert!(run(&["check", "--help"], "").stdout.contains("--listener"));
}

#[test]
fn version_and_usage_errors() {
    let out = run(&["--version"], "");
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stdout,
        format!("mosq-auth {}\n", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(run(&["-V"], "").code, 0);

    let out = run(&[], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("Usage:"), "{out:?}");
    for args in [
        &["frobnicate"][..],
        &["--frobnicate"],
        &["help", "frobnicate"],
        &["hash", "--bogus"],
        &["hash", "--scheme"],
        &["hash", "--scheme", "md5"],
        &["hash", "--iterations", "many"],
        &["hash", "--iterations", "0"],
        &["hash", "--cost", "3", "--scheme", "bcrypt"],
        &["hash", "--cost", "21", "--scheme", "bcrypt"],
        &["hash", "--iterations", "5", "--scheme", "6"],
        &["hash", "--iterations", "5", "--cost", "5"],
        &["hash", "secret-on-the-command-line"],
    ] {
        let out = run(args, "pw\n");
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("mosq-auth: "), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// hash

#[test]
fn hash_every_scheme_verifies() {
    let password = "pässword with spaces ";
    for (scheme, prefix) in [
        ("7", "$7$101$"),
        ("6", "$6$"),
        ("auth-plug", "PBKDF2$sha256$901$"),
        ("go-auth", "PBKDF2$sha512$100000$"),
        ("bcrypt", "$2b$10$"),
        ("argon2id", "$argon2id$v=19$m=4096,t=3,p=2$"),
    ] {
        let out = run(&["hash", "--scheme", scheme], &format!("{password}\n"));
        assert_eq!(out.code, 0, "{scheme}: {out:?}");
        assert!(out.stderr.is_empty(), "{scheme}: {out:?}");
        let hash = out
            .stdout
            .strip_suffix('\n')
            .expect("one line ending in a newline");
        assert!(!hash.contains('\n'), "{scheme}: {out:?}");
        assert!(hash.starts_with(prefix), "{scheme}: {hash}");
        assert!(verifies(hash, password.as_bytes()), "{scheme}");
        assert!(
            !verifies(hash, "pässword with spaces".as_bytes()),
            "{scheme}"
        );
    }
    // The default is $7$, and two runs use different salts.
    let a = run(&["hash"], "pw\n").stdout;
    let b = run(&["hash"], "pw\n").stdout;
    assert!(a.starts_with("$7$101$") && a != b);
}

#[test]
fn hash_work_factors() {
    for (args, prefix) in [
        (&["hash", "--iterations", "1000"][..], "$7$1000$"),
        (
            &["hash", "--iterations=2000", "-s", "auth-plug"],
            "PBKDF2$sha256$2000$",
        ),
        (
            &["hash", "--scheme=go-auth", "--iterations", "1234"],
            "PBKDF2$sha512$1234$",
        ),
        (&["hash", "--scheme", "bcrypt", "--cost", "5"], "$2b$05$"),
        (
            &["hash", "--scheme", "argon2id", "--cost", "1"],
            "$argon2id$v=19$m=4096,t=1,p=2$",
        ),
    ] {
        let out = run(args, "pw\n");
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(out.stdout.starts_with(prefix), "{args:?}: {out:?}");
        assert!(verifies(out.stdout.trim_end(), b"pw"), "{args:?}");
    }
}

#[test]
fn hash_reads_one_line_and_strips_only_the_newline() {
    // Only the trailing "\n" goes: a "\r" and spaces are part of the password; later lines
    // are not read.
    let out = run(&["hash"], " a b \r\nsecond line\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(verifies(out.stdout.trim_end(), b" a b \r"));
    // No newline at all.
    let out = run(&["hash"], "no-newline");
    assert!(verifies(out.stdout.trim_end(), b"no-newline"));

    for (stdin, why) in [("", "no password"), ("\n", "empty password")] {
        let out = run(&["hash"], stdin);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains(why), "{out:?}");
        assert!(out.stdout.is_empty(), "{out:?}");
    }
    // bcrypt cannot hold a NUL byte: an error, not a hash that never matches.
    let out = run(&["hash", "--scheme", "bcrypt", "--cost", "4"], "a\0b\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("NUL"), "{out:?}");
}

#[test]
fn hash_output_is_accepted_by_the_real_broker() {
    // mosquitto's own password_file check (no plugin) verifies our $7$.
    let out = run(&["hash"], "broker-pw\n");
    let dir = Dir::new();
    dir.write("pw", format!("carol:{}", out.stdout));
    let b = Broker::start_in(
        dir,
        "allow_anonymous false\npassword_file {dir}/pw\n",
        Start::default(),
    );
    Mqtt::ok(Proto::V311, b.port, "c1", Some(("carol", "broker-pw")));
    assert!(Mqtt::connect(Proto::V311, b.port, "c2", Some(("carol", "wrong"))).is_err());
}

/// Runs `mosq-auth ARGS` on a terminal (util-linux `script` makes the pseudo-terminal),
/// typing each answer only once its prompt has been shown. Returns the exit code and
/// everything the terminal showed.
fn run_on_tty(args: &[&str], answers: &[(&str, &str)]) -> (i32, String) {
    use std::io::Read;
    use std::sync::mpsc::channel;
    use std::time::{Duration, Instant};

    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let mut cmd = quote(env!("CARGO_BIN_EXE_mosq-auth"));
    for a in args {
        cmd.push(' ');
        cmd.push_str(&quote(a));
    }
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("`script` is missing: apt-get install -y bsdutils");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut stdin = child.stdin.take().expect("stdin");
    let mut shown = Vec::new();
    let mut seen = 0;
    for (prompt, answer) in answers {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = String::from_utf8_lossy(&shown[seen..]).into_owned();
            if let Some(i) = text.find(prompt) {
                seen += i + prompt.len();
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(chunk) => shown.extend(chunk),
                Err(_) => panic!(
                    "no prompt {prompt:?}; the terminal showed {:?}",
                    String::from_utf8_lossy(&shown)
                ),
            }
        }
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .expect("type");
        stdin.flush().expect("flush");
    }
    let status = child.wait().expect("wait");
    drop(stdin);
    while let Ok(chunk) = rx.recv_timeout(Duration::from_secs(2)) {
        shown.extend(chunk);
    }
    (
        status.code().expect("exit code"),
        String::from_utf8_lossy(&shown).replace("\r\n", "\n"),
    )
}

#[test]
fn terminal_prompts_twice_without_echo() {
    let (code, shown) = run_on_tty(
        &["hash", "--scheme", "bcrypt", "--cost", "4"],
        &[
            ("Password: ", "Tty-Secret"),
            ("Reenter password: ", "Tty-Secret"),
        ],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains("Tty-Secret"),
        "the password was echoed: {shown}"
    );
    let hash = shown
        .lines()
        .find(|l| l.starts_with("$2b$04$"))
        .unwrap_or_else(|| panic!("no hash in {shown:?}"));
    assert!(verifies(hash, b"Tty-Secret"));

    let (code, shown) = run_on_tty(
        &["hash"],
        &[("Password: ", "one"), ("Reenter password: ", "two")],
    );
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains("mosq-auth: passwords do not match"),
        "{shown}"
    );
    assert!(!shown.contains('$'), "{shown}");

    let d = tmp();
    let file = d.path().join("passwd");
    let (code, shown) = run_on_tty(
        &["passwd", s(&file), "add", "alice"],
        &[
            ("Password: ", "Tty-Secret"),
            ("Reenter password: ", "Tty-Secret"),
        ],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(
        !shown.contains("Tty-Secret") && !shown.contains('$'),
        "{shown}"
    );
    assert!(verifies(&hash_of(&file, "alice"), b"Tty-Secret"));

    // check prompts once.
    fs::write(
        d.path().join("mosquitto.conf"),
        format!(
            "plugin /x/libmosq_auth.so\nplugin_opt_backends files\nplugin_opt_password_file {}\n",
            s(&file)
        ),
    )
    .expect("write conf");
    let conf = d.path().join("mosquitto.conf");
    let (code, shown) = run_on_tty(
        &["check", "-c", s(&conf), "-u", "alice", "--password-stdin"],
        &[("Password: ", "Tty-Secret")],
    );
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("auth: user 'alice': ALLOW"), "{shown}");
    assert!(!shown.contains("Tty-Secret"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// passwd

#[test]
fn passwd_add_creates_the_file_with_mode_0640() {
    let d = tmp();
    let file = d.path().join("passwd");
    let out = run(&["passwd", s(&file), "add", "alice"], "alice-pw\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!("added user 'alice' to {}\n", s(&file)));
    assert!(out.stderr.contains("0640"), "{out:?}");
    let meta = fs::metadata(&file).expect("created");
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert!(verifies(&hash_of(&file, "alice"), b"alice-pw"));
    // The plugin's own parser reads it.
    let (pf, warnings) = PasswordFile::load(&file, SaltEncoding::Auto).expect("load");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(pf.check("alice", b"alice-pw"), Decision::Allow);
    assert_eq!(pf.check("alice", b"nope"), Decision::Deny);
}

#[test]
fn passwd_add_updates_in_place_and_keeps_everything_else() {
    let d = tmp();
    let file = d.path().join("passwd");
    let bob = mosquitto_passwd_line("bob", "bob-pw");
    let original = format!(
        "# users of the plant\n\nalice:$6$old$old\r\n  # indented comment\n{bob}\nalice:$7$duplicate\ndave:x"
    );
    fs::write(&file, &original).expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o604)).expect("chmod");

    let out = run(&["passwd", s(&file), "add", "alice"], "new-alice-pw\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("updated user 'alice' in {}\n", s(&file))
    );
    let text = fs::read_to_string(&file).expect("read");
    let alice = hash_of(&file, "alice");
    assert!(verifies(&alice, b"new-alice-pw"));
    // Same place, same CRLF ending; the ignored duplicate line is gone; the rest is untouched.
    assert_eq!(
        text,
        format!("# users of the plant\n\nalice:{alice}\r\n  # indented comment\n{bob}\ndave:x")
    );
    assert_eq!(fs::metadata(&file).expect("stat").mode() & 0o7777, 0o604);

    // Appending to a file without a final newline adds one first.
    let out = run(
        &[
            "passwd",
            s(&file),
            "add",
            "--scheme",
            "bcrypt",
            "--cost",
            "4",
            "erin",
        ],
        "erin-pw\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, format!("added user 'erin' to {}\n", s(&file)));
    let text = fs::read_to_string(&file).expect("read");
    assert!(text.contains("\ndave:x\nerin:$2b$04$"), "{text}");
    assert!(text.ends_with('\n'));
    assert!(verifies(&hash_of(&file, "erin"), b"erin-pw"));
    // bob's mosquitto_passwd line is still good.
    assert!(verifies(&hash_of(&file, "bob"), b"bob-pw"));
    assert_eq!(fs::metadata(&file).expect("stat").mode() & 0o7777, 0o604);
}

#[test]
fn passwd_list_prints_usernames_only() {
    let d = tmp();
    let file = d.path().join("passwd");
    let alice = mosquitto_passwd_line("alice", "pw");
    fs::write(
        &file,
        format!("# comment:with colon\n{alice}\n  bob:$7$x\nalice:$7$dup\nbroken line\n:nouser\n"),
    )
    .expect("write");
    let out = run(&["passwd", s(&file), "list"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "alice\nbob\n");
    assert!(!out.stdout.contains('$'));
}

#[test]
fn passwd_delete() {
    let d = tmp();
    let file = d.path().join("passwd");
    fs::write(&file, "# keep\nalice:$7$a\nbob:$7$b\n\nalice:$7$again\n").expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = run(&["passwd", s(&file), "delete", "alice"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        format!("deleted user 'alice' from {}\n", s(&file))
    );
    // Every line of alice goes (a later duplicate would otherwise come into force).
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        "# keep\nbob:$7$b\n\n"
    );
    assert_eq!(fs::metadata(&file).expect("stat").mode() & 0o7777, 0o600);

    let out = run(&["passwd", s(&file), "delete", "alice"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        format!("mosq-auth: {}: no user 'alice'\n", s(&file))
    );
    assert_eq!(
        fs::read_to_string(&file).expect("read"),
        "# keep\nbob:$7$b\n\n"
    );
}

#[test]
fn passwd_errors_name_the_file() {
    let d = tmp();
    let missing = d.path().join("missing");
    for args in [
        &["passwd", s(&missing), "list"][..],
        &["passwd", s(&missing), "delete", "bob"],
    ] {
        let out = run(args, "");
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(
            out.stderr
                .starts_with(&format!("mosq-auth: {}: ", s(&missing))),
            "{out:?}"
        );
    }
    assert!(!missing.exists());
    // A directory is not a password file.
    let out = run(&["passwd", s(d.path()), "add", "bob"], "pw\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out
        .stderr
        .starts_with(&format!("mosq-auth: {}: ", s(d.path()))));
}

#[test]
fn passwd_usage_errors() {
    let d = tmp();
    let file = d.path().join("passwd");
    fs::write(&file, "alice:$7$a\n").expect("write");
    let f = s(&file);
    for args in [
        &["passwd"][..],
        &["passwd", f],
        &["passwd", f, "add"],
        &["passwd", f, "delete"],
        &["passwd", f, "list", "alice"],
        &["passwd", f, "rename", "alice"],
        &["passwd", f, "add", "bob", "the-password"],
        &["passwd", f, "add", "a:b"],
        &["passwd", f, "add", " bob"],
        &["passwd", f, "add", "#bob"],
        &["passwd", f, "add", "bo\nb"],
        &["passwd", f, "add", "--scheme", "nope", "bob"],
        &[
            "passwd", f, "add", "--cost", "99", "--scheme", "bcrypt", "bob",
        ],
        &["passwd", f, "delete", "--scheme", "bcrypt", "alice"],
        &["passwd", f, "delete", "--scheme", "7", "alice"],
        &["passwd", f, "list", "--cost", "5"],
        &["passwd", f, "list", "--bogus"],
    ] {
        let out = run(args, "pw\n");
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("mosq-auth: "), "{out:?}");
    }
    assert_eq!(fs::read_to_string(&file).expect("read"), "alice:$7$a\n");
    // A refused password leaves the file alone.
    let out = run(&["passwd", f, "add", "bob"], "\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(fs::read_to_string(&file).expect("read"), "alice:$7$a\n");
}

/// A group of this process other than `primary`, if it is in one.
fn other_group(primary: u32) -> Option<u32> {
    // SAFETY: getgroups(2) with a buffer of the size it reported.
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let mut groups = vec![0 as libc::gid_t; n.max(0) as usize];
    let n = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
    groups.truncate(n.max(0) as usize);
    groups.into_iter().find(|&g| g != primary)
}

#[test]
fn passwd_keeps_owner_and_group() {
    let d = tmp();
    let file = d.path().join("passwd");
    fs::write(&file, "alice:$7$a\n").expect("write");
    // The rewrite goes through a new temporary file, which gets the writer's owner and primary
    // group: the tool must give it the original's. Root can hand the file to anyone; any
    // other user only to another of its own groups.
    let (uid, gid) = if running_as_root() {
        (4242, 4343)
    } else {
        let me = fs::metadata(&file).expect("stat");
        let other = other_group(me.gid()).unwrap_or_else(|| {
            panic!(
                "this test needs root or a user in a second group (a file's group must differ \
                 from the one a new file gets): run the suite as root, as `make test` does"
            )
        });
        (me.uid(), other)
    };
    std::os::unix::fs::chown(&file, Some(uid), Some(gid)).expect("chown");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).expect("chmod");
    for (args, stdin) in [
        (&["passwd", s(&file), "add", "bob"][..], "pw\n"),
        (&["passwd", s(&file), "delete", "alice"], ""),
    ] {
        let out = run(args, stdin);
        assert_eq!(out.code, 0, "{out:?}");
        let m = fs::metadata(&file).expect("stat");
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (uid, gid, 0o640));
    }
}

#[test]
fn passwd_follows_a_symlink() {
    let d = tmp();
    let real = d.path().join("real");
    let link = d.path().join("link");
    fs::write(&real, "alice:$7$a\n").expect("write");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let out = run(&["passwd", s(&link), "add", "bob"], "pw\n");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(fs::symlink_metadata(&link)
        .expect("lstat")
        .file_type()
        .is_symlink());
    assert!(verifies(&hash_of(&real, "bob"), b"pw"));
}

/// Names left in `dir` besides `keep`.
fn leftovers(dir: &Path, keep: &[&str]) -> Vec<String> {
    fs::read_dir(dir)
        .expect("readdir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect()
}

#[test]
fn passwd_never_leaves_a_partial_file_when_the_write_fails() {
    // The temporary file cannot grow past 1 KiB (RLIMIT_FSIZE, which binds root too; SIGXFSZ
    // ignored so the write fails with EFBIG instead of killing the tool): the original must
    // stay complete and no temporary file may be left behind.
    let d = tmp();
    let file = d.path().join("passwd");
    let original = format!("{}alice:$7$a\n", "# padding padding padding\n".repeat(400));
    fs::write(&file, &original).expect("write");
    let script = format!(
        "trap '' XFSZ; ulimit -f 2; exec '{}' passwd '{}' add bob",
        env!("CARGO_BIN_EXE_mosq-auth"),
        s(&file)
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"bob-pw\n")
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!("mosq-auth: {}: ", s(&file))),
        "{stderr}"
    );
    assert_eq!(fs::read_to_string(&file).expect("read"), original);
    assert_eq!(leftovers(d.path(), &["passwd"]), Vec::<String>::new());
}

#[test]
fn passwd_in_a_read_only_directory_fails_cleanly() {
    let d = tmp();
    let file = d.path().join("passwd");
    fs::write(&file, "alice:$7$a\n").expect("write");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o555)).expect("chmod");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mosq-auth"));
    cmd.args(["passwd", s(&file), "add", "bob"]);
    if running_as_root() {
        // Root writes into a read-only directory anyway: run the tool as `nobody`, for whom
        // the directory is read-only (the tool's path must be readable by other users).
        use std::os::unix::process::CommandExt;
        cmd.uid(65534).gid(65534);
    }
    let out = run_cmd(cmd, "pw\n");
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).expect("chmod back");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("temporary file"), "{out:?}");
    assert_eq!(fs::read_to_string(&file).expect("read"), "alice:$7$a\n");
    assert_eq!(leftovers(d.path(), &["passwd"]), Vec::<String>::new());
}

#[test]
fn passwd_add_reaches_a_running_broker_without_sighup() {
    let dir = Dir::new();
    dir.write("passwd", mosquitto_passwd_line("alice", "alice-pw") + "\n");
    dir.write(
        "acl",
        "user alice\ntopic readwrite alice/#\nuser newuser\ntopic readwrite new/#\n",
    );
    let b = Broker::start_in(
        dir,
        "allow_anonymous false\n\
         plugin {plugin}\n\
         plugin_opt_backends files\n\
         plugin_opt_password_file {dir}/passwd\n\
         plugin_opt_acl_file {dir}/acl\n\
         plugin_opt_reload_interval 1\n",
        Start::default(),
    );
    let passwd = b.dir.path().join("passwd");
    assert!(Mqtt::connect(Proto::V5, b.port, "n0", Some(("newuser", "new-pw"))).is_err());

    let out = run(&["passwd", s(&passwd), "add", "newuser"], "new-pw\n");
    assert_eq!(out.code, 0, "{out:?}");
    wait_for(
        || Mqtt::connect(Proto::V5, b.port, "n1", Some(("newuser", "new-pw"))).is_ok(),
        "the new user to be let in",
    );
    assert!(!b.log().contains("Reloading config"), "{}", b.log());
    let m = Mqtt::ok(Proto::V311, b.port, "n2", Some(("newuser", "new-pw")));
    assert_eq!(m.subscribe("new/#"), 1, "{}", b.log());
    drop(m);
    // alice is untouched.
    Mqtt::ok(Proto::V5, b.port, "a1", Some(("alice", "alice-pw")));

    // `check` reads the broker's own mosquitto.conf and agrees.
    let conf = b.dir.path().join("mosquitto.conf");
    let out = run(
        &[
            "check",
            "-c",
            s(&conf),
            "-u",
            "newuser",
            "--password-stdin",
            "-t",
            "new/x",
            "-a",
            "write",
        ],
        "new-pw\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("auth: user 'newuser': ALLOW"),
        "{out:?}"
    );

    // Deleting the user locks them out again, still without SIGHUP.
    let out = run(&["passwd", s(&passwd), "delete", "newuser"], "");
    assert_eq!(out.code, 0, "{out:?}");
    wait_for(
        || Mqtt::connect(Proto::V5, b.port, "n3", Some(("newuser", "new-pw"))).is_err(),
        "the deleted user to be refused",
    );
}

// ---------------------------------------------------------------------------------------------
// check

/// A directory with a password file (alice, bob), an ACL file and `mosquitto.conf` using
/// relative paths (so `check` must run there, like the broker).
struct Site {
    dir: tempfile::TempDir,
}

const ACL: &str = "\
# plant ACL
user alice
topic readwrite alice/#
topic deny alice/secret
user bob
topic read alice/public
pattern write clients/%c/#
";

impl Site {
    fn new(conf: &str) -> Site {
        let dir = tmp();
        let passwd = dir.path().join("passwd");
        for (u, p) in [("alice", "alice-pw"), ("bob", "bob-pw")] {
            let out = run(
                &["passwd", s(&passwd), "add", "--iterations", "5", u],
                &format!("{p}\n"),
            );
            assert_eq!(out.code, 0, "{out:?}");
        }
        fs::write(dir.path().join("acl"), ACL).expect("write acl");
        fs::write(dir.path().join("mosquitto.conf"), conf).expect("write conf");
        Site { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&p, text).expect("write");
        p
    }

    fn check(&self, args: &[&str], stdin: &str) -> Out {
        let mut all = vec!["check", "-c", "mosquitto.conf"];
        all.extend_from_slice(args);
        run_in(self.path(), &all, stdin)
    }
}

const CONF: &str = "\
listener 1883
allow_anonymous false
plugin /usr/lib/x86_64-linux-gnu/mosquitto/libmosq_auth.so
plugin_opt_backends files
plugin_opt_password_file passwd
plugin_opt_acl_file acl
plugin_opt_superusers admin*, root
";

#[test]
fn check_acl_allow_deny_and_rule() {
    let site = Site::new(CONF);
    let out = site.check(
        &["--user", "alice", "--topic", "alice/x", "--access", "write"],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "acl: write 'alice/x' for user 'alice': ALLOW — allowed by backend files \
         (acl:3: topic readwrite alice/#)\n"
    );
    assert!(out.stderr.is_empty(), "{out:?}");

    let out = site.check(&["-u", "alice", "-t", "alice/secret", "-a", "read"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.starts_with(
            "acl: read 'alice/secret' for user 'alice': DENY — denied by backend files (acl:4:"
        ),
        "{out:?}"
    );

    let out = site.check(&["-u", "bob", "-t", "alice/public", "-a", "write"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains(": DENY — "), "{out:?}");

    let out = site.check(&["-u", "bob", "-t", "alice/public", "-a", "subscribe"], "");
    assert_eq!(out.code, 0, "{out:?}");

    // %c patterns use the client id.
    let out = site.check(
        &[
            "-u",
            "bob",
            "-i",
            "dev1",
            "-t",
            "clients/dev1/t",
            "-a",
            "write",
        ],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("for user 'bob' (client 'dev1'): ALLOW"),
        "{out:?}"
    );
    let out = site.check(
        &[
            "-u",
            "bob",
            "-i",
            "dev2",
            "-t",
            "clients/dev1/t",
            "-a",
            "write",
        ],
        "",
    );
    assert_eq!(out.code, 1, "{out:?}");

    let out = site.check(
        &["-u", "alice", "-t", "alice/secret", "-a", "unsubscribe"],
        "",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("unsubscribe is always allowed"),
        "{out:?}"
    );
}

#[test]
fn check_superuser_and_unknown_user() {
    let site = Site::new(CONF);
    let out = site.check(&["-u", "admin7", "-t", "any/#", "-a", "subscribe"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("ALLOW — 'admin7' is a superuser (auth_opt_superusers pattern 'admin*')"),
        "{out:?}"
    );

    let out = site.check(&["-u", "mallory", "--password-stdin"], "whatever\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stdout,
        "auth: user 'mallory': REFUSE — no backend knows this user: the broker refuses the client\n"
    );
    let out = site.check(&["-u", "mallory", "-t", "alice/x", "-a", "read"], "");
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn check_password_then_acl() {
    let site = Site::new(CONF);
    let out = site.check(
        &["-u", "alice", "-p", "-t", "alice/x", "-a", "write"],
        "alice-pw\n",
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "auth: user 'alice': ALLOW — allowed by backend files\n\
         acl: write 'alice/x' for user 'alice': ALLOW — allowed by backend files (acl:3: topic readwrite alice/#)\n"
    );

    // Good password, denied topic.
    let out = site.check(
        &["-u", "alice", "-p", "-t", "alice/secret", "-a", "write"],
        "alice-pw\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("auth: user 'alice': ALLOW"), "{out:?}");
    assert!(out.stdout.contains(": DENY — "), "{out:?}");

    // A wrong password stops before the ACL, and is never shown.
    let out = site.check(
        &["-u", "alice", "-p", "-t", "alice/x", "-a", "write"],
        "Wr0ngSecret\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stdout,
        "auth: user 'alice': REFUSE — refused by backend files\n"
    );
    assert!(!out.stdout.contains("Wr0ngSecret") && !out.stderr.contains("Wr0ngSecret"));
    // ... even with the plugin's logging turned all the way up.
    let out = site.check(&["-u", "alice", "-p", "-v"], "Wr0ngSecret\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("started"), "{out:?}");
    assert!(!out.stdout.contains("Wr0ngSecret") && !out.stderr.contains("Wr0ngSecret"));
    assert!(!out.stderr.contains("$7$"), "{out:?}");

    // An empty password is what the broker passes for none: refused.
    let out = site.check(&["-u", "alice", "-p"], "\n");
    assert_eq!(out.code, 1, "{out:?}");
}

#[test]
fn check_anonymous_follows_allow_anonymous() {
    let site = Site::new(CONF);
    let out = site.check(&["-t", "alice/x", "-a", "read"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stdout,
        "auth: anonymous client: REFUSE — the plugin defers anonymous clients to the broker: \
         allow_anonymous false (mosquitto.conf:2)\n"
    );

    let site = Site::new(&CONF.replace("allow_anonymous false", "allow_anonymous true"));
    let out = site.check(&["-t", "alice/x", "-a", "read"], "");
    assert!(
        out.stdout.starts_with("auth: anonymous client: ALLOW"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("\nacl: read 'alice/x' for anonymous client: "),
        "{out:?}"
    );
    let out = site.check(&[], "");
    assert_eq!(out.code, 0, "{out:?}");

    let site = Site::new(&CONF.replace("allow_anonymous false\n", ""));
    let out = site.check(&[], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("default: false"), "{out:?}");
}

#[test]
fn check_follows_include_dir_in_sorted_order() {
    let site = Site::new("listener 1883\ninclude_dir conf.d\n");
    // Each file has its own plugin block (mosquitto ties options to a plugin line of the same
    // file); 10-first.conf sorts first, so its block is the one checked.
    site.write(
        "conf.d/20-second.conf",
        "plugin /x/libmosq_auth.so\nplugin_opt_backends files\nplugin_opt_password_file passwd\nplugin_opt_superusers bob\n",
    );
    site.write(
        "conf.d/10-first.conf",
        "plugin /x/libmosq_auth.so\nplugin_opt_backends files\nplugin_opt_password_file passwd\n\
         auth_opt_acl_file acl\nauth_opt_superusers alice\n",
    );
    site.write("conf.d/30-ignored.txt", "this is not a config line\n");
    let out = site.check(&["-u", "alice", "-t", "anything", "-a", "write"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("'alice' is a superuser"), "{out:?}");
    assert!(out.stderr.contains("2 plugin blocks"), "{out:?}");
    assert!(out.stderr.contains("10-first.conf:1"), "{out:?}");
    let out = site.check(&["-u", "bob", "-t", "anything", "-a", "write"], "");
    assert_eq!(out.code, 1, "{out:?}");

    // An option in a file without a plugin line is an error there, as in mosquitto.
    site.write("conf.d/40-orphan.conf", "\nplugin_opt_superusers *\n");
    let out = site.check(&["-u", "bob", "-t", "anything", "-a", "write"], "");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with(
            "mosq-auth: conf.d/40-orphan.conf:2: plugin_opt_superusers without a plugin"
        ),
        "{out:?}"
    );
}

const PER_LISTENER: &str = "\
per_listener_settings true

listener 1883
allow_anonymous true
plugin /usr/lib/mosq_auth.so
plugin_opt_backends files
plugin_opt_password_file passwd
plugin_opt_superusers alice

listener 8883
plugin /usr/lib/mosq_auth.so
plugin_opt_backends files
plugin_opt_password_file passwd
plugin_opt_acl_file acl
";

#[test]
fn check_per_listener_settings() {
    let site = Site::new(PER_LISTENER);
    let args = ["-u", "alice", "-t", "alice/secret", "-a", "write"];
    // Default: the first block (listener 1883), where alice is a superuser.
    let out = site.check(&args, "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("superuser"), "{out:?}");
    assert!(out.stderr.contains("mosquitto.conf:5"), "{out:?}");

    let mut with = args.to_vec();
    with.extend(["--listener", "8883"]);
    let out = site.check(&with, "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout
            .contains("DENY — denied by backend files (acl:4:"),
        "{out:?}"
    );
    assert!(out.stderr.is_empty(), "{out:?}");

    // allow_anonymous is per listener too.
    assert_eq!(site.check(&["--listener", "1883"], "").code, 0);
    let out = site.check(&["--listener=8883"], "");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("not set"), "{out:?}");

    let out = site.check(
        &["-u", "alice", "-t", "a", "-a", "read", "--listener", "9999"],
        "",
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no listener 9999"), "{out:?}");

    // `port` names the default listener: the settings before any `listener` line.
    let site = Site::new(&PER_LISTENER.replace("listener 1883", "port 1884"));
    let out = site.check(&["-u", "alice", "-t", "x", "-a", "read", "-l", "1884"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("superuser"), "{out:?}");

    // Without per_listener_settings, plugins are global: any listener uses the first block.
    let site = Site::new(&PER_LISTENER.replace("per_listener_settings true", ""));
    let out = site.check(&with, "");
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn check_usage_and_config_errors_exit_2() {
    let site = Site::new(CONF);
    for args in [
        &["-u", "alice"][..],
        &["-t", "alice/x"],
        &["-a", "read"],
        &["-t", "alice/x", "-a", "publish"],
        &["-t", "alice/#", "-a", "write"],
        &["--password-stdin"],
        &["-u", "alice", "extra"],
        &["--bogus"],
        &["-v=yes", "-t", "a", "-a", "read"],
    ] {
        let out = site.check(args, "pw\n");
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.starts_with("mosq-auth: "), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    let out = run_in(site.path(), &["check", "-t", "a", "-a", "read"], "");
    assert_eq!(out.code, 2, "{out:?}");

    for (conf, expect) in [
        (
            "listener 1883\n",
            "mosquitto.conf: no plugin or auth_plugin line",
        ),
        (
            "auth_opt_backends files\n",
            "mosquitto.conf:1: auth_opt_backends without a plugin",
        ),
        (
            "plugin /x/libmosq_auth.so\nplugin_opt_backends\n",
            "mosquitto.conf:2: empty plugin_opt_backends value",
        ),
        (
            "per_listener_settings maybe\n",
            "mosquitto.conf:1: per_listener_settings: expected true or false",
        ),
        (
            "include_dir nowhere\n",
            "mosquitto.conf:1: include_dir nowhere: ",
        ),
        (
            "plugin /x/libmosq_auth.so\nplugin_opt_password_file passwd\n",
            "mosquitto.conf:1: option auth_opt_backends is required",
        ),
        (
            "plugin /x/libmosq_auth.so\nplugin_opt_backends files\nplugin_opt_password_file nope\n",
            "mosquitto.conf:1: files: cannot read the password file nope",
        ),
        (
            "plugin /x/libmosq_auth.so\nplugin_opt_backends files, carrier-pigeon\n",
            "mosquitto.conf:1: option auth_opt_backends: invalid value",
        ),
        // Seconds past what a Duration holds: exit 2 naming the option, not a panic (101).
        (
            "plugin /x/libmosq_auth.so\nplugin_opt_backends files\nplugin_opt_password_file passwd\nplugin_opt_reload_interval 1e20\n",
            "mosquitto.conf:1: option auth_opt_reload_interval: invalid value '1e20'",
        ),
    ] {
        site.write("mosquitto.conf", conf);
        let out = site.check(&["-u", "alice", "-t", "alice/x", "-a", "read"], "");
        assert_eq!(out.code, 2, "{conf}: {out:?}");
        assert!(
            out.stderr.starts_with(&format!("mosq-auth: {expect}")),
            "{conf}: {out:?}"
        );
    }
    let out = run_in(
        site.path(),
        &["check", "-c", "missing.conf", "-t", "a", "-a", "read"],
        "",
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.starts_with("mosq-auth: missing.conf: "),
        "{out:?}"
    );
}

#[test]
fn check_relative_paths_are_relative_to_the_working_directory() {
    let site = Site::new(CONF);
    // Run from elsewhere: `passwd` and `acl` are not found there, like for a broker started
    // in another directory.
    let elsewhere = tmp();
    let conf = site.path().join("mosquitto.conf");
    let out = run_in(
        elsewhere.path(),
        &[
            "check",
            "-c",
            s(&conf),
            "-u",
            "alice",
            "-t",
            "alice/x",
            "-a",
            "write",
        ],
        "",
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("passwd"), "{out:?}");
}

#[test]
fn check_warns_about_unknown_options_and_skips_metrics() {
    let site = Site::new(&format!(
        "{CONF}plugin_opt_pasword_file passwd\nplugin_opt_metrics_listen 127.0.0.1:1\n"
    ));
    let out = site.check(&["-u", "alice", "-t", "alice/x", "-a", "write"], "");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("mosq-auth: warning: unknown option"),
        "{out:?}"
    );
    assert!(out.stderr.contains("password_file"), "{out:?}");
    assert!(!out.stderr.contains("metrics"), "{out:?}");
}

#[test]
fn check_exits_3_when_a_backend_fails() {
    // An HTTP backend pointed at a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tmp();
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "plugin /x/libmosq_auth.so\nplugin_opt_backends http\nplugin_opt_http_host 127.0.0.1\n\
             plugin_opt_http_port {port}\nplugin_opt_http_getuser_uri /auth\nplugin_opt_http_aclcheck_uri /acl\n\
             plugin_opt_http_timeout 2\n"
        ),
    )
    .unwrap();
    let out = run(
        &[
            "check",
            "-c",
            s(&conf),
            "-u",
            "alice",
            "-t",
            "alice/x",
            "-a",
            "write",
        ],
        "",
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("backend http failed"), "{out:?}");
    let out = run(
        &["check", "-c", s(&conf), "-u", "alice", "--password-stdin"],
        "s3cret-pw\n",
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        !out.stdout.contains("s3cret-pw") && !out.stderr.contains("s3cret-pw"),
        "{out:?}"
    );
}
