//! The HTTP auth service the soak runs in its own process (std::net, one thread per
//! connection): `/auth` and `/acl` answered from the current [`Http`] truth (go-auth's JSON
//! bodies, status 200 allow / 403 deny), and the faults the schedule injects: down (the
//! listener and every open connection closed, then bound again on the same port), slow (every
//! answer after a delay longer than the plugin's deadline), garbage (bytes that are not HTTP,
//! then close) and 500.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::model::Http;

/// How the service behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Up = 0,
    Slow = 1,
    Garbage = 2,
    Error500 = 3,
}

struct State {
    truth: Mutex<Arc<Http>>,
    mode: AtomicU8,
    /// Delay of every answer in `Mode::Slow`.
    slow: Duration,
    /// Open connections, to close them all when the service goes down.
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    requests: AtomicU64,
    /// The accept loop of the current listener stops when this is set.
    down: Arc<AtomicBool>,
}

/// The running service.
pub struct Service {
    pub addr: SocketAddr,
    state: Arc<State>,
    /// The accept loop's stop flag, while up.
    accepting: Mutex<Option<Arc<AtomicBool>>>,
}

impl Service {
    pub fn start(truth: Arc<Http>, slow: Duration) -> Service {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the HTTP service");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State {
            truth: Mutex::new(truth),
            mode: AtomicU8::new(Mode::Up as u8),
            slow,
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            down: Arc::new(AtomicBool::new(false)),
        });
        let svc = Service {
            addr,
            state,
            accepting: Mutex::new(None),
        };
        svc.accept(listener);
        svc
    }

    fn accept(&self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        *self.accepting.lock().unwrap() = Some(stop.clone());
        let st = self.state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::Acquire) {
                    return; // drops the listener: connections are refused
                }
                let Ok(stream) = stream else { continue };
                let id = st.next_conn.fetch_add(1, Ordering::Relaxed);
                if let Ok(c) = stream.try_clone() {
                    st.conns.lock().unwrap().insert(id, c);
                }
                let st = st.clone();
                thread::spawn(move || {
                    serve(&stream, &st);
                    st.conns.lock().unwrap().remove(&id);
                });
            }
        });
    }

    /// From now on every answer comes from `truth`.
    pub fn set_truth(&self, truth: Arc<Http>) {
        *self.state.truth.lock().unwrap() = truth;
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.mode.store(mode as u8, Ordering::Release);
    }

    /// Stops listening and closes every connection (the plugin sees connection refused).
    pub fn kill(&self) {
        if let Some(stop) = self.accepting.lock().unwrap().take() {
            stop.store(true, Ordering::Release);
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(500));
        }
        self.state.down.store(true, Ordering::Release);
        for (_, c) in self.state.conns.lock().unwrap().drain() {
            let _ = c.shutdown(Shutdown::Both);
        }
    }

    /// Listens again on the same port.
    pub fn restart(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpListener::bind(self.addr) {
                Ok(l) => {
                    self.state.down.store(false, Ordering::Release);
                    self.accept(l);
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("cannot bind {} again: {e}", self.addr))
                }
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn serve(stream: &TcpStream, st: &State) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut s = stream;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p;
            }
            let mut chunk = [0u8; 8192];
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() > 1 << 20 {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + 4);
        let path = head
            .split(' ')
            .nth(1)
            .unwrap_or_default()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let len: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < len {
            let mut chunk = [0u8; 65536];
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..len).collect();
        st.requests.fetch_add(1, Ordering::Relaxed);
        if st.down.load(Ordering::Acquire) {
            return;
        }
        let mode = st.mode.load(Ordering::Acquire);
        if mode == Mode::Garbage as u8 {
            let _ = s.write_all(b"\x00\xffNOT HTTP AT ALL {{{\r\n\r\n");
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        if mode == Mode::Error500 as u8 {
            let _ = s.write_all(b"HTTP/1.1 500 Soak\r\nContent-Length: 0\r\n\r\n");
            continue;
        }
        // Decide from the truth of the moment the request arrived.
        let truth = st.truth.lock().unwrap().clone();
        let allowed = decide(&truth, &path, &body);
        if mode == Mode::Slow as u8 {
            thread::sleep(st.slow);
        }
        let status = if allowed { "200 OK" } else { "403 Forbidden" };
        let out = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        if s.write_all(out.as_bytes()).is_err() {
            return;
        }
    }
}

fn decide(truth: &Http, path: &str, body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(o)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    let field = |k: &str| {
        o.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let user = field("username");
    match path {
        "/auth" => truth.login(&user, field("password").as_bytes()),
        "/acl" => truth.acl(&user, &field("topic")),
        _ => false,
    }
}
