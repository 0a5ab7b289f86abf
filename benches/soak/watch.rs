//! Watching the broker: its plugin's log lines as they appear (with the moment they were
//! seen), and its process from `/proc/<pid>` (alive, same start time, RSS, threads, open
//! file descriptors).

use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// The lines of the broker log that matter here, as they were seen.
pub struct LogWatch {
    path: PathBuf,
    state: Mutex<(u64, Vec<u8>)>,
    pub lines: Mutex<Vec<(Instant, String)>>,
}

impl LogWatch {
    pub fn new(path: PathBuf) -> LogWatch {
        LogWatch {
            path,
            state: Mutex::new((0, Vec::new())),
            lines: Mutex::new(Vec::new()),
        }
    }

    /// Reads what the broker wrote since the last call; keeps the plugin's lines and the
    /// broker's own start and reload lines.
    pub fn poll(&self) {
        let mut st = self.state.lock().unwrap();
        let Ok(mut f) = fs::File::open(&self.path) else {
            return;
        };
        if f.seek(SeekFrom::Start(st.0)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        let Ok(n) = f.read_to_end(&mut buf) else {
            return;
        };
        st.0 += n as u64;
        st.1.extend_from_slice(&buf);
        let now = Instant::now();
        let mut keep = Vec::new();
        while let Some(pos) = st.1.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = st.1.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line).trim_end().to_string();
            if line.contains("mosq-auth")
                || line.contains("Reloading config")
                || line.contains("starting")
                || line.contains("panic")
            {
                keep.push((now, line));
            }
        }
        self.lines.lock().unwrap().extend(keep);
    }

    /// The kept lines seen in [from, until] that contain any of `pats`.
    pub fn matching(&self, from: Instant, until: Instant, pats: &[&str]) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, l)| *t >= from && *t <= until && pats.iter().any(|p| l.contains(p)))
            .map(|(_, l)| l.clone())
            .collect()
    }
}

/// One look at the broker process.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    pub alive: bool,
    /// Field 22 of `/proc/<pid>/stat` (clock ticks after boot).
    pub start_time: u64,
    pub rss_kib: u64,
    pub threads: u64,
    pub fds: u64,
    pub uid: u32,
}

impl Sample {
    pub fn of(pid: u32) -> Sample {
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            return Sample::default();
        };
        let rest = stat.rsplit_once(')').map_or("", |r| r.1);
        let f: Vec<&str> = rest.split_whitespace().collect();
        // `rest` starts at field 3 (state).
        let state = f.first().copied().unwrap_or("X");
        let start_time = f.get(19).and_then(|v| v.parse().ok()).unwrap_or(0);
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let fds = fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64);
        Sample {
            alive: !matches!(state, "Z" | "X" | "x"),
            start_time,
            rss_kib: field("VmRSS:"),
            threads: field("Threads:"),
            fds,
            uid: field("Uid:") as u32,
        }
    }

    pub fn rss_mib(&self) -> f64 {
        self.rss_kib as f64 / 1024.0
    }
}
