//! Terminal echo control for the `mosq-auth` command line tool's password prompts.
//!
//! Not part of the broker ABI: it lives here because all of the crate's `unsafe` code does.
//! [`NoEcho`] turns echo off on standard input and restores the saved settings when dropped;
//! while it is alive, SIGINT, SIGTERM, SIGQUIT and SIGHUP first restore the terminal and then
//! take their default action, so an interrupted prompt never leaves the shell without echo.

use std::io;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// Standard input's descriptor.
const STDIN: libc::c_int = 0;

/// The signals that restore the terminal before taking their default action.
const SIGNALS: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGQUIT, libc::SIGHUP];

/// The settings before echo was turned off, for the signal handler. Set once, before any
/// handler is installed, and never changed: reading it in a handler is a plain load.
static SAVED: OnceLock<libc::termios> = OnceLock::new();
/// Whether echo is currently off (the handler restores only then).
static ACTIVE: AtomicBool = AtomicBool::new(false);

extern "C" fn restore_and_reraise(sig: libc::c_int) {
    if ACTIVE.load(Ordering::Acquire) {
        if let Some(saved) = SAVED.get() {
            // SAFETY: tcsetattr, signal and raise are async-signal-safe; `saved` is a valid
            // termios that is never written after it was set.
            unsafe { libc::tcsetattr(STDIN, libc::TCSANOW, saved) };
        }
    }
    // SAFETY: resetting to the default action and re-raising are async-signal-safe.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// Echo turned off on standard input (a terminal) for as long as this value lives.
#[derive(Debug)]
pub struct NoEcho {
    saved: libc::termios,
    previous: [libc::sighandler_t; SIGNALS.len()],
}

impl NoEcho {
    /// Turns echo off (keeping line editing, so the user ends the line with Enter). Fails when
    /// standard input is not a terminal.
    pub fn new() -> io::Result<NoEcho> {
        let mut t = MaybeUninit::<libc::termios>::uninit();
        // SAFETY: tcgetattr fills the termios it is given when it returns 0.
        if unsafe { libc::tcgetattr(STDIN, t.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: initialised by the successful tcgetattr above.
        let saved = unsafe { t.assume_init() };
        // Only the first saved state is kept for the handler; every prompt starts from the
        // same, echoing, terminal.
        let _ = SAVED.set(saved);
        let mut previous = [libc::SIG_DFL; SIGNALS.len()];
        for (i, sig) in SIGNALS.iter().enumerate() {
            let handler = restore_and_reraise as extern "C" fn(libc::c_int);
            // SAFETY: installs a handler that only calls async-signal-safe functions.
            previous[i] = unsafe { libc::signal(*sig, handler as libc::sighandler_t) };
        }
        let mut quiet = saved;
        quiet.c_lflag &= !(libc::ECHO | libc::ECHOE | libc::ECHOK | libc::ECHONL);
        quiet.c_lflag |= libc::ICANON;
        ACTIVE.store(true, Ordering::Release);
        // SAFETY: `quiet` is a valid termios derived from the current settings.
        if unsafe { libc::tcsetattr(STDIN, libc::TCSAFLUSH, &quiet) } != 0 {
            let err = io::Error::last_os_error();
            drop(NoEcho { saved, previous });
            return Err(err);
        }
        Ok(NoEcho { saved, previous })
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new`.
        unsafe { libc::tcsetattr(STDIN, libc::TCSANOW, &self.saved) };
        ACTIVE.store(false, Ordering::Release);
        for (sig, prev) in SIGNALS.iter().zip(self.previous) {
            // SAFETY: puts back the handler that was in place before `new`.
            unsafe { libc::signal(*sig, prev) };
        }
    }
}
