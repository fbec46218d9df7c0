//! The one place a request's CPU-bound work runs: RDKit parsing and descriptors, searches over a
//! library, model featurisation and inference. Never on the async runtime, whose few threads
//! must stay free to answer `/health/live` and every other request:
//!
//! - a bounded pool (`limits.compute_threads`) of threads with large stacks (RDKit recurses over
//!   the molecular graph) at a lower CPU priority than the request handlers, so saturating it
//!   slows computations, not the server;
//! - at most `limits.compute_queue` computations waiting or running; the next request is told
//!   503 with `Retry-After` instead of queueing without end;
//! - each computation gets a [`Deadline`] (`limits.compute_deadline_secs`, queueing included)
//!   that the work checks as it goes, and is refused outright if it expired while queued.

use crate::{AppError, AppResult};
use cryo_config::LimitSettings;
use cryo_core::deadline::Deadline;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Stack of each compute thread: RDKit's recursive graph walks on the largest structure the
/// limits admit use a fraction of this; it is address space, committed only when touched.
const STACK_BYTES: usize = 64 << 20;

/// Niceness of compute threads (Linux: per thread), below the request handlers' 0.
const NICENESS: i32 = 10;

pub struct Compute {
    pool: rayon::ThreadPool,
    slots: Arc<Semaphore>,
    budget: Duration,
}

impl Compute {
    pub fn new(limits: &LimitSettings) -> AppResult<Compute> {
        let threads = match limits.compute_threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(STACK_BYTES)
            .thread_name(|i| format!("compute-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .map_err(|e| AppError::Unavailable(format!("compute pool: {e}")))?;
        Ok(Compute {
            pool,
            slots: Arc::new(Semaphore::new(limits.compute_queue)),
            budget: limits.compute_deadline,
        })
    }

    /// The deadline one computation gets.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// Runs `work` on the pool and waits for it without blocking the runtime. A panic inside
    /// becomes a 500 (logged), never a dead worker.
    pub async fn run<T, F>(&self, work: F) -> AppResult<T>
    where
        F: FnOnce(Deadline) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::Busy {
                retry_after_secs: 1,
            })?;
        let deadline = Deadline::after(self.budget);
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let _permit = permit;
            let result = if deadline.expired() {
                Err(AppError::Chem(deadline.expired_error().into()))
            } else {
                catch_unwind(AssertUnwindSafe(|| work(deadline))).unwrap_or_else(|payload| {
                    Err(AppError::Internal(format!(
                        "computation panicked: {}",
                        crate::panic_message(payload.as_ref())
                    )))
                })
            };
            let _ = tx.send(result);
        });
        rx.await
            .map_err(|_| AppError::Unavailable("the compute pool stopped".into()))?
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread; failure only leaves the default priority.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, NICENESS);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(threads: usize, queue: usize, deadline_ms: u64) -> LimitSettings {
        LimitSettings {
            max_atoms: 400,
            max_smiles_bytes: 4096,
            max_molblock_bytes: 1 << 19,
            max_fragments: 32,
            max_rings: 64,
            max_query_atoms: 64,
            compute_threads: threads,
            compute_queue: queue,
            compute_deadline: Duration::from_millis(deadline_ms),
            rate_heavy_per_min: 0,
            rate_heavy_admin_per_min: 0,
            rate_auth_per_min: 0,
            rate_api_per_min: 0,
        }
    }

    #[tokio::test]
    async fn work_runs_off_the_runtime_and_panics_become_errors() {
        let c = Compute::new(&limits(1, 4, 5_000)).unwrap();
        let name = c
            .run(|_| Ok(std::thread::current().name().map(String::from)))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("compute-0"));
        let e = c
            .run(|_| -> AppResult<()> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(
            matches!(e, AppError::Internal(ref m) if m.contains("boom")),
            "{e}"
        );
        // The pool survived.
        assert_eq!(c.run(|_| Ok(2 + 2)).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_full_queue_answers_busy() {
        let c = Arc::new(Compute::new(&limits(1, 1, 100)).unwrap());
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let long = {
            let c = c.clone();
            tokio::spawn(async move {
                c.run(move |d| {
                    let _ = started_tx.send(());
                    while !d.expired() {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Ok(())
                })
                .await
            })
        };
        started_rx.await.unwrap();
        let e = c.run(|_| Ok(())).await.unwrap_err();
        assert!(matches!(e, AppError::Busy { .. }), "{e}");
        long.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn work_whose_deadline_passed_in_the_queue_never_starts() {
        let c = Arc::new(Compute::new(&limits(1, 2, 100)).unwrap());
        let first = {
            let c = c.clone();
            tokio::spawn(async move {
                c.run(|_| {
                    std::thread::sleep(Duration::from_millis(250));
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let e = c
            .run(move |_| {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(
            matches!(e, AppError::Chem(cryo_chem::ChemError::DeadlineExceeded(_))),
            "{e}"
        );
        assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
        first.await.unwrap().unwrap();
    }
}
