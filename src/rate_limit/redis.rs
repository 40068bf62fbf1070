//! GCRA counters in Redis, shared by every instance: one Lua script reads and advances a
//! grant's theoretical arrival time atomically, with Redis's own clock (so instances' clocks
//! need not agree).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;

/// How long a Redis call may take before the request falls back to the local counters.
const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// How long to stay on the local counters after Redis failed, before trying it again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

/// KEYS[1] = counter; ARGV = emission interval, burst tolerance (microseconds).
/// Returns 0 when admitted, else the wait in microseconds.
const SCRIPT: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
local new = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new), 'PX', math.ceil((new - now) / 1000) + 1000)
return 0
";

/// The Redis side of the limiter.
pub struct RedisGcra {
    client: redis::Client,
    script: redis::Script,
    conn: Mutex<Option<MultiplexedConnection>>,
    /// Set while Redis is considered down: the local counters are used until then.
    down_until: Mutex<Option<Instant>>,
}

impl RedisGcra {
    /// A limiter for Redis at `url` (nothing is connected yet).
    pub fn new(url: &str) -> redis::RedisResult<RedisGcra> {
        Ok(RedisGcra {
            client: redis::Client::open(url)?,
            script: redis::Script::new(SCRIPT),
            conn: Mutex::new(None),
            down_until: Mutex::new(None),
        })
    }

    /// `Some(verdict)` from Redis, or `None` when Redis is unavailable (the caller falls back).
    pub async fn check(&self, key: &str, rpm: u32) -> Option<Result<(), Duration>> {
        {
            let mut down = self
                .down_until
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match *down {
                Some(until) if Instant::now() < until => return None,
                Some(_) => *down = None,
                None => {}
            }
        }
        match tokio::time::timeout(CALL_TIMEOUT, self.call(key, rpm)).await {
            Ok(Ok(0)) => Some(Ok(())),
            Ok(Ok(wait)) => Some(Err(Duration::from_micros(wait.max(0) as u64))),
            Ok(Err(e)) => self.failed(&e.to_string()),
            Err(_) => self.failed("timed out"),
        }
    }

    async fn call(&self, key: &str, rpm: u32) -> redis::RedisResult<i64> {
        let cached = self
            .conn
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut conn = match cached {
            Some(c) => c,
            None => {
                let c = self.client.get_multiplexed_async_connection().await?;
                *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = Some(c.clone());
                c
            }
        };
        let (interval, tolerance) = super::quota(rpm);
        self.script
            .key(format!("keyward:rpm:{key}"))
            .arg(interval.as_micros() as u64)
            .arg(tolerance.as_micros() as u64)
            .invoke_async(&mut conn)
            .await
    }

    fn failed(&self, why: &str) -> Option<Result<(), Duration>> {
        tracing::warn!(
            error = why,
            retry_in_seconds = RETRY_AFTER_FAILURE.as_secs(),
            "Redis rate limiter unavailable; using this instance's own counters meanwhile"
        );
        *self.conn.lock().unwrap_or_else(PoisonError::into_inner) = None;
        *self
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + RETRY_AFTER_FAILURE);
        None
    }
}
