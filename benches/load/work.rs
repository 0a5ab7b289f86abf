//! The workloads: connect storms and publish/subscribe runs, each bounded in count and time,
//! measuring wall time, latencies and the broker's CPU time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::broker::Broker;
use crate::mqtt::{publish_packet, Client, Packet};
use crate::procfs::CpuDelta;

/// No phase may take longer than this; a stalled run reports what it got.
pub const PHASE_DEADLINE: Duration = Duration::from_secs(120);

/// Percentiles of a set of latencies, in microseconds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lat {
    pub p50: f64,
    pub p99: f64,
}

impl Lat {
    pub fn of(mut ns: Vec<u64>) -> Lat {
        if ns.is_empty() {
            return Lat::default();
        }
        ns.sort_unstable();
        let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1e3;
        Lat {
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// The result of a connect storm.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectResult {
    pub ok: u64,
    pub refused: u64,
    pub failed: u64,
    pub wall: Duration,
    pub cpu: CpuDelta,
    pub lat: Lat,
}

impl ConnectResult {
    pub fn per_sec(&self) -> f64 {
        (self.ok + self.refused) as f64 / self.wall.as_secs_f64()
    }
    /// Broker CPU per connect (stat, schedstat) in microseconds.
    pub fn cpu_per_op(&self) -> (f64, f64) {
        let n = (self.ok + self.refused).max(1) as f64;
        (self.cpu.stat_us / n, self.cpu.sched_us / n)
    }
}

/// How client ids are chosen in a connect storm.
#[derive(Clone, Copy)]
pub enum Ids {
    /// A new client id per connect: every password check is a cache miss.
    Distinct(&'static str),
    /// Each connector cycles through this many ids of its own: after one round the plugin's
    /// password cache answers (its key is username, password and client id).
    Repeat(usize),
}

/// `total` CONNECT + CONNACK + DISCONNECT with `conc` parallel connectors. With
/// [`Ids::Distinct`] connect `i` logs in as `users[i % users.len()]`; with [`Ids::Repeat`] each
/// client id always logs in as the same user, so the password cache can answer.
pub fn connects(
    broker: &Broker,
    total: usize,
    conc: usize,
    users: &[(String, String)],
    ids: Ids,
) -> ConnectResult {
    let addr = broker.addr();
    let users = Arc::new(users.to_vec());
    let deadline = Instant::now() + PHASE_DEADLINE;
    let cpu0 = broker.cpu();
    let t0 = Instant::now();
    let handles: Vec<_> = (0..conc)
        .map(|k| {
            let users = users.clone();
            thread::spawn(move || {
                let (mut ok, mut refused, mut failed) = (0u64, 0u64, 0u64);
                let mut lat = Vec::with_capacity(total / conc + 1);
                for i in (k..total).step_by(conc) {
                    if Instant::now() > deadline {
                        break;
                    }
                    let (slot, id) = match ids {
                        Ids::Distinct(prefix) => (i, format!("{prefix}-{i}")),
                        Ids::Repeat(m) => {
                            let j = (i / conc) % m;
                            (k * m + j, format!("r{k}-{j}"))
                        }
                    };
                    let (u, p) = &users[slot % users.len()];
                    let t = Instant::now();
                    match Client::connect(addr, &id, Some((u, p))) {
                        Ok((c, 0)) => {
                            lat.push(t.elapsed().as_nanos() as u64);
                            ok += 1;
                            let _ = c.disconnect();
                        }
                        Ok((_, _code)) => refused += 1,
                        Err(_) => failed += 1,
                    }
                }
                (ok, refused, failed, lat)
            })
        })
        .collect();
    let mut r = ConnectResult::default();
    let mut all = Vec::with_capacity(total);
    for h in handles {
        let (ok, refused, failed, lat) = h.join().expect("connector thread");
        r.ok += ok;
        r.refused += refused;
        r.failed += failed;
        all.extend(lat);
    }
    r.wall = t0.elapsed();
    // Let the broker finish the last disconnects before reading its CPU time.
    thread::sleep(Duration::from_millis(100));
    r.cpu = broker.cpu().since(cpu0);
    r.lat = Lat::of(all);
    r
}

/// The result of a publish/subscribe run.
#[derive(Clone, Copy, Debug, Default)]
pub struct PubSubResult {
    pub published: u64,
    pub delivered: u64,
    pub expected: u64,
    pub wall: Duration,
    pub cpu: CpuDelta,
    pub lat: Lat,
}

impl PubSubResult {
    pub fn delivered_per_sec(&self) -> f64 {
        self.delivered as f64 / self.wall.as_secs_f64()
    }
    /// Broker CPU per delivered message (stat, schedstat) in microseconds.
    pub fn cpu_per_delivery(&self) -> (f64, f64) {
        let n = self.delivered.max(1) as f64;
        (self.cpu.stat_us / n, self.cpu.sched_us / n)
    }
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.delivered)
    }
}

/// Parameters of a publish/subscribe run.
#[derive(Clone)]
pub struct PubSub {
    pub publishers: Vec<(String, String)>,
    pub subscribers: Vec<(String, String)>,
    /// Topic of publisher `i`; `{i}` is its index and `{n}` the message number.
    pub topic: String,
    pub filter: String,
    pub qos: u8,
    /// Messages in total (split evenly over the publishers), after `warmup` per publisher.
    pub messages: usize,
    pub warmup: usize,
    /// Messages each publisher may have sent but not yet seen delivered to every subscriber.
    pub window: u64,
    /// Prefix of the client ids.
    pub client_prefix: String,
}

const PAYLOAD: usize = 64;

/// Runs one publish/subscribe measurement. Connects the subscribers, then the publishers,
/// warms up, calls `before_measure` (e.g. to read the broker's RSS), measures `messages`, and
/// disconnects everybody.
pub fn pubsub(broker: &Broker, p: &PubSub, before_measure: &mut dyn FnMut()) -> PubSubResult {
    let addr = broker.addr();
    let np = p.publishers.len();
    let ns = p.subscribers.len() as u64;
    let per_pub = p.messages / np;
    let expected_per_sub = ((per_pub + p.warmup) * np) as u64;
    // delivered[publisher][subscriber]: the window holds per subscriber, so no subscriber's
    // queue in the broker grows past publishers x window (mosquitto drops QoS 1 messages beyond
    // max_queued_messages, 1000 by default).
    let delivered: Arc<Vec<Vec<AtomicU64>>> = Arc::new(
        (0..np)
            .map(|_| (0..ns).map(|_| AtomicU64::new(0)).collect())
            .collect(),
    );
    let total = Arc::new(AtomicU64::new(0));
    let measuring = Arc::new(AtomicBool::new(false));
    let lats = Arc::new(Mutex::new(Vec::<u64>::with_capacity(
        p.messages * ns as usize,
    )));
    let epoch = Instant::now();
    let deadline = epoch + PHASE_DEADLINE;

    // Subscribers.
    let mut subs = Vec::new();
    for (j, (u, pw)) in p.subscribers.iter().enumerate() {
        let (mut c, code) =
            Client::connect(addr, &format!("{}-sub{j}", p.client_prefix), Some((u, pw)))
                .expect("subscriber connect");
        assert_eq!(code, 0, "subscriber {u} refused (CONNACK {code})");
        let granted = c.subscribe(&p.filter, p.qos).expect("subscribe");
        assert!(granted < 0x80, "subscription {} refused for {u}", p.filter);
        let (delivered, total, measuring, lats) = (
            delivered.clone(),
            total.clone(),
            measuring.clone(),
            lats.clone(),
        );
        subs.push(thread::spawn(move || {
            let mut got = 0u64;
            let mut mine = Vec::new();
            while got < expected_per_sub && Instant::now() < deadline {
                match c.read() {
                    Ok(Packet::Publish {
                        qos,
                        packet_id,
                        payload,
                    }) => {
                        if qos == 1 && c.puback(packet_id).is_err() {
                            break;
                        }
                        got += 1;
                        if payload.len() >= 12 {
                            let id = u32::from_le_bytes(payload[0..4].try_into().unwrap_or([0; 4]));
                            let ts =
                                u64::from_le_bytes(payload[4..12].try_into().unwrap_or([0; 8]));
                            if measuring.load(Ordering::Relaxed) {
                                let now = epoch.elapsed().as_nanos() as u64;
                                mine.push(now.saturating_sub(ts));
                            }
                            if let Some(d) = delivered.get(id as usize).and_then(|v| v.get(j)) {
                                d.fetch_add(1, Ordering::Release);
                            }
                        }
                        total.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            lats.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
            let _ = c.disconnect();
        }));
    }

    // Publishers: connect all first.
    let mut pubs = Vec::new();
    for (i, (u, pw)) in p.publishers.iter().enumerate() {
        let (c, code) =
            Client::connect(addr, &format!("{}-pub{i}", p.client_prefix), Some((u, pw)))
                .expect("publisher connect");
        assert_eq!(code, 0, "publisher {u} refused (CONNACK {code})");
        pubs.push(c);
    }

    let run = |count: usize, offset: usize, pubs: Vec<Client>| -> Vec<Client> {
        let handles: Vec<_> = pubs
            .into_iter()
            .enumerate()
            .map(|(i, mut c)| {
                let delivered = delivered.clone();
                let topic_tpl = p.topic.replace("{i}", &i.to_string());
                let per_topic = topic_tpl.contains("{n}");
                let (qos, window) = (p.qos, p.window);
                thread::spawn(move || {
                    // Drain PUBACKs for QoS 1 on a second thread.
                    let acks = Arc::new(AtomicU64::new(0));
                    let drain = (qos == 1).then(|| {
                        let r = c.reader.get_ref().try_clone().expect("clone");
                        let _ = r.set_read_timeout(Some(Duration::from_millis(200)));
                        let acks = acks.clone();
                        let n = count as u64;
                        thread::spawn(move || {
                            let mut r = std::io::BufReader::new(r);
                            let stop = Instant::now() + PHASE_DEADLINE;
                            while acks.load(Ordering::Relaxed) < n && Instant::now() < stop {
                                match crate::mqtt::read_packet(&mut r) {
                                    Ok(Packet::PubAck) => {
                                        acks.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Ok(_) => {}
                                    Err(e)
                                        if e.kind() == std::io::ErrorKind::WouldBlock
                                            || e.kind() == std::io::ErrorKind::TimedOut => {}
                                    Err(_) => break,
                                }
                            }
                        })
                    });
                    let mut buf = Vec::with_capacity(256);
                    let mut payload = [0u8; PAYLOAD];
                    payload[0..4].copy_from_slice(&(i as u32).to_le_bytes());
                    let mut topic = topic_tpl.clone();
                    for n in 0..count {
                        let sent = (offset + n) as u64;
                        let mut last = (0, Instant::now());
                        loop {
                            let slowest = delivered[i]
                                .iter()
                                .map(|d| d.load(Ordering::Acquire))
                                .min()
                                .unwrap_or(0);
                            if sent.saturating_sub(slowest) <= window {
                                break;
                            }
                            if slowest != last.0 {
                                last = (slowest, Instant::now());
                            }
                            // No progress for 10 s, or out of time: give up this run.
                            if Instant::now() > deadline
                                || last.1.elapsed() > Duration::from_secs(10)
                            {
                                return c;
                            }
                            thread::sleep(Duration::from_micros(50));
                        }
                        if per_topic {
                            topic = topic_tpl.replace("{n}", &(offset + n).to_string());
                        }
                        let ts = epoch.elapsed().as_nanos() as u64;
                        payload[4..12].copy_from_slice(&ts.to_le_bytes());
                        let pid = ((offset + n) % 65_535 + 1) as u16;
                        publish_packet(&topic, &payload, qos, pid, &mut buf);
                        if std::io::Write::write_all(&mut c.writer, &buf).is_err() {
                            return c;
                        }
                    }
                    if let Some(d) = drain {
                        let _ = d.join();
                    }
                    c
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("publisher"))
            .collect()
    };

    let wait_all = |want_per_pub: u64| {
        let stop = Instant::now() + Duration::from_secs(10);
        while Instant::now() < stop && Instant::now() < deadline {
            if delivered
                .iter()
                .flatten()
                .all(|d| d.load(Ordering::Acquire) >= want_per_pub)
            {
                return;
            }
            thread::sleep(Duration::from_millis(1));
        }
    };

    // Warm-up (fills caches), then measure.
    let pubs = run(p.warmup, 0, pubs);
    wait_all(p.warmup as u64);
    thread::sleep(Duration::from_millis(50));
    before_measure();
    let before_total = total.load(Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let cpu0 = broker.cpu();
    let t0 = Instant::now();
    let pubs = run(per_pub, p.warmup, pubs);
    wait_all((p.warmup + per_pub) as u64);
    let wall = t0.elapsed();
    thread::sleep(Duration::from_millis(50));
    let cpu = broker.cpu().since(cpu0);
    let delivered_n = total.load(Ordering::Relaxed) - before_total;
    for c in pubs {
        let _ = c.disconnect();
    }
    for s in subs {
        let _ = s.join();
    }
    let lat = Lat::of(std::mem::take(
        &mut *lats.lock().unwrap_or_else(|e| e.into_inner()),
    ));
    PubSubResult {
        published: (per_pub * np) as u64,
        delivered: delivered_n,
        expected: (per_pub * np) as u64 * ns,
        wall,
        cpu,
        lat,
    }
}
