//! Starting Debian's mosquitto on a free 127.0.0.1 port with a generated config, and reading its
//! CPU time and memory from `/proc`.

use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The broker binary: `MOSQUITTO_BIN`, else `/usr/sbin/mosquitto`, else `mosquitto` on `PATH`.
pub fn mosquitto_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MOSQUITTO_BIN") {
        return PathBuf::from(p);
    }
    let sbin = PathBuf::from("/usr/sbin/mosquitto");
    if sbin.is_file() {
        return sbin;
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("mosquitto"))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "the mosquitto broker is not installed: run `apt-get install -y mosquitto \
                 mosquitto-clients`, or set MOSQUITTO_BIN"
            )
        })
}

/// The broker's version line (`mosquitto version 2.0.11`).
pub fn mosquitto_version() -> String {
    let out = Command::new(mosquitto_bin()).arg("-h").output();
    out.ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "unknown".into())
}

/// A temporary directory readable by the `mosquitto` user (the broker drops root to it).
pub struct Dir(tempfile::TempDir);

impl Dir {
    pub fn new() -> Dir {
        let d = tempfile::Builder::new()
            .prefix("mosq-auth-load")
            .tempdir()
            .expect("tempdir");
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        Dir(d)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Writes a world-readable file and returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.path().join(name);
        fs::write(&p, content).expect("write");
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
        p
    }
}

/// A running broker, killed on drop.
pub struct Broker {
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Broker {
    /// Starts mosquitto with `body` (after the listener line) in `dir`; `{dir}` in `body` is
    /// replaced by the directory. Retries when the port was taken meanwhile. Returns the log
    /// when the broker refuses to start.
    pub fn start(dir: &Dir, body: &str) -> Result<Broker, String> {
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let log = dir.path().join("broker.log");
            let conf = format!(
                "log_dest file {log}\nlog_type error\nlog_type warning\nconnection_messages false\n\
                 listener {port} 127.0.0.1\nmax_connections -1\nmax_queued_messages 100000\n{extra}{body}\n",
                log = log.display(),
                extra = std::env::var("LOAD_BROKER_CONF").unwrap_or_default().replace("\\n", "\n"),
                body = body.replace("{dir}", &dir.path().display().to_string()),
            );
            // The log file must exist and be writable by the `mosquitto` user.
            dir.write("broker.log", "");
            fs::set_permissions(&log, fs::Permissions::from_mode(0o666)).expect("chmod");
            let conf_path = dir.write("mosquitto.conf", &conf);
            // LOAD_BROKER_WRAPPER runs the broker under a profiler, e.g.
            // "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/broker.%p".
            let wrapper = std::env::var("LOAD_BROKER_WRAPPER").unwrap_or_default();
            let mut words = wrapper.split_whitespace();
            let mut cmd = match words.next() {
                Some(w) => {
                    let mut c = Command::new(w);
                    c.args(words).arg(mosquitto_bin());
                    c
                }
                None => Command::new(mosquitto_bin()),
            };
            let mut child = cmd
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("cannot start mosquitto: {e}"))?;
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    let mut err = String::new();
                    if let Some(mut s) = child.stderr.take() {
                        use std::io::Read;
                        let _ = s.read_to_string(&mut err);
                    }
                    last = format!("{err}{}", fs::read_to_string(&log).unwrap_or_default());
                    break;
                }
                if TcpStream::connect(addr).is_ok() {
                    return Ok(Broker { addr, child, log });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("broker did not listen within 20 s".into());
                }
                thread::sleep(Duration::from_millis(20));
            }
            if !last.contains("Address already in use") {
                break;
            }
        }
        Err(last)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The broker log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// CPU time used so far (all threads).
    pub fn cpu(&self) -> Cpu {
        Cpu::of(self.pid())
    }

    /// Resident set size in KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let s = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        s.lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.keep_log();
        // SIGTERM first so the plugin's cleanup runs; then make sure.
        // SAFETY: kill(2) on our own child's pid.
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

impl Broker {
    /// Copies the log to `$LOAD_KEEP_LOGS/broker-<pid>.log` when that variable is set.
    fn keep_log(&self) {
        if let Some(d) = std::env::var_os("LOAD_KEEP_LOGS") {
            let _ = fs::copy(
                &self.log,
                Path::new(&d).join(format!("broker-{}.log", self.pid())),
            );
        }
    }
}

/// CPU time of a process: `utime + stime` from `/proc/<pid>/stat` (clock ticks, all threads,
/// 10 ms resolution) and the sum of `/proc/<pid>/task/*/schedstat` run time (nanoseconds, live
/// threads only) as a finer cross-check.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu {
    pub ticks: u64,
    pub sched_ns: u64,
}

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`, 100 on Linux).
pub const CLK_TCK: u64 = 100;

impl Cpu {
    pub fn of(pid: u32) -> Cpu {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let ticks = stat
            .rsplit_once(')')
            .map(|(_, rest)| {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                // Fields 14 and 15 of stat(5); `rest` starts at field 3.
                n(11) + n(12)
            })
            .unwrap_or(0);
        let mut sched_ns = 0;
        if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
            for t in tasks.flatten() {
                let s = fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
                sched_ns += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        Cpu { ticks, sched_ns }
    }

    /// `self - earlier` as (stat microseconds, schedstat microseconds).
    pub fn since(self, earlier: Cpu) -> CpuDelta {
        CpuDelta {
            stat_us: self.ticks.saturating_sub(earlier.ticks) as f64 * 1e6 / CLK_TCK as f64,
            sched_us: self.sched_ns.saturating_sub(earlier.sched_ns) as f64 / 1e3,
        }
    }
}

/// CPU time spent between two readings.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuDelta {
    /// From utime + stime (10 ms resolution).
    pub stat_us: f64,
    /// From schedstat (ns resolution).
    pub sched_us: f64,
}
