/*!
Soak: a bounded run against a real mosquitto (`MOSQUITTO_BIN`, else Debian's) loading the
release plugin with the files, JWT and HTTP backends chained (`files,jwt,http`), under a steady
load of clients (see `load.rs`) while a schedule injects faults (see `faults.rs`). An oracle
(`model.rs`) judges every CONNACK, SUBACK, delivered message and missing message against the
truth in force, allowing only the documented windows. Also checked: the broker keeps its pid
and start time, every fault gets its plugin log line (and errors only once per burst), no file
is ever loaded half-way (each `files: loaded` line names the counts of a complete version), and
RSS, threads and open descriptors of the broker are flat between a quiet moment after warm-up
and a quiet moment at the end.

`cargo bench --bench soak` (or `make soak`, `scripts/soak.sh`) runs it; without `--bench` (as
under `cargo test --all-targets`) only the oracle's own offline checks run.

Environment: `SOAK_SECONDS` (600), `SOAK_WORKERS` (4), `SOAK_SELFTEST` (`1`/`login`, `acl` or
`deny`: turn one expectation of the oracle upside down; the run must then fail),
`MOSQ_AUTH_PLUGIN` (the `.so`, default `target/release/libmosq_auth.so`), `MOSQUITTO_BIN`,
`SOAK_KEEP` (a directory to copy the broker log and config into).

The last line reads `soak: N checks, W wrong, C crashes, faults F, RSS a -> b MiB, threads t0
-> t1, fds f0 -> f1`; the exit status is 1 on any wrong answer, crash, missing fault line,
half-way load, stall or growth beyond the bounds, 2 when the run could not start.
*/

#[path = "../../tests/it/support/broker.rs"]
mod broker;
mod client;
mod faults;
mod load;
mod model;
#[path = "../common/mqtt_wire.rs"]
mod mqtt_wire;
mod service;
mod watch;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use broker::{Broker, Dir, Start};
use faults::{files_version, http_version, Faults, Render, CYCLE, CYCLE_SECS};
use load::{Ctx, Stats, Tokens};
use model::{Flip, Timeline, Windows};
use service::Service;
use watch::{LogWatch, Sample};

/// The plugin options that set the windows (seconds).
const RELOAD_INTERVAL: u64 = 1;
const AUTH_TTL: u64 = 2;
const AUTH_NEG: u64 = 1;
const ACL_TTL: u64 = 3;
const ACL_NEG: u64 = 1;
const HTTP_TIMEOUT: u64 = 1;
const HTTP_COOLDOWN: u64 = 2;

/// Long-lived subscribers next to the workers.
const WATCHERS: usize = 2;

/// Growth allowed between the two quiet samples.
const RSS_GROWTH_MIB: f64 = 24.0;
const RSS_GROWTH_FRACTION: f64 = 0.5;
const THREAD_GROWTH: u64 = 6;
const FD_GROWTH: u64 = 16;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn plugin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("MOSQ_AUTH_PLUGIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("exe");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("libmosq_auth.so"))
        .expect("target dir")
}

fn windows() -> Windows {
    let s = Duration::from_secs;
    Windows {
        reload: s(RELOAD_INTERVAL),
        auth_ttl: s(AUTH_TTL),
        auth_neg: s(AUTH_NEG),
        acl_ttl: s(ACL_TTL),
        acl_neg: s(ACL_NEG),
        http_tail: s(HTTP_TIMEOUT + HTTP_COOLDOWN + 1),
        slack: Duration::from_millis(750),
    }
}

fn config(plugin: &Path, http_port: u16) -> String {
    format!(
        "log_type notice\nlog_type information\nmax_connections -1\nallow_anonymous false\n\
         plugin {}\n\
         plugin_opt_backends files,jwt,http\n\
         plugin_opt_password_file {{dir}}/passwd\n\
         plugin_opt_acl_file {{dir}}/acl\n\
         plugin_opt_reload_interval {RELOAD_INTERVAL}\n\
         plugin_opt_jwt_secret {}\n\
         plugin_opt_http_host 127.0.0.1\n\
         plugin_opt_http_port {http_port}\n\
         plugin_opt_http_getuser_uri /auth\n\
         plugin_opt_http_aclcheck_uri /acl\n\
         plugin_opt_http_timeout {HTTP_TIMEOUT}\n\
         plugin_opt_http_connect_timeout {HTTP_TIMEOUT}\n\
         plugin_opt_http_failure_threshold 3\n\
         plugin_opt_http_cooldown {HTTP_COOLDOWN}\n\
         plugin_opt_auth_cache_seconds {AUTH_TTL}\n\
         plugin_opt_auth_cache_negative_seconds {AUTH_NEG}\n\
         plugin_opt_acl_cache_seconds {ACL_TTL}\n\
         plugin_opt_acl_cache_negative_seconds {ACL_NEG}\n",
        plugin.display(),
        load::JWT_SECRET,
    )
}

/// The oracle's offline checks: the decisions it must make on hand-picked cases (run without
/// `--bench`, e.g. by `cargo test --all-targets`).
fn offline() -> Result<(), String> {
    use model::*;
    let f = files_version(0);
    let h = http_version(0);
    let flip = Flip::None;
    let l = |u: &str, p: &[u8]| Login {
        user: Some(u.into()),
        password: Some(p.to_vec()),
        client_id: "c1".into(),
        token: None,
    };
    let s = |u: &str, c: &str| Session {
        user: u.into(),
        client_id: c.into(),
        jwt: false,
    };
    let pw0 = match f.password("f0") {
        Some(Some(p)) => p.to_vec(),
        _ => return Err("f0 missing in v0".into()),
    };
    let hp = h
        .password("h0")
        .ok_or("h0 missing in h0")?
        .as_bytes()
        .to_vec();
    let cases: Vec<(&str, Outcome, Outcome)> = vec![
        (
            "f0 right",
            login_eval(&l("f0", &pw0), &f, Some(&h), flip),
            Outcome::Allow,
        ),
        (
            "f0 wrong",
            login_eval(&l("f0", b"x"), &f, Some(&h), flip),
            Outcome::Deny,
        ),
        (
            "f0 empty",
            login_eval(&l("f0", b""), &f, Some(&h), flip),
            Outcome::Deny,
        ),
        (
            "np right",
            login_eval(&l("f_np", load::NP_PASSWORD), &f, None, flip),
            Outcome::Allow,
        ),
        (
            "h0 right",
            login_eval(&l("h0", &hp), &f, Some(&h), flip),
            Outcome::Allow,
        ),
        (
            "h0 down",
            login_eval(&l("h0", &hp), &f, None, flip),
            Outcome::Deny,
        ),
        (
            "flip login",
            login_eval(&l("f0", &pw0), &f, Some(&h), Flip::Login),
            Outcome::Deny,
        ),
        (
            "f0 own",
            acl_eval(&s("f0", "c"), "files/f0/t", Acc::Write, &f, None, flip),
            Outcome::Allow,
        ),
        (
            "f0 secret",
            acl_eval(
                &s("f0", "c"),
                "files/f0/secret",
                Acc::Read,
                &f,
                Some(&h),
                flip,
            ),
            Outcome::Deny,
        ),
        (
            "f0 sub #",
            acl_eval(&s("f0", "c"), "files/f0/#", Acc::Subscribe, &f, None, flip),
            Outcome::Allow,
        ),
        (
            "f0 sub all",
            acl_eval(&s("f0", "c"), "#", Acc::Subscribe, &f, Some(&h), flip),
            Outcome::Deny,
        ),
        (
            "pattern",
            acl_eval(&s("f0", "c"), "users/f0/t", Acc::Read, &f, None, flip),
            Outcome::Allow,
        ),
        (
            "pattern +",
            acl_eval(
                &s("f0", "c"),
                "users/+/#",
                Acc::Subscribe,
                &f,
                Some(&h),
                flip,
            ),
            Outcome::Deny,
        ),
        (
            "slash user",
            acl_eval(
                &s("ev/il", "c"),
                "users/ev/il/t",
                Acc::Read,
                &f,
                Some(&h),
                flip,
            ),
            Outcome::Deny,
        ),
        (
            "slash client",
            acl_eval(
                &s("f0", "cl/x"),
                "clients/cl/x/t",
                Acc::Write,
                &f,
                Some(&h),
                flip,
            ),
            Outcome::Deny,
        ),
        (
            "plus client",
            acl_eval(
                &s("f1", "cl+x"),
                "users/f1/t",
                Acc::Write,
                &f,
                Some(&h),
                flip,
            ),
            Outcome::Deny,
        ),
        (
            "client ok",
            acl_eval(&s("h0", "c9"), "clients/c9/t", Acc::Write, &f, None, flip),
            Outcome::Allow,
        ),
        (
            "http acl",
            acl_eval(&s("h0", "c"), "http/h0/t", Acc::Read, &f, Some(&h), flip),
            Outcome::Allow,
        ),
        (
            "http acl down",
            acl_eval(&s("h0", "c"), "http/h0/t", Acc::Read, &f, None, flip),
            Outcome::Deny,
        ),
        (
            "http other",
            acl_eval(&s("h0", "c"), "http/h1/t", Acc::Read, &f, Some(&h), flip),
            Outcome::Deny,
        ),
    ];
    let mut bad = Vec::new();
    for (name, got, want) in cases {
        if got != want {
            bad.push(format!("{name}: {got:?}, expected {want:?}"));
        }
    }
    for (fi, t, want) in [
        ("a/#", "a", true),
        ("a/+/c", "a/b/c", true),
        ("a/+", "a/b/c", false),
        ("#", "x/y", true),
    ] {
        if matches(fi, t) != want {
            bad.push(format!("matches({fi}, {t}) != {want}"));
        }
    }
    for (r, fi, want) in [
        ("a/#", "a/x/+", true),
        ("a/#", "#", false),
        ("a/#", "+/x", false),
        ("a/b", "a/+", false),
        ("a/+", "a/b", true),
    ] {
        if covers(r, fi) != want {
            bad.push(format!("covers({r}, {fi}) != {want}"));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("\n"))
    }
}

fn main() -> ExitCode {
    if !std::env::args().any(|a| a == "--bench") {
        return match offline() {
            Ok(()) => {
                println!("soak: oracle offline checks passed (`cargo bench --bench soak` or `make soak` runs the soak)");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("soak: oracle offline checks failed:\n{e}");
                ExitCode::FAILURE
            }
        };
    }
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: cannot run: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let secs = env_u64("SOAK_SECONDS", 600).max(20);
    let workers = env_u64("SOAK_WORKERS", 4).max(1) as usize;
    let flip = Flip::from_env(&std::env::var("SOAK_SELFTEST").unwrap_or_default())?;
    offline()?;
    let plugin = plugin_path();
    if !plugin.is_file() {
        return Err(format!(
            "{} is missing: cargo build --release --lib (or set MOSQ_AUTH_PLUGIN)",
            plugin.display()
        ));
    }
    println!(
        "soak: {}, plugin {}",
        broker::version_line(),
        plugin.display()
    );
    let w = windows();
    let t_start = Instant::now();
    let files0 = files_version(0);
    let http0 = http_version(0);
    let svc = Arc::new(Service::start(
        Arc::new(http0.clone()),
        Duration::from_secs(HTTP_TIMEOUT) + Duration::from_millis(500),
    ));
    let dir = Dir::new();
    let mut render = Render::default();
    dir.write("passwd", render.passwd(&files0).concat());
    dir.write("acl", Render::acl(&files0).concat());
    let so = dir.path().join("libmosq_auth.so");
    fs::copy(&plugin, &so).map_err(|e| format!("{}: {e}", plugin.display()))?;
    let passwd = dir.path().join("passwd");
    let acl = dir.path().join("acl");
    let body = config(&so, svc.addr.port());
    let start = Start {
        quiet: true,
        ..Start::default()
    };
    let broker = Broker::try_start(dir, &body, &start).map_err(|e| e.to_string())?;
    let pid = broker.pid();
    let log_path = broker.dir.path().join("broker.log");
    let first = Sample::of(pid);
    println!(
        "soak: broker pid {pid} (uid {}) on 127.0.0.1:{}, HTTP service on {}, {secs} s, {workers} workers{}",
        first.uid,
        broker.port,
        svc.addr,
        if flip != Flip::None {
            format!(", SELFTEST {flip:?} (this run must fail)")
        } else {
            String::new()
        }
    );
    let complete = Arc::new(Mutex::new(vec![files0.counts()]));
    let ctx = Arc::new(Ctx {
        addr: ([127, 0, 0, 1], broker.port).into(),
        timeline: Mutex::new(Timeline::new(w, flip, files0, http0, t_start)),
        stats: Stats::default(),
        tokens: Tokens::mint(),
        stop: Default::default(),
        pause: Default::default(),
        idle: Default::default(),
        started: t_start,
        pubs: Default::default(),
        next_pub: Default::default(),
    });
    let log = Arc::new(LogWatch::new(log_path.clone()));

    // The watcher: log lines every 200 ms, the process every second.
    let crashes = Arc::new(Mutex::new(Vec::<String>::new()));
    let peak = Arc::new(Mutex::new(first));
    let watcher = {
        let (ctx, log, crashes, peak) = (ctx.clone(), log.clone(), crashes.clone(), peak.clone());
        thread::spawn(move || {
            let mut n = 0u64;
            while !ctx.stop.load(Ordering::Acquire) {
                log.poll();
                n += 1;
                if n % 5 == 0 {
                    let s = Sample::of(pid);
                    if !s.alive || s.start_time != first.start_time {
                        crashes.lock().unwrap().push(format!(
                            "t={:.1}s broker pid {pid} gone (alive {}, start time {} -> {})",
                            ctx.started.elapsed().as_secs_f64(),
                            s.alive,
                            first.start_time,
                            s.start_time
                        ));
                        ctx.stop.store(true, Ordering::Release);
                        return;
                    }
                    let mut p = peak.lock().unwrap();
                    p.rss_kib = p.rss_kib.max(s.rss_kib);
                    p.threads = p.threads.max(s.threads);
                    p.fds = p.fds.max(s.fds);
                    let old = Instant::now() - Duration::from_secs(60).min(ctx.started.elapsed());
                    ctx.pubs.lock().unwrap().retain(|_, p| p.t0 > old);
                    let now = ctx.started.elapsed();
                    ctx.timeline
                        .lock()
                        .unwrap()
                        .prune(Instant::now() - Duration::from_secs(30).min(now));
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
    };

    let mut handles: Vec<_> = (0..workers)
        .map(|i| {
            let ctx = ctx.clone();
            thread::spawn(move || load::worker(ctx, i))
        })
        .collect();
    for i in 0..WATCHERS {
        let ctx = ctx.clone();
        handles.push(thread::spawn(move || {
            load::watcher(ctx, i, Duration::from_secs(15))
        }));
    }

    let quiet = |ctx: &Ctx| -> Sample {
        ctx.pause.store(true, Ordering::Release);
        let deadline = Instant::now() + Duration::from_secs(30);
        while ctx.idle.load(Ordering::Acquire) < workers + WATCHERS && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        thread::sleep(Duration::from_millis(700));
        let s = Sample::of(pid);
        ctx.pause.store(false, Ordering::Release);
        s
    };

    // Warm-up, then the quiet baseline.
    let warm = Duration::from_secs((secs / 12).clamp(5, 30));
    thread::sleep(warm);
    let base = quiet(&ctx);
    println!(
        "soak: after warm-up ({} s): RSS {:.1} MiB, threads {}, fds {}, {} checks so far",
        warm.as_secs(),
        base.rss_mib(),
        base.threads,
        base.fds,
        ctx.stats.checks.load(Ordering::Relaxed)
    );

    let mut f = Faults {
        ctx: ctx.clone(),
        svc: svc.clone(),
        pid,
        passwd,
        acl,
        render,
        file_n: 0,
        http_n: 0,
        expects: Vec::new(),
        complete: complete.clone(),
        count: 0,
        done: Vec::new(),
        root_broker: first.uid == 0,
        http_slow: Duration::from_secs(HTTP_TIMEOUT) + Duration::from_millis(500),
    };
    if f.root_broker {
        println!("soak: the broker runs as root: chmod 000 cannot make files unreadable to it; that fault is left out");
    }
    // Faults until a tail of calm at the end, in which the last expectations are checked.
    let tail = Duration::from_secs(5);
    let end = t_start + Duration::from_secs(secs);
    let sched0 = Instant::now();
    'cycles: for cycle in 0.. {
        for (at, name) in CYCLE {
            let when = sched0 + Duration::from_secs(cycle * CYCLE_SECS + at);
            if when + Duration::from_secs(faults::step_secs(name)) + tail > end {
                break 'cycles;
            }
            while Instant::now() < when {
                if ctx.stop.load(Ordering::Acquire) {
                    break 'cycles;
                }
                thread::sleep(Duration::from_millis(50));
            }
            f.step(name);
        }
    }
    while Instant::now() < end && !ctx.stop.load(Ordering::Acquire) {
        thread::sleep(Duration::from_millis(100));
    }
    ctx.pause.store(false, Ordering::Release);
    let crashed_early = ctx.stop.load(Ordering::Acquire);
    ctx.stop.store(true, Ordering::Release);
    for h in handles {
        let _ = h.join();
    }
    let _ = watcher.join();
    thread::sleep(Duration::from_millis(1500));
    log.poll();
    let last = Sample::of(pid);
    if !last.alive || last.start_time != first.start_time {
        crashes
            .lock()
            .unwrap()
            .push(format!("broker pid {pid} not alive at the end"));
    }
    let _ = crashed_early;

    // Verdicts.
    let mut failures: Vec<String> = Vec::new();
    let st = &ctx.stats;
    let checks = st.checks.load(Ordering::Relaxed);
    let wa = st.wrong_allow.load(Ordering::Relaxed);
    let wd = st.wrong_deny.load(Ordering::Relaxed);
    let stalls = st.stalls.load(Ordering::Relaxed);
    if wa + wd > 0 {
        failures.push(format!("{wa} wrong allows, {wd} wrong denies"));
    }
    if stalls > 0 {
        failures.push(format!(
            "{stalls} stalls (no answer within {:?})",
            client::ANSWER_TIMEOUT
        ));
    }
    let crashes = crashes.lock().unwrap().clone();
    failures.extend(crashes.iter().cloned());
    // Every fault's line.
    let mut missing = 0;
    for e in &f.expects {
        let got = log.matching(e.from, e.until + Duration::from_secs(1), e.any_of);
        if got.is_empty() {
            missing += 1;
            failures.push(format!(
                "no plugin log line for fault '{}' (wanted one of {:?})",
                e.what, e.any_of
            ));
        } else if let Some(max) = e.at_most {
            let errors = got
                .iter()
                .filter(|l| l.contains("backend http failed"))
                .count();
            if errors > max {
                failures.push(format!(
                    "fault '{}': {errors} error lines, more than once per burst ({max})",
                    e.what
                ));
            }
        }
    }
    // No half-way loads, no panics.
    let complete = complete.lock().unwrap().clone();
    let lines = log.lines.lock().unwrap().clone();
    let mut loads = 0;
    for (_, l) in &lines {
        if let Some(rest) = l.split("files: loaded ").nth(1) {
            loads += 1;
            let nums: Vec<usize> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [users, rules, ..] = nums[..] {
                let known = complete
                    .iter()
                    .any(|(g, b, r)| *r == rules && (users == *g || users == g + b));
                if !known {
                    failures.push(format!("half-way load? {l:?} matches no complete version"));
                }
            }
        }
        if l.to_ascii_lowercase().contains("panic") {
            failures.push(format!("panic in the log: {l}"));
        }
    }
    let starts = lines
        .iter()
        .filter(|(_, l)| l.contains("mosquitto version") && l.contains("starting"))
        .count();
    if starts > 1 {
        failures.push(format!("the broker started {starts} times"));
    }
    // Flat resources.
    let rss_bound = base.rss_mib() + RSS_GROWTH_MIB.max(base.rss_mib() * RSS_GROWTH_FRACTION);
    if last.rss_mib() > rss_bound {
        failures.push(format!(
            "RSS grew {:.1} -> {:.1} MiB (bound {rss_bound:.1})",
            base.rss_mib(),
            last.rss_mib()
        ));
    }
    if last.threads > base.threads + THREAD_GROWTH {
        failures.push(format!("threads grew {} -> {}", base.threads, last.threads));
    }
    if last.fds > base.fds + FD_GROWTH {
        failures.push(format!("fds grew {} -> {}", base.fds, last.fds));
    }

    let peak = *peak.lock().unwrap();
    let kinds = st.by_kind.lock().unwrap().clone();
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort();
    println!(
        "soak: {} connects ({} admitted), {} deliveries, {} closed by the broker mid-way, {} HTTP requests, {} file loads logged",
        st.connects.load(Ordering::Relaxed),
        st.admitted.load(Ordering::Relaxed),
        st.deliveries.load(Ordering::Relaxed),
        st.closed.load(Ordering::Relaxed),
        svc.requests(),
        loads
    );
    println!(
        "soak: checks by kind: {}",
        kinds
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut done = f.done.clone();
    done.sort();
    done.dedup_by(|a, b| a == b);
    println!(
        "soak: faults run: {} ({} kinds: {}); {} log expectations, {missing} missing",
        f.count,
        done.len(),
        done.join(", "),
        f.expects.len()
    );
    println!(
        "soak: peak RSS {:.1} MiB, threads {}, fds {}",
        peak.rss_kib as f64 / 1024.0,
        peak.threads,
        peak.fds
    );
    let mut refusals: Vec<_> = st.refusals.lock().unwrap().clone().into_iter().collect();
    refusals.sort();
    println!(
        "soak: CONNACK refusal codes {:?}; closed without CONNACK e.g. {:?}",
        refusals,
        st.no_connack.lock().unwrap()
    );
    for w in st.wrongs.lock().unwrap().iter() {
        println!("soak: {w}");
    }
    for fl in &failures {
        println!("soak: FAIL {fl}");
    }
    if let Some(keep) = std::env::var_os("SOAK_KEEP") {
        let keep = PathBuf::from(keep);
        let _ = fs::create_dir_all(&keep);
        let _ = fs::copy(&log_path, keep.join(format!("broker-{pid}.log")));
        let _ = fs::copy(
            broker.dir.path().join("mosquitto.conf"),
            keep.join(format!("mosquitto-{pid}.conf")),
        );
    }
    if !failures.is_empty() {
        let text = broker.log();
        let tail: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("mosq-auth"))
            .rev()
            .take(15)
            .collect();
        println!("soak: the plugin's last log lines:");
        for l in tail.iter().rev() {
            println!("  {l}");
        }
    }
    drop(broker);
    println!(
        "soak: {checks} checks, {} wrong, {} crashes, faults {}, RSS {:.1} -> {:.1} MiB, threads {} -> {}, fds {} -> {}",
        wa + wd,
        crashes.len(),
        f.count,
        base.rss_mib(),
        last.rss_mib(),
        base.threads,
        last.threads,
        base.fds,
        last.fds
    );
    Ok(failures.is_empty())
}
