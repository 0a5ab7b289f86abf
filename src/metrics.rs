//! The optional Prometheus endpoint (`auth_opt_metrics_listen`): `GET /metrics` on a small
//! thread of its own, never on the broker's thread.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::stats::{BackendStats, PROMETHEUS_HEADER};

/// The running endpoint; stopped when dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// The metrics text for these backends.
pub fn render(backends: &[(&'static str, Arc<BackendStats>)]) -> String {
    let mut out = String::from(PROMETHEUS_HEADER);
    for (name, stats) in backends {
        stats.prometheus(name, &mut out);
    }
    out
}

fn serve(mut stream: TcpStream, backends: &[(&'static str, Arc<BackendStats>)]) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap_or(0);
    let request = String::from_utf8_lossy(&buf[..n]);
    let (status, body) = if request.starts_with("GET /metrics ") || request.starts_with("GET / ") {
        ("200 OK", render(backends))
    } else {
        ("404 Not Found", "not found: try GET /metrics\n".to_string())
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Connections served at once; more are closed at once. Each one has 2 s timeouts, so idle
/// connections cannot delay a scrape.
const MAX_CONNECTIONS: usize = 16;

type Backends = Arc<Vec<(&'static str, Arc<BackendStats>)>>;

fn accept_loop(listener: &TcpListener, stop: &AtomicBool, backends: &Backends) {
    let mut handlers: Vec<JoinHandle<()>> = Vec::new();
    while !stop.load(Ordering::Acquire) {
        handlers.retain(|h| !h.is_finished());
        match listener.accept() {
            Ok((stream, _)) if handlers.len() < MAX_CONNECTIONS => {
                let _ = stream.set_nonblocking(false);
                let backends = backends.clone();
                let spawned = std::thread::Builder::new()
                    .name("mosq-auth-metrics-conn".into())
                    .spawn(move || {
                        let _ = crate::log::catch_panic("the metrics endpoint", || {
                            serve(stream, &backends)
                        });
                    });
                if let Ok(h) = spawned {
                    handlers.push(h);
                }
            }
            Ok(_) => {} // over the limit: dropped, the connection closes
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    // Nothing of this library may run once the broker unloads it.
    for h in handlers {
        let _ = h.join();
    }
}

impl MetricsServer {
    /// Binds `addr` and starts serving.
    pub fn start(
        addr: SocketAddr,
        backends: Vec<(&'static str, Arc<BackendStats>)>,
    ) -> std::io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("mosq-auth-metrics".into())
            .spawn(move || accept_loop(&listener, &flag, &Arc::new(backends)))?;
        Ok(MetricsServer {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address actually bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Decision;
    use crate::stats::Check;

    /// One `GET /metrics`, the whole answer.
    fn scrape(addr: SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_over_http() {
        let stats = Arc::new(BackendStats::default());
        stats.result(Check::Auth, Some(Decision::Allow));
        let server =
            MetricsServer::start("127.0.0.1:0".parse().unwrap(), vec![("files", stats)]).unwrap();
        let out = scrape(server.addr());
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(out.contains(
            "mosq_auth_decisions_total{backend=\"files\",check=\"auth\",result=\"allow\"} 1"
        ));
    }

    #[test]
    fn idle_connections_do_not_delay_a_scrape() {
        let stats = Arc::new(BackendStats::default());
        let server =
            MetricsServer::start("127.0.0.1:0".parse().unwrap(), vec![("files", stats)]).unwrap();
        let idle: Vec<TcpStream> = (0..10)
            .map(|_| TcpStream::connect(server.addr()).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        let start = std::time::Instant::now();
        let out = scrape(server.addr());
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(
            start.elapsed() < Duration::from_millis(1500),
            "scrape took {:?} behind idle connections",
            start.elapsed()
        );
        drop(idle);
    }
}
