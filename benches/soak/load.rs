//! The steady load: worker threads that connect as a randomly chosen persona (password-file
//! users with right, stale, wrong and non-UTF-8 passwords; names with `+`, `#` and `/`;
//! users the HTTP service knows; JWT users with good and bad tokens; 60 KB names; anonymous
//! and empty passwords), then subscribe and publish to topics of their own and of others and
//! watch what is delivered back to them. Every answer is judged by the oracle at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::client::{Client, Connected, Packet, Read1};
use crate::model::{shown, Acc, Files, Http, Judgement, Login, Outcome, Session, Timeline, Token};

/// The HMAC secret of the JWT backend (`auth_opt_jwt_secret`).
pub const JWT_SECRET: &str = "soak-jwt-secret-0123456789abcdef";

/// How long a granted subscription's own message may take to come back.
const DELIVERY_WAIT: Duration = Duration::from_millis(500);

/// The password of the password-file user `f_np`: not UTF-8.
pub const NP_PASSWORD: &[u8] = b"\xff\xfe-np-\x80\xc3";

/// The tokens JWT personas present.
pub struct Tokens {
    /// (username, token) signed right, for that user, valid for a day.
    pub valid: Vec<(String, String)>,
    /// (username, token): expired, wrongly signed, or for another subject.
    pub invalid: Vec<(String, String)>,
}

impl Tokens {
    pub fn mint() -> Tokens {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()) as i64;
        let tok = |sub: &str, exp: i64, secret: &str| {
            let claims = serde_json::json!({
                "sub": sub,
                "exp": exp,
                "acl": [{"permission": "allow", "action": "all", "topic": "jwt/${username}/#"}],
            });
            encode(
                &Header::default(),
                &claims,
                &EncodingKey::from_secret(secret.as_bytes()),
            )
            .expect("encode a token")
        };
        Tokens {
            valid: ["j0", "j1"]
                .iter()
                .map(|u| (u.to_string(), tok(u, now + 86_400, JWT_SECRET)))
                .collect(),
            invalid: vec![
                ("j0".into(), tok("j0", now - 600, JWT_SECRET)),
                (
                    "j1".into(),
                    tok("j1", now + 86_400, "another-secret-entirely-0000"),
                ),
                ("j0".into(), tok("j1", now + 86_400, JWT_SECRET)),
            ],
        }
    }
}

/// Counters and the first wrong answers.
#[derive(Default)]
pub struct Stats {
    pub checks: AtomicU64,
    pub wrong_allow: AtomicU64,
    pub wrong_deny: AtomicU64,
    pub stalls: AtomicU64,
    pub closed: AtomicU64,
    pub connects: AtomicU64,
    pub admitted: AtomicU64,
    pub deliveries: AtomicU64,
    pub by_kind: Mutex<HashMap<&'static str, u64>>,
    pub wrongs: Mutex<Vec<String>>,
    /// CONNACK refusal codes seen.
    pub refusals: Mutex<HashMap<u8, u64>>,
    /// Why some connections closed without a CONNACK (the first few distinct reasons).
    pub no_connack: Mutex<Vec<String>>,
}

/// What the workers share.
pub struct Ctx {
    pub addr: SocketAddr,
    pub timeline: Mutex<Timeline>,
    pub stats: Stats,
    pub tokens: Tokens,
    pub stop: AtomicBool,
    pub pause: AtomicBool,
    pub idle: AtomicUsize,
    pub started: Instant,
    /// Every message published, by its id (the payload `soak:<id>`), for judging deliveries.
    pub pubs: Mutex<HashMap<u64, Published>>,
    pub next_pub: AtomicU64,
}

/// A message a soak client published.
#[derive(Clone)]
pub struct Published {
    pub by: Session,
    pub topic: String,
    pub t0: Instant,
    /// When its PUBACK came.
    pub t_ack: Option<Instant>,
}

impl Ctx {
    fn record(&self, kind: &'static str, seen: Outcome, j: Judgement) {
        self.stats.checks.fetch_add(1, Ordering::Relaxed);
        *self.stats.by_kind.lock().unwrap().entry(kind).or_default() += 1;
        if let Err(why) = j {
            match seen {
                Outcome::Allow => self.stats.wrong_allow.fetch_add(1, Ordering::Relaxed),
                Outcome::Deny => self.stats.wrong_deny.fetch_add(1, Ordering::Relaxed),
            };
            let mut w = self.stats.wrongs.lock().unwrap();
            let same = w
                .iter()
                .filter(|x| x.contains(&format!(": {seen:?}: ")))
                .count();
            if same < 15 {
                let t = self.started.elapsed().as_secs_f64();
                let line = format!("t={t:.1}s WRONG {kind}: {seen:?}: {why}");
                eprintln!("soak: {line}");
                w.push(line);
            }
        }
    }

    fn note_refusal(&self, code: u8) {
        *self.stats.refusals.lock().unwrap().entry(code).or_default() += 1;
    }

    fn note_closed(&self, why: &str) {
        let mut w = self.stats.no_connack.lock().unwrap();
        if w.len() < 5 && !w.iter().any(|x| x == why) {
            w.push(why.to_string());
        }
    }

    /// Waits (idle) while the run is paused; returns false when the run is over.
    fn go_on(&self) -> bool {
        if self.pause.load(Ordering::Acquire) {
            self.idle.fetch_add(1, Ordering::AcqRel);
            while self.pause.load(Ordering::Acquire) && !self.stop.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(20));
            }
            self.idle.fetch_sub(1, Ordering::AcqRel);
        }
        !self.stop.load(Ordering::Acquire)
    }
}

/// A small xorshift generator (no dependency).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        Rng((t ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The persona of one connection, with its name for the tallies.
pub struct Pick {
    pub kind: &'static str,
    pub login: Login,
    /// Whether to subscribe and publish after connecting.
    pub ops: bool,
}

fn file_pw(f: &Files, user: &str, fallback: &str) -> Vec<u8> {
    match f.password(user) {
        Some(Some(p)) => p.to_vec(),
        _ => fallback.as_bytes().to_vec(),
    }
}

/// Chooses a persona from the truth now.
pub fn pick(ctx: &Ctx, rng: &mut Rng, n: u64, worker: usize) -> Pick {
    let (files, http): (Arc<Files>, Arc<Http>) = {
        let t = ctx.timeline.lock().unwrap();
        (t.files_now(), t.http_now())
    };
    let cid = format!("s{worker}-{n}");
    let login = |user: &str, pw: Vec<u8>, cid: String| Login {
        user: Some(user.to_string()),
        password: Some(pw),
        client_id: cid,
        token: None,
    };
    let wrong = |rng: &mut Rng| format!("wrong-{:x}", rng.next()).into_bytes();
    let r = rng.below(120);
    let i = rng.below(6);
    let fu = format!("f{i}");
    let h = rng.below(4);
    let hu = format!("h{h}");
    let (kind, login, ops) = match r {
        0..=21 => (
            "file-right",
            login(&fu, file_pw(&files, &fu, "pw-none"), cid),
            true,
        ),
        22..=27 => ("file-wrong", login(&fu, wrong(rng), cid), false),
        28..=31 => {
            let k = rng.below(5);
            (
                "file-stale",
                login(&fu, format!("pw-{fu}-{k}").into_bytes(), cid),
                true,
            )
        }
        32..=34 => (
            "file-non-utf8",
            login("f_np", NP_PASSWORD.to_vec(), cid),
            true,
        ),
        35..=36 => {
            let mut p = NP_PASSWORD.to_vec();
            p.push(0xfe);
            ("file-non-utf8-wrong", login("f_np", p, cid), false)
        }
        37..=42 => {
            let u = ["ev+il", "ev/il", "ev#il"][rng.below(3)];
            ("hostile-user", login(u, b"pw-evil".to_vec(), cid), true)
        }
        43..=46 => {
            let c = ["cl/x", "cl+x", "cl#x"][rng.below(3)];
            let c = format!("{c}{n}");
            (
                "hostile-client",
                login(&fu, file_pw(&files, &fu, "pw-none"), c),
                true,
            )
        }
        47..=62 => {
            let pw = http.password(&hu).unwrap_or("pw-none").as_bytes().to_vec();
            ("http-right", login(&hu, pw, cid), true)
        }
        63..=66 => {
            let k = rng.below(5);
            (
                "http-stale",
                login(&hu, format!("pw-{hu}-{k}").into_bytes(), cid),
                true,
            )
        }
        67..=76 => ("http-wrong", login(&hu, wrong(rng), cid), false),
        77..=78 => (
            "http-non-utf8",
            login(&hu, b"\xc3\x28pw".to_vec(), cid),
            false,
        ),
        79..=86 => {
            let (u, t) = &ctx.tokens.valid[rng.below(ctx.tokens.valid.len())];
            let mut l = login(u, t.clone().into_bytes(), cid);
            l.token = Some(Token::Valid);
            ("jwt-valid", l, true)
        }
        87..=90 => {
            let (u, t) = &ctx.tokens.invalid[rng.below(ctx.tokens.invalid.len())];
            let mut l = login(u, t.clone().into_bytes(), cid);
            l.token = Some(Token::Invalid);
            ("jwt-invalid", l, false)
        }
        91 => (
            "huge-username",
            login(&"u".repeat(60_000), wrong(rng), cid),
            false,
        ),
        92 => ("huge-password", login("f0", vec![b'p'; 60_000], cid), false),
        93 => {
            let c = "c".repeat(60_000);
            (
                "huge-client-id",
                login("f1", file_pw(&files, "f1", "pw-none"), c),
                false,
            )
        }
        94 => (
            "anonymous",
            Login {
                user: None,
                password: None,
                client_id: cid,
                token: None,
            },
            false,
        ),
        95 => ("empty-password", login("f0", Vec::new(), cid), false),
        96 => (
            "no-password",
            Login {
                user: Some("f1".into()),
                password: None,
                client_id: cid,
                token: None,
            },
            false,
        ),
        _ => {
            let u = format!("nobody{}", rng.below(1000));
            ("unknown-user", login(&u, wrong(rng), cid), false)
        }
    };
    Pick { kind, login, ops }
}

/// Connects as `p` and judges the CONNACK; returns the client when admitted.
pub fn connect(ctx: &Ctx, p: &Pick) -> Option<Client> {
    let l = &p.login;
    ctx.stats.connects.fetch_add(1, Ordering::Relaxed);
    let t0 = Instant::now();
    let got = Client::connect(
        ctx.addr,
        l.client_id.as_bytes(),
        l.user.as_deref().map(str::as_bytes),
        l.password.as_deref(),
    );
    let t1 = Instant::now();
    let (seen, client) = match got {
        Connected::Yes(c) => (Outcome::Allow, Some(c)),
        Connected::Refused(code) => {
            ctx.note_refusal(code);
            (Outcome::Deny, None)
        }
        Connected::Closed(why) => {
            ctx.note_closed(&why);
            (Outcome::Deny, None)
        }
        Connected::Stalled => {
            ctx.stats.stalls.fetch_add(1, Ordering::Relaxed);
            (Outcome::Deny, None)
        }
    };
    if seen == Outcome::Allow {
        ctx.stats.admitted.fetch_add(1, Ordering::Relaxed);
    }
    let j = ctx.timeline.lock().unwrap().judge_login(l, t0, t1, seen);
    ctx.record(p.kind, seen, j);
    client
}

/// A QoS 1 message this connection sent, waiting to come back.
struct Sent {
    topic: String,
    t0: Instant,
    t_ack: Instant,
    /// A granted subscription of this connection matches it.
    expected: bool,
    delivered: bool,
}

/// One connected persona's subscriptions, publishes and deliveries.
struct Conn<'a> {
    ctx: &'a Ctx,
    c: Client,
    s: Session,
    granted: Vec<String>,
    sent: HashMap<u64, Sent>,
    closed: bool,
}

impl Conn<'_> {
    /// Handles a packet that is not the awaited answer.
    fn other(&mut self, p: Packet) {
        let Packet::Publish {
            qos,
            packet_id,
            payload,
            topic,
        } = p
        else {
            return;
        };
        if qos > 0 {
            let _ = self.c.puback(packet_id);
        }
        let now = Instant::now();
        let id = std::str::from_utf8(&payload)
            .ok()
            .and_then(|s| s.strip_prefix("soak:"))
            .and_then(|s| s.parse::<u64>().ok());
        let Some(id) = id else { return };
        if let Some(sent) = self.sent.get_mut(&id) {
            sent.delivered = true;
        }
        // Anyone's message: the publisher's write and this client's read must both be allowed.
        let Some(rec) = self.ctx.pubs.lock().unwrap().get(&id).cloned() else {
            return;
        };
        let topic_seen = String::from_utf8_lossy(&topic).into_owned();
        self.ctx.stats.deliveries.fetch_add(1, Ordering::Relaxed);
        let tl = self.ctx.timeline.lock().unwrap();
        let t_write = rec.t_ack.map_or(now, |a| a.min(now));
        let mut j = tl.judge_acl(
            &rec.by,
            &rec.topic,
            Acc::Write,
            rec.t0,
            t_write,
            Outcome::Allow,
        );
        if j.is_ok() {
            j = tl.judge_acl(&self.s, &rec.topic, Acc::Read, rec.t0, now, Outcome::Allow);
        }
        if j.is_ok() && topic_seen != rec.topic {
            j = Err(format!(
                "delivered on {topic_seen:?}, published on {:?}",
                rec.topic
            ));
        }
        drop(tl);
        let kind = if rec.by.client_id == self.s.client_id {
            "delivered"
        } else {
            "delivered-other"
        };
        self.ctx.record(
            kind,
            Outcome::Allow,
            j.map_err(|e| {
                format!(
                    "delivery to user={} client={}: {e}",
                    shown(&self.s.user),
                    shown(&self.s.client_id)
                )
            }),
        );
    }

    /// Reads until `want` matches or `deadline`; `None` on timeout or close.
    fn wait(&mut self, deadline: Instant, want: impl Fn(&Packet) -> bool) -> Option<Packet> {
        loop {
            match self.c.read_until(deadline) {
                Read1::Packet(p) if want(&p) => return Some(p),
                Read1::Packet(p) => self.other(p),
                Read1::Timeout => return None,
                Read1::Closed(_) => {
                    self.closed = true;
                    return None;
                }
            }
        }
    }

    /// Reads and handles one packet; false on timeout or close.
    fn pump(&mut self, deadline: Instant) -> bool {
        match self.c.read_until(deadline) {
            Read1::Packet(p) => {
                self.other(p);
                true
            }
            Read1::Timeout => false,
            Read1::Closed(_) => {
                self.closed = true;
                false
            }
        }
    }

    fn subscribe(&mut self, filter: &str) -> bool {
        let t0 = Instant::now();
        let Ok(id) = self.c.send_subscribe(filter) else {
            self.closed = true;
            return false;
        };
        let got = self.wait(
            t0 + crate::client::ANSWER_TIMEOUT,
            |p| matches!(p, Packet::SubAck(i, _) if *i == id),
        );
        let t1 = Instant::now();
        let Some(Packet::SubAck(_, code)) = got else {
            if !self.closed {
                self.ctx.stats.stalls.fetch_add(1, Ordering::Relaxed);
            }
            return false;
        };
        let seen = if code < 0x80 {
            Outcome::Allow
        } else {
            Outcome::Deny
        };
        let j = self.ctx.timeline.lock().unwrap().judge_acl(
            &self.s,
            filter,
            Acc::Subscribe,
            t0,
            t1,
            seen,
        );
        self.ctx.record("subscribe", seen, j);
        if seen == Outcome::Allow {
            self.granted.push(filter.to_string());
        }
        true
    }

    fn publish(&mut self, topic: &str) -> bool {
        let serial = self.ctx.next_pub.fetch_add(1, Ordering::Relaxed);
        let t0 = Instant::now();
        self.ctx.pubs.lock().unwrap().insert(
            serial,
            Published {
                by: self.s.clone(),
                topic: topic.to_string(),
                t0,
                t_ack: None,
            },
        );
        // Recorded before sending: the delivery may come before the PUBACK.
        let expected = self.granted.iter().any(|f| crate::model::matches(f, topic));
        self.sent.insert(
            serial,
            Sent {
                topic: topic.to_string(),
                t0,
                t_ack: t0 + crate::client::ANSWER_TIMEOUT,
                expected,
                delivered: false,
            },
        );
        let Ok(id) = self
            .c
            .send_publish(topic, format!("soak:{serial}").as_bytes())
        else {
            self.closed = true;
            return false;
        };
        let got = self.wait(
            t0 + crate::client::ANSWER_TIMEOUT,
            |p| matches!(p, Packet::PubAck(i) if *i == id),
        );
        if got.is_none() {
            if !self.closed {
                self.ctx.stats.stalls.fetch_add(1, Ordering::Relaxed);
            }
            return false;
        }
        let t_ack = Instant::now();
        if let Some(s) = self.sent.get_mut(&serial) {
            s.t_ack = t_ack;
        }
        if let Some(p) = self.ctx.pubs.lock().unwrap().get_mut(&serial) {
            p.t_ack = Some(t_ack);
        }
        let expected = self.sent[&serial].expected;
        // A delivery that raced the PUBACK may already be in; else wait for it.
        if expected {
            let deadline = Instant::now() + DELIVERY_WAIT;
            while !self.sent[&serial].delivered && self.pump(deadline) {}
        }
        !self.closed
    }

    /// Judges the messages that were expected back and did not come.
    fn finish(mut self) {
        // Late copies: a short last look.
        let deadline = Instant::now() + Duration::from_millis(50);
        while !self.closed && self.pump(deadline) {}
        let now = Instant::now();
        if !self.closed {
            for sent in self.sent.values().filter(|s| s.expected && !s.delivered) {
                let tl = self.ctx.timeline.lock().unwrap();
                let excused =
                    tl.acl_ok(
                        &self.s,
                        &sent.topic,
                        Acc::Write,
                        sent.t0,
                        sent.t_ack,
                        Outcome::Deny,
                    ) || tl.acl_ok(&self.s, &sent.topic, Acc::Read, sent.t0, now, Outcome::Deny);
                let j = if excused {
                    Ok(())
                } else {
                    Err(format!(
                        "missed delivery: {} published by user={} client={} under a granted subscription, \
                         not delivered within {DELIVERY_WAIT:?}, although the truth allows write and read",
                        shown(&sent.topic),
                        shown(&self.s.user),
                        shown(&self.s.client_id)
                    ))
                };
                drop(tl);
                self.ctx.record("not-delivered", Outcome::Deny, j);
            }
            self.c.disconnect();
        } else {
            self.ctx.stats.closed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The topics a session tries: its own, its patterns', others'.
fn topics(s: &Session, rng: &mut Rng) -> Vec<(String, String)> {
    let u = &s.user;
    let mut t: Vec<String> = vec![
        "shared/t".into(),
        format!("files/f{}/t", rng.below(6)),
        format!("http/h{}/t", rng.below(4)),
    ];
    if !u.bytes().any(|b| b == b'+' || b == b'#') {
        t.extend([
            format!("files/{u}/t"),
            format!("files/{u}/t"),
            format!("files/{u}/secret"),
            format!("users/{u}/t"),
            format!("http/{u}/t"),
            format!("http/{u}/t"),
            format!("jwt/{u}/t"),
        ]);
    }
    if !s.client_id.bytes().any(|b| b == b'+' || b == b'#') {
        t.push(format!("clients/{}/t", s.client_id));
    }
    let mut out = Vec::new();
    for _ in 0..2 {
        let topic = t[rng.below(t.len())].clone();
        let filter = match rng.below(3) {
            0 => topic.clone(),
            _ => match topic.rsplit_once('/') {
                Some((parent, _)) => format!("{parent}/#"),
                None => topic.clone(),
            },
        };
        out.push((filter, topic));
    }
    out
}

/// One iteration: connect, maybe subscribe and publish, disconnect.
pub fn iteration(ctx: &Ctx, rng: &mut Rng, n: u64, worker: usize) {
    let p = pick(ctx, rng, n, worker);
    let Some(c) = connect(ctx, &p) else { return };
    let Some(user) = p.login.user.clone() else {
        c.disconnect();
        return;
    };
    if !p.ops {
        c.disconnect();
        return;
    }
    let s = Session {
        user,
        client_id: p.login.client_id.clone(),
        jwt: p.login.token == Some(Token::Valid),
    };
    let pairs = topics(&s, rng);
    let mut conn = Conn {
        ctx,
        c,
        s,
        granted: Vec::new(),
        sent: HashMap::new(),
        closed: false,
    };
    if rng.below(6) == 0 {
        let f = ["#", "users/+/#", "files/+/t", "+/f0/#"][rng.below(4)];
        conn.subscribe(f);
    }
    for (filter, topic) in pairs {
        if conn.closed || !conn.subscribe(&filter) || !conn.publish(&topic) {
            break;
        }
    }
    conn.finish();
}

/// Runs a worker until the run stops.
pub fn worker(ctx: Arc<Ctx>, id: usize) {
    let mut rng = Rng::new(id as u64 + 1);
    let mut n = 0u64;
    while ctx.go_on() {
        n += 1;
        iteration(&ctx, &mut rng, n, id);
        thread::sleep(Duration::from_millis(2 + rng.below(10) as u64));
    }
}

/// A long-lived subscriber: connects as a file, HTTP or JWT user with the password in force,
/// subscribes to its own topics and to `shared/#`, and stays for up to `stay` while everyone
/// else's messages arrive (each delivery judged at the moment it comes, so a permission revoked
/// by a reload or a new HTTP version must stop deliveries on the existing subscription). A
/// broker that disconnects it (a revoked user) is followed by a new login.
pub fn watcher(ctx: Arc<Ctx>, id: usize, stay: Duration) {
    let mut rng = Rng::new(500 + id as u64);
    let mut n = 0u64;
    while ctx.go_on() {
        n += 1;
        let mut p = pick(&ctx, &mut rng, n, 200 + id);
        if !matches!(p.kind, "file-right" | "http-right" | "jwt-valid") {
            continue;
        }
        p.kind = "watcher-login";
        let Some(c) = connect(&ctx, &p) else {
            thread::sleep(Duration::from_millis(200));
            continue;
        };
        let s = Session {
            user: p.login.user.clone().unwrap_or_default(),
            client_id: p.login.client_id.clone(),
            jwt: p.login.token == Some(Token::Valid),
        };
        let u = s.user.clone();
        let mut conn = Conn {
            ctx: &ctx,
            c,
            s,
            granted: Vec::new(),
            sent: HashMap::new(),
            closed: false,
        };
        for f in [
            format!("files/{u}/#"),
            format!("http/{u}/#"),
            format!("users/{u}/#"),
            "shared/#".to_string(),
            "files/+/t".to_string(),
        ] {
            if !conn.subscribe(&f) {
                break;
            }
        }
        let until = Instant::now() + stay;
        while !conn.closed && Instant::now() < until && !ctx.stop.load(Ordering::Acquire) {
            let _ = conn.pump(Instant::now() + Duration::from_millis(200));
            if ctx.pause.load(Ordering::Acquire) {
                break;
            }
        }
        conn.finish();
    }
}

/// A connect flood: `threads` x `each` connects at once, judged, no ACL work.
pub fn flood(ctx: &Arc<Ctx>, threads: usize, each: usize) {
    let hs: Vec<_> = (0..threads)
        .map(|t| {
            let ctx = ctx.clone();
            thread::spawn(move || {
                let mut rng = Rng::new(1000 + t as u64);
                for n in 0..each {
                    let p = pick(&ctx, &mut rng, 1_000_000 + n as u64, 100 + t);
                    if let Some(c) = connect(&ctx, &p) {
                        c.disconnect();
                    }
                }
            })
        })
        .collect();
    for h in hs {
        let _ = h.join();
    }
}
