//! A tiny, fast HTTP/1.1 auth service for the HTTP backend: keep-alive, one thread per
//! connection, `200` for `/auth` and `/acl`, `403` for `/superuser`, `404` otherwise. It counts
//! connections and requests, so a run can tell whether the plugin reuses connections.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[derive(Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub auth: AtomicU64,
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
    pub fn start() -> Service {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind http service");
        let addr = listener.local_addr().expect("addr");
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counters.clone(), stop.clone());
        let spawned = thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if s.load(Ordering::Relaxed) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    c.connections.fetch_add(1, Ordering::Relaxed);
                    let c = c.clone();
                    let _ = thread::Builder::new()
                        .name(THREAD_NAME.into())
                        .spawn(move || serve(stream, &c));
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

fn serve(stream: TcpStream, counters: &Counters) {
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
        let status = match path.as_str() {
            "/auth" => {
                counters.auth.fetch_add(1, Ordering::Relaxed);
                "200 OK"
            }
            "/acl" => {
                counters.acl.fetch_add(1, Ordering::Relaxed);
                "200 OK"
            }
            "/superuser" => {
                counters.superuser.fetch_add(1, Ordering::Relaxed);
                "403 Forbidden"
            }
            _ => "404 Not Found",
        };
        let resp = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        if out.write_all(resp.as_bytes()).is_err() || close {
            return;
        }
    }
}
