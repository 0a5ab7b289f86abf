//! Parked CONNECTs: checks that would make the broker wait run on worker threads, and their
//! answers are handed back to the broker's thread.
//!
//! Mosquitto 2.1 lets a plugin answer a CONNECT later (`MOSQ_ERR_AUTH_DELAYED`, then
//! `mosquitto_complete_basic_auth` from the broker's thread). [`Parker`] is the safe half of
//! that: [`Parker::park`] queues a job for a client id (refusing at once when the cap is
//! reached), a fixed set of workers run the jobs, and [`Parker::finished`], called on the
//! broker's tick, returns the answers that arrived plus a refusal for every job past its
//! deadline. Each client id has at most one live job: a later job for the same id replaces the
//! earlier one, whose answer is then dropped, so an answer can never complete another
//! connection's login. Dropping the parker stops and joins the workers.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a parked job finished with, as seen by the broker's thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finished<R> {
    /// The worker's answer.
    Answer(R),
    /// No answer before the deadline: the caller refuses the client.
    Expired,
}

/// Why a job was not parked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// As many jobs as the cap allows are waiting already.
    Full,
    /// The parker is shutting down.
    Stopped,
}

struct Job<J> {
    client_id: String,
    seq: u64,
    input: J,
}

struct State<J, R> {
    queue: VecDeque<Job<J>>,
    /// Client id -> (sequence of its live job, deadline).
    live: HashMap<String, (u64, Instant)>,
    done: Vec<(String, u64, R)>,
    next_seq: u64,
}

struct Shared<J, R> {
    state: Mutex<State<J, R>>,
    wake: Condvar,
    stop: AtomicBool,
}

impl<J, R> Shared<J, R> {
    fn lock(&self) -> MutexGuard<'_, State<J, R>> {
        // A worker that panicked inside `work` holds no lock (the job runs unlocked), so a
        // poisoned mutex still holds consistent data.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Worker threads for parked jobs of input `J` and answer `R`.
pub struct Parker<J, R> {
    shared: Arc<Shared<J, R>>,
    workers: Vec<JoinHandle<()>>,
    cap: usize,
    deadline: Duration,
}

impl<J: Send + 'static, R: Send + 'static> Parker<J, R> {
    /// Starts `workers` threads running `work`. At most `cap` jobs wait at once; a job not
    /// answered within `deadline` of being parked expires.
    pub fn new(
        workers: usize,
        cap: usize,
        deadline: Duration,
        work: impl Fn(J) -> R + Send + Sync + 'static,
    ) -> std::io::Result<Parker<J, R>> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                live: HashMap::new(),
                done: Vec::new(),
                next_seq: 0,
            }),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let work = Arc::new(work);
        let mut parker = Parker {
            shared,
            workers: Vec::new(),
            cap,
            deadline,
        };
        for i in 0..workers.max(1) {
            let (shared, work) = (parker.shared.clone(), work.clone());
            let handle = std::thread::Builder::new()
                .name(format!("mosq-auth-login-{i}"))
                .spawn(move || worker(&shared, &*work))?;
            parker.workers.push(handle);
        }
        Ok(parker)
    }

    /// Queues `input` for `client_id`. A live job of the same client id is replaced (the broker
    /// drops a parked client that goes away; its answer must not reach the next one).
    pub fn park(&self, client_id: &str, input: J) -> Result<(), Refused> {
        if self.shared.stop.load(Ordering::Acquire) {
            return Err(Refused::Stopped);
        }
        let mut st = self.shared.lock();
        if st.live.len() >= self.cap && !st.live.contains_key(client_id) {
            return Err(Refused::Full);
        }
        st.next_seq += 1;
        let seq = st.next_seq;
        st.live
            .insert(client_id.to_string(), (seq, Instant::now() + self.deadline));
        // A queued, not yet started job of the replaced connection need not run at all.
        st.queue.retain(|j| j.client_id != client_id);
        st.queue.push_back(Job {
            client_id: client_id.to_string(),
            seq,
            input,
        });
        drop(st);
        self.shared.wake.notify_one();
        Ok(())
    }

    /// The answers that arrived and the jobs past their deadline at `now`, each once.
    pub fn finished(&self, now: Instant) -> Vec<(String, Finished<R>)> {
        let mut st = self.shared.lock();
        if st.done.is_empty() && st.live.values().all(|(_, d)| *d > now) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let done = std::mem::take(&mut st.done);
        for (id, seq, answer) in done {
            if st.live.get(&id).is_some_and(|(s, _)| *s == seq) {
                st.live.remove(&id);
                out.push((id, Finished::Answer(answer)));
            }
        }
        let expired: Vec<String> = st
            .live
            .iter()
            .filter(|(_, (_, d))| *d <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            st.live.remove(&id);
            st.queue.retain(|j| j.client_id != id);
            out.push((id, Finished::Expired));
        }
        out
    }

    /// How many jobs wait for an answer.
    pub fn waiting(&self) -> usize {
        self.shared.lock().live.len()
    }
}

impl<J, R> Drop for Parker<J, R> {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

fn worker<J, R>(shared: &Shared<J, R>, work: &dyn Fn(J) -> R) {
    loop {
        let job = {
            let mut st = shared.lock();
            loop {
                if shared.stop.load(Ordering::Acquire) {
                    return;
                }
                if let Some(job) = st.queue.pop_front() {
                    break job;
                }
                st = shared.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        // A panic in one job must not kill the worker (nor cross into the broker): the job
        // then simply gets no answer and expires at its deadline, which refuses the client.
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(job.input)));
        if let Ok(answer) = answer {
            shared.lock().done.push((job.client_id, job.seq, answer));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn wait_for<R: Clone + Send + 'static>(
        p: &Parker<u32, R>,
        n: usize,
    ) -> Vec<(String, Finished<R>)> {
        let end = Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while got.len() < n && Instant::now() < end {
            got.extend(p.finished(Instant::now()));
            std::thread::sleep(Duration::from_millis(2));
        }
        got
    }

    #[test]
    fn answers_come_back_once_per_client() {
        let p = Parker::new(4, 100, Duration::from_secs(30), |x: u32| x * 2).unwrap();
        for i in 0..20 {
            p.park(&format!("c{i}"), i).unwrap();
        }
        let mut got = wait_for(&p, 20);
        got.sort_by_key(|(id, _)| id[1..].parse::<u32>().unwrap());
        assert_eq!(got.len(), 20);
        for (i, (id, f)) in got.into_iter().enumerate() {
            assert_eq!(id, format!("c{i}"));
            assert_eq!(f, Finished::Answer(i as u32 * 2));
        }
        assert_eq!(p.waiting(), 0);
        assert!(p.finished(Instant::now()).is_empty());
    }

    #[test]
    fn jobs_run_in_parallel() {
        // 8 jobs of 200 ms on 8 workers take about 200 ms, not 1.6 s.
        let p = Parker::new(8, 100, Duration::from_secs(30), |x: u32| {
            std::thread::sleep(Duration::from_millis(200));
            x
        })
        .unwrap();
        let start = Instant::now();
        for i in 0..8 {
            p.park(&format!("c{i}"), i).unwrap();
        }
        assert_eq!(wait_for(&p, 8).len(), 8);
        assert!(
            start.elapsed() < Duration::from_millis(1200),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn the_cap_refuses_at_once_and_frees_up() {
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Mutex::new(rx);
        let p = Parker::new(1, 2, Duration::from_secs(30), move |x: u32| {
            let _ = rx.lock().unwrap().recv();
            x
        })
        .unwrap();
        p.park("a", 1).unwrap();
        p.park("b", 2).unwrap();
        assert_eq!(p.park("c", 3), Err(Refused::Full));
        // Replacing a live client id is not a new waiting job.
        p.park("b", 4).unwrap();
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        let got = wait_for(&p, 2);
        assert!(got.contains(&("a".into(), Finished::Answer(1))), "{got:?}");
        assert!(got.contains(&("b".into(), Finished::Answer(4))), "{got:?}");
        p.park("c", 3).unwrap();
        // Lets the worker finish "c", so dropping the parker can join it.
        drop(tx);
    }

    #[test]
    fn a_replaced_job_never_answers_the_new_one() {
        let (tx, rx) = mpsc::channel::<u32>();
        let rx = Mutex::new(rx);
        // Each job returns what the test sends it, so the first job's answer is known.
        let p = Parker::new(1, 10, Duration::from_secs(30), move |_x: u32| {
            rx.lock().unwrap().recv().unwrap()
        })
        .unwrap();
        p.park("same", 1).unwrap();
        std::thread::sleep(Duration::from_millis(50)); // the worker is inside job 1
        p.park("same", 2).unwrap();
        tx.send(100).unwrap(); // job 1 finishes: dropped
        std::thread::sleep(Duration::from_millis(50));
        assert!(p.finished(Instant::now()).is_empty());
        tx.send(200).unwrap(); // job 2 finishes: delivered
        assert_eq!(
            wait_for(&p, 1),
            vec![("same".into(), Finished::Answer(200))]
        );
    }

    #[test]
    fn past_the_deadline_a_job_expires_and_its_late_answer_is_dropped() {
        let p = Parker::new(1, 10, Duration::from_millis(100), |x: u32| {
            std::thread::sleep(Duration::from_millis(400));
            x
        })
        .unwrap();
        p.park("slow", 1).unwrap();
        assert!(p.finished(Instant::now()).is_empty());
        let got = p.finished(Instant::now() + Duration::from_millis(150));
        assert_eq!(got, vec![("slow".into(), Finished::Expired)]);
        std::thread::sleep(Duration::from_millis(500));
        assert!(p.finished(Instant::now()).is_empty());
        assert_eq!(p.waiting(), 0);
    }

    #[test]
    fn a_panicking_job_expires_and_the_worker_survives() {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let p = Parker::new(1, 10, Duration::from_millis(200), |x: u32| {
            assert!(x != 0, "boom");
            x
        })
        .unwrap();
        p.park("bad", 0).unwrap();
        p.park("good", 5).unwrap();
        let got = wait_for(&p, 1);
        assert_eq!(got, vec![("good".into(), Finished::Answer(5))]);
        let got = p.finished(Instant::now() + Duration::from_millis(300));
        std::panic::set_hook(prev);
        assert_eq!(got, vec![("bad".into(), Finished::Expired)]);
    }

    #[test]
    fn dropping_joins_workers_with_jobs_in_flight() {
        let p = Parker::new(4, 100, Duration::from_secs(30), |x: u32| {
            std::thread::sleep(Duration::from_millis(100));
            x
        })
        .unwrap();
        for i in 0..50 {
            p.park(&format!("c{i}"), i).unwrap();
        }
        let start = Instant::now();
        drop(p);
        // The four running jobs finish; the queued ones are not started.
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}
