//! The example auth service (`examples/auth-service/auth_service.py`) run with python3 and
//! asked by the HTTP backend in both contracts.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{logger, opts};
use mosq_auth::backend::http::{HttpBackend, HttpSettings};
use mosq_auth::backend::Backend;
use mosq_auth::request::{Access, AclRequest, AuthRequest, CacheHint, Decision};
use mosq_auth::secret::Secret;

/// The service, killed when dropped.
struct Service {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Service {
    fn start() -> Service {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/auth-service");
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = tempfile::NamedTempFile::new().unwrap();
            let child = Command::new("python3")
                .arg(dir.join("auth_service.py"))
                .arg("--users")
                .arg(dir.join("users.example"))
                .args(["--superusers", "admin", "--port", &port.to_string()])
                .stdin(Stdio::null())
                .stderr(log.reopen().unwrap())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => {
                    panic!("cannot run python3 ({e}): install it with `apt-get install -y python3`")
                }
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Service { child, port, log };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    eprintln!(
                        "{}",
                        std::fs::read_to_string(log.path()).unwrap_or_default()
                    );
                    break; // port taken meanwhile: try another
                }
                assert!(
                    Instant::now() < deadline,
                    "the example service did not start listening"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("the example service exited at start-up (see its output above)");
    }
}

impl Service {
    /// The service's log so far; it must never show a password.
    fn assert_log_clean(&self) {
        let log = std::fs::read_to_string(self.log.path()).unwrap();
        assert!(log.contains("user='alice' -> allow"), "{log}");
        for pw in ["secret", "wrong", "admin-pw"] {
            assert!(!log.contains(pw), "the service log shows '{pw}':\n{log}");
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn backend(pairs: &[(&str, &str)]) -> HttpBackend {
    let settings = HttpSettings::from_options(&opts(pairs)).expect("settings");
    HttpBackend::new(settings, "anonymous".into(), logger()).expect("backend")
}

fn check(b: &HttpBackend) {
    let auth = |user: &str, pw: &[u8]| {
        let pw = Secret::new(pw);
        b.authenticate(&AuthRequest {
            username: user,
            password: &pw,
            client_id: "client 1&x",
        })
        .expect("answer")
    };
    let acl = |user: Option<&str>, topic: &str, access: Access| {
        b.acl(&AclRequest {
            username: user,
            client_id: "client 1&x",
            topic,
            access,
        })
        .expect("answer")
        .decision
    };
    let ok = auth("alice", b"secret");
    assert_eq!(ok.decision, Decision::Allow);
    assert_eq!(ok.cache, CacheHint::MaxAge(Duration::from_secs(60)));
    assert_eq!(auth("alice", b"wrong").decision, Decision::Deny);
    assert_eq!(auth("alice", b"secret ").decision, Decision::Deny);
    assert_eq!(auth("nobody", b"secret").decision, Decision::Deny);
    assert_eq!(auth("admin", b"admin-pw").decision, Decision::Allow);

    assert_eq!(b.superuser("admin").unwrap().decision, Decision::Allow);
    assert_eq!(b.superuser("alice").unwrap().decision, Decision::Deny);

    assert_eq!(
        acl(Some("alice"), "alice/x", Access::Write),
        Decision::Allow
    );
    assert_eq!(
        acl(Some("alice"), "alice/#", Access::Subscribe),
        Decision::Allow
    );
    assert_eq!(
        acl(Some("alice"), "alice/a b", Access::Read),
        Decision::Allow
    );
    assert_eq!(acl(Some("alice"), "bob/x", Access::Write), Decision::Deny);
    assert_eq!(acl(Some("alice"), "#", Access::Subscribe), Decision::Deny);
    assert_eq!(acl(Some("alice"), "alice", Access::Write), Decision::Deny);
    assert_eq!(acl(None, "anonymous/x", Access::Write), Decision::Allow);
    assert_eq!(acl(None, "alice/x", Access::Write), Decision::Deny);
}

#[test]
fn example_service_with_auth_plug_options() {
    let svc = Service::start();
    let port = svc.port.to_string();
    let b = backend(&[
        ("http_hostname", "127.0.0.1"),
        ("http_port", &port),
        ("http_getuser_uri", "/auth"),
        ("http_superuser_uri", "/superuser"),
        ("http_aclcheck_uri", "/acl"),
    ]);
    check(&b);
    svc.assert_log_clean();
}

#[test]
fn example_service_with_go_auth_options() {
    let svc = Service::start();
    let port = svc.port.to_string();
    for mode in ["status", "text"] {
        let b = backend(&[
            ("http_host", "127.0.0.1"),
            ("http_port", &port),
            ("http_getuser_uri", "/getuser"),
            ("http_superuser_uri", "/superuser"),
            ("http_aclcheck_uri", "/aclcheck"),
            ("http_response_mode", mode),
        ]);
        check(&b);
    }
    // GET with a query string works too.
    let b = backend(&[
        ("http_host", "127.0.0.1"),
        ("http_port", &port),
        ("http_getuser_uri", "/getuser"),
        ("http_aclcheck_uri", "/aclcheck"),
        ("http_method", "GET"),
    ]);
    let pw = Secret::from("secret");
    let v = b
        .authenticate(&AuthRequest {
            username: "alice",
            password: &pw,
            client_id: "c1",
        })
        .unwrap();
    assert_eq!(v.decision, Decision::Allow);
    svc.assert_log_clean();
}
