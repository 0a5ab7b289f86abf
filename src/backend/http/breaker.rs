/*!
A circuit breaker: stop asking a service that is down.

After `threshold` failed checks in a row the breaker opens: checks fail at once, without a
request, for `cooldown`. Then one check is let through as a probe (the others keep failing
fast); if it succeeds the breaker closes, if it fails it stays open for another `cooldown`.
This keeps the broker's single thread from waiting out a timeout for every message while the
service is down.
*/

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// A probe request is under way.
    Probing,
}

/// What the caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Permit {
    /// Ask the service as usual.
    Normal,
    /// Ask the service; the answer decides whether the breaker closes.
    Probe,
}

/// A change worth a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Just opened after this many failures.
    Opened(u32),
    /// A probe failed: open again.
    Reopened,
    /// Closed again after being open.
    Closed,
}

/// The breaker's state, shared by all threads asking the backend.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

impl Breaker {
    /// A closed breaker; `threshold` 0 never opens.
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker {
            threshold,
            cooldown,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    /// May a request be made now? `Err` when the breaker is open (fail fast).
    pub(crate) fn acquire(&self) -> Result<Permit, ()> {
        if self.threshold == 0 {
            return Ok(Permit::Normal);
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match *state {
            State::Closed { .. } => Ok(Permit::Normal),
            State::Open { until } if Instant::now() >= until => {
                *state = State::Probing;
                Ok(Permit::Probe)
            }
            State::Open { .. } | State::Probing => Err(()),
        }
    }

    /// Records a request that got an answer.
    pub(crate) fn success(&self, permit: Permit) -> Option<Change> {
        if self.threshold == 0 {
            return None;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let was_open = !matches!(*state, State::Closed { .. });
        match (permit, *state) {
            // A normal request that started before the breaker opened does not close it:
            // only the probe does.
            (Permit::Normal, State::Open { .. } | State::Probing) => None,
            _ => {
                *state = State::Closed { failures: 0 };
                was_open.then_some(Change::Closed)
            }
        }
    }

    /// Records a failed request.
    pub(crate) fn failure(&self, permit: Permit) -> Option<Change> {
        if self.threshold == 0 {
            return None;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + self.cooldown;
        match (permit, *state) {
            (Permit::Probe, _) => {
                *state = State::Open { until };
                Some(Change::Reopened)
            }
            (Permit::Normal, State::Closed { failures }) => {
                let failures = failures.saturating_add(1);
                if failures >= self.threshold {
                    *state = State::Open { until };
                    Some(Change::Opened(failures))
                } else {
                    *state = State::Closed { failures };
                    None
                }
            }
            (Permit::Normal, _) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_and_probes_after_cooldown() {
        let b = Breaker::new(3, Duration::from_millis(50));
        for _ in 0..2 {
            assert_eq!(b.acquire(), Ok(Permit::Normal));
            assert_eq!(b.failure(Permit::Normal), None);
        }
        assert_eq!(b.acquire(), Ok(Permit::Normal));
        assert_eq!(b.failure(Permit::Normal), Some(Change::Opened(3)));
        assert_eq!(b.acquire(), Err(()));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.acquire(), Ok(Permit::Probe));
        // Only one probe at a time.
        assert_eq!(b.acquire(), Err(()));
        assert_eq!(b.failure(Permit::Probe), Some(Change::Reopened));
        assert_eq!(b.acquire(), Err(()));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.acquire(), Ok(Permit::Probe));
        assert_eq!(b.success(Permit::Probe), Some(Change::Closed));
        assert_eq!(b.acquire(), Ok(Permit::Normal));
    }

    #[test]
    fn success_resets_the_count() {
        let b = Breaker::new(2, Duration::from_secs(60));
        assert_eq!(b.failure(Permit::Normal), None);
        assert_eq!(b.success(Permit::Normal), None);
        assert_eq!(b.failure(Permit::Normal), None);
        assert_eq!(b.acquire(), Ok(Permit::Normal));
    }

    #[test]
    fn zero_threshold_never_opens() {
        let b = Breaker::new(0, Duration::from_secs(60));
        for _ in 0..10 {
            assert_eq!(b.failure(Permit::Normal), None);
        }
        assert_eq!(b.acquire(), Ok(Permit::Normal));
    }
}
