//! Stopping a training from outside while it runs: a cancel flag (a user pressed cancel, the
//! server is shutting down) and a deadline (`models.max_train_secs`). Fits call [`checkpoint`]
//! once per tree, boosting round and epoch; when asked to stop, it unwinds with a private
//! payload that [`run`] catches and turns into [`MlError::Cancelled`] or
//! [`MlError::DeadlineExceeded`]. Nothing in a fit keeps state that outlives it, so abandoning
//! one half-way is safe, and `resume_unwind` skips the panic hook, so a stop prints nothing.
//!
//! The stop is found through a thread-local set on every thread of a rayon pool built for the
//! one training (and on the thread that runs it), so nested parallel work (folds, trees,
//! ensemble members) sees it without passing it through every signature.

use crate::MlError;
use cryo_core::deadline::Deadline;
use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// When to abandon a training.
#[derive(Debug, Clone)]
pub struct Stop {
    cancel: Arc<AtomicBool>,
    deadline: Deadline,
}

impl Stop {
    pub fn new(cancel: Arc<AtomicBool>, deadline: Deadline) -> Stop {
        Stop { cancel, deadline }
    }

    /// Never stops (the command line, tests).
    pub fn never() -> Stop {
        Stop::new(Arc::default(), Deadline::NONE)
    }

    /// The flag that cancels this training when set.
    pub fn cancel_flag(&self) -> &Arc<AtomicBool> {
        &self.cancel
    }

    fn reason(&self) -> Option<Unwind> {
        if self.cancel.load(Ordering::Relaxed) {
            Some(Unwind::Cancelled)
        } else if self.deadline.expired() {
            Some(Unwind::Deadline(self.deadline.expired_error()))
        } else {
            None
        }
    }
}

/// Payload of the unwind that abandons a stopped training.
enum Unwind {
    Cancelled,
    Deadline(cryo_core::deadline::Expired),
}

thread_local! {
    static CURRENT: RefCell<Option<Stop>> = const { RefCell::new(None) };
}

/// Abandons the current training if it has been asked to stop. A no-op outside [`run`].
pub fn checkpoint() {
    let reason = CURRENT.with(|c| c.borrow().as_ref().and_then(Stop::reason));
    if let Some(reason) = reason {
        resume_unwind(Box::new(reason));
    }
}

/// Runs `work` on a pool of its own whose threads all see `stop`, and turns a stop into an
/// error. Panics that are not stops propagate.
pub fn run<T: Send>(
    stop: &Stop,
    work: impl FnOnce() -> Result<T, MlError> + Send,
) -> Result<T, MlError> {
    let for_threads = stop.clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("train-{i}"))
        .start_handler(move |_| CURRENT.with(|c| *c.borrow_mut() = Some(for_threads.clone())))
        .build()
        .map_err(|e| MlError::InvalidInput(format!("training threads: {e}")))?;
    let outcome = pool.install(|| catch_unwind(AssertUnwindSafe(work)));
    match outcome {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<Unwind>() {
            Ok(reason) => Err(match *reason {
                Unwind::Cancelled => MlError::Cancelled,
                Unwind::Deadline(e) => MlError::DeadlineExceeded(e),
            }),
            Err(other) => resume_unwind(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;
    use std::time::Duration;

    #[test]
    fn a_checkpoint_in_nested_parallel_work_sees_the_stop() {
        let stop = Stop::never();
        let flag = stop.cancel_flag().clone();
        let result: Result<(), MlError> = run(&stop, || {
            (0..64).into_par_iter().for_each(|i| {
                if i == 10 {
                    flag.store(true, Ordering::Relaxed);
                }
                (0..8).into_par_iter().for_each(|_| {
                    std::thread::sleep(Duration::from_millis(1));
                    checkpoint();
                });
            });
            Ok(())
        });
        assert!(matches!(result, Err(MlError::Cancelled)), "{result:?}");
        let late = Stop::new(Arc::default(), Deadline::after(Duration::from_millis(20)));
        let result: Result<(), MlError> = run(&late, || {
            loop {
                std::thread::sleep(Duration::from_millis(2));
                checkpoint();
            }
        });
        assert!(
            matches!(result, Err(MlError::DeadlineExceeded(_))),
            "{result:?}"
        );
        // Outside `run` a checkpoint does nothing.
        checkpoint();
    }
}
