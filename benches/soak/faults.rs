//! The truth's versions, the files on disk, and the schedule of faults: the HTTP service
//! killed and restarted, slowed past the plugin's deadline, answering garbage or 500; the
//! password and ACL files replaced by rename, written in place line by line, truncated, made
//! unreadable, made unparsable; SIGHUP storms; connect floods. Each fault records what the
//! oracle needs (a new version, a failing span) before it acts, and what the plugin must log
//! ([`Expect`]).

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use mosq_auth::hash::{hash_password_with, Scheme};

use crate::load::{flood, Ctx, NP_PASSWORD};
use crate::model::{AclLine, Files, Grant, Http, PwLine};
use crate::service::{Mode, Service};

/// Lines of an HTTP failure.
pub const HTTP_FAILED: &[&str] = &["backend http failed", "considering the auth service down"];
/// Lines of a successful file load.
pub const LOADED: &[&str] = &["files: loaded", "reload: backend files reloaded"];
/// Lines of a file that could not be loaded.
pub const NOT_LOADED: &[&str] = &["kept its last good state", "not loaded", "cannot read"];

/// Version `n` of the files.
pub fn files_version(n: usize) -> Files {
    let mut pw = Vec::new();
    for i in 0..6 {
        if (n + i) % 7 != 6 {
            pw.push(PwLine::User(
                format!("f{i}"),
                format!("pw-f{i}-{}", ((n + i) / 3) % 5).into_bytes(),
            ));
        }
    }
    pw.push(PwLine::User("f_np".into(), NP_PASSWORD.to_vec()));
    for u in ["ev+il", "ev/il", "ev#il"] {
        pw.push(PwLine::User(u.into(), b"pw-evil".to_vec()));
    }
    let mut acl = Vec::new();
    let grants = [
        Some(Grant::ReadWrite),
        Some(Grant::Read),
        Some(Grant::Write),
        Some(Grant::ReadWrite),
        None,
    ];
    for i in 0..6 {
        acl.push(AclLine::User(format!("f{i}")));
        if let Some(g) = grants[(n * 3 + i) % 5] {
            acl.push(AclLine::Topic(g, format!("files/f{i}/#")));
        }
        acl.push(AclLine::Topic(Grant::Deny, format!("files/f{i}/secret")));
        if (n + i) % 2 == 0 {
            acl.push(AclLine::Topic(Grant::Read, "shared/#".into()));
        }
    }
    acl.push(AclLine::User("f_np".into()));
    acl.push(AclLine::Topic(Grant::ReadWrite, "files/f_np/#".into()));
    for u in ["ev+il", "ev/il", "ev#il"] {
        acl.push(AclLine::User(u.into()));
        acl.push(AclLine::Topic(Grant::Read, "shared/#".into()));
    }
    if n % 6 != 5 {
        acl.push(AclLine::Pattern(Grant::ReadWrite, "users/%u/#".into()));
        acl.push(AclLine::Pattern(Grant::ReadWrite, "clients/%c/#".into()));
    }
    Files {
        label: format!("v{n}"),
        pw,
        acl,
    }
}

/// Version `n` of the HTTP service.
pub fn http_version(n: usize) -> Http {
    let users = (0..4)
        .filter(|i| (n + i) % 5 != 4)
        .map(|i| (format!("h{i}"), format!("pw-h{i}-{}", ((n + i) / 2) % 5)))
        .collect();
    Http {
        label: format!("h{n}"),
        users,
    }
}

/// Renders files, hashing each (user, password) once so an unchanged user keeps its line.
#[derive(Default)]
pub struct Render {
    hashes: HashMap<(String, Vec<u8>), String>,
}

impl Render {
    pub fn passwd(&mut self, f: &Files) -> Vec<String> {
        f.pw.iter()
            .map(|l| match l {
                PwLine::User(u, p) => {
                    let h = self
                        .hashes
                        .entry((u.clone(), p.clone()))
                        .or_insert_with(|| {
                            hash_password_with(Scheme::Mosquitto7, p, Some(101)).expect("hash")
                        });
                    format!("{u}:{h}\n")
                }
                PwLine::Broken(u) => format!("{u}:$7$101$cut\n"),
            })
            .collect()
    }

    pub fn acl(f: &Files) -> Vec<String> {
        f.acl
            .iter()
            .map(|l| match l {
                AclLine::User(u) => format!("user {u}\n"),
                AclLine::Topic(g, t) => format!("topic {} {t}\n", g.word()),
                AclLine::Pattern(g, t) => format!("pattern {} {t}\n", g.word()),
            })
            .collect()
    }
}

/// A log line the plugin must write for a fault.
pub struct Expect {
    pub what: String,
    pub from: Instant,
    pub until: Instant,
    pub any_of: &'static [&'static str],
    /// At most this many such lines (errors are logged once per burst); `None`: no bound.
    pub at_most: Option<usize>,
}

/// The fault injector.
pub struct Faults {
    pub ctx: Arc<Ctx>,
    pub svc: Arc<Service>,
    pub pid: u32,
    pub passwd: PathBuf,
    pub acl: PathBuf,
    pub render: Render,
    pub file_n: usize,
    pub http_n: usize,
    pub expects: Vec<Expect>,
    /// (good users, broken users, rules) of every complete file version.
    pub complete: Arc<Mutex<Vec<(usize, usize, usize)>>>,
    pub count: u64,
    pub done: Vec<String>,
    /// The broker runs as root: chmod 000 does not keep it from reading.
    pub root_broker: bool,
    /// `http_timeout + 1 s`: how long a failure may take to show, and the slow delay.
    pub http_slow: Duration,
}

fn write_atomic(path: &PathBuf, lines: &[String]) {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, lines.concat()).expect("write tmp");
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).expect("chmod");
    fs::rename(&tmp, path).expect("rename");
}

impl Faults {
    fn expect(
        &mut self,
        what: &str,
        from: Instant,
        until: Instant,
        any_of: &'static [&'static str],
        at_most: Option<usize>,
    ) {
        self.expects.push(Expect {
            what: what.to_string(),
            from,
            until,
            any_of,
            at_most,
        });
    }

    fn window(&self) -> Duration {
        self.ctx.timeline.lock().unwrap().windows.files()
    }

    fn complete_now(&mut self, v: &Files) {
        let at = Instant::now();
        self.ctx.timeline.lock().unwrap().files_complete(at);
        self.complete.lock().unwrap().push(v.counts());
    }

    /// The next file version, renamed over both files.
    pub fn rename(&mut self) {
        self.file_n += 1;
        let v = files_version(self.file_n);
        let (pw, acl) = (self.render.passwd(&v), Render::acl(&v));
        let t0 = Instant::now();
        self.ctx.timeline.lock().unwrap().files_begin(v.clone(), t0);
        write_atomic(&self.passwd, &pw);
        write_atomic(&self.acl, &acl);
        self.complete_now(&v);
        let until = Instant::now() + self.window() + Duration::from_secs(2);
        self.expect(&format!("rename {}", v.label), t0, until, LOADED, None);
    }

    /// The next file version written in place, line by line, `gap` apart (less than the
    /// reload interval: every poll sees a change, so nothing may be loaded half-way).
    pub fn slow_write(&mut self, gap: Duration) {
        self.file_n += 1;
        let v = files_version(self.file_n);
        let (pw, acl) = (self.render.passwd(&v), Render::acl(&v));
        let t0 = Instant::now();
        self.ctx.timeline.lock().unwrap().files_begin(v.clone(), t0);
        for (path, lines) in [(&self.passwd, &pw), (&self.acl, &acl)] {
            let mut f = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)
                .expect("open in place");
            for l in lines.iter() {
                f.write_all(l.as_bytes()).expect("write a line");
                f.flush().expect("flush");
                thread::sleep(gap);
            }
        }
        self.complete_now(&v);
        let until = Instant::now() + self.window() + Duration::from_secs(2);
        self.expect(&format!("slow write {}", v.label), t0, until, LOADED, None);
    }

    /// The password file cut in the middle of its last line's hash (in place).
    pub fn truncate_passwd(&mut self) {
        let mut v = self
            .ctx
            .timeline
            .lock()
            .unwrap()
            .files_now()
            .as_ref()
            .clone();
        let lines = self.render.passwd(&v);
        let Some(PwLine::User(last, _)) = v.pw.last().cloned() else {
            return;
        };
        let keep: usize = lines[..lines.len() - 1]
            .iter()
            .map(String::len)
            .sum::<usize>()
            + last.len()
            + 1
            + 12;
        *v.pw.last_mut().expect("a line") = PwLine::Broken(last);
        v.label = format!("{}-cut", v.label);
        let t0 = Instant::now();
        self.ctx.timeline.lock().unwrap().files_begin(v.clone(), t0);
        let f = OpenOptions::new()
            .write(true)
            .open(&self.passwd)
            .expect("open");
        f.set_len(keep as u64).expect("truncate");
        drop(f);
        self.complete_now(&v);
        let until = Instant::now() + self.window() + Duration::from_secs(2);
        self.expect(
            &format!("truncate passwd {}", v.label),
            t0,
            until,
            LOADED,
            None,
        );
    }

    /// The ACL file cut at a line boundary, 60% kept (in place).
    pub fn truncate_acl(&mut self) {
        let mut v = self
            .ctx
            .timeline
            .lock()
            .unwrap()
            .files_now()
            .as_ref()
            .clone();
        let lines = Render::acl(&v);
        let k = lines.len() * 3 / 5;
        let keep: usize = lines[..k].iter().map(String::len).sum();
        v.acl.truncate(k);
        v.label = format!("{}-acl{k}", v.label);
        let t0 = Instant::now();
        self.ctx.timeline.lock().unwrap().files_begin(v.clone(), t0);
        let f = OpenOptions::new()
            .write(true)
            .open(&self.acl)
            .expect("open");
        f.set_len(keep as u64).expect("truncate");
        drop(f);
        self.complete_now(&v);
        let until = Instant::now() + self.window() + Duration::from_secs(2);
        self.expect(
            &format!("truncate acl {}", v.label),
            t0,
            until,
            LOADED,
            None,
        );
    }

    fn sighup(&self) {
        // SAFETY: plain kill(2) on the broker's pid.
        unsafe { libc::kill(self.pid as i32, libc::SIGHUP) };
    }

    /// Both files chmod 000, a SIGHUP, `hold`, then readable again. The truth stays.
    pub fn unreadable(&mut self, hold: Duration) -> bool {
        if self.root_broker {
            return false;
        }
        let t0 = Instant::now();
        for p in [&self.passwd, &self.acl] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o000)).expect("chmod 000");
        }
        thread::sleep(Duration::from_millis(100));
        self.sighup();
        thread::sleep(hold);
        for p in [&self.passwd, &self.acl] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o644)).expect("chmod 644");
        }
        self.ctx
            .timeline
            .lock()
            .unwrap()
            .files_blocked(t0, Instant::now());
        self.expect(
            "unreadable files + SIGHUP",
            t0,
            Instant::now() + Duration::from_secs(2),
            NOT_LOADED,
            None,
        );
        true
    }

    /// An ACL file with a rule that is not UTF-8 renamed in; after `hold`, the next good
    /// version. The garbage is never in force.
    pub fn acl_garbage(&mut self, hold: Duration) {
        let v = self.ctx.timeline.lock().unwrap().files_now();
        let lines = Render::acl(&v);
        let t0 = Instant::now();
        let tmp = self.acl.with_extension("tmp");
        let mut bytes = lines.concat().into_bytes();
        bytes.extend_from_slice(b"user f0\ntopic read caf\xe9/#\n");
        fs::write(&tmp, bytes).expect("write");
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644)).expect("chmod");
        fs::rename(&tmp, &self.acl).expect("rename");
        thread::sleep(hold);
        self.ctx
            .timeline
            .lock()
            .unwrap()
            .files_blocked(t0, Instant::now());
        let until = Instant::now() + Duration::from_secs(2);
        self.expect("ACL file not UTF-8", t0, until, NOT_LOADED, None);
        self.rename();
    }

    /// `n` SIGHUPs, `gap` apart.
    pub fn sighup_storm(&mut self, n: usize, gap: Duration) {
        let t0 = Instant::now();
        for _ in 0..n {
            self.sighup();
            thread::sleep(gap);
        }
        let until = Instant::now() + Duration::from_secs(3);
        self.expect("SIGHUP storm", t0, until, &["reload: backend"], None);
    }

    /// The service fails for `hold` in `mode` (or is killed, `None`).
    pub fn http_fault(&mut self, mode: Option<Mode>, hold: Duration) {
        let t0 = Instant::now();
        let i = self.ctx.timeline.lock().unwrap().fault_begin(t0);
        match mode {
            None => self.svc.kill(),
            Some(m) => self.svc.set_mode(m),
        }
        thread::sleep(hold);
        match mode {
            None => {
                if let Err(e) = self.svc.restart() {
                    eprintln!("soak: {e}");
                }
            }
            Some(_) => self.svc.set_mode(Mode::Up),
        }
        // A slow answer started before the service recovered still ends late.
        let end = Instant::now()
            + if mode == Some(Mode::Slow) {
                self.http_slow
            } else {
                Duration::ZERO
            };
        self.ctx.timeline.lock().unwrap().fault_end(i, end);
        let name = match mode {
            None => "http killed",
            Some(Mode::Slow) => "http slow",
            Some(Mode::Garbage) => "http garbage",
            Some(Mode::Error500) => "http 500",
            Some(Mode::Up) => "http up",
        };
        // Once per burst: a line per 10 s of failure at most, plus the breaker's.
        let secs = (end + self.http_slow).duration_since(t0).as_secs() as usize;
        self.expect(
            name,
            t0,
            end + self.http_slow + Duration::from_secs(1),
            HTTP_FAILED,
            Some(2 + secs / 10 + 1),
        );
    }

    /// The service's next version.
    pub fn rotate_http(&mut self) {
        self.http_n += 1;
        let v = Arc::new(http_version(self.http_n));
        self.ctx
            .timeline
            .lock()
            .unwrap()
            .http_set(v.as_ref().clone(), Instant::now());
        self.svc.set_truth(v);
    }

    /// Runs step `name`; returns whether it was a fault.
    pub fn step(&mut self, name: &str) -> bool {
        let s = Duration::from_secs;
        let fault = match name {
            "rotate" => {
                self.rotate_http();
                false
            }
            "rename" => {
                self.rename();
                true
            }
            "slow-write" => {
                self.slow_write(Duration::from_millis(110));
                true
            }
            "truncate-passwd" => {
                self.truncate_passwd();
                true
            }
            "truncate-acl" => {
                self.truncate_acl();
                true
            }
            "unreadable" => self.unreadable(s(3)),
            "acl-garbage" => {
                self.acl_garbage(s(3));
                true
            }
            "sighup-storm" => {
                self.sighup_storm(15, Duration::from_millis(100));
                true
            }
            "flood" => {
                flood(&self.ctx, 8, 25);
                true
            }
            "http-kill" => {
                self.http_fault(None, s(3));
                true
            }
            "http-slow" => {
                self.http_fault(Some(Mode::Slow), s(3));
                true
            }
            "http-garbage" => {
                self.http_fault(Some(Mode::Garbage), s(3));
                true
            }
            "http-500" => {
                self.http_fault(Some(Mode::Error500), s(3));
                true
            }
            other => panic!("unknown step {other}"),
        };
        if fault {
            self.count += 1;
            self.done.push(name.to_string());
        }
        fault
    }
}

/// One cycle of the schedule: (seconds from the cycle's start, step). HTTP failures are at
/// least 11 s apart (end to start), so each burst gets its own line through the plugin's
/// 10 s error throttle.
pub const CYCLE: &[(u64, &str)] = &[
    (0, "http-kill"),
    (4, "rename"),
    (6, "slow-write"),
    (11, "sighup-storm"),
    (13, "rotate"),
    (14, "http-slow"),
    (19, "truncate-passwd"),
    (21, "rename"),
    (23, "flood"),
    (27, "unreadable"),
    (30, "http-garbage"),
    (34, "acl-garbage"),
    (38, "rotate"),
    (39, "truncate-acl"),
    (44, "http-500"),
    (48, "rename"),
    (50, "sighup-storm"),
];

/// Length of one cycle (the next cycle's HTTP kill is 11 s after the 500s end).
pub const CYCLE_SECS: u64 = 58;

/// How long a step takes at most (to start only steps that end within the run).
pub fn step_secs(name: &str) -> u64 {
    match name {
        "slow-write" => 5,
        "flood" | "unreadable" => 4,
        "acl-garbage" | "http-kill" | "http-slow" | "http-garbage" | "http-500" => 4,
        "sighup-storm" => 2,
        _ => 1,
    }
}
