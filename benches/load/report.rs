//! The markdown report: machine, versions, one table per workload, and the targets as ratios.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::work::{ConnectResult, PubSubResult};
use crate::{median, Params, Setup};

pub struct ConnectRow {
    pub key: &'static str,
    pub name: &'static str,
    pub failed: u64,
    pub per_sec: f64,
    pub p50: f64,
    pub p99: f64,
    pub cpu_stat: f64,
    pub cpu_sched: f64,
    pub re_per_sec: f64,
    pub re_cpu_sched: f64,
}

impl ConnectRow {
    pub fn new(s: &Setup, rounds: &[ConnectResult], re: &[ConnectResult]) -> ConnectRow {
        let m = |f: &dyn Fn(&ConnectResult) -> f64, v: &[ConnectResult]| {
            median(v.iter().map(f).collect())
        };
        let lo = |f: &dyn Fn(&ConnectResult) -> f64, v: &[ConnectResult]| {
            v.iter().map(f).fold(f64::INFINITY, f64::min)
        };
        ConnectRow {
            key: s.key,
            name: s.name,
            failed: rounds.iter().map(|r| r.refused + r.failed).sum(),
            per_sec: m(&|r| r.per_sec(), rounds),
            p50: m(&|r| r.lat.p50, rounds),
            p99: m(&|r| r.lat.p99, rounds),
            cpu_stat: lo(&|r| r.cpu_per_op().0, rounds),
            cpu_sched: lo(&|r| r.cpu_per_op().1, rounds),
            re_per_sec: m(&|r| r.per_sec(), re),
            re_cpu_sched: lo(&|r| r.cpu_per_op().1, re),
        }
    }
}

pub struct PubSubRow {
    pub key: &'static str,
    pub name: &'static str,
    pub qos: u8,
    pub published: u64,
    pub delivered: u64,
    pub lost: u64,
    pub per_sec: f64,
    pub p50: f64,
    pub p99: f64,
    pub cpu_stat: f64,
    /// Lowest over the rounds.
    pub cpu_sched: f64,
    /// Median over the rounds.
    pub cpu_sched_median: f64,
}

impl PubSubRow {
    pub fn new(s: &Setup, qos: u8, rounds: &[PubSubResult]) -> PubSubRow {
        let m = |f: &dyn Fn(&PubSubResult) -> f64| median(rounds.iter().map(f).collect());
        let lo =
            |f: &dyn Fn(&PubSubResult) -> f64| rounds.iter().map(f).fold(f64::INFINITY, f64::min);
        PubSubRow {
            key: s.key,
            name: s.name,
            qos,
            published: rounds.iter().map(|r| r.published).sum(),
            delivered: rounds.iter().map(|r| r.delivered).sum(),
            lost: rounds.iter().map(|r| r.lost()).sum(),
            per_sec: m(&|r| r.delivered_per_sec()),
            p50: m(&|r| r.lat.p50),
            p99: m(&|r| r.lat.p99),
            cpu_stat: lo(&|r| r.cpu_per_delivery().0),
            cpu_sched: lo(&|r| r.cpu_per_delivery().1),
            cpu_sched_median: m(&|r| r.cpu_per_delivery().1),
        }
    }
}

pub struct MemRow {
    pub name: String,
    pub delivered: u64,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub cpu_per_msg_us: f64,
}

pub struct Report {
    pub params: Params,
    pub full: bool,
    pub plugin: String,
    pub connects: Vec<ConnectRow>,
    pub pubsub: Vec<PubSubRow>,
    /// One publisher, `fanout_subscribers` subscribers.
    pub fanout: Vec<PubSubRow>,
    pub ping: Vec<PubSubRow>,
    pub memory: Vec<MemRow>,
    pub skipped: Vec<(String, String)>,
    pub notes: Vec<String>,
    /// The connect storm's section (empty when it did not run).
    pub storm: String,
    pub elapsed: Duration,
    loadavg_start: String,
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a > 0.0 {
        format!("{:.3}", a / b)
    } else {
        "n/a".into()
    }
}

impl Report {
    pub fn new(params: Params, plugin: &Path, full: bool) -> Report {
        Report {
            params,
            full,
            plugin: plugin.display().to_string(),
            connects: Vec::new(),
            pubsub: Vec::new(),
            fanout: Vec::new(),
            ping: Vec::new(),
            memory: Vec::new(),
            skipped: Vec::new(),
            notes: Vec::new(),
            storm: String::new(),
            elapsed: Duration::ZERO,
            loadavg_start: loadavg(),
        }
    }

    fn machine(&self) -> String {
        let model = sh("lscpu", &[])
            .lines()
            .find_map(|l| l.strip_prefix("Model name:").map(|m| m.trim().to_string()))
            .unwrap_or_default();
        let mem = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|k| format!("{:.1} GiB", k as f64 / 1048576.0))
            .unwrap_or_default();
        let commit = sh("git", &["rev-parse", "--short", "HEAD"]);
        let mut s = String::new();
        let _ = writeln!(
            s,
            "- CPU: {} x {model} (`nproc`), memory {mem}",
            sh("nproc", &[])
        );
        let _ = writeln!(s, "- kernel: {}", sh("uname", &["-sr"]));
        let _ = writeln!(s, "- broker: {}", crate::broker::version_line());
        let _ = writeln!(s, "- rustc: {}", sh("rustc", &["--version"]));
        let _ = writeln!(
            s,
            "- mosq-auth: {} (commit {commit}), plugin `{}`",
            env!("CARGO_PKG_VERSION"),
            self.plugin
        );
        let _ = writeln!(
            s,
            "- load average (1/5/15 min) at start: {}, at end: {} (the machine is shared: \
             wall-clock rates are noisy, broker CPU per operation much less so)",
            self.loadavg_start,
            loadavg()
        );
        s
    }

    fn connect(&self, key: &str) -> Option<&ConnectRow> {
        self.connects.iter().find(|r| r.key == key)
    }

    fn pubsub(&self, key: &str, qos: u8) -> Option<&PubSubRow> {
        self.pubsub.iter().find(|r| r.key == key && r.qos == qos)
    }

    fn fanout(&self, key: &str, qos: u8) -> Option<&PubSubRow> {
        self.fanout.iter().find(|r| r.key == key && r.qos == qos)
    }

    /// Broker CPU per delivery of the mosq-auth setups against built-in files and against no
    /// authentication, for the pairs and the fan-out, per QoS level: the ratio of the lowest
    /// and the ratio of the medians over the rounds.
    fn delivery_ratios(&self) -> String {
        const SETUPS: [&str; 4] = ["files", "files-10k", "http-rules", "jwt-hs256"];
        const VS: [(&str, f64); 2] = [("builtin", 1.00), ("none", 1.03)];
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nBroker CPU per delivery (schedstat) against built-in `password_file` + `acl_file` \
             (limit <= 1.00) and against no authentication (limit <= 1.03): the ratio of the \
             lowest of the rounds and the ratio of their medians, **bold** above the limit. \
             \"met\" judges the lowest (other load on the machine only adds to it).\n"
        );
        let _ = writeln!(
            s,
            "| runs | QoS | setup | us per delivery, lowest / median | vs built-in, lowest / median | vs no auth, lowest / median | met (built-in, no auth) |"
        );
        let _ = writeln!(s, "|---|---:|---|---:|---:|---:|---|");
        let fmt = |a: f64, b: f64, limit: f64| {
            if a > 0.0 && b > 0.0 {
                let r = a / b;
                if r > limit {
                    format!("**{r:.3}**")
                } else {
                    format!("{r:.3}")
                }
            } else {
                "n/a".into()
            }
        };
        for fan in [false, true] {
            let runs_name = if fan {
                format!("fan-out 1 x {}", self.params.fanout_subscribers)
            } else {
                format!(
                    "pairs {} x {}",
                    self.params.publishers, self.params.subscribers
                )
            };
            let get = |k: &str, q: u8| {
                if fan {
                    self.fanout(k, q)
                } else {
                    self.pubsub(k, q)
                }
            };
            for qos in [0u8, 1] {
                for key in SETUPS {
                    let Some(a) = get(key, qos) else { continue };
                    let mut cells = Vec::new();
                    let mut met = Vec::new();
                    for (base, limit) in VS {
                        match get(base, qos) {
                            Some(b) => {
                                cells.push(format!(
                                    "{} / {}",
                                    fmt(a.cpu_sched, b.cpu_sched, limit),
                                    fmt(a.cpu_sched_median, b.cpu_sched_median, limit)
                                ));
                                met.push(if a.cpu_sched <= b.cpu_sched * limit {
                                    "yes"
                                } else {
                                    "**no**"
                                });
                            }
                            None => {
                                cells.push("not measured".into());
                                met.push("n/a");
                            }
                        }
                    }
                    let _ = writeln!(
                        s,
                        "| {runs_name} | {qos} | {} | {:.2} / {:.2} | {} | {} | {} |",
                        a.name,
                        a.cpu_sched,
                        a.cpu_sched_median,
                        cells[0],
                        cells[1],
                        met.join(", ")
                    );
                }
            }
        }
        s
    }

    fn targets(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "| target | measured (broker CPU, schedstat) | ratio | limit | met |"
        );
        let _ = writeln!(s, "|---|---|---|---|---|");
        let mut row = |what: String, a: Option<f64>, b: Option<f64>, limit: f64| {
            let (Some(a), Some(b)) = (a, b) else {
                let _ = writeln!(s, "| {what} | not measured | n/a | {limit:.2} | n/a |");
                return;
            };
            let r = a / b;
            let _ = writeln!(
                s,
                "| {what} | {a:.2} vs {b:.2} us | {} | <= {limit:.2} | {} |",
                ratio(a, b),
                if r <= limit { "yes" } else { "**no**" }
            );
        };
        for qos in [0u8, 1] {
            let c = |k: &str| self.pubsub(k, qos).map(|r| r.cpu_sched);
            row(
                format!("QoS {qos}: files (warm cache) per delivery vs no auth"),
                c("files"),
                c("none"),
                1.03,
            );
            row(
                format!("QoS {qos}: HTTP (warm cache) per delivery vs no auth"),
                c("http"),
                c("none"),
                1.03,
            );
            row(
                format!("QoS {qos}: files (warm cache) per delivery vs built-in acl_file"),
                c("files"),
                c("builtin"),
                1.00,
            );
            row(
                format!("QoS {qos}: HTTP (warm cache) per delivery vs built-in acl_file"),
                c("http"),
                c("builtin"),
                1.00,
            );
            row(
                format!("QoS {qos}: HTTP, rules at login (cache off) per delivery vs files"),
                c("http-rules"),
                c("files"),
                1.10,
            );
            row(
                format!("QoS {qos}: files 10,000 users vs 10 users, per delivery"),
                c("files-10k"),
                c("files"),
                1.05,
            );
        }
        let mem = |prefix: &str| {
            self.memory
                .iter()
                .find(|r| r.name.starts_with(prefix))
                .map(|r| r.cpu_per_msg_us)
        };
        row(
            "distinct topics: HTTP, rules at login (cache off) vs files, per delivery".into(),
            mem("mosq-auth HTTP, rules at login"),
            mem("mosq-auth files, cache_max_entries 100000"),
            1.10,
        );
        let cc = |k: &str| self.connect(k).map(|r| r.cpu_sched);
        row(
            "JWT HS256 vs files, per connect".into(),
            cc("jwt-hs256"),
            cc("files"),
            2.00,
        );
        for qos in [0u8, 1] {
            row(
                format!("QoS {qos}: JWT, rules from the acl claim, per delivery vs files"),
                self.pubsub("jwt-hs256", qos).map(|r| r.cpu_sched),
                self.pubsub("files", qos).map(|r| r.cpu_sched),
                1.10,
            );
        }
        row(
            "files 10,000 users vs 10 users, per connect".into(),
            cc("files-10k"),
            cc("files"),
            1.05,
        );
        row(
            "files 10,000 users vs 10 users, per reconnect (warm password cache)".into(),
            self.connect("files-10k").map(|r| r.re_cpu_sched),
            self.connect("files").map(|r| r.re_cpu_sched),
            1.05,
        );
        s
    }

    pub fn markdown(&self) -> String {
        let p = &self.params;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# mosq-auth load report{}\n",
            if self.full {
                ""
            } else {
                " (smoke run, not a measurement)"
            }
        );
        s.push_str(&self.machine());
        let _ = writeln!(
            s,
            "- load: {} connects ({} concurrent connectors) per setup; {} publishers x {} \
             subscribers, {} messages per QoS level ({} for HTTP without cache), 64-byte \
             payload, at most 64 messages per publisher in flight; fan-out 1 publisher x {} \
             subscribers, {} messages per QoS level; {} round(s) interleaved across setups: rates and latencies are the median \
             of the rounds, broker CPU per operation the lowest (other load on the machine only \
             adds to it); whole run {:.0?}\n",
            p.connects,
            p.concurrency,
            p.publishers,
            p.subscribers,
            p.messages,
            p.nocache_messages,
            p.fanout_subscribers,
            p.fanout_messages,
            p.rounds,
            self.elapsed
        );

        // The connect and publish/subscribe tables are left out when no setup ran (a
        // storm-only run, `LOAD_SETUPS=storm`).
        let tables_at = s.len();
        let _ = writeln!(s, "## Connects\n");
        let _ = writeln!(
            s,
            "Each connect is TCP connect + CONNECT (username, password, new client id) + CONNACK + \
             DISCONNECT. \"Reconnect\" repeats 8 client ids per connector, so mosq-auth's password \
             cache (keyed on username, password and client id) answers.\n"
        );
        let _ = writeln!(
            s,
            "| setup | connects/s | CONNACK p50 / p99 (us) | broker CPU per connect, stat / schedstat (us) | reconnects/s | broker CPU per reconnect (us) | refused or failed |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
        for r in &self.connects {
            let _ = writeln!(
                s,
                "| {} | {:.0} | {:.0} / {:.0} | {:.1} / {:.1} | {:.0} | {:.1} | {} |",
                r.name,
                r.per_sec,
                r.p50,
                r.p99,
                r.cpu_stat,
                r.cpu_sched,
                r.re_per_sec,
                r.re_cpu_sched,
                r.failed
            );
        }

        let _ = writeln!(s, "\n## Publish / subscribe\n");
        let _ = writeln!(
            s,
            "Publisher `pubN` publishes to `bench/pubN/data` (write check), every subscriber holds \
             `bench/+/data` (a read check per delivery). Latency is publish to receive, from a \
             timestamp in the payload, under full load. CPU per delivery is the broker's CPU time \
             over the measured run divided by messages delivered (publishes and write checks \
             included).\n"
        );
        let _ = writeln!(
            s,
            "| setup | QoS | published / delivered | delivered/s | latency p50 / p99 (us) | broker CPU per delivery, stat / schedstat (us) | lost |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
        for r in &self.pubsub {
            let _ = writeln!(
                s,
                "| {} | {} | {} / {} | {:.0} | {:.0} / {:.0} | {:.2} / {:.2} | {} |",
                r.name,
                r.qos,
                r.published,
                r.delivered,
                r.per_sec,
                r.p50,
                r.p99,
                r.cpu_stat,
                r.cpu_sched,
                r.lost
            );
        }

        let _ = writeln!(
            s,
            "\n## Fan-out\n\nOne publisher (`pub0`) sends to `bench/pub0/fan`, {} subscribers \
             (`fanN`, each its own user) hold exactly that topic: a read check per delivery, one \
             write check per {} deliveries. {} messages per QoS level (each delivered to every \
             subscriber), at most 64 per subscriber in flight. Broker CPU per delivery is the \
             lowest and the median of the rounds.\n",
            p.fanout_subscribers, p.fanout_subscribers, p.fanout_messages
        );
        let _ = writeln!(
            s,
            "| setup | QoS | published / delivered | delivered/s | latency p50 / p99 (us) | broker CPU per delivery, schedstat lowest / median (us) | stat lowest (us) | lost |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.fanout {
            let _ = writeln!(
                s,
                "| {} | {} | {} / {} | {:.0} | {:.0} / {:.0} | {:.2} / {:.2} | {:.2} | {} |",
                r.name,
                r.qos,
                r.published,
                r.delivered,
                r.per_sec,
                r.p50,
                r.p99,
                r.cpu_sched,
                r.cpu_sched_median,
                r.cpu_stat,
                r.lost
            );
        }

        if self.connects.is_empty() {
            s.truncate(tables_at);
        }

        if !self.ping.is_empty() {
            let _ = writeln!(s, "\n## Latency without queueing\n");
            let _ = writeln!(
                s,
                "One publisher sends QoS 0 messages one at a time (the next after the previous one \
                 reached all {} subscribers), so latency is one trip through the broker and its \
                 checks, not queueing.\n",
                p.subscribers
            );
            let _ = writeln!(
                s,
                "| setup | messages | latency p50 / p99 (us) | broker CPU per delivery (us) |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|");
            for r in &self.ping {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.0} / {:.0} | {:.2} |",
                    r.name, r.published, r.p50, r.p99, r.cpu_sched
                );
            }
        }

        if !self.memory.is_empty() {
            let _ = writeln!(s, "\n## Memory under distinct topics\n");
            let _ = writeln!(
                s,
                "One publisher sends QoS 0 messages to `mem/0/<n>`, a new topic each, to one \
                 subscriber of `mem/#`: two new ACL cache keys per message (write + read). RSS is \
                 the broker's `VmRSS` after the warm-up and after the run.\n"
            );
            let _ = writeln!(
                s,
                "| setup | messages | RSS before (MiB) | RSS after (MiB) | growth (MiB) | broker CPU per delivery (us) |"
            );
            let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|");
            for m in &self.memory {
                let _ = writeln!(
                    s,
                    "| {} | {} | {:.1} | {:.1} | {:+.1} | {:.2} |",
                    m.name,
                    m.delivered,
                    m.rss_before_kib as f64 / 1024.0,
                    m.rss_after_kib as f64 / 1024.0,
                    (m.rss_after_kib as f64 - m.rss_before_kib as f64) / 1024.0,
                    m.cpu_per_msg_us
                );
            }
        }

        s.push_str(&self.storm);

        if !self.connects.is_empty() {
            let _ = writeln!(s, "\n## Targets\n");
            s.push_str(&self.targets());
            s.push_str(&self.delivery_ratios());
        }

        if !self.skipped.is_empty() || !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for (name, why) in &self.skipped {
                let _ = writeln!(s, "- {name}: skipped, the broker did not start: `{why}`");
            }
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}
