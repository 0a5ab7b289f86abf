//! A tiny, fast HTTP/1.1 auth service for the HTTP backend: keep-alive, one thread per
//! connection (so requests on different connections are served concurrently), `200` for `/auth`
//! and `/acl`, `403` for `/superuser`, `404` otherwise. It counts connections and requests, so a
//! run can tell whether the plugin reuses connections. For the connect storm, [`Logins`] makes
//! `/auth` slow (a fixed delay per answer) and strict (`403` for a wrong password); with
//! [`Logins::session`] the login answer carries the user's rules.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// How `/auth` answers.
#[derive(Clone, Default)]
pub struct Logins {
    /// Every `/auth` answer is sent this long after the request was read (a slow user
    /// database); requests on different connections wait in parallel.
    pub delay: Duration,
    /// Username -> password: `/auth` answers `200` for exactly these, `403` otherwise (the JSON
    /// body's `username` and `password`). `None`: every login is allowed.
    pub passwords: Option<HashMap<String, String>>,
    /// JSON answers: an allowed login carries [`SESSION`], `/acl` answers `{"ok": true}`.
    pub session: bool,
}

/// The login answer of the `http-rules` setup: the rules of the ACL file that the files setups
/// read (publishers write `bench/<user>/#`, subscribers read `bench/#`, connectors use
/// `conn/<user>/#`, everyone `mem/#`), in EMQX 5's format, the same for every user.
pub const SESSION: &str = r#"{"ok": true, "is_superuser": false, "acl": [
  {"permission": "allow", "action": "publish", "topic": "bench/${username}/#"},
  {"permission": "allow", "action": "subscribe", "topic": "bench/#"},
  {"permission": "allow", "action": "all", "topic": "mem/#"},
  {"permission": "allow", "action": "all", "topic": "conn/${username}/#"}
]}"#;

#[derive(Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub auth: AtomicU64,
    /// `/auth` requests answered `403`.
    pub auth_denied: AtomicU64,
    /// `/auth` requests being answered right now, and the most at once.
    pub auth_in_flight: AtomicU64,
    pub auth_max_in_flight: AtomicU64,
    pub acl: AtomicU64,
    pub superuser: AtomicU64,
}

impl Counters {
    pub fn requests(&self) -> u64 {
        self.auth.load(Ordering::Relaxed)
            + self.acl.load(Ordering::Relaxed)
            + self.superuser.load(Ordering::Relaxed)
    }
}

/// The name of the service's threads, to find their CPU time in `/proc/self/task`.
const THREAD_NAME: &str = "http-svc";

/// CPU time (ns) of the service's live threads, from `/proc/self/task/<tid>/schedstat`.
pub fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == THREAD_NAME)
        })
        .filter_map(|t| {
            std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// The running service; stops accepting when dropped.
pub struct Service {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl Service {
    pub fn start(logins: Logins) -> Service {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind http service");
        let addr = listener.local_addr().expect("addr");
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counters.clone(), stop.clone());
        let logins = Arc::new(logins);
        let spawned = thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if s.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    c.connections.fetch_add(1, Ordering::Relaxed);
                    let (c, logins) = (c.clone(), logins.clone());
                    let _ = thread::Builder::new()
                        .name(THREAD_NAME.into())
                        .spawn(move || serve(stream, &c, &logins));
                }
            });
        spawned.expect("spawn http service");
        Service {
            addr,
            counters,
            stop,
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Whether the JSON body `{"username": .., "password": ..}` names a known user with its
/// password (always, without a password table).
fn login_ok(body: &[u8], logins: &Logins) -> bool {
    let Some(table) = &logins.passwords else {
        return true;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let field = |k: &str| v.get(k).and_then(|f| f.as_str());
    matches!((field("username"), field("password")),
        (Some(u), Some(p)) if table.get(u).is_some_and(|want| want == p))
}

/// Answers `/auth` after the configured delay, counting how many wait at once.
fn auth(body: &[u8], counters: &Counters, logins: &Logins) -> &'static str {
    counters.auth.fetch_add(1, Ordering::Relaxed);
    let now = counters.auth_in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    counters
        .auth_max_in_flight
        .fetch_max(now, Ordering::Relaxed);
    let ok = login_ok(body, logins);
    if !logins.delay.is_zero() {
        thread::sleep(logins.delay);
    }
    counters.auth_in_flight.fetch_sub(1, Ordering::Relaxed);
    if ok {
        "200 OK"
    } else {
        counters.auth_denied.fetch_add(1, Ordering::Relaxed);
        "403 Forbidden"
    }
}

fn serve(stream: TcpStream, counters: &Counters, logins: &Logins) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut len = 0usize;
        let mut close = false;
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let h = line.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                let k = k.trim().to_ascii_lowercase();
                if k == "content-length" {
                    len = v.trim().parse().unwrap_or(0);
                } else if k == "connection" && v.trim().eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut body = vec![0u8; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let mut answer = "";
        let status = match path.as_str() {
            "/auth" => {
                let status = auth(&body, counters, logins);
                if logins.session && status.starts_with("200") {
                    answer = SESSION;
                }
                status
            }
            "/acl" => {
                counters.acl.fetch_add(1, Ordering::Relaxed);
                if logins.session {
                    answer = r#"{"ok": true}"#;
                }
                "200 OK"
            }
            "/superuser" => {
                counters.superuser.fetch_add(1, Ordering::Relaxed);
                "403 Forbidden"
            }
            _ => "404 Not Found",
        };
        let resp = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        );
        if out.write_all(resp.as_bytes()).is_err() || close {
            return;
        }
    }
}
