/*!
Load harness: the real mosquitto (`MOSQUITTO_BIN`, else Debian's) on 127.0.0.1, started by the
test harness's `tests/it/support/broker.rs`, driven by hand-written MQTT 3.1.1 clients, in each
authentication setup, measuring connect rate, publish/subscribe throughput, latencies and
the broker's own CPU time per operation (from `/proc/<pid>/stat` and the per-thread `/proc/<pid>/task/<tid>/schedstat`).

`cargo bench --bench load` (or `benches/run-load.sh`) runs everything and writes the markdown
report to `target/load-report.md` (or `LOAD_OUT`). Without `--bench` (as under
`cargo test --all-targets`) it does a tiny smoke run only.

Environment (all optional): `LOAD_CONNECTS` (2000), `LOAD_CONCURRENCY` (8), `LOAD_MESSAGES`
(50000), `LOAD_NOCACHE_MESSAGES` (5000, HTTP without cache), `LOAD_MEM_MESSAGES` (200000),
`LOAD_ROUNDS` (3; rates are the median over rounds, CPU per operation the lowest), `LOAD_SETUPS` (comma list of
setup keys, plus `memory` and `storm`), `LOAD_OUT`, `MOSQ_AUTH_PLUGIN` (the `.so`), `MOSQUITTO_BIN`.

Fan-out (one publisher, many subscribers of its topic, so the read check per delivery
dominates): `LOAD_FANOUT_SUBSCRIBERS` (16), `LOAD_FANOUT_MESSAGES` (per QoS level; default
`LOAD_MESSAGES` x 4 / `LOAD_FANOUT_SUBSCRIBERS`, as many deliveries as the 4 x 4 pairs).

Profiling: `LOAD_BROKER_WRAPPER` (a command the broker runs under, split on whitespace; `{setup}`
is the setup's key, e.g. `valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/{setup}.%p`)
and `LOAD_BROKER_CONF` (extra config lines, `\n` for a line break, e.g. `user root\n`); see
`benches/callgrind.sh`.

The connect storm against a slow auth service (`storm`, see `storm.rs`): `LOAD_STORM_USERS`
(200), `LOAD_STORM_CONCURRENCY` (16), `LOAD_STORM_SERVICE_MS` (20, the HTTP service's time per
login answer), `LOAD_STORM_WRONG_EVERY` (20: every 20th user sends a wrong password),
`LOAD_STORM_PAIR_MS` (10, the pair's message interval), `LOAD_STORM_ROUNDS` (`LOAD_ROUNDS`).
A wrong answer (a client admitted with a wrong password, refused with its own, or left without
a CONNACK) makes the run exit with status 1 after the report.
*/

// The test harness's broker (a real mosquitto on a free port, retried when the port is taken).
#[path = "../../tests/it/support/broker.rs"]
mod broker;
mod http;
mod jwt;
mod mqtt;
#[path = "../common/mqtt_wire.rs"]
mod mqtt_wire;
mod procfs;
mod report;
mod storm;
mod work;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use broker::{Broker, Dir, Start};
use mosq_auth::hash::{hash_password_with, Scheme};
use report::{ConnectRow, MemRow, PubSubRow, Report};
use storm::{StormParams, StormRow};
use work::{Ids, PubSub};

/// How a broker is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `allow_anonymous true`, no checks at all.
    NoAuth,
    /// mosquitto's built-in `password_file` + `acl_file`.
    Builtin,
    /// mosq-auth files backend.
    Files,
    /// mosq-auth HTTP backend, cache on.
    HttpCache,
    /// mosq-auth HTTP backend, `auth_opt_cache false`.
    HttpNoCache,
    /// mosq-auth HTTP backend, json mode, cache off: every login answer carries the user's
    /// rules ([`http::SESSION`]), so no ACL check is a request.
    HttpRules,
    /// mosq-auth JWT backend: every password is a token with the user's rules in its `acl`
    /// claim, signed with this algorithm ([`jwt`]).
    Jwt(jwt::Alg),
}

/// One row of the comparison.
#[derive(Clone, Debug)]
pub struct Setup {
    pub key: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    /// Users in the password and ACL files (10 or 10,000).
    pub users: usize,
    /// Extra plugin options.
    pub extra: &'static str,
}

pub const SETUPS: &[Setup] = &[
    Setup {
        key: "none",
        name: "no authentication",
        kind: Kind::NoAuth,
        users: 10,
        extra: "",
    },
    Setup {
        key: "builtin",
        name: "built-in password_file + acl_file",
        kind: Kind::Builtin,
        users: 10,
        extra: "",
    },
    Setup {
        key: "files",
        name: "mosq-auth files",
        kind: Kind::Files,
        users: 10,
        extra: "",
    },
    Setup {
        key: "files-nocache",
        name: "mosq-auth files, cache off",
        kind: Kind::Files,
        users: 10,
        extra: "plugin_opt_cache false\n",
    },
    Setup {
        key: "http",
        name: "mosq-auth HTTP, cache on",
        kind: Kind::HttpCache,
        users: 10,
        extra: "",
    },
    Setup {
        key: "http-nocache",
        name: "mosq-auth HTTP, cache off",
        kind: Kind::HttpNoCache,
        users: 10,
        extra: "",
    },
    Setup {
        key: "http-rules",
        name: "mosq-auth HTTP, rules at login, cache off",
        kind: Kind::HttpRules,
        users: 10,
        extra: "",
    },
    Setup {
        key: "jwt-hs256",
        name: "mosq-auth JWT, HS256",
        kind: Kind::Jwt(jwt::Alg::Hs256),
        users: 10,
        extra: "",
    },
    Setup {
        key: "jwt-es256",
        name: "mosq-auth JWT, ES256",
        kind: Kind::Jwt(jwt::Alg::Es256),
        users: 10,
        extra: "",
    },
    Setup {
        key: "jwt-rs256",
        name: "mosq-auth JWT, RS256",
        kind: Kind::Jwt(jwt::Alg::Rs256),
        users: 10,
        extra: "",
    },
    Setup {
        key: "files-10k",
        name: "mosq-auth files, 10,000 users",
        kind: Kind::Files,
        users: 10_000,
        extra: "",
    },
    Setup {
        key: "builtin-10k",
        name: "built-in files, 10,000 users",
        kind: Kind::Builtin,
        users: 10_000,
        extra: "",
    },
];

/// Load sizes.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub connects: usize,
    pub concurrency: usize,
    pub messages: usize,
    pub nocache_messages: usize,
    pub mem_messages: usize,
    pub rounds: usize,
    pub publishers: usize,
    pub subscribers: usize,
    /// Subscribers of the one publisher in the fan-out runs.
    pub fanout_subscribers: usize,
    /// Messages per QoS level in the fan-out runs (each delivered to every subscriber).
    pub fanout_messages: usize,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Params {
    fn full() -> Params {
        let messages = env_usize("LOAD_MESSAGES", 50_000);
        let subscribers = 4;
        let fanout_subscribers = env_usize("LOAD_FANOUT_SUBSCRIBERS", 16).max(1);
        Params {
            connects: env_usize("LOAD_CONNECTS", 2000),
            concurrency: env_usize("LOAD_CONCURRENCY", 8).max(1),
            messages,
            nocache_messages: env_usize("LOAD_NOCACHE_MESSAGES", 5_000),
            mem_messages: env_usize("LOAD_MEM_MESSAGES", 200_000),
            rounds: env_usize("LOAD_ROUNDS", 3).max(1),
            publishers: 4,
            subscribers,
            fanout_subscribers,
            // As many deliveries as the pairs: messages x subscribers.
            fanout_messages: env_usize(
                "LOAD_FANOUT_MESSAGES",
                (messages * subscribers / fanout_subscribers).max(1),
            ),
        }
    }

    fn smoke() -> Params {
        Params {
            connects: 20,
            concurrency: 2,
            messages: 200,
            nocache_messages: 100,
            mem_messages: 200,
            rounds: 1,
            publishers: 2,
            subscribers: 2,
            fanout_subscribers: 4,
            fanout_messages: 100,
        }
    }
}

/// The users and files of one setup.
pub struct Users {
    pub publishers: Vec<(String, String)>,
    pub subscribers: Vec<(String, String)>,
    /// The fan-out runs' subscribers (`fanN`, read `bench/#` like `subN`).
    pub fanout: Vec<(String, String)>,
    /// Users the connect storms log in as (cycled).
    pub connectors: Vec<(String, String)>,
    pub passwd: String,
    pub acl: String,
}

/// Generates `total` users: 4 publishers, 4 subscribers and the rest for connect storms, each
/// with a `$7$` hash (mosquitto_passwd's format: PBKDF2-SHA512, 101 iterations, own salt) and
/// one or two ACL rules; plus the fan-out subscribers on top of `total` (so the connect storms
/// log in as the same users with or without them).
fn make_users(total: usize, p: &Params) -> Users {
    let pw = |u: &str| format!("pw-{u}");
    let publishers: Vec<_> = (0..p.publishers)
        .map(|i| (format!("pub{i}"), pw(&format!("pub{i}"))))
        .collect();
    let subscribers: Vec<_> = (0..p.subscribers)
        .map(|i| (format!("sub{i}"), pw(&format!("sub{i}"))))
        .collect();
    let fanout: Vec<_> = (0..p.fanout_subscribers)
        .map(|i| (format!("fan{i}"), pw(&format!("fan{i}"))))
        .collect();
    let n_conn = total
        .saturating_sub(publishers.len() + subscribers.len())
        .max(1);
    let connectors: Vec<_> = (0..n_conn)
        .map(|i| (format!("conn{i}"), pw(&format!("conn{i}"))))
        .collect();
    let mut passwd = String::with_capacity(total * 140);
    let mut acl = String::with_capacity(total * 48);
    for (u, w) in publishers
        .iter()
        .chain(&subscribers)
        .chain(&fanout)
        .chain(&connectors)
    {
        let h = hash_password_with(Scheme::Mosquitto7, w.as_bytes(), Some(101)).expect("hash");
        passwd.push_str(&format!("{u}:{h}\n"));
    }
    for (u, _) in &publishers {
        acl.push_str(&format!(
            "user {u}\ntopic write bench/{u}/#\ntopic write mem/#\n"
        ));
    }
    for (u, _) in subscribers.iter().chain(&fanout) {
        acl.push_str(&format!("user {u}\ntopic read bench/#\ntopic read mem/#\n"));
    }
    for (u, _) in &connectors {
        acl.push_str(&format!("user {u}\ntopic readwrite conn/{u}/#\n"));
    }
    Users {
        publishers,
        subscribers,
        fanout,
        connectors,
        passwd,
        acl,
    }
}

/// The plugin `.so`: `MOSQ_AUTH_PLUGIN`, else `libmosq_auth.so` in this target profile's dir.
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

/// The config body for a setup. `extra` is appended (plugin options).
fn config(kind: Kind, plugin: &Path, http_port: u16, extra: &str) -> String {
    let plugin = plugin.display();
    match kind {
        Kind::NoAuth => "allow_anonymous true\n".into(),
        Kind::Builtin => {
            "allow_anonymous false\npassword_file {dir}/passwd\nacl_file {dir}/acl\n".into()
        }
        Kind::Files => format!(
            "allow_anonymous false\nplugin {plugin}\nplugin_opt_backends files\n\
             plugin_opt_password_file {{dir}}/passwd\nplugin_opt_acl_file {{dir}}/acl\n{extra}"
        ),
        Kind::HttpCache | Kind::HttpNoCache => format!(
            "allow_anonymous false\nplugin {plugin}\nplugin_opt_backends http\n\
             plugin_opt_http_host 127.0.0.1\nplugin_opt_http_port {http_port}\n\
             plugin_opt_http_getuser_uri /auth\nplugin_opt_http_aclcheck_uri /acl\n\
             plugin_opt_http_superuser_uri /superuser\nplugin_opt_http_params_mode json\n\
             plugin_opt_http_response_mode status\n{}{extra}",
            if kind == Kind::HttpNoCache {
                "plugin_opt_cache false\n"
            } else {
                ""
            }
        ),
        Kind::Jwt(alg) => format!(
            "allow_anonymous false\nplugin {plugin}\nplugin_opt_backends jwt\n{}\n{extra}",
            alg.key_option()
        ),
        Kind::HttpRules => format!(
            "allow_anonymous false\nplugin {plugin}\nplugin_opt_backends http\n\
             plugin_opt_http_host 127.0.0.1\nplugin_opt_http_port {http_port}\n\
             plugin_opt_http_getuser_uri /auth\nplugin_opt_http_aclcheck_uri /acl\n\
             plugin_opt_http_superuser_uri /superuser\nplugin_opt_http_params_mode json\n\
             plugin_opt_http_response_mode json\nplugin_opt_cache false\n{extra}"
        ),
    }
}

/// A started setup: the broker (owning its directory) and the HTTP service if any.
struct Running {
    broker: Broker,
    service: Option<http::Service>,
    /// Runs under `LOAD_BROKER_WRAPPER` (a profiler that writes its output at exit).
    wrapped: bool,
}

impl Drop for Running {
    /// Copies the broker log to `$LOAD_KEEP_LOGS/broker-<pid>.log` when that variable is set.
    /// A wrapped broker gets SIGTERM and up to 120 s to exit (callgrind writes its profile
    /// then; `Broker`'s own drop kills it after 5 s).
    fn drop(&mut self) {
        if let Some(d) = std::env::var_os("LOAD_KEEP_LOGS") {
            let path = Path::new(&d).join(format!("broker-{}.log", self.broker.pid()));
            let _ = fs::write(path, self.broker.log());
        }
        if self.wrapped {
            let pid = self.broker.pid();
            // SAFETY: plain kill(2) on our child's pid (not yet reaped: `Broker` owns it).
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(120);
            // Exited: a zombie (state Z) until `Broker`'s drop reaps it.
            let exited = || {
                fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| {
                        s.rsplit_once(')')
                            .map_or(true, |(_, r)| r.trim_start().starts_with(['Z', 'X']))
                    })
                    .unwrap_or(true)
            };
            while !exited() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// `key` names the setup in `LOAD_BROKER_WRAPPER`'s `{setup}`.
fn start(
    key: &str,
    kind: Kind,
    users: &Users,
    plugin: &Path,
    extra: &str,
    logins: &http::Logins,
) -> Result<Running, String> {
    let dir = Dir::new();
    dir.write("passwd", &users.passwd);
    dir.write("acl", &users.acl);
    if let Kind::Jwt(alg) = kind {
        alg.write_key(&dir);
    }
    // A copy the `mosquitto` user can certainly read.
    let so = dir.path().join("libmosq_auth.so");
    if kind != Kind::NoAuth && kind != Kind::Builtin {
        fs::copy(plugin, &so).map_err(|e| format!("{}: {e}", plugin.display()))?;
    }
    let service =
        matches!(kind, Kind::HttpCache | Kind::HttpNoCache | Kind::HttpRules).then(|| {
            let mut logins = logins.clone();
            logins.session = kind == Kind::HttpRules;
            http::Service::start(logins)
        });
    let port = service.as_ref().map_or(0, |s| s.addr.port());
    let body = format!(
        "max_connections -1\nmax_queued_messages 100000\n{}{}",
        std::env::var("LOAD_BROKER_CONF")
            .unwrap_or_default()
            .replace("\\n", "\n"),
        config(kind, &so, port, extra)
    );
    let start = Start {
        quiet: true,
        // LOAD_BROKER_WRAPPER runs the broker under a profiler, e.g.
        // "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg/{setup}.%p".
        wrapper: std::env::var("LOAD_BROKER_WRAPPER")
            .unwrap_or_default()
            .split_whitespace()
            .map(|w| w.replace("{setup}", key))
            .collect(),
        ..Start::default()
    };
    let wrapped = !start.wrapper.is_empty();
    let broker = Broker::try_start(dir, &body, &start).map_err(|e| e.to_string())?;
    Ok(Running {
        broker,
        service,
        wrapped,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// What the rounds of one setup measured.
#[derive(Default)]
struct Acc {
    connects: Vec<work::ConnectResult>,
    reconnects: Vec<work::ConnectResult>,
    qos: [Vec<work::PubSubResult>; 2],
    /// Fan-out: one publisher, `fanout_subscribers` subscribers, per QoS level.
    fanout: [Vec<work::PubSubResult>; 2],
    /// One message at a time (window 1): latency without queueing.
    ping: Vec<work::PubSubResult>,
    http_note: Option<String>,
    connect_note: Option<String>,
    /// Error lines from the broker log.
    log_errors: Vec<String>,
    skipped: Option<String>,
}

/// One round of one setup: a fresh broker, a connect storm, reconnects, QoS 0 and QoS 1 runs.
fn run_round(s: &Setup, round: usize, users: &Users, p: &Params, plugin: &Path, acc: &mut Acc) {
    if acc.skipped.is_some() {
        return;
    }
    let (messages, fanout_messages) = if s.kind == Kind::HttpNoCache {
        // As many deliveries as the pairs at `nocache_messages`.
        let n = p.nocache_messages * p.subscribers / p.fanout_subscribers.max(1);
        (p.nocache_messages, n.max(1))
    } else {
        (p.messages, p.fanout_messages)
    };
    let tokens;
    let users = match s.kind {
        Kind::Jwt(alg) => {
            tokens = jwt::with_tokens(users, alg);
            &tokens
        }
        _ => users,
    };
    let run = match start(
        s.key,
        s.kind,
        users,
        plugin,
        s.extra,
        &http::Logins::default(),
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load: {}: broker did not start, skipped:\n{e}", s.key);
            acc.skipped = Some(first_line_of_error(&e));
            return;
        }
    };
    let b = &run.broker;
    eprintln!(
        "load: {} round {}: broker pid {}",
        s.key,
        round + 1,
        b.pid()
    );
    // Warm-up connects (broker allocations, HTTP keep-alive connections).
    let conc = p.concurrency;
    let who = &users.connectors;
    work::connects(b, p.connects / 10, conc, who, Ids::Distinct("warm"));
    let svc = |r: &Running| {
        r.service.as_ref().map(|v| {
            (
                v.counters.connections.load(Ordering::Relaxed),
                v.counters.requests(),
                http::cpu_ns(),
            )
        })
    };
    let svc0 = svc(&run);
    let c = work::connects(b, p.connects, conc, who, Ids::Distinct("c"));
    if let (Some(a), Some(z)) = (svc0, svc(&run)) {
        let reqs = (z.1 - a.1).max(1);
        acc.connect_note = Some(format!(
            "{}: a {}-connect storm sent {} requests to the HTTP service on {} new TCP \
             connections; the service used {:.1} us CPU per request, the broker {:.1} us per \
             connect, and each connector waited {:.0} us per connect (CONNACK p50)",
            s.name,
            c.ok,
            z.1 - a.1,
            z.0 - a.0,
            (z.2 - a.2) as f64 / 1e3 / reqs as f64,
            c.cpu_per_op().1,
            c.lat.p50,
        ));
    }
    eprintln!(
        "load: {}: {} connects in {:.2?}: {:.0}/s, CPU {:.1} us/connect",
        s.key,
        c.ok,
        c.wall,
        c.per_sec(),
        c.cpu_per_op().1
    );
    acc.connects.push(c);
    // Reconnects with repeated client ids (password cache warm after the first pass).
    work::connects(b, p.connects / 4, conc, who, Ids::Repeat(8));
    acc.reconnects
        .push(work::connects(b, p.connects, conc, who, Ids::Repeat(8)));
    let counters = run.service.as_ref().map(|v| v.counters.clone());
    let before = counters
        .as_ref()
        .map(|v| (v.connections.load(Ordering::Relaxed), v.requests()));
    for (qi, qos) in [0u8, 1].into_iter().enumerate() {
        let ps = PubSub {
            publishers: users.publishers.clone(),
            subscribers: users.subscribers.clone(),
            topic: "bench/pub{i}/data".into(),
            filter: "bench/+/data".into(),
            qos,
            messages,
            warmup: 100,
            window: 64,
            client_prefix: format!("q{qos}"),
        };
        let r = work::pubsub(b, &ps, &mut || {});
        eprintln!(
            "load: {} QoS {qos}: {} delivered ({} lost) in {:.2?}: {:.0}/s, CPU {:.2} us/delivery",
            s.key,
            r.delivered,
            r.lost(),
            r.wall,
            r.delivered_per_sec(),
            r.cpu_per_delivery().1
        );
        acc.qos[qi].push(r);
    }
    // Fan-out: one publisher, every subscriber on its topic, so the read check per delivery
    // dominates (one write check per `fanout_subscribers` deliveries).
    for (qi, qos) in [0u8, 1].into_iter().enumerate() {
        let ps = PubSub {
            publishers: users.publishers[..1].to_vec(),
            subscribers: users.fanout.clone(),
            topic: "bench/pub{i}/fan".into(),
            filter: "bench/pub0/fan".into(),
            qos,
            messages: fanout_messages,
            warmup: 100,
            window: 64,
            client_prefix: format!("f{qos}"),
        };
        let r = work::pubsub(b, &ps, &mut || {});
        eprintln!(
            "load: {} fan-out 1 x {} QoS {qos}: {} delivered ({} lost) in {:.2?}: {:.0}/s, CPU \
             {:.2} us/delivery",
            s.key,
            ps.subscribers.len(),
            r.delivered,
            r.lost(),
            r.wall,
            r.delivered_per_sec(),
            r.cpu_per_delivery().1
        );
        acc.fanout[qi].push(r);
    }
    let ping = PubSub {
        publishers: users.publishers[..1].to_vec(),
        subscribers: users.subscribers.clone(),
        topic: "bench/pub{i}/data".into(),
        filter: "bench/+/data".into(),
        qos: 0,
        messages: messages.min(2000),
        warmup: 20,
        window: 1,
        client_prefix: "ping".into(),
    };
    acc.ping.push(work::pubsub(b, &ping, &mut || {}));
    for l in b.log().lines().filter(|l| l.contains("rror")).take(3) {
        if acc.log_errors.len() < 3 {
            acc.log_errors.push(l.to_string());
        }
    }
    if let (Some(v), Some((c0, r0))) = (&counters, before) {
        let conns = v.connections.load(Ordering::Relaxed) - c0;
        let reqs = v.requests() - r0;
        acc.http_note = Some(format!(
            "{}: during the publish/subscribe runs (pairs, fan-out, one at a time) the HTTP service got {reqs} requests on \
             {conns} new TCP connections (since start: {} requests on {} connections; /auth {}, \
             /acl {}, /superuser {})",
            s.name,
            v.requests(),
            v.connections.load(Ordering::Relaxed),
            v.auth.load(Ordering::Relaxed),
            v.acl.load(Ordering::Relaxed),
            v.superuser.load(Ordering::Relaxed),
        ));
    }
}

fn first_line_of_error(e: &str) -> String {
    e.lines()
        .rev()
        .find(|l| l.contains("rror") || l.contains("not available"))
        .or_else(|| e.lines().last())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The connect storm in each setup (HTTP against the slow service; in a full run also HTTP with
/// `connect_workers 0`, every CONNECT answered on the broker's thread; files as the baseline),
/// rounds interleaved across setups.
fn run_storms(p: &Params, sp: &StormParams, plugin: &Path, full: bool) -> Vec<StormRow> {
    let users = make_users(sp.users + p.publishers + p.subscribers, p);
    let passwords: HashMap<String, String> = users
        .publishers
        .iter()
        .chain(&users.subscribers)
        .chain(&users.connectors)
        .cloned()
        .collect();
    let logins = http::Logins {
        delay: Duration::from_millis(sp.service_ms),
        passwords: Some(passwords),
        session: false,
    };
    let http = format!("mosq-auth HTTP, {} ms service", sp.service_ms);
    // (kind, name, extra options, the targets' row).
    let mut cases: Vec<(Kind, String, &str, bool)> =
        vec![(Kind::HttpCache, http.clone(), "", true)];
    let sync_name = format!("{http}, connect_workers 0 (every CONNECT on the broker's thread)");
    if full {
        cases.push((
            Kind::HttpCache,
            sync_name.clone(),
            "plugin_opt_connect_workers 0\n",
            false,
        ));
    }
    cases.push((
        Kind::Files,
        "mosq-auth files (`$7$`, 101 iterations)".into(),
        "",
        false,
    ));
    let mut rows: Vec<StormRow> = cases
        .iter()
        .map(|(_, name, _, targeted)| StormRow {
            name: name.clone(),
            targeted: *targeted,
            synchronous: *name == sync_name,
            rounds: Vec::new(),
            service: None,
            log_errors: Vec::new(),
        })
        .collect();
    // Per case: /auth requests, refused, new TCP connections during the storms; most at once.
    let mut seen = vec![(0u64, 0u64, 0u64, 0u64); cases.len()];
    for round in 0..sp.rounds {
        for (i, (kind, name, extra, _)) in cases.iter().enumerate() {
            let run = match start(&format!("storm-{i}"), *kind, &users, plugin, extra, &logins) {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("load: storm {name}: broker did not start, skipped:\n{e}");
                    rows[i].log_errors.push(first_line_of_error(&e));
                    continue;
                }
            };
            let counters = run.service.as_ref().map(|v| v.counters.clone());
            let snap = |c: &http::Counters| {
                (
                    c.auth.load(Ordering::Relaxed),
                    c.auth_denied.load(Ordering::Relaxed),
                    c.connections.load(Ordering::Relaxed),
                )
            };
            let before = counters.as_deref().map(snap);
            let r = storm::storm(
                &run.broker,
                round,
                &users.connectors[..sp.users.min(users.connectors.len())],
                (&users.publishers[0], &users.subscribers[0]),
                "bench/pub0/pair",
                sp,
            );
            if let (Some(c), Some(a)) = (counters.as_deref(), before) {
                let z = snap(c);
                let s = &mut seen[i];
                s.0 += z.0 - a.0;
                s.1 += z.1 - a.1;
                s.2 += z.2 - a.2;
                s.3 = s.3.max(c.auth_max_in_flight.load(Ordering::Relaxed));
                rows[i].service = Some(format!(
                    "the HTTP service got {} `/auth` requests ({} answered 403; the pair's two \
                     logins per round included) on {} new TCP connections, at most {} answered \
                     at once",
                    s.0, s.1, s.2, s.3
                ));
            }
            eprintln!(
                "load: storm {name} round {}: {} admitted, {} refused, {} wrong in {:.2?}: {:.0}/s, \
                 pair {} messages",
                round + 1,
                r.admitted,
                r.refused,
                r.wrong,
                r.wall,
                r.per_sec(),
                r.pair_ns.len()
            );
            for l in run
                .broker
                .log()
                .lines()
                .filter(|l| l.contains("rror"))
                .take(3)
            {
                if rows[i].log_errors.len() < 3 {
                    rows[i].log_errors.push(l.to_string());
                }
            }
            rows[i].rounds.push(r);
        }
    }
    rows
}

/// RSS before and after publishing `n` messages to distinct topics.
fn run_memory(
    kind: Kind,
    name: &str,
    extra: &str,
    users: &Users,
    p: &Params,
    plugin: &Path,
) -> Option<MemRow> {
    let run = match start(
        "memory",
        kind,
        users,
        plugin,
        extra,
        &http::Logins::default(),
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("load: memory {name}: skipped: {e}");
            return None;
        }
    };
    let b = &run.broker;
    let mut before = 0;
    let ps = PubSub {
        publishers: users.publishers[..1].to_vec(),
        subscribers: users.subscribers[..1].to_vec(),
        topic: "mem/{i}/{n}".into(),
        filter: "mem/#".into(),
        qos: 0,
        messages: p.mem_messages,
        warmup: 100,
        window: 256,
        client_prefix: "mem".into(),
    };
    let r = work::pubsub(b, &ps, &mut || before = b.rss_kib());
    let after = b.rss_kib();
    eprintln!(
        "load: memory {name}: RSS {before} -> {after} KiB after {} distinct topics",
        r.delivered
    );
    Some(MemRow {
        name: name.to_string(),
        delivered: r.delivered,
        rss_before_kib: before,
        rss_after_kib: after,
        cpu_per_msg_us: r.cpu_per_delivery().1,
    })
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let p = if full {
        Params::full()
    } else {
        Params::smoke()
    };
    let plugin = plugin_path();
    let wanted: Option<Vec<String>> = std::env::var("LOAD_SETUPS")
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect());
    let setups: Vec<&Setup> = SETUPS
        .iter()
        .filter(|s| {
            wanted
                .as_ref()
                .map_or(true, |w| w.iter().any(|k| k == s.key))
        })
        .filter(|s| full || matches!(s.key, "none" | "files"))
        .collect();
    if !plugin.exists()
        && setups
            .iter()
            .any(|s| !matches!(s.kind, Kind::NoAuth | Kind::Builtin))
    {
        eprintln!(
            "load: {} is missing: run `cargo build --release --lib` first (benches/run-load.sh does)",
            plugin.display()
        );
        if full {
            std::process::exit(2);
        }
        return;
    }
    let t0 = Instant::now();
    eprintln!("load: generating users ...");
    let small = make_users(10, &p);
    let big = setups
        .iter()
        .any(|s| s.users > 10)
        .then(|| make_users(10_000, &p));
    eprintln!("load: users ready in {:.2?}", t0.elapsed());
    let mut report = Report::new(p, &plugin, full);
    // Rounds go across all setups, so a change in the machine's other load hits every setup.
    let mut accs: Vec<Acc> = setups.iter().map(|_| Acc::default()).collect();
    for round in 0..p.rounds {
        for (s, acc) in setups.iter().zip(&mut accs) {
            let users = if s.users > 10 {
                big.as_ref().unwrap_or(&small)
            } else {
                &small
            };
            run_round(s, round, users, &p, &plugin, acc);
        }
    }
    for (s, acc) in setups.iter().zip(accs) {
        if let Some(why) = acc.skipped {
            report.skipped.push((s.name.to_string(), why));
            continue;
        }
        report
            .connects
            .push(ConnectRow::new(s, &acc.connects, &acc.reconnects));
        for (qi, rows) in acc.qos.iter().enumerate() {
            report.pubsub.push(PubSubRow::new(s, qi as u8, rows));
        }
        for (qi, rows) in acc.fanout.iter().enumerate() {
            report.fanout.push(PubSubRow::new(s, qi as u8, rows));
        }
        report.ping.push(PubSubRow::new(s, 0, &acc.ping));
        report.notes.extend(acc.connect_note);
        report.notes.extend(acc.http_note);
        if !acc.log_errors.is_empty() {
            let errors = acc.log_errors.join("` / `");
            report
                .notes
                .push(format!("{}: broker log errors: `{errors}`", s.name));
        }
    }
    let mem_wanted = wanted
        .as_ref()
        .map_or(true, |w| w.iter().any(|k| k == "memory"));
    if mem_wanted {
        let cases: &[(Kind, &str, &str)] = &[
            (Kind::NoAuth, "no authentication", ""),
            (
                Kind::Files,
                "mosq-auth files, cache_max_entries 100000 (default)",
                "",
            ),
            (
                Kind::Files,
                "mosq-auth files, cache_max_entries 10000",
                "plugin_opt_cache_max_entries 10000\n",
            ),
            (
                Kind::HttpCache,
                "mosq-auth HTTP, cache_max_entries 100000 (default)",
                "",
            ),
            (
                Kind::HttpCache,
                "mosq-auth HTTP, cache_max_entries 10000",
                "plugin_opt_cache_max_entries 10000\n",
            ),
            (
                Kind::HttpRules,
                "mosq-auth HTTP, rules at login, cache off",
                "",
            ),
        ];
        for (kind, name, extra) in cases.iter().filter(|c| full || c.0 == Kind::Files) {
            if let Some(row) = run_memory(*kind, name, extra, &small, &p, &plugin) {
                report.memory.push(row);
            }
        }
    }
    let storm_wanted = wanted
        .as_ref()
        .map_or(true, |w| w.iter().any(|k| k == "storm"));
    let mut wrong_answers = 0;
    if storm_wanted {
        let sp = if full {
            StormParams::full(p.rounds)
        } else {
            StormParams::smoke()
        };
        let rows = run_storms(&p, &sp, &plugin, full);
        wrong_answers = rows.iter().map(StormRow::wrong).sum::<u64>();
        report.storm = storm::markdown(&rows, &sp, &broker::version_line());
    }
    report.elapsed = t0.elapsed();
    let md = report.markdown();
    println!("{md}");
    if full {
        let out = std::env::var_os("LOAD_OUT")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                plugin
                    .parent()
                    .and_then(Path::parent)
                    .unwrap_or(Path::new("."))
                    .join("load-report.md")
            });
        match fs::write(&out, &md) {
            Ok(()) => eprintln!("load: report written to {}", out.display()),
            Err(e) => eprintln!("load: cannot write {}: {e}", out.display()),
        }
    }
    if wrong_answers > 0 {
        eprintln!("load: the connect storm got {wrong_answers} wrong answer(s): failing the run");
        std::process::exit(1);
    }
}
