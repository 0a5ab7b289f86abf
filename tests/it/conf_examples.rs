//! Every example configuration in `conf/` started with the real broker and the freshly built
//! plugin, and checked with real clients.
//!
//! The examples are written for the image's layout (`/mosquitto/config/...`,
//! `/mosquitto/data/`, `/usr/lib/mosquitto-auth/libmosq_auth.so`, fixed ports). [`Example`]
//! rewrites those by plain string replacement: paths into a temporary directory, the plugin to
//! the built `libmosq_auth.so`, the first listener to the harness's port on 127.0.0.1 and every
//! further listener to another free port. TLS material is made at test time with `rcgen`; TLS
//! clients are the broker's `mosquitto_pub`/`mosquitto_sub` (see `support::tool`) with
//! `--cafile`.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{
    free_port, mosquitto_passwd_line, not_authorised, sub_refused, Broker, ConnectError, Dir,
    ExampleService, Mqtt, Proto, Start, PROTOS, WAIT,
};

/// The text of `conf/<name>`.
fn example_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("conf")
        .join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An example from `conf/`, rewritten to run here.
struct Example {
    dir: Dir,
    start: Start,
    body: String,
    /// Ports of the listeners after the first, in the order they appear.
    ports: Vec<u16>,
}

impl Example {
    /// Reads `conf/<name>` and applies the image-layout rewrites plus `replace` (each `from`
    /// must occur in the file, so a renamed option cannot make a rewrite silently vanish).
    fn new(name: &str, replace: &[(&str, String)]) -> Example {
        let mut text = example_text(name)
            .replace("/usr/lib/mosquitto-auth/libmosq_auth.so", "{plugin}")
            .replace("/mosquitto/config/", "{dir}/config/")
            .replace("/mosquitto/data/", "{dir}/data/");
        for (from, to) in replace {
            assert!(text.contains(from), "conf/{name} has no `{from}`");
            text = text.replace(from, to);
        }
        let dir = Dir::new();
        // The broker drops privileges to `mosquitto` and writes its database here.
        let data = dir.path().join("data");
        fs::create_dir_all(&data).expect("mkdir data");
        fs::set_permissions(&data, fs::Permissions::from_mode(0o777)).expect("chmod data");

        let (mut global, mut body, mut ports) = (String::new(), String::new(), Vec::new());
        let mut listeners = 0;
        for line in text.lines() {
            if line.trim_start().starts_with("listener ") {
                listeners += 1;
                // The first listener is the harness's `listener {port} 127.0.0.1`.
                if listeners > 1 {
                    let port = free_port();
                    ports.push(port);
                    body.push_str(&format!("listener {port} 127.0.0.1\n"));
                }
                continue;
            }
            let part = if listeners == 0 {
                &mut global
            } else {
                &mut body
            };
            part.push_str(line);
            part.push('\n');
        }
        assert!(listeners > 0, "conf/{name} has no listener");
        Example {
            dir,
            start: Start {
                global,
                ..Start::default()
            },
            body,
            ports,
        }
    }

    /// Writes `config/<name>` (the image's `/mosquitto/config/<name>`).
    fn config_file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        self.dir.write(&format!("config/{name}"), content)
    }

    /// Writes a throwaway certificate for localhost / 127.0.0.1 as `certs/ca.crt`,
    /// `certs/tls.crt` and `certs/tls.key`; returns the CA file for clients.
    fn certificates(&self) -> PathBuf {
        let ck = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("certificate");
        let pem = ck.cert.pem();
        self.config_file("certs/tls.crt", &pem);
        self.config_file("certs/tls.key", ck.signing_key.serialize_pem());
        self.config_file("certs/ca.crt", &pem)
    }

    /// Starts the broker and checks that the plugin knew every option of the example.
    fn start(self) -> Broker {
        let b = Broker::start_in(self.dir, &self.body, self.start);
        support::wait_for(
            || b.log().contains("mosq-auth: started"),
            "the plugin to start",
        );
        let log = b.log();
        let unknown: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("unknown option"))
            .collect();
        assert!(
            unknown.is_empty(),
            "the example has options the plugin does not know: {unknown:?}"
        );
        b
    }
}

/// Plaintext checks for a user allowed under `own/` and nowhere else.
fn check_plain(port: u16, user: &str, password: &str, own: &str, other: &str) {
    for proto in PROTOS {
        assert_eq!(
            Mqtt::connect(proto, port, "anon", None).err(),
            Some(not_authorised(proto)),
            "{proto:?} anonymous"
        );
        assert_eq!(
            Mqtt::connect(proto, port, "bad", Some((user, "wrong-password"))).err(),
            Some(not_authorised(proto)),
            "{proto:?} wrong password"
        );
        let c = Mqtt::ok(proto, port, "good", Some((user, password)));
        assert_eq!(
            c.subscribe(&format!("{own}/#")),
            1,
            "{proto:?} own subscribe"
        );
        assert_eq!(c.publish(&format!("{own}/x"), "hello"), 0);
        assert_eq!(
            c.recv(WAIT),
            Some((format!("{own}/x"), "hello".to_string())),
            "{proto:?} own message"
        );
        assert_eq!(
            c.subscribe(&format!("{other}/#")),
            sub_refused(proto),
            "{proto:?} foreign subscribe"
        );
    }
}

/// The broker's `mosquitto_pub`/`mosquitto_sub` (see [`support::tool`]) against a TLS listener.
fn tls_client(tool: &str, port: u16, ca: &Path, user: &str, password: &str) -> Command {
    let mut cmd = support::tool(tool);
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "--cafile"])
        .arg(ca)
        .args(["-u", user, "-P", password, "-i", &format!("{tool}-{user}")])
        .stdin(Stdio::null());
    cmd
}

fn run(mut cmd: Command) -> Output {
    cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e} (install it: apt-get install -y mosquitto-clients)")
    })
}

fn describe(o: &Output) -> String {
    format!(
        "rc {:?}, stdout {:?}, stderr {:?}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Publishes one QoS 1 message over TLS; returns the client's exit code.
fn tls_pub(port: u16, ca: &Path, user: &str, password: &str, topic: &str) -> Output {
    let mut cmd = tls_client("mosquitto_pub", port, ca, user, password);
    cmd.args(["-q", "1", "-t", topic, "-m", "hello"]);
    run(cmd)
}

/// A `mosquitto_sub -C 1` waiting over TLS for one message on `filter`.
struct TlsSub(Child);

impl TlsSub {
    fn start(port: u16, ca: &Path, user: &str, password: &str, filter: &str) -> TlsSub {
        let mut cmd = tls_client("mosquitto_sub", port, ca, user, password);
        cmd.args(["-q", "1", "-v", "-C", "1", "-W", "8", "-t", filter])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd
            .spawn()
            .expect("mosquitto_sub (apt-get install -y mosquitto-clients)");
        // mosquitto_sub has no "subscribed" signal; give it time to connect and subscribe.
        thread::sleep(Duration::from_millis(700));
        TlsSub(child)
    }

    /// Waits for it to end; returns (exit code, what it printed).
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                let mut out = String::new();
                self.0.stdout.take().map(|mut s| s.read_to_string(&mut out));
                self.0.stderr.take().map(|mut s| s.read_to_string(&mut out));
                return (status.code(), out);
            }
            assert!(Instant::now() < deadline, "mosquitto_sub did not end");
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TlsSub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// TLS checks: the right password publishes and receives under `own/`, a wrong one is refused
/// (mosquitto_pub exit code 5: "not authorised").
fn check_tls(port: u16, ca: &Path, user: &str, password: &str, own: &str) {
    let sub = TlsSub::start(port, ca, user, password, &format!("{own}/#"));
    let o = tls_pub(port, ca, user, password, &format!("{own}/tls"));
    assert!(o.status.success(), "publish over TLS: {}", describe(&o));
    let (code, out) = sub.finish();
    assert_eq!(code, Some(0), "subscriber over TLS: {out}");
    assert_eq!(out.trim(), format!("{own}/tls hello"));

    let o = tls_pub(port, ca, user, "wrong-password", &format!("{own}/tls"));
    assert_eq!(o.status.code(), Some(5), "wrong password: {}", describe(&o));
}

// ---------------------------------------------------------------------------------------------
// conf/demo.conf: the image's default configuration.

/// The demo user and password, as documented at the top of demo.passwd.
const DEMO: (&str, &str) = ("demo", "demo-password");

#[test]
fn demo_conf_authenticates_the_documented_user() {
    let passwd = example_text("demo.passwd");
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with('#') && l.contains("demo / demo-password")),
        "demo.passwd must name the demo password in its opening comment"
    );
    let ex = Example::new("demo.conf", &[]);
    ex.config_file("demo.passwd", passwd);
    ex.config_file("demo.acl", example_text("demo.acl"));
    let b = ex.start();
    check_plain(b.port, DEMO.0, DEMO.1, "demo", "other");
    // The ACL's pattern gives every user users/<name>/.
    let c = Mqtt::ok(Proto::V5, b.port, "pattern", Some(DEMO));
    assert_eq!(c.subscribe("users/demo/#"), 1);
    assert_eq!(c.subscribe("users/alice/#"), 0x87);
}

// ---------------------------------------------------------------------------------------------
// conf/openshift-tls.conf: plaintext 1883 + TLS 8883, password and ACL files.

#[test]
fn openshift_tls_conf_serves_plaintext_and_tls() {
    let ex = Example::new("openshift-tls.conf", &[]);
    ex.config_file("passwd", mosquitto_passwd_line("admin", "admin-pw") + "\n");
    ex.config_file("acl", "user admin\ntopic readwrite admin/#\n");
    let ca = ex.certificates();
    let tls_port = ex.ports[0];
    let b = ex.start();
    check_plain(b.port, "admin", "admin-pw", "admin", "other");
    check_tls(tls_port, &ca, "admin", "admin-pw", "admin");
}

// ---------------------------------------------------------------------------------------------
// conf/compose-tls-acl.conf: per_listener_settings, one TLS listener with password + ACL.

#[test]
fn compose_tls_acl_conf_applies_the_acl_over_tls() {
    let ex = Example::new("compose-tls-acl.conf", &[]);
    ex.config_file(
        "passwd",
        format!(
            "{}\n{}\n{}\n",
            mosquitto_passwd_line("user01", "user01-pass"),
            mosquitto_passwd_line("user02", "user02-pass"),
            mosquitto_passwd_line("user03", "user03-pass"),
        ),
    );
    // The seed's ACL: user01 writes, user02 reads, user03 does both.
    ex.config_file(
        "acl",
        "user user01\ntopic write #\n\nuser user02\ntopic read #\n\nuser user03\ntopic readwrite #\n",
    );
    let ca = ex.certificates();
    let b = ex.start();
    check_tls(b.port, &ca, "user03", "user03-pass", "sensors");

    // user01's message reaches user02.
    let sub = TlsSub::start(b.port, &ca, "user02", "user02-pass", "sensors/#");
    let o = tls_pub(b.port, &ca, "user01", "user01-pass", "sensors/t1");
    assert!(o.status.success(), "user01 publish: {}", describe(&o));
    let (code, out) = sub.finish();
    assert_eq!((code, out.trim()), (Some(0), "sensors/t1 hello"));

    // user02 may not write: the message is dropped, the waiting reader gets nothing.
    let sub = TlsSub::start(b.port, &ca, "user03", "user03-pass", "sensors/#");
    let _ = tls_pub(b.port, &ca, "user02", "user02-pass", "sensors/t2");
    let o = tls_pub(b.port, &ca, "user03", "user03-pass", "sensors/t3");
    assert!(o.status.success(), "user03 publish: {}", describe(&o));
    let (code, out) = sub.finish();
    assert_eq!((code, out.trim()), (Some(0), "sensors/t3 hello"));

    // A plaintext client gets no MQTT answer on the TLS-only listener.
    let plain = Mqtt::connect(
        Proto::V311,
        b.port,
        "plain",
        Some(("user03", "user03-pass")),
    );
    assert!(
        matches!(plain, Err(ConnectError::Closed(_))),
        "plaintext on the TLS listener"
    );
}

// ---------------------------------------------------------------------------------------------
// The HTTP examples, against examples/auth-service/auth_service.py.

#[test]
fn auth_plug_http_conf_asks_the_auth_service() {
    let svc = ExampleService::start(&(mosquitto_passwd_line("alice", "secret") + "\n"), &[]);
    let ex = Example::new(
        "auth-plug-http.conf",
        &[
            (
                "auth_opt_http_hostname auth-server",
                "auth_opt_http_hostname 127.0.0.1".into(),
            ),
            (
                "auth_opt_http_port 8000",
                format!("auth_opt_http_port {}", svc.port),
            ),
        ],
    );
    let b = ex.start();
    check_plain(b.port, "alice", "secret", "alice", "bob");
}

/// Sends a websocket upgrade for MQTT and returns the status line of the answer.
fn websocket_upgrade(port: u16) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect websockets");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    write!(
        s,
        "GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n"
    )
    .expect("write");
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).expect("read");
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn go_auth_gateway_conf_serves_tls_and_websockets() {
    let svc = ExampleService::start(&(mosquitto_passwd_line("alice", "secret") + "\n"), &[]);
    let ex = Example::new(
        "go-auth-gateway.conf",
        &[
            (
                "auth_opt_http_host mosquitto-auth-gateway",
                "auth_opt_http_host 127.0.0.1".into(),
            ),
            (
                "auth_opt_http_port 80",
                format!("auth_opt_http_port {}", svc.port),
            ),
        ],
    );
    let ca = ex.certificates();
    let ws_port = ex.ports[0];
    let b = ex.start();
    check_tls(b.port, &ca, "alice", "secret", "alice");
    // The service allows only topics under the user's name.
    let sub = TlsSub::start(b.port, &ca, "alice", "secret", "bob/#");
    let (_, out) = sub.finish();
    assert!(
        out.contains("All subscription requests were denied"),
        "subscribing to bob/# must be refused: {out}"
    );
    assert!(
        websocket_upgrade(ws_port).contains(" 101 "),
        "the websockets listener must accept an MQTT upgrade"
    );
}
