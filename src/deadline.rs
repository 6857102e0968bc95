//! A bound on how long one piece of work may run, and a way for its caller to give up early.
//!
//! A [`Deadline`] travels with a request into the rule engine and the encoder queue. Long loops
//! call [`Deadline::check`] between steps; it fails with [`Error::DeadlineExceeded`] once the
//! time is up or the caller has cancelled (dropped the request, the server is shutting down).
//! Clones share one cancel flag, so the caller keeps a clone and cancels the work it handed on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// When work must stop. Cheap to clone; clones share the cancel flag.
#[derive(Clone, Debug, Default)]
pub struct Deadline {
    at: Option<Instant>,
    cancelled: Arc<AtomicBool>,
}

impl Deadline {
    /// No time limit; only [`Deadline::cancel`] stops the work.
    pub fn none() -> Deadline {
        Deadline::default()
    }

    /// Stops the work `limit` from now.
    pub fn after(limit: Duration) -> Deadline {
        Deadline { at: Instant::now().checked_add(limit), cancelled: Arc::default() }
    }

    /// Marks the work as abandoned: every clone's next check fails.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// True once the time is up or the work was cancelled.
    pub fn expired(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || self.at.is_some_and(|at| Instant::now() >= at)
    }

    /// The time left (`None`: unbounded); zero once expired.
    pub fn remaining(&self) -> Option<Duration> {
        if self.cancelled.load(Ordering::Relaxed) {
            return Some(Duration::ZERO);
        }
        self.at.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// `Err(DeadlineExceeded)` once expired; call it between steps of long work.
    pub fn check(&self) -> Result<()> {
        if self.expired() {
            Err(Error::DeadlineExceeded)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbounded_deadline_stops_only_when_cancelled() {
        let d = Deadline::none();
        assert!(d.check().is_ok());
        assert_eq!(d.remaining(), None);
        let clone = d.clone();
        clone.cancel();
        assert!(matches!(d.check(), Err(Error::DeadlineExceeded)));
        assert_eq!(d.remaining(), Some(Duration::ZERO));
    }

    #[test]
    fn a_zero_deadline_is_already_expired() {
        let d = Deadline::after(Duration::ZERO);
        assert!(d.expired());
        let later = Deadline::after(Duration::from_secs(3600));
        assert!(!later.expired());
        assert!(later.remaining().unwrap() > Duration::from_secs(3500));
    }
}
