//! A point in time after which work gives up. Passed down to every loop that a client's input
//! can make long (a search over a library, a substructure match, a model fit), which checks it
//! and stops with [`Expired`] rather than running on after nobody waits for the answer.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<Instant>,
    budget: Duration,
}

/// The deadline passed before the work finished.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("stopped after the {budget_secs} s allowed for one computation")]
pub struct Expired {
    pub budget_secs: f64,
}

impl Deadline {
    /// No limit (command-line tools working on an operator's own files).
    pub const NONE: Deadline = Deadline {
        at: None,
        budget: Duration::MAX,
    };

    pub fn after(budget: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(budget),
            budget,
        }
    }

    /// Time left (zero once passed); `None` without a limit.
    pub fn remaining(&self) -> Option<Duration> {
        self.at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    pub fn expired(&self) -> bool {
        self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// `Err` once the deadline has passed.
    pub fn check(&self) -> Result<(), Expired> {
        if self.expired() {
            Err(self.expired_error())
        } else {
            Ok(())
        }
    }

    pub fn expired_error(&self) -> Expired {
        Expired {
            budget_secs: self.budget.as_secs_f64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_expires_and_none_never_does() {
        let d = Deadline::after(Duration::from_millis(20));
        assert!(!d.expired());
        assert!(d.check().is_ok());
        assert!(d.remaining().unwrap() <= Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        assert!(d.expired());
        assert_eq!(d.remaining(), Some(Duration::ZERO));
        assert_eq!(d.check().unwrap_err().budget_secs, 0.02);
        assert!(!Deadline::NONE.expired());
        assert_eq!(Deadline::NONE.remaining(), None);
    }
}
