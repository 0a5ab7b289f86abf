//! The panic guard around every exported function.

/// Runs `f` on the broker's thread: first writes the log lines background threads queued, then
/// runs `f`; if it panics, logs an error naming `what` and returns `fallback` (a refusal)
/// instead of unwinding into the broker (which would abort it).
///
/// `AssertUnwindSafe` is sound here: after a panic the plugin's state is only read through
/// immutable snapshots (`ArcSwap`) and caches that stay consistent.
pub fn guard<T>(what: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    crate::log::flush();
    crate::log::catch_panic(what, f).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_fallback() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let rc = guard("test", 12, || -> i32 { panic!("boom") });
        std::panic::set_hook(prev);
        assert_eq!(rc, 12);
        assert_eq!(guard("test", 12, || 0), 0);
    }
}
