//! Test harness: Debian's real mosquitto on a free 127.0.0.1 port with the freshly built
//! plugin, and MQTT v3.1.1 / v5 clients that report exact CONNACK, SUBACK and PUBACK codes.
//!
//! The broker is found in `MOSQUITTO_BIN`, on `PATH` or in `/usr/sbin`; when it is missing the
//! test fails with the command that installs it. Each broker lives in its own temporary
//! directory (readable by the `mosquitto` user the broker drops to when started as root) and is
//! killed when its [`Broker`] is dropped, also when the test fails.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
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

/// The mosquitto broker binary.
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

/// A temporary directory the broker (running as the `mosquitto` user) can read.
pub struct Dir {
    pub dir: tempfile::TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        let dir = tempfile::Builder::new()
            .prefix("mosq-auth-test")
            .tempdir()
            .expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        Dir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `name` (world-readable) and returns its path.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.dir.path().join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).expect("mkdir");
        }
        fs::write(&p, content).expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
        p
    }
}

impl Default for Dir {
    fn default() -> Dir {
        Dir::new()
    }
}

/// A running broker.
pub struct Broker {
    pub port: u16,
    pub dir: Dir,
    child: Child,
    log: PathBuf,
}

/// A port on 127.0.0.1 that was free a moment ago (a broker start retries when it is taken).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Options for starting a broker.
#[derive(Default, Clone)]
pub struct Start {
    /// Extra environment variables for the broker.
    pub env: Vec<(String, String)>,
    /// Lines placed before the listener line (global settings).
    pub global: String,
}

impl Broker {
    /// Starts a broker whose config is `body` after a `listener PORT 127.0.0.1` line. In `body`,
    /// `{plugin}` is the plugin's path, `{dir}` the test directory and `{port}` the port.
    /// Files are written into the directory first.
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

    /// Starts a broker, retrying on a port taken between choosing and binding it.
    pub fn start_with(body: &str, files: &[(&str, &str)], start: Start) -> Broker {
        let dir = Dir::new();
        for (name, content) in files {
            dir.write(name, content);
        }
        Broker::start_in(dir, body, start)
    }

    /// Starts a broker in an existing directory.
    pub fn start_in(dir: Dir, body: &str, start: Start) -> Broker {
        let bin = mosquitto_bin();
        let plugin = plugin_path();
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let subst = |s: &str| {
                s.replace("{plugin}", &plugin.display().to_string())
                    .replace("{dir}", &dir.path().display().to_string())
                    .replace("{port}", &port.to_string())
            };
            let log = dir.path().join("broker.log");
            let conf = format!(
                "{}\nlog_dest stderr\nlog_type all\nlistener {port} 127.0.0.1\n{}\n",
                subst(&start.global),
                subst(body)
            );
            let conf_path = dir.write("mosquitto.conf", conf);
            let log_file = fs::File::create(&log).expect("log file");
            let mut cmd = Command::new(&bin);
            cmd.arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().expect("dup"))
                .stderr(log_file);
            for (k, v) in &start.env {
                cmd.env(k, v);
            }
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let deadline = Instant::now() + WAIT;
            loop {
                if let Ok(Some(_status)) = child.try_wait() {
                    last_log = fs::read_to_string(&log).unwrap_or_default();
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Broker {
                        port,
                        dir,
                        child,
                        log,
                    };
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!(
                        "broker did not start listening within {WAIT:?}:\n{}",
                        fs::read_to_string(&log).unwrap_or_default()
                    );
                }
                thread::sleep(Duration::from_millis(20));
            }
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("broker exited at start-up:\n{last_log}");
    }

    /// Runs mosquitto with `body` and expects it to refuse to start; returns its output.
    pub fn start_fails(body: &str, files: &[(&str, &str)]) -> String {
        let dir = Dir::new();
        for (name, content) in files {
            dir.write(name, content);
        }
        let port = free_port();
        let body = body
            .replace("{plugin}", &plugin_path().display().to_string())
            .replace("{dir}", &dir.path().display().to_string());
        let conf = dir.write(
            "mosquitto.conf",
            format!("log_dest stderr\nlistener {port} 127.0.0.1\n{body}\n"),
        );
        let mut child = Command::new(mosquitto_bin())
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mosquitto");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut out = String::new();
                child.stdout.take().map(|mut s| s.read_to_string(&mut out));
                child.stderr.take().map(|mut s| s.read_to_string(&mut out));
                assert!(!status.success(), "mosquitto exited successfully:\n{out}");
                return out;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("mosquitto started although it should have refused the config");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The broker's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGHUP (reload) and waits until the log shows the reload.
    pub fn sighup(&self) {
        let before = self.log().matches("Reloading config").count();
        // SAFETY: plain kill(2) on our child's pid.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGHUP) };
        assert_eq!(rc, 0, "kill -HUP");
        wait_for(
            || self.log().matches("Reloading config").count() > before,
            "the broker to reload",
        );
        // The reload is handled in the broker's next loop iteration after the log line.
        thread::sleep(Duration::from_millis(300));
    }

    /// The broker's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // SAFETY: plain kill(2) on our child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
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

/// The MQTT protocol version a test client speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    V311,
    V5,
}

pub const PROTOS: [Proto; 2] = [Proto::V311, Proto::V5];

/// What the client's connection reported.
#[derive(Debug)]
enum Ev {
    ConnAck(u8),
    SubAck(Vec<u8>),
    PubAck(u8),
    Publish(String, Vec<u8>),
    Closed(String),
}

enum Handle {
    V3(rumqttc::Client),
    V5(rumqttc::v5::Client),
}

/// A connected MQTT client.
pub struct Mqtt {
    pub proto: Proto,
    handle: Handle,
    events: Receiver<Ev>,
    pending: std::cell::RefCell<Vec<Ev>>,
}

/// Why a connection did not succeed.
#[derive(Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// CONNACK with this return code / reason code.
    Refused(u8),
    /// The connection closed without a CONNACK.
    Closed(String),
}

fn v3_suback(c: &rumqttc::SubscribeReasonCode) -> u8 {
    match c {
        rumqttc::SubscribeReasonCode::Success(q) => *q as u8,
        rumqttc::SubscribeReasonCode::Failure => 0x80,
    }
}

fn v5_suback(c: &rumqttc::v5::mqttbytes::v5::SubscribeReasonCode) -> u8 {
    use rumqttc::v5::mqttbytes::v5::SubscribeReasonCode as S;
    match c {
        S::Success(q) => *q as u8,
        S::Failure | S::Unspecified => 0x80,
        S::ImplementationSpecific => 0x83,
        S::NotAuthorized => 0x87,
        S::TopicFilterInvalid => 0x8f,
        S::PkidInUse => 0x91,
        S::QuotaExceeded => 0x97,
        S::SharedSubscriptionsNotSupported => 0x9e,
        S::SubscriptionIdNotSupported => 0xa1,
        S::WildcardSubscriptionsNotSupported => 0xa2,
    }
}

fn v5_connack(c: &rumqttc::v5::mqttbytes::v5::ConnectReturnCode) -> u8 {
    use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as C;
    match c {
        C::Success => 0,
        C::UnspecifiedError => 0x80,
        C::MalformedPacket => 0x81,
        C::ProtocolError => 0x82,
        C::ImplementationSpecificError => 0x83,
        C::UnsupportedProtocolVersion => 0x84,
        C::ClientIdentifierNotValid => 0x85,
        C::BadUserNamePassword => 0x86,
        C::NotAuthorized => 0x87,
        C::ServerUnavailable => 0x88,
        C::ServerBusy => 0x89,
        C::Banned => 0x8a,
        C::BadAuthenticationMethod => 0x8c,
        _ => 0xff,
    }
}

fn v5_puback(r: &rumqttc::v5::mqttbytes::v5::PubAckReason) -> u8 {
    use rumqttc::v5::mqttbytes::v5::PubAckReason as P;
    match r {
        P::Success => 0,
        P::NoMatchingSubscribers => 0x10,
        P::UnspecifiedError => 0x80,
        P::ImplementationSpecificError => 0x83,
        P::NotAuthorized => 0x87,
        P::TopicNameInvalid => 0x90,
        P::PacketIdentifierInUse => 0x91,
        P::QuotaExceeded => 0x97,
        P::PayloadFormatInvalid => 0x99,
    }
}

impl Mqtt {
    /// Connects and waits for the CONNACK.
    pub fn connect(
        proto: Proto,
        port: u16,
        client_id: &str,
        creds: Option<(&str, &str)>,
    ) -> Result<Mqtt, ConnectError> {
        let (tx, rx) = channel();
        let handle = match proto {
            Proto::V311 => {
                let mut o = rumqttc::MqttOptions::new(client_id, "127.0.0.1", port);
                o.set_keep_alive(Duration::from_secs(30));
                if let Some((u, p)) = creds {
                    o.set_credentials(u, p);
                }
                let (client, mut conn) = rumqttc::Client::new(o, 100);
                thread::spawn(move || {
                    use rumqttc::{ConnectionError, Event, Packet};
                    for ev in conn.iter() {
                        let msg = match ev {
                            Ok(Event::Incoming(Packet::ConnAck(c))) => Ev::ConnAck(c.code as u8),
                            Ok(Event::Incoming(Packet::SubAck(s))) => {
                                Ev::SubAck(s.return_codes.iter().map(v3_suback).collect())
                            }
                            Ok(Event::Incoming(Packet::PubAck(_))) => Ev::PubAck(0),
                            Ok(Event::Incoming(Packet::Publish(p))) => {
                                Ev::Publish(p.topic.clone(), p.payload.to_vec())
                            }
                            Ok(_) => continue,
                            Err(ConnectionError::ConnectionRefused(code)) => {
                                let _ = tx.send(Ev::ConnAck(code as u8));
                                return;
                            }
                            Err(e) => {
                                let _ = tx.send(Ev::Closed(e.to_string()));
                                return;
                            }
                        };
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                });
                Handle::V3(client)
            }
            Proto::V5 => {
                let mut o = rumqttc::v5::MqttOptions::new(client_id, "127.0.0.1", port);
                o.set_keep_alive(Duration::from_secs(30));
                if let Some((u, p)) = creds {
                    o.set_credentials(u, p);
                }
                let (client, mut conn) = rumqttc::v5::Client::new(o, 100);
                thread::spawn(move || {
                    use rumqttc::v5::mqttbytes::v5::Packet;
                    use rumqttc::v5::{ConnectionError, Event};
                    for ev in conn.iter() {
                        let msg = match ev {
                            Ok(Event::Incoming(Packet::ConnAck(c))) => {
                                Ev::ConnAck(v5_connack(&c.code))
                            }
                            Ok(Event::Incoming(Packet::SubAck(s))) => {
                                Ev::SubAck(s.return_codes.iter().map(v5_suback).collect())
                            }
                            Ok(Event::Incoming(Packet::PubAck(p))) => {
                                Ev::PubAck(v5_puback(&p.reason))
                            }
                            Ok(Event::Incoming(Packet::Publish(p))) => Ev::Publish(
                                String::from_utf8_lossy(&p.topic).into_owned(),
                                p.payload.to_vec(),
                            ),
                            Ok(_) => continue,
                            Err(ConnectionError::ConnectionRefused(code)) => {
                                let _ = tx.send(Ev::ConnAck(v5_connack(&code)));
                                return;
                            }
                            Err(e) => {
                                let _ = tx.send(Ev::Closed(e.to_string()));
                                return;
                            }
                        };
                        if tx.send(msg).is_err() {
                            return;
                        }
                    }
                });
                Handle::V5(client)
            }
        };
        let m = Mqtt {
            proto,
            handle,
            events: rx,
            pending: Default::default(),
        };
        match m.events.recv_timeout(WAIT) {
            Ok(Ev::ConnAck(0)) => Ok(m),
            Ok(Ev::ConnAck(code)) => Err(ConnectError::Refused(code)),
            Ok(Ev::Closed(e)) => Err(ConnectError::Closed(e)),
            Ok(other) => panic!("expected CONNACK, got {other:?}"),
            Err(_) => panic!("no CONNACK within {WAIT:?}"),
        }
    }

    /// Connects and panics unless the broker accepts.
    pub fn ok(proto: Proto, port: u16, client_id: &str, creds: Option<(&str, &str)>) -> Mqtt {
        Mqtt::connect(proto, port, client_id, creds)
            .unwrap_or_else(|e| panic!("{proto:?} connect as {creds:?} failed: {e:?}"))
    }

    fn next(&self, timeout: Duration, mut want: impl FnMut(&Ev) -> bool) -> Option<Ev> {
        {
            let mut pending = self.pending.borrow_mut();
            if let Some(i) = pending.iter().position(&mut want) {
                return Some(pending.remove(i));
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(ev) if want(&ev) => return Some(ev),
                Ok(ev) => self.pending.borrow_mut().push(ev),
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Subscribes to one filter at QoS 1; returns the SUBACK code (0x01 granted, 0x80 / 0x87
    /// refused).
    pub fn subscribe(&self, filter: &str) -> u8 {
        match &self.handle {
            Handle::V3(c) => c
                .subscribe(filter, rumqttc::QoS::AtLeastOnce)
                .expect("subscribe"),
            Handle::V5(c) => c
                .subscribe(filter, rumqttc::v5::mqttbytes::QoS::AtLeastOnce)
                .expect("subscribe"),
        }
        match self.next(WAIT, |e| matches!(e, Ev::SubAck(_) | Ev::Closed(_))) {
            Some(Ev::SubAck(codes)) => codes[0],
            other => panic!("no SUBACK for {filter}: {other:?}"),
        }
    }

    /// Publishes at QoS 1 and returns the PUBACK reason (always 0 in MQTT 3.1.1).
    pub fn publish(&self, topic: &str, payload: &str) -> u8 {
        match &self.handle {
            Handle::V3(c) => c
                .publish(
                    topic,
                    rumqttc::QoS::AtLeastOnce,
                    false,
                    payload.as_bytes().to_vec(),
                )
                .expect("publish"),
            Handle::V5(c) => c
                .publish(
                    topic,
                    rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                    false,
                    payload.as_bytes().to_vec(),
                )
                .expect("publish"),
        }
        match self.next(WAIT, |e| matches!(e, Ev::PubAck(_) | Ev::Closed(_))) {
            Some(Ev::PubAck(code)) => code,
            other => panic!("no PUBACK for {topic}: {other:?}"),
        }
    }

    /// Publishes at QoS 0 (no acknowledgement).
    pub fn publish_qos0(&self, topic: &str, payload: &str) {
        match &self.handle {
            Handle::V3(c) => c
                .publish(
                    topic,
                    rumqttc::QoS::AtMostOnce,
                    false,
                    payload.as_bytes().to_vec(),
                )
                .expect("publish"),
            Handle::V5(c) => c
                .publish(
                    topic,
                    rumqttc::v5::mqttbytes::QoS::AtMostOnce,
                    false,
                    payload.as_bytes().to_vec(),
                )
                .expect("publish"),
        }
    }

    /// The next message delivered to this client within `timeout`.
    pub fn recv(&self, timeout: Duration) -> Option<(String, String)> {
        match self.next(timeout, |e| matches!(e, Ev::Publish(..))) {
            Some(Ev::Publish(t, p)) => Some((t, String::from_utf8_lossy(&p).into_owned())),
            _ => None,
        }
    }

    /// Returns true if and only if the connection has been closed.
    pub fn closed(&self, timeout: Duration) -> bool {
        self.next(timeout, |e| matches!(e, Ev::Closed(_))).is_some()
    }
}

impl Drop for Mqtt {
    fn drop(&mut self) {
        match &self.handle {
            Handle::V3(c) => {
                let _ = c.disconnect();
            }
            Handle::V5(c) => {
                let _ = c.disconnect();
            }
        }
    }
}

/// A password file line made by Debian's `mosquitto_passwd` (`$7$`), for `user`/`password`.
pub fn mosquitto_passwd_line(user: &str, password: &str) -> String {
    let dir = Dir::new();
    let p = dir.write("pw", "");
    let status = Command::new("mosquitto_passwd")
        .arg("-b")
        .arg(&p)
        .arg(user)
        .arg(password)
        .status()
        .expect("mosquitto_passwd is missing: apt-get install -y mosquitto");
    assert!(status.success(), "mosquitto_passwd failed");
    fs::read_to_string(&p).expect("read pw").trim().to_string()
}

/// Returns true if and only if a PUBACK reason means the publish was accepted (0, or 0x10 "no
/// matching subscribers" in MQTT 5).
pub fn accepted(code: u8) -> bool {
    code == 0 || code == 0x10
}

/// The CONNACK refusal for a bad or unknown user: 5 in MQTT 3.1.1, 0x87 in MQTT 5.
pub fn not_authorised(proto: Proto) -> ConnectError {
    ConnectError::Refused(match proto {
        Proto::V311 => 5,
        Proto::V5 => 0x87,
    })
}

/// The SUBACK code of a refused subscription: 0x80 in MQTT 3.1.1, 0x87 in MQTT 5.
pub fn sub_refused(proto: Proto) -> u8 {
    match proto {
        Proto::V311 => 0x80,
        Proto::V5 => 0x87,
    }
}

/// The PUBACK reason of a refused QoS 1 publish: 0x87 in MQTT 5; MQTT 3.1.1 has no reason
/// codes, so the broker acknowledges with 0 and drops the message.
pub fn pub_denied(proto: Proto) -> u8 {
    match proto {
        Proto::V311 => 0,
        Proto::V5 => 0x87,
    }
}
