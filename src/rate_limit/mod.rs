//! Requests-per-minute limits per grant.
//!
//! The algorithm is GCRA (the generic cell rate algorithm): each grant has a "theoretical
//! arrival time"; a limit of N per minute lets a burst of N through and then one request every
//! 60/N seconds, and a refused request learns exactly how long to wait (`Retry-After`). It keeps
//! one timestamp per grant.
//!
//! Without Redis the counters live in this process ([`gcra`]), so each instance enforces the
//! limit on its own. With `redis_url` they live in Redis ([`redis`]) and the limit holds across
//! instances; if Redis cannot be reached the limiter falls back to the in-process counters and
//! logs a warning, so a Redis outage never fails requests.

pub mod gcra;
pub mod redis;

use std::time::Duration;

/// The limiter used by the proxy.
pub struct RateLimiter {
    memory: gcra::Gcra,
    shared: Option<redis::RedisGcra>,
}

/// A request refused by a grant's limit: the limit, and how long until a request fits again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("rate limit of {rpm} requests per minute reached")]
pub struct RateLimited {
    pub rpm: u32,
    pub retry_after: Duration,
}

/// GCRA parameters for `rpm` requests per minute: (emission interval, burst tolerance).
pub(crate) fn quota(rpm: u32) -> (Duration, Duration) {
    let interval = Duration::from_secs(60) / rpm.max(1);
    (interval, Duration::from_secs(60).saturating_sub(interval))
}

impl RateLimiter {
    /// In-process counters only.
    pub fn in_memory() -> RateLimiter {
        RateLimiter {
            memory: gcra::Gcra::default(),
            shared: None,
        }
    }

    /// Counters in Redis at `url`, with in-process counters as the fallback. Fails only on a
    /// malformed URL; an unreachable Redis is handled per request.
    pub fn with_redis(url: &str) -> Result<RateLimiter, ::redis::RedisError> {
        Ok(RateLimiter {
            memory: gcra::Gcra::default(),
            shared: Some(redis::RedisGcra::new(url)?),
        })
    }

    /// Admits one request of `key` under a limit of `rpm` per minute, or says how long to wait.
    pub async fn check(&self, key: &str, rpm: u32) -> Result<(), RateLimited> {
        let verdict = match &self.shared {
            Some(shared) => shared.check(key, rpm).await,
            None => None,
        };
        verdict
            .unwrap_or_else(|| self.memory.check(key, rpm, std::time::Instant::now()))
            .map_err(|retry_after| RateLimited { rpm, retry_after })
    }
}
