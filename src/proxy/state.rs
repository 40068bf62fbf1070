//! What the proxy keeps between requests in one process: the token cache, the rate limiter,
//! and two small throttles for bookkeeping writes (last-used times, budget audit events).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::cache::GrantCache;
use crate::config::Settings;
use crate::invalidation::Invalidator;
use crate::metering::settle::Settler;
use crate::rate_limit::RateLimiter;
use crate::store::Store;
use crate::store::audit::NewAuditEvent;
use crate::store::grants::Grant;

/// A grant's `last_used_at` is written at most this often.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// The proxy's per-process state.
pub struct ProxyState {
    pub cache: Arc<GrantCache>,
    pub limiter: RateLimiter,
    /// Where meters hand in their usage.
    pub settler: Settler,
    touched: Mutex<HashMap<String, Instant>>,
    /// (grant id, month) pairs whose budget exhaustion is already in the activity log.
    exhausted: Mutex<HashSet<(String, String)>>,
}

impl ProxyState {
    /// Sets up the cache (following `invalidator`), the limiter (Redis when configured) and
    /// the usage writer for `store`, with budget reservations leased as `settings` say.
    pub fn new(
        settings: &Settings,
        invalidator: &Invalidator,
        store: &Store,
    ) -> Result<ProxyState, String> {
        let cache = Arc::new(GrantCache::default());
        cache.follow(invalidator.subscribe());
        let limiter = match settings.redis_url.as_deref() {
            Some(url) => RateLimiter::with_redis(url)
                .map_err(|e| format!("invalid Redis URL for rate limits: {e}"))?,
            None => RateLimiter::in_memory(),
        };
        Ok(ProxyState {
            cache,
            limiter,
            settler: Settler::start(store.clone(), settings.reservation_lease),
            touched: Mutex::default(),
            exhausted: Mutex::default(),
        })
    }

    /// Records that `grant` was used at `at`, at most once a minute per grant, off the
    /// request path.
    pub fn touch(&self, store: &Store, grant: &Grant, at: i64) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
            if touched
                .get(&grant.id)
                .is_some_and(|t| t.elapsed() < TOUCH_EVERY)
            {
                return;
            }
            if touched.len() > 100_000 {
                touched.retain(|_, t| t.elapsed() < TOUCH_EVERY);
            }
            touched.insert(grant.id.clone(), Instant::now());
        }
        let (store, id) = (store.clone(), grant.id.clone());
        tokio::spawn(async move {
            if let Err(e) = store.touch_grant(&id, at).await {
                tracing::warn!(grant_id = %id, error = %e, "could not record last use");
            }
        });
    }

    /// Puts a `budget_exhausted` event in the person's activity log, once per grant and month
    /// (checked here, and in the store across instances).
    pub fn note_exhausted(&self, store: &Store, grant: &Grant, month: &str, since: i64) {
        let key = (grant.id.clone(), month.to_owned());
        if !self
            .exhausted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key)
        {
            return;
        }
        let (store, grant) = (store.clone(), grant.clone());
        let detail = format!("monthly budget for {month} exhausted");
        tokio::spawn(async move {
            let event = NewAuditEvent::new(&grant.user_id, "budget_exhausted", &detail)
                .for_grant(&grant.client_id, &grant.id);
            if let Err(e) = store.record_audit_once(&event, since).await {
                tracing::warn!(grant_id = %grant.id, error = %e, "could not log budget exhaustion");
            }
        });
    }
}
