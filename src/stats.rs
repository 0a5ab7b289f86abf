//! Counters of decisions, cache hits and backend latency, readable as Prometheus text.
//!
//! Everything is a relaxed atomic: counting costs a few nanoseconds on the broker thread.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::request::Decision;

/// The kind of check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Password check.
    Auth = 0,
    /// Superuser question.
    Superuser = 1,
    /// ACL check.
    Acl = 2,
}

const CHECKS: [(Check, &str); 3] = [
    (Check::Auth, "auth"),
    (Check::Superuser, "superuser"),
    (Check::Acl, "acl"),
];
const RESULTS: [&str; 4] = ["allow", "deny", "defer", "error"];
/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 10] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// The counters of one backend.
#[derive(Debug, Default)]
pub struct BackendStats {
    results: [[AtomicU64; 4]; 3],
    cache_hits: [AtomicU64; 3],
    cache_misses: [AtomicU64; 3],
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
}

impl BackendStats {
    /// Counts one answer (`None` = error).
    pub fn result(&self, check: Check, decision: Option<Decision>) {
        let i = match decision {
            Some(Decision::Allow) => 0,
            Some(Decision::Deny) => 1,
            Some(Decision::Defer) => 2,
            None => 3,
        };
        self.results[check as usize][i].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a cache hit or miss.
    pub fn cache(&self, check: Check, hit: bool) {
        let c = if hit {
            &self.cache_hits
        } else {
            &self.cache_misses
        };
        c[check as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long one backend call took.
    pub fn latency(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
            self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// The number of answers of a kind (`None` = errors).
    pub fn count(&self, check: Check, decision: Option<Decision>) -> u64 {
        let i = match decision {
            Some(Decision::Allow) => 0,
            Some(Decision::Deny) => 1,
            Some(Decision::Defer) => 2,
            None => 3,
        };
        self.results[check as usize][i].load(Ordering::Relaxed)
    }

    /// Cache hits of a kind of check.
    pub fn hits(&self, check: Check) -> u64 {
        self.cache_hits[check as usize].load(Ordering::Relaxed)
    }

    /// Cache misses of a kind of check.
    pub fn misses(&self, check: Check) -> u64 {
        self.cache_misses[check as usize].load(Ordering::Relaxed)
    }

    /// One line for the log: totals per check.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for (check, name) in CHECKS {
            let r = &self.results[check as usize];
            let _ = write!(
                s,
                "{name} {}/{}/{}/{} (allow/deny/defer/error), cache {}/{} (hit/miss); ",
                r[0].load(Ordering::Relaxed),
                r[1].load(Ordering::Relaxed),
                r[2].load(Ordering::Relaxed),
                r[3].load(Ordering::Relaxed),
                self.hits(check),
                self.misses(check)
            );
        }
        s.trim_end_matches("; ").to_string()
    }

    /// Appends this backend's metrics in Prometheus text format.
    pub fn prometheus(&self, backend: &str, out: &mut String) {
        for (check, cname) in CHECKS {
            for (i, rname) in RESULTS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "mosq_auth_decisions_total{{backend=\"{backend}\",check=\"{cname}\",result=\"{rname}\"}} {}",
                    self.results[check as usize][i].load(Ordering::Relaxed)
                );
            }
            let _ = writeln!(
                out,
                "mosq_auth_cache_hits_total{{backend=\"{backend}\",check=\"{cname}\"}} {}",
                self.hits(check)
            );
            let _ = writeln!(
                out,
                "mosq_auth_cache_misses_total{{backend=\"{backend}\",check=\"{cname}\"}} {}",
                self.misses(check)
            );
        }
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "mosq_auth_backend_latency_seconds_bucket{{backend=\"{backend}\",le=\"{b}\"}} {cumulative}"
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "mosq_auth_backend_latency_seconds_bucket{{backend=\"{backend}\",le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "mosq_auth_backend_latency_seconds_sum{{backend=\"{backend}\"}} {}",
            self.latency_sum_ns.load(Ordering::Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "mosq_auth_backend_latency_seconds_count{{backend=\"{backend}\"}} {count}"
        );
    }
}

/// The `# HELP`/`# TYPE` header of the metrics text.
pub const PROMETHEUS_HEADER: &str = "\
# HELP mosq_auth_decisions_total Answers of each backend by check and result.
# TYPE mosq_auth_decisions_total counter
# HELP mosq_auth_cache_hits_total Checks answered from the cache.
# TYPE mosq_auth_cache_hits_total counter
# HELP mosq_auth_cache_misses_total Checks that had to ask the backend.
# TYPE mosq_auth_cache_misses_total counter
# HELP mosq_auth_backend_latency_seconds Time spent in backend calls (cache misses and refreshes; 1 ACL check in 16 for backends answering from memory).
# TYPE mosq_auth_backend_latency_seconds histogram
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_renders() {
        let s = BackendStats::default();
        s.result(Check::Acl, Some(Decision::Allow));
        s.result(Check::Acl, None);
        s.cache(Check::Acl, true);
        s.latency(Duration::from_micros(300));
        assert_eq!(s.count(Check::Acl, Some(Decision::Allow)), 1);
        assert_eq!(s.count(Check::Acl, None), 1);
        let mut out = String::new();
        s.prometheus("http", &mut out);
        assert!(out.contains(
            "mosq_auth_decisions_total{backend=\"http\",check=\"acl\",result=\"allow\"} 1"
        ));
        assert!(out.contains(
            "mosq_auth_backend_latency_seconds_bucket{backend=\"http\",le=\"0.0005\"} 1"
        ));
        assert!(out.contains("mosq_auth_backend_latency_seconds_count{backend=\"http\"} 1"));
        assert!(s.summary().starts_with("auth 0/0/0/0"));
    }
}
