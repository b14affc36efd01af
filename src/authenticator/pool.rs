//! Threads for uncached verifications, so that a flood of new (or crafted) chains
//! cannot occupy the async runtime's workers and delay cached requests.
//!
//! A bounded queue in front of a fixed number of threads: a job that finds the queue
//! full is refused at once (`overloaded`, 503) instead of waiting without bound. The
//! submitting task awaits a [`Pending`], woken by the thread that ran the job. Nothing
//! here depends on an async runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads running jobs from a bounded queue.
pub(crate) struct Pool {
    queue: SyncSender<Job>,
}

impl Pool {
    /// Starts `threads` threads behind a queue of `capacity` waiting jobs. Threads end
    /// when the pool is dropped and the queue is drained.
    pub(crate) fn start(threads: usize, capacity: usize) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::sync_channel::<Job>(capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..threads.max(1) {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("certauth-verify-{n}"))
                .spawn(move || work(&jobs))?;
        }
        Ok(Self { queue })
    }

    /// Queues `job`; `None` when the queue is full.
    pub(crate) fn submit<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<Pending<T>> {
        let slot = Arc::new(Mutex::new(Slot { value: None, done: false, waker: None }));
        let done = Completion(Arc::clone(&slot));
        let run: Job = Box::new(move || done.complete(job()));
        match self.queue.try_send(run) {
            Ok(()) => Some(Pending(slot)),
            // Disconnected cannot happen while `self` holds the sender and a thread lives;
            // treat it like a full queue rather than pretend the job ran.
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

fn work(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while running one.
        let job = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = job else { return };
        // A panicking job (a user-supplied algorithm, say) must not take the thread with
        // it; its `Completion` is dropped during unwinding and wakes the waiter.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

struct Slot<T> {
    value: Option<T>,
    done: bool,
    waker: Option<Waker>,
}

/// The result of a submitted job: `None` when the job ended without one (it panicked).
pub(crate) struct Pending<T>(Arc<Mutex<Slot<T>>>);

impl<T> Future for Pending<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.done {
            return Poll::Ready(slot.value.take());
        }
        match &mut slot.waker {
            Some(w) => w.clone_from(cx.waker()),
            None => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// Delivers a job's result; delivers "no result" if dropped first.
struct Completion<T>(Arc<Mutex<Slot<T>>>);

impl<T> Completion<T> {
    fn complete(self, value: T) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).value = Some(value);
        // Drop wakes.
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        let waker = {
            let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            slot.done = true;
            slot.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::task::Wake;

    /// A waker that reports wake-ups on a channel.
    struct Notify(Mutex<std::sync::mpsc::Sender<()>>);
    impl Wake for Notify {
        fn wake(self: Arc<Self>) {
            let _ = self.0.lock().unwrap().send(());
        }
    }

    fn wait<T>(mut pending: Pending<T>) -> Option<T> {
        let (tx, rx) = channel();
        let waker = Waker::from(Arc::new(Notify(Mutex::new(tx))));
        let mut cx = Context::from_waker(&waker);
        loop {
            if let Poll::Ready(v) = Pin::new(&mut pending).poll(&mut cx) {
                return v;
            }
            rx.recv().unwrap();
        }
    }

    #[test]
    fn a_job_runs_on_a_pool_thread_and_wakes_the_waiter() {
        let pool = Pool::start(1, 4).unwrap();
        let name = wait(pool.submit(|| std::thread::current().name().map(str::to_owned)).unwrap());
        assert_eq!(name.flatten().as_deref(), Some("certauth-verify-0"));
    }

    #[test]
    fn a_full_queue_refuses_at_once() {
        let pool = Pool::start(1, 1).unwrap();
        let (release, held) = channel::<()>();
        let (started, running) = channel::<()>();
        let first = pool.submit(move || {
            started.send(()).unwrap();
            held.recv().unwrap();
        });
        running.recv().unwrap(); // the thread is busy with the first job
        let second = pool.submit(|| ()); // waits in the queue
        assert!(first.is_some() && second.is_some());
        assert!(pool.submit(|| ()).is_none(), "a third job must be refused, not queued");
        release.send(()).unwrap();
        assert_eq!(wait(second.unwrap()), Some(()));
        assert!(pool.submit(|| ()).is_some(), "room again once the queue drained");
    }

    #[test]
    fn a_panicking_job_wakes_its_waiter_with_nothing_and_the_thread_survives() {
        let pool = Pool::start(1, 2).unwrap();
        let panicked = pool.submit(|| -> u8 { panic!("job failed") }).unwrap();
        assert_eq!(wait(panicked), None);
        assert_eq!(wait(pool.submit(|| 7u8).unwrap()), Some(7));
    }
}
