//! In-process GCRA counters, one theoretical arrival time per key.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys kept before idle ones (whose arrival time has passed) are swept out.
const SWEEP_AT: usize = 10_000;

/// Per-key theoretical arrival times.
#[derive(Default)]
pub struct Gcra {
    tats: Mutex<HashMap<String, Instant>>,
}

impl Gcra {
    /// Admits one request for `key` at `now` under `rpm` per minute, or returns the wait.
    pub fn check(&self, key: &str, rpm: u32, now: Instant) -> Result<(), Duration> {
        let (interval, tolerance) = super::quota(rpm);
        let mut tats = self.tats.lock().unwrap_or_else(PoisonError::into_inner);
        let tat = tats.get(key).copied().unwrap_or(now).max(now);
        let wait = tat.saturating_duration_since(now).saturating_sub(tolerance);
        if !wait.is_zero() {
            return Err(wait);
        }
        if tats.len() >= SWEEP_AT {
            tats.retain(|_, t| *t > now);
        }
        tats.insert(key.to_owned(), tat + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_rpm_then_one_per_interval() {
        let g = Gcra::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(g.check("g", 3, t0), Ok(()));
        }
        let wait = g.check("g", 3, t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(g.check("g", 3, t0 + Duration::from_secs(19)).is_err());
        assert_eq!(g.check("g", 3, t0 + Duration::from_secs(20)), Ok(()));
        // Other keys are independent.
        assert_eq!(g.check("other", 3, t0), Ok(()));
    }
}
