//! A small real HTTP/1.1 server on 127.0.0.1 for the HTTP backend tests: records every request
//! exactly as received (headers, raw body), counts TCP connections, can hang, close or answer
//! with any status, headers and body, and optionally speaks TLS (rustls) with or without
//! requiring a client certificate (certificates from [`super::tls`]).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mosq_auth::log::{Level, Logger};
use mosq_auth::options::Options;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Header lines in order, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
    /// Which TCP connection (0, 1, ...) it came on.
    pub connection: usize,
}

impl Request {
    /// The value of a header (case-insensitive name), if present once or more (the first).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn body_str(&self) -> String {
        String::from_utf8(self.body.clone()).expect("request body is UTF-8")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// What the server does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Answer.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Never answer (until the server is dropped).
    Hang,
    /// Send the status line, headers and part of the body, then hang.
    HangInBody,
    /// Close the connection without answering.
    Close,
}

impl Reply {
    /// A status with an empty body.
    pub fn status(status: u16) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A status with a body.
    pub fn body(status: u16, body: impl Into<Vec<u8>>) -> Reply {
        Reply::Respond {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// Adds a header to an answer.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Respond { headers, .. } = &mut self {
            headers.push((name.to_string(), value.to_string()));
        }
        self
    }
}

/// Decides the reply for each request.
pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

struct State {
    requests: Mutex<Vec<Request>>,
    connections: AtomicUsize,
    handler: Mutex<Handler>,
    stop: AtomicBool,
    tls: Option<Arc<rustls::ServerConfig>>,
    /// Close a keep-alive connection idle for this many milliseconds (0 = never).
    idle_close_ms: std::sync::atomic::AtomicU64,
}

/// A running test server; stops when dropped.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Server {
    /// A plain HTTP server answering every request with `handler`.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Server {
        Server::start_inner(Arc::new(handler), None)
    }

    /// A plain HTTP server always answering `reply`.
    pub fn always(reply: Reply) -> Server {
        Server::start(move |_| reply.clone())
    }

    /// An HTTPS server.
    pub fn start_tls(
        config: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        Server::start_inner(Arc::new(handler), Some(config))
    }

    /// A plain HTTP server on a given port (to bring a service back where it was).
    pub fn start_on(
        port: u16,
        handler: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("cannot bind 127.0.0.1:{port} again: {e}"),
            }
        };
        Server::run(listener, Arc::new(handler), None)
    }

    fn start_inner(handler: Handler, tls: Option<Arc<rustls::ServerConfig>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        Server::run(listener, handler, tls)
    }

    fn run(
        listener: TcpListener,
        handler: Handler,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server {
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            handler: Mutex::new(handler),
            stop: AtomicBool::new(false),
            tls,
            idle_close_ms: std::sync::atomic::AtomicU64::new(0),
        });
        let st = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if st.stop.load(Ordering::Acquire) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let id = st.connections.fetch_add(1, Ordering::AcqRel);
                let st = st.clone();
                thread::spawn(move || serve_connection(stream, id, st));
            }
        });
        Server { addr, state }
    }

    /// Replaces the handler (e.g. the service comes back).
    pub fn set_handler(&self, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) {
        *self.state.handler.lock().unwrap() = Arc::new(handler);
    }

    /// Replaces the handler with one always answering `reply`.
    pub fn set_reply(&self, reply: Reply) {
        self.set_handler(move |_| reply.clone());
    }

    /// Closes keep-alive connections idle for longer than `idle` (as Node.js does after 5 s).
    pub fn set_idle_close(&self, idle: Duration) {
        self.state
            .idle_close_ms
            .store(idle.as_millis() as u64, Ordering::Release);
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests were received.
    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// How many TCP connections were accepted.
    pub fn connection_count(&self) -> usize {
        self.state.connections.load(Ordering::Acquire)
    }

    /// The port as text.
    pub fn port(&self) -> String {
        self.addr.port().to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve_connection(stream: TcpStream, id: usize, st: Arc<State>) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    match st.tls.clone() {
        None => serve(stream.try_clone().expect("clone stream"), id, &st, &stream),
        Some(cfg) => {
            let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                return;
            };
            let tls = rustls::StreamOwned::new(conn, stream.try_clone().expect("clone stream"));
            serve(tls, id, &st, &stream);
        }
    }
}

fn serve<S: Read + Write>(mut s: S, id: usize, st: &State, tcp: &TcpStream) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Read the head.
        let idle_since = Instant::now();
        let head_end = loop {
            if let Some(pos) = find(&buf, b"\r\n\r\n") {
                break pos;
            }
            if st.stop.load(Ordering::Acquire) {
                return;
            }
            let idle_ms = st.idle_close_ms.load(Ordering::Acquire);
            if buf.is_empty() && idle_ms > 0 && idle_since.elapsed().as_millis() as u64 > idle_ms {
                let _ = tcp.shutdown(Shutdown::Both);
                return;
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(_) => return,
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_string();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (target.clone(), None),
        };
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let len: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < len {
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if st.stop.load(Ordering::Acquire) {
                        return;
                    }
                    continue;
                }
                Err(_) => return,
            }
        }
        let body: Vec<u8> = buf.drain(..len).collect();
        let req = Request {
            method,
            path,
            query,
            headers,
            body,
            connection: id,
        };
        st.requests.lock().unwrap().push(req.clone());
        let handler = st.handler.lock().unwrap().clone();
        match handler(&req) {
            Reply::Respond {
                status,
                headers,
                body,
            } => {
                let mut out = format!(
                    "HTTP/1.1 {status} Test\r\nContent-Length: {}\r\n",
                    body.len()
                );
                for (n, v) in headers {
                    out.push_str(&format!("{n}: {v}\r\n"));
                }
                out.push_str("\r\n");
                let mut bytes = out.into_bytes();
                bytes.extend_from_slice(&body);
                if s.write_all(&bytes).and_then(|_| s.flush()).is_err() {
                    return;
                }
            }
            Reply::HangInBody => {
                let _ = s.write_all(b"HTTP/1.1 200 Test\r\nContent-Length: 100\r\n\r\nok");
                let _ = s.flush();
                let until = Instant::now() + Duration::from_secs(60);
                while !st.stop.load(Ordering::Acquire) && Instant::now() < until {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Reply::Hang => {
                let until = Instant::now() + Duration::from_secs(60);
                while !st.stop.load(Ordering::Acquire) && Instant::now() < until {
                    thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Reply::Close => {
                let _ = tcp.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes a form value (`%XX`, `+` as space).
pub fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The request's fields, from a form body, a query string or a JSON body.
pub fn fields(req: &Request) -> std::collections::HashMap<String, String> {
    let mut map = std::collections::HashMap::new();
    if req.header("content-type") == Some("application/json") {
        if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(&req.body) {
            for (k, v) in o {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(k, v);
            }
        }
        return map;
    }
    let text = match &req.query {
        Some(q) if req.body.is_empty() => q.clone(),
        _ => String::from_utf8_lossy(&req.body).into_owned(),
    };
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        map.insert(form_decode(k), form_decode(v));
    }
    map
}

/// A tiny auth service for both contracts: users alice/secret, bob/bob-pw and admin/admin-pw;
/// admin is a superuser; users may use topics under `<username>/` only.
pub fn users_service(req: &Request) -> Reply {
    let f = fields(req);
    let user = f.get("username").cloned().unwrap_or_default();
    let allowed = match req.path.as_str() {
        "/auth" | "/getuser" => {
            let pw = f.get("password").cloned().unwrap_or_default();
            matches!(
                (user.as_str(), pw.as_str()),
                ("alice", "secret") | ("bob", "bob-pw") | ("admin", "admin-pw")
            )
        }
        "/superuser" => user == "admin",
        "/acl" | "/aclcheck" => {
            let topic = f.get("topic").cloned().unwrap_or_default();
            !user.is_empty() && topic.starts_with(&format!("{user}/"))
        }
        _ => return Reply::status(404),
    };
    Reply::status(if allowed { 200 } else { 403 })
}

/// Options from pairs.
pub fn opts(pairs: &[(&str, &str)]) -> Options {
    Options::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
}

/// A logger that writes everything (to the test's stderr unless a sink is set).
pub fn logger() -> Logger {
    Logger::new(Level::Debug)
}

/// Asserts `f` finished within `limit`, returning its result.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}
