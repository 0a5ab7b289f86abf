//! The plugin's log lines, sent to the broker's own logger.
//!
//! The broker's logger may only be called from the broker's thread: with `log_dest topic` it
//! publishes the line as a message. Lines from any other thread (reload watcher, cache refresh)
//! are queued and written by [`flush`], which the FFI layer calls at the start of every broker
//! callback. Every line starts with `mosq-auth: ` so an operator can grep the broker log.

use std::collections::VecDeque;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

/// The prefix of every line the plugin logs.
pub const PREFIX: &str = "mosq-auth: ";

/// How many lines from background threads are kept before the oldest are dropped.
const QUEUE_LIMIT: usize = 1000;

/// A log level, from the most to the least severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something failed and the plugin could not do what was asked.
    Error,
    /// Something is wrong or risky but the plugin carries on.
    Warning,
    /// Start-up, reload and other events an operator wants to see.
    Notice,
    /// Per-connection information.
    Info,
    /// Per-check detail, for finding a problem.
    Debug,
}

impl Level {
    /// The level's name as written in `auth_opt_log_level`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }
}

impl FromStr for Level {
    type Err = ();

    fn from_str(s: &str) -> Result<Level, ()> {
        match s.to_ascii_lowercase().as_str() {
            "error" | "err" => Ok(Level::Error),
            "warning" | "warn" => Ok(Level::Warning),
            "notice" => Ok(Level::Notice),
            "info" => Ok(Level::Info),
            "debug" => Ok(Level::Debug),
            _ => Err(()),
        }
    }
}

/// Where lines go: the broker's logger (set by the FFI layer) or, by default, standard error.
pub type Sink = fn(Level, &str);

fn stderr_sink(level: Level, line: &str) {
    eprintln!("{}: {line}", level.as_str());
}

static SINK: RwLock<Sink> = RwLock::new(stderr_sink);
static BROKER_THREAD: RwLock<Option<ThreadId>> = RwLock::new(None);
static QUEUE: Lazy<Mutex<VecDeque<(Level, String)>>> = Lazy::new(|| Mutex::new(VecDeque::new()));
static PENDING: AtomicBool = AtomicBool::new(false);
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// Sends lines to `sink` from now on, and records the calling thread as the only one that may
/// call it directly.
pub fn set_sink(sink: Sink) {
    *SINK.write().unwrap_or_else(|e| e.into_inner()) = sink;
    *BROKER_THREAD.write().unwrap_or_else(|e| e.into_inner()) = Some(thread::current().id());
}

fn write_now(level: Level, line: &str) {
    let sink = *SINK.read().unwrap_or_else(|e| e.into_inner());
    sink(level, line);
}

fn on_broker_thread() -> bool {
    match *BROKER_THREAD.read().unwrap_or_else(|e| e.into_inner()) {
        Some(id) => id == thread::current().id(),
        None => true,
    }
}

/// Runs `f`; if it panics, logs an error naming `what` and the panic's message and returns
/// `None`. Every thread the plugin starts runs its units of work through this, so one bad
/// input cannot silently stop reloading, refreshing or serving metrics; the FFI guard uses it
/// so that no panic unwinds into the broker.
pub fn catch_panic<T>(what: &str, f: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Logger::default().error(format_args!("internal error in {what}: {msg}"));
            None
        }
    }
}

/// Writes the lines queued by other threads. Cheap when there are none: one load, inlined
/// into every callback (which runs it first), the writing itself out of line.
#[inline]
pub fn flush() {
    // A plain load first: this runs on every callback, and the queue is nearly always empty.
    if PENDING.load(Ordering::Acquire) {
        flush_pending();
    }
}

#[cold]
#[inline(never)]
fn flush_pending() {
    if !PENDING.swap(false, Ordering::AcqRel) {
        return;
    }
    let lines: Vec<(Level, String)> = {
        let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
        queue.drain(..).collect()
    };
    let dropped = DROPPED.swap(0, Ordering::AcqRel);
    if dropped > 0 {
        write_now(
            Level::Warning,
            &format!("{PREFIX}{dropped} log lines from background threads were dropped"),
        );
    }
    for (level, line) in lines {
        write_now(level, &line);
    }
}

/// The longest line handed to the broker. Mosquitto formats each log line, its timestamp
/// included, into a 1000-byte buffer and cuts the rest: a long username or client id would push
/// the part that matters (what failed, and why) off the end.
pub const MAX_LINE: usize = 900;

/// How much of an over-long line is kept before the cut; the rest of [`MAX_LINE`] is kept from
/// its end, where the outcome and the cause are.
const KEEP_HEAD: usize = 300;

/// The broker lines for one plugin line: one per `\n` (continuations indented under the
/// prefix), other control characters escaped so that a name cannot start a forged line or
/// drive a terminal, and each line longer than [`MAX_LINE`] bytes cut in the middle.
fn broker_lines(line: String) -> Vec<String> {
    let plain = |b: u8| (b >= 0x20 && b != 0x7f) || b == b'\t' || b >= 0x80;
    if line.len() <= MAX_LINE && line.bytes().all(plain) && !line.contains('\u{85}') {
        return vec![line];
    }
    line.split('\n')
        .enumerate()
        .filter(|(i, part)| *i == 0 || !part.trim().is_empty())
        .map(|(i, part)| {
            let mut out = String::with_capacity(part.len() + PREFIX.len() + 2);
            if i > 0 {
                out.push_str(PREFIX);
                out.push_str("  ");
            }
            for c in part.strip_suffix('\r').unwrap_or(part).chars() {
                if c.is_control() && c != '\t' {
                    out.extend(c.escape_default());
                } else {
                    out.push(c);
                }
            }
            shorten(out)
        })
        .collect()
}

/// `line` itself when it fits in [`MAX_LINE`] bytes; otherwise its head and tail around a
/// marker saying how much was cut.
fn shorten(line: String) -> String {
    if line.len() <= MAX_LINE {
        return line;
    }
    let floor = |mut i: usize| {
        while !line.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let marker_room = 40;
    let head = floor(KEEP_HEAD);
    let tail = floor(line.len() - (MAX_LINE - KEEP_HEAD - marker_room));
    format!(
        "{}...[{} bytes cut]...{}",
        &line[..head],
        tail - head,
        &line[tail..]
    )
}

/// A level filter and the entry point for the plugin's log lines.
///
/// Each plugin instance has its own (with `per_listener_settings`, each listener's options may
/// set a different `log_level`).
#[derive(Clone, Copy, Debug)]
pub struct Logger {
    max: Level,
}

impl Default for Logger {
    fn default() -> Logger {
        Logger { max: Level::Notice }
    }
}

impl Logger {
    /// A logger that writes lines up to and including `max`.
    pub fn new(max: Level) -> Logger {
        Logger { max }
    }

    /// The most detailed level written.
    pub fn max_level(&self) -> Level {
        self.max
    }

    /// Returns true if and only if a line at `level` would be written.
    pub fn enabled(&self, level: Level) -> bool {
        level <= self.max
    }

    /// Writes one line at `level`, if enabled. Never pass a password or hash in `args`.
    pub fn log(&self, level: Level, args: fmt::Arguments<'_>) {
        if !self.enabled(level) {
            return;
        }
        let lines = broker_lines(format!("{PREFIX}{args}"));
        if on_broker_thread() {
            flush();
            for line in &lines {
                write_now(level, line);
            }
        } else {
            let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
            for line in lines {
                if queue.len() >= QUEUE_LIMIT {
                    queue.pop_front();
                    DROPPED.fetch_add(1, Ordering::Relaxed);
                }
                queue.push_back((level, line));
            }
            PENDING.store(true, Ordering::Release);
        }
    }

    /// Writes an error line.
    pub fn error(&self, args: fmt::Arguments<'_>) {
        self.log(Level::Error, args)
    }

    /// Writes a warning line.
    pub fn warning(&self, args: fmt::Arguments<'_>) {
        self.log(Level::Warning, args)
    }

    /// Writes a notice line.
    pub fn notice(&self, args: fmt::Arguments<'_>) {
        self.log(Level::Notice, args)
    }

    /// Writes an info line.
    pub fn info(&self, args: fmt::Arguments<'_>) {
        self.log(Level::Info, args)
    }

    /// Writes a debug line.
    pub fn debug(&self, args: fmt::Arguments<'_>) {
        self.log(Level::Debug, args)
    }
}

/// Lets a repeated event (a backend failing for every message) be logged once per interval
/// instead of once per occurrence.
#[derive(Debug)]
pub struct Throttle {
    interval: Duration,
    start: Instant,
    /// Milliseconds since `start` of the last line written, plus one (0 = never).
    last: AtomicU64,
    suppressed: AtomicU64,
}

impl Throttle {
    /// A throttle that lets one line through per `interval`.
    pub fn new(interval: Duration) -> Throttle {
        Throttle {
            interval,
            start: Instant::now(),
            last: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Returns `Some(n)` when a line may be written now, `n` being how many were held back since
    /// the last one; `None` when this occurrence should not be logged.
    pub fn check(&self) -> Option<u64> {
        let now = self.start.elapsed().as_millis() as u64 + 1;
        let last = self.last.load(Ordering::Acquire);
        let due = last == 0 || now.saturating_sub(last) >= self.interval.as_millis() as u64;
        if due
            && self
                .last
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            Some(self.suppressed.swap(0, Ordering::AcqRel))
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_none_and_work_goes_on() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let got = catch_panic("test", || -> u8 { panic!("boom") });
        std::panic::set_hook(prev);
        assert_eq!(got, None);
        assert_eq!(catch_panic("test", || 7), Some(7));
    }

    #[test]
    fn levels_order_and_parse() {
        assert!(Level::Error < Level::Debug);
        assert_eq!("WARNING".parse::<Level>(), Ok(Level::Warning));
        assert_eq!("loud".parse::<Level>(), Err(()));
        let logger = Logger::new(Level::Notice);
        assert!(logger.enabled(Level::Warning));
        assert!(!logger.enabled(Level::Info));
    }

    #[test]
    fn long_lines_keep_their_end_and_fit_the_broker_buffer() {
        let name = "u".repeat(5000);
        let line =
            format!("{PREFIX}auth of user '{name}': backend http failed, refusing: status 500");
        let out = broker_lines(line);
        assert_eq!(out.len(), 1);
        assert!(out[0].len() <= MAX_LINE, "{}", out[0].len());
        assert!(out[0].starts_with("mosq-auth: auth of user 'uuu"));
        assert!(out[0].ends_with("backend http failed, refusing: status 500"));
        assert!(out[0].contains("bytes cut]"));
        // Multi-byte characters are never split.
        let line = format!("{PREFIX}{}", "ü".repeat(2000));
        let out = broker_lines(line);
        assert!(out[0].len() <= MAX_LINE && out[0].ends_with('ü'));
        // Short plain lines pass untouched.
        let line = format!("{PREFIX}auth: user 'alice' allowed by files");
        assert_eq!(broker_lines(line.clone()), vec![line]);
    }

    #[test]
    fn control_characters_cannot_forge_a_line() {
        let forged = "x\n1796298069: mosq-auth: auth: user 'admin' allowed\r\x1b[2J";
        let out = broker_lines(format!("{PREFIX}auth: user '{forged}' refused by files"));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], "mosq-auth: auth: user 'x");
        assert!(out[1].starts_with("mosq-auth:   1796298069"), "{}", out[1]);
        assert!(
            out[1].contains("\\r\\u{1b}[2J' refused by files"),
            "{}",
            out[1]
        );
        assert!(out.iter().all(|l| !l.bytes().any(|b| b < 0x20)));
        // A multi-line error (file:line under its heading) stays readable.
        let out = broker_lines(format!(
            "{PREFIX}ACL file not loaded:\n/etc/acl:3: bad line\n"
        ));
        assert_eq!(out[1], "mosq-auth:   /etc/acl:3: bad line");
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn throttle_lets_one_line_per_interval() {
        let t = Throttle::new(Duration::from_secs(3600));
        assert_eq!(t.check(), Some(0));
        assert_eq!(t.check(), None);
        assert_eq!(t.check(), None);
        let t = Throttle::new(Duration::ZERO);
        assert_eq!(t.check(), Some(0));
        assert_eq!(t.check(), Some(0));
    }
}
