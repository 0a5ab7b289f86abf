//! The broker's CPU time and memory from `/proc`, and its address; the broker itself is
//! started by the test harness's `tests/it/support/broker.rs`.

use std::fs;
use std::net::SocketAddr;

use crate::broker::Broker;

impl Broker {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
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
