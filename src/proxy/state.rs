//! What the proxy keeps between requests in one process: the token cache, the rate limiter,
//! the usage writer, the price table and the throttles for grant bookkeeping.

use std::sync::Arc;

use super::cache::GrantCache;
use super::grant_activity::GrantActivity;
use crate::config::Settings;
use crate::invalidation::Invalidator;
use crate::metering::prices::PriceTable;
use crate::metering::settler::Settler;
use crate::rate_limit::RateLimiter;
use crate::store::Store;

/// The proxy's per-process state.
pub struct ProxyState {
    pub cache: Arc<GrantCache>,
    pub limiter: RateLimiter,
    /// Where meters hand in their usage.
    pub settler: Settler,
    /// The settings' price table, shared by every request's estimate and meter.
    pub prices: Arc<PriceTable>,
    /// Last-used times and budget-exhaustion events.
    pub activity: GrantActivity,
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
            prices: Arc::new(settings.prices.clone()),
            activity: GrantActivity::default(),
        })
    }
}
