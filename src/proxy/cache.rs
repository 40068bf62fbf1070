//! The token cache: access-token hash → the token's state, its grant and the owner's sealed
//! key, so a warm token costs no store round trip.
//!
//! Staleness is bounded twice: entries expire after [`TTL`], and every [`Invalidation`] drops
//! the entries it concerns at once (revocation, limit edits, key replacement; `Flush` drops
//! all). A lookup that raced with an invalidation is used once but not cached, so a revocation
//! published while the store was being read cannot be undone by the late insert.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::invalidation::Invalidation;
use crate::store::grants::Grant;

/// How long an entry may be used without asking the store again.
pub const TTL: Duration = Duration::from_secs(15);

/// Entries kept at most; beyond it stale entries go first, then everything.
const MAX_ENTRIES: usize = 100_000;

/// What the store said about a token, as of when it was read.
#[derive(Debug)]
pub struct CachedToken {
    pub grant: Grant,
    /// The token's own expiry and revocation (a token can end before its grant).
    pub token_expires_at: Option<i64>,
    pub token_revoked: bool,
    /// The owner's provider key, sealed (JWE); opened per request, never cached open.
    pub vault_jwe: Option<String>,
}

struct Entry {
    value: Arc<CachedToken>,
    fetched_at: Instant,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Bumped by every invalidation; see [`GrantCache::insert`].
    generation: u64,
}

/// The cache; one per process, shared by all requests.
#[derive(Default)]
pub struct GrantCache {
    inner: Mutex<Inner>,
}

impl GrantCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh entry for this token hash, if there is one.
    pub fn get(&self, token_hash: &str) -> Option<Arc<CachedToken>> {
        let inner = self.lock();
        let entry = inner.entries.get(token_hash)?;
        (entry.fetched_at.elapsed() < TTL).then(|| entry.value.clone())
    }

    /// The current generation; read it before a store lookup and pass it to [`Self::insert`].
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Caches a lookup unless an invalidation arrived since `generation` was read.
    pub fn insert(&self, token_hash: String, value: Arc<CachedToken>, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.retain(|_, e| e.fetched_at.elapsed() < TTL);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(
            token_hash,
            Entry {
                value,
                fetched_at: Instant::now(),
            },
        );
    }

    /// Drops what an invalidation concerns.
    pub fn invalidate(&self, what: &Invalidation) {
        let mut inner = self.lock();
        inner.generation += 1;
        match what {
            Invalidation::Token(hash) => {
                inner.entries.remove(hash);
            }
            Invalidation::Grant(id) => inner.entries.retain(|_, e| e.value.grant.id != *id),
            Invalidation::User(id) => inner.entries.retain(|_, e| e.value.grant.user_id != *id),
            Invalidation::Flush => inner.entries.clear(),
        }
    }

    /// Applies every invalidation from `rx` until the cache or the channel goes away. A
    /// receiver that fell behind has missed messages, so it flushes.
    pub fn follow(self: &Arc<Self>, mut rx: broadcast::Receiver<Invalidation>) {
        let cache: Weak<GrantCache> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let what = match rx.recv().await {
                    Ok(what) => what,
                    Err(broadcast::error::RecvError::Lagged(_)) => Invalidation::Flush,
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let Some(cache) = cache.upgrade() else { return };
                cache.invalidate(&what);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::grants::Limits;

    fn token(user: &str) -> Arc<CachedToken> {
        Arc::new(CachedToken {
            grant: Grant::new(user, "client", vec![], Limits::default(), 0),
            token_expires_at: None,
            token_revoked: false,
            vault_jwe: None,
        })
    }

    #[test]
    fn invalidations_drop_what_they_name() {
        let cache = GrantCache::default();
        let (a, b) = (token("u1"), token("u2"));
        let grant_a = a.grant.id.clone();
        cache.insert("ta".into(), a, 0);
        cache.insert("tb".into(), b, 0);
        cache.invalidate(&Invalidation::Grant(grant_a));
        assert!(cache.get("ta").is_none());
        assert!(cache.get("tb").is_some());
        cache.invalidate(&Invalidation::User("u2".into()));
        assert!(cache.get("tb").is_none());
    }

    #[test]
    fn a_lookup_that_raced_an_invalidation_is_not_cached() {
        let cache = GrantCache::default();
        let generation = cache.generation();
        cache.invalidate(&Invalidation::Flush);
        cache.insert("t".into(), token("u"), generation);
        assert!(cache.get("t").is_none());
    }
}
