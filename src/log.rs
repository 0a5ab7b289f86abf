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

/// Writes the lines queued by other threads. Cheap when there are none.
pub fn flush() {
    // A plain load first: this runs on every callback, and the queue is nearly always empty.
    if !PENDING.load(Ordering::Acquire) || !PENDING.swap(false, Ordering::AcqRel) {
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
        let line = format!("{PREFIX}{args}");
        if on_broker_thread() {
            flush();
            write_now(level, &line);
        } else {
            let mut queue = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
            if queue.len() >= QUEUE_LIMIT {
                queue.pop_front();
                DROPPED.fetch_add(1, Ordering::Relaxed);
            }
            queue.push_back((level, line));
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
