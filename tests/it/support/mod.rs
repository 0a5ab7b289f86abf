//! The harness the tests share: a real broker with the freshly built plugin ([`broker`], also
//! compiled into the load bench), MQTT clients ([`mqtt`]), a real HTTP server ([`http`]),
//! throwaway certificates ([`tls`]) and the example auth service ([`example_service`]). What
//! only the tests need of the broker (start helpers, client tools, [`broker_version`]) is here.

pub mod broker;
pub mod example_service;
pub mod http;
pub mod mqtt;
pub mod tls;

pub use broker::*;
pub use example_service::*;
pub use http::*;
pub use mqtt::*;
pub use tls::*;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// How long to wait for anything the broker should do promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// The freshly built plugin. `cargo test` builds the cdylib into `target/<profile>/deps/` (next
/// to the test executable) but copies it up to `target/<profile>/` only on `cargo build`, so
/// the copy in `deps/` is the one that matches the code under test.
pub fn plugin_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let so = deps.join("libmosq_auth.so");
    assert!(
        so.exists(),
        "{} is missing: build the library first (cargo build)",
        so.display()
    );
    so
}

/// The broker's version, from the first line of `mosquitto -h` ("mosquitto version X.Y.Z"),
/// for the few places where 2.0 and 2.1 really behave differently.
pub fn broker_version() -> (u32, u32, u32) {
    let line = version_line();
    let v = line.trim_start_matches("mosquitto version ");
    let mut parts = v
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => (a, b, c),
        _ => panic!("cannot parse the broker version from {line:?}"),
    }
}

/// A mosquitto client tool (`mosquitto_pub`, `mosquitto_sub`, `mosquitto_passwd`): the one in
/// `../bin/` next to `MOSQUITTO_BIN` when there is one (a broker built with its clients into a
/// prefix), else `name` on `PATH`.
pub fn tool(name: &str) -> Command {
    let bin = mosquitto_bin();
    let beside = bin
        .parent()
        .and_then(|sbin| sbin.parent())
        .map(|prefix| prefix.join("bin").join(name));
    match beside {
        Some(p) if std::env::var_os("MOSQUITTO_BIN").is_some() && p.is_file() => Command::new(p),
        _ => Command::new(name),
    }
}

/// Polls `cond` until it holds, failing the test after [`WAIT`].
pub fn wait_for(mut cond: impl FnMut() -> bool, what: &str) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// A password file line made by the broker's `mosquitto_passwd` (its default hash), for
/// `user`/`password`.
pub fn mosquitto_passwd_line(user: &str, password: &str) -> String {
    let dir = Dir::new();
    let p = dir.write("pw", "");
    let status = tool("mosquitto_passwd")
        .arg("-b")
        .arg(&p)
        .arg(user)
        .arg(password)
        .status()
        .expect("mosquitto_passwd is missing: apt-get install -y mosquitto");
    assert!(status.success(), "mosquitto_passwd failed");
    fs::read_to_string(&p).expect("read pw").trim().to_string()
}

impl Broker {
    /// Starts a broker whose config is `body` after a `listener PORT 127.0.0.1` line. In `body`,
    /// `{plugin}` is the freshly built plugin, `{dir}` the test directory and `{port}` the port.
    /// `files` are written into the directory first.
    pub fn start(body: &str, files: &[(&str, &str)]) -> Broker {
        Broker::start_with(body, files, Start::default())
    }

    /// As [`Broker::start`], with plugin API v4 (`MOSQ_AUTH_PLUGIN_API=4`).
    pub fn start_v4(body: &str, files: &[(&str, &str)]) -> Broker {
        let start = Start {
            env: vec![("MOSQ_AUTH_PLUGIN_API".into(), "4".into())],
            ..Start::default()
        };
        Broker::start_with(body, files, start)
    }

    /// As [`Broker::start`], with more settings.
    pub fn start_with(body: &str, files: &[(&str, &str)], start: Start) -> Broker {
        Broker::start_in(with_files(files), body, start)
    }

    /// Starts a broker in an existing directory; panics with its log when it does not start.
    pub fn start_in(dir: Dir, body: &str, mut start: Start) -> Broker {
        start.plugin.get_or_insert_with(plugin_path);
        Broker::try_start(dir, body, &start).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs mosquitto with `body` and expects it to refuse to start; returns its output.
    pub fn start_fails(body: &str, files: &[(&str, &str)]) -> String {
        let start = Start {
            plugin: Some(plugin_path()),
            ..Start::default()
        };
        match Broker::try_start(with_files(files), body, &start) {
            Ok(b) => panic!(
                "mosquitto started although it should have refused the config:\n{}",
                b.log()
            ),
            Err(StartFailure {
                status: Some(status),
                log,
            }) => {
                assert!(!status.success(), "mosquitto exited successfully:\n{log}");
                log
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Sends SIGHUP (reload) and waits until the log shows the reload.
    pub fn sighup(&self) {
        let before = self.log().matches("Reloading config").count();
        // SAFETY: plain kill(2) on our child's pid.
        let rc = unsafe { libc::kill(self.pid() as i32, libc::SIGHUP) };
        assert_eq!(rc, 0, "kill -HUP");
        wait_for(
            || self.log().matches("Reloading config").count() > before,
            "the broker to reload",
        );
        // The reload is handled in the broker's next loop iteration after the log line.
        thread::sleep(Duration::from_millis(300));
    }
}

/// A new directory with `files` in it.
fn with_files(files: &[(&str, &str)]) -> Dir {
    let dir = Dir::new();
    for (name, content) in files {
        dir.write(name, content);
    }
    dir
}

#[test]
fn broker_version_parses_the_version_line() {
    let (major, minor, patch) = broker_version();
    let line = version_line();
    assert!(
        line.starts_with(&format!("mosquitto version {major}.{minor}.{patch}")),
        "{line} parsed as {major}.{minor}.{patch}"
    );
}

/// A plugin block with the HTTP backend in auth-plug's form (`/auth`, `/superuser`, `/acl`)
/// against a service on 127.0.0.1:`port`, logging at debug, then `extra` lines.
pub fn http_plugin_conf(port: u16, extra: &str) -> String {
    format!(
        "plugin {{plugin}}\n\
         plugin_opt_backends http\n\
         plugin_opt_http_hostname 127.0.0.1\n\
         plugin_opt_http_port {port}\n\
         plugin_opt_http_getuser_uri /auth\n\
         plugin_opt_http_superuser_uri /superuser\n\
         plugin_opt_http_aclcheck_uri /acl\n\
         plugin_opt_log_level debug\n\
         {extra}\n"
    )
}
