//! A real mosquitto on a free 127.0.0.1 port: its own temporary directory (readable by the
//! `mosquitto` user the broker drops to when started as root), a generated config and a log,
//! killed when its [`Broker`] is dropped, also when the test fails.
//!
//! This file is shared: the integration tests (`tests/it`) and the load bench (`benches/load`,
//! by `#[path]`) both compile it, so everything here is used by both; what only the tests need
//! is in `support/mod.rs`, what only the bench needs in `benches/load/`.
//!
//! The broker is `MOSQUITTO_BIN` when set (e.g. a 2.1 built into `target/`, run with its
//! `LD_LIBRARY_PATH`, which the broker inherits unchanged), else `mosquitto` on `PATH`,
//! `/usr/sbin` or `/usr/local/sbin`.
//!
//! `MOSQ_AUTH_TEST_BROKER_WRAPPER` (words split on whitespace) is the default
//! [`Start::wrapper`]: every broker a test starts runs under it, e.g. `scripts/valgrind.sh`'s
//! `valgrind --tool=memcheck ...`. With a wrapper set, a broker gets [`start_wait`] to listen
//! instead of 20 s.

use std::fmt;
use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The environment variable whose words are the default [`Start::wrapper`].
pub const WRAPPER_ENV: &str = "MOSQ_AUTH_TEST_BROKER_WRAPPER";

/// The default wrapper: the words of `MOSQ_AUTH_TEST_BROKER_WRAPPER`, empty when unset.
pub fn default_wrapper() -> Vec<String> {
    std::env::var(WRAPPER_ENV)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// How long a broker may take to listen: 20 s, or 120 s under a wrapper (valgrind's memcheck
/// starts mosquitto and the plugin in 5 to 15 s on two busy cores).
pub fn start_wait(wrapper: &[String]) -> Duration {
    if wrapper.is_empty() {
        Duration::from_secs(20)
    } else {
        Duration::from_secs(120)
    }
}

/// The mosquitto broker binary: `MOSQUITTO_BIN`, else the first `mosquitto` on `PATH`,
/// `/usr/sbin` or `/usr/local/sbin`; panics with the install command when there is none.
pub fn mosquitto_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MOSQUITTO_BIN") {
        return PathBuf::from(p);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join("mosquitto")).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "the mosquitto broker is not installed: run `apt-get install -y mosquitto mosquitto-clients` \
             (or `make test`, which installs it), or set MOSQUITTO_BIN"
        )
    })
}

/// The first line of `mosquitto -h` (`mosquitto version 2.0.11`).
pub fn version_line() -> String {
    let bin = mosquitto_bin();
    // `mosquitto -h` prints its usage and exits with status 3 (2.0) or 0; only the text counts.
    let out = Command::new(&bin)
        .arg("-h")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} -h: {e}", bin.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find(|l| l.starts_with("mosquitto version "))
        .unwrap_or_else(|| panic!("{} -h printed no version line:\n{text}", bin.display()))
        .trim()
        .to_string()
}

/// A temporary directory the broker (running as the `mosquitto` user) can read.
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        let dir = tempfile::Builder::new()
            .prefix("mosq-auth-test")
            .tempdir()
            .expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        Dir(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes `name` (world-readable, parent directories created) and returns its path.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.0.path().join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&p, content).expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
        p
    }
}

/// A port on 127.0.0.1 that was free a moment ago (a broker start retries when it is taken).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// How to start a broker. `Start::default()` takes its wrapper from
/// `MOSQ_AUTH_TEST_BROKER_WRAPPER` ([`default_wrapper`]).
#[derive(Clone)]
pub struct Start {
    /// Extra environment variables for the broker (on top of this process's environment,
    /// `LD_LIBRARY_PATH` included).
    pub env: Vec<(String, String)>,
    /// Lines placed before the listener line (global settings).
    pub global: String,
    /// The plugin `{plugin}` in the config stands for.
    pub plugin: Option<PathBuf>,
    /// Log errors and warnings only, no connection messages (for load runs); else everything.
    pub quiet: bool,
    /// A command the broker runs under, e.g. `["valgrind", "--tool=callgrind"]`.
    pub wrapper: Vec<String>,
}

impl Default for Start {
    fn default() -> Start {
        Start {
            env: Vec::new(),
            global: String::new(),
            plugin: None,
            quiet: false,
            wrapper: default_wrapper(),
        }
    }
}

/// Why a broker did not start.
#[derive(Debug)]
pub struct StartFailure {
    /// How it exited, if it did (else it never listened and was killed).
    pub status: Option<ExitStatus>,
    /// What it logged.
    pub log: String,
}

impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(s) => write!(f, "mosquitto exited at start-up ({s}):\n{}", self.log),
            None => write!(
                f,
                "mosquitto did not listen in time ({:?}, {:?} under a wrapper):\n{}",
                start_wait(&[]),
                start_wait(&[String::new()]),
                self.log
            ),
        }
    }
}

/// A running broker.
pub struct Broker {
    pub port: u16,
    pub dir: Dir,
    child: Child,
    /// How long [`Drop`] waits after SIGTERM: longer under a wrapper (valgrind writes its
    /// leak report at exit, which a SIGKILL would lose).
    stop_wait: Duration,
}

impl Broker {
    /// Starts mosquitto in `dir` with a config of `start.global`, the logging lines, a
    /// `listener PORT 127.0.0.1` line and `body`. In `global` and `body`, `{plugin}` is
    /// `start.plugin`, `{dir}` the directory and `{port}` the port. Retries on a port taken
    /// between choosing and binding it.
    pub fn try_start(dir: Dir, body: &str, start: &Start) -> Result<Broker, StartFailure> {
        let bin = mosquitto_bin();
        let logging = if start.quiet {
            "log_type error\nlog_type warning\nconnection_messages false"
        } else {
            "log_type all"
        };
        let mut failure = None;
        for _attempt in 0..5 {
            let port = free_port();
            let subst = |s: &str| {
                let s = s
                    .replace("{dir}", &dir.path().display().to_string())
                    .replace("{port}", &port.to_string());
                match &start.plugin {
                    Some(p) => s.replace("{plugin}", &p.display().to_string()),
                    None => {
                        assert!(!s.contains("{plugin}"), "{{plugin}} without Start::plugin");
                        s
                    }
                }
            };
            let conf = format!(
                "{}\nlog_dest stderr\n{logging}\nlistener {port} 127.0.0.1\n{}\n",
                subst(&start.global),
                subst(body)
            );
            let conf_path = dir.write("mosquitto.conf", conf);
            let log = dir.path().join("broker.log");
            let log_file = fs::File::create(&log).expect("log file");
            let mut cmd = match start.wrapper.split_first() {
                Some((w, args)) => {
                    let mut c = Command::new(w);
                    c.args(args).arg(&bin);
                    c
                }
                None => Command::new(&bin),
            };
            cmd.arg("-c")
                .arg(&conf_path)
                .envs(start.env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("dup"))
                .stderr(log_file);
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let wait = start_wait(&start.wrapper);
            let deadline = Instant::now() + wait;
            let f = loop {
                if let Ok(Some(status)) = child.try_wait() {
                    break StartFailure {
                        status: Some(status),
                        log: fs::read_to_string(&log).unwrap_or_default(),
                    };
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    let stop_wait = if start.wrapper.is_empty() {
                        Duration::from_secs(5)
                    } else {
                        Duration::from_secs(60)
                    };
                    return Ok(Broker {
                        port,
                        dir,
                        child,
                        stop_wait,
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(StartFailure {
                        status: None,
                        log: fs::read_to_string(&log).unwrap_or_default(),
                    });
                }
                thread::sleep(Duration::from_millis(20));
            };
            let retry = f.log.contains("Address already in use");
            failure = Some(f);
            if !retry {
                break;
            }
        }
        Err(failure.expect("at least one attempt"))
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("broker.log")).unwrap_or_default()
    }

    /// The broker's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // SIGTERM first so the plugin's cleanup runs; then make sure.
        // SAFETY: plain kill(2) on our child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + self.stop_wait;
        while Instant::now() < deadline {
            // Err: already reaped by the test (waitpid), nothing left to stop.
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
